//! `strata seed`.

use std::process::ExitCode;

use clap::Args;
use serde_json::json;
use strata::Settings;
use strata::seed::SeedRequest;
use strata_postgres::Connection;
use strata_seed::Existing;

use crate::output::{Output, Paint};

#[derive(Debug, Args)]
pub(crate) struct SeedArgs {
    /// The seed: the same seed gives the same rows [default: `seed` in strata.toml, else 42]
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
    /// Rows per table [default: `count` in strata.toml, else 20]; a table's own count in strata.toml wins
    #[arg(long, value_name = "N")]
    pub(crate) count: Option<u64>,
    /// Empty the tables strata manages first (TRUNCATE … RESTART IDENTITY)
    #[arg(long)]
    pub(crate) truncate: bool,
}

pub(crate) fn run(
    settings: &Settings,
    args: &SeedArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    // Refuse before connecting: production is a property of the settings.
    strata::seed::refuse_on_production(settings, "seed")?;
    let mut conn = Connection::connect(&settings.database)?;
    let request = SeedRequest {
        seed: args.seed,
        count: args.count,
        existing: if args.truncate {
            Existing::Truncate
        } else {
            Existing::Refuse
        },
    };
    let report = strata::seed::seed(settings, &mut conn, &request, out)?;
    let elapsed_ms = u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX);
    if out.json {
        let value = json!({
            "target": settings.database.redacted(),
            "seed": report.seed,
            "rows": report.rows(),
            "tables": report.tables.iter().map(|(t, n)| json!({"table": t.to_string(), "rows": n})).collect::<Vec<_>>(),
            "short": report.short.iter().map(|(t, n)| json!({"table": t.to_string(), "missing": n})).collect::<Vec<_>>(),
            "files": report.files,
            "elapsed_ms": elapsed_ms,
        });
        out.out(&serde_json::to_string_pretty(&value).expect("JSON values serialize"));
        return Ok(ExitCode::SUCCESS);
    }
    let width = report
        .tables
        .iter()
        .map(|(t, _)| t.to_string().len())
        .max()
        .unwrap_or(0);
    for (table, rows) in &report.tables {
        out.out(&format!("  {:<width$}  {rows:>9} rows", table.to_string()));
    }
    for (table, missing) in &report.short {
        out.warning(&format!(
            "{table}: {missing} rows fewer than asked (its unique values or parent rows ran out)"
        ));
    }
    let done = out.paint("Seeded", Paint::Green);
    let seed = out.paint(&format!("seed {}", report.seed), Paint::Bold);
    out.out(&format!(
        "{done} {} rows into {} tables in {:.2} s with {seed} (the same seed gives the same rows; --seed N for others).",
        report.rows(),
        report.tables.len(),
        report.elapsed.as_secs_f64()
    ));
    Ok(ExitCode::SUCCESS)
}
