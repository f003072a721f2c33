//! Online plans: the same changes in forms that keep a live app running
//! (the seed note's zero-downtime deploys), in phases:
//!
//! 1. **expand** (one transaction, brief locks): everything additive;
//!    foreign keys and checks added `NOT VALID`; `NOT NULL` as a
//!    `CHECK (col IS NOT NULL) NOT VALID`; a renamed or retyped column
//!    added beside the old one, kept in sync by a trigger; drops wait.
//! 2. **concurrent** (no transaction, statement by statement): indexes
//!    built and dropped `CONCURRENTLY`, backfills in batches that commit as
//!    they go.
//! 3. **attach** (one transaction, brief): unique constraints over the
//!    indexes built concurrently (`ADD CONSTRAINT … USING INDEX`).
//! 4. **validate** (one transaction): `VALIDATE CONSTRAINT` (no write
//!    lock while it scans), then `SET NOT NULL` (no scan, thanks to the
//!    validated check) and the checks dropped.
//! 5. **contract** (one transaction, after the app stopped using what goes):
//!    drops, and the swap of renamed and retyped columns.
//!
//! Each lock-taking statement still needs a `lock_timeout` with retries
//! around it; the runners (`push --online`, `migrate`) provide that.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use strata_diff::{Change, Plan};
use strata_model::{Column, ConstraintKind, Ident, QualifiedName, Table};
use strata_syntax::{quote_ident, rename_identifiers};

use crate::{Dialect, Hazard, HazardId, RenderContext, Statement, Transaction, render_grouped};

/// A phase of an online plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseKind {
    /// Additive changes, in one transaction.
    Expand,
    /// Concurrent index builds and batched backfills, outside transactions.
    Concurrent,
    /// Constraints over the indexes built concurrently.
    Attach,
    /// Validations and `SET NOT NULL`.
    Validate,
    /// Drops and swaps, once the app no longer uses the old form.
    Contract,
}

impl PhaseKind {
    /// Whether its statements run in one transaction.
    pub fn transactional(self) -> bool {
        self != PhaseKind::Concurrent
    }

    /// The suffix of the migration it becomes (`0007_add_index_concurrently`).
    pub fn suffix(self) -> &'static str {
        match self {
            PhaseKind::Expand => "",
            PhaseKind::Concurrent => "_concurrently",
            PhaseKind::Attach => "_attach",
            PhaseKind::Validate => "_validate",
            PhaseKind::Contract => "_contract",
        }
    }
}

/// One phase and its statements.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// Which phase.
    pub kind: PhaseKind,
    /// Its statements, in order.
    pub statements: Vec<Statement>,
}

/// A change with no online form strata can write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineError {
    /// The change.
    pub what: String,
    /// Why not.
    pub why: String,
}

impl std::fmt::Display for OnlineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no online form for {}: {}", self.what, self.why)
    }
}

impl std::error::Error for OnlineError {}

#[derive(Default)]
struct Phases {
    expand: Vec<Statement>,
    /// Per table: the `col = expr` assignments and the conditions that
    /// pick the rows still to fill, run as one batched pass.
    backfills: Vec<(QualifiedName, Vec<String>, Vec<String>)>,
    concurrent: Vec<Statement>,
    attach: Vec<Statement>,
    validations: Vec<Statement>,
    after_validation: Vec<Statement>,
    contract: Vec<Statement>,
}

fn q(name: &QualifiedName) -> String {
    strata_syntax::quote_qualified(&name.schema, &name.name)
}

fn plain(sql: String, table: Option<&QualifiedName>) -> Statement {
    Statement {
        sql,
        hazards: Vec::new(),
        transaction: Transaction::Inside,
        table: table.cloned(),
    }
}

fn outside(sql: String, table: Option<&QualifiedName>) -> Statement {
    Statement {
        sql,
        hazards: Vec::new(),
        transaction: Transaction::Outside,
        table: table.cloned(),
    }
}

/// A name PostgreSQL keeps whole (at most 63 bytes).
fn fit(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if out.len() + c.len_utf8() > 63 {
            break;
        }
        out.push(c);
    }
    out
}

/// `CREATE [UNIQUE] INDEX name ON …` → `… INDEX CONCURRENTLY IF NOT EXISTS name ON …`.
fn concurrently(definition: &str) -> String {
    for prefix in ["CREATE UNIQUE INDEX ", "CREATE INDEX "] {
        if let Some(rest) = definition.strip_prefix(prefix) {
            return format!("{prefix}CONCURRENTLY IF NOT EXISTS {rest}");
        }
    }
    definition.to_owned()
}

/// The batched backfill of `set` (`col = expr`) over the rows `pending`
/// selects, as a procedure that commits after every batch, called and
/// dropped: safe to interrupt and to run again.
fn backfill(table: &QualifiedName, from: &Table, set: &str, pending: &str) -> Vec<Statement> {
    let proc_name = QualifiedName::new(
        table.schema.as_str(),
        fit(&format!("strata_backfill_{}", table.name)).as_str(),
    );
    let key: Vec<&Ident> = from
        .constraints
        .iter()
        .find(|c| c.kind == ConstraintKind::PrimaryKey)
        .map(|c| c.columns.iter().collect())
        .unwrap_or_default();
    let t = q(table);
    let body = if let [key] = key.as_slice() {
        // Key ranges: each batch reads the next 10,000 keys by index.
        let k = quote_ident(key);
        let key_type = from
            .column(key.as_str())
            .map_or("bigint", |c| c.data_type.as_str());
        format!(
            "DECLARE last {key_type}; batch_end {key_type};\n\
             BEGIN\n\
             \x20 LOOP\n\
             \x20   SELECT max({k}) INTO batch_end FROM (SELECT {k} FROM {t} WHERE last IS NULL OR {k} > last ORDER BY {k} LIMIT 10000) b;\n\
             \x20   EXIT WHEN batch_end IS NULL;\n\
             \x20   UPDATE {t} SET {set} WHERE (last IS NULL OR {k} > last) AND {k} <= batch_end AND ({pending});\n\
             \x20   last := batch_end;\n\
             \x20   COMMIT;\n\
             \x20 END LOOP;\n\
             END"
        )
    } else {
        // No single-column key: batches by physical position.
        format!(
            "DECLARE n bigint;\n\
             BEGIN\n\
             \x20 LOOP\n\
             \x20   UPDATE {t} SET {set} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {t} WHERE {pending} LIMIT 10000));\n\
             \x20   GET DIAGNOSTICS n = ROW_COUNT;\n\
             \x20   COMMIT;\n\
             \x20   EXIT WHEN n = 0;\n\
             \x20 END LOOP;\n\
             END"
        )
    };
    let p = q(&proc_name);
    vec![
        outside(
            format!(
                "CREATE OR REPLACE PROCEDURE {p}() LANGUAGE plpgsql AS $strata$\n{body}\n$strata$"
            ),
            Some(table),
        ),
        {
            let mut call = outside(format!("CALL {p}()"), Some(table));
            call.hazards.push(Hazard::new(
                HazardId::NonTransactional,
                format!(
                    "backfills `{table}` 10,000 rows at a time, each batch committed on its own"
                ),
                "nothing to do: interrupted, it is safe to run again",
            ));
            call
        },
        outside(format!("DROP PROCEDURE IF EXISTS {p}()"), Some(table)),
    ]
}

impl Phases {
    /// Fills `set` where `pending`, in the table's batched pass.
    fn backfill(&mut self, table: &QualifiedName, set: String, pending: String) {
        if let Some((_, sets, pendings)) = self.backfills.iter_mut().find(|(t, _, _)| t == table) {
            sets.push(set);
            pendings.push(pending);
        } else {
            self.backfills
                .push((table.clone(), vec![set], vec![pending]));
        }
    }

    /// A concurrent index build that can run again after a failure: an
    /// INVALID index a failed build left is dropped first.
    fn build_index(
        &mut self,
        name: &QualifiedName,
        definition: &str,
        table: &QualifiedName,
    ) -> &mut Statement {
        self.concurrent.push(outside(
            format!("DROP INDEX CONCURRENTLY IF EXISTS {}", q(name)),
            Some(table),
        ));
        self.concurrent
            .push(outside(concurrently(definition), Some(table)));
        self.concurrent.last_mut().expect("just pushed")
    }
}

/// The sync trigger that keeps `new` equal to `old` (and, for renames, the
/// other way round) while the app moves over.
fn sync_trigger(
    table: &QualifiedName,
    old: &str,
    new: &str,
    cast: Option<&str>,
    both_ways: bool,
) -> (Vec<Statement>, Vec<Statement>) {
    let function = QualifiedName::new(
        table.schema.as_str(),
        fit(&format!("strata_sync_{}_{new}", table.name)).as_str(),
    );
    let trigger = fit(&format!("strata_sync_{new}"));
    let (o, n) = (quote_ident(old), quote_ident(new));
    // `cast` converts the old column (and starts with its name).
    let value = |column: &str| match cast {
        Some(expression) => format!("NEW.{expression}"),
        None => format!("NEW.{column}"),
    };
    let body = if both_ways {
        format!(
            "BEGIN\n\
             \x20 IF TG_OP = 'INSERT' THEN\n\
             \x20   IF NEW.{n} IS NULL THEN NEW.{n} := NEW.{o}; ELSIF NEW.{o} IS NULL THEN NEW.{o} := NEW.{n}; END IF;\n\
             \x20 ELSIF NEW.{o} IS DISTINCT FROM OLD.{o} THEN NEW.{n} := NEW.{o};\n\
             \x20 ELSIF NEW.{n} IS DISTINCT FROM OLD.{n} THEN NEW.{o} := NEW.{n};\n\
             \x20 END IF;\n\
             \x20 RETURN NEW;\n\
             END"
        )
    } else {
        format!(
            "BEGIN\n\
             \x20 NEW.{n} := {};\n\
             \x20 RETURN NEW;\n\
             END",
            value(&o)
        )
    };
    let f = q(&function);
    let create = vec![
        plain(
            format!(
                "CREATE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql AS $strata$\n{body}\n$strata$"
            ),
            Some(table),
        ),
        plain(
            format!(
                "CREATE TRIGGER {} BEFORE INSERT OR UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION {f}()",
                quote_ident(&trigger),
                q(table)
            ),
            Some(table),
        ),
    ];
    let drop = vec![
        plain(
            format!("DROP TRIGGER {} ON {}", quote_ident(&trigger), q(table)),
            Some(table),
        ),
        plain(format!("DROP FUNCTION {f}()"), Some(table)),
    ];
    (create, drop)
}

/// `NOT NULL` without a long lock: a check added `NOT VALID` now,
/// validated later, then `SET NOT NULL` (which uses it) and the check
/// dropped.
fn not_null_online(phases: &mut Phases, table: &QualifiedName, column: &str, from: &Table) {
    let mut name = fit(&format!("{}_{column}_not_null", table.name));
    while from.constraints.iter().any(|c| c.name.as_str() == name) {
        name = fit(&format!("{name}_"));
    }
    let c = quote_ident(column);
    let n = quote_ident(&name);
    let t = q(table);
    phases.expand.push(plain(
        format!("ALTER TABLE {t} ADD CONSTRAINT {n} CHECK ({c} IS NOT NULL) NOT VALID"),
        Some(table),
    ));
    phases.validations.push(plain(
        format!("ALTER TABLE {t} VALIDATE CONSTRAINT {n}"),
        Some(table),
    ));
    phases.after_validation.push(plain(
        format!("ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL"),
        Some(table),
    ));
    phases.after_validation.push(plain(
        format!("ALTER TABLE {t} DROP CONSTRAINT {n}"),
        Some(table),
    ));
}

/// Why a column cannot be moved by expand and contract, if it cannot.
fn movable(table: &Table, column: &Column) -> Option<String> {
    if column.identity.is_some() || column.generated.is_some() {
        return Some("it is an identity or generated column".to_owned());
    }
    if column
        .default
        .as_deref()
        .is_some_and(|d| d.contains("nextval("))
    {
        return Some("it is a serial column".to_owned());
    }
    let used: Vec<&str> = table
        .constraints
        .iter()
        .filter(|c| {
            c.columns.iter().any(|n| n == &column.name)
                || (c.kind == ConstraintKind::Check
                    && rename_identifiers(&c.definition, &[(column.name.as_str(), "\u{1}")])
                        != c.definition)
        })
        .map(|c| c.name.as_str())
        .collect();
    if !used.is_empty() {
        return Some(format!("constraint(s) {} use it", used.join(", ")));
    }
    None
}

/// Copies of the indexes on `old`, built concurrently on `new` under
/// temporary names; returns the renames that give them their names back
/// once the old column is gone.
fn copy_indexes(
    phases: &mut Phases,
    table: &QualifiedName,
    from: &Table,
    old: &str,
    new: &str,
) -> Vec<Statement> {
    let mut renames = Vec::new();
    for index in from
        .indexes
        .iter()
        .filter(|i| i.columns.iter().any(|c| c.as_str() == old))
    {
        let temp = fit(&format!("{}__strata_new", index.name));
        let definition = rename_identifiers(
            &index.definition.replacen(" ON ONLY ", " ON ", 1),
            &[(old, new), (index.name.as_str(), temp.as_str())],
        );
        phases.build_index(
            &QualifiedName::new(table.schema.as_str(), temp.as_str()),
            &definition,
            table,
        );
        renames.push(plain(
            format!(
                "ALTER INDEX {} RENAME TO {}",
                strata_syntax::quote_qualified(&table.schema, &temp),
                quote_ident(&index.name)
            ),
            Some(table),
        ));
    }
    renames
}

fn waits_for_late_key(table: &QualifiedName, constraint: &strata_model::Constraint) -> OnlineError {
    OnlineError {
        what: format!("foreign key `{}` on `{table}`", constraint.name),
        why: "it references a primary key whose columns become NOT NULL in the same change; apply the key first (one plan), then the foreign key (another)".to_owned(),
    }
}

/// Whether a key can be built as a unique index concurrently and attached:
/// plain key columns, at most DEFERRABLE after them (INCLUDE, WITH or a
/// tablespace stay as they are).
fn concurrent_key(constraint: &strata_model::Constraint) -> bool {
    matches!(
        constraint.kind,
        ConstraintKind::PrimaryKey | ConstraintKind::Unique
    ) && (constraint.definition.starts_with("UNIQUE (")
        || constraint.definition.starts_with("PRIMARY KEY ("))
        && constraint.definition.matches('(').count() == 1
        && constraint
            .definition
            .split_once(')')
            .is_some_and(|(_, tail)| {
                tail.split_whitespace().all(|w| {
                    matches!(
                        w,
                        "DEFERRABLE" | "INITIALLY" | "DEFERRED" | "IMMEDIATE" | "NOT"
                    )
                })
            })
}

/// `plan` with the foreign keys of new tables that reference a key built
/// concurrently taken out of their `CREATE TABLE`, as changes of their own
/// (which wait for the key).
fn split_waiting_foreign_keys(plan: &Plan, deferred: &BTreeMap<QualifiedName, bool>) -> Plan {
    let mut out = plan.clone();
    out.changes.clear();
    for change in &plan.changes {
        if let Change::CreateTable { table } = change {
            let waits = |c: &strata_model::Constraint| {
                c.kind == ConstraintKind::ForeignKey
                    && c.references
                        .as_ref()
                        .is_some_and(|r| deferred.contains_key(&r.table))
            };
            if table.constraints.iter().any(waits) {
                let mut created = table.clone();
                let (later, now): (Vec<_>, Vec<_>) =
                    table.constraints.iter().cloned().partition(|c| waits(c));
                created.constraints = now;
                out.changes.push(Change::CreateTable { table: created });
                for constraint in later {
                    out.changes.push(Change::AddConstraint {
                        table: table.name.clone(),
                        constraint,
                    });
                }
                continue;
            }
        }
        out.changes.push(change.clone());
    }
    out
}

/// The name a change frees, for drops that wait for the contract phase.
fn dropped_name(change: &Change) -> Option<String> {
    Some(match change {
        Change::DropSchema { name } => format!("schema {name:?}"),
        Change::DropExtension { name } => format!("extension {name:?}"),
        Change::DropEnum { name }
        | Change::DropDomain { name }
        | Change::DropCompositeType { name } => {
            format!("type {name:?}")
        }
        Change::DropSequence { name } | Change::DropIndex { name, .. } => {
            format!("relation {name:?}")
        }
        Change::DropView { view } => format!("relation {:?}", view.name),
        Change::DropFunction { function } => format!("function {:?}", function.name),
        Change::DropConstraint { table, constraint } => {
            format!("constraint {table:?} {:?}", constraint.name)
        }
        Change::DropTrigger { table, name } => format!("trigger {table:?} {name:?}"),
        Change::DropPolicy { table, name } => format!("policy {table:?} {name:?}"),
        _ => return None,
    })
}

/// The name a change takes.
fn created_name(change: &Change) -> Option<String> {
    Some(match change {
        Change::CreateSchema { schema } => format!("schema {:?}", schema.name),
        Change::CreateExtension { extension } => format!("extension {:?}", extension.name),
        Change::CreateEnum { enum_type } => format!("type {:?}", enum_type.name),
        Change::CreateDomain { domain } => format!("type {:?}", domain.name),
        Change::CreateCompositeType { composite } => format!("type {:?}", composite.name),
        Change::CreateSequence { sequence } => format!("relation {:?}", sequence.name),
        Change::CreateView { view } => format!("relation {:?}", view.name),
        Change::CreateTable { table } => format!("relation {:?}", table.name),
        Change::CreateIndex { table, index } => {
            format!(
                "relation {:?}",
                QualifiedName::new(table.schema.as_str(), index.name.as_str())
            )
        }
        Change::CreateFunction { function } => format!("function {:?}", function.name),
        Change::AddConstraint { table, constraint } => {
            format!("constraint {table:?} {:?}", constraint.name)
        }
        Change::CreateTrigger { table, trigger } => format!("trigger {table:?} {:?}", trigger.name),
        Change::CreatePolicy { table, policy } => format!("policy {table:?} {:?}", policy.name),
        _ => return None,
    })
}

/// Rewrites `plan` as an online plan in phases (empty phases left out).
///
/// # Errors
/// A rename or type change of a column that expand and contract cannot
/// move (identity, generated, serial, used by a constraint, or a type
/// change under a view).
#[expect(
    clippy::too_many_lines,
    reason = "one arm per change kind that has an online form"
)]
pub fn online(
    plan: &Plan,
    ctx: &RenderContext<'_>,
    dialect: Dialect,
) -> Result<Vec<Phase>, OnlineError> {
    let new_tables: BTreeSet<QualifiedName> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::CreateTable { table } => Some(table.name.clone()),
            _ => None,
        })
        .collect();
    let existing =
        |table: &QualifiedName| !new_tables.contains(table) && ctx.from.tables.contains_key(table);
    // Keys built concurrently, by table (true: attached only after the
    // validations, because their columns become NOT NULL there): foreign
    // keys that reference them wait for them.
    let deferred_keys: BTreeMap<QualifiedName, bool> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::AddConstraint { table, constraint }
                if existing(table) && concurrent_key(constraint) =>
            {
                let from = ctx.from.tables.get(table)?;
                let late = constraint.kind == ConstraintKind::PrimaryKey
                    && constraint
                        .columns
                        .iter()
                        .any(|c| from.column(c.as_str()).is_none_or(|col| !col.not_null));
                Some((table.clone(), late))
            }
            _ => None,
        })
        .fold(BTreeMap::new(), |mut acc, (table, late)| {
            let entry = acc.entry(table).or_insert(false);
            *entry |= late;
            acc
        });
    let split = split_waiting_foreign_keys(plan, &deferred_keys);
    let plan = &split;
    let grouped = render_grouped(plan, ctx, dialect);
    let mut phases = Phases::default();
    // Indexes built in the concurrent phase (their comments wait for them).
    let mut built_later: BTreeSet<QualifiedName> = BTreeSet::new();
    // Views that keep a renamed table's old name, made at the end of the
    // expand phase (after the column changes they would otherwise block).
    let mut compat_views: Vec<Statement> = Vec::new();
    // Columns renamed by expand and contract.
    let renamed_columns: BTreeSet<(QualifiedName, Ident)> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::RenameColumn { table, to, .. } => Some((table.clone(), to.clone())),
            _ => None,
        })
        .collect();
    for (i, (change, rendered)) in plan.changes.iter().zip(grouped).enumerate() {
        let from_table = |table: &QualifiedName| ctx.from.tables.get(table);
        // Something later in the plan takes this name back: the drop stays
        // where it is.
        let reused = |pred: &dyn Fn(&Change) -> bool| plan.changes[i + 1..].iter().any(pred);
        match change {
            Change::CreateIndex { table, index }
                if existing(table)
                    && from_table(table).is_some_and(|t| t.partition_key.is_none()) =>
            {
                let name = QualifiedName::new(table.schema.as_str(), index.name.as_str());
                built_later.insert(name.clone());
                let statement = phases.build_index(&name, &rendered[0].sql, table);
                statement.hazards.push(Hazard::new(
                    HazardId::NonTransactional,
                    format!("builds `{}` without blocking writes to `{table}`; run again after a failure, it drops the INVALID index the failed build left first", index.name),
                    "nothing to do",
                ));
            }
            // Not on a partitioned table (PostgreSQL cannot), nor when an
            // index of that name is created in the expand phase before.
            Change::DropIndex { name, table }
                if from_table(table).is_some_and(|t| t.partition_key.is_none())
                    && !plan.changes.iter().any(|c| {
                        matches!(c, Change::CreateIndex { table: t, index }
                            if t.schema == name.schema && index.name == name.name && !existing(t))
                    }) =>
            {
                phases.concurrent.push(outside(
                    format!("DROP INDEX CONCURRENTLY IF EXISTS {}", q(name)),
                    None,
                ));
            }
            // A new table's foreign key to a key built concurrently: once
            // the key is there (the table is empty: nothing to validate).
            Change::AddConstraint { table, constraint }
                if !existing(table)
                    && constraint.kind == ConstraintKind::ForeignKey
                    && constraint
                        .references
                        .as_ref()
                        .is_some_and(|r| deferred_keys.contains_key(&r.table)) =>
            {
                if constraint
                    .references
                    .as_ref()
                    .and_then(|r| deferred_keys.get(&r.table))
                    == Some(&true)
                {
                    return Err(waits_for_late_key(table, constraint));
                }
                phases.attach.extend(rendered);
            }
            Change::AddConstraint { table, constraint } if existing(table) => {
                let t = q(table);
                let n = quote_ident(&constraint.name);
                match constraint.kind {
                    ConstraintKind::ForeignKey | ConstraintKind::Check => {
                        let definition = if constraint.definition.ends_with("NOT VALID") {
                            constraint.definition.clone()
                        } else {
                            format!("{} NOT VALID", constraint.definition)
                        };
                        let add = plain(
                            format!("ALTER TABLE {t} ADD CONSTRAINT {n} {definition}"),
                            Some(table),
                        );
                        let waits = constraint
                            .references
                            .as_ref()
                            .and_then(|r| deferred_keys.get(&r.table));
                        if waits == Some(&true) {
                            return Err(waits_for_late_key(table, constraint));
                        }
                        if waits.is_some() {
                            phases.attach.push(add);
                        } else {
                            phases.expand.push(add);
                        }
                        if constraint.validated {
                            phases.validations.push(plain(
                                format!("ALTER TABLE {t} VALIDATE CONSTRAINT {n}"),
                                Some(table),
                            ));
                        }
                    }
                    ConstraintKind::PrimaryKey | ConstraintKind::Unique
                        if concurrent_key(constraint) =>
                    {
                        let (kind, columns) = constraint
                            .definition
                            .split_once(" (")
                            .map_or(("UNIQUE", ""), |(k, rest)| {
                                (k, rest.split_once(')').map_or(rest, |(c, _)| c))
                            });
                        let tail = constraint
                            .definition
                            .split_once(')')
                            .map_or("", |(_, t)| t.trim());
                        phases.build_index(
                            &QualifiedName::new(table.schema.as_str(), constraint.name.as_str()),
                            &format!("CREATE UNIQUE INDEX {n} ON {t} USING btree ({columns})"),
                            table,
                        );
                        let attach = plain(
                            format!(
                                "ALTER TABLE {t} ADD CONSTRAINT {n} {kind} USING INDEX {n}{}{tail}",
                                if tail.is_empty() { "" } else { " " }
                            ),
                            Some(table),
                        );
                        if deferred_keys.get(table) == Some(&true) && kind == "PRIMARY KEY" {
                            // Its columns become NOT NULL first (without a scan).
                            phases.after_validation.push(attach);
                        } else {
                            phases.attach.push(attach);
                        }
                    }
                    _ => phases.expand.extend(rendered),
                }
            }
            // A renamed column gets its NOT NULL with the rename.
            Change::SetNotNull { table, column }
                if existing(table)
                    && plan.changes.iter().any(|c| {
                        matches!(c, Change::RenameColumn { table: t, to, .. } if t == table && to == column)
                    }) => {}
            // NOT NULL now, not after validation, when an identity added
            // to the column needs it.
            Change::SetNotNull { table, column }
                if existing(table)
                    && !plan.changes.iter().any(|c| {
                        matches!(c, Change::AddIdentity { table: t, column: col, .. } if t == table && col == column)
                    }) =>
            {
                let from = from_table(table).expect("existing");
                not_null_online(&mut phases, table, column, from);
            }
            Change::AddColumn { table, column }
                if existing(table)
                    && rendered
                        .iter()
                        .any(|s| s.hazards.iter().any(|h| h.id == HazardId::TableRewrite))
                    && column.identity.is_none()
                    && column.generated.is_none() =>
            {
                // A volatile default: the column empty first, the default
                // for new rows, the old rows filled in batches.
                let from = from_table(table).expect("existing");
                let t = q(table);
                let c = quote_ident(&column.name);
                let default = column.default.clone().unwrap_or_default();
                phases.expand.push(plain(
                    format!("ALTER TABLE {t} ADD COLUMN {c} {}", column.data_type),
                    Some(table),
                ));
                phases.expand.push(plain(
                    format!("ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {default}"),
                    Some(table),
                ));
                phases.backfill(table, format!("{c} = {default}"), format!("{c} IS NULL"));
                if column.not_null {
                    not_null_online(&mut phases, table, &column.name, from);
                }
            }
            Change::RenameColumn {
                table,
                from: old,
                to: new,
            } if existing(table) => {
                let from = from_table(table).expect("existing");
                let Some(column) = ctx
                    .to
                    .tables
                    .get(table)
                    .and_then(|t| t.column(new.as_str()))
                else {
                    phases.expand.extend(rendered);
                    continue;
                };
                let old_column = from.column(old.as_str()).unwrap_or(column);
                if old_column.data_type != column.data_type {
                    return Err(OnlineError {
                        what: format!("renaming `{}.{old}` to `{new}`", table.name),
                        why: format!(
                            "its type changes too ({} to {}); rename it in one plan and change the type in the next",
                            old_column.data_type, column.data_type
                        ),
                    });
                }
                if let Some(why) = movable(from, old_column) {
                    return Err(OnlineError {
                        what: format!("renaming `{}.{old}` to `{new}`", table.name),
                        why,
                    });
                }
                let t = q(table);
                let (o, n) = (quote_ident(old), quote_ident(new));
                let mut definition = format!("ALTER TABLE {t} ADD COLUMN {n} {}", column.data_type);
                if let Some(default) = &column.default {
                    let _ = write!(definition, " DEFAULT {default}");
                }
                phases.expand.push(plain(definition, Some(table)));
                let (sync, unsync) = sync_trigger(table, old, new, None, true);
                phases.expand.extend(sync);
                phases.backfill(
                    table,
                    format!("{n} = {o}"),
                    format!("{n} IS DISTINCT FROM {o}"),
                );
                let index_renames = copy_indexes(&mut phases, table, from, old, new);
                if column.not_null {
                    not_null_online(&mut phases, table, new, from);
                }
                // Its values live on in the new column: not a loss, which
                // `strata check` is told.
                let mut drop = plain(
                    format!(
                        "-- strata:allow drop-column (its values were copied to {n})\nALTER TABLE {t} DROP COLUMN {o}"
                    ),
                    Some(table),
                );
                drop.hazards.push(Hazard::new(
                    HazardId::RenameColumn,
                    format!("the last step of renaming `{}.{old}` to `{new}`: queries that still use `{old}` fail from now on", table.name),
                    "apply it once every running instance of the app uses the new name",
                ));
                phases.contract.extend(unsync);
                phases.contract.push(drop);
                // The copies of the old column's indexes take their names.
                phases.contract.extend(index_renames);
            }
            Change::AlterColumnType {
                table,
                column,
                to_type,
                default,
                ..
            } if existing(table)
                && rendered
                    .iter()
                    .any(|s| s.hazards.iter().any(|h| h.id == HazardId::TableRewrite)) =>
            {
                let from = from_table(table).expect("existing");
                if renamed_columns.contains(&(table.clone(), column.clone())) {
                    return Err(OnlineError {
                        what: format!("changing the type of `{}.{column}`", table.name),
                        why: "the column is renamed in the same change; rename it in one plan and change the type in the next".to_owned(),
                    });
                }
                let Some(old_column) = from.column(column.as_str()) else {
                    phases.expand.extend(rendered);
                    continue;
                };
                if let Some(why) = movable(from, old_column) {
                    return Err(OnlineError {
                        what: format!("changing the type of `{}.{column}`", table.name),
                        why,
                    });
                }
                let dependent_views: Vec<String> = plan
                    .changes
                    .iter()
                    .filter_map(|c| match c {
                        Change::DropView { view } => Some(view.name.to_string()),
                        _ => None,
                    })
                    .collect();
                if !dependent_views.is_empty() {
                    return Err(OnlineError {
                        what: format!("changing the type of `{}.{column}`", table.name),
                        why: format!(
                            "view(s) {} are rebuilt around it; change the type in two plans (views first)",
                            dependent_views.join(", ")
                        ),
                    });
                }
                let temp = fit(&format!("{column}__strata_new"));
                let t = q(table);
                let (c, n) = (quote_ident(column), quote_ident(&temp));
                phases.expand.push(plain(
                    format!("ALTER TABLE {t} ADD COLUMN {n} {to_type}"),
                    Some(table),
                ));
                if let Some(default) = default {
                    phases.expand.push(plain(
                        format!("ALTER TABLE {t} ALTER COLUMN {n} SET DEFAULT {default}"),
                        Some(table),
                    ));
                }
                // The conversion the plain plan uses (`USING c::text::e`
                // into an enum), else a cast.
                let conversion = rendered
                    .iter()
                    .find_map(|s| {
                        let at = s.sql.find(" USING ")?;
                        let rest = &s.sql[at + " USING ".len()..];
                        let expression = rest.split(", ALTER COLUMN").next()?.trim();
                        expression.starts_with(c.as_str()).then(|| expression.to_owned())
                    })
                    .unwrap_or_else(|| format!("{c}::{to_type}"));
                let (sync, unsync) = sync_trigger(table, column, &temp, Some(&conversion), false);
                phases.expand.extend(sync);
                phases.backfill(
                    table,
                    format!("{n} = {conversion}"),
                    format!("{n} IS DISTINCT FROM {conversion}"),
                );
                let renames = copy_indexes(&mut phases, table, from, column, &temp);
                // The copy becomes what the schema files say, not what the
                // old column was.
                if ctx
                    .to
                    .tables
                    .get(table)
                    .and_then(|t| t.column(column.as_str()))
                    .is_some_and(|c| c.not_null)
                {
                    not_null_online(&mut phases, table, &temp, from);
                }
                let mut drop = plain(
                    format!(
                        "-- strata:allow drop-column (its values were copied to {n})\nALTER TABLE {t} DROP COLUMN {c}"
                    ),
                    Some(table),
                );
                drop.hazards.push(Hazard::new(
                    HazardId::BlockingLock,
                    format!("swaps `{}.{column}` for its {to_type} copy under a brief ACCESS EXCLUSIVE lock", table.name),
                    "apply it once the app works with the new type",
                ));
                phases.contract.extend(unsync);
                phases.contract.push(drop);
                phases.contract.push(plain(
                    format!("-- strata:allow rename-column (the copy takes the name back)\nALTER TABLE {t} RENAME COLUMN {n} TO {c}"),
                    Some(table),
                ));
                phases.contract.extend(renames);
            }
            Change::RenameTable { from, to } if existing(from) => {
                // The old name stays as a view of the new table until the
                // app moves over; simple views take inserts, updates and deletes.
                phases.expand.extend(rendered);
                let renamed = QualifiedName::new(from.schema.as_str(), to.as_str());
                // The columns the old app knows (drops wait for the
                // contract phase, so they are all still there).
                let columns: Vec<String> = from_table(from)
                    .map(|t| {
                        t.columns
                            .iter()
                            .map(|c| {
                                let now = plan.changes.iter().find_map(|change| match change {
                                    Change::RenameColumn { table, from: old, to: new }
                                        if *table == renamed && *old == c.name =>
                                    {
                                        Some(new)
                                    }
                                    _ => None,
                                });
                                match now {
                                    Some(new) => format!("{} AS {}", quote_ident(new), quote_ident(&c.name)),
                                    None => quote_ident(&c.name),
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let list = if columns.is_empty() {
                    "*".to_owned()
                } else {
                    columns.join(", ")
                };
                compat_views.push(plain(
                    format!("CREATE VIEW {} AS SELECT {list} FROM {}", q(from), q(&renamed)),
                    Some(&renamed),
                ));
                phases
                    .contract
                    .push(plain(format!("DROP VIEW {}", q(from)), Some(&renamed)));
            }
            Change::DropColumn { table, column, .. }
                if !reused(&|c| {
                    matches!(c, Change::AddColumn { table: t, column: col } if t == table && col.name == *column)
                        || matches!(c, Change::RenameColumn { table: t, to, .. } if t == table && to == column)
                }) =>
            {
                phases.contract.extend(rendered);
            }
            Change::DropTable { name, .. }
                if !reused(&|c| {
                    matches!(c, Change::CreateTable { table } if table.name == *name)
                        || matches!(c, Change::RenameTable { from, to } if from.schema == name.schema && *to == name.name)
                }) =>
            {
                // Its foreign keys hold on to the keys they reference until
                // the contract phase: those keys cannot be replaced before.
                if let Some((fk, key)) = from_table(name).and_then(|t| {
                    t.constraints.iter().filter(|c| c.kind == ConstraintKind::ForeignKey).find_map(|fk| {
                        let r = fk.references.as_ref()?;
                        plan.changes.iter().find_map(|c| match c {
                            Change::DropConstraint { table, constraint }
                                if *table == r.table
                                    && matches!(constraint.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique) =>
                            {
                                Some((fk, constraint))
                            }
                            _ => None,
                        })
                    })
                }) {
                    return Err(OnlineError {
                        what: format!("dropping table `{name}`"),
                        why: format!(
                            "its foreign key `{}` uses `{}`, which this change replaces; drop the table in one plan and change the key in the next",
                            fk.name, key.name
                        ),
                    });
                }
                phases.contract.extend(rendered);
            }
            Change::Comment {
                target: strata_diff::CommentTarget::Index { name },
                ..
            } if built_later.contains(name) => phases.attach.extend(rendered),
            // What something dropped in the contract phase still uses
            // (its function, type, schema, extension, key) goes with it,
            // unless the plan takes the name again.
            _ if !phases.contract.is_empty()
                && dropped_name(change).is_some_and(|name| {
                    !plan.changes[i + 1..]
                        .iter()
                        .any(|c| created_name(c).as_deref() == Some(name.as_str()))
                }) =>
            {
                phases.contract.extend(rendered);
            }
            _ => phases.expand.extend(rendered),
        }
    }
    phases.expand.append(&mut compat_views);
    // Backfills first (one pass per table), then the index builds, which
    // then index the filled columns once.
    let mut concurrent = Vec::new();
    for (table, sets, pendings) in &phases.backfills {
        let Some(from) = ctx.from.tables.get(table) else {
            continue;
        };
        let pending = if pendings.len() == 1 {
            pendings[0].clone()
        } else {
            pendings
                .iter()
                .map(|p| format!("({p})"))
                .collect::<Vec<_>>()
                .join(" OR ")
        };
        concurrent.extend(backfill(table, from, &sets.join(", "), &pending));
    }
    concurrent.append(&mut phases.concurrent);
    let mut validate = phases.validations;
    validate.extend(phases.after_validation);
    let out: Vec<Phase> = [
        (PhaseKind::Expand, phases.expand),
        (PhaseKind::Concurrent, concurrent),
        (PhaseKind::Attach, phases.attach),
        (PhaseKind::Validate, validate),
        (PhaseKind::Contract, phases.contract),
    ]
    .into_iter()
    .filter(|(_, statements)| !statements.is_empty())
    .map(|(kind, statements)| Phase { kind, statements })
    .collect();
    Ok(out)
}
