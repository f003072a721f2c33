//! Putting changes in an order the database accepts.
//!
//! Three rules make the edges, and a change's rank breaks ties:
//! 1. what a change creates comes before the changes that require it;
//! 2. what depends on an object (in the current database) is dropped
//!    before the object is;
//! 3. an object is dropped before an object of the same name is created.
//!
//! Foreign-key cycles are broken by moving a foreign key out of its
//! `CREATE TABLE` into an `ALTER TABLE … ADD CONSTRAINT` (or, when tables
//! that reference each other are dropped, by dropping one key first).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use strata_model::{Catalog, ConstraintKind, Ident, QualifiedName};

use crate::DiffError;
use crate::change::{Change, Edges, Key, Requirements, has_index, referenced_key, sequences_in};

pub(crate) fn order(
    mut changes: Vec<Change>,
    from: &Catalog,
    to: &Catalog,
) -> Result<Vec<Change>, DiffError> {
    let dependents = dependents(from);
    let requirements = Requirements::of(to);
    // Keys a `DropTable` no longer drops because a separate change does.
    let mut excluded: HashMap<QualifiedName, BTreeSet<Key>> = HashMap::new();
    // Requirements found by name only give way when they make a cycle.
    let mut soft = true;
    loop {
        let edges: Vec<Edges> = changes
            .iter()
            .map(|change| {
                let mut e = change.edges(to, &requirements);
                if soft {
                    e.requires.append(&mut e.soft_requires);
                }
                if let Change::DropTable { name, .. } = change {
                    e.drops.extend(owned_keys(from, name));
                    if let Some(skip) = excluded.get(name) {
                        e.drops.retain(|k| !skip.contains(k));
                    }
                }
                e
            })
            .collect();
        match sort(&changes, &edges, &dependents) {
            Ok(order) => {
                let mut slots: Vec<Option<Change>> = changes.into_iter().map(Some).collect();
                return Ok(order
                    .into_iter()
                    .map(|i| slots[i].take().expect("each change is placed once"))
                    .collect());
            }
            Err(_) if soft => soft = false,
            Err(stuck) => {
                if !break_cycle(&mut changes, &stuck, from, &mut excluded) {
                    return Err(DiffError::Cycle {
                        changes: stuck.iter().map(|&i| describe(&changes[i])).collect(),
                    });
                }
            }
        }
    }
}

/// Kahn's algorithm with (rank, position) as the priority. On a cycle,
/// returns the changes that could not be placed.
fn sort(
    changes: &[Change],
    edges: &[Edges],
    dependents: &HashMap<Key, Vec<Key>>,
) -> Result<Vec<usize>, Vec<usize>> {
    let n = changes.len();
    let mut creators: HashMap<&Key, Vec<usize>> = HashMap::new();
    let mut droppers: HashMap<&Key, Vec<usize>> = HashMap::new();
    for (i, e) in edges.iter().enumerate() {
        for k in &e.creates {
            creators.entry(k).or_default().push(i);
        }
        for k in &e.drops {
            droppers.entry(k).or_default().push(i);
        }
    }
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    let mut edge = |before: usize, later: usize| {
        if before != later {
            after[before].push(later);
            indegree[later] += 1;
        }
    };
    for (i, e) in edges.iter().enumerate() {
        for k in &e.requires {
            for &j in creators.get(k).into_iter().flatten() {
                edge(j, i);
            }
            // What needs an object that goes away (and does not come back)
            // runs before it goes.
            if !creators.contains_key(k) {
                for &j in droppers.get(k).into_iter().flatten() {
                    edge(i, j);
                }
            }
        }
        for k in &e.drops {
            for dependent in dependents.get(k).into_iter().flatten() {
                for &j in droppers.get(dependent).into_iter().flatten() {
                    edge(j, i);
                }
            }
            // Dropping and creating the same key in one change modifies it
            // (a type change): no drop-before-create edge for it.
            if e.creates.contains(k) {
                continue;
            }
            for &j in creators.get(k).into_iter().flatten() {
                edge(i, j);
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<(u8, usize)>> = (0..n)
        .filter(|&i| indegree[i] == 0)
        .map(|i| Reverse((changes[i].rank(), i)))
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse((_, i))) = ready.pop() {
        order.push(i);
        for &j in &after[i] {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(Reverse((changes[j].rank(), j)));
            }
        }
    }
    if order.len() == n {
        Ok(order)
    } else {
        Err((0..n).filter(|&i| indegree[i] > 0).collect())
    }
}

/// Tries to break a cycle among `stuck`; returns false when it cannot.
fn break_cycle(
    changes: &mut Vec<Change>,
    stuck: &[usize],
    from: &Catalog,
    excluded: &mut HashMap<QualifiedName, BTreeSet<Key>>,
) -> bool {
    let stuck_tables: BTreeSet<QualifiedName> = stuck
        .iter()
        .filter_map(|&i| match &changes[i] {
            Change::CreateTable { table } => Some(table.name.clone()),
            Change::DropTable { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    for &i in stuck {
        match &mut changes[i] {
            Change::CreateTable { table } => {
                let (moved, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut table.constraints)
                    .into_iter()
                    .partition(|c| {
                        c.references.as_ref().is_some_and(|r| {
                            r.table != table.name && stuck_tables.contains(&r.table)
                        })
                    });
                table.constraints = kept;
                if moved.is_empty() {
                    continue;
                }
                let name = table.name.clone();
                changes.extend(moved.into_iter().map(|constraint| Change::AddConstraint {
                    table: name.clone(),
                    constraint,
                }));
                return true;
            }
            Change::DropTable { name, .. } => {
                let Some(table) = from.tables.get(name) else {
                    continue;
                };
                let skip = excluded.entry(name.clone()).or_default();
                let moved: Vec<_> = table
                    .constraints
                    .iter()
                    .filter(|c| {
                        c.references.as_ref().is_some_and(|r| {
                            r.table != table.name && stuck_tables.contains(&r.table)
                        }) && !skip.contains(&Key::Constraint(table.name.clone(), c.name.clone()))
                    })
                    .cloned()
                    .collect();
                if moved.is_empty() {
                    continue;
                }
                let name = table.name.clone();
                for constraint in moved {
                    skip.insert(Key::Constraint(name.clone(), constraint.name.clone()));
                    changes.push(Change::DropConstraint {
                        table: name.clone(),
                        constraint,
                    });
                }
                return true;
            }
            _ => {}
        }
    }
    false
}

/// Everything a table owns, which goes away with it.
fn owned_keys(catalog: &Catalog, name: &QualifiedName) -> Vec<Key> {
    let Some(table) = catalog.tables.get(name) else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    for column in &table.columns {
        keys.push(Key::Column(name.clone(), column.name.clone()));
        keys.push(Key::Default(name.clone(), column.name.clone()));
    }
    for constraint in &table.constraints {
        keys.push(Key::Constraint(name.clone(), constraint.name.clone()));
        if has_index(constraint.kind) {
            keys.push(Key::Index(name.with_name(constraint.name.clone())));
        }
    }
    for index in &table.indexes {
        keys.push(Key::Index(name.with_name(index.name.clone())));
    }
    for trigger in &table.triggers {
        keys.push(Key::Trigger(name.clone(), trigger.name.clone()));
    }
    for policy in &table.policies {
        keys.push(Key::Policy(name.clone(), policy.name.clone()));
    }
    keys
}

/// For every object of `catalog`, the objects that depend on it.
pub(crate) fn dependents(catalog: &Catalog) -> HashMap<Key, Vec<Key>> {
    let mut map: HashMap<Key, Vec<Key>> = HashMap::new();
    let mut add = |on: Key, dependent: Key| map.entry(on).or_default().push(dependent);
    for dependency in &catalog.dependencies {
        add(
            Key::of(&dependency.referenced),
            Key::of(&dependency.dependent),
        );
    }
    for name in catalog.domains.keys().chain(catalog.composite_types.keys()) {
        add(Key::Schema(name.schema.clone()), Key::Type(name.clone()));
    }
    for function in catalog.functions.keys() {
        add(
            Key::Schema(function.schema.clone()),
            Key::Function(function.clone()),
        );
    }
    for view in catalog.views.values() {
        let v = Key::View(view.name.clone());
        add(Key::Schema(view.name.schema.clone()), v.clone());
        for column in &view.columns {
            add(
                v.clone(),
                Key::Column(view.name.clone(), column.name.clone()),
            );
        }
        for index in &view.indexes {
            add(
                v.clone(),
                Key::Index(view.name.with_name(index.name.clone())),
            );
        }
        for trigger in &view.triggers {
            add(
                v.clone(),
                Key::Trigger(view.name.clone(), trigger.name.clone()),
            );
            add(
                Key::Function(trigger.function.clone()),
                Key::Trigger(view.name.clone(), trigger.name.clone()),
            );
        }
    }
    for name in catalog.enums.keys() {
        add(Key::Schema(name.schema.clone()), Key::Type(name.clone()));
    }
    for sequence in catalog.sequences.values() {
        add(
            Key::Schema(sequence.name.schema.clone()),
            Key::Sequence(sequence.name.clone()),
        );
    }
    for table in catalog.tables.values() {
        let t = &table.name;
        let column = |c: &Ident| Key::Column(t.clone(), c.clone());
        add(Key::Schema(t.schema.clone()), Key::Table(t.clone()));
        for c in &table.columns {
            add(Key::Table(t.clone()), column(&c.name));
            add(column(&c.name), Key::Default(t.clone(), c.name.clone()));
            if let Some(type_ref) = &c.type_ref {
                add(Key::Type(type_ref.clone()), column(&c.name));
                add(
                    Key::Type(type_ref.clone()),
                    Key::Default(t.clone(), c.name.clone()),
                );
            }
            for sequence in c.default.as_deref().map(sequences_in).unwrap_or_default() {
                add(
                    Key::Sequence(sequence),
                    Key::Default(t.clone(), c.name.clone()),
                );
            }
        }
        for constraint in &table.constraints {
            let key = Key::Constraint(t.clone(), constraint.name.clone());
            for c in &constraint.columns {
                add(column(c), key.clone());
            }
            if has_index(constraint.kind) {
                add(
                    key.clone(),
                    Key::Index(t.with_name(constraint.name.clone())),
                );
            }
            if let Some(references) = &constraint.references {
                for c in &references.columns {
                    add(
                        Key::Column(references.table.clone(), c.clone()),
                        key.clone(),
                    );
                }
                if let Some(referenced) = referenced_key(catalog, references) {
                    add(referenced, key.clone());
                }
            }
        }
        for index in &table.indexes {
            let key = Key::Index(t.with_name(index.name.clone()));
            for c in &index.columns {
                add(column(c), key.clone());
            }
            add(Key::Table(t.clone()), key);
        }
        for trigger in &table.triggers {
            let key = Key::Trigger(t.clone(), trigger.name.clone());
            add(Key::Table(t.clone()), key.clone());
            add(Key::Function(trigger.function.clone()), key);
        }
        for policy in &table.policies {
            add(
                Key::Table(t.clone()),
                Key::Policy(t.clone(), policy.name.clone()),
            );
        }
        if let Some(partition) = &table.partition_of {
            add(Key::Table(partition.parent.clone()), Key::Table(t.clone()));
        }
    }
    map
}

fn describe(change: &Change) -> String {
    match change {
        Change::CreateTable { table } => format!("create table `{}`", table.name),
        Change::DropTable { name, .. } => format!("drop table `{name}`"),
        Change::AddConstraint { table, constraint } => {
            format!("add constraint `{}` on `{table}`", constraint.name)
        }
        Change::DropConstraint { table, constraint } => {
            let kind = if constraint.kind == ConstraintKind::ForeignKey {
                "foreign key"
            } else {
                "constraint"
            };
            format!("drop {kind} `{}` on `{table}`", constraint.name)
        }
        other => format!("{other:?}"),
    }
}
