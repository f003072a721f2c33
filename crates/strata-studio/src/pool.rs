//! A few idle connections kept for the next request: connecting costs more
//! than most of the studio's queries.

use std::sync::Mutex;

use strata_postgres::{ConnInfo, Connection, PgError};

/// Idle connections beyond this are closed.
const MAX_IDLE: usize = 8;

#[derive(Debug)]
pub(crate) struct Pool {
    info: ConnInfo,
    /// `SET default_transaction_read_only = on` on every connection.
    read_only: bool,
    idle: Mutex<Vec<Connection>>,
}

impl Pool {
    pub(crate) fn new(info: ConnInfo, read_only: bool) -> Pool {
        Pool {
            info,
            read_only,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn info(&self) -> &ConnInfo {
        &self.info
    }

    /// An idle connection, or a new one.
    pub(crate) fn get(&self) -> Result<Connection, PgError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        if let Some(conn) = idle.filter(|c| !c.is_closed()) {
            return Ok(conn);
        }
        let mut info = self.info.clone();
        info.application_name
            .get_or_insert_with(|| "strata studio".to_owned());
        let mut conn = Connection::connect(&info)?;
        if self.read_only {
            // A second line of defence behind the checks in the API.
            conn.execute("SET default_transaction_read_only = on")?;
        }
        Ok(conn)
    }

    /// Gives a connection back. Only connections outside any transaction
    /// may come back: every caller ends what it began, and drops the
    /// connection when it could not.
    pub(crate) fn put(&self, conn: Connection) {
        if conn.is_closed() {
            return;
        }
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}

/// Runs `work` between `begin` and `COMMIT`, or `ROLLBACK` when it fails
/// (or when `commit` is false). A connection whose transaction could not
/// be ended is not given back to the pool.
pub(crate) fn in_transaction<T, E: From<PgError>>(
    pool: &Pool,
    begin: &str,
    commit: bool,
    work: impl FnOnce(&mut Connection) -> Result<T, E>,
) -> Result<T, E> {
    let mut conn = pool.get()?;
    conn.execute(begin)?;
    let result = work(&mut conn);
    let end = if result.is_ok() && commit {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    match conn.execute(end) {
        Ok(()) => pool.put(conn),
        Err(error) => {
            drop(conn);
            // A failed COMMIT is the statement's failure (a deferred
            // constraint, a serialization error): report it.
            if result.is_ok() {
                return Err(error.into());
            }
        }
    }
    result
}
