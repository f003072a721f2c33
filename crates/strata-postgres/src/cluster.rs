//! Throwaway PostgreSQL clusters started from the installed server
//! binaries: a temporary data directory, a unix socket (and optionally a
//! loopback port), settings tuned for disposable data, and cleanup even if
//! the process that started it dies.

use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::ConnInfo;

/// Why a cluster could not be started.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum ClusterError {
    /// No `initdb`/`postgres` binaries were found.
    #[error("PostgreSQL server binaries (initdb, postgres) were not found")]
    #[diagnostic(
        code(strata::cluster::no_binaries),
        help(
            "install them (Debian/Ubuntu: `apt install postgresql`; macOS: `brew install postgresql`), put their directory on PATH, or set STRATA_PG_BINDIR; or configure `shadow_database_url`"
        )
    )]
    NoBinaries,
    /// Running as root, and there is no `postgres` user to run the server as.
    #[error(
        "running as root, and there is no `postgres` user to run the server as (PostgreSQL refuses to run as root)"
    )]
    #[diagnostic(
        code(strata::cluster::root),
        help("create the user (`useradd --system postgres`) or run strata as an ordinary user")
    )]
    NoPostgresUser,
    /// A command failed.
    #[error("`{command}` failed: {output}")]
    #[diagnostic(code(strata::cluster::command))]
    Command {
        /// What was run.
        command: String,
        /// What it printed.
        output: String,
    },
    /// The server did not come up.
    #[error("the server did not start in {seconds} s; its log says: {log}")]
    #[diagnostic(code(strata::cluster::start))]
    Start {
        /// How long strata waited.
        seconds: u64,
        /// The end of the server's log.
        log: String,
    },
    /// A file system operation failed.
    #[error("{action} `{path}`: {source}")]
    #[diagnostic(code(strata::cluster::io))]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ClusterError {
    let path = path.to_owned();
    move |source| ClusterError::Io {
        action,
        path,
        source,
    }
}

/// The installed server binaries.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The directory holding `initdb`, `postgres`, `pg_ctl`, `pg_dump`.
    pub bin_dir: PathBuf,
    /// The server's major version (`15`).
    pub major: u32,
    /// `postgres --version`.
    pub version: String,
}

impl Binaries {
    /// Finds the server binaries: `STRATA_PG_BINDIR`, then `PATH`, then
    /// the usual install locations (newest version first).
    ///
    /// # Errors
    /// [`ClusterError::NoBinaries`] when none are found.
    pub fn find() -> Result<Binaries, ClusterError> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        #[allow(clippy::disallowed_methods)] // the one place the bin dir override is read
        if let Some(dir) = std::env::var_os("STRATA_PG_BINDIR") {
            candidates.push(PathBuf::from(dir));
        }
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                if dir.join("initdb").is_file() && dir.join("postgres").is_file() {
                    // Resolve symlinks (Debian links /usr/local/bin/initdb).
                    let real = fs::canonicalize(dir.join("postgres"))
                        .ok()
                        .and_then(|p| p.parent().map(Path::to_path_buf))
                        .unwrap_or(dir);
                    candidates.push(real);
                }
            }
        }
        let mut versioned: Vec<(u32, PathBuf)> = Vec::new();
        for root in [
            "/usr/lib/postgresql",
            "/usr/pgsql",
            "/opt/homebrew/opt",
            "/usr/local/opt",
        ] {
            if let Ok(entries) = fs::read_dir(root) {
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let digits: String = name.chars().filter(char::is_ascii_digit).collect();
                    if let Ok(version) = digits.parse::<u32>() {
                        versioned.push((version, entry.path().join("bin")));
                    }
                }
            }
        }
        versioned.sort_by_key(|v| std::cmp::Reverse(v.0));
        candidates.extend(versioned.into_iter().map(|(_, p)| p));
        candidates.push(PathBuf::from("/usr/local/pgsql/bin"));
        for dir in candidates {
            if !(dir.join("initdb").is_file() && dir.join("postgres").is_file()) {
                continue;
            }
            let output = Command::new(dir.join("postgres")).arg("--version").output();
            let Ok(output) = output else { continue };
            let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            let major = version
                .split_whitespace()
                .find_map(|word| word.split('.').next().and_then(|m| m.parse::<u32>().ok()))
                .unwrap_or(0);
            return Ok(Binaries {
                bin_dir: dir,
                major,
                version,
            });
        }
        Err(ClusterError::NoBinaries)
    }

    /// The path of one of the binaries.
    pub fn tool(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
}

/// The user the server runs as, when strata runs as root.
#[derive(Debug, Clone, Copy)]
pub struct RunAs {
    uid: u32,
    gid: u32,
}

impl RunAs {
    /// `None` when not root; the `postgres` user's ids when root.
    ///
    /// # Errors
    /// Root without a `postgres` user.
    pub fn detect() -> Result<Option<RunAs>, ClusterError> {
        if effective_uid() != Some(0) {
            return Ok(None);
        }
        let id = |flag: &str| -> Option<u32> {
            let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
            if !out.status.success() {
                return None;
            }
            String::from_utf8_lossy(&out.stdout).trim().parse().ok()
        };
        match (id("-u"), id("-g")) {
            (Some(uid), Some(gid)) => Ok(Some(RunAs { uid, gid })),
            _ => Err(ClusterError::NoPostgresUser),
        }
    }

    /// Gives `path` to this user.
    pub fn chown(self, path: &Path) -> Result<(), ClusterError> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .map_err(io("could not change the owner of", path))
    }

    /// Makes `command` run as this user.
    pub fn apply(self, command: &mut Command) {
        command.uid(self.uid).gid(self.gid);
    }
}

fn effective_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    if let Ok(meta) = fs::metadata("/proc/self") {
        return Some(meta.uid());
    }
    let out = Command::new("id").arg("-u").output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// Options for a throwaway cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Also listen on 127.0.0.1 (on a free port), not only on a unix socket.
    pub tcp: bool,
    /// More server settings (`ssl=on`), each as `name=value`.
    pub settings: Vec<String>,
}

/// A running throwaway cluster. Dropping it stops the server and deletes
/// its files; if the process dies first, a watchdog does the same.
#[derive(Debug)]
pub struct TempCluster {
    dir: PathBuf,
    port: u16,
    tcp: bool,
    server: Child,
    watchdog: Option<Child>,
    binaries: Binaries,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TempCluster {
    /// Starts a cluster in a new temporary directory.
    ///
    /// The first cluster of a server version is made with `initdb` and kept
    /// as a template in the user's cache directory; later ones copy it,
    /// which is several times faster.
    ///
    /// # Errors
    /// No binaries, no `postgres` user when root, or a server that does
    /// not start (the message includes its log).
    pub fn start(options: &ClusterOptions) -> Result<TempCluster, ClusterError> {
        let binaries = Binaries::find()?;
        let run_as = RunAs::detect()?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "strata-pg-{}-{}-{nanos:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&dir).map_err(io("could not create", &dir))?;
        if let Some(run_as) = run_as {
            run_as.chown(&dir)?;
        }
        let data = dir.join("data");
        init_data_dir(&binaries, run_as, &data, &dir)?;
        let port = if options.tcp { free_port()? } else { 5432 };
        let log = dir.join("server.log");
        let log_file = fs::File::create(&log).map_err(io("could not create", &log))?;
        if let Some(run_as) = run_as {
            run_as.chown(&log)?;
        }
        let mut command = Command::new(binaries.tool("postgres"));
        command
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&dir)
            .arg("-p")
            .arg(port.to_string())
            .args([
                "-c",
                &format!(
                    "listen_addresses={}",
                    if options.tcp { "127.0.0.1" } else { "" }
                ),
            ])
            // The data is disposable: trade durability for speed.
            .args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ])
            .args([
                "-c",
                "autovacuum=off",
                "-c",
                "jit=off",
                "-c",
                "shared_buffers=32MB",
            ])
            // Room for big schemas in one transaction.
            .args([
                "-c",
                "max_connections=30",
                "-c",
                "max_locks_per_transaction=1024",
            ])
            .args([
                "-c",
                "log_min_messages=warning",
                "-c",
                "logging_collector=off",
            ])
            .args(
                options
                    .settings
                    .iter()
                    .flat_map(|setting| ["-c", setting.as_str()]),
            )
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(io("could not open", &log))?)
            .stderr(log_file)
            .current_dir(&dir);
        if let Some(run_as) = run_as {
            run_as.apply(&mut command);
        }
        // Keep Ctrl-C in the terminal from reaching the server before strata
        // has cleaned up: the server gets its own process group.
        command.process_group(0);
        let server = command
            .spawn()
            .map_err(io("could not start", &binaries.tool("postgres")))?;
        let watchdog = spawn_watchdog(server.id(), &dir);
        let mut cluster = TempCluster {
            dir,
            port,
            tcp: options.tcp,
            server,
            watchdog,
            binaries,
        };
        cluster.wait_ready()?;
        Ok(cluster)
    }

    fn wait_ready(&mut self) -> Result<(), ClusterError> {
        let started = Instant::now();
        let timeout = Duration::from_secs(60);
        let pid_file = self.dir.join("data").join("postmaster.pid");
        loop {
            if let Ok(Some(_)) = self.server.try_wait() {
                return Err(ClusterError::Start {
                    seconds: started.elapsed().as_secs(),
                    log: self.log_tail(),
                });
            }
            // The 8th line of postmaster.pid says "ready" once connections
            // are accepted.
            if let Ok(text) = fs::read_to_string(&pid_file)
                && text.lines().nth(7).is_some_and(|l| l.trim() == "ready")
            {
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(ClusterError::Start {
                    seconds: timeout.as_secs(),
                    log: self.log_tail(),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = fs::File::open(self.dir.join("server.log")) {
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    /// Connection settings for database `dbname` over the unix socket.
    pub fn conn_info(&self, dbname: &str) -> ConnInfo {
        ConnInfo {
            host: self.dir.to_string_lossy().into_owned(),
            port: self.port,
            user: "postgres".to_owned(),
            password: None,
            dbname: dbname.to_owned(),
            ssl_mode: crate::SslMode::Disable,
            application_name: Some("strata".to_owned()),
            connect_timeout: None,
            options: None,
        }
    }

    /// Connection settings over TCP on 127.0.0.1, when the cluster listens
    /// there.
    pub fn tcp_conn_info(&self, dbname: &str) -> Option<ConnInfo> {
        self.tcp.then(|| ConnInfo {
            host: "127.0.0.1".to_owned(),
            ..self.conn_info(dbname)
        })
    }

    /// The binaries the cluster runs.
    pub fn binaries(&self) -> &Binaries {
        &self.binaries
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        // Immediate shutdown: the data is thrown away anyway.
        let _ = Command::new("kill")
            .args(["-QUIT", &self.server.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.server.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if !matches!(self.server.try_wait(), Ok(Some(_))) {
            let _ = self.server.kill();
            let _ = self.server.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// A shell that outlives us if we die: when this process is gone it stops
/// the server and removes the directory.
fn spawn_watchdog(server_pid: u32, dir: &Path) -> Option<Child> {
    Command::new("sh")
        .arg("-c")
        .arg(r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -QUIT "$2" 2>/dev/null; sleep 2; rm -rf "$3""#)
        .arg("strata-watchdog")
        .arg(std::process::id().to_string())
        .arg(server_pid.to_string())
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .ok()
}

fn free_port() -> Result<u16, ClusterError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(io("could not find a free port on", Path::new("127.0.0.1")))?;
    let port = listener
        .local_addr()
        .map_err(io("could not find a free port on", Path::new("127.0.0.1")))?
        .port();
    Ok(port)
}

/// The cache directory for templates: `STRATA_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/strata`, else `~/.cache/strata`.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("STRATA_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("strata"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("strata"))
}

/// Creates a data directory at `data`: a copy of the cached template of this
/// server version when there is one, else `initdb` (and the template is
/// cached for next time).
///
/// # Errors
/// `initdb` failing.
pub fn init_data_dir(
    binaries: &Binaries,
    run_as: Option<RunAs>,
    data: &Path,
    work: &Path,
) -> Result<(), ClusterError> {
    let template = cache_dir().map(|dir| {
        let owner = if run_as.is_some() { "postgres" } else { "self" };
        dir.join(format!("pg{}-template-{owner}", binaries.major))
    });
    if let Some(template) = &template
        && template.join("PG_VERSION").is_file()
        && copy_tree(template, data).is_ok()
    {
        return Ok(());
    }
    let _ = fs::remove_dir_all(data);
    let mut command = Command::new(binaries.tool("initdb"));
    command
        .arg("-D")
        .arg(data)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .current_dir(work)
        .stdin(Stdio::null());
    if let Some(run_as) = run_as {
        run_as.apply(&mut command);
    }
    let output = command
        .output()
        .map_err(io("could not run", &binaries.tool("initdb")))?;
    if !output.status.success() {
        return Err(ClusterError::Command {
            command: format!(
                "{} -D {}",
                binaries.tool("initdb").display(),
                data.display()
            ),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    if let Some(template) = template {
        // Best effort: a failed cache write only costs speed next time.
        let staging = template.with_extension(format!("tmp{}", std::process::id()));
        if let Some(parent) = template.parent()
            && fs::create_dir_all(parent).is_ok()
            && copy_tree(data, &staging).is_ok()
            && fs::rename(&staging, &template).is_err()
        {
            let _ = fs::remove_dir_all(&staging);
        }
    }
    Ok(())
}

/// `cp -a`: copies a directory tree keeping owners and modes.
fn copy_tree(from: &Path, to: &Path) -> Result<(), ClusterError> {
    let output = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .output()
        .map_err(io("could not run cp for", from))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ClusterError::Command {
            command: format!("cp -a {} {}", from.display(), to.display()),
            output: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}
