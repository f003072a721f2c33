//! `strata check`: the safety review of pending migrations or given files.

use std::process::ExitCode;

use strata::Settings;
use strata::check::{CheckOptions, check};
use strata_lint::Severity;

use crate::EXIT_REFUSED;
use crate::args::{CheckArgs, GlobalArgs};
use crate::output::{Output, Paint};

pub(crate) fn run(
    settings: &Settings,
    global: &GlobalArgs,
    args: &CheckArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let options = CheckOptions {
        files: args.files.clone(),
        latest: args.latest,
        no_scratch: args.no_scratch,
        no_schema: args.no_schema,
        offline: args.offline,
    };
    let report = check(settings, &options, out)?;
    let code = if report.has_errors() {
        ExitCode::from(EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    };
    if global.json {
        out.out(&serde_json::to_string_pretty(&report).expect("reports serialize"));
        return Ok(code);
    }
    for note in &report.notes {
        out.warning(note);
    }
    if report.checked.is_empty() {
        out.out("Nothing to check: no pending migrations.");
        return Ok(code);
    }
    let against = match &report.database {
        Some(db) => format!("table sizes from {db}"),
        None => "no database".to_owned(),
    };
    let scratch = if report.ran_on_scratch {
        ", every statement run on a scratch database"
    } else {
        ""
    };
    out.out(&out.paint(
        &format!(
            "Checked {} file(s) ({against}{scratch}): {}",
            report.checked.len(),
            report.checked.join(", ")
        ),
        Paint::Bold,
    ));
    for reported in &report.findings {
        let f = &reported.finding;
        let paint = match f.severity {
            Severity::Error => Paint::Red,
            Severity::Warning => Paint::Yellow,
            Severity::Info => Paint::Dim,
        };
        let label = out.paint(
            &format!("{}[{}]", f.severity.as_str(), f.rule.as_str()),
            paint,
        );
        out.out(&format!(
            "{}:{}: {label} {}",
            reported.file, f.line, f.message
        ));
        out.out(&format!(
            "    {} {}",
            out.paint("help:", Paint::Bold),
            f.help
        ));
    }
    let (errors, warnings, infos) = (
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Info),
    );
    let summary = format!("{errors} error(s), {warnings} warning(s), {infos} note(s).");
    if errors > 0 {
        out.out(&out.paint(
            &format!("{summary} Fix the errors, or turn a rule off for one statement with `-- strata:allow RULE` once you have made sure."),
            Paint::Red,
        ));
    } else if report.findings.is_empty() {
        out.out(&out.paint("No findings: safe to migrate.", Paint::Green));
    } else {
        out.out(&summary);
    }
    Ok(code)
}
