//! Loading a plan: fixed data first, then every table through COPY, all in
//! one transaction.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use strata_model::QualifiedName;
use strata_postgres::{Connection, PgError};
use strata_syntax::{quote_ident, quote_qualified};

use crate::SeedError;
use crate::check::Op;
use crate::plan::{Existing, FixedData, ForeignMode, ForeignPlan, SeedPlan, Source, TablePlan};
use crate::rng::Rng;
use crate::value::{Value, write_copy_field};

/// Rows are sent to the server in chunks of about this many bytes.
const CHUNK: usize = 1 << 20;

/// What the loader is doing, for progress displays.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// A fixed-data file is being loaded.
    File {
        /// The file.
        path: &'a Path,
    },
    /// Rows of a table: `done` of `total` so far (`done == total` once it
    /// is finished).
    Table {
        /// The table.
        name: &'a QualifiedName,
        /// Its position in the plan (from 0).
        index: usize,
        /// Tables in the plan.
        tables: usize,
        /// Rows sent.
        done: u64,
        /// Rows to send.
        total: u64,
    },
}

/// What was loaded.
#[derive(Debug, Clone)]
pub struct SeedReport {
    /// The seed the rows came from.
    pub seed: u64,
    /// Rows stored per table, in load order.
    pub tables: Vec<(QualifiedName, u64)>,
    /// Fixed-data files loaded.
    pub files: usize,
    /// Rows asked for but not made (unique combinations or parent rows
    /// ran out), per table.
    pub short: Vec<(QualifiedName, u64)>,
    /// Wall time.
    pub elapsed: Duration,
}

impl SeedReport {
    /// All rows stored.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Loads the plan in one transaction: fixed data, then generated rows,
/// table by table in dependency order. On any error nothing is kept.
///
/// # Errors
/// Tables that hold rows (unless the plan says to truncate or append), a
/// failing seed file, or a table whose rows the server rejects.
pub fn load(
    conn: &mut Connection,
    plan: &SeedPlan,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<SeedReport, SeedError> {
    let started = Instant::now();
    conn.execute("BEGIN")?;
    match load_in_transaction(conn, plan, progress) {
        Ok(mut report) => {
            conn.execute("COMMIT")?;
            report.elapsed = started.elapsed();
            Ok(report)
        }
        Err(error) => {
            let _ = conn.execute("ROLLBACK");
            Err(error)
        }
    }
}

fn load_in_transaction(
    conn: &mut Connection,
    plan: &SeedPlan,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<SeedReport, SeedError> {
    prepare_tables(conn, plan)?;
    for fixed in &plan.fixed {
        load_fixed(conn, fixed, progress)?;
    }
    let mut keys = KeyCache::default();
    let mut report = SeedReport {
        seed: plan.seed,
        tables: Vec::new(),
        files: plan.fixed.len(),
        short: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let tables = plan.tables.len();
    for (index, table) in plan.tables.iter().enumerate() {
        if table.count == 0 {
            continue;
        }
        let fail = |error: PgError, loaded: usize| SeedError::Load {
            table: table.name.clone(),
            loaded,
            tables,
            help: load_help(&error),
            error,
        };
        let loaded = report.tables.len();
        let (rows, short) = load_table(conn, plan.seed, table, index, tables, &mut keys, progress)
            .map_err(|e| match e {
                SeedError::Postgres(pg) => fail(pg, loaded),
                other => other,
            })?;
        report.tables.push((table.name.clone(), rows));
        if short > 0 {
            report.short.push((table.name.clone(), short));
        }
    }
    Ok(report)
}

fn load_help(error: &PgError) -> Option<String> {
    let db = error.database_error()?;
    Some(match db.code.as_str() {
        "23514" => "a CHECK the seeder does not understand rejected a row: set that column's values in [seed.tables.NAME] columns (strata.toml)".to_owned(),
        "23505" => "a unique value repeated: set that column's values in [seed.tables.NAME] columns, or lower the count".to_owned(),
        "23503" => "a foreign key was not satisfied: this is a bug in the seeder, please report it with the schema".to_owned(),
        "22P02" | "22007" | "22008" | "22003" => "a generated value does not fit the column: set its values in [seed.tables.NAME] columns (strata.toml)".to_owned(),
        _ => return db.strata_hint().map(str::to_owned),
    })
}

/// Refuses, truncates or accepts tables that already hold rows.
fn prepare_tables(conn: &mut Connection, plan: &SeedPlan) -> Result<(), SeedError> {
    match plan.existing {
        Existing::Append => Ok(()),
        Existing::Truncate => {
            if plan.scope.is_empty() {
                return Ok(());
            }
            let names: Vec<String> = plan.scope.iter().map(qualified).collect();
            conn.execute(&format!("TRUNCATE {} RESTART IDENTITY", names.join(", ")))?;
            Ok(())
        }
        Existing::Refuse => {
            let mut targets: Vec<&QualifiedName> = plan
                .tables
                .iter()
                .filter(|t| t.count > 0)
                .map(|t| &t.name)
                .collect();
            for fixed in &plan.fixed {
                if let FixedData::Csv { table, .. } = fixed {
                    targets.push(table);
                }
            }
            if targets.is_empty() {
                return Ok(());
            }
            let query = targets
                .iter()
                .map(|t| {
                    format!(
                        "SELECT {}, (SELECT count(*) FROM {}) WHERE EXISTS (SELECT FROM {})",
                        strata_syntax::quote_literal(&t.to_string()),
                        qualified(t),
                        qualified(t)
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            let rows = conn.query_text(&query)?;
            if rows.is_empty() {
                return Ok(());
            }
            let tables = rows
                .iter()
                .map(|r| {
                    format!(
                        "`{}` ({} rows)",
                        r.first().cloned().flatten().unwrap_or_default(),
                        r.get(1).cloned().flatten().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            Err(SeedError::NotEmpty { tables })
        }
    }
}

fn qualified(name: &QualifiedName) -> String {
    quote_qualified(&name.schema, &name.name)
}

fn load_fixed(
    conn: &mut Connection,
    fixed: &FixedData,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(), SeedError> {
    match fixed {
        FixedData::Sql { path, text } => {
            progress(Progress::File { path });
            conn.execute(text).map_err(|error| SeedError::File {
                path: path.clone(),
                error,
            })
        }
        FixedData::Csv { path, table, text } => {
            progress(Progress::File { path });
            let header = text.lines().next().unwrap_or_default();
            let columns = csv_header(header).ok_or_else(|| SeedError::Csv {
                path: path.clone(),
                reason: "the first line must name the columns".to_owned(),
            })?;
            let list: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
            let statement = format!(
                "COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true)",
                qualified(table),
                list.join(", ")
            );
            let file_error = |error| SeedError::File {
                path: path.clone(),
                error,
            };
            let mut copy = conn.copy_in(&statement).map_err(file_error)?;
            copy.write(text.as_bytes()).map_err(file_error)?;
            copy.finish().map_err(file_error)?;
            Ok(())
        }
    }
}

/// The column names of a CSV header line (quotes allowed).
fn csv_header(line: &str) -> Option<Vec<String>> {
    let line = line.trim_start_matches('\u{feff}').trim_end_matches('\r');
    let mut names = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => names.push(std::mem::take(&mut current)),
            (c, _) => current.push(c),
        }
    }
    names.push(current);
    let names: Vec<String> = names.into_iter().map(|n| n.trim().to_owned()).collect();
    (!names.iter().any(String::is_empty)).then_some(names)
}

/// Parent keys, read once per (table, columns).
#[derive(Default)]
struct KeyCache {
    keys: BTreeMap<(QualifiedName, Vec<String>), Vec<Vec<String>>>,
}

impl KeyCache {
    fn get(
        &mut self,
        conn: &mut Connection,
        parent: &QualifiedName,
        columns: &[String],
    ) -> Result<&Vec<Vec<String>>, PgError> {
        let key = (parent.clone(), columns.to_vec());
        if !self.keys.contains_key(&key) {
            let list: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
            let not_null: Vec<String> = list.iter().map(|c| format!("{c} IS NOT NULL")).collect();
            let query = format!(
                "SELECT DISTINCT {cols} FROM {table} WHERE {where_} ORDER BY {cols}",
                cols = list.join(", "),
                table = qualified(parent),
                where_ = not_null.join(" AND "),
            );
            let rows = conn
                .query_text(&query)?
                .into_iter()
                .map(|row| row.into_iter().map(Option::unwrap_or_default).collect())
                .collect();
            self.keys.insert(key.clone(), rows);
        }
        Ok(&self.keys[&key])
    }
}

/// How one foreign key picks its parents for this load.
struct Picker {
    keys: Vec<Vec<String>>,
    /// One-to-one: a shuffled order of parent indexes, used once each.
    order: Option<Vec<usize>>,
    rng: Rng,
}

fn load_table(
    conn: &mut Connection,
    seed: u64,
    table: &TablePlan,
    index: usize,
    tables: usize,
    keys: &mut KeyCache,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(u64, u64), SeedError> {
    let name = &table.name;
    // Rows already there (fixed data, or appending) shift the row numbers
    // that distinct values are made from.
    let offset: u64 = conn
        .query_text(&format!("SELECT count(*) FROM {}", qualified(name)))?
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);

    let mut count = table.count;
    let mut pickers: Vec<Option<Picker>> = Vec::new();
    for fk in &table.foreign {
        if fk.mode != ForeignMode::Parent {
            pickers.push(None);
            continue;
        }
        let parent_keys = keys.get(conn, &fk.parent, &fk.parent_columns)?.clone();
        if parent_keys.is_empty() && !fk.nullable {
            return Err(SeedError::NoParentRows {
                table: name.clone(),
                columns: fk_columns(table, fk),
                parent: fk.parent.clone(),
            });
        }
        let mut rng = Rng::new(seed, fk.stream);
        let order = fk.one_to_one.then(|| {
            let mut order: Vec<usize> = (0..parent_keys.len()).collect();
            // Fisher–Yates with the key's own stream.
            for i in (1..order.len()).rev() {
                let j = rng.index(i + 1);
                order.swap(i, j);
            }
            order
        });
        if let Some(order) = &order
            && !fk.nullable
        {
            count = count.min(order.len() as u64);
        }
        pickers.push(Some(Picker {
            keys: parent_keys,
            order,
            rng,
        }));
    }

    let column_list: Vec<String> = table.columns.iter().map(|c| quote_ident(&c.name)).collect();
    let statement = format!(
        "COPY {} ({}) FROM STDIN",
        qualified(name),
        column_list.join(", ")
    );
    let mut copy = conn.copy_in(&statement)?;
    let mut rngs: Vec<Rng> = table
        .columns
        .iter()
        .map(|c| Rng::new(seed, c.stream))
        .collect();
    let mut self_rngs: Vec<Rng> = table
        .foreign
        .iter()
        .map(|f| Rng::new(seed, f.stream ^ 1))
        .collect();
    let mut own_keys: Vec<Vec<Vec<Value>>> = vec![Vec::new(); table.foreign.len()];
    let mut unique_keys: Vec<HashSet<String>> = vec![HashSet::new(); table.dedupe.len()];
    let mut row: Vec<Value> = vec![Value::Null; table.columns.len()];
    let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK + 4096);
    let mut scratch = String::new();
    let mut made = 0u64;
    let mut one_to_one_used: Vec<usize> = vec![0; table.foreign.len()];
    progress(Progress::Table {
        name,
        index,
        tables,
        done: 0,
        total: count,
    });
    'rows: for i in 0..count {
        let row_number = offset + i;
        let mut attempt = 0;
        loop {
            fill_row(table, &mut rngs, row_number, &mut row);
            let mut exhausted = false;
            for (k, fk) in table.foreign.iter().enumerate() {
                match &fk.mode {
                    ForeignMode::Null => set_null(fk, &mut row),
                    ForeignMode::SelfRef(own) => {
                        let rng = &mut self_rngs[k];
                        let earlier = &own_keys[k];
                        if fk.nullable && (earlier.is_empty() || rng.chance(0.3)) {
                            set_null(fk, &mut row);
                        } else if earlier.is_empty() {
                            // The first row of a NOT NULL self-reference points at itself.
                            for (part, &column) in fk.columns.iter().enumerate() {
                                row[column] = row[own[part]].clone();
                            }
                        } else {
                            let pick = &earlier[rng.index(earlier.len())];
                            for (part, &column) in fk.columns.iter().enumerate() {
                                row[column] = pick[part].clone();
                            }
                        }
                    }
                    ForeignMode::Parent => {
                        let picker = pickers[k].as_mut().expect("a picker per parent key");
                        if picker.keys.is_empty()
                            || (fk.nullable && picker.rng.chance(fk.null_rate))
                        {
                            set_null(fk, &mut row);
                            continue;
                        }
                        let chosen = match &picker.order {
                            Some(order) => {
                                let used = one_to_one_used[k];
                                if used >= order.len() {
                                    if fk.nullable {
                                        set_null(fk, &mut row);
                                        continue;
                                    }
                                    exhausted = true;
                                    break;
                                }
                                one_to_one_used[k] = used + 1;
                                order[used]
                            }
                            None => picker.rng.index(picker.keys.len()),
                        };
                        for (part, &column) in fk.columns.iter().enumerate() {
                            row[column] = Value::Text(picker.keys[chosen][part].clone());
                        }
                    }
                }
            }
            if exhausted {
                break 'rows;
            }
            fix_relations(table, &mut row);
            if accept_unique(table, &row, &mut unique_keys, &mut scratch) {
                break;
            }
            attempt += 1;
            if attempt >= 20 {
                continue 'rows;
            }
        }
        for (k, fk) in table.foreign.iter().enumerate() {
            if let ForeignMode::SelfRef(own) = &fk.mode {
                own_keys[k].push(own.iter().map(|&c| row[c].clone()).collect());
            }
        }
        for (c, value) in row.iter().enumerate() {
            if c > 0 {
                buffer.push(b'\t');
            }
            write_copy_field(value, &mut scratch, &mut buffer);
        }
        buffer.push(b'\n');
        made += 1;
        if buffer.len() >= CHUNK {
            copy.write(&buffer)?;
            buffer.clear();
            progress(Progress::Table {
                name,
                index,
                tables,
                done: made,
                total: count,
            });
        }
    }
    if !buffer.is_empty() {
        copy.write(&buffer)?;
    }
    let stored = copy.finish()?;
    progress(Progress::Table {
        name,
        index,
        tables,
        done: made,
        total: count,
    });
    Ok((stored, table.count.saturating_sub(made)))
}

fn fk_columns(table: &TablePlan, fk: &ForeignPlan) -> String {
    fk.columns
        .iter()
        .map(|&c| format!("`{}`", table.columns[c].name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn set_null(fk: &ForeignPlan, row: &mut [Value]) {
    for &column in &fk.columns {
        row[column] = Value::Null;
    }
}

fn fill_row(table: &TablePlan, rngs: &mut [Rng], row_number: u64, row: &mut [Value]) {
    for (c, column) in table.columns.iter().enumerate() {
        row[c] = match &column.source {
            Source::Generate(generator) => generator.value(&mut rngs[c], row_number),
            Source::Constant(value) => value.clone(),
            Source::Foreign => Value::Null,
        };
    }
}

/// Makes `left op right` hold between generated columns by moving the
/// left side past the right one.
fn fix_relations(table: &TablePlan, row: &mut [Value]) {
    for _ in 0..2 {
        for &(left, op, right) in &table.relations {
            let (Some(l), Some(r)) = (row[left].as_f64(), row[right].as_f64()) else {
                continue;
            };
            let holds = match op {
                Op::Greater => l > r,
                Op::GreaterEq => l >= r,
                Op::Less => l < r,
                Op::LessEq => l <= r,
            };
            if !holds {
                let up = matches!(op, Op::Greater | Op::GreaterEq);
                if let Some(moved) = row[left].moved_past(&row[right], up) {
                    row[left] = moved;
                }
            }
        }
    }
    if let Some((created, updated)) = table.touched
        && let (Some(c), Some(u)) = (row[created].as_f64(), row[updated].as_f64())
        && u < c
    {
        row.swap(created, updated);
    }
}

/// Whether the row's unique combinations are new; records them if so.
fn accept_unique(
    table: &TablePlan,
    row: &[Value],
    seen: &mut [HashSet<String>],
    scratch: &mut String,
) -> bool {
    let mut keys = Vec::with_capacity(table.dedupe.len());
    for set in &table.dedupe {
        if set.iter().any(|&c| row[c] == Value::Null) {
            keys.push(None);
            continue;
        }
        let mut key = String::new();
        for &c in set {
            scratch.clear();
            row[c].write_text(scratch);
            key.push_str(scratch);
            key.push('\u{1f}');
        }
        keys.push(Some(key));
    }
    if keys
        .iter()
        .zip(seen.iter())
        .any(|(key, seen)| key.as_ref().is_some_and(|k| seen.contains(k)))
    {
        return false;
    }
    for (key, seen) in keys.into_iter().zip(seen.iter_mut()) {
        if let Some(key) = key {
            seen.insert(key);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::csv_header;

    #[test]
    fn csv_headers() {
        assert_eq!(
            csv_header("id,\"full name\",\"a\"\"b\"\r").unwrap(),
            ["id", "full name", "a\"b"]
        );
        assert!(csv_header("a,,b").is_none());
    }
}
