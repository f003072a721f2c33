//! Quoting identifiers and literals, and renaming identifiers inside
//! expressions the database printed.

use crate::lexer::{TokenKind, ident_value, tokenize};

/// PostgreSQL's keywords that `quote_ident` must quote (every category but
/// "unreserved"), as `pg_get_keywords()` lists them on PostgreSQL 15.
const QUOTED_KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// Whether PostgreSQL would print `name` without quotes.
pub fn is_bare_ident(name: &str) -> bool {
    let mut chars = name.bytes();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_lowercase() || first == b'_')
        && chars.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && QUOTED_KEYWORDS.binary_search(&name).is_err()
}

/// Quotes an identifier the way PostgreSQL's `quote_ident` does: only when
/// it has to (so that the result matches the database's own printing).
pub fn quote_ident(name: &str) -> String {
    if is_bare_ident(name) {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// `schema.name`, each part quoted only when needed.
pub fn quote_qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// A string constant: `'it''s'`. Backslashes stay literal under
/// `standard_conforming_strings` (on since PostgreSQL 9.1).
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Renames identifiers inside an expression or definition that the database
/// printed: every identifier token equal to a `from` name becomes the
/// matching `to` name, quoted as the database would quote it. Function
/// names (followed by `(`) and qualifiers (followed by `.`) are left alone.
/// Text that does not lex is returned unchanged.
pub fn rename_identifiers(text: &str, renames: &[(&str, &str)]) -> String {
    if renames.is_empty() {
        return text.to_owned();
    }
    let Ok(tokens) = tokenize(text) else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len());
    for (i, token) in tokens.iter().enumerate() {
        let source = token.text(text);
        let next = tokens[i + 1..]
            .iter()
            .find(|t| !t.kind.is_trivia())
            .map(|t| t.kind);
        let replacement = match ident_value(token, text) {
            Some(value) if !matches!(next, Some(TokenKind::LParen | TokenKind::Dot)) => renames
                .iter()
                .find(|(from, _)| *from == value)
                .map(|(_, to)| quote_ident(to)),
            _ => None,
        };
        out.push_str(replacement.as_deref().unwrap_or(source));
    }
    out
}

/// Parses `schema.name` as PostgreSQL prints it (each part quoted when
/// needed) into its two unquoted parts.
pub fn parse_qualified(text: &str) -> Option<(String, String)> {
    let tokens = tokenize(text).ok()?;
    let parts: Vec<_> = tokens.iter().filter(|t| !t.kind.is_trivia()).collect();
    match parts.as_slice() {
        [schema, dot, name] if dot.kind == TokenKind::Dot => {
            Some((ident_value(schema, text)?, ident_value(name, text)?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_list_is_sorted_for_binary_search() {
        assert!(QUOTED_KEYWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn quotes_like_postgres() {
        assert_eq!(quote_ident("users"), "users");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("Users"), "\"Users\"");
        assert_eq!(quote_ident("a b"), "\"a b\"");
        assert_eq!(quote_ident("x\"y"), "\"x\"\"y\"");
        assert_eq!(quote_ident("1a"), "\"1a\"");
        assert_eq!(quote_ident("name"), "name"); // unreserved keyword
        assert_eq!(quote_qualified("public", "order"), "public.\"order\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }

    #[test]
    fn renames_column_references_only() {
        let renames = [("price", "cost"), ("lower", "Lower")];
        assert_eq!(
            rename_identifiers(
                "CHECK ((price > (0)::numeric) AND (lower(name) <> ''::text))",
                &renames
            ),
            "CHECK ((cost > (0)::numeric) AND (lower(name) <> ''::text))"
        );
        assert_eq!(rename_identifiers("(lower)", &renames), "(\"Lower\")");
        assert_eq!(
            rename_identifiers("price.x = 'price'", &renames),
            "price.x = 'price'"
        );
    }
}
