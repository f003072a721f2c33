//! The tracking table, exactly as drizzle's migrator keeps it, and how its
//! rows match the migrations in the folder.

use std::collections::BTreeSet;

use serde::Serialize;
use sha2::{Digest, Sha256};
use strata_postgres::Connection;
use strata_syntax::{quote_literal, quote_qualified};

use super::MigrateError;
use super::folder::Migration;
use crate::config::TrackingTable;

/// A row of the tracking table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedRow {
    /// `id` (drizzle's SQLite table leaves it NULL).
    pub id: Option<i64>,
    /// sha256 of the migration file when it was applied.
    pub hash: String,
    /// The journal's `when` of the migration.
    pub created_at: Option<i64>,
    /// drizzle-kit 1.0 records the migration's folder name.
    pub name: Option<String>,
}

/// How the folder and the tracking table relate.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Reconciled {
    /// Migrations recorded as applied, with their row.
    pub applied: Vec<(usize, AppliedRow)>,
    /// Migrations not applied yet, in order.
    pub pending: Vec<usize>,
    /// Applied migrations whose file changed since (hash mismatch).
    pub edited: Vec<(usize, AppliedRow)>,
    /// Rows that match no migration in the folder (a file removed).
    pub missing: Vec<AppliedRow>,
    /// Pending migrations older than the newest applied one: drizzle-kit
    /// would skip them silently.
    pub out_of_order: Vec<usize>,
}

impl Reconciled {
    /// Matches rows to migrations: by name (drizzle-kit 1.0), else by the
    /// journal's `when`, else by hash (a `when` edited since).
    pub fn new(migrations: &[Migration], rows: &[AppliedRow]) -> Reconciled {
        let mut used = BTreeSet::new();
        let mut out = Reconciled::default();
        for (i, migration) in migrations.iter().enumerate() {
            let found = rows
                .iter()
                .enumerate()
                .filter(|(r, _)| !used.contains(r))
                .find(|(_, row)| row.name.as_deref() == Some(migration.tag.as_str()))
                .or_else(|| {
                    rows.iter()
                        .enumerate()
                        .filter(|(r, _)| !used.contains(r))
                        .find(|(_, row)| row.created_at == Some(migration.when))
                })
                .or_else(|| {
                    rows.iter()
                        .enumerate()
                        .filter(|(r, _)| !used.contains(r))
                        .find(|(_, row)| row.hash == migration.hash)
                });
            match found {
                Some((r, row)) => {
                    used.insert(r);
                    if row.hash == migration.hash {
                        out.applied.push((i, row.clone()));
                    } else {
                        out.edited.push((i, row.clone()));
                    }
                }
                None => out.pending.push(i),
            }
        }
        out.missing = rows
            .iter()
            .enumerate()
            .filter(|(r, _)| !used.contains(r))
            .map(|(_, row)| row.clone())
            .collect();
        let newest = out
            .applied
            .iter()
            .chain(&out.edited)
            .map(|(i, _)| migrations[*i].when)
            .max();
        out.out_of_order = out
            .pending
            .iter()
            .copied()
            .filter(|i| newest.is_some_and(|n| migrations[*i].when < n))
            .collect();
        out
    }

    /// Whether migration `i` is recorded (edited or not).
    pub fn is_recorded(&self, i: usize) -> bool {
        self.applied
            .iter()
            .chain(&self.edited)
            .any(|(j, _)| *j == i)
    }
}

pub(crate) fn table_name(tracking: &TrackingTable) -> String {
    quote_qualified(&tracking.schema, &tracking.table)
}

/// The advisory lock key for a tracking table: the same in every process.
pub(crate) fn lock_key(tracking: &TrackingTable) -> i64 {
    let digest =
        Sha256::digest(format!("strata migrate {}.{}", tracking.schema, tracking.table).as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// Creates the schema and table if they are missing (drizzle's DDL).
pub(crate) fn ensure(conn: &mut Connection, tracking: &TrackingTable) -> Result<(), MigrateError> {
    conn.execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {};\nCREATE TABLE IF NOT EXISTS {} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)",
        strata_syntax::quote_ident(&tracking.schema),
        table_name(tracking)
    ))?;
    Ok(())
}

/// The rows, in `id` order; none when the table does not exist.
pub(crate) fn read(
    conn: &mut Connection,
    tracking: &TrackingTable,
) -> Result<(Vec<AppliedRow>, bool), MigrateError> {
    let qualified = format!(
        "{}.{}",
        strata_syntax::quote_ident(&tracking.schema),
        strata_syntax::quote_ident(&tracking.table)
    );
    let probe = conn.query_text(&format!(
        "SELECT to_regclass({}) IS NOT NULL, EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass({}) AND attname = 'name' AND NOT attisdropped)",
        quote_literal(&qualified),
        quote_literal(&qualified)
    ))?;
    let row = probe.first().cloned().unwrap_or_default();
    let exists = row.first().cloned().flatten().as_deref() == Some("t");
    let has_name = row.get(1).cloned().flatten().as_deref() == Some("t");
    if !exists {
        return Ok((Vec::new(), false));
    }
    let name = if has_name { "name" } else { "NULL" };
    let rows = conn.query_text(&format!(
        "SELECT id, hash, created_at, {name} FROM {} ORDER BY id NULLS LAST, created_at",
        table_name(tracking)
    ))?;
    let parse = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<i64>().ok());
    Ok((
        rows.into_iter()
            .map(|r| AppliedRow {
                id: parse(&r[0]),
                hash: r[1].clone().unwrap_or_default(),
                created_at: parse(&r[2]),
                name: r[3].clone(),
            })
            .collect(),
        has_name,
    ))
}

/// The `INSERT` that records a migration as applied.
pub(crate) fn insert_sql(
    tracking: &TrackingTable,
    migration: &Migration,
    has_name: bool,
) -> String {
    if has_name {
        format!(
            "INSERT INTO {} (hash, created_at, name) VALUES ({}, {}, {})",
            table_name(tracking),
            quote_literal(&migration.hash),
            migration.when,
            quote_literal(&migration.tag)
        )
    } else {
        format!(
            "INSERT INTO {} (hash, created_at) VALUES ({}, {})",
            table_name(tracking),
            quote_literal(&migration.hash),
            migration.when
        )
    }
}

/// The `DELETE` that forgets a migration (after its rollback script ran).
pub(crate) fn delete_sql(tracking: &TrackingTable, row: &AppliedRow) -> String {
    match row.id {
        Some(id) => format!("DELETE FROM {} WHERE id = {id}", table_name(tracking)),
        None => format!(
            "DELETE FROM {} WHERE hash = {} AND created_at {}",
            table_name(tracking),
            quote_literal(&row.hash),
            row.created_at
                .map_or_else(|| "IS NULL".to_owned(), |c| format!("= {c}"))
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn migration(idx: u32, tag: &str, when: i64, sql: &str) -> Migration {
        Migration::new(
            idx,
            tag.to_owned(),
            when,
            PathBuf::from(tag),
            sql.to_owned(),
            None,
            PathBuf::new(),
        )
    }

    fn row(hash: &str, created_at: i64) -> AppliedRow {
        AppliedRow {
            id: None,
            hash: hash.to_owned(),
            created_at: Some(created_at),
            name: None,
        }
    }

    #[test]
    fn matches_rows_and_finds_what_drizzle_would_skip() {
        let m = [
            migration(0, "0000_a", 100, "a"),
            migration(1, "0001_b", 300, "b"),
            migration(2, "0002_c", 200, "c"),
            migration(3, "0003_d", 400, "d"),
        ];
        let rows = [
            row(&m[0].hash, 100),
            row("0ld", 300),
            row(&super::super::folder::sha256_hex("gone"), 50),
        ];
        let r = Reconciled::new(&m, &rows);
        assert_eq!(r.applied.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0]);
        assert_eq!(r.edited.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1]);
        assert_eq!(r.pending, [2, 3]);
        assert_eq!(r.out_of_order, [2]);
        assert_eq!(r.missing.len(), 1);
    }

    #[test]
    fn a_changed_when_is_found_by_hash() {
        let m = [migration(0, "0000_a", 999, "a")];
        let r = Reconciled::new(&m, &[row(&m[0].hash, 100)]);
        assert_eq!(r.applied.len(), 1);
        assert!(r.missing.is_empty());
    }
}
