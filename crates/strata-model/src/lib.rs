//! The schema catalog that strata compares.
//!
//! A [`Catalog`] is a plain description of what a database contains: schemas,
//! extensions, enum types, sequences and tables with their columns,
//! constraints and indexes. It is produced by a driver's introspection (the
//! database's own canonical text for types, defaults, checks and index
//! definitions is kept as it is, so two catalogs read from the same server
//! version compare by plain equality) and consumed by `strata-diff`.
//!
//! The crate does no I/O. Everything is ordered (`BTreeMap`, sorted vectors)
//! so that output built from a catalog is deterministic.
//!
//! Objects the model does not cover yet are kept by name in
//! [`Catalog::unmanaged`], so that callers can report them instead of
//! silently ignoring them.
//!
//! ```
//! use strata_model::{Catalog, QualifiedName, Table};
//! let mut catalog = Catalog::default();
//! let name = QualifiedName::new("public", "users");
//! catalog.tables.insert(name.clone(), Table::new(name.clone()));
//! assert_eq!(catalog.tables[&name].name.to_string(), "public.users");
//! ```
#![warn(missing_docs)]

mod ident;
mod named;
mod objects;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use ident::{Ident, QualifiedName};
pub use objects::{
    CompositeAttribute, CompositeType, Dependency, Domain, DomainConstraint, Function, Grant,
    GrantTarget, ObjectRef, PartitionOf, Policy, RoutineKind, RoutineName, Trigger, View,
    ViewColumn,
};

/// A whole database (or the part of it strata manages).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Schemas (namespaces), by name.
    #[serde(with = "named::map")]
    pub schemas: BTreeMap<Ident, Schema>,
    /// Installed extensions, by name.
    #[serde(with = "named::map")]
    pub extensions: BTreeMap<Ident, Extension>,
    /// Enum types, by qualified name.
    #[serde(with = "named::map")]
    pub enums: BTreeMap<QualifiedName, EnumType>,
    /// Free-standing sequences (identity sequences belong to their column).
    #[serde(with = "named::map")]
    pub sequences: BTreeMap<QualifiedName, Sequence>,
    /// Domains, by qualified name.
    #[serde(default, with = "named::map")]
    pub domains: BTreeMap<QualifiedName, Domain>,
    /// Composite types, by qualified name.
    #[serde(default, with = "named::map")]
    pub composite_types: BTreeMap<QualifiedName, CompositeType>,
    /// Tables (ordinary, partitioned and partitions), by qualified name.
    #[serde(with = "named::map")]
    pub tables: BTreeMap<QualifiedName, Table>,
    /// Views and materialized views, by qualified name.
    #[serde(default, with = "named::map")]
    pub views: BTreeMap<QualifiedName, View>,
    /// Functions and procedures, by identity.
    #[serde(default, with = "named::map")]
    pub functions: BTreeMap<RoutineName, Function>,
    /// Which object depends on which (derived from the objects; used for
    /// ordering, never compared).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// Privileges granted on the objects above, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<Grant>,
    /// Objects present in the database that the model does not cover.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged: Vec<UnmanagedObject>,
}

impl Catalog {
    /// Keeps only the objects that live in schemas accepted by `keep`
    /// (extensions by the schema they are installed in).
    pub fn retain_schemas(&mut self, keep: impl Fn(&str) -> bool) {
        self.schemas.retain(|name, _| keep(name));
        self.extensions
            .retain(|_, extension| keep(&extension.schema));
        self.enums.retain(|name, _| keep(&name.schema));
        self.sequences.retain(|name, _| keep(&name.schema));
        self.tables.retain(|name, _| keep(&name.schema));
        self.domains.retain(|name, _| keep(&name.schema));
        self.composite_types.retain(|name, _| keep(&name.schema));
        self.views.retain(|name, _| keep(&name.schema));
        self.functions.retain(|name, _| keep(&name.schema));
        self.dependencies.retain(|d| keep(d.dependent.schema()));
        self.grants.retain(|g| match &g.target {
            GrantTarget::Schema(name) => keep(name),
            GrantTarget::Table(name) | GrantTarget::Sequence(name) => keep(&name.schema),
            GrantTarget::Function(name, _) => keep(&name.schema),
        });
        self.unmanaged
            .retain(|object| object.schema.as_deref().is_none_or(&keep));
    }

    /// Removes one table (for example the migrations tracking table) and the
    /// sequences it owns.
    pub fn remove_table(&mut self, name: &QualifiedName) {
        self.tables.remove(name);
        self.sequences
            .retain(|_, seq| seq.owned_by.as_ref().is_none_or(|(t, _)| t != name));
    }

    /// Number of objects of every kind, for summaries.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts {
            schemas: self.schemas.len(),
            extensions: self.extensions.len(),
            enums: self.enums.len(),
            sequences: self.sequences.len(),
            tables: self.tables.len(),
            ..Counts::default()
        };
        for table in self.tables.values() {
            counts.columns += table.columns.len();
            counts.constraints += table.constraints.len();
            counts.foreign_keys += table
                .constraints
                .iter()
                .filter(|c| c.kind == ConstraintKind::ForeignKey)
                .count();
            counts.indexes += table.indexes.len();
        }
        counts
    }
}

/// How many objects of each kind a catalog holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[allow(missing_docs)] // the field names say it
pub struct Counts {
    pub schemas: usize,
    pub extensions: usize,
    pub enums: usize,
    pub sequences: usize,
    pub tables: usize,
    pub columns: usize,
    pub constraints: usize,
    pub foreign_keys: usize,
    pub indexes: usize,
}

/// A schema (namespace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// Its name.
    pub name: Ident,
    /// `COMMENT ON SCHEMA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// An installed extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    /// Its name (`pgcrypto`).
    pub name: Ident,
    /// The schema its objects were installed into.
    pub schema: Ident,
    /// The installed version (`1.3`).
    pub version: String,
}

/// An enum type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumType {
    /// Its qualified name.
    pub name: QualifiedName,
    /// The labels, in sort order.
    pub values: Vec<String>,
    /// `COMMENT ON TYPE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The options every sequence (and identity column) has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceOptions {
    /// `smallint`, `integer` or `bigint`.
    pub data_type: String,
    /// `START WITH`.
    pub start: i64,
    /// `INCREMENT BY`.
    pub increment: i64,
    /// `MINVALUE`.
    pub min_value: i64,
    /// `MAXVALUE`.
    pub max_value: i64,
    /// `CACHE`.
    pub cache: i64,
    /// `CYCLE`.
    pub cycle: bool,
}

impl SequenceOptions {
    /// The options PostgreSQL picks for `CREATE SEQUENCE` of `data_type`
    /// with nothing else said (ascending).
    pub fn defaults_for(data_type: &str) -> SequenceOptions {
        let max_value = match data_type {
            "smallint" => i64::from(i16::MAX),
            "integer" => i64::from(i32::MAX),
            _ => i64::MAX,
        };
        SequenceOptions {
            data_type: data_type.to_owned(),
            start: 1,
            increment: 1,
            min_value: 1,
            max_value,
            cache: 1,
            cycle: false,
        }
    }
}

/// A free-standing sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sequence {
    /// Its qualified name.
    pub name: QualifiedName,
    /// Its options.
    pub options: SequenceOptions,
    /// `OWNED BY table.column` (serial columns own their sequence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<(QualifiedName, Ident)>,
    /// The last value handed out (`None`: never used). State, not schema:
    /// ignored when comparing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_value: Option<i64>,
    /// `COMMENT ON SEQUENCE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// An ordinary table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// Its qualified name.
    pub name: QualifiedName,
    /// Columns in their physical order.
    pub columns: Vec<Column>,
    /// Constraints, sorted by name.
    pub constraints: Vec<Constraint>,
    /// Indexes that do not back a constraint, sorted by name.
    pub indexes: Vec<Index>,
    /// `UNLOGGED`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unlogged: bool,
    /// Table options that fix how rows are stored, which only recreating
    /// the table changes (SQLite's `STRICT` and `WITHOUT ROWID`), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// `PARTITION BY …` of a partitioned table (`RANGE (created_at)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_key: Option<String>,
    /// The parent and bound of a partition. Its columns, and the
    /// constraints and indexes it inherits, come from the parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_of: Option<PartitionOf>,
    /// `ENABLE ROW LEVEL SECURITY`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub row_security: bool,
    /// `FORCE ROW LEVEL SECURITY`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_row_security: bool,
    /// Row-level security policies, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<Policy>,
    /// Triggers, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Trigger>,
    /// `COMMENT ON TABLE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// What the database knows of the table's size; not part of the schema
    /// and ignored when comparing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<TableStats>,
}

impl Table {
    /// An empty table called `name`.
    pub fn new(name: QualifiedName) -> Table {
        Table {
            name,
            columns: Vec::new(),
            constraints: Vec::new(),
            indexes: Vec::new(),
            unlogged: false,
            options: Vec::new(),
            partition_key: None,
            partition_of: None,
            row_security: false,
            force_row_security: false,
            policies: Vec::new(),
            triggers: Vec::new(),
            comment: None,
            stats: None,
        }
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name.as_str() == name)
    }

    /// The constraint called `name`.
    pub fn constraint(&self, name: &str) -> Option<&Constraint> {
        self.constraints.iter().find(|c| c.name.as_str() == name)
    }

    /// The primary key, if any.
    pub fn primary_key(&self) -> Option<&Constraint> {
        self.constraints
            .iter()
            .find(|c| c.kind == ConstraintKind::PrimaryKey)
    }
}

/// Size information from the catalog (`pg_class.reltuples`, relation size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableStats {
    /// The planner's estimate of the number of rows (`-1` when never analyzed).
    pub rows_estimate: i64,
    /// The table's size on disk in bytes, indexes and TOAST included.
    pub total_bytes: i64,
}

/// A table column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Its name.
    pub name: Ident,
    /// The type as the database prints it (`character varying(32)`,
    /// `public.user_role[]`).
    pub data_type: String,
    /// The user-defined type the column uses (an enum, possibly through an
    /// array), for dependency ordering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_ref: Option<QualifiedName>,
    /// `NOT NULL`.
    pub not_null: bool,
    /// The default expression, as the database prints it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// `GENERATED … AS IDENTITY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// `GENERATED ALWAYS AS (expr) STORED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    /// `COLLATE`, when it differs from the type's default collation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<QualifiedName>,
    /// `COMMENT ON COLUMN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Column {
    /// A nullable column of `data_type` with nothing else set.
    pub fn new(name: impl Into<Ident>, data_type: impl Into<String>) -> Column {
        Column {
            name: name.into(),
            data_type: data_type.into(),
            type_ref: None,
            not_null: false,
            default: None,
            identity: None,
            generated: None,
            collation: None,
            comment: None,
        }
    }
}

/// `GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// `ALWAYS` or `BY DEFAULT`.
    pub kind: IdentityKind,
    /// The name of the sequence behind the column.
    pub sequence: QualifiedName,
    /// The sequence's options.
    pub options: SequenceOptions,
    /// The last value handed out (`None`: never used). State, not schema:
    /// ignored when comparing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_value: Option<i64>,
}

impl Identity {
    /// Whether two identities define the same column behaviour (the
    /// sequence's position aside).
    pub fn same_definition(&self, other: &Identity) -> bool {
        self.kind == other.kind && self.sequence == other.sequence && self.options == other.options
    }
}

/// The two kinds of identity column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityKind {
    /// `GENERATED ALWAYS`.
    Always,
    /// `GENERATED BY DEFAULT`.
    ByDefault,
}

/// The kinds of table constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConstraintKind {
    /// `PRIMARY KEY`.
    PrimaryKey,
    /// `UNIQUE`.
    Unique,
    /// `CHECK`.
    Check,
    /// `FOREIGN KEY`.
    ForeignKey,
    /// `EXCLUDE`.
    Exclusion,
}

/// A table constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraint {
    /// Its name.
    pub name: Ident,
    /// What kind of constraint it is.
    pub kind: ConstraintKind,
    /// The definition as the database prints it
    /// (`FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE`).
    pub definition: String,
    /// The constrained columns, in key order (empty for most checks).
    pub columns: Vec<Ident>,
    /// The referenced side of a foreign key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<References>,
    /// `false` for a constraint added `NOT VALID` and not validated since.
    pub validated: bool,
    /// `COMMENT ON CONSTRAINT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The referenced side of a foreign key, with its actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct References {
    /// The referenced table.
    pub table: QualifiedName,
    /// The referenced columns.
    pub columns: Vec<Ident>,
    /// `ON DELETE`.
    pub on_delete: FkAction,
    /// `ON UPDATE`.
    pub on_update: FkAction,
    /// `MATCH FULL` (otherwise `MATCH SIMPLE`).
    pub match_full: bool,
    /// `DEFERRABLE`.
    pub deferrable: bool,
    /// `INITIALLY DEFERRED`.
    pub initially_deferred: bool,
}

/// A foreign key's referential action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FkAction {
    /// `NO ACTION` (the default).
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
}

impl FkAction {
    /// The SQL words for the action.
    pub fn sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }
}

/// An index that does not back a constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// Its name (indexes live in their table's schema).
    pub name: Ident,
    /// `UNIQUE`.
    pub unique: bool,
    /// The access method (`btree`, `gin`, …).
    pub method: String,
    /// The full `CREATE INDEX` statement as the database prints it.
    pub definition: String,
    /// The key expressions or columns, as the database prints them.
    pub keys: Vec<String>,
    /// The columns the index reads (keys, `INCLUDE` and predicate), for
    /// dependency ordering.
    pub columns: Vec<Ident>,
    /// `WHERE` of a partial index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// The index is not usable: a `CREATE INDEX CONCURRENTLY` failed half
    /// way. It must be dropped and built again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invalid: bool,
    /// `COMMENT ON INDEX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Index {
    /// The part of the definition that says what the index is, without its
    /// own name or its table's: everything from `USING`. Two indexes with
    /// equal bodies (and uniqueness) are the same index.
    pub fn body(&self) -> &str {
        self.definition
            .find(" USING ")
            .map_or(self.definition.as_str(), |at| &self.definition[at + 1..])
    }
}

/// An object found in the database that the model does not cover yet.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnmanagedObject {
    /// What it is (`view`, `function`, `trigger`, …).
    pub kind: String,
    /// Its schema, for objects that live in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Its name as the database describes it (`public.active_users`,
    /// `audit_trigger on public.users`).
    pub name: String,
}

impl std::fmt::Display for UnmanagedObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}
