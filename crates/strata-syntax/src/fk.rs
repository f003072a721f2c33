//! Moving the foreign keys out of a `CREATE TABLE`, so that tables whose
//! foreign keys reference each other can be created one after the other
//! (PostgreSQL cannot create them as written, in any order).

use crate::lexer::{Token, TokenKind, tokenize};

/// A `CREATE TABLE` without its foreign keys, and the `ALTER TABLE`
/// statements that add them back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitForeignKeys {
    /// The `CREATE TABLE` statement without foreign keys.
    pub create: String,
    /// One `ALTER TABLE … ADD … FOREIGN KEY …` per foreign key.
    pub foreign_keys: Vec<String>,
}

fn is_word(tokens: &[&Token], source: &str, i: usize, word: &str) -> bool {
    tokens
        .get(i)
        .is_some_and(|t| t.kind == TokenKind::Word && t.text(source).eq_ignore_ascii_case(word))
}

/// Index just past a parenthesized group starting at `i` (which must be
/// `(`), or `i` when there is none.
fn skip_group(tokens: &[&Token], i: usize) -> usize {
    if tokens.get(i).is_none_or(|t| t.kind != TokenKind::LParen) {
        return i;
    }
    let mut depth = 0usize;
    for (j, token) in tokens.iter().enumerate().skip(i) {
        match token.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// The end of a `REFERENCES …` clause that starts at `i`.
fn references_end(tokens: &[&Token], source: &str, mut i: usize) -> usize {
    i += 1; // REFERENCES
    i += 1; // table name
    while tokens.get(i).is_some_and(|t| t.kind == TokenKind::Dot) {
        i += 2;
    }
    i = skip_group(tokens, i);
    loop {
        if is_word(tokens, source, i, "match") {
            i += 2;
        } else if is_word(tokens, source, i, "on")
            && (is_word(tokens, source, i + 1, "delete")
                || is_word(tokens, source, i + 1, "update"))
        {
            i += 2;
            if is_word(tokens, source, i, "no") {
                i += 2;
            } else if is_word(tokens, source, i, "set") {
                i = skip_group(tokens, i + 2);
            } else {
                i += 1;
            }
        } else if is_word(tokens, source, i, "not") && is_word(tokens, source, i + 1, "deferrable")
        {
            i += 2;
        } else if is_word(tokens, source, i, "deferrable") {
            i += 1;
        } else if is_word(tokens, source, i, "initially") {
            i += 2;
        } else {
            return i;
        }
    }
}

/// Splits the foreign keys out of `statement` when it is a `CREATE TABLE`
/// that has any; `None` otherwise.
pub fn split_foreign_keys(statement: &str) -> Option<SplitForeignKeys> {
    let all = tokenize(statement).ok()?;
    let tokens: Vec<&Token> = all.iter().filter(|t| !t.kind.is_trivia()).collect();
    if !is_word(&tokens, statement, 0, "create") {
        return None;
    }
    let mut i = 1;
    while ["unlogged", "temporary", "temp", "global", "local"]
        .iter()
        .any(|w| is_word(&tokens, statement, i, w))
    {
        i += 1;
    }
    if !is_word(&tokens, statement, i, "table") {
        return None;
    }
    i += 1;
    if is_word(&tokens, statement, i, "if") {
        i += 3;
    }
    let name_start = i;
    i += 1;
    while tokens.get(i).is_some_and(|t| t.kind == TokenKind::Dot) {
        i += 2;
    }
    let name = &statement[tokens.get(name_start)?.span.start..tokens.get(i - 1)?.span.end];
    if tokens.get(i)?.kind != TokenKind::LParen {
        return None;
    }
    let body_end = skip_group(&tokens, i) - 1;
    // Elements of the body: token index ranges between depth-1 commas.
    let mut elements = Vec::new();
    let mut depth = 0usize;
    let mut start = i + 1;
    for (j, token) in tokens.iter().enumerate().take(body_end).skip(i + 1) {
        match token.kind {
            TokenKind::LParen | TokenKind::LBracket => depth += 1,
            TokenKind::RParen | TokenKind::RBracket => depth -= 1,
            TokenKind::Comma if depth == 0 => {
                elements.push(start..j);
                start = j + 1;
            }
            _ => {}
        }
    }
    if start < body_end {
        elements.push(start..body_end);
    }
    let text = |range: std::ops::Range<usize>| {
        &statement[tokens[range.start].span.start..tokens[range.end - 1].span.end]
    };
    let mut foreign_keys = Vec::new();
    // Byte ranges to cut out of the statement.
    let mut cuts: Vec<std::ops::Range<usize>> = Vec::new();
    for (n, element) in elements.iter().enumerate() {
        let first = element.start;
        let table_fk = is_word(&tokens, statement, first, "foreign")
            || (is_word(&tokens, statement, first, "constraint")
                && is_word(&tokens, statement, first + 2, "foreign"));
        if table_fk {
            foreign_keys.push(format!("ALTER TABLE {name} ADD {}", text(element.clone())));
            // Cut the element with the comma before it (or after it, if first).
            let cut = if n > 0 {
                tokens[elements[n - 1].end - 1].span.end..tokens[element.end - 1].span.end
            } else if let Some(next) = elements.get(1) {
                tokens[first].span.start..tokens[next.start].span.start
            } else {
                tokens[first].span.start..tokens[element.end - 1].span.end
            };
            cuts.push(cut);
            continue;
        }
        let keyword = [
            "constraint",
            "check",
            "unique",
            "primary",
            "exclude",
            "like",
        ]
        .iter()
        .any(|w| is_word(&tokens, statement, first, w));
        if keyword {
            continue;
        }
        // A column definition: look for a REFERENCES clause.
        let mut depth = 0usize;
        for j in element.clone() {
            match tokens[j].kind {
                TokenKind::LParen => depth += 1,
                TokenKind::RParen => depth -= 1,
                _ if depth == 0 && is_word(&tokens, statement, j, "references") => {
                    let named = j >= first + 2 && is_word(&tokens, statement, j - 2, "constraint");
                    let clause_start = if named { j - 2 } else { j };
                    let end = references_end(&tokens, statement, j).min(element.end);
                    let constraint = if named {
                        format!("{} ", text(j - 2..j))
                    } else {
                        String::new()
                    };
                    foreign_keys.push(format!(
                        "ALTER TABLE {name} ADD {constraint}FOREIGN KEY ({}) {}",
                        tokens[first].text(statement),
                        text(j..end)
                    ));
                    cuts.push(tokens[clause_start].span.start..tokens[end - 1].span.end);
                    break;
                }
                _ => {}
            }
        }
    }
    if foreign_keys.is_empty() {
        return None;
    }
    cuts.sort_by_key(|c| c.start);
    let mut create = String::with_capacity(statement.len());
    let mut at = 0;
    for cut in cuts {
        create.push_str(&statement[at..cut.start]);
        at = cut.end;
    }
    create.push_str(&statement[at..]);
    Some(SplitForeignKeys {
        create,
        foreign_keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_column_and_table_foreign_keys() {
        let split = split_foreign_keys(
            "CREATE TABLE app.a (\n  id int PRIMARY KEY,\n  b_id int NOT NULL CONSTRAINT a_b REFERENCES b (id) ON DELETE SET NULL (b_id) DEFERRABLE NOT NULL,\n  c_id int REFERENCES c,\n  FOREIGN KEY (c_id) REFERENCES c (id) MATCH FULL\n)",
        )
        .unwrap();
        assert_eq!(
            split.create,
            "CREATE TABLE app.a (\n  id int PRIMARY KEY,\n  b_id int NOT NULL  NOT NULL,\n  c_id int \n)"
        );
        assert_eq!(
            split.foreign_keys,
            [
                "ALTER TABLE app.a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b (id) ON DELETE SET NULL (b_id) DEFERRABLE",
                "ALTER TABLE app.a ADD FOREIGN KEY (c_id) REFERENCES c",
                "ALTER TABLE app.a ADD FOREIGN KEY (c_id) REFERENCES c (id) MATCH FULL",
            ]
        );
    }

    #[test]
    fn leaves_other_statements_alone() {
        assert!(split_foreign_keys("CREATE TABLE a (id int, CHECK (id > 0))").is_none());
        assert!(split_foreign_keys("CREATE INDEX ON a (id)").is_none());
        let split =
            split_foreign_keys("CREATE TABLE a (FOREIGN KEY (x) REFERENCES b, x int)").unwrap();
        assert_eq!(split.create, "CREATE TABLE a (x int)");
    }
}
