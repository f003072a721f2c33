//! The migrations folder, in drizzle-kit's layouts: 0.31's `NNNN_tag.sql`
//! files listed in `meta/_journal.json` (with `meta/NNNN_snapshot.json`),
//! and 1.0's one folder per migration (`YYYYMMDDHHMMSS_name/migration.sql`).
//! strata adds `NNNN_tag_rollback.sql` beside each migration.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::MigrateError;

/// The first line that makes a migration run outside a transaction.
pub const NO_TRANSACTION: &str = "-- strata:no-transaction";

/// The marker of a contract migration (the last step of an online change:
/// it removes what the previous version of the app still uses), which
/// `migrate` applies only when asked to (`--contract`).
pub const CONTRACT: &str = "-- strata:contract";

/// The marker drizzle-kit puts between statements.
pub const BREAKPOINT: &str = "--> statement-breakpoint";

/// How the folder is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// drizzle-kit 0.31: a journal and `NNNN_tag.sql` files.
    Journal,
    /// drizzle-kit 1.0: `YYYYMMDDHHMMSS_name/migration.sql`, no journal.
    Folders,
}

/// `meta/_journal.json`, field for field (the order is drizzle's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    /// The snapshot format (`"7"` for PostgreSQL).
    pub version: String,
    /// `postgresql`.
    pub dialect: String,
    /// The migrations, in order.
    pub entries: Vec<JournalEntry>,
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    /// Position (0, 1, …).
    pub idx: u32,
    /// Snapshot format of the entry.
    pub version: String,
    /// When it was generated, in milliseconds since the epoch. drizzle's
    /// tracking table records this as `created_at`.
    pub when: i64,
    /// The file name without `.sql`.
    pub tag: String,
    /// Whether statements are separated by breakpoints.
    pub breakpoints: bool,
}

/// Whether a migration runs in a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxMode {
    /// All of it or nothing (the default).
    Transaction,
    /// Statement by statement (first line `-- strata:no-transaction`):
    /// for `CREATE INDEX CONCURRENTLY` and the like.
    NoTransaction,
}

/// A migration file and what is known about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Migration {
    /// Position in the folder.
    pub idx: u32,
    /// `0003_add_roles` (0.31) or `20261124004401_init` (1.0).
    pub tag: String,
    /// The journal's `when` (or the folder's timestamp).
    pub when: i64,
    /// The file, relative to the project for messages.
    pub path: PathBuf,
    /// The file's text.
    #[serde(skip)]
    pub sql: String,
    /// sha256 of the text, hex (what drizzle records).
    pub hash: String,
    /// The rollback script's text, when there is one.
    #[serde(skip)]
    pub rollback: Option<String>,
    /// Where the rollback script is (or would be).
    pub rollback_path: PathBuf,
    /// Whether it runs in a transaction.
    pub transaction: TxMode,
    /// Whether it is a contract migration (`-- strata:contract` among its
    /// leading comments).
    pub contract: bool,
}

impl Migration {
    /// A migration from its text.
    pub fn new(
        idx: u32,
        tag: String,
        when: i64,
        path: PathBuf,
        sql: String,
        rollback: Option<String>,
        rollback_path: PathBuf,
    ) -> Migration {
        Migration {
            idx,
            hash: sha256_hex(&sql),
            transaction: tx_mode(&sql),
            contract: is_contract(&sql),
            tag,
            when,
            path,
            sql,
            rollback,
            rollback_path,
        }
    }
}

/// `-- strata:no-transaction` on the first line opts out of the transaction.
pub fn tx_mode(sql: &str) -> TxMode {
    let first = sql
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or_default()
        .trim();
    if first.eq_ignore_ascii_case(NO_TRANSACTION) {
        TxMode::NoTransaction
    } else {
        TxMode::Transaction
    }
}

/// Whether `-- strata:contract` is among the comment lines the file
/// starts with.
pub fn is_contract(sql: &str) -> bool {
    sql.trim_start_matches('\u{feff}')
        .lines()
        .map(str::trim)
        .take_while(|line| line.starts_with("--"))
        .any(|line| line.eq_ignore_ascii_case(CONTRACT))
}

/// The hex sha256 of a text, as drizzle's migrator computes it.
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut out, b| {
        use std::fmt::Write as _;
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// The folder and its migrations.
#[derive(Debug, Clone)]
pub struct Folder {
    /// The folder.
    pub dir: PathBuf,
    /// Its layout.
    pub layout: Layout,
    /// The journal (0.31 layout), as read.
    pub journal: Option<Journal>,
    /// The migrations, in order.
    pub migrations: Vec<Migration>,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> MigrateError {
    let path = path.to_owned();
    move |source| MigrateError::Io {
        action,
        path,
        source,
    }
}

fn display(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root)
        .map_or_else(|_| path.to_owned(), Path::to_path_buf)
}

impl Folder {
    /// An empty folder in the 0.31 layout (nothing on disk yet).
    pub fn empty(dir: &Path) -> Folder {
        Folder {
            dir: dir.to_owned(),
            layout: Layout::Journal,
            journal: None,
            migrations: Vec::new(),
        }
    }

    /// Reads the folder. A folder that does not exist has no migrations.
    ///
    /// # Errors
    /// A malformed journal (what and where), a journal entry without its
    /// file, or a file that cannot be read.
    pub fn read(dir: &Path, root: &Path) -> Result<Folder, MigrateError> {
        if !dir.exists() {
            return Ok(Folder::empty(dir));
        }
        let journal_path = dir.join("meta").join("_journal.json");
        if journal_path.is_file() {
            return Folder::read_journal(dir, root, &journal_path);
        }
        let mut folders: Vec<(String, PathBuf)> = Vec::new();
        for entry in fs::read_dir(dir).map_err(io("could not read", dir))? {
            let entry = entry.map_err(io("could not read", dir))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.join("migration.sql").is_file()
                && name.len() > 15
                && name[..14].bytes().all(|b| b.is_ascii_digit())
            {
                folders.push((name, path));
            }
        }
        if folders.is_empty() {
            let stray = fs::read_dir(dir)
                .map_err(io("could not read", dir))?
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "sql"));
            if stray {
                return Err(MigrateError::NoJournal { path: journal_path });
            }
            return Ok(Folder::empty(dir));
        }
        folders.sort();
        let mut migrations = Vec::new();
        for (idx, (name, path)) in folders.into_iter().enumerate() {
            let file = path.join("migration.sql");
            let sql = fs::read_to_string(&file).map_err(io("could not read", &file))?;
            let rollback_path = path.join("rollback.sql");
            let rollback = fs::read_to_string(&rollback_path).ok();
            let when = folder_timestamp(&name[..14]).ok_or_else(|| MigrateError::Malformed {
                path: display(root, &path),
                reason: format!("`{name}` does not start with a YYYYMMDDHHMMSS timestamp"),
            })?;
            migrations.push(Migration::new(
                u32::try_from(idx).unwrap_or(u32::MAX),
                name,
                when,
                display(root, &file),
                sql,
                rollback,
                display(root, &rollback_path),
            ));
        }
        Ok(Folder {
            dir: dir.to_owned(),
            layout: Layout::Folders,
            journal: None,
            migrations,
        })
    }

    fn read_journal(dir: &Path, root: &Path, journal_path: &Path) -> Result<Folder, MigrateError> {
        let text = fs::read_to_string(journal_path).map_err(io("could not read", journal_path))?;
        let journal: Journal =
            serde_json::from_str(&text).map_err(|e| MigrateError::Malformed {
                path: display(root, journal_path),
                reason: format!("line {}, column {}: {e}", e.line(), e.column()),
            })?;
        let mut migrations = Vec::new();
        let mut previous: Option<&JournalEntry> = None;
        for entry in &journal.entries {
            if let Some(previous) = previous
                && entry.idx <= previous.idx
            {
                return Err(MigrateError::Malformed {
                    path: display(root, journal_path),
                    reason: format!(
                        "entry `{}` has idx {} after idx {}",
                        entry.tag, entry.idx, previous.idx
                    ),
                });
            }
            previous = Some(entry);
            let file = dir.join(format!("{}.sql", entry.tag));
            let sql = fs::read_to_string(&file).map_err(|source| {
                if source.kind() == std::io::ErrorKind::NotFound {
                    MigrateError::MissingFile {
                        tag: entry.tag.clone(),
                        path: display(root, &file),
                    }
                } else {
                    MigrateError::Io {
                        action: "could not read",
                        path: file.clone(),
                        source,
                    }
                }
            })?;
            let rollback_path = dir.join(format!("{}_rollback.sql", entry.tag));
            let rollback = fs::read_to_string(&rollback_path).ok();
            migrations.push(Migration::new(
                entry.idx,
                entry.tag.clone(),
                entry.when,
                display(root, &file),
                sql,
                rollback,
                display(root, &rollback_path),
            ));
        }
        Ok(Folder {
            dir: dir.to_owned(),
            layout: Layout::Journal,
            journal: Some(journal),
            migrations,
        })
    }

    /// The migration called `tag`.
    pub fn find(&self, tag: &str) -> Option<&Migration> {
        self.migrations.iter().find(|m| m.tag == tag)
    }

    /// The next entry's index.
    pub fn next_idx(&self) -> u32 {
        self.migrations.last().map_or(0, |m| m.idx + 1)
    }
}

/// `20261124004401` (UTC) as epoch milliseconds.
pub fn folder_timestamp(digits: &str) -> Option<i64> {
    let n = |range: std::ops::Range<usize>| digits.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (hour, minute, second) = (n(8..10)?, n(10..12)?, n(12..14)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some((days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second) * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Splits a migration into statements the way strata runs them: at
/// drizzle's breakpoints when the file has them, and at top-level
/// semicolons within each part (so an error names its statement and line).
/// Returns `(statement, 1-based line)`.
///
/// # Errors
/// A part that does not lex (an unterminated string, quote or comment).
pub fn statements(sql: &str) -> Result<Vec<(String, usize)>, strata_syntax::LexError> {
    let mut out = Vec::new();
    let mut line = 1;
    // drizzle's migrator splits at the marker first, whatever surrounds it.
    for part in sql.split(BREAKPOINT) {
        let statements =
            strata_syntax::split_statements(part).map_err(|e| strata_syntax::LexError {
                line: e.line + line - 1,
                ..e
            })?;
        for statement in statements {
            out.push((statement.text.to_owned(), statement.line + line - 1));
        }
        line += part.matches('\n').count();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_timestamps_are_utc_milliseconds() {
        assert_eq!(folder_timestamp("19700101000000"), Some(0));
        assert_eq!(folder_timestamp("20261124004401"), Some(1_795_481_041_000));
        assert_eq!(folder_timestamp("20261324004401"), None);
    }

    #[test]
    fn the_first_line_opts_out_of_the_transaction() {
        assert_eq!(
            tx_mode("-- strata:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);"),
            TxMode::NoTransaction
        );
        assert_eq!(tx_mode("CREATE TABLE t ();"), TxMode::Transaction);
    }

    #[test]
    fn hashes_like_sha256sum() {
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn breakpoints_and_semicolons_both_split() {
        let sql = "CREATE TABLE a (x int);--> statement-breakpoint\nCREATE TABLE b (\n  y int\n);\n--> statement-breakpoint\nINSERT INTO a VALUES (1); INSERT INTO a VALUES (2)\n--> statement-breakpoint\nSELECT 1";
        let parts = statements(sql).unwrap();
        assert_eq!(parts.len(), 5);
        assert_eq!(parts[1].1, 2);
        assert_eq!(parts[3], ("INSERT INTO a VALUES (2)".to_owned(), 6));
        assert_eq!(parts[4], ("SELECT 1".to_owned(), 8));
    }
}
