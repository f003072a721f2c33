//! The simple CHECK constraints the seeder understands, read from the
//! definitions PostgreSQL prints (`CHECK ((age >= 18) AND (age <= 130))`).
//! Anything else is reported, and the values are left to the generators.

/// What a CHECK constraint (or one of its `AND`ed parts) requires.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rule {
    /// `column > value` (`inclusive`: `>=`).
    Min {
        column: String,
        value: f64,
        inclusive: bool,
    },
    /// `column < value` (`inclusive`: `<=`).
    Max {
        column: String,
        value: f64,
        inclusive: bool,
    },
    /// `column = ANY (ARRAY[…])`, `column IN (…)`, `column = 'x'`.
    OneOf { column: String, values: Vec<String> },
    /// `column <> value`.
    NotEqual { column: String, value: String },
    /// `column = lower(column)`.
    Lowercase { column: String },
    /// `column = upper(column)`.
    Uppercase { column: String },
    /// `length(column) <= n` (also `char_length`, `<`).
    MaxLength { column: String, length: usize },
    /// `length(column) >= n` (also `>`).
    MinLength { column: String, length: usize },
    /// `left OP right` between two columns.
    Compare { left: String, op: Op, right: String },
    /// `column IS NOT NULL`.
    NotNull { column: String },
}

/// A comparison between two columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Greater,
    GreaterEq,
    Less,
    LessEq,
}

/// Reads a CHECK definition into rules; `None` when any part of it is
/// beyond this simple reader (the caller reports it).
pub(crate) fn parse(definition: &str, is_column: &dyn Fn(&str) -> bool) -> Option<Vec<Rule>> {
    let mut text = definition.trim();
    text = text.strip_prefix("CHECK").unwrap_or(text).trim();
    for suffix in [" NOT VALID", " NO INHERIT"] {
        text = text.strip_suffix(suffix).unwrap_or(text).trim();
    }
    let text = strip_parens(text);
    if find_top(text, " OR ").is_some() {
        return None;
    }
    let mut rules = Vec::new();
    for part in split_top(text, " AND ") {
        rules.push(conjunct(strip_parens(part), is_column)?);
    }
    Some(rules)
}

fn conjunct(text: &str, is_column: &dyn Fn(&str) -> bool) -> Option<Rule> {
    if let Some(subject) = text.strip_suffix(" IS NOT NULL") {
        return match operand(subject, is_column)? {
            Operand::Column(column) => Some(Rule::NotNull { column }),
            _ => None,
        };
    }
    if let Some(at) = find_top(text, " = ANY ") {
        let Operand::Column(column) = operand(&text[..at], is_column)? else {
            return None;
        };
        let Operand::List(values) = operand(&text[at + 7..], is_column)? else {
            return None;
        };
        return Some(Rule::OneOf { column, values });
    }
    let (at, op) = ["<>", ">=", "<=", "!=", "=", ">", "<"]
        .iter()
        .find_map(|op| find_top(text, &format!(" {op} ")).map(|at| (at, *op)))?;
    let left = operand(&text[..at], is_column)?;
    let right = operand(&text[at + op.len() + 2..], is_column)?;
    // Put the column (or function of it) on the left.
    let (left, op, right) = match (&left, &right) {
        (Operand::Number(_) | Operand::Text(_), _) => (right, flip(op), left),
        _ => (left, op, right),
    };
    match (left, op, right) {
        (Operand::Column(column), op, Operand::Number(value)) => match op {
            ">" | ">=" => Some(Rule::Min {
                column,
                value,
                inclusive: op == ">=",
            }),
            "<" | "<=" => Some(Rule::Max {
                column,
                value,
                inclusive: op == "<=",
            }),
            "=" => Some(Rule::OneOf {
                column,
                values: vec![number_text(value)],
            }),
            _ => Some(Rule::NotEqual {
                column,
                value: number_text(value),
            }),
        },
        (Operand::Column(column), "=", Operand::Text(value)) => Some(Rule::OneOf {
            column,
            values: vec![value],
        }),
        (Operand::Column(column), "<>" | "!=", Operand::Text(value)) => {
            Some(Rule::NotEqual { column, value })
        }
        (Operand::Column(column), "=", Operand::Call(function, argument))
        | (Operand::Call(function, argument), "=", Operand::Column(column))
            if *argument == Operand::Column(column.clone()) =>
        {
            match function.as_str() {
                "lower" => Some(Rule::Lowercase { column }),
                "upper" => Some(Rule::Uppercase { column }),
                _ => None,
            }
        }
        (Operand::Call(function, argument), op, Operand::Number(n))
            if matches!(
                function.as_str(),
                "length" | "char_length" | "character_length"
            ) =>
        {
            let Operand::Column(column) = *argument else {
                return None;
            };
            let n = n.max(0.0);
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "lengths in a CHECK are small non-negative integers"
            )]
            let n = n as usize;
            match op {
                "<" => Some(Rule::MaxLength {
                    column,
                    length: n.saturating_sub(1),
                }),
                "<=" => Some(Rule::MaxLength { column, length: n }),
                ">" => Some(Rule::MinLength {
                    column,
                    length: n + 1,
                }),
                ">=" => Some(Rule::MinLength { column, length: n }),
                _ => None,
            }
        }
        (Operand::Column(left), op, Operand::Column(right)) => Some(Rule::Compare {
            left,
            op: match op {
                ">" => Op::Greater,
                ">=" => Op::GreaterEq,
                "<" => Op::Less,
                "<=" => Op::LessEq,
                _ => return None,
            },
            right,
        }),
        _ => None,
    }
}

fn flip(op: &str) -> &str {
    match op {
        ">" => "<",
        "<" => ">",
        ">=" => "<=",
        "<=" => ">=",
        other => other,
    }
}

fn number_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        value.to_string()
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Column(String),
    Number(f64),
    Text(String),
    List(Vec<String>),
    Call(String, Box<Operand>),
}

fn operand(text: &str, is_column: &dyn Fn(&str) -> bool) -> Option<Operand> {
    let text = strip_cast(strip_parens(text.trim()));
    let text = strip_parens(text);
    if let Some(literal) = string_literal(text) {
        return Some(Operand::Text(literal));
    }
    if let Ok(number) = text.parse::<f64>() {
        return Some(Operand::Number(number));
    }
    if let Some(items) = text
        .strip_prefix("ARRAY[")
        .and_then(|t| t.strip_suffix(']'))
    {
        let values = split_top(items, ", ")
            .into_iter()
            .map(|item| match operand(item, is_column)? {
                Operand::Text(t) => Some(t),
                Operand::Number(n) => Some(number_text(n)),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        return Some(Operand::List(values));
    }
    if let Some(open) = text.find('(')
        && text.ends_with(')')
        && text[..open]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !text[..open].is_empty()
    {
        let argument = operand(&text[open + 1..text.len() - 1], is_column)?;
        return Some(Operand::Call(
            text[..open].to_ascii_lowercase(),
            Box::new(argument),
        ));
    }
    let name = if let Some(quoted) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        quoted.replace("\"\"", "\"")
    } else {
        text.to_owned()
    };
    is_column(&name).then_some(Operand::Column(name))
}

/// `'it''s'` → `it's`.
fn string_literal(text: &str) -> Option<String> {
    let inner = text
        .strip_prefix("E'")
        .or_else(|| text.strip_prefix('\''))?
        .strip_suffix('\'')?;
    if inner.replace("''", "").contains('\'') {
        return None;
    }
    Some(inner.replace("''", "'"))
}

/// `x::text`, `(0)::numeric`, `ARRAY[…]::text[]` → the part before the
/// cast (a cast at the top level only).
fn strip_cast(text: &str) -> &str {
    let mut text = text;
    while let Some(at) = find_top_last(text, "::") {
        let ty = &text[at + 2..];
        if ty.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | ' ' | '[' | ']' | '"' | '.' | '(' | ')')
        }) {
            text = strip_parens(text[..at].trim());
        } else {
            break;
        }
    }
    text
}

/// Removes parentheses that enclose the whole text.
fn strip_parens(mut text: &str) -> &str {
    loop {
        let trimmed = text.trim();
        if trimmed.starts_with('(')
            && trimmed.ends_with(')')
            && closing(trimmed, 0) == Some(trimmed.len() - 1)
        {
            text = &trimmed[1..trimmed.len() - 1];
        } else {
            return trimmed;
        }
    }
}

/// The index of the parenthesis closing the one at `open`.
fn closing(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    for (i, b) in text.bytes().enumerate().skip(open) {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'(' | b'[') => depth += 1,
            (None, b')' | b']') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Byte offsets where `pattern` occurs outside quotes and brackets.
fn top_positions(text: &str, pattern: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut positions = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth = depth.saturating_sub(1),
                _ if depth == 0 && text[i..].starts_with(pattern) => {
                    positions.push(i);
                    i += pattern.len();
                    continue;
                }
                _ => {}
            },
        }
        i += 1;
    }
    positions
}

fn find_top(text: &str, pattern: &str) -> Option<usize> {
    top_positions(text, pattern).first().copied()
}

fn find_top_last(text: &str, pattern: &str) -> Option<usize> {
    top_positions(text, pattern).last().copied()
}

fn split_top<'a>(text: &'a str, separator: &str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for at in top_positions(text, separator) {
        parts.push(&text[start..at]);
        start = at + separator.len();
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(definition: &str) -> Option<Vec<Rule>> {
        parse(definition, &|name| {
            [
                "age",
                "email",
                "status",
                "expires_at",
                "created_at",
                "name",
                "price",
                "Weird Col",
            ]
            .contains(&name)
        })
    }

    #[test]
    fn bounds_and_ranges() {
        assert_eq!(
            rules("CHECK ((age >= 0))").unwrap(),
            [Rule::Min {
                column: "age".into(),
                value: 0.0,
                inclusive: true
            }]
        );
        assert_eq!(
            rules("CHECK (((age >= 18) AND (age <= 130)))").unwrap(),
            [
                Rule::Min {
                    column: "age".into(),
                    value: 18.0,
                    inclusive: true
                },
                Rule::Max {
                    column: "age".into(),
                    value: 130.0,
                    inclusive: true
                }
            ]
        );
        assert_eq!(
            rules("CHECK ((price > (0)::numeric))").unwrap(),
            [Rule::Min {
                column: "price".into(),
                value: 0.0,
                inclusive: false
            }]
        );
        assert_eq!(
            rules("CHECK ((0 < age)) NOT VALID").unwrap(),
            [Rule::Min {
                column: "age".into(),
                value: 0.0,
                inclusive: false
            }]
        );
    }

    #[test]
    fn lists_functions_and_columns() {
        assert_eq!(
            rules("CHECK ((status = ANY (ARRAY['active'::text, 'it''s'::text])))").unwrap(),
            [Rule::OneOf {
                column: "status".into(),
                values: vec!["active".into(), "it's".into()]
            }]
        );
        assert_eq!(
            rules("CHECK (((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[])))").unwrap(),
            [Rule::OneOf {
                column: "status".into(),
                values: vec!["a".into(), "b".into()]
            }]
        );
        assert_eq!(
            rules("CHECK ((email = lower(email)))").unwrap(),
            [Rule::Lowercase {
                column: "email".into()
            }]
        );
        assert_eq!(
            rules("CHECK ((char_length(name) <= 50))").unwrap(),
            [Rule::MaxLength {
                column: "name".into(),
                length: 50
            }]
        );
        assert_eq!(
            rules("CHECK ((expires_at > created_at))").unwrap(),
            [Rule::Compare {
                left: "expires_at".into(),
                op: Op::Greater,
                right: "created_at".into()
            }]
        );
        assert_eq!(
            rules("CHECK ((\"Weird Col\" <> ''::text))").unwrap(),
            [Rule::NotEqual {
                column: "Weird Col".into(),
                value: String::new()
            }]
        );
    }

    #[test]
    fn the_rest_is_not_understood() {
        assert!(rules("CHECK (((age > 1) OR (age < 0)))").is_none());
        assert!(rules("CHECK ((email ~* '^.+@.+$'::text))").is_none());
        assert!(rules("CHECK ((nope > 1))").is_none());
    }
}
