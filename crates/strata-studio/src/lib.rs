//! strata studio: a web GUI for a PostgreSQL database, served by the
//! strata binary itself.
//!
//! A single page (hand-written HTML, CSS and JavaScript compiled into the
//! binary: no Node, no build step, nothing fetched from elsewhere) over a
//! small JSON API: tables and views with their sizes, a table's structure
//! and relations, an entity-relationship diagram, a data grid with keyset
//! paging, filters, sorts and row edits, an SQL console, and migration
//! status when the caller provides it.
//!
//! Security: it listens on 127.0.0.1 unless told otherwise, and every
//! request must carry a 128-bit token drawn from the operating system —
//! in the URL of the first page (which trades it for a `SameSite=Strict`,
//! `HttpOnly` cookie), or in an `X-Strata-Token` header. Requests without
//! it get 401. Read-only mode refuses every write. Identifiers are quoted
//! and values bound as parameters: see the `grid` module.
//!
//! The server is a minimal HTTP/1.1 implementation over `std::net`, one
//! thread per connection; the API is synchronous like the rest of strata.
//!
//! ```no_run
//! use strata_studio::{Studio, StudioOptions};
//! let database = strata_postgres::ConnInfo::parse_url("postgres://postgres@localhost/app").unwrap();
//! let studio = Studio::bind(StudioOptions::new(database)).unwrap();
//! println!("{}", studio.url());
//! studio.serve();
//! ```
#![warn(missing_docs)]

mod api;
mod console;
mod error;
mod grid;
mod http;
mod pool;
mod server;
mod token;

pub use error::StudioError;
pub use server::{DEFAULT_PORT, MigrationStatus, Studio, StudioOptions};
