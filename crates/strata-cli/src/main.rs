//! The `strata` command.

mod args;
mod backfill;
mod backup;
mod bootstrap;
mod check;
mod db;
mod migrations;
mod output;
mod prompt;
mod push;
mod reset;
mod seed;
mod sqlite;
mod studio;

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Parser;
use miette::Diagnostic;
use strata::Settings;
use strata::config::{Inputs, TargetSource, load_config, project_root, read_dotenv, resolve};
use strata::local::LocalCluster;
use strata_postgres::{DatabaseError, LoadError, PgError};

use crate::args::{Cli, Command};
use crate::output::Output;

/// Exit codes (SPEC.md): 0 success, 1 error, 2 usage error, 3 refused.
pub(crate) const EXIT_REFUSED: u8 = 3;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    let mut out = Output::new(&cli.global);
    match run(&cli, &mut out) {
        Ok(code) => code,
        Err(error) => {
            report(&mut out, &error);
            ExitCode::from(if error.is_refusal() { EXIT_REFUSED } else { 1 })
        }
    }
}

fn run(cli: &Cli, out: &mut Output) -> Result<ExitCode, strata::Error> {
    let settings = settings(cli)?;
    if settings.dialect == strata::config::Dialect::Sqlite {
        return sqlite::run(&settings, &cli.global, &cli.command, out);
    }
    match &cli.command {
        Command::Push(args) => {
            ensure_local_running(&settings, out)?;
            push::run(&settings, &cli.global, args, out)
        }
        Command::Generate(args) => {
            ensure_local_running(&settings, out)?;
            migrations::generate_command(&settings, &cli.global, args, out)
        }
        Command::Migrate(args) => {
            ensure_local_running(&settings, out)?;
            migrations::migrate_command(&settings, &cli.global, args, out)
        }
        Command::Status(args) => {
            ensure_local_running(&settings, out)?;
            migrations::status_command(&settings, &cli.global, args, out)
        }
        Command::Check(args) => {
            ensure_local_running(&settings, out)?;
            check::run(&settings, &cli.global, args, out)
        }
        Command::Rollback(args) => {
            ensure_local_running(&settings, out)?;
            migrations::rollback_command(&settings, &cli.global, args, out)
        }
        Command::MarkApplied { tag } => {
            ensure_local_running(&settings, out)?;
            migrations::mark_applied_command(&settings, &cli.global, tag, out)
        }
        Command::Drop { tag } => {
            ensure_local_running(&settings, out)?;
            migrations::drop_command(&settings, &cli.global, tag.as_deref(), out)
        }
        Command::Pull(args) => {
            ensure_local_running(&settings, out)?;
            migrations::pull_command(&settings, &cli.global, args, out)
        }
        Command::Studio(args) => {
            ensure_local_running(&settings, out)?;
            Ok(studio::run(&settings, args, out))
        }
        Command::Seed(args) => {
            ensure_local_running(&settings, out)?;
            seed::run(&settings, args, out)
        }
        Command::Reset(args) => {
            ensure_local_running(&settings, out)?;
            reset::run(&settings, &cli.global, args, out)
        }
        Command::Bootstrap(args) => {
            ensure_local_running(&settings, out)?;
            bootstrap::run(&settings, args, out)
        }
        Command::Backfill(args) => {
            ensure_local_running(&settings, out)?;
            backfill::run(&settings, args, out)
        }
        Command::Backup(args) => {
            ensure_local_running(&settings, out)?;
            backup::backup_command(&settings, args, out)
        }
        Command::Restore(args) => {
            ensure_local_running(&settings, out)?;
            backup::restore_command(&settings, &cli.global, args, out)
        }
        Command::Db { action } => db::run(&settings, *action, &cli.global, out),
    }
}

/// The project's local cluster is used when nothing else is configured:
/// start it if it was stopped.
fn ensure_local_running(settings: &Settings, out: &mut Output) -> Result<(), strata::Error> {
    if settings.database_source == TargetSource::Local
        && LocalCluster::find(&settings.root)
            .is_some_and(|c| c.state() != strata::local::LocalState::Running)
    {
        out.status("starting the project's local PostgreSQL (strata db start)");
        LocalCluster::start(&settings.root)?;
    }
    Ok(())
}

/// Flags over environment over `.env` over config.
fn settings(cli: &Cli) -> Result<Settings, strata::Error> {
    let cwd = std::env::current_dir().map_err(|source| strata::Error::Io {
        action: "could not read the working directory",
        path: ".".into(),
        source,
    })?;
    let mut inputs = Inputs {
        config: cli.global.config.clone(),
        cwd: cwd.clone(),
        database_url: cli.global.database_url.clone(),
        schema: cli.global.schema.clone(),
        out: cli.global.out.clone(),
        env: BTreeMap::new(),
        local: None,
    };
    let (config_path, config) = load_config(&inputs)?;
    let root = project_root(&inputs, config_path.as_deref());
    inputs.local = LocalCluster::find(&root).map(|cluster| cluster.conn_info());
    let mut env = BTreeMap::new();
    if let Some(dir) = config_path.as_deref().and_then(std::path::Path::parent)
        && dir != cwd
    {
        env.extend(read_dotenv(dir)?);
    }
    env.extend(read_dotenv(&cwd)?);
    env.extend(
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
    );
    inputs.env = env;
    Ok(resolve(&inputs, config_path, config)?)
}

/// The server's error inside a strata error, if there is one.
fn database_error(error: &strata::Error) -> Option<&DatabaseError> {
    match error {
        strata::Error::Postgres(e) | strata::Error::Apply { error: e, .. } => e.database_error(),
        strata::Error::Load(
            LoadError::Statement { error, .. }
            | LoadError::Database(PgError::Database { error, .. }),
        ) => Some(error),
        _ => None,
    }
}

fn report(out: &mut Output, error: &strata::Error) {
    let mut details = Vec::new();
    if let Some(db) = database_error(error) {
        if let Some(detail) = &db.detail {
            details.push(("detail", detail.clone()));
        }
        if let Some(context) = &db.context {
            details.push(("context", context.clone()));
        }
    }
    if let Some(help) = error.help() {
        details.push(("hint", help.to_string()));
    }
    out.error(&error.to_string(), &details);
}
