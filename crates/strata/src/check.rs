//! `strata check`: the seed note's migration safety checklist, automated.
//!
//! The pending migrations (or given files) are reviewed statement by
//! statement ([`strata_lint`]) with what the live database says about its
//! tables (row estimates decide whether a lock is a problem, indexes
//! whether a foreign key has one); then they are run, in order, on a
//! scratch database built from the migrations before them, so that
//! PostgreSQL itself parses every statement and rejects what would fail;
//! then the checklist: a rollback script for each migration, a backup
//! before destructive ones, and migrations that are up to date with the
//! schema files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use strata_diff::NoRenames;
use strata_lint::{Context, Finding, HazardId, Linter, Severity};
use strata_postgres::{Connection, PgError};

use crate::config::Settings;
use crate::desired::{CachePolicy, Scratch, display_path, read_schema_files};
use crate::migrate::folder::{statements, tx_mode};
use crate::migrate::{Folder, GenerateOptions, Migration, TxMode, generate, status_without_drift};
use crate::{Error, Event, Observer};

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// SQL files to check instead of the pending migrations.
    pub files: Vec<PathBuf>,
    /// Check the last N migrations instead of the pending ones.
    pub latest: Option<usize>,
    /// Skip running the statements on a scratch database.
    pub no_scratch: bool,
    /// Skip comparing the migrations with the schema files.
    pub no_schema: bool,
    /// Do not connect to the target database (no live table sizes; the
    /// pending migrations are then unknown).
    pub offline: bool,
}

/// One finding, where it is.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    /// The rule and what it found.
    #[serde(flatten)]
    pub finding: Finding,
    /// The file, relative to the project.
    pub file: String,
}

/// What `check` found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Findings, file by file, in line order.
    pub findings: Vec<Reported>,
    /// The files checked, in order.
    pub checked: Vec<String>,
    /// The database whose table sizes were used, if one was reachable.
    pub database: Option<String>,
    /// Whether the statements ran on a scratch database.
    pub ran_on_scratch: bool,
    /// What could not be checked, and why.
    pub notes: Vec<String>,
}

impl CheckReport {
    /// Findings of this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|r| r.finding.severity == severity)
            .count()
    }

    /// Whether an error-level finding was made (`check` exits 3).
    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }
}

/// A file to check: its text and how it runs.
struct Target {
    display: String,
    sql: String,
    in_transaction: bool,
    /// The migration it is, for the checklist (none for a given file).
    migration: Option<Migration>,
}

/// Row estimates and index columns of every table, in two set-based
/// queries.
fn live_tables(conn: &mut Connection) -> Result<(LiveRows, LiveIndexes, LiveTypes), PgError> {
    let rows = conn.query_text(
        "SELECT n.nspname, c.relname,
                CASE WHEN c.relkind = 'p' THEN
                       (SELECT coalesce(sum(greatest(p.reltuples, 0)), 0)::bigint
                          FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid
                         WHERE i.inhparent = c.oid)
                     WHEN c.reltuples >= 0 THEN c.reltuples::bigint
                     -- never analyzed: guess from the size (about 100 bytes a row)
                     ELSE (pg_relation_size(c.oid) / 100)::bigint
                END
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p', 'm')
            AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND n.nspname NOT LIKE 'pg_toast%'",
    )?;
    let mut sizes = BTreeMap::new();
    for row in rows {
        if let [Some(schema), Some(table), Some(n)] = row.as_slice() {
            sizes.insert((schema.clone(), table.clone()), n.parse().unwrap_or(0));
        }
    }
    // Index columns in order; an expression ends the usable prefix.
    let rows = conn.query_text(
        "SELECT n.nspname, c.relname,
                array_to_string(array(
                    SELECT coalesce(a.attname, '')
                      FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                      LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                     ORDER BY k.ord), chr(31))
           FROM pg_index i
           JOIN pg_class c ON c.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND n.nspname NOT LIKE 'pg_toast%'",
    )?;
    let mut indexes: LiveIndexes = BTreeMap::new();
    for row in rows {
        if let [Some(schema), Some(table), Some(columns)] = row.as_slice() {
            let columns: Vec<String> = columns
                .split('\u{1f}')
                .take_while(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            indexes
                .entry((schema.clone(), table.clone()))
                .or_default()
                .push(columns);
        }
    }
    let rows = conn.query_text(
        "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
           FROM pg_attribute a
           JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
            AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND n.nspname NOT LIKE 'pg_toast%'",
    )?;
    let mut types: LiveTypes = BTreeMap::new();
    for row in rows {
        if let [Some(schema), Some(table), Some(column), Some(type_name)] = row.as_slice() {
            types
                .entry((schema.clone(), table.clone()))
                .or_default()
                .insert(column.clone(), type_name.clone());
        }
    }
    Ok((sizes, indexes, types))
}

type LiveRows = BTreeMap<(String, String), u64>;
type LiveIndexes = BTreeMap<(String, String), Vec<Vec<String>>>;
type LiveTypes = BTreeMap<(String, String), BTreeMap<String, String>>;

fn finding(rule: HazardId, line: usize, message: String, help: &str) -> Finding {
    Finding {
        rule,
        severity: rule.severity(),
        line,
        message,
        help: help.to_owned(),
    }
}

/// Reviews the pending migrations (or `options.files`).
///
/// # Errors
/// A migrations folder or file that cannot be read. An unreachable
/// database or scratch server is not an error: the report says what could
/// not be checked.
#[expect(clippy::too_many_lines, reason = "the checklist, step by step")]
pub fn check(
    settings: &Settings,
    options: &CheckOptions,
    observer: &mut dyn Observer,
) -> Result<CheckReport, Error> {
    let folder = Folder::read(&settings.migrations_dir, &settings.root)?;
    let mut notes = Vec::new();
    let explicit = !matches!(
        settings.database_source,
        crate::config::TargetSource::Defaults | crate::config::TargetSource::Local
    );
    let connected = if options.offline {
        notes.push("offline: table sizes unknown, so locks are judged without them".to_owned());
        None
    } else {
        Some(Connection::connect(&settings.database))
    };
    let mut conn = match connected {
        None => None,
        Some(Ok(conn)) => Some(conn),
        // A database named on purpose must be reachable: a check that
        // silently ignored it would pass what it should not.
        Some(Err(error)) if explicit => return Err(error.into()),
        Some(Err(error)) => {
            notes.push(format!(
                "no database reachable ({error}): table sizes unknown, so locks are judged without them"
            ));
            None
        }
    };
    // What to check.
    let mut first_target_index = folder.migrations.len();
    let targets: Vec<Target> = if options.files.is_empty() {
        let chosen: Vec<usize> = if let Some(n) = options.latest {
            (folder.migrations.len().saturating_sub(n)..folder.migrations.len()).collect()
        } else if let Some(conn) = conn.as_mut() {
            let status = status_without_drift(conn, &folder, &settings.tracking)?;
            status
                .pending
                .iter()
                .filter_map(|e| folder.migrations.iter().position(|m| m.tag == e.tag))
                .collect()
        } else {
            notes.push(
                "without a database the pending migrations are unknown: checking the last one (--latest N for more)".to_owned(),
            );
            (folder.migrations.len().saturating_sub(1)..folder.migrations.len()).collect()
        };
        if let Some(first) = chosen.first() {
            first_target_index = *first;
        }
        chosen
            .into_iter()
            .map(|i| {
                let m = &folder.migrations[i];
                Target {
                    display: m.path.display().to_string(),
                    sql: m.sql.clone(),
                    in_transaction: m.transaction == TxMode::Transaction,
                    migration: Some(m.clone()),
                }
            })
            .collect()
    } else {
        let mut out = Vec::new();
        for path in &options.files {
            let sql = std::fs::read_to_string(path).map_err(|source| Error::Io {
                action: "could not read",
                path: path.clone(),
                source,
            })?;
            out.push(Target {
                display: display_path(
                    &settings.root,
                    &std::path::absolute(path).unwrap_or_else(|_| path.clone()),
                ),
                in_transaction: tx_mode(&sql) == TxMode::Transaction,
                sql,
                migration: None,
            });
        }
        out
    };

    // The context: the live database's tables and version.
    let mut context = Context {
        large_table_rows: settings.check.large_table_rows,
        disabled: settings.check.disabled.clone(),
        runner_sets_lock_timeout: settings.migrate.lock_timeout.is_some(),
        ..Context::default()
    };
    let mut database = None;
    if let Some(conn) = conn.as_mut() {
        context.pg_major = conn.server_version_num()? / 10000;
        let (rows, indexes, types) = live_tables(conn)?;
        context.table_rows = Some(rows);
        context.indexes = Some(indexes);
        context.column_types = Some(types);
        database = Some(conn.info().describe());
    }
    drop(conn);

    // The review, file by file, carrying what earlier files created.
    let mut linter = Linter::new(context);
    let mut findings = Vec::new();
    for target in &targets {
        observer.event(Event::Stage(format!("reviewing {}", target.display)));
        for finding in linter.lint_file(&target.sql, target.in_transaction) {
            findings.push(Reported {
                finding,
                file: target.display.clone(),
            });
        }
    }

    // PostgreSQL's own verdict: every statement run on a scratch database
    // that holds the migrations before the checked ones.
    let mut ran_on_scratch = false;
    if !options.no_scratch && !targets.is_empty() {
        let before: &[Migration] = if options.files.is_empty() {
            &folder.migrations[..first_target_index]
        } else {
            &folder.migrations
        };
        match run_on_scratch(settings, before, &targets, observer) {
            Ok(invalid) => {
                ran_on_scratch = true;
                findings.extend(invalid);
            }
            Err(why) => notes.push(format!(
                "the statements were not run on a scratch database ({why}): PostgreSQL did not check them"
            )),
        }
    }

    // The checklist.
    let disabled = &settings.check.disabled;
    for target in &targets {
        if let Some(migration) = &target.migration
            && migration.rollback.is_none()
            && !disabled.contains(&HazardId::MissingRollback)
        {
            findings.push(Reported {
                finding: finding(
                    HazardId::MissingRollback,
                    1,
                    format!(
                        "`{}` has no rollback script: `strata rollback` cannot undo it",
                        migration.tag
                    ),
                    &format!(
                        "write {} (the SQL that undoes the migration), or plan to restore a backup",
                        migration.rollback_path.display()
                    ),
                ),
                file: target.display.clone(),
            });
        }
    }
    let destroys = findings
        .iter()
        .any(|r| r.finding.rule.is_data_loss() && r.finding.severity == Severity::Error);
    if destroys
        && options.files.is_empty()
        && !settings.migrate.backup
        && !disabled.contains(&HazardId::NoBackup)
        && let Some(last) = targets.last()
    {
        findings.push(Reported {
            finding: finding(
                HazardId::NoBackup,
                1,
                "these migrations destroy data and `strata migrate` is not set to take a backup first".to_owned(),
                "set `backup = true` under [migrations] in strata.toml, or deploy with `strata migrate --backup`",
            ),
            file: last.display.clone(),
        });
    }
    if options.files.is_empty()
        && !options.no_schema
        && !disabled.contains(&HazardId::SchemaNotMigrated)
    {
        match schema_changes(settings, &folder, observer) {
            Ok(Some((count, shown))) => findings.push(Reported {
                finding: finding(
                    HazardId::SchemaNotMigrated,
                    1,
                    format!(
                        "the schema files have {count} change(s) that no migration contains: the migrations are out of date"
                    ),
                    "run `strata generate` and review the new migration",
                ),
                file: shown,
            }),
            Ok(None) => {}
            Err(why) => notes.push(format!(
                "the migrations were not compared with the schema files ({why})"
            )),
        }
    }
    Ok(CheckReport {
        findings,
        checked: targets.iter().map(|t| t.display.clone()).collect(),
        database,
        ran_on_scratch,
        notes,
    })
}

/// The number of changes `generate` would write now, and where the
/// schema files are; `None` when the migrations are up to date (or there
/// are no schema files).
fn schema_changes(
    settings: &Settings,
    folder: &Folder,
    observer: &mut dyn Observer,
) -> Result<Option<(usize, String)>, Error> {
    if settings.schema_paths.iter().all(|p| !p.exists()) {
        return Ok(None);
    }
    let files = read_schema_files(settings)?;
    if files.is_empty() {
        return Ok(None);
    }
    let generated = generate(
        settings,
        folder,
        &files,
        &GenerateOptions {
            cache: CachePolicy::Use,
            ..GenerateOptions::default()
        },
        &mut NoRenames,
        observer,
    )?;
    if generated.is_empty() {
        return Ok(None);
    }
    let shown = settings
        .schema_paths
        .first()
        .map_or_else(String::new, |p| display_path(&settings.root, p));
    Ok(Some((generated.statements.len(), shown)))
}

/// Runs `before` and then every target on a scratch database; each
/// statement PostgreSQL rejects is an `invalid-statement` finding. Stops
/// at the first file that fails (what follows would fail for its sake).
fn run_on_scratch(
    settings: &Settings,
    before: &[Migration],
    targets: &[Target],
    observer: &mut dyn Observer,
) -> Result<Vec<Reported>, String> {
    let major = strata_postgres::Binaries::find()
        .map(|b| b.major)
        .or_else(|_| {
            Connection::connect(&settings.database)
                .and_then(|mut c| c.server_version_num())
                .map(|v| v / 10000)
        })
        .map_err(|e| e.to_string())?;
    let mut scratch = Scratch::open(settings, major, observer).map_err(|e| e.to_string())?;
    let result = (|| {
        let mut conn = Connection::connect(&scratch.db).map_err(|e| e.to_string())?;
        conn.execute("SET check_function_bodies = off")
            .map_err(|e| e.to_string())?;
        let throwaway = scratch.is_throwaway();
        for migration in before {
            for (sql, line) in statements(&migration.sql).map_err(|e| e.to_string())? {
                run(&mut conn, &sql, throwaway).map_err(|e| {
                    format!(
                        "an earlier migration fails: {}:{line}: {e}",
                        migration.path.display()
                    )
                })?;
            }
        }
        let mut out = Vec::new();
        for target in targets {
            observer.event(Event::Stage(format!(
                "running {} on {}",
                target.display, scratch.place
            )));
            let parts = match statements(&target.sql) {
                Ok(parts) => parts,
                Err(e) => {
                    out.push(Reported {
                        finding: finding(
                            HazardId::InvalidStatement,
                            e.line,
                            e.to_string(),
                            "close the string, quoted name or comment",
                        ),
                        file: target.display.clone(),
                    });
                    return Ok(out);
                }
            };
            if target.in_transaction {
                conn.execute("BEGIN").map_err(|e| e.to_string())?;
            }
            let mut failed = false;
            for (sql, line) in parts {
                if let Err(error) = run(&mut conn, &sql, throwaway) {
                    let help = error
                        .database_error()
                        .and_then(|d| d.hint.clone().or_else(|| d.strata_hint().map(str::to_owned)))
                        .unwrap_or_else(|| {
                            "fix the statement: it fails on the schema the migrations before it build".to_owned()
                        });
                    out.push(Reported {
                        finding: finding(
                            HazardId::InvalidStatement,
                            line,
                            format!("PostgreSQL rejects this statement: {error}"),
                            &help,
                        ),
                        file: target.display.clone(),
                    });
                    failed = true;
                    break;
                }
            }
            if target.in_transaction {
                let end = if failed { "ROLLBACK" } else { "COMMIT" };
                conn.execute(end).map_err(|e| e.to_string())?;
            }
            if failed {
                break;
            }
        }
        Ok(out)
    })();
    scratch.close();
    result
}

/// One statement on the scratch database; roles it names are created
/// there when the scratch is throwaway (as replay does).
fn run(conn: &mut Connection, sql: &str, throwaway: bool) -> Result<(), PgError> {
    let mut result = conn.execute(sql);
    if throwaway
        && let Err(PgError::Database { error, .. }) = &result
        && let Some(role) = strata_postgres::missing_role(error)
    {
        conn.execute(&format!(
            "CREATE ROLE {} NOLOGIN",
            strata_syntax::quote_ident(&role)
        ))?;
        result = conn.execute(sql);
    }
    result
}

/// For messages: a path relative to the project.
pub fn shown(settings: &Settings, path: &Path) -> String {
    display_path(&settings.root, path)
}
