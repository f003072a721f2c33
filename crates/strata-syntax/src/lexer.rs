//! A PostgreSQL-compatible lexer: just enough to know where strings,
//! comments, identifiers and statements begin and end.

use std::ops::Range;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Spaces, tabs and newlines.
    Whitespace,
    /// `-- …` up to the end of the line.
    LineComment,
    /// `/* … */`, nested.
    BlockComment,
    /// An unquoted identifier or keyword.
    Word,
    /// `"an identifier"` (also `U&"…"`).
    QuotedIdent,
    /// A string constant in any of its forms (`'…'`, `E'…'`, `B'…'`,
    /// `X'…'`, `N'…'`, `U&'…'`).
    String,
    /// `$tag$ … $tag$`.
    DollarString,
    /// A numeric constant.
    Number,
    /// `$1`.
    Param,
    /// `;`.
    Semicolon,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `[`.
    LBracket,
    /// `]`.
    RBracket,
    /// `.`.
    Dot,
    /// `,`.
    Comma,
    /// `::`.
    Cast,
    /// Any other operator or punctuation character.
    Operator,
}

impl TokenKind {
    /// Whitespace and comments: what carries no meaning.
    pub fn is_trivia(self) -> bool {
        matches!(
            self,
            TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment
        )
    }
}

/// One token: its kind and where it is in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Byte range in the source.
    pub span: Range<usize>,
}

impl Token {
    /// The token's source text.
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        &source[self.span.clone()]
    }
}

/// Input the lexer cannot finish, with the 1-based line where the
/// unterminated construct starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// What is unterminated.
    pub what: &'static str,
    /// Byte offset where it starts.
    pub offset: usize,
    /// 1-based line where it starts.
    pub line: usize,
}

impl std::fmt::Display for LexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unterminated {} starting at line {}",
            self.what, self.line
        )
    }
}

impl std::error::Error for LexError {}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

fn bytecount(bytes: &[u8]) -> usize {
    // A fold rather than filter().count(): clippy's naive_bytecount wants a crate for this.
    bytes.iter().fold(0, |n, &b| n + usize::from(b == b'\n'))
}

/// 1-based line number of a byte offset.
pub fn line_of(source: &str, offset: usize) -> usize {
    bytecount(&source.as_bytes()[..offset.min(source.len())]) + 1
}

/// Splits `source` into tokens. Every byte belongs to exactly one token.
///
/// # Errors
/// An unterminated string, quoted identifier, dollar quote or block comment.
pub fn tokenize(source: &str) -> Result<Vec<Token>, LexError> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let unterminated = |what, start| LexError {
        what,
        offset: start,
        line: line_of(source, start),
    };
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        let kind = match b {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
                {
                    i += 1;
                }
                TokenKind::Whitespace
            }
            b'-' if next == Some(b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                TokenKind::LineComment
            }
            b'/' if next == Some(b'*') => {
                let mut depth = 0usize;
                loop {
                    if i + 1 >= bytes.len() {
                        return Err(unterminated("block comment", start));
                    }
                    if bytes[i] == b'/' && bytes[i + 1] == b'*' {
                        depth += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes[i + 1] == b'/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                TokenKind::BlockComment
            }
            b'\'' => {
                i = quoted_end(bytes, i + 1, b'\'', false)
                    .ok_or_else(|| unterminated("quoted string", start))?;
                TokenKind::String
            }
            b'e' | b'E' if next == Some(b'\'') => {
                i = quoted_end(bytes, i + 2, b'\'', true)
                    .ok_or_else(|| unterminated("quoted string", start))?;
                TokenKind::String
            }
            b'b' | b'B' | b'x' | b'X' | b'n' | b'N' if next == Some(b'\'') => {
                i = quoted_end(bytes, i + 2, b'\'', false)
                    .ok_or_else(|| unterminated("quoted string", start))?;
                TokenKind::String
            }
            b'u' | b'U' if next == Some(b'&') && matches!(bytes.get(i + 2), Some(b'\'' | b'"')) => {
                let quote = bytes[i + 2];
                i = quoted_end(bytes, i + 3, quote, false).ok_or_else(|| {
                    unterminated(
                        if quote == b'"' {
                            "quoted identifier"
                        } else {
                            "quoted string"
                        },
                        start,
                    )
                })?;
                if quote == b'"' {
                    TokenKind::QuotedIdent
                } else {
                    TokenKind::String
                }
            }
            b'"' => {
                i = quoted_end(bytes, i + 1, b'"', false)
                    .ok_or_else(|| unterminated("quoted identifier", start))?;
                TokenKind::QuotedIdent
            }
            b'$' if next.is_some_and(|n| n.is_ascii_digit()) => {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                TokenKind::Param
            }
            b'$' => {
                // `$tag$`: the tag is an identifier without `$`, possibly empty.
                let mut j = i + 1;
                if j < bytes.len() && is_ident_start(bytes[j]) {
                    j += 1;
                    while j < bytes.len() && is_ident_cont(bytes[j]) && bytes[j] != b'$' {
                        j += 1;
                    }
                }
                if j < bytes.len() && bytes[j] == b'$' {
                    let delimiter = &source[i..=j];
                    let body = j + 1;
                    match source[body..].find(delimiter) {
                        Some(at) => {
                            i = body + at + delimiter.len();
                            TokenKind::DollarString
                        }
                        None => return Err(unterminated("dollar-quoted string", start)),
                    }
                } else {
                    i += 1;
                    TokenKind::Operator
                }
            }
            _ if is_ident_start(b) => {
                while i < bytes.len() && is_ident_cont(bytes[i]) {
                    i += 1;
                }
                TokenKind::Word
            }
            b'0'..=b'9' => {
                i = number_end(bytes, i);
                TokenKind::Number
            }
            b'.' if next.is_some_and(|n| n.is_ascii_digit()) => {
                i = number_end(bytes, i);
                TokenKind::Number
            }
            b';' => {
                i += 1;
                TokenKind::Semicolon
            }
            b'(' => {
                i += 1;
                TokenKind::LParen
            }
            b')' => {
                i += 1;
                TokenKind::RParen
            }
            b'[' => {
                i += 1;
                TokenKind::LBracket
            }
            b']' => {
                i += 1;
                TokenKind::RBracket
            }
            b'.' => {
                i += 1;
                TokenKind::Dot
            }
            b',' => {
                i += 1;
                TokenKind::Comma
            }
            b':' if next == Some(b':') => {
                i += 2;
                TokenKind::Cast
            }
            _ => {
                // One character (which may be several bytes of UTF-8).
                i += source[i..].chars().next().map_or(1, char::len_utf8);
                TokenKind::Operator
            }
        };
        tokens.push(Token {
            kind,
            span: start..i,
        });
    }
    Ok(tokens)
}

/// The end (exclusive) of a quoted run whose body starts at `i`; a doubled
/// quote is an escaped quote, and with `backslash` so is `\'`.
fn quoted_end(bytes: &[u8], mut i: usize, quote: u8, backslash: bool) -> Option<usize> {
    while i < bytes.len() {
        let b = bytes[i];
        if backslash && b == b'\\' {
            i += 2;
            continue;
        }
        if b == quote {
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
    let digits = |i: &mut usize| {
        while *i < bytes.len() && (bytes[*i].is_ascii_digit() || bytes[*i] == b'_') {
            *i += 1;
        }
    };
    // Hex, octal and binary integers (PostgreSQL 16).
    if bytes[i] == b'0'
        && matches!(
            bytes.get(i + 1),
            Some(b'x' | b'X' | b'o' | b'O' | b'b' | b'B')
        )
    {
        i += 2;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        return i;
    }
    digits(&mut i);
    if i < bytes.len() && bytes[i] == b'.' && bytes.get(i + 1) != Some(&b'.') {
        i += 1;
        digits(&mut i);
    }
    if i < bytes.len() && matches!(bytes[i], b'e' | b'E') {
        let mut j = i + 1;
        if j < bytes.len() && matches!(bytes[j], b'+' | b'-') {
            j += 1;
        }
        if j < bytes.len() && bytes[j].is_ascii_digit() {
            i = j;
            digits(&mut i);
        }
    }
    i
}

/// The value of an identifier token: unquoted words fold to lower case,
/// quoted ones lose their quotes and doubled quotes.
pub fn ident_value(token: &Token, source: &str) -> Option<String> {
    let text = token.text(source);
    match token.kind {
        TokenKind::Word => Some(text.to_ascii_lowercase()),
        TokenKind::QuotedIdent if text.starts_with('"') => {
            Some(text[1..text.len() - 1].replace("\"\"", "\""))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(TokenKind, &str)> {
        tokenize(sql)
            .unwrap()
            .into_iter()
            .filter(|t| t.kind != TokenKind::Whitespace)
            .map(|t| (t.kind, &sql[t.span]))
            .collect()
    }

    #[test]
    fn strings_comments_and_dollar_quotes() {
        let sql =
            "select 'it''s', E'a\\'b', $f$ ; $f$, $$x$$, $1 -- c;\n/* a /* b */ ; */ \"Q\"\"x\"";
        assert_eq!(
            kinds(sql),
            vec![
                (TokenKind::Word, "select"),
                (TokenKind::String, "'it''s'"),
                (TokenKind::Comma, ","),
                (TokenKind::String, "E'a\\'b'"),
                (TokenKind::Comma, ","),
                (TokenKind::DollarString, "$f$ ; $f$"),
                (TokenKind::Comma, ","),
                (TokenKind::DollarString, "$$x$$"),
                (TokenKind::Comma, ","),
                (TokenKind::Param, "$1"),
                (TokenKind::LineComment, "-- c;"),
                (TokenKind::BlockComment, "/* a /* b */ ; */"),
                (TokenKind::QuotedIdent, "\"Q\"\"x\""),
            ]
        );
    }

    #[test]
    fn identifiers_with_dollars_are_not_dollar_quotes() {
        assert_eq!(
            kinds("a$b$ c"),
            vec![(TokenKind::Word, "a$b$"), (TokenKind::Word, "c")]
        );
    }

    #[test]
    fn numbers_and_casts() {
        assert_eq!(
            kinds("1.5e3::numeric .5 1..2"),
            vec![
                (TokenKind::Number, "1.5e3"),
                (TokenKind::Cast, "::"),
                (TokenKind::Word, "numeric"),
                (TokenKind::Number, ".5"),
                (TokenKind::Number, "1"),
                (TokenKind::Dot, "."),
                (TokenKind::Number, ".2"),
            ]
        );
    }

    #[test]
    fn unterminated_constructs_name_their_line() {
        let err = tokenize("select 1;\nselect 'abc").unwrap_err();
        assert_eq!((err.what, err.line), ("quoted string", 2));
        let err = tokenize("\n\n$body$ never ends").unwrap_err();
        assert_eq!((err.what, err.line), ("dollar-quoted string", 3));
        assert!(tokenize("/* /* */").is_err());
    }

    #[test]
    fn identifier_values_fold_case() {
        let sql = "Users \"MixedCase\"\"q\"";
        let tokens: Vec<_> = tokenize(sql)
            .unwrap()
            .into_iter()
            .filter(|t| !t.kind.is_trivia())
            .collect();
        assert_eq!(ident_value(&tokens[0], sql).unwrap(), "users");
        assert_eq!(ident_value(&tokens[1], sql).unwrap(), "MixedCase\"q");
    }
}
