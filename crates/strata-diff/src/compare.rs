//! Object-by-object comparison: what changes turn `from` into `to`.
//! Ordering is not decided here (see `order`).

use std::collections::{BTreeMap, BTreeSet};

use strata_model::{Catalog, Column, Constraint, EnumType, Ident, Index, QualifiedName, Table};

use crate::change::{Change, CommentTarget, EnumColumn, has_index};
use crate::renames::rename_sequence;

/// Collects the changes; `from` has had the decided renames applied.
pub(crate) struct Comparer<'a> {
    pub(crate) from: &'a Catalog,
    pub(crate) to: &'a Catalog,
    pub(crate) changes: Vec<Change>,
    /// Columns whose default is set by another change (a type change or an
    /// enum rebuild), so no separate default change is needed.
    defaults_handled: BTreeSet<(QualifiedName, Ident)>,
}

impl<'a> Comparer<'a> {
    pub(crate) fn new(from: &'a Catalog, to: &'a Catalog) -> Comparer<'a> {
        Comparer {
            from,
            to,
            changes: Vec::new(),
            defaults_handled: BTreeSet::new(),
        }
    }

    pub(crate) fn run(mut self) -> Vec<Change> {
        self.schemas();
        self.extensions();
        self.enums();
        self.sequences();
        self.tables();
        self.recreate_dependent_foreign_keys();
        self.changes
    }

    fn comment(&mut self, target: CommentTarget, from: Option<&String>, to: Option<&String>) {
        if from != to {
            self.changes.push(Change::Comment {
                target,
                comment: to.cloned(),
            });
        }
    }

    fn schemas(&mut self) {
        for (name, schema) in &self.to.schemas {
            match self.from.schemas.get(name) {
                None => {
                    self.changes.push(Change::CreateSchema {
                        schema: strata_model::Schema {
                            name: name.clone(),
                            comment: None,
                        },
                    });
                    self.comment(
                        CommentTarget::Schema { name: name.clone() },
                        None,
                        schema.comment.as_ref(),
                    );
                }
                Some(old) => self.comment(
                    CommentTarget::Schema { name: name.clone() },
                    old.comment.as_ref(),
                    schema.comment.as_ref(),
                ),
            }
        }
        for name in self.from.schemas.keys() {
            if !self.to.schemas.contains_key(name) {
                self.changes.push(Change::DropSchema { name: name.clone() });
            }
        }
    }

    fn extensions(&mut self) {
        for (name, extension) in &self.to.extensions {
            match self.from.extensions.get(name) {
                None => self.changes.push(Change::CreateExtension {
                    extension: extension.clone(),
                }),
                Some(old) if old.version != extension.version => {
                    self.changes.push(Change::AlterExtension {
                        name: name.clone(),
                        from_version: old.version.clone(),
                        to_version: extension.version.clone(),
                    });
                }
                Some(_) => {}
            }
        }
        for name in self.from.extensions.keys() {
            if !self.to.extensions.contains_key(name) {
                self.changes
                    .push(Change::DropExtension { name: name.clone() });
            }
        }
    }

    fn enums(&mut self) {
        for (name, new) in &self.to.enums {
            let target = CommentTarget::Type { name: name.clone() };
            let Some(old) = self.from.enums.get(name) else {
                self.changes.push(Change::CreateEnum {
                    enum_type: EnumType {
                        comment: None,
                        ..new.clone()
                    },
                });
                self.comment(target, None, new.comment.as_ref());
                continue;
            };
            if old.values != new.values {
                if is_ordered_subset(&old.values, &new.values) {
                    for (i, value) in new.values.iter().enumerate() {
                        if old.values.contains(value) {
                            continue;
                        }
                        let before = new.values[i + 1..]
                            .iter()
                            .find(|v| old.values.contains(v))
                            .cloned();
                        self.changes.push(Change::AddEnumValue {
                            name: name.clone(),
                            value: value.clone(),
                            before,
                        });
                    }
                } else {
                    self.rebuild_enum(old, new);
                }
            }
            self.comment(target, old.comment.as_ref(), new.comment.as_ref());
        }
        for name in self.from.enums.keys() {
            if !self.to.enums.contains_key(name) {
                self.changes.push(Change::DropEnum { name: name.clone() });
            }
        }
    }

    fn rebuild_enum(&mut self, old: &EnumType, new: &EnumType) {
        let mut columns = Vec::new();
        for table in self.to.tables.values() {
            let Some(before) = self.from.tables.get(&table.name) else {
                continue;
            };
            for column in &table.columns {
                let Some(previous) = before.column(&column.name) else {
                    continue;
                };
                if column.type_ref.as_ref() == Some(&new.name)
                    && previous.type_ref.as_ref() == Some(&new.name)
                    && previous.data_type == column.data_type
                    && previous.generated.is_none()
                    && column.generated.is_none()
                {
                    self.defaults_handled
                        .insert((table.name.clone(), column.name.clone()));
                    columns.push(EnumColumn {
                        table: table.name.clone(),
                        column: column.name.clone(),
                        data_type: column.data_type.clone(),
                        had_default: previous.default.is_some(),
                        default: column.default.clone(),
                    });
                }
            }
        }
        self.changes.push(Change::RebuildEnum {
            from: old.clone(),
            to: EnumType {
                comment: None,
                ..new.clone()
            },
            columns,
        });
    }

    fn sequences(&mut self) {
        for (name, new) in &self.to.sequences {
            let target = CommentTarget::Sequence { name: name.clone() };
            let Some(old) = self.from.sequences.get(name) else {
                self.changes.push(Change::CreateSequence {
                    sequence: strata_model::Sequence {
                        owned_by: None,
                        comment: None,
                        last_value: None,
                        ..new.clone()
                    },
                });
                if new.owned_by.is_some() {
                    self.changes.push(Change::SetSequenceOwner {
                        name: name.clone(),
                        owned_by: new.owned_by.clone(),
                    });
                }
                self.comment(target, None, new.comment.as_ref());
                continue;
            };
            if old.options != new.options {
                self.changes.push(Change::AlterSequence {
                    name: name.clone(),
                    from: old.options.clone(),
                    to: new.options.clone(),
                    unused: old.last_value.is_none(),
                });
            }
            if old.owned_by != new.owned_by {
                self.changes.push(Change::SetSequenceOwner {
                    name: name.clone(),
                    owned_by: new.owned_by.clone(),
                });
            }
            self.comment(target, old.comment.as_ref(), new.comment.as_ref());
        }
        for (name, old) in &self.from.sequences {
            if self.to.sequences.contains_key(name) {
                continue;
            }
            // A sequence owned by a column that goes away goes with it.
            let goes_with_owner = old.owned_by.as_ref().is_some_and(|(table, column)| {
                self.to
                    .tables
                    .get(table)
                    .is_none_or(|t| t.column(column).is_none())
            });
            if !goes_with_owner {
                self.changes
                    .push(Change::DropSequence { name: name.clone() });
            }
        }
    }

    fn tables(&mut self) {
        for (name, new) in &self.to.tables {
            match self.from.tables.get(name) {
                None => self.create_table(new),
                Some(old) => self.alter_table(old, new),
            }
        }
        for (name, old) in &self.from.tables {
            if !self.to.tables.contains_key(name) {
                self.changes.push(Change::DropTable {
                    name: name.clone(),
                    rows_estimate: old.stats.map(|s| s.rows_estimate),
                });
            }
        }
    }

    fn create_table(&mut self, table: &Table) {
        let mut bare = Table {
            comment: None,
            stats: None,
            indexes: Vec::new(),
            ..table.clone()
        };
        for column in &mut bare.columns {
            column.comment = None;
        }
        for constraint in &mut bare.constraints {
            constraint.comment = None;
        }
        self.changes.push(Change::CreateTable { table: bare });
        for index in &table.indexes {
            self.changes.push(Change::CreateIndex {
                table: table.name.clone(),
                index: Index {
                    comment: None,
                    ..index.clone()
                },
            });
        }
        self.table_comments(None, table);
    }

    /// Comments of a table and everything in it, compared with `old`.
    fn table_comments(&mut self, old: Option<&Table>, new: &Table) {
        let name = &new.name;
        self.comment(
            CommentTarget::Table { name: name.clone() },
            old.and_then(|t| t.comment.as_ref()),
            new.comment.as_ref(),
        );
        for column in &new.columns {
            self.comment(
                CommentTarget::Column {
                    table: name.clone(),
                    column: column.name.clone(),
                },
                old.and_then(|t| t.column(&column.name))
                    .and_then(|c| c.comment.as_ref()),
                column.comment.as_ref(),
            );
        }
        for constraint in &new.constraints {
            self.comment(
                CommentTarget::Constraint {
                    table: name.clone(),
                    name: constraint.name.clone(),
                },
                old.and_then(|t| t.constraint(&constraint.name))
                    .and_then(|c| c.comment.as_ref()),
                constraint.comment.as_ref(),
            );
        }
        for index in &new.indexes {
            self.comment(
                CommentTarget::Index {
                    name: name.with_name(index.name.clone()),
                },
                old.and_then(|t| t.indexes.iter().find(|i| i.name == index.name))
                    .and_then(|i| i.comment.as_ref()),
                index.comment.as_ref(),
            );
        }
    }

    fn alter_table(&mut self, old: &Table, new: &Table) {
        let name = &new.name;
        if old.unlogged != new.unlogged {
            self.changes.push(Change::SetLogged {
                table: name.clone(),
                unlogged: new.unlogged,
            });
        }
        // Columns that are dropped and added again (a changed generation
        // expression): what depends on them is dropped with them.
        let mut recreated = BTreeSet::new();
        for column in &new.columns {
            match old.column(&column.name) {
                None => self.changes.push(Change::AddColumn {
                    table: name.clone(),
                    column: Column {
                        comment: None,
                        ..column.clone()
                    },
                }),
                Some(previous) => {
                    if self.alter_column(name, previous, column) {
                        recreated.insert(column.name.clone());
                    }
                }
            }
        }
        for column in &old.columns {
            if new.column(&column.name).is_none() {
                self.changes.push(Change::DropColumn {
                    table: name.clone(),
                    column: column.name.clone(),
                    generated: column.generated.is_some(),
                });
            }
        }
        self.constraints(old, new, &recreated);
        self.indexes(old, new, &recreated);
        self.table_comments(Some(old), new);
    }

    /// Returns true when the column has to be dropped and added again.
    fn alter_column(&mut self, table: &QualifiedName, old: &Column, new: &Column) -> bool {
        let column = &new.name;
        let push = |changes: &mut Vec<Change>, change| changes.push(change);
        if new.generated.is_some() && old.generated != new.generated {
            push(
                &mut self.changes,
                Change::DropColumn {
                    table: table.clone(),
                    column: column.clone(),
                    generated: old.generated.is_some(),
                },
            );
            push(
                &mut self.changes,
                Change::AddColumn {
                    table: table.clone(),
                    column: Column {
                        comment: None,
                        ..new.clone()
                    },
                },
            );
            return true;
        }
        if old.generated.is_some() && new.generated.is_none() {
            push(
                &mut self.changes,
                Change::DropExpression {
                    table: table.clone(),
                    column: column.clone(),
                },
            );
        }
        let handled = self
            .defaults_handled
            .contains(&(table.clone(), column.clone()));
        let mut default_done = handled;
        if old.data_type != new.data_type || old.collation != new.collation {
            push(
                &mut self.changes,
                Change::AlterColumnType {
                    table: table.clone(),
                    column: column.clone(),
                    from_type: old.data_type.clone(),
                    to_type: new.data_type.clone(),
                    collation: new.collation.clone(),
                    had_default: old.default.is_some() && !handled,
                    default: if handled || new.identity.is_some() {
                        None
                    } else {
                        new.default.clone()
                    },
                },
            );
            default_done = true;
        }
        let mut not_null_done = false;
        match (&old.identity, &new.identity) {
            (None, Some(identity)) => {
                // An identity column must be NOT NULL first.
                if !old.not_null {
                    push(
                        &mut self.changes,
                        Change::SetNotNull {
                            table: table.clone(),
                            column: column.clone(),
                        },
                    );
                    not_null_done = true;
                }
                if old.default.is_some() && !default_done {
                    push(
                        &mut self.changes,
                        Change::DropDefault {
                            table: table.clone(),
                            column: column.clone(),
                        },
                    );
                }
                push(
                    &mut self.changes,
                    Change::AddIdentity {
                        table: table.clone(),
                        column: column.clone(),
                        identity: identity.clone(),
                    },
                );
                default_done = true;
            }
            (Some(identity), None) => push(
                &mut self.changes,
                Change::DropIdentity {
                    table: table.clone(),
                    column: column.clone(),
                    sequence: identity.sequence.clone(),
                },
            ),
            (Some(a), Some(b)) if !a.same_definition(b) => {
                if a.sequence != b.sequence {
                    push(
                        &mut self.changes,
                        Change::RenameSequence {
                            from: a.sequence.clone(),
                            to: b.sequence.name.clone(),
                        },
                    );
                }
                if a.kind != b.kind || a.options != b.options {
                    push(
                        &mut self.changes,
                        Change::AlterIdentity {
                            table: table.clone(),
                            column: column.clone(),
                            from: a.clone(),
                            to: b.clone(),
                        },
                    );
                }
            }
            _ => {}
        }
        if !default_done && old.default != new.default {
            match &new.default {
                Some(default) => push(
                    &mut self.changes,
                    Change::SetDefault {
                        table: table.clone(),
                        column: column.clone(),
                        default: default.clone(),
                    },
                ),
                None => push(
                    &mut self.changes,
                    Change::DropDefault {
                        table: table.clone(),
                        column: column.clone(),
                    },
                ),
            }
        }
        if old.not_null != new.not_null && !not_null_done {
            push(
                &mut self.changes,
                if new.not_null {
                    Change::SetNotNull {
                        table: table.clone(),
                        column: column.clone(),
                    }
                } else {
                    Change::DropNotNull {
                        table: table.clone(),
                        column: column.clone(),
                    }
                },
            );
        }
        false
    }

    fn constraints(&mut self, old: &Table, new: &Table, recreated: &BTreeSet<Ident>) {
        let name = &new.name;
        let touches = |c: &Constraint| c.columns.iter().any(|col| recreated.contains(col));
        let (unmatched_old, unmatched_new) = pair_unmatched(
            old.constraints
                .iter()
                .filter(|c| new.constraint(&c.name).is_none()),
            new.constraints
                .iter()
                .filter(|c| old.constraint(&c.name).is_none()),
            same_constraint,
        );
        for (before, after) in &unmatched_new.renamed {
            self.changes.push(Change::RenameConstraint {
                table: name.clone(),
                from: before.name.clone(),
                to: after.name.clone(),
            });
            if !before.validated && after.validated {
                self.changes.push(validate(name, after));
            }
        }
        for constraint in &unmatched_old {
            self.changes.push(Change::DropConstraint {
                table: name.clone(),
                constraint: (*constraint).clone(),
            });
        }
        for constraint in &new.constraints {
            match old.constraint(&constraint.name) {
                Some(previous) if same_constraint(previous, constraint) && !touches(previous) => {
                    if !previous.validated && constraint.validated {
                        self.changes.push(validate(name, constraint));
                    }
                }
                Some(previous) => {
                    self.changes.push(Change::DropConstraint {
                        table: name.clone(),
                        constraint: previous.clone(),
                    });
                    self.add_constraint(name, constraint);
                }
                None if unmatched_new
                    .renamed
                    .iter()
                    .any(|(_, a)| a.name == constraint.name) => {}
                None => self.add_constraint(name, constraint),
            }
        }
    }

    fn add_constraint(&mut self, table: &QualifiedName, constraint: &Constraint) {
        self.changes.push(Change::AddConstraint {
            table: table.clone(),
            constraint: Constraint {
                comment: None,
                ..constraint.clone()
            },
        });
    }

    fn indexes(&mut self, old: &Table, new: &Table, recreated: &BTreeSet<Ident>) {
        let name = &new.name;
        let in_old = |n: &Ident| old.indexes.iter().find(|i| &i.name == n);
        let in_new = |n: &Ident| new.indexes.iter().find(|i| &i.name == n);
        let (unmatched_old, unmatched_new) = pair_unmatched(
            old.indexes.iter().filter(|i| in_new(&i.name).is_none()),
            new.indexes.iter().filter(|i| in_old(&i.name).is_none()),
            same_index,
        );
        for (before, after) in &unmatched_new.renamed {
            self.changes.push(Change::RenameIndex {
                from: name.with_name(before.name.clone()),
                to: after.name.clone(),
            });
        }
        for index in &unmatched_old {
            self.changes.push(Change::DropIndex {
                name: name.with_name(index.name.clone()),
                table: name.clone(),
            });
        }
        for index in &new.indexes {
            let create = Change::CreateIndex {
                table: name.clone(),
                index: Index {
                    comment: None,
                    ..index.clone()
                },
            };
            match in_old(&index.name) {
                Some(previous)
                    if same_index(previous, index)
                        && !previous.columns.iter().any(|c| recreated.contains(c)) => {}
                Some(_) => {
                    self.changes.push(Change::DropIndex {
                        name: name.with_name(index.name.clone()),
                        table: name.clone(),
                    });
                    self.changes.push(create);
                }
                None if unmatched_new
                    .renamed
                    .iter()
                    .any(|(_, a)| a.name == index.name) => {}
                None => self.changes.push(create),
            }
        }
    }

    /// A foreign key that relies on a key being dropped (and added again)
    /// must be dropped first and added again after.
    fn recreate_dependent_foreign_keys(&mut self) {
        let dropped: BTreeSet<crate::change::Key> = self
            .changes
            .iter()
            .flat_map(|change| match change {
                Change::DropConstraint { table, constraint } if has_index(constraint.kind) => {
                    vec![crate::change::Key::Constraint(
                        table.clone(),
                        constraint.name.clone(),
                    )]
                }
                Change::DropIndex { name, .. } => vec![crate::change::Key::Index(name.clone())],
                _ => Vec::new(),
            })
            .collect();
        if dropped.is_empty() {
            return;
        }
        let already: BTreeSet<(QualifiedName, Ident)> = self
            .changes
            .iter()
            .filter_map(|change| match change {
                Change::DropConstraint { table, constraint } => {
                    Some((table.clone(), constraint.name.clone()))
                }
                _ => None,
            })
            .collect();
        let mut extra = Vec::new();
        for table in self.from.tables.values() {
            let Some(target) = self.to.tables.get(&table.name) else {
                continue;
            };
            for constraint in &table.constraints {
                let Some(references) = &constraint.references else {
                    continue;
                };
                if already.contains(&(table.name.clone(), constraint.name.clone())) {
                    continue;
                }
                let relies = crate::change::referenced_key(self.from, references)
                    .is_some_and(|key| dropped.contains(&key));
                if let (true, Some(kept)) = (relies, target.constraint(&constraint.name)) {
                    extra.push(Change::DropConstraint {
                        table: table.name.clone(),
                        constraint: constraint.clone(),
                    });
                    extra.push(Change::AddConstraint {
                        table: table.name.clone(),
                        constraint: Constraint {
                            comment: None,
                            ..kept.clone()
                        },
                    });
                }
            }
        }
        self.changes.extend(extra);
    }
}

fn validate(table: &QualifiedName, constraint: &Constraint) -> Change {
    Change::ValidateConstraint {
        table: table.clone(),
        name: constraint.name.clone(),
    }
}

/// Whether `old`'s values appear in `new` in the same order, so that new
/// values can be added in place.
fn is_ordered_subset(old: &[String], new: &[String]) -> bool {
    let mut positions = old.iter().map(|v| new.iter().position(|n| n == v));
    let mut last = None;
    positions.all(|p| match p {
        Some(p) if last.is_none_or(|l| p > l) => {
            last = Some(p);
            true
        }
        _ => false,
    })
}

pub(crate) fn same_constraint(a: &Constraint, b: &Constraint) -> bool {
    if a.kind != b.kind {
        return false;
    }
    match (&a.references, &b.references) {
        (Some(x), Some(y)) => a.columns == b.columns && x == y,
        (None, None) => a.definition == b.definition,
        _ => false,
    }
}

pub(crate) fn same_index(a: &Index, b: &Index) -> bool {
    a.unique == b.unique && a.invalid == b.invalid && a.body() == b.body()
}

/// Objects renamed rather than dropped and created: pairs of unmatched
/// objects with equal definitions.
pub(crate) struct Unmatched<'x, T> {
    pub(crate) renamed: Vec<(&'x T, &'x T)>,
}

fn pair_unmatched<'x, T>(
    old: impl Iterator<Item = &'x T>,
    new: impl Iterator<Item = &'x T>,
    same: fn(&T, &T) -> bool,
) -> (Vec<&'x T>, Unmatched<'x, T>) {
    let mut old: Vec<&T> = old.collect();
    let mut renamed = Vec::new();
    for candidate in new {
        if let Some(at) = old.iter().position(|o| same(o, candidate)) {
            renamed.push((old.remove(at), candidate));
        }
    }
    (old, Unmatched { renamed })
}

/// Sequences owned by the same column on both sides but named differently
/// (a renamed table's serial sequence) are renamed, and the defaults that
/// name them follow.
pub(crate) fn rename_owned_sequences(from: &mut Catalog, to: &Catalog) -> Vec<Change> {
    let mut changes = Vec::new();
    let owners: BTreeMap<_, _> = to
        .sequences
        .values()
        .filter(|s| !from.sequences.contains_key(&s.name))
        .filter_map(|s| s.owned_by.clone().map(|owner| (owner, s.name.clone())))
        .collect();
    let candidates: Vec<_> = from
        .sequences
        .values()
        .filter(|s| !to.sequences.contains_key(&s.name))
        .filter_map(|s| {
            let owner = s.owned_by.clone()?;
            let new = owners.get(&owner)?;
            (new.schema == s.name.schema).then(|| (s.name.clone(), new.clone()))
        })
        .collect();
    for (old, new) in candidates {
        rename_sequence(from, &old, &new);
        changes.push(Change::RenameSequence {
            from: old,
            to: new.name.clone(),
        });
    }
    changes
}
