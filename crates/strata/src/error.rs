use std::path::PathBuf;

use strata_diff::DiffError;
use strata_postgres::{ClusterError, LoadError, PgError};

use crate::config::ConfigError;

/// What [`Error::NotConverged`] says when nothing was committed.
pub(crate) const NOT_CONVERGED_HELP: &str =
    "nothing was committed; this is a bug in strata: please report it with the schema files";

/// Everything that can stop a strata operation.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum Error {
    /// The configuration.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] ConfigError),
    /// Talking to PostgreSQL.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Postgres(#[from] PgError),
    /// Loading the schema files.
    #[error("schema file {0}")]
    #[diagnostic(transparent)]
    Load(#[from] LoadError),
    /// Comparing catalogs.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Diff(#[from] DiffError),
    /// Migrations.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Migrate(#[from] crate::migrate::MigrateError),
    /// Starting a throwaway cluster.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Cluster(#[from] ClusterError),
    /// Seeding.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Seed(#[from] strata_seed::SeedError),
    /// Bootstrap files and the admin user.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Bootstrap(#[from] crate::bootstrap::BootstrapError),
    /// Backups.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Backup(#[from] crate::backup::BackupError),
    /// Talking to SQLite.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Sqlite(#[from] strata_sqlite::SqliteError),
    /// Loading the schema files into SQLite.
    #[error("schema file {0}")]
    #[diagnostic(transparent)]
    SqliteLoad(#[from] strata_sqlite::LoadError),
    /// A change SQLite cannot make.
    #[error(transparent)]
    #[diagnostic(transparent)]
    SqliteUnsupported(#[from] strata_sql::sqlite::Unsupported),
    /// A statement of an SQLite plan failed (the plan runs in one
    /// transaction: nothing was kept).
    #[error(
        "statement {number} of {total} failed: {error}\n  {sql}\nits transaction was rolled back; nothing was applied"
    )]
    #[diagnostic(code(strata::apply::failed))]
    SqliteApply {
        /// 1-based number of the statement.
        number: usize,
        /// Statements in the plan.
        total: usize,
        /// The statement.
        sql: String,
        /// What SQLite said.
        error: strata_sqlite::SqliteError,
    },
    /// A statement of an SQLite migration, rollback script or replay failed.
    #[error(
        "{what} `{tag}` failed {}: {error}\n  {sql}\n{outcome}",
        failed_at(path, *line, *number)
    )]
    #[diagnostic(code(strata::migrate::failed))]
    SqliteMigration {
        /// `migration`, `rolling back` or `replaying`.
        what: &'static str,
        /// The migration.
        tag: String,
        /// Its file (or rollback script).
        path: std::path::PathBuf,
        /// 1-based line of the statement.
        line: usize,
        /// 1-based number of the statement.
        number: usize,
        /// The statement's first line.
        sql: String,
        /// What SQLite said.
        error: strata_sqlite::SqliteError,
        /// What was kept.
        outcome: String,
    },
    /// A command that only works with PostgreSQL.
    #[error("`strata {command}` is not available with SQLite")]
    #[diagnostic(
        code(strata::sqlite::command),
        help(
            "with SQLite, strata runs push, generate, migrate, status, rollback, mark-applied and drop"
        )
    )]
    SqliteCommand {
        /// The command.
        command: String,
    },
    /// A development-only command on a production database.
    #[error("`strata {command}` is for development databases; this one is marked production")]
    #[diagnostic(
        code(strata::refused::production),
        help(
            "production comes from STRATA_ENV=production or `production = true` in strata.toml; development-only commands refuse it even with --force"
        )
    )]
    Production {
        /// The command.
        command: String,
    },
    /// No schema files are configured.
    #[error("no schema files are configured")]
    #[diagnostic(
        code(strata::schema::none),
        help(
            "pass --schema PATH (a .sql file or a folder of them), or set `schema = \"schema\"` in strata.toml"
        )
    )]
    NoSchemaFiles,
    /// A schema path is missing or unreadable.
    #[error("schema path `{path}` (from {from}): {source}")]
    #[diagnostic(
        code(strata::schema::path),
        help("check the path; folders are searched for .sql files")
    )]
    SchemaPath {
        /// The path.
        path: PathBuf,
        /// Where it was configured.
        from: &'static str,
        /// Why it cannot be read.
        #[source]
        source: std::io::Error,
    },
    /// No place to build the desired state.
    #[error("no scratch database is available to load the schema files into: {reasons}")]
    #[diagnostic(
        code(strata::scratch::unavailable),
        help(
            "install the PostgreSQL server binaries (strata starts a throwaway cluster from them), or set `shadow_database_url` in strata.toml to a server where strata may create databases"
        )
    )]
    NoScratch {
        /// What was tried and why each failed.
        reasons: String,
    },
    /// A change with no online form.
    #[error("{0}")]
    #[diagnostic(
        code(strata::online::unsupported),
        help(
            "plan it without --online (the plan shows the locks it takes), or change it in steps strata can do online: drop the constraint first, then rename or retype the column"
        )
    )]
    Online(#[from] strata_sql::OnlineError),
    /// A statement of a plan failed.
    #[error("statement {number} of {total} failed: {error}\n  {sql}\n{outcome}")]
    #[diagnostic(code(strata::apply::failed))]
    Apply {
        /// 1-based number of the statement.
        number: usize,
        /// Statements in the plan.
        total: usize,
        /// The statement.
        sql: String,
        /// What the server said.
        error: PgError,
        /// What was kept and what was rolled back.
        outcome: String,
        /// What to do.
        #[help]
        help: Option<String>,
    },
    /// After applying, the database still differs from the schema files.
    #[error(
        "after applying the plan the database still differs from the schema files: {remaining}"
    )]
    #[diagnostic(code(strata::apply::not_converged))]
    NotConverged {
        /// The statements that would still be needed.
        remaining: String,
        /// What was kept, and what to do.
        #[help]
        help: String,
    },
    /// Data loss without consent.
    #[error("refusing to run {count} statement(s) that destroy data: {statements}")]
    #[diagnostic(
        code(strata::refused::data_loss),
        help(
            "review them, take a backup, and pass --accept-data-loss to run them; if a table or column was renamed, pass --rename instead"
        )
    )]
    DataLossRefused {
        /// How many.
        count: usize,
        /// Which.
        statements: String,
    },
    /// A file could not be written or read.
    #[error("{action} `{path}`: {source}")]
    #[diagnostic(code(strata::io))]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
}

/// Where an SQLite migration failed: a statement's line, or after its
/// last statement (the tracking table, `PRAGMA foreign_key_check`).
fn failed_at(path: &std::path::Path, line: usize, number: usize) -> String {
    if number == 0 {
        format!("in {} before COMMIT", path.display())
    } else {
        format!("at {}:{line} (statement {number})", path.display())
    }
}

impl Error {
    /// Whether the error is a refusal (exit code 3) rather than a failure.
    pub fn is_refusal(&self) -> bool {
        if matches!(
            self,
            Error::Production { .. }
                | Error::Bootstrap(crate::bootstrap::BootstrapError::AdminExists { .. })
                | Error::Backup(crate::backup::BackupError::NotConfirmed { .. })
        ) {
            return true;
        }
        matches!(
            self,
            Error::DataLossRefused { .. }
                | Error::Migrate(
                    crate::migrate::MigrateError::Edited { .. }
                        | crate::migrate::MigrateError::OutOfOrder { .. }
                )
        )
    }
}
