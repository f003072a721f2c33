//! `strata generate`: the next migration, from what the migrations folder
//! produces to what the schema files describe; with its rollback script,
//! journal entry and snapshot, so that drizzle-kit accepts the folder.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use strata_diff::{Change, NoRenames, Plan, RenameRequest, RenameResolver};
use strata_model::Catalog;
use strata_postgres::{Connection, SourceFile};
use strata_sql::{Dialect, PhaseKind, RenderContext, Statement, Transaction, render};

use super::MigrateError;
use super::folder::{
    BREAKPOINT, CONTRACT, Folder, Journal, JournalEntry, Layout, Migration, NO_TRANSACTION,
};
use super::replay::replay;
use super::snapshot;
use super::tracking::{self, Reconciled};
use crate::config::Settings;
use crate::desired::{CachePolicy, Scratch, desired_state, rename_annotations};
use crate::push::{Scope, managed_schemas};
use crate::{Error, Event, Observer};

/// How to generate.
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    /// The migration's name (`add_roles`); derived from the changes when
    /// absent.
    pub name: Option<String>,
    /// Write an empty migration for hand-written SQL.
    pub custom: bool,
    /// `--rename` requests.
    pub renames: Vec<RenameRequest>,
    /// Whether to use the caches of replayed and desired states.
    pub cache: CachePolicy,
    /// Write the changes as online migrations (see [`strata_sql::online`]).
    pub online: bool,
}

/// One migration of an online change.
#[derive(Debug, Clone)]
pub struct OnlineStep {
    /// Which phase.
    pub kind: PhaseKind,
    /// Its statements.
    pub statements: Vec<Statement>,
    /// The statements that undo it (back to the step before).
    pub rollback: Vec<Statement>,
    /// What the database looks like after it (for the snapshot).
    pub catalog: Catalog,
}

/// A generated migration, planned but not written yet.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The changes.
    pub plan: Plan,
    /// The statements of the migration.
    pub statements: Vec<Statement>,
    /// The statements of its rollback script (back to [`Generated::prepare`]'s
    /// state when there is one).
    pub rollback: Vec<Statement>,
    /// The target catalog (for the snapshot).
    pub desired: Catalog,
    /// When the plan starts with statements that cannot share a
    /// transaction with the rest (new enum values that later statements
    /// use), they become a migration of their own, just before.
    pub prepare: Option<Prepare>,
    /// Whether this is an empty, hand-written migration.
    pub custom: bool,
    /// The migration's name.
    pub name: String,
    /// With `--online`: the migrations, one per phase, in order
    /// ([`Generated::statements`] holds all of their statements).
    pub online: Vec<OnlineStep>,
}

/// The migration before the main one, outside a transaction.
#[derive(Debug, Clone)]
pub struct Prepare {
    /// What it leaves: the previous state and the new enum values.
    pub catalog: Catalog,
    /// Its rollback script (to the previous state).
    pub rollback: Vec<Statement>,
}

impl Generated {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        !self.custom && self.statements.is_empty()
    }
}

/// The server major version scratch databases run: the shadow server's,
/// else the installed binaries'.
fn scratch_major(settings: &Settings) -> Result<u32, Error> {
    if let Some(shadow) = &settings.shadow {
        let mut conn = Connection::connect(shadow)?;
        return Ok(conn.server_version_num()? / 10000);
    }
    if let Ok(binaries) = strata_postgres::Binaries::find() {
        Ok(binaries.major)
    } else {
        let mut conn = Connection::connect(&settings.database)?;
        Ok(conn.server_version_num()? / 10000)
    }
}

/// Plans the next migration: the migrations folder replayed on an empty
/// scratch database, compared with the schema files.
///
/// # Errors
/// A folder in drizzle-kit 1.0's layout (strata reads it but writes 0.31's
/// journal layout only), a migration or schema file that fails, renames.
pub fn generate(
    settings: &Settings,
    folder: &Folder,
    files: &[SourceFile],
    options: &GenerateOptions,
    resolver: &mut dyn RenameResolver,
    observer: &mut dyn Observer,
) -> Result<Generated, Error> {
    if folder.layout == Layout::Folders {
        return Err(MigrateError::Malformed {
            path: folder.dir.clone(),
            reason: "it uses drizzle-kit 1.0's folder-per-migration layout, which strata reads (migrate, status) but does not write; generate into a folder with meta/_journal.json".to_owned(),
        }
        .into());
    }
    let major = scratch_major(settings)?;
    let mut previous = replay(settings, &folder.migrations, major, options.cache, observer)?;
    let desired = desired_state(settings, files, major, options.cache, observer)?;
    let mut wanted = desired.catalog;
    let scope = Scope {
        schemas: managed_schemas(settings, &wanted),
        tracking: settings.tracking.clone(),
        grants: settings.grants,
    };
    scope.restrict(&mut previous);
    scope.restrict(&mut wanted);
    if options.custom {
        return Ok(Generated {
            plan: Plan::default(),
            statements: Vec::new(),
            rollback: Vec::new(),
            desired: previous,
            prepare: None,
            custom: true,
            name: options.name.clone().unwrap_or_else(|| "custom".to_owned()),
            online: Vec::new(),
        });
    }
    let mut requests = options.renames.clone();
    requests.extend(rename_annotations(files));
    let plan = strata_diff::diff(&previous, &wanted, &requests, resolver)?;
    let statements = render(
        &plan,
        &RenderContext::new(&previous, &wanted),
        Dialect::Postgres,
    );
    // The rollback is the reverse plan, with the renames reversed. A
    // column rename names its table as the target side does: in reverse,
    // that is the table's old name.
    let old_table_name = |schema: &str, name: &str| -> String {
        plan.changes
            .iter()
            .find_map(|change| match change {
                Change::RenameTable { from, to }
                    if from.schema.as_str() == schema && to.as_str() == name =>
                {
                    Some(from.name.to_string())
                }
                _ => None,
            })
            .unwrap_or_else(|| name.to_owned())
    };
    let reverse_renames: Vec<RenameRequest> = plan
        .changes
        .iter()
        .filter_map(|change| match change {
            Change::RenameTable { from, to } => RenameRequest::parse(&format!(
                "{}.{}={}",
                quoted_part(&from.schema),
                quoted_part(to),
                quoted_part(&from.name)
            ))
            .ok(),
            Change::RenameColumn { table, from, to } => RenameRequest::parse(&format!(
                "{}.{}.{}={}",
                quoted_part(&table.schema),
                quoted_part(&old_table_name(&table.schema, &table.name)),
                quoted_part(to),
                quoted_part(from)
            ))
            .ok(),
            _ => None,
        })
        .collect();
    let split = statements
        .iter()
        .any(|s| s.transaction == Transaction::Outside)
        && statements
            .iter()
            .any(|s| s.transaction == Transaction::Inside);
    let previous_for_online = previous.clone();
    let (prepare, before_main) = if split {
        let middle = with_new_enum_values(&previous, &plan);
        let back = strata_diff::diff(&middle, &previous, &[], &mut NoRenames)?;
        let rollback = render(
            &back,
            &RenderContext::new(&middle, &previous),
            Dialect::Postgres,
        );
        (
            Some(Prepare {
                catalog: middle.clone(),
                rollback,
            }),
            middle,
        )
    } else {
        (None, previous)
    };
    let reverse = strata_diff::diff(&wanted, &before_main, &reverse_renames, &mut NoRenames)?;
    let rollback = render(
        &reverse,
        &RenderContext::new(&wanted, &before_main),
        Dialect::Postgres,
    );
    let name = options.name.clone().unwrap_or_else(|| derived_name(&plan));
    if options.online && !plan.changes.is_empty() {
        let steps = online_steps(
            settings,
            &plan,
            &previous_for_online,
            &wanted,
            &scope,
            &reverse_renames,
            major,
            observer,
        )?;
        return Ok(Generated {
            statements: steps.iter().flat_map(|s| s.statements.clone()).collect(),
            plan,
            rollback: Vec::new(),
            desired: wanted,
            prepare: None,
            custom: false,
            name,
            online: steps,
        });
    }
    Ok(Generated {
        plan,
        statements,
        rollback,
        desired: wanted,
        prepare,
        custom: false,
        name,
        online: Vec::new(),
    })
}

/// The online form of `plan`, one step per phase (statements that must
/// run outside a transaction before the first phase, such as new enum
/// values, come first as a step of their own). Every step runs on a
/// scratch database built to `previous`: what it leaves is the snapshot
/// after it, and its rollback is the way back from there.
#[expect(
    clippy::too_many_arguments,
    reason = "the states and settings one generate run has"
)]
fn online_steps(
    settings: &Settings,
    plan: &Plan,
    previous: &Catalog,
    wanted: &Catalog,
    scope: &Scope,
    reverse_renames: &[RenameRequest],
    major: u32,
    observer: &mut dyn Observer,
) -> Result<Vec<OnlineStep>, Error> {
    let phases = strata_sql::online(
        plan,
        &RenderContext::new(previous, wanted),
        Dialect::Postgres,
    )?;
    let mut units: Vec<(PhaseKind, Vec<Statement>)> = Vec::new();
    for phase in phases {
        if phase.kind.transactional()
            && phase
                .statements
                .iter()
                .any(|s| s.transaction == Transaction::Outside)
        {
            // New enum values the rest of the phase uses: committed first.
            let (outside, inside): (Vec<Statement>, Vec<Statement>) = phase
                .statements
                .into_iter()
                .partition(|s| s.transaction == Transaction::Outside);
            units.push((PhaseKind::Concurrent, outside));
            units.push((phase.kind, inside));
        } else {
            units.push((phase.kind, phase.statements));
        }
    }
    let mut scratch = Scratch::open(settings, major, observer)?;
    let result = (|| -> Result<Vec<OnlineStep>, Error> {
        let mut conn = Connection::connect(&scratch.db)?;
        conn.execute("SET check_function_bodies = off")?;
        let throwaway = scratch.is_throwaway();
        let (mut base, _) = conn.introspect()?;
        scope.restrict(&mut base);
        let build = strata_diff::diff(&base, previous, &[], &mut NoRenames)?;
        observer.event(Event::Stage(format!(
            "running the online steps on {}",
            scratch.place
        )));
        for statement in render(
            &build,
            &RenderContext::new(&base, previous),
            Dialect::Postgres,
        ) {
            run_creating_roles(&mut conn, &statement.sql, throwaway)?;
        }
        let mut before = previous.clone();
        let mut steps = Vec::new();
        for (kind, statements) in units {
            for statement in &statements {
                run_creating_roles(&mut conn, &statement.sql, throwaway)?;
            }
            let (mut after, _) = conn.introspect()?;
            scope.restrict(&mut after);
            // The way back, with table renames undone (when this step
            // made them).
            let back = match strata_diff::diff(&after, &before, reverse_renames, &mut NoRenames) {
                Ok(back) => back,
                Err(_) => strata_diff::diff(&after, &before, &[], &mut NoRenames)?,
            };
            let mut rollback = render(
                &back,
                &RenderContext::new(&after, &before),
                Dialect::Postgres,
            );
            if kind == PhaseKind::Contract {
                // A renamed column comes back empty: its values come back
                // from the new one (the sync trigger is back too).
                for change in &plan.changes {
                    if let Change::RenameColumn { table, from, to } = change
                        && before
                            .tables
                            .get(table)
                            .is_some_and(|t| t.column(from.as_str()).is_some())
                    {
                        let (f, t) = (
                            strata_syntax::quote_ident(from),
                            strata_syntax::quote_ident(to),
                        );
                        rollback.push(Statement {
                            sql: format!(
                                "UPDATE {} SET {f} = {t} WHERE {f} IS DISTINCT FROM {t}",
                                strata_syntax::quote_qualified(&table.schema, &table.name)
                            ),
                            hazards: Vec::new(),
                            transaction: Transaction::Inside,
                            table: Some(table.clone()),
                        });
                    }
                }
            }
            steps.push(OnlineStep {
                kind,
                statements,
                rollback,
                catalog: after.clone(),
            });
            before = after;
        }
        Ok(steps)
    })();
    scratch.close();
    result
}

/// Runs `sql`; on a throwaway cluster, creates the roles it names that
/// do not exist yet.
fn run_creating_roles(conn: &mut Connection, sql: &str, throwaway: bool) -> Result<(), Error> {
    for _ in 0..32 {
        match conn.execute(sql) {
            Err(strata_postgres::PgError::Database { error, .. })
                if throwaway && strata_postgres::missing_role(&error).is_some() =>
            {
                let role = strata_postgres::missing_role(&error).unwrap_or_default();
                conn.execute(&format!(
                    "CREATE ROLE {} NOLOGIN",
                    strata_syntax::quote_ident(&role)
                ))?;
            }
            other => return Ok(other?),
        }
    }
    Ok(conn.execute(sql)?)
}

/// `catalog` with the enum values the plan adds (what the prepare
/// migration leaves).
fn with_new_enum_values(catalog: &Catalog, plan: &Plan) -> Catalog {
    let mut out = catalog.clone();
    for change in &plan.changes {
        if let Change::AddEnumValue {
            name,
            value,
            before,
        } = change
            && let Some(enum_type) = out.enums.get_mut(name)
        {
            let at = before
                .as_ref()
                .and_then(|b| enum_type.values.iter().position(|v| v == b))
                .unwrap_or(enum_type.values.len());
            enum_type.values.insert(at, value.clone());
        }
    }
    out
}

fn quoted_part(name: &str) -> String {
    if name.contains(['.', '=', '"']) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_owned()
    }
}

/// A name that says what the migration does (`create_users`,
/// `alter_sessions`, `drop_tokens`), else `migration`.
pub(crate) fn derived_name(plan: &Plan) -> String {
    let words: Vec<String> = plan
        .changes
        .iter()
        .filter_map(|change| match change {
            Change::CreateTable { table } => Some(format!("create_{}", table.name.name)),
            Change::DropTable { name, .. } => Some(format!("drop_{}", name.name)),
            Change::RenameTable { to, .. } => Some(format!("rename_to_{to}")),
            Change::CreateView { view } => Some(format!("create_{}", view.name.name)),
            Change::CreateFunction { function } => Some(format!("create_{}", function.name.name)),
            _ => change.table().map(|t| format!("alter_{}", t.name)),
        })
        .fold(Vec::new(), |mut acc, w| {
            if !acc.contains(&w) {
                acc.push(w);
            }
            acc
        });
    let mut name = words.into_iter().take(3).collect::<Vec<_>>().join("_");
    if name.is_empty() {
        "migration".clone_into(&mut name);
    }
    sanitize(&name)
}

/// Lower case letters, digits and underscores, at most 48 of them.
pub(crate) fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    let out = out.trim_matches('_');
    let mut out: String = out.chars().take(48).collect();
    if out.is_empty() {
        "migration".clone_into(&mut out);
    }
    out
}

pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Statements as a migration file: hazards as comments above each (data
/// loss marked in rollback scripts), joined by drizzle's breakpoints.
pub(crate) fn script(statements: &[&Statement], header: Option<&str>, mark_loss: bool) -> String {
    let mut parts = Vec::new();
    for statement in statements {
        let mut text = String::new();
        for hazard in &statement.hazards {
            let label = if mark_loss && hazard.is_data_loss() {
                "DATA LOSS"
            } else {
                hazard.severity.as_str()
            };
            let _ = writeln!(
                text,
                "-- {label}[{}]: {}",
                hazard.id.as_str(),
                hazard.message
            );
        }
        text.push_str(&statement.sql);
        text.push(';');
        parts.push(text);
    }
    let mut out = String::new();
    if let Some(header) = header {
        out.push_str(header);
        out.push('\n');
    }
    out.push_str(&parts.join(&format!("\n{BREAKPOINT}\n")));
    out
}

pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> MigrateError {
    let path = path.to_owned();
    move |source| MigrateError::Io {
        action,
        path,
        source,
    }
}

/// Writes a generated migration: its SQL, rollback script, journal entry
/// and snapshot. Statements that cannot run in a transaction (adding an
/// enum value that later statements use) go in a migration of their own,
/// just before. Returns the migrations written.
///
/// # Errors
/// A file that cannot be written.
pub fn write(
    settings: &Settings,
    folder: &Folder,
    generated: &Generated,
) -> Result<Vec<PathBuf>, MigrateError> {
    let dir = &folder.dir;
    let meta = dir.join("meta");
    fs::create_dir_all(&meta).map_err(io("could not create", &meta))?;
    let mut journal = folder.journal.clone().unwrap_or(Journal {
        version: "7".to_owned(),
        dialect: "postgresql".to_owned(),
        entries: Vec::new(),
    });
    let last_when = journal.entries.last().map_or(0, |e| e.when);
    let first_when = now_millis().max(last_when + 1);
    let mut written = Vec::new();
    let outside: Vec<&Statement> = generated
        .statements
        .iter()
        .filter(|s| s.transaction == Transaction::Outside)
        .collect();
    let inside: Vec<&Statement> = generated
        .statements
        .iter()
        .filter(|s| s.transaction == Transaction::Inside)
        .collect();
    let mut units: Vec<(String, String, String, &Catalog)> = Vec::new();
    if generated.custom {
        units.push((
            generated.name.clone(),
            "-- Custom SQL migration file, put your code below! --".to_owned(),
            "-- Rollback of a custom migration: write the SQL that undoes it below. --".to_owned(),
            &generated.desired,
        ));
    } else if !generated.online.is_empty() {
        let steps = &generated.online;
        for (i, step) in steps.iter().enumerate() {
            let first_of_two = steps
                .get(i + 1)
                .is_some_and(|next| next.kind == PhaseKind::Expand);
            let suffix = if step.kind == PhaseKind::Concurrent && first_of_two {
                "_prepare"
            } else {
                step.kind.suffix()
            };
            let header = match step.kind {
                _ if !step.kind.transactional() || first_of_two => Some(NO_TRANSACTION.to_owned()),
                PhaseKind::Contract => Some(format!(
                    "{CONTRACT}\n-- The last step of an online change: it removes what the previous version of the app\n-- still uses. `strata migrate` applies it only with --contract, once every instance runs the new version."
                )),
                _ => None,
            };
            let statements: Vec<&Statement> = step.statements.iter().collect();
            let rollback: Vec<&Statement> = step.rollback.iter().collect();
            units.push((
                format!("{}{suffix}", generated.name),
                script(&statements, header.as_deref(), false),
                script(&rollback, None, true),
                &step.catalog,
            ));
        }
    } else {
        let rollback: Vec<&Statement> = generated.rollback.iter().collect();
        if let Some(prepare) = &generated.prepare {
            let prepare_rollback: Vec<&Statement> = prepare.rollback.iter().collect();
            units.push((
                format!("{}_prepare", generated.name),
                script(&outside, Some(NO_TRANSACTION), false),
                script(&prepare_rollback, None, true),
                &prepare.catalog,
            ));
            units.push((
                generated.name.clone(),
                script(&inside, None, false),
                script(&rollback, None, true),
                &generated.desired,
            ));
        } else {
            let all: Vec<&Statement> = generated.statements.iter().collect();
            let header = (!outside.is_empty()).then_some(NO_TRANSACTION);
            units.push((
                generated.name.clone(),
                script(&all, header, false),
                script(&rollback, None, true),
                &generated.desired,
            ));
        }
    }
    let prev = snapshot::previous_id(&meta);
    let mut prev_id = prev;
    for ((idx, when), (name, sql, rollback, catalog)) in
        (folder.next_idx()..).zip(first_when..).zip(units)
    {
        let tag = format!("{idx:04}_{name}");
        let file = dir.join(format!("{tag}.sql"));
        fs::write(&file, &sql).map_err(io("could not write", &file))?;
        let rollback_file = dir.join(format!("{tag}_rollback.sql"));
        fs::write(&rollback_file, &rollback).map_err(io("could not write", &rollback_file))?;
        let id = snapshot::uuid_v4();
        let snapshot_file = meta.join(format!("{idx:04}_snapshot.json"));
        fs::write(&snapshot_file, snapshot::render(catalog, &id, &prev_id))
            .map_err(io("could not write", &snapshot_file))?;
        prev_id = id;
        journal.entries.push(JournalEntry {
            idx,
            version: "7".to_owned(),
            when,
            tag,
            breakpoints: true,
        });
        written.push(file);
    }
    let journal_file = meta.join("_journal.json");
    let text = serde_json::to_string_pretty(&journal).expect("journals serialize");
    fs::write(&journal_file, text).map_err(io("could not write", &journal_file))?;
    let _ = settings;
    Ok(written)
}

/// Removes the last migration (its SQL, rollback script, journal entry and
/// snapshot), after checking that `conn`'s database has not applied it.
///
/// # Errors
/// `tag` is not the last migration, or it is applied.
pub fn drop_last(
    settings: &Settings,
    folder: &Folder,
    tag: Option<&str>,
    conn: &mut Connection,
) -> Result<Migration, MigrateError> {
    drop_last_unless_applied(folder, tag, &mut |index| {
        let (rows, _) = tracking::read(conn, &settings.tracking)?;
        let state = Reconciled::new(&folder.migrations, &rows);
        Ok(state.is_recorded(index).then(|| conn.info().describe()))
    })
}

/// [`drop_last`] for any database: `applied_by(index)` names the database
/// when it has applied the last migration (which is then kept).
///
/// # Errors
/// `tag` is not the last migration, or it is applied.
pub fn drop_last_unless_applied(
    folder: &Folder,
    tag: Option<&str>,
    applied_by: &mut dyn FnMut(usize) -> Result<Option<String>, MigrateError>,
) -> Result<Migration, MigrateError> {
    let Some(last) = folder.migrations.last() else {
        return Err(MigrateError::CannotDrop {
            tag: tag.unwrap_or_default().to_owned(),
            reason: "the migrations folder is empty".to_owned(),
        });
    };
    if let Some(tag) = tag
        && tag != last.tag
    {
        if folder.find(tag).is_none() {
            return Err(MigrateError::UnknownTag {
                tag: tag.to_owned(),
            });
        }
        return Err(MigrateError::CannotDrop {
            tag: tag.to_owned(),
            reason: format!("it is not the last migration (`{}` is)", last.tag),
        });
    }
    if folder.layout != Layout::Journal {
        return Err(MigrateError::CannotDrop {
            tag: last.tag.clone(),
            reason: "the folder uses drizzle-kit 1.0's layout; remove its folder by hand"
                .to_owned(),
        });
    }
    if let Some(database) = applied_by(folder.migrations.len() - 1)? {
        return Err(MigrateError::CannotDrop {
            tag: last.tag.clone(),
            reason: format!("{database} has applied it"),
        });
    }
    let dir = &folder.dir;
    let mut journal = folder.journal.clone().unwrap_or(Journal {
        version: "7".to_owned(),
        dialect: "postgresql".to_owned(),
        entries: Vec::new(),
    });
    journal.entries.retain(|e| e.tag != last.tag);
    let journal_file = dir.join("meta").join("_journal.json");
    fs::write(
        &journal_file,
        serde_json::to_string_pretty(&journal).expect("journals serialize"),
    )
    .map_err(io("could not write", &journal_file))?;
    for file in [
        dir.join(format!("{}.sql", last.tag)),
        dir.join(format!("{}_rollback.sql", last.tag)),
        dir.join("meta")
            .join(format!("{:04}_snapshot.json", last.idx)),
    ] {
        if file.exists() {
            fs::remove_file(&file).map_err(io("could not remove", &file))?;
        }
    }
    Ok(last.clone())
}
