//! `strata db`: the project's own development PostgreSQL.

use std::process::ExitCode;

use serde_json::json;
use strata::Settings;
use strata::local::{LocalCluster, LocalState};

use crate::args::{DbAction, GlobalArgs};
use crate::output::Output;

pub(crate) fn run(
    settings: &Settings,
    action: DbAction,
    global: &GlobalArgs,
    out: &mut Output,
) -> Result<ExitCode, strata::Error> {
    let root = &settings.root;
    match action {
        DbAction::Start => {
            let before = LocalCluster::find(root).map(|c| c.state());
            let (cluster, created) = LocalCluster::start(root)?;
            let url = cluster.conn_info().to_url_with_password();
            if global.json {
                out.out(&json!({"state": "running", "url": url, "dir": cluster.dir, "created": created}).to_string());
            } else if before == Some(LocalState::Running) {
                out.out(&format!("Already running: {url}"));
            } else {
                let verb = if created {
                    "Created and started"
                } else {
                    "Started"
                };
                out.out(&format!(
                    "{verb} the local PostgreSQL in {}\n{url}",
                    cluster.dir.display()
                ));
                out.status("strata uses it whenever no database is configured (no --database-url, DATABASE_URL or POSTGRES_* variables)");
            }
        }
        DbAction::Stop => match LocalCluster::find(root) {
            Some(cluster) => {
                cluster.stop()?;
                out.out("Stopped the local PostgreSQL (its data is kept).");
            }
            None => out.out("There is no local PostgreSQL in this project."),
        },
        DbAction::Status => {
            let found = LocalCluster::find(root);
            let state = found
                .as_ref()
                .map_or(LocalState::Absent, LocalCluster::state);
            let name = match state {
                LocalState::Absent => "absent",
                LocalState::Stopped => "stopped",
                LocalState::Running => "running",
            };
            if global.json {
                out.out(
                    &json!({
                        "state": name,
                        "url": found.as_ref().map(|c| c.conn_info().to_url_with_password()),
                        "dir": found.as_ref().map(|c| &c.dir),
                    })
                    .to_string(),
                );
            } else {
                match (&found, state) {
                    (Some(cluster), LocalState::Running) => {
                        out.out(&format!(
                            "running: {} (data in {})",
                            cluster.conn_info().to_url_with_password(),
                            cluster.dir.display()
                        ));
                    }
                    (Some(cluster), _) => out.out(&format!(
                        "stopped (data in {}); start it with `strata db start`",
                        cluster.dir.display()
                    )),
                    (None, _) => out.out("absent: create and start it with `strata db start`"),
                }
            }
        }
        DbAction::Url => {
            let Some(cluster) = LocalCluster::find(root) else {
                out.error(
                    "there is no local PostgreSQL in this project",
                    &[("hint", "create it with `strata db start`".to_owned())],
                );
                return Ok(ExitCode::from(1));
            };
            out.out(&cluster.conn_info().to_url_with_password());
        }
    }
    Ok(ExitCode::SUCCESS)
}
