//! The safety review of migration SQL: what each statement does to a live
//! database — data it destroys, locks it holds and for how long, scans and
//! rewrites, changes that break the running app — as findings with the
//! same hazard ids, severities and help as `push` and `generate` plans.
//!
//! Pure: SQL text and a [`Context`] (live table sizes, the target
//! version, how the runner executes the file) in, [`Finding`]s out. The
//! caller (`strata check`) gathers the context from the database and the
//! migrations folder, and runs the statements on a scratch database so
//! that PostgreSQL itself rejects what is invalid.

mod parse;
mod rules;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
pub use strata_sql::{HazardId, Severity};

pub use parse::{Action, ColumnDef, Constraint, ConstraintKind, Name, Stmt, TypeName, parse};
pub use rules::Linter;

/// Tables by (schema, name).
pub type TableKey = (String, String);

/// What the linter knows about where the SQL will run.
#[derive(Debug, Clone)]
pub struct Context {
    /// The target PostgreSQL major version.
    pub pg_major: u32,
    /// Estimated rows of every table of the live database (`schema`,
    /// `table`), when one is reachable; `None` when not.
    pub table_rows: Option<BTreeMap<TableKey, u64>>,
    /// Existing indexes' column lists per table (leading columns first),
    /// when a catalog is known.
    pub indexes: Option<BTreeMap<TableKey, Vec<Vec<String>>>>,
    /// Existing columns' types per table, as `format_type` prints them
    /// (`character varying(100)`), when a catalog is known.
    pub column_types: Option<BTreeMap<TableKey, BTreeMap<String, String>>>,
    /// Tables with at least this many rows are large: locking them is an
    /// error, not a warning.
    pub large_table_rows: u64,
    /// Whether the runner sets `lock_timeout` itself (`strata migrate`
    /// does, unless configured to wait forever).
    pub runner_sets_lock_timeout: bool,
    /// Rules turned off for the project.
    pub disabled: BTreeSet<HazardId>,
}

impl Default for Context {
    fn default() -> Context {
        Context {
            pg_major: 15,
            table_rows: None,
            indexes: None,
            column_types: None,
            large_table_rows: 100_000,
            runner_sets_lock_timeout: true,
            disabled: BTreeSet::new(),
        }
    }
}

/// One finding: a hazard at a line of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule (a hazard id).
    #[serde(serialize_with = "serialize_id")]
    pub rule: HazardId,
    /// How bad, for this table and this target.
    pub severity: Severity,
    /// 1-based line of the statement.
    pub line: usize,
    /// What happens to the live database.
    pub message: String,
    /// What to do instead.
    pub help: String,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's serialize_with passes a reference"
)]
fn serialize_id<S: serde::Serializer>(id: &HazardId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(id.as_str())
}

/// `-- strata:allow RULE[, RULE]` before or on a statement, and
/// `-- strata:allow-file RULE[, RULE]` anywhere in a file, turn rules off.
pub const ALLOW: &str = "strata:allow";

/// Lints one file on its own (no other files before it).
pub fn lint(sql: &str, in_transaction: bool, context: &Context) -> Vec<Finding> {
    Linter::new(context.clone()).lint_file(sql, in_transaction)
}
