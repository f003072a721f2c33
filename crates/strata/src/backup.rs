//! Backups around `pg_dump` and `pg_restore` (custom format): the seed
//! note's point-in-time safety net, and what `migrate --backup` takes
//! before it applies anything.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use strata_postgres::{Binaries, ConnInfo};

use crate::{Error, Settings};

/// Taking or restoring a backup.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum BackupError {
    /// `pg_dump` or `pg_restore` is not installed.
    #[error("`{tool}` was not found")]
    #[diagnostic(
        code(strata::backup::no_tool),
        help(
            "install the PostgreSQL client programs (Debian/Ubuntu: `apt install postgresql-client`), or set STRATA_PG_BINDIR to their directory"
        )
    )]
    NoTool {
        /// The program.
        tool: &'static str,
    },
    /// The program failed.
    #[error("`{tool}` failed ({status}): {output}")]
    #[diagnostic(code(strata::backup::failed))]
    Failed {
        /// The program.
        tool: &'static str,
        /// Its exit status.
        status: String,
        /// What it printed.
        output: String,
        /// What to do.
        #[help]
        help: Option<String>,
    },
    /// The backup file is missing.
    #[error("backup file `{path}` does not exist")]
    #[diagnostic(
        code(strata::backup::missing),
        help("`strata backup` prints the file it writes")
    )]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// A restore was not confirmed.
    #[error("restoring `{path}` replaces the data in {target}: not confirmed")]
    #[diagnostic(
        code(strata::refused::restore),
        help("run it on a terminal to be asked, or pass --yes")
    )]
    NotConfirmed {
        /// The backup.
        path: PathBuf,
        /// The database.
        target: String,
    },
    /// A file or folder could not be made.
    #[error("{action} `{path}`: {source}")]
    #[diagnostic(code(strata::backup::io))]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A backup taken.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The file written.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// The folder backups go to when no file is named: `.strata/backups`.
pub fn backup_dir(settings: &Settings) -> PathBuf {
    settings.root.join(".strata").join("backups")
}

/// `<dbname>_YYYYMMDD_HHMMSS.dump` (UTC), the seed note's
/// `backup_20260122.dump` with the time added so two a day do not clash.
pub fn backup_file_name(dbname: &str, now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    let safe: String = dbname
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{safe}_{y:04}{m:02}{d:02}_{:02}{:02}{:02}.dump",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Finds `pg_dump` / `pg_restore`: beside the newest installed server
/// binaries (as [`Binaries::find`] does; a client must be at least as new
/// as the server), else on `PATH`.
fn tool(name: &'static str) -> Result<PathBuf, BackupError> {
    if let Ok(binaries) = Binaries::find() {
        let path = binaries.bin_dir.join(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(BackupError::NoTool { tool: name })
}

/// The connection for a libpq program: arguments without the password,
/// which goes in `PGPASSWORD` (never on the command line, where `ps` shows it).
fn connect(command: &mut Command, info: &ConnInfo) {
    command
        .arg("--host")
        .arg(&info.host)
        .arg("--port")
        .arg(info.port.to_string())
        .arg("--username")
        .arg(&info.user)
        .arg("--no-password")
        .env_remove("PGPASSWORD")
        .env("PGAPPNAME", "strata")
        .env("PGSSLMODE", info.ssl_mode.as_str());
    if let Some(file) = info.ssl_mode.root_cert() {
        command.env("PGSSLROOTCERT", file);
    }
    if let Some(password) = &info.password {
        command.env("PGPASSWORD", password);
    }
    if let Some(options) = &info.options {
        command.env("PGOPTIONS", options);
    }
    if let Some(seconds) = info.connect_timeout {
        command.env("PGCONNECT_TIMEOUT", seconds.to_string());
    }
}

fn run(tool: &'static str, mut command: Command) -> Result<(), BackupError> {
    let output = command.output().map_err(|source| BackupError::Io {
        action: "could not run",
        path: PathBuf::from(tool),
        source,
    })?;
    if output.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let help = if text.contains("server version mismatch") {
        Some(format!(
            "`{tool}` is older than the server: install the client programs of the server's version, or set STRATA_PG_BINDIR"
        ))
    } else if text.contains("password authentication failed")
        || text.contains("no password supplied")
    {
        Some(
            "check the user and password (DATABASE_URL or POSTGRES_USER / POSTGRES_PASSWORD)"
                .to_owned(),
        )
    } else {
        None
    };
    Err(BackupError::Failed {
        tool,
        status: output.status.to_string(),
        output: text,
        help,
    })
}

/// Takes a backup of the target database with `pg_dump --format=custom`.
/// `out` may name a file or a folder; without it the file goes to
/// `.strata/backups/<db>_<UTC time>.dump`.
///
/// # Errors
/// No `pg_dump`, a folder that cannot be made, or `pg_dump`'s failure.
pub fn backup(settings: &Settings, out: Option<&Path>) -> Result<BackupReport, Error> {
    let started = Instant::now();
    let name = backup_file_name(&settings.database.dbname, SystemTime::now());
    let path = match out {
        Some(path) if path.is_dir() => path.join(name),
        Some(path) => path.to_path_buf(),
        None => backup_dir(settings).join(name),
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| BackupError::Io {
            action: "could not create the folder",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let mut command = Command::new(tool("pg_dump")?);
    connect(&mut command, &settings.database);
    command
        .arg("--format=custom")
        .arg("--file")
        .arg(&path)
        .arg("--dbname")
        .arg(&settings.database.dbname);
    run("pg_dump", command)?;
    let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    Ok(BackupReport {
        path,
        bytes,
        elapsed: started.elapsed(),
    })
}

/// Restores a custom-format backup into the target database with
/// `pg_restore --clean --if-exists --single-transaction`: the objects in
/// the backup are dropped and recreated with their rows, all or nothing.
/// Objects created after the backup was taken are left alone. Ask first:
/// this replaces data.
///
/// # Errors
/// A missing file, no `pg_restore`, or its failure (nothing is changed).
pub fn restore(settings: &Settings, file: &Path) -> Result<Duration, Error> {
    let started = Instant::now();
    if !file.is_file() {
        return Err(BackupError::Missing {
            path: file.to_path_buf(),
        }
        .into());
    }
    let mut command = Command::new(tool("pg_restore")?);
    connect(&mut command, &settings.database);
    command
        .arg("--clean")
        .arg("--if-exists")
        .arg("--single-transaction")
        .arg("--exit-on-error")
        .arg("--dbname")
        .arg(&settings.database.dbname)
        .arg(file);
    run("pg_restore", command)?;
    Ok(started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_timestamped() {
        let at = UNIX_EPOCH + Duration::from_secs(1_769_081_696); // 2026-01-22 11:34:56 UTC
        assert_eq!(
            backup_file_name("abe_stack", at),
            "abe_stack_20260122_113456.dump"
        );
        assert_eq!(backup_file_name("a/b c", at), "a_b_c_20260122_113456.dump");
    }
}
