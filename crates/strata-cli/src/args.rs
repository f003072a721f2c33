//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Schema-as-code migrations for PostgreSQL: keep the schema as SQL files,
/// push it to a development database, generate reviewed migrations, run
/// them in production.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// A `--rename` checked when the command line is read: a malformed one is
/// a usage error (exit code 2).
fn rename_arg(text: &str) -> Result<String, String> {
    strata_diff::RenameRequest::parse(text)
        .map(|_| text.to_owned())
        .map_err(|e| e.to_string())
}

/// A duration checked when the command line is read (`5s`, `15min`, `0`).
fn duration_arg(text: &str) -> Result<String, String> {
    strata::config::parse_duration(text).map(|_| text.to_owned())
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// The config file [default: ./strata.toml when present]
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
    /// The database: postgres://USER:PASSWORD@HOST:PORT/DATABASE, or sqlite:PATH
    /// [default: DATABASE_URL, then POSTGRES_HOST/PORT/DB/USER/PASSWORD, then the config]
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) database_url: Option<String>,
    /// A schema file or folder of .sql files (repeatable; replaces the config's `schema`)
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) schema: Vec<PathBuf>,
    /// The migrations folder (replaces the config's `out`)
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Print machine-readable JSON on stdout
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Never ask: answer prompts with their safe default
    #[arg(short = 'y', long, global = true)]
    pub(crate) yes: bool,
    /// Say what is happening, with timings
    #[arg(short = 'v', long, global = true)]
    pub(crate) verbose: bool,
    /// When to color the output
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub(crate) color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Make the database match the schema files now, without migration files
    Push(PushArgs),
    /// Write the next migration (and its rollback) from the schema files
    Generate(GenerateArgs),
    /// Apply pending migrations, one transaction each, one process at a time
    Migrate(MigrateArgs),
    /// Applied, pending, edited and missing migrations, and drift
    Status(StatusArgs),
    /// Review pending migrations (or SQL files) for data loss, locks and the safety checklist
    Check(CheckArgs),
    /// Undo the last applied migrations with their rollback scripts
    Rollback(RollbackArgs),
    /// Record a migration as applied without running it
    MarkApplied {
        /// The migration's tag (`0003_add_roles`)
        tag: String,
    },
    /// Remove the last migration, if no database has applied it
    Drop {
        /// The migration's tag (must be the last one)
        tag: Option<String>,
    },
    /// Write a live database out as schema files, to adopt strata
    Pull(PullArgs),
    /// A web GUI for the database: tables, relations, data, an SQL console
    Studio(StudioArgs),
    /// Fill the database with deterministic, realistic test data (development only)
    Seed(crate::seed::SeedArgs),
    /// Drop everything in the managed schemas, build them again (push or migrate) and seed (development only)
    Reset(crate::reset::ResetArgs),
    /// First-deploy data: bootstrap SQL files, each applied once; `bootstrap admin` creates the admin
    Bootstrap(crate::bootstrap::BootstrapArgs),
    /// Update a large table in short batches by key, resumable (a data migration)
    Backfill(crate::backfill::BackfillArgs),
    /// Take a backup of the database (pg_dump, custom format)
    Backup(crate::backup::BackupArgs),
    /// Restore a backup taken with `strata backup` (pg_restore)
    Restore(crate::backup::RestoreArgs),
    /// The project's own development PostgreSQL, under .strata/ (no Docker)
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub(crate) enum DbAction {
    /// Create (first time) and start it; strata uses it when no database is configured
    Start,
    /// Stop it (the data is kept)
    Stop,
    /// Say whether it exists and runs, and where
    Status,
    /// Print its URL (for DATABASE_URL or other tools)
    Url,
}

#[derive(Debug, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent command-line flags"
)]
pub(crate) struct PushArgs {
    /// Print the SQL that would run, and run nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Run statements that destroy data (drop a table or column, lossy type changes)
    #[arg(long)]
    pub(crate) accept_data_loss: bool,
    /// A rename: OLD_TABLE=NEW_TABLE, or TABLE.OLD_COLUMN=NEW_COLUMN (repeatable)
    #[arg(long, value_name = "OLD=NEW", value_parser = rename_arg)]
    pub(crate) rename: Vec<String>,
    /// Load the schema files again even if they did not change
    #[arg(long)]
    pub(crate) refresh: bool,
    /// Apply in online phases that keep a live app running (concurrent index builds, NOT VALID then VALIDATE, expand/contract), each lock under lock_timeout with retries
    #[arg(long)]
    pub(crate) online: bool,
}

#[derive(Debug, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent command-line flags"
)]
pub(crate) struct GenerateArgs {
    /// The migration's name (the file is NNNN_NAME.sql)
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Write an empty migration for hand-written SQL (a backfill)
    #[arg(long)]
    pub(crate) custom: bool,
    /// Write a migration that destroys data (drop a table or column, lossy type changes)
    #[arg(long)]
    pub(crate) accept_data_loss: bool,
    /// A rename: OLD_TABLE=NEW_TABLE, or TABLE.OLD_COLUMN=NEW_COLUMN (repeatable)
    #[arg(long, value_name = "OLD=NEW", value_parser = rename_arg)]
    pub(crate) rename: Vec<String>,
    /// Replay the migrations and load the schema files again even if nothing changed
    #[arg(long)]
    pub(crate) refresh: bool,
    /// Write online migrations: expand, concurrent (no transaction), validate and contract steps that keep a live app running
    #[arg(long)]
    pub(crate) online: bool,
}

#[derive(Debug, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent command-line flags"
)]
pub(crate) struct MigrateArgs {
    /// Stop after this migration
    #[arg(long, value_name = "TAG")]
    pub(crate) to: Option<String>,
    /// List what would run, and run nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Take a backup (pg_dump) first
    #[arg(long)]
    pub(crate) backup: bool,
    /// Apply pending migrations older than the newest applied one
    #[arg(long)]
    pub(crate) allow_out_of_order: bool,
    /// Record the new hash of applied migrations whose file changed, instead of refusing
    #[arg(long)]
    pub(crate) accept_edited: bool,
    /// How long a statement may wait for a lock before the migration is retried (e.g. 5s; 0 = forever)
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub(crate) lock_timeout: Option<String>,
    /// How long a statement may run (e.g. 15min; 0 = forever)
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub(crate) statement_timeout: Option<String>,
    /// How often to retry a migration whose lock timed out
    #[arg(long, value_name = "N")]
    pub(crate) retries: Option<u32>,
    /// Apply contract migrations too (the last step of an online change, written by `generate --online`)
    #[arg(long)]
    pub(crate) contract: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Do not replay the migrations to look for drift
    #[arg(long)]
    pub(crate) no_drift: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// SQL files to check instead of the pending migrations
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<std::path::PathBuf>,
    /// Check the last N migrations instead of the pending ones
    #[arg(long, value_name = "N", conflicts_with = "files")]
    pub(crate) latest: Option<usize>,
    /// Do not run the statements on a scratch database
    #[arg(long)]
    pub(crate) no_scratch: bool,
    /// Do not compare the migrations with the schema files
    #[arg(long)]
    pub(crate) no_schema: bool,
    /// Do not connect to the database (no live table sizes)
    #[arg(long)]
    pub(crate) offline: bool,
}

#[derive(Debug, Args)]
#[group(multiple = false)]
pub(crate) struct RollbackArgs {
    /// How many applied migrations to undo [default: 1]
    #[arg(long, value_name = "N")]
    pub(crate) steps: Option<usize>,
    /// Undo everything applied after this migration
    #[arg(long, value_name = "TAG")]
    pub(crate) to: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PullArgs {
    /// Where to write the schema files [default: the configured schema folder, else ./schema]
    #[arg(long, value_name = "DIR")]
    pub(crate) into: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct StudioArgs {
    /// The address to listen on; anything but loopback exposes the database to the network
    #[arg(long, value_name = "H", default_value = "127.0.0.1")]
    pub(crate) host: std::net::IpAddr,
    /// The port (0: any free one)
    #[arg(long, value_name = "P", default_value_t = strata_studio::DEFAULT_PORT)]
    pub(crate) port: u16,
    /// Refuse every change: edits, inserts, deletes and the console's write mode
    #[arg(long)]
    pub(crate) read_only: bool,
}
