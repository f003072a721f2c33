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

/// How a transaction ends when its work succeeded (it is always rolled
/// back when the work failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Commit,
    Rollback,
}

/// Runs `work` between `begin` and its end. The outer error says the
/// transaction could not be begun or ended: the connection may still be in
/// it and must not be used again. A failed `COMMIT` (a deferred
/// constraint, a serialization failure) is the work's error.
pub(crate) fn transaction<T, E: From<PgError>>(
    conn: &mut Connection,
    begin: &str,
    end: End,
    work: impl FnOnce(&mut Connection) -> Result<T, E>,
) -> Result<Result<T, E>, PgError> {
    conn.execute(begin)?;
    let result = work(conn);
    if result.is_ok() && end == End::Commit {
        return Ok(match conn.execute("COMMIT") {
            Ok(()) => result,
            Err(error @ PgError::Database { .. }) => Err(error.into()),
            Err(error) => return Err(error),
        });
    }
    conn.execute("ROLLBACK")?;
    Ok(result)
}

/// [`transaction`] on a pooled connection, given back afterwards when the
/// transaction ended.
pub(crate) fn in_transaction<T, E: From<PgError>>(
    pool: &Pool,
    begin: &str,
    end: End,
    work: impl FnOnce(&mut Connection) -> Result<T, E>,
) -> Result<T, E> {
    let mut conn = pool.get()?;
    let result = transaction(&mut conn, begin, end, work)?;
    pool.put(conn);
    result
}
