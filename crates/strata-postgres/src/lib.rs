//! strata's PostgreSQL driver.
//!
//! - [`ConnInfo`]: connection settings from a URL, shown without password;
//! - [`Connection`]: a synchronous connection that introspects the whole
//!   catalog in one round trip ([`Connection::introspect`]) and runs SQL,
//!   with errors that keep everything the server said and add a hint;
//! - [`TempCluster`]: a throwaway cluster from the installed binaries;
//! - [`load_schema`]: runs schema files into a scratch database in any
//!   statement order, reporting the file and line of what fails.
//!
//! ```no_run
//! use strata_postgres::{ConnInfo, Connection};
//! let info = ConnInfo::parse_url("postgres://postgres@localhost/app").unwrap();
//! let mut conn = Connection::connect(&info).unwrap();
//! let (catalog, server) = conn.introspect().unwrap();
//! println!("{} tables on PostgreSQL {}", catalog.tables.len(), server.major());
//! ```
#![warn(missing_docs)]

mod cluster;
mod conn;
mod copy;
mod error;
pub mod introspect;
mod load;
mod params;
mod rows;
mod tls;

use strata_model::Catalog;

pub use cluster::{
    Binaries, ClusterError, ClusterOptions, RunAs, TempCluster, cache_dir, init_data_dir,
};
pub use conn::{ConnInfo, SslMode, UrlError, redact_url};
pub use copy::CopyIn;
pub use error::{DatabaseError, PgError, hint_for_code};
pub use introspect::ServerInfo;
pub use load::{
    LoadError, LoadReport, MissingRoles, SourceFile, load_schema, load_schema_with_progress,
    missing_role,
};
pub use rows::{ResultColumn, TextRows};

/// A connection to a PostgreSQL database.
pub struct Connection {
    client: postgres::Client,
    info: ConnInfo,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects.
    ///
    /// # Errors
    /// [`PgError::Connect`] with a hint (server down, wrong password,
    /// missing database, …); the password never appears in it.
    pub fn connect(info: &ConnInfo) -> Result<Connection, PgError> {
        let mut config = info.config();
        // Notices (e.g. "table does not exist, skipping") are not errors.
        config.notice_callback(|_| {});
        let client = if info.ssl_mode == SslMode::Disable
            || (info.ssl_mode == SslMode::Prefer && info.is_socket())
        {
            config.connect(postgres::NoTls)
        } else {
            let connector = tls::connector(&info.ssl_mode).map_err(PgError::Tls)?;
            config.connect(connector)
        }
        .map_err(|e| PgError::from_connect(&e, info))?;
        Ok(Connection {
            client,
            info: info.clone(),
        })
    }

    /// The settings this connection was made with.
    pub fn info(&self) -> &ConnInfo {
        &self.info
    }

    /// Runs one or more statements (simple query protocol, one round trip).
    ///
    /// # Errors
    /// The server's error, whole.
    pub fn execute(&mut self, sql: &str) -> Result<(), PgError> {
        self.client
            .batch_execute(sql)
            .map_err(|e| PgError::from_query(&e, &self.info))
    }

    /// Runs statements and returns every row of every result, as text
    /// (`None` for NULL), in one round trip.
    ///
    /// # Errors
    /// The server's error, whole.
    pub fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, PgError> {
        let messages = self
            .client
            .simple_query(sql)
            .map_err(|e| PgError::from_query(&e, &self.info))?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }

    /// Reads the whole catalog in one round trip, in its own read-only
    /// snapshot.
    ///
    /// # Errors
    /// The server's error, or catalog data strata does not understand.
    pub fn introspect(&mut self) -> Result<(Catalog, ServerInfo), PgError> {
        self.introspect_with(false)
    }

    /// Like [`Connection::introspect`], inside the transaction already open
    /// on this connection (to check a plan's result before committing it).
    ///
    /// # Errors
    /// As [`Connection::introspect`].
    pub fn introspect_in_transaction(&mut self) -> Result<(Catalog, ServerInfo), PgError> {
        self.introspect_with(true)
    }

    fn introspect_with(&mut self, in_transaction: bool) -> Result<(Catalog, ServerInfo), PgError> {
        let script = introspect::script(in_transaction);
        let results: Vec<String> = self
            .query_text(&script)?
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            // set_config() returns the path it set; only JSON results count.
            .filter(|text| text.starts_with('{') || text.starts_with('['))
            .collect();
        introspect::build(&results)
    }

    /// The server's `server_version_num`.
    ///
    /// # Errors
    /// The server's error.
    pub fn server_version_num(&mut self) -> Result<u32, PgError> {
        let rows = self.query_text("SHOW server_version_num")?;
        rows.first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| PgError::Catalog("server_version_num is not a number".to_owned()))
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}
