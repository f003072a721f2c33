//! The pair property, shared by the hand-written cases and the corpus:
//! load A (with rows), push B, and the database must equal B loaded
//! directly, keep its rows, and plan nothing on a second push.

use std::collections::{BTreeMap, BTreeSet};

use strata::config::TrackingTable;
use strata::desired::{DesiredSource, rename_annotations};
use strata::push::{Scope, apply_push, plan_between};
use strata_diff::{NoRenames, RenameRequest};
use strata_model::{Catalog, QualifiedName};
use strata_postgres::{Connection, SourceFile, load_schema};
use strata_sql::Statement;
use strata_testkit::TestDatabase;

pub(crate) fn file(text: &str) -> Vec<SourceFile> {
    vec![SourceFile {
        path: "schema.sql".to_owned(),
        text: text.to_owned(),
    }]
}

/// Loads `sql` into a fresh database.
pub(crate) fn loaded(sql: &str) -> Result<TestDatabase, String> {
    let db = strata_testkit::database();
    load_schema(&mut db.connect(), &file(sql)).map_err(|e| e.to_string())?;
    Ok(db)
}

pub(crate) fn tracking() -> TrackingTable {
    TrackingTable {
        schema: "drizzle".to_owned(),
        table: "__drizzle_migrations".to_owned(),
    }
}

/// Every schema of both catalogs: the pair tests manage everything.
pub(crate) fn scope_of(a: &Catalog, b: &Catalog) -> Scope {
    let schemas: BTreeSet<String> = a
        .schemas
        .keys()
        .chain(b.schemas.keys())
        .map(ToString::to_string)
        .chain(std::iter::once("public".to_owned()))
        .collect();
    Scope {
        schemas,
        tracking: tracking(),
        grants: strata::config::Grants::Managed,
    }
}

/// Row counts of every table of `catalog`, in one query.
pub(crate) fn row_counts(conn: &mut Connection, catalog: &Catalog) -> BTreeMap<QualifiedName, i64> {
    let names: Vec<&QualifiedName> = catalog.tables.keys().collect();
    if names.is_empty() {
        return BTreeMap::new();
    }
    let selects: Vec<String> = names
        .iter()
        .map(|n| {
            format!(
                "(SELECT count(*) FROM {})",
                strata_syntax::quote_qualified(&n.schema, &n.name)
            )
        })
        .collect();
    let row = conn
        .query_text(&format!("SELECT {}", selects.join(", ")))
        .expect("count rows")
        .remove(0);
    names
        .into_iter()
        .zip(row)
        .map(|(n, v)| (n.clone(), v.and_then(|v| v.parse().ok()).unwrap_or(-1)))
        .collect()
}

/// What a push did.
#[derive(Debug)]
pub(crate) struct Pushed {
    pub(crate) statements: Vec<Statement>,
}

/// Pushes `target` (a schema script) onto `db`, with renames from
/// `renames` flags and the script's annotations; checks that the result
/// equals `target` loaded directly (`expected`), that rows of tables that
/// remain are kept, and that a second push plans nothing.
pub(crate) fn push_and_check(
    db: &TestDatabase,
    target: &str,
    expected: &Catalog,
    renames: &[&str],
) -> Result<Pushed, String> {
    push_and_check_as(db, target, expected, renames, false)
}

/// [`push_and_check`], with the plan in its online form when `online`.
pub(crate) fn push_and_check_as(
    db: &TestDatabase,
    target: &str,
    expected: &Catalog,
    renames: &[&str],
    online: bool,
) -> Result<Pushed, String> {
    let mut conn = db.connect();
    let (current, server) = conn.introspect().map_err(|e| e.to_string())?;
    let scope = scope_of(&current, expected);
    let mut requests: Vec<RenameRequest> = renames
        .iter()
        .map(|r| RenameRequest::parse(r).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    requests.extend(rename_annotations(&file(target)));
    let before = row_counts(&mut conn, &current);
    let plan = plan_between(
        &mut conn,
        current.clone(),
        server.clone(),
        expected.clone(),
        DesiredSource::Cache,
        scope.clone(),
        &requests,
        &mut NoRenames,
    )
    .map_err(|e| format!("plan: {e}"))?;
    let mut plan = plan;
    if online {
        strata::push::make_online(&mut plan, std::time::Duration::from_secs(5), 3)
            .map_err(|e| format!("online: {e}"))?;
    }
    let table_renames: BTreeMap<QualifiedName, QualifiedName> = plan
        .plan
        .changes
        .iter()
        .filter_map(|c| match c {
            strata_diff::Change::RenameTable { from, to } => {
                Some((from.clone(), from.with_name(to.clone())))
            }
            _ => None,
        })
        .collect();
    apply_push(&mut conn, &plan, &mut ()).map_err(|e| {
        let sql: Vec<_> = plan.statements.iter().map(|s| s.sql.as_str()).collect();
        format!("apply: {e}\nplan:\n{}", sql.join(";\n"))
    })?;
    let (mut after, server) = conn.introspect().map_err(|e| e.to_string())?;
    scope.restrict(&mut after);
    let mut wanted = expected.clone();
    scope.restrict(&mut wanted);
    for (a, b, label) in [
        (&after, &wanted, "database → target"),
        (&wanted, &after, "target → database"),
    ] {
        let diff = strata_diff::diff(a, b, &[], &mut NoRenames).map_err(|e| e.to_string())?;
        if !diff.is_empty() {
            return Err(format!(
                "after the push, {label} still differs: {:?}",
                diff.changes
            ));
        }
    }
    let again = plan_between(
        &mut conn,
        after.clone(),
        server,
        expected.clone(),
        DesiredSource::Cache,
        scope,
        &[],
        &mut NoRenames,
    )
    .map_err(|e| e.to_string())?;
    if !again.is_empty() {
        let sql: Vec<_> = again.statements.iter().map(|s| s.sql.as_str()).collect();
        return Err(format!("a second push plans: {}", sql.join("; ")));
    }
    let after_counts = row_counts(&mut conn, &after);
    for (table, count) in before {
        let name = table_renames.get(&table).unwrap_or(&table);
        if let Some(now) = after_counts.get(name)
            && *now != count
        {
            return Err(format!(
                "table {name} had {count} rows and has {now} after the push"
            ));
        }
    }
    Ok(Pushed {
        statements: plan.statements,
    })
}

/// The pair property for hand-written cases: `from` with `rows`, pushed to
/// `to` with `renames`.
pub(crate) fn pair(from: &str, rows: &str, to: &str, renames: &[&str]) -> Pushed {
    let a = loaded(from).unwrap_or_else(|e| panic!("load from: {e}"));
    if !rows.is_empty() {
        a.execute(rows);
    }
    let b = loaded(to).unwrap_or_else(|e| panic!("load to: {e}"));
    let (expected, _) = b.connect().introspect().expect("introspect to");
    push_and_check(&a, to, &expected, renames).unwrap_or_else(|e| panic!("{e}"))
}

/// The SQL of a push, for assertions.
pub(crate) fn sql(pushed: &Pushed) -> Vec<String> {
    pushed.statements.iter().map(|s| s.sql.clone()).collect()
}

/// The hazard ids of each statement.
pub(crate) fn hazards(pushed: &Pushed) -> Vec<Vec<&'static str>> {
    pushed
        .statements
        .iter()
        .map(|s| s.hazards.iter().map(|h| h.id.as_str()).collect())
        .collect()
}
