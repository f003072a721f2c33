//! Running migrations from inside an app: the folder compiled into the
//! binary with [`embed_migrations!`](crate::embed_migrations), or read at
//! run time, applied by the same runner as `strata migrate` (the lock,
//! checksums, one transaction per migration, drizzle's tracking table).
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! static MIGRATIONS: strata::migrate::EmbeddedMigrations = strata::embed_migrations!("tests/fixtures/embedded");
//!
//! let info = strata::ConnInfo::parse_url(&std::env::var("DATABASE_URL")?)?;
//! let mut conn = strata::Connection::connect(&info)?;
//! let report = MIGRATIONS.run(&mut conn)?;
//! println!("{} migration(s) applied", report.applied.len());
//! # Ok(())
//! # }
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use strata_postgres::Connection;

use super::folder::{Folder, Layout, Migration, folder_timestamp};
use super::runner::{MigrateOptions, MigrateReport, migrate};
use super::status::{Status, status_without_drift};
use super::{MigrateError, RollbackTarget, rollback};
use crate::Observer;
use crate::config::TrackingTable;

/// One migration compiled into the binary.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigration {
    /// `0003_add_roles`.
    pub tag: &'static str,
    /// The journal's `when`; `None` for drizzle-kit 1.0's layout, where the
    /// tag's timestamp is used.
    pub when: Option<i64>,
    /// The file it came from, relative to the crate (for messages).
    pub path: &'static str,
    /// Its SQL.
    pub sql: &'static str,
    /// Its rollback script.
    pub rollback: Option<&'static str>,
}

/// A migrations folder compiled into the binary by
/// [`embed_migrations!`](crate::embed_migrations).
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigrations {
    migrations: &'static [EmbeddedMigration],
}

impl EmbeddedMigrations {
    /// What `embed_migrations!` expands to.
    pub const fn new(migrations: &'static [EmbeddedMigration]) -> EmbeddedMigrations {
        EmbeddedMigrations { migrations }
    }

    /// The migrations, in order.
    pub const fn migrations(&self) -> &'static [EmbeddedMigration] {
        self.migrations
    }

    /// As a [`Folder`], for the runner.
    ///
    /// # Errors
    /// A drizzle-kit 1.0 tag that does not start with a valid timestamp.
    pub fn folder(&self) -> Result<Folder, MigrateError> {
        let mut migrations = Vec::with_capacity(self.migrations.len());
        let mut layout = Layout::Journal;
        for (idx, embedded) in (0u32..).zip(self.migrations) {
            let when = if let Some(when) = embedded.when {
                when
            } else {
                layout = Layout::Folders;
                embedded
                    .tag
                    .get(..14)
                    .and_then(folder_timestamp)
                    .ok_or_else(|| MigrateError::Malformed {
                        path: PathBuf::from(embedded.path),
                        reason: format!(
                            "`{}` does not start with a YYYYMMDDHHMMSS timestamp",
                            embedded.tag
                        ),
                    })?
            };
            let path = PathBuf::from(embedded.path);
            let rollback_path = match layout {
                Layout::Journal => path.with_file_name(format!("{}_rollback.sql", embedded.tag)),
                Layout::Folders => path.with_file_name("rollback.sql"),
            };
            migrations.push(Migration::new(
                idx,
                embedded.tag.to_owned(),
                when,
                path,
                embedded.sql.to_owned(),
                embedded.rollback.map(str::to_owned),
                rollback_path,
            ));
        }
        Ok(Folder {
            dir: PathBuf::from("(embedded)"),
            layout,
            journal: None,
            migrations,
        })
    }

    /// A [`Migrator`] for these migrations, with the defaults.
    ///
    /// # Errors
    /// See [`EmbeddedMigrations::folder`].
    pub fn migrator(&self) -> Result<Migrator, MigrateError> {
        Ok(Migrator::new(self.folder()?))
    }

    /// Applies the pending migrations with the defaults of
    /// [`Migrator::new`].
    ///
    /// # Errors
    /// As [`Migrator::run`].
    pub fn run(&self, conn: &mut Connection) -> Result<MigrateReport, MigrateError> {
        self.migrator()?.run(conn)
    }
}

/// Applies a migrations folder: what `strata migrate` does, as a library.
#[derive(Debug, Clone)]
pub struct Migrator {
    folder: Folder,
    tracking: TrackingTable,
    options: MigrateOptions,
}

impl Migrator {
    /// A migrator for `folder`, with drizzle's tracking table
    /// (`drizzle.__drizzle_migrations`), a 10 s `lock_timeout` retried 3
    /// times, and no `statement_timeout` — `strata migrate`'s defaults.
    pub fn new(folder: Folder) -> Migrator {
        Migrator {
            folder,
            tracking: TrackingTable {
                schema: "drizzle".to_owned(),
                table: "__drizzle_migrations".to_owned(),
            },
            options: MigrateOptions {
                lock_timeout: Some(Duration::from_secs(10)),
                retries: 3,
                ..MigrateOptions::default()
            },
        }
    }

    /// A migrator for a migrations folder read now.
    ///
    /// # Errors
    /// A malformed journal or a missing file.
    pub fn from_dir(dir: &Path) -> Result<Migrator, MigrateError> {
        Ok(Migrator::new(Folder::read(dir, Path::new(""))?))
    }

    /// Another tracking table (`[migrations] schema` and `table`).
    #[must_use]
    pub fn tracking_table(mut self, schema: &str, table: &str) -> Migrator {
        self.tracking = TrackingTable {
            schema: schema.to_owned(),
            table: table.to_owned(),
        };
        self
    }

    /// Other options (timeouts, retries, `to`, out-of-order, edited).
    #[must_use]
    pub fn options(mut self, options: MigrateOptions) -> Migrator {
        self.options = options;
        self
    }

    /// The migrations.
    pub fn folder(&self) -> &Folder {
        &self.folder
    }

    /// Applies the pending migrations, one transaction each, holding the
    /// migrate lock so that several instances starting at once apply each
    /// migration exactly once.
    ///
    /// # Errors
    /// An applied migration whose text changed, a pending migration older
    /// than the newest applied one, or a failing statement (the database
    /// stays at the last good migration).
    pub fn run(&self, conn: &mut Connection) -> Result<MigrateReport, MigrateError> {
        self.run_observed(conn, &mut ())
    }

    /// [`Migrator::run`], reporting each migration to `observer`.
    ///
    /// # Errors
    /// As [`Migrator::run`].
    pub fn run_observed(
        &self,
        conn: &mut Connection,
        observer: &mut dyn Observer,
    ) -> Result<MigrateReport, MigrateError> {
        migrate(conn, &self.folder, &self.tracking, &self.options, observer)
    }

    /// Applied, pending, edited and missing migrations (no drift check,
    /// which needs a scratch database).
    ///
    /// # Errors
    /// The database cannot be read.
    pub fn status(&self, conn: &mut Connection) -> Result<Status, MigrateError> {
        status_without_drift(conn, &self.folder, &self.tracking)
    }

    /// Undoes the last `steps` applied migrations with their rollback
    /// scripts.
    ///
    /// # Errors
    /// A migration without a rollback script, or a failing statement.
    pub fn rollback(
        &self,
        conn: &mut Connection,
        steps: usize,
    ) -> Result<Vec<String>, MigrateError> {
        rollback(
            conn,
            &self.folder,
            &self.tracking,
            RollbackTarget::Steps(steps),
            &mut (),
        )
    }
}
