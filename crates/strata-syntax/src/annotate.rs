//! Rename annotations in schema files: a comment `@renamed from=OLD` on the
//! line of a `CREATE TABLE` renames the table, on a column's line renames
//! the column (the convention sqldef and Atlas use), so renames are
//! decided once, in review, and need no flag or prompt.

use crate::lexer::{Token, TokenKind, ident_value, line_of, tokenize};
use crate::split::split_statements;

/// What an annotation renames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renamed {
    /// A table: `schema` is `None` when the table name is not qualified.
    Table {
        /// The schema, when written.
        schema: Option<String>,
        /// The old name.
        from: String,
        /// The name in the schema file.
        to: String,
    },
    /// A column of a table.
    Column {
        /// The table's schema, when written.
        schema: Option<String>,
        /// The table, as named in the schema file.
        table: String,
        /// The old column name.
        from: String,
        /// The column name in the schema file.
        to: String,
    },
}

/// A rename annotation and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// What it renames.
    pub renamed: Renamed,
    /// 1-based line of the comment.
    pub line: usize,
}

/// Finds the rename annotations of a script. Annotations that are not on
/// a table's or a column's line (on an index, say) are ignored: strata
/// matches indexes and constraints by definition anyway.
pub fn rename_annotations(script: &str) -> Vec<Annotation> {
    if !script.contains("@renamed") {
        return Vec::new();
    }
    let Ok(statements) = split_statements(script) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for statement in statements {
        let Ok(tokens) = tokenize(statement.text) else {
            continue;
        };
        let text = statement.text;
        let meaningful: Vec<&Token> = tokens.iter().filter(|t| !t.kind.is_trivia()).collect();
        let Some((table_at, schema, table)) = created_table(&meaningful, text) else {
            continue;
        };
        let table_line = line_of(text, meaningful[table_at].span.start);
        for token in tokens
            .iter()
            .filter(|t| t.kind.is_trivia() && t.kind != TokenKind::Whitespace)
        {
            let Some(from) = annotation_value(token.text(text)) else {
                continue;
            };
            let line = line_of(text, token.span.start);
            let absolute_line = statement.line + line - 1;
            if line == table_line {
                found.push(Annotation {
                    renamed: Renamed::Table {
                        schema: schema.clone(),
                        from,
                        to: table.clone(),
                    },
                    line: absolute_line,
                });
                continue;
            }
            if let Some(column) = column_on_line(&meaningful, text, line) {
                found.push(Annotation {
                    renamed: Renamed::Column {
                        schema: schema.clone(),
                        table: table.clone(),
                        from,
                        to: column,
                    },
                    line: absolute_line,
                });
            }
        }
    }
    found
}

/// `CREATE [UNLOGGED] TABLE [IF NOT EXISTS] [schema.]name`: the index of
/// the name token and the names.
fn created_table(tokens: &[&Token], text: &str) -> Option<(usize, Option<String>, String)> {
    let word = |i: usize| tokens.get(i).map(|t| t.text(text).to_ascii_lowercase());
    if word(0).as_deref() != Some("create") {
        return None;
    }
    let mut i = 1;
    while matches!(
        word(i).as_deref(),
        Some("unlogged" | "temporary" | "temp" | "global" | "local")
    ) {
        i += 1;
    }
    if word(i).as_deref() != Some("table") {
        return None;
    }
    i += 1;
    if word(i).as_deref() == Some("if") {
        i += 3;
    }
    let first = ident_value(tokens.get(i)?, text)?;
    if tokens.get(i + 1).is_some_and(|t| t.kind == TokenKind::Dot) {
        let name = ident_value(tokens.get(i + 2)?, text)?;
        return Some((i + 2, Some(first), name));
    }
    Some((i, None, first))
}

/// The column defined on `line` (of the statement): the first token on
/// that line inside the table's parentheses, when it names a column.
fn column_on_line(tokens: &[&Token], text: &str, line: usize) -> Option<String> {
    let mut depth = 0usize;
    let mut previous_line = 0;
    for token in tokens {
        let token_line = line_of(text, token.span.start);
        let first_on_line = token_line != previous_line;
        previous_line = token_line;
        match token.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => depth = depth.saturating_sub(1),
            _ if token_line == line && first_on_line && depth == 1 => {
                let keyword = token.text(text).to_ascii_lowercase();
                if token.kind == TokenKind::Word
                    && matches!(
                        keyword.as_str(),
                        "constraint"
                            | "primary"
                            | "unique"
                            | "check"
                            | "foreign"
                            | "exclude"
                            | "like"
                    )
                {
                    return None;
                }
                return ident_value(token, text);
            }
            _ => {}
        }
        if token_line > line {
            break;
        }
    }
    None
}

/// `@renamed from=NAME` or `@renamed from="Name"` inside a comment.
fn annotation_value(comment: &str) -> Option<String> {
    let at = comment.find("@renamed")?;
    let rest = comment[at + "@renamed".len()..].trim_start();
    let value = rest.strip_prefix("from=")?;
    if let Some(quoted) = value.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = quoted.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    out.push('"');
                } else {
                    return Some(out);
                }
            } else {
                out.push(c);
            }
        }
        None
    } else {
        let end = value
            .find(|c: char| c.is_whitespace() || c == '*' || c == ',')
            .unwrap_or(value.len());
        let name = &value[..end];
        // Unquoted names fold to lower case, as in SQL.
        (!name.is_empty()).then(|| name.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_table_and_column_renames() {
        let sql = "CREATE TABLE app.users ( -- @renamed from=user_accounts\n  id int,\n  user_name text, -- @renamed from=\"User Name\"\n  CONSTRAINT c UNIQUE (id) -- @renamed from=old_c\n);\nCREATE INDEX i /* @renamed from=j */ ON app.users (id);";
        let found = rename_annotations(sql);
        assert_eq!(
            found,
            vec![
                Annotation {
                    renamed: Renamed::Table {
                        schema: Some("app".into()),
                        from: "user_accounts".into(),
                        to: "users".into()
                    },
                    line: 1
                },
                Annotation {
                    renamed: Renamed::Column {
                        schema: Some("app".into()),
                        table: "users".into(),
                        from: "User Name".into(),
                        to: "user_name".into()
                    },
                    line: 3
                },
            ]
        );
    }

    #[test]
    fn table_annotation_in_a_block_comment_before_the_paren() {
        let found = rename_annotations(
            "CREATE TABLE new_users /* @renamed from=Old_Users */ (\n  id int\n);",
        );
        assert_eq!(
            found[0].renamed,
            Renamed::Table {
                schema: None,
                from: "old_users".into(),
                to: "new_users".into()
            }
        );
    }
}
