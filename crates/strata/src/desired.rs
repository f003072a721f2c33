//! The desired state: the schema files loaded into a scratch database and
//! introspected, cached by the hash of their text and the server version.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use strata_model::Catalog;
use strata_postgres::{
    Binaries, ClusterOptions, ConnInfo, Connection, MissingRoles, SourceFile, TempCluster,
    load_schema_with_progress,
};

use crate::config::Settings;
use crate::{Error, Event, Observer};

/// Reads every schema file: the configured files, and the `.sql` files in
/// configured folders (recursively, in path order).
///
/// # Errors
/// No schema paths, or a path that does not exist or cannot be read.
pub fn read_schema_files(settings: &Settings) -> Result<Vec<SourceFile>, Error> {
    if settings.schema_paths.is_empty() {
        return Err(Error::NoSchemaFiles);
    }
    let mut paths = Vec::new();
    for path in &settings.schema_paths {
        let meta = fs::metadata(path).map_err(|source| Error::SchemaPath {
            path: path.clone(),
            from: settings.schema_source,
            source,
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            collect_sql(path, &mut found).map_err(|source| Error::SchemaPath {
                path: path.clone(),
                from: settings.schema_source,
                source,
            })?;
            if found.is_empty() {
                return Err(Error::SchemaPath {
                    path: path.clone(),
                    from: settings.schema_source,
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "the folder has no .sql files",
                    ),
                });
            }
            found.sort();
            paths.extend(found);
        } else {
            paths.push(path.clone());
        }
    }
    paths.dedup();
    paths
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).map_err(|source| Error::SchemaPath {
                path: path.clone(),
                from: settings.schema_source,
                source,
            })?;
            Ok(SourceFile {
                path: display_path(&settings.root, &path),
                text,
            })
        })
        .collect()
}

fn collect_sql(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_sql(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
    Ok(())
}

/// The renames that `@renamed from=OLD` comments in the schema files ask
/// for (unqualified tables are taken to be in `public`).
pub fn rename_annotations(files: &[SourceFile]) -> Vec<strata_diff::RenameRequest> {
    use strata_syntax::Renamed;
    let mut requests = Vec::new();
    for file in files {
        for annotation in strata_syntax::rename_annotations(&file.text) {
            let (from, to) = match annotation.renamed {
                Renamed::Table { schema, from, to } => (
                    vec![schema.unwrap_or_else(|| "public".to_owned()), from],
                    to,
                ),
                Renamed::Column {
                    schema,
                    table,
                    from,
                    to,
                } => (
                    vec![schema.unwrap_or_else(|| "public".to_owned()), table, from],
                    to,
                ),
            };
            requests.push(strata_diff::RenameRequest::annotation(
                from,
                to,
                &file.path,
                annotation.line,
            ));
        }
    }
    requests
}

/// A path as the user should see it: relative to the project when inside it.
pub fn display_path(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Where the desired state came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum DesiredSource {
    /// The cache (the schema files did not change).
    Cache,
    /// A scratch database.
    Scratch {
        /// Which kind (`throwaway cluster`, `shadow database`, `temporary database on the target server`).
        place: String,
        /// Statements loaded.
        statements: usize,
        /// Time to load and read it back.
        #[serde(skip)]
        elapsed: Duration,
    },
}

/// The schema files as a catalog.
#[derive(Debug, Clone)]
pub struct DesiredState {
    /// The catalog.
    pub catalog: Catalog,
    /// Where it came from.
    pub source: DesiredSource,
}

/// Whether to use the cache of desired states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CachePolicy {
    /// Use it when it matches the inputs.
    #[default]
    Use,
    /// Rebuild, and store the result.
    Refresh,
}

#[derive(Serialize, Deserialize)]
struct CacheEntry {
    server_version_num: u32,
    catalog: Catalog,
}

fn cache_key(files: &[SourceFile], major: u32) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"strata desired state v1\0");
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(major.to_le_bytes());
    for file in files {
        hasher.update(file.path.as_bytes());
        hasher.update(b"\0");
        hasher.update(file.text.as_bytes());
        hasher.update(b"\0");
    }
    let digest = hasher.finalize();
    digest.iter().take(16).fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// The project's cache folder (`.strata/cache`).
pub fn project_cache_dir(settings: &Settings) -> PathBuf {
    settings.root.join(".strata").join("cache")
}

/// Builds (or reads from the cache) the catalog the schema files describe,
/// on a server of the target's major version when one is available.
///
/// # Errors
/// A schema file the database refuses (with file and line), or no place to
/// load it.
pub fn desired_state(
    settings: &Settings,
    files: &[SourceFile],
    major: u32,
    cache: CachePolicy,
    observer: &mut dyn Observer,
) -> Result<DesiredState, Error> {
    let key = cache_key(files, major);
    let cache_file = project_cache_dir(settings).join(format!("desired-{key}.json"));
    if cache == CachePolicy::Use
        && let Ok(text) = fs::read_to_string(&cache_file)
        && let Ok(entry) = serde_json::from_str::<CacheEntry>(&text)
        && entry.server_version_num / 10000 == major
    {
        return Ok(DesiredState {
            catalog: entry.catalog,
            source: DesiredSource::Cache,
        });
    }
    let started = Instant::now();
    let mut scratch = Scratch::open(settings, major, observer)?;
    observer.event(Event::Stage(format!(
        "loading {} schema file(s) into {}",
        files.len(),
        scratch.place
    )));
    let mut conn = Connection::connect(&scratch.db)?;
    let roles = if scratch.is_throwaway() {
        MissingRoles::Create
    } else {
        MissingRoles::Fail
    };
    let report = load_schema_with_progress(&mut conn, files, roles, &mut |done, total| {
        observer.event(Event::Progress { done, total });
    })?;
    let (catalog, server) = conn.introspect()?;
    drop(conn);
    scratch.close();
    let place = scratch.place.clone();
    drop(scratch);
    // The cache is an optimisation: failing to write it is not an error.
    if let Some(dir) = cache_file.parent()
        && fs::create_dir_all(dir).is_ok()
    {
        let entry = CacheEntry {
            server_version_num: server.server_version_num,
            catalog,
        };
        if let Ok(json) = serde_json::to_string(&entry) {
            let staging = cache_file.with_extension(format!("tmp{}", std::process::id()));
            if fs::write(&staging, json).is_ok() {
                let _ = fs::rename(&staging, &cache_file);
            }
        }
        prune_cache(dir, "desired-", 8);
        return Ok(DesiredState {
            catalog: entry.catalog,
            source: DesiredSource::Scratch {
                place,
                statements: report.statements,
                elapsed: started.elapsed(),
            },
        });
    }
    Ok(DesiredState {
        catalog,
        source: DesiredSource::Scratch {
            place,
            statements: report.statements,
            elapsed: started.elapsed(),
        },
    })
}

/// Keeps the `keep` newest cache files whose name starts with `prefix`.
pub(crate) fn prune_cache(dir: &Path, prefix: &str, keep: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    for (_, path) in files.into_iter().skip(keep) {
        let _ = fs::remove_file(path);
    }
}

/// A scratch database, dropped (with its cluster, if any) when closed.
pub struct Scratch {
    /// How to reach it.
    pub db: ConnInfo,
    admin: Option<ConnInfo>,
    /// What it is, for messages.
    pub place: String,
    cluster: Option<TempCluster>,
}

impl Scratch {
    /// Opens a scratch database: on the configured shadow server; else on
    /// a throwaway cluster of the target's major version; else on the
    /// target server; else on a throwaway cluster of another version.
    ///
    /// # Errors
    /// When none of these can be used.
    pub fn open(
        settings: &Settings,
        major: u32,
        observer: &mut dyn Observer,
    ) -> Result<Scratch, Error> {
        if let Some(shadow) = &settings.shadow {
            return Scratch::on_server(shadow, "the shadow database server");
        }
        let mut reasons = Vec::new();
        // The project's own cluster, when it runs, saves starting another.
        if let Some(local) = crate::local::LocalCluster::find(&settings.root)
            && local.state() == crate::local::LocalState::Running
        {
            let admin = ConnInfo {
                dbname: "postgres".to_owned(),
                ..local.conn_info()
            };
            if let Ok(mut conn) = Connection::connect(&admin)
                && conn.server_version_num().is_ok_and(|v| v / 10000 == major)
            {
                drop(conn);
                match Scratch::on_server(
                    &admin,
                    "a temporary database on the project's local cluster",
                ) {
                    Ok(scratch) => return Ok(scratch),
                    Err(e) => reasons.push(format!("local cluster: {e}")),
                }
            }
        }
        let binaries = Binaries::find();
        if let Ok(binaries) = &binaries
            && binaries.major == major
        {
            observer.event(Event::Stage(format!(
                "starting a throwaway PostgreSQL {} cluster",
                binaries.major
            )));
            match Scratch::on_cluster() {
                Ok(scratch) => return Ok(scratch),
                Err(e) => reasons.push(format!("throwaway cluster: {e}")),
            }
        }
        match Scratch::on_server(
            &settings.database,
            "a temporary database on the target server",
        ) {
            Ok(scratch) => return Ok(scratch),
            Err(e) => reasons.push(format!("temporary database on the target server: {e}")),
        }
        match binaries {
            Ok(binaries) if binaries.major != major => {
                observer.event(Event::Warning(format!(
                    "the target runs PostgreSQL {} but the installed binaries are {}: comparing catalogs across versions may show differences that are not there",
                    major,
                    binaries.major
                )));
                match Scratch::on_cluster() {
                    Ok(scratch) => return Ok(scratch),
                    Err(e) => reasons.push(format!("throwaway cluster: {e}")),
                }
            }
            Ok(_) => {}
            Err(e) => reasons.push(format!("throwaway cluster: {e}")),
        }
        Err(Error::NoScratch {
            reasons: reasons.join("; "),
        })
    }

    fn on_cluster() -> Result<Scratch, Error> {
        let cluster = TempCluster::start(&ClusterOptions::default())?;
        Ok(Scratch {
            db: cluster.conn_info("postgres"),
            admin: None,
            place: "a throwaway cluster".to_owned(),
            cluster: Some(cluster),
        })
    }

    fn on_server(server: &ConnInfo, place: &str) -> Result<Scratch, Error> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("strata_scratch_{}_{nanos:x}", std::process::id());
        let admin = server.clone();
        let mut conn = Connection::connect(&admin)?;
        let strategy = if conn.server_version_num()? >= 150_000 {
            " STRATEGY FILE_COPY"
        } else {
            ""
        };
        conn.execute(&format!(
            "CREATE DATABASE {} TEMPLATE template0{strategy}",
            strata_syntax::quote_ident(&name)
        ))?;
        Ok(Scratch {
            db: admin.with_dbname(&name),
            admin: Some(admin),
            place: place.to_owned(),
            cluster: None,
        })
    }

    /// Whether it is a throwaway cluster of strata's own (where creating a
    /// role the schema files name harms nobody).
    pub fn is_throwaway(&self) -> bool {
        self.cluster.is_some()
    }

    /// Drops the database (or stops the cluster).
    pub fn close(&mut self) {
        if let Some(admin) = self.admin.take()
            && let Ok(mut conn) = Connection::connect(&admin)
        {
            let name = strata_syntax::quote_ident(&self.db.dbname);
            if conn
                .execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .is_err()
            {
                let _ = conn.execute(&format!("DROP DATABASE IF EXISTS {name}"));
            }
        }
        self.cluster = None;
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.close();
    }
}
