//! Connection settings: `postgres://` URLs, their parts, and a way to show
//! them that never shows the password.

use std::fmt::{self, Write as _};
use std::time::Duration;

/// Where and as whom to connect. The password is kept out of `Debug` and
/// `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// Host name, IP address, or a directory holding the server's unix
    /// socket (starts with `/`).
    pub host: String,
    /// TCP port (also names the unix socket file).
    pub port: u16,
    /// The role to connect as.
    pub user: String,
    /// The password, if any.
    pub password: Option<String>,
    /// The database.
    pub dbname: String,
    /// `sslmode`: `disable`, `prefer` (default) or `require`.
    pub ssl_mode: SslMode,
    /// `application_name`, shown in `pg_stat_activity`.
    pub application_name: Option<String>,
    /// Seconds to wait for the connection.
    pub connect_timeout: Option<u64>,
    /// `options` (command-line options for the server, like `-c search_path=x`).
    pub options: Option<String>,
}

/// The TLS modes strata understands (libpq's `sslmode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it (`allow` and `prefer`), the
    /// certificate not checked.
    Prefer,
    /// Always TLS, the certificate not checked.
    Require,
    /// Always TLS, the certificate signed by a trusted authority (the
    /// file, PEM, else the Mozilla roots built in).
    VerifyCa(Option<String>),
    /// As `VerifyCa`, and the certificate names the host.
    VerifyFull(Option<String>),
}

impl SslMode {
    /// libpq's name of the mode.
    pub fn as_str(&self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa(_) => "verify-ca",
            SslMode::VerifyFull(_) => "verify-full",
        }
    }

    /// The `sslrootcert` file, if any.
    pub fn root_cert(&self) -> Option<&str> {
        match self {
            SslMode::VerifyCa(file) | SslMode::VerifyFull(file) => file.as_deref(),
            _ => None,
        }
    }
}

/// A connection URL that cannot be used, with the reason. The URL in the
/// message has its password masked.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("invalid database URL `{url}`: {reason}")]
#[diagnostic(
    code(strata::postgres::url),
    help(
        "expected postgres://USER:PASSWORD@HOST:PORT/DATABASE (percent-encode special characters in the password)"
    )
)]
pub struct UrlError {
    /// The URL with the password masked.
    pub url: String,
    /// What is wrong.
    pub reason: String,
}

impl ConnInfo {
    /// The defaults of the seed note's `POSTGRES_*` variables:
    /// `postgres@localhost:5432/abe_stack_dev`, no password.
    pub fn defaults() -> ConnInfo {
        ConnInfo {
            host: "localhost".to_owned(),
            port: 5432,
            user: "postgres".to_owned(),
            password: None,
            dbname: "abe_stack_dev".to_owned(),
            ssl_mode: SslMode::Prefer,
            application_name: None,
            connect_timeout: None,
            options: None,
        }
    }

    /// Parses `postgres://user:password@host:port/dbname?param=value`
    /// (also `postgresql://`; parts percent-encoded; a socket directory as
    /// `?host=/path` or a percent-encoded host).
    ///
    /// # Errors
    /// A malformed URL or an unknown parameter; the message never contains
    /// the password.
    pub fn parse_url(url: &str) -> Result<ConnInfo, UrlError> {
        let error = |reason: String| UrlError {
            url: redact_url(url),
            reason,
        };
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(|| error("it must start with postgres:// or postgresql://".to_owned()))?;
        let mut info = ConnInfo::defaults();
        let mut root_cert: Option<String> = None;
        info.dbname = String::new();
        info.user = String::new();
        let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = before_query.split_once('/').unwrap_or((before_query, ""));
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        if let Some(userinfo) = userinfo {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            info.user = decode(user).map_err(|e| error(format!("the user name {e}")))?;
            if let Some(password) = password {
                info.password =
                    Some(decode(password).map_err(|e| error(format!("the password {e}")))?);
            }
        }
        if hostport.contains(',') {
            return Err(error(
                "several hosts are not supported; give one".to_owned(),
            ));
        }
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| error("an IPv6 address is missing its `]`".to_owned()))?;
            (host.to_owned(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (
                    decode(h).map_err(|e| error(format!("the host {e}")))?,
                    Some(p),
                ),
                None => (
                    decode(hostport).map_err(|e| error(format!("the host {e}")))?,
                    None,
                ),
            }
        };
        if !host.is_empty() {
            info.host = host;
        }
        if let Some(port) = port.filter(|p| !p.is_empty()) {
            info.port = parse_port(port).map_err(error)?;
        }
        info.dbname = decode(path).map_err(|e| error(format!("the database name {e}")))?;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value).map_err(|e| error(format!("parameter `{key}` {e}")))?;
            match key {
                "host" => info.host = value,
                "port" => info.port = parse_port(&value).map_err(error)?,
                "user" => info.user = value,
                "password" => info.password = Some(value),
                "dbname" => info.dbname = value,
                "sslmode" => {
                    let root = root_cert.clone();
                    info.ssl_mode = match value.as_str() {
                        "disable" => SslMode::Disable,
                        "allow" | "prefer" => SslMode::Prefer,
                        "require" => SslMode::Require,
                        "verify-ca" => SslMode::VerifyCa(root),
                        "verify-full" => SslMode::VerifyFull(root),
                        other => {
                            return Err(error(format!(
                                "unknown sslmode `{other}` (known: disable, allow, prefer, require, verify-ca, verify-full)"
                            )));
                        }
                    }
                }
                "sslrootcert" => {
                    root_cert = Some(value.clone());
                    match &mut info.ssl_mode {
                        SslMode::VerifyCa(file) | SslMode::VerifyFull(file) => *file = Some(value),
                        _ => {}
                    }
                }
                "application_name" => info.application_name = Some(value),
                "connect_timeout" => {
                    info.connect_timeout = Some(value.parse().map_err(|_| {
                        error(format!(
                            "connect_timeout `{value}` is not a number of seconds"
                        ))
                    })?);
                }
                "options" => info.options = Some(value),
                other => {
                    return Err(error(format!(
                        "unknown parameter `{other}` (known: host, port, user, password, dbname, sslmode, sslrootcert, application_name, connect_timeout, options)"
                    )));
                }
            }
        }
        if info.user.is_empty() {
            "postgres".clone_into(&mut info.user);
        }
        if info.dbname.is_empty() {
            info.dbname.clone_from(&info.user);
        }
        Ok(info)
    }

    /// The URL with the password masked, for messages.
    pub fn redacted(&self) -> String {
        let auth = if self.password.is_some() {
            format!("{}:***@", encode(&self.user))
        } else {
            format!("{}@", encode(&self.user))
        };
        let mut params = Vec::new();
        if self.ssl_mode != SslMode::Prefer {
            params.push(format!("sslmode={}", self.ssl_mode.as_str()));
        }
        if let Some(file) = self.ssl_mode.root_cert() {
            params.push(format!("sslrootcert={}", encode(file)));
        }
        if let Some(name) = &self.application_name {
            params.push(format!("application_name={}", encode(name)));
        }
        if let Some(seconds) = self.connect_timeout {
            params.push(format!("connect_timeout={seconds}"));
        }
        if let Some(options) = &self.options {
            params.push(format!("options={}", encode(options)));
        }
        let url = if self.is_socket() {
            params.insert(0, format!("host={}&port={}", encode(&self.host), self.port));
            format!("postgres://{auth}/{}", encode(&self.dbname))
        } else {
            let host = if self.host.contains(':') {
                format!("[{}]", self.host)
            } else {
                self.host.clone()
            };
            format!(
                "postgres://{auth}{host}:{}/{}",
                self.port,
                encode(&self.dbname)
            )
        };
        if params.is_empty() {
            url
        } else {
            format!("{url}?{}", params.join("&"))
        }
    }

    /// `postgres://user@host:port/db`: where, for messages (no password,
    /// no parameters).
    pub fn describe(&self) -> String {
        if self.is_socket() {
            format!(
                "postgres://{}@{}/{}",
                self.user,
                self.address(),
                self.dbname
            )
        } else {
            let host = if self.host.contains(':') {
                format!("[{}]", self.host)
            } else {
                self.host.clone()
            };
            format!(
                "postgres://{}@{host}:{}/{}",
                self.user, self.port, self.dbname
            )
        }
    }

    /// The full URL, password included: only for handing to a child
    /// process or a config, never for printing.
    pub fn to_url_with_password(&self) -> String {
        let redacted = self.redacted();
        match &self.password {
            Some(password) => redacted.replacen(":***@", &format!(":{}@", encode(password)), 1),
            None => redacted,
        }
    }

    /// Whether the host is a unix socket directory.
    pub fn is_socket(&self) -> bool {
        self.host.starts_with('/')
    }

    /// `host:port` (or the socket path) for messages.
    pub fn address(&self) -> String {
        if self.is_socket() {
            format!("{}/.s.PGSQL.{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The same server, another database.
    #[must_use]
    pub fn with_dbname(&self, dbname: &str) -> ConnInfo {
        ConnInfo {
            dbname: dbname.to_owned(),
            ..self.clone()
        }
    }

    pub(crate) fn config(&self) -> postgres::Config {
        let mut config = postgres::Config::new();
        if self.is_socket() {
            config.host_path(&self.host);
        } else {
            config.host(&self.host);
        }
        config
            .port(self.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name(self.application_name.as_deref().unwrap_or("strata"))
            .connect_timeout(Duration::from_secs(self.connect_timeout.unwrap_or(10)))
            .ssl_mode(match self.ssl_mode {
                SslMode::Disable => postgres::config::SslMode::Disable,
                // A unix socket is local: no TLS over it.
                SslMode::Prefer if self.is_socket() => postgres::config::SslMode::Disable,
                SslMode::Prefer => postgres::config::SslMode::Prefer,
                _ => postgres::config::SslMode::Require,
            });
        if let Some(password) = &self.password {
            config.password(password);
        }
        if let Some(options) = &self.options {
            config.options(options);
        }
        config
    }
}

impl fmt::Debug for ConnInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for ConnInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("port `{text}` is not a number from 1 to 65535")),
        Ok(port) => Ok(port),
    }
}

fn decode(text: &str) -> Result<String, &'static str> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or("has an incomplete %-escape")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| "has an invalid %-escape")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "is not valid UTF-8 once decoded")
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Masks the password of a URL that may not even parse: what sits between
/// `user:` and `@`, and any `password=` parameter.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let start = scheme_end + 3;
        let authority_end = out[start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| start + i);
        if let Some(at) = out[start..authority_end].rfind('@') {
            let userinfo = &out[start..start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(start + colon + 1..start + at, "***");
            }
        }
    }
    if let Some(at) = out.find("password=") {
        let value_start = at + "password=".len();
        let value_end = out[value_start..]
            .find('&')
            .map_or(out.len(), |i| value_start + i);
        out.replace_range(value_start..value_end, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_urls() {
        let info =
            ConnInfo::parse_url("postgres://app:s%40cret@db.example.com:6543/shop?sslmode=disable")
                .unwrap();
        assert_eq!(info.host, "db.example.com");
        assert_eq!(info.port, 6543);
        assert_eq!(info.user, "app");
        assert_eq!(info.password.as_deref(), Some("s@cret"));
        assert_eq!(info.dbname, "shop");
        assert_eq!(info.ssl_mode, SslMode::Disable);
        assert_eq!(
            info.redacted(),
            "postgres://app:***@db.example.com:6543/shop?sslmode=disable"
        );
        assert!(!format!("{info:?}").contains("cret"));
        assert_eq!(
            ConnInfo::parse_url(&info.to_url_with_password()).unwrap(),
            info
        );
    }

    #[test]
    fn parses_socket_and_defaults() {
        let info = ConnInfo::parse_url("postgresql:///app?host=/tmp/pg&port=5433").unwrap();
        assert!(info.is_socket());
        assert_eq!(
            (info.port, info.user.as_str(), info.dbname.as_str()),
            (5433, "postgres", "app")
        );
        assert_eq!(ConnInfo::parse_url(&info.redacted()).unwrap(), info);
        let info = ConnInfo::parse_url("postgres://[::1]:5432/x").unwrap();
        assert_eq!(info.host, "::1");
    }

    #[test]
    fn errors_never_show_the_password() {
        for url in [
            "postgres://u:hunter2@host:99999/db",
            "postgres://u:hunter2@host/db?bogus=1",
            "mysql://u:hunter2@host/db",
            "postgres://u:hunter2%zz@host/db",
            "postgres://u@host/db?password=hunter2&sslmode=nope",
        ] {
            let error = ConnInfo::parse_url(url).unwrap_err().to_string();
            assert!(!error.contains("hunter2"), "{error}");
        }
        let error = ConnInfo::parse_url("postgres://u:p@host:99999/db").unwrap_err();
        assert!(error.reason.contains("99999"));
    }
}
