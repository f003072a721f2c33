//! `strata pull`: a live database written out as schema files, one per
//! object group (a table with its indexes, constraints, triggers, policies
//! and comments; the types; the routines; the views…), to adopt strata on
//! an existing project.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use strata_diff::{Change, CommentTarget, NoRenames};
use strata_model::{Catalog, GrantTarget, QualifiedName};
use strata_sql::{Dialect, RenderContext, render_grouped};

use crate::push::Scope;
use crate::{Error, migrate::MigrateError};

/// The file a change's statements go in.
fn group(change: &Change) -> String {
    let table = |name: &QualifiedName| {
        if name.schema.as_str() == "public" {
            format!("{}.sql", name.name)
        } else {
            format!("{}.{}.sql", name.schema, name.name)
        }
    };
    match change {
        Change::CreateSchema { .. } | Change::CreateExtension { .. } => "schemas.sql".to_owned(),
        Change::CreateEnum { .. }
        | Change::CreateDomain { .. }
        | Change::CreateCompositeType { .. }
        | Change::AlterDomain { .. } => "types.sql".to_owned(),
        Change::SetSequenceOwner {
            owned_by: Some((t, _)),
            ..
        } => table(t),
        Change::CreateSequence { .. } | Change::SetSequenceOwner { .. } => {
            "sequences.sql".to_owned()
        }
        Change::CreateFunction { .. } => "functions.sql".to_owned(),
        Change::CreateView { .. } => "views.sql".to_owned(),
        Change::Grant { target, .. } | Change::Revoke { target, .. } => match target {
            GrantTarget::Schema(_) => "schemas.sql".to_owned(),
            GrantTarget::Table(t) => table(t),
            GrantTarget::Sequence(_) => "sequences.sql".to_owned(),
            GrantTarget::Function(..) => "functions.sql".to_owned(),
        },
        Change::Comment { target, .. } => match target {
            CommentTarget::Schema { .. } => "schemas.sql".to_owned(),
            CommentTarget::Type { .. } | CommentTarget::Domain { .. } => "types.sql".to_owned(),
            CommentTarget::Sequence { .. } => "sequences.sql".to_owned(),
            CommentTarget::Function { .. } => "functions.sql".to_owned(),
            CommentTarget::View { .. } => "views.sql".to_owned(),
            CommentTarget::Table { name } | CommentTarget::Index { name } => table(name),
            CommentTarget::Column { table: t, .. }
            | CommentTarget::Constraint { table: t, .. }
            | CommentTarget::Trigger { table: t, .. }
            | CommentTarget::Policy { table: t, .. } => table(t),
        },
        other => other.table().map_or_else(|| "schema.sql".to_owned(), table),
    }
}

/// Writes `catalog` (already narrowed to what strata manages) into `dir` as
/// schema files. Files that exist are not overwritten.
///
/// # Errors
/// A file that exists already, or that cannot be written.
pub fn pull(catalog: &Catalog, scope: &Scope, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut wanted = catalog.clone();
    scope.restrict(&mut wanted);
    // An empty database's own objects are not the project's.
    let mut empty = Catalog::default();
    for (name, schema) in &wanted.schemas {
        if name.as_str() == "public" {
            empty.schemas.insert(name.clone(), schema.clone());
        }
    }
    if let Some(plpgsql) = wanted.extensions.get(&"plpgsql".into()) {
        empty
            .extensions
            .insert(plpgsql.name.clone(), plpgsql.clone());
    }
    let plan = strata_diff::diff(&empty, &wanted, &[], &mut NoRenames)?;
    let groups = render_grouped(
        &plan,
        &RenderContext::new(&empty, &wanted),
        Dialect::Postgres,
    );
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (change, statements) in plan.changes.iter().zip(groups) {
        let file = group(change);
        for statement in statements {
            files
                .entry(file.clone())
                .or_default()
                .push(format!("{};", statement.sql));
        }
    }
    fs::create_dir_all(dir).map_err(|source| MigrateError::Io {
        action: "could not create",
        path: dir.to_owned(),
        source,
    })?;
    for name in files.keys() {
        let path = dir.join(name);
        if path.exists() {
            return Err(MigrateError::Io {
                action: "will not overwrite",
                path,
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "the file exists; pull into an empty folder",
                ),
            }
            .into());
        }
    }
    let mut written = Vec::new();
    for (name, statements) in files {
        let path = dir.join(&name);
        let text = format!(
            "-- Pulled from the database by strata. Edit freely: statements may be in any order, in any file.\n\n{}\n",
            statements.join("\n\n")
        );
        fs::write(&path, text).map_err(|source| MigrateError::Io {
            action: "could not write",
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}
