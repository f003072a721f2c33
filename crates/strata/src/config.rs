//! `strata.toml`, `.env`, the environment and the command line, resolved
//! into one [`Settings`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use strata_postgres::{ConnInfo, UrlError};

/// The name of the config file looked for in the working directory.
pub const CONFIG_FILE: &str = "strata.toml";

/// `strata.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `postgresql` (default) or `sqlite`.
    pub dialect: Option<String>,
    /// Schema files or folders of `.sql` files, relative to the config file.
    pub schema: Option<OneOrMany>,
    /// The migrations folder (drizzle-kit's `out`), default `drizzle`.
    pub out: Option<String>,
    /// The database, when no flag or environment variable names one.
    pub database_url: Option<String>,
    /// A server strata may create scratch databases on.
    pub shadow_database_url: Option<String>,
    /// The schemas strata manages (default: `public` and every schema the
    /// schema files create).
    pub schemas: Option<Vec<String>>,
    /// Marks the configured database as production: development-only
    /// commands refuse to run.
    pub production: Option<bool>,
    /// Manage the privileges (GRANT/REVOKE) on the objects strata manages.
    pub grants: Option<bool>,
    /// The migrations tracking table.
    pub migrations: Option<MigrationsConfig>,
    /// `[seed]`: counts, generators and fixed data for `strata seed`.
    pub seed: Option<strata_seed::SeedConfig>,
    /// `[bootstrap]`: first-deploy files and the admin user.
    pub bootstrap: Option<crate::bootstrap::BootstrapConfig>,
    /// `[check]`: the safety review's threshold and disabled rules.
    pub check: Option<CheckConfig>,
    /// `[reset]`: how `strata reset` builds the schema again.
    pub reset: Option<ResetConfig>,
}

/// `[reset]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetConfig {
    /// `push` (the schema files) or `migrate` (the migrations folder).
    pub using: Option<crate::reset::ResetUsing>,
}

/// `[check]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// Tables with at least this many rows are large (default 100000).
    pub large_table_rows: Option<u64>,
    /// Rules turned off for the project (`["prefer-text"]`).
    pub disable: Option<Vec<String>>,
}

/// `[migrations]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationsConfig {
    /// Tracking table name (default `__drizzle_migrations`).
    pub table: Option<String>,
    /// Tracking table schema (default `drizzle`).
    pub schema: Option<String>,
    /// `lock_timeout` for each migration (`5s`, `500ms`; `0` waits forever).
    pub lock_timeout: Option<String>,
    /// `statement_timeout` for each migration (`15min`; `0` for none).
    pub statement_timeout: Option<String>,
    /// How often a migration is retried when a lock was not free in time.
    pub retries: Option<u32>,
    /// Take a backup (pg_dump) before applying pending migrations.
    pub backup: Option<bool>,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("could not read config file `{path}`: {source}")]
    #[diagnostic(code(strata::config::read))]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid (syntax, unknown key, wrong type).
    #[error("invalid config file `{path}`: {message}")]
    #[diagnostic(
        code(strata::config::invalid),
        help(
            "known keys: dialect, schema, out, database_url, shadow_database_url, schemas, production, grants, [migrations] (table, schema, lock_timeout, statement_timeout, retries, backup), [check] (large_table_rows, disable), [reset] (using), [seed], [bootstrap]"
        )
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said (with line and column).
        message: String,
    },
    /// A `.env` file could not be parsed.
    #[error("invalid `.env` file `{path}`: {message}")]
    #[diagnostic(code(strata::config::dotenv))]
    DotEnv {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A setting has a value strata cannot use.
    #[error("invalid {setting} (from {source_name}): {reason}")]
    #[diagnostic(code(strata::config::value))]
    Value {
        /// Which setting.
        setting: String,
        /// Where it came from.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// A database URL cannot be used.
    #[error("{source_name}: {error}")]
    #[diagnostic(
        code(strata::config::url),
        help(
            "expected postgres://USER:PASSWORD@HOST:PORT/DATABASE (percent-encode special characters in the password)"
        )
    )]
    Url {
        /// Where it came from.
        source_name: String,
        /// What is wrong.
        error: UrlError,
    },
}

/// The SQL dialect of the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// SQLite (bundled; `dialect = "sqlite"` or a `sqlite:PATH` URL).
    Sqlite,
}

/// Where the target database's settings came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetSource {
    /// `--database-url`.
    Flag,
    /// `DATABASE_URL`.
    DatabaseUrlEnv,
    /// `POSTGRES_HOST`, `POSTGRES_PORT`, … (with the seed's defaults).
    PostgresVars,
    /// `database_url` in the config file.
    Config,
    /// Nothing was configured and the project has its own local cluster
    /// (`strata db start`).
    Local,
    /// Nothing was configured: the seed's defaults.
    Defaults,
}

impl TargetSource {
    /// How to name the source in a message.
    pub fn describe(self) -> &'static str {
        match self {
            TargetSource::Flag => "--database-url",
            TargetSource::DatabaseUrlEnv => "DATABASE_URL",
            TargetSource::PostgresVars => "the POSTGRES_* variables",
            TargetSource::Config => "database_url in strata.toml",
            TargetSource::Local => "the project's local cluster (strata db start)",
            TargetSource::Defaults => {
                "the defaults (POSTGRES_HOST=localhost, POSTGRES_PORT=5432, POSTGRES_DB=abe_stack_dev, POSTGRES_USER=postgres)"
            }
        }
    }
}

/// The tracking table of applied migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingTable {
    /// Its schema (`drizzle`).
    pub schema: String,
    /// Its name (`__drizzle_migrations`).
    pub table: String,
}

/// Everything a command needs, resolved from flags, environment and config.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The project directory (the config file's, else the working one).
    pub root: PathBuf,
    /// The config file used, if any.
    pub config_path: Option<PathBuf>,
    /// The dialect.
    pub dialect: Dialect,
    /// Schema files and folders.
    pub schema_paths: Vec<PathBuf>,
    /// Where the schema paths came from, for messages.
    pub schema_source: &'static str,
    /// The migrations folder.
    pub migrations_dir: PathBuf,
    /// The target database (PostgreSQL; unused with SQLite).
    pub database: ConnInfo,
    /// The SQLite database, with [`Dialect::Sqlite`]: a relative path is
    /// taken from the working directory (flag, environment) or the config
    /// file's directory (`database_url` in strata.toml).
    pub sqlite: Option<strata_sqlite::Target>,
    /// Where its settings came from.
    pub database_source: TargetSource,
    /// A server for scratch databases.
    pub shadow: Option<ConnInfo>,
    /// The schemas strata manages, when configured.
    pub managed_schemas: Option<Vec<String>>,
    /// The tracking table.
    pub tracking: TrackingTable,
    /// Whether the target is a production database.
    pub production: bool,
    /// Whether privileges are managed.
    pub grants: Grants,
    /// `[seed]` of strata.toml.
    pub seed: strata_seed::SeedConfig,
    /// `[bootstrap]` of strata.toml.
    pub bootstrap: crate::bootstrap::BootstrapConfig,
    /// Timeouts and retries of `migrate`.
    pub migrate: MigrateDefaults,
    /// `[check]` of strata.toml.
    pub check: CheckSettings,
    /// `[reset] using` of strata.toml.
    pub reset_using: Option<crate::reset::ResetUsing>,
}

/// `migrate`'s settings from strata.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrateDefaults {
    /// `lock_timeout` (default 10 s; `None` waits forever).
    pub lock_timeout: Option<std::time::Duration>,
    /// `statement_timeout` (default none).
    pub statement_timeout: Option<std::time::Duration>,
    /// Retries after a lock timeout (default 3).
    pub retries: u32,
    /// Take a backup before applying pending migrations (default no).
    pub backup: bool,
}

/// `check`'s settings from strata.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSettings {
    /// Tables with at least this many rows are large.
    pub large_table_rows: u64,
    /// Rules turned off for the project.
    pub disabled: std::collections::BTreeSet<strata_sql::HazardId>,
}

/// Parses `500ms`, `5s`, `15min`, `2h` (a bare number is milliseconds, as
/// in PostgreSQL); `0` means none.
///
/// # Errors
/// Anything else, with what was given.
pub fn parse_duration(text: &str) -> Result<Option<std::time::Duration>, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (like 500ms, 5s, 15min)"))?;
    let millis = match unit.trim() {
        "" | "ms" => value,
        "s" | "sec" => value * 1000.0,
        "min" | "m" => value * 60_000.0,
        "h" => value * 3_600_000.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (use ms, s, min or h)"
            ));
        }
    };
    if millis <= 0.0 {
        return Ok(None);
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "positive and checked above"
    )]
    Ok(Some(
        std::time::Duration::from_millis(millis.round() as u64),
    ))
}

/// Whether strata manages privileges (`grants = true` in strata.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grants {
    /// GRANT and REVOKE until they match the schema files.
    Managed,
    /// Leave privileges alone (the default).
    #[default]
    Ignored,
}

/// What the command line and the environment say, before resolution.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// The working directory.
    pub cwd: PathBuf,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--schema` (repeatable).
    pub schema: Vec<PathBuf>,
    /// `--out`.
    pub out: Option<PathBuf>,
    /// The environment (the process's, over `.env`).
    pub env: BTreeMap<String, String>,
    /// The project's local cluster, when it exists: used when nothing
    /// else names a database.
    pub local: Option<ConnInfo>,
}

/// The project directory: the config file's, else the working directory.
pub fn project_root(inputs: &Inputs, config_path: Option<&Path>) -> PathBuf {
    config_path
        .and_then(Path::parent)
        .map_or_else(|| inputs.cwd.clone(), Path::to_path_buf)
}

/// Reads `.env` in `dir` if it exists.
///
/// # Errors
/// A `.env` that does not parse.
pub fn read_dotenv(dir: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let path = dir.join(".env");
    let mut vars = BTreeMap::new();
    if !path.is_file() {
        return Ok(vars);
    }
    let iter = dotenvy::from_path_iter(&path).map_err(|e| ConfigError::DotEnv {
        path: path.clone(),
        message: e.to_string(),
    })?;
    for item in iter {
        let (key, value) = item.map_err(|e| ConfigError::DotEnv {
            path: path.clone(),
            message: redact_dotenv_error(&e.to_string()),
        })?;
        vars.insert(key, value);
    }
    Ok(vars)
}

/// dotenv parse errors quote the offending line, which may hold a secret.
fn redact_dotenv_error(message: &str) -> String {
    match message.find('\'') {
        Some(at) => format!("{}(line not shown: it may hold a secret)", &message[..at]),
        None => message.to_owned(),
    }
}

/// Finds and parses the config file: `--config` (which must exist), else
/// `strata.toml` in the working directory when present.
///
/// # Errors
/// A missing `--config` file, or one that does not parse.
pub fn load_config(inputs: &Inputs) -> Result<(Option<PathBuf>, Config), ConfigError> {
    let path = if let Some(path) = &inputs.config {
        Some(inputs.cwd.join(path))
    } else {
        let default = inputs.cwd.join(CONFIG_FILE);
        default.is_file().then_some(default)
    };
    let Some(path) = path else {
        return Ok((None, Config::default()));
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: path.clone(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    Ok((Some(path), config))
}

/// Turns inputs and config into settings. The target database is, in
/// order: `--database-url`, `DATABASE_URL`, the `POSTGRES_*` variables
/// (any of them set; the others take the seed's defaults), the config's
/// `database_url`, then the project's local cluster when it exists, then
/// the seed's defaults.
///
/// # Errors
/// A setting with an unusable value, named with its source.
pub fn resolve(
    inputs: &Inputs,
    config_path: Option<PathBuf>,
    config: Config,
) -> Result<Settings, ConfigError> {
    let root = project_root(inputs, config_path.as_deref());
    let config_name = || {
        config_path
            .as_deref()
            .map_or_else(|| CONFIG_FILE.to_owned(), |p| p.display().to_string())
    };
    let configured_dialect = match config.dialect.as_deref() {
        None => None,
        Some("postgresql" | "postgres" | "pg") => Some(Dialect::Postgres),
        Some("sqlite" | "sqlite3") => Some(Dialect::Sqlite),
        Some(other) => {
            return Err(ConfigError::Value {
                setting: "dialect".to_owned(),
                source_name: config_name(),
                reason: format!("unknown dialect `{other}`; expected `postgresql` or `sqlite`"),
            });
        }
    };
    let (dialect, sqlite) =
        sqlite_target(inputs, &root, &config, configured_dialect, &config_name())?;
    let (schema_paths, schema_source) = if inputs.schema.is_empty() {
        let paths = config.schema.map(OneOrMany::into_vec).unwrap_or_default();
        (
            paths.into_iter().map(|p| root.join(p)).collect(),
            "`schema` in strata.toml",
        )
    } else {
        (
            inputs.schema.iter().map(|p| inputs.cwd.join(p)).collect(),
            "--schema",
        )
    };
    let migrations_dir = match &inputs.out {
        Some(out) => inputs.cwd.join(out),
        None => root.join(config.out.as_deref().unwrap_or("drizzle")),
    };
    let url = |source_name: &str, url: &str| {
        ConnInfo::parse_url(url).map_err(|error| ConfigError::Url {
            source_name: source_name.to_owned(),
            error,
        })
    };
    let env = |name: &str| inputs.env.get(name).filter(|v| !v.is_empty());
    let (database, database_source) = if dialect == Dialect::Sqlite {
        let source = if inputs.database_url.is_some() {
            TargetSource::Flag
        } else if env("DATABASE_URL").is_some() {
            TargetSource::DatabaseUrlEnv
        } else {
            TargetSource::Config
        };
        (ConnInfo::defaults(), source)
    } else if let Some(flag) = &inputs.database_url {
        (url("--database-url", flag)?, TargetSource::Flag)
    } else if let Some(value) = env("DATABASE_URL") {
        (url("DATABASE_URL", value)?, TargetSource::DatabaseUrlEnv)
    } else if [
        "POSTGRES_HOST",
        "POSTGRES_PORT",
        "POSTGRES_DB",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
    ]
    .iter()
    .any(|name| env(name).is_some())
    {
        let mut info = ConnInfo::defaults();
        if let Some(host) = env("POSTGRES_HOST") {
            info.host.clone_from(host);
        }
        if let Some(port) = env("POSTGRES_PORT") {
            info.port =
                port.parse()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| ConfigError::Value {
                        setting: "POSTGRES_PORT".to_owned(),
                        source_name: "the environment".to_owned(),
                        reason: format!("`{port}` is not a port number"),
                    })?;
        }
        if let Some(db) = env("POSTGRES_DB") {
            info.dbname.clone_from(db);
        }
        if let Some(user) = env("POSTGRES_USER") {
            info.user.clone_from(user);
        }
        info.password = env("POSTGRES_PASSWORD").cloned();
        (info, TargetSource::PostgresVars)
    } else if let Some(value) = &config.database_url {
        (
            url(&format!("database_url in {}", config_name()), value)?,
            TargetSource::Config,
        )
    } else if let Some(local) = &inputs.local {
        (local.clone(), TargetSource::Local)
    } else {
        (ConnInfo::defaults(), TargetSource::Defaults)
    };
    let shadow = config
        .shadow_database_url
        .as_deref()
        .map(|u| url(&format!("shadow_database_url in {}", config_name()), u))
        .transpose()?;
    let migrations = config.migrations.unwrap_or_default();
    let duration =
        |setting: &str, value: &Option<String>, default: Option<std::time::Duration>| match value {
            None => Ok(default),
            Some(text) => parse_duration(text).map_err(|reason| ConfigError::Value {
                setting: format!("migrations.{setting}"),
                source_name: config_name(),
                reason,
            }),
        };
    let migrate = MigrateDefaults {
        lock_timeout: duration(
            "lock_timeout",
            &migrations.lock_timeout,
            Some(std::time::Duration::from_secs(10)),
        )?,
        statement_timeout: duration("statement_timeout", &migrations.statement_timeout, None)?,
        retries: migrations.retries.unwrap_or(3),
        backup: migrations.backup.unwrap_or(false),
    };
    let check_config = config.check.unwrap_or_default();
    let mut disabled = std::collections::BTreeSet::new();
    for rule in check_config.disable.unwrap_or_default() {
        let id = strata_sql::HazardId::parse(&rule).ok_or_else(|| ConfigError::Value {
            setting: "check.disable".to_owned(),
            source_name: config_name(),
            reason: format!(
                "unknown rule `{rule}`; the rules are: {}",
                strata_sql::HazardId::ALL
                    .iter()
                    .map(|id| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
        disabled.insert(id);
    }
    let check = CheckSettings {
        large_table_rows: check_config.large_table_rows.unwrap_or(100_000),
        disabled,
    };
    let production = config.production.unwrap_or(false)
        || env("STRATA_ENV").is_some_and(|v| v.eq_ignore_ascii_case("production"));
    Ok(Settings {
        root,
        config_path,
        dialect,
        sqlite,
        schema_paths,
        schema_source,
        migrations_dir,
        database,
        database_source,
        shadow,
        managed_schemas: config.schemas,
        tracking: TrackingTable {
            schema: migrations.schema.unwrap_or_else(|| "drizzle".to_owned()),
            table: migrations
                .table
                .unwrap_or_else(|| "__drizzle_migrations".to_owned()),
        },
        production,
        seed: config.seed.unwrap_or_default(),
        bootstrap: config.bootstrap.unwrap_or_default(),
        grants: if config.grants.unwrap_or(false) {
            Grants::Managed
        } else {
            Grants::Ignored
        },
        migrate,
        check,
        reset_using: config.reset.and_then(|r| r.using),
    })
}

/// The dialect, and the SQLite database when it is SQLite: the first URL
/// of `--database-url`, `DATABASE_URL` and `database_url` in strata.toml
/// decides (a `sqlite:` URL is SQLite); `dialect = "sqlite"` needs one.
fn sqlite_target(
    inputs: &Inputs,
    root: &Path,
    config: &Config,
    configured: Option<Dialect>,
    config_name: &str,
) -> Result<(Dialect, Option<strata_sqlite::Target>), ConfigError> {
    let env_url = inputs.env.get("DATABASE_URL").filter(|v| !v.is_empty());
    let url = inputs
        .database_url
        .as_ref()
        .map(|u| (u, "--database-url", inputs.cwd.as_path()))
        .or_else(|| env_url.map(|u| (u, "DATABASE_URL", inputs.cwd.as_path())))
        .or_else(|| {
            config
                .database_url
                .as_ref()
                .map(|u| (u, "database_url", root))
        });
    let error = |source_name: &str, reason: String| ConfigError::Value {
        setting: "dialect".to_owned(),
        source_name: source_name.to_owned(),
        reason,
    };
    match url {
        Some((url, source, base)) if strata_sqlite::Target::is_sqlite_url(url) => {
            if configured == Some(Dialect::Postgres) {
                return Err(error(
                    config_name,
                    format!("`dialect = \"postgresql\"` but {source} is the SQLite URL `{url}`"),
                ));
            }
            let target = strata_sqlite::Target::parse_url(url).map_err(|e| ConfigError::Value {
                setting: source.to_owned(),
                source_name: source.to_owned(),
                reason: e.to_string(),
            })?;
            Ok((Dialect::Sqlite, Some(target.relative_to(base))))
        }
        Some((_, source, _)) if configured == Some(Dialect::Sqlite) => Err(error(
            config_name,
            format!("`dialect = \"sqlite\"` needs a sqlite:PATH URL, and {source} is not one"),
        )),
        None if configured == Some(Dialect::Sqlite) => Err(error(
            config_name,
            "`dialect = \"sqlite\"` needs the database file: set database_url = \"sqlite:app.db\" in strata.toml, or pass --database-url sqlite:PATH".to_owned(),
        )),
        _ => Ok((Dialect::Postgres, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(env: &[(&str, &str)]) -> Inputs {
        Inputs {
            cwd: PathBuf::from("/project"),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Inputs::default()
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        let error =
            toml::from_str::<Config>("dialect = \"postgresql\"\nshema = \"x\"\n").unwrap_err();
        assert!(
            error.to_string().contains("unknown field `shema`"),
            "{error}"
        );
        let error = toml::from_str::<Config>("[migrations]\ntabel = \"x\"\n").unwrap_err();
        assert!(error.to_string().contains("`tabel`"), "{error}");
    }

    #[test]
    fn sqlite_from_the_url_or_the_dialect() {
        let s = resolve(
            &Inputs {
                database_url: Some("sqlite:app.db".into()),
                ..inputs(&[])
            },
            None,
            Config::default(),
        )
        .unwrap();
        assert_eq!(s.dialect, Dialect::Sqlite);
        assert_eq!(
            s.sqlite,
            Some(strata_sqlite::Target::File("/project/app.db".into()))
        );
        let config = Config {
            dialect: Some("sqlite".into()),
            database_url: Some("sqlite:data/dev.db".into()),
            ..Config::default()
        };
        let s = resolve(
            &inputs(&[]),
            Some(PathBuf::from("/root/strata.toml")),
            config,
        )
        .unwrap();
        assert_eq!(
            s.sqlite,
            Some(strata_sqlite::Target::File("/root/data/dev.db".into()))
        );
        let missing = Config {
            dialect: Some("sqlite".into()),
            ..Config::default()
        };
        let error = resolve(&inputs(&[]), None, missing)
            .unwrap_err()
            .to_string();
        assert!(error.contains("sqlite:app.db"), "{error}");
        let mismatch = Config {
            dialect: Some("sqlite".into()),
            ..Config::default()
        };
        let error = resolve(
            &inputs(&[("DATABASE_URL", "postgres://u:secret@h/d")]),
            None,
            mismatch,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("DATABASE_URL is not one") && !error.contains("secret"),
            "{error}"
        );
        let s = resolve(&inputs(&[]), None, Config::default()).unwrap();
        assert_eq!((s.dialect, s.sqlite), (Dialect::Postgres, None));
    }

    #[test]
    fn database_precedence() {
        let config = Config {
            database_url: Some("postgres://c@confighost/c".into()),
            ..Config::default()
        };
        let s = resolve(&inputs(&[]), None, config.clone()).unwrap();
        assert_eq!(
            (s.database.host.as_str(), s.database_source),
            ("confighost", TargetSource::Config)
        );
        let s = resolve(&inputs(&[("POSTGRES_DB", "other")]), None, config.clone()).unwrap();
        assert_eq!(
            (
                s.database.host.as_str(),
                s.database.dbname.as_str(),
                s.database_source
            ),
            ("localhost", "other", TargetSource::PostgresVars)
        );
        let s = resolve(
            &inputs(&[
                ("DATABASE_URL", "postgres://e@envhost/e"),
                ("POSTGRES_DB", "x"),
            ]),
            None,
            config.clone(),
        )
        .unwrap();
        assert_eq!(s.database.host, "envhost");
        let mut flagged = inputs(&[("DATABASE_URL", "postgres://e@envhost/e")]);
        flagged.database_url = Some("postgres://f@flaghost/f".into());
        assert_eq!(
            resolve(&flagged, None, config).unwrap().database.host,
            "flaghost"
        );
        let s = resolve(&inputs(&[]), None, Config::default()).unwrap();
        assert_eq!(
            s.database.redacted(),
            "postgres://postgres@localhost:5432/abe_stack_dev"
        );
    }

    #[test]
    fn bad_values_name_their_source_without_secrets() {
        let error = resolve(
            &inputs(&[("DATABASE_URL", "postgres://u:hunter2@h:0/db")]),
            None,
            Config::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("DATABASE_URL: "), "{error}");
        assert!(!error.contains("hunter2"));
        let error = resolve(
            &inputs(&[("POSTGRES_PORT", "fivefour")]),
            None,
            Config::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("POSTGRES_PORT"), "{error}");
    }

    #[test]
    fn paths_are_relative_to_the_config_file() {
        let config = Config {
            schema: Some(OneOrMany::One("schema".into())),
            out: Some("migrations".into()),
            ..Config::default()
        };
        let s = resolve(
            &inputs(&[]),
            Some(PathBuf::from("/elsewhere/app/strata.toml")),
            config,
        )
        .unwrap();
        assert_eq!(s.schema_paths, [PathBuf::from("/elsewhere/app/schema")]);
        assert_eq!(s.migrations_dir, PathBuf::from("/elsewhere/app/migrations"));
    }

    #[test]
    fn seed_and_bootstrap_sections() {
        let config: Config = toml::from_str(
            "[seed]\nseed = 7\ncount = 5\nfiles = [\"seed/roles.sql\"]\n[seed.tables.users]\ncount = 3\ncolumns.bio = \"paragraph\"\ncolumns.age = { min = 18, max = 65 }\n[bootstrap]\nfiles = \"bootstrap\"\n[bootstrap.admin]\ntable = \"accounts\"\n",
        )
        .unwrap();
        let seed = config.seed.unwrap();
        assert_eq!((seed.seed, seed.count), (Some(7), Some(5)));
        let users = &seed.tables["users"];
        assert_eq!(users.count, Some(3));
        assert_eq!(users.columns["bio"].generator.as_deref(), Some("paragraph"));
        assert_eq!(
            users.columns["age"].max,
            Some(strata_seed::Literal::Int(65))
        );
        let admin = config.bootstrap.unwrap().admin.unwrap();
        assert_eq!(admin.table.as_deref(), Some("accounts"));
        for bad in [
            "[seed]\nsede = 1\n",
            "[seed.tables.users]\ncolumns.bio = { generater = \"x\" }\n",
            "[bootstrap.admin]\ntabel = \"x\"\n",
        ] {
            let error = toml::from_str::<Config>(bad).unwrap_err().to_string();
            assert!(error.contains("unknown field"), "{bad}: {error}");
        }
    }

    #[test]
    fn production_from_environment() {
        let s = resolve(
            &inputs(&[("STRATA_ENV", "production")]),
            None,
            Config::default(),
        )
        .unwrap();
        assert!(s.production);
    }
}
