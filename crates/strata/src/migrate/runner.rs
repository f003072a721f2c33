//! Applying migrations: one process at a time (an advisory lock), each
//! migration in its own transaction with its tracking row, lock and
//! statement timeouts, retries when a lock is not free in time.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;
use strata_postgres::{Connection, PgError};

use super::folder::{Folder, Migration, TxMode, statements, tx_mode};
use super::tracking::{self, AppliedRow, Reconciled};
use super::{MigrateError, StatementFailure};
use crate::config::TrackingTable;
use crate::{Event, Observer};

/// How to migrate.
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    /// Stop after this migration.
    pub to: Option<String>,
    /// Apply a pending migration older than the newest applied one.
    pub allow_out_of_order: bool,
    /// Record the current hash of applied migrations whose file changed,
    /// instead of refusing to run.
    pub accept_edited: bool,
    /// `lock_timeout` for each migration (none: wait forever).
    pub lock_timeout: Option<Duration>,
    /// `statement_timeout` for each migration.
    pub statement_timeout: Option<Duration>,
    /// How often to try a migration again when a lock was not free in time.
    pub retries: u32,
    /// Apply contract migrations (`-- strata:contract`) too; without it,
    /// migrate stops before the first one.
    pub contract: bool,
}

/// What one migration did.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// Its tag.
    pub tag: String,
    /// Statements run.
    pub statements: usize,
    /// Attempts (more than one when a lock timed out).
    pub attempts: u32,
    /// Time spent.
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MigrateReport {
    /// Migrations applied by this run, in order.
    pub applied: Vec<Applied>,
    /// Migrations that were applied already.
    pub already_applied: usize,
    /// Applied migrations whose changed file was accepted.
    pub accepted_edits: Vec<String>,
    /// The contract migration migrate stopped before (it and what follows
    /// stay pending until `--contract`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
}

/// Holds the migrate lock for the connection's session.
struct Lock<'c> {
    conn: &'c mut Connection,
    key: i64,
}

impl<'c> Lock<'c> {
    fn acquire(
        conn: &'c mut Connection,
        tracking: &TrackingTable,
        observer: &mut dyn Observer,
    ) -> Result<Lock<'c>, MigrateError> {
        let key = tracking::lock_key(tracking);
        let got = conn.query_text(&format!("SELECT pg_try_advisory_lock({key})"))?;
        if got
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .as_deref()
            != Some("t")
        {
            let holder = conn
                .query_text(&format!(
                    "SELECT l.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local')
                     FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
                     WHERE l.locktype = 'advisory' AND l.granted
                       AND ((l.classid::bigint << 32) | l.objid::bigint) = {key} LIMIT 1"
                ))?
                .into_iter()
                .next().map_or_else(|| "another session".to_owned(), |r| {
                    format!(
                        "pid {} ({}, {})",
                        r[0].clone().unwrap_or_default(),
                        r[1].clone().unwrap_or_default(),
                        r[2].clone().unwrap_or_default()
                    )
                });
            observer.event(Event::Warning(format!(
                "another migrate is running ({holder}); waiting for it to finish"
            )));
            conn.execute(&format!("SELECT pg_advisory_lock({key})"))?;
        }
        Ok(Lock { conn, key })
    }
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        let _ = self
            .conn
            .execute(&format!("SELECT pg_advisory_unlock({})", self.key));
    }
}

fn interval(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// Applies the pending migrations of `folder`, in order. Safe to run any
/// number of times and from several processes at once: a PostgreSQL
/// advisory lock serializes them, and the rows are read again once the
/// lock is held.
///
/// # Errors
/// An applied migration whose file changed, a pending migration older than
/// the newest applied one, `--to` naming no migration, or a failing
/// statement (its file, line and the server's error; the database stays at
/// the last good migration).
pub fn migrate(
    conn: &mut Connection,
    folder: &Folder,
    tracking: &TrackingTable,
    options: &MigrateOptions,
    observer: &mut dyn Observer,
) -> Result<MigrateReport, MigrateError> {
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
    let lock = Lock::acquire(conn, tracking, observer)?;
    let conn = &mut *lock.conn;
    tracking::ensure(conn, tracking)?;
    let (rows, has_name) = tracking::read(conn, tracking)?;
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
            });
        }
        for (i, row) in &state.edited {
            let migration = &folder.migrations[*i];
            conn.execute(&format!(
                "{};\n{}",
                tracking::delete_sql(tracking, row),
                tracking::insert_sql(tracking, migration, has_name)
            ))?;
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
        });
    }
    let pending: Vec<usize> = state
        .pending
        .iter()
        .copied()
        .filter(|i| last.is_none_or(|l| *i <= l))
        .collect();
    for (n, &i) in pending.iter().enumerate() {
        let migration = &folder.migrations[i];
        if migration.contract && !options.contract {
            // The app version before this one may still use what it
            // removes: it waits for an explicit `--contract`.
            observer.event(Event::Warning(format!(
                "stopped before {}: a contract migration (it removes what the previous version of the app may still use); once every instance runs the new version, apply it with `strata migrate --contract`",
                migration.tag
            )));
            report.held = Some(migration.tag.clone());
            break;
        }
        observer.event(Event::Stage(format!(
            "applying {} ({} of {})",
            migration.tag,
            n + 1,
            pending.len()
        )));
        match apply_one(conn, tracking, migration, has_name, options, observer) {
            Ok(applied) => {
                observer.event(Event::Migrated {
                    tag: applied.tag.clone(),
                    elapsed: applied.elapsed,
                });
                report.applied.push(applied);
            }
            Err(failure) => {
                return Err(MigrateError::Failed {
                    tag: migration.tag.clone(),
                    path: migration.path.clone(),
                    failure: Box::new(failure),
                    transaction: migration.transaction,
                    rollback: false,
                    applied: report.applied.iter().map(|a| a.tag.clone()).collect(),
                    at: folder.migrations[..i]
                        .iter()
                        .enumerate()
                        .rev()
                        .find(|(j, _)| {
                            state.is_recorded(*j)
                                || report
                                    .applied
                                    .iter()
                                    .any(|a| a.tag == folder.migrations[*j].tag)
                        })
                        .map(|(_, m)| m.tag.clone()),
                });
            }
        }
    }
    drop(lock);
    Ok(report)
}

/// Runs one migration; on failure, says which statement failed and why.
fn apply_one(
    conn: &mut Connection,
    tracking: &TrackingTable,
    migration: &Migration,
    has_name: bool,
    options: &MigrateOptions,
    observer: &mut dyn Observer,
) -> Result<Applied, StatementFailure> {
    let started = Instant::now();
    let parts = statements(&migration.sql).map_err(|e| StatementFailure {
        number: 0,
        line: e.line,
        sql: String::new(),
        error: PgError::Catalog(e.to_string()),
    })?;
    let mut settings = String::new();
    if let Some(t) = options.lock_timeout {
        let _ = writeln!(settings, "SET LOCAL lock_timeout = '{}';", interval(t));
    }
    if let Some(t) = options.statement_timeout {
        let _ = writeln!(settings, "SET LOCAL statement_timeout = '{}';", interval(t));
    }
    let mut attempts = 0;
    loop {
        attempts += 1;
        let result = match migration.transaction {
            TxMode::Transaction => run_in_transaction(
                conn,
                &settings,
                &parts,
                &tracking::insert_sql(tracking, migration, has_name),
            ),
            TxMode::NoTransaction => run_outside(
                conn,
                &settings,
                &parts,
                &tracking::insert_sql(tracking, migration, has_name),
            ),
        };
        match result {
            Ok(()) => {
                return Ok(Applied {
                    tag: migration.tag.clone(),
                    statements: parts.len(),
                    attempts,
                    elapsed: started.elapsed(),
                });
            }
            Err(failure)
                if attempts <= options.retries
                    && migration.transaction == TxMode::Transaction
                    && failure
                        .error
                        .database_error()
                        .is_some_and(|e| e.code == "55P03") =>
            {
                // A lock was not free in time: wait (longer each time) and
                // try the whole migration again.
                let wait = Duration::from_millis(500 * (1 << attempts.min(6)));
                observer.event(Event::Warning(format!(
                    "{}: a lock was not free within lock_timeout; trying again in {:.1} s (attempt {} of {})",
                    migration.tag,
                    wait.as_secs_f64(),
                    attempts + 1,
                    options.retries + 1
                )));
                std::thread::sleep(wait);
            }
            Err(failure) => return Err(failure),
        }
    }
}

/// The whole migration and its tracking row in one transaction, sent in
/// one round trip. On an error the transaction is rolled back; when the
/// server did not say where, the statements run again one by one (in a
/// transaction that is rolled back too) to find the one that fails.
fn run_in_transaction(
    conn: &mut Connection,
    settings: &str,
    parts: &[(String, usize)],
    tail: &str,
) -> Result<(), StatementFailure> {
    let mut script = String::from("BEGIN;\n");
    script.push_str(settings);
    let mut starts = Vec::with_capacity(parts.len());
    for (sql, _) in parts {
        starts.push(script.chars().count());
        script.push_str(sql);
        script.push_str(";\n");
    }
    script.push_str(tail);
    script.push_str(";\nCOMMIT");
    let Err(error) = conn.execute(&script) else {
        return Ok(());
    };
    let _ = conn.execute("ROLLBACK");
    let position = error
        .database_error()
        .and_then(|e| e.position)
        .map(|p| p as usize);
    if let Some(position) = position {
        let index = starts.iter().rposition(|s| *s < position).unwrap_or(0);
        return Err(failure(parts, index, error));
    }
    // Find the statement by running them one at a time, then undo it all.
    let mut found = None;
    if conn.execute(&format!("BEGIN;\n{settings}")).is_ok() {
        for (index, (sql, _)) in parts.iter().enumerate() {
            if let Err(e) = conn.execute(sql) {
                found = Some((index, e));
                break;
            }
        }
        let _ = conn.execute("ROLLBACK");
    }
    match found {
        Some((index, e)) => Err(failure(parts, index, e)),
        None => Err(StatementFailure {
            number: 0,
            line: 0,
            sql: "(recording the migration in the tracking table)".to_owned(),
            error,
        }),
    }
}

/// Statement by statement, each committed as it goes; `tail` (the
/// tracking table's update) last.
fn run_outside(
    conn: &mut Connection,
    settings: &str,
    parts: &[(String, usize)],
    tail: &str,
) -> Result<(), StatementFailure> {
    let session = settings.replace("SET LOCAL", "SET");
    if !session.is_empty() {
        conn.execute(&session).map_err(|e| failure(parts, 0, e))?;
    }
    let result = parts
        .iter()
        .enumerate()
        .try_for_each(|(index, (sql, _))| conn.execute(sql).map_err(|e| failure(parts, index, e)));
    if !session.is_empty() {
        let _ = conn.execute("RESET lock_timeout; RESET statement_timeout");
    }
    result?;
    conn.execute(tail).map_err(|error| StatementFailure {
        number: parts.len() + 1,
        line: 0,
        sql: "(updating the tracking table)".to_owned(),
        error,
    })
}

fn failure(parts: &[(String, usize)], index: usize, error: PgError) -> StatementFailure {
    let (sql, line) = parts.get(index).cloned().unwrap_or_default();
    StatementFailure {
        number: index + 1,
        line,
        sql,
        error,
    }
}

/// Records `migration` as applied without running it.
///
/// # Errors
/// It is already recorded.
pub fn mark_applied(
    conn: &mut Connection,
    folder: &Folder,
    tracking: &TrackingTable,
    tag: &str,
    observer: &mut dyn Observer,
) -> Result<(), MigrateError> {
    let index = folder
        .migrations
        .iter()
        .position(|m| m.tag == tag)
        .ok_or_else(|| MigrateError::UnknownTag {
            tag: tag.to_owned(),
        })?;
    let lock = Lock::acquire(conn, tracking, observer)?;
    let conn = &mut *lock.conn;
    tracking::ensure(conn, tracking)?;
    let (rows, has_name) = tracking::read(conn, tracking)?;
    let state = Reconciled::new(&folder.migrations, &rows);
    if state.is_recorded(index) {
        return Err(MigrateError::AlreadyApplied {
            tag: tag.to_owned(),
        });
    }
    conn.execute(&tracking::insert_sql(
        tracking,
        &folder.migrations[index],
        has_name,
    ))?;
    Ok(())
}

/// Undoes the last applied migrations with their rollback scripts, newest
/// first, each in a transaction with the removal of its tracking row.
///
/// # Errors
/// A migration without a rollback script (nothing is done), or a failing
/// rollback statement (the database stays at the last migration rolled
/// back successfully).
pub fn rollback(
    conn: &mut Connection,
    folder: &Folder,
    tracking: &TrackingTable,
    target: RollbackTarget,
    observer: &mut dyn Observer,
) -> Result<Vec<String>, MigrateError> {
    let lock = Lock::acquire(conn, tracking, observer)?;
    let conn = &mut *lock.conn;
    let (rows, _) = tracking::read(conn, tracking)?;
    let state = Reconciled::new(&folder.migrations, &rows);
    let undo = to_undo(folder, &state, target)?;
    let mut done = Vec::new();
    for (i, row) in undo {
        let migration = &folder.migrations[i];
        let script = migration.rollback.clone().unwrap_or_default();
        observer.event(Event::Stage(format!("rolling back {}", migration.tag)));
        let started = Instant::now();
        let mode = tx_mode(&script);
        let failed = |failure: StatementFailure, done: &[String]| MigrateError::Failed {
            tag: migration.tag.clone(),
            path: migration.rollback_path.clone(),
            failure: Box::new(failure),
            transaction: mode,
            rollback: true,
            applied: done.to_vec(),
            at: Some(migration.tag.clone()),
        };
        let parts = statements(&script).map_err(|e| {
            failed(
                StatementFailure {
                    number: 0,
                    line: e.line,
                    sql: String::new(),
                    error: PgError::Catalog(e.to_string()),
                },
                &done,
            )
        })?;
        let tail = tracking::delete_sql(tracking, &row);
        let result = match mode {
            TxMode::Transaction => run_in_transaction(conn, "", &parts, &tail),
            TxMode::NoTransaction => run_outside(conn, "", &parts, &tail),
        };
        if let Err(failure) = result {
            return Err(failed(failure, &done));
        }
        observer.event(Event::RolledBack {
            tag: migration.tag.clone(),
            elapsed: started.elapsed(),
        });
        done.push(migration.tag.clone());
    }
    drop(lock);
    Ok(done)
}

/// How far to roll back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackTarget {
    /// The last N applied migrations.
    Steps(usize),
    /// Everything applied after this migration.
    To(String),
}

/// The recorded migrations a rollback undoes, newest first; each must have
/// a rollback script.
///
/// # Errors
/// `--to` naming no migration, or one to undo without a rollback script.
pub(crate) fn to_undo(
    folder: &Folder,
    state: &Reconciled,
    target: RollbackTarget,
) -> Result<Vec<(usize, AppliedRow)>, MigrateError> {
    let mut recorded: Vec<(usize, AppliedRow)> =
        state.applied.iter().chain(&state.edited).cloned().collect();
    recorded.sort_by_key(|(i, _)| *i);
    let undo: Vec<(usize, AppliedRow)> = match target {
        RollbackTarget::Steps(n) => recorded.iter().rev().take(n).cloned().collect(),
        RollbackTarget::To(tag) => {
            let index = folder
                .migrations
                .iter()
                .position(|m| m.tag == tag)
                .ok_or(MigrateError::UnknownTag { tag })?;
            recorded
                .iter()
                .rev()
                .filter(|(i, _)| *i > index)
                .cloned()
                .collect()
        }
    };
    if let Some((i, _)) = undo
        .iter()
        .find(|(i, _)| folder.migrations[*i].rollback.is_none())
    {
        let migration = &folder.migrations[*i];
        return Err(MigrateError::NoRollback {
            tag: migration.tag.clone(),
            path: migration.rollback_path.clone(),
        });
    }
    Ok(undo)
}
