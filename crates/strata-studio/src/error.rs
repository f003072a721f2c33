//! What can go wrong, for the server and for each API request.

use serde_json::{Value, json};
use strata_postgres::PgError;

use crate::http::Response;

/// An error starting the studio or answering a request.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum StudioError {
    /// The address could not be bound.
    #[error("could not listen on {address}: {source}")]
    #[diagnostic(
        code(strata::studio::bind),
        help(
            "another program may use that port: pick another with --port, or --port 0 for any free one"
        )
    )]
    Bind {
        /// `host:port`.
        address: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The OS's random source failed.
    #[error("could not draw a random token from the operating system: {0}")]
    #[diagnostic(code(strata::studio::random))]
    Random(String),
    /// The database refused or failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Postgres(#[from] PgError),
    /// The request names something that is not there.
    #[error("{0}")]
    #[diagnostic(code(strata::studio::not_found))]
    NotFound(String),
    /// The request is malformed or asks for something impossible.
    #[error("{0}")]
    #[diagnostic(code(strata::studio::bad_request))]
    BadRequest(String),
    /// A write while the studio is read-only.
    #[error("the studio is read-only (started with --read-only): {0} refused")]
    #[diagnostic(code(strata::studio::read_only))]
    ReadOnly(&'static str),
    /// The row to change is no longer as it was shown.
    #[error("{0}")]
    #[diagnostic(code(strata::studio::conflict))]
    Conflict(String),
}

impl StudioError {
    /// The JSON response for an API request that failed: the server's
    /// message, SQLSTATE, detail, hint and position when the database said
    /// no.
    pub(crate) fn response(&self) -> Response {
        let (status, body) = match self {
            StudioError::Postgres(PgError::Database { error, help }) => (
                422,
                json!({
                    "message": error.message,
                    "code": error.code,
                    "detail": error.detail,
                    "hint": error.hint.as_deref().or(if error.code == "25006" {
                        // Not a replica: the studio's own read-only mode.
                        Some("read-only: the console runs statements in a READ ONLY transaction unless it is switched to write mode")
                    } else {
                        help.as_deref()
                    }),
                    "position": error.position,
                }),
            ),
            StudioError::BadRequest(_) | StudioError::Postgres(PgError::Catalog(_)) => {
                (400, message(self))
            }
            StudioError::Postgres(_) | StudioError::Bind { .. } | StudioError::Random(_) => {
                (503, message(self))
            }
            StudioError::NotFound(_) => (404, message(self)),
            StudioError::ReadOnly(_) => (403, message(self)),
            StudioError::Conflict(_) => (409, message(self)),
        };
        Response::json(status, &json!({ "error": body }))
    }
}

fn message(error: &StudioError) -> Value {
    json!({ "message": error.to_string() })
}
