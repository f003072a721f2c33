//! `strata reset`: the seed note's `db:reset` — drop everything in the
//! schemas strata manages (nothing else), build the schema again with
//! `push` or `migrate`, and seed. Development only.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;
use strata_diff::NoRenames;
use strata_postgres::Connection;
use strata_syntax::{quote_ident, quote_qualified};

use crate::bootstrap::BOOTSTRAP_TABLE;
use crate::config::Settings;
use crate::desired::{CachePolicy, desired_state, read_schema_files};
use crate::migrate::{Folder, MigrateOptions, migrate, replay};
use crate::push::{PushOptions, apply_push, managed_schemas, plan_push};
use crate::seed::{SeedRequest, refuse_on_production, seed};
use crate::{Error, Event, Observer};

/// How the schema is built again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResetUsing {
    /// The schema files, as `strata push`.
    Push,
    /// The migrations folder, as `strata migrate`.
    Migrate,
}

/// What to do.
#[derive(Debug, Clone, Default)]
pub struct ResetOptions {
    /// `push` or `migrate`; by default `migrate` when the migrations
    /// folder has migrations, else `push`.
    pub using: Option<ResetUsing>,
    /// Seed afterwards, with these settings; `None`: do not seed.
    pub seed: Option<SeedRequest>,
}

/// What was done.
#[derive(Debug, Clone, Serialize)]
pub struct ResetReport {
    /// The schemas emptied.
    pub schemas: Vec<String>,
    /// How the schema was built again.
    pub using: ResetUsing,
    /// Statements (push) or migrations (migrate) applied.
    pub applied: usize,
    /// Rows seeded (none when not seeding).
    pub seeded_rows: Option<u64>,
    /// The seed used.
    pub seed: Option<u64>,
    /// Time spent.
    #[serde(skip)]
    pub elapsed: Duration,
}

/// Drops, rebuilds and seeds.
///
/// # Errors
/// A production database (always refused, whatever the flags), schema
/// files or migrations that do not build, and seeding errors.
pub fn reset(
    settings: &Settings,
    options: &ResetOptions,
    observer: &mut dyn Observer,
) -> Result<ResetReport, Error> {
    refuse_on_production(settings, "reset")?;
    let started = Instant::now();
    let folder = Folder::read(&settings.migrations_dir, &settings.root)?;
    let using = options
        .using
        .or(settings.reset_using)
        .unwrap_or(if folder.migrations.is_empty() {
            ResetUsing::Push
        } else {
            ResetUsing::Migrate
        });
    let mut conn = Connection::connect(&settings.database)?;
    let major = conn.server_version_num()? / 10000;
    // What strata manages: the schemas of what is about to be built (and
    // read from the cache when unchanged), before anything is dropped, so
    // that a broken schema file or migration stops the reset early.
    let (files, target) = match using {
        ResetUsing::Push => {
            let files = read_schema_files(settings)?;
            let desired = desired_state(settings, &files, major, CachePolicy::Use, observer)?;
            (files, desired.catalog)
        }
        ResetUsing::Migrate => (
            Vec::new(),
            replay(
                settings,
                &folder.migrations,
                major,
                CachePolicy::Use,
                observer,
            )?,
        ),
    };
    let (live, _) = conn.introspect()?;
    let mut schemas: BTreeSet<String> = managed_schemas(settings, &target);
    // The tracking table's schema keeps strata's own tables (the tracking
    // and bootstrap tables are cleared below) unless tables of the app live
    // there too (`[migrations] schema = "public"`): then it is emptied like
    // the others, or the rebuild would find the old tables still there.
    let own = [
        settings.tracking.table.as_str(),
        BOOTSTRAP_TABLE,
        crate::backfill::BACKFILL_TABLE,
    ];
    let shared = live.tables.keys().chain(target.tables.keys()).any(|t| {
        t.schema.as_str() == settings.tracking.schema.as_str() && !own.contains(&t.name.as_str())
    });
    if !shared {
        schemas.remove(&settings.tracking.schema);
    }
    let existing: Vec<String> = schemas
        .iter()
        .filter(|s| live.schemas.keys().any(|k| k.as_str() == s.as_str()))
        .cloned()
        .collect();
    observer.event(Event::Stage(format!(
        "emptying schema(s) {}",
        existing.join(", ")
    )));
    empty_schemas(&mut conn, settings, &existing)?;

    let applied = match using {
        ResetUsing::Push => {
            let plan = plan_push(
                settings,
                &mut conn,
                &files,
                &PushOptions::default(),
                &mut NoRenames,
                observer,
            )?;
            apply_push(&mut conn, &plan, observer)?.statements
        }
        ResetUsing::Migrate => {
            let options = MigrateOptions {
                lock_timeout: settings.migrate.lock_timeout,
                statement_timeout: settings.migrate.statement_timeout,
                retries: settings.migrate.retries,
                // Nothing runs on a database being rebuilt.
                contract: true,
                ..MigrateOptions::default()
            };
            migrate(&mut conn, &folder, &settings.tracking, &options, observer)?
                .applied
                .len()
        }
    };
    let (seeded_rows, seed_used) = match &options.seed {
        Some(request) => {
            // Only what was just built: other schemas are not reset's.
            let mut scoped = settings.clone();
            scoped.managed_schemas = Some(schemas.iter().cloned().collect());
            let report = seed(&scoped, &mut conn, request, observer)?;
            (Some(report.rows()), Some(report.seed))
        }
        None => (None, None),
    };
    Ok(ResetReport {
        schemas: existing,
        using,
        applied,
        seeded_rows,
        seed: seed_used,
        elapsed: started.elapsed(),
    })
}

/// In one transaction: every schema dropped with everything in it, then
/// `public` (which PostgreSQL creates with the database) made again with
/// its owner, privileges and comment; the tracking and bootstrap tables
/// cleared so that what they record starts over with the schema.
fn empty_schemas(
    conn: &mut Connection,
    settings: &Settings,
    schemas: &[String],
) -> Result<(), Error> {
    let mut script = String::from("BEGIN;\n");
    let mut restore = String::new();
    for schema in schemas {
        if schema == "public" {
            // Owner, privileges and comment, to put back as they were.
            let rows = conn.query_text(
                "SELECT n.nspowner::regrole::text,
                        coalesce(obj_description(n.oid, 'pg_namespace'), ''),
                        coalesce((SELECT string_agg(
                                     format('GRANT %s ON SCHEMA public TO %s%s;',
                                            a.privilege_type,
                                            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
                                            CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END),
                                     E'\\n')
                                    FROM aclexplode(n.nspacl) a
                                   WHERE a.grantee <> n.nspowner), '')
                   FROM pg_namespace n WHERE n.nspname = 'public'",
            )?;
            let Some([Some(owner), Some(comment), Some(grants)]) = rows
                .into_iter()
                .next()
                .and_then(|r| <[Option<String>; 3]>::try_from(r).ok())
            else {
                continue;
            };
            let _ = writeln!(
                restore,
                "CREATE SCHEMA public AUTHORIZATION {};",
                quote_ident(owner.trim_matches('"'))
            );
            if !comment.is_empty() {
                let _ = writeln!(
                    restore,
                    "COMMENT ON SCHEMA public IS {};",
                    strata_syntax::quote_literal(&comment)
                );
            }
            if !grants.is_empty() {
                restore.push_str(&grants);
                restore.push('\n');
            }
        }
        let _ = writeln!(script, "DROP SCHEMA {} CASCADE;", quote_ident(schema));
    }
    script.push_str(&restore);
    for table in [settings.tracking.table.as_str(), BOOTSTRAP_TABLE] {
        let _ = writeln!(
            script,
            "DROP TABLE IF EXISTS {};",
            quote_qualified(&settings.tracking.schema, table)
        );
    }
    script.push_str("COMMIT");
    if let Err(error) = conn.execute(&script) {
        let _ = conn.execute("ROLLBACK");
        return Err(error.into());
    }
    Ok(())
}
