//! `strata seed`: the target database filled with deterministic test data
//! (the `strata-seed` crate), with the `[seed]` settings of strata.toml.
//! Development only. `reset` calls [`seed`] after recreating the schema.

use std::path::PathBuf;

use strata_model::{Catalog, QualifiedName};
use strata_postgres::Connection;
use strata_seed::{
    DEFAULT_COUNT, DEFAULT_SEED, Existing, FixedData, Progress, SeedOptions, SeedPlan, SeedReport,
};

use crate::bootstrap::BOOTSTRAP_TABLE;
use crate::{Error, Event, Observer, Settings};

/// What the command line asks for (each `None` falls back to strata.toml,
/// then to the defaults: seed 42, 20 rows per table).
#[derive(Debug, Clone, Copy, Default)]
pub struct SeedRequest {
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--count`: rows per table (a table's own `count` in strata.toml wins).
    pub count: Option<u64>,
    /// What to do with tables that hold rows.
    pub existing: Existing,
}

/// Refuses a development-only command on a production database, whatever
/// the flags say.
///
/// # Errors
/// [`Error::Production`] when the settings say production.
pub fn refuse_on_production(settings: &Settings, command: &str) -> Result<(), Error> {
    if settings.production {
        return Err(Error::Production {
            command: command.to_owned(),
        });
    }
    Ok(())
}

/// Reads the database and plans the seeding of the tables strata manages
/// (the migrations and bootstrap tracking tables left out).
///
/// # Errors
/// Production, connection and introspection errors, seed files that
/// cannot be read, and what [`strata_seed::plan`] refuses.
pub fn plan_seed(
    settings: &Settings,
    conn: &mut Connection,
    request: &SeedRequest,
) -> Result<SeedPlan, Error> {
    refuse_on_production(settings, "seed")?;
    let (mut catalog, _) = conn.introspect()?;
    let scope = crate::push::managed_schemas(settings, &catalog);
    crate::push::restrict(&mut catalog, &scope, &settings.tracking);
    catalog.remove_table(&QualifiedName::new(
        settings.tracking.schema.as_str(),
        BOOTSTRAP_TABLE,
    ));
    let config = settings.seed.clone();
    let fixed = fixed_data(settings, &catalog)?;
    let options = SeedOptions {
        seed: request.seed.or(config.seed).unwrap_or(DEFAULT_SEED),
        count: request.count.or(config.count).unwrap_or(DEFAULT_COUNT),
        config,
        fixed,
        existing: request.existing,
    };
    Ok(strata_seed::plan(&catalog, &options)?)
}

/// Plans and loads: one transaction, progress per table as
/// [`Event::Rows`], warnings as [`Event::Warning`].
///
/// # Errors
/// As [`plan_seed`], and what [`strata_seed::load`] reports (nothing is
/// kept then).
pub fn seed(
    settings: &Settings,
    conn: &mut Connection,
    request: &SeedRequest,
    observer: &mut dyn Observer,
) -> Result<SeedReport, Error> {
    let plan = plan_seed(settings, conn, request)?;
    for warning in plan.warnings() {
        observer.event(Event::Warning(warning.clone()));
    }
    let report = strata_seed::load(conn, &plan, &mut |progress| match progress {
        Progress::File { path } => observer.event(Event::Stage(format!(
            "loading seed file {}",
            crate::desired::display_path(&settings.root, path)
        ))),
        Progress::Table {
            name, done, total, ..
        } => observer.event(Event::Rows {
            label: name.to_string(),
            done,
            total,
        }),
        _ => {}
    })?;
    Ok(report)
}

/// `[seed] files` and `[seed.tables.NAME] file`, read.
fn fixed_data(settings: &Settings, catalog: &Catalog) -> Result<Vec<FixedData>, Error> {
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path).map_err(|source| Error::Io {
            action: "could not read seed file",
            path: path.clone(),
            source,
        })
    };
    let mut fixed = Vec::new();
    let mut paths = Vec::new();
    for file in &settings.seed.files {
        let path = settings.root.join(file);
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(|source| Error::Io {
                    action: "could not read seed folder",
                    path: path.clone(),
                    source,
                })?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "sql" || e == "csv"))
                .collect();
            found.sort();
            paths.extend(found);
        } else {
            paths.push(path);
        }
    }
    for path in paths {
        let text = read(&path)?;
        if path.extension().is_some_and(|e| e == "csv") {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let table = find_table(catalog, &stem).ok_or_else(|| strata_seed::SeedError::Csv {
                path: path.clone(),
                reason: format!("no table `{stem}` to load it into"),
            })?;
            fixed.push(FixedData::Csv { path, table, text });
        } else {
            fixed.push(FixedData::Sql { path, text });
        }
    }
    for (name, table_config) in &settings.seed.tables {
        if let Some(file) = &table_config.file {
            let path = settings.root.join(file);
            let text = read(&path)?;
            let table = find_table(catalog, name)
                .ok_or_else(|| strata_seed::SeedError::UnknownTable { name: name.clone() })?;
            fixed.push(FixedData::Csv { path, table, text });
        }
    }
    Ok(fixed)
}

/// `users`, `public.users` or `billing.plans`.
fn find_table(catalog: &Catalog, name: &str) -> Option<QualifiedName> {
    let wanted = match name.split_once('.') {
        Some((schema, table)) => QualifiedName::new(schema, table),
        None => QualifiedName::new("public", name),
    };
    if catalog.tables.contains_key(&wanted) {
        return Some(wanted);
    }
    catalog
        .tables
        .keys()
        .find(|t| t.name.as_str() == name)
        .cloned()
}
