//! `generate`, `migrate`, `status`, `rollback`, `mark-applied`, `drop`,
//! `pull`.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use strata::Settings;
use strata::desired::{CachePolicy, read_schema_files};
use strata::migrate::{
    Folder, GenerateOptions, MigrateOptions, RollbackTarget, drop_last, generate, mark_applied,
    migrate, rollback, status, write_generated,
};
use strata::push::{Scope, managed_schemas};
use strata_diff::{NoRenames, RenameRequest, RenameResolver};
use strata_postgres::Connection;

use crate::EXIT_REFUSED;
use crate::args::{GenerateArgs, GlobalArgs, MigrateArgs, PullArgs, RollbackArgs, StatusArgs};
use crate::output::{Output, Paint};
use crate::prompt::{TerminalRenames, confirm};

fn folder(settings: &Settings) -> Result<Folder, strata::Error> {
    Ok(Folder::read(&settings.migrations_dir, &settings.root)?)
}

fn display(settings: &Settings, path: &std::path::Path) -> String {
    strata::desired::display_path(&settings.root, path)
}

pub(crate) fn generate_command(
    settings: &Settings,
    global: &GlobalArgs,
    args: &GenerateArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let files = read_schema_files(settings)?;
    let folder = folder(settings)?;
    let options = GenerateOptions {
        name: args.name.clone(),
        custom: args.custom,
        renames: args
            .rename
            .iter()
            .map(|r| RenameRequest::parse(r))
            .collect::<Result<_, _>>()?,
        cache: if args.refresh {
            CachePolicy::Refresh
        } else {
            CachePolicy::Use
        },
        online: args.online,
    };
    let mut terminal = TerminalRenames;
    let mut none = NoRenames;
    let resolver: &mut dyn RenameResolver = if out.interactive {
        &mut terminal
    } else {
        &mut none
    };
    let generated = generate(settings, &folder, &files, &options, resolver, out)?;
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
    if !global.json && !generated.custom && !generated.online.is_empty() {
        let title = out.paint(
            &format!(
                "Online migrations: {} statement(s) in {} step(s)",
                generated.statements.len(),
                generated.online.len()
            ),
            Paint::Bold,
        );
        out.out(&title);
        let mut n = 0;
        for step in &generated.online {
            out.out(&out.paint(&format!("\n{}", step_title(step.kind)), Paint::Bold));
            for statement in &step.statements {
                n += 1;
                out.statement(n, statement);
            }
        }
    } else if !global.json && !generated.custom {
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
            if global.json {
                // What was refused, for machines too (as push --json does).
                out.out(
                    &serde_json::to_string_pretty(&json!({
                        "written": [],
                        "statements": generated.statements,
                        "refused": "data-loss",
                    }))
                    .expect("JSON values serialize"),
                );
            }
            return Err(strata::Error::DataLossRefused {
                count: losses,
                statements: generated
                    .statements
                    .iter()
                    .filter(|s| s.is_data_loss())
                    .map(|s| s.sql.lines().next().unwrap_or_default().to_owned())
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
    }
    let written = write_generated(settings, &folder, &generated)?;
    if global.json {
        out.out(
            &serde_json::to_string_pretty(&json!({
                "written": written.iter().map(|p| display(settings, p)).collect::<Vec<_>>(),
                "statements": generated.statements,
                "rollback": generated.rollback,
            }))
            .expect("JSON values serialize"),
        );
        return Ok(ExitCode::SUCCESS);
    }
    for path in &written {
        let shown = display(settings, path);
        let rollback = shown.replacen(".sql", "_rollback.sql", 1);
        out.out(&format!("Wrote {shown} and {rollback}"));
    }
    if generated.custom {
        out.out(
            "Write the migration's SQL in it, and the SQL that undoes it in the rollback file.",
        );
    } else if generated
        .online
        .iter()
        .any(|s| s.kind == strata_sql::PhaseKind::Contract)
    {
        out.out(&format!(
            "Safety: {losses} statement(s) destroy data. Deploy in steps: `strata migrate` applies everything up to the contract migration, together with the app version that works with both forms; once every instance runs it, `strata migrate --contract` applies the rest."
        ));
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

/// The heading of an online step.
pub(crate) fn step_title(kind: strata_sql::PhaseKind) -> &'static str {
    use strata_sql::PhaseKind;
    match kind {
        PhaseKind::Expand => "expand (one transaction; additive, brief locks)",
        PhaseKind::Concurrent => {
            "concurrent (no transaction; builds and backfills that do not block writes)"
        }
        PhaseKind::Attach => "attach (one transaction; constraints over the indexes just built)",
        PhaseKind::Validate => "validate (one transaction; scans without blocking writes)",
        PhaseKind::Contract => {
            "contract (one transaction; once the app no longer uses the old form)"
        }
    }
}

pub(crate) fn migrate_command(
    settings: &Settings,
    global: &GlobalArgs,
    args: &MigrateArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let folder = folder(settings)?;
    let parse = |text: &Option<String>, default| -> Result<_, strata::Error> {
        match text {
            None => Ok(default),
            Some(t) => strata::config::parse_duration(t).map_err(|reason| {
                strata::Error::from(strata::config::ConfigError::Value {
                    setting: "a timeout".to_owned(),
                    source_name: "the command line".to_owned(),
                    reason,
                })
            }),
        }
    };
    let options = MigrateOptions {
        to: args.to.clone(),
        allow_out_of_order: args.allow_out_of_order,
        accept_edited: args.accept_edited,
        lock_timeout: parse(&args.lock_timeout, settings.migrate.lock_timeout)?,
        statement_timeout: parse(&args.statement_timeout, settings.migrate.statement_timeout)?,
        retries: args.retries.unwrap_or(settings.migrate.retries),
        contract: args.contract,
    };
    let mut conn = Connection::connect(&settings.database)?;
    if args.dry_run {
        let report = status(settings, &mut conn, &folder, false, out)?;
        let pending: Vec<_> = report
            .pending
            .iter()
            .take_while(|e| {
                args.to.as_ref().is_none_or(|to| {
                    report
                        .pending
                        .iter()
                        .position(|p| &p.tag == to)
                        .is_none_or(|last| {
                            report
                                .pending
                                .iter()
                                .position(|p| p.tag == e.tag)
                                .is_some_and(|i| i <= last)
                        })
                })
            })
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
        let pending = status(settings, &mut conn, &folder, false, out)?.pending;
        if pending.is_empty() {
            out.status("No pending migrations: no backup taken.");
        } else {
            out.status(&format!(
                "Taking a backup before {} pending migration(s) ...",
                pending.len()
            ));
            let backup = strata::backup::backup(settings, None)?;
            out.status(&format!(
                "Backup written to {} ({} bytes, {:.1} s); restore it with `strata restore {}`",
                display(settings, &backup.path),
                backup.bytes,
                backup.elapsed.as_secs_f64(),
                display(settings, &backup.path),
            ));
        }
    }
    let report = migrate(&mut conn, &folder, &settings.tracking, &options, out)?;
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
    if let Some(held) = &report.held
        && !global.json
    {
        out.out(&format!(
            "Held back: {held} is a contract migration; run `strata migrate --contract` once every instance of the app runs the new version."
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn status_command(
    settings: &Settings,
    global: &GlobalArgs,
    args: &StatusArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let folder = folder(settings)?;
    let report = if settings.dialect == strata::config::Dialect::Sqlite {
        let mut conn = crate::sqlite::connect_to_read(settings)?;
        strata::sqlite::status(&mut conn, &folder, &settings.tracking.table, !args.no_drift)?
    } else {
        let mut conn = Connection::connect(&settings.database)?;
        status(settings, &mut conn, &folder, !args.no_drift, out)?
    };
    if global.json {
        out.out(&serde_json::to_string_pretty(&report).expect("reports serialize"));
        return Ok(ExitCode::SUCCESS);
    }
    out.out(&out.paint(
        &format!(
            "{} migration(s) in {} for {}: {} applied, {} pending",
            folder.migrations.len(),
            display(settings, &folder.dir),
            report.target,
            report.applied.len() + report.edited.len(),
            report.pending.len()
        ),
        Paint::Bold,
    ));
    for migration in &folder.migrations {
        let tag = &migration.tag;
        let (mark, note) = if report.edited.iter().any(|e| &e.tag == tag) {
            (
                out.paint("!", Paint::Red),
                out.paint("applied, but the file changed since", Paint::Red),
            )
        } else if report.applied.iter().any(|e| &e.tag == tag) {
            (out.paint("✓", Paint::Green), String::new())
        } else if report.out_of_order.contains(tag) {
            (
                out.paint("!", Paint::Yellow),
                out.paint("pending, older than the newest applied one", Paint::Yellow),
            )
        } else if migration.contract {
            (
                out.paint("·", Paint::Yellow),
                out.paint(
                    "pending, a contract step: `strata migrate --contract` applies it",
                    Paint::Yellow,
                ),
            )
        } else {
            (
                out.paint("·", Paint::Yellow),
                out.paint("pending", Paint::Yellow),
            )
        };
        if note.is_empty() {
            out.out(&format!("  {mark} {tag}"));
        } else {
            out.out(&format!("  {mark} {tag}  {note}"));
        }
    }
    for row in &report.missing {
        out.out(&format!(
            "  {} recorded as applied (hash {}…, created_at {}) but not in the folder",
            out.paint("?", Paint::Red),
            &row.hash.get(..12).unwrap_or(&row.hash),
            row.created_at
                .map_or_else(|| "NULL".to_owned(), |c| c.to_string())
        ));
    }
    if report.drift_checked {
        if report.drift.is_empty() {
            out.out("No drift: the database is what its applied migrations produce.");
        } else {
            out.out(&out.paint(
                &format!("Drift: the database differs from what its applied migrations produce; {} statement(s) would reconcile it:", report.drift.len()),
                Paint::Red,
            ));
            for (i, statement) in report.drift.iter().enumerate() {
                out.statement(i + 1, statement);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn rollback_command(
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
    let mut conn = Connection::connect(&settings.database)?;
    if out.interactive
        && !confirm(&format!(
            "Run rollback scripts on {}?",
            conn.info().describe()
        ))
        .unwrap_or(false)
    {
        out.out("Nothing rolled back.");
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    // Rollback scripts drop what the migrations made, rows included: like
    // restore, without a terminal it needs --yes.
    if !out.interactive && !global.yes {
        out.error(
            &format!(
                "refusing to run rollback scripts on {} without --yes",
                conn.info().describe()
            ),
            &[(
                "hint",
                "rollback scripts undo migrations and may drop tables and columns with their rows; run it on a terminal to be asked, or pass --yes".to_owned(),
            )],
        );
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    let done = rollback(&mut conn, &folder, &settings.tracking, target, out)?;
    if global.json {
        out.out(&json!({"rolled_back": done}).to_string());
    } else if done.is_empty() {
        out.out("Nothing to roll back.");
    } else {
        out.out(&format!("Rolled back {}.", done.join(", ")));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn mark_applied_command(
    settings: &Settings,
    global: &GlobalArgs,
    tag: &str,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let folder = folder(settings)?;
    let mut conn = Connection::connect(&settings.database)?;
    mark_applied(&mut conn, &folder, &settings.tracking, tag, out)?;
    if global.json {
        out.out(&json!({"marked_applied": tag}).to_string());
    } else {
        out.out(&format!("Recorded {tag} as applied (it was not run)."));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn drop_command(
    settings: &Settings,
    global: &GlobalArgs,
    tag: Option<&str>,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let folder = folder(settings)?;
    let mut conn = Connection::connect(&settings.database)?;
    let dropped = drop_last(settings, &folder, tag, &mut conn)?;
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

pub(crate) fn pull_command(
    settings: &Settings,
    global: &GlobalArgs,
    args: &PullArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let dir: PathBuf = match &args.into {
        Some(dir) => dir.clone(),
        None => match settings.schema_paths.as_slice() {
            [only] if only.is_dir() || only.extension().is_none() => only.clone(),
            _ => settings.root.join("schema"),
        },
    };
    let mut conn = Connection::connect(&settings.database)?;
    let (catalog, _) = conn.introspect()?;
    let mut schemas = match &settings.managed_schemas {
        Some(_) => managed_schemas(settings, &catalog),
        None => catalog.schemas.keys().map(ToString::to_string).collect(),
    };
    schemas.remove(&settings.tracking.schema);
    let scope = Scope {
        schemas,
        tracking: settings.tracking.clone(),
        grants: settings.grants,
    };
    let written = strata::pull::pull(&catalog, &scope, &dir)?;
    if global.json {
        out.out(
            &json!({"written": written.iter().map(|p| display(settings, p)).collect::<Vec<_>>()})
                .to_string(),
        );
    } else {
        for path in &written {
            out.out(&format!("Wrote {}", display(settings, path)));
        }
        if !catalog.unmanaged.is_empty() {
            let names: Vec<String> = catalog.unmanaged.iter().map(ToString::to_string).collect();
            out.warning(&format!(
                "not written (strata does not manage them yet): {}",
                names.join(", ")
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}
