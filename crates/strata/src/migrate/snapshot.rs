//! drizzle-kit's version 7 snapshot (`meta/NNNN_snapshot.json`), written
//! from a catalog so that drizzle-kit accepts the folder (`drizzle-kit
//! check` validates every snapshot with strict schemas: only the keys it
//! knows, in the shapes it knows).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};
use strata_model::{Catalog, Column, ConstraintKind, FkAction, IdentityKind, QualifiedName, Table};

/// The `prevId` of the first snapshot.
pub const ZERO_ID: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    id: String,
    prev_id: String,
    version: &'static str,
    dialect: &'static str,
    tables: BTreeMap<String, Value>,
    enums: BTreeMap<String, Value>,
    schemas: BTreeMap<String, String>,
    sequences: BTreeMap<String, Value>,
    roles: BTreeMap<String, Value>,
    policies: BTreeMap<String, Value>,
    views: BTreeMap<String, Value>,
    #[serde(rename = "_meta")]
    meta: Value,
}

/// A random UUID (version 4) from the operating system's generator.
pub fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    let filled = fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .is_ok();
    if !filled {
        // No /dev/urandom: the clock and the process id are unique enough
        // for a snapshot id (it is an identifier, not a secret).
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seed = nanos ^ (u128::from(std::process::id()) << 64);
        bytes = seed.to_le_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    });
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The id of the newest snapshot in `meta/` (the lexicographically last
/// `*_snapshot.json`, as drizzle-kit picks it), or the zero id.
pub fn previous_id(meta: &Path) -> String {
    let Ok(entries) = fs::read_dir(meta) else {
        return ZERO_ID.to_owned();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_snapshot.json") && !n.starts_with('_'))
        .collect();
    names.sort();
    names
        .last()
        .and_then(|n| fs::read_to_string(meta.join(n)).ok())
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| ZERO_ID.to_owned())
}

/// drizzle's spelling of a type (`character varying(32)` is `varchar(32)`),
/// with the schema of a user-defined type apart.
fn drizzle_type(column: &Column) -> (String, Option<String>) {
    let mut t = column.data_type.clone();
    if let Some(type_ref) = &column.type_ref {
        let qualified = strata_syntax::quote_qualified(&type_ref.schema, &type_ref.name);
        if let Some(rest) = t.strip_prefix(&qualified) {
            return (
                format!("{}{rest}", type_ref.name),
                Some(type_ref.schema.to_string()),
            );
        }
    }
    for (from, to) in [
        ("character varying", "varchar"),
        ("character(", "char("),
        ("bit varying", "varbit"),
    ] {
        if t.starts_with(from) {
            t = t.replacen(from, to, 1);
        }
    }
    if t.starts_with("timestamp(") || t.starts_with("time(") {
        t = t.replacen('(', " (", 1);
    }
    if t.starts_with("numeric(") {
        t = t.replace(',', ", ");
    }
    (t, None)
}

fn default_value(default: &str) -> Value {
    match default {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => default
            .parse::<i64>()
            .map_or_else(|_| Value::String(default.to_owned()), |n| json!(n)),
    }
}

fn action(a: FkAction) -> &'static str {
    match a {
        FkAction::NoAction => "no action",
        FkAction::Restrict => "restrict",
        FkAction::Cascade => "cascade",
        FkAction::SetNull => "set null",
        FkAction::SetDefault => "set default",
    }
}

fn schema_field(name: &QualifiedName) -> String {
    if name.schema.as_str() == "public" {
        String::new()
    } else {
        name.schema.to_string()
    }
}

fn table(table: &Table) -> Value {
    let pk = table.primary_key();
    let single_pk = pk
        .filter(|c| c.columns.len() == 1)
        .map(|c| c.columns[0].clone());
    let mut columns = serde_json::Map::new();
    for column in &table.columns {
        let (data_type, type_schema) = drizzle_type(column);
        let mut c = serde_json::Map::new();
        c.insert("name".into(), json!(column.name.as_str()));
        c.insert("type".into(), json!(data_type));
        if let Some(schema) = type_schema {
            c.insert("typeSchema".into(), json!(schema));
        }
        c.insert(
            "primaryKey".into(),
            json!(single_pk.as_ref() == Some(&column.name)),
        );
        c.insert("notNull".into(), json!(column.not_null));
        if let Some(default) = &column.default {
            c.insert("default".into(), default_value(default));
        }
        if let Some(generated) = &column.generated {
            c.insert(
                "generated".into(),
                json!({"as": generated, "type": "stored"}),
            );
        }
        if let Some(identity) = &column.identity {
            let o = &identity.options;
            c.insert(
                "identity".into(),
                json!({
                    "type": if identity.kind == IdentityKind::Always { "always" } else { "byDefault" },
                    "name": identity.sequence.name.as_str(),
                    "schema": identity.sequence.schema.as_str(),
                    "increment": o.increment.to_string(),
                    "startWith": o.start.to_string(),
                    "minValue": o.min_value.to_string(),
                    "maxValue": o.max_value.to_string(),
                    "cache": o.cache.to_string(),
                    "cycle": o.cycle,
                }),
            );
        }
        columns.insert(column.name.to_string(), Value::Object(c));
    }
    let mut indexes = serde_json::Map::new();
    for index in &table.indexes {
        let keys: Vec<Value> = index
            .keys
            .iter()
            .map(|key| {
                let desc = key.contains(" DESC");
                let nulls_first =
                    key.contains("NULLS FIRST") || (desc && !key.contains("NULLS LAST"));
                let expression = key
                    .split(" DESC")
                    .next()
                    .unwrap_or(key)
                    .split(" NULLS ")
                    .next()
                    .unwrap_or(key)
                    .trim()
                    .to_owned();
                let is_expression = !strata_syntax::is_bare_ident(expression.trim_matches('"'));
                json!({
                    "expression": expression,
                    "isExpression": is_expression,
                    "asc": !desc,
                    "nulls": if nulls_first { "first" } else { "last" },
                })
            })
            .collect();
        let mut i = serde_json::Map::new();
        i.insert("name".into(), json!(index.name.as_str()));
        i.insert("columns".into(), Value::Array(keys));
        i.insert("isUnique".into(), json!(index.unique));
        if let Some(predicate) = &index.predicate {
            i.insert("where".into(), json!(predicate));
        }
        i.insert("concurrently".into(), json!(false));
        i.insert("method".into(), json!(index.method));
        i.insert("with".into(), json!({}));
        indexes.insert(index.name.to_string(), Value::Object(i));
    }
    let mut foreign_keys = serde_json::Map::new();
    let mut composite = serde_json::Map::new();
    let mut uniques = serde_json::Map::new();
    let mut checks = serde_json::Map::new();
    for constraint in &table.constraints {
        let columns: Vec<&str> = constraint
            .columns
            .iter()
            .map(strata_model::Ident::as_str)
            .collect();
        match (constraint.kind, &constraint.references) {
            (ConstraintKind::ForeignKey, Some(r)) => {
                let mut fk = serde_json::Map::new();
                fk.insert("name".into(), json!(constraint.name.as_str()));
                fk.insert("tableFrom".into(), json!(table.name.name.as_str()));
                fk.insert("tableTo".into(), json!(r.table.name.as_str()));
                if r.table.schema.as_str() != "public" {
                    fk.insert("schemaTo".into(), json!(r.table.schema.as_str()));
                }
                fk.insert("columnsFrom".into(), json!(columns));
                fk.insert(
                    "columnsTo".into(),
                    json!(
                        r.columns
                            .iter()
                            .map(strata_model::Ident::as_str)
                            .collect::<Vec<_>>()
                    ),
                );
                fk.insert("onDelete".into(), json!(action(r.on_delete)));
                fk.insert("onUpdate".into(), json!(action(r.on_update)));
                foreign_keys.insert(constraint.name.to_string(), Value::Object(fk));
            }
            (ConstraintKind::PrimaryKey, _) if constraint.columns.len() > 1 => {
                composite.insert(
                    constraint.name.to_string(),
                    json!({"name": constraint.name.as_str(), "columns": columns}),
                );
            }
            (ConstraintKind::Unique, _) => {
                uniques.insert(
                    constraint.name.to_string(),
                    json!({
                        "name": constraint.name.as_str(),
                        "nullsNotDistinct": constraint.definition.contains("NULLS NOT DISTINCT"),
                        "columns": columns,
                    }),
                );
            }
            (ConstraintKind::Check, _) => {
                let value = constraint
                    .definition
                    .strip_prefix("CHECK ")
                    .unwrap_or(&constraint.definition)
                    .trim_end_matches(" NOT VALID");
                checks.insert(
                    constraint.name.to_string(),
                    json!({"name": constraint.name.as_str(), "value": value}),
                );
            }
            _ => {}
        }
    }
    let mut policies = serde_json::Map::new();
    for policy in &table.policies {
        let mut p = serde_json::Map::new();
        p.insert("name".into(), json!(policy.name.as_str()));
        p.insert(
            "as".into(),
            json!(if policy.permissive {
                "PERMISSIVE"
            } else {
                "RESTRICTIVE"
            }),
        );
        p.insert("for".into(), json!(policy.command));
        p.insert("to".into(), json!(policy.roles));
        if let Some(using) = &policy.using {
            p.insert("using".into(), json!(using));
        }
        if let Some(check) = &policy.with_check {
            p.insert("withCheck".into(), json!(check));
        }
        policies.insert(policy.name.to_string(), Value::Object(p));
    }
    json!({
        "name": table.name.name.as_str(),
        "schema": schema_field(&table.name),
        "columns": columns,
        "indexes": indexes,
        "foreignKeys": foreign_keys,
        "compositePrimaryKeys": composite,
        "uniqueConstraints": uniques,
        "policies": policies,
        "checkConstraints": checks,
        "isRLSEnabled": table.row_security,
    })
}

/// The snapshot of `catalog` as drizzle-kit writes it (`JSON.stringify(x,
/// null, 2)`, no trailing newline).
pub fn render(catalog: &Catalog, id: &str, prev_id: &str) -> String {
    let key = |name: &QualifiedName| format!("{}.{}", name.schema, name.name);
    let snapshot = Snapshot {
        id: id.to_owned(),
        prev_id: prev_id.to_owned(),
        version: "7",
        dialect: "postgresql",
        tables: catalog
            .tables
            .values()
            .filter(|t| t.partition_of.is_none())
            .map(|t| (key(&t.name), table(t)))
            .collect(),
        enums: catalog
            .enums
            .values()
            .map(|e| {
                (
                    key(&e.name),
                    json!({"name": e.name.name.as_str(), "schema": e.name.schema.as_str(), "values": e.values}),
                )
            })
            .collect(),
        schemas: catalog
            .schemas
            .keys()
            .filter(|s| s.as_str() != "public")
            .map(|s| (s.to_string(), s.to_string()))
            .collect(),
        sequences: catalog
            .sequences
            .values()
            .filter(|s| s.owned_by.is_none())
            .map(|s| {
                let o = &s.options;
                (
                    key(&s.name),
                    json!({
                        "name": s.name.name.as_str(),
                        "schema": s.name.schema.as_str(),
                        "increment": o.increment.to_string(),
                        "startWith": o.start.to_string(),
                        "minValue": o.min_value.to_string(),
                        "maxValue": o.max_value.to_string(),
                        "cache": o.cache.to_string(),
                        "cycle": o.cycle,
                    }),
                )
            })
            .collect(),
        roles: BTreeMap::new(),
        policies: BTreeMap::new(),
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
                            json!({"name": c.name.as_str(), "type": c.data_type, "primaryKey": false, "notNull": false}),
                        )
                    })
                    .collect();
                (
                    key(&v.name),
                    json!({
                        "columns": columns,
                        "definition": v.definition.trim().trim_end_matches(';'),
                        "name": v.name.name.as_str(),
                        "schema": v.name.schema.as_str(),
                        "isExisting": false,
                        "materialized": v.materialized,
                    }),
                )
            })
            .collect(),
        meta: json!({"columns": {}, "schemas": {}, "tables": {}}),
    };
    serde_json::to_string_pretty(&snapshot).expect("snapshots serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, uuid_v4());
    }

    #[test]
    fn types_are_spelled_like_drizzle() {
        let mut c = Column::new("x", "character varying(32)");
        assert_eq!(drizzle_type(&c).0, "varchar(32)");
        c.data_type = "numeric(12,2)".into();
        assert_eq!(drizzle_type(&c).0, "numeric(12, 2)");
        c.data_type = "timestamp(3) with time zone".into();
        assert_eq!(drizzle_type(&c).0, "timestamp (3) with time zone");
        c.data_type = "public.user_role[]".into();
        c.type_ref = Some(QualifiedName::new("public", "user_role"));
        assert_eq!(
            drizzle_type(&c),
            ("user_role[]".to_owned(), Some("public".to_owned()))
        );
    }
}
