//! Objects beyond tables: views, routines, triggers, policies, domains,
//! composite types, partitions, and the dependencies between objects.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Ident, Index, QualifiedName};

/// A function or procedure's identity: schema, name and argument types
/// (`public.touch(integer, text)`), as `pg_get_function_identity_arguments`
/// prints them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RoutineName {
    /// The schema.
    pub schema: Ident,
    /// The name.
    pub name: Ident,
    /// The identity arguments (`a integer, b text`).
    pub args: String,
}

impl RoutineName {
    /// The routine's schema-qualified name, without arguments.
    pub fn qualified(&self) -> QualifiedName {
        QualifiedName::new(self.schema.clone(), self.name.clone())
    }
}

impl fmt::Display for RoutineName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}({})", self.schema, self.name, self.args)
    }
}

/// Function or procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoutineKind {
    /// `CREATE FUNCTION`.
    Function,
    /// `CREATE PROCEDURE`.
    Procedure,
}

/// A function or procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Function {
    /// Its identity.
    pub name: RoutineName,
    /// Function or procedure.
    pub kind: RoutineKind,
    /// The whole `CREATE OR REPLACE FUNCTION …` as `pg_get_functiondef`
    /// prints it: the canonical text two routines are compared by.
    pub definition: String,
    /// `pg_get_function_result` (`integer`, `SETOF public.users`, `trigger`);
    /// `CREATE OR REPLACE` cannot change it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// `pg_get_function_arguments`: names, modes and defaults, which
    /// `CREATE OR REPLACE` cannot change either.
    pub arguments: String,
    /// `COMMENT ON FUNCTION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A column of a view, as the view's query produces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewColumn {
    /// Its name.
    pub name: Ident,
    /// Its type.
    pub data_type: String,
    /// `COMMENT ON COLUMN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A view or materialized view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct View {
    /// Its qualified name.
    pub name: QualifiedName,
    /// `CREATE MATERIALIZED VIEW`.
    pub materialized: bool,
    /// The query, as `pg_get_viewdef` prints it.
    pub definition: String,
    /// The columns it produces.
    pub columns: Vec<ViewColumn>,
    /// `WITH (…)` options (`security_barrier=true`, `check_option=local`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Indexes of a materialized view.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    /// `INSTEAD OF` triggers of a view.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Trigger>,
    /// `COMMENT ON VIEW`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A trigger on a table or view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Its name (unique per table).
    pub name: Ident,
    /// `CREATE TRIGGER …` as `pg_get_triggerdef` prints it.
    pub definition: String,
    /// The function it runs.
    pub function: RoutineName,
    /// `O` enabled (origin), `D` disabled, `R` replica, `A` always.
    pub enabled: String,
    /// `COMMENT ON TRIGGER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A row-level security policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Its name (unique per table).
    pub name: Ident,
    /// `PERMISSIVE` (true) or `RESTRICTIVE`.
    pub permissive: bool,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
    pub command: String,
    /// The roles it applies to (`public` for everyone), sorted.
    pub roles: Vec<String>,
    /// `USING (…)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub using: Option<String>,
    /// `WITH CHECK (…)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_check: Option<String>,
    /// `COMMENT ON POLICY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A constraint of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConstraint {
    /// Its name.
    pub name: Ident,
    /// `CHECK (…)` as `pg_get_constraintdef` prints it.
    pub definition: String,
    /// `false` when added `NOT VALID` and not validated since.
    pub validated: bool,
}

/// A domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    /// Its qualified name.
    pub name: QualifiedName,
    /// The underlying type.
    pub data_type: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// `DEFAULT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// `COLLATE`, when not the type's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<QualifiedName>,
    /// Its constraints, sorted by name.
    pub constraints: Vec<DomainConstraint>,
    /// `COMMENT ON DOMAIN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// An attribute of a composite type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompositeAttribute {
    /// Its name.
    pub name: Ident,
    /// Its type.
    pub data_type: String,
    /// `COLLATE`, when not the type's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<QualifiedName>,
}

/// A composite type (`CREATE TYPE … AS (…)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompositeType {
    /// Its qualified name.
    pub name: QualifiedName,
    /// Its attributes, in order.
    pub attributes: Vec<CompositeAttribute>,
    /// `COMMENT ON TYPE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A partition's parent and bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionOf {
    /// The partitioned table.
    pub parent: QualifiedName,
    /// `FOR VALUES …` or `DEFAULT`.
    pub bound: String,
}

/// What a privilege is granted on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum GrantTarget {
    /// A schema.
    Schema(Ident),
    /// A table or view (`ON TABLE`).
    Table(QualifiedName),
    /// A sequence.
    Sequence(QualifiedName),
    /// A function or procedure.
    Function(RoutineName, RoutineKind),
}

/// One privilege granted to one role (`public` for everyone) on one
/// object. The owner's own privileges are implicit and not listed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// On what.
    pub target: GrantTarget,
    /// To whom.
    pub grantee: String,
    /// `SELECT`, `INSERT`, `USAGE`, `EXECUTE`, …
    pub privilege: String,
    /// `WITH GRANT OPTION`.
    pub grantable: bool,
}

/// An object another object can depend on (or be), for ordering.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum ObjectRef {
    /// A table (ordinary or partitioned).
    Table(QualifiedName),
    /// A column of a table or view.
    Column(QualifiedName, Ident),
    /// A view or materialized view.
    View(QualifiedName),
    /// A sequence.
    Sequence(QualifiedName),
    /// An index.
    Index(QualifiedName),
    /// An enum, domain or composite type.
    Type(QualifiedName),
    /// A function or procedure.
    Function(RoutineName),
    /// A constraint of a table (or domain).
    Constraint(QualifiedName, Ident),
    /// A trigger of a table or view.
    Trigger(QualifiedName, Ident),
    /// A policy of a table.
    Policy(QualifiedName, Ident),
    /// A column's default expression.
    Default(QualifiedName, Ident),
}

impl ObjectRef {
    /// The schema the object lives in.
    pub fn schema(&self) -> &str {
        match self {
            ObjectRef::Table(n)
            | ObjectRef::Column(n, _)
            | ObjectRef::View(n)
            | ObjectRef::Sequence(n)
            | ObjectRef::Index(n)
            | ObjectRef::Type(n)
            | ObjectRef::Constraint(n, _)
            | ObjectRef::Trigger(n, _)
            | ObjectRef::Policy(n, _)
            | ObjectRef::Default(n, _) => &n.schema,
            ObjectRef::Function(r) => &r.schema,
        }
    }
}

/// `dependent` cannot exist without `referenced` (from `pg_depend`, or
/// found by name in a routine's body).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// The object that depends.
    pub dependent: ObjectRef,
    /// The object it depends on.
    pub referenced: ObjectRef,
    /// Found by name in a routine's body rather than recorded by the
    /// database: a preference for ordering that gives way in a cycle.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_name: bool,
}
