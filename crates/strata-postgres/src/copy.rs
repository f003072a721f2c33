//! `COPY … FROM STDIN`: bulk loading for the seeder and fixed data files.

use std::io::Write as _;

use crate::{ConnInfo, Connection, PgError};

/// An open `COPY … FROM STDIN`. Write the data in the format the statement
/// names, then [`CopyIn::finish`]; dropping it without finishing aborts the
/// copy (and the server rolls back what it received).
pub struct CopyIn<'a> {
    writer: postgres::CopyInWriter<'a>,
    info: ConnInfo,
}

impl std::fmt::Debug for CopyIn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyIn")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Starts a `COPY … FROM STDIN` statement.
    ///
    /// # Errors
    /// The server's error (a missing table or column, a bad option).
    pub fn copy_in(&mut self, statement: &str) -> Result<CopyIn<'_>, PgError> {
        let info = self.info.clone();
        let writer = self
            .client
            .copy_in(statement)
            .map_err(|e| PgError::from_query(&e, &info))?;
        Ok(CopyIn { writer, info })
    }
}

impl CopyIn<'_> {
    /// Sends data (best in chunks of some kilobytes or more).
    ///
    /// # Errors
    /// The server's error, when it rejected the data already, or a broken
    /// connection.
    pub fn write(&mut self, data: &[u8]) -> Result<(), PgError> {
        self.writer
            .write_all(data)
            .map_err(|e| from_io(&e, &self.info))
    }

    /// Ends the copy; returns the number of rows the server stored.
    ///
    /// # Errors
    /// The server's error (a constraint violated, malformed data), whole.
    pub fn finish(self) -> Result<u64, PgError> {
        let info = self.info;
        self.writer
            .finish()
            .map_err(|e| PgError::from_query(&e, &info))
    }
}

/// The writer wraps the client's error in an `io::Error`: unwrap it so the
/// server's message, SQLSTATE and detail are kept.
fn from_io(error: &std::io::Error, info: &ConnInfo) -> PgError {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<postgres::Error>())
    {
        Some(pg) => PgError::from_query(pg, info),
        None => PgError::Connection {
            target: info.redacted(),
            reason: error.to_string(),
        },
    }
}
