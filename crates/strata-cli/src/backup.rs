//! `strata backup` and `strata restore`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;
use strata::Settings;
use strata::backup::{BackupError, backup, restore};

use crate::EXIT_REFUSED;
use crate::args::GlobalArgs;
use crate::output::{Output, Paint};
use crate::prompt::confirm;

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// The file (or folder) to write [default: .strata/backups/<db>_<YYYYMMDD_HHMMSS>.dump]
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// A backup taken with `strata backup` (pg_dump custom format)
    pub(crate) file: PathBuf,
}

pub(crate) fn backup_command(
    settings: &Settings,
    args: &BackupArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let report = backup(settings, args.out.as_deref())?;
    if out.json {
        let value = json!({
            "path": report.path,
            "bytes": report.bytes,
            "elapsed_ms": u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
        });
        out.out(&serde_json::to_string_pretty(&value).expect("JSON values serialize"));
        return Ok(ExitCode::SUCCESS);
    }
    let done = out.paint("Backup", Paint::Green);
    #[expect(clippy::cast_precision_loss, reason = "a size for people")]
    let megabytes = report.bytes as f64 / 1_000_000.0;
    out.out(&format!(
        "{done} of {} written to {} ({megabytes:.1} MB, {:.2} s).",
        settings.database.describe(),
        report.path.display(),
        report.elapsed.as_secs_f64()
    ));
    out.out(&format!(
        "Restore it with: strata restore {}",
        report.path.display()
    ));
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn restore_command(
    settings: &Settings,
    global: &GlobalArgs,
    args: &RestoreArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let target = settings.database.describe();
    if out.interactive {
        let question = format!(
            "Restore {} into {target}? The tables and other objects in the backup are replaced, with their rows.",
            args.file.display()
        );
        if !confirm(&question).unwrap_or(false) {
            out.out("Nothing restored.");
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
    } else if !global.yes {
        return Err(BackupError::NotConfirmed {
            path: args.file.clone(),
            target,
        }
        .into());
    }
    let elapsed = restore(settings, &args.file)?;
    if out.json {
        let value = json!({
            "restored": args.file,
            "target": target,
            "elapsed_ms": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        });
        out.out(&serde_json::to_string_pretty(&value).expect("JSON values serialize"));
        return Ok(ExitCode::SUCCESS);
    }
    let done = out.paint("Restored", Paint::Green);
    out.out(&format!(
        "{done} {} into {target} ({:.2} s).",
        args.file.display(),
        elapsed.as_secs_f64()
    ));
    Ok(ExitCode::SUCCESS)
}
