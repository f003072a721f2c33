//! Where the database is, opening it, running SQL and reading the schema.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::ValueRef;
use strata_model::Catalog;

use crate::introspect;

/// A `sqlite:` URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("invalid SQLite URL `{url}`: {reason}")]
#[diagnostic(
    code(strata::sqlite::url),
    help(
        "expected sqlite:PATH (relative or absolute, e.g. sqlite:app.db or sqlite:///var/lib/app.db) or sqlite::memory:"
    )
)]
pub struct UrlError {
    /// The URL as given.
    pub url: String,
    /// What is wrong.
    pub reason: String,
}

/// Where an SQLite database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A database file.
    File(PathBuf),
    /// A private in-memory database (gone when the connection closes).
    Memory,
}

impl Target {
    /// Whether `url` is an SQLite URL (`sqlite:…`).
    pub fn is_sqlite_url(url: &str) -> bool {
        url.get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("sqlite:"))
    }

    /// Parses `sqlite:PATH`, `sqlite://PATH`, `sqlite:///ABSOLUTE/PATH` or
    /// `sqlite::memory:`. A relative path stays relative: see
    /// [`Target::relative_to`].
    ///
    /// # Errors
    /// Not an SQLite URL, no path, or URL parameters (not supported).
    pub fn parse_url(url: &str) -> Result<Target, UrlError> {
        let error = |reason: &str| UrlError {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        if !Target::is_sqlite_url(url) {
            return Err(error("it does not start with `sqlite:`"));
        }
        let rest = &url[7..];
        if rest == ":memory:" || rest == "//:memory:" {
            return Ok(Target::Memory);
        }
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err(error("no database file after `sqlite:`"));
        }
        if path.contains('?') {
            return Err(error("URL parameters (`?…`) are not supported"));
        }
        Ok(Target::File(PathBuf::from(path)))
    }

    /// The same target with a relative path taken from `base`.
    #[must_use]
    pub fn relative_to(self, base: &Path) -> Target {
        match self {
            Target::File(path) if path.is_relative() => Target::File(base.join(path)),
            other => other,
        }
    }

    /// How to name the database in messages.
    pub fn describe(&self) -> String {
        match self {
            Target::File(path) => format!("sqlite:{}", path.display()),
            Target::Memory => "sqlite::memory:".to_owned(),
        }
    }
}

/// What went wrong talking to SQLite.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum SqliteError {
    /// The database could not be opened.
    #[error("could not open the SQLite database `{path}`: {source}")]
    #[diagnostic(
        code(strata::sqlite::open),
        help(
            "check that the folder exists and is writable; strata creates the database file when it is missing"
        )
    )]
    Open {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A statement failed.
    #[error("{message}")]
    #[diagnostic(code(strata::sqlite::statement))]
    Sql {
        /// SQLite's message.
        message: String,
        /// SQLite's extended result code name (`SQLITE_CONSTRAINT_NOTNULL`),
        /// when it gave one.
        code: Option<String>,
    },
    /// The schema holds something strata cannot read.
    #[error("reading the SQLite schema: {0}")]
    #[diagnostic(code(strata::sqlite::catalog))]
    Catalog(String),
    /// `PRAGMA foreign_key_check` found rows whose parent is missing.
    #[error("foreign keys are violated: {}", violations.join("; "))]
    #[diagnostic(
        code(strata::sqlite::foreign_key_check),
        help(
            "nothing was committed; fix or delete the rows that reference missing parents, then run it again"
        )
    )]
    ForeignKeyViolations {
        /// One line per violating table and key (`posts row 3 → users`).
        violations: Vec<String>,
    },
}

impl From<rusqlite::Error> for SqliteError {
    fn from(error: rusqlite::Error) -> SqliteError {
        let code = error
            .sqlite_error()
            .map(|e| format!("{:?} ({})", e.code, e.extended_code));
        let message = match &error {
            rusqlite::Error::SqliteFailure(_, Some(message))
            | rusqlite::Error::SqlInputError { msg: message, .. } => message.clone(),
            other => other.to_string(),
        };
        SqliteError::Sql { message, code }
    }
}

/// How long a statement waits for another connection's write lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to an SQLite database, with foreign keys enforced.
pub struct Connection {
    conn: rusqlite::Connection,
    target: Target,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Opens (creating the file when missing) the database, with
    /// `PRAGMA foreign_keys = ON` and a 5-second busy timeout.
    ///
    /// # Errors
    /// The file cannot be opened or created.
    pub fn open(target: &Target) -> Result<Connection, SqliteError> {
        let conn = match target {
            Target::File(path) => {
                rusqlite::Connection::open(path).map_err(|source| SqliteError::Open {
                    path: path.clone(),
                    source,
                })?
            }
            Target::Memory => rusqlite::Connection::open_in_memory()?,
        };
        let open_error = |source| SqliteError::Open {
            path: match target {
                Target::File(path) => path.clone(),
                Target::Memory => PathBuf::from(":memory:"),
            },
            source,
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
        // Reading the schema checks that the file is an SQLite database.
        conn.execute_batch("PRAGMA foreign_keys = ON; SELECT count(*) FROM sqlite_schema")
            .map_err(open_error)?;
        Ok(Connection {
            conn,
            target: target.clone(),
        })
    }

    /// How long a statement waits for another connection's write lock
    /// before failing with "database is locked" (5 seconds after
    /// [`Connection::open`]).
    ///
    /// # Errors
    /// SQLite's error.
    pub fn set_busy_timeout(&mut self, timeout: Duration) -> Result<(), SqliteError> {
        Ok(self.conn.busy_timeout(timeout)?)
    }

    /// [`Connection::open`], except that a database file that does not
    /// exist is not created: an empty in-memory database stands for it
    /// (still named after the file), for what only reads (`status`, a
    /// dry run).
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn open_or_empty(target: &Target) -> Result<Connection, SqliteError> {
        match target {
            Target::File(path) if !path.exists() => {
                let mut conn = Connection::memory()?;
                conn.target = target.clone();
                Ok(conn)
            }
            _ => Connection::open(target),
        }
    }

    /// A new private in-memory database (a scratch state).
    ///
    /// # Errors
    /// SQLite could not allocate it.
    pub fn memory() -> Result<Connection, SqliteError> {
        let conn = Connection::open(&Target::Memory)?;
        // A scratch state holds schema files and migrations: a
        // double-quoted name that names nothing is an error there.
        conn.set_double_quoted_strings(false)?;
        conn.conn
            .set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DQS_DDL, false)?;
        Ok(conn)
    }

    /// Turns SQLite's double-quoted string literals on or off in
    /// statements (DML), returning whether they were on. Off, `"x"` is
    /// only ever a name: `SELECT "locale" FROM t` without such a column
    /// fails instead of copying the string `'locale'` into every row
    /// (drizzle-kit writes that when a rebuild adds a column; its
    /// migrator's driver has them off). A database's own CHECKs and
    /// indexes (DDL) keep reading as they always did.
    fn set_double_quoted_strings(&self, on: bool) -> Result<bool, SqliteError> {
        use rusqlite::config::DbConfig;
        let was = self.conn.db_config(DbConfig::SQLITE_DBCONFIG_DQS_DML)?;
        self.conn
            .set_db_config(DbConfig::SQLITE_DBCONFIG_DQS_DML, on)?;
        Ok(was)
    }

    /// Where the database is.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Runs one or more statements.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn execute(&mut self, sql: &str) -> Result<(), SqliteError> {
        Ok(self.conn.execute_batch(sql)?)
    }

    /// Runs one query and returns its rows as text (`None` for NULL,
    /// blobs in hex).
    ///
    /// # Errors
    /// SQLite's error.
    pub fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, SqliteError> {
        let mut statement = self.conn.prepare(sql)?;
        let width = statement.column_count();
        let mut rows = statement.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(match row.get_ref(i)? {
                    ValueRef::Null => None,
                    ValueRef::Integer(n) => Some(n.to_string()),
                    ValueRef::Real(x) => Some(x.to_string()),
                    ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Some(b.iter().fold(String::new(), |mut s, byte| {
                        use std::fmt::Write as _;
                        let _ = write!(s, "{byte:02x}");
                        s
                    })),
                });
            }
            out.push(values);
        }
        Ok(out)
    }

    /// Whether the connection is inside a transaction.
    pub fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// Reads the whole schema. Tables and views, with their columns,
    /// constraints, indexes and triggers, are in the schema `main`;
    /// virtual tables (and their shadow tables) are listed as unmanaged.
    ///
    /// # Errors
    /// SQLite's error (a view whose query no longer works, say), or a
    /// schema strata cannot read.
    pub fn introspect(&mut self) -> Result<Catalog, SqliteError> {
        let mut results: [Vec<Vec<Option<String>>>; 4] = Default::default();
        for (slot, query) in results.iter_mut().zip(introspect::QUERIES) {
            *slot = self
                .query_text(query)
                .map_err(|e| self.broken_view().unwrap_or(e))?;
        }
        introspect::build(&results)
    }

    /// The first view whose query no longer works (it names a column or
    /// table that is gone), as the error to report: reading the columns
    /// of every view fails on it with SQLite's bare message.
    fn broken_view(&mut self) -> Option<SqliteError> {
        let views = self
            .query_text("SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name")
            .ok()?;
        views.into_iter().find_map(|row| {
            let name = row.into_iter().next().flatten()?;
            let error = self
                .query_text(&format!("SELECT * FROM {} LIMIT 0", crate::quote(&name)))
                .err()?;
            Some(SqliteError::Catalog(format!(
                "view `{name}` no longer works ({error}): drop it or create it again to match its tables"
            )))
        })
    }

    /// `PRAGMA foreign_key_check`, one line per violation.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn foreign_key_violations(&mut self) -> Result<Vec<String>, SqliteError> {
        let rows = self.query_text(
            "SELECT \"table\", rowid, parent, fkid FROM pragma_foreign_key_check ORDER BY 1, 2",
        )?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let v = |i: usize| r.get(i).cloned().flatten().unwrap_or_else(|| "?".into());
                format!(
                    "`{}` row {} references a missing `{}` row",
                    v(0),
                    v(1),
                    v(2)
                )
            })
            .collect())
    }

    /// Whether `PRAGMA foreign_keys` is on.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn foreign_keys_enabled(&mut self) -> Result<bool, SqliteError> {
        Ok(self
            .query_text("PRAGMA foreign_keys")?
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .as_deref()
            == Some("1"))
    }

    /// Runs `statements` as one transaction (`BEGIN IMMEDIATE`: other
    /// writers wait for it), the way a plan or a migration must run on
    /// SQLite:
    ///
    /// - a `PRAGMA foreign_keys = OFF` among them (SQLite ignores it inside
    ///   a transaction, which is how drizzle-kit's rebuilds delete the
    ///   rows of `ON DELETE CASCADE` children) turns foreign keys off
    ///   *before* `BEGIN`; `PRAGMA foreign_keys` statements are not run
    ///   inside;
    /// - then `PRAGMA foreign_key_check` runs before `COMMIT`, and a
    ///   violation rolls everything back;
    /// - `before_commit` runs last inside the transaction (to read the
    ///   result back, say); its error rolls back too;
    /// - foreign keys are turned on again after, whatever happened.
    ///
    /// # Errors
    /// The index of the statement that failed (`None`: the foreign-key
    /// check or `before_commit`) and the error. Nothing is kept.
    pub fn run_transaction(
        &mut self,
        statements: &[&str],
        before_commit: &mut dyn FnMut(&mut Connection) -> Result<(), SqliteError>,
    ) -> Result<(), (Option<usize>, SqliteError)> {
        self.run_transaction_if(statements, &mut |_| Ok(true), before_commit)
            .map(|_| ())
    }

    /// [`Connection::run_transaction`], with `proceed` asked first thing
    /// inside the transaction (holding the write lock): when it says
    /// `false`, nothing runs, the transaction is rolled back and the
    /// result is `Ok(false)` (another process did the work meanwhile,
    /// say).
    ///
    /// # Errors
    /// As [`Connection::run_transaction`]; an error of `proceed` rolls
    /// back too.
    pub fn run_transaction_if(
        &mut self,
        statements: &[&str],
        proceed: &mut dyn FnMut(&mut Connection) -> Result<bool, SqliteError>,
        before_commit: &mut dyn FnMut(&mut Connection) -> Result<(), SqliteError>,
    ) -> Result<bool, (Option<usize>, SqliteError)> {
        let turn_off = statements
            .iter()
            .any(|s| foreign_keys_pragma(s) == Some(false));
        let was_on = self.foreign_keys_enabled().map_err(|e| (None, e))?;
        if turn_off && was_on {
            self.execute("PRAGMA foreign_keys = OFF")
                .map_err(|e| (None, e))?;
        }
        // The statements of a plan or a migration never take `"x"` for a
        // string.
        let quoted_strings = self
            .set_double_quoted_strings(false)
            .map_err(|e| (None, e))?;
        let result = self.transaction_body(statements, turn_off, proceed, before_commit);
        let _ = self.set_double_quoted_strings(quoted_strings);
        if !matches!(result, Ok(true)) && self.in_transaction() {
            let _ = self.execute("ROLLBACK");
        }
        let _ = self.execute("PRAGMA legacy_alter_table = OFF");
        if turn_off && was_on {
            let restored = self.execute("PRAGMA foreign_keys = ON");
            if result.is_ok() {
                restored.map_err(|e| (None, e))?;
            }
        }
        result
    }

    fn transaction_body(
        &mut self,
        statements: &[&str],
        check: bool,
        proceed: &mut dyn FnMut(&mut Connection) -> Result<bool, SqliteError>,
        before_commit: &mut dyn FnMut(&mut Connection) -> Result<(), SqliteError>,
    ) -> Result<bool, (Option<usize>, SqliteError)> {
        self.execute("BEGIN IMMEDIATE").map_err(|e| (None, e))?;
        if !proceed(self).map_err(|e| (None, e))? {
            return Ok(false);
        }
        for (i, sql) in statements.iter().enumerate() {
            if foreign_keys_pragma(sql).is_some() {
                continue;
            }
            self.execute(sql).map_err(|e| (Some(i), e))?;
        }
        if check {
            let violations = self.foreign_key_violations().map_err(|e| (None, e))?;
            if !violations.is_empty() {
                return Err((None, SqliteError::ForeignKeyViolations { violations }));
            }
        }
        before_commit(self).map_err(|e| (None, e))?;
        self.execute("COMMIT").map_err(|e| (None, e))?;
        Ok(true)
    }
}

/// `Some(on)` when `sql` is `PRAGMA [main.]foreign_keys = ON|OFF` (or
/// `1`/`0`, `true`/`false`, `yes`/`no`, or in parentheses).
pub fn foreign_keys_pragma(sql: &str) -> Option<bool> {
    let words: Vec<String> = sql
        .split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '=' | '(' | ')' | ';' | '.' | '"' | '\'' | '`' | '[' | ']'
                )
        })
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let value = match words.as_slice() {
        ["pragma", "foreign_keys", value] | ["pragma", "main", "foreign_keys", value] => *value,
        _ => return None,
    };
    match value {
        "on" | "1" | "true" | "yes" => Some(true),
        "off" | "0" | "false" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_keys_pragmas() {
        assert_eq!(foreign_keys_pragma("PRAGMA foreign_keys=OFF"), Some(false));
        assert_eq!(
            foreign_keys_pragma("pragma main.foreign_keys = 1;"),
            Some(true)
        );
        assert_eq!(foreign_keys_pragma("PRAGMA foreign_keys"), None);
        assert_eq!(foreign_keys_pragma("PRAGMA foreign_key_check"), None);
    }

    #[test]
    fn a_rebuild_keeps_cascading_children() {
        let mut conn = Connection::memory().unwrap();
        conn.execute("CREATE TABLE p (id integer PRIMARY KEY); CREATE TABLE c (id integer PRIMARY KEY, p integer REFERENCES p (id) ON DELETE CASCADE); INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 1);").unwrap();
        conn.run_transaction(
            &[
                "PRAGMA foreign_keys = OFF",
                "CREATE TABLE n (id integer PRIMARY KEY, x text)",
                "INSERT INTO n (id) SELECT id FROM p",
                "DROP TABLE p",
                "ALTER TABLE n RENAME TO p",
                "PRAGMA foreign_keys = ON",
            ],
            &mut |_| Ok(()),
        )
        .unwrap();
        assert_eq!(
            conn.query_text("SELECT count(*) FROM c").unwrap()[0][0].as_deref(),
            Some("1")
        );
        assert!(conn.foreign_keys_enabled().unwrap());
        // A violation rolls everything back.
        let error = conn
            .run_transaction(&["PRAGMA foreign_keys = OFF", "DELETE FROM p"], &mut |_| {
                Ok(())
            })
            .unwrap_err();
        assert!(
            matches!(error, (None, SqliteError::ForeignKeyViolations { .. })),
            "{error:?}"
        );
        assert_eq!(
            conn.query_text("SELECT count(*) FROM p").unwrap()[0][0].as_deref(),
            Some("1")
        );
    }

    #[test]
    fn a_double_quoted_name_that_names_nothing_is_an_error_not_a_string() {
        // drizzle-kit's rebuild that adds a column selects it from the old
        // table: it must fail, not fill the column with its own name.
        let mut conn = Connection::memory().unwrap();
        let dir = std::env::temp_dir().join(format!("strata-dqs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("app.db");
        let _ = std::fs::remove_file(&path);
        let mut file = Connection::open(&Target::File(path.clone())).unwrap();
        for conn in [&mut conn, &mut file] {
            conn.execute("CREATE TABLE users (id integer PRIMARY KEY, name text); INSERT INTO users VALUES (1, 'a');")
                .unwrap();
            let error = conn
                .run_transaction(
                    &[
                        "PRAGMA foreign_keys = OFF",
                        "CREATE TABLE n (id integer PRIMARY KEY, name text, locale text NOT NULL DEFAULT 'en')",
                        "INSERT INTO n (\"id\", \"name\", \"locale\") SELECT \"id\", \"name\", \"locale\" FROM users",
                        "DROP TABLE users",
                        "ALTER TABLE n RENAME TO users",
                        "PRAGMA foreign_keys = ON",
                    ],
                    &mut |_| Ok(()),
                )
                .unwrap_err();
            assert_eq!(error.0, Some(2), "{error:?}");
            assert!(error.1.to_string().contains("no such column"), "{error:?}");
            assert_eq!(
                conn.query_text("SELECT count(*) FROM users").unwrap()[0][0].as_deref(),
                Some("1")
            );
        }
        // Outside a plan, a database file reads as it always did.
        assert_eq!(
            file.query_text("SELECT \"nope\" FROM users").unwrap()[0][0].as_deref(),
            Some("nope")
        );
        // And a table whose CHECK says "y" for 'y' (legal in SQLite)
        // still takes rows inside one.
        file.execute("CREATE TABLE legacy (x text CHECK (x <> \"y\"))")
            .unwrap();
        file.run_transaction(&["INSERT INTO legacy VALUES ('a')"], &mut |_| Ok(()))
            .unwrap();
        drop(file);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_view_that_no_longer_works_is_named() {
        let mut conn = Connection::memory().unwrap();
        conn.execute(
            "PRAGMA legacy_alter_table = ON; CREATE TABLE t (id integer PRIMARY KEY, x text); CREATE VIEW v AS SELECT id, x FROM t; ALTER TABLE t RENAME TO t_old; CREATE TABLE t (id integer PRIMARY KEY); DROP TABLE t_old;",
        )
        .unwrap();
        let error = conn.introspect().unwrap_err().to_string();
        assert!(
            error.contains("view `v` no longer works (no such column: x)"),
            "{error}"
        );
    }

    #[test]
    fn urls() {
        assert_eq!(
            Target::parse_url("sqlite::memory:").unwrap(),
            Target::Memory
        );
        assert_eq!(
            Target::parse_url("sqlite:app.db").unwrap(),
            Target::File("app.db".into())
        );
        assert_eq!(
            Target::parse_url("sqlite:///var/app.db").unwrap(),
            Target::File("/var/app.db".into())
        );
        assert_eq!(
            Target::parse_url("sqlite://data/app.db")
                .unwrap()
                .relative_to(Path::new("/p")),
            Target::File("/p/data/app.db".into())
        );
        for bad in ["sqlite:", "postgres://x", "sqlite:a.db?mode=ro"] {
            assert!(Target::parse_url(bad).is_err(), "{bad}");
        }
    }
}
