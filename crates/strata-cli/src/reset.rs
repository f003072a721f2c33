//! `strata reset`: empty the managed schemas, build them again, seed.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::json;
use strata::Settings;
use strata::reset::{ResetOptions, ResetUsing, reset};
use strata::seed::SeedRequest;
use strata_seed::Existing;

use crate::EXIT_REFUSED;
use crate::args::GlobalArgs;
use crate::output::{Output, Paint};
use crate::prompt::confirm;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Using {
    /// The schema files, as `strata push`
    Push,
    /// The migrations folder, as `strata migrate`
    Migrate,
}

#[derive(Debug, Args)]
pub(crate) struct ResetArgs {
    /// Do not ask (never allowed on a production database)
    #[arg(long)]
    pub(crate) force: bool,
    /// How to build the schema again [default: `[reset] using` in strata.toml, else migrate when there are migrations, else push]
    #[arg(long, value_enum)]
    pub(crate) using: Option<Using>,
    /// Do not seed afterwards
    #[arg(long)]
    pub(crate) no_seed: bool,
    /// The seed for `strata seed` [default: strata.toml, else 42]
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
    /// Rows per table for `strata seed`
    #[arg(long, value_name = "N")]
    pub(crate) count: Option<u64>,
}

pub(crate) fn run(
    settings: &Settings,
    global: &GlobalArgs,
    args: &ResetArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    // Production refuses before anything else, --force or not.
    strata::seed::refuse_on_production(settings, "reset")?;
    let target = settings.database.describe();
    if !(args.force || global.yes) {
        if !out.interactive {
            out.error(
                &format!("refusing to reset {target} without --force"),
                &[(
                    "hint",
                    "reset drops every table, view, function and type in the schemas strata manages; pass --force to confirm (never allowed on production)".to_owned(),
                )],
            );
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        let question = format!(
            "Drop everything in the schemas strata manages on {target}, build them again and seed?"
        );
        if !confirm(&question).unwrap_or(false) {
            out.out("Nothing reset.");
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
    }
    let options = ResetOptions {
        using: args.using.map(|u| match u {
            Using::Push => ResetUsing::Push,
            Using::Migrate => ResetUsing::Migrate,
        }),
        seed: (!args.no_seed).then_some(SeedRequest {
            seed: args.seed,
            count: args.count,
            existing: Existing::Refuse,
        }),
    };
    let report = reset(settings, &options, out)?;
    if global.json {
        out.out(
            &json!({
                "target": target,
                "schemas": report.schemas,
                "using": report.using,
                "applied": report.applied,
                "seeded_rows": report.seeded_rows,
                "seed": report.seed,
                "elapsed_ms": u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
            })
            .to_string(),
        );
        return Ok(ExitCode::SUCCESS);
    }
    let how = match report.using {
        ResetUsing::Push => format!("{} statement(s) from the schema files", report.applied),
        ResetUsing::Migrate => format!("{} migration(s)", report.applied),
    };
    let seeded = match (report.seeded_rows, report.seed) {
        (Some(rows), Some(seed)) => format!(", seeded {rows} rows (seed {seed})"),
        _ => String::new(),
    };
    let done = out.paint("Reset", Paint::Green);
    out.out(&format!(
        "{done} {target}: emptied {}, applied {how}{seeded} in {:.2} s.",
        if report.schemas.is_empty() {
            "nothing".to_owned()
        } else {
            report.schemas.join(", ")
        },
        report.elapsed.as_secs_f64()
    ));
    Ok(ExitCode::SUCCESS)
}
