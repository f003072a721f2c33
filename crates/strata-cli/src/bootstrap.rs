//! `strata bootstrap` and `strata bootstrap admin`.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;
use strata::Settings;
use strata::bootstrap::{AdminMode, bootstrap, create_admin};
use strata_postgres::Connection;

use crate::output::{Output, Paint};

#[derive(Debug, Args)]
pub(crate) struct BootstrapArgs {
    #[command(subcommand)]
    pub(crate) action: Option<BootstrapAction>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BootstrapAction {
    /// Create the admin user with a generated password, shown once
    Admin(AdminArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AdminArgs {
    /// The admin's email [default: [bootstrap.admin] email in strata.toml, else admin@example.com]
    #[arg(long, value_name = "E")]
    pub(crate) email: Option<String>,
    /// Give an existing admin a new password (the old one stops working)
    #[arg(long)]
    pub(crate) rotate: bool,
}

pub(crate) fn run(
    settings: &Settings,
    args: &BootstrapArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    match &args.action {
        None => files(settings, out),
        Some(BootstrapAction::Admin(admin)) => admin_command(settings, admin, out),
    }
}

fn files(settings: &Settings, out: &mut Output) -> Result<ExitCode, strata::Error> {
    let found = strata::bootstrap::bootstrap_files(settings)?;
    if found.is_empty() {
        if out.json {
            out.out(r#"{"applied": [], "already": [], "edited": []}"#);
        } else {
            out.out("No bootstrap files: put .sql files in bootstrap/, or list them in [bootstrap] files in strata.toml.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut conn = Connection::connect(&settings.database)?;
    let report = bootstrap(settings, &mut conn, out)?;
    if out.json {
        let value = json!({
            "applied": report.applied,
            "already": report.already,
            "edited": report.edited,
        });
        out.out(&serde_json::to_string_pretty(&value).expect("JSON values serialize"));
        return Ok(ExitCode::SUCCESS);
    }
    for name in &report.applied {
        out.out(&format!("  applied  {name}"));
    }
    for name in report.already.iter().chain(&report.edited) {
        let line = out.paint(&format!("  already  {name}"), Paint::Dim);
        out.out(&line);
    }
    let done = out.paint("Bootstrap", Paint::Green);
    out.out(&format!(
        "{done}: {} file{} applied, {} applied before.",
        report.applied.len(),
        if report.applied.len() == 1 { "" } else { "s" },
        report.already.len() + report.edited.len()
    ));
    Ok(ExitCode::SUCCESS)
}

fn admin_command(
    settings: &Settings,
    args: &AdminArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let mut conn = Connection::connect(&settings.database)?;
    let mode = if args.rotate {
        AdminMode::Rotate
    } else {
        AdminMode::Create
    };
    let admin = create_admin(settings, &mut conn, args.email.as_deref(), mode)?;
    // The password goes to stdout once, and nowhere else.
    if out.json {
        let value = json!({"email": admin.email, "password": admin.password.reveal()});
        out.out(&serde_json::to_string(&value).expect("JSON values serialize"));
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if admin.rotated {
        "New password for admin"
    } else {
        "Created admin"
    };
    let done = out.paint(verb, Paint::Green);
    out.out(&format!("{done} {} (in {}).", admin.email, admin.table));
    out.out(&format!("Password: {}", admin.password.reveal()));
    let warning = out.paint("Save these credentials now:", Paint::Bold);
    out.out(&format!(
        "{warning} the password is not shown again; only its argon2id hash is stored."
    ));
    Ok(ExitCode::SUCCESS)
}
