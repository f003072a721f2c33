//! The commands with `dialect = "sqlite"` (or a `sqlite:PATH` URL): push,
//! generate, migrate, status, rollback, mark-applied and drop, with the
//! flags and output of their PostgreSQL forms.

use std::process::ExitCode;

use serde_json::json;
use strata::Settings;
use strata::desired::{DesiredSource, read_schema_files};
use strata::migrate::{Folder, GenerateOptions, MigrateOptions, RollbackTarget};
use strata::push::{PushOptions, PushPlan};
use strata_diff::{NoRenames, RenameRequest, RenameResolver};
use strata_sqlite::Connection;

use crate::EXIT_REFUSED;
use crate::args::{Command, GenerateArgs, GlobalArgs, MigrateArgs, PushArgs, RollbackArgs};
use crate::output::{Output, Paint};
use crate::prompt::{TerminalRenames, confirm};
use crate::push::{
    first_line, hint_renames, plural, print_plan, print_script, report_unmanaged, summary,
};

/// Runs `command` on the SQLite database of `settings`.
pub(crate) fn run(
    settings: &Settings,
    global: &GlobalArgs,
    command: &Command,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    match command {
        Command::Push(args) => push(settings, global, args, out),
        Command::Generate(args) => generate(settings, global, args, out),
        Command::Migrate(args) => migrate(settings, global, args, out),
        Command::Status(args) => crate::migrations::status_command(settings, global, args, out),
        Command::Rollback(args) => rollback(settings, global, args, out),
        Command::MarkApplied { tag } => mark_applied(settings, global, tag, out),
        Command::Drop { tag } => drop(settings, global, tag.as_deref(), out),
        other => Err(strata::Error::SqliteCommand {
            command: command_name(other),
        }),
    }
}

/// `mark-applied` for `Command::MarkApplied { .. }`.
fn command_name(command: &Command) -> String {
    let debug = format!("{command:?}");
    let variant = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    let mut name = String::new();
    for c in variant.chars() {
        if c.is_ascii_uppercase() && !name.is_empty() {
            name.push('-');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

/// The SQLite database of the settings, opened (created when missing).
pub(crate) fn connect(settings: &Settings) -> Result<Connection, strata::Error> {
    let target = settings
        .sqlite
        .as_ref()
        .expect("the SQLite dialect comes with its database");
    Ok(Connection::open(target)?)
}

/// The SQLite database of the settings for a command that only reads it:
/// a missing file is not created (it reads as an empty database).
pub(crate) fn connect_to_read(settings: &Settings) -> Result<Connection, strata::Error> {
    let target = settings
        .sqlite
        .as_ref()
        .expect("the SQLite dialect comes with its database");
    Ok(Connection::open_or_empty(target)?)
}

fn folder(settings: &Settings) -> Result<Folder, strata::Error> {
    Ok(Folder::read(&settings.migrations_dir, &settings.root)?)
}

fn renames(flags: &[String]) -> Result<Vec<RenameRequest>, strata::Error> {
    Ok(flags
        .iter()
        .map(|r| RenameRequest::parse(r))
        .collect::<Result<Vec<_>, _>>()?)
}

fn push(
    settings: &Settings,
    global: &GlobalArgs,
    args: &PushArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    if args.online {
        return Err(strata::Error::SqliteCommand {
            command: "push --online".to_owned(),
        });
    }
    let options = PushOptions {
        renames: renames(&args.rename)?,
        ..PushOptions::default()
    };
    // Check the schema files before touching the database.
    let files = read_schema_files(settings)?;
    let mut conn = if args.dry_run {
        connect_to_read(settings)?
    } else {
        connect(settings)?
    };
    let mut terminal = TerminalRenames;
    let mut none = NoRenames;
    let resolver: &mut dyn RenameResolver = if out.interactive {
        &mut terminal
    } else {
        &mut none
    };
    let plan = strata::sqlite::plan_push(settings, &mut conn, &files, &options, resolver, out)?;
    if out.verbose
        && let DesiredSource::Scratch {
            place,
            statements,
            elapsed,
        } = &plan.desired_source
    {
        out.status(&format!(
            "desired state from {statements} statements loaded into {place} in {:.2} s",
            elapsed.as_secs_f64()
        ));
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
        return Err(refused(&plan));
    }
    let report = strata::sqlite::apply_push(&mut conn, &plan, out)?;
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

fn refused(plan: &PushPlan) -> strata::Error {
    strata::Error::DataLossRefused {
        count: plan.data_loss().count(),
        statements: plan
            .data_loss()
            .map(|s| first_line(&s.sql))
            .collect::<Vec<_>>()
            .join("; "),
    }
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
    if plan.data_loss().count() > 0 && !args.accept_data_loss {
        value["refused"] = json!("data-loss");
        print(out, &value);
        return Err(refused(plan));
    }
    let report = strata::sqlite::apply_push(conn, plan, out)?;
    value["applied"] = json!(true);
    value["elapsed_ms"] = json!(u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX));
    print(out, &value);
    Ok(ExitCode::SUCCESS)
}

fn generate(
    settings: &Settings,
    global: &GlobalArgs,
    args: &GenerateArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    if args.online {
        return Err(strata::Error::SqliteCommand {
            command: "generate --online".to_owned(),
        });
    }
    let files = read_schema_files(settings)?;
    let folder = folder(settings)?;
    let options = GenerateOptions {
        name: args.name.clone(),
        custom: args.custom,
        renames: renames(&args.rename)?,
        ..GenerateOptions::default()
    };
    let mut terminal = TerminalRenames;
    let mut none = NoRenames;
    let resolver: &mut dyn RenameResolver = if out.interactive {
        &mut terminal
    } else {
        &mut none
    };
    let generated = strata::sqlite::generate(settings, &folder, &files, &options, resolver, out)?;
    if generated.is_empty() {
        if global.json {
            out.out(&json!({"written": [], "statements": []}).to_string());
        } else {
            out.out("No changes: the migrations already produce what the schema files describe. Nothing written.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let losses = generated
        .statements
        .iter()
        .filter(|s| s.is_data_loss())
        .count();
    if !global.json && !generated.custom {
        let title = out.paint(
            &format!("Migration: {} statement(s)", generated.statements.len()),
            Paint::Bold,
        );
        out.out(&title);
        for (i, statement) in generated.statements.iter().enumerate() {
            out.statement(i + 1, statement);
        }
    }
    if losses > 0 && !args.accept_data_loss {
        if out.interactive {
            let warning = out.paint("This migration destroys data.", Paint::Red);
            out.out(&format!("\n{warning}"));
            if !confirm("Write it?").unwrap_or(false) {
                out.out("Nothing written.");
                return Ok(ExitCode::from(EXIT_REFUSED));
            }
        } else {
            return Err(strata::Error::DataLossRefused {
                count: losses,
                statements: generated
                    .statements
                    .iter()
                    .filter(|s| s.is_data_loss())
                    .map(|s| first_line(&s.sql))
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
    }
    let written = strata::sqlite::write_generated(&folder, &generated)?;
    let display = |p: &std::path::Path| strata::desired::display_path(&settings.root, p);
    if global.json {
        out.out(
            &serde_json::to_string_pretty(&json!({
                "written": written.iter().map(|p| display(p)).collect::<Vec<_>>(),
                "statements": generated.statements,
                "rollback": generated.rollback,
            }))
            .expect("JSON values serialize"),
        );
        return Ok(ExitCode::SUCCESS);
    }
    for path in &written {
        let shown = display(path);
        let rollback = shown.replacen(".sql", "_rollback.sql", 1);
        out.out(&format!("Wrote {shown} and {rollback}"));
    }
    if generated.custom {
        out.out(
            "Write the migration's SQL in it, and the SQL that undoes it in the rollback file.",
        );
    } else {
        let warnings = generated
            .statements
            .iter()
            .flat_map(|s| &s.hazards)
            .filter(|h| h.severity >= strata_sql::Severity::Warning)
            .count();
        out.out(&format!(
            "Safety: {losses} statement(s) destroy data, {warnings} hazard(s) worth a look. Review the file, then run `strata migrate`."
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn migrate(
    settings: &Settings,
    global: &GlobalArgs,
    args: &MigrateArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let folder = folder(settings)?;
    let options = MigrateOptions {
        to: args.to.clone(),
        allow_out_of_order: args.allow_out_of_order,
        accept_edited: args.accept_edited,
        ..MigrateOptions::default()
    };
    let mut conn = if args.dry_run {
        connect_to_read(settings)?
    } else {
        connect(settings)?
    };
    let table = &settings.tracking.table;
    if args.dry_run {
        let report = strata::sqlite::status(&mut conn, &folder, table, false)?;
        let last = args
            .to
            .as_ref()
            .and_then(|to| report.pending.iter().position(|p| &p.tag == to));
        let pending: Vec<_> = report
            .pending
            .iter()
            .enumerate()
            .filter(|(i, _)| last.is_none_or(|l| *i <= l))
            .map(|(_, e)| e)
            .collect();
        if global.json {
            out.out(&json!({"dry_run": true, "pending": pending, "edited": report.edited, "out_of_order": report.out_of_order}).to_string());
            return Ok(ExitCode::SUCCESS);
        }
        if pending.is_empty() {
            out.out("Nothing to apply: every migration is applied.");
        }
        for entry in pending {
            let migration = folder
                .find(&entry.tag)
                .expect("pending migrations are in the folder");
            out.out(&out.paint(
                &format!("-- {} ({})", entry.tag, entry.path.display()),
                Paint::Bold,
            ));
            out.out(migration.sql.trim_end());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.backup || settings.migrate.backup {
        // Only when something will run: a backup per no-op deploy fills disks.
        let pending = strata::sqlite::status(&mut conn, &folder, table, false)?.pending;
        if pending.is_empty() {
            out.status("No pending migrations: no backup taken.");
        } else {
            out.status(&format!(
                "Taking a backup before {} pending migration(s) ...",
                pending.len()
            ));
            let backup = strata::sqlite::backup(&mut conn, settings)?;
            let path = backup
                .path
                .strip_prefix(&settings.root)
                .unwrap_or(&backup.path)
                .display()
                .to_string();
            out.status(&format!(
                "Backup written to {path} ({} bytes, {:.1} s); to restore it, copy it over {} while nothing uses the database",
                backup.bytes,
                backup.elapsed.as_secs_f64(),
                conn.target().describe(),
            ));
        }
    }
    let report = strata::sqlite::migrate(&mut conn, &folder, table, &options, out)?;
    if global.json {
        out.out(&serde_json::to_string_pretty(&report).expect("reports serialize"));
    } else if report.applied.is_empty() {
        out.out(&format!(
            "Nothing to apply: {} migration(s) already applied.",
            report.already_applied
        ));
    } else {
        let done = out.paint("Applied", Paint::Green);
        out.out(&format!("{done} {} migration(s).", report.applied.len()));
    }
    Ok(ExitCode::SUCCESS)
}

fn rollback(
    settings: &Settings,
    global: &GlobalArgs,
    args: &RollbackArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let folder = folder(settings)?;
    let target = match (&args.to, args.steps) {
        (Some(tag), _) => RollbackTarget::To(tag.clone()),
        (None, steps) => RollbackTarget::Steps(steps.unwrap_or(1)),
    };
    let mut conn = connect(settings)?;
    if out.interactive
        && !confirm(&format!(
            "Run rollback scripts on {}?",
            conn.target().describe()
        ))
        .unwrap_or(false)
    {
        out.out("Nothing rolled back.");
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    let done = strata::sqlite::rollback(&mut conn, &folder, &settings.tracking.table, target, out)?;
    if global.json {
        out.out(&json!({"rolled_back": done}).to_string());
    } else if done.is_empty() {
        out.out("Nothing to roll back.");
    } else {
        out.out(&format!("Rolled back {}.", done.join(", ")));
    }
    Ok(ExitCode::SUCCESS)
}

fn mark_applied(
    settings: &Settings,
    global: &GlobalArgs,
    tag: &str,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let folder = folder(settings)?;
    let mut conn = connect(settings)?;
    strata::sqlite::mark_applied(&mut conn, &folder, &settings.tracking.table, tag)?;
    if global.json {
        out.out(&json!({"marked_applied": tag}).to_string());
    } else {
        out.out(&format!("Recorded {tag} as applied (it was not run)."));
    }
    Ok(ExitCode::SUCCESS)
}

fn drop(
    settings: &Settings,
    global: &GlobalArgs,
    tag: Option<&str>,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let folder = folder(settings)?;
    let mut conn = connect_to_read(settings)?;
    let dropped = strata::sqlite::drop_last(&mut conn, &folder, &settings.tracking.table, tag)?;
    if global.json {
        out.out(&json!({"dropped": dropped.tag}).to_string());
    } else {
        out.out(&format!(
            "Removed {} (its SQL, rollback script, journal entry and snapshot).",
            dropped.tag
        ));
    }
    Ok(ExitCode::SUCCESS)
}
