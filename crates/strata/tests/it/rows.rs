//! A row in every table that will take one, for pair tests over schemas
//! nobody wrote rows for (the corpus).

use strata_model::{Catalog, Column, ConstraintKind, Table};
use strata_postgres::Connection;
use strata_syntax::{quote_ident, quote_literal, quote_qualified};

fn value_for(catalog: &Catalog, column: &Column) -> Option<String> {
    let t = column.data_type.as_str();
    if t.ends_with("[]") {
        return Some("'{}'".to_owned());
    }
    if let Some(enum_type) = column.type_ref.as_ref().and_then(|r| catalog.enums.get(r)) {
        return enum_type.values.first().map(|v| quote_literal(v));
    }
    let value = match t {
        "smallint" | "integer" | "bigint" | "real" | "double precision" => "1",
        _ if t.starts_with("numeric") => "1",
        "text" | "character varying" | "name" | "citext" | "public.citext" => "'a'",
        _ if t.starts_with("character") => "'a'",
        "boolean" => "true",
        "uuid" => "'4b3b1a36-6f64-4c1a-9b5c-6c0b1a7e2f10'",
        "date" => "'2026-01-02'",
        _ if t.starts_with("timestamp") => "'2026-01-02 03:04:05+00'",
        _ if t.starts_with("time") => "'03:04:05'",
        _ if t.starts_with("interval") => "'1 day'",
        "json" | "jsonb" => "'{}'",
        "inet" | "cidr" => "'10.0.0.1'",
        "bytea" => "'\\x00'",
        _ => return None,
    };
    Some(value.to_owned())
}

fn insert_for(catalog: &Catalog, table: &Table) -> String {
    let mut columns = Vec::new();
    let mut values = Vec::new();
    for column in &table.columns {
        if column.generated.is_some() || column.identity.is_some() || column.default.is_some() {
            continue;
        }
        let reference = table.constraints.iter().find(|c| {
            c.kind == ConstraintKind::ForeignKey
                && c.columns.len() == 1
                && c.columns[0] == column.name
        });
        let value = match reference.and_then(|c| c.references.as_ref()) {
            Some(r) => Some(format!(
                "(SELECT {} FROM {} LIMIT 1)",
                quote_ident(&r.columns[0]),
                quote_qualified(&r.table.schema, &r.table.name)
            )),
            None if column.not_null => value_for(catalog, column),
            None => value_for(catalog, column),
        };
        if let Some(value) = value {
            columns.push(quote_ident(&column.name));
            values.push(value);
        }
    }
    let name = quote_qualified(&table.name.schema, &table.name.name);
    if columns.is_empty() {
        format!("INSERT INTO {name} DEFAULT VALUES")
    } else {
        format!(
            "INSERT INTO {name} ({}) VALUES ({})",
            columns.join(", "),
            values.join(", ")
        )
    }
}

/// Inserts one row into every table that accepts one (referenced tables
/// first, as far as foreign keys allow); returns how many did.
pub(crate) fn fill(conn: &mut Connection, catalog: &Catalog) -> usize {
    let mut pending: Vec<&Table> = catalog.tables.values().collect();
    let mut filled = 0;
    // Retrying lets a table referencing a later one succeed on a later pass.
    for _ in 0..3 {
        let mut failed = Vec::new();
        for table in pending {
            if conn.execute(&insert_for(catalog, table)).is_ok() {
                filled += 1;
            } else {
                failed.push(table);
            }
        }
        if failed.is_empty() {
            break;
        }
        pending = failed;
    }
    filled
}
