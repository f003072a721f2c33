//! Loading schema files into a scratch database, in whatever order their
//! statements happen to be written.

use std::time::{Duration, Instant};

use strata_syntax::{line_of, split_statements};

use crate::{Connection, DatabaseError, PgError};

/// A schema file's name (for messages) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The path as the user should see it.
    pub path: String,
    /// The file's contents.
    pub text: String,
}

/// What loading did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Statements run.
    pub statements: usize,
    /// Extra passes needed because statements used objects defined later.
    pub retries: usize,
    /// Time spent.
    pub elapsed: Duration,
}

/// A schema file that could not be loaded: where, and what the database said.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum LoadError {
    /// The file does not lex (an unterminated string, comment or quote).
    #[error("{path}:{line}: {message}")]
    #[diagnostic(
        code(strata::schema::syntax),
        help("close the string, quoted identifier, dollar quote or comment")
    )]
    Syntax {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A statement the database refused.
    #[error("{path}:{line}: {error}")]
    #[diagnostic(code(strata::schema::statement))]
    Statement {
        /// The file.
        path: String,
        /// 1-based line of the error (the statement's line when the server
        /// gave no position).
        line: usize,
        /// The statement's first line, for context.
        statement: String,
        /// What the server said.
        error: DatabaseError,
        /// What to do.
        #[help]
        help: Option<String>,
    },
    /// Any other failure talking to the database.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Database(#[from] PgError),
}

struct Pending {
    file: usize,
    text: String,
    line: usize,
    error: Option<DatabaseError>,
}

/// Runs every statement of `files` on `conn` (a scratch database, in
/// autocommit mode). A statement that fails because something it uses does
/// not exist yet is retried after the others, until nothing more succeeds;
/// so the order of statements within and across files does not matter.
///
/// # Errors
/// The first statement (in file order) that cannot succeed, with its file,
/// line and the server's message.
pub fn load_schema(conn: &mut Connection, files: &[SourceFile]) -> Result<LoadReport, LoadError> {
    load_schema_with_progress(conn, files, MissingRoles::Fail, &mut |_, _| {})
}

/// What to do when a schema file names a role the scratch server lacks
/// (`GRANT … TO app_user`, `CREATE POLICY … TO app_user`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingRoles {
    /// Create it (`NOLOGIN`): for a throwaway cluster only, since roles
    /// belong to the whole cluster.
    Create,
    /// Report the statement as failing.
    Fail,
}

/// The role a `role "x" does not exist` error names.
pub fn missing_role(error: &DatabaseError) -> Option<String> {
    if error.code != "42704" {
        return None;
    }
    let rest = error.message.strip_prefix("role \"")?;
    let name = rest.strip_suffix("\" does not exist")?;
    Some(name.replace("\"\"", "\""))
}

/// [`load_schema`], calling `progress(done, total)` as statements succeed.
///
/// # Errors
/// As [`load_schema`].
pub fn load_schema_with_progress(
    conn: &mut Connection,
    files: &[SourceFile],
    roles: MissingRoles,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<LoadReport, LoadError> {
    let started = Instant::now();
    // As pg_dump does: routine bodies are checked when they run, so that
    // routines may be created before the tables they use.
    conn.execute("SET check_function_bodies = off")?;
    let mut pending = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let statements = split_statements(&file.text).map_err(|e| LoadError::Syntax {
            path: file.path.clone(),
            line: e.line,
            message: e.to_string(),
        })?;
        for statement in statements {
            if is_transaction_control(statement.text) {
                continue;
            }
            pending.push(Pending {
                file: index,
                text: statement.text.to_owned(),
                line: statement.line,
                error: None,
            });
        }
    }
    let mut report = LoadReport::default();
    let committed = fast_path(conn, &pending, progress)?;
    report.statements = committed;
    if committed == pending.len() {
        report.elapsed = started.elapsed();
        return Ok(report);
    }
    let mut pending = pending.split_off(committed);
    let mut round = 0;
    let mut total = committed + pending.len();
    loop {
        let mut deferred = Vec::new();
        let before = pending.len();
        for mut statement in pending {
            let mut result = conn.execute(&statement.text);
            if roles == MissingRoles::Create
                && let Err(PgError::Database { error, .. }) = &result
                && let Some(role) = missing_role(error)
            {
                conn.execute(&format!(
                    "CREATE ROLE {} NOLOGIN",
                    strata_syntax::quote_ident(&role)
                ))?;
                result = conn.execute(&statement.text);
            }
            match result {
                Ok(()) => {
                    report.statements += 1;
                    progress(report.statements, total);
                }
                Err(PgError::Database { error, .. }) if error.is_missing_object() => {
                    statement.error = Some(error);
                    deferred.push(statement);
                }
                Err(PgError::Database { error, help }) => {
                    // Only the schema files run here: what already exists
                    // is defined twice, not a change made behind strata's back.
                    let help = if matches!(error.code.as_str(), "42P07" | "42710" | "42723") {
                        Some("it is already defined: the schema files define it twice (or an extension they create defines it); remove one definition".to_owned())
                    } else {
                        help
                    };
                    return Err(statement_error(files, &statement, error, help));
                }
                Err(other) => return Err(other.into()),
            }
        }
        if deferred.is_empty() {
            break;
        }
        let waiting = deferred.len();
        if waiting == before && !break_foreign_key_cycle(&mut deferred) {
            let first = deferred.into_iter().next().expect("deferred is not empty");
            let error = first
                .error
                .clone()
                .expect("deferred statements carry their error");
            let help = Some(
                "the object it uses is not defined in any schema file; check its spelling and that the file defining it is listed in the config's `schema`"
                    .to_owned(),
            );
            return Err(statement_error(files, &first, error, help));
        }
        total += deferred.len() - waiting;
        round += 1;
        report.retries = round;
        pending = deferred;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The fast path for files written in dependency order: many statements per
/// round trip, in transactions of a few hundred (one transaction holding
/// thousands of relation locks makes every later statement slower).
/// Returns how many statements were committed: on a failure the rest
/// (from the failed transaction on) is left to the slow path, which
/// reorders and reports errors with their lines.
fn fast_path(
    conn: &mut Connection,
    pending: &[Pending],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<usize, LoadError> {
    const PER_ROUND_TRIP: usize = 100;
    const PER_TRANSACTION: usize = 300;
    let mut committed = 0;
    for group in pending.chunks(PER_TRANSACTION) {
        conn.execute("BEGIN")?;
        for chunk in group.chunks(PER_ROUND_TRIP) {
            let script: Vec<&str> = chunk.iter().map(|p| p.text.as_str()).collect();
            match conn.execute(&script.join(";\n")) {
                Ok(()) => {}
                Err(PgError::Database { .. }) => {
                    conn.execute("ROLLBACK")?;
                    return Ok(committed);
                }
                Err(other) => return Err(other.into()),
            }
        }
        conn.execute("COMMIT")?;
        committed += group.len();
        progress(committed, pending.len());
    }
    Ok(committed)
}

/// Tables whose foreign keys reference each other cannot be created as
/// written: create one without its foreign keys and add them afterwards.
fn break_foreign_key_cycle(stuck: &mut Vec<Pending>) -> bool {
    for i in 0..stuck.len() {
        if stuck[i].error.as_ref().is_none_or(|e| e.code != "42P01") {
            continue;
        }
        if let Some(split) = strata_syntax::split_foreign_keys(&stuck[i].text) {
            let (file, line) = (stuck[i].file, stuck[i].line);
            stuck[i].text = split.create;
            stuck.extend(split.foreign_keys.into_iter().map(|text| Pending {
                file,
                text,
                line,
                error: None,
            }));
            return true;
        }
    }
    false
}

fn statement_error(
    files: &[SourceFile],
    statement: &Pending,
    error: DatabaseError,
    help: Option<String>,
) -> LoadError {
    // The server's position counts characters within the statement.
    let line = match error.position {
        Some(position) => {
            let offset = statement
                .text
                .char_indices()
                .nth(position.saturating_sub(1) as usize)
                .map_or(statement.text.len(), |(i, _)| i);
            statement.line + line_of(&statement.text, offset) - 1
        }
        None => statement.line,
    };
    let help = help.or_else(|| error.hint.clone());
    LoadError::Statement {
        path: files[statement.file].path.clone(),
        line,
        statement: statement.text.lines().next().unwrap_or_default().to_owned(),
        error,
        help,
    }
}

fn is_transaction_control(text: &str) -> bool {
    let first = text
        .split(|c: char| c.is_whitespace() || c == ';')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    matches!(
        first.as_str(),
        "begin" | "commit" | "end" | "rollback" | "start"
    ) && !text.to_ascii_lowercase().contains("atomic")
}
