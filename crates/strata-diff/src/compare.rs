//! Object-by-object comparison: what changes turn `from` into `to`.
//! Ordering is not decided here (see `order`).

use std::collections::{BTreeMap, BTreeSet};

use strata_model::GrantTarget;
use strata_model::{
    Catalog, Column, CompositeType, Constraint, Domain, EnumType, Function, Ident, Index, Policy,
    QualifiedName, RoutineName, Table, Trigger, View, ViewColumn,
};

use crate::change::{
    AttributeAction, Change, CommentTarget, DomainAction, EnumColumn, Key, has_index,
};
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
        self.domains();
        self.composite_types();
        self.functions();
        self.tables();
        self.views();
        self.recreate_dependent_foreign_keys();
        self.recreate_dependents();
        self.grants();
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
                // Partitioning (or SQLite's STRICT / WITHOUT ROWID) cannot be
                // added, removed or changed in place.
                Some(old)
                    if old.partition_key != new.partition_key || old.options != new.options =>
                {
                    self.changes.push(Change::DropTable {
                        name: name.clone(),
                        rows_estimate: old.stats.map(|s| s.rows_estimate),
                    });
                    self.create_table(new);
                }
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
        // Constraints a new table cannot be created with (NOT VALID) are
        // added afterwards.
        let (inline, later): (Vec<_>, Vec<_>) = std::mem::take(&mut bare.constraints)
            .into_iter()
            .partition(|c| c.validated);
        bare.constraints = inline;
        bare.policies = Vec::new();
        bare.triggers = Vec::new();
        bare.row_security = false;
        bare.force_row_security = false;
        self.changes.push(Change::CreateTable { table: bare });
        for constraint in later {
            self.add_constraint(&table.name, &constraint);
        }
        for index in &table.indexes {
            self.changes.push(Change::CreateIndex {
                table: table.name.clone(),
                index: Index {
                    comment: None,
                    ..index.clone()
                },
            });
        }
        if table.row_security {
            self.changes.push(Change::SetRowSecurity {
                table: table.name.clone(),
                enabled: true,
            });
        }
        if table.force_row_security {
            self.changes.push(Change::SetForceRowSecurity {
                table: table.name.clone(),
                forced: true,
            });
        }
        self.policies(&table.name, &[], &table.policies);
        self.triggers(&table.name, &[], &table.triggers);
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
        if old.partition_of != new.partition_of {
            if let Some(previous) = &old.partition_of {
                self.changes.push(Change::DetachPartition {
                    table: name.clone(),
                    parent: previous.parent.clone(),
                });
            }
            if let Some(partition) = &new.partition_of {
                self.changes.push(Change::AttachPartition {
                    table: name.clone(),
                    partition: partition.clone(),
                });
            }
        }
        if old.row_security != new.row_security {
            self.changes.push(Change::SetRowSecurity {
                table: name.clone(),
                enabled: new.row_security,
            });
        }
        if old.force_row_security != new.force_row_security {
            self.changes.push(Change::SetForceRowSecurity {
                table: name.clone(),
                forced: new.force_row_security,
            });
        }
        self.policies(name, &old.policies, &new.policies);
        self.triggers(name, &old.triggers, &new.triggers);
        // A partition's columns are its parent's: changes to them are made
        // on the parent and reach the partition from there.
        let partition = old.partition_of.is_some() && new.partition_of.is_some();
        // Columns that are dropped and added again (a changed generation
        // expression): what depends on them is dropped with them.
        let mut recreated = BTreeSet::new();
        for column in new.columns.iter().filter(|_| !partition) {
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
        for column in old.columns.iter().filter(|_| !partition) {
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
        self.index_list(&new.name, &old.indexes, &new.indexes, recreated);
    }

    fn index_list(
        &mut self,
        name: &QualifiedName,
        old_indexes: &[Index],
        new_indexes: &[Index],
        recreated: &BTreeSet<Ident>,
    ) {
        let in_old = |n: &Ident| old_indexes.iter().find(|i| &i.name == n);
        let in_new = |n: &Ident| new_indexes.iter().find(|i| &i.name == n);
        let (unmatched_old, unmatched_new) = pair_unmatched(
            old_indexes.iter().filter(|i| in_new(&i.name).is_none()),
            new_indexes.iter().filter(|i| in_old(&i.name).is_none()),
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
        for index in new_indexes {
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

impl Comparer<'_> {
    fn policies(&mut self, table: &QualifiedName, old: &[Policy], new: &[Policy]) {
        for policy in new {
            let target = CommentTarget::Policy {
                table: table.clone(),
                name: policy.name.clone(),
            };
            let bare = Policy {
                comment: None,
                ..policy.clone()
            };
            match old.iter().find(|p| p.name == policy.name) {
                None => {
                    self.changes.push(Change::CreatePolicy {
                        table: table.clone(),
                        policy: bare,
                    });
                    self.comment(target, None, policy.comment.as_ref());
                }
                Some(previous) => {
                    let same = previous.permissive == policy.permissive
                        && previous.command == policy.command
                        && previous.roles == policy.roles
                        && previous.using == policy.using
                        && previous.with_check == policy.with_check;
                    // ALTER POLICY can change roles and expressions, but
                    // cannot remove an expression or change the command.
                    let alterable = previous.permissive == policy.permissive
                        && previous.command == policy.command
                        && (policy.using.is_some() || previous.using.is_none())
                        && (policy.with_check.is_some() || previous.with_check.is_none());
                    if !same && alterable {
                        self.changes.push(Change::AlterPolicy {
                            table: table.clone(),
                            policy: bare,
                        });
                    } else if !same {
                        self.changes.push(Change::DropPolicy {
                            table: table.clone(),
                            name: policy.name.clone(),
                        });
                        self.changes.push(Change::CreatePolicy {
                            table: table.clone(),
                            policy: bare,
                        });
                    }
                    self.comment(target, previous.comment.as_ref(), policy.comment.as_ref());
                }
            }
        }
        for policy in old {
            if !new.iter().any(|p| p.name == policy.name) {
                self.changes.push(Change::DropPolicy {
                    table: table.clone(),
                    name: policy.name.clone(),
                });
            }
        }
    }

    fn triggers(&mut self, relation: &QualifiedName, old: &[Trigger], new: &[Trigger]) {
        for trigger in new {
            let target = CommentTarget::Trigger {
                table: relation.clone(),
                name: trigger.name.clone(),
            };
            match old.iter().find(|t| t.name == trigger.name) {
                Some(previous)
                    if previous.definition == trigger.definition
                        && previous.function == trigger.function =>
                {
                    if previous.enabled != trigger.enabled {
                        self.changes.push(Change::SetTriggerEnabled {
                            table: relation.clone(),
                            name: trigger.name.clone(),
                            enabled: trigger.enabled.clone(),
                        });
                    }
                    self.comment(target, previous.comment.as_ref(), trigger.comment.as_ref());
                }
                previous => {
                    if previous.is_some() {
                        self.changes.push(Change::DropTrigger {
                            table: relation.clone(),
                            name: trigger.name.clone(),
                        });
                    }
                    self.create_trigger(relation, trigger);
                }
            }
        }
        for trigger in old {
            if !new.iter().any(|t| t.name == trigger.name) {
                self.changes.push(Change::DropTrigger {
                    table: relation.clone(),
                    name: trigger.name.clone(),
                });
            }
        }
    }

    fn create_trigger(&mut self, relation: &QualifiedName, trigger: &Trigger) {
        self.changes.push(Change::CreateTrigger {
            table: relation.clone(),
            trigger: Trigger {
                comment: None,
                ..trigger.clone()
            },
        });
        if trigger.enabled != "O" {
            self.changes.push(Change::SetTriggerEnabled {
                table: relation.clone(),
                name: trigger.name.clone(),
                enabled: trigger.enabled.clone(),
            });
        }
        self.comment(
            CommentTarget::Trigger {
                table: relation.clone(),
                name: trigger.name.clone(),
            },
            None,
            trigger.comment.as_ref(),
        );
    }

    fn views(&mut self) {
        for (name, new) in &self.to.views {
            match self.from.views.get(name) {
                None => self.create_view(new),
                Some(old) if same_view(old, new) => {
                    self.index_list(name, &old.indexes, &new.indexes, &BTreeSet::new());
                    self.triggers(name, &old.triggers, &new.triggers);
                    self.view_comments(Some(old), new);
                }
                Some(old) if replaceable(old, new) => {
                    self.changes.push(Change::ReplaceView {
                        view: bare_view(new),
                    });
                    self.triggers(name, &old.triggers, &new.triggers);
                    self.view_comments(Some(old), new);
                }
                Some(old) => {
                    self.changes.push(Change::DropView { view: old.clone() });
                    self.create_view(new);
                }
            }
        }
        for (name, old) in &self.from.views {
            if !self.to.views.contains_key(name) {
                self.changes.push(Change::DropView { view: old.clone() });
            }
        }
    }

    fn create_view(&mut self, view: &View) {
        self.changes.push(Change::CreateView {
            view: bare_view(view),
        });
        for index in &view.indexes {
            self.changes.push(Change::CreateIndex {
                table: view.name.clone(),
                index: Index {
                    comment: None,
                    ..index.clone()
                },
            });
        }
        for trigger in &view.triggers {
            self.create_trigger(&view.name, trigger);
        }
        self.view_comments(None, view);
    }

    fn view_comments(&mut self, old: Option<&View>, new: &View) {
        self.comment(
            CommentTarget::View {
                name: new.name.clone(),
                materialized: new.materialized,
            },
            old.and_then(|v| v.comment.as_ref()),
            new.comment.as_ref(),
        );
        for column in &new.columns {
            let before = old
                .and_then(|v| v.columns.iter().find(|c| c.name == column.name))
                .and_then(|c| c.comment.as_ref());
            self.comment(
                CommentTarget::Column {
                    table: new.name.clone(),
                    column: column.name.clone(),
                },
                before,
                column.comment.as_ref(),
            );
        }
        for index in &new.indexes {
            let before = old
                .and_then(|v| v.indexes.iter().find(|i| i.name == index.name))
                .and_then(|i| i.comment.as_ref());
            self.comment(
                CommentTarget::Index {
                    name: new.name.with_name(index.name.clone()),
                },
                before,
                index.comment.as_ref(),
            );
        }
    }

    fn functions(&mut self) {
        for (name, new) in &self.to.functions {
            let target = CommentTarget::Function {
                name: name.clone(),
                kind: new.kind,
            };
            let bare = Function {
                comment: None,
                ..new.clone()
            };
            match self.from.functions.get(name) {
                None => {
                    self.changes.push(Change::CreateFunction { function: bare });
                    self.comment(target, None, new.comment.as_ref());
                }
                Some(old) => {
                    if old.definition != new.definition || old.kind != new.kind {
                        if old.kind == new.kind
                            && old.result == new.result
                            && old.arguments == new.arguments
                        {
                            self.changes
                                .push(Change::ReplaceFunction { function: bare });
                        } else {
                            self.changes.push(Change::DropFunction {
                                function: old.clone(),
                            });
                            self.changes.push(Change::CreateFunction { function: bare });
                        }
                    }
                    self.comment(target, old.comment.as_ref(), new.comment.as_ref());
                }
            }
        }
        for (name, old) in &self.from.functions {
            if !self.to.functions.contains_key(name) {
                self.changes.push(Change::DropFunction {
                    function: old.clone(),
                });
            }
        }
    }

    fn domains(&mut self) {
        for (name, new) in &self.to.domains {
            let target = CommentTarget::Domain { name: name.clone() };
            let create = |changes: &mut Vec<Change>| {
                let (inline, later): (Vec<_>, Vec<_>) =
                    new.constraints.iter().cloned().partition(|c| c.validated);
                changes.push(Change::CreateDomain {
                    domain: Domain {
                        constraints: inline,
                        comment: None,
                        ..new.clone()
                    },
                });
                for constraint in later {
                    changes.push(Change::AlterDomain {
                        name: name.clone(),
                        action: DomainAction::AddConstraint { constraint },
                    });
                }
            };
            let Some(old) = self.from.domains.get(name) else {
                create(&mut self.changes);
                self.comment(target, None, new.comment.as_ref());
                continue;
            };
            if old.data_type != new.data_type || old.collation != new.collation {
                self.changes.push(Change::DropDomain { name: name.clone() });
                create(&mut self.changes);
                self.comment(target, None, new.comment.as_ref());
                continue;
            }
            let alter = |changes: &mut Vec<Change>, action| {
                changes.push(Change::AlterDomain {
                    name: name.clone(),
                    action,
                });
            };
            if old.default != new.default {
                match &new.default {
                    Some(default) => alter(
                        &mut self.changes,
                        DomainAction::SetDefault {
                            default: default.clone(),
                        },
                    ),
                    None => alter(&mut self.changes, DomainAction::DropDefault),
                }
            }
            for constraint in &old.constraints {
                let kept = new.constraints.iter().find(|c| c.name == constraint.name);
                if kept.is_none_or(|c| c.definition != constraint.definition) {
                    alter(
                        &mut self.changes,
                        DomainAction::DropConstraint {
                            name: constraint.name.clone(),
                        },
                    );
                }
            }
            for constraint in &new.constraints {
                match old.constraints.iter().find(|c| c.name == constraint.name) {
                    Some(previous) if previous.definition == constraint.definition => {
                        if !previous.validated && constraint.validated {
                            alter(
                                &mut self.changes,
                                DomainAction::ValidateConstraint {
                                    name: constraint.name.clone(),
                                },
                            );
                        }
                    }
                    _ => alter(
                        &mut self.changes,
                        DomainAction::AddConstraint {
                            constraint: constraint.clone(),
                        },
                    ),
                }
            }
            if old.not_null != new.not_null {
                alter(
                    &mut self.changes,
                    if new.not_null {
                        DomainAction::SetNotNull
                    } else {
                        DomainAction::DropNotNull
                    },
                );
            }
            self.comment(target, old.comment.as_ref(), new.comment.as_ref());
        }
        for name in self.from.domains.keys() {
            if !self.to.domains.contains_key(name) {
                self.changes.push(Change::DropDomain { name: name.clone() });
            }
        }
    }

    fn composite_types(&mut self) {
        for (name, new) in &self.to.composite_types {
            let target = CommentTarget::Type { name: name.clone() };
            let Some(old) = self.from.composite_types.get(name) else {
                self.changes.push(Change::CreateCompositeType {
                    composite: CompositeType {
                        comment: None,
                        ..new.clone()
                    },
                });
                self.comment(target, None, new.comment.as_ref());
                continue;
            };
            for attribute in &old.attributes {
                if !new.attributes.iter().any(|a| a.name == attribute.name) {
                    self.changes.push(Change::AlterCompositeType {
                        name: name.clone(),
                        action: AttributeAction::Drop {
                            name: attribute.name.clone(),
                        },
                    });
                }
            }
            for attribute in &new.attributes {
                match old.attributes.iter().find(|a| a.name == attribute.name) {
                    None => self.changes.push(Change::AlterCompositeType {
                        name: name.clone(),
                        action: AttributeAction::Add {
                            attribute: attribute.clone(),
                        },
                    }),
                    Some(previous) if previous != attribute => {
                        self.changes.push(Change::AlterCompositeType {
                            name: name.clone(),
                            action: AttributeAction::AlterType {
                                attribute: attribute.clone(),
                            },
                        });
                    }
                    Some(_) => {}
                }
            }
            self.comment(target, old.comment.as_ref(), new.comment.as_ref());
        }
        for name in self.from.composite_types.keys() {
            if !self.to.composite_types.contains_key(name) {
                self.changes
                    .push(Change::DropCompositeType { name: name.clone() });
            }
        }
    }

    /// Views, triggers, policies, indexes, constraints, defaults and
    /// routines that depend on something being dropped or rebuilt are
    /// dropped first and created again after, exactly as the target has
    /// them. A column's own type change rebuilds its indexes, constraints
    /// and default by itself, so only views, triggers and policies are
    /// recreated for that cause.
    fn recreate_dependents(&mut self) {
        let graph = crate::order::dependents(self.from);
        let mut handled: BTreeSet<Key> = BTreeSet::new();
        let mut queue: Vec<(Key, bool)> = Vec::new();
        for change in &self.changes {
            match change {
                Change::DropView { view } => {
                    handled.insert(Key::View(view.name.clone()));
                    // Its indexes and triggers go with it (and come back with it).
                    for index in &view.indexes {
                        handled.insert(Key::Index(view.name.with_name(index.name.clone())));
                    }
                    for trigger in &view.triggers {
                        handled.insert(Key::Trigger(view.name.clone(), trigger.name.clone()));
                    }
                    queue.push((Key::View(view.name.clone()), false));
                    for column in &view.columns {
                        queue.push((Key::Column(view.name.clone(), column.name.clone()), false));
                    }
                }
                Change::DropFunction { function } => {
                    handled.insert(Key::Function(function.name.clone()));
                    queue.push((Key::Function(function.name.clone()), false));
                }
                Change::DropDomain { name } | Change::DropCompositeType { name } => {
                    queue.push((Key::Type(name.clone()), false));
                }
                Change::AlterColumnType { table, column, .. } => {
                    queue.push((Key::Column(table.clone(), column.clone()), true));
                }
                Change::RebuildEnum { to, columns, .. } => {
                    queue.push((Key::Type(to.name.clone()), false));
                    for c in columns {
                        // The rebuild sets the column's default itself.
                        handled.insert(Key::Default(c.table.clone(), c.column.clone()));
                        queue.push((Key::Column(c.table.clone(), c.column.clone()), false));
                    }
                }
                Change::DropColumn { table, column, .. } => {
                    handled.insert(Key::Default(table.clone(), column.clone()));
                    queue.push((Key::Column(table.clone(), column.clone()), false));
                }
                Change::DropTrigger { table, name } => {
                    handled.insert(Key::Trigger(table.clone(), name.clone()));
                }
                Change::DropPolicy { table, name } => {
                    handled.insert(Key::Policy(table.clone(), name.clone()));
                }
                Change::DropIndex { name, .. } => {
                    handled.insert(Key::Index(name.clone()));
                }
                Change::DropConstraint { table, constraint } => {
                    handled.insert(Key::Constraint(table.clone(), constraint.name.clone()));
                }
                Change::DropDefault { table, column } => {
                    handled.insert(Key::Default(table.clone(), column.clone()));
                }
                _ => {}
            }
        }
        let mut extra = Vec::new();
        let mut seen: BTreeSet<(Key, bool)> = BTreeSet::new();
        while let Some((key, type_change)) = queue.pop() {
            if !seen.insert((key.clone(), type_change)) {
                continue;
            }
            for dependent in graph.get(&key).into_iter().flatten() {
                if handled.contains(dependent) {
                    continue;
                }
                let recreated = match dependent {
                    Key::View(name) => self.recreate_view(name, &mut extra),
                    Key::Trigger(table, name) => self.recreate_trigger(table, name, &mut extra),
                    Key::Policy(table, name) => self.recreate_policy(table, name, &mut extra),
                    Key::Index(name) if !type_change => self.recreate_index(name, &mut extra),
                    Key::Constraint(table, name) if !type_change => {
                        self.recreate_constraint(table, name, &mut extra)
                    }
                    Key::Default(table, column) if !type_change => {
                        self.recreate_default(table, column, &mut extra)
                    }
                    Key::Function(name) if !type_change => self.recreate_function(name, &mut extra),
                    _ => false,
                };
                if recreated {
                    handled.insert(dependent.clone());
                    queue.push((dependent.clone(), false));
                    if let Key::View(name) = dependent
                        && let Some(view) = self.from.views.get(name)
                    {
                        for column in &view.columns {
                            queue.push((Key::Column(name.clone(), column.name.clone()), false));
                        }
                    }
                }
            }
        }
        // What is dropped and created again needs no other alteration.
        let recreated: BTreeSet<Key> = extra
            .iter()
            .filter_map(|change| match change {
                Change::CreatePolicy { table, policy } => {
                    Some(Key::Policy(table.clone(), policy.name.clone()))
                }
                Change::CreateView { view } => Some(Key::View(view.name.clone())),
                Change::CreateFunction { function } => Some(Key::Function(function.name.clone())),
                Change::CreateTrigger { table, trigger } => {
                    Some(Key::Trigger(table.clone(), trigger.name.clone()))
                }
                _ => None,
            })
            .collect();
        self.changes.retain(|change| match change {
            Change::AlterPolicy { table, policy } => {
                !recreated.contains(&Key::Policy(table.clone(), policy.name.clone()))
            }
            Change::ReplaceView { view } => !recreated.contains(&Key::View(view.name.clone())),
            Change::ReplaceFunction { function } => {
                !recreated.contains(&Key::Function(function.name.clone()))
            }
            Change::SetTriggerEnabled { table, name, .. } => {
                !recreated.contains(&Key::Trigger(table.clone(), name.clone()))
            }
            _ => true,
        });
        self.changes.extend(extra);
    }

    fn recreate_view(&self, name: &QualifiedName, out: &mut Vec<Change>) -> bool {
        let (Some(old), Some(new)) = (self.from.views.get(name), self.to.views.get(name)) else {
            return false;
        };
        out.push(Change::DropView { view: old.clone() });
        out.push(Change::CreateView {
            view: bare_view(new),
        });
        for index in &new.indexes {
            out.push(Change::CreateIndex {
                table: name.clone(),
                index: Index {
                    comment: None,
                    ..index.clone()
                },
            });
        }
        for trigger in &new.triggers {
            out.push(Change::CreateTrigger {
                table: name.clone(),
                trigger: Trigger {
                    comment: None,
                    ..trigger.clone()
                },
            });
        }
        // Comments go with the dropped view.
        let target = CommentTarget::View {
            name: name.clone(),
            materialized: new.materialized,
        };
        if new.comment.is_some() {
            out.push(Change::Comment {
                target,
                comment: new.comment.clone(),
            });
        }
        for column in &new.columns {
            if column.comment.is_some() {
                out.push(Change::Comment {
                    target: CommentTarget::Column {
                        table: name.clone(),
                        column: column.name.clone(),
                    },
                    comment: column.comment.clone(),
                });
            }
        }
        true
    }

    fn recreate_trigger(&self, table: &QualifiedName, name: &Ident, out: &mut Vec<Change>) -> bool {
        let find = |catalog: &Catalog| -> Option<Trigger> {
            catalog
                .tables
                .get(table)
                .map(|t| &t.triggers)
                .or_else(|| catalog.views.get(table).map(|v| &v.triggers))
                .and_then(|ts| ts.iter().find(|t| &t.name == name).cloned())
        };
        let (Some(_), Some(new)) = (find(self.from), find(self.to)) else {
            return false;
        };
        out.push(Change::DropTrigger {
            table: table.clone(),
            name: name.clone(),
        });
        out.push(Change::CreateTrigger {
            table: table.clone(),
            trigger: Trigger {
                comment: None,
                ..new.clone()
            },
        });
        if new.enabled != "O" {
            out.push(Change::SetTriggerEnabled {
                table: table.clone(),
                name: name.clone(),
                enabled: new.enabled.clone(),
            });
        }
        restore_comment(
            out,
            CommentTarget::Trigger {
                table: table.clone(),
                name: name.clone(),
            },
            new.comment,
        );
        true
    }

    fn recreate_policy(&self, table: &QualifiedName, name: &Ident, out: &mut Vec<Change>) -> bool {
        let find = |catalog: &Catalog| {
            catalog
                .tables
                .get(table)
                .and_then(|t| t.policies.iter().find(|p| &p.name == name).cloned())
        };
        let (Some(_), Some(new)) = (find(self.from), find(self.to)) else {
            return false;
        };
        out.push(Change::DropPolicy {
            table: table.clone(),
            name: name.clone(),
        });
        let comment = new.comment.clone();
        out.push(Change::CreatePolicy {
            table: table.clone(),
            policy: Policy {
                comment: None,
                ..new
            },
        });
        restore_comment(
            out,
            CommentTarget::Policy {
                table: table.clone(),
                name: name.clone(),
            },
            comment,
        );
        true
    }

    fn recreate_index(&self, name: &QualifiedName, out: &mut Vec<Change>) -> bool {
        let find = |catalog: &Catalog| -> Option<(QualifiedName, Index)> {
            catalog
                .tables
                .values()
                .map(|t| (&t.name, &t.indexes))
                .chain(catalog.views.values().map(|v| (&v.name, &v.indexes)))
                .filter(|(t, _)| t.schema == name.schema)
                .find_map(|(t, indexes)| {
                    indexes
                        .iter()
                        .find(|i| i.name == name.name)
                        .map(|i| (t.clone(), i.clone()))
                })
        };
        let (Some(_), Some((table, new))) = (find(self.from), find(self.to)) else {
            return false;
        };
        out.push(Change::DropIndex {
            name: name.clone(),
            table: table.clone(),
        });
        let comment = new.comment.clone();
        out.push(Change::CreateIndex {
            table,
            index: Index {
                comment: None,
                ..new
            },
        });
        restore_comment(out, CommentTarget::Index { name: name.clone() }, comment);
        true
    }

    fn recreate_constraint(
        &self,
        table: &QualifiedName,
        name: &Ident,
        out: &mut Vec<Change>,
    ) -> bool {
        let (Some(old), Some(new)) = (
            self.from.tables.get(table).and_then(|t| t.constraint(name)),
            self.to.tables.get(table).and_then(|t| t.constraint(name)),
        ) else {
            return false;
        };
        out.push(Change::DropConstraint {
            table: table.clone(),
            constraint: old.clone(),
        });
        out.push(Change::AddConstraint {
            table: table.clone(),
            constraint: Constraint {
                comment: None,
                ..new.clone()
            },
        });
        restore_comment(
            out,
            CommentTarget::Constraint {
                table: table.clone(),
                name: name.clone(),
            },
            new.comment.clone(),
        );
        true
    }

    fn recreate_default(
        &self,
        table: &QualifiedName,
        column: &Ident,
        out: &mut Vec<Change>,
    ) -> bool {
        let default = |catalog: &Catalog| {
            catalog
                .tables
                .get(table)
                .and_then(|t| t.column(column))
                .and_then(|c| c.default.clone())
        };
        let (Some(_), Some(new)) = (default(self.from), default(self.to)) else {
            return false;
        };
        out.push(Change::DropDefault {
            table: table.clone(),
            column: column.clone(),
        });
        out.push(Change::SetDefault {
            table: table.clone(),
            column: column.clone(),
            default: new,
        });
        true
    }

    fn recreate_function(&self, name: &RoutineName, out: &mut Vec<Change>) -> bool {
        let (Some(old), Some(new)) = (self.from.functions.get(name), self.to.functions.get(name))
        else {
            return false;
        };
        out.push(Change::DropFunction {
            function: old.clone(),
        });
        out.push(Change::CreateFunction {
            function: Function {
                comment: None,
                ..new.clone()
            },
        });
        restore_comment(
            out,
            CommentTarget::Function {
                name: name.clone(),
                kind: new.kind,
            },
            new.comment.clone(),
        );
        true
    }
}

impl Comparer<'_> {
    /// GRANT and REVOKE until every object has the target's privileges. An
    /// object created by this plan starts from PostgreSQL's defaults
    /// (`EXECUTE` for everyone on a routine, nothing else).
    fn grants(&mut self) {
        use std::collections::BTreeMap as Map;
        // (target, grantee) -> privilege -> grantable
        type Held = Map<(GrantTarget, String), Map<String, bool>>;
        let fresh: BTreeSet<GrantTarget> = self
            .changes
            .iter()
            .filter_map(|change| match change {
                Change::CreateSchema { schema } => Some(GrantTarget::Schema(schema.name.clone())),
                Change::CreateTable { table } => Some(GrantTarget::Table(table.name.clone())),
                Change::CreateView { view } => Some(GrantTarget::Table(view.name.clone())),
                Change::CreateSequence { sequence } => {
                    Some(GrantTarget::Sequence(sequence.name.clone()))
                }
                Change::CreateFunction { function } => {
                    Some(GrantTarget::Function(function.name.clone(), function.kind))
                }
                _ => None,
            })
            .collect();
        let dropped = |target: &GrantTarget| match target {
            GrantTarget::Schema(name) => !self.to.schemas.contains_key(name),
            GrantTarget::Table(name) => {
                !self.to.tables.contains_key(name) && !self.to.views.contains_key(name)
            }
            GrantTarget::Sequence(name) => !self.to.sequences.contains_key(name),
            GrantTarget::Function(name, _) => !self.to.functions.contains_key(name),
        };
        let mut before: Held = Map::new();
        for grant in &self.from.grants {
            if !fresh.contains(&grant.target) && !dropped(&grant.target) {
                before
                    .entry((grant.target.clone(), grant.grantee.clone()))
                    .or_default()
                    .insert(grant.privilege.clone(), grant.grantable);
            }
        }
        for target in &fresh {
            if matches!(target, GrantTarget::Function(..)) {
                before
                    .entry((target.clone(), "public".to_owned()))
                    .or_default()
                    .insert("EXECUTE".to_owned(), false);
            }
        }
        let mut after: Held = Map::new();
        for grant in &self.to.grants {
            after
                .entry((grant.target.clone(), grant.grantee.clone()))
                .or_default()
                .insert(grant.privilege.clone(), grant.grantable);
        }
        let keys: BTreeSet<_> = before.keys().chain(after.keys()).cloned().collect();
        let empty = Map::new();
        for (target, grantee) in keys {
            let had = before
                .get(&(target.clone(), grantee.clone()))
                .unwrap_or(&empty);
            let wants = after
                .get(&(target.clone(), grantee.clone()))
                .unwrap_or(&empty);
            let revoke: Vec<String> = had
                .iter()
                .filter(|(p, g)| wants.get(*p).is_none_or(|w| w != *g))
                .map(|(p, _)| p.clone())
                .collect();
            if !revoke.is_empty() {
                self.changes.push(Change::Revoke {
                    target: target.clone(),
                    grantee: grantee.clone(),
                    privileges: revoke,
                });
            }
            for grantable in [false, true] {
                let grant: Vec<String> = wants
                    .iter()
                    .filter(|(p, g)| **g == grantable && had.get(*p).is_none_or(|h| h != *g))
                    .map(|(p, _)| p.clone())
                    .collect();
                if !grant.is_empty() {
                    self.changes.push(Change::Grant {
                        target: target.clone(),
                        grantee: grantee.clone(),
                        privileges: grant,
                        grantable,
                    });
                }
            }
        }
    }
}

/// A dropped object's comment goes with it: set it again on the new one.
fn restore_comment(out: &mut Vec<Change>, target: CommentTarget, comment: Option<String>) {
    if comment.is_some() {
        out.push(Change::Comment { target, comment });
    }
}

fn bare_view(view: &View) -> View {
    View {
        indexes: Vec::new(),
        triggers: Vec::new(),
        comment: None,
        columns: view
            .columns
            .iter()
            .map(|c| ViewColumn {
                comment: None,
                ..c.clone()
            })
            .collect(),
        ..view.clone()
    }
}

fn same_view(a: &View, b: &View) -> bool {
    a.materialized == b.materialized
        && a.definition == b.definition
        && a.options == b.options
        && a.columns.len() == b.columns.len()
        && a.columns
            .iter()
            .zip(&b.columns)
            .all(|(x, y)| x.name == y.name && x.data_type == y.data_type)
}

/// `CREATE OR REPLACE VIEW` keeps the existing columns (same names and
/// types, in order) and may only add columns at the end.
fn replaceable(old: &View, new: &View) -> bool {
    !old.materialized
        && !new.materialized
        && old.options == new.options
        && old.columns.len() <= new.columns.len()
        && old
            .columns
            .iter()
            .zip(&new.columns)
            .all(|(x, y)| x.name == y.name && x.data_type == y.data_type)
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
        (None, None) => same_sql(&a.definition, &b.definition),
        _ => false,
    }
}

pub(crate) fn same_index(a: &Index, b: &Index) -> bool {
    a.unique == b.unique && a.invalid == b.invalid && same_sql(a.body(), b.body())
}

/// Whether two definitions say the same: equal text, or the same tokens
/// where an identifier may be quoted in one and bare in the other
/// (`"id"` and `id`). A rename rewrites the current catalog's
/// definitions with PostgreSQL's quoting, while SQLite reads them back
/// always quoted.
fn same_sql(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (Ok(x), Ok(y)) = (strata_syntax::tokenize(a), strata_syntax::tokenize(b)) else {
        return false;
    };
    let meaning = |tokens: &[strata_syntax::Token], source: &str| -> Vec<(bool, String)> {
        tokens
            .iter()
            .filter(|t| !t.kind.is_trivia())
            .map(|t| match strata_syntax::ident_value(t, source) {
                Some(value) => (true, value),
                None => (false, t.text(source).to_owned()),
            })
            .collect()
    };
    meaning(&x, a) == meaning(&y, b)
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
