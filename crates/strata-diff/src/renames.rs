//! Renames: asked for on the command line, answered at a prompt, or found
//! by matching definitions; and applied to the current catalog so that the
//! rest of the diff compares like with like.

use std::collections::BTreeSet;

use strata_model::{Catalog, Ident, ObjectRef, QualifiedName};
use strata_syntax::{quote_qualified, rename_identifiers};

use crate::DiffError;

/// A rename given as `--rename OLD_TABLE=NEW_TABLE` or
/// `--rename TABLE.OLD=NEW` (tables may be schema-qualified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenameRequest {
    /// The dotted left-hand side, split into its parts.
    pub from: Vec<String>,
    /// The new name.
    pub to: String,
    /// The text as given, for error messages.
    pub text: String,
    /// Where the request comes from.
    pub origin: RenameOrigin,
}

/// Where a rename request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenameOrigin {
    /// `--rename` on the command line: it must apply.
    Flag,
    /// An `@renamed from=` comment in a schema file: it stays in the file
    /// after the rename is done, so it is skipped when the old name is gone.
    Annotation {
        /// The schema file.
        file: String,
        /// Its line.
        line: usize,
    },
}

impl RenameRequest {
    /// Parses `a.b=c`. Parts may be double-quoted to keep dots or case.
    ///
    /// # Errors
    /// When there is no `=`, or a side is empty.
    pub fn parse(text: &str) -> Result<RenameRequest, DiffError> {
        let invalid = |reason: &str| DiffError::InvalidRename {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (left, right) = text
            .split_once('=')
            .ok_or_else(|| invalid("expected OLD=NEW"))?;
        let from = split_dotted(left.trim()).ok_or_else(|| invalid("the old name is malformed"))?;
        let to = split_dotted(right.trim()).ok_or_else(|| invalid("the new name is malformed"))?;
        if from.is_empty() || from.len() > 3 {
            return Err(invalid(
                "expected TABLE=NEW, SCHEMA.TABLE=NEW or TABLE.COLUMN=NEW",
            ));
        }
        let [to] = <[String; 1]>::try_from(to)
            .map_err(|_| invalid("the new name is a bare name, without a table or schema"))?;
        Ok(RenameRequest {
            from,
            to,
            text: text.to_owned(),
            origin: RenameOrigin::Flag,
        })
    }

    /// A request from an `@renamed from=` annotation.
    pub fn annotation(from: Vec<String>, to: String, file: &str, line: usize) -> RenameRequest {
        RenameRequest {
            text: format!(
                "@renamed from={} at {file}:{line}",
                from.last().map_or("", String::as_str)
            ),
            from,
            to,
            origin: RenameOrigin::Annotation {
                file: file.to_owned(),
                line,
            },
        }
    }
}

fn split_dotted(text: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            '.' if !quoted => {
                if current.is_empty() {
                    return None;
                }
                parts.push(std::mem::take(&mut current));
                was_quoted = false;
            }
            _ => current.push(c),
        }
    }
    if quoted || current.is_empty() {
        return None;
    }
    let _ = was_quoted;
    parts.push(current);
    Some(parts)
}

/// Answers "was this created, or renamed from one of these?" when the diff
/// finds a table or column that appeared while another disappeared.
pub trait RenameResolver {
    /// `added` is in the target only; `candidates` (same schema) are in the
    /// current database only. Return the one it was renamed from, or `None`
    /// when it is new.
    fn table(
        &mut self,
        added: &QualifiedName,
        candidates: &[QualifiedName],
    ) -> Result<Option<QualifiedName>, DiffError>;

    /// The same question for a column of `table`.
    fn column(
        &mut self,
        table: &QualifiedName,
        added: &Ident,
        candidates: &[Ident],
    ) -> Result<Option<Ident>, DiffError>;
}

/// Answers every question with "created": what a non-interactive run does
/// when no `--rename` was given (the drop that comes with it then needs
/// consent as data loss).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRenames;

impl RenameResolver for NoRenames {
    fn table(
        &mut self,
        _: &QualifiedName,
        _: &[QualifiedName],
    ) -> Result<Option<QualifiedName>, DiffError> {
        Ok(None)
    }

    fn column(
        &mut self,
        _: &QualifiedName,
        _: &Ident,
        _: &[Ident],
    ) -> Result<Option<Ident>, DiffError> {
        Ok(None)
    }
}

/// A pair that could have been a rename but was not treated as one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PossibleRename {
    /// The table (for a column) or the schema-qualified table.
    pub table: QualifiedName,
    /// For a column rename: the column that disappears.
    pub column: Option<(Ident, Ident)>,
    /// For a table rename: the table that disappears.
    pub from_table: Option<QualifiedName>,
}

impl PossibleRename {
    /// The `--rename` argument that would make it a rename.
    pub fn flag(&self) -> String {
        match (&self.column, &self.from_table) {
            (Some((old, new)), _) => format!("{}.{}={}", qualified_arg(&self.table), old, new),
            (None, Some(from)) => format!("{}={}", qualified_arg(from), self.table.name),
            (None, None) => String::new(),
        }
    }
}

fn qualified_arg(name: &QualifiedName) -> String {
    if name.schema.as_str() == "public" {
        name.name.to_string()
    } else {
        name.to_string()
    }
}

/// The renames decided for one diff, in the names of the current database
/// (tables) and of the target (columns' tables).
#[derive(Debug, Default)]
pub(crate) struct Decided {
    pub(crate) tables: Vec<(QualifiedName, QualifiedName)>,
    /// `(table in the target, old column, new column)`.
    pub(crate) columns: Vec<(QualifiedName, Ident, Ident)>,
    pub(crate) possible: Vec<PossibleRename>,
}

/// Works out every rename: the requested ones first, then a question for
/// each remaining ambiguity.
pub(crate) fn decide(
    from: &Catalog,
    to: &Catalog,
    requests: &[RenameRequest],
    resolver: &mut dyn RenameResolver,
) -> Result<Decided, DiffError> {
    let mut decided = Decided::default();
    let mut column_requests = Vec::new();
    for request in requests {
        match interpret(from, to, request)? {
            Some(Interpreted::Table(old, new))
                if !decided.tables.iter().any(|(o, n)| o == &old || n == &new) =>
            {
                decided.tables.push((old, new));
            }
            Some(Interpreted::Column(table, old, new))
                if !column_requests
                    .iter()
                    .any(|(t, o, n, _)| t == &table && (o == &old || n == &new)) =>
            {
                column_requests.push((table, old, new, request));
            }
            Some(_) | None => {}
        }
    }

    // Tables: every table only in the target may be a renamed one that is
    // only in the current database, in the same schema.
    let taken: BTreeSet<_> = decided.tables.iter().map(|(o, _)| o.clone()).collect();
    let placed: BTreeSet<_> = decided.tables.iter().map(|(_, n)| n.clone()).collect();
    let mut dropped: Vec<QualifiedName> = from
        .tables
        .keys()
        .filter(|n| !to.tables.contains_key(*n) && !taken.contains(*n))
        .cloned()
        .collect();
    let added: Vec<QualifiedName> = to
        .tables
        .keys()
        .filter(|n| !from.tables.contains_key(*n) && !placed.contains(*n))
        .cloned()
        .collect();
    for new in &added {
        let candidates: Vec<_> = dropped
            .iter()
            .filter(|o| o.schema == new.schema)
            .cloned()
            .collect();
        if candidates.is_empty() {
            continue;
        }
        match resolver.table(new, &candidates)? {
            Some(old) if candidates.contains(&old) => {
                dropped.retain(|d| d != &old);
                decided.tables.push((old, new.clone()));
            }
            Some(old) => {
                return Err(DiffError::InvalidRename {
                    text: format!("{old}={}", new.name),
                    reason: format!("`{old}` is not a table that disappears"),
                });
            }
            None => decided
                .possible
                .extend(candidates.iter().map(|old| PossibleRename {
                    table: new.clone(),
                    column: None,
                    from_table: Some(old.clone()),
                })),
        }
    }

    // Columns, per table present on both sides (after table renames).
    let renamed_to = |old: &QualifiedName| {
        decided
            .tables
            .iter()
            .find(|(o, _)| o == old)
            .map_or_else(|| old.clone(), |(_, n)| n.clone())
    };
    for (table, old, new, request) in column_requests {
        let old_table = decided
            .tables
            .iter()
            .find(|(_, n)| n == &table)
            .map_or_else(|| table.clone(), |(o, _)| o.clone());
        let lenient = matches!(request.origin, RenameOrigin::Annotation { .. });
        let gone = from
            .tables
            .get(&old_table)
            .is_none_or(|t| t.column(&old).is_none());
        if lenient && gone {
            continue;
        }
        let (Some(before), Some(after)) = (from.tables.get(&old_table), to.tables.get(&table))
        else {
            return Err(DiffError::InvalidRename {
                text: request.text.clone(),
                reason: format!("table `{table}` is not in both the database and the schema files"),
            });
        };
        if before.column(&old).is_none() {
            return Err(DiffError::InvalidRename {
                text: request.text.clone(),
                reason: format!("the database's `{old_table}` has no column `{old}`"),
            });
        }
        if after.column(&new).is_none() {
            return Err(DiffError::InvalidRename {
                text: request.text.clone(),
                reason: format!("the schema files' `{table}` has no column `{new}`"),
            });
        }
        if before.column(&new).is_some() || after.column(&old).is_some() {
            return Err(DiffError::InvalidRename {
                text: request.text.clone(),
                reason: format!("`{old}` or `{new}` exists on both sides, so this is not a rename"),
            });
        }
        decided.columns.push((table, old, new));
    }
    for before in from.tables.values() {
        let name = renamed_to(&before.name);
        let Some(after) = to.tables.get(&name) else {
            continue;
        };
        let asked: Vec<_> = decided
            .columns
            .iter()
            .filter(|(t, _, _)| t == &name)
            .cloned()
            .collect();
        let mut dropped: Vec<Ident> = before
            .columns
            .iter()
            .filter(|c| {
                after.column(&c.name).is_none() && !asked.iter().any(|(_, o, _)| o == &c.name)
            })
            .map(|c| c.name.clone())
            .collect();
        for column in &after.columns {
            if before.column(&column.name).is_some()
                || asked.iter().any(|(_, _, n)| n == &column.name)
            {
                continue;
            }
            if dropped.is_empty() {
                break;
            }
            match resolver.column(&name, &column.name, &dropped)? {
                Some(old) if dropped.contains(&old) => {
                    dropped.retain(|d| d != &old);
                    decided
                        .columns
                        .push((name.clone(), old, column.name.clone()));
                }
                Some(old) => {
                    return Err(DiffError::InvalidRename {
                        text: format!("{name}.{old}={}", column.name),
                        reason: format!("`{old}` is not a column that disappears"),
                    });
                }
                None => decided
                    .possible
                    .extend(dropped.iter().map(|old| PossibleRename {
                        table: name.clone(),
                        column: Some((old.clone(), column.name.clone())),
                        from_table: None,
                    })),
            }
        }
    }
    Ok(decided)
}

enum Interpreted {
    Table(QualifiedName, QualifiedName),
    Column(QualifiedName, Ident, Ident),
}

fn interpret(
    from: &Catalog,
    to: &Catalog,
    request: &RenameRequest,
) -> Result<Option<Interpreted>, DiffError> {
    let lenient = matches!(request.origin, RenameOrigin::Annotation { .. });
    let error = |reason: String| DiffError::InvalidRename {
        text: request.text.clone(),
        reason,
    };
    // A bare table name is looked up in `public` first, then in any schema
    // where it is unique.
    let find_table = |name: &str| -> Result<QualifiedName, DiffError> {
        let public = QualifiedName::new("public", name);
        if from.tables.contains_key(&public) || to.tables.contains_key(&public) {
            return Ok(public);
        }
        let matches: BTreeSet<_> = from
            .tables
            .keys()
            .chain(to.tables.keys())
            .filter(|n| n.name.as_str() == name)
            .cloned()
            .collect();
        match matches.len() {
            1 => Ok(matches.into_iter().next().expect("one match")),
            0 => Err(error(format!("there is no table `{name}`"))),
            _ => Err(error(format!(
                "`{name}` is ambiguous: qualify it with its schema"
            ))),
        }
    };
    let table_rename = |old: QualifiedName| -> Result<Option<Interpreted>, DiffError> {
        let new = old.with_name(request.to.as_str());
        if !from.tables.contains_key(&old) {
            if lenient {
                return Ok(None);
            }
            return Err(error(format!("the database has no table `{old}`")));
        }
        if to.tables.contains_key(&old) {
            return Err(error(format!(
                "`{old}` is still in the schema files, so it is not renamed"
            )));
        }
        if !to.tables.contains_key(&new) {
            return Err(error(format!("the schema files have no table `{new}`")));
        }
        if from.tables.contains_key(&new) {
            return Err(error(format!("the database already has a table `{new}`")));
        }
        Ok(Some(Interpreted::Table(old, new)))
    };
    match (request.from.as_slice(), &request.origin) {
        ([table], _) => match find_table(table) {
            Ok(name) => table_rename(name),
            Err(_) if lenient => Ok(None),
            Err(e) => Err(e),
        },
        ([a, b], _) => {
            let as_table = QualifiedName::new(a.as_str(), b.as_str());
            if from.tables.contains_key(&as_table) && !to.tables.contains_key(&as_table) {
                table_rename(as_table)
            } else {
                match find_table(a) {
                    Ok(table) => Ok(Some(Interpreted::Column(
                        table,
                        Ident::from(b.as_str()),
                        Ident::from(request.to.as_str()),
                    ))),
                    Err(_) if lenient => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
        ([schema, table, column], _) => Ok(Some(Interpreted::Column(
            QualifiedName::new(schema.as_str(), table.as_str()),
            Ident::from(column.as_str()),
            Ident::from(request.to.as_str()),
        ))),
        _ => Err(error("expected TABLE=NEW or TABLE.COLUMN=NEW".to_owned())),
    }
}

/// Rewrites `catalog` (the current database) as if the renames had run:
/// names, foreign-key targets, and identifiers inside definitions.
pub(crate) fn apply(catalog: &mut Catalog, decided: &Decided) {
    for (old, new) in &decided.tables {
        rename_table(catalog, old, new);
    }
    for (table, old, new) in &decided.columns {
        rename_column(catalog, table, old, new);
    }
}

pub(crate) fn rename_table(catalog: &mut Catalog, old: &QualifiedName, new: &QualifiedName) {
    let Some(mut table) = catalog.tables.remove(old) else {
        return;
    };
    table.name = new.clone();
    // Trigger definitions name their table; the database follows a rename.
    let on_old = format!(" ON {} ", quote_qualified(&old.schema, &old.name));
    let on_new = format!(" ON {} ", quote_qualified(&new.schema, &new.name));
    for trigger in &mut table.triggers {
        trigger.definition = trigger.definition.replacen(&on_old, &on_new, 1);
    }
    catalog.tables.insert(new.clone(), table);
    for table in catalog.tables.values_mut() {
        for constraint in &mut table.constraints {
            if let Some(references) = &mut constraint.references
                && &references.table == old
            {
                references.table = new.clone();
            }
        }
    }
    for sequence in catalog.sequences.values_mut() {
        if let Some((table, _)) = &mut sequence.owned_by
            && table == old
        {
            *table = new.clone();
        }
    }
    for table in catalog.tables.values_mut() {
        if let Some(partition) = &mut table.partition_of
            && &partition.parent == old
        {
            partition.parent = new.clone();
        }
    }
    for dependency in &mut catalog.dependencies {
        for object in [&mut dependency.dependent, &mut dependency.referenced] {
            rename_ref_table(object, old, new);
        }
    }
}

fn rename_ref_table(object: &mut ObjectRef, old: &QualifiedName, new: &QualifiedName) {
    match object {
        ObjectRef::Table(t)
        | ObjectRef::Column(t, _)
        | ObjectRef::Default(t, _)
        | ObjectRef::Constraint(t, _)
        | ObjectRef::Trigger(t, _)
        | ObjectRef::Policy(t, _)
            if t == old =>
        {
            *t = new.clone();
        }
        _ => {}
    }
}

pub(crate) fn rename_column(
    catalog: &mut Catalog,
    table_name: &QualifiedName,
    old: &Ident,
    new: &Ident,
) {
    let map = [(old.as_str(), new.as_str())];
    if let Some(table) = catalog.tables.get_mut(table_name) {
        for trigger in &mut table.triggers {
            trigger.definition = rename_identifiers(&trigger.definition, &map);
        }
        for policy in &mut table.policies {
            for expression in [&mut policy.using, &mut policy.with_check]
                .into_iter()
                .flatten()
            {
                *expression = rename_identifiers(expression, &map);
            }
        }
        for column in &mut table.columns {
            if &column.name == old {
                column.name = new.clone();
            }
            if let Some(generated) = &mut column.generated {
                *generated = rename_identifiers(generated, &map);
            }
        }
        for constraint in &mut table.constraints {
            rename_in(&mut constraint.columns, old, new);
            constraint.definition = rename_identifiers(&constraint.definition, &map);
        }
        for index in &mut table.indexes {
            rename_in(&mut index.columns, old, new);
            for key in &mut index.keys {
                *key = rename_identifiers(key, &map);
            }
            index.definition = rename_identifiers(&index.definition, &map);
            if let Some(predicate) = &mut index.predicate {
                *predicate = rename_identifiers(predicate, &map);
            }
        }
    }
    for table in catalog.tables.values_mut() {
        for constraint in &mut table.constraints {
            if let Some(references) = &mut constraint.references
                && &references.table == table_name
            {
                rename_in(&mut references.columns, old, new);
            }
        }
    }
    for sequence in catalog.sequences.values_mut() {
        if let Some((table, column)) = &mut sequence.owned_by
            && table == table_name
            && column == old
        {
            *column = new.clone();
        }
    }
    for dependency in &mut catalog.dependencies {
        for object in [&mut dependency.dependent, &mut dependency.referenced] {
            match object {
                ObjectRef::Column(t, c) | ObjectRef::Default(t, c)
                    if t == table_name && c == old =>
                {
                    *c = new.clone();
                }
                _ => {}
            }
        }
    }
}

/// Renames a sequence and the `nextval('…'::regclass)` literals that name it.
pub(crate) fn rename_sequence(catalog: &mut Catalog, old: &QualifiedName, new: &QualifiedName) {
    if let Some(mut sequence) = catalog.sequences.remove(old) {
        sequence.name = new.clone();
        catalog.sequences.insert(new.clone(), sequence);
    }
    let old_literal = strata_syntax::quote_literal(&quote_qualified(&old.schema, &old.name));
    let new_literal = strata_syntax::quote_literal(&quote_qualified(&new.schema, &new.name));
    let old_text = format!("{old_literal}::regclass");
    let new_text = format!("{new_literal}::regclass");
    for table in catalog.tables.values_mut() {
        for column in &mut table.columns {
            if let Some(default) = &mut column.default
                && default.contains(&old_text)
            {
                *default = default.replace(&old_text, &new_text);
            }
        }
    }
}

fn rename_in(columns: &mut [Ident], old: &Ident, new: &Ident) {
    for column in columns {
        if column == old {
            *column = new.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rename_flags() {
        let r = RenameRequest::parse("users.display_name=full_name").unwrap();
        assert_eq!(r.from, vec!["users", "display_name"]);
        assert_eq!(r.to, "full_name");
        let r = RenameRequest::parse("\"My.Table\"=t2").unwrap();
        assert_eq!(r.from, vec!["My.Table"]);
        assert!(RenameRequest::parse("users").is_err());
        assert!(RenameRequest::parse("users.=x").is_err());
        assert!(RenameRequest::parse("a=b.c").is_err());
        assert!(RenameRequest::parse("a.b.c.d=e").is_err());
    }
}
