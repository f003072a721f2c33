//! `strata backfill`: batched, resumable data migrations.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use miette::Diagnostic;
use serde_json::json;
use strata::Settings;
use strata::backfill::{
    BackfillError, BackfillOptions, BackfillReport, Definition, Outcome, Progress, Start,
};
use strata_postgres::Connection;

use crate::EXIT_REFUSED;
use crate::output::{Output, Paint};

#[derive(Debug, Args)]
pub(crate) struct BackfillArgs {
    /// The backfill's name: its progress is recorded under it, and the same name continues it
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
    /// The table to update [default: the one recorded for NAME]
    #[arg(long, value_name = "TABLE", requires = "set")]
    pub(crate) table: Option<String>,
    /// The SET list of the UPDATE: "email_lower = lower(email)" [default: the one recorded for NAME]
    #[arg(long, value_name = "SQL", requires = "table")]
    pub(crate) set: Option<String>,
    /// Change only the rows where this SQL condition holds
    #[arg(long = "where", value_name = "SQL", requires = "set")]
    pub(crate) filter: Option<String>,
    /// Rows per batch (one short transaction each)
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) batch_size: u64,
    /// Pause between batches, to leave room for the application (e.g. 50ms)
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = duration)]
    pub(crate) sleep: Duration,
    /// How long a batch may wait for row locks before it is rolled back and retried (0 = forever)
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration)]
    pub(crate) lock_timeout: Duration,
    /// How long a batch's statement may run (0 = forever)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    pub(crate) statement_timeout: Duration,
    /// How often to retry a batch after a lock timeout or deadlock
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub(crate) retries: u32,
    /// Forget the recorded progress of NAME and start again from the first row
    #[arg(long)]
    pub(crate) restart: bool,
}

fn duration(text: &str) -> Result<Duration, String> {
    Ok(strata::config::parse_duration(text)?.unwrap_or(Duration::ZERO))
}

pub(crate) fn run(
    settings: &Settings,
    args: &BackfillArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let definition = match (&args.table, &args.set) {
        (Some(table), Some(set)) => Some(Definition {
            table: table.clone(),
            set: set.clone(),
            filter: args.filter.clone(),
        }),
        _ => None,
    };
    let options = BackfillOptions {
        batch_size: args.batch_size,
        pause: args.sleep,
        lock_timeout: args.lock_timeout,
        statement_timeout: args.statement_timeout,
        retries: args.retries,
        start: if args.restart {
            Start::Restart
        } else {
            Start::Resume
        },
    };
    let mut conn = Connection::connect(&settings.database)?;
    let mut meter = Meter::new(&args.name);
    let result = strata::backfill::backfill(
        settings,
        &mut conn,
        &args.name,
        definition.as_ref(),
        &options,
        &mut |progress| meter.show(out, progress),
    );
    match result {
        Ok(report) => {
            summary(settings, out, &report);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            let refused = matches!(
                error,
                BackfillError::Changed { .. } | BackfillError::Running { .. }
            );
            let mut details = Vec::new();
            if let BackfillError::Batch { error: e, .. }
            | BackfillError::Invalid { error: e, .. }
            | BackfillError::Postgres(e) = &error
                && let Some(db) = e.database_error()
                && let Some(detail) = &db.detail
            {
                details.push(("detail", detail.clone()));
            }
            if let Some(help) = error.help() {
                details.push(("hint", help.to_string()));
            }
            out.error(&error.to_string(), &details);
            Ok(ExitCode::from(if refused { EXIT_REFUSED } else { 1 }))
        }
    }
}

/// Progress on stderr: a bar on a terminal; elsewhere a line every tenth
/// of the table or ten seconds (every batch with --verbose).
struct Meter {
    name: String,
    started: Instant,
    resumed_at: u64,
    last_line: Option<(Instant, u64)>,
}

impl Meter {
    fn new(name: &str) -> Meter {
        Meter {
            name: name.to_owned(),
            started: Instant::now(),
            resumed_at: 0,
            last_line: None,
        }
    }

    fn show(&mut self, out: &mut Output, progress: &Progress) {
        match progress {
            Progress::Started {
                table,
                key,
                resumed_at,
                estimate,
            } => {
                self.started = Instant::now();
                self.resumed_at = *resumed_at;
                if out.json && !out.verbose {
                    return;
                }
                let key = key.join(", ");
                let line = if *resumed_at > 0 {
                    format!(
                        "backfill {}: continuing on {table} after {resumed_at} rows (key {key}, about {estimate} rows in all)",
                        self.name
                    )
                } else {
                    format!(
                        "backfill {}: {table} by key ({key}), about {estimate} rows",
                        self.name
                    )
                };
                let line = out.paint_err(&line, Paint::Dim);
                out.status(&line);
            }
            Progress::Batch(batch) => {
                let run_rows = batch.done - self.resumed_at;
                let secs = self.started.elapsed().as_secs_f64();
                #[expect(clippy::cast_precision_loss, reason = "a rate for display only")]
                let rate = if secs > 0.0 {
                    run_rows as f64 / secs
                } else {
                    0.0
                };
                let total = batch.estimate.max(batch.done);
                let eta = if rate > 0.0 && total > batch.done {
                    #[expect(clippy::cast_precision_loss, reason = "display only")]
                    let left = (total - batch.done) as f64 / rate;
                    format!(", ETA {}", human_secs(left))
                } else {
                    String::new()
                };
                let stats = format!("{}/~{total} rows, {rate:.0} rows/s{eta}", batch.done);
                if out.bar_line(&bar(batch.done, total, &stats)) {
                    return;
                }
                if out.json && !out.verbose {
                    return;
                }
                let now = Instant::now();
                let due = out.verbose
                    || self.last_line.is_none_or(|(at, done)| {
                        now - at >= Duration::from_secs(10)
                            || (batch.done - done) * 10 >= total.max(1)
                    });
                if due {
                    self.last_line = Some((now, batch.done));
                    out.status(&format!(
                        "backfill {}: batch {} ({} rows, {} updated, {} ms), {stats}",
                        self.name,
                        batch.number,
                        batch.scanned,
                        batch.updated,
                        batch.elapsed.as_millis()
                    ));
                }
            }
            Progress::Retry {
                attempt,
                wait,
                reason,
            } => out.warning(&format!(
                "backfill {}: a batch was rolled back ({reason}); attempt {} in {} ms",
                self.name,
                attempt + 1,
                wait.as_millis()
            )),
            _ => {}
        }
    }
}

fn bar(done: u64, total: u64, stats: &str) -> String {
    let width = 30;
    let filled = usize::try_from(done.saturating_mul(30) / total.max(1))
        .unwrap_or(width)
        .min(width);
    format!(
        "[{}{}] {stats}",
        "=".repeat(filled),
        " ".repeat(width - filled)
    )
}

fn human_secs(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.0} s")
    } else if secs < 3600.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

fn summary(settings: &Settings, out: &mut Output, report: &BackfillReport) {
    let elapsed = report.elapsed.as_secs_f64();
    #[expect(clippy::cast_precision_loss, reason = "a rate for display only")]
    let rate = if elapsed > 0.0 {
        report.run_scanned as f64 / elapsed
    } else {
        0.0
    };
    if out.json {
        let value = json!({
            "target": settings.database.redacted(),
            "name": report.name,
            "table": report.table,
            "key": report.key,
            "outcome": match report.outcome {
                Outcome::Finished => "finished",
                Outcome::AlreadyFinished => "already-finished",
            },
            "resumed_at": report.resumed_at,
            "rows_scanned": report.scanned,
            "rows_updated": report.updated,
            "batches": report.batches,
            "run_rows": report.run_scanned,
            "retries": report.retries,
            "slowest_batch_ms": u64::try_from(report.slowest_batch.as_millis()).unwrap_or(u64::MAX),
            "elapsed_ms": u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
        });
        out.out(&serde_json::to_string_pretty(&value).expect("JSON values serialize"));
        return;
    }
    if report.outcome == Outcome::AlreadyFinished {
        out.out(&format!(
            "Backfill {} on {} is already finished ({} rows, {} changed); nothing to do (--restart runs it again).",
            report.name, report.table, report.scanned, report.updated
        ));
        return;
    }
    let done = out.paint("Backfilled", Paint::Green);
    let resumed = if report.resumed_at > 0 {
        format!(" (continued after {} rows)", report.resumed_at)
    } else {
        String::new()
    };
    out.out(&format!(
        "{done} {}: {} rows of {} walked, {} changed{resumed}; this run {} rows in {} batches, {elapsed:.2} s, {rate:.0} rows/s, slowest batch {} ms.",
        report.name,
        report.scanned,
        report.table,
        report.updated,
        report.run_scanned,
        report.batches,
        report.slowest_batch.as_millis()
    ));
}
