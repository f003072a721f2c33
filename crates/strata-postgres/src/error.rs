//! Errors from PostgreSQL, kept whole (SQLSTATE, detail, hint, position),
//! with the hint a strata user needs added.

use std::fmt;

use crate::ConnInfo;

/// An error the server reported, with everything it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseError {
    /// `ERROR`, `FATAL`, …
    pub severity: String,
    /// The SQLSTATE code (`42P01`).
    pub code: String,
    /// The primary message.
    pub message: String,
    /// `DETAIL`.
    pub detail: Option<String>,
    /// `HINT` from the server.
    pub hint: Option<String>,
    /// 1-based character position in the statement.
    pub position: Option<u32>,
    /// `WHERE` (the context, e.g. inside a function).
    pub context: Option<String>,
}

impl DatabaseError {
    pub(crate) fn from_db(e: &postgres::error::DbError) -> DatabaseError {
        DatabaseError {
            severity: e.severity().to_owned(),
            code: e.code().code().to_owned(),
            message: e.message().to_owned(),
            detail: e.detail().map(str::to_owned),
            hint: e.hint().map(str::to_owned),
            position: match e.position() {
                Some(postgres::error::ErrorPosition::Original(p)) => Some(*p),
                _ => None,
            },
            context: e.where_().map(str::to_owned),
        }
    }

    /// What strata suggests for this error, beyond the server's own hint.
    pub fn strata_hint(&self) -> Option<&'static str> {
        hint_for_code(&self.code)
    }

    /// Whether the error means an object the statement uses does not exist
    /// (yet): the statement may succeed once other statements have run.
    pub fn is_missing_object(&self) -> bool {
        matches!(
            self.code.as_str(),
            "42P01" | "42704" | "3F000" | "42883" | "42703" | "42P10" | "42830"
        )
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (SQLSTATE {})", self.message, self.code)
    }
}

/// What strata adds to the server's message, by SQLSTATE: the seed note's
/// troubleshooting entries and the usual connection problems.
pub fn hint_for_code(code: &str) -> Option<&'static str> {
    Some(match code {
        "28P01" | "28000" => {
            "check the user and password: DATABASE_URL, --database-url, or POSTGRES_USER and POSTGRES_PASSWORD"
        }
        "3D000" => {
            "the database does not exist: create it (`createdb NAME`) or point DATABASE_URL / POSTGRES_DB at an existing one"
        }
        "42501" => {
            "the database user lacks permissions; as an administrator run: GRANT ALL PRIVILEGES ON DATABASE <db> TO <user>; GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public TO <user>;"
        }
        "42P01" => {
            "the schema is not in sync with the code: run `strata push` (development) or `strata migrate` (production)"
        }
        "55P03" => {
            "a lock could not be taken in time: another session is using the table; retry off-peak or raise lock_timeout (see pg_stat_activity for the holder)"
        }
        "57014" => {
            "the statement ran into statement_timeout: raise it for this run, or run the long statement manually off-peak (psql \"$DATABASE_URL\" -f FILE)"
        }
        "53200" | "53100" => {
            "the server ran out of shared memory or disk; a very large plan may need max_locks_per_transaction raised"
        }
        "53300" => "the server has too many connections: close idle ones or raise max_connections",
        "57P03" => "the server is starting up or shutting down: wait and retry",
        "42P07" | "42710" | "42723" => {
            "the object already exists: the database has changes strata did not make; run `strata push --dry-run` to see the difference"
        }
        "40P01" => "a deadlock with another session: retry when the other work is done",
        "25006" => "the connection is read-only: connect to the primary, not a replica",
        _ => return None,
    })
}

/// What can go wrong talking to PostgreSQL.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum PgError {
    /// The connection could not be made.
    #[error("could not connect to {target}: {reason}")]
    #[diagnostic(code(strata::postgres::connect))]
    Connect {
        /// The URL, password masked.
        target: String,
        /// What went wrong.
        reason: String,
        /// What to do about it.
        #[help]
        help: Option<String>,
    },
    /// The server refused a statement.
    #[error("{error}")]
    #[diagnostic(code(strata::postgres::database))]
    Database {
        /// What the server said.
        error: DatabaseError,
        /// What to do about it.
        #[help]
        help: Option<String>,
    },
    /// The connection broke or the server sent something unexpected.
    #[error("lost the connection to {target}: {reason}")]
    #[diagnostic(code(strata::postgres::connection))]
    Connection {
        /// The URL, password masked.
        target: String,
        /// What went wrong.
        reason: String,
    },
    /// The catalog returned data strata does not understand.
    #[error("unexpected catalog data: {0}")]
    #[diagnostic(
        code(strata::postgres::catalog),
        help("this is a bug in strata: please report it with the server version")
    )]
    Catalog(String),
    /// The TLS settings cannot be used (an unreadable `sslrootcert`).
    #[error("TLS: {0}")]
    #[diagnostic(
        code(strata::postgres::tls),
        help(
            "sslrootcert names a PEM file of the certificate authority that signed the server's certificate"
        )
    )]
    Tls(String),
}

impl PgError {
    /// The server's error, if the server reported one.
    pub fn database_error(&self) -> Option<&DatabaseError> {
        match self {
            PgError::Database { error, .. } => Some(error),
            _ => None,
        }
    }

    pub(crate) fn from_query(error: &postgres::Error, info: &ConnInfo) -> PgError {
        if let Some(db) = error.as_db_error() {
            let error = DatabaseError::from_db(db);
            let help = error.strata_hint().map(str::to_owned);
            return PgError::Database { error, help };
        }
        PgError::Connection {
            target: info.redacted(),
            reason: describe(error),
        }
    }

    pub(crate) fn from_connect(error: &postgres::Error, info: &ConnInfo) -> PgError {
        if let Some(db) = error.as_db_error() {
            let error = DatabaseError::from_db(db);
            return PgError::Connect {
                target: info.redacted(),
                reason: error.message.clone(),
                help: error.strata_hint().map(str::to_owned),
            };
        }
        let reason = describe(error);
        let io = std::error::Error::source(error).and_then(|s| s.downcast_ref::<std::io::Error>());
        let help = match io.map(std::io::Error::kind) {
            Some(std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound) => Some(format!(
                "is PostgreSQL running at {}? Start a local one with `strata db start`, or set DATABASE_URL",
                info.address()
            )),
            Some(std::io::ErrorKind::PermissionDenied) => {
                Some(format!("this user may not open {}", info.address()))
            }
            _ if reason.contains("timeout") || reason.contains("timed out") => Some(format!(
                "no answer from {} in time: check the host, the port and any firewall",
                info.address()
            )),
            _ if reason.contains("failed to lookup") || reason.contains("resolve") || reason.contains("Name or service") => {
                Some(format!("the host name `{}` does not resolve: check it", info.host))
            }
            _ if reason.contains("password missing") => Some(
                "the server asks for a password: set it in DATABASE_URL or POSTGRES_PASSWORD".to_owned(),
            ),
            _ if reason.contains("certificate") || reason.contains("Certificate") => Some(
                "the server's certificate did not pass the sslmode check: with sslmode=verify-ca or verify-full, set sslrootcert=PATH to the authority that signed it (the built-in roots are the public ones); sslmode=require encrypts without checking".to_owned(),
            ),
            _ if reason.contains("TLS") || reason.contains("tls") || reason.contains("SSL") => Some(
                "the server does not accept TLS here: check that it has ssl = on, or use sslmode=prefer or disable on a trusted network".to_owned(),
            ),
            _ => None,
        };
        PgError::Connect {
            target: info.redacted(),
            reason,
            help,
        }
    }
}

/// The error's text with its sources (the driver's top-level text alone
/// says little: "error connecting to server").
fn describe(error: &postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
