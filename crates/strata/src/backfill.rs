//! `strata backfill`: a data migration on a large table, in batches by key
//! range, each batch one short transaction, resumable after any
//! interruption (the seed note's "Zero-Downtime Deploys", step 3).
//!
//! # How it stays correct
//! The table is walked in the order of its primary key (or, without one, a
//! unique index over NOT NULL columns), compared as a row value, so a
//! composite key works like a single one. Each batch is one transaction
//! that takes the next `batch_size` keys, runs the user's `UPDATE … SET`
//! on that key range, and moves the backfill's progress row in
//! `<tracking schema>.__strata_backfills` to the batch's last key. Both
//! commit together or not at all, so a process killed at any point (even
//! `SIGKILL`) has either done a whole batch and recorded it, or neither:
//! run again, it continues after the last recorded key and every row is
//! updated exactly once.
//!
//! # Which rows
//! The largest key is recorded when a backfill starts; rows whose key is
//! above it (inserted later) are not visited, and neither are rows
//! inserted behind the walk. Deploy the application code that writes the
//! new value first (the seed note's Deploy 2), then backfill the rows
//! written before it.
//!
//! # Locking
//! A batch holds row locks on at most `batch_size` rows, for as long as
//! its `UPDATE` takes, under a `lock_timeout` (a batch that cannot get its
//! locks in time is rolled back and retried with backoff) and a
//! `statement_timeout`. Between batches nothing is held; the pause between
//! them leaves room for the application's own writes.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use strata_postgres::{Connection, PgError};
use strata_syntax::{TokenKind, quote_ident, quote_qualified, tokenize};

use crate::Settings;

/// The table holding each backfill's progress, in the tracking schema.
pub const BACKFILL_TABLE: &str = "__strata_backfills";

/// What a backfill does: the user's SQL, run on every row of the table in
/// key ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// The table (`users`, `public.users`, `"Odd"."Name"`), found through
    /// the `search_path` like in SQL.
    pub table: String,
    /// The `SET` list of the `UPDATE`: `email_lower = lower(email)`.
    pub set: String,
    /// An optional condition for the rows to change: `email_lower IS NULL`.
    pub filter: Option<String>,
}

/// Whether to continue a backfill that has progress recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Start {
    /// Continue after the last recorded key (the default).
    #[default]
    Resume,
    /// Forget the recorded progress and start from the first key.
    Restart,
}

/// How to run the batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillOptions {
    /// Keys per batch.
    pub batch_size: u64,
    /// Pause between batches (the throttle).
    pub pause: Duration,
    /// `lock_timeout` of each batch (zero: none).
    pub lock_timeout: Duration,
    /// `statement_timeout` of each batch (zero: none).
    pub statement_timeout: Duration,
    /// How often a batch is retried after a lock timeout or deadlock.
    pub retries: u32,
    /// Resume or restart.
    pub start: Start,
}

impl Default for BackfillOptions {
    fn default() -> BackfillOptions {
        BackfillOptions {
            batch_size: 10_000,
            pause: Duration::from_millis(0),
            lock_timeout: Duration::from_secs(1),
            statement_timeout: Duration::from_secs(30),
            retries: 5,
            start: Start::Resume,
        }
    }
}

/// What a run of [`backfill`] reports while it works.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Progress {
    /// The walk begins (or resumes).
    Started {
        /// The table, qualified and quoted.
        table: String,
        /// The key's columns.
        key: Vec<String>,
        /// Keys walked by earlier runs.
        resumed_at: u64,
        /// The planner's estimate of the table's rows.
        estimate: u64,
    },
    /// A batch committed.
    Batch(Batch),
    /// A batch could not get its locks (or deadlocked) and is retried.
    Retry {
        /// 1-based attempt that failed.
        attempt: u32,
        /// The wait before the next attempt.
        wait: Duration,
        /// What the server said.
        reason: String,
    },
}

/// One committed batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// 1-based number over all runs.
    pub number: u64,
    /// Keys walked in this batch.
    pub scanned: u64,
    /// Rows the `UPDATE` changed in this batch.
    pub updated: u64,
    /// Keys walked over all runs so far.
    pub done: u64,
    /// The planner's estimate of the table's rows.
    pub estimate: u64,
    /// The batch's last key, each column as text.
    pub last_key: Vec<String>,
    /// How long the batch's transaction took.
    pub elapsed: Duration,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// This run walked to the end.
    Finished,
    /// An earlier run had finished it: nothing was done.
    AlreadyFinished,
}

/// The result of [`backfill`].
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillReport {
    /// The backfill's name.
    pub name: String,
    /// The table, qualified and quoted.
    pub table: String,
    /// The key's columns.
    pub key: Vec<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Keys walked by earlier runs, before this one.
    pub resumed_at: u64,
    /// Keys walked over all runs.
    pub scanned: u64,
    /// Rows changed over all runs.
    pub updated: u64,
    /// Batches committed by this run.
    pub batches: u64,
    /// Keys walked by this run.
    pub run_scanned: u64,
    /// Batches retried after a lock timeout or deadlock in this run.
    pub retries: u64,
    /// The slowest batch of this run.
    pub slowest_batch: Duration,
    /// How long this run took.
    pub elapsed: Duration,
}

/// Why a backfill stopped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum BackfillError {
    /// Talking to PostgreSQL (the batches committed so far are kept).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Postgres(#[from] PgError),
    /// The table does not exist.
    #[error("table `{table}` does not exist")]
    #[diagnostic(
        code(strata::backfill::no_table),
        help("name it as in SQL (`users`, `app.users`); it is looked up through the search_path")
    )]
    NoTable {
        /// The name given.
        table: String,
    },
    /// No key to walk the table by.
    #[error(
        "table `{table}` has no primary key or unique index over NOT NULL columns to walk it by"
    )]
    #[diagnostic(
        code(strata::backfill::no_key),
        help(
            "add a primary key (or a unique index over NOT NULL columns), e.g. `ALTER TABLE {table} ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY`, then backfill"
        )
    )]
    NoKey {
        /// The table.
        table: String,
    },
    /// Neither a definition nor recorded progress.
    #[error("backfill `{name}` has not run before: give its table and SET list")]
    #[diagnostic(
        code(strata::backfill::unknown),
        help(
            "strata backfill {name} --table TABLE --set \"column = expression\" [--where CONDITION]"
        )
    )]
    Unknown {
        /// The backfill.
        name: String,
    },
    /// The definition differs from the one recorded for this name.
    #[error(
        "backfill `{name}` was started with another definition ({recorded}); it is not continued with this one"
    )]
    #[diagnostic(
        code(strata::refused::backfill_changed),
        help(
            "run it as it was started (or give only its name to continue it), choose a new name, or pass --restart to start over from the first row (rows already changed are changed again)"
        )
    )]
    Changed {
        /// The backfill.
        name: String,
        /// What was recorded, in words.
        recorded: String,
    },
    /// Another process runs the same backfill.
    #[error("backfill `{name}` is running in another session")]
    #[diagnostic(
        code(strata::backfill::running),
        help("wait for it to finish, or stop it; a stopped backfill continues where it left off")
    )]
    Running {
        /// The backfill.
        name: String,
    },
    /// The user's SQL is not a single expression.
    #[error("the {part} `{text}` is not a single SQL expression: {reason}")]
    #[diagnostic(
        code(strata::backfill::expression),
        help(
            "--set takes the SET list of an UPDATE (`a = lower(b), c = 0`) and --where a condition; no `;`, no parameters"
        )
    )]
    Expression {
        /// `--set` or `--where`.
        part: &'static str,
        /// The text.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// The `UPDATE` does not prepare (a syntax error, a missing column).
    #[error("the backfill's UPDATE is not valid: {error}\n  {sql}")]
    #[diagnostic(code(strata::backfill::invalid))]
    Invalid {
        /// The statement.
        sql: String,
        /// What the server said.
        error: PgError,
        /// What to do.
        #[help]
        help: Option<String>,
    },
    /// A batch failed; the batches before it are kept.
    #[error("batch {number} of backfill `{name}` failed after {attempts} attempt(s): {error}")]
    #[diagnostic(code(strata::backfill::batch))]
    Batch {
        /// The backfill.
        name: String,
        /// 1-based number of the batch.
        number: u64,
        /// Attempts made.
        attempts: u32,
        /// Keys walked before it (kept).
        done: u64,
        /// What the server said.
        error: PgError,
        /// What to do.
        #[help]
        help: Option<String>,
    },
    /// The recorded progress row cannot be read.
    #[error("the progress of backfill `{name}` in {table} is unreadable: {reason}")]
    #[diagnostic(
        code(strata::backfill::state),
        help("start it over with --restart, or delete its row from that table")
    )]
    State {
        /// The backfill.
        name: String,
        /// The progress table.
        table: String,
        /// What is wrong.
        reason: String,
    },
}

/// The table and key resolved in the database.
struct Target {
    /// `schema.table`, quoted.
    table: String,
    /// Key columns, unquoted.
    columns: Vec<String>,
    /// Their types as `format_type` prints them (valid SQL).
    types: Vec<String>,
}

impl Target {
    /// `("a", "b")`.
    fn row(&self) -> String {
        let cols: Vec<String> = self.columns.iter().map(|c| quote_ident(c)).collect();
        format!("({})", cols.join(", "))
    }

    /// `($n::text::type, …)` from parameter `first`.
    fn params(&self, first: usize) -> String {
        let params: Vec<String> = self
            .types
            .iter()
            .enumerate()
            .map(|(i, t)| format!("${}::text::{t}", first + i))
            .collect();
        format!("({})", params.join(", "))
    }

    /// The key range after `lower` (when given) up to `upper`, parameters
    /// numbered from `first`.
    fn range(&self, with_lower: bool, first: usize) -> String {
        let row = self.row();
        let n = self.columns.len();
        if with_lower {
            format!(
                "{row} > {} AND {row} <= {}",
                self.params(first),
                self.params(first + n)
            )
        } else {
            format!("{row} <= {}", self.params(first))
        }
    }
}

/// The recorded progress of a backfill.
struct State {
    hash: String,
    definition: Definition,
    upper: Option<Vec<String>>,
    last: Option<Vec<String>>,
    scanned: u64,
    updated: u64,
    batches: u64,
    finished: bool,
}

/// Runs (or continues) the backfill `name`. With `definition` `None` the
/// recorded one is used; given, it must match the recorded one unless
/// [`Start::Restart`].
///
/// # Errors
/// See [`BackfillError`]; whatever the error, the batches committed before
/// it are kept and a new run continues after them.
///
/// # Locking
/// A session advisory lock per name keeps two runs of one backfill apart;
/// each batch locks at most `batch_size` rows, briefly.
pub fn backfill(
    settings: &Settings,
    conn: &mut Connection,
    name: &str,
    definition: Option<&Definition>,
    options: &BackfillOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<BackfillReport, BackfillError> {
    let started = Instant::now();
    // Keys travel as text between runs: print dates and times one way.
    conn.execute("SET datestyle = 'ISO, MDY'; SET intervalstyle = 'postgres'")?;
    let state_table = ensure_state_table(settings, conn)?;
    let locked = conn.query_params(
        "SELECT pg_try_advisory_lock(hashtext('strata backfill'), hashtext($1))::text",
        &[Some(name)],
    )?;
    if first_value(&locked.rows).as_deref() != Some("true") {
        return Err(BackfillError::Running {
            name: name.to_owned(),
        });
    }
    let result = run(
        conn,
        &state_table,
        name,
        definition,
        options,
        progress,
        started,
    );
    // The lock goes with the session too; release it for library callers
    // that keep the connection.
    let _ = conn.query_params(
        "SELECT pg_advisory_unlock(hashtext('strata backfill'), hashtext($1))::text",
        &[Some(name)],
    );
    result
}

fn ensure_state_table(settings: &Settings, conn: &mut Connection) -> Result<String, PgError> {
    let schema = &settings.tracking.schema;
    let table = quote_qualified(schema, BACKFILL_TABLE);
    conn.execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema_q};
         CREATE TABLE IF NOT EXISTS {table} (
           name text PRIMARY KEY,
           table_name text NOT NULL,
           set_sql text NOT NULL,
           where_sql text,
           key_columns text NOT NULL,
           hash text NOT NULL,
           upper_key text,
           last_key text,
           rows_scanned bigint NOT NULL DEFAULT 0,
           rows_updated bigint NOT NULL DEFAULT 0,
           batches bigint NOT NULL DEFAULT 0,
           started_at timestamptz NOT NULL DEFAULT now(),
           updated_at timestamptz NOT NULL DEFAULT now(),
           finished_at timestamptz
         )",
        schema_q = quote_ident(schema)
    ))?;
    Ok(table)
}

#[expect(
    clippy::too_many_lines,
    reason = "one walk, read top to bottom: state, then batches"
)]
fn run(
    conn: &mut Connection,
    state_table: &str,
    name: &str,
    definition: Option<&Definition>,
    options: &BackfillOptions,
    progress: &mut dyn FnMut(&Progress),
    started: Instant,
) -> Result<BackfillReport, BackfillError> {
    let recorded = read_state(conn, state_table, name)?;
    let definition = match (definition, &recorded) {
        (Some(d), _) => d.clone(),
        (None, Some(state)) => state.definition.clone(),
        (None, None) => {
            return Err(BackfillError::Unknown {
                name: name.to_owned(),
            });
        }
    };
    check_expression("--set", &definition.set)?;
    if let Some(filter) = &definition.filter {
        check_expression("--where", filter)?;
    }
    let target = resolve_table(conn, &definition.table)?;
    let hash = definition_hash(&target, &definition);
    let update_sql = update_statement(&target, &definition);
    validate_update(conn, &update_sql)?;

    let state = match recorded {
        Some(state) if state.hash == hash && options.start == Start::Resume => state,
        Some(state) if options.start == Start::Resume => {
            return Err(BackfillError::Changed {
                name: name.to_owned(),
                recorded: describe(&state.definition),
            });
        }
        _ => start_state(conn, state_table, name, &target, &definition, &hash)?,
    };
    let mut report = BackfillReport {
        name: name.to_owned(),
        table: target.table.clone(),
        key: target.columns.clone(),
        outcome: Outcome::Finished,
        resumed_at: state.scanned,
        scanned: state.scanned,
        updated: state.updated,
        batches: 0,
        run_scanned: 0,
        retries: 0,
        slowest_batch: Duration::ZERO,
        elapsed: Duration::ZERO,
    };
    if state.finished {
        report.outcome = Outcome::AlreadyFinished;
        report.elapsed = started.elapsed();
        return Ok(report);
    }
    let estimate = estimate_rows(conn, &target.table)?;
    progress(&Progress::Started {
        table: target.table.clone(),
        key: target.columns.clone(),
        resumed_at: state.scanned,
        estimate,
    });
    let mut last = state.last;
    let mut number = state.batches;
    if let Some(upper) = state.upper {
        let bound_sql = |with_lower: bool| {
            let cols: Vec<String> = target
                .columns
                .iter()
                .map(|c| format!("{}::text", quote_ident(c)))
                .collect();
            let order: Vec<String> = target.columns.iter().map(|c| quote_ident(c)).collect();
            // Qualified: a bare name in the outer ORDER BY would mean the
            // text output column of the same name, sorted as text.
            let desc: Vec<String> = order.iter().map(|c| format!("batch.{c} DESC")).collect();
            format!(
                "SELECT {cols}, count(*) OVER ()::text FROM (SELECT {order} FROM {table} WHERE {range} ORDER BY {order} LIMIT {limit}) batch ORDER BY {desc} LIMIT 1",
                cols = cols.join(", "),
                order = order.join(", "),
                desc = desc.join(", "),
                table = target.table,
                range = target.range(with_lower, 1),
                limit = options.batch_size.max(1),
            )
        };
        let n = target.columns.len();
        let progress_sql = format!(
            "UPDATE {state_table} SET last_key = $2, rows_scanned = rows_scanned + $3::text::bigint, rows_updated = rows_updated + $4::text::bigint, batches = batches + 1, updated_at = now() WHERE name = $1"
        );
        let begin = format!(
            "BEGIN; SET LOCAL lock_timeout = '{}ms'; SET LOCAL statement_timeout = '{}ms'",
            options.lock_timeout.as_millis(),
            options.statement_timeout.as_millis()
        );
        loop {
            let mut attempt = 0;
            let batch = loop {
                attempt += 1;
                let batch_started = Instant::now();
                let result = (|| -> Result<Option<(Vec<String>, u64, u64)>, PgError> {
                    conn.execute(&begin)?;
                    let mut params: Vec<Option<&str>> = Vec::with_capacity(2 * n);
                    if let Some(last) = &last {
                        params.extend(last.iter().map(|v| Some(v.as_str())));
                    }
                    params.extend(upper.iter().map(|v| Some(v.as_str())));
                    let bound = conn.query_params(&bound_sql(last.is_some()), &params)?;
                    let Some(row) = bound.rows.into_iter().next() else {
                        return Ok(None);
                    };
                    let mut values: Vec<String> = Vec::with_capacity(n + 1);
                    for value in row {
                        values.push(value.ok_or_else(|| {
                            PgError::Catalog("a key column of the batch is NULL".to_owned())
                        })?);
                    }
                    let scanned: u64 = values
                        .pop()
                        .and_then(|c| c.parse().ok())
                        .expect("count(*) prints a number");
                    let end = values;
                    let mut params: Vec<&str> = Vec::with_capacity(2 * n);
                    if let Some(last) = &last {
                        params.extend(last.iter().map(String::as_str));
                    }
                    params.extend(end.iter().map(String::as_str));
                    let sql = if last.is_some() {
                        &update_sql.with_lower
                    } else {
                        &update_sql.first
                    };
                    let updated = conn.execute_params(sql, &params)?;
                    let last_json = serde_json::to_string(&end).expect("strings serialize");
                    conn.execute_params(
                        &progress_sql,
                        &[name, &last_json, &scanned.to_string(), &updated.to_string()],
                    )?;
                    conn.execute("COMMIT")?;
                    Ok(Some((end, scanned, updated)))
                })();
                match result {
                    Ok(batch) => break batch.map(|b| (b, batch_started.elapsed())),
                    Err(error) => {
                        let _ = conn.execute("ROLLBACK");
                        let code = error.database_error().map(|e| e.code.clone());
                        let transient =
                            matches!(code.as_deref(), Some("55P03" | "40P01" | "40001"));
                        if transient && attempt <= options.retries && !conn.is_closed() {
                            let wait = backoff(options, attempt);
                            progress(&Progress::Retry {
                                attempt,
                                wait,
                                reason: error.to_string(),
                            });
                            report.retries += 1;
                            std::thread::sleep(wait);
                            continue;
                        }
                        let help = match code.as_deref() {
                            Some("57014") => Some(
                                "a batch ran into the statement timeout: lower --batch-size or raise --statement-timeout; run it again to continue".to_owned(),
                            ),
                            Some("55P03" | "40P01") => Some(
                                "other sessions kept the rows locked: run it again later to continue, raise --lock-timeout or --retries, or lower --batch-size".to_owned(),
                            ),
                            _ => Some(format!(
                                "the batches before it are kept: run `strata backfill {name}` again to continue"
                            )),
                        };
                        return Err(BackfillError::Batch {
                            name: name.to_owned(),
                            number: number + 1,
                            attempts: attempt,
                            done: report.scanned,
                            error,
                            help,
                        });
                    }
                }
            };
            let Some(((end, scanned, updated), elapsed)) = batch else {
                break;
            };
            number += 1;
            report.batches += 1;
            report.run_scanned += scanned;
            report.scanned += scanned;
            report.updated += updated;
            report.slowest_batch = report.slowest_batch.max(elapsed);
            let at_end = end == upper;
            progress(&Progress::Batch(Batch {
                number,
                scanned,
                updated,
                done: report.scanned,
                estimate,
                last_key: end.clone(),
                elapsed,
            }));
            last = Some(end);
            if at_end || scanned < options.batch_size {
                break;
            }
            if !options.pause.is_zero() {
                std::thread::sleep(options.pause);
            }
        }
    }
    conn.execute_params(
        &format!(
            "UPDATE {state_table} SET finished_at = now(), updated_at = now() WHERE name = $1"
        ),
        &[name],
    )?;
    report.elapsed = started.elapsed();
    Ok(report)
}

fn backoff(options: &BackfillOptions, attempt: u32) -> Duration {
    let base = options.lock_timeout.max(Duration::from_millis(50));
    (base * 2u32.saturating_pow(attempt.saturating_sub(1).min(6))).min(Duration::from_secs(30))
}

fn first_value(rows: &[Vec<Option<String>>]) -> Option<String> {
    rows.first().and_then(|r| r.first().cloned().flatten())
}

/// The definition in words, for messages.
fn describe(definition: &Definition) -> String {
    let mut text = format!("UPDATE {} SET {}", definition.table, definition.set);
    if let Some(filter) = &definition.filter {
        text.push_str(" WHERE ");
        text.push_str(filter);
    }
    text
}

/// Refuses text that could end the statement or step out of the
/// parentheses it is put in: a `;`, unbalanced parentheses, parameters,
/// an unterminated string. The server's parser checks the rest.
fn check_expression(part: &'static str, text: &str) -> Result<(), BackfillError> {
    let error = |reason: &str| BackfillError::Expression {
        part,
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let tokens = tokenize(text).map_err(|e| error(&e.to_string()))?;
    let mut depth: i64 = 0;
    let mut empty = true;
    for token in &tokens {
        match token.kind {
            TokenKind::Semicolon => return Err(error("it holds a `;`")),
            TokenKind::Param => return Err(error("it holds a parameter")),
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => {
                depth -= 1;
                if depth < 0 {
                    return Err(error("a `)` closes more than it opened"));
                }
            }
            TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment => continue,
            _ => {}
        }
        empty = false;
    }
    if empty {
        return Err(error("it is empty"));
    }
    if depth != 0 {
        return Err(error("a `(` is not closed"));
    }
    Ok(())
}

fn resolve_table(conn: &mut Connection, table: &str) -> Result<Target, BackfillError> {
    let found = conn.query_params(
        "SELECT n.nspname::text, c.relname::text, c.oid::text
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')",
        &[Some(table)],
    );
    let found = match found {
        Ok(rows) => rows,
        // `to_regclass` still raises on text that is not a name at all.
        Err(PgError::Database { .. }) => {
            return Err(BackfillError::NoTable {
                table: table.to_owned(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let Some([Some(schema), Some(relname), Some(oid)]) = found
        .rows
        .into_iter()
        .next()
        .and_then(|r| <[_; 3]>::try_from(r).ok())
    else {
        return Err(BackfillError::NoTable {
            table: table.to_owned(),
        });
    };
    let qualified = quote_qualified(&schema, &relname);
    // The primary key, else the unique index over the fewest NOT NULL
    // columns (no expressions, no predicate).
    let keys = conn.query_params(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
         FROM (
           SELECT i.indexrelid, i.indkey
           FROM pg_index i
           WHERE i.indrelid = $1::text::oid AND i.indisunique AND i.indisvalid
             AND i.indpred IS NULL AND i.indexprs IS NULL
             AND NOT EXISTS (
               SELECT FROM pg_attribute na
               WHERE na.attrelid = i.indrelid AND na.attnum = ANY (i.indkey) AND NOT na.attnotnull)
           ORDER BY i.indisprimary DESC, i.indnkeyatts, i.indexrelid::regclass::text
           LIMIT 1
         ) k
         CROSS JOIN LATERAL unnest(k.indkey::int2[]) WITH ORDINALITY AS u(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = $1::text::oid AND a.attnum = u.attnum
         JOIN pg_index ix ON ix.indexrelid = k.indexrelid
         WHERE u.ord <= ix.indnkeyatts
         ORDER BY u.ord",
        &[Some(&oid)],
    )?;
    let mut columns = Vec::new();
    let mut types = Vec::new();
    for row in keys.rows {
        let [Some(column), Some(ty)] = <[_; 2]>::try_from(row).map_err(|_| {
            PgError::Catalog("key column query returned an unexpected row".to_owned())
        })?
        else {
            return Err(PgError::Catalog("a key column without a name or type".to_owned()).into());
        };
        columns.push(column);
        types.push(ty);
    }
    if columns.is_empty() {
        return Err(BackfillError::NoKey { table: qualified });
    }
    Ok(Target {
        table: qualified,
        columns,
        types,
    })
}

fn definition_hash(target: &Target, definition: &Definition) -> String {
    use std::fmt::Write as _;
    let mut hasher = Sha256::new();
    for part in [
        target.table.as_str(),
        &target.columns.join("\u{1f}"),
        definition.set.trim(),
        definition.filter.as_deref().map_or("", str::trim),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The batch's `UPDATE`, for the first batch and for the ones after it.
struct UpdateSql {
    first: String,
    with_lower: String,
}

fn update_statement(target: &Target, definition: &Definition) -> UpdateSql {
    // User text ends with a newline so that a trailing `--` comment cannot
    // swallow what follows.
    let filter = definition
        .filter
        .as_deref()
        .map(|f| format!(" AND ({f}\n)"))
        .unwrap_or_default();
    let make = |with_lower| {
        format!(
            "UPDATE {table} SET {set}\n WHERE {range}{filter}",
            table = target.table,
            set = definition.set,
            range = target.range(with_lower, 1),
        )
    };
    UpdateSql {
        first: make(false),
        with_lower: make(true),
    }
}

/// Prepares the `UPDATE` without running it: a syntax error or a missing
/// column is reported before the first batch.
fn validate_update(conn: &mut Connection, update: &UpdateSql) -> Result<(), BackfillError> {
    conn.describe(&update.with_lower)
        .map_err(|error| BackfillError::Invalid {
            sql: update.with_lower.clone(),
            help: error
                .database_error()
                .and_then(|e| e.hint.clone())
                .or_else(|| Some("check the --set and --where SQL against the table".to_owned())),
            error,
        })?;
    Ok(())
}

/// The table's rows as of its last analyze, else the planner's estimate
/// from its size (which dead rows inflate). Cheap either way: no scan.
fn estimate_rows(conn: &mut Connection, table: &str) -> Result<u64, PgError> {
    let analyzed = conn.query_text(&format!(
        "SELECT reltuples::bigint::text FROM pg_class WHERE oid = {}::regclass",
        strata_syntax::quote_literal(table)
    ))?;
    if let Some(rows) = first_value(&analyzed).and_then(|r| r.parse::<u64>().ok())
        && rows > 0
    {
        return Ok(rows);
    }
    let rows = conn.query_text(&format!("EXPLAIN (FORMAT JSON) SELECT 1 FROM {table}"))?;
    let plan = first_value(&rows).unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(&plan).unwrap_or_default();
    Ok(value[0]["Plan"]["Plan Rows"].as_f64().map_or(0, |r| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "an estimate, non-negative and far below u64::MAX"
        )]
        let rows = r.max(0.0) as u64;
        rows
    }))
}

fn read_state(
    conn: &mut Connection,
    state_table: &str,
    name: &str,
) -> Result<Option<State>, BackfillError> {
    let rows = conn.query_params(
        &format!(
            "SELECT hash, table_name, set_sql, where_sql, upper_key, last_key, rows_scanned::text, rows_updated::text, batches::text, (finished_at IS NOT NULL)::text
             FROM {state_table} WHERE name = $1"
        ),
        &[Some(name)],
    )?;
    let Some(row) = rows.rows.into_iter().next() else {
        return Ok(None);
    };
    let bad = |reason: &str| BackfillError::State {
        name: name.to_owned(),
        table: state_table.to_owned(),
        reason: reason.to_owned(),
    };
    let key = |text: &Option<String>| -> Result<Option<Vec<String>>, BackfillError> {
        text.as_deref()
            .map(|t| serde_json::from_str(t).map_err(|e| bad(&format!("a key is not JSON: {e}"))))
            .transpose()
    };
    let number = |text: &Option<String>| -> Result<u64, BackfillError> {
        text.as_deref()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| bad("a counter is not a number"))
    };
    let text = |i: usize| {
        row[i]
            .clone()
            .ok_or_else(|| bad("a required value is NULL"))
    };
    Ok(Some(State {
        hash: text(0)?,
        definition: Definition {
            table: text(1)?,
            set: text(2)?,
            filter: row[3].clone(),
        },
        upper: key(&row[4])?,
        last: key(&row[5])?,
        scanned: number(&row[6])?,
        updated: number(&row[7])?,
        batches: number(&row[8])?,
        finished: row[9].as_deref() == Some("true"),
    }))
}

/// Records a new start: the largest key now is where the walk ends.
fn start_state(
    conn: &mut Connection,
    state_table: &str,
    name: &str,
    target: &Target,
    definition: &Definition,
    hash: &str,
) -> Result<State, BackfillError> {
    let cols: Vec<String> = target
        .columns
        .iter()
        .map(|c| format!("{}::text", quote_ident(c)))
        .collect();
    let desc: Vec<String> = target
        .columns
        .iter()
        .map(|c| format!("s.{} DESC", quote_ident(c)))
        .collect();
    let max = conn.query_text(&format!(
        "SELECT {} FROM {} AS s ORDER BY {} LIMIT 1",
        cols.join(", "),
        target.table,
        desc.join(", ")
    ))?;
    let upper: Option<Vec<String>> = match max.into_iter().next() {
        None => None,
        Some(row) => Some(
            row.into_iter()
                .map(|v| v.ok_or_else(|| PgError::Catalog("a key column is NULL".to_owned())))
                .collect::<Result<_, _>>()?,
        ),
    };
    let upper_json = upper
        .as_ref()
        .map(|u| serde_json::to_string(u).expect("strings serialize"));
    let key_json = serde_json::to_string(&target.columns).expect("strings serialize");
    conn.query_params(
        &format!(
            "INSERT INTO {state_table} AS s (name, table_name, set_sql, where_sql, key_columns, hash, upper_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (name) DO UPDATE SET table_name = excluded.table_name, set_sql = excluded.set_sql,
               where_sql = excluded.where_sql, key_columns = excluded.key_columns, hash = excluded.hash,
               upper_key = excluded.upper_key, last_key = NULL, rows_scanned = 0, rows_updated = 0,
               batches = 0, started_at = now(), updated_at = now(), finished_at = NULL
             RETURNING s.name::text"
        ),
        &[
            Some(name),
            Some(&definition.table),
            Some(&definition.set),
            definition.filter.as_deref(),
            Some(&key_json),
            Some(hash),
            upper_json.as_deref(),
        ],
    )?;
    Ok(State {
        hash: hash.to_owned(),
        definition: definition.clone(),
        finished: false,
        upper,
        last: None,
        scanned: 0,
        updated: 0,
        batches: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_that_could_escape_are_refused() {
        for bad in [
            "a = 1; DROP TABLE users",
            "a = 1)",
            "a = (1",
            "a = $1",
            "  ",
            "a = 'x",
        ] {
            assert!(check_expression("--set", bad).is_err(), "{bad}");
        }
        for good in [
            "a = lower(b)",
            "a = replace(b, ';', ',')",
            "a = 1 -- note",
            "a = (b + 1), c = $$x;y$$",
        ] {
            check_expression("--set", good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
    }

    #[test]
    fn key_ranges_compare_rows() {
        let target = Target {
            table: "public.t".to_owned(),
            columns: vec!["a".to_owned(), "Order".to_owned()],
            types: vec!["integer".to_owned(), "text".to_owned()],
        };
        assert_eq!(
            target.range(true, 1),
            r#"(a, "Order") > ($1::text::integer, $2::text::text) AND (a, "Order") <= ($3::text::integer, $4::text::text)"#
        );
        assert_eq!(
            target.range(false, 1),
            r#"(a, "Order") <= ($1::text::integer, $2::text::text)"#
        );
    }
}
