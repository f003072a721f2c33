//! The studio's server: binding, the token check, routing to the page and
//! the API, one thread per connection.

use std::io::BufReader;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use strata_postgres::ConnInfo;

use crate::StudioError;
use crate::api::{self, State};
use crate::http::{Request, Response, read_request, write_response};
use crate::pool::Pool;
use crate::token::Token;

/// Reads the migration status as JSON (`{"migrations": [{"tag", "state"}],
/// "drift": …}`), or says why it cannot.
pub type MigrationStatus = Box<dyn Fn() -> Result<serde_json::Value, String> + Send + Sync>;

/// Connections served at once; more wait in the listen queue's stead for
/// a 503.
const MAX_CONNECTIONS: usize = 64;
/// An idle keep-alive connection is closed after this.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

/// How to start the studio.
pub struct StudioOptions {
    /// The database to show.
    pub database: ConnInfo,
    /// The address to listen on (default 127.0.0.1).
    pub host: IpAddr,
    /// The port (0: any free one).
    pub port: u16,
    /// Refuse every write: edits, inserts, deletes, the console's write
    /// mode.
    pub read_only: bool,
    /// The migration status page's data; the page is left out without it.
    pub migrations: Option<MigrationStatus>,
}

impl StudioOptions {
    /// Loopback, port 4983 (drizzle-kit studio's), writes allowed, no
    /// migration status.
    pub fn new(database: ConnInfo) -> StudioOptions {
        StudioOptions {
            database,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            read_only: false,
            migrations: None,
        }
    }
}

impl std::fmt::Debug for StudioOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StudioOptions")
            .field("database", &self.database)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("read_only", &self.read_only)
            .field("migrations", &self.migrations.is_some())
            .finish()
    }
}

/// The default port, drizzle-kit studio's.
pub const DEFAULT_PORT: u16 = 4983;

/// A studio bound to its address, ready to serve.
pub struct Studio {
    listener: TcpListener,
    address: SocketAddr,
    token: Token,
    state: Arc<State>,
}

impl std::fmt::Debug for Studio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Studio")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Studio {
    /// Connects to the database (to fail early, with the driver's hint,
    /// rather than on the first page), reads its schema, draws a token and
    /// binds the address.
    ///
    /// # Errors
    /// The connection or introspection failed, the OS gave no random
    /// bytes, or the address could not be bound.
    pub fn bind(options: StudioOptions) -> Result<Studio, StudioError> {
        let state = Arc::new(State {
            pool: Pool::new(options.database, options.read_only),
            read_only: options.read_only,
            catalog: RwLock::new(None),
            server_version: RwLock::new(0),
            migrations: options.migrations,
        });
        state.catalog(true)?;
        let token = Token::generate()?;
        let requested = SocketAddr::new(options.host, options.port);
        let listener = TcpListener::bind(requested).map_err(|source| StudioError::Bind {
            address: requested.to_string(),
            source,
        })?;
        let address = listener.local_addr().map_err(|source| StudioError::Bind {
            address: requested.to_string(),
            source,
        })?;
        Ok(Studio {
            listener,
            address,
            token,
            state,
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Whether only this machine can reach it.
    pub fn is_loopback(&self) -> bool {
        self.address.ip().is_loopback()
    }

    /// The URL to open, token included: `http://127.0.0.1:4983/?token=…`.
    /// An unspecified address (`0.0.0.0`) is shown as 127.0.0.1.
    pub fn url(&self) -> String {
        let ip = if self.address.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            self.address.ip()
        };
        let host = SocketAddr::new(ip, self.address.port());
        format!("http://{host}/?token={}", self.token.as_str())
    }

    /// The token, for scripts that send it as `X-Strata-Token`.
    pub fn token(&self) -> &str {
        self.token.as_str()
    }

    /// The database it shows, without password.
    pub fn database(&self) -> String {
        self.state.pool.info().describe()
    }

    /// Serves until the process ends, one thread per connection.
    pub fn serve(self) {
        let active = Arc::new(AtomicUsize::new(0));
        let auth = Arc::new(Auth {
            token: self.token,
            cookie: format!("strata_studio_{}", self.address.port()),
        });
        for stream in self.listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                active.fetch_sub(1, Ordering::SeqCst);
                let _ = write_response(
                    &mut stream,
                    &Response::text(503, "too many connections"),
                    false,
                );
                continue;
            }
            let state = Arc::clone(&self.state);
            let auth = Arc::clone(&auth);
            let done = Arc::clone(&active);
            let spawned = std::thread::Builder::new()
                .name("studio-connection".to_owned())
                .spawn(move || {
                    connection(stream, &state, &auth);
                    done.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                active.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

struct Auth {
    token: Token,
    /// The cookie's name, per port: cookies do not tell ports apart.
    cookie: String,
}

fn connection(stream: TcpStream, state: &State, auth: &Auth) {
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_request(&mut reader) {
            Ok(request) => request,
            Err(error) => {
                if let Some(response) = error.response() {
                    let _ = write_response(&mut writer, &response, false);
                }
                return;
            }
        };
        let response = respond(state, auth, &request);
        if write_response(&mut writer, &response, request.keep_alive).is_err()
            || !request.keep_alive
        {
            return;
        }
    }
}

fn respond(state: &State, auth: &Auth, request: &Request) -> Response {
    let from_query = request
        .query("token")
        .is_some_and(|t| auth.token.matches(t));
    let authorized = from_query
        || request
            .cookie(&auth.cookie)
            .is_some_and(|t| auth.token.matches(t))
        || request
            .header("x-strata-token")
            .is_some_and(|t| auth.token.matches(t));
    if !authorized {
        return Response::text(
            401,
            "401 Unauthorized: this studio needs its token. Open the URL `strata studio` printed (http://…/?token=…).\n",
        )
        .with_header("WWW-Authenticate", "X-Strata-Token".to_owned());
    }
    // The page's URL holds the token: trade it for a cookie and take it out
    // of the address bar and the history.
    if from_query && request.method == "GET" && !request.path.starts_with("/api/") {
        return Response::text(303, "")
            .with_header("Location", request.path.clone())
            .with_header(
                "Set-Cookie",
                format!(
                    "{}={}; Path=/; HttpOnly; SameSite=Strict",
                    auth.cookie,
                    auth.token.as_str()
                ),
            );
    }
    match (request.method.as_str(), request.path.as_str()) {
        (_, path) if path.starts_with("/api/") => api::handle(state, request),
        ("GET", "/" | "/index.html") => {
            Response::new(200, "text/html; charset=utf-8", INDEX_HTML.into())
        }
        ("GET", "/app.js") => Response::new(200, "text/javascript; charset=utf-8", APP_JS.into()),
        ("GET", "/app.css") => Response::new(200, "text/css; charset=utf-8", APP_CSS.into()),
        ("GET", _) => Response::text(404, "not found"),
        _ => Response::text(405, "method not allowed").with_header("Allow", "GET".to_owned()),
    }
}
