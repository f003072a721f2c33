//! `strata status`: what is applied, pending, edited or missing, and whether
//! the database has drifted from what its migrations produce.

use std::path::PathBuf;

use serde::Serialize;
use strata_diff::NoRenames;
use strata_postgres::Connection;
use strata_sql::{Dialect, RenderContext, Statement, render};

use super::MigrateError;
use super::folder::Folder;
use super::replay::replay;
use super::tracking::{self, AppliedRow, Reconciled};
use crate::config::{Settings, TrackingTable};
use crate::desired::CachePolicy;
use crate::push::{Scope, managed_schemas};
use crate::{Error, Observer};

/// One migration in a status report.
#[derive(Debug, Clone, Serialize)]
pub struct StatusEntry {
    /// Its tag.
    pub tag: String,
    /// The journal's `when`.
    pub when: i64,
    /// Its file.
    pub path: PathBuf,
}

/// The state of a database's migrations.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The database, password masked.
    pub target: String,
    /// Applied, in order.
    pub applied: Vec<StatusEntry>,
    /// Not applied yet, in order.
    pub pending: Vec<StatusEntry>,
    /// Applied, but the file changed since.
    pub edited: Vec<StatusEntry>,
    /// Recorded as applied, but no file in the folder.
    pub missing: Vec<AppliedRow>,
    /// Pending and older than the newest applied (drizzle-kit would skip them).
    pub out_of_order: Vec<String>,
    /// Statements that would make the database match what its applied
    /// migrations produce; empty when there is no drift.
    pub drift: Vec<Statement>,
    /// Whether drift was checked.
    pub drift_checked: bool,
}

impl Status {
    /// Whether everything is applied, unchanged and without drift.
    pub fn is_clean(&self) -> bool {
        self.pending.is_empty()
            && self.edited.is_empty()
            && self.missing.is_empty()
            && self.drift.is_empty()
    }
}

/// Reads the tracking table: applied, pending, edited and missing
/// migrations, without the drift check.
///
/// # Errors
/// The tracking table cannot be read.
pub fn status_without_drift(
    conn: &mut Connection,
    folder: &Folder,
    tracking: &TrackingTable,
) -> Result<Status, MigrateError> {
    let (rows, _) = tracking::read(conn, tracking)?;
    let state = Reconciled::new(&folder.migrations, &rows);
    let entry = |i: &usize| {
        let m = &folder.migrations[*i];
        StatusEntry {
            tag: m.tag.clone(),
            when: m.when,
            path: m.path.clone(),
        }
    };
    Ok(Status {
        target: conn.info().describe(),
        applied: state.applied.iter().map(|(i, _)| entry(i)).collect(),
        pending: state.pending.iter().map(entry).collect(),
        edited: state.edited.iter().map(|(i, _)| entry(i)).collect(),
        missing: state.missing,
        out_of_order: state
            .out_of_order
            .iter()
            .map(|i| folder.migrations[*i].tag.clone())
            .collect(),
        drift: Vec::new(),
        drift_checked: false,
    })
}

/// Reads the tracking table and, when `drift` is asked for, replays the
/// applied migrations into a scratch database and compares catalogs.
///
/// # Errors
/// Connection, folder or replay errors.
pub fn status(
    settings: &Settings,
    conn: &mut Connection,
    folder: &Folder,
    check_drift: bool,
    observer: &mut dyn Observer,
) -> Result<Status, Error> {
    let mut report = status_without_drift(conn, folder, &settings.tracking)?;
    if !check_drift {
        return Ok(report);
    }
    let (mut current, server) = conn.introspect()?;
    let applied: Vec<_> = folder
        .migrations
        .iter()
        .filter(|m| {
            report
                .applied
                .iter()
                .chain(&report.edited)
                .any(|e| e.tag == m.tag)
        })
        .cloned()
        .collect();
    let mut produced = replay(
        settings,
        &applied,
        server.major(),
        CachePolicy::Use,
        observer,
    )?;
    let scope = Scope {
        schemas: managed_schemas(settings, &produced),
        tracking: settings.tracking.clone(),
        grants: settings.grants,
    };
    scope.restrict(&mut current);
    scope.restrict(&mut produced);
    let plan = strata_diff::diff(&current, &produced, &[], &mut NoRenames)?;
    report.drift = render(
        &plan,
        &RenderContext::new(&current, &produced),
        Dialect::Postgres,
    );
    report.drift_checked = true;
    Ok(report)
}
