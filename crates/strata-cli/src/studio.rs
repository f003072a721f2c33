//! `strata studio`: the web GUI, until Ctrl-C.

use std::process::ExitCode;

use miette::Diagnostic;
use strata::Settings;
use strata_studio::{Studio, StudioOptions};

use crate::args::StudioArgs;
use crate::output::Output;

pub(crate) fn run(settings: &Settings, args: &StudioArgs, out: &mut Output) -> ExitCode {
    let mut options = StudioOptions::new(settings.database.clone());
    options.host = args.host;
    options.port = args.port;
    options.read_only = args.read_only;
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
    let mode = if args.read_only { " (read-only)" } else { "" };
    out.out(&format!(
        "strata studio{mode} for {}\n{}\n",
        studio.database(),
        studio.url()
    ));
    out.status("open the URL above in a browser; Ctrl-C stops the studio");
    studio.serve();
    ExitCode::SUCCESS
}
