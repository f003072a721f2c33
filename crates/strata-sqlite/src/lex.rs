//! SQLite's lexical structure: tokens, statements (a `CREATE TRIGGER`
//! body holds semicolons), and a canonical spelling of SQL text so that
//! two texts that mean the same compare equal.
//!
//! SQLite identifiers and keywords are case-insensitive (ASCII), and an
//! identifier may be written bare, `"quoted"`, `[bracketed]` or
//! `` `backticked` ``: the canonical form lowercases identifiers,
//! uppercases keywords, quotes an identifier only when it must be, drops
//! comments and puts single spaces between tokens.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A bare word: keyword or identifier.
    Word,
    /// `"x"`, `[x]` or `` `x` ``.
    Quoted,
    /// `'text'`.
    String,
    /// `x'00ff'`.
    Blob,
    /// A number.
    Number,
    /// `?`, `?1`, `:name`, `@name`, `$name`.
    Parameter,
    /// Punctuation and operators.
    Punct,
    /// Whitespace.
    Space,
    /// `-- …` or `/* … */`.
    Comment,
}

/// A token: its kind and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Token {
    pub(crate) fn text<'a>(&self, source: &'a str) -> &'a str {
        &source[self.start..self.end]
    }

    fn is_trivia(self) -> bool {
        matches!(self.kind, Kind::Space | Kind::Comment)
    }
}

/// Text that does not lex: an unterminated string, quote or comment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: unterminated {what}")]
pub struct LexError {
    /// 1-based line where the unterminated item starts.
    pub line: usize,
    /// What is unterminated.
    pub what: &'static str,
}

fn line_at(source: &str, offset: usize) -> usize {
    source[..offset].matches('\n').count() + 1
}

/// Splits `source` into tokens (trivia included).
pub(crate) fn tokenize(source: &str) -> Result<Vec<Token>, LexError> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let unterminated = |start: usize, what| LexError {
        line: line_at(source, start),
        what,
    };
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let kind = match b {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
                {
                    i += 1;
                }
                Kind::Space
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                Kind::Comment
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                match source[i + 2..].find("*/") {
                    Some(at) => i += 2 + at + 2,
                    // SQLite accepts a comment left open at the end.
                    None => i = bytes.len(),
                }
                Kind::Comment
            }
            b'\'' => {
                i = quoted_end(bytes, i, b'\'').ok_or_else(|| unterminated(start, "string"))?;
                Kind::String
            }
            b'"' | b'`' => {
                i = quoted_end(bytes, i, b)
                    .ok_or_else(|| unterminated(start, "quoted identifier"))?;
                Kind::Quoted
            }
            b'[' => {
                let at = source[i..]
                    .find(']')
                    .ok_or_else(|| unterminated(start, "bracketed identifier"))?;
                i += at + 1;
                Kind::Quoted
            }
            b'x' | b'X' if bytes.get(i + 1) == Some(&b'\'') => {
                i = quoted_end(bytes, i + 1, b'\'').ok_or_else(|| unterminated(start, "blob"))?;
                Kind::Blob
            }
            b'0'..=b'9' => {
                i = number_end(bytes, i);
                Kind::Number
            }
            b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i = number_end(bytes, i);
                Kind::Number
            }
            b'?' => {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                Kind::Parameter
            }
            b':' | b'@' | b'$' if bytes.get(i + 1).is_some_and(|c| is_word_byte(*c)) => {
                i += 1;
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                Kind::Parameter
            }
            c if is_word_start(c) => {
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                Kind::Word
            }
            _ => {
                let two = source.get(i..i + 2).unwrap_or("");
                i += if ["<=", ">=", "<>", "!=", "==", "||", "<<", ">>", "->"].contains(&two) {
                    if source.get(i..i + 3) == Some("->>") {
                        3
                    } else {
                        2
                    }
                } else {
                    source[i..].chars().next().map_or(1, char::len_utf8)
                };
                Kind::Punct
            }
        };
        tokens.push(Token {
            kind,
            start,
            end: i,
        });
    }
    Ok(tokens)
}

fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// The end (exclusive) of a quoted item starting at `i`, where the quote
/// is escaped by doubling it.
fn quoted_end(bytes: &[u8], mut i: usize, quote: u8) -> Option<usize> {
    i += 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

fn number_end(bytes: &[u8], mut i: usize) -> usize {
    if bytes[i] == b'0' && matches!(bytes.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
            i += 1;
        }
        return i;
    }
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.' || bytes[i] == b'_') {
        i += 1;
    }
    if i < bytes.len() && matches!(bytes[i], b'e' | b'E') {
        let mut j = i + 1;
        if j < bytes.len() && matches!(bytes[j], b'+' | b'-') {
            j += 1;
        }
        if j < bytes.len() && bytes[j].is_ascii_digit() {
            i = j;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// The tokens of `source` without whitespace and comments.
pub(crate) fn meaningful(source: &str) -> Result<Vec<Token>, LexError> {
    Ok(tokenize(source)?
        .into_iter()
        .filter(|t| !t.is_trivia())
        .collect())
}

/// Whether the token is the keyword `word` (case-insensitive).
pub(crate) fn is_word(token: &Token, source: &str, word: &str) -> bool {
    token.kind == Kind::Word && token.text(source).eq_ignore_ascii_case(word)
}

/// The identifier a word or quoted token names (quotes removed).
pub(crate) fn ident(token: &Token, source: &str) -> Option<String> {
    let text = token.text(source);
    match token.kind {
        Kind::Word => Some(text.to_owned()),
        Kind::Quoted => {
            let inner = &text[1..text.len() - 1];
            Some(match text.as_bytes()[0] {
                b'"' => inner.replace("\"\"", "\""),
                b'`' => inner.replace("``", "`"),
                _ => inner.to_owned(),
            })
        }
        // SQLite accepts a string where an identifier is expected.
        Kind::String => Some(text[1..text.len() - 1].replace("''", "'")),
        _ => None,
    }
}

/// One statement of a script: its text (without the semicolon) and the
/// 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's text.
    pub text: String,
    /// The line of its first token.
    pub line: usize,
}

/// Splits a script into statements at semicolons, keeping the body of a
/// `CREATE TRIGGER … BEGIN … END` whole (it holds semicolons of its own).
/// Empty statements (only comments) are left out.
///
/// # Errors
/// Text that does not lex.
pub fn split_statements(script: &str) -> Result<Vec<Statement>, LexError> {
    let tokens = tokenize(script)?;
    let mut out = Vec::new();
    let mut first: Option<usize> = None;
    let mut words: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut last_end = 0;
    let flush = |first: &mut Option<usize>, end: usize, out: &mut Vec<Statement>| {
        if let Some(start) = first.take() {
            out.push(Statement {
                text: script[start..end].trim_end().to_owned(),
                line: line_at(script, start),
            });
        }
    };
    for token in &tokens {
        if token.is_trivia() {
            continue;
        }
        let text = token.text(script);
        if token.kind == Kind::Punct && text == ";" && depth == 0 {
            flush(&mut first, token.start, &mut out);
            words.clear();
            continue;
        }
        if first.is_none() {
            first = Some(token.start);
        }
        last_end = token.end;
        if token.kind == Kind::Word {
            let upper = text.to_ascii_uppercase();
            let in_trigger = words.first().is_some_and(|w| w == "CREATE")
                && words.iter().take(3).any(|w| w == "TRIGGER");
            if in_trigger {
                match upper.as_str() {
                    "BEGIN" | "CASE" => depth += 1,
                    "END" => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            if words.len() < 3 {
                words.push(upper);
            }
        } else if words.len() < 3 {
            words.push(String::new());
        }
    }
    flush(&mut first, last_end, &mut out);
    Ok(out)
}

/// SQLite's keywords (https://www.sqlite.org/lang_keywords.html).
const KEYWORDS: &[&str] = &[
    "ABORT",
    "ACTION",
    "ADD",
    "AFTER",
    "ALL",
    "ALTER",
    "ALWAYS",
    "ANALYZE",
    "AND",
    "AS",
    "ASC",
    "ATTACH",
    "AUTOINCREMENT",
    "BEFORE",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CASCADE",
    "CASE",
    "CAST",
    "CHECK",
    "COLLATE",
    "COLUMN",
    "COMMIT",
    "CONFLICT",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "DATABASE",
    "DEFAULT",
    "DEFERRABLE",
    "DEFERRED",
    "DELETE",
    "DESC",
    "DETACH",
    "DISTINCT",
    "DO",
    "DROP",
    "EACH",
    "ELSE",
    "END",
    "ESCAPE",
    "EXCEPT",
    "EXCLUDE",
    "EXCLUSIVE",
    "EXISTS",
    "EXPLAIN",
    "FAIL",
    "FILTER",
    "FIRST",
    "FOLLOWING",
    "FOR",
    "FOREIGN",
    "FROM",
    "FULL",
    "GENERATED",
    "GLOB",
    "GROUP",
    "GROUPS",
    "HAVING",
    "IF",
    "IGNORE",
    "IMMEDIATE",
    "IN",
    "INDEX",
    "INDEXED",
    "INITIALLY",
    "INNER",
    "INSERT",
    "INSTEAD",
    "INTERSECT",
    "INTO",
    "IS",
    "ISNULL",
    "JOIN",
    "KEY",
    "LAST",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MATCH",
    "MATERIALIZED",
    "NATURAL",
    "NO",
    "NOT",
    "NOTHING",
    "NOTNULL",
    "NULL",
    "NULLS",
    "OF",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OTHERS",
    "OUTER",
    "OVER",
    "PARTITION",
    "PLAN",
    "PRAGMA",
    "PRECEDING",
    "PRIMARY",
    "QUERY",
    "RAISE",
    "RANGE",
    "RECURSIVE",
    "REFERENCES",
    "REGEXP",
    "REINDEX",
    "RELEASE",
    "RENAME",
    "REPLACE",
    "RESTRICT",
    "RETURNING",
    "RIGHT",
    "ROLLBACK",
    "ROW",
    "ROWS",
    "SAVEPOINT",
    "SELECT",
    "SET",
    "TABLE",
    "TEMP",
    "TEMPORARY",
    "THEN",
    "TIES",
    "TO",
    "TRANSACTION",
    "TRIGGER",
    "UNBOUNDED",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VACUUM",
    "VALUES",
    "VIEW",
    "VIRTUAL",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHOUT",
];

/// Whether `word` is an SQLite keyword.
pub(crate) fn is_keyword(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    KEYWORDS.binary_search(&upper.as_str()).is_ok()
}

/// `name` as an SQLite identifier: always double-quoted.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An identifier in canonical form: lower case (ASCII), bare when it can
/// be, else double-quoted.
pub(crate) fn canonical_ident(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let plain = lower
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && lower
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain && !is_keyword(&lower) {
        lower
    } else {
        quote(&lower)
    }
}

/// The canonical spelling of the tokens `tokens` of `source`.
pub(crate) fn canonical_tokens(tokens: &[Token], source: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<&str> = None;
    for token in tokens.iter().filter(|t| !t.is_trivia()) {
        let text = token.text(source);
        let piece = match token.kind {
            Kind::Word if is_keyword(text) => text.to_ascii_uppercase(),
            Kind::Word | Kind::Quoted => canonical_ident(&ident(token, source).unwrap_or_default()),
            Kind::Blob => text.to_ascii_uppercase(),
            _ => text.to_owned(),
        };
        let glue = match (previous, piece.as_str()) {
            // A function call or a column list: no space before `(` after a name.
            (None | Some("(" | "."), _) | (_, ")" | "," | "." | ";") | (Some("name"), "(") => false,
            _ => true,
        };
        if glue {
            out.push(' ');
        }
        out.push_str(&piece);
        previous = Some(match token.kind {
            Kind::Punct => text,
            Kind::Word if !is_keyword(text) => "name",
            Kind::Quoted => "name",
            _ => "other",
        });
    }
    out
}

/// The canonical spelling of an SQL fragment (an expression, a query, a
/// whole statement). Text that does not lex is returned trimmed.
pub fn canonical(sql: &str) -> String {
    match tokenize(sql) {
        Ok(tokens) => canonical_tokens(&tokens, sql),
        Err(_) => sql.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_sorted() {
        let mut sorted = KEYWORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, KEYWORDS);
    }

    #[test]
    fn trigger_bodies_stay_whole() {
        let script = "CREATE TABLE a (x int); -- one\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET x = CASE WHEN x > 1 THEN 1 ELSE 2 END;\n  DELETE FROM a;\nEND;\n\nBEGIN; SELECT 'a;b'; COMMIT";
        let parts = split_statements(script).unwrap();
        let texts: Vec<&str> = parts.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts.len(), 5, "{texts:?}");
        assert!(texts[1].starts_with("CREATE TRIGGER") && texts[1].ends_with("END"));
        assert_eq!(parts[1].line, 2);
        assert_eq!(texts[3], "SELECT 'a;b'");
    }

    #[test]
    fn canonical_text_ignores_case_quotes_space_and_comments() {
        assert_eq!(
            canonical("select  \"Id\", [name] from `Users` -- x\n where age=1"),
            canonical("SELECT id,name FROM users WHERE age = 1")
        );
        assert_eq!(
            canonical("lower( email ) COLLATE nocase"),
            "lower(email) COLLATE nocase"
        );
        assert_eq!(canonical("\"order\" > x'0A'"), "\"order\" > X'0A'");
        assert_eq!(canonical("datetime('now')"), "datetime('now')");
    }

    #[test]
    fn unterminated_strings_are_errors() {
        assert_eq!(
            split_statements("SELECT 1;\nSELECT 'x").unwrap_err(),
            LexError {
                line: 2,
                what: "string"
            }
        );
    }
}
