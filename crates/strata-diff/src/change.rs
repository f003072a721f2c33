//! The changes a plan is made of, and what each one needs, creates and
//! removes (the edges the planner orders them by).

use std::collections::HashMap;

use serde::Serialize;
use strata_model::GrantTarget;
use strata_model::{
    Catalog, Column, CompositeAttribute, CompositeType, Constraint, ConstraintKind, Domain,
    DomainConstraint, EnumType, Extension, Function, Ident, Identity, Index, ObjectRef,
    PartitionOf, Policy, QualifiedName, References, RoutineKind, RoutineName, Schema, Sequence,
    SequenceOptions, Table, Trigger, View,
};

/// An object a change can create, remove or need, for ordering.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Key {
    /// A schema.
    Schema(Ident),
    /// An extension.
    Extension(Ident),
    /// A user-defined type (enum).
    Type(QualifiedName),
    /// A sequence.
    Sequence(QualifiedName),
    /// A table.
    Table(QualifiedName),
    /// A column of a table.
    Column(QualifiedName, Ident),
    /// A column's default expression (it can depend on a sequence or type).
    Default(QualifiedName, Ident),
    /// A constraint of a table.
    Constraint(QualifiedName, Ident),
    /// An index (also the index behind a primary key, unique or exclusion
    /// constraint), schema-qualified.
    Index(QualifiedName),
    /// A view or materialized view.
    View(QualifiedName),
    /// A function or procedure.
    Function(RoutineName),
    /// A trigger of a table or view.
    Trigger(QualifiedName, Ident),
    /// A policy of a table.
    Policy(QualifiedName, Ident),
}

impl Key {
    /// The key of an object the catalog's dependency list names.
    pub(crate) fn of(object: &ObjectRef) -> Key {
        match object {
            ObjectRef::Table(n) => Key::Table(n.clone()),
            ObjectRef::Column(t, c) => Key::Column(t.clone(), c.clone()),
            ObjectRef::View(n) => Key::View(n.clone()),
            ObjectRef::Sequence(n) => Key::Sequence(n.clone()),
            ObjectRef::Index(n) => Key::Index(n.clone()),
            ObjectRef::Type(n) => Key::Type(n.clone()),
            ObjectRef::Function(r) => Key::Function(r.clone()),
            ObjectRef::Constraint(t, c) => Key::Constraint(t.clone(), c.clone()),
            ObjectRef::Trigger(t, n) => Key::Trigger(t.clone(), n.clone()),
            ObjectRef::Policy(t, n) => Key::Policy(t.clone(), n.clone()),
            ObjectRef::Default(t, c) => Key::Default(t.clone(), c.clone()),
        }
    }
}

/// What the target catalog says each object needs (from its dependency
/// list): `(referenced, found by name only)`.
pub(crate) struct Requirements(pub(crate) HashMap<Key, Vec<(Key, bool)>>);

impl Requirements {
    pub(crate) fn of(catalog: &Catalog) -> Requirements {
        let mut map: HashMap<Key, Vec<(Key, bool)>> = HashMap::new();
        for dependency in &catalog.dependencies {
            map.entry(Key::of(&dependency.dependent))
                .or_default()
                .push((Key::of(&dependency.referenced), dependency.by_name));
        }
        Requirements(map)
    }

    fn add(&self, key: &Key, edges: &mut Edges) {
        for (referenced, soft) in self.0.get(key).into_iter().flatten() {
            if *soft {
                edges.soft_requires.push(referenced.clone());
            } else {
                edges.requires.push(referenced.clone());
            }
        }
    }
}

/// A change to a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum DomainAction {
    SetDefault { default: String },
    DropDefault,
    SetNotNull,
    DropNotNull,
    AddConstraint { constraint: DomainConstraint },
    DropConstraint { name: Ident },
    ValidateConstraint { name: Ident },
}

/// A change to a composite type's attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum AttributeAction {
    Add { attribute: CompositeAttribute },
    Drop { name: Ident },
    AlterType { attribute: CompositeAttribute },
}

/// A column that uses an enum being rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnumColumn {
    /// The table.
    pub table: QualifiedName,
    /// The column.
    pub column: Ident,
    /// The column's type in the target (`public.role` or `public.role[]`).
    pub data_type: String,
    /// Whether the column has a default today (it must be dropped first).
    pub had_default: bool,
    /// The default to set afterwards.
    pub default: Option<String>,
}

/// One change to a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(missing_docs)] // variants and fields are named for the SQL they become
pub enum Change {
    CreateSchema {
        schema: Schema,
    },
    DropSchema {
        name: Ident,
    },
    CreateExtension {
        extension: Extension,
    },
    AlterExtension {
        name: Ident,
        from_version: String,
        to_version: String,
    },
    DropExtension {
        name: Ident,
    },
    CreateEnum {
        enum_type: EnumType,
    },
    /// `ALTER TYPE … ADD VALUE`; `before` names the label it goes in front
    /// of (none: at the end).
    AddEnumValue {
        name: QualifiedName,
        value: String,
        before: Option<String>,
    },
    /// Values removed or reordered: the type is replaced and every column
    /// converted through `text`.
    RebuildEnum {
        from: EnumType,
        to: EnumType,
        columns: Vec<EnumColumn>,
    },
    DropEnum {
        name: QualifiedName,
    },
    CreateSequence {
        sequence: Sequence,
    },
    /// `unused`: the sequence never handed out a value, so it can restart
    /// at its new start.
    AlterSequence {
        name: QualifiedName,
        from: SequenceOptions,
        to: SequenceOptions,
        unused: bool,
    },
    RenameSequence {
        from: QualifiedName,
        to: Ident,
    },
    SetSequenceOwner {
        name: QualifiedName,
        owned_by: Option<(QualifiedName, Ident)>,
    },
    DropSequence {
        name: QualifiedName,
    },
    /// `table` holds the constraints that are created inline.
    CreateTable {
        table: Table,
    },
    RenameTable {
        from: QualifiedName,
        to: Ident,
    },
    SetLogged {
        table: QualifiedName,
        unlogged: bool,
    },
    DropTable {
        name: QualifiedName,
        rows_estimate: Option<i64>,
    },
    AddColumn {
        table: QualifiedName,
        column: Column,
    },
    RenameColumn {
        table: QualifiedName,
        from: Ident,
        to: Ident,
    },
    /// `generated`: the column holds computed values (nothing is lost).
    DropColumn {
        table: QualifiedName,
        column: Ident,
        generated: bool,
    },
    /// A type or collation change. The default, when the column has one, is
    /// dropped before and set (to `default`) after in the same statement.
    AlterColumnType {
        table: QualifiedName,
        column: Ident,
        from_type: String,
        to_type: String,
        collation: Option<QualifiedName>,
        had_default: bool,
        default: Option<String>,
    },
    SetDefault {
        table: QualifiedName,
        column: Ident,
        default: String,
    },
    DropDefault {
        table: QualifiedName,
        column: Ident,
    },
    SetNotNull {
        table: QualifiedName,
        column: Ident,
    },
    DropNotNull {
        table: QualifiedName,
        column: Ident,
    },
    AddIdentity {
        table: QualifiedName,
        column: Ident,
        identity: Identity,
    },
    AlterIdentity {
        table: QualifiedName,
        column: Ident,
        from: Identity,
        to: Identity,
    },
    DropIdentity {
        table: QualifiedName,
        column: Ident,
        sequence: QualifiedName,
    },
    /// A generated column becomes an ordinary one, keeping its values.
    DropExpression {
        table: QualifiedName,
        column: Ident,
    },
    AddConstraint {
        table: QualifiedName,
        constraint: Constraint,
    },
    RenameConstraint {
        table: QualifiedName,
        from: Ident,
        to: Ident,
    },
    /// Checks the rows of a constraint that was added `NOT VALID`.
    ValidateConstraint {
        table: QualifiedName,
        name: Ident,
    },
    DropConstraint {
        table: QualifiedName,
        constraint: Constraint,
    },
    CreateIndex {
        table: QualifiedName,
        index: Index,
    },
    RenameIndex {
        from: QualifiedName,
        to: Ident,
    },
    DropIndex {
        name: QualifiedName,
        table: QualifiedName,
    },
    CreateView {
        view: View,
    },
    /// `CREATE OR REPLACE VIEW`: the same leading columns, a new query.
    ReplaceView {
        view: View,
    },
    DropView {
        view: View,
    },
    CreateFunction {
        function: Function,
    },
    /// `CREATE OR REPLACE FUNCTION`: the same result and arguments.
    ReplaceFunction {
        function: Function,
    },
    DropFunction {
        function: Function,
    },
    CreateTrigger {
        table: QualifiedName,
        trigger: Trigger,
    },
    SetTriggerEnabled {
        table: QualifiedName,
        name: Ident,
        enabled: String,
    },
    DropTrigger {
        table: QualifiedName,
        name: Ident,
    },
    CreatePolicy {
        table: QualifiedName,
        policy: Policy,
    },
    /// `ALTER POLICY`: new roles or expressions.
    AlterPolicy {
        table: QualifiedName,
        policy: Policy,
    },
    DropPolicy {
        table: QualifiedName,
        name: Ident,
    },
    SetRowSecurity {
        table: QualifiedName,
        enabled: bool,
    },
    SetForceRowSecurity {
        table: QualifiedName,
        forced: bool,
    },
    CreateDomain {
        domain: Domain,
    },
    AlterDomain {
        name: QualifiedName,
        action: DomainAction,
    },
    DropDomain {
        name: QualifiedName,
    },
    CreateCompositeType {
        composite: CompositeType,
    },
    AlterCompositeType {
        name: QualifiedName,
        action: AttributeAction,
    },
    DropCompositeType {
        name: QualifiedName,
    },
    AttachPartition {
        table: QualifiedName,
        partition: PartitionOf,
    },
    DetachPartition {
        table: QualifiedName,
        parent: QualifiedName,
    },
    /// `GRANT privileges ON target TO grantee`.
    Grant {
        target: GrantTarget,
        grantee: String,
        privileges: Vec<String>,
        grantable: bool,
    },
    /// `REVOKE privileges ON target FROM grantee`.
    Revoke {
        target: GrantTarget,
        grantee: String,
        privileges: Vec<String>,
    },
    Comment {
        target: CommentTarget,
        comment: Option<String>,
    },
}

/// What a `COMMENT ON` is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "on", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum CommentTarget {
    Schema {
        name: Ident,
    },
    Type {
        name: QualifiedName,
    },
    Domain {
        name: QualifiedName,
    },
    Sequence {
        name: QualifiedName,
    },
    Table {
        name: QualifiedName,
    },
    View {
        name: QualifiedName,
        materialized: bool,
    },
    Column {
        table: QualifiedName,
        column: Ident,
    },
    Constraint {
        table: QualifiedName,
        name: Ident,
    },
    Index {
        name: QualifiedName,
    },
    Function {
        name: RoutineName,
        kind: RoutineKind,
    },
    Trigger {
        table: QualifiedName,
        name: Ident,
    },
    Policy {
        table: QualifiedName,
        name: Ident,
    },
}

/// What a change needs to exist before it, what it brings into existence
/// and what it removes.
#[derive(Debug, Default)]
pub(crate) struct Edges {
    pub(crate) requires: Vec<Key>,
    /// Requirements found by name only: dropped to break a cycle.
    pub(crate) soft_requires: Vec<Key>,
    pub(crate) creates: Vec<Key>,
    pub(crate) drops: Vec<Key>,
}

impl Change {
    /// The table the change is about, if any.
    pub fn table(&self) -> Option<&QualifiedName> {
        match self {
            Change::CreateTable { table } => Some(&table.name),
            Change::DropTable { name, .. } => Some(name),
            Change::RenameTable { from, .. } => Some(from),
            Change::SetLogged { table, .. }
            | Change::AddColumn { table, .. }
            | Change::RenameColumn { table, .. }
            | Change::DropColumn { table, .. }
            | Change::AlterColumnType { table, .. }
            | Change::SetDefault { table, .. }
            | Change::DropDefault { table, .. }
            | Change::SetNotNull { table, .. }
            | Change::DropNotNull { table, .. }
            | Change::AddIdentity { table, .. }
            | Change::AlterIdentity { table, .. }
            | Change::DropIdentity { table, .. }
            | Change::DropExpression { table, .. }
            | Change::AddConstraint { table, .. }
            | Change::RenameConstraint { table, .. }
            | Change::ValidateConstraint { table, .. }
            | Change::DropConstraint { table, .. }
            | Change::CreateIndex { table, .. }
            | Change::DropIndex { table, .. }
            | Change::CreateTrigger { table, .. }
            | Change::SetTriggerEnabled { table, .. }
            | Change::DropTrigger { table, .. }
            | Change::CreatePolicy { table, .. }
            | Change::AlterPolicy { table, .. }
            | Change::DropPolicy { table, .. }
            | Change::SetRowSecurity { table, .. }
            | Change::SetForceRowSecurity { table, .. }
            | Change::AttachPartition { table, .. }
            | Change::DetachPartition { table, .. } => Some(table),
            _ => None,
        }
    }

    /// The order changes of different kinds go in when nothing else decides:
    /// create containers first, remove dependents before what they depend
    /// on, and remove containers last.
    #[expect(
        clippy::match_same_arms,
        reason = "grouped by kind of object, the ranks read as a table"
    )]
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Change::CreateSchema { .. } => 0,
            Change::CreateExtension { .. } | Change::AlterExtension { .. } => 1,
            Change::RenameTable { .. } | Change::RenameColumn { .. } => 2,
            Change::CreateEnum { .. } | Change::AddEnumValue { .. } => 3,
            Change::DropIndex { .. } => 4,
            Change::DropConstraint { constraint, .. } => {
                if constraint.kind == ConstraintKind::ForeignKey {
                    4
                } else {
                    5
                }
            }
            Change::DropTable { .. } => 6,
            Change::RenameSequence { .. }
            | Change::RenameConstraint { .. }
            | Change::RenameIndex { .. } => 7,
            Change::RebuildEnum { .. } => 8,
            Change::CreateSequence { .. } | Change::AlterSequence { .. } => 9,
            Change::CreateTable { .. } => 10,
            Change::AddColumn { .. } => 11,
            Change::SetLogged { .. }
            | Change::AlterColumnType { .. }
            | Change::SetDefault { .. }
            | Change::DropDefault { .. }
            | Change::SetNotNull { .. }
            | Change::DropNotNull { .. }
            | Change::AddIdentity { .. }
            | Change::AlterIdentity { .. }
            | Change::DropIdentity { .. }
            | Change::DropExpression { .. } => 12,
            Change::AddConstraint { constraint, .. } => {
                if constraint.kind == ConstraintKind::ForeignKey {
                    15
                } else {
                    13
                }
            }
            Change::CreateIndex { .. } => 14,
            Change::SetSequenceOwner { .. } | Change::ValidateConstraint { .. } => 16,
            Change::DropColumn { .. } => 17,
            Change::DropSequence { .. } => 18,
            Change::DropEnum { .. } => 19,
            Change::DropExtension { .. } => 20,
            Change::DropSchema { .. } => 21,
            Change::DropView { .. }
            | Change::DropTrigger { .. }
            | Change::DropPolicy { .. }
            | Change::DetachPartition { .. } => 4,
            Change::CreateDomain { .. } | Change::CreateCompositeType { .. } => 3,
            Change::AlterDomain { .. } | Change::AlterCompositeType { .. } => 8,
            Change::CreateFunction { .. } | Change::ReplaceFunction { .. } => 9,
            Change::SetRowSecurity { .. } | Change::SetForceRowSecurity { .. } => 12,
            Change::AttachPartition { .. } => 13,
            Change::CreateView { .. } | Change::ReplaceView { .. } => 16,
            Change::CreateTrigger { .. }
            | Change::SetTriggerEnabled { .. }
            | Change::CreatePolicy { .. }
            | Change::AlterPolicy { .. } => 17,
            Change::DropFunction { .. }
            | Change::DropDomain { .. }
            | Change::DropCompositeType { .. } => 19,
            Change::Grant { .. } | Change::Revoke { .. } => 21,
            Change::Comment { .. } => 22,
        }
    }

    pub(crate) fn edges(&self, to: &Catalog, reqs: &Requirements) -> Edges {
        let mut e = Edges::default();
        match self {
            Change::CreateSchema { schema } => e.creates.push(Key::Schema(schema.name.clone())),
            Change::DropSchema { name } => e.drops.push(Key::Schema(name.clone())),
            Change::CreateExtension { extension } => {
                e.requires.push(Key::Schema(extension.schema.clone()));
                e.creates.push(Key::Extension(extension.name.clone()));
            }
            Change::AlterExtension { name, .. } => e.requires.push(Key::Extension(name.clone())),
            Change::DropExtension { name } => e.drops.push(Key::Extension(name.clone())),
            Change::CreateEnum { enum_type } => {
                e.requires.push(Key::Schema(enum_type.name.schema.clone()));
                e.creates.push(Key::Type(enum_type.name.clone()));
            }
            Change::AddEnumValue { name, .. } => e.requires.push(Key::Type(name.clone())),
            Change::RebuildEnum { to, columns, .. } => {
                e.drops.push(Key::Type(to.name.clone()));
                e.creates.push(Key::Type(to.name.clone()));
                for c in columns {
                    e.requires
                        .push(Key::Column(c.table.clone(), c.column.clone()));
                    e.drops
                        .push(Key::Default(c.table.clone(), c.column.clone()));
                    e.creates
                        .push(Key::Default(c.table.clone(), c.column.clone()));
                }
            }
            Change::DropEnum { name } => e.drops.push(Key::Type(name.clone())),
            Change::CreateSequence { sequence } => {
                e.requires.push(Key::Schema(sequence.name.schema.clone()));
                e.creates.push(Key::Sequence(sequence.name.clone()));
            }
            Change::AlterSequence { name, .. } => e.requires.push(Key::Sequence(name.clone())),
            Change::RenameSequence { from, to } => {
                e.drops.push(Key::Sequence(from.clone()));
                e.creates.push(Key::Sequence(from.with_name(to.clone())));
            }
            Change::SetSequenceOwner { name, owned_by } => {
                e.requires.push(Key::Sequence(name.clone()));
                if let Some((table, column)) = owned_by {
                    e.requires.push(Key::Column(table.clone(), column.clone()));
                }
            }
            Change::DropSequence { name } => e.drops.push(Key::Sequence(name.clone())),
            Change::CreateTable { table } => {
                e.requires.push(Key::Schema(table.name.schema.clone()));
                e.creates.push(Key::Table(table.name.clone()));
                for column in &table.columns {
                    column_requires(column, &mut e.requires);
                    e.creates
                        .push(Key::Column(table.name.clone(), column.name.clone()));
                    e.creates
                        .push(Key::Default(table.name.clone(), column.name.clone()));
                    if let Some(identity) = &column.identity {
                        e.creates.push(Key::Sequence(identity.sequence.clone()));
                    }
                }
                for column in &table.columns {
                    reqs.add(
                        &Key::Column(table.name.clone(), column.name.clone()),
                        &mut e,
                    );
                    reqs.add(
                        &Key::Default(table.name.clone(), column.name.clone()),
                        &mut e,
                    );
                }
                for constraint in &table.constraints {
                    constraint_edges(to, &table.name, constraint, &mut e.requires, &mut e.creates);
                    reqs.add(
                        &Key::Constraint(table.name.clone(), constraint.name.clone()),
                        &mut e,
                    );
                }
                if let Some(partition) = &table.partition_of {
                    e.requires.push(Key::Table(partition.parent.clone()));
                }
                // A table's own columns are created with it.
                let own = |k: &Key| match k {
                    Key::Column(t, _) | Key::Constraint(t, _) | Key::Table(t) => t == &table.name,
                    _ => false,
                };
                e.requires.retain(|k| !own(k));
            }
            Change::RenameTable { from, to } => {
                e.drops.push(Key::Table(from.clone()));
                e.creates.push(Key::Table(from.with_name(to.clone())));
            }
            Change::SetLogged { table, .. } => e.requires.push(Key::Table(table.clone())),
            Change::DropTable { name, .. } => e.drops.push(Key::Table(name.clone())),
            Change::AddColumn { table, column } => {
                e.requires.push(Key::Table(table.clone()));
                column_requires(column, &mut e.requires);
                reqs.add(&Key::Column(table.clone(), column.name.clone()), &mut e);
                reqs.add(&Key::Default(table.clone(), column.name.clone()), &mut e);
                e.creates
                    .push(Key::Column(table.clone(), column.name.clone()));
                e.creates
                    .push(Key::Default(table.clone(), column.name.clone()));
                if let Some(identity) = &column.identity {
                    e.creates.push(Key::Sequence(identity.sequence.clone()));
                }
            }
            Change::RenameColumn { table, from, to } => {
                e.requires.push(Key::Table(table.clone()));
                e.drops.push(Key::Column(table.clone(), from.clone()));
                e.creates.push(Key::Column(table.clone(), to.clone()));
            }
            Change::DropColumn { table, column, .. } => {
                e.requires.push(Key::Table(table.clone()));
                e.drops.push(Key::Column(table.clone(), column.clone()));
                e.drops.push(Key::Default(table.clone(), column.clone()));
            }
            Change::AlterColumnType {
                table,
                column,
                had_default,
                default,
                ..
            } => {
                e.requires.push(Key::Table(table.clone()));
                if let Some(type_ref) = to
                    .tables
                    .get(table)
                    .and_then(|t| t.column(column))
                    .and_then(|c| c.type_ref.clone())
                {
                    e.requires.push(Key::Type(type_ref));
                }
                let key = Key::Column(table.clone(), column.clone());
                reqs.add(&key, &mut e);
                e.requires.push(key.clone());
                e.drops.push(key.clone());
                e.creates.push(key);
                if *had_default || default.is_some() {
                    e.drops.push(Key::Default(table.clone(), column.clone()));
                    e.creates.push(Key::Default(table.clone(), column.clone()));
                }
            }
            Change::SetDefault {
                table,
                column,
                default,
            } => {
                e.requires.push(Key::Column(table.clone(), column.clone()));
                e.requires.extend(default_requires(default));
                reqs.add(&Key::Default(table.clone(), column.clone()), &mut e);
                e.creates.push(Key::Default(table.clone(), column.clone()));
            }
            Change::DropDefault { table, column } => {
                e.requires.push(Key::Column(table.clone(), column.clone()));
                e.drops.push(Key::Default(table.clone(), column.clone()));
            }
            Change::AddIdentity {
                table,
                column,
                identity,
            } => {
                e.requires.push(Key::Table(table.clone()));
                e.requires.push(Key::Column(table.clone(), column.clone()));
                // Its sequence's name must be free (a serial's sequence goes first).
                e.creates.push(Key::Sequence(identity.sequence.clone()));
            }
            Change::DropIdentity {
                table,
                column,
                sequence,
            } => {
                e.requires.push(Key::Table(table.clone()));
                e.requires.push(Key::Column(table.clone(), column.clone()));
                e.drops.push(Key::Sequence(sequence.clone()));
            }
            Change::SetNotNull { table, column }
            | Change::DropNotNull { table, column }
            | Change::AlterIdentity { table, column, .. }
            | Change::DropExpression { table, column } => {
                e.requires.push(Key::Table(table.clone()));
                e.requires.push(Key::Column(table.clone(), column.clone()));
            }
            Change::AddConstraint { table, constraint } => {
                e.requires.push(Key::Table(table.clone()));
                constraint_edges(to, table, constraint, &mut e.requires, &mut e.creates);
                reqs.add(
                    &Key::Constraint(table.clone(), constraint.name.clone()),
                    &mut e,
                );
            }
            Change::RenameConstraint { table, from, to } => {
                e.requires.push(Key::Table(table.clone()));
                e.drops.push(Key::Constraint(table.clone(), from.clone()));
                e.drops.push(Key::Index(table.with_name(from.clone())));
                e.creates.push(Key::Constraint(table.clone(), to.clone()));
                e.creates.push(Key::Index(table.with_name(to.clone())));
            }
            Change::ValidateConstraint { table, name } => {
                e.requires.push(Key::Table(table.clone()));
                e.requires
                    .push(Key::Constraint(table.clone(), name.clone()));
            }
            Change::DropConstraint { table, constraint } => {
                e.requires.push(Key::Table(table.clone()));
                e.drops
                    .push(Key::Constraint(table.clone(), constraint.name.clone()));
                if has_index(constraint.kind) {
                    e.drops
                        .push(Key::Index(table.with_name(constraint.name.clone())));
                }
            }
            Change::CreateIndex { table, index } => {
                e.requires.push(Key::Table(table.clone()));
                for column in &index.columns {
                    e.requires.push(Key::Column(table.clone(), column.clone()));
                }
                let key = Key::Index(table.with_name(index.name.clone()));
                reqs.add(&key, &mut e);
                e.creates.push(key);
            }
            Change::RenameIndex { from, to } => {
                e.drops.push(Key::Index(from.clone()));
                e.creates.push(Key::Index(from.with_name(to.clone())));
            }
            Change::DropIndex { name, .. } => e.drops.push(Key::Index(name.clone())),
            Change::CreateView { view } | Change::ReplaceView { view } => {
                e.requires.push(Key::Schema(view.name.schema.clone()));
                let key = Key::View(view.name.clone());
                reqs.add(&key, &mut e);
                e.creates.push(key);
                for column in &view.columns {
                    e.creates
                        .push(Key::Column(view.name.clone(), column.name.clone()));
                }
                e.requires
                    .retain(|k| !matches!(k, Key::View(v) | Key::Column(v, _) if v == &view.name));
            }
            Change::DropView { view } => {
                e.drops.push(Key::View(view.name.clone()));
                for column in &view.columns {
                    e.drops
                        .push(Key::Column(view.name.clone(), column.name.clone()));
                }
                for index in &view.indexes {
                    e.drops
                        .push(Key::Index(view.name.with_name(index.name.clone())));
                }
                for trigger in &view.triggers {
                    e.drops
                        .push(Key::Trigger(view.name.clone(), trigger.name.clone()));
                }
            }
            Change::CreateFunction { function } | Change::ReplaceFunction { function } => {
                e.requires.push(Key::Schema(function.name.schema.clone()));
                let key = Key::Function(function.name.clone());
                reqs.add(&key, &mut e);
                e.requires.retain(|k| k != &key);
                e.soft_requires.retain(|k| k != &key);
                e.creates.push(key);
            }
            Change::DropFunction { function } => e.drops.push(Key::Function(function.name.clone())),
            Change::CreateTrigger { table, trigger } => {
                e.requires.push(relation_key(to, table));
                e.requires.push(Key::Function(trigger.function.clone()));
                let key = Key::Trigger(table.clone(), trigger.name.clone());
                reqs.add(&key, &mut e);
                e.creates.push(key);
            }
            Change::SetTriggerEnabled { table, name, .. } => {
                e.requires.push(Key::Trigger(table.clone(), name.clone()));
            }
            Change::DropTrigger { table, name } => {
                e.drops.push(Key::Trigger(table.clone(), name.clone()));
            }
            Change::CreatePolicy { table, policy } | Change::AlterPolicy { table, policy } => {
                e.requires.push(Key::Table(table.clone()));
                let key = Key::Policy(table.clone(), policy.name.clone());
                reqs.add(&key, &mut e);
                e.creates.push(key);
            }
            Change::DropPolicy { table, name } => {
                e.drops.push(Key::Policy(table.clone(), name.clone()));
            }
            Change::SetRowSecurity { table, .. } | Change::SetForceRowSecurity { table, .. } => {
                e.requires.push(Key::Table(table.clone()));
            }
            Change::CreateDomain { domain } => {
                e.requires.push(Key::Schema(domain.name.schema.clone()));
                let key = Key::Type(domain.name.clone());
                reqs.add(&key, &mut e);
                e.requires.retain(|k| k != &key);
                e.creates.push(key);
            }
            Change::AlterDomain { name, .. } => {
                let key = Key::Type(name.clone());
                reqs.add(&key, &mut e);
                e.requires.retain(|k| k != &key);
                e.requires.push(key);
            }
            Change::DropDomain { name } | Change::DropCompositeType { name } => {
                e.drops.push(Key::Type(name.clone()));
            }
            Change::CreateCompositeType { composite } => {
                e.requires.push(Key::Schema(composite.name.schema.clone()));
                let key = Key::Type(composite.name.clone());
                reqs.add(&key, &mut e);
                e.requires.retain(|k| k != &key);
                e.creates.push(key);
            }
            Change::AlterCompositeType { name, .. } => {
                let key = Key::Type(name.clone());
                reqs.add(&key, &mut e);
                e.requires.retain(|k| k != &key);
                e.requires.push(key);
            }
            Change::AttachPartition { table, partition } => {
                e.requires.push(Key::Table(table.clone()));
                e.requires.push(Key::Table(partition.parent.clone()));
            }
            Change::DetachPartition { table, parent } => {
                e.requires.push(Key::Table(table.clone()));
                e.requires.push(Key::Table(parent.clone()));
            }
            Change::Grant { target, .. } | Change::Revoke { target, .. } => {
                e.requires.push(match target {
                    GrantTarget::Schema(name) => Key::Schema(name.clone()),
                    GrantTarget::Table(name) => relation_key(to, name),
                    GrantTarget::Sequence(name) => Key::Sequence(name.clone()),
                    GrantTarget::Function(name, _) => Key::Function(name.clone()),
                });
            }
            Change::Comment { target, .. } => e.requires.push(match target {
                CommentTarget::Schema { name } => Key::Schema(name.clone()),
                CommentTarget::Type { name } | CommentTarget::Domain { name } => {
                    Key::Type(name.clone())
                }
                CommentTarget::View { name, .. } => Key::View(name.clone()),
                CommentTarget::Function { name, .. } => Key::Function(name.clone()),
                CommentTarget::Trigger { table, name } => Key::Trigger(table.clone(), name.clone()),
                CommentTarget::Policy { table, name } => Key::Policy(table.clone(), name.clone()),
                CommentTarget::Sequence { name } => Key::Sequence(name.clone()),
                CommentTarget::Table { name } => Key::Table(name.clone()),
                CommentTarget::Column { table, column } => {
                    Key::Column(table.clone(), column.clone())
                }
                CommentTarget::Constraint { table, name } => {
                    Key::Constraint(table.clone(), name.clone())
                }
                CommentTarget::Index { name } => Key::Index(name.clone()),
            }),
        }
        e
    }
}

/// A table's or a view's key, whichever `name` is in the target.
fn relation_key(to: &Catalog, name: &QualifiedName) -> Key {
    if to.views.contains_key(name) {
        Key::View(name.clone())
    } else {
        Key::Table(name.clone())
    }
}

pub(crate) fn has_index(kind: ConstraintKind) -> bool {
    matches!(
        kind,
        ConstraintKind::PrimaryKey | ConstraintKind::Unique | ConstraintKind::Exclusion
    )
}

fn column_requires(column: &Column, out: &mut Vec<Key>) {
    if let Some(type_ref) = &column.type_ref {
        out.push(Key::Type(type_ref.clone()));
    }
    if let Some(default) = &column.default {
        out.extend(default_requires(default));
    }
}

/// The sequences a default reads (`nextval('public.users_id_seq'::regclass)`).
pub(crate) fn default_requires(default: &str) -> Vec<Key> {
    sequences_in(default)
        .into_iter()
        .map(Key::Sequence)
        .collect()
}

/// Sequence names inside `'…'::regclass` literals of an expression.
pub(crate) fn sequences_in(expr: &str) -> Vec<QualifiedName> {
    let mut found = Vec::new();
    let Ok(tokens) = strata_syntax::tokenize(expr) else {
        return found;
    };
    let meaningful: Vec<_> = tokens.iter().filter(|t| !t.kind.is_trivia()).collect();
    for window in meaningful.windows(3) {
        if window[0].kind == strata_syntax::TokenKind::String
            && window[1].kind == strata_syntax::TokenKind::Cast
            && window[2].text(expr).eq_ignore_ascii_case("regclass")
        {
            let literal = window[0].text(expr);
            if let Some((schema, name)) =
                strata_syntax::parse_qualified(&literal[1..literal.len() - 1].replace("''", "'"))
            {
                found.push(QualifiedName::new(schema, name));
            }
        }
    }
    found
}

fn constraint_edges(
    to: &Catalog,
    table: &QualifiedName,
    constraint: &Constraint,
    requires: &mut Vec<Key>,
    creates: &mut Vec<Key>,
) {
    for column in &constraint.columns {
        requires.push(Key::Column(table.clone(), column.clone()));
    }
    if let Some(references) = &constraint.references {
        requires.push(Key::Table(references.table.clone()));
        for column in &references.columns {
            requires.push(Key::Column(references.table.clone(), column.clone()));
        }
        if let Some(key) = referenced_key(to, references) {
            requires.push(key);
        }
    }
    creates.push(Key::Constraint(table.clone(), constraint.name.clone()));
    if has_index(constraint.kind) {
        creates.push(Key::Index(table.with_name(constraint.name.clone())));
    }
}

/// The primary key, unique constraint or unique index of the referenced
/// table that a foreign key relies on.
pub(crate) fn referenced_key(catalog: &Catalog, references: &References) -> Option<Key> {
    let table = catalog.tables.get(&references.table)?;
    let same_columns = |columns: &[Ident]| {
        columns.len() == references.columns.len()
            && columns.iter().all(|c| references.columns.contains(c))
    };
    if let Some(constraint) = table.constraints.iter().find(|c| {
        matches!(c.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique)
            && same_columns(&c.columns)
    }) {
        return Some(Key::Constraint(table.name.clone(), constraint.name.clone()));
    }
    table
        .indexes
        .iter()
        .find(|i| i.unique && i.predicate.is_none() && same_columns(&i.columns))
        .map(|i| Key::Index(table.name.with_name(i.name.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sequences_in_defaults() {
        assert_eq!(
            sequences_in("nextval('public.users_id_seq'::regclass)"),
            vec![QualifiedName::new("public", "users_id_seq")]
        );
        assert_eq!(
            sequences_in("nextval('\"My Schema\".\"Seq\"'::regclass)"),
            vec![QualifiedName::new("My Schema", "Seq")]
        );
        assert!(sequences_in("now()").is_empty());
    }
}
