//! `strata studio`: a real process, the URL it prints, and its token.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::Project;

/// A running `strata studio`, killed on drop, with its output lines.
struct Studio {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    _project: Project,
}

impl Studio {
    fn start(url: &str, extra: &[&str]) -> Studio {
        Studio::start_in(Project::empty(), url, extra)
    }

    fn start_in(project: Project, url: &str, extra: &[&str]) -> Studio {
        let mut command = Command::new(env!("CARGO_BIN_EXE_strata"));
        command
            .args(["--database-url", url, "studio", "--port", "0"])
            .args(extra)
            .current_dir(&project.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in [
            "DATABASE_URL",
            "POSTGRES_HOST",
            "POSTGRES_PORT",
            "POSTGRES_DB",
            "POSTGRES_USER",
            "POSTGRES_PASSWORD",
            "STRATA_ENV",
        ] {
            command.env_remove(var);
        }
        let mut child = command.spawn().expect("start strata studio");
        let lines = |stream: Box<dyn Read + Send>| {
            let (send, receive) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = send.send(line);
                }
            });
            receive
        };
        let stdout = lines(Box::new(child.stdout.take().expect("stdout")));
        let stderr = lines(Box::new(child.stderr.take().expect("stderr")));
        Studio {
            child,
            stdout,
            stderr,
            _project: project,
        }
    }

    /// Output lines until one contains `needle` (30 s at most).
    fn until(lines: &mpsc::Receiver<String>, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    let found = line.contains(needle);
                    seen.push(line);
                    if found {
                        return seen;
                    }
                }
                Err(error) => panic!("no line with `{needle}` ({error}) in:\n{}", seen.join("\n")),
            }
        }
    }
}

impl Drop for Studio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET path` with optional headers: the status code and the body.
fn get(address: &str, path: &str, headers: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect to the studio");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{headers}\r\n"
    )
    .expect("send");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read");
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn studio_prints_a_token_url_and_refuses_requests_without_it() {
    let (_cluster, info) = strata_testkit::password_cluster("studio-Secret-9");
    let studio = Studio::start(&info.to_url_with_password(), &[]);
    let out = Studio::until(&studio.stdout, "/?token=");
    let url_line = out.last().expect("a line");
    let url = url_line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("a URL");
    let rest = url.strip_prefix("http://127.0.0.1:").expect("loopback");
    let (port, token) = rest.split_once("/?token=").expect("a token");
    assert!(token.len() >= 32 && token.chars().all(|c| c.is_ascii_hexdigit()));
    let address = format!("127.0.0.1:{port}");

    assert_eq!(get(&address, "/", "").0, 401);
    assert_eq!(get(&address, "/api/schema", "").0, 401);
    let (status, body) = get(
        &address,
        "/api/schema",
        &format!("X-Strata-Token: {token}\r\n"),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"tables\""));
    assert!(!body.contains("studio-Secret-9"));
    for line in &out {
        assert!(!line.contains("studio-Secret-9"), "{line}");
    }
    let err: Vec<String> = studio.stderr.try_iter().collect();
    assert!(
        err.iter().all(|l| !l.contains("studio-Secret-9")),
        "{err:?}"
    );
}

#[test]
fn another_address_takes_the_flag_and_a_warning() {
    let db = strata_testkit::database();
    let studio = Studio::start(&db.url(), &["--host", "0.0.0.0", "--read-only"]);
    let err = Studio::until(&studio.stderr, "warning:");
    let warning = err.last().expect("a warning");
    assert!(warning.contains("0.0.0.0"), "{warning}");
    assert!(warning.contains("can read the database"), "{warning}");
    let out = Studio::until(&studio.stdout, "/?token=");
    assert!(out.iter().any(|l| l.contains("(read-only)")), "{out:?}");
}

#[test]
fn json_gives_scripts_the_url_and_token() {
    let db = strata_testkit::database();
    let studio = Studio::start(&db.url(), &["--json"]);
    let line = Studio::until(&studio.stdout, "token")
        .pop()
        .expect("a line");
    let value: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
    let token = value["token"].as_str().expect("a token");
    let address = value["address"].as_str().expect("an address");
    assert_eq!(
        value["url"].as_str(),
        Some(format!("http://{address}/?token={token}").as_str())
    );
    assert_eq!(value["read_only"], false);
    let (status, _) = get(
        address,
        "/api/schema",
        &format!("X-Strata-Token: {token}\r\n"),
    );
    assert_eq!(status, 200);
}

#[test]
fn a_wrong_password_fails_before_any_url() {
    let (_cluster, mut info) = strata_testkit::password_cluster("right-Secret-1");
    info.password = Some("wrong-Secret-2".to_owned());
    let project = Project::empty();
    let output = Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(&project.dir)
        .args([
            "--database-url",
            &info.to_url_with_password(),
            "studio",
            "--port",
            "0",
        ])
        .env_remove("DATABASE_URL")
        .output()
        .expect("run strata studio");
    assert_eq!(output.status.code(), Some(1));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(!text.contains("Secret"), "{text}");
    assert!(!text.contains("token="), "{text}");
}

/// The URL's address and token, from the studio's stdout.
fn address_and_token(studio: &Studio) -> (String, String) {
    let out = Studio::until(&studio.stdout, "/?token=");
    let url = out
        .last()
        .and_then(|l| l.split_whitespace().find(|w| w.starts_with("http://")))
        .expect("a URL");
    let rest = url.strip_prefix("http://").expect("http");
    let (address, token) = rest.split_once("/?token=").expect("a token");
    (address.to_owned(), token.to_owned())
}

#[test]
fn the_migrations_page_shows_applied_pending_and_drift() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::abe_stack();
    project
        .strata(&["--database-url", &url, "generate", "--name", "init"])
        .expect_code(0);
    project.write(
        "schema/extra.sql",
        "CREATE TABLE audit_log (id bigserial PRIMARY KEY, message text NOT NULL);\n",
    );
    project
        .strata(&["--database-url", &url, "generate", "--name", "audit"])
        .expect_code(0);
    project
        .strata(&["--database-url", &url, "migrate", "--to", "0000_init"])
        .expect_code(0);
    db.execute("ALTER TABLE users ADD COLUMN nickname text");

    let studio = Studio::start_in(project, &url, &[]);
    let (address, token) = address_and_token(&studio);
    let (status, body) = get(
        &address,
        "/api/migrations",
        &format!("X-Strata-Token: {token}\r\n"),
    );
    assert_eq!(status, 200, "{body}");
    let value: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let by_tag: Vec<(&str, &str)> = value["migrations"]
        .as_array()
        .expect("migrations")
        .iter()
        .map(|m| (m["tag"].as_str().unwrap(), m["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        by_tag,
        [("0000_init", "applied"), ("0001_audit", "pending")]
    );
    assert_eq!(value["drift_checked"], true);
    let drift = value["drift"].to_string();
    assert!(drift.contains("nickname"), "{drift}");
    let (_, schema) = get(
        &address,
        "/api/schema",
        &format!("X-Strata-Token: {token}\r\n"),
    );
    assert!(schema.contains("\"migrations\":true"), "{schema}");
}
