//! The README's first command, as written, on a copy of the example app:
//! the project's own local PostgreSQL started from the installed server
//! binaries, the schema pushed, and a summary of what exists.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::Project;

/// Stops the local cluster and removes its data, however the test ends.
struct LocalClusterGuard {
    project_root: PathBuf,
}

impl Drop for LocalClusterGuard {
    fn drop(&mut self) {
        let _ = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["--config", "strata.toml", "db", "stop"])
            .current_dir(&self.project_root)
            .output();
        let pointer = self.project_root.join(".strata/pg.location");
        if let Ok(outside) = std::fs::read_to_string(pointer) {
            let _ = std::fs::remove_dir_all(outside.trim());
        }
    }
}

/// The first command line of the README's first `sh` block.
fn readme_main_job() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("README.md");
    let block = readme
        .split("```sh")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a sh block");
    block
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .expect("a command")
        .to_owned()
}

#[test]
fn the_readmes_first_command_pushes_the_example_into_the_local_postgres() {
    let command = readme_main_job();
    assert!(
        command.contains("db start") && command.contains("push"),
        "{command}"
    );
    // The same command with the binary cargo built for the tests.
    let command = command.replace(
        "cargo run --release -p strata-cli --",
        env!("CARGO_BIN_EXE_strata"),
    );
    let work = Project::empty();
    let example = Project::abe_stack();
    std::fs::create_dir_all(work.dir.join("examples")).expect("mkdir");
    std::fs::rename(&example.dir, work.dir.join("examples/abe-stack")).expect("move example");
    let _guard = LocalClusterGuard {
        project_root: work.dir.join("examples/abe-stack"),
    };
    let run = Command::new("sh")
        .args(["-c", &command])
        .current_dir(&work.dir)
        .env_remove("DATABASE_URL")
        .env_remove("POSTGRES_HOST")
        .env_remove("POSTGRES_PORT")
        .env_remove("POSTGRES_DB")
        .env_remove("POSTGRES_USER")
        .env_remove("POSTGRES_PASSWORD")
        .output()
        .expect("run the README's command");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "{command}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stdout.contains("now has 8 tables") && stdout.contains("4 enums in public"),
        "a summary of what exists: {stdout}"
    );
    // Run again: the cluster is reused and the database is in sync.
    let again = Command::new("sh")
        .args(["-c", &command])
        .current_dir(&work.dir)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run again");
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(stdout.contains("No changes"), "{stdout}");
    // Everything else uses the same local database without being told.
    let status = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "--config",
            "examples/abe-stack/strata.toml",
            "status",
            "--json",
            "--no-drift",
        ])
        .current_dir(&work.dir)
        .env_remove("DATABASE_URL")
        .output()
        .expect("status");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}
