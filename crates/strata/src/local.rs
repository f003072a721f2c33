//! The project's own development PostgreSQL (`strata db start`): a cluster
//! under `.strata/pg`, started from the installed server binaries, reused
//! across runs, listening on a unix socket and a loopback port. It replaces
//! the seed's `docker:dev`.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use strata_postgres::{Binaries, ConnInfo, Connection, RunAs, SslMode, init_data_dir};

use crate::Error;

/// The database the local cluster serves.
pub const LOCAL_DATABASE: &str = "dev";

/// Where a project's local cluster lives and how to reach it.
#[derive(Debug, Clone)]
pub struct LocalCluster {
    /// `.strata/pg` in the project (or, as root when the `postgres` user
    /// cannot enter the project, a directory under `/var/tmp` recorded in
    /// `.strata/pg.location`).
    pub dir: PathBuf,
    /// The loopback port it listens on.
    pub port: u16,
}

/// The state of the local cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalState {
    /// Never created.
    Absent,
    /// Created, not running.
    Stopped,
    /// Accepting connections.
    Running,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

impl LocalCluster {
    /// The project's local cluster, if it was ever created.
    pub fn find(root: &Path) -> Option<LocalCluster> {
        let dir = locate(root);
        let port = fs::read_to_string(dir.join("port"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        dir.join("data")
            .join("PG_VERSION")
            .is_file()
            .then_some(LocalCluster { dir, port })
    }

    /// Connection settings for its database, over TCP on 127.0.0.1.
    pub fn conn_info(&self) -> ConnInfo {
        ConnInfo {
            host: "127.0.0.1".to_owned(),
            port: self.port,
            user: "postgres".to_owned(),
            password: None,
            dbname: LOCAL_DATABASE.to_owned(),
            ssl_mode: SslMode::Disable,
            application_name: None,
            connect_timeout: None,
            options: None,
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Whether it is running (asks `pg_ctl status`).
    pub fn state(&self) -> LocalState {
        let Ok(binaries) = Binaries::find() else {
            return LocalState::Stopped;
        };
        let status = pg_ctl(&binaries, RunAs::detect().ok().flatten())
            .arg("status")
            .arg("-D")
            .arg(self.data())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => LocalState::Running,
            _ => LocalState::Stopped,
        }
    }

    /// Creates it if needed, starts it if stopped, and makes sure its
    /// database exists. Returns it and whether it was created now.
    ///
    /// # Errors
    /// No server binaries (with how to install them), or a server that
    /// does not start.
    pub fn start(root: &Path) -> Result<(LocalCluster, bool), Error> {
        let binaries = Binaries::find()?;
        let run_as = RunAs::detect()?;
        let dir = match LocalCluster::find(root) {
            Some(existing) => existing.dir,
            None => place(root, run_as)?,
        };
        let data = dir.join("data");
        let created = !data.join("PG_VERSION").is_file();
        if created {
            fs::create_dir_all(&dir).map_err(io("could not create", &dir))?;
            if let Some(run_as) = run_as {
                run_as.chown(&dir)?;
            }
            init_data_dir(&binaries, run_as, &data, &dir)?;
            let port = free_port()?;
            fs::write(dir.join("port"), port.to_string())
                .map_err(io("could not write", &dir.join("port")))?;
        }
        let port: u16 = fs::read_to_string(dir.join("port"))
            .map_err(io("could not read", &dir.join("port")))?
            .trim()
            .parse()
            .map_err(|_| Error::Io {
                action: "could not parse the port in",
                path: dir.join("port"),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not a port number"),
            })?;
        let cluster = LocalCluster { dir, port };
        if cluster.state() != LocalState::Running {
            let log = cluster.dir.join("server.log");
            let options = format!(
                "-k {} -p {port} -c listen_addresses=127.0.0.1 -c synchronous_commit=off -c max_locks_per_transaction=1024",
                cluster.dir.display()
            );
            let output = pg_ctl(&binaries, run_as)
                .arg("start")
                .arg("-w")
                .arg("-D")
                .arg(cluster.data())
                .arg("-l")
                .arg(&log)
                .arg("-o")
                .arg(options)
                .stdin(Stdio::null())
                .output()
                .map_err(io("could not run", &binaries.tool("pg_ctl")))?;
            if !output.status.success() {
                let log_text = fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = log_text.lines().rev().take(8).collect();
                return Err(strata_postgres::ClusterError::Start {
                    seconds: 60,
                    log: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
                }
                .into());
            }
        }
        let mut admin = Connection::connect(&ConnInfo {
            dbname: "postgres".to_owned(),
            ..cluster.conn_info()
        })?;
        let exists = admin.query_text(&format!(
            "SELECT 1 FROM pg_database WHERE datname = '{LOCAL_DATABASE}'"
        ))?;
        if exists.is_empty() {
            admin.execute(&format!("CREATE DATABASE {LOCAL_DATABASE}"))?;
        }
        Ok((cluster, created))
    }

    /// Stops it (fast shutdown: sessions are disconnected, data is kept).
    ///
    /// # Errors
    /// `pg_ctl` failing.
    pub fn stop(&self) -> Result<(), Error> {
        let binaries = Binaries::find()?;
        let output = pg_ctl(&binaries, RunAs::detect()?)
            .args(["stop", "-w", "-m", "fast", "-D"])
            .arg(self.data())
            .stdin(Stdio::null())
            .output()
            .map_err(io("could not run", &binaries.tool("pg_ctl")))?;
        if output.status.success() || self.state() == LocalState::Stopped {
            Ok(())
        } else {
            Err(strata_postgres::ClusterError::Command {
                command: "pg_ctl stop".to_owned(),
                output: String::from_utf8_lossy(&output.stderr).into_owned(),
            }
            .into())
        }
    }
}

fn pg_ctl(binaries: &Binaries, run_as: Option<RunAs>) -> Command {
    let mut command = Command::new(binaries.tool("pg_ctl"));
    if let Some(run_as) = run_as {
        run_as.apply(&mut command);
    }
    command
}

/// `.strata/pg`, or the directory recorded in `.strata/pg.location`.
fn locate(root: &Path) -> PathBuf {
    let pointer = root.join(".strata").join("pg.location");
    match fs::read_to_string(&pointer) {
        Ok(text) if !text.trim().is_empty() => PathBuf::from(text.trim()),
        _ => root.join(".strata").join("pg"),
    }
}

/// Chooses where a new cluster goes: in the project, unless strata runs as
/// root and the `postgres` user cannot reach the project (a home directory
/// is usually closed to others).
fn place(root: &Path, run_as: Option<RunAs>) -> Result<PathBuf, Error> {
    let strata_dir = root.join(".strata");
    fs::create_dir_all(&strata_dir).map_err(io("could not create", &strata_dir))?;
    let inside = strata_dir.join("pg");
    let Some(run_as) = run_as else {
        return Ok(inside);
    };
    let mut probe = Command::new("test");
    probe.arg("-x").arg(&strata_dir);
    run_as.apply(&mut probe);
    let reachable = probe.status().is_ok_and(|s| s.success());
    // A unix socket path must stay under ~100 bytes.
    if reachable && inside.as_os_str().len() < 80 {
        return Ok(inside);
    }
    let canonical = fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in canonical.as_os_str().as_encoded_bytes() {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let outside = PathBuf::from(format!("/var/tmp/strata-pg-{hash:016x}"));
    let pointer = strata_dir.join("pg.location");
    fs::write(&pointer, outside.to_string_lossy().as_bytes())
        .map_err(io("could not write", &pointer))?;
    Ok(outside)
}

fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(io("could not find a free port on", Path::new("127.0.0.1")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(io("could not find a free port on", Path::new("127.0.0.1")))
}
