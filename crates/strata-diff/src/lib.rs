//! The catalog diff: which changes, in which order, turn the database
//! described by one [`Catalog`] into the one described by another.
//!
//! [`diff`] compares object by object (after renames, which come from
//! [`RenameRequest`]s or a [`RenameResolver`]), then orders the changes by
//! their dependencies in both directions. The result is a [`Plan`] of
//! [`Change`]s; turning those into SQL is `strata-sql`'s job.
//!
//! ```
//! use strata_diff::{NoRenames, diff};
//! use strata_model::{Catalog, Column, QualifiedName, Table};
//!
//! let from = Catalog::default();
//! let mut to = Catalog::default();
//! let mut users = Table::new(QualifiedName::new("public", "users"));
//! users.columns.push(Column::new("email", "text"));
//! to.tables.insert(users.name.clone(), users);
//! let plan = diff(&from, &to, &[], &mut NoRenames).unwrap();
//! assert_eq!(plan.changes.len(), 1);
//! ```
#![warn(missing_docs)]
#![deny(clippy::disallowed_methods)]

mod change;
mod compare;
mod order;
mod renames;

use serde::Serialize;
use strata_model::Catalog;

pub use change::{AttributeAction, Change, CommentTarget, DomainAction, EnumColumn};
pub use renames::{NoRenames, PossibleRename, RenameOrigin, RenameRequest, RenameResolver};

/// What went wrong while diffing.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum DiffError {
    /// A `--rename` that does not match the two catalogs.
    #[error("invalid rename `{text}`: {reason}")]
    #[diagnostic(
        code(strata::diff::invalid_rename),
        help(
            "use --rename OLD_TABLE=NEW_TABLE or --rename TABLE.OLD_COLUMN=NEW_COLUMN, with the names as they are in the database and the schema files"
        )
    )]
    InvalidRename {
        /// The argument as given.
        text: String,
        /// Why it does not apply.
        reason: String,
    },
    /// The changes depend on each other in a circle that cannot be broken.
    #[error("the changes depend on each other in a cycle: {}", changes.join(", "))]
    #[diagnostic(
        code(strata::diff::cycle),
        help("this is a bug in strata: please report it with the schema files")
    )]
    Cycle {
        /// The changes involved.
        changes: Vec<String>,
    },
    /// An interactive question could not be answered.
    #[error("could not ask about renames: {reason}")]
    #[diagnostic(code(strata::diff::prompt))]
    Prompt {
        /// Why.
        reason: String,
    },
}

/// The changes that turn one catalog into another, in the order to run them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// The changes, ordered.
    pub changes: Vec<Change>,
    /// Tables or columns that appeared while others disappeared and were
    /// not treated as renames (so a non-interactive user can be told how).
    pub possible_renames: Vec<PossibleRename>,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Compares `from` (the database as it is) with `to` (as it should be).
///
/// Renames come first from `requests`, then from `resolver` for every
/// table or column that appears while another disappears.
///
/// # Errors
/// A rename request that does not fit the catalogs, a resolver that fails,
/// or (a bug) changes that cannot be ordered.
pub fn diff(
    from: &Catalog,
    to: &Catalog,
    requests: &[RenameRequest],
    resolver: &mut dyn RenameResolver,
) -> Result<Plan, DiffError> {
    let decided = renames::decide(from, to, requests, resolver)?;
    let mut renamed = from.clone();
    renames::apply(&mut renamed, &decided);
    let mut changes = Vec::new();
    for (old, new) in &decided.tables {
        changes.push(Change::RenameTable {
            from: old.clone(),
            to: new.name.clone(),
        });
    }
    for (table, old, new) in &decided.columns {
        changes.push(Change::RenameColumn {
            table: table.clone(),
            from: old.clone(),
            to: new.clone(),
        });
    }
    changes.extend(compare::rename_owned_sequences(&mut renamed, to));
    changes.extend(compare::Comparer::new(&renamed, to).run());
    let changes = order::order(changes, &renamed, to)?;
    Ok(Plan {
        changes,
        possible_renames: decided.possible,
    })
}
