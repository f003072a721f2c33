//! Loading schema files into a database in whatever order their
//! statements happen to be written.

use std::time::{Duration, Instant};

use crate::Connection;
use crate::lex::split_statements;

/// A schema file's name (for messages) and text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceFile<'a> {
    /// The path as the user should see it.
    pub path: &'a str,
    /// The file's contents.
    pub text: &'a str,
}

/// What loading did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Statements run.
    pub statements: usize,
    /// Extra passes needed because statements used objects defined later.
    pub retries: usize,
    /// Time spent.
    pub elapsed: Duration,
}

/// A schema file that could not be loaded: where, and what SQLite said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum LoadError {
    /// The file does not lex (an unterminated string, comment or quote).
    #[error("{path}:{line}: unterminated {what}")]
    #[diagnostic(
        code(strata::schema::syntax),
        help("close the string, quoted identifier or comment")
    )]
    Syntax {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is unterminated.
        what: &'static str,
    },
    /// A statement SQLite refused.
    #[error("{path}:{line}: {message}\n  {statement}")]
    #[diagnostic(code(strata::schema::statement))]
    Statement {
        /// The file.
        path: String,
        /// 1-based line of the statement.
        line: usize,
        /// The statement's first line, for context.
        statement: String,
        /// What SQLite said.
        message: String,
    },
}

/// Whether an error says something the statement uses is not there yet
/// (another statement, later in the files, creates it).
fn missing_object(message: &str) -> bool {
    [
        "no such table",
        "no such view",
        "no such column",
        "no such index",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// Runs every statement of `files` on `conn`. A statement that fails
/// because something it uses does not exist yet is retried after the
/// others, until nothing more succeeds; so the order of statements within
/// and across files does not matter.
///
/// # Errors
/// The first statement (in file order) that cannot succeed, with its file,
/// line and SQLite's message.
pub fn load_schema(
    conn: &mut Connection,
    files: &[SourceFile<'_>],
) -> Result<LoadReport, LoadError> {
    let started = Instant::now();
    let mut pending = Vec::new();
    for file in files {
        let statements = split_statements(file.text).map_err(|e| LoadError::Syntax {
            path: file.path.to_owned(),
            line: e.line,
            what: e.what,
        })?;
        for statement in statements {
            // `sqlite3 app.db .schema` prints SQLite's own tables
            // (`CREATE TABLE sqlite_sequence(name,seq)`), which SQLite
            // makes itself and refuses to create.
            if crate::parse::created(&statement.text, "TABLE")
                .is_some_and(|name| name.to_ascii_lowercase().starts_with("sqlite_"))
            {
                continue;
            }
            pending.push((file.path, statement, String::new()));
        }
    }
    let total = pending.len();
    let mut retries = 0;
    let mut views = Vec::new();
    let mut tables = Vec::new();
    loop {
        let before = pending.len();
        let mut failed = Vec::new();
        for (path, statement, _) in pending {
            match conn.execute(&statement.text) {
                Ok(()) => {
                    if let Some(view) = crate::parse::created(&statement.text, "VIEW") {
                        views.push((path, statement, view));
                    } else if let Some(table) = crate::parse::created(&statement.text, "TABLE") {
                        tables.push((path, statement, table));
                    }
                }
                Err(error) => failed.push((path, statement, error.to_string())),
            }
        }
        let stuck = failed.len() == before;
        let only_missing = failed.iter().all(|(_, _, m)| missing_object(m));
        if failed.is_empty() {
            check_foreign_keys(conn, &tables)?;
            check_views(conn, &views)?;
            return Ok(LoadReport {
                statements: total,
                retries,
                elapsed: started.elapsed(),
            });
        }
        if stuck || !only_missing {
            let (path, statement, message) = failed
                .into_iter()
                .find(|(_, _, m)| !missing_object(m) || stuck)
                .expect("at least one statement failed");
            return Err(LoadError::Statement {
                path: path.to_owned(),
                line: statement.line,
                statement: statement.text.lines().next().unwrap_or_default().to_owned(),
                message,
            });
        }
        retries += 1;
        pending = failed;
    }
}

/// SQLite checks a foreign key only when a row is written: a key to a
/// table or columns that do not exist (a typo), or to columns without a
/// PRIMARY KEY or UNIQUE, would make every insert fail in the app. Such a
/// key is the error of its `CREATE TABLE`.
fn check_foreign_keys(
    conn: &mut Connection,
    tables: &[(&str, crate::Statement, String)],
) -> Result<(), LoadError> {
    for (path, statement, table) in tables {
        let error = |message: String| LoadError::Statement {
            path: (*path).to_owned(),
            line: statement.line,
            statement: statement.text.lines().next().unwrap_or_default().to_owned(),
            message,
        };
        let literal = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let parents = conn
            .query_text(&format!(
                "SELECT DISTINCT f.\"table\", s.name IS NULL FROM pragma_foreign_key_list({}) f \
                 LEFT JOIN sqlite_schema s ON s.type = 'table' AND s.name = f.\"table\" COLLATE NOCASE",
                literal(table)
            ))
            .map_err(|e| error(e.to_string()))?;
        if let Some(parent) = parents
            .iter()
            .find(|r| r.get(1).cloned().flatten().as_deref() == Some("1"))
            .and_then(|r| r.first().cloned().flatten())
        {
            return Err(error(format!(
                "a foreign key references table `{parent}`, which does not exist"
            )));
        }
        if !parents.is_empty() {
            // Fails with "foreign key mismatch" when the parent columns are
            // missing or not a key.
            conn.query_text(&format!("PRAGMA foreign_key_check({})", literal(table)))
                .map_err(|e| error(e.to_string()))?;
        }
    }
    Ok(())
}

/// SQLite checks a view's query only when it is used: each view is read
/// once, so that a column or table it names that does not exist is the
/// error of its `CREATE VIEW`, with its file and line.
fn check_views(
    conn: &mut Connection,
    views: &[(&str, crate::Statement, String)],
) -> Result<(), LoadError> {
    for (path, statement, view) in views {
        if let Err(error) =
            conn.query_text(&format!("SELECT * FROM {} LIMIT 0", crate::quote(view)))
        {
            return Err(LoadError::Statement {
                path: (*path).to_owned(),
                line: statement.line,
                statement: statement.text.lines().next().unwrap_or_default().to_owned(),
                message: error.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_order_and_errors_with_lines() {
        let mut conn = Connection::memory().unwrap();
        let report = load_schema(
            &mut conn,
            &[SourceFile {
                path: "a.sql",
                text: "CREATE INDEX i ON t (x);\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;\nCREATE TABLE t (x int);",
            }],
        )
        .unwrap();
        assert_eq!((report.statements, report.retries), (3, 1));
        let mut conn = Connection::memory().unwrap();
        let error = load_schema(
            &mut conn,
            &[SourceFile {
                path: "b.sql",
                text: "CREATE TABLE t (x int);\n\nCREATE TABLE t (y int);",
            }],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "b.sql:3: table t already exists\n  CREATE TABLE t (y int)"
        );
    }

    #[test]
    fn what_sqlite3_schema_prints_loads() {
        let mut conn = Connection::memory().unwrap();
        load_schema(
            &mut conn,
            &[SourceFile {
                path: "dump.sql",
                text: "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT);\n\
                       CREATE TABLE sqlite_sequence(name,seq);\n\
                       CREATE VIRTUAL TABLE docs USING fts5(body)\n/* docs(body) */;\n\
                       CREATE TABLE IF NOT EXISTS 'docs_data'(id INTEGER PRIMARY KEY, block BLOB);\n\
                       CREATE TABLE sqlite_stat1(tbl,idx,stat);",
            }],
        )
        .unwrap();
        let catalog = conn.introspect().unwrap();
        assert_eq!(catalog.tables.len(), 1, "{:?}", catalog.tables.keys());
    }

    #[test]
    fn a_foreign_key_to_a_missing_table_or_column_is_a_schema_error() {
        for (text, message) in [
            (
                "CREATE TABLE users (id integer PRIMARY KEY);\nCREATE TABLE posts (\n  id integer PRIMARY KEY,\n  user_id integer REFERENCES user (id)\n);",
                "e.sql:2: a foreign key references table `user`, which does not exist\n  CREATE TABLE posts (",
            ),
            (
                "CREATE TABLE posts (id integer PRIMARY KEY, p integer REFERENCES users (nope));\nCREATE TABLE users (id integer PRIMARY KEY);",
                "e.sql:1: foreign key mismatch - \"posts\" referencing \"users\"\n  CREATE TABLE posts (id integer PRIMARY KEY, p integer REFERENCES users (nope))",
            ),
            (
                "CREATE TABLE users (id integer PRIMARY KEY, email text);\nCREATE TABLE posts (id integer PRIMARY KEY, e text REFERENCES users (email));",
                "e.sql:2: foreign key mismatch - \"posts\" referencing \"users\"\n  CREATE TABLE posts (id integer PRIMARY KEY, e text REFERENCES users (email))",
            ),
        ] {
            let mut conn = Connection::memory().unwrap();
            let error = load_schema(
                &mut conn,
                &[SourceFile {
                    path: "e.sql",
                    text,
                }],
            )
            .unwrap_err();
            assert_eq!(error.to_string(), message);
        }
        // Keys spelled in another case, to a later table, to itself, or
        // to a UNIQUE column are fine.
        let mut conn = Connection::memory().unwrap();
        load_schema(
            &mut conn,
            &[SourceFile {
                path: "f.sql",
                text: "CREATE TABLE posts (id integer PRIMARY KEY, u integer REFERENCES USERS, parent integer REFERENCES posts (id), e text REFERENCES Users (Email));\nCREATE TABLE users (id integer PRIMARY KEY, email text UNIQUE);",
            }],
        )
        .unwrap();
    }

    #[test]
    fn a_view_that_names_a_missing_column_or_table_is_a_schema_error() {
        for (text, message) in [
            (
                "CREATE TABLE t (x int);\n\nCREATE VIEW v AS\n  SELECT nope FROM t;",
                "c.sql:3: no such column: nope\n  CREATE VIEW v AS",
            ),
            (
                "CREATE VIEW IF NOT EXISTS main.\"V w\" AS SELECT * FROM missing;",
                "c.sql:1: no such table: main.missing\n  CREATE VIEW IF NOT EXISTS main.\"V w\" AS SELECT * FROM missing",
            ),
        ] {
            let mut conn = Connection::memory().unwrap();
            let error = load_schema(
                &mut conn,
                &[SourceFile {
                    path: "c.sql",
                    text,
                }],
            )
            .unwrap_err();
            assert_eq!(error.to_string(), message);
        }
        // Views on views, in any order, still load.
        let mut conn = Connection::memory().unwrap();
        load_schema(
            &mut conn,
            &[SourceFile {
                path: "d.sql",
                text: "CREATE VIEW b AS SELECT x FROM a;\nCREATE VIEW a AS SELECT x FROM t;\nCREATE TABLE t (x int);",
            }],
        )
        .unwrap();
    }
}
