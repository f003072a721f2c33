//! First-deploy data: bootstrap SQL files applied once each (tracked in
//! `drizzle.__strata_bootstrap`), and the first admin user with a
//! generated password.
//!
//! ```toml
//! [bootstrap]
//! files = ["bootstrap"]            # .sql files or folders of them, by name (default: bootstrap/ when present)
//!
//! [bootstrap.admin]                # these are the defaults (the example app's users table)
//! table = "users"                  # or "schema.table"
//! email_column = "email"
//! password_column = "password_hash"
//! role_column = "role"             # "" for none
//! role = "admin"
//! email = "admin@example.com"
//! ```

use std::fmt;
use std::io::Read as _;
use std::path::PathBuf;
use std::time::Instant;

use argon2::password_hash::{PasswordHasher as _, SaltString};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use strata_postgres::{Connection, PgError};
use strata_syntax::{quote_ident, quote_literal, quote_qualified};

use crate::config::OneOrMany;
use crate::{Error, Event, Observer, Settings};

/// The table that records applied bootstrap files, in the tracking schema.
pub const BOOTSTRAP_TABLE: &str = "__strata_bootstrap";

/// `[bootstrap]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapConfig {
    /// SQL files or folders of them (default: `bootstrap/` when present).
    pub files: Option<OneOrMany>,
    /// Where the admin user goes.
    pub admin: Option<AdminConfig>,
}

/// `[bootstrap.admin]`: the table and columns of the admin user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// The users table (`users`, or `schema.users`).
    pub table: Option<String>,
    /// The column holding the email (`email`).
    pub email_column: Option<String>,
    /// The column holding the argon2id PHC hash (`password_hash`).
    pub password_column: Option<String>,
    /// The column holding the role (`role`; empty for none).
    pub role_column: Option<String>,
    /// The admin's role (`admin`).
    pub role: Option<String>,
    /// The admin's email when `--email` is not given.
    pub email: Option<String>,
}

/// Bootstrap files and the admin user.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum BootstrapError {
    /// A bootstrap path cannot be read.
    #[error("bootstrap file `{path}`: {source}")]
    #[diagnostic(
        code(strata::bootstrap::read),
        help("check [bootstrap] files in strata.toml (paths are relative to it)")
    )]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A bootstrap file failed; it is not recorded and nothing of it is kept.
    #[error("bootstrap file `{file}` failed ({applied} applied before it): {error}")]
    #[diagnostic(code(strata::bootstrap::failed))]
    Failed {
        /// The file.
        file: String,
        /// Files applied by this run before it.
        applied: usize,
        /// What the server said.
        error: PgError,
        /// What to do.
        #[help]
        help: Option<String>,
    },
    /// The admin user already exists.
    #[error("an account with email `{email}` already exists in `{table}`")]
    #[diagnostic(
        code(strata::refused::admin_exists),
        help("pass --rotate to give it a new password (the old one stops working)")
    )]
    AdminExists {
        /// The email.
        email: String,
        /// The users table.
        table: String,
    },
    /// The configured users table or a column is missing.
    #[error("the admin user goes into `{table}`, but {problem}")]
    #[diagnostic(
        code(strata::bootstrap::admin_table),
        help(
            "push or migrate the schema first, or name the table and columns in [bootstrap.admin] (table, email_column, password_column, role_column)"
        )
    )]
    AdminTable {
        /// The table as configured.
        table: String,
        /// What is missing.
        problem: String,
    },
    /// The email is not an email address.
    #[error("`{email}` is not an email address")]
    #[diagnostic(code(strata::bootstrap::email), help("pass --email NAME@DOMAIN"))]
    Email {
        /// What was given.
        email: String,
    },
    /// The operating system's random generator failed.
    #[error("could not read the operating system's secure random generator: {0}")]
    #[diagnostic(code(strata::bootstrap::random))]
    Random(String),
}

/// What `bootstrap` did.
#[derive(Debug, Clone, Default)]
pub struct BootstrapReport {
    /// Files applied now, by name.
    pub applied: Vec<String>,
    /// Files applied before (skipped).
    pub already: Vec<String>,
    /// Files applied before whose text has changed since (skipped: a
    /// bootstrap file runs once).
    pub edited: Vec<String>,
}

/// The bootstrap files, by their name relative to the project.
///
/// # Errors
/// A configured path that cannot be read.
pub fn bootstrap_files(settings: &Settings) -> Result<Vec<(String, PathBuf)>, Error> {
    let paths: Vec<PathBuf> = match &settings.bootstrap.files {
        Some(OneOrMany::One(file)) => vec![settings.root.join(file)],
        Some(OneOrMany::Many(files)) => files.iter().map(|p| settings.root.join(p)).collect(),
        None => {
            let default = settings.root.join("bootstrap");
            if default.is_dir() {
                vec![default]
            } else {
                Vec::new()
            }
        }
    };
    let mut files = Vec::new();
    for path in paths {
        let read = |source| BootstrapError::Read {
            path: path.clone(),
            source,
        };
        let meta = std::fs::metadata(&path).map_err(read)?;
        if meta.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(read)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "sql"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path);
        }
    }
    Ok(files
        .into_iter()
        .map(|p| (crate::desired::display_path(&settings.root, &p), p))
        .collect())
}

/// Applies every bootstrap file not applied before, each in its own
/// transaction together with its record, under an advisory lock so that
/// concurrent deploys apply each file once.
///
/// # Errors
/// An unreadable file, or one the server rejects (nothing of it is kept;
/// files before it stay applied).
pub fn bootstrap(
    settings: &Settings,
    conn: &mut Connection,
    observer: &mut dyn Observer,
) -> Result<BootstrapReport, Error> {
    let files = bootstrap_files(settings)?;
    let mut report = BootstrapReport::default();
    if files.is_empty() {
        return Ok(report);
    }
    let schema = &settings.tracking.schema;
    let table = quote_qualified(schema, BOOTSTRAP_TABLE);
    conn.execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema_q};
         CREATE TABLE IF NOT EXISTS {table} (name text PRIMARY KEY, hash text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
        schema_q = quote_ident(schema)
    ))?;
    for (name, path) in files {
        let text = std::fs::read_to_string(&path).map_err(|source| BootstrapError::Read {
            path: path.clone(),
            source,
        })?;
        let hash = hex(&Sha256::digest(text.as_bytes()));
        conn.execute("BEGIN; SELECT pg_advisory_xact_lock(hashtext('strata bootstrap'))")?;
        let recorded = conn.query_text(&format!(
            "SELECT hash FROM {table} WHERE name = {}",
            quote_literal(&name)
        ));
        let recorded = match recorded {
            Ok(rows) => rows
                .into_iter()
                .next()
                .and_then(|r| r.into_iter().next().flatten()),
            Err(e) => {
                let _ = conn.execute("ROLLBACK");
                return Err(e.into());
            }
        };
        if let Some(old) = recorded {
            conn.execute("COMMIT")?;
            if old == hash {
                report.already.push(name);
            } else {
                observer.event(Event::Warning(format!(
                    "bootstrap file `{name}` changed since it was applied; it is not run again (bootstrap files run once: add a new file instead)"
                )));
                report.edited.push(name);
            }
            continue;
        }
        observer.event(Event::Stage(format!("applying bootstrap file {name}")));
        let started = Instant::now();
        let applied = conn.execute(&text).and_then(|()| {
            conn.execute(&format!(
                "INSERT INTO {table} (name, hash) VALUES ({}, {}); COMMIT",
                quote_literal(&name),
                quote_literal(&hash)
            ))
        });
        if let Err(error) = applied {
            let _ = conn.execute("ROLLBACK");
            return Err(BootstrapError::Failed {
                file: name,
                applied: report.applied.len(),
                help: error
                    .database_error()
                    .and_then(strata_postgres::DatabaseError::strata_hint)
                    .map(str::to_owned)
                    .or_else(|| {
                        Some(
                            "fix the file and run `strata bootstrap` again: it was not recorded"
                                .to_owned(),
                        )
                    }),
                error,
            }
            .into());
        }
        observer.event(Event::Stage(format!(
            "{name} applied in {:.2} s",
            started.elapsed().as_secs_f64()
        )));
        report.applied.push(name);
    }
    Ok(report)
}

/// Create the admin, or give an existing one a new password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminMode {
    /// Refuse when the account exists.
    Create,
    /// Replace the password of the existing account (or create it).
    Rotate,
}

/// A generated password: shown once, never in `Debug`.
pub struct Password(String);

impl Password {
    /// The password, to show the user once.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// The admin's credentials, to show once.
#[derive(Debug)]
pub struct AdminCredentials {
    /// The email.
    pub email: String,
    /// The generated password.
    pub password: Password,
    /// Whether an existing account got a new password.
    pub rotated: bool,
    /// The table it is in.
    pub table: String,
}

/// Characters of generated passwords: letters and digits, easy to copy.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of generated passwords: 24 characters of 62 = 142 bits.
pub const PASSWORD_LENGTH: usize = 24;

/// Bytes from the operating system's secure random generator.
fn os_random(buf: &mut [u8]) -> Result<(), BootstrapError> {
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(|e| BootstrapError::Random(e.to_string()))
}

/// `len` characters from `alphabet`, uniformly (rejection sampling).
fn random_text(len: usize, alphabet: &[u8]) -> Result<String, BootstrapError> {
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        os_random(&mut buf)?;
        for &b in &buf {
            if usize::from(b) < limit && out.len() < len {
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            }
        }
    }
    Ok(out)
}

/// A new random password (at least 128 bits from the OS generator).
///
/// # Errors
/// The random generator cannot be read.
pub fn generate_password() -> Result<Password, Error> {
    Ok(Password(random_text(PASSWORD_LENGTH, ALPHABET)?))
}

/// The argon2id PHC string of a password (m=19456 KiB, t=2, p=1: the
/// OWASP minimum), with a random salt of 22 letters and digits (131 bits;
/// printable, so that other argon2 tools can be given it).
///
/// # Errors
/// The random generator cannot be read.
pub fn hash_password(password: &str) -> Result<String, Error> {
    let salt_text = random_text(22, ALPHABET)?;
    let salt = SaltString::encode_b64(salt_text.as_bytes())
        .map_err(|e| BootstrapError::Random(e.to_string()))?;
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| BootstrapError::Random(e.to_string()))?;
    Ok(hash.to_string())
}

/// Creates the admin user (or, with [`AdminMode::Rotate`], gives the
/// existing one a new password) in the configured table. The password is
/// generated here and returned once; only its hash is stored, sent as a
/// query parameter so it is not in the statement text.
///
/// # Errors
/// A missing table or column, an account that exists (without rotate), or
/// the server's error.
pub fn create_admin(
    settings: &Settings,
    conn: &mut Connection,
    email: Option<&str>,
    mode: AdminMode,
) -> Result<AdminCredentials, Error> {
    let config = settings.bootstrap.admin.clone().unwrap_or_default();
    let table_name = config.table.unwrap_or_else(|| "users".to_owned());
    let email_column = config.email_column.unwrap_or_else(|| "email".to_owned());
    let password_column = config
        .password_column
        .unwrap_or_else(|| "password_hash".to_owned());
    let role_column = config.role_column.unwrap_or_else(|| "role".to_owned());
    let role = config.role.unwrap_or_else(|| "admin".to_owned());
    let email = email
        .map(str::to_owned)
        .or(config.email)
        .unwrap_or_else(|| "admin@example.com".to_owned())
        .trim()
        .to_lowercase();
    if !valid_email(&email) {
        return Err(BootstrapError::Email { email }.into());
    }
    let (schema, table) = match table_name.split_once('.') {
        Some((s, t)) => (s.to_owned(), t.to_owned()),
        None => ("public".to_owned(), table_name.clone()),
    };
    // The table and columns must exist: say which is missing.
    let columns = conn.query_text(&format!(
        "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = {} AND c.relname = {} AND a.attnum > 0 AND NOT a.attisdropped",
        quote_literal(&schema),
        quote_literal(&table)
    ))?;
    let columns: Vec<String> = columns
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect();
    let problem = |problem: String| BootstrapError::AdminTable {
        table: table_name.clone(),
        problem,
    };
    if columns.is_empty() {
        return Err(problem("that table does not exist".to_owned()).into());
    }
    let wanted = [&email_column, &password_column]
        .into_iter()
        .chain((!role_column.is_empty()).then_some(&role_column));
    for column in wanted {
        if !columns.contains(column) {
            return Err(problem(format!("it has no column `{column}`")).into());
        }
    }
    let qualified = quote_qualified(&schema, &table);
    let password = generate_password()?;
    let hash = hash_password(password.reveal())?;
    conn.execute("BEGIN")?;
    let result = (|| -> Result<bool, Error> {
        let existing = conn.query_text(&format!(
            "SELECT 1 FROM {qualified} WHERE {} = {} FOR UPDATE",
            quote_ident(&email_column),
            quote_literal(&email)
        ))?;
        let role_set = if role_column.is_empty() {
            String::new()
        } else {
            format!(", {} = {}", quote_ident(&role_column), quote_literal(&role))
        };
        if existing.is_empty() {
            let (role_col, role_val) = if role_column.is_empty() {
                (String::new(), String::new())
            } else {
                (
                    format!(", {}", quote_ident(&role_column)),
                    format!(", {}", quote_literal(&role)),
                )
            };
            conn.execute_params(
                &format!(
                    "INSERT INTO {qualified} ({}, {}{role_col}) VALUES ($1::text, $2::text{role_val})",
                    quote_ident(&email_column),
                    quote_ident(&password_column)
                ),
                &[&email, &hash],
            )?;
            Ok(false)
        } else if mode == AdminMode::Rotate {
            conn.execute_params(
                &format!(
                    "UPDATE {qualified} SET {} = $2::text{role_set} WHERE {} = $1::text",
                    quote_ident(&password_column),
                    quote_ident(&email_column)
                ),
                &[&email, &hash],
            )?;
            Ok(true)
        } else {
            Err(BootstrapError::AdminExists {
                email: email.clone(),
                table: table_name.clone(),
            }
            .into())
        }
    })();
    match result {
        Ok(rotated) => {
            conn.execute("COMMIT")?;
            Ok(AdminCredentials {
                email,
                password,
                rotated,
                table: table_name,
            })
        }
        Err(error) => {
            let _ = conn.execute("ROLLBACK");
            Err(error)
        }
    }
}

fn valid_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
        }
        None => false,
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_random_and_alphanumeric() {
        let a = generate_password().unwrap();
        let b = generate_password().unwrap();
        assert_eq!(a.reveal().len(), PASSWORD_LENGTH);
        assert!(a.reveal().bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.reveal(), b.reveal());
        // 62^24 > 2^128.
        assert!(f64::from(u32::try_from(PASSWORD_LENGTH).unwrap()) * 62f64.log2() >= 128.0);
        assert_eq!(format!("{a:?}"), "Password(***)");
    }

    #[test]
    fn hashes_are_argon2id_phc_strings() {
        use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
        let hash = hash_password("correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(
            argon2::Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            argon2::Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err()
        );
    }

    #[test]
    fn emails() {
        assert!(valid_email("admin@example.com"));
        assert!(!valid_email("admin"));
        assert!(!valid_email("@example.com"));
        assert!(!valid_email("a b@example.com"));
    }
}
