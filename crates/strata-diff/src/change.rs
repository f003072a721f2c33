//! The changes a plan is made of, and what each one needs, creates and
//! removes (the edges the planner orders them by).

use serde::Serialize;
use strata_model::{
    Catalog, Column, Constraint, ConstraintKind, EnumType, Extension, Ident, Identity, Index,
    QualifiedName, References, Schema, Sequence, SequenceOptions, Table,
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
    Schema { name: Ident },
    Type { name: QualifiedName },
    Sequence { name: QualifiedName },
    Table { name: QualifiedName },
    Column { table: QualifiedName, column: Ident },
    Constraint { table: QualifiedName, name: Ident },
    Index { name: QualifiedName },
}

/// What a change needs to exist before it, what it brings into existence
/// and what it removes.
#[derive(Debug, Default)]
pub(crate) struct Edges {
    pub(crate) requires: Vec<Key>,
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
            | Change::DropIndex { table, .. } => Some(table),
            _ => None,
        }
    }

    /// The order changes of different kinds go in when nothing else decides:
    /// create containers first, remove dependents before what they depend
    /// on, and remove containers last.
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
            Change::Comment { .. } => 22,
        }
    }

    pub(crate) fn edges(&self, to: &Catalog) -> Edges {
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
                for constraint in &table.constraints {
                    constraint_edges(to, &table.name, constraint, &mut e.requires, &mut e.creates);
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
                e.creates
                    .push(Key::Index(table.with_name(index.name.clone())));
            }
            Change::RenameIndex { from, to } => {
                e.drops.push(Key::Index(from.clone()));
                e.creates.push(Key::Index(from.with_name(to.clone())));
            }
            Change::DropIndex { name, .. } => e.drops.push(Key::Index(name.clone())),
            Change::Comment { target, .. } => e.requires.push(match target {
                CommentTarget::Schema { name } => Key::Schema(name.clone()),
                CommentTarget::Type { name } => Key::Type(name.clone()),
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
