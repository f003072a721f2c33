//! strata: schema-as-code migrations for PostgreSQL, as a library.
//!
//! The CLI is a thin layer over this crate. The pieces:
//! - [`config`]: `strata.toml`, `.env` and the environment, resolved into
//!   [`Settings`];
//! - [`desired`]: the schema files loaded into a scratch database and read
//!   back as a catalog (cached while the files do not change);
//! - [`push`]: plan and apply the statements that make a database match.
//!
//! ```no_run
//! use strata::config::{Inputs, load_config, resolve};
//! use strata::push::{PushOptions, apply_push, plan_push};
//! use strata_diff::NoRenames;
//!
//! let inputs = Inputs { cwd: std::env::current_dir().unwrap(), ..Inputs::default() };
//! let (path, config) = load_config(&inputs).unwrap();
//! let settings = resolve(&inputs, path, config).unwrap();
//! let files = strata::desired::read_schema_files(&settings).unwrap();
//! let mut conn = strata_postgres::Connection::connect(&settings.database).unwrap();
//! let plan = plan_push(&settings, &mut conn, &files, &PushOptions::default(), &mut NoRenames, &mut ()).unwrap();
//! if plan.data_loss().next().is_none() {
//!     apply_push(&mut conn, &plan, &mut ()).unwrap();
//! }
//! ```
#![warn(missing_docs)]

pub mod backfill;
pub mod backup;
pub mod bootstrap;
pub mod check;
pub mod config;
pub mod desired;
mod error;
pub mod local;
pub mod migrate;
pub mod pull;
pub mod push;
pub mod reset;
pub mod seed;
pub mod sqlite;

pub use config::Settings;
pub use error::Error;
pub use strata_macros::embed_migrations;
pub use strata_postgres::{ConnInfo, Connection};

/// Something worth telling the user while an operation runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A new stage begins.
    Stage(String),
    /// Statements done out of a total.
    Progress {
        /// Done so far.
        done: usize,
        /// In all.
        total: usize,
    },
    /// Something that does not stop the operation but should be known.
    Warning(String),
    /// Rows loaded into one table out of a total (seeding).
    Rows {
        /// The table.
        label: String,
        /// Rows so far.
        done: u64,
        /// Rows in all.
        total: u64,
    },
    /// A migration was applied.
    Migrated {
        /// Its tag.
        tag: String,
        /// How long it took.
        elapsed: std::time::Duration,
    },
    /// A migration was undone by its rollback script.
    RolledBack {
        /// Its tag.
        tag: String,
        /// How long it took.
        elapsed: std::time::Duration,
    },
}

/// Receives [`Event`]s; `()` ignores them.
pub trait Observer {
    /// Called for each event.
    fn event(&mut self, event: Event);
}

impl Observer for () {
    fn event(&mut self, _: Event) {}
}
