use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use strata::desired::DesiredSource;
use strata_diff::{Change, NoRenames, RenameRequest};
use strata_model::{Catalog, QualifiedName, Table};
use strata_postgres::SourceFile;
use strata_sqlite::{Connection, Target};

pub(crate) const TRACKING: &str = "__drizzle_migrations";

/// A fresh temporary folder, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new() -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "strata-sqlite-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn open(path: &Path) -> Connection {
    Connection::open(&Target::File(path.to_owned())).expect("open the database")
}

pub(crate) fn files(sql: &str) -> Vec<SourceFile> {
    vec![SourceFile {
        path: "schema.sql".to_owned(),
        text: sql.to_owned(),
    }]
}

/// The catalog a schema gives, read back from an in-memory database.
pub(crate) fn catalog(sql: &str) -> Result<Catalog, String> {
    strata::sqlite::desired_state(&files(sql))
        .map(|(c, _)| c)
        .map_err(|e| e.to_string())
}

pub(crate) fn value(conn: &mut Connection, sql: &str) -> String {
    conn.query_text(sql).expect("query")[0][0]
        .clone()
        .unwrap_or_default()
}

/// A value of a column's type (by SQLite's affinity rules).
fn literal(data_type: &str, n: usize) -> String {
    let t = data_type.to_ascii_uppercase();
    if t.contains("INT") {
        n.to_string()
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        format!("'v{n}'")
    } else if t.contains("BLOB") {
        format!("x'0{n}'")
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        format!("{n}.5")
    } else {
        n.to_string()
    }
}

/// Three rows in every table that takes them (parents first: a table is
/// tried again until nothing more goes in). Returns the rows per table.
pub(crate) fn fill(conn: &mut Connection, catalog: &Catalog) -> BTreeMap<QualifiedName, i64> {
    let insert = |table: &Table, n: usize| {
        let columns: Vec<_> = table
            .columns
            .iter()
            .filter(|c| c.generated.is_none())
            .collect();
        let names: Vec<String> = columns
            .iter()
            .map(|c| strata_sqlite::quote(&c.name))
            .collect();
        let values: Vec<String> = columns
            .iter()
            .map(|c| {
                // A foreign key column takes its parent column's values.
                let parent_type = table
                    .constraints
                    .iter()
                    .filter_map(|k| Some((k, k.references.as_ref()?)))
                    .find_map(|(k, r)| {
                        let at = k.columns.iter().position(|x| x == &c.name)?;
                        let parent = catalog.tables.get(&r.table)?;
                        let column = r.columns.get(at)?;
                        parent.column(column).map(|p| p.data_type.clone())
                    });
                literal(parent_type.as_deref().unwrap_or(&c.data_type), n)
            })
            .collect();
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            strata_sqlite::quote(&table.name.name),
            names.join(", "),
            values.join(", ")
        )
    };
    let mut done: BTreeMap<QualifiedName, i64> = BTreeMap::new();
    for _ in 0..=catalog.tables.len() {
        for table in catalog.tables.values() {
            if done.contains_key(&table.name) || table.columns.iter().all(|c| c.generated.is_some())
            {
                continue;
            }
            if (1..=3).all(|n| conn.execute(&insert(table, n)).is_ok()) {
                done.insert(table.name.clone(), 3);
            } else {
                let _ = conn.execute(&format!(
                    "DELETE FROM {}",
                    strata_sqlite::quote(&table.name.name)
                ));
            }
        }
    }
    // Triggers may have added rows: count them.
    for (table, count) in &mut done {
        *count = value(
            conn,
            &format!("SELECT count(*) FROM {}", strata_sqlite::quote(&table.name)),
        )
        .parse()
        .expect("a count");
    }
    done
}

/// What a checked push did.
#[derive(Debug)]
pub(crate) struct Pushed {
    pub(crate) statements: Vec<String>,
    /// Tables with rows before that still have them all.
    pub(crate) rows_kept: usize,
}

impl Pushed {
    pub(crate) fn rebuilt(&self) -> bool {
        self.statements.iter().any(|s| s.contains("__strata_new_"))
    }
}

/// Loads `current` into a new database file (with rows when `rows`),
/// pushes `desired` onto it, and checks the pair property: the database's
/// catalog is the target's (compared both ways), the rows of the tables
/// the plan keeps are there, `PRAGMA foreign_key_check` is clean, and a
/// second push plans nothing.
pub(crate) fn push_and_check(
    current: &str,
    desired: &str,
    renames: &[&str],
    rows: bool,
) -> Result<Pushed, String> {
    let dir = TempDir::new();
    let path = dir.path("app.db");
    let mut conn = open(&path);
    strata_sqlite::load_schema(
        &mut conn,
        &[strata_sqlite::SourceFile {
            path: "current.sql",
            text: current,
        }],
    )
    .map_err(|e| format!("current does not load: {e}"))?;
    let wanted = catalog(desired).map_err(|e| format!("desired does not load: {e}"))?;
    let before_catalog = conn.introspect().map_err(|e| e.to_string())?;
    let filled = if rows {
        fill(&mut conn, &before_catalog)
    } else {
        BTreeMap::new()
    };
    let requests: Vec<RenameRequest> = renames
        .iter()
        .map(|r| RenameRequest::parse(r).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .chain(strata::sqlite::rename_annotations(&files(desired)))
        .collect();
    let scope = strata::sqlite::scope(TRACKING);
    let plan = strata::sqlite::plan_between(
        &mut conn,
        before_catalog,
        wanted.clone(),
        DesiredSource::Cache,
        &scope,
        &requests,
        &mut NoRenames,
    )
    .map_err(|e| format!("plan: {e}"))?;
    let statements: Vec<String> = plan.statements.iter().map(|s| s.sql.clone()).collect();
    strata::sqlite::apply_push(&mut conn, &plan, &mut ())
        .map_err(|e| format!("apply: {e}\nplan:\n{}", statements.join(";\n")))?;
    // Reopen: what is on disk counts.
    drop(conn);
    let mut conn = open(&path);
    let mut after = conn.introspect().map_err(|e| e.to_string())?;
    scope.restrict(&mut after);
    let mut target = wanted;
    scope.restrict(&mut target);
    let case_renames = strata::sqlite::align_names(&after, &mut target);
    if !case_renames.is_empty() {
        return Err(format!(
            "after the push, columns differ in case: {case_renames:?}\nplan:\n{}",
            statements.join(";\n")
        ));
    }
    for (a, b, label) in [
        (&after, &target, "database → target"),
        (&target, &after, "target → database"),
    ] {
        let diff = strata_diff::diff(a, b, &[], &mut NoRenames).map_err(|e| e.to_string())?;
        if !diff.is_empty() {
            return Err(format!(
                "after the push, {label} still differs: {:?}\nplan:\n{}",
                diff.changes,
                statements.join(";\n")
            ));
        }
    }
    let violations = conn.foreign_key_violations().map_err(|e| e.to_string())?;
    if !violations.is_empty() {
        return Err(format!("foreign_key_check: {violations:?}"));
    }
    // Tables dropped for good (a table dropped and created again is rebuilt
    // with its rows).
    let created: Vec<&QualifiedName> = plan
        .plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::CreateTable { table } => Some(&table.name),
            _ => None,
        })
        .collect();
    let dropped: Vec<&QualifiedName> = plan
        .plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::DropTable { name, .. } if !created.contains(&name) => Some(name),
            _ => None,
        })
        .collect();
    let moved: BTreeMap<&QualifiedName, QualifiedName> = plan
        .plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::RenameTable { from, to } => Some((from, from.with_name(to.clone()))),
            _ => None,
        })
        .collect();
    let mut rows_kept = 0;
    for (table, count) in &filled {
        if dropped.contains(&table) {
            continue;
        }
        let now = moved.get(table).unwrap_or(table);
        let n: i64 = value(
            &mut conn,
            &format!("SELECT count(*) FROM {}", strata_sqlite::quote(&now.name)),
        )
        .parse()
        .map_err(|e| format!("{e}"))?;
        if n != *count {
            return Err(format!(
                "`{}` had {count} rows and has {n}\nplan:\n{}",
                now.name,
                statements.join(";\n")
            ));
        }
        rows_kept += 1;
    }
    let again = strata::sqlite::plan_between(
        &mut conn,
        after,
        target,
        DesiredSource::Cache,
        &scope,
        &[],
        &mut NoRenames,
    )
    .map_err(|e| format!("second plan: {e}"))?;
    if !again.statements.is_empty() {
        let sql: Vec<_> = again.statements.iter().map(|s| s.sql.as_str()).collect();
        return Err(format!("a second push is not empty: {}", sql.join("; ")));
    }
    Ok(Pushed {
        statements,
        rows_kept,
    })
}
