//! The whole SQLite schema as a [`Catalog`], in four set-based queries:
//! `sqlite_schema` (with `pragma_table_list` for the table kinds), and
//! `pragma_table_xinfo`, `pragma_index_list` × `pragma_index_xinfo` and
//! `pragma_foreign_key_list` joined to it as table-valued functions.
//!
//! Everything lives in the schema `main`. Constraints SQLite leaves
//! unnamed get strata's names (`users_pkey`, `users_email_key`,
//! `users_check1`, `posts_user_id_fkey`); their definitions are the
//! canonical SQL clause, with `CONSTRAINT "name"` only when the schema
//! names them, so that naming a constraint is a change.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use strata_model::{
    Catalog, Column, Constraint, ConstraintKind, Dependency, FkAction, Ident, Index, ObjectRef,
    QualifiedName, References, RoutineName, Table, Trigger, UnmanagedObject, View, ViewColumn,
};

use crate::SqliteError;
use crate::lex::{Kind, canonical, meaningful, quote};
use crate::parse::{self, Body, ParsedTable};

/// The schema every SQLite object of the main database is in.
pub const MAIN: &str = "main";

type Rows = Vec<Vec<Option<String>>>;

/// Tables that tools beside the app keep in the database, which strata
/// neither reads nor drops (as drizzle-kit): Litestream's replication
/// state, libSQL's and Cloudflare D1's own tables.
macro_rules! not_internal {
    ($column:literal) => {
        concat!(
            $column,
            " NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND ",
            $column,
            " NOT IN ('_litestream_seq', '_litestream_lock', 'libsql_wasm_func_table', '_cf_KV', '_cf_METADATA')"
        )
    };
}

const OBJECTS: &str = concat!(
    "SELECT s.type, s.name, s.tbl_name, s.sql, coalesce(l.type, '') \
     FROM sqlite_schema s LEFT JOIN pragma_table_list l ON l.schema = 'main' AND l.name = s.name \
     WHERE ",
    not_internal!("s.name"),
    " AND ",
    not_internal!("s.tbl_name"),
    " ORDER BY s.type, s.name"
);

const COLUMNS: &str = concat!(
    "SELECT s.name, x.name, x.type, x.\"notnull\", x.dflt_value, x.pk, x.hidden \
     FROM sqlite_schema s JOIN pragma_table_xinfo(s.name) x \
     WHERE s.type IN ('table', 'view') AND ",
    not_internal!("s.name"),
    " AND s.sql NOT LIKE 'CREATE VIRTUAL%' \
     ORDER BY s.name, x.cid"
);

const INDEXES: &str = concat!(
    "SELECT s.name, il.name, il.\"unique\", ix.name \
     FROM sqlite_schema s JOIN pragma_index_list(s.name) il JOIN pragma_index_xinfo(il.name) ix \
     WHERE s.type = 'table' AND ",
    not_internal!("s.name"),
    " AND il.origin = 'c' AND ix.\"key\" = 1 \
     ORDER BY s.name, il.name, ix.seqno"
);

const FOREIGN_KEYS: &str = concat!(
    "SELECT s.name, f.id, f.\"table\", f.\"from\", f.\"to\", f.on_update, f.on_delete \
     FROM sqlite_schema s JOIN pragma_foreign_key_list(s.name) f \
     WHERE s.type = 'table' AND ",
    not_internal!("s.name"),
    " ORDER BY s.name, f.id, f.seq"
);

/// A foreign key as `pragma_foreign_key_list` gives it: the parent table,
/// the columns, the parent columns (NULL: its primary key), `ON UPDATE`
/// and `ON DELETE`.
type PragmaForeignKey = (String, Vec<String>, Vec<Option<String>>, String, String);

/// The queries introspection runs, in order.
pub(crate) const QUERIES: [&str; 4] = [OBJECTS, COLUMNS, INDEXES, FOREIGN_KEYS];

fn text(row: &[Option<String>], i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

fn qn(name: &str) -> QualifiedName {
    QualifiedName::new(MAIN, name)
}

fn action(text: &str) -> FkAction {
    match text.to_ascii_uppercase().as_str() {
        "CASCADE" => FkAction::Cascade,
        "SET NULL" => FkAction::SetNull,
        "SET DEFAULT" => FkAction::SetDefault,
        "RESTRICT" => FkAction::Restrict,
        _ => FkAction::NoAction,
    }
}

/// Builds the catalog from the results of [`QUERIES`].
pub(crate) fn build(results: &[Rows; 4]) -> Result<Catalog, SqliteError> {
    let [objects, columns, indexes, foreign_keys] = results;
    let mut catalog = Catalog::default();
    // Table names as stored, by lower-cased name (SQLite names are
    // case-insensitive): references are spelled as the table is.
    let mut spelled: BTreeMap<String, String> = BTreeMap::new();
    for row in objects {
        if matches!(text(row, 0).as_str(), "table" | "view") {
            let name = text(row, 1);
            spelled.insert(name.to_ascii_lowercase(), name);
        }
    }
    let spell = |name: &str| {
        spelled
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| name.to_owned())
    };
    let mut parsed: BTreeMap<String, ParsedTable> = BTreeMap::new();
    let mut skipped: BTreeSet<String> = BTreeSet::new();
    for row in objects.iter().filter(|r| text(r, 0) == "table") {
        let (name, sql, kind) = (text(row, 1), text(row, 3), text(row, 4));
        if kind == "virtual" || kind == "shadow" || sql.starts_with("CREATE VIRTUAL") {
            if kind != "shadow" {
                catalog.unmanaged.push(UnmanagedObject {
                    kind: "virtual table".to_owned(),
                    schema: Some(MAIN.to_owned()),
                    name: name.clone(),
                });
            }
            skipped.insert(name);
            continue;
        }
        let table = parse::table(&sql)
            .map_err(|e| SqliteError::Catalog(format!("table `{name}`: {e}")))?
            .unwrap_or_default();
        if !table.unsupported.is_empty() {
            catalog.unmanaged.push(UnmanagedObject {
                kind: format!("table with {}", table.unsupported.join(", ")),
                schema: Some(MAIN.to_owned()),
                name: name.clone(),
            });
            skipped.insert(name);
            continue;
        }
        parsed.insert(name, table);
    }
    // Columns of tables and views.
    let mut view_columns: BTreeMap<String, Vec<ViewColumn>> = BTreeMap::new();
    let mut pk_columns: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for row in columns {
        let relation = text(row, 0);
        if skipped.contains(&relation) {
            continue;
        }
        let name = text(row, 1);
        let data_type = canonical(&text(row, 2));
        if let Some(table) = parsed.get(&relation) {
            let table_entry = catalog.tables.entry(qn(&relation)).or_insert_with(|| {
                let mut t = Table::new(qn(&relation));
                t.options.clone_from(&table.options);
                t
            });
            let parsed_column = table
                .columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(&name));
            let hidden: i64 = text(row, 6).parse().unwrap_or(0);
            let generated = parsed_column
                .and_then(|c| c.generated.clone())
                .filter(|_| hidden >= 2)
                .map(|(expr, stored)| {
                    format!("{expr} {}", if stored { "STORED" } else { "VIRTUAL" })
                });
            let mut column = Column::new(name.clone(), data_type);
            column.not_null = text(row, 3) == "1";
            column.default = row
                .get(4)
                .cloned()
                .flatten()
                .map(|d| canonical(&d))
                .filter(|_| generated.is_none());
            column.generated = generated;
            column.collation = parsed_column
                .and_then(|c| c.collation.clone())
                .map(|c| QualifiedName::new(MAIN, c));
            table_entry.columns.push(column);
            let pk: i64 = text(row, 5).parse().unwrap_or(0);
            if pk > 0 {
                pk_columns.entry(relation).or_default().push((pk, name));
            }
        } else {
            view_columns.entry(relation).or_default().push(ViewColumn {
                name: Ident::new(name),
                data_type,
                comment: None,
            });
        }
    }
    // Tables without columns in the result (none should exist) still count.
    for name in parsed.keys() {
        catalog
            .tables
            .entry(qn(name))
            .or_insert_with(|| Table::new(qn(name)));
    }
    let primary_keys: BTreeMap<String, Vec<String>> = pk_columns
        .into_iter()
        .map(|(t, mut cols)| {
            cols.sort();
            (
                t.to_ascii_lowercase(),
                cols.into_iter().map(|(_, c)| c).collect(),
            )
        })
        .collect();
    // Foreign keys from the pragma, grouped by id.
    let mut fks: BTreeMap<String, BTreeMap<i64, PragmaForeignKey>> = BTreeMap::new();
    for row in foreign_keys {
        let id: i64 = text(row, 1).parse().unwrap_or(0);
        let entry = fks
            .entry(text(row, 0))
            .or_default()
            .entry(id)
            .or_insert_with(|| {
                (
                    text(row, 2),
                    Vec::new(),
                    Vec::new(),
                    text(row, 5),
                    text(row, 6),
                )
            });
        entry.1.push(text(row, 3));
        entry.2.push(row.get(4).cloned().flatten());
    }
    // Column names as the tables spell them, by lower-cased table and
    // column: a foreign key's target columns are spelled as their table
    // declares them, whatever the REFERENCES clause wrote.
    let column_spelling: BTreeMap<(String, String), String> = catalog
        .tables
        .values()
        .flat_map(|t| {
            t.columns.iter().map(|c| {
                (
                    (
                        t.name.name.to_ascii_lowercase(),
                        c.name.to_ascii_lowercase(),
                    ),
                    c.name.to_string(),
                )
            })
        })
        .collect();
    for (name, table) in &parsed {
        let model = catalog
            .tables
            .get_mut(&qn(name))
            .expect("every parsed table is in the catalog");
        let column_name = |written: &str| {
            model
                .columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(written))
                .map_or_else(|| written.to_owned(), |c| c.name.to_string())
        };
        let mut constraints: Vec<Constraint> = Vec::new();
        let mut used_names: BTreeSet<String> = BTreeSet::new();
        let unique_name = |wanted: String, used: &mut BTreeSet<String>| {
            let mut candidate = wanted.clone();
            let mut n = 1;
            while !used.insert(candidate.to_ascii_lowercase()) {
                n += 1;
                candidate = format!("{wanted}{n}");
            }
            candidate
        };
        for constraint in &table.constraints {
            if let Some(n) = &constraint.name {
                used_names.insert(n.to_ascii_lowercase());
            }
        }
        let mut pragma_fks: Vec<_> = fks.remove(name).unwrap_or_default().into_values().collect();
        // The pragma lists foreign keys last-declared first.
        pragma_fks.reverse();
        let mut checks = 0;
        for constraint in &table.constraints {
            let prefix = constraint
                .name
                .as_ref()
                .map(|n| format!("CONSTRAINT {} ", quote(n)))
                .unwrap_or_default();
            let quoted = |cols: &[String]| {
                cols.iter()
                    .map(|c| quote(&column_name(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let (kind, definition, columns, references, synthesized) = match &constraint.body {
                Body::PrimaryKey {
                    columns,
                    conflict,
                    autoincrement,
                } => {
                    let keys: Vec<String> = columns
                        .iter()
                        .map(|(c, desc)| {
                            format!(
                                "{}{}",
                                quote(&column_name(c)),
                                if *desc { " DESC" } else { "" }
                            )
                        })
                        .collect();
                    let mut definition = format!("{prefix}PRIMARY KEY ({})", keys.join(", "));
                    if let Some(conflict) = conflict {
                        let _ = write!(definition, " ON CONFLICT {conflict}");
                    }
                    if *autoincrement {
                        definition.push_str(" AUTOINCREMENT");
                    }
                    let cols: Vec<String> = columns.iter().map(|(c, _)| column_name(c)).collect();
                    (
                        ConstraintKind::PrimaryKey,
                        definition,
                        cols,
                        None,
                        format!("{name}_pkey"),
                    )
                }
                Body::Unique { columns, conflict } => {
                    let mut definition = format!("{prefix}UNIQUE ({})", quoted(columns));
                    if let Some(conflict) = conflict {
                        let _ = write!(definition, " ON CONFLICT {conflict}");
                    }
                    let cols: Vec<String> = columns.iter().map(|c| column_name(c)).collect();
                    let synthesized = format!("{name}_{}_key", cols.join("_"));
                    (ConstraintKind::Unique, definition, cols, None, synthesized)
                }
                Body::Check { expr } => {
                    checks += 1;
                    let mentioned = mentioned_columns(expr, model);
                    (
                        ConstraintKind::Check,
                        format!("{prefix}CHECK ({expr})"),
                        mentioned,
                        None,
                        format!("{name}_check{checks}"),
                    )
                }
                Body::ForeignKey {
                    columns,
                    table: target,
                    ref_columns,
                    deferrable,
                } => {
                    let cols: Vec<String> = columns.iter().map(|c| column_name(c)).collect();
                    // The pragma's row for this key: same columns and table.
                    let at = pragma_fks.iter().position(|(t, from, _, _, _)| {
                        t.eq_ignore_ascii_case(target)
                            && from.len() == cols.len()
                            && from
                                .iter()
                                .zip(&cols)
                                .all(|(a, b)| a.eq_ignore_ascii_case(b))
                    });
                    let (on_update, on_delete, pragma_to) = match at {
                        Some(at) => {
                            let (_, _, to, update, delete) = pragma_fks.remove(at);
                            (update, delete, to)
                        }
                        None => (String::new(), String::new(), Vec::new()),
                    };
                    let target_name = spell(target);
                    let mut to: Vec<String> = if ref_columns.is_empty() {
                        pragma_to.into_iter().flatten().collect()
                    } else {
                        ref_columns.clone()
                    };
                    if to.is_empty() {
                        to = primary_keys
                            .get(&target.to_ascii_lowercase())
                            .cloned()
                            .unwrap_or_default();
                    }
                    for column in &mut to {
                        if let Some(spelled) = column_spelling
                            .get(&(target.to_ascii_lowercase(), column.to_ascii_lowercase()))
                        {
                            spelled.clone_into(column);
                        }
                    }
                    let references = References {
                        table: qn(&target_name),
                        columns: to.iter().map(|c| Ident::new(c.clone())).collect(),
                        on_delete: action(&on_delete),
                        on_update: action(&on_update),
                        match_full: false,
                        deferrable: deferrable.is_some(),
                        initially_deferred: deferrable.is_some(),
                    };
                    let mut definition = format!(
                        "{prefix}FOREIGN KEY ({}) REFERENCES {}",
                        quoted(columns),
                        quote(&target_name)
                    );
                    if !to.is_empty() {
                        let _ = write!(
                            definition,
                            " ({})",
                            to.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
                        );
                    }
                    for (label, act) in [
                        ("DELETE", references.on_delete),
                        ("UPDATE", references.on_update),
                    ] {
                        if act != FkAction::NoAction {
                            let _ = write!(definition, " ON {label} {}", act.sql());
                        }
                    }
                    if let Some(deferrable) = deferrable {
                        definition.push(' ');
                        definition.push_str(deferrable);
                    }
                    let synthesized = format!("{name}_{}_fkey", cols.join("_"));
                    (
                        ConstraintKind::ForeignKey,
                        definition,
                        cols,
                        Some(references),
                        synthesized,
                    )
                }
            };
            let constraint_name = match &constraint.name {
                Some(n) => n.clone(),
                None => unique_name(synthesized, &mut used_names),
            };
            constraints.push(Constraint {
                name: Ident::new(constraint_name),
                kind,
                definition,
                columns: columns.into_iter().map(Ident::new).collect(),
                references,
                validated: true,
                comment: None,
            });
        }
        if !pragma_fks.is_empty() {
            return Err(SqliteError::Catalog(format!(
                "table `{name}`: foreign keys the schema reports but strata could not read from its CREATE TABLE"
            )));
        }
        constraints.sort_by(|a, b| a.name.cmp(&b.name));
        model.constraints = constraints;
        // A rowid alias (an INTEGER PRIMARY KEY) and the key of a WITHOUT
        // ROWID table are never NULL, whether or not they say NOT NULL
        // (drizzle-kit writes `integer PRIMARY KEY NOT NULL`): one
        // spelling, so that the other is no change.
        if let Some(pk) = model
            .constraints
            .iter()
            .find(|c| c.kind == ConstraintKind::PrimaryKey)
        {
            let without_rowid = table.options.iter().any(|o| o == "WITHOUT ROWID");
            let keys = pk.columns.clone();
            let alias = !without_rowid && keys.len() == 1 && !pk.definition.contains(" DESC");
            for column in &mut model.columns {
                if keys.contains(&column.name)
                    && (without_rowid
                        || (alias && column.data_type.eq_ignore_ascii_case("integer")))
                {
                    column.not_null = true;
                }
            }
        }
    }
    // Indexes.
    let mut index_columns: BTreeMap<(String, String), (bool, Vec<Ident>)> = BTreeMap::new();
    for row in indexes {
        let entry = index_columns
            .entry((text(row, 0), text(row, 1)))
            .or_insert_with(|| (text(row, 2) == "1", Vec::new()));
        if let Some(column) = row.get(3).cloned().flatten() {
            entry.1.push(Ident::new(column));
        }
    }
    for row in objects.iter().filter(|r| text(r, 0) == "index") {
        let (name, table_name, sql) = (text(row, 1), text(row, 2), text(row, 3));
        if sql.is_empty() || skipped.contains(&table_name) {
            continue;
        }
        let Some(table) = catalog.tables.get_mut(&qn(&table_name)) else {
            continue;
        };
        let (keys, predicate) = parse::index(&sql)
            .map_err(|e| SqliteError::Catalog(format!("index `{name}`: {e}")))?
            .ok_or_else(|| SqliteError::Catalog(format!("index `{name}`: unreadable: {sql}")))?;
        let (unique, mut columns) = index_columns
            .remove(&(table_name.clone(), name.clone()))
            .unwrap_or_default();
        if let Some(predicate) = &predicate {
            for c in mentioned_columns(predicate, table) {
                if !columns.iter().any(|x| x.as_str() == c) {
                    columns.push(Ident::new(c));
                }
            }
        }
        for key in &keys {
            for c in mentioned_columns(key, table) {
                if !columns.iter().any(|x| x.as_str() == c) {
                    columns.push(Ident::new(c));
                }
            }
        }
        let mut definition = format!(
            "CREATE {}INDEX {} ON {} ({})",
            if unique { "UNIQUE " } else { "" },
            quote(&name),
            quote(&table_name),
            keys.join(", ")
        );
        if let Some(predicate) = &predicate {
            let _ = write!(definition, " WHERE {predicate}");
        }
        table.indexes.push(Index {
            name: Ident::new(name),
            unique,
            method: "btree".to_owned(),
            definition,
            keys,
            columns,
            predicate,
            invalid: false,
            comment: None,
        });
    }
    // Views.
    for row in objects.iter().filter(|r| text(r, 0) == "view") {
        let (name, sql) = (text(row, 1), text(row, 3));
        let definition = parse::view(&sql)
            .map_err(|e| SqliteError::Catalog(format!("view `{name}`: {e}")))?
            .ok_or_else(|| SqliteError::Catalog(format!("view `{name}`: unreadable: {sql}")))?;
        catalog.views.insert(
            qn(&name),
            View {
                name: qn(&name),
                materialized: false,
                definition,
                columns: view_columns.remove(&name).unwrap_or_default(),
                options: Vec::new(),
                indexes: Vec::new(),
                triggers: Vec::new(),
                comment: None,
            },
        );
    }
    // Triggers, on tables and on views.
    for row in objects.iter().filter(|r| text(r, 0) == "trigger") {
        // A trigger's `tbl_name` is the table as its CREATE TRIGGER spells it.
        let (name, on, sql) = (text(row, 1), spell(&text(row, 2)), text(row, 3));
        if skipped.contains(&on) {
            continue;
        }
        let definition = parse::trigger(&sql, &name)
            .map_err(|e| SqliteError::Catalog(format!("trigger `{name}`: {e}")))?;
        let trigger = Trigger {
            name: Ident::new(name),
            definition,
            function: RoutineName {
                schema: Ident::new(MAIN),
                name: Ident::new(""),
                args: String::new(),
            },
            enabled: "O".to_owned(),
            comment: None,
        };
        if let Some(table) = catalog.tables.get_mut(&qn(&on)) {
            table.triggers.push(trigger);
        } else if let Some(view) = catalog.views.get_mut(&qn(&on)) {
            view.triggers.push(trigger);
        }
    }
    for table in catalog.tables.values_mut() {
        table.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        table.triggers.sort_by(|a, b| a.name.cmp(&b.name));
    }
    // What views read, by name, for ordering.
    let relations: BTreeMap<String, ObjectRef> = catalog
        .tables
        .keys()
        .map(|n| (n.name.to_ascii_lowercase(), ObjectRef::Table(n.clone())))
        .chain(
            catalog
                .views
                .keys()
                .map(|n| (n.name.to_ascii_lowercase(), ObjectRef::View(n.clone()))),
        )
        .collect();
    let mut dependencies = Vec::new();
    for view in catalog.views.values_mut() {
        view.triggers.sort_by(|a, b| a.name.cmp(&b.name));
        let mut seen = BTreeSet::new();
        for word in identifiers(&view.definition) {
            if let Some(referenced) = relations.get(&word)
                && referenced != &ObjectRef::View(view.name.clone())
                && seen.insert(word.clone())
            {
                dependencies.push(Dependency {
                    dependent: ObjectRef::View(view.name.clone()),
                    referenced: referenced.clone(),
                    by_name: true,
                });
            }
        }
    }
    dependencies.sort();
    catalog.dependencies = dependencies;
    catalog.unmanaged.sort();
    Ok(catalog)
}

/// The identifiers of a canonical fragment, lower case.
pub(crate) fn identifiers(sql: &str) -> Vec<String> {
    let Ok(tokens) = meaningful(sql) else {
        return Vec::new();
    };
    tokens
        .iter()
        .filter(|t| matches!(t.kind, Kind::Word | Kind::Quoted))
        .filter_map(|t| crate::lex::ident(t, sql))
        .map(|w| w.to_ascii_lowercase())
        .collect()
}

/// The columns of `table` an expression names.
fn mentioned_columns(expr: &str, table: &Table) -> Vec<String> {
    let words: BTreeSet<String> = identifiers(expr).into_iter().collect();
    table
        .columns
        .iter()
        .filter(|c| words.contains(&c.name.to_ascii_lowercase()))
        .map(|c| c.name.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::Connection;

    #[test]
    fn objects_on_a_table_spelled_another_way_are_kept() {
        let mut conn = Connection::memory().unwrap();
        conn.execute(
            "CREATE TABLE products (id integer PRIMARY KEY, name text);\n\
             CREATE INDEX by_name ON PRODUCTS (name);\n\
             CREATE TRIGGER touch AFTER INSERT ON Products BEGIN SELECT 1; END;",
        )
        .unwrap();
        let catalog = conn.introspect().unwrap();
        let table = &catalog.tables[&super::qn("products")];
        assert_eq!(table.indexes.len(), 1);
        assert_eq!(table.triggers.len(), 1);
    }

    #[test]
    fn keys_that_are_never_null_are_not_null_however_written() {
        let mut conn = Connection::memory().unwrap();
        conn.execute(
            "CREATE TABLE a (id integer PRIMARY KEY, x text);\n\
             CREATE TABLE b (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, x text);\n\
             CREATE TABLE c (k text, n int, PRIMARY KEY (k, n)) WITHOUT ROWID;\n\
             CREATE TABLE d (k text PRIMARY KEY, n bigint);\n\
             CREATE TABLE e (id bigint PRIMARY KEY);",
        )
        .unwrap();
        let catalog = conn.introspect().unwrap();
        let not_null = |t: &str, c: &str| {
            catalog.tables[&super::qn(t)]
                .column(&strata_model::Ident::new(c))
                .unwrap()
                .not_null
        };
        assert!(not_null("a", "id") && not_null("b", "id"));
        assert!(not_null("c", "k") && not_null("c", "n"));
        // A text or bigint key of a rowid table can hold NULL.
        assert!(!not_null("d", "k") && !not_null("e", "id"));
    }

    #[test]
    fn litestream_libsql_and_d1_tables_are_not_the_apps() {
        let mut conn = Connection::memory().unwrap();
        conn.execute(
            "CREATE TABLE t (id integer PRIMARY KEY);\n\
             CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);\n\
             CREATE TABLE _litestream_lock (id INTEGER);\n\
             CREATE INDEX _litestream_seq_i ON _litestream_seq (seq);\n\
             CREATE TABLE _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;\n\
             CREATE TABLE libsql_wasm_func_table (name text PRIMARY KEY, body text);\n\
             ANALYZE;",
        )
        .unwrap();
        let catalog = conn.introspect().unwrap();
        assert_eq!(
            catalog
                .tables
                .keys()
                .map(|n| n.name.to_string())
                .collect::<Vec<_>>(),
            ["t"]
        );
        assert!(catalog.unmanaged.is_empty(), "{:?}", catalog.unmanaged);
    }
}
