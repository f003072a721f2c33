//! SQL for strata's plans: each [`Change`](strata_diff::Change) becomes one
//! or more [`Statement`]s for the database's dialect, each carrying the
//! [`Hazard`]s of running it on a live database (data loss, rewrites,
//! blocking locks, validating scans, renames that break the running app).
//!
//! ```
//! use strata_diff::{NoRenames, diff};
//! use strata_model::{Catalog, Column, QualifiedName, Table};
//! use strata_sql::{Dialect, RenderContext, render};
//!
//! let from = Catalog::default();
//! let mut to = Catalog::default();
//! let mut users = Table::new(QualifiedName::new("public", "users"));
//! users.columns.push(Column::new("email", "text"));
//! to.tables.insert(users.name.clone(), users);
//! let plan = diff(&from, &to, &[], &mut NoRenames).unwrap();
//! let statements = render(&plan, &RenderContext::new(&from, &to), Dialect::Postgres);
//! assert_eq!(statements[0].sql, "CREATE TABLE public.users (\n    email text\n)");
//! ```
#![warn(missing_docs)]
#![deny(clippy::disallowed_methods)]

mod hazard;
mod online;
mod postgres;
pub mod sqlite;
mod types;

use std::collections::BTreeMap;

use serde::Serialize;
use strata_diff::Plan;
use strata_model::{Catalog, Ident, QualifiedName, TableStats};

pub use hazard::{Hazard, HazardId, Severity};
pub use online::{OnlineError, Phase, PhaseKind, online};
pub use types::type_change_hazard;

/// The SQL dialects strata speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// PostgreSQL 12 and later.
    Postgres,
}

/// Whether a statement can run inside the plan's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transaction {
    /// With the rest of the plan, all or nothing.
    Inside,
    /// On its own, committed immediately.
    Outside,
}

/// One SQL statement of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// The SQL, without a trailing semicolon.
    pub sql: String,
    /// What can go wrong running it on a live database.
    pub hazards: Vec<Hazard>,
    /// Whether it can run in a transaction.
    pub transaction: Transaction,
    /// The table it works on, if any.
    #[serde(skip)]
    pub table: Option<QualifiedName>,
}

impl Statement {
    /// Whether running it destroys data.
    pub fn is_data_loss(&self) -> bool {
        self.hazards.iter().any(Hazard::is_data_loss)
    }
}

/// What rendering may look at besides the plan: both catalogs (for types
/// and table sizes) and exact counts, when the caller has them.
#[derive(Debug)]
pub struct RenderContext<'a> {
    /// The database as it is.
    pub from: &'a Catalog,
    /// The database as it should be.
    pub to: &'a Catalog,
    /// Exact row counts of tables, for data-loss messages.
    pub row_counts: BTreeMap<QualifiedName, i64>,
    /// Exact counts of non-null values of columns, for data-loss messages.
    pub value_counts: BTreeMap<(QualifiedName, Ident), i64>,
}

impl<'a> RenderContext<'a> {
    /// A context with no counts.
    pub fn new(from: &'a Catalog, to: &'a Catalog) -> RenderContext<'a> {
        RenderContext {
            from,
            to,
            row_counts: BTreeMap::new(),
            value_counts: BTreeMap::new(),
        }
    }

    fn table_stats(&self, table: &QualifiedName) -> Option<TableStats> {
        self.from.tables.get(table).and_then(|t| t.stats)
    }

    fn column_type(&self, table: &QualifiedName, column: &str) -> &str {
        self.to
            .tables
            .get(table)
            .and_then(|t| t.column(column))
            .map_or("bigint", |c| c.data_type.as_str())
    }
}

/// Turns a plan into statements for `dialect`.
pub fn render(plan: &Plan, ctx: &RenderContext<'_>, dialect: Dialect) -> Vec<Statement> {
    render_grouped(plan, ctx, dialect)
        .into_iter()
        .flatten()
        .collect()
}

/// Like [`render`], with the statements of each change apart (in the order
/// of `plan.changes`).
pub fn render_grouped(
    plan: &Plan,
    ctx: &RenderContext<'_>,
    dialect: Dialect,
) -> Vec<Vec<Statement>> {
    match dialect {
        Dialect::Postgres => postgres::render(plan, ctx),
    }
}
