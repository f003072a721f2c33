//! SQLite: a plan as SQL, with `ALTER TABLE` where SQLite supports the
//! change and its table rebuild (<https://www.sqlite.org/lang_altertable.html#otheralter>)
//! otherwise.
//!
//! SQLite's `ALTER TABLE` renames tables and columns, adds a column (not a
//! key, with a constant default) and drops a column nothing else refers
//! to. Every other change to an existing table — a type, default or
//! `NOT NULL` change, a constraint added or dropped, `STRICT` — rebuilds
//! it: the table is created anew under a temporary name as the target
//! describes it, the rows are copied (only the columns the old table has:
//! a column the plan adds is never selected from it), the old table is
//! dropped, the new one takes its name, and its indexes and triggers are
//! created again. Views that read it keep working: the rename runs with
//! `legacy_alter_table` on, so SQLite leaves them as they are.
//!
//! Dropping a table deletes its rows, and with foreign keys enforced
//! `ON DELETE CASCADE` would delete the rows that reference it too
//! (drizzle-kit's data-loss bug #4938): a plan that drops or rebuilds a
//! table therefore starts with `PRAGMA foreign_keys = OFF` and ends with
//! `PRAGMA foreign_keys = ON`. Both are [`Transaction::Outside`]: SQLite
//! ignores the pragma inside a transaction, so whoever runs the plan turns
//! foreign keys off before `BEGIN`, runs `PRAGMA foreign_key_check` before
//! `COMMIT` (and rolls back on a violation), and turns them on after.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use strata_diff::{Change, Plan};
use strata_model::{Column, ConstraintKind, Ident, Index, QualifiedName, Table};

use crate::hazard::{Hazard, HazardId};
use crate::{RenderContext, Statement, Transaction};

/// The first statement of a plan that drops or rebuilds a table.
pub const FOREIGN_KEYS_OFF: &str = "PRAGMA foreign_keys = OFF";
/// The last statement of such a plan.
pub const FOREIGN_KEYS_ON: &str = "PRAGMA foreign_keys = ON";

/// A change SQLite cannot make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("SQLite cannot {what}")]
#[diagnostic(
    code(strata::sql::sqlite_unsupported),
    help(
        "SQLite has no schemas, enums, sequences, functions, policies, grants or comments: remove them from the schema files"
    )
)]
pub struct Unsupported {
    /// What the plan asked for.
    pub what: String,
}

/// An SQLite identifier, always double-quoted.
fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn lit(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn stmt(sql: String, table: Option<&QualifiedName>) -> Statement {
    Statement {
        sql,
        hazards: Vec::new(),
        transaction: Transaction::Inside,
        table: table.cloned(),
    }
}

fn count_text(n: Option<i64>, one: &str, many: &str) -> String {
    n.map(|n| format!(" ({n} {})", if n == 1 { one } else { many }))
        .unwrap_or_default()
}

/// Whether a default can follow `DEFAULT` without parentheses (a literal,
/// a signed number, `NULL`, `TRUE`, `FALSE`, `CURRENT_…`).
fn is_literal(default: &str) -> bool {
    let d = default.trim();
    let upper = d.to_ascii_uppercase();
    if [
        "NULL",
        "TRUE",
        "FALSE",
        "CURRENT_TIME",
        "CURRENT_DATE",
        "CURRENT_TIMESTAMP",
    ]
    .contains(&upper.as_str())
    {
        return true;
    }
    let quoted = |s: &str| {
        s.len() >= 2
            && s.starts_with('\'')
            && s.ends_with('\'')
            && !s[1..s.len() - 1].replace("''", "").contains('\'')
    };
    if quoted(d) || ((d.starts_with("X'") || d.starts_with("x'")) && quoted(&d[1..])) {
        return true;
    }
    let number = d.strip_prefix(['-', '+']).unwrap_or(d).trim_start();
    !number.is_empty()
        && number.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && (number.parse::<f64>().is_ok()
            || (number.starts_with("0x") || number.starts_with("0X"))
                && number.len() > 2
                && number[2..].bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What follows `DEFAULT` for a column's default: a literal as it is, an
/// expression in parentheses (as drizzle-kit's snapshots spell it too).
pub fn default_sql(default: &str) -> String {
    if is_literal(default) {
        default.to_owned()
    } else {
        format!("({default})")
    }
}

fn default_clause(default: &str) -> String {
    format!(" DEFAULT {}", default_sql(default))
}

/// `expr STORED` / `expr VIRTUAL` (how introspection stores a generated
/// column) as `(expr)` and the storage.
fn generated_parts(generated: &str) -> (&str, &str) {
    generated
        .rsplit_once(' ')
        .filter(|(_, kind)| matches!(*kind, "STORED" | "VIRTUAL"))
        .unwrap_or((generated, "VIRTUAL"))
}

/// The primary key moved onto its column when it has one column (and is
/// not `DESC`, which SQLite treats differently there): `PRIMARY KEY
/// AUTOINCREMENT` only exists in that form.
fn column_primary_key(table: &Table) -> Option<(Ident, String)> {
    let pk = table.primary_key()?;
    let [column] = pk.columns.as_slice() else {
        return None;
    };
    let open = pk.definition.find("PRIMARY KEY (")?;
    let keys_start = open + "PRIMARY KEY (".len();
    let close = keys_start + pk.definition[keys_start..].find(')')?;
    let keys = &pk.definition[keys_start..close];
    if keys.ends_with(" DESC") {
        return None;
    }
    Some((
        column.clone(),
        format!(
            "{}PRIMARY KEY{}",
            &pk.definition[..open],
            &pk.definition[close + 1..]
        ),
    ))
}

fn column_definition(column: &Column, primary_key: Option<&str>) -> String {
    let mut out = q(&column.name);
    if !column.data_type.is_empty() {
        out.push(' ');
        out.push_str(&column.data_type);
    }
    if let Some(pk) = primary_key {
        out.push(' ');
        out.push_str(pk);
    }
    if column.not_null {
        out.push_str(" NOT NULL");
    }
    if let Some(default) = &column.default {
        out.push_str(&default_clause(default));
    }
    if let Some(collation) = &column.collation {
        out.push_str(" COLLATE ");
        out.push_str(&collation.name);
    }
    if let Some(generated) = &column.generated {
        let (expr, kind) = generated_parts(generated);
        let _ = write!(out, " GENERATED ALWAYS AS ({expr}) {kind}");
    }
    out
}

/// `CREATE TABLE name (…)` for a table as the catalog describes it.
pub fn create_table(table: &Table, name: &str) -> String {
    let pk = column_primary_key(table);
    let mut lines: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let own = pk
                .as_ref()
                .filter(|(column, _)| column == &c.name)
                .map(|(_, clause)| clause.as_str());
            column_definition(c, own)
        })
        .collect();
    for constraint in &table.constraints {
        if constraint.kind == ConstraintKind::PrimaryKey && pk.is_some() {
            continue;
        }
        lines.push(constraint.definition.clone());
    }
    let mut sql = format!(
        "CREATE TABLE {} (\n    {}\n)",
        q(name),
        lines.join(",\n    ")
    );
    if !table.options.is_empty() {
        sql.push(' ');
        sql.push_str(&table.options.join(", "));
    }
    sql
}

fn create_index(table: &str, index: &Index) -> String {
    let mut sql = format!(
        "CREATE {}INDEX {} ON {} ({})",
        if index.unique { "UNIQUE " } else { "" },
        q(&index.name),
        q(table),
        index.keys.join(", ")
    );
    if let Some(predicate) = &index.predicate {
        sql.push_str(" WHERE ");
        sql.push_str(predicate);
    }
    sql
}

/// The identifiers of a canonical SQL fragment, lower case (a rough
/// reading: enough to tell whether a column may be mentioned).
fn words(sql: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in sql.chars() {
        if quoted {
            if c == '"' {
                quoted = false;
                out.insert(std::mem::take(&mut current).to_ascii_lowercase());
            } else {
                current.push(c);
            }
        } else if c == '"' {
            quoted = true;
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            current.push(c);
        } else if !current.is_empty() {
            out.insert(std::mem::take(&mut current).to_ascii_lowercase());
        }
    }
    if !current.is_empty() {
        out.insert(current.to_ascii_lowercase());
    }
    out
}

/// The statements of a plan, by phase.
#[derive(Default)]
struct Out {
    drops: Vec<Statement>,
    main: Vec<Statement>,
    creates: Vec<Statement>,
}

/// Where a change goes in the SQLite plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Dropping views, triggers and indexes first: nothing in between
    /// may trip over them.
    Drop,
    /// Tables, in the plan's order.
    Main,
    /// Views and triggers last: SQLite checks them when tables change.
    Create,
}

struct Renderer<'a> {
    plan: &'a Plan,
    ctx: &'a RenderContext<'a>,
    /// Tables (by their name after renames) rebuilt.
    rebuild: BTreeSet<QualifiedName>,
    /// Tables created by the plan (rendered whole from the target).
    created: BTreeSet<QualifiedName>,
    /// Tables dropped by the plan.
    dropped: BTreeSet<QualifiedName>,
    /// New table name -> old name.
    renamed_from: BTreeMap<QualifiedName, QualifiedName>,
    /// (table after renames, new column) -> old column.
    columns_from: BTreeMap<(QualifiedName, Ident), Ident>,
    /// Indexes the plan drops, by qualified name.
    dropped_indexes: BTreeSet<QualifiedName>,
    /// Views the plan drops.
    dropped_views: BTreeSet<QualifiedName>,
    /// Views replaced (dropped and created again, with all their
    /// triggers: SQLite drops a view's triggers with it).
    replaced_views: BTreeSet<QualifiedName>,
}

impl<'a> Renderer<'a> {
    fn new(plan: &'a Plan, ctx: &'a RenderContext<'a>) -> Renderer<'a> {
        let mut r = Renderer {
            plan,
            ctx,
            rebuild: BTreeSet::new(),
            created: BTreeSet::new(),
            dropped: BTreeSet::new(),
            renamed_from: BTreeMap::new(),
            columns_from: BTreeMap::new(),
            dropped_indexes: BTreeSet::new(),
            dropped_views: BTreeSet::new(),
            replaced_views: BTreeSet::new(),
        };
        for change in &plan.changes {
            match change {
                Change::CreateTable { table } => {
                    r.created.insert(table.name.clone());
                }
                Change::DropTable { name, .. } => {
                    r.dropped.insert(name.clone());
                }
                Change::RenameTable { from, to } => {
                    r.renamed_from
                        .insert(from.with_name(to.clone()), from.clone());
                }
                Change::DropIndex { name, .. } => {
                    r.dropped_indexes.insert(name.clone());
                }
                Change::DropView { view } => {
                    r.dropped_views.insert(view.name.clone());
                }
                Change::ReplaceView { view } => {
                    r.replaced_views.insert(view.name.clone());
                }
                _ => {}
            }
        }
        for change in &plan.changes {
            if let Change::RenameColumn { table, from, to } = change {
                r.columns_from
                    .insert((table.clone(), to.clone()), from.clone());
            }
        }
        // A table dropped and created under the same name (STRICT or
        // WITHOUT ROWID changed) is rebuilt, keeping its rows.
        let both: Vec<QualifiedName> = r.created.intersection(&r.dropped).cloned().collect();
        for name in both {
            r.created.remove(&name);
            r.dropped.remove(&name);
            r.rebuild.insert(name);
        }
        for change in &plan.changes {
            let Some(table) = change.table() else {
                continue;
            };
            let table = table.clone();
            if r.created.contains(&table) || r.dropped.contains(&table) {
                continue;
            }
            let needs = match change {
                Change::AlterColumnType { .. }
                | Change::SetDefault { .. }
                | Change::DropDefault { .. }
                | Change::SetNotNull { .. }
                | Change::DropNotNull { .. }
                | Change::AddIdentity { .. }
                | Change::AlterIdentity { .. }
                | Change::DropIdentity { .. }
                | Change::DropExpression { .. }
                | Change::AddConstraint { .. }
                | Change::ValidateConstraint { .. }
                | Change::DropConstraint { .. } => true,
                // SQLite does not store the names strata gives unnamed
                // constraints (`posts_pkey`): they follow the table's
                // name, and renaming them changes nothing.
                Change::RenameConstraint { to, .. } => r
                    .new_table(&table)
                    .and_then(|t| t.constraint(to))
                    .is_none_or(|c| c.definition.starts_with("CONSTRAINT ")),
                Change::AddColumn { column, .. } => !Renderer::can_add(column),
                Change::DropColumn { column, .. } => !r.can_drop(&table, column),
                _ => false,
            };
            if needs {
                r.rebuild.insert(table);
            }
        }
        r
    }

    /// The table's name in the database before the plan.
    fn old_name(&self, name: &QualifiedName) -> QualifiedName {
        self.renamed_from
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.clone())
    }

    fn old_table(&self, name: &QualifiedName) -> Option<&'a Table> {
        self.ctx.from.tables.get(&self.old_name(name))
    }

    fn new_table(&self, name: &QualifiedName) -> Option<&'a Table> {
        self.ctx.to.tables.get(name)
    }

    /// The name a column of `table` had before the plan.
    fn old_column(&self, table: &QualifiedName, column: &Ident) -> Ident {
        self.columns_from
            .get(&(table.clone(), column.clone()))
            .cloned()
            .unwrap_or_else(|| column.clone())
    }

    /// `ALTER TABLE … ADD COLUMN` takes no key, no `STORED` generated
    /// column, only a constant default, and `NOT NULL` only with one.
    fn can_add(column: &Column) -> bool {
        let stored = column
            .generated
            .as_deref()
            .is_some_and(|g| generated_parts(g).1 == "STORED");
        let constant = column
            .default
            .as_deref()
            .is_none_or(|d| is_literal(d) && !d.to_ascii_uppercase().starts_with("CURRENT_"));
        let not_null_ok = !column.not_null
            || column.generated.is_some()
            || column
                .default
                .as_deref()
                .is_some_and(|d| !d.eq_ignore_ascii_case("NULL"));
        !stored && constant && not_null_ok
    }

    /// `ALTER TABLE … DROP COLUMN` refuses a column that a key, an index,
    /// a check, a foreign key, a generated column, a trigger or a view
    /// refers to. Read conservatively: any mention means a rebuild.
    fn can_drop(&self, table: &QualifiedName, column: &Ident) -> bool {
        let Some(old) = self.old_table(table) else {
            return false;
        };
        let old_column = self.old_column(table, column);
        let name = old_column.to_ascii_lowercase();
        let Some(own) = old.column(&old_column) else {
            return false;
        };
        if own.generated.is_some() {
            return false;
        }
        let mentions = |sql: &str| words(sql).contains(&name);
        if old
            .constraints
            .iter()
            .any(|c| c.columns.contains(&old_column) || mentions(&c.definition))
        {
            return false;
        }
        let old_name = self.old_name(table);
        for other in self.ctx.from.tables.values() {
            for c in &other.constraints {
                if let Some(r) = &c.references
                    && r.table == old_name
                    && r.columns.contains(&old_column)
                {
                    return false;
                }
            }
            for trigger in &other.triggers {
                if mentions(&trigger.definition) {
                    return false;
                }
            }
        }
        if old.indexes.iter().any(|i| {
            !self
                .dropped_indexes
                .contains(&table.with_name(i.name.clone()))
                && (i.columns.contains(&old_column) || mentions(&i.definition))
        }) {
            return false;
        }
        if old
            .columns
            .iter()
            .filter_map(|c| c.generated.as_deref())
            .any(mentions)
        {
            return false;
        }
        !self.ctx.from.views.values().any(|v| {
            !self.dropped_views.contains(&v.name)
                && (mentions(&v.definition) || v.triggers.iter().any(|t| mentions(&t.definition)))
        })
    }

    /// The table of the index called `name` in the target.
    fn index_in_target(&self, name: &QualifiedName) -> Option<(&'a Table, &'a Index)> {
        self.ctx
            .to
            .tables
            .values()
            .filter(|t| t.name.schema == name.schema)
            .find_map(|t| {
                t.indexes
                    .iter()
                    .find(|i| i.name == name.name)
                    .map(|i| (t, i))
            })
    }

    fn unsupported(change: &Change) -> Option<String> {
        let what = match change {
            Change::CreateSchema { schema } => format!("create schema `{}`", schema.name),
            Change::DropSchema { name } => format!("drop schema `{name}`"),
            Change::CreateExtension { extension } => {
                format!("create extension `{}`", extension.name)
            }
            Change::AlterExtension { name, .. } => format!("update extension `{name}`"),
            Change::DropExtension { name } => format!("drop extension `{name}`"),
            Change::CreateEnum { enum_type } => format!("create enum `{}`", enum_type.name),
            Change::AddEnumValue { name, .. }
            | Change::RebuildEnum {
                to: strata_model::EnumType { name, .. },
                ..
            } => {
                format!("change enum `{name}`")
            }
            Change::DropEnum { name } => format!("drop enum `{name}`"),
            Change::CreateSequence { sequence } => format!("create sequence `{}`", sequence.name),
            Change::AlterSequence { name, .. }
            | Change::RenameSequence { from: name, .. }
            | Change::SetSequenceOwner { name, .. }
            | Change::DropSequence { name } => format!("change sequence `{name}`"),
            Change::SetLogged { table, .. } => format!("make `{table}` logged or unlogged"),
            Change::CreateFunction { function }
            | Change::ReplaceFunction { function }
            | Change::DropFunction { function } => format!("manage function `{}`", function.name),
            Change::SetTriggerEnabled { table, name, .. } => {
                format!("disable or enable trigger `{name}` on `{table}`")
            }
            Change::CreatePolicy { table, .. }
            | Change::AlterPolicy { table, .. }
            | Change::DropPolicy { table, .. }
            | Change::SetRowSecurity { table, .. }
            | Change::SetForceRowSecurity { table, .. } => {
                format!("manage row-level security on `{table}`")
            }
            Change::CreateDomain { domain } => format!("create domain `{}`", domain.name),
            Change::AlterDomain { name, .. } | Change::DropDomain { name } => {
                format!("change domain `{name}`")
            }
            Change::CreateCompositeType { composite } => {
                format!("create type `{}`", composite.name)
            }
            Change::AlterCompositeType { name, .. } | Change::DropCompositeType { name } => {
                format!("change type `{name}`")
            }
            Change::AttachPartition { table, .. } | Change::DetachPartition { table, .. } => {
                format!("partition `{table}`")
            }
            Change::Grant { grantee, .. } | Change::Revoke { grantee, .. } => {
                format!("grant or revoke privileges (to `{grantee}`)")
            }
            Change::Comment { .. } => "store comments (COMMENT ON)".to_owned(),
            Change::CreateView { view } | Change::ReplaceView { view } if view.materialized => {
                format!("create materialized view `{}`", view.name)
            }
            _ => return None,
        };
        Some(what)
    }

    fn render(&self) -> Result<Vec<Statement>, Unsupported> {
        for change in &self.plan.changes {
            if let Some(what) = Renderer::unsupported(change) {
                return Err(Unsupported { what });
            }
        }
        // Each rebuilt table is rebuilt where its last change in the plan is.
        let mut last_member: BTreeMap<QualifiedName, usize> = BTreeMap::new();
        for (i, change) in self.plan.changes.iter().enumerate() {
            if let Some(table) = change.table()
                && self.rebuild.contains(table)
                && !matches!(
                    change,
                    Change::RenameTable { .. } | Change::RenameColumn { .. }
                )
                && Renderer::phase(change) == Phase::Main
            {
                last_member.insert(table.clone(), i);
            }
        }
        let mut out = Out::default();
        for (i, change) in self.plan.changes.iter().enumerate() {
            self.change(change, &mut out)?;
            for (table, _) in last_member.iter().filter(|(_, at)| **at == i) {
                self.rebuild_table(table, &mut out.main);
            }
        }
        // Triggers of rebuilt tables: the old ones went with the old table.
        for table in &self.rebuild {
            if let Some(target) = self.new_table(table) {
                for trigger in &target.triggers {
                    out.creates
                        .push(stmt(trigger.definition.clone(), Some(table)));
                }
            }
        }
        let Out {
            drops,
            main,
            creates,
        } = out;
        let mut out = Vec::new();
        let unsafe_for_children = !self.rebuild.is_empty() || !self.dropped.is_empty();
        if unsafe_for_children {
            let mut off = stmt(FOREIGN_KEYS_OFF.to_owned(), None);
            off.transaction = Transaction::Outside;
            off.hazards.push(Hazard::new(
                HazardId::NonTransactional,
                "turns foreign keys off before the transaction (SQLite ignores it inside one), so that dropping or rebuilding a table cannot delete the rows that reference it",
                "nothing to do: PRAGMA foreign_key_check runs before COMMIT and a violation rolls everything back",
            ));
            out.push(off);
        }
        out.extend(drops);
        out.extend(main);
        out.extend(creates);
        if unsafe_for_children {
            let mut on = stmt(FOREIGN_KEYS_ON.to_owned(), None);
            on.transaction = Transaction::Outside;
            out.push(on);
        }
        Ok(out)
    }

    fn phase(change: &Change) -> Phase {
        match change {
            Change::DropView { .. }
            | Change::ReplaceView { .. }
            | Change::DropTrigger { .. }
            | Change::DropIndex { .. }
            | Change::RenameIndex { .. } => Phase::Drop,
            Change::CreateView { .. } | Change::CreateTrigger { .. } => Phase::Create,
            _ => Phase::Main,
        }
    }

    #[allow(clippy::too_many_lines)]
    fn change(&self, change: &Change, all: &mut Out) -> Result<(), Unsupported> {
        let out = match Renderer::phase(change) {
            Phase::Drop => &mut all.drops,
            Phase::Main => &mut all.main,
            Phase::Create => &mut all.creates,
        };
        let table = change.table().cloned();
        let in_rebuild = table.as_ref().is_some_and(|t| self.rebuild.contains(t));
        let in_created = table.as_ref().is_some_and(|t| self.created.contains(t));
        let in_dropped = table.as_ref().is_some_and(|t| self.dropped.contains(t));
        let ctx = self.ctx;
        match change {
            Change::CreateTable { table } if !in_rebuild => {
                let target = self.new_table(&table.name).unwrap_or(table);
                out.push(stmt(
                    create_table(target, &table.name.name),
                    Some(&table.name),
                ));
            }
            Change::DropTable { name, .. } if !in_rebuild => {
                let rows = count_text(ctx.row_counts.get(name).copied(), "row", "rows");
                let mut s = stmt(format!("DROP TABLE {}", q(&name.name)), Some(name));
                s.hazards.push(Hazard::new(
                        HazardId::DropTable,
                        format!("deletes table `{}` and all its rows{rows}", name.name),
                        "take a backup first; if the table was renamed, pass --rename OLD_TABLE=NEW_TABLE",
                    ));
                out.push(s);
            }
            Change::RenameTable { from, to } => {
                let mut s = stmt(
                    format!("ALTER TABLE {} RENAME TO {}", q(&from.name), q(to)),
                    Some(from),
                );
                s.hazards.push(Hazard::new(
                    HazardId::RenameTable,
                    format!(
                        "queries of the running app that use `{}` fail from now on",
                        from.name
                    ),
                    "deploy code that no longer uses the old name first",
                ));
                out.push(s);
            }
            Change::RenameColumn { table, from, to } => {
                let mut s = stmt(
                    format!(
                        "ALTER TABLE {} RENAME COLUMN {} TO {}",
                        q(&table.name),
                        q(from),
                        q(to)
                    ),
                    Some(table),
                );
                // SQLite's names are case-insensitive: a change of case
                // breaks no query.
                if !from.eq_ignore_ascii_case(to) {
                    s.hazards.push(Hazard::new(
                        HazardId::RenameColumn,
                        format!("queries of the running app that use `{}.{from}` fail from now on", table.name),
                        "add the new column, backfill it and switch the code over before dropping the old one (expand and contract)",
                    ));
                }
                out.push(s);
            }
            Change::AddColumn { table, column } if !in_rebuild && !in_created => {
                out.push(stmt(
                    format!(
                        "ALTER TABLE {} ADD COLUMN {}",
                        q(&table.name),
                        column_definition(column, None)
                    ),
                    Some(table),
                ));
            }
            Change::DropColumn {
                table,
                column,
                generated,
            } if !in_rebuild && !in_created && !in_dropped => {
                let mut s = stmt(
                    format!("ALTER TABLE {} DROP COLUMN {}", q(&table.name), q(column)),
                    Some(table),
                );
                if !generated {
                    s.hazards.push(self.drop_column_hazard(table, column));
                }
                out.push(s);
            }
            Change::CreateIndex { table, index } => {
                if self.ctx.to.views.contains_key(table) {
                    return Err(Unsupported {
                        what: format!("index view `{table}`"),
                    });
                }
                if !in_rebuild {
                    out.push(stmt(create_index(&table.name, index), Some(table)));
                }
            }
            Change::DropIndex { name, .. } if !in_dropped => {
                out.push(stmt(
                    format!("DROP INDEX {}", q(&name.name)),
                    table.as_ref(),
                ));
            }
            Change::RenameIndex { from, to } => {
                // SQLite cannot rename an index: drop it first, and build it
                // again after the tables (a rebuilt table does that itself).
                out.push(stmt(format!("DROP INDEX {}", q(&from.name)), None));
                if let Some((t, index)) = self.index_in_target(&from.with_name(to.clone()))
                    && !self.rebuild.contains(&t.name)
                {
                    all.main
                        .push(stmt(create_index(&t.name.name, index), Some(&t.name)));
                }
            }
            Change::CreateView { view } => {
                out.push(stmt(
                    format!("CREATE VIEW {} {}", q(&view.name.name), view.definition),
                    None,
                ));
            }
            Change::ReplaceView { view } => {
                // SQLite has no CREATE OR REPLACE VIEW: drop it first, and
                // create it with the other views.
                out.push(stmt(format!("DROP VIEW {}", q(&view.name.name)), None));
                all.creates.push(stmt(
                    format!("CREATE VIEW {} {}", q(&view.name.name), view.definition),
                    None,
                ));
                // Its triggers (INSTEAD OF) went with it: all of them, as
                // the target has them.
                if let Some(target) = self.ctx.to.views.get(&view.name) {
                    for trigger in &target.triggers {
                        all.creates
                            .push(stmt(trigger.definition.clone(), Some(&view.name)));
                    }
                }
            }
            Change::CreateTrigger { table, .. } | Change::DropTrigger { table, .. }
                if self.replaced_views.contains(table) => {}
            Change::DropView { view } => {
                out.push(stmt(format!("DROP VIEW {}", q(&view.name.name)), None));
            }
            Change::CreateTrigger { table, trigger } if !in_rebuild => {
                out.push(stmt(trigger.definition.clone(), Some(table)));
            }
            Change::DropTrigger { table, name } if !in_dropped => {
                out.push(stmt(format!("DROP TRIGGER {}", q(name)), Some(table)));
            }
            // Parts of a rebuild, or of a table created whole.
            _ => {}
        }
        Ok(())
    }

    fn drop_column_hazard(&self, table: &QualifiedName, column: &Ident) -> Hazard {
        let count = count_text(
            self.ctx
                .value_counts
                .get(&(table.clone(), column.clone()))
                .copied(),
            "non-null value",
            "non-null values",
        );
        Hazard::new(
            HazardId::DropColumn,
            format!(
                "deletes column `{}.{column}` and its values{count}",
                table.name
            ),
            "take a backup first; if the column was renamed, pass --rename TABLE.OLD=NEW",
        )
    }

    /// SQLite's twelve steps, inside the plan's transaction (foreign keys
    /// are off around it).
    fn rebuild_table(&self, name: &QualifiedName, out: &mut Vec<Statement>) {
        let (Some(old), Some(new)) = (self.old_table(name), self.new_table(name)) else {
            return;
        };
        let temp = format!("__strata_new_{}", name.name);
        out.push(stmt(create_table(new, &temp), Some(name)));
        // Copy the columns the old table has; new ones take their default.
        let mut targets = Vec::new();
        let mut sources = Vec::new();
        for column in new.columns.iter().filter(|c| c.generated.is_none()) {
            let before = self.old_column(name, &column.name);
            // After the plan's renames the old column has the new name.
            let exists = old.column(&before).is_some();
            if exists {
                targets.push(q(&column.name));
                sources.push(q(&column.name));
            }
        }
        let rowid_table = |t: &Table| !t.options.iter().any(|o| o == "WITHOUT ROWID");
        let has_alias = column_primary_key(new).is_some_and(|(c, _)| {
            new.column(&c)
                .is_some_and(|c| c.data_type.eq_ignore_ascii_case("integer"))
        });
        let rowid_named = new.columns.iter().any(|c| {
            ["rowid", "_rowid_", "oid"]
                .iter()
                .any(|r| c.name.eq_ignore_ascii_case(r))
        });
        if rowid_table(old) && rowid_table(new) && !has_alias && !rowid_named {
            // Keep the rowids too: something may refer to them.
            targets.insert(0, "rowid".to_owned());
            sources.insert(0, "rowid".to_owned());
        }
        let rows = self.ctx.row_counts.get(&self.old_name(name)).copied();
        let mut copy = if sources.is_empty() {
            // Nothing to copy: the hazards go on the CREATE TABLE.
            out.pop().expect("the CREATE TABLE was just pushed")
        } else {
            stmt(
                format!(
                    "INSERT INTO {} ({}) SELECT {} FROM {}",
                    q(&temp),
                    targets.join(", "),
                    sources.join(", "),
                    q(&name.name)
                ),
                Some(name),
            )
        };
        copy.hazards.push(Hazard::new(
            HazardId::TableRewrite,
            format!(
                "rebuilds `{}`{}: a new table is created, every row copied into it and the old one dropped; other writers wait until the plan commits",
                name.name,
                count_text(rows, "row", "rows")
            ),
            "run it when writes can wait; indexes and triggers are created again, and PRAGMA foreign_key_check runs before commit",
        ));
        self.rebuild_hazards(name, old, new, &mut copy);
        out.push(copy);
        let autoincrement = |t: &Table| {
            t.primary_key()
                .is_some_and(|pk| pk.definition.ends_with(" AUTOINCREMENT"))
        };
        if autoincrement(old) && autoincrement(new) {
            // Keep AUTOINCREMENT's high-water mark: ids of deleted rows
            // are never handed out again.
            out.push(stmt(
                format!(
                    "UPDATE sqlite_sequence SET seq = (SELECT max(seq) FROM sqlite_sequence WHERE name IN ({}, {})) WHERE name = {}",
                    lit(&name.name),
                    lit(&temp),
                    lit(&temp)
                ),
                Some(name),
            ));
            out.push(stmt(
                format!(
                    "INSERT INTO sqlite_sequence (name, seq) SELECT {}, seq FROM sqlite_sequence WHERE name = {} AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = {})",
                    lit(&temp),
                    lit(&name.name),
                    lit(&temp)
                ),
                Some(name),
            ));
        }
        out.push(stmt(format!("DROP TABLE {}", q(&name.name)), Some(name)));
        // Views and triggers that name the table are left as they are:
        // they refer to the new table once it has the name.
        out.push(stmt(
            "PRAGMA legacy_alter_table = ON".to_owned(),
            Some(name),
        ));
        out.push(stmt(
            format!("ALTER TABLE {} RENAME TO {}", q(&temp), q(&name.name)),
            Some(name),
        ));
        out.push(stmt(
            "PRAGMA legacy_alter_table = OFF".to_owned(),
            Some(name),
        ));
        for index in &new.indexes {
            out.push(stmt(create_index(&name.name, index), Some(name)));
        }
    }

    /// What the rebuild of `name` can lose or fail on.
    fn rebuild_hazards(
        &self,
        name: &QualifiedName,
        old: &Table,
        new: &Table,
        copy: &mut Statement,
    ) {
        let strict = new.options.iter().any(|o| o == "STRICT");
        for column in &old.columns {
            let renamed = self
                .columns_from
                .iter()
                .find(|((t, _), from)| t == name && *from == &column.name)
                .map_or_else(|| column.name.clone(), |((_, to), _)| to.clone());
            match new.column(&renamed) {
                None if column.generated.is_none() => {
                    copy.hazards.push(self.drop_column_hazard(name, &renamed));
                }
                None => {}
                Some(now) => {
                    if now.data_type != column.data_type && strict && now.generated.is_none() {
                        copy.hazards.push(Hazard::new(
                            HazardId::TypeChangeMayFail,
                            format!(
                                "`{}.{}` becomes {} in a STRICT table: the copy fails if a value does not convert",
                                name.name, now.name, now.data_type
                            ),
                            "check the values first, or convert them in a migration before this one",
                        ));
                    }
                    if now.not_null && !column.not_null {
                        copy.hazards.push(Hazard::new(
                            HazardId::ValidatingScan,
                            format!(
                                "`{}.{}` becomes NOT NULL: the copy fails if a row has NULL there",
                                name.name, now.name
                            ),
                            "fill the NULLs first (an UPDATE in a migration before this one)",
                        ));
                    }
                }
            }
        }
        for column in &new.columns {
            let before = self.old_column(name, &column.name);
            if old.column(&before).is_none()
                && column.not_null
                && column.default.is_none()
                && column.generated.is_none()
            {
                copy.hazards.push(Hazard::new(
                    HazardId::NotNullWithoutDefault,
                    format!(
                        "new column `{}.{}` is NOT NULL without a default: the copy fails if the table has rows",
                        name.name, column.name
                    ),
                    "give it a default, or add it nullable, backfill, then make it NOT NULL",
                ));
            }
        }
        for constraint in &new.constraints {
            let existed = old
                .constraints
                .iter()
                .any(|c| c.kind == constraint.kind && c.definition == constraint.definition);
            if existed
                || constraint.kind == ConstraintKind::PrimaryKey
                    && old.primary_key().is_some()
                    && constraint.columns
                        == old
                            .primary_key()
                            .map(|p| p.columns.clone())
                            .unwrap_or_default()
            {
                continue;
            }
            let message = match constraint.kind {
                ConstraintKind::ForeignKey => format!(
                    "new foreign key `{}` on `{}`: PRAGMA foreign_key_check fails the plan if a row references a missing parent",
                    constraint.name, name.name
                ),
                _ => format!(
                    "new constraint `{}` on `{}`: the copy fails if a row violates it",
                    constraint.name, name.name
                ),
            };
            copy.hazards.push(Hazard::new(
                HazardId::ValidatingScan,
                message,
                "check the rows first; nothing is kept if it fails",
            ));
        }
    }
}

/// Renders a plan between two SQLite catalogs.
///
/// # Errors
/// A change SQLite cannot make (a schema, enum, sequence, function,
/// policy, grant or comment: a catalog read from SQLite has none).
pub fn render(plan: &Plan, ctx: &RenderContext<'_>) -> Result<Vec<Statement>, Unsupported> {
    Renderer::new(plan, ctx).render()
}
