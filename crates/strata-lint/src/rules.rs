//! The rules, over [`Stmt`]s, with the state a file (and the files before
//! it in one run) builds up: tables created, indexes built, constraints
//! added, whether a transaction is open, which timeouts are set.

use std::collections::{BTreeMap, BTreeSet};

use strata_sql::{HazardId, Severity, type_change_hazard};
use strata_syntax::{TokenKind, line_of, split_statements, tokenize};

use crate::parse::{Action, ColumnDef, ConstraintKind, Name, Stmt, TypeName, parse};
use crate::{ALLOW, Context, Finding};

/// How big the table a statement locks is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Size {
    /// Created by this run: empty.
    New,
    /// This many rows (estimated), below the threshold.
    Small(u64),
    /// This many rows, at or above the threshold.
    Large(u64),
    /// Not in the live database, or no database reachable.
    Unknown,
}

/// Lints files in order, carrying what earlier files did.
#[derive(Debug, Clone)]
pub struct Linter {
    context: Context,
    /// Tables created by earlier statements of this run.
    created: BTreeSet<(String, String)>,
    /// Index column lists built by this run, per table.
    indexes: BTreeMap<(String, String), Vec<Vec<String>>>,
    /// Foreign keys added by this run that wait for an index (reported at
    /// the end of each file if none appears).
    pending_fks: Vec<PendingFk>,
}

#[derive(Debug, Clone)]
struct PendingFk {
    table: (String, String),
    columns: Vec<String>,
    line: usize,
    allowed: bool,
}

/// Per-file state.
#[derive(Debug, Default)]
struct FileState {
    /// A transaction the file itself opened with `BEGIN`.
    file_transaction: bool,
    /// Constraints added `NOT VALID` in the open transaction.
    not_valid_in_tx: BTreeSet<String>,
    /// Validated `CHECK (col IS NOT NULL)` constraints per table: the
    /// column, or `None` when the constraint was not added in this run.
    validated_not_null: BTreeMap<(String, String), Vec<Option<String>>>,
    /// `CHECK (col IS NOT NULL)` constraints added in this run, by name.
    not_null_checks: BTreeMap<String, String>,
    /// Constraints dropped with `IF EXISTS` (so adding them again is safe
    /// to repeat).
    dropped_if_exists: BTreeSet<String>,
    lock_timeout: bool,
    reported_lock_timeout: bool,
    file_allowed: BTreeSet<HazardId>,
}

fn key(name: &Name) -> (String, String) {
    (
        name.schema.clone().unwrap_or_else(|| "public".to_owned()),
        name.name.clone(),
    )
}

/// Rules named in `-- strata:allow …` / `-- strata:allow-file …` comments.
fn allowed_in(text: &str, file_wide: bool) -> BTreeSet<HazardId> {
    let mut out = BTreeSet::new();
    let Ok(tokens) = tokenize(text) else {
        return out;
    };
    for token in tokens {
        if !matches!(token.kind, TokenKind::LineComment | TokenKind::BlockComment) {
            continue;
        }
        let comment = token.text(text);
        let Some(at) = comment.find(ALLOW) else {
            continue;
        };
        let rest = &comment[at + ALLOW.len()..];
        let (is_file, list) = match rest.strip_prefix("-file") {
            Some(list) => (true, list),
            None => (false, rest),
        };
        if is_file != file_wide {
            continue;
        }
        for word in list
            .trim_end_matches("*/")
            .split(|c: char| c == ',' || c.is_whitespace())
        {
            if let Some(id) = HazardId::parse(word.trim()) {
                out.insert(id);
            }
        }
    }
    out
}

/// Functions whose value a new column's default can take without
/// rewriting the table (not volatile).
const STABLE_FUNCTIONS: &[&str] = &[
    "now",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtimestamp",
    "localtime",
    "transaction_timestamp",
    "statement_timestamp",
    "current_user",
    "session_user",
    "current_schema",
    "lower",
    "upper",
    "coalesce",
    "nullif",
    "array",
    "cast",
    "make_interval",
    "make_date",
    "to_jsonb",
    "to_json",
    "jsonb_build_object",
    "json_build_object",
    "jsonb_build_array",
    "json_build_array",
    "array_fill",
    "length",
    "abs",
    "greatest",
    "least",
    "concat",
    "format",
    "date_trunc",
    "timezone",
    "interval",
];

/// Whether a default expression is volatile (a function call that is not
/// known to be stable or immutable), which makes `ADD COLUMN` rewrite the
/// table.
fn volatile_default(expr: &str) -> Option<String> {
    let tokens: Vec<_> = tokenize(expr)
        .ok()?
        .into_iter()
        .filter(|t| !t.kind.is_trivia())
        .collect();
    for (i, token) in tokens.iter().enumerate() {
        if token.kind != TokenKind::Word {
            continue;
        }
        let next_is_paren = tokens
            .get(i + 1)
            .is_some_and(|t| t.kind == TokenKind::LParen);
        let previous_is_cast = i > 0 && tokens[i - 1].kind == TokenKind::Cast;
        if !next_is_paren || previous_is_cast {
            continue;
        }
        let name = token.text(expr).to_ascii_lowercase();
        // `schema.fn(` — judge by the function's own name.
        if !STABLE_FUNCTIONS.contains(&name.as_str()) {
            return Some(name);
        }
    }
    None
}

fn is_serial(t: &TypeName) -> bool {
    matches!(t.base.as_str(), "serial" | "bigserial" | "smallserial")
}

impl Linter {
    /// A linter for one run (several files in order).
    pub fn new(context: Context) -> Linter {
        Linter {
            context,
            created: BTreeSet::new(),
            indexes: BTreeMap::new(),
            pending_fks: Vec::new(),
        }
    }

    fn size(&self, table: &(String, String)) -> Size {
        if self.created.contains(table) {
            return Size::New;
        }
        match &self.context.table_rows {
            Some(rows) => match rows.get(table) {
                Some(&n) if n >= self.context.large_table_rows => Size::Large(n),
                Some(&n) => Size::Small(n),
                None => Size::Unknown,
            },
            None => Size::Unknown,
        }
    }

    /// Whether `columns` lead an index of `table` (existing or built in
    /// this run); `None` when nothing is known about the table.
    fn indexed(&self, table: &(String, String), columns: &[String]) -> Option<bool> {
        let covers = |list: &Vec<Vec<String>>| {
            list.iter()
                .any(|index| index.len() >= columns.len() && index[..columns.len()] == *columns)
        };
        if self.indexes.get(table).is_some_and(covers) {
            return Some(true);
        }
        if self.created.contains(table) {
            return Some(false);
        }
        let known = self.context.indexes.as_ref()?;
        Some(known.get(table).is_some_and(covers))
    }

    /// Lints one file. `in_transaction`: the runner wraps the whole file
    /// in a transaction (a strata migration without
    /// `-- strata:no-transaction`).
    pub fn lint_file(&mut self, sql: &str, in_transaction: bool) -> Vec<Finding> {
        let mut out = Vec::new();
        let Ok(statements) = split_statements(sql) else {
            // An unterminated string or comment: the server will say where.
            return out;
        };
        let mut state = FileState {
            file_allowed: allowed_in(sql, true),
            ..FileState::default()
        };
        let mut previous_end = 0;
        for statement in &statements {
            let end = statement.offset + statement.text.len();
            // Directives between the previous statement and the end of the
            // line this one ends on (a trailing `-- strata:allow …`).
            let line_end = sql[end..].find('\n').map_or(sql.len(), |i| end + i);
            let allowed = allowed_in(&sql[previous_end.min(line_end)..line_end], false);
            previous_end = line_end;
            let stmt = parse(statement.text);
            let mut raw: Vec<(HazardId, Severity, String, String)> = Vec::new();
            let mut emit = |rule: HazardId, severity: Severity, message: String, help: &str| {
                raw.push((rule, severity, message, help.to_owned()));
            };
            self.statement(
                &stmt,
                in_transaction,
                &mut state,
                &mut emit,
                statement.line,
                &allowed,
            );
            for (rule, severity, message, help) in raw {
                if self_disabled(&self.context, &state.file_allowed, &allowed, rule) {
                    continue;
                }
                out.push(Finding {
                    rule,
                    severity,
                    line: statement.line,
                    message,
                    help,
                });
            }
        }
        if state.file_transaction
            && !self_disabled(
                &self.context,
                &state.file_allowed,
                &BTreeSet::new(),
                HazardId::TransactionNesting,
            )
        {
            out.push(Finding {
                rule: HazardId::TransactionNesting,
                severity: Severity::Error,
                line: line_of(sql, sql.len()),
                message: "the file opens a transaction with BEGIN and never commits it".to_owned(),
                help: "end it with COMMIT, or leave transactions to strata migrate".to_owned(),
            });
        }
        // Foreign keys still without an index at the end of the file.
        let pending = std::mem::take(&mut self.pending_fks);
        for fk in pending {
            // Only when the table's indexes are known (created in this run,
            // or read from a catalog).
            if self.indexed(&fk.table, &fk.columns) != Some(false) {
                continue;
            }
            if fk.allowed
                || self_disabled(
                    &self.context,
                    &state.file_allowed,
                    &BTreeSet::new(),
                    HazardId::ForeignKeyWithoutIndex,
                )
            {
                continue;
            }
            out.push(Finding {
                rule: HazardId::ForeignKeyWithoutIndex,
                severity: Severity::Warning,
                line: fk.line,
                message: format!(
                    "the foreign key on `{}.{}` ({}) has no index: every delete or key update in the referenced table scans `{}`",
                    fk.table.0,
                    fk.table.1,
                    fk.columns.join(", "),
                    fk.table.1
                ),
                help: format!(
                    "add CREATE INDEX ON {} ({}) (CONCURRENTLY on a table with rows)",
                    fk.table.1,
                    fk.columns.join(", ")
                ),
            });
        }
        out.sort_by_key(|f| f.line);
        out
    }

    /// The severity of a lock-taking hazard on a table of this size, and
    /// what to add to its message; `None`: no finding (a new table).
    fn weigh(&self, size: Size, table: &(String, String)) -> Option<(Severity, String)> {
        match size {
            Size::New => None,
            Size::Small(n) => Some((
                Severity::Info,
                format!(" (`{}` has ~{n} rows: quick)", table.1),
            )),
            Size::Large(n) => Some((
                Severity::Error,
                format!(
                    " (`{}` has ~{n} rows, over the {} threshold)",
                    table.1, self.context.large_table_rows
                ),
            )),
            Size::Unknown if self.context.table_rows.is_some() => Some((
                Severity::Warning,
                format!(" (`{}` is not in the database yet)", table.1),
            )),
            Size::Unknown => Some((
                Severity::Warning,
                format!(
                    " (no database reachable: could not tell how big `{}` is)",
                    table.1
                ),
            )),
        }
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one arm per statement kind reads best in one place"
    )]
    fn statement(
        &mut self,
        stmt: &Stmt,
        runner_transaction: bool,
        state: &mut FileState,
        emit: &mut dyn FnMut(HazardId, Severity, String, &str),
        line: usize,
        allowed: &BTreeSet<HazardId>,
    ) {
        let in_tx = runner_transaction || state.file_transaction;
        let autocommit = !in_tx;
        let major = self.context.pg_major;
        match stmt {
            Stmt::Begin => {
                if runner_transaction {
                    emit(
                        HazardId::TransactionNesting,
                        Severity::Error,
                        "BEGIN inside a migration that strata runs in a transaction: the migration's own transaction is not where this one ends".to_owned(),
                        "remove BEGIN/COMMIT (each migration already runs in one transaction), or make the migration `-- strata:no-transaction`",
                    );
                } else if state.file_transaction {
                    emit(
                        HazardId::TransactionNesting,
                        Severity::Error,
                        "BEGIN inside a transaction that is already open: PostgreSQL warns and ignores it".to_owned(),
                        "remove the inner BEGIN",
                    );
                } else {
                    state.file_transaction = true;
                }
            }
            Stmt::Commit => {
                if runner_transaction {
                    emit(
                        HazardId::TransactionNesting,
                        Severity::Error,
                        "COMMIT inside a migration that strata runs in a transaction: it commits half the migration and its tracking row runs apart from it".to_owned(),
                        "remove BEGIN/COMMIT (each migration already runs in one transaction), or make the migration `-- strata:no-transaction`",
                    );
                } else if state.file_transaction {
                    state.file_transaction = false;
                    state.not_valid_in_tx.clear();
                } else {
                    emit(
                        HazardId::TransactionNesting,
                        Severity::Error,
                        "COMMIT or ROLLBACK with no transaction open".to_owned(),
                        "remove it, or open the transaction with BEGIN",
                    );
                }
            }
            Stmt::Set { name, value } => {
                if name == "lock_timeout" && value != "0" {
                    state.lock_timeout = true;
                }
            }
            Stmt::CreateTable {
                table,
                columns,
                constraints,
                if_not_exists,
                temporary,
                ..
            } => {
                let key = key(table);
                if autocommit && !if_not_exists && !temporary {
                    emit(
                        HazardId::NonIdempotent,
                        Severity::Warning,
                        format!(
                            "CREATE TABLE `{}` fails when the migration runs again after a partial failure",
                            table.name
                        ),
                        "outside a transaction, write CREATE TABLE IF NOT EXISTS",
                    );
                }
                self.identifier(&table.name, emit);
                for column in columns {
                    self.identifier(&column.name, emit);
                    self.column_types(column, emit);
                    if column.primary_key || column.unique {
                        self.indexes
                            .entry(key.clone())
                            .or_default()
                            .push(vec![column.name.clone()]);
                    }
                }
                for constraint in constraints {
                    if let Some(name) = &constraint.name {
                        self.identifier(name, emit);
                    }
                    if matches!(
                        constraint.kind,
                        ConstraintKind::PrimaryKey | ConstraintKind::Unique
                    ) {
                        self.indexes
                            .entry(key.clone())
                            .or_default()
                            .push(constraint.columns.clone());
                    }
                }
                self.created.insert(key.clone());
                for column in columns {
                    if column.references.is_some() && !column.primary_key {
                        self.pending_fks.push(PendingFk {
                            table: key.clone(),
                            columns: vec![column.name.clone()],
                            line,
                            allowed: allowed.contains(&HazardId::ForeignKeyWithoutIndex),
                        });
                    }
                }
                for constraint in constraints {
                    if matches!(constraint.kind, ConstraintKind::ForeignKey(_))
                        && !constraint.columns.is_empty()
                    {
                        self.pending_fks.push(PendingFk {
                            table: key.clone(),
                            columns: constraint.columns.clone(),
                            line,
                            allowed: allowed.contains(&HazardId::ForeignKeyWithoutIndex),
                        });
                    }
                }
            }
            Stmt::CreateIndex {
                name,
                table,
                concurrently,
                if_not_exists,
                columns,
                ..
            } => {
                let key = key(table);
                if let Some(name) = name {
                    self.identifier(&name.name, emit);
                }
                if *concurrently && in_tx {
                    emit(
                        HazardId::ConcurrentInTransaction,
                        Severity::Error,
                        "CREATE INDEX CONCURRENTLY cannot run inside a transaction block: PostgreSQL refuses it".to_owned(),
                        "put it in a migration of its own whose first line is `-- strata:no-transaction`",
                    );
                }
                if !concurrently && let Some((severity, note)) = self.weigh(self.size(&key), &key) {
                    emit(
                        HazardId::BlockingIndexBuild,
                        severity,
                        format!(
                            "CREATE INDEX blocks writes to `{}` while the index builds{note}",
                            table.name
                        ),
                        "build it with CREATE INDEX CONCURRENTLY in a `-- strata:no-transaction` migration",
                    );
                }
                if autocommit && !if_not_exists {
                    emit(
                        HazardId::NonIdempotent,
                        Severity::Warning,
                        if name.is_some() {
                            "CREATE INDEX fails when the migration runs again after a partial failure".to_owned()
                        } else {
                            "an unnamed CREATE INDEX builds a second, duplicate index when the migration runs again after a partial failure".to_owned()
                        },
                        "outside a transaction, write CREATE INDEX … IF NOT EXISTS (and drop an INVALID index left by a failed concurrent build)",
                    );
                }
                if !columns.is_empty() {
                    self.indexes.entry(key).or_default().push(columns.clone());
                }
            }
            Stmt::DropIndex {
                concurrently,
                if_exists,
            } => {
                if *concurrently && in_tx {
                    emit(
                        HazardId::ConcurrentInTransaction,
                        Severity::Error,
                        "DROP INDEX CONCURRENTLY cannot run inside a transaction block: PostgreSQL refuses it".to_owned(),
                        "put it in a migration of its own whose first line is `-- strata:no-transaction`",
                    );
                }
                if !concurrently {
                    emit(
                        HazardId::BlockingIndexDrop,
                        Severity::Warning,
                        "DROP INDEX takes an ACCESS EXCLUSIVE lock on its table: reads and writes wait for it and for every query ahead of it".to_owned(),
                        "drop it with DROP INDEX CONCURRENTLY in a `-- strata:no-transaction` migration",
                    );
                }
                if autocommit && !if_exists {
                    emit(
                        HazardId::NonIdempotent,
                        Severity::Warning,
                        "DROP INDEX fails when the migration runs again after a partial failure"
                            .to_owned(),
                        "outside a transaction, write DROP INDEX … IF EXISTS",
                    );
                }
            }
            Stmt::Reindex { concurrently } => {
                if *concurrently && in_tx {
                    emit(
                        HazardId::ConcurrentInTransaction,
                        Severity::Error,
                        "REINDEX CONCURRENTLY cannot run inside a transaction block: PostgreSQL refuses it".to_owned(),
                        "put it in a migration of its own whose first line is `-- strata:no-transaction`",
                    );
                }
                if !concurrently {
                    emit(
                        HazardId::BlockingIndexBuild,
                        Severity::Warning,
                        "REINDEX blocks writes to the table (and reads that use the index) while it rebuilds".to_owned(),
                        "use REINDEX … CONCURRENTLY in a `-- strata:no-transaction` migration",
                    );
                }
            }
            Stmt::DropTable { tables, if_exists } => {
                for table in tables {
                    self.identifier(&table.name, emit);
                    let key = key(table);
                    if self.size(&key) != Size::New {
                        emit(
                            HazardId::DropTable,
                            Severity::Error,
                            format!(
                                "deletes table `{}` and all its rows{}",
                                table.name,
                                rows_note(self.size(&key))
                            ),
                            "take a backup first; if the table was renamed, rename it instead; stop the app from using it in an earlier deploy",
                        );
                    }
                    self.created.remove(&key);
                }
                if autocommit && !if_exists {
                    emit(
                        HazardId::NonIdempotent,
                        Severity::Warning,
                        "DROP TABLE fails when the migration runs again after a partial failure"
                            .to_owned(),
                        "outside a transaction, write DROP TABLE IF EXISTS",
                    );
                }
            }
            Stmt::DropSchema { names, cascade } => emit(
                HazardId::DropSchema,
                Severity::Error,
                format!(
                    "drops schema {}{}",
                    names.join(", "),
                    if *cascade {
                        " and every table, view and function in it, with their rows"
                    } else {
                        ""
                    }
                ),
                "take a backup first, and drop what is in it explicitly",
            ),
            Stmt::DropDatabase { name } => emit(
                HazardId::DropDatabase,
                Severity::Error,
                format!("drops database `{name}` and everything in it"),
                "never in a migration",
            ),
            Stmt::Truncate { tables, cascade } => emit(
                HazardId::Truncate,
                Severity::Error,
                format!(
                    "deletes every row of {}{}",
                    tables
                        .iter()
                        .map(|t| format!("`{}`", t.name))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if *cascade {
                        ", and with CASCADE every row of every table that references them"
                    } else {
                        ""
                    }
                ),
                "delete what you mean to delete with DELETE … WHERE, in batches (strata backfill); never CASCADE",
            ),
            Stmt::CreateDomain { constrained } => {
                if *constrained {
                    emit(
                        HazardId::DomainConstraint,
                        Severity::Warning,
                        "a domain with a constraint: changing the constraint later checks every column of the domain in every table, under lock".to_owned(),
                        "put the CHECK on the table columns (added NOT VALID, then validated), not on the domain",
                    );
                }
            }
            Stmt::AlterDomainAddConstraint { not_valid } => {
                if !not_valid {
                    emit(
                        HazardId::DomainConstraint,
                        Severity::Warning,
                        "ALTER DOMAIN … ADD CONSTRAINT checks every column of the domain in every table while holding a lock".to_owned(),
                        "add it NOT VALID, then ALTER DOMAIN … VALIDATE CONSTRAINT in a later migration",
                    );
                }
            }
            Stmt::AddEnumValue { .. } => {
                if in_tx && major < 12 {
                    emit(
                        HazardId::NonTransactional,
                        Severity::Error,
                        format!(
                            "ALTER TYPE … ADD VALUE cannot run inside a transaction block before PostgreSQL 12 (the target is {major})"
                        ),
                        "put it in a migration of its own whose first line is `-- strata:no-transaction`",
                    );
                }
            }
            Stmt::RenameTable { table, to } => {
                let key = key(table);
                if self.size(&key) != Size::New {
                    emit(
                        HazardId::RenameTable,
                        Severity::Warning,
                        format!(
                            "renaming `{}` to `{to}` breaks every running query that uses the old name",
                            table.name
                        ),
                        "expand and contract: create the new table (or a view with the new name), move the app over in a deploy, then drop the old one",
                    );
                }
                if self.created.remove(&key) {
                    self.created.insert((key.0.clone(), to.clone()));
                }
                self.identifier(to, emit);
            }
            Stmt::RenameColumn { table, from, to } => {
                let key = key(table);
                if self.size(&key) != Size::New {
                    emit(
                        HazardId::RenameColumn,
                        Severity::Warning,
                        format!(
                            "renaming `{}.{from}` to `{to}` breaks every running query that uses the old name",
                            table.name
                        ),
                        "expand and contract: add the new column, write both, backfill, move reads over, then drop the old column in a later deploy",
                    );
                }
                self.identifier(to, emit);
            }
            Stmt::AlterTable { table, actions, .. } => {
                let key = key(table);
                for action in actions {
                    self.action(
                        &key, table, action, in_tx, autocommit, state, emit, line, allowed,
                    );
                }
            }
            Stmt::ExclusiveMaintenance { what } => emit(
                HazardId::BlockingLock,
                Severity::Warning,
                format!("{what} takes an ACCESS EXCLUSIVE lock for as long as it runs"),
                "run it off-peak by hand, or use the concurrent form where there is one",
            ),
            Stmt::CreateOther { idempotent }
            | Stmt::DropOther {
                if_exists: idempotent,
            } => {
                if autocommit && !idempotent {
                    emit(
                        HazardId::NonIdempotent,
                        Severity::Warning,
                        "this statement fails when the migration runs again after a partial failure".to_owned(),
                        "outside a transaction, write IF [NOT] EXISTS / OR REPLACE",
                    );
                }
            }
            Stmt::Other => {}
        }
        // Statements that wait for locks on existing tables, with no
        // lock_timeout from the file or the runner.
        let locks_existing = match stmt {
            Stmt::AlterTable { table, .. }
            | Stmt::RenameTable { table, .. }
            | Stmt::RenameColumn { table, .. }
            | Stmt::CreateIndex { table, .. } => self.size(&key(table)) != Size::New,
            Stmt::DropIndex { .. }
            | Stmt::DropTable { .. }
            | Stmt::Truncate { .. }
            | Stmt::Reindex { .. }
            | Stmt::ExclusiveMaintenance { .. }
            | Stmt::AlterDomainAddConstraint { .. } => true,
            _ => false,
        };
        if locks_existing
            && !state.lock_timeout
            && !self.context.runner_sets_lock_timeout
            && !state.reported_lock_timeout
        {
            state.reported_lock_timeout = true;
            emit(
                HazardId::MissingLockTimeout,
                Severity::Warning,
                "this statement waits for its lock with no lock_timeout: while it waits, every query on the table queues behind it".to_owned(),
                "SET lock_timeout = '5s' first (strata migrate sets one unless configured not to), and retry on timeout",
            );
        }
    }

    #[expect(clippy::too_many_arguments, reason = "the rules' shared state")]
    #[expect(
        clippy::too_many_lines,
        reason = "one arm per action kind reads best in one place"
    )]
    fn action(
        &mut self,
        key: &(String, String),
        table: &Name,
        action: &Action,
        in_tx: bool,
        autocommit: bool,
        state: &mut FileState,
        emit: &mut dyn FnMut(HazardId, Severity, String, &str),
        line: usize,
        allowed: &BTreeSet<HazardId>,
    ) {
        let size = self.size(key);
        let major = self.context.pg_major;
        match action {
            Action::AddColumn {
                column,
                if_not_exists,
            } => {
                self.identifier(&column.name, emit);
                self.column_types(column, emit);
                if autocommit && !if_not_exists {
                    emit(
                        HazardId::NonIdempotent,
                        Severity::Warning,
                        format!(
                            "ADD COLUMN `{}` fails when the migration runs again after a partial failure",
                            column.name
                        ),
                        "outside a transaction, write ADD COLUMN IF NOT EXISTS",
                    );
                }
                let rewrite = if column.generated_stored {
                    Some("a stored generated column is computed for every row".to_owned())
                } else if column.type_name.as_ref().is_some_and(is_serial) {
                    Some("a serial column's default (nextval) is volatile: every row gets its own value".to_owned())
                } else if let Some(default) = &column.default {
                    if major < 11 {
                        Some(format!(
                            "before PostgreSQL 11 any default fills every row (the target is {major})"
                        ))
                    } else {
                        volatile_default(default).map(|f| {
                            format!("the default calls `{f}()`, which is volatile (or not known to be stable): every row is written")
                        })
                    }
                } else {
                    None
                };
                if let Some(why) = rewrite
                    && let Some((severity, note)) = self.weigh(size, key)
                {
                    emit(
                        HazardId::TableRewrite,
                        severity,
                        format!(
                            "ADD COLUMN `{}` rewrites `{}` under an ACCESS EXCLUSIVE lock: {why}{note}",
                            column.name, table.name
                        ),
                        "add the column without the default (or with a constant one), backfill in batches (strata backfill), then set the default",
                    );
                }
                if column.not_null
                    && column.default.is_none()
                    && !column.identity
                    && !column.generated_stored
                    && !column.type_name.as_ref().is_some_and(is_serial)
                {
                    let severity = match size {
                        Size::New => None,
                        Size::Small(0) => Some(Severity::Info),
                        Size::Small(_) | Size::Large(_) => Some(Severity::Error),
                        Size::Unknown => Some(Severity::Warning),
                    };
                    if let Some(severity) = severity {
                        emit(
                            HazardId::NotNullWithoutDefault,
                            severity,
                            format!(
                                "ADD COLUMN `{}` NOT NULL without a default fails on a table that has rows{}",
                                column.name,
                                rows_note(size)
                            ),
                            "add it nullable, backfill, then SET NOT NULL through a validated CHECK; or give it a default",
                        );
                    }
                }
                if (column.primary_key || column.unique)
                    && let Some((severity, note)) = self.weigh(size, key)
                {
                    emit(
                        HazardId::BlockingIndexBuild,
                        severity,
                        format!(
                            "ADD COLUMN `{}` {} builds an index while writes to `{}` are blocked{note}",
                            column.name,
                            if column.primary_key {
                                "PRIMARY KEY"
                            } else {
                                "UNIQUE"
                            },
                            table.name
                        ),
                        "add the column, build a unique index CONCURRENTLY, then ADD CONSTRAINT … USING INDEX",
                    );
                }
                if column.check
                    && let Some((severity, note)) = self.weigh(size, key)
                {
                    emit(
                        HazardId::ValidatingScan,
                        severity,
                        format!(
                            "the CHECK on `{}` is verified against every row while writes are blocked{note}",
                            column.name
                        ),
                        "add the column, then ADD CONSTRAINT … CHECK … NOT VALID and VALIDATE CONSTRAINT in a later migration",
                    );
                }
                if column.references.is_some() {
                    if let Some((severity, note)) = self.weigh(size, key)
                        && column.default.is_some()
                    {
                        emit(
                            HazardId::ValidatingScan,
                            severity,
                            format!(
                                "the foreign key on `{}` is verified against every row while writes are blocked{note}",
                                column.name
                            ),
                            "add the column, then ADD CONSTRAINT … FOREIGN KEY … NOT VALID and VALIDATE CONSTRAINT in a later migration",
                        );
                    } else if size != Size::New {
                        emit(
                            HazardId::ValidatingScan,
                            Severity::Warning,
                            format!(
                                "REFERENCES on the new column `{}` locks the referenced table against writes (SHARE ROW EXCLUSIVE) until the migration commits",
                                column.name
                            ),
                            "add the column first, then ADD CONSTRAINT … FOREIGN KEY … NOT VALID and VALIDATE CONSTRAINT in a later migration",
                        );
                    }
                    self.pending_fks.push(PendingFk {
                        table: key.clone(),
                        columns: vec![column.name.clone()],
                        line,
                        allowed: allowed.contains(&HazardId::ForeignKeyWithoutIndex),
                    });
                }
            }
            Action::DropColumn { name, if_exists } => {
                if size != Size::New {
                    emit(
                        HazardId::DropColumn,
                        Severity::Error,
                        format!(
                            "deletes column `{}.{name}` and its values{}",
                            table.name,
                            rows_note(size)
                        ),
                        "take a backup first; stop the app from reading the column in an earlier deploy; if it was renamed, rename it instead",
                    );
                }
                if autocommit && !if_exists {
                    emit(
                        HazardId::NonIdempotent,
                        Severity::Warning,
                        format!(
                            "DROP COLUMN `{name}` fails when the migration runs again after a partial failure"
                        ),
                        "outside a transaction, write DROP COLUMN IF EXISTS",
                    );
                }
            }
            Action::AlterType {
                column, type_name, ..
            } => {
                self.type_hygiene(column, type_name, emit);
                let old = self
                    .context
                    .column_types
                    .as_ref()
                    .and_then(|types| types.get(key))
                    .and_then(|columns| columns.get(column));
                // The values, as `push` judges the same change.
                match old.and_then(|old| Some((old, type_change_hazard(old, &printed(type_name))?)))
                {
                    Some((old, HazardId::LossyTypeChange)) => emit(
                        HazardId::LossyTypeChange,
                        Severity::Error,
                        format!(
                            "converting `{}.{column}` from {old} to {} may round, truncate or change values",
                            table.name, type_name.text
                        ),
                        "add a new column of the new type, backfill it with an explicit conversion you have checked, then switch over",
                    ),
                    Some((old, id)) => emit(
                        id,
                        Severity::Warning,
                        format!(
                            "converting `{}.{column}` from {old} to {} fails if a value does not fit the new type",
                            table.name, type_name.text
                        ),
                        "check the existing values first; nothing is changed if it fails",
                    ),
                    None => {}
                }
                let verdict = old.map(|old| binary_compatible(old, type_name));
                if verdict != Some(true)
                    && let Some((severity, note)) = self.weigh(size, key)
                {
                    let what = match old {
                        Some(old) => format!(
                            "changing `{}.{column}` from {old} to {} rewrites the table and its indexes under an ACCESS EXCLUSIVE lock",
                            table.name, type_name.text
                        ),
                        None => format!(
                            "changing the type of `{}.{column}` to {} rewrites the table and its indexes under an ACCESS EXCLUSIVE lock, unless the types are binary compatible (varchar widening, varchar to text)",
                            table.name, type_name.text
                        ),
                    };
                    emit(
                        HazardId::TableRewrite,
                        severity,
                        format!("{what}{note}"),
                        "expand and contract: add a column of the new type, write both, backfill in batches, move reads over, drop the old column later",
                    );
                }
            }
            Action::SetNotNull { column } => {
                let covered = major >= 12
                    && state.validated_not_null.get(key).is_some_and(|cols| {
                        cols.iter().any(|c| c.as_ref().is_none_or(|c| c == column))
                    });
                if !covered && let Some((severity, note)) = self.weigh(size, key) {
                    emit(
                        HazardId::ValidatingScan,
                        severity,
                        format!(
                            "SET NOT NULL on `{}.{column}` scans every row while reads and writes are blocked (ACCESS EXCLUSIVE){note}",
                            table.name
                        ),
                        if major >= 12 {
                            "first ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET NOT NULL (no scan) and drop the check"
                        } else {
                            "before PostgreSQL 12 SET NOT NULL always scans: keep a validated CHECK (col IS NOT NULL) instead"
                        },
                    );
                }
            }
            Action::DropNotNull { column } => {
                if size != Size::New {
                    emit(
                        HazardId::DropNotNull,
                        Severity::Warning,
                        format!(
                            "dropping NOT NULL on `{}.{column}` lets NULLs reach code that assumes there are none",
                            table.name
                        ),
                        "deploy code that handles NULL first",
                    );
                }
            }
            Action::AddConstraint { constraint, .. } => {
                if let Some(name) = &constraint.name {
                    self.identifier(name, emit);
                }
                let repeatable = constraint
                    .name
                    .as_ref()
                    .is_some_and(|n| state.dropped_if_exists.remove(n));
                if autocommit && !repeatable && size != Size::New {
                    emit(
                        HazardId::NonIdempotent,
                        Severity::Warning,
                        "ADD CONSTRAINT fails when the migration runs again after a partial failure".to_owned(),
                        "outside a transaction, DROP CONSTRAINT IF EXISTS first",
                    );
                }
                match &constraint.kind {
                    ConstraintKind::ForeignKey(_) | ConstraintKind::Check => {
                        let what = if matches!(constraint.kind, ConstraintKind::Check) {
                            "CHECK"
                        } else {
                            "FOREIGN KEY"
                        };
                        if constraint.not_valid {
                            if let Some(name) = &constraint.name
                                && in_tx
                            {
                                state.not_valid_in_tx.insert(name.clone());
                            }
                        } else if let Some((severity, note)) = self.weigh(size, key) {
                            emit(
                                HazardId::ValidatingScan,
                                severity,
                                format!(
                                    "ADD CONSTRAINT … {what} on `{}` checks every row while writes are blocked{note}",
                                    table.name
                                ),
                                "add it NOT VALID (new rows are checked at once), then VALIDATE CONSTRAINT in a later migration (no write lock while it scans)",
                            );
                        }
                        if let (ConstraintKind::Check, Some(name)) =
                            (&constraint.kind, &constraint.name)
                        {
                            // Remember `CHECK (col IS NOT NULL)` for SET NOT NULL.
                            if let Some(column) = constraint.columns.first() {
                                state.not_null_checks.insert(name.clone(), column.clone());
                            }
                        }
                        if matches!(constraint.kind, ConstraintKind::ForeignKey(_))
                            && !constraint.columns.is_empty()
                        {
                            self.pending_fks.push(PendingFk {
                                table: key.clone(),
                                columns: constraint.columns.clone(),
                                line,
                                allowed: allowed.contains(&HazardId::ForeignKeyWithoutIndex),
                            });
                        }
                    }
                    ConstraintKind::PrimaryKey
                    | ConstraintKind::Unique
                    | ConstraintKind::Exclude => {
                        if !constraint.using_index
                            && let Some((severity, note)) = self.weigh(size, key)
                        {
                            emit(
                                HazardId::BlockingIndexBuild,
                                severity,
                                format!(
                                    "ADD CONSTRAINT builds an index on `{}` while reads and writes are blocked (ACCESS EXCLUSIVE){note}",
                                    table.name
                                ),
                                "build a unique index with CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … USING INDEX",
                            );
                        }
                        self.indexes
                            .entry(key.clone())
                            .or_default()
                            .push(constraint.columns.clone());
                    }
                }
            }
            Action::ValidateConstraint { name } => {
                if state.not_valid_in_tx.contains(name)
                    && let Some((severity, note)) = self.weigh(size, key)
                {
                    emit(
                        HazardId::ValidatingScan,
                        severity,
                        format!(
                            "VALIDATE CONSTRAINT `{name}` runs in the transaction that added it, so the scan holds ADD CONSTRAINT's lock{note}"
                        ),
                        "validate in a later migration (its own transaction): then the scan blocks no writes",
                    );
                }
                let column = state.not_null_checks.get(name).cloned();
                state
                    .validated_not_null
                    .entry(key.clone())
                    .or_default()
                    .push(column);
            }
            Action::DropConstraint { name, if_exists } => {
                if *if_exists {
                    state.dropped_if_exists.insert(name.clone());
                } else if autocommit && size != Size::New {
                    emit(
                        HazardId::NonIdempotent,
                        Severity::Warning,
                        format!(
                            "DROP CONSTRAINT `{name}` fails when the migration runs again after a partial failure"
                        ),
                        "outside a transaction, write DROP CONSTRAINT IF EXISTS",
                    );
                }
            }
            Action::DetachPartition { concurrently } => {
                if !concurrently && let Some((severity, note)) = self.weigh(size, key) {
                    emit(
                        HazardId::BlockingLock,
                        severity,
                        format!(
                            "DETACH PARTITION takes an ACCESS EXCLUSIVE lock on `{}`{note}",
                            table.name
                        ),
                        "use DETACH PARTITION … CONCURRENTLY (PostgreSQL 14+) in a `-- strata:no-transaction` migration",
                    );
                }
            }
            Action::Default { .. } | Action::AttachPartition => {}
            Action::Other(what) => {
                let rewrites = what.starts_with("SET LOGGED")
                    || what.starts_with("SET UNLOGGED")
                    || what.starts_with("SET TABLESPACE")
                    || what.starts_with("SET ACCESS METHOD");
                if rewrites && let Some((severity, note)) = self.weigh(size, key) {
                    emit(
                        HazardId::TableRewrite,
                        severity,
                        format!(
                            "{what} rewrites `{}` under an ACCESS EXCLUSIVE lock{note}",
                            table.name
                        ),
                        "run it off-peak, or copy the data into a new table in batches",
                    );
                }
            }
        }
    }

    #[expect(clippy::unused_self, reason = "rules are methods of the linter")]
    fn identifier(&self, name: &str, emit: &mut dyn FnMut(HazardId, Severity, String, &str)) {
        if name.len() > 63 {
            let cut: String = name
                .char_indices()
                .take_while(|(i, c)| i + c.len_utf8() <= 63)
                .map(|(_, c)| c)
                .collect();
            emit(
                HazardId::IdentifierTooLong,
                Severity::Warning,
                format!("`{name}` is longer than 63 bytes: PostgreSQL silently cuts it to `{cut}`"),
                "use a shorter name",
            );
        }
    }

    fn column_types(
        &self,
        column: &ColumnDef,
        emit: &mut dyn FnMut(HazardId, Severity, String, &str),
    ) {
        if let Some(type_name) = &column.type_name {
            self.type_hygiene(&column.name, type_name, emit);
        }
    }

    #[expect(clippy::unused_self, reason = "rules are methods of the linter")]
    fn type_hygiene(
        &self,
        column: &str,
        t: &TypeName,
        emit: &mut dyn FnMut(HazardId, Severity, String, &str),
    ) {
        match t.base.as_str() {
            "int4" | "int2" | "serial" | "smallserial" => emit(
                HazardId::PreferBigint,
                Severity::Info,
                format!(
                    "`{column}` is {}: a 32-bit (or 16-bit) key or counter runs out, and widening it later rewrites the table",
                    t.text
                ),
                "use bigint (or bigint GENERATED ALWAYS AS IDENTITY)",
            ),
            _ => {}
        }
        if is_serial(t) {
            emit(
                HazardId::PreferIdentity,
                Severity::Info,
                format!(
                    "`{column}` is {}: a serial's sequence is a separate object with its own permissions",
                    t.text
                ),
                "use GENERATED ALWAYS AS IDENTITY",
            );
        }
        match t.base.as_str() {
            "varchar" if t.has_modifier => emit(
                HazardId::PreferText,
                Severity::Info,
                format!(
                    "`{column}` is {}: raising the limit later can lock the table",
                    t.text
                ),
                "use text with a CHECK (char_length(col) <= n) constraint",
            ),
            "bpchar" => emit(
                HazardId::CharColumn,
                Severity::Info,
                format!(
                    "`{column}` is {}: char pads values with spaces and compares them oddly",
                    t.text
                ),
                "use text (or varchar)",
            ),
            "timestamp" | "time" => emit(
                HazardId::PreferTimestamptz,
                Severity::Info,
                format!(
                    "`{column}` is {} without a time zone: values change meaning when the server or session time zone does",
                    t.text
                ),
                "use timestamptz",
            ),
            _ => {}
        }
    }
}

/// The `(n, …)` modifiers of a type as PostgreSQL prints it.
fn modifiers(text: &str) -> Vec<u32> {
    text.split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inside, _)| {
            inside
                .split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// A written type as `format_type` prints it (`int` → `integer`,
/// `varchar(20)` → `character varying(20)`).
fn printed(type_name: &TypeName) -> String {
    let base = match type_name.base.as_str() {
        "int4" => "integer",
        "int2" => "smallint",
        "int8" => "bigint",
        "varchar" => "character varying",
        "bpchar" => "character",
        "float8" => "double precision",
        "float4" => "real",
        "timestamp" => "timestamp without time zone",
        "timestamptz" => "timestamp with time zone",
        "time" => "time without time zone",
        "timetz" => "time with time zone",
        "bool" => "boolean",
        other => other,
    };
    let modifiers: Vec<String> = modifiers(&type_name.text)
        .iter()
        .map(u32::to_string)
        .collect();
    let modifiers = if modifiers.is_empty() {
        String::new()
    } else {
        format!("({})", modifiers.join(","))
    };
    let array = if type_name.array { "[]" } else { "" };
    format!("{base}{modifiers}{array}")
}

/// Whether changing a column from `old` (as `format_type` prints it) to
/// `new` keeps the stored bytes, so that PostgreSQL rewrites nothing:
/// varchar widened or made unbounded, varchar to text, numeric with more
/// precision and the same scale, the same type again.
fn binary_compatible(old: &str, new: &TypeName) -> bool {
    let old = old.to_ascii_lowercase();
    let (old_base, old_mods) = (
        old.split('(').next().unwrap_or_default().trim().to_owned(),
        modifiers(&old),
    );
    let new_mods = modifiers(&new.text);
    if new.array != old.ends_with("[]") {
        return false;
    }
    match (old_base.as_str(), new.base.as_str()) {
        ("character varying", "varchar") => {
            new_mods.is_empty()
                || old_mods
                    .first()
                    .zip(new_mods.first())
                    .is_some_and(|(o, n)| n >= o)
        }
        ("character varying" | "text", "text") => true,
        ("numeric", "numeric") => match (old_mods.as_slice(), new_mods.as_slice()) {
            (_, []) => true,
            ([op, os], [np, ns]) => ns == os && np >= op,
            ([op], [np]) => np >= op,
            _ => false,
        },
        (old, new_base) => {
            let same = matches!(
                (old, new_base),
                ("integer", "int4")
                    | ("bigint", "int8")
                    | ("smallint", "int2")
                    | ("boolean", "bool")
                    | ("timestamp with time zone", "timestamptz")
                    | ("double precision", "float8")
                    | ("real", "float4")
            ) || old == new_base;
            same && old_mods == new_mods
        }
    }
}

fn rows_note(size: Size) -> String {
    match size {
        Size::Small(n) | Size::Large(n) => format!(" (~{n} rows)"),
        _ => String::new(),
    }
}

fn self_disabled(
    context: &Context,
    file_allowed: &BTreeSet<HazardId>,
    allowed: &BTreeSet<HazardId>,
    rule: HazardId,
) -> bool {
    context.disabled.contains(&rule) || file_allowed.contains(&rule) || allowed.contains(&rule)
}
