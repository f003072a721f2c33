//! `strata push`.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::json;
use strata::Settings;
use strata::desired::{CachePolicy, DesiredSource};
use strata::push::{PushOptions, PushPlan, apply_push, plan_push};
use strata_diff::{NoRenames, RenameRequest, RenameResolver};
use strata_postgres::Connection;

use crate::EXIT_REFUSED;
use crate::args::{GlobalArgs, PushArgs};
use crate::output::{Output, Paint};
use crate::prompt::{TerminalRenames, confirm};

pub(crate) fn run(
    settings: &Settings,
    global: &GlobalArgs,
    args: &PushArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let renames = args
        .rename
        .iter()
        .map(|r| RenameRequest::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    let options = PushOptions {
        renames,
        cache: if args.refresh {
            CachePolicy::Refresh
        } else {
            CachePolicy::Use
        },
        online: args.online,
    };
    // Check the schema files before touching the database.
    let files = strata::desired::read_schema_files(settings)?;
    let mut conn = Connection::connect(&settings.database)?;
    let mut terminal = TerminalRenames;
    let mut none = NoRenames;
    let resolver: &mut dyn RenameResolver = if out.interactive {
        &mut terminal
    } else {
        &mut none
    };
    let plan = plan_push(settings, &mut conn, &files, &options, resolver, out)?;
    if out.verbose {
        let source = match &plan.desired_source {
            DesiredSource::Cache => "the cache (schema files unchanged)".to_owned(),
            DesiredSource::Scratch {
                place,
                statements,
                elapsed,
            } => {
                format!(
                    "{statements} statements loaded into {place} in {:.2} s",
                    elapsed.as_secs_f64()
                )
            }
        };
        out.status(&format!("desired state from {source}"));
    }
    report_unmanaged(&plan, out);

    if global.json {
        return json_flow(&mut conn, &plan, args, out);
    }
    if args.dry_run {
        print_script(&plan, out);
        return Ok(ExitCode::SUCCESS);
    }
    if plan.is_empty() {
        out.out("No changes: the database matches the schema files.");
        return Ok(ExitCode::SUCCESS);
    }
    print_plan(&plan, out);
    let losses: Vec<_> = plan.data_loss().collect();
    if out.interactive {
        if !losses.is_empty() {
            let warning = out.paint("This plan destroys data.", Paint::Red);
            out.out(&format!("\n{warning} Take a backup if you may need it."));
        }
        let question = format!(
            "Apply {} statement{} to {}?",
            plan.statements.len(),
            plural(plan.statements.len()),
            plan.target
        );
        if !confirm(&question).unwrap_or(false) {
            out.out("Nothing applied.");
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
    } else if !losses.is_empty() && !args.accept_data_loss {
        hint_renames(&plan, out);
        return Err(strata::Error::DataLossRefused {
            count: losses.len(),
            statements: losses
                .iter()
                .map(|s| first_line(&s.sql))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    let report = apply_push(&mut conn, &plan, out)?;
    let done = out.paint("Applied", Paint::Green);
    out.out(&format!(
        "{done} {} statement{} in {} transaction{} ({:.2} s).",
        report.statements,
        plural(report.statements),
        report.transactions,
        plural(report.transactions),
        report.elapsed.as_secs_f64()
    ));
    out.out(&summary(&plan));
    Ok(ExitCode::SUCCESS)
}

/// What the managed schemas hold now: `8 tables (…), 4 enums, … in public`.
pub(crate) fn summary(plan: &PushPlan) -> String {
    let catalog = &plan.desired;
    let counts = catalog.counts();
    let mut parts = vec![format!(
        "{} table{} ({} columns, {} foreign keys, {} indexes)",
        counts.tables,
        plural(counts.tables),
        counts.columns,
        counts.foreign_keys,
        counts.indexes
    )];
    let triggers: usize = catalog.tables.values().map(|t| t.triggers.len()).sum();
    let policies: usize = catalog.tables.values().map(|t| t.policies.len()).sum();
    for (n, what) in [
        (counts.enums, "enum"),
        (catalog.domains.len(), "domain"),
        (counts.sequences, "sequence"),
        (catalog.views.len(), "view"),
        (catalog.functions.len(), "function"),
        (triggers, "trigger"),
        (policies, "policy"),
        (counts.extensions, "extension"),
    ] {
        if n > 0 {
            let noun = if n == 1 {
                what.to_owned()
            } else if what == "policy" {
                "policies".to_owned()
            } else {
                format!("{what}s")
            };
            parts.push(format!("{n} {noun}"));
        }
    }
    let schemas: Vec<&str> = plan.scope.schemas.iter().map(String::as_str).collect();
    format!(
        "{} now has {} in {}.",
        plan.target,
        parts.join(", "),
        schemas.join(", ")
    )
}

fn json_flow(
    conn: &mut Connection,
    plan: &PushPlan,
    args: &PushArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let mut value = json!({
        "target": plan.target,
        "dry_run": args.dry_run,
        "applied": false,
        "statements": plan.statements,
        "transactions": plan.transactions,
        "phases": plan.phases,
        "unmanaged": plan.unmanaged,
        "unmanaged_missing": plan.unmanaged_missing,
        "possible_renames": plan.plan.possible_renames.iter().map(strata_diff::PossibleRename::flag).collect::<Vec<_>>(),
        "desired_source": plan.desired_source,
    });
    let print = |out: &mut Output, value: &serde_json::Value| {
        out.out(&serde_json::to_string_pretty(value).expect("JSON values serialize"));
    };
    if args.dry_run || plan.is_empty() {
        print(out, &value);
        return Ok(ExitCode::SUCCESS);
    }
    let losses = plan.data_loss().count();
    if losses > 0 && !args.accept_data_loss {
        value["refused"] = json!("data-loss");
        print(out, &value);
        return Err(strata::Error::DataLossRefused {
            count: losses,
            statements: plan
                .data_loss()
                .map(|s| first_line(&s.sql))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    let report = apply_push(conn, plan, out)?;
    value["applied"] = json!(true);
    value["elapsed_ms"] = json!(u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX));
    print(out, &value);
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub(crate) fn first_line(sql: &str) -> String {
    let line = sql.lines().next().unwrap_or_default();
    if sql.contains('\n') {
        format!("{} …", line.trim_end_matches(" ("))
    } else {
        line.to_owned()
    }
}

pub(crate) fn print_plan(plan: &PushPlan, out: &mut Output) {
    let title = out.paint(
        &format!(
            "Plan for {}: {} statement{}",
            plan.target,
            plan.statements.len(),
            plural(plan.statements.len())
        ),
        Paint::Bold,
    );
    out.out(&title);
    for (i, statement) in plan.statements.iter().enumerate() {
        if let Some(phase) = plan.phases.iter().find(|p| p.start == i) {
            let heading = crate::migrations::step_title(phase.kind);
            out.out(&out.paint(&format!("\n{heading}"), Paint::Bold));
        }
        out.statement(i + 1, statement);
    }
    if let Some((timeout, retries)) = plan.lock_timeout {
        out.out(&format!(
            "\nEvery transaction runs under lock_timeout = {} ms, tried again up to {retries} time(s) when a lock is not free.",
            timeout.as_millis()
        ));
    }
    // Phases of an online plan are transactions of their own by design;
    // otherwise only the lock table splits a plan.
    let transactions = plan.transactions.iter().filter(|b| b.transactional).count();
    if plan.phases.is_empty() && transactions > 1 {
        out.out(&format!(
            "\nThe plan runs in {transactions} transactions: the server's lock table (max_locks_per_transaction = {}) cannot hold it in one.",
            plan.server.max_locks_per_transaction
        ));
    }
}

/// `--dry-run`: the SQL only, as a script; hazards as comments.
pub(crate) fn print_script(plan: &PushPlan, out: &mut Output) {
    if plan.is_empty() {
        out.out("-- No changes: the database matches the schema files.");
        return;
    }
    for (i, statement) in plan.statements.iter().enumerate() {
        let mut text = String::new();
        if let Some(phase) = plan.phases.iter().find(|p| p.start == i) {
            let _ = writeln!(text, "-- {}", crate::migrations::step_title(phase.kind));
        }
        for hazard in &statement.hazards {
            let _ = writeln!(
                text,
                "-- {}[{}]: {}",
                hazard.severity.as_str(),
                hazard.id.as_str(),
                hazard.message
            );
        }
        text.push_str(&statement.sql);
        text.push(';');
        out.out(&text);
    }
}

pub(crate) fn report_unmanaged(plan: &PushPlan, out: &mut Output) {
    if !plan.unmanaged.is_empty() {
        let names: Vec<String> = plan.unmanaged.iter().map(ToString::to_string).collect();
        out.status(&format!(
            "note: not managed by strata yet, left as they are: {}",
            names.join(", ")
        ));
    }
    if !plan.unmanaged_missing.is_empty() {
        let names: Vec<String> = plan
            .unmanaged_missing
            .iter()
            .map(ToString::to_string)
            .collect();
        out.warning(&format!(
            "in the schema files but not managed by strata yet, so push does not create them: {}",
            names.join(", ")
        ));
    }
}

pub(crate) fn hint_renames(plan: &PushPlan, out: &mut Output) {
    for rename in &plan.plan.possible_renames {
        let what = match (&rename.column, &rename.from_table) {
            (Some((old, new)), _) => {
                format!("column {}.{old} disappears and {new} appears", rename.table)
            }
            (None, Some(old)) => format!("table {old} disappears and {} appears", rename.table),
            (None, None) => continue,
        };
        out.status(&format!(
            "note: {what}; if it was renamed, pass --rename {}",
            rename.flag()
        ));
    }
}
