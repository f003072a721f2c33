//! Versioned migrations, drizzle-kit compatible: the folder (journal, SQL
//! files with breakpoints, snapshots, rollback scripts), the tracking table
//! (`drizzle.__drizzle_migrations`), and the runner — which, unlike
//! drizzle's, takes a lock, runs each migration in its own transaction,
//! refuses edited files and out-of-order migrations instead of skipping
//! them, and says which statement failed.

mod embedded;
pub mod folder;
pub(crate) mod generate;
mod replay;
pub(crate) mod runner;
pub mod snapshot;
mod status;
pub mod tracking;

use std::fmt::Write as _;
use std::path::PathBuf;

use strata_postgres::PgError;

pub use embedded::{EmbeddedMigration, EmbeddedMigrations, Migrator};
pub use folder::{
    BREAKPOINT, CONTRACT, Folder, Journal, JournalEntry, Layout, Migration, NO_TRANSACTION, TxMode,
};
pub use generate::{
    GenerateOptions, Generated, OnlineStep, drop_last, drop_last_unless_applied, generate,
    write as write_generated,
};
pub use replay::replay;
pub use runner::{
    Applied, MigrateOptions, MigrateReport, RollbackTarget, mark_applied, migrate, rollback,
};
pub use status::{Status, StatusEntry, status, status_without_drift};
pub use tracking::{AppliedRow, Reconciled};

/// A statement that failed, and where.
#[derive(Debug)]
pub struct StatementFailure {
    /// 1-based number of the statement in the file (0: before any).
    pub number: usize,
    /// 1-based line in the file (0: unknown).
    pub line: usize,
    /// The statement.
    pub sql: String,
    /// What the server said.
    pub error: PgError,
}

/// What can go wrong with migrations.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum MigrateError {
    /// Talking to the database.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Postgres(#[from] PgError),
    /// A file could not be read or written.
    #[error("{action} `{path}`: {source}")]
    #[diagnostic(code(strata::migrate::io))]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The journal (or a folder name) is not what drizzle-kit writes.
    #[error("`{path}` is malformed: {reason}")]
    #[diagnostic(
        code(strata::migrate::malformed),
        help(
            "fix the file by hand or restore it from version control; `strata status` lists what strata can read"
        )
    )]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// SQL files without a journal.
    #[error("the migrations folder has .sql files but no `{path}`")]
    #[diagnostic(
        code(strata::migrate::no_journal),
        help(
            "restore meta/_journal.json from version control; strata (like drizzle-kit) only runs migrations the journal lists"
        )
    )]
    NoJournal {
        /// Where the journal should be.
        path: PathBuf,
    },
    /// The journal lists a migration whose file is gone.
    #[error("the journal lists `{tag}` but `{path}` does not exist")]
    #[diagnostic(
        code(strata::migrate::missing_file),
        help(
            "restore the file, or remove its entry with `strata drop {tag}` if it was never applied"
        )
    )]
    MissingFile {
        /// The migration.
        tag: String,
        /// The missing file.
        path: PathBuf,
    },
    /// No migration has this tag.
    #[error("there is no migration `{tag}` in the migrations folder")]
    #[diagnostic(
        code(strata::migrate::unknown_tag),
        help("`strata status` lists the migrations and their tags")
    )]
    UnknownTag {
        /// What was asked for.
        tag: String,
    },
    /// Applied migrations whose files changed since.
    #[error("applied migration(s) changed since they ran: {}", tags.join(", "))]
    #[diagnostic(
        code(strata::migrate::edited),
        help(
            "an applied migration must not change: put the change in a new migration (`strata generate`), or restore the file; if the edit is harmless (a comment), accept it with `strata migrate --accept-edited`"
        )
    )]
    Edited {
        /// The migrations.
        tags: Vec<String>,
    },
    /// Pending migrations older than the newest applied one.
    #[error("pending migration(s) {} are older than the newest applied migration `{newest}`", tags.join(", "))]
    #[diagnostic(
        code(strata::migrate::out_of_order),
        help(
            "this usually comes from merging branches; drizzle-kit would skip them silently. Check that they do not conflict with what ran since, then apply them with `strata migrate --allow-out-of-order`"
        )
    )]
    OutOfOrder {
        /// The migrations.
        tags: Vec<String>,
        /// The newest applied migration.
        newest: String,
    },
    /// A statement of a migration failed.
    #[error("{}", failed_message(tag, path, failure, *transaction, *rollback, applied, at.as_deref()))]
    #[diagnostic(code(strata::migrate::failed))]
    Failed {
        /// The migration.
        tag: String,
        /// Its file.
        path: PathBuf,
        /// The statement and the server's error.
        failure: Box<StatementFailure>,
        /// Whether it ran in a transaction (then nothing of it was kept).
        transaction: TxMode,
        /// Whether it was the rollback script that failed.
        rollback: bool,
        /// Migrations this run applied (or rolled back) before it.
        applied: Vec<String>,
        /// The last migration applied to the database.
        at: Option<String>,
    },
    /// `mark-applied` of an applied migration.
    #[error("`{tag}` is already recorded as applied")]
    #[diagnostic(code(strata::migrate::already_applied))]
    AlreadyApplied {
        /// The migration.
        tag: String,
    },
    /// `rollback` of a migration without a rollback script.
    #[error("`{tag}` has no rollback script (`{path}`); nothing was rolled back")]
    #[diagnostic(
        code(strata::migrate::no_rollback),
        help("write the script that undoes it, or restore from a backup (`strata restore`)")
    )]
    NoRollback {
        /// The migration.
        tag: String,
        /// Where the script should be.
        path: PathBuf,
    },
    /// A migration does not run on an empty database (replaying the folder).
    #[error("replaying the migrations into a scratch database: {path}:{line}: {error}")]
    #[diagnostic(
        code(strata::migrate::replay),
        help(
            "the migrations folder must build the schema from an empty database; fix the migration or restore it"
        )
    )]
    Replay {
        /// The file.
        path: PathBuf,
        /// The line.
        line: usize,
        /// What the server said.
        error: PgError,
    },
    /// `drop` of a migration that is not the last, or is applied.
    #[error("cannot drop `{tag}`: {reason}")]
    #[diagnostic(
        code(strata::migrate::drop),
        help(
            "only the last migration can be dropped, and only before it is applied anywhere; undo an applied one with `strata rollback`"
        )
    )]
    CannotDrop {
        /// The migration.
        tag: String,
        /// Why not.
        reason: String,
    },
}

impl MigrateError {
    /// The server's error inside, if any.
    pub fn database_error(&self) -> Option<&strata_postgres::DatabaseError> {
        match self {
            MigrateError::Postgres(e) | MigrateError::Replay { error: e, .. } => e.database_error(),
            MigrateError::Failed { failure, .. } => failure.error.database_error(),
            _ => None,
        }
    }

    /// What to do about a failed statement (the server's hint or strata's).
    pub fn failure_help(&self) -> Option<String> {
        self.database_error().and_then(|e| {
            e.hint
                .clone()
                .or_else(|| e.strata_hint().map(str::to_owned))
        })
    }
}

fn failed_message(
    tag: &str,
    path: &std::path::Path,
    failure: &StatementFailure,
    transaction: TxMode,
    rollback: bool,
    applied: &[String],
    at: Option<&str>,
) -> String {
    let mut text = if rollback {
        format!("rolling back `{tag}` failed")
    } else {
        format!("migration `{tag}` failed")
    };
    if failure.line > 0 {
        let _ = write!(text, " at {}:{}", path.display(), failure.line);
    } else {
        let _ = write!(text, " in {}", path.display());
    }
    if failure.number > 0 {
        let _ = write!(text, " (statement {})", failure.number);
    }
    let _ = write!(text, ": {}", failure.error);
    if !failure.sql.is_empty() {
        let first: Vec<&str> = failure.sql.lines().take(3).collect();
        let _ = write!(text, "\n  {}", first.join("\n  "));
    }
    let script = if rollback {
        "its rollback script"
    } else {
        "it"
    };
    let _ = match transaction {
        TxMode::Transaction => write!(
            text,
            "\nnothing of {script} was applied (the transaction was rolled back)"
        ),
        TxMode::NoTransaction => write!(
            text,
            "\n{script} runs outside a transaction (`-- strata:no-transaction`): its statements before this one were applied and stay"
        ),
    };
    match at {
        Some(at) => {
            let _ = write!(text, "; the database is at `{at}`");
        }
        None => text.push_str("; no migration is applied"),
    }
    if !applied.is_empty() {
        let _ = write!(
            text,
            " ({} {} by this run: {})",
            applied.len(),
            if rollback { "rolled back" } else { "applied" },
            applied.join(", ")
        );
    }
    text
}
