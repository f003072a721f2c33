//! The SQL console: the user's SQL, run as they wrote it, read-only unless
//! they switch to write.
//!
//! Read-only means one statement in a `BEGIN READ ONLY` transaction that
//! is always rolled back. That it is exactly one statement is proven by
//! the server's own parser (a prepared statement cannot hold two), so no
//! `COMMIT; DELETE …` can step out of the read-only transaction.
//!
//! A single statement that returns rows is read through a cursor, one
//! page at a time, so `SELECT * FROM` a table of millions of rows returns
//! its first rows at once and never holds the rest in memory.

use serde::Serialize;
use strata_postgres::{Connection, PgError, TextRows};

use crate::StudioError;
use crate::pool::{End, Pool, transaction};

/// Rows shown per result.
pub(crate) const MAX_ROWS: usize = 1000;

/// Whether the console may change the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConsoleMode {
    ReadOnly,
    Write,
}

/// One statement's result, as the console shows it.
#[derive(Debug, Serialize)]
pub(crate) struct ConsoleResult {
    pub(crate) columns: Vec<ConsoleColumn>,
    pub(crate) rows: Vec<Vec<Option<String>>>,
    /// Rows returned or affected (from the command tag), when known.
    pub(crate) affected: Option<u64>,
    /// More rows than shown.
    pub(crate) truncated: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct ConsoleColumn {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) type_name: Option<String>,
}

impl ConsoleResult {
    fn from_rows(result: TextRows) -> ConsoleResult {
        let mut rows = result.rows;
        let truncated = rows.len() > MAX_ROWS;
        rows.truncate(MAX_ROWS);
        ConsoleResult {
            columns: result
                .columns
                .into_iter()
                .map(|c| ConsoleColumn {
                    name: c.name,
                    type_name: c.type_name,
                })
                .collect(),
            rows,
            affected: result.affected,
            truncated,
        }
    }
}

/// Runs the console's SQL.
///
/// The console's connection is closed afterwards, never pooled: whatever
/// session state the SQL leaves behind (a `SET`, an advisory lock, a
/// `LISTEN`, a temporary table, a prepared statement) ends with it, and
/// never reaches the grid or the next console run.
pub(crate) fn run(
    pool: &Pool,
    sql: &str,
    mode: ConsoleMode,
) -> Result<Vec<ConsoleResult>, StudioError> {
    let statements = strata_syntax::split_statements(sql)
        .map_err(|e| StudioError::BadRequest(format!("could not read the SQL: {e}")))?;
    match (statements.len(), mode) {
        (0, _) => {
            return Err(StudioError::BadRequest(
                "there is no statement to run".to_owned(),
            ));
        }
        (1, _) | (_, ConsoleMode::Write) => {}
        (n, ConsoleMode::ReadOnly) => {
            return Err(StudioError::BadRequest(format!(
                "read-only mode runs one statement at a time, and this is {n}: run them one by one, or switch to write mode"
            )));
        }
    }
    let mut conn = pool.get()?;
    if mode == ConsoleMode::ReadOnly {
        return transaction(&mut conn, "BEGIN READ ONLY", End::Rollback, |conn| {
            one(conn, sql)
        })?;
    }
    // Write mode. One statement that returns rows is read through a
    // cursor, in a transaction; anything else runs as it is, outside a
    // transaction block, so VACUUM or CREATE INDEX CONCURRENTLY work too,
    // and a script runs as the simple protocol's one implicit transaction
    // (unless it holds its own BEGIN/COMMIT).
    if statements.len() == 1 && !conn.describe(sql)?.is_empty() {
        return transaction(&mut conn, "BEGIN", End::Commit, |conn| one(conn, sql))?;
    }
    Ok(conn
        .simple_results(sql)?
        .into_iter()
        .map(ConsoleResult::from_rows)
        .collect())
}

/// One statement, inside the caller's transaction.
fn one(conn: &mut Connection, sql: &str) -> Result<Vec<ConsoleResult>, StudioError> {
    // Parse and describe: the server's parser proves it is one statement.
    let columns = conn.describe(sql)?;
    if !columns.is_empty() {
        conn.execute("SAVEPOINT strata_console")?;
        // The user's own statement, proven single above, behind a cursor;
        // statements that cannot be a cursor's (EXPLAIN, SHOW, INSERT …
        // RETURNING) fail here and run plainly below.
        let declare = format!("DECLARE strata_console NO SCROLL CURSOR FOR\n{sql}\n");
        match conn.execute(&declare) {
            Ok(()) => {
                let fetched = conn.simple_results(&format!(
                    "FETCH FORWARD {} FROM strata_console",
                    MAX_ROWS + 1
                ))?;
                conn.execute("CLOSE strata_console")?;
                let mut rows = fetched.into_iter().next().unwrap_or_default();
                let affected = rows.rows.len();
                rows.columns = columns;
                let mut result = ConsoleResult::from_rows(rows);
                result.affected = if result.truncated {
                    None
                } else {
                    Some(affected as u64)
                };
                return Ok(vec![result]);
            }
            Err(PgError::Database { .. }) => {
                conn.execute("ROLLBACK TO SAVEPOINT strata_console")?;
            }
            Err(error) => return Err(error.into()),
        }
    }
    let results = conn.simple_results(sql)?;
    Ok(results
        .into_iter()
        .map(|mut r| {
            if r.columns.len() == columns.len() && !columns.is_empty() {
                r.columns.clone_from(&columns);
            }
            ConsoleResult::from_rows(r)
        })
        .collect())
}
