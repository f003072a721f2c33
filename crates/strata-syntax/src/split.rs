//! Splitting a script into statements, the way psql does.

use crate::lexer::{LexError, Token, TokenKind, line_of, tokenize};

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement's text, from its first meaningful token to its last,
    /// without the terminating semicolon (comments inside are kept).
    pub text: &'a str,
    /// Byte offset of `text` in the script.
    pub offset: usize,
    /// 1-based line of the statement's first token.
    pub line: usize,
}

/// Splits `script` into statements at top-level semicolons.
///
/// Semicolons inside strings, comments, dollar quotes, parentheses and the
/// `BEGIN ATOMIC … END` body of a SQL-standard function do not end a
/// statement (the same heuristic psql uses). Empty statements are dropped.
///
/// # Errors
/// An unterminated string, identifier, dollar quote or comment.
pub fn split_statements(script: &str) -> Result<Vec<Statement<'_>>, LexError> {
    let tokens = tokenize(script)?;
    let mut statements = Vec::new();
    let mut current: Vec<&Token> = Vec::new();
    let mut state = BodyState::default();
    let mut lines = (0, 1);
    for token in &tokens {
        if token.kind == TokenKind::Semicolon && state.paren_depth == 0 && state.begin_depth == 0 {
            push_statement(script, &current, &mut lines, &mut statements);
            current.clear();
            state = BodyState::default();
            continue;
        }
        state.observe(token, script);
        current.push(token);
    }
    push_statement(script, &current, &mut lines, &mut statements);
    Ok(statements)
}

/// Lines are counted from the previous statement on (`lines` holds the
/// offset and line reached so far), so splitting stays linear in the size
/// of the script.
fn push_statement<'a>(
    script: &'a str,
    tokens: &[&Token],
    lines: &mut (usize, usize),
    out: &mut Vec<Statement<'a>>,
) {
    let mut meaningful = tokens.iter().filter(|t| !t.kind.is_trivia());
    let Some(first) = meaningful.next() else {
        return;
    };
    let last = tokens
        .iter()
        .rev()
        .find(|t| !t.kind.is_trivia())
        .expect("a statement with a first token has a last one");
    let offset = first.span.start;
    let (counted_to, line) = *lines;
    let line = line + line_of(&script[counted_to..offset], offset - counted_to) - 1;
    *lines = (offset, line);
    out.push(Statement {
        text: &script[offset..last.span.end],
        offset,
        line,
    });
}

/// psql's heuristic for `CREATE [OR REPLACE] {FUNCTION|PROCEDURE} … BEGIN
/// ATOMIC … END`: inside such a statement, `BEGIN` and `CASE` open a block
/// that `END` closes.
#[derive(Default)]
struct BodyState {
    words: Vec<String>,
    paren_depth: usize,
    begin_depth: usize,
}

impl BodyState {
    fn observe(&mut self, token: &Token, script: &str) {
        match token.kind {
            TokenKind::LParen => self.paren_depth += 1,
            TokenKind::RParen => self.paren_depth = self.paren_depth.saturating_sub(1),
            TokenKind::Word => {
                let word = token.text(script).to_ascii_lowercase();
                if self.words.len() < 4 {
                    self.words.push(word.clone());
                }
                if self.is_routine() && self.paren_depth == 0 {
                    match word.as_str() {
                        "begin" => self.begin_depth += 1,
                        "case" if self.begin_depth >= 1 => self.begin_depth += 1,
                        "end" => self.begin_depth = self.begin_depth.saturating_sub(1),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    fn is_routine(&self) -> bool {
        let w = |i: usize| self.words.get(i).map_or("", String::as_str);
        w(0) == "create"
            && (matches!(w(1), "function" | "procedure")
                || (w(1) == "or" && w(2) == "replace" && matches!(w(3), "function" | "procedure")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<(usize, &str)> {
        split_statements(sql)
            .unwrap()
            .into_iter()
            .map(|s| (s.line, s.text))
            .collect()
    }

    #[test]
    fn splits_on_top_level_semicolons_only() {
        let sql = "-- header\ncreate table a (x text default ';');\n\n/* c; */ create table b ();;\nselect $$;$$";
        assert_eq!(
            texts(sql),
            vec![
                (2, "create table a (x text default ';')"),
                (4, "create table b ()"),
                (5, "select $$;$$"),
            ]
        );
    }

    #[test]
    fn begin_atomic_bodies_stay_whole() {
        let sql = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 END;\n  SELECT 2;\nEND;\nSELECT 3;";
        let parts = texts(sql);
        assert_eq!(parts.len(), 2);
        assert!(parts[0].1.ends_with("END"));
        assert_eq!(parts[1], (6, "SELECT 3"));
    }

    #[test]
    fn plain_begin_is_a_statement() {
        assert_eq!(texts("BEGIN; SELECT 1; END;").len(), 3);
    }

    #[test]
    fn lines_are_counted_across_many_statements() {
        let script = "create table t (\n  id int\n);\n".repeat(2000);
        let statements = split_statements(&script).unwrap();
        assert_eq!(statements.len(), 2000);
        assert_eq!(statements[1999].line, 1999 * 3 + 1);
    }

    #[test]
    fn trailing_comment_is_not_a_statement() {
        assert_eq!(texts("select 1; -- done\n").len(), 1);
    }
}
