//! `strata studio`: the web GUI, until Ctrl-C.

use std::process::ExitCode;

use miette::Diagnostic;
use serde_json::json;
use strata::Settings;
use strata::migrate::Folder;
use strata_studio::{MigrationStatus, Studio, StudioOptions};

use crate::args::StudioArgs;
use crate::output::Output;

pub(crate) fn run(settings: &Settings, args: &StudioArgs, out: &mut Output) -> ExitCode {
    let mut options = StudioOptions::new(settings.database.clone());
    options.host = args.host;
    options.port = args.port;
    options.read_only = args.read_only;
    options.migrations = Some(migration_status(settings.clone()));
    out.status(&format!(
        "reading the schema of {}",
        settings.database.describe()
    ));
    let studio = match Studio::bind(options) {
        Ok(studio) => studio,
        Err(error) => {
            let mut details = Vec::new();
            if let Some(help) = error.help() {
                details.push(("hint", help.to_string()));
            }
            out.error(&error.to_string(), &details);
            return ExitCode::from(1);
        }
    };
    if !studio.is_loopback() {
        out.warning(&format!(
            "the studio listens on {}, not only on this machine: anyone who can reach that address and sees the URL below can read{} the database, over plain HTTP",
            studio.address(),
            if args.read_only { "" } else { " and change" }
        ));
    }
    if out.json {
        // For scripts: one line, then the server.
        out.out(
            &json!({
                "url": studio.url(),
                "address": studio.address().to_string(),
                "token": studio.token(),
                "database": studio.database(),
                "read_only": args.read_only,
            })
            .to_string(),
        );
    } else {
        let mode = if args.read_only { " (read-only)" } else { "" };
        out.out(&format!(
            "strata studio{mode} for {}\n{}\n",
            studio.database(),
            studio.url()
        ));
    }
    out.status("open the URL above in a browser; Ctrl-C stops the studio");
    studio.serve();
    ExitCode::SUCCESS
}

/// The migrations page's data: `strata status` with the drift check, as
/// JSON. Read on every visit, so it follows `strata migrate` in another
/// terminal.
fn migration_status(settings: Settings) -> MigrationStatus {
    Box::new(move || {
        let report = || -> Result<serde_json::Value, strata::Error> {
            let folder = Folder::read(&settings.migrations_dir, &settings.root)?;
            let mut conn = strata_postgres::Connection::connect(&settings.database)?;
            let report = strata::migrate::status(&settings, &mut conn, &folder, true, &mut ())?;
            let state = |tag: &str| {
                if report.edited.iter().any(|e| e.tag == tag) {
                    "edited"
                } else if report.applied.iter().any(|e| e.tag == tag) {
                    "applied"
                } else if report.out_of_order.iter().any(|t| t == tag) {
                    "out-of-order"
                } else {
                    "pending"
                }
            };
            let migrations: Vec<serde_json::Value> = folder
                .migrations
                .iter()
                .map(|m| json!({"tag": m.tag, "state": state(&m.tag), "when": m.when}))
                .collect();
            Ok(json!({
                "folder": strata::desired::display_path(&settings.root, &folder.dir),
                "target": report.target,
                "migrations": migrations,
                "missing": report.missing,
                "drift_checked": report.drift_checked,
                "drift": report.drift.iter().map(|s| &s.sql).collect::<Vec<_>>(),
            }))
        };
        report().map_err(|error| match error.help() {
            Some(help) => format!("{error} ({help})"),
            None => error.to_string(),
        })
    })
}
