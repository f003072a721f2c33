//! A studio on a fresh database, a minimal HTTP client, and headless
//! Chromium driven over WebDriver (chromedriver speaks plain HTTP and
//! JSON, so the same client does).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use strata_studio::{Studio, StudioOptions};
use strata_testkit::TestDatabase;

/// A studio serving `db` on a free loopback port, in a thread that lives
/// as long as the test process.
pub(crate) struct Running {
    pub(crate) url: String,
    pub(crate) address: SocketAddr,
    pub(crate) token: String,
}

pub(crate) fn studio(db: &TestDatabase, read_only: bool) -> Running {
    let mut options = StudioOptions::new(db.info().clone());
    options.port = 0;
    options.read_only = read_only;
    let studio = Studio::bind(options).expect("the studio starts");
    let running = Running {
        url: studio.url(),
        address: studio.address(),
        token: studio.token().to_owned(),
    };
    std::thread::spawn(move || studio.serve());
    running
}

/// A response: status, headers (names lower-cased) and body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request on a new connection.
pub(crate) fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    if let Some(body) = body {
        let _ = write!(
            request,
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
    }
    request.push_str("\r\n");
    request.push_str(body.unwrap_or(""));
    stream.write_all(request.as_bytes()).expect("send");
    // Read the head, then exactly Content-Length bytes: chromedriver keeps
    // the connection open whatever the request says.
    let mut reader = std::io::BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut reader, &mut line).expect("read");
        if n == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let mut raw = Vec::new();
    match length {
        Some(length) => {
            raw.resize(length, 0);
            reader.read_exact(&mut raw).expect("read the body");
        }
        None => {
            reader.read_to_end(&mut raw).expect("read the body");
        }
    }
    let body = String::from_utf8(raw).expect("UTF-8");
    Reply {
        status,
        headers,
        body,
    }
}

impl Running {
    /// A JSON API call with the token in its header.
    pub(crate) fn api(&self, path: &str, body: &Value) -> Reply {
        http(
            self.address,
            "POST",
            path,
            &[("X-Strata-Token", &self.token)],
            Some(&body.to_string()),
        )
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One Chromium at a time: the machines have two cores.
fn browser_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Headless Chromium in a session of its own chromedriver, both ended on
/// drop.
pub(crate) struct Browser {
    driver: Child,
    address: SocketAddr,
    session: String,
    profile: PathBuf,
    _lock: MutexGuard<'static, ()>,
}

impl Browser {
    pub(crate) fn start() -> Browser {
        let lock = browser_lock();
        let port = free_port();
        // A process group of its own, so that Drop ends chromedriver and
        // every Chromium process it started, even when a test fails half
        // way through starting them.
        let driver = Command::new(find_program(&["chromedriver"]))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver (Debian: apt install chromium chromium-driver)");
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let profile = std::env::temp_dir().join(format!(
            "strata-studio-chromium-{}-{port}",
            std::process::id()
        ));
        let mut browser = Browser {
            driver,
            address,
            session: String::new(),
            profile,
            _lock: lock,
        };
        let started = Instant::now();
        while TcpStream::connect(address).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": find_program(&["chromium", "chromium-browser", "google-chrome"]),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1400,1000",
                    format!("--user-data-dir={}", browser.profile.display()),
                ],
            },
        }}});
        let reply = http(
            address,
            "POST",
            "/session",
            &[],
            Some(&capabilities.to_string()),
        );
        assert_eq!(reply.status, 200, "new WebDriver session: {}", reply.body);
        reply.json()["value"]["sessionId"]
            .as_str()
            .expect("a session id")
            .clone_into(&mut browser.session);
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let body = body.map(Value::to_string);
        let reply = http(self.address, method, &path, &[], body.as_deref());
        let value = reply.json();
        assert_eq!(
            reply.status, 200,
            "WebDriver {method} {path}: {}",
            value["value"]
        );
        value["value"].clone()
    }

    pub(crate) fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(&json!({ "url": url })));
    }

    pub(crate) fn current_url(&self) -> String {
        self.call("GET", "/url", None)
            .as_str()
            .expect("a URL")
            .to_owned()
    }

    pub(crate) fn find_all(&self, css: &str) -> Vec<String> {
        self.call(
            "POST",
            "/elements",
            Some(&json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| e[ELEMENT].as_str().expect("an element").to_owned())
        .collect()
    }

    /// The first element matching `css`, waiting for it to appear.
    pub(crate) fn find(&self, css: &str) -> String {
        self.wait_for(&format!("an element `{css}`"), || {
            self.find_all(css).into_iter().next()
        })
    }

    /// Clicks, waiting for the element to become clickable (a dialog
    /// that is still opening, a button being enabled).
    pub(crate) fn click(&self, element: &str) {
        let path = format!("/session/{}/element/{element}/click", self.session);
        self.wait_for("a clickable element", || {
            let reply = http(self.address, "POST", &path, &[], Some("{}"));
            if reply.status == 200 {
                return Some(());
            }
            let error = reply.json()["value"]["error"].clone();
            assert!(
                error == "element not interactable" || error == "element click intercepted",
                "WebDriver click: {}",
                reply.body
            );
            None
        });
    }

    pub(crate) fn double_click(&self, element: &str) {
        let press = [
            json!({"type": "pointerDown", "button": 0}),
            json!({"type": "pointerUp", "button": 0}),
        ];
        let mut actions =
            vec![json!({"type": "pointerMove", "origin": {ELEMENT: element}, "x": 0, "y": 0})];
        actions.extend(press.iter().cloned());
        actions.extend(press.iter().cloned());
        self.call(
            "POST",
            "/actions",
            Some(&json!({"actions": [{
                "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
                "actions": actions,
            }]})),
        );
    }

    pub(crate) fn clear(&self, element: &str) {
        self.call(
            "POST",
            &format!("/element/{element}/clear"),
            Some(&json!({})),
        );
    }

    /// Types text; `\u{E007}` is Enter.
    pub(crate) fn type_text(&self, element: &str, text: &str) {
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(&json!({ "text": text })),
        );
    }

    pub(crate) fn text(&self, element: &str) -> String {
        self.call("GET", &format!("/element/{element}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs an async script; its last argument is the callback.
    pub(crate) fn run_async(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/async",
            Some(&json!({"script": script, "args": []})),
        )
    }

    /// Polls `probe` until it gives a value (30 s at most: CI machines
    /// are busy).
    pub(crate) fn wait_for<T>(&self, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
        let started = Instant::now();
        loop {
            if let Some(value) = probe() {
                return value;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}; the page shows:\n{}",
                self.find_all("body")
                    .first()
                    .map(|b| self.text(b))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the text of the first element matching `css` satisfies
    /// `check`, and returns it.
    pub(crate) fn wait_text(&self, css: &str, check: impl Fn(&str) -> bool) -> String {
        self.wait_for(&format!("the text of `{css}`"), || {
            let element = self.find_all(css).into_iter().next()?;
            // The element may be replaced between finding and reading.
            let reply = http(
                self.address,
                "GET",
                &format!("/session/{}/element/{element}/text", self.session),
                &[],
                None,
            );
            let text = reply.json()["value"].as_str()?.to_owned();
            (reply.status == 200 && check(&text)).then_some(text)
        })
    }

    /// Waits until exactly `n` elements match `css`.
    pub(crate) fn wait_count(&self, css: &str, n: usize) {
        self.wait_for(&format!("{n} elements `{css}`"), || {
            (self.find_all(css).len() == n).then_some(())
        });
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(
                self.address,
                "DELETE",
                &format!("/session/{}", self.session),
                &[],
                None,
            );
        }
        // What the session's end left running, the whole group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn find_program(names: &[&str]) -> String {
    #[allow(clippy::disallowed_methods)] // tests read their environment
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            if dir.join(name).is_file() {
                return dir.join(name).display().to_string();
            }
        }
    }
    panic!(
        "none of {names:?} is installed: the browser tests need Debian's chromium and chromium-driver (.ci/run installs them)"
    );
}
