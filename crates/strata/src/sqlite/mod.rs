//! SQLite: the desired state (the schema files loaded into an in-memory
//! database: no server, no cache needed), `push` planned and applied with
//! the same [`PushPlan`] as PostgreSQL, and what makes two SQLite catalogs
//! comparable (SQLite names are case-insensitive); migrations in
//! [`migrate`].

mod migrate;
mod snapshot;

pub use migrate::{
    Generated, backup, drop_last, generate, mark_applied, migrate, replay, rollback, status,
    write_generated,
};

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use strata_diff::{Change, NoRenames, Plan, RenameOrigin, RenameRequest, RenameResolver};
use strata_model::{Catalog, Ident, QualifiedName};
use strata_postgres::{ServerInfo, SourceFile};
use strata_sql::{RenderContext, Statement};
use strata_sqlite::{Connection, MAIN, SqliteError};

use crate::config::{Grants, Settings, TrackingTable};
use crate::desired::DesiredSource;
use crate::push::{ApplyReport, Batch, PushOptions, PushPlan, Scope};
use crate::{Error, Event, Observer};

/// The schema files as a catalog: loaded into a new in-memory database
/// and read back.
///
/// # Errors
/// A schema file SQLite refuses (file, line and message).
pub fn desired_state(files: &[SourceFile]) -> Result<(Catalog, DesiredSource), Error> {
    let started = Instant::now();
    let mut conn = Connection::memory()?;
    let sources: Vec<strata_sqlite::SourceFile<'_>> = files
        .iter()
        .map(|f| strata_sqlite::SourceFile {
            path: &f.path,
            text: &f.text,
        })
        .collect();
    let report = strata_sqlite::load_schema(&mut conn, &sources)?;
    let catalog = conn.introspect()?;
    Ok((
        catalog,
        DesiredSource::Scratch {
            place: "an in-memory SQLite database".to_owned(),
            statements: report.statements,
            elapsed: started.elapsed(),
        },
    ))
}

/// What an SQLite push manages: every table and view of `main`, except
/// the migrations tracking table.
pub fn scope(tracking_table: &str) -> Scope {
    Scope {
        schemas: std::iter::once(MAIN.to_owned()).collect(),
        tracking: TrackingTable {
            schema: MAIN.to_owned(),
            table: tracking_table.to_owned(),
        },
        grants: Grants::Ignored,
    }
}

/// The renames the schema files' `@renamed from=` comments ask for, in
/// SQLite's schema `main`.
pub fn rename_annotations(files: &[SourceFile]) -> Vec<RenameRequest> {
    crate::desired::rename_annotations(files)
        .into_iter()
        .map(|mut request| {
            if request.from.first().is_some_and(|s| s == "public") {
                MAIN.clone_into(&mut request.from[0]);
            }
            request
        })
        .collect()
}

/// Spells `desired`'s tables as `current` does where they differ only in
/// case: SQLite takes `Users` and `users` for one table (and cannot rename
/// one to the other). Returns the renames that columns spelled
/// differently only in case need: give them to the diff.
#[must_use = "the diff needs the renames of columns whose case changed"]
pub fn align_names(current: &Catalog, desired: &mut Catalog) -> Vec<RenameRequest> {
    let lower = |s: &str| s.to_ascii_lowercase();
    let mut case_renames = Vec::new();
    let mut table_names: BTreeMap<QualifiedName, QualifiedName> = BTreeMap::new();
    for name in desired.tables.keys().chain(desired.views.keys()) {
        if current.tables.contains_key(name) || current.views.contains_key(name) {
            continue;
        }
        if let Some(old) = current
            .tables
            .keys()
            .chain(current.views.keys())
            .find(|c| lower(&c.name) == lower(&name.name))
            && !desired.tables.contains_key(old)
            && !desired.views.contains_key(old)
        {
            table_names.insert(name.clone(), old.clone());
        }
    }
    let tables = std::mem::take(&mut desired.tables);
    for (name, mut table) in tables {
        let new_name = table_names
            .get(&name)
            .cloned()
            .unwrap_or_else(|| name.clone());
        table.name = new_name.clone();
        if new_name != name {
            // What introspection spells with the table's name: the names
            // strata gives unnamed constraints, and index definitions.
            let (from, to) = (name.name.to_string(), new_name.name.to_string());
            for constraint in &mut table.constraints {
                if !constraint.definition.starts_with("CONSTRAINT ")
                    && let Some(rest) = constraint.name.strip_prefix(&format!("{from}_"))
                {
                    constraint.name = Ident::new(format!("{to}_{rest}"));
                }
            }
            for index in &mut table.indexes {
                index.definition = index.definition.replacen(
                    &format!(" ON {} (", strata_sqlite::quote(&from)),
                    &format!(" ON {} (", strata_sqlite::quote(&to)),
                    1,
                );
            }
        }
        if let Some(old) = current.tables.get(&new_name) {
            // A column spelled differently only in case is renamed
            // (SQLite's RENAME COLUMN takes it, and rewrites every
            // reference), not dropped and added.
            for column in &table.columns {
                if old.column(&column.name).is_some() {
                    continue;
                }
                if let Some(previous) = old
                    .columns
                    .iter()
                    .find(|o| lower(&o.name) == lower(&column.name))
                    .filter(|o| table.column(&o.name).is_none())
                {
                    case_renames.push(RenameRequest {
                        from: vec![
                            MAIN.to_owned(),
                            new_name.name.to_string(),
                            previous.name.to_string(),
                        ],
                        to: column.name.to_string(),
                        text: format!(
                            "{}.{}={} (a change of case)",
                            new_name.name, previous.name, column.name
                        ),
                        origin: RenameOrigin::Flag,
                    });
                }
            }
        }
        desired.tables.insert(new_name, table);
    }
    let views = std::mem::take(&mut desired.views);
    for (name, mut view) in views {
        let new_name = table_names.get(&name).cloned().unwrap_or(name);
        view.name = new_name.clone();
        desired.views.insert(new_name, view);
    }
    for table in desired.tables.values_mut() {
        for constraint in &mut table.constraints {
            if let Some(references) = &mut constraint.references
                && let Some(to) = table_names.get(&references.table)
            {
                constraint.definition = constraint.definition.replacen(
                    &format!(
                        "REFERENCES {}",
                        strata_sqlite::quote(&references.table.name)
                    ),
                    &format!("REFERENCES {}", strata_sqlite::quote(&to.name)),
                    1,
                );
                references.table = to.clone();
            }
        }
    }
    for dependency in &mut desired.dependencies {
        for object in [&mut dependency.dependent, &mut dependency.referenced] {
            match object {
                strata_model::ObjectRef::Table(n) | strata_model::ObjectRef::View(n) => {
                    if let Some(to) = table_names.get(n) {
                        *n = to.clone();
                    }
                }
                _ => {}
            }
        }
    }
    case_renames
}

fn server_info(conn: &Connection) -> ServerInfo {
    ServerInfo {
        server_version_num: 0,
        max_locks_per_transaction: 0,
        max_connections: 0,
        database: conn.target().describe(),
        user: String::new(),
    }
}

/// Reads the database and the schema files and plans the statements that
/// make the first match the second.
///
/// # Errors
/// A schema file SQLite refuses, a rename that does not fit, or a change
/// SQLite cannot make.
pub fn plan_push(
    settings: &Settings,
    conn: &mut Connection,
    files: &[SourceFile],
    options: &PushOptions,
    resolver: &mut dyn RenameResolver,
    observer: &mut dyn Observer,
) -> Result<PushPlan, Error> {
    observer.event(Event::Stage(format!(
        "reading {}",
        conn.target().describe()
    )));
    let current = conn.introspect()?;
    observer.event(Event::Stage(format!(
        "loading {} schema file(s) into an in-memory SQLite database",
        files.len()
    )));
    let (desired, source) = desired_state(files)?;
    let mut renames = options.renames.clone();
    renames.extend(rename_annotations(files));
    plan_between(
        conn,
        current,
        desired,
        source,
        &scope(&settings.tracking.table),
        &renames,
        resolver,
    )
}

/// Plans the statements from `current` (read from `conn`'s database) to
/// `desired`.
///
/// # Errors
/// Rename or planning errors, a change SQLite cannot make, or a failed
/// count of the rows a change affects.
pub fn plan_between(
    conn: &mut Connection,
    mut current: Catalog,
    mut desired: Catalog,
    desired_source: DesiredSource,
    scope: &Scope,
    renames: &[RenameRequest],
    resolver: &mut dyn RenameResolver,
) -> Result<PushPlan, Error> {
    scope.restrict(&mut current);
    scope.restrict(&mut desired);
    let mut renames = renames.to_vec();
    renames.extend(align_names(&current, &mut desired));
    let plan = strata_diff::diff(&current, &desired, &renames, resolver)?;
    let mut ctx = RenderContext::new(&current, &desired);
    count_rows(conn, &plan, &current, &mut ctx)?;
    let statements = strata_sql::sqlite::render(&plan, &ctx)?;
    let unmanaged_missing = desired
        .unmanaged
        .iter()
        .filter(|o| !current.unmanaged.contains(o))
        .cloned()
        .collect();
    let transactions = if statements.is_empty() {
        Vec::new()
    } else {
        vec![Batch {
            start: 0,
            end: statements.len(),
            transactional: true,
        }]
    };
    Ok(PushPlan {
        target: conn.target().describe(),
        server: server_info(conn),
        unmanaged: current.unmanaged.clone(),
        unmanaged_missing,
        current,
        desired,
        desired_source,
        plan,
        statements,
        transactions,
        scope: scope.clone(),
        phases: Vec::new(),
        lock_timeout: None,
    })
}

/// Exact row counts of the tables the plan drops or changes, and value
/// counts of the columns it drops, in one query.
fn count_rows(
    conn: &mut Connection,
    plan: &Plan,
    current: &Catalog,
    ctx: &mut RenderContext<'_>,
) -> Result<(), Error> {
    let quote = |n: &QualifiedName| strata_sqlite::quote(&n.name);
    let mut tables = BTreeSet::new();
    let mut columns = BTreeSet::new();
    for change in &plan.changes {
        if let Change::DropColumn {
            table,
            column,
            generated: false,
        } = change
            && current
                .tables
                .get(table)
                .is_some_and(|t| t.column(column).is_some())
        {
            columns.insert((table.clone(), column.clone()));
        }
        if let Some(table) = change.table()
            && current.tables.contains_key(table)
        {
            tables.insert(table.clone());
        }
    }
    let mut selects: Vec<String> = tables
        .iter()
        .map(|t| format!("(SELECT count(*) FROM {})", quote(t)))
        .collect();
    selects.extend(columns.iter().map(|(t, c)| {
        format!(
            "(SELECT count({}) FROM {})",
            strata_sqlite::quote(c),
            quote(t)
        )
    }));
    if selects.is_empty() {
        return Ok(());
    }
    let row = conn
        .query_text(&format!("SELECT {}", selects.join(", ")))?
        .into_iter()
        .next()
        .unwrap_or_default();
    let mut values = row
        .into_iter()
        .map(|v| v.and_then(|v| v.parse::<i64>().ok()));
    for table in tables {
        if let Some(Some(n)) = values.next() {
            ctx.row_counts.insert(table, n);
        }
    }
    for column in columns {
        if let Some(Some(n)) = values.next() {
            ctx.value_counts.insert(column, n);
        }
    }
    Ok(())
}

/// Runs a plan's statements in one transaction (foreign keys off around
/// it when the plan drops or rebuilds a table, `PRAGMA foreign_key_check`
/// before `COMMIT`). Before committing, the database is read again and
/// compared with the desired state: if they differ, nothing is kept.
///
/// # Errors
/// A statement that fails, a foreign key the result violates, or a result
/// that does not match; in each case the transaction is rolled back.
pub fn apply_push(
    conn: &mut Connection,
    plan: &PushPlan,
    observer: &mut dyn Observer,
) -> Result<ApplyReport, Error> {
    let started = Instant::now();
    let total = plan.statements.len();
    let sql: Vec<&str> = plan.statements.iter().map(|s| s.sql.as_str()).collect();
    let mut remaining: Option<String> = None;
    let result = conn.run_transaction(&sql, &mut |conn| {
        let mut after = conn.introspect()?;
        plan.scope.restrict(&mut after);
        let mut desired = plan.desired.clone();
        let renames = align_names(&after, &mut desired);
        let diff = strata_diff::diff(&after, &desired, &renames, &mut NoRenames)
            .map_err(|e| SqliteError::Catalog(e.to_string()))?;
        if diff.is_empty() {
            return Ok(());
        }
        let ctx = RenderContext::new(&after, &desired);
        let statements = strata_sql::sqlite::render(&diff, &ctx).unwrap_or_default();
        // Statements when the difference has any, else the changes.
        remaining = Some(if statements.is_empty() {
            format!("{:?}", diff.changes)
        } else {
            statements
                .iter()
                .map(|s| s.sql.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        });
        Err(SqliteError::Catalog(
            "the result differs from the schema files".to_owned(),
        ))
    });
    match result {
        Ok(()) => {
            observer.event(Event::Progress { done: total, total });
            Ok(ApplyReport {
                statements: total,
                transactions: usize::from(total > 0),
                elapsed: started.elapsed(),
            })
        }
        Err((_, _)) if remaining.is_some() => Err(Error::NotConverged {
            remaining: remaining.unwrap_or_default(),
            help: crate::error::NOT_CONVERGED_HELP.to_owned(),
        }),
        Err((Some(i), error)) => Err(Error::SqliteApply {
            number: i + 1,
            total,
            sql: plan.statements[i].sql.clone(),
            error,
        }),
        Err((None, error)) => Err(Error::Sqlite(error)),
    }
}

/// The statements of a plan between two SQLite catalogs (for drift and
/// rollback scripts).
///
/// # Errors
/// A change SQLite cannot make.
pub fn render_between(from: &Catalog, to: &Catalog, plan: &Plan) -> Result<Vec<Statement>, Error> {
    Ok(strata_sql::sqlite::render(
        plan,
        &RenderContext::new(from, to),
    )?)
}
