//! From a catalog and the configuration to a plan: which tables get how
//! many rows, in which order, and how each column is filled.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use strata_model::{Catalog, Column, ConstraintKind, QualifiedName, Table};

use crate::SeedError;
use crate::check::{self, Op, Rule};
use crate::config::{ColumnConfig, Literal, SeedConfig, TableConfig};
use crate::generate::{Base, Case, Generator, Style, null_rate};
use crate::rng::stream_id;
use crate::value::{DAY_US, Value, days_from_civil};

/// What to do with tables that already hold rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// Refuse to seed (the default): unique values could collide.
    #[default]
    Refuse,
    /// Empty every table in scope first (`TRUNCATE … RESTART IDENTITY`).
    Truncate,
    /// Add rows to what is there.
    Append,
}

/// Fixed data, read by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixedData {
    /// SQL statements, run as they are.
    Sql {
        /// The file, for messages.
        path: PathBuf,
        /// Its text.
        text: String,
    },
    /// Rows for one table, as CSV with a header line.
    Csv {
        /// The file, for messages.
        path: PathBuf,
        /// The table it fills.
        table: QualifiedName,
        /// Its text.
        text: String,
    },
}

/// What to seed and how.
#[derive(Debug, Clone, Default)]
pub struct SeedOptions {
    /// The seed: the same seed gives the same rows.
    pub seed: u64,
    /// Rows per table unless the configuration says otherwise.
    pub count: u64,
    /// Per-table and per-column settings.
    pub config: SeedConfig,
    /// Fixed data, loaded before the generated rows, in order.
    pub fixed: Vec<FixedData>,
    /// What to do with tables that hold rows.
    pub existing: Existing,
}

/// The seed strata uses when none is given: fixed, so that two runs give
/// the same rows unless asked otherwise.
pub const DEFAULT_SEED: u64 = 42;

/// Rows per table when nothing says otherwise.
pub const DEFAULT_COUNT: u64 = 20;

/// A plan: the tables in the order they are filled.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub(crate) seed: u64,
    pub(crate) tables: Vec<TablePlan>,
    pub(crate) scope: Vec<QualifiedName>,
    pub(crate) fixed: Vec<FixedData>,
    pub(crate) existing: Existing,
    pub(crate) warnings: Vec<String>,
}

impl SeedPlan {
    /// The seed the rows come from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The tables to fill, in order, with the rows asked for each.
    pub fn tables(&self) -> impl Iterator<Item = (&QualifiedName, u64)> {
        self.tables.iter().map(|t| (&t.name, t.count))
    }

    /// What the seeder could not honour and left to the database (CHECKs
    /// it does not understand, foreign keys left NULL to break a cycle).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TablePlan {
    pub(crate) name: QualifiedName,
    pub(crate) count: u64,
    pub(crate) columns: Vec<ColumnPlan>,
    pub(crate) foreign: Vec<ForeignPlan>,
    /// Sets of column indexes whose combination must be unique and that no
    /// single distinct column guarantees: checked row by row.
    pub(crate) dedupe: Vec<Vec<usize>>,
    /// `left op right` between generated columns.
    pub(crate) relations: Vec<(usize, Op, usize)>,
    /// `(created_at, updated_at)`: updated is never before created.
    pub(crate) touched: Option<(usize, usize)>,
}

#[derive(Debug, Clone)]
pub(crate) struct ColumnPlan {
    pub(crate) name: String,
    pub(crate) source: Source,
    pub(crate) stream: u64,
}

#[derive(Debug, Clone)]
pub(crate) enum Source {
    Generate(Generator),
    Constant(Value),
    /// Filled from a foreign key's parent.
    Foreign,
}

#[derive(Debug, Clone)]
pub(crate) struct ForeignPlan {
    pub(crate) parent: QualifiedName,
    pub(crate) parent_columns: Vec<String>,
    /// Indexes into the table's columns.
    pub(crate) columns: Vec<usize>,
    pub(crate) null_rate: f64,
    pub(crate) nullable: bool,
    /// Each parent row at most once (the key is also unique).
    pub(crate) one_to_one: bool,
    pub(crate) mode: ForeignMode,
    pub(crate) stream: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ForeignMode {
    /// Keys read from the parent table.
    Parent,
    /// Keys of earlier rows of the same table (these column indexes).
    SelfRef(Vec<usize>),
    /// Always NULL (a cycle broken here, or a self-reference to keys the
    /// database makes).
    Null,
}

/// Plans the seeding of every ordinary table in `catalog`.
///
/// # Errors
/// Configuration that names unknown tables, columns or generators; types
/// without a generator on NOT NULL columns without default; cycles of NOT
/// NULL foreign keys.
pub fn plan(catalog: &Catalog, options: &SeedOptions) -> Result<SeedPlan, SeedError> {
    let mut warnings = Vec::new();
    let scope: Vec<&Table> = catalog
        .tables
        .values()
        .filter(|t| t.partition_of.is_none())
        .collect();
    let by_config = table_configs(&scope, &options.config)?;
    let csv_tables: BTreeSet<&QualifiedName> = options
        .fixed
        .iter()
        .filter_map(|f| match f {
            FixedData::Csv { table, .. } => Some(table),
            FixedData::Sql { .. } => None,
        })
        .collect();
    let broken = break_cycles(&scope, &mut warnings)?;
    let order = dependency_order(&scope, &broken);
    let mut tables = Vec::new();
    for table in order {
        let config = by_config.get(&table.name);
        let count = match config.and_then(|c| c.1.count) {
            Some(count) => count,
            None if csv_tables.contains(&table.name)
                || config.is_some_and(|c| c.1.file.is_some()) =>
            {
                0
            }
            None => options.count,
        };
        let plan = plan_table(catalog, table, config, count, &broken, &mut warnings)?;
        tables.push(plan);
    }
    Ok(SeedPlan {
        seed: options.seed,
        tables,
        scope: scope.iter().map(|t| t.name.clone()).collect(),
        fixed: options.fixed.clone(),
        existing: options.existing,
        warnings,
    })
}

/// Matches `[seed.tables.NAME]` to tables (`name` or `schema.name`).
fn table_configs<'a>(
    scope: &[&Table],
    config: &'a SeedConfig,
) -> Result<BTreeMap<QualifiedName, (&'a str, &'a TableConfig)>, SeedError> {
    let mut out = BTreeMap::new();
    for (key, table_config) in &config.tables {
        let found = scope.iter().find(|t| {
            t.name.to_string() == *key || (t.name.schema == "public" && t.name.name == key.as_str())
        });
        let found = found.or_else(|| scope.iter().find(|t| t.name.name == key.as_str()));
        let Some(table) = found else {
            return Err(SeedError::UnknownTable { name: key.clone() });
        };
        for column in table_config.columns.keys() {
            if table.column(column).is_none() {
                return Err(SeedError::UnknownColumn {
                    table: key.clone(),
                    column: column.clone(),
                });
            }
        }
        out.insert(table.name.clone(), (key.as_str(), table_config));
    }
    Ok(out)
}

fn foreign_keys(
    table: &Table,
) -> impl Iterator<Item = (&strata_model::Constraint, &strata_model::References)> {
    table
        .constraints
        .iter()
        .filter(|c| c.kind == ConstraintKind::ForeignKey)
        .filter_map(|c| c.references.as_ref().map(|r| (c, r)))
}

fn all_nullable(table: &Table, columns: &[strata_model::Ident]) -> bool {
    columns
        .iter()
        .all(|c| table.column(c).is_some_and(|col| !col.not_null))
}

/// Finds foreign keys to leave NULL so that the tables can be ordered:
/// `(table, constraint name)`.
fn break_cycles(
    scope: &[&Table],
    warnings: &mut Vec<String>,
) -> Result<BTreeSet<(QualifiedName, String)>, SeedError> {
    let names: BTreeSet<&QualifiedName> = scope.iter().map(|t| &t.name).collect();
    let mut broken = BTreeSet::new();
    loop {
        let mut remaining: BTreeSet<&QualifiedName> = names.clone();
        loop {
            let ready: Vec<&QualifiedName> = remaining
                .iter()
                .copied()
                .filter(|name| {
                    let table = scope.iter().find(|t| &&t.name == name).expect("in scope");
                    foreign_keys(table).all(|(c, r)| {
                        r.table == table.name
                            || !remaining.contains(&r.table)
                            || broken.contains(&(table.name.clone(), c.name.to_string()))
                    })
                })
                .collect();
            if ready.is_empty() {
                break;
            }
            for name in ready {
                remaining.remove(name);
            }
        }
        if remaining.is_empty() {
            return Ok(broken);
        }
        // A cycle among `remaining`: leave the first nullable key in it NULL.
        let candidate = remaining.iter().find_map(|name| {
            let table = scope.iter().find(|t| &&t.name == name).expect("in scope");
            foreign_keys(table)
                .find(|(c, r)| {
                    r.table != table.name
                        && remaining.contains(&r.table)
                        && !broken.contains(&(table.name.clone(), c.name.to_string()))
                        && all_nullable(table, &c.columns)
                })
                .map(|(c, r)| (table.name.clone(), c.name.to_string(), r.table.clone()))
        });
        let Some((table, constraint, parent)) = candidate else {
            return Err(SeedError::ForeignKeyCycle {
                tables: remaining
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        warnings.push(format!(
            "foreign key `{constraint}` of `{table}` (to `{parent}`) is left NULL: the tables reference each other"
        ));
        broken.insert((table, constraint));
    }
}

/// Parents before children; ties in name order.
fn dependency_order<'a>(
    scope: &[&'a Table],
    broken: &BTreeSet<(QualifiedName, String)>,
) -> Vec<&'a Table> {
    let mut done: BTreeSet<QualifiedName> = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() < scope.len() {
        let before = order.len();
        for table in scope {
            if done.contains(&table.name) {
                continue;
            }
            let ready = foreign_keys(table).all(|(c, r)| {
                r.table == table.name
                    || done.contains(&r.table)
                    || !scope.iter().any(|t| t.name == r.table)
                    || broken.contains(&(table.name.clone(), c.name.to_string()))
            });
            if ready {
                done.insert(table.name.clone());
                order.push(*table);
            }
        }
        if order.len() == before {
            // Cannot happen after break_cycles; keep the rest in name order.
            order.extend(scope.iter().filter(|t| !done.contains(&t.name)).copied());
            break;
        }
    }
    order
}

/// The generator for a column's type, enums and domains resolved; the
/// domain's CHECKs come back as definitions to apply.
fn base_of(catalog: &Catalog, column: &Column) -> (Option<Base>, Vec<String>) {
    let array = column.data_type.ends_with("[]");
    if let Some(type_ref) = &column.type_ref {
        if let Some(e) = catalog.enums.get(type_ref) {
            let base = Base::Enum(e.values.clone());
            return (
                Some(if array {
                    Base::Array(Box::new(base))
                } else {
                    base
                }),
                Vec::new(),
            );
        }
        if let Some(domain) = catalog.domains.get(type_ref) {
            let checks = domain
                .constraints
                .iter()
                .map(|c| c.definition.clone())
                .collect();
            let mut inner = Column::new(column.name.clone(), domain.data_type.clone());
            inner.not_null = column.not_null || domain.not_null;
            let (base, _) = base_of(catalog, &inner);
            let base = base.map(|b| if array { Base::Array(Box::new(b)) } else { b });
            return (base, checks);
        }
    }
    (Base::parse(&column.data_type), Vec::new())
}

/// Whether the database fills the column by itself in a way that keeps
/// rows unique and valid: identity, serial, generated.
fn filled_by_database(column: &Column) -> bool {
    column.identity.is_some()
        || column.generated.is_some()
        || column
            .default
            .as_deref()
            .is_some_and(|d| d.starts_with("nextval("))
}

#[allow(clippy::too_many_arguments)]
fn plan_table(
    catalog: &Catalog,
    table: &Table,
    config: Option<&(&str, &TableConfig)>,
    count: u64,
    broken: &BTreeSet<(QualifiedName, String)>,
    warnings: &mut Vec<String>,
) -> Result<TablePlan, SeedError> {
    let schema = table.name.schema.as_str();
    let tname = table.name.name.as_str();
    let column_config = |name: &str| config.and_then(|(_, c)| c.columns.get(name));
    let config_key = config.map_or_else(|| table.name.to_string(), |(k, _)| (*k).to_owned());

    // Which columns foreign keys fill.
    let fks: Vec<_> = foreign_keys(table).collect();
    let mut in_fk: BTreeSet<&str> = BTreeSet::new();
    for (constraint, _) in &fks {
        for column in &constraint.columns {
            if column_config(column).is_none() {
                in_fk.insert(column.as_str());
            }
        }
    }

    let mut columns: Vec<ColumnPlan> = Vec::new();
    let mut skipped_by_db: BTreeSet<&str> = BTreeSet::new();
    let mut domain_checks: Vec<(String, String)> = Vec::new();
    for column in &table.columns {
        let name = column.name.as_str();
        let stream = stream_id(&[schema, tname, name]);
        if let Some(cc) = column_config(name) {
            if let Some(source) =
                configured(catalog, table, column, cc, &config_key, &mut domain_checks)?
            {
                columns.push(ColumnPlan {
                    name: name.to_owned(),
                    source,
                    stream,
                });
            }
            continue;
        }
        if filled_by_database(column) {
            skipped_by_db.insert(name);
            continue;
        }
        if in_fk.contains(name) {
            columns.push(ColumnPlan {
                name: name.to_owned(),
                source: Source::Foreign,
                stream,
            });
            continue;
        }
        let (base, checks) = base_of(catalog, column);
        domain_checks.extend(checks.into_iter().map(|c| (name.to_owned(), c)));
        let Some(base) = base else {
            if column.default.is_some() || !column.not_null {
                warnings.push(format!(
                    "`{}.{name}` ({}) is left to its default: no generator for the type",
                    table.name, column.data_type
                ));
                continue;
            }
            return Err(SeedError::UnsupportedType {
                table: table.name.clone(),
                column: name.to_owned(),
                data_type: column.data_type.clone(),
            });
        };
        let style = Style::guess(name, tname, &base);
        let mut generator = Generator::new(base, style);
        generator.password = name.contains("password");
        if !column.not_null {
            generator.null_rate = null_rate(name);
        }
        columns.push(ColumnPlan {
            name: name.to_owned(),
            source: Source::Generate(generator),
            stream,
        });
    }
    let index_of = |columns: &[ColumnPlan], name: &str| columns.iter().position(|c| c.name == name);

    // CHECK constraints, the table's and its columns' domains'.
    let mut relations = Vec::new();
    let is_column = |name: &str| table.column(name).is_some();
    let mut definitions: Vec<(String, Option<String>)> = table
        .constraints
        .iter()
        .filter(|c| c.kind == ConstraintKind::Check)
        .map(|c| (c.definition.clone(), None))
        .collect();
    definitions.extend(domain_checks.into_iter().map(|(col, def)| (def, Some(col))));
    for (definition, domain_column) in definitions {
        let parsed = match &domain_column {
            Some(col) => check::parse(&definition, &|n| n == "VALUE").map(|rules| {
                rules
                    .into_iter()
                    .map(|r| rename_value(r, col))
                    .collect::<Vec<_>>()
            }),
            None => check::parse(&definition, &is_column),
        };
        let Some(rules) = parsed else {
            warnings.push(format!(
                "`{}`: {definition} is not understood by the seeder; if rows fail it, set the column's values in [seed.tables.{}]",
                table.name, tname
            ));
            continue;
        };
        for rule in rules {
            apply_rule(&mut columns, rule, &mut relations, &table.name, warnings);
        }
    }
    let relations = relations
        .into_iter()
        .filter_map(|(l, op, r): (String, Op, String)| {
            Some((index_of(&columns, &l)?, op, index_of(&columns, &r)?))
        })
        .collect();

    // Foreign keys.
    let mut foreign = Vec::new();
    for (constraint, references) in &fks {
        let column_indexes: Vec<usize> = constraint
            .columns
            .iter()
            .filter_map(|c| index_of(&columns, c))
            .collect();
        let nullable = all_nullable(table, &constraint.columns);
        let mode = if broken.contains(&(table.name.clone(), constraint.name.to_string())) {
            ForeignMode::Null
        } else if references.table == table.name {
            let own: Option<Vec<usize>> = references
                .columns
                .iter()
                .map(|c| {
                    index_of(&columns, c)
                        .filter(|&i| matches!(columns[i].source, Source::Generate(_)))
                })
                .collect();
            match own {
                Some(own) => ForeignMode::SelfRef(own),
                None if nullable => {
                    warnings.push(format!(
                        "`{}` references itself through keys the database makes: `{}` is left NULL",
                        table.name, constraint.name
                    ));
                    ForeignMode::Null
                }
                None => {
                    return Err(SeedError::ForeignKeyCycle {
                        tables: format!("`{}` (itself)", table.name),
                    });
                }
            }
        } else {
            ForeignMode::Parent
        };
        foreign.push(ForeignPlan {
            parent: references.table.clone(),
            parent_columns: references.columns.iter().map(ToString::to_string).collect(),
            columns: column_indexes,
            null_rate: if nullable { 0.1 } else { 0.0 },
            nullable,
            one_to_one: false,
            mode,
            stream: stream_id(&[schema, tname, constraint.name.as_str(), "fk"]),
        });
    }

    // Unique sets: make one column distinct, or pick parents once, or
    // check row by row.
    let mut sets: Vec<Vec<String>> = Vec::new();
    for constraint in &table.constraints {
        if matches!(
            constraint.kind,
            ConstraintKind::PrimaryKey | ConstraintKind::Unique
        ) {
            sets.push(constraint.columns.iter().map(ToString::to_string).collect());
        }
    }
    for index in &table.indexes {
        // The columns the keys use (`lower(email)` uses `email`), not those
        // only in a partial index's predicate.
        let keyed: Vec<String> = index
            .columns
            .iter()
            .filter(|c| index.keys.iter().any(|k| k.contains(c.as_str())))
            .map(ToString::to_string)
            .collect();
        if index.unique && !keyed.is_empty() {
            sets.push(keyed);
        }
    }
    let mut dedupe = Vec::new();
    for set in sets {
        if set.iter().any(|c| skipped_by_db.contains(c.as_str())) {
            continue;
        }
        let indexes: Vec<usize> = set.iter().filter_map(|c| index_of(&columns, c)).collect();
        if indexes.len() < set.len() {
            // A column left to its default: nothing the seeder can do.
            continue;
        }
        let already = indexes.iter().any(|&i| match &columns[i].source {
            Source::Generate(g) => g.distinct,
            _ => false,
        });
        if already {
            continue;
        }
        let candidate = indexes.iter().copied().find(|&i| match &columns[i].source {
            Source::Generate(g) => g.base.can_be_distinct() && g.one_of.is_none(),
            _ => false,
        });
        if let Some(i) = candidate {
            if let Source::Generate(g) = &mut columns[i].source {
                g.distinct = true;
                g.null_rate = 0.0;
            }
            continue;
        }
        // A foreign key that is the whole set: each parent once.
        if let Some(fk) = foreign.iter_mut().find(|f| {
            f.mode == ForeignMode::Parent && {
                let mut a = f.columns.clone();
                let mut b = indexes.clone();
                a.sort_unstable();
                b.sort_unstable();
                a == b
            }
        }) {
            fk.one_to_one = true;
            continue;
        }
        dedupe.push(indexes);
    }

    let touched = match (
        index_of(&columns, "created_at"),
        index_of(&columns, "updated_at"),
    ) {
        (Some(c), Some(u))
            if matches!(columns[c].source, Source::Generate(_))
                && matches!(columns[u].source, Source::Generate(_)) =>
        {
            Some((c, u))
        }
        _ => None,
    };

    Ok(TablePlan {
        name: table.name.clone(),
        count,
        columns,
        foreign,
        dedupe,
        relations,
        touched,
    })
}

fn rename_value(rule: Rule, column: &str) -> Rule {
    let c = column.to_owned();
    match rule {
        Rule::Min {
            value, inclusive, ..
        } => Rule::Min {
            column: c,
            value,
            inclusive,
        },
        Rule::Max {
            value, inclusive, ..
        } => Rule::Max {
            column: c,
            value,
            inclusive,
        },
        Rule::OneOf { values, .. } => Rule::OneOf { column: c, values },
        Rule::NotEqual { value, .. } => Rule::NotEqual { column: c, value },
        Rule::Lowercase { .. } => Rule::Lowercase { column: c },
        Rule::Uppercase { .. } => Rule::Uppercase { column: c },
        Rule::MaxLength { length, .. } => Rule::MaxLength { column: c, length },
        Rule::MinLength { length, .. } => Rule::MinLength { column: c, length },
        Rule::NotNull { .. } => Rule::NotNull { column: c },
        other @ Rule::Compare { .. } => other,
    }
}

/// The smallest step of a generator's values, to turn `>` into `>=`.
fn step(base: &Base) -> f64 {
    match base {
        Base::Int { .. } | Base::Date => 1.0,
        Base::Decimal { scale, .. } => 10f64.powi(-i32::try_from(*scale).unwrap_or(0)),
        Base::Money => 0.01,
        Base::TimestampTz | Base::Timestamp => 1_000_000.0,
        _ => 1e-6,
    }
}

fn apply_rule(
    columns: &mut [ColumnPlan],
    rule: Rule,
    relations: &mut Vec<(String, Op, String)>,
    table: &QualifiedName,
    warnings: &mut Vec<String>,
) {
    let find = |columns: &mut [ColumnPlan], name: &str| -> Option<usize> {
        columns
            .iter()
            .position(|c| c.name == name && matches!(c.source, Source::Generate(_)))
    };
    let column_name = match &rule {
        Rule::Min { column, .. }
        | Rule::Max { column, .. }
        | Rule::OneOf { column, .. }
        | Rule::NotEqual { column, .. }
        | Rule::Lowercase { column }
        | Rule::Uppercase { column }
        | Rule::MaxLength { column, .. }
        | Rule::MinLength { column, .. }
        | Rule::NotNull { column } => column.clone(),
        Rule::Compare { left, op, right } => {
            relations.push((left.clone(), *op, right.clone()));
            return;
        }
    };
    let Some(i) = find(columns, &column_name) else {
        return;
    };
    let Source::Generate(g) = &mut columns[i].source else {
        return;
    };
    match rule {
        Rule::Min {
            value, inclusive, ..
        } => {
            let v = if inclusive {
                value
            } else {
                value + step(&g.base)
            };
            g.min = Some(g.min.map_or(v, |m| m.max(v)));
        }
        Rule::Max {
            value, inclusive, ..
        } => {
            let v = if inclusive {
                value
            } else {
                value - step(&g.base)
            };
            g.max = Some(g.max.map_or(v, |m| m.min(v)));
        }
        Rule::OneOf { values, .. } => {
            if let Base::Enum(labels) = &g.base {
                let kept: Vec<String> = labels
                    .iter()
                    .filter(|l| values.contains(l))
                    .cloned()
                    .collect();
                if !kept.is_empty() {
                    g.base = Base::Enum(kept);
                }
            } else {
                g.one_of = Some(match g.one_of.take() {
                    Some(old) => old.into_iter().filter(|v| values.contains(v)).collect(),
                    None => values,
                });
            }
        }
        Rule::NotEqual { value, .. } => g.not_equal.push(value),
        Rule::Lowercase { .. } => g.case = Case::Lower,
        Rule::Uppercase { .. } => g.case = Case::Upper,
        Rule::MaxLength { length, .. } => {
            if let Base::Text { max_len, .. } = &mut g.base {
                *max_len = Some(max_len.map_or(length, |m| m.min(length)));
            } else {
                warnings.push(format!(
                    "`{table}.{column_name}`: a length check on a non-text column is ignored"
                ));
            }
        }
        Rule::MinLength { length, .. } => g.min_len = g.min_len.max(length),
        Rule::NotNull { .. } => g.null_rate = 0.0,
        Rule::Compare { .. } => {}
    }
}

/// A column configured in `strata.toml`; `None`: leave it to the database.
fn configured(
    catalog: &Catalog,
    table: &Table,
    column: &Column,
    cc: &ColumnConfig,
    key: &str,
    domain_checks: &mut Vec<(String, String)>,
) -> Result<Option<Source>, SeedError> {
    let name = column.name.as_str();
    let error = |reason: String| SeedError::ColumnConfig {
        table: key.to_owned(),
        column: name.to_owned(),
        reason,
        generators: Style::NAMES,
    };
    match cc.generator.as_deref() {
        Some("default") => return Ok(None),
        Some("null") => {
            if column.not_null {
                return Err(error("the column is NOT NULL".to_owned()));
            }
            return Ok(Some(Source::Constant(Value::Null)));
        }
        _ => {}
    }
    if let Some(value) = &cc.value {
        return Ok(Some(Source::Constant(Value::Text(value.to_text()))));
    }
    let (base, checks) = base_of(catalog, column);
    domain_checks.extend(checks.into_iter().map(|c| (name.to_owned(), c)));
    let base = match (base, &cc.values) {
        (Some(base), _) => base,
        (None, Some(_)) => Base::Text {
            max_len: None,
            fixed: false,
        },
        (None, None) => {
            return Err(SeedError::UnsupportedType {
                table: table.name.clone(),
                column: name.to_owned(),
                data_type: column.data_type.clone(),
            });
        }
    };
    let style = match cc.generator.as_deref() {
        Some(g) => Style::from_name(g).ok_or_else(|| error(format!("unknown generator `{g}`")))?,
        None => Style::guess(name, &table.name.name, &base),
    };
    let mut generator = Generator::new(base, style);
    if let Some(values) = &cc.values {
        if values.is_empty() {
            return Err(error("`values` is empty".to_owned()));
        }
        generator.one_of = Some(values.iter().map(Literal::to_text).collect());
    }
    let bound = |literal: &Literal| -> Result<f64, SeedError> {
        match literal {
            Literal::Int(i) =>
            {
                #[expect(clippy::cast_precision_loss, reason = "configured bounds are small")]
                Ok(*i as f64)
            }
            Literal::Float(f) => Ok(*f),
            Literal::Text(t) => parse_time_bound(t, &generator.base).ok_or_else(|| {
                error(format!(
                    "`{t}` is not a number or a date (YYYY-MM-DD[ HH:MM:SS])"
                ))
            }),
            Literal::Bool(_) => Err(error("a bound cannot be a boolean".to_owned())),
        }
    };
    let min = cc.min.as_ref().map(&bound).transpose()?;
    let max = cc.max.as_ref().map(&bound).transpose()?;
    generator.min = min;
    generator.max = max;
    if let Some(rate) = cc.null {
        if !(0.0..=1.0).contains(&rate) {
            return Err(error(format!("null = {rate} is not between 0 and 1")));
        }
        if rate > 0.0 && column.not_null {
            return Err(error("the column is NOT NULL".to_owned()));
        }
        generator.null_rate = rate;
    } else if !column.not_null {
        generator.null_rate = null_rate(name);
    }
    Ok(Some(Source::Generate(generator)))
}

/// `2024-01-31` or `2024-01-31 12:00:00` as the unit a time generator
/// uses (days for dates, microseconds for timestamps).
#[expect(clippy::cast_precision_loss, reason = "timestamps as bounds")]
fn parse_time_bound(text: &str, base: &Base) -> Option<f64> {
    let (date, time) = text.split_once([' ', 'T']).unwrap_or((text, "00:00:00"));
    let mut parts = date.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let mut hms = time.trim_end_matches('Z').split(':');
    let hours: i64 = hms.next().unwrap_or("0").parse().ok()?;
    let minutes: i64 = hms.next().unwrap_or("0").parse().ok()?;
    let seconds: i64 = hms.next().unwrap_or("0").parse().ok()?;
    match base {
        Base::Date => Some(days as f64),
        Base::TimestampTz | Base::Timestamp => {
            Some((days * DAY_US + (hours * 3600 + minutes * 60 + seconds) * 1_000_000) as f64)
        }
        _ => None,
    }
}
