//! The JSON API behind the page: the schema, pages of rows, row edits and
//! the SQL console. Every handler takes the request's JSON and answers
//! JSON; errors are `{"error": {"message", "code", "detail", "hint",
//! "position"}}`, the database's own words when it said no.

use std::sync::{Arc, RwLock};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use strata_model::Catalog;
use strata_postgres::Connection;
use strata_syntax::quote_qualified;

use crate::console::{self, ConsoleMode};
use crate::grid::{self, Key, PageRequest, Relation};
use crate::http::{Request, Response};
use crate::pool::{End, Pool, in_transaction};
use crate::{MigrationStatus, StudioError};

/// What every request shares.
pub(crate) struct State {
    pub(crate) pool: Pool,
    pub(crate) read_only: bool,
    /// The catalog as last read; `None` when it must be read again (at
    /// start, on "reload", after the console wrote).
    pub(crate) catalog: RwLock<Option<Arc<Catalog>>>,
    pub(crate) server_version: RwLock<u32>,
    pub(crate) migrations: Option<MigrationStatus>,
}

impl State {
    /// The catalog, read from the database when there is none cached.
    pub(crate) fn catalog(&self, refresh: bool) -> Result<Arc<Catalog>, StudioError> {
        if !refresh
            && let Some(catalog) = self
                .catalog
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
        {
            return Ok(Arc::clone(catalog));
        }
        let mut conn = self.pool.get()?;
        let (catalog, server) = conn.introspect()?;
        self.pool.put(conn);
        let catalog = Arc::new(catalog);
        *self
            .catalog
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::clone(&catalog));
        *self
            .server_version
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = server.server_version_num;
        Ok(catalog)
    }

    fn forget_catalog(&self) {
        *self
            .catalog
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    fn refuse_if_read_only(&self, what: &'static str) -> Result<(), StudioError> {
        if self.read_only {
            Err(StudioError::ReadOnly(what))
        } else {
            Ok(())
        }
    }
}

/// Answers `/api/…`.
pub(crate) fn handle(state: &State, request: &Request) -> Response {
    let result = match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/api/schema") => schema(state, request.query("refresh").is_some()),
        ("GET", "/api/migrations") => migrations(state),
        ("POST", "/api/rows") => body(request).and_then(|r| rows(state, &r)),
        ("POST", "/api/update") => body(request).and_then(|r| update(state, r)),
        ("POST", "/api/insert") => body(request).and_then(|r| insert(state, &r)),
        ("POST", "/api/delete") => body(request).and_then(|r| delete(state, &r)),
        ("POST", "/api/sql") => body(request).and_then(|r| sql(state, &r)),
        (_, "/api/schema" | "/api/migrations") => {
            return Response::text(405, "use GET").with_header("Allow", "GET".to_owned());
        }
        (_, "/api/rows" | "/api/update" | "/api/insert" | "/api/delete" | "/api/sql") => {
            return Response::text(405, "use POST").with_header("Allow", "POST".to_owned());
        }
        _ => Err(StudioError::NotFound(format!(
            "no API endpoint `{}`",
            request.path
        ))),
    };
    match result {
        Ok(value) => Response::json(200, &value),
        Err(error) => error.response(),
    }
}

fn body<T: DeserializeOwned>(request: &Request) -> Result<T, StudioError> {
    // A cross-site form cannot send JSON without a CORS preflight, which
    // this server never grants.
    if !request
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json"))
    {
        return Err(StudioError::BadRequest(
            "send the request body as application/json".to_owned(),
        ));
    }
    serde_json::from_slice(&request.body)
        .map_err(|e| StudioError::BadRequest(format!("malformed request: {e}")))
}

fn schema(state: &State, refresh: bool) -> Result<Value, StudioError> {
    let catalog = state.catalog(refresh)?;
    let tables: Vec<Value> = catalog
        .tables
        .values()
        .map(|table| {
            let rel = Relation::find(&catalog, &table.name.schema, &table.name.name)?;
            let mut value = serde_json::to_value(table).expect("a table serializes");
            value["key"] = json!(key_name(&rel.key));
            value["writable"] = json!(rel.writable && !state.read_only);
            value["has_primary_key"] = json!(grid::has_primary_key(table));
            Ok(value)
        })
        .collect::<Result<_, StudioError>>()?;
    let views: Vec<&strata_model::View> = catalog.views.values().collect();
    let enums: Vec<&strata_model::EnumType> = catalog.enums.values().collect();
    Ok(json!({
        "database": state.pool.info().describe(),
        "server_version": *state.server_version.read().unwrap_or_else(std::sync::PoisonError::into_inner),
        "read_only": state.read_only,
        "migrations": state.migrations.is_some(),
        "tables": tables,
        "views": views,
        "enums": enums,
    }))
}

fn key_name(key: &Key) -> &'static str {
    match key {
        Key::Primary(_) => "primary-key",
        Key::Ctid => "ctid",
        Key::None => "none",
    }
}

fn migrations(state: &State) -> Result<Value, StudioError> {
    match &state.migrations {
        Some(status) => status().map_err(StudioError::BadRequest),
        None => Err(StudioError::NotFound(
            "migration status is not available".to_owned(),
        )),
    }
}

fn rows(state: &State, request: &PageRequest) -> Result<Value, StudioError> {
    let catalog = state.catalog(false)?;
    let rel = Relation::find(&catalog, &request.schema, &request.name)?;
    let mut conn = state.pool.get()?;
    let result = read_page(&mut conn, &rel, request);
    state.pool.put(conn);
    let (mut rows, cursor_positions) = result?;
    let limit = request.limit();
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = if more && rel.key != Key::None {
        rows.last().map(|last| {
            cursor_positions
                .iter()
                .map(|&i| last[i].clone())
                .collect::<Vec<_>>()
        })
    } else {
        None
    };
    let ids: Vec<Vec<Option<String>>> = rows.iter().map(|r| rel.identity(r)).collect();
    for row in &mut rows {
        row.truncate(rel.columns.len());
    }
    Ok(json!({
        "columns": rel.columns.iter().map(|(n, t)| json!({"name": n, "type": t})).collect::<Vec<_>>(),
        "key": key_name(&rel.key),
        "writable": rel.writable && !state.read_only,
        "rows": rows,
        "ids": ids,
        "next": next,
        "more": more,
    }))
}

/// Rows, values as text.
type Rows = Vec<Vec<Option<String>>>;

/// Up to `limit + 1` rows of the page, and where its cursor values are.
fn read_page(
    conn: &mut Connection,
    rel: &Relation,
    request: &PageRequest,
) -> Result<(Rows, Vec<usize>), StudioError> {
    if !grid::pages_by_blocks(rel, request) {
        let (query, positions) = grid::page(rel, request, None)?;
        let rows = conn.query_params(&query.sql, &query.param_refs())?.rows;
        return Ok((rows, positions));
    }
    // A range of blocks at a time, widening, until the page is full or the
    // last (open-ended) range was read.
    let size = conn.query_params(
        "SELECT (pg_relation_size($1::text::regclass) / current_setting('block_size')::bigint)::text",
        &[Some(&quote_qualified(&rel.name.schema, &rel.name.name))],
    )?;
    let blocks: u64 = size
        .rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let mut start = request
        .after
        .as_ref()
        .and_then(|after| after.first().cloned().flatten())
        .and_then(|ctid| grid::ctid_block(&ctid))
        .unwrap_or(0);
    let mut width: u64 = 8;
    let mut rows = Vec::new();
    loop {
        let end = start.saturating_add(width);
        let open = end >= blocks;
        let range = grid::Blocks {
            start,
            end: (!open).then_some(end),
        };
        let (query, positions) = grid::page(rel, request, Some(range))?;
        rows.extend(conn.query_params(&query.sql, &query.param_refs())?.rows);
        if rows.len() > request.limit() || open {
            return Ok((rows, positions));
        }
        start = end;
        width = width.saturating_mul(4);
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateRequest {
    schema: String,
    name: String,
    /// The row's identity, as the page gave it.
    id: Vec<Option<String>>,
    column: String,
    value: Option<String>,
    /// The value the user saw: the update happens only if it still is.
    old: Option<String>,
}

fn update(state: &State, request: UpdateRequest) -> Result<Value, StudioError> {
    state.refuse_if_read_only("editing a row")?;
    let catalog = state.catalog(false)?;
    let rel = writable(&catalog, &request.schema, &request.name)?;
    let query = grid::update(
        &rel,
        &request.id,
        &request.column,
        request.value,
        request.old,
    )?;
    let row = one_row(state, &rel, &query, "changed")?;
    Ok(row_json(&rel, row))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InsertRequest {
    schema: String,
    name: String,
    /// Column and value (text, or null); columns left out take their
    /// defaults.
    values: Vec<(String, Option<String>)>,
}

fn insert(state: &State, request: &InsertRequest) -> Result<Value, StudioError> {
    state.refuse_if_read_only("inserting a row")?;
    let catalog = state.catalog(false)?;
    let rel = writable(&catalog, &request.schema, &request.name)?;
    let query = grid::insert(&rel, &request.values)?;
    let row = one_row(state, &rel, &query, "inserted")?;
    Ok(row_json(&rel, row))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteRequest {
    schema: String,
    name: String,
    id: Vec<Option<String>>,
}

fn delete(state: &State, request: &DeleteRequest) -> Result<Value, StudioError> {
    state.refuse_if_read_only("deleting a row")?;
    let catalog = state.catalog(false)?;
    let rel = writable(&catalog, &request.schema, &request.name)?;
    let query = grid::delete(&rel, &request.id)?;
    one_row(state, &rel, &query, "deleted")?;
    Ok(json!({ "deleted": 1 }))
}

fn writable(catalog: &Catalog, schema: &str, name: &str) -> Result<Relation, StudioError> {
    let rel = Relation::find(catalog, schema, name)?;
    if rel.writable {
        Ok(rel)
    } else {
        Err(StudioError::BadRequest(format!(
            "`{}` is a view or has no key: its rows cannot be changed here",
            rel.name
        )))
    }
}

/// Runs a statement that must touch exactly one row, in a transaction
/// that is committed only if it did.
fn one_row(
    state: &State,
    rel: &Relation,
    query: &grid::Query,
    verb: &str,
) -> Result<Vec<Option<String>>, StudioError> {
    in_transaction(&state.pool, "BEGIN", End::Commit, |conn| {
        let mut result = conn.query_params(&query.sql, &query.param_refs())?;
        match result.rows.len() {
            1 => Ok(result.rows.remove(0)),
            0 => Err(StudioError::Conflict(format!(
                "no row of `{}` was {verb}: it was changed or deleted since it was shown; reload the page",
                rel.name
            ))),
            n => Err(StudioError::Conflict(format!(
                "{n} rows of `{}` would have been {verb}, not one: nothing was changed",
                rel.name
            ))),
        }
    })
}

fn row_json(rel: &Relation, mut row: Vec<Option<String>>) -> Value {
    let id = rel.identity(&row);
    row.truncate(rel.columns.len());
    json!({ "row": row, "id": id })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlRequest {
    sql: String,
    /// `read` (the default) or `write`.
    #[serde(default)]
    mode: Option<String>,
}

fn sql(state: &State, request: &SqlRequest) -> Result<Value, StudioError> {
    let mode = match request.mode.as_deref() {
        None | Some("read") => ConsoleMode::ReadOnly,
        Some("write") => {
            state.refuse_if_read_only("the console's write mode")?;
            ConsoleMode::Write
        }
        Some(other) => {
            return Err(StudioError::BadRequest(format!(
                "unknown mode `{other}` (read or write)"
            )));
        }
    };
    let started = std::time::Instant::now();
    let result = console::run(&state.pool, &request.sql, mode);
    if mode == ConsoleMode::Write {
        // The statement may have changed the schema (or failed half way
        // through a script that did).
        state.forget_catalog();
    }
    let results = result?;
    Ok(json!({
        "results": results,
        "elapsed_ms": started.elapsed().as_secs_f64() * 1000.0,
        "schema_changed": mode == ConsoleMode::Write,
    }))
}
