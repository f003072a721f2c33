//! drizzle-kit's SQLite snapshot (version 6, `meta/NNNN_snapshot.json`),
//! written from a catalog read from SQLite.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};
use strata_model::{Catalog, ConstraintKind, FkAction, Table};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    version: &'static str,
    dialect: &'static str,
    id: String,
    prev_id: String,
    tables: BTreeMap<String, Value>,
    views: BTreeMap<String, Value>,
    enums: BTreeMap<String, Value>,
    #[serde(rename = "_meta")]
    meta: Value,
    internal: Value,
}

fn action(a: FkAction) -> &'static str {
    match a {
        FkAction::Cascade => "cascade",
        FkAction::SetNull => "set null",
        FkAction::SetDefault => "set default",
        FkAction::Restrict => "restrict",
        FkAction::NoAction => "no action",
    }
}

/// A column default as drizzle-kit's snapshot holds it: what follows
/// `DEFAULT` in the SQL (`"'user'"`, `"(unixepoch())"`), except numbers
/// and booleans, which are JSON numbers and booleans (`.default(0)`).
fn default_value(default: &str) -> Value {
    let sql = strata_sql::sqlite::default_sql(default);
    // Canonical SQL spells a negative number `- 1.5`.
    let number = match sql.strip_prefix('-') {
        Some(rest) => format!("-{}", rest.trim_start()),
        None => sql.clone(),
    };
    if let Ok(n) = number.parse::<i64>() {
        return json!(n);
    }
    if number.contains('.')
        && let Ok(x) = number.parse::<f64>()
        && x.is_finite()
    {
        return json!(x);
    }
    match sql.to_ascii_lowercase().as_str() {
        "true" => json!(true),
        "false" => json!(false),
        _ => json!(sql),
    }
}

/// drizzle-kit's name for a constraint the SQL leaves unnamed
/// (`posts_user_id_users_id_fk`, `users_email_unique`); strata's own
/// otherwise.
fn drizzle_name(table: &Table, constraint: &strata_model::Constraint) -> String {
    if constraint.definition.starts_with("CONSTRAINT ") {
        return constraint.name.to_string();
    }
    let join = |cols: &[strata_model::Ident]| {
        cols.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("_")
    };
    match (constraint.kind, &constraint.references) {
        (ConstraintKind::ForeignKey, Some(r)) => format!(
            "{}_{}_{}_{}_fk",
            table.name.name,
            join(&constraint.columns),
            r.table.name,
            join(&r.columns)
        ),
        (ConstraintKind::Unique, _) => {
            format!("{}_{}_unique", table.name.name, join(&constraint.columns))
        }
        _ => constraint.name.to_string(),
    }
}

fn table(table: &Table) -> Value {
    let pk = table.primary_key();
    let single_pk = pk.filter(|p| p.columns.len() == 1);
    let autoincrement = pk.is_some_and(|p| p.definition.ends_with(" AUTOINCREMENT"));
    let columns: serde_json::Map<String, Value> = table
        .columns
        .iter()
        .map(|c| {
            let is_pk = single_pk.is_some_and(|p| p.columns.contains(&c.name));
            let mut column = json!({
                "name": c.name.as_str(),
                "type": c.data_type,
                "primaryKey": is_pk,
                "notNull": c.not_null || is_pk,
                "autoincrement": is_pk && autoincrement,
            });
            if let Some(default) = &c.default {
                column["default"] = default_value(default);
            }
            if let Some(generated) = &c.generated {
                let (expr, kind) = generated.rsplit_once(' ').unwrap_or((generated, "VIRTUAL"));
                column["generated"] =
                    json!({"as": format!("({expr})"), "type": kind.to_ascii_lowercase()});
            }
            (c.name.to_string(), column)
        })
        .collect();
    let indexes: serde_json::Map<String, Value> = table
        .indexes
        .iter()
        .map(|i| {
            let mut index =
                json!({"name": i.name.as_str(), "columns": i.keys, "isUnique": i.unique});
            if let Some(predicate) = &i.predicate {
                index["where"] = json!(predicate);
            }
            (i.name.to_string(), index)
        })
        .collect();
    let mut foreign_keys = serde_json::Map::new();
    let mut composite = serde_json::Map::new();
    let mut uniques = serde_json::Map::new();
    let mut checks = serde_json::Map::new();
    let names = |cols: &[strata_model::Ident]| -> Vec<String> {
        cols.iter().map(ToString::to_string).collect()
    };
    for c in &table.constraints {
        let name = drizzle_name(table, c);
        match c.kind {
            ConstraintKind::PrimaryKey if c.columns.len() > 1 => {
                composite.insert(
                    name.clone(),
                    json!({"columns": names(&c.columns), "name": name}),
                );
            }
            ConstraintKind::Unique => {
                uniques.insert(
                    name.clone(),
                    json!({"name": name, "columns": names(&c.columns)}),
                );
            }
            ConstraintKind::Check => {
                let value = c
                    .definition
                    .split_once("CHECK (")
                    .map_or(c.definition.as_str(), |(_, rest)| {
                        rest.strip_suffix(')').unwrap_or(rest)
                    });
                checks.insert(name.clone(), json!({"name": name, "value": value}));
            }
            ConstraintKind::ForeignKey => {
                if let Some(r) = &c.references {
                    foreign_keys.insert(
                        name.clone(),
                        json!({
                            "name": name,
                            "tableFrom": table.name.name.as_str(),
                            "tableTo": r.table.name.as_str(),
                            "columnsFrom": names(&c.columns),
                            "columnsTo": names(&r.columns),
                            "onDelete": action(r.on_delete),
                            "onUpdate": action(r.on_update),
                        }),
                    );
                }
            }
            _ => {}
        }
    }
    json!({
        "name": table.name.name.as_str(),
        "columns": columns,
        "indexes": indexes,
        "foreignKeys": foreign_keys,
        "compositePrimaryKeys": composite,
        "uniqueConstraints": uniques,
        "checkConstraints": checks,
    })
}

/// The snapshot of `catalog` as drizzle-kit writes it for SQLite
/// (`JSON.stringify(x, null, 2)`, no trailing newline).
pub(super) fn render(catalog: &Catalog, id: &str, prev_id: &str) -> String {
    let snapshot = Snapshot {
        version: "6",
        dialect: "sqlite",
        id: id.to_owned(),
        prev_id: prev_id.to_owned(),
        tables: catalog
            .tables
            .values()
            .map(|t| (t.name.name.to_string(), table(t)))
            .collect(),
        views: catalog
            .views
            .values()
            .map(|v| {
                let columns: serde_json::Map<String, Value> = v
                    .columns
                    .iter()
                    .map(|c| {
                        (
                            c.name.to_string(),
                            json!({"name": c.name.as_str(), "type": c.data_type, "primaryKey": false, "notNull": false, "autoincrement": false}),
                        )
                    })
                    .collect();
                (
                    v.name.name.to_string(),
                    json!({
                        "columns": columns,
                        "name": v.name.name.as_str(),
                        "isExisting": false,
                        "definition": v.definition.trim().trim_start_matches("AS ").trim_end_matches(';'),
                    }),
                )
            })
            .collect(),
        enums: BTreeMap::new(),
        meta: json!({"schemas": {}, "tables": {}, "columns": {}}),
        internal: json!({"indexes": {}}),
    };
    serde_json::to_string_pretty(&snapshot).expect("snapshots serialize")
}
