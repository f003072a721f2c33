//! `push`: make the database match the schema files now.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;
use strata_diff::{Change, NoRenames, Plan, RenameRequest, RenameResolver};
use strata_model::{Catalog, QualifiedName, UnmanagedObject};
use strata_postgres::{Connection, PgError, ServerInfo, SourceFile};
use strata_sql::{Dialect, RenderContext, Statement, Transaction, render};

use crate::config::{Grants, Settings, TrackingTable};
use crate::desired::{CachePolicy, DesiredSource, desired_state};
use crate::{Error, Event, Observer};

/// How to plan a push.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// `--rename` requests.
    pub renames: Vec<RenameRequest>,
    /// Whether to use the desired-state cache.
    pub cache: CachePolicy,
    /// Write the plan in online phases (no long locks; see
    /// [`strata_sql::online`]), each transaction under `lock_timeout`
    /// with retries.
    pub online: bool,
}

/// Where a phase of an online plan is among the statements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseSpan {
    /// Which phase.
    pub kind: strata_sql::PhaseKind,
    /// Index of its first statement.
    pub start: usize,
    /// One past its last.
    pub end: usize,
}

/// A planned push: what is there, what should be, and the statements in
/// between.
#[derive(Debug, Clone, Serialize)]
pub struct PushPlan {
    /// The target, password masked.
    pub target: String,
    /// The target's server.
    #[serde(skip)]
    pub server: ServerInfo,
    /// The database as it is (managed schemas only).
    #[serde(skip)]
    pub current: Catalog,
    /// The database as the schema files describe it.
    #[serde(skip)]
    pub desired: Catalog,
    /// Where the desired state came from.
    pub desired_source: DesiredSource,
    /// The changes.
    #[serde(skip)]
    pub plan: Plan,
    /// The statements, in order.
    pub statements: Vec<Statement>,
    /// How the statements are grouped into transactions.
    pub transactions: Vec<Batch>,
    /// Objects in the database that strata does not manage (left alone).
    pub unmanaged: Vec<UnmanagedObject>,
    /// Objects in the schema files that strata does not manage, and that
    /// the database lacks: push does not create them.
    pub unmanaged_missing: Vec<UnmanagedObject>,
    /// What the plan manages.
    #[serde(skip)]
    pub scope: Scope,
    /// The phases of an online plan (empty otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseSpan>,
    /// `lock_timeout` for every transaction, with retries (online plans).
    #[serde(skip)]
    pub lock_timeout: Option<(Duration, u32)>,
}

impl PushPlan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The statements that destroy data.
    pub fn data_loss(&self) -> impl Iterator<Item = &Statement> {
        self.statements.iter().filter(|s| s.is_data_loss())
    }
}

/// A group of statements applied together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Batch {
    /// Index of the first statement.
    pub start: usize,
    /// One past the last.
    pub end: usize,
    /// Whether they run in one transaction.
    pub transactional: bool,
}

/// The schemas strata manages: the configured ones, else `public` and
/// every schema of the desired state. Returned sorted.
pub fn managed_schemas(settings: &Settings, desired: &Catalog) -> BTreeSet<String> {
    match &settings.managed_schemas {
        Some(list) => list.iter().cloned().collect(),
        None => desired
            .schemas
            .keys()
            .map(ToString::to_string)
            .chain(std::iter::once("public".to_owned()))
            .collect(),
    }
}

/// Narrows a catalog to the managed schemas, without the tracking table.
pub fn restrict(catalog: &mut Catalog, scope: &BTreeSet<String>, tracking: &TrackingTable) {
    catalog.retain_schemas(|schema| scope.contains(schema));
    catalog.remove_table(&QualifiedName::new(
        tracking.schema.as_str(),
        tracking.table.as_str(),
    ));
}

/// Reads the database and the schema files and plans the statements that
/// make the first match the second.
///
/// # Errors
/// Connection, schema file, rename or planning errors.
pub fn plan_push(
    settings: &Settings,
    conn: &mut Connection,
    files: &[SourceFile],
    options: &PushOptions,
    resolver: &mut dyn RenameResolver,
    observer: &mut dyn Observer,
) -> Result<PushPlan, Error> {
    observer.event(Event::Stage(format!("reading {}", conn.info().describe())));
    let (current, server) = conn.introspect()?;
    let desired = desired_state(settings, files, server.major(), options.cache, observer)?;
    let scope = Scope {
        schemas: managed_schemas(settings, &desired.catalog),
        tracking: settings.tracking.clone(),
        grants: settings.grants,
    };
    let mut renames = options.renames.clone();
    renames.extend(crate::desired::rename_annotations(files));
    let mut plan = plan_between(
        conn,
        current,
        server,
        desired.catalog,
        desired.source,
        scope,
        &renames,
        resolver,
    )?;
    if options.online {
        make_online(
            &mut plan,
            settings
                .migrate
                .lock_timeout
                .unwrap_or(Duration::from_secs(2)),
            settings.migrate.retries,
        )?;
    }
    Ok(plan)
}

/// Rewrites a push plan in online phases: transactional phases batched as
/// usual, concurrent statements one by one, every transaction under
/// `lock_timeout` and tried again up to `retries` times when a lock is not
/// free in time.
///
/// # Errors
/// A change with no online form.
pub fn make_online(plan: &mut PushPlan, lock_timeout: Duration, retries: u32) -> Result<(), Error> {
    let ctx = RenderContext::new(&plan.current, &plan.desired);
    let phases = strata_sql::online(&plan.plan, &ctx, Dialect::Postgres)?;
    let mut statements = Vec::new();
    let mut transactions = Vec::new();
    let mut spans = Vec::new();
    for phase in phases {
        let start = statements.len();
        if phase.kind.transactional() {
            for batch in batches(&phase.statements, &plan.server) {
                transactions.push(Batch {
                    start: start + batch.start,
                    end: start + batch.end,
                    transactional: batch.transactional,
                });
            }
        } else {
            for i in 0..phase.statements.len() {
                transactions.push(Batch {
                    start: start + i,
                    end: start + i + 1,
                    transactional: false,
                });
            }
        }
        statements.extend(phase.statements);
        spans.push(PhaseSpan {
            kind: phase.kind,
            start,
            end: statements.len(),
        });
    }
    plan.statements = statements;
    plan.transactions = transactions;
    plan.phases = spans;
    plan.lock_timeout = Some((lock_timeout, retries));
    Ok(())
}

/// What a push manages: these schemas, except the tracking table.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The managed schemas.
    pub schemas: BTreeSet<String>,
    /// The migrations tracking table, never touched by push.
    pub tracking: TrackingTable,
    /// Whether privileges are compared.
    pub grants: Grants,
}

impl Scope {
    /// Narrows a catalog to this scope.
    pub fn restrict(&self, catalog: &mut Catalog) {
        restrict(catalog, &self.schemas, &self.tracking);
        if self.grants == Grants::Ignored {
            catalog.grants.clear();
        }
    }
}

/// Plans the statements from `current` (read from `conn`'s database) to
/// `desired`, both narrowed to `scope`.
///
/// # Errors
/// Rename or planning errors, or a failed count of the rows a drop deletes.
#[allow(clippy::too_many_arguments)]
pub fn plan_between(
    conn: &mut Connection,
    mut current: Catalog,
    server: ServerInfo,
    mut desired: Catalog,
    desired_source: DesiredSource,
    scope: Scope,
    renames: &[RenameRequest],
    resolver: &mut dyn RenameResolver,
) -> Result<PushPlan, Error> {
    scope.restrict(&mut current);
    scope.restrict(&mut desired);
    let plan = strata_diff::diff(&current, &desired, renames, resolver)?;
    let mut ctx = RenderContext::new(&current, &desired);
    count_losses(conn, &plan, &current, &mut ctx)?;
    // What cannot run in a transaction (`ALTER TYPE … ADD VALUE`) runs
    // first, on its own: placed after a rename, it would split the plan and
    // commit the rename even when the rest fails.
    let (mut statements, inside): (Vec<_>, Vec<_>) = render(&plan, &ctx, Dialect::Postgres)
        .into_iter()
        .partition(|s| s.transaction == Transaction::Outside);
    statements.extend(inside);
    let transactions = batches(&statements, &server);
    let unmanaged_missing = desired
        .unmanaged
        .iter()
        .filter(|o| !current.unmanaged.contains(o))
        .cloned()
        .collect();
    Ok(PushPlan {
        target: conn.info().describe(),
        unmanaged: current.unmanaged.clone(),
        unmanaged_missing,
        server,
        current,
        desired,
        desired_source,
        plan,
        statements,
        transactions,
        scope,
        phases: Vec::new(),
        lock_timeout: None,
    })
}

/// Exact counts of the rows and values a plan would delete, in one query,
/// for tables small enough to count quickly.
fn count_losses(
    conn: &mut Connection,
    plan: &Plan,
    current: &Catalog,
    ctx: &mut RenderContext<'_>,
) -> Result<(), Error> {
    const MAX_ROWS: i64 = 1_000_000;
    const MAX_BYTES: i64 = 1 << 30;
    let small = |table: &QualifiedName| {
        current
            .tables
            .get(table)
            .and_then(|t| t.stats)
            .is_some_and(|s| s.rows_estimate <= MAX_ROWS && s.total_bytes <= MAX_BYTES)
    };
    let quote = |t: &QualifiedName| strata_syntax::quote_qualified(&t.schema, &t.name);
    let mut tables = Vec::new();
    let mut columns = Vec::new();
    let mut selects = Vec::new();
    for change in &plan.changes {
        match change {
            Change::DropTable { name, .. } if small(name) => {
                selects.push(format!("(SELECT count(*) FROM {})", quote(name)));
                tables.push(name.clone());
            }
            Change::DropColumn {
                table,
                column,
                generated: false,
            } if small(table)
                && current
                    .tables
                    .get(table)
                    .is_some_and(|t| t.column(column).is_some()) =>
            {
                selects.push(format!(
                    "(SELECT count({}) FROM {})",
                    strata_syntax::quote_ident(column),
                    quote(table)
                ));
                columns.push((table.clone(), column.clone()));
            }
            _ => {}
        }
    }
    if selects.is_empty() {
        return Ok(());
    }
    let row = conn
        .query_text(&format!("SELECT {}", selects.join(", ")))?
        .into_iter()
        .next()
        .unwrap_or_default();
    let mut values = row
        .into_iter()
        .map(|v| v.and_then(|v| v.parse::<i64>().ok()));
    for table in tables {
        if let Some(Some(n)) = values.next() {
            ctx.row_counts.insert(table, n);
        }
    }
    for column in columns {
        if let Some(Some(n)) = values.next() {
            ctx.value_counts.insert(column, n);
        }
    }
    Ok(())
}

/// Groups statements into transactions: everything that may run in one
/// does, except that a plan too big for the server's lock table is split
/// (a stock server cannot create ~2,000 tables in one transaction).
pub fn batches(statements: &[Statement], server: &ServerInfo) -> Vec<Batch> {
    let budget = (u64::from(server.max_locks_per_transaction) * u64::from(server.max_connections)
        / 2)
    .max(64);
    let weight = |s: &Statement| -> u64 {
        if s.sql.starts_with("CREATE TABLE") || s.sql.starts_with("CREATE UNLOGGED TABLE") {
            let indexes = s.sql.matches(" PRIMARY KEY").count()
                + s.sql.matches(" UNIQUE").count()
                + s.sql.matches(" EXCLUDE").count();
            4 + indexes as u64
        } else {
            2
        }
    };
    let mut out: Vec<Batch> = Vec::new();
    let mut used = 0;
    for (i, statement) in statements.iter().enumerate() {
        let transactional = statement.transaction == Transaction::Inside;
        let cost = weight(statement);
        match out.last_mut() {
            Some(last) if last.transactional && transactional && used + cost <= budget => {
                last.end = i + 1;
                used += cost;
            }
            _ => {
                out.push(Batch {
                    start: i,
                    end: i + 1,
                    transactional,
                });
                used = cost;
            }
        }
    }
    out
}

/// What applying did.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    /// Statements run.
    pub statements: usize,
    /// Transactions committed.
    pub transactions: usize,
    /// Time spent.
    #[serde(skip)]
    pub elapsed: Duration,
}

/// Runs a plan's statements, batch by batch. Before the last transaction
/// commits, the database is read again and compared with the desired
/// state: if they still differ, nothing of that transaction is kept.
///
/// # Errors
/// A statement that fails (the transaction it is in is rolled back; the
/// error says what was kept), or a result that does not match.
pub fn apply_push(
    conn: &mut Connection,
    plan: &PushPlan,
    observer: &mut dyn Observer,
) -> Result<ApplyReport, Error> {
    let started = Instant::now();
    let total = plan.statements.len();
    let mut committed = 0;
    // Routines are created before what their bodies use, as pg_dump does.
    conn.execute("SET check_function_bodies = off")?;
    let mut transactions = 0;
    let last_batch = plan.transactions.len().saturating_sub(1);
    for (b, batch) in plan.transactions.iter().enumerate() {
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            if batch.transactional {
                conn.execute("BEGIN")?;
                if let Some((timeout, _)) = plan.lock_timeout {
                    conn.execute(&format!(
                        "SET LOCAL lock_timeout = '{}ms'",
                        timeout.as_millis()
                    ))?;
                }
            }
            let result = run_statements(conn, plan, batch, observer);
            match (&result, plan.lock_timeout) {
                (Err((_, error)), Some((_, retries)))
                    if batch.transactional
                        && attempt <= retries
                        && error.database_error().is_some_and(|e| e.code == "55P03") =>
                {
                    // A lock was not free in time: nobody waited behind us
                    // for longer than that. Try the transaction again.
                    let _ = conn.execute("ROLLBACK");
                    let wait = Duration::from_millis(250 * (1 << attempt.min(6)));
                    observer.event(Event::Warning(format!(
                        "a lock was not free within lock_timeout; trying again in {:.1} s (attempt {} of {})",
                        wait.as_secs_f64(),
                        attempt + 1,
                        retries + 1
                    )));
                    std::thread::sleep(wait);
                }
                _ => break result,
            }
        };
        if let Err((i, error)) = result {
            let rolled_back = if batch.transactional {
                let _ = conn.execute("ROLLBACK");
                batch.end - batch.start
            } else {
                0
            };
            let outcome = outcome_text(
                committed,
                i - batch.start,
                rolled_back,
                batch.transactional,
                plan.statements[i].sql.starts_with("CALL "),
            );
            let mut help = error.database_error().and_then(|e| {
                e.hint
                    .clone()
                    .or_else(|| e.strata_hint().map(str::to_owned))
            });
            if !plan.phases.is_empty() && committed > 0 {
                // An online plan stopped between its phases: the database
                // holds both forms. Planning again from there would not
                // see the change in progress; the rest of this plan does.
                let from = if batch.transactional { batch.start } else { i };
                let rest: Vec<String> = plan.statements[from..]
                    .iter()
                    .map(|s| format!("{};", s.sql))
                    .collect();
                let cause = help.map(|h| format!("{h}\n")).unwrap_or_default();
                help = Some(format!(
                    "{cause}the online plan stopped between its phases: what ran before is kept and the app keeps working. Fix the cause, then run the rest of the plan (statements {} to {total}; the concurrent ones outside a transaction):\n{}",
                    from + 1,
                    rest.join("\n")
                ));
            }
            return Err(Error::Apply {
                number: i + 1,
                total,
                sql: plan.statements[i].sql.clone(),
                error,
                outcome,
                help,
            });
        }
        if batch.transactional {
            if b == last_batch {
                if let Err(error) = verify(conn, plan, committed) {
                    let _ = conn.execute("ROLLBACK");
                    return Err(error);
                }
            }
            conn.execute("COMMIT")?;
            transactions += 1;
        }
        committed = batch.end;
    }
    if plan.transactions.last().is_some_and(|b| !b.transactional) {
        verify(conn, plan, plan.statements.len())?;
    }
    Ok(ApplyReport {
        statements: total,
        transactions,
        elapsed: started.elapsed(),
    })
}

/// Runs a batch's statements, many per round trip (a savepoint before each
/// group, so that a failure can be traced to its statement by running the
/// group again one statement at a time). Returns the failing statement's
/// index and error.
fn run_statements(
    conn: &mut Connection,
    plan: &PushPlan,
    batch: &Batch,
    observer: &mut dyn Observer,
) -> Result<(), (usize, PgError)> {
    const PER_ROUND_TRIP: usize = 64;
    let total = plan.statements.len();
    if !batch.transactional {
        for i in batch.start..batch.end {
            conn.execute(&plan.statements[i].sql).map_err(|e| (i, e))?;
            observer.event(Event::Progress { done: i + 1, total });
        }
        return Ok(());
    }
    let mut start = batch.start;
    while start < batch.end {
        let end = (start + PER_ROUND_TRIP).min(batch.end);
        let mut script = String::from("SAVEPOINT strata_group");
        for statement in &plan.statements[start..end] {
            script.push_str(";\n");
            script.push_str(&statement.sql);
        }
        if conn.execute(&script).is_err() {
            conn.execute("ROLLBACK TO SAVEPOINT strata_group")
                .map_err(|e| (start, e))?;
            for i in start..end {
                conn.execute(&plan.statements[i].sql).map_err(|e| (i, e))?;
            }
            // The group failed once but not statement by statement: this
            // cannot happen with a deterministic server; report the group.
            return Err((
                start,
                PgError::Catalog(
                    "a group of statements failed together but not one by one".to_owned(),
                ),
            ));
        }
        observer.event(Event::Progress { done: end, total });
        start = end;
    }
    Ok(())
}

fn outcome_text(
    committed: usize,
    ran_in_batch: usize,
    rolled_back: usize,
    transactional: bool,
    calls_procedure: bool,
) -> String {
    let mut text = String::new();
    if transactional {
        let _ = write!(
            text,
            "its transaction was rolled back ({ran_in_batch} statement(s) before it undone, {rolled_back} in all)"
        );
    } else if calls_procedure {
        text.push_str("it ran outside a transaction, committing as it went: the batches before the failure are kept, and running it again continues");
    } else {
        text.push_str("it ran outside a transaction and changed nothing");
    }
    if committed == 0 {
        text.push_str("; nothing was applied");
    } else {
        let _ = write!(
            text,
            "; the first {committed} statement(s) were committed earlier and are kept"
        );
    }
    text
}

/// Reads the database back and checks it now matches the desired state.
///
/// `committed` statements are committed already (the rest are rolled back
/// when this fails).
fn verify(conn: &mut Connection, plan: &PushPlan, committed: usize) -> Result<(), Error> {
    let (mut after, _) = conn.introspect_in_transaction()?;
    plan.scope.restrict(&mut after);
    let remaining = strata_diff::diff(&after, &plan.desired, &[], &mut NoRenames)?;
    if remaining.is_empty() {
        return Ok(());
    }
    let ctx = RenderContext::new(&after, &plan.desired);
    let statements = render(&remaining, &ctx, Dialect::Postgres);
    let kept = if committed == 0 {
        crate::error::NOT_CONVERGED_HELP.to_owned()
    } else {
        format!(
            "the first {committed} statement(s) were committed before the check and are kept; the last transaction was rolled back. This is a bug in strata: please report it with the schema files"
        )
    };
    Err(Error::NotConverged {
        help: kept,
        remaining: statements
            .iter()
            .map(|s| s.sql.as_str())
            .collect::<Vec<_>>()
            .join("; "),
    })
}
