//! What SQLite's pragmas do not tell, read from the `CREATE` statements in
//! `sqlite_schema`: constraint names, `CHECK` expressions, `AUTOINCREMENT`,
//! conflict clauses, deferrable foreign keys, column collations,
//! generated columns, table options, and the text of index keys,
//! partial-index predicates, views and triggers.

use crate::lex::{Kind, LexError, Token, canonical_tokens, ident, is_word, meaningful};

/// A `CREATE TABLE` statement, as far as strata needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ParsedTable {
    pub(crate) columns: Vec<ParsedColumn>,
    /// Table constraints and the column constraints lifted to table level,
    /// in the order written.
    pub(crate) constraints: Vec<ParsedConstraint>,
    /// `STRICT`, `WITHOUT ROWID`, sorted.
    pub(crate) options: Vec<String>,
    /// Clauses strata does not model (`NOT NULL ON CONFLICT …`).
    pub(crate) unsupported: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ParsedColumn {
    pub(crate) name: String,
    /// `COLLATE x`, upper case.
    pub(crate) collation: Option<String>,
    /// `AS (expr) STORED|VIRTUAL`: the canonical expression and whether stored.
    pub(crate) generated: Option<(String, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedConstraint {
    pub(crate) name: Option<String>,
    pub(crate) body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    PrimaryKey {
        /// Column names and whether `DESC`.
        columns: Vec<(String, bool)>,
        conflict: Option<String>,
        autoincrement: bool,
    },
    Unique {
        columns: Vec<String>,
        conflict: Option<String>,
    },
    Check {
        expr: String,
    },
    ForeignKey {
        columns: Vec<String>,
        table: String,
        ref_columns: Vec<String>,
        /// `DEFERRABLE INITIALLY DEFERRED` and the like, canonical.
        deferrable: Option<String>,
    },
}

/// A cursor over meaningful tokens.
struct Cursor<'a> {
    src: &'a str,
    tokens: &'a [Token],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.at)
    }

    fn peek_is(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| is_word(t, self.src, word))
    }

    fn peek_punct(&self, punct: &str) -> bool {
        self.peek()
            .is_some_and(|t| t.kind == Kind::Punct && t.text(self.src) == punct)
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.peek_is(word) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn next(&mut self) -> Option<&'a Token> {
        let token = self.tokens.get(self.at);
        self.at += 1;
        token
    }

    fn ident(&mut self) -> Option<String> {
        let token = self.next()?;
        ident(token, self.src)
    }

    /// The tokens of a parenthesized group starting at the cursor (which
    /// must be on `(`), without the parentheses; the cursor moves past it.
    fn group(&mut self) -> Option<&'a [Token]> {
        if !self.peek_punct("(") {
            return None;
        }
        let start = self.at + 1;
        let mut depth = 0usize;
        while let Some(token) = self.next() {
            if token.kind == Kind::Punct {
                match token.text(self.src) {
                    "(" => depth += 1,
                    ")" => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(&self.tokens[start..self.at - 1]);
                        }
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// `ON CONFLICT x`, canonical.
    fn conflict(&mut self) -> Option<String> {
        if self.peek_is("ON")
            && self
                .tokens
                .get(self.at + 1)
                .is_some_and(|t| is_word(t, self.src, "CONFLICT"))
        {
            self.at += 2;
            return self.next().map(|t| t.text(self.src).to_ascii_uppercase());
        }
        None
    }
}

/// Splits tokens at top-level commas.
fn split_commas<'t>(tokens: &'t [Token], src: &str) -> Vec<&'t [Token]> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, token) in tokens.iter().enumerate() {
        if token.kind != Kind::Punct {
            continue;
        }
        match token.text(src) {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            "," if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < tokens.len() {
        parts.push(&tokens[start..]);
    }
    parts
}

/// Skips `CREATE [TEMP] KIND [IF NOT EXISTS] [schema.]name`, returning
/// the cursor after the name.
fn after_name<'a>(src: &'a str, tokens: &'a [Token], kind: &str) -> Option<Cursor<'a>> {
    let mut c = Cursor { src, tokens, at: 0 };
    c.eat("CREATE");
    c.eat("TEMP");
    c.eat("TEMPORARY");
    c.eat("UNIQUE");
    c.eat("VIRTUAL");
    if !c.eat(kind) {
        return None;
    }
    if c.eat("IF") {
        c.eat("NOT");
        c.eat("EXISTS");
    }
    c.ident()?;
    if c.peek_punct(".") {
        c.at += 1;
        c.ident()?;
    }
    Some(c)
}

/// The column names of an indexed-column list (`a COLLATE x DESC, b`),
/// with whether each is descending.
fn indexed_columns(group: &[Token], src: &str) -> Vec<(String, bool)> {
    split_commas(group, src)
        .into_iter()
        .filter_map(|item| {
            let name = ident(item.first()?, src)?;
            let desc = item.iter().any(|t| is_word(t, src, "DESC"));
            Some((name, desc))
        })
        .collect()
}

fn names(group: &[Token], src: &str) -> Vec<String> {
    split_commas(group, src)
        .into_iter()
        .filter_map(|item| ident(item.first()?, src))
        .collect()
}

/// Parses `REFERENCES table [(cols)] [ON …] [MATCH …] [[NOT] DEFERRABLE …]`.
fn references(c: &mut Cursor<'_>, columns: Vec<String>) -> Option<Body> {
    if !c.eat("REFERENCES") {
        return None;
    }
    let table = c.ident()?;
    let ref_columns = c.group().map(|g| names(g, c.src)).unwrap_or_default();
    let mut deferrable = None;
    loop {
        if c.peek_is("ON") {
            // ON DELETE|UPDATE action: the pragma reports the actions.
            c.at += 2;
            // SET NULL, SET DEFAULT, NO ACTION: two words; the rest one.
            let _ = c.eat("SET") || c.eat("NO");
            c.at += 1;
        } else if c.eat("MATCH") {
            c.at += 1;
        } else if c.peek_is("NOT") || c.peek_is("DEFERRABLE") {
            let start = c.at;
            c.eat("NOT");
            c.eat("DEFERRABLE");
            if c.eat("INITIALLY") {
                c.at += 1;
            }
            let text = canonical_tokens(&c.tokens[start..c.at], c.src);
            // Only `DEFERRABLE INITIALLY DEFERRED` defers anything.
            if text == "DEFERRABLE INITIALLY DEFERRED" {
                deferrable = Some(text);
            }
        } else {
            break;
        }
    }
    Some(Body::ForeignKey {
        columns,
        table,
        ref_columns,
        deferrable,
    })
}

/// Parses a `CREATE TABLE` statement.
pub(crate) fn table(sql: &str) -> Result<Option<ParsedTable>, LexError> {
    let tokens = meaningful(sql)?;
    let Some(mut c) = after_name(sql, &tokens, "TABLE") else {
        return Ok(None);
    };
    let Some(body) = c.group() else {
        // CREATE TABLE … AS SELECT: no definitions to read.
        return Ok(Some(ParsedTable::default()));
    };
    let mut out = ParsedTable::default();
    for definition in split_commas(body, sql) {
        let mut d = Cursor {
            src: sql,
            tokens: definition,
            at: 0,
        };
        if d.peek_is("CONSTRAINT")
            || d.peek_is("PRIMARY")
            || d.peek_is("UNIQUE")
            || d.peek_is("CHECK")
            || d.peek_is("FOREIGN")
        {
            if let Some(constraint) = table_constraint(&mut d) {
                out.constraints.push(constraint);
            }
        } else {
            column(&mut d, &mut out);
        }
    }
    // Table options: WITHOUT ROWID, STRICT.
    while let Some(token) = c.next() {
        if is_word(token, sql, "STRICT") {
            out.options.push("STRICT".to_owned());
        } else if is_word(token, sql, "WITHOUT") && c.eat("ROWID") {
            out.options.push("WITHOUT ROWID".to_owned());
        }
    }
    out.options.sort();
    Ok(Some(out))
}

fn table_constraint(d: &mut Cursor<'_>) -> Option<ParsedConstraint> {
    let name = if d.eat("CONSTRAINT") { d.ident() } else { None };
    let body = if d.eat("PRIMARY") {
        d.eat("KEY");
        let columns = indexed_columns(d.group()?, d.src);
        let conflict = d.conflict();
        let autoincrement = d.eat("AUTOINCREMENT");
        Body::PrimaryKey {
            columns,
            conflict,
            autoincrement,
        }
    } else if d.eat("UNIQUE") {
        let columns = indexed_columns(d.group()?, d.src)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        Body::Unique {
            columns,
            conflict: d.conflict(),
        }
    } else if d.eat("CHECK") {
        Body::Check {
            expr: canonical_tokens(d.group()?, d.src),
        }
    } else if d.eat("FOREIGN") {
        d.eat("KEY");
        let columns = names(d.group()?, d.src);
        references(d, columns)?
    } else {
        return None;
    };
    Some(ParsedConstraint { name, body })
}

fn column(d: &mut Cursor<'_>, out: &mut ParsedTable) {
    let Some(name) = d.ident() else {
        return;
    };
    let mut col = ParsedColumn {
        name: name.clone(),
        ..ParsedColumn::default()
    };
    let starts_constraint = |d: &Cursor<'_>| {
        [
            "CONSTRAINT",
            "PRIMARY",
            "NOT",
            "NULL",
            "UNIQUE",
            "CHECK",
            "DEFAULT",
            "COLLATE",
            "REFERENCES",
            "GENERATED",
            "AS",
        ]
        .iter()
        .any(|w| d.peek_is(w))
    };
    // The type: names, then an optional (n[, m]).
    while d.peek().is_some() && !starts_constraint(d) {
        if d.peek_punct("(") {
            d.group();
        } else {
            d.at += 1;
        }
    }
    let mut pending_name: Option<String> = None;
    while d.peek().is_some() {
        if d.eat("CONSTRAINT") {
            pending_name = d.ident();
            continue;
        }
        let name = pending_name.take();
        if d.eat("PRIMARY") {
            d.eat("KEY");
            let desc = d.eat("DESC");
            d.eat("ASC");
            let conflict = d.conflict();
            let autoincrement = d.eat("AUTOINCREMENT");
            out.constraints.push(ParsedConstraint {
                name,
                body: Body::PrimaryKey {
                    columns: vec![(col.name.clone(), desc)],
                    conflict,
                    autoincrement,
                },
            });
        } else if d.eat("NOT") {
            d.eat("NULL");
            if let Some(conflict) = d.conflict() {
                out.unsupported
                    .push(format!("NOT NULL ON CONFLICT {conflict} on `{}`", col.name));
            }
        } else if d.eat("NULL") {
            d.conflict();
        } else if d.eat("UNIQUE") {
            let conflict = d.conflict();
            out.constraints.push(ParsedConstraint {
                name,
                body: Body::Unique {
                    columns: vec![col.name.clone()],
                    conflict,
                },
            });
        } else if d.eat("CHECK") {
            if let Some(group) = d.group() {
                out.constraints.push(ParsedConstraint {
                    name,
                    body: Body::Check {
                        expr: canonical_tokens(group, d.src),
                    },
                });
            }
        } else if d.eat("DEFAULT") {
            // The pragma reports the default; skip its tokens.
            if d.peek_punct("(") {
                d.group();
            } else {
                if d.peek_punct("-") || d.peek_punct("+") {
                    d.at += 1;
                }
                d.at += 1;
            }
        } else if d.eat("COLLATE") {
            col.collation = d.ident().map(|c| c.to_ascii_uppercase());
        } else if d.peek_is("REFERENCES") {
            if let Some(body) = references(d, vec![col.name.clone()]) {
                out.constraints.push(ParsedConstraint { name, body });
            }
        } else if d.eat("GENERATED") || d.peek_is("AS") {
            d.eat("ALWAYS");
            d.eat("AS");
            let expr = d.group().map(|g| canonical_tokens(g, d.src));
            let stored = d.eat("STORED");
            d.eat("VIRTUAL");
            col.generated = expr.map(|e| (e, stored));
        } else {
            d.at += 1;
        }
    }
    if col.collation.as_deref() == Some("BINARY") {
        col.collation = None;
    }
    out.columns.push(col);
}

/// An index's key expressions and its `WHERE` predicate.
pub(crate) type IndexParts = (Vec<String>, Option<String>);

/// A `CREATE INDEX` statement's keys (canonical, one per key) and
/// predicate.
pub(crate) fn index(sql: &str) -> Result<Option<IndexParts>, LexError> {
    let tokens = meaningful(sql)?;
    let Some(mut c) = after_name(sql, &tokens, "INDEX") else {
        return Ok(None);
    };
    if !c.eat("ON") {
        return Ok(None);
    }
    c.ident();
    let Some(group) = c.group() else {
        return Ok(None);
    };
    let keys = split_commas(group, sql)
        .into_iter()
        .map(|key| {
            // `ASC` is the default: leave it out.
            let key: Vec<Token> = key
                .iter()
                .copied()
                .filter(|t| !is_word(t, sql, "ASC"))
                .collect();
            canonical_tokens(&key, sql)
        })
        .collect();
    let predicate = c
        .eat("WHERE")
        .then(|| canonical_tokens(&tokens[c.at..], sql));
    Ok(Some((keys, predicate)))
}

/// The name a `CREATE VIEW` (`kind` `VIEW`) or `CREATE TABLE` (`TABLE`)
/// statement creates (`None` for another statement).
pub(crate) fn created(sql: &str, kind: &str) -> Option<String> {
    let tokens = meaningful(sql).ok()?;
    let mut c = Cursor {
        src: sql,
        tokens: &tokens,
        at: 0,
    };
    if !c.eat("CREATE") {
        return None;
    }
    if !c.eat("TEMP") {
        c.eat("TEMPORARY");
    }
    if !c.eat(kind) {
        return None;
    }
    if c.eat("IF") {
        c.eat("NOT");
        c.eat("EXISTS");
    }
    let mut name = c.ident()?;
    if c.peek_punct(".") {
        c.at += 1;
        name = c.ident()?;
    }
    Some(name)
}

/// What follows a view's name: `[(columns)] AS select`, canonical.
pub(crate) fn view(sql: &str) -> Result<Option<String>, LexError> {
    let tokens = meaningful(sql)?;
    Ok(after_name(sql, &tokens, "VIEW").map(|c| canonical_tokens(&tokens[c.at..], sql)))
}

/// A `CREATE TRIGGER` statement, canonical, without `IF NOT EXISTS` or a
/// schema before the name.
pub(crate) fn trigger(sql: &str, name: &str) -> Result<String, LexError> {
    let tokens = meaningful(sql)?;
    let Some(c) = after_name(sql, &tokens, "TRIGGER") else {
        return Ok(crate::lex::canonical(sql));
    };
    let temp = tokens
        .iter()
        .take(3)
        .any(|t| is_word(t, sql, "TEMP") || is_word(t, sql, "TEMPORARY"));
    Ok(format!(
        "CREATE {}TRIGGER {} {}",
        if temp { "TEMP " } else { "" },
        crate::lex::canonical_ident(name),
        canonical_tokens(&tokens[c.at..], sql)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_pragmas_do_not_say() {
        let t = table(
            "CREATE TABLE IF NOT EXISTS main.t (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n  email varchar(10, 2) NOT NULL COLLATE nocase CONSTRAINT email_uq UNIQUE ON CONFLICT REPLACE,\n  g int AS (id + 1) STORED,\n  p int REFERENCES parent DEFERRABLE INITIALLY DEFERRED, \n  CONSTRAINT positive CHECK (id > 0),\n  FOREIGN KEY (g, p) REFERENCES \"Other\" (a, b) ON DELETE SET NULL ON UPDATE CASCADE\n) STRICT, WITHOUT ROWID",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            t.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["id", "email", "g", "p"]
        );
        assert_eq!(t.columns[1].collation.as_deref(), Some("NOCASE"));
        assert_eq!(t.columns[2].generated, Some(("id + 1".to_owned(), true)));
        assert_eq!(t.options, ["STRICT", "WITHOUT ROWID"]);
        assert_eq!(t.constraints.len(), 5);
        assert_eq!(
            t.constraints[0].body,
            Body::PrimaryKey {
                columns: vec![("id".to_owned(), false)],
                conflict: None,
                autoincrement: true
            }
        );
        assert_eq!(t.constraints[1].name.as_deref(), Some("email_uq"));
        assert!(matches!(
            &t.constraints[2].body,
            Body::ForeignKey { deferrable: Some(_), ref_columns, .. } if ref_columns.is_empty()
        ));
        assert_eq!(
            t.constraints[3].body,
            Body::Check {
                expr: "id > 0".to_owned()
            }
        );
        assert!(matches!(
            &t.constraints[4].body,
            Body::ForeignKey { table, ref_columns, .. } if table == "Other" && ref_columns.len() == 2
        ));
    }

    #[test]
    fn index_keys_and_predicates() {
        let (keys, predicate) = index(
            "CREATE UNIQUE INDEX IF NOT EXISTS i ON t (lower( email ) DESC, \"b\" ASC) WHERE deleted IS NULL",
        )
        .unwrap()
        .unwrap();
        assert_eq!(keys, ["lower(email) DESC", "b"]);
        assert_eq!(predicate.as_deref(), Some("deleted IS NULL"));
    }

    #[test]
    fn triggers_lose_if_not_exists() {
        assert_eq!(
            trigger(
                "CREATE TRIGGER IF NOT EXISTS Tr AFTER INSERT ON users BEGIN SELECT 1; END",
                "Tr"
            )
            .unwrap(),
            "CREATE TRIGGER tr AFTER INSERT ON users BEGIN SELECT 1; END"
        );
    }
}
