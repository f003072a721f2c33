//! SQLite migrations in drizzle-kit's folder: `generate` (the folder
//! replayed into an in-memory database, compared with the schema files),
//! `migrate` with drizzle's SQLite tracking table (`__drizzle_migrations`:
//! `id`, `hash`, `created_at`; drizzle leaves `id` NULL, and so does
//! strata), each migration in its own transaction with its tracking row,
//! `status` with drift, and `rollback`.
//!
//! A migration's `PRAGMA foreign_keys = OFF` (the table rebuild's first
//! step) takes effect: it is run before `BEGIN`, and
//! `PRAGMA foreign_key_check` runs before `COMMIT` (drizzle's migrator
//! runs it inside the transaction, where SQLite ignores it, and a rebuild
//! deletes the rows of `ON DELETE CASCADE` children).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use strata_diff::{Change, NoRenames, Plan, RenameRequest, RenameResolver};
use strata_model::Catalog;
use strata_sql::{Statement, Transaction};
use strata_sqlite::{Connection, SqliteError, quote};

use super::{align_names, desired_state, rename_annotations, render_between, scope};
use crate::config::Settings;
use crate::migrate::generate::{derived_name, io, now_millis, script};
use crate::migrate::snapshot::{previous_id, uuid_v4};
use crate::migrate::{
    Applied, AppliedRow, Folder, GenerateOptions, Journal, JournalEntry, Layout, MigrateError,
    MigrateOptions, MigrateReport, Migration, Reconciled, RollbackTarget, Status, StatusEntry,
    TxMode,
};
use crate::{Error, Event, Observer};

/// `CREATE TABLE` of the tracking table, as drizzle's SQLite migrator runs it.
fn ensure_tracking(conn: &mut Connection, table: &str) -> Result<(), SqliteError> {
    conn.execute(&format!(
        "CREATE TABLE IF NOT EXISTS {} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)",
        quote(table)
    ))
}

/// The tracking table's rows; none when it does not exist.
fn read_tracking(conn: &mut Connection, table: &str) -> Result<Vec<AppliedRow>, SqliteError> {
    let exists = conn.query_text(&format!(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '{}'",
        table.replace('\'', "''")
    ))?;
    if exists.is_empty() {
        return Ok(Vec::new());
    }
    let rows = conn.query_text(&format!(
        "SELECT id, hash, created_at FROM {} ORDER BY created_at, rowid",
        quote(table)
    ))?;
    let number = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<i64>().ok());
    Ok(rows
        .into_iter()
        .map(|r| AppliedRow {
            id: number(&r[0]),
            hash: r[1].clone().unwrap_or_default(),
            created_at: number(&r[2]),
            name: None,
        })
        .collect())
}

fn insert_sql(table: &str, migration: &Migration) -> String {
    format!(
        "INSERT INTO {} (\"hash\", \"created_at\") VALUES ('{}', {})",
        quote(table),
        migration.hash,
        migration.when
    )
}

fn delete_sql(table: &str, row: &AppliedRow) -> String {
    let created = row
        .created_at
        .map_or_else(|| "IS NULL".to_owned(), |c| format!("= {c}"));
    format!(
        "DELETE FROM {} WHERE rowid = (SELECT rowid FROM {} WHERE hash = '{}' AND created_at {created} LIMIT 1)",
        quote(table),
        quote(table),
        row.hash.replace('\'', "''")
    )
}

/// A script's statements with their lines.
fn parts(
    path: &Path,
    tag: &str,
    what: &'static str,
    sql: &str,
) -> Result<Vec<(String, usize)>, Error> {
    strata_sqlite::split_statements(sql)
        .map(|s| s.into_iter().map(|s| (s.text, s.line)).collect())
        .map_err(|e| {
            Error::from(MigrateError::Malformed {
                path: path.to_owned(),
                reason: format!("{what} `{tag}`: line {}: unterminated {}", e.line, e.what),
            })
        })
}

/// Where a script failed.
struct Failure {
    index: Option<usize>,
    error: SqliteError,
}

/// Runs `statements` and `tail` (the tracking table's update) in one
/// transaction, or one by one when the script opts out of it. In a
/// transaction, `proceed` is asked first, holding the write lock: `false`
/// (another process did it meanwhile) runs nothing and returns
/// `Ok(false)`.
fn run_script(
    conn: &mut Connection,
    statements: &[(String, usize)],
    tail: &str,
    mode: TxMode,
    proceed: &mut dyn FnMut(&mut Connection) -> Result<bool, SqliteError>,
    before_commit: &mut dyn FnMut(&mut Connection) -> Result<(), SqliteError>,
) -> Result<bool, Failure> {
    match mode {
        TxMode::Transaction => {
            let mut sql: Vec<&str> = statements.iter().map(|(s, _)| s.as_str()).collect();
            sql.push(tail);
            conn.run_transaction_if(&sql, proceed, before_commit)
                .map_err(|(index, error)| Failure {
                    index: index.filter(|i| *i < statements.len()),
                    error,
                })
        }
        TxMode::NoTransaction => {
            for (i, (sql, _)) in statements.iter().enumerate() {
                conn.execute(sql).map_err(|error| Failure {
                    index: Some(i),
                    error,
                })?;
            }
            conn.execute(tail)
                .map_err(|error| Failure { index: None, error })?;
            Ok(true)
        }
    }
}

fn failed(
    what: &'static str,
    tag: &str,
    path: &Path,
    statements: &[(String, usize)],
    failure: Failure,
    outcome: String,
) -> Error {
    let (sql, line) = failure
        .index
        .and_then(|i| statements.get(i).cloned())
        .unwrap_or_else(|| {
            (
                "(the tracking table, or PRAGMA foreign_key_check before COMMIT)".to_owned(),
                0,
            )
        });
    Error::SqliteMigration {
        what,
        tag: tag.to_owned(),
        path: path.to_owned(),
        line,
        number: failure.index.map_or(0, |i| i + 1),
        sql: sql.lines().take(3).collect::<Vec<_>>().join("\n  "),
        error: failure.error,
        outcome,
    }
}

/// Applies the pending migrations of `folder`, in order, each in its own
/// transaction (`BEGIN IMMEDIATE`: other writers wait) with its tracking
/// row. Refuses edited files and out-of-order migrations as with
/// PostgreSQL.
///
/// # Errors
/// An edited or out-of-order migration, `--to` naming no migration, or a
/// failing statement (file, line, SQLite's message; the database stays at
/// the last good migration).
pub fn migrate(
    conn: &mut Connection,
    folder: &Folder,
    table: &str,
    options: &MigrateOptions,
    observer: &mut dyn Observer,
) -> Result<MigrateReport, Error> {
    // Another process's migration holds the write lock for as long as it
    // runs: wait for it (as PostgreSQL's advisory lock does), however
    // long, instead of failing with "database is locked" after seconds.
    conn.set_busy_timeout(WAIT_FOR_OTHER_MIGRATE)?;
    let result = migrate_waiting(conn, folder, table, options, observer);
    conn.set_busy_timeout(strata_sqlite::BUSY_TIMEOUT)?;
    result
}

/// How long `migrate` waits for another process's write lock.
const WAIT_FOR_OTHER_MIGRATE: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

fn migrate_waiting(
    conn: &mut Connection,
    folder: &Folder,
    table: &str,
    options: &MigrateOptions,
    observer: &mut dyn Observer,
) -> Result<MigrateReport, Error> {
    let last = match &options.to {
        Some(tag) => Some(
            folder
                .migrations
                .iter()
                .position(|m| &m.tag == tag)
                .ok_or_else(|| MigrateError::UnknownTag { tag: tag.clone() })?,
        ),
        None => None,
    };
    ensure_tracking(conn, table)?;
    let rows = read_tracking(conn, table)?;
    let state = Reconciled::new(&folder.migrations, &rows);
    let mut report = MigrateReport {
        already_applied: state.applied.len(),
        ..MigrateReport::default()
    };
    if !state.edited.is_empty() {
        if !options.accept_edited {
            return Err(MigrateError::Edited {
                tags: state
                    .edited
                    .iter()
                    .map(|(i, _)| folder.migrations[*i].tag.clone())
                    .collect(),
            }
            .into());
        }
        for (i, row) in &state.edited {
            let migration = &folder.migrations[*i];
            conn.run_transaction(
                &[&delete_sql(table, row), &insert_sql(table, migration)],
                &mut |_| Ok(()),
            )
            .map_err(|(_, e)| e)?;
            report.accepted_edits.push(migration.tag.clone());
        }
    }
    if !state.out_of_order.is_empty() && !options.allow_out_of_order {
        let newest = state
            .applied
            .iter()
            .map(|(i, _)| &folder.migrations[*i])
            .max_by_key(|m| m.when)
            .map(|m| m.tag.clone())
            .unwrap_or_default();
        return Err(MigrateError::OutOfOrder {
            tags: state
                .out_of_order
                .iter()
                .map(|i| folder.migrations[*i].tag.clone())
                .collect(),
            newest,
        }
        .into());
    }
    let pending: Vec<usize> = state
        .pending
        .iter()
        .copied()
        .filter(|i| last.is_none_or(|l| *i <= l))
        .collect();
    let mut at = state
        .applied
        .iter()
        .chain(&state.edited)
        .map(|(i, _)| *i)
        .max()
        .map(|i| folder.migrations[i].tag.clone());
    for (n, &i) in pending.iter().enumerate() {
        let migration = &folder.migrations[i];
        observer.event(Event::Stage(format!(
            "applying {} ({} of {})",
            migration.tag,
            n + 1,
            pending.len()
        )));
        let started = Instant::now();
        let statements = parts(&migration.path, &migration.tag, "migration", &migration.sql)?;
        // Another process may have applied it since the rows were read:
        // the transaction holds the write lock, so count again there.
        let when = migration.when;
        let recount = format!(
            "SELECT count(*) FROM {} WHERE created_at = {when}",
            quote(table)
        );
        let mut check = |conn: &mut Connection| {
            let count = conn.query_text(&recount)?;
            if count
                .first()
                .and_then(|r| r.first().cloned().flatten())
                .as_deref()
                == Some("1")
            {
                Ok(())
            } else {
                Err(SqliteError::Catalog(
                    "another process applied this migration at the same time; nothing of this run's copy was kept".to_owned(),
                ))
            }
        };
        // Several processes may run `migrate` at once: the first to take
        // the write lock applies the migration, the others find its row
        // there and skip it.
        let mut not_yet_applied = |conn: &mut Connection| {
            let recorded = read_tracking(conn, table)?;
            Ok(!recorded.iter().any(|r| r.created_at == Some(when)))
        };
        let ran = match run_script(
            conn,
            &statements,
            &insert_sql(table, migration),
            migration.transaction,
            &mut not_yet_applied,
            &mut check,
        ) {
            Ok(ran) => ran,
            Err(failure) => {
                let kept = match migration.transaction {
                    TxMode::Transaction => {
                        "nothing of it was applied (the transaction was rolled back)"
                    }
                    TxMode::NoTransaction => {
                        "it runs outside a transaction (`-- strata:no-transaction`): its statements before this one were applied and stay"
                    }
                };
                let mut outcome = kept.to_owned();
                match &at {
                    Some(at) => {
                        let _ = write!(outcome, "; the database is at `{at}`");
                    }
                    None => outcome.push_str("; no migration is applied"),
                }
                if !report.applied.is_empty() {
                    let tags: Vec<&str> = report.applied.iter().map(|a| a.tag.as_str()).collect();
                    let _ = write!(
                        outcome,
                        " ({} applied by this run: {})",
                        tags.len(),
                        tags.join(", ")
                    );
                }
                return Err(failed(
                    "migration",
                    &migration.tag,
                    &migration.path,
                    &statements,
                    failure,
                    outcome,
                ));
            }
        };
        if !ran {
            report.already_applied += 1;
            at = Some(migration.tag.clone());
            continue;
        }
        let applied = Applied {
            tag: migration.tag.clone(),
            statements: statements.len(),
            attempts: 1,
            elapsed: started.elapsed(),
        };
        observer.event(Event::Migrated {
            tag: applied.tag.clone(),
            elapsed: applied.elapsed,
        });
        at = Some(applied.tag.clone());
        report.applied.push(applied);
    }
    Ok(report)
}

/// A copy of the database, consistent and compacted (`VACUUM INTO`), in
/// `.strata/backups` (`<name>_YYYYMMDD_HHMMSS.db`): what `migrate
/// --backup` takes before it applies anything. Restoring it is copying it
/// over the database file while nothing uses it.
///
/// # Errors
/// The folder cannot be made, or SQLite cannot write the copy.
pub fn backup(
    conn: &mut Connection,
    settings: &Settings,
) -> Result<crate::backup::BackupReport, Error> {
    let started = Instant::now();
    let stem = match conn.target() {
        strata_sqlite::Target::File(path) => path
            .file_stem()
            .map_or_else(|| "sqlite".to_owned(), |s| s.to_string_lossy().into_owned()),
        strata_sqlite::Target::Memory => "memory".to_owned(),
    };
    let name = crate::backup::backup_file_name(&stem, SystemTime::now());
    let dir = crate::backup::backup_dir(settings);
    let stem = name.trim_end_matches(".dump");
    // Two runs within a second: the second gets `_2`.
    let mut path = dir.join(format!("{stem}.db"));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("{stem}_{n}.db"));
    }
    fs::create_dir_all(&dir).map_err(|source| crate::backup::BackupError::Io {
        action: "could not create the folder",
        path: dir.clone(),
        source,
    })?;
    conn.execute(&format!(
        "VACUUM INTO '{}'",
        path.to_string_lossy().replace('\'', "''")
    ))?;
    let bytes = fs::metadata(&path).map_or(0, |m| m.len());
    Ok(crate::backup::BackupReport {
        path,
        bytes,
        elapsed: started.elapsed(),
    })
}

/// Records `tag` as applied without running it (the seed's manual
/// INSERT into the tracking table, done safely).
///
/// # Errors
/// No such migration, or it is already recorded.
pub fn mark_applied(
    conn: &mut Connection,
    folder: &Folder,
    table: &str,
    tag: &str,
) -> Result<(), Error> {
    let index = folder
        .migrations
        .iter()
        .position(|m| m.tag == tag)
        .ok_or_else(|| MigrateError::UnknownTag {
            tag: tag.to_owned(),
        })?;
    ensure_tracking(conn, table)?;
    // Read again holding the write lock: another process may record it.
    let mut not_recorded = |conn: &mut Connection| {
        let rows = read_tracking(conn, table)?;
        Ok(!Reconciled::new(&folder.migrations, &rows).is_recorded(index))
    };
    let recorded = conn
        .run_transaction_if(
            &[&insert_sql(table, &folder.migrations[index])],
            &mut not_recorded,
            &mut |_| Ok(()),
        )
        .map_err(|(_, e)| e)?;
    if !recorded {
        return Err(MigrateError::AlreadyApplied {
            tag: tag.to_owned(),
        }
        .into());
    }
    Ok(())
}

/// Removes the last migration (its SQL, rollback script, journal entry
/// and snapshot) when the database has not applied it.
///
/// # Errors
/// `tag` is not the last migration, or it is applied.
pub fn drop_last(
    conn: &mut Connection,
    folder: &Folder,
    table: &str,
    tag: Option<&str>,
) -> Result<Migration, Error> {
    let database = conn.target().describe();
    let rows = read_tracking(conn, table)?;
    Ok(crate::migrate::drop_last_unless_applied(
        folder,
        tag,
        &mut |index| {
            Ok(Reconciled::new(&folder.migrations, &rows)
                .is_recorded(index)
                .then(|| database.clone()))
        },
    )?)
}

/// Undoes the last applied migrations with their rollback scripts, newest
/// first, each in a transaction with the removal of its tracking row.
///
/// # Errors
/// A migration without a rollback script (nothing is done), or a failing
/// statement (the database stays at the last migration rolled back).
pub fn rollback(
    conn: &mut Connection,
    folder: &Folder,
    table: &str,
    target: RollbackTarget,
    observer: &mut dyn Observer,
) -> Result<Vec<String>, Error> {
    let rows = read_tracking(conn, table)?;
    let state = Reconciled::new(&folder.migrations, &rows);
    let undo = crate::migrate::runner::to_undo(folder, &state, target)?;
    let mut done = Vec::new();
    for (i, row) in undo {
        let migration = &folder.migrations[i];
        let script = migration.rollback.clone().unwrap_or_default();
        observer.event(Event::Stage(format!("rolling back {}", migration.tag)));
        let started = Instant::now();
        let statements = parts(
            &migration.rollback_path,
            &migration.tag,
            "rollback of",
            &script,
        )?;
        let mode = crate::migrate::folder::tx_mode(&script);
        if let Err(failure) = run_script(
            conn,
            &statements,
            &delete_sql(table, &row),
            mode,
            &mut |_| Ok(true),
            &mut |_| Ok(()),
        ) {
            let mut outcome = format!(
                "nothing of its rollback script was kept; the database is at `{}`",
                migration.tag
            );
            if !done.is_empty() {
                let _ = write!(outcome, " (rolled back by this run: {})", done.join(", "));
            }
            return Err(failed(
                "rolling back",
                &migration.tag,
                &migration.rollback_path,
                &statements,
                failure,
                outcome,
            ));
        }
        observer.event(Event::RolledBack {
            tag: migration.tag.clone(),
            elapsed: started.elapsed(),
        });
        done.push(migration.tag.clone());
    }
    Ok(done)
}

/// What `migrations` produce on an empty in-memory database.
///
/// # Errors
/// A migration that fails there (its file and line).
pub fn replay(migrations: &[Migration]) -> Result<Catalog, Error> {
    let mut conn = Connection::memory()?;
    for migration in migrations {
        let statements = parts(&migration.path, &migration.tag, "migration", &migration.sql)?;
        let tail = "SELECT 1";
        if let Err(failure) = run_script(
            &mut conn,
            &statements,
            tail,
            migration.transaction,
            &mut |_| Ok(true),
            &mut |_| Ok(()),
        ) {
            return Err(failed(
                "replaying",
                &migration.tag,
                &migration.path,
                &statements,
                failure,
                "the migrations folder must build the schema from an empty database; fix the migration or restore it".to_owned(),
            ));
        }
    }
    Ok(conn.introspect()?)
}

/// Applied, pending, edited and missing migrations; with `check_drift`,
/// the applied ones replayed into an in-memory database and compared with
/// the database.
///
/// # Errors
/// The tracking table or the folder cannot be read, or a replay fails.
pub fn status(
    conn: &mut Connection,
    folder: &Folder,
    table: &str,
    check_drift: bool,
) -> Result<Status, Error> {
    let rows = read_tracking(conn, table)?;
    let state = Reconciled::new(&folder.migrations, &rows);
    let entry = |i: &usize| {
        let m = &folder.migrations[*i];
        StatusEntry {
            tag: m.tag.clone(),
            when: m.when,
            path: m.path.clone(),
        }
    };
    let mut report = Status {
        target: conn.target().describe(),
        applied: state.applied.iter().map(|(i, _)| entry(i)).collect(),
        pending: state.pending.iter().map(entry).collect(),
        edited: state.edited.iter().map(|(i, _)| entry(i)).collect(),
        missing: state.missing.clone(),
        out_of_order: state
            .out_of_order
            .iter()
            .map(|i| folder.migrations[*i].tag.clone())
            .collect(),
        drift: Vec::new(),
        drift_checked: false,
    };
    if !check_drift {
        return Ok(report);
    }
    let applied: Vec<Migration> = folder
        .migrations
        .iter()
        .enumerate()
        .filter(|(i, _)| state.is_recorded(*i))
        .map(|(_, m)| m.clone())
        .collect();
    let mut produced = replay(&applied)?;
    let mut current = conn.introspect()?;
    let scope = scope(table);
    scope.restrict(&mut current);
    scope.restrict(&mut produced);
    let renames = align_names(&current, &mut produced);
    let plan = strata_diff::diff(&current, &produced, &renames, &mut NoRenames)?;
    report.drift = render_between(&current, &produced, &plan)?;
    report.drift_checked = true;
    Ok(report)
}

/// A generated SQLite migration, planned but not written yet.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The changes.
    pub plan: Plan,
    /// The statements of the migration.
    pub statements: Vec<Statement>,
    /// The statements of its rollback script.
    pub rollback: Vec<Statement>,
    /// The target catalog (for the snapshot).
    pub desired: Catalog,
    /// Whether this is an empty, hand-written migration.
    pub custom: bool,
    /// The migration's name.
    pub name: String,
}

impl Generated {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        !self.custom && self.statements.is_empty()
    }
}

/// The renames that undo `plan`'s.
fn reverse_renames(plan: &Plan) -> Vec<RenameRequest> {
    let part = |name: &str| {
        if name.contains(['.', '=', '"']) {
            format!("\"{}\"", name.replace('"', "\"\""))
        } else {
            name.to_owned()
        }
    };
    let old_table = |name: &str| {
        plan.changes
            .iter()
            .find_map(|c| match c {
                Change::RenameTable { from, to } if to.as_str() == name => {
                    Some(from.name.to_string())
                }
                _ => None,
            })
            .unwrap_or_else(|| name.to_owned())
    };
    plan.changes
        .iter()
        .filter_map(|change| match change {
            Change::RenameTable { from, to } => RenameRequest::parse(&format!(
                "{}.{}={}",
                part(&from.schema),
                part(to),
                part(&from.name)
            ))
            .ok(),
            Change::RenameColumn { table, from, to } => RenameRequest::parse(&format!(
                "{}.{}.{}={}",
                part(&table.schema),
                part(&old_table(&table.name)),
                part(to),
                part(from)
            ))
            .ok(),
            _ => None,
        })
        .collect()
}

/// Plans the next SQLite migration: the folder replayed into an in-memory
/// database, compared with the schema files loaded into another.
///
/// # Errors
/// A folder in drizzle-kit 1.0's layout, a migration or schema file that
/// fails, renames, or a change SQLite cannot make.
pub fn generate(
    settings: &Settings,
    folder: &Folder,
    files: &[strata_postgres::SourceFile],
    options: &GenerateOptions,
    resolver: &mut dyn RenameResolver,
    observer: &mut dyn Observer,
) -> Result<Generated, Error> {
    if folder.layout == Layout::Folders {
        return Err(MigrateError::Malformed {
            path: folder.dir.clone(),
            reason: "it uses drizzle-kit 1.0's folder-per-migration layout, which strata reads but does not write; generate into a folder with meta/_journal.json".to_owned(),
        }
        .into());
    }
    observer.event(Event::Stage(format!(
        "replaying {} migration(s) into an in-memory SQLite database",
        folder.migrations.len()
    )));
    let mut previous = replay(&folder.migrations)?;
    let (mut wanted, _) = desired_state(files)?;
    let scope = scope(&settings.tracking.table);
    scope.restrict(&mut previous);
    scope.restrict(&mut wanted);
    let case_renames = align_names(&previous, &mut wanted);
    if options.custom {
        return Ok(Generated {
            plan: Plan::default(),
            statements: Vec::new(),
            rollback: Vec::new(),
            desired: previous,
            custom: true,
            name: options.name.clone().unwrap_or_else(|| "custom".to_owned()),
        });
    }
    let mut requests = options.renames.clone();
    requests.extend(rename_annotations(files));
    requests.extend(case_renames);
    let plan = strata_diff::diff(&previous, &wanted, &requests, resolver)?;
    // The foreign-keys pragmas are run around the migration's transaction
    // by whoever applies it (strata, or libsql's migrator): the migration
    // itself is one transaction.
    let inside = |mut statements: Vec<Statement>| {
        for s in &mut statements {
            s.transaction = Transaction::Inside;
        }
        statements
    };
    let statements = inside(render_between(&previous, &wanted, &plan)?);
    let reverse = strata_diff::diff(&wanted, &previous, &reverse_renames(&plan), &mut NoRenames)?;
    let rollback = inside(render_between(&wanted, &previous, &reverse)?);
    let name = options.name.clone().unwrap_or_else(|| derived_name(&plan));
    Ok(Generated {
        plan,
        statements,
        rollback,
        desired: wanted,
        custom: false,
        name,
    })
}

/// Writes a generated SQLite migration: its SQL, rollback script, journal
/// entry (drizzle-kit's SQLite journal: `dialect` `sqlite`, entries of
/// version 6) and snapshot. Returns the migration written.
///
/// # Errors
/// A file that cannot be written.
pub fn write_generated(folder: &Folder, generated: &Generated) -> Result<Vec<PathBuf>, Error> {
    let dir = &folder.dir;
    let meta = dir.join("meta");
    fs::create_dir_all(&meta).map_err(io("could not create", &meta))?;
    let mut journal = folder.journal.clone().unwrap_or(Journal {
        version: "7".to_owned(),
        dialect: "sqlite".to_owned(),
        entries: Vec::new(),
    });
    let when = now_millis().max(journal.entries.last().map_or(0, |e| e.when) + 1);
    let (sql, rollback) = if generated.custom {
        (
            "-- Custom SQL migration file, put your code below! --".to_owned(),
            "-- Rollback of a custom migration: write the SQL that undoes it below. --".to_owned(),
        )
    } else {
        (
            script(
                &generated.statements.iter().collect::<Vec<_>>(),
                None,
                false,
            ),
            script(&generated.rollback.iter().collect::<Vec<_>>(), None, true),
        )
    };
    let idx = folder.next_idx();
    let tag = format!("{idx:04}_{}", generated.name);
    let file = dir.join(format!("{tag}.sql"));
    fs::write(&file, &sql).map_err(io("could not write", &file))?;
    let rollback_file = dir.join(format!("{tag}_rollback.sql"));
    fs::write(&rollback_file, &rollback).map_err(io("could not write", &rollback_file))?;
    let snapshot_file = meta.join(format!("{idx:04}_snapshot.json"));
    let snapshot = super::snapshot::render(&generated.desired, &uuid_v4(), &previous_id(&meta));
    fs::write(&snapshot_file, snapshot).map_err(io("could not write", &snapshot_file))?;
    journal.entries.push(JournalEntry {
        idx,
        version: "6".to_owned(),
        when,
        tag,
        breakpoints: true,
    });
    let journal_file = meta.join("_journal.json");
    let text = serde_json::to_string_pretty(&journal).expect("journals serialize");
    fs::write(&journal_file, text).map_err(io("could not write", &journal_file))?;
    Ok(vec![file])
}
