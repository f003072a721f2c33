//! strata's SQLite driver.
//!
//! - [`Target`]: where the database is, from a `sqlite:PATH` (or
//!   `sqlite::memory:`) URL;
//! - [`Connection`]: SQLite compiled into the binary (no system library),
//!   foreign keys enforced, the whole schema read as a
//!   [`Catalog`](strata_model::Catalog) in four set-based queries
//!   ([`Connection::introspect`]);
//! - [`load_schema`]: runs schema files into a database (an in-memory one
//!   is the scratch state: SQLite needs no server) in any statement order,
//!   reporting the file and line of what fails;
//! - [`split_statements`] and [`canonical`]: SQLite's statements (trigger
//!   bodies hold semicolons) and a canonical spelling of SQL text.
//!
//! SQLite has no schemas, enums, sequences, functions or policies: every
//! object is in the schema `main`, and a catalog read from SQLite never
//! holds the rest.
//!
//! ```
//! use strata_sqlite::{Connection, Target};
//! let mut conn = Connection::open(&Target::parse_url("sqlite::memory:").unwrap()).unwrap();
//! conn.execute("CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL UNIQUE)").unwrap();
//! let catalog = conn.introspect().unwrap();
//! assert_eq!(catalog.tables.len(), 1);
//! ```
#![warn(missing_docs)]

mod conn;
mod introspect;
mod lex;
mod load;
mod parse;

pub use conn::{BUSY_TIMEOUT, Connection, SqliteError, Target, UrlError, foreign_keys_pragma};
pub use introspect::MAIN;
pub use lex::{LexError, Statement, canonical, quote, split_statements};
pub use load::{LoadError, LoadReport, SourceFile, load_schema};
