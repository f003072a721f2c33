use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// A copy of a project (config and schema files) in a fresh temporary
/// directory, removed on drop.
pub(crate) struct Project {
    pub(crate) dir: PathBuf,
}

impl Project {
    /// A copy of `examples/abe-stack`.
    pub(crate) fn abe_stack() -> Project {
        let project = Project::empty();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/abe-stack");
        copy_dir(&source, &project.dir);
        // A cache from a run in the source tree must not leak in.
        let _ = std::fs::remove_dir_all(project.dir.join(".strata"));
        project
    }

    pub(crate) fn empty() -> Project {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "strata-cli-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create project dir");
        Project { dir }
    }

    pub(crate) fn write(&self, path: &str, text: &str) {
        let path = self.dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    pub(crate) fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.join(path)).expect("read")
    }

    /// `strata ARGS` in the project directory, with no connection settings
    /// from the environment.
    pub(crate) fn strata(&self, args: &[&str]) -> Run {
        self.strata_env(args, &[])
    }

    pub(crate) fn strata_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_strata"));
        command.args(args).current_dir(&self.dir);
        for var in [
            "DATABASE_URL",
            "POSTGRES_HOST",
            "POSTGRES_PORT",
            "POSTGRES_DB",
            "POSTGRES_USER",
            "POSTGRES_PASSWORD",
            "STRATA_ENV",
            "NO_COLOR",
        ] {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        Run(command.output().expect("run strata"))
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// A finished run.
pub(crate) struct Run(pub(crate) Output);

impl Run {
    pub(crate) fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }

    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// Asserts the exit code, showing the output when it differs.
    pub(crate) fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout()).unwrap_or_else(|e| panic!("{e}: {}", self.stdout()))
    }
}

/// The number of tables in the database's public schema.
pub(crate) fn table_count(db: &strata_testkit::TestDatabase) -> usize {
    db.value("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        .parse()
        .expect("a count")
}
