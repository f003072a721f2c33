//! What migrations produce: run them in order on an empty scratch database
//! and read its catalog (cached by the files' hashes, like the desired
//! state). Hand-written and custom migrations count, which snapshot-based
//! tools get wrong.

use std::fs;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use strata_model::Catalog;
use strata_postgres::{Connection, PgError};

use super::MigrateError;
use super::folder::{Migration, statements};
use crate::config::Settings;
use crate::desired::{CachePolicy, Scratch, project_cache_dir};
use crate::{Error, Event, Observer};

#[derive(Serialize, Deserialize)]
struct CacheEntry {
    server_version_num: u32,
    catalog: Catalog,
}

fn cache_key(migrations: &[Migration], major: u32) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"strata replayed migrations v1\0");
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(major.to_le_bytes());
    for migration in migrations {
        hasher.update(migration.tag.as_bytes());
        hasher.update(b"\0");
        hasher.update(migration.hash.as_bytes());
        hasher.update(b"\0");
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .fold(String::new(), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// The catalog `migrations` produce on an empty database.
///
/// # Errors
/// A migration that fails on the scratch database (file, line and the
/// server's error), or no scratch database.
pub fn replay(
    settings: &Settings,
    migrations: &[Migration],
    major: u32,
    cache: CachePolicy,
    observer: &mut dyn Observer,
) -> Result<Catalog, Error> {
    let key = cache_key(migrations, major);
    let cache_file = project_cache_dir(settings).join(format!("replay-{key}.json"));
    if cache == CachePolicy::Use
        && let Ok(text) = fs::read_to_string(&cache_file)
        && let Ok(entry) = serde_json::from_str::<CacheEntry>(&text)
        && entry.server_version_num / 10000 == major
    {
        return Ok(entry.catalog);
    }
    let mut scratch = Scratch::open(settings, major, observer)?;
    observer.event(Event::Stage(format!(
        "replaying {} migration(s) into {}",
        migrations.len(),
        scratch.place
    )));
    let mut conn = Connection::connect(&scratch.db)?;
    conn.execute("SET check_function_bodies = off")?;
    let throwaway = scratch.is_throwaway();
    for migration in migrations {
        let parts = statements(&migration.sql).map_err(|e| MigrateError::Replay {
            path: migration.path.clone(),
            line: e.line,
            error: PgError::Catalog(e.to_string()),
        })?;
        for (sql, line) in parts {
            let mut result = conn.execute(&sql);
            if throwaway
                && let Err(PgError::Database { error, .. }) = &result
                && let Some(role) = strata_postgres::missing_role(error)
            {
                conn.execute(&format!(
                    "CREATE ROLE {} NOLOGIN",
                    strata_syntax::quote_ident(&role)
                ))?;
                result = conn.execute(&sql);
            }
            result.map_err(|error| MigrateError::Replay {
                path: migration.path.clone(),
                line,
                error,
            })?;
        }
    }
    let (catalog, server) = conn.introspect()?;
    drop(conn);
    scratch.close();
    if let Some(dir) = cache_file.parent()
        && fs::create_dir_all(dir).is_ok()
        && let Ok(json) = serde_json::to_string(&CacheEntry {
            server_version_num: server.server_version_num,
            catalog: catalog.clone(),
        })
    {
        let staging = cache_file.with_extension(format!("tmp{}", std::process::id()));
        if fs::write(&staging, json).is_ok() {
            let _ = fs::rename(&staging, &cache_file);
        }
        crate::desired::prune_cache(dir, "replay-", 8);
    }
    Ok(catalog)
}
