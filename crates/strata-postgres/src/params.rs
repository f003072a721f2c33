//! Statements with text parameters, for values that must not appear in the
//! statement text (a password hash in the server's statement log).

use crate::{Connection, PgError};

impl Connection {
    /// Runs one statement with text parameters (`$1`, `$2`, … — cast them
    /// in the SQL, `$1::text`); returns the rows it affected.
    ///
    /// # Errors
    /// The server's error, whole.
    pub fn execute_params(&mut self, sql: &str, params: &[&str]) -> Result<u64, PgError> {
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
            .collect();
        self.client
            .execute(sql, &params)
            .map_err(|e| PgError::from_query(&e, &self.info))
    }
}
