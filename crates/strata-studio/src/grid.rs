//! The data grid's SQL: keyset pages, filters, sorts, and the row edits,
//! built from the catalog. Identifiers are quoted with
//! `strata_syntax::quote_ident`; every value the user sends is bound as a
//! `text` parameter and cast in SQL to the column's type as the catalog
//! prints it (`$1::text::integer`), so each type round-trips through its
//! text form and no user text is ever part of the SQL.
//!
//! Paging is by key, never by `OFFSET`: a page is `WHERE (key) > (last
//! key seen) ORDER BY key LIMIT n`, which an index on the key answers in
//! the same time on page 1 and page 100 000. The key is the primary key,
//! else `ctid`; sorting by another column pages by `(column, key)`.
//! Plain views have neither, and page by `OFFSET`.

use std::fmt::Write as _;

use serde::Deserialize;
use strata_model::{Catalog, ConstraintKind, QualifiedName, Table};
use strata_syntax::{quote_ident, quote_qualified};

use crate::StudioError;

/// The largest page a client may ask for.
pub(crate) const MAX_PAGE: usize = 1000;
const DEFAULT_PAGE: usize = 100;

/// How the rows of a relation are told apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    /// By the primary key's columns (indexes into `columns`).
    Primary(Vec<usize>),
    /// By `ctid` (a table without a primary key, or a materialized view).
    Ctid,
    /// Not at all: a plain view (read-only, paged by `OFFSET`).
    None,
}

/// A table or view, as the grid sees it.
#[derive(Debug, Clone)]
pub(crate) struct Relation {
    pub(crate) name: QualifiedName,
    /// Name and type (as `format_type` prints it) of each column.
    pub(crate) columns: Vec<(String, String)>,
    pub(crate) key: Key,
    /// Rows can be edited (a table with a key).
    pub(crate) writable: bool,
}

impl Relation {
    /// The table or view `schema.name` of the catalog.
    pub(crate) fn find(
        catalog: &Catalog,
        schema: &str,
        name: &str,
    ) -> Result<Relation, StudioError> {
        let qualified = QualifiedName::new(schema, name);
        if let Some(table) = catalog.tables.get(&qualified) {
            return Ok(Relation::of_table(table, catalog));
        }
        if let Some(view) = catalog.views.get(&qualified) {
            return Ok(Relation {
                name: qualified,
                columns: view
                    .columns
                    .iter()
                    .map(|c| (c.name.to_string(), c.data_type.clone()))
                    .collect(),
                key: if view.materialized {
                    Key::Ctid
                } else {
                    Key::None
                },
                writable: false,
            });
        }
        Err(StudioError::NotFound(format!(
            "there is no table or view `{schema}.{name}` (reload the schema if it was just created)"
        )))
    }

    fn of_table(table: &Table, catalog: &Catalog) -> Relation {
        let columns: Vec<(String, String)> = table
            .columns
            .iter()
            .map(|c| (c.name.to_string(), c.data_type.clone()))
            .collect();
        // A partition's primary key is its parent's (the catalog keeps it
        // there), and as unique within the partition.
        let mut owner = table;
        while owner.primary_key().is_none()
            && let Some(parent) = owner
                .partition_of
                .as_ref()
                .and_then(|p| catalog.tables.get(&p.parent))
        {
            owner = parent;
        }
        let primary = owner.primary_key().and_then(|pk| {
            pk.columns
                .iter()
                .map(|k| columns.iter().position(|(n, _)| n == k.as_str()))
                .collect::<Option<Vec<usize>>>()
        });
        let key = match primary {
            Some(indexes) if !indexes.is_empty() => Key::Primary(indexes),
            // A partitioned table's ctid is not unique across partitions.
            _ if table.partition_key.is_some() => Key::None,
            _ => Key::Ctid,
        };
        let writable = key != Key::None;
        Relation {
            name: table.name.clone(),
            columns,
            key,
            writable,
        }
    }

    fn qualified(&self) -> String {
        quote_qualified(&self.name.schema, &self.name.name)
    }

    fn column(&self, name: &str) -> Result<usize, StudioError> {
        self.columns
            .iter()
            .position(|(n, _)| n == name)
            .ok_or_else(|| {
                StudioError::BadRequest(format!("`{}` has no column `{name}`", self.name))
            })
    }

    /// The key's expressions and types, in order.
    fn key_parts(&self) -> Vec<(String, String)> {
        match &self.key {
            Key::Primary(indexes) => indexes
                .iter()
                .map(|&i| (quote_ident(&self.columns[i].0), self.columns[i].1.clone()))
                .collect(),
            Key::Ctid => vec![("ctid".to_owned(), "tid".to_owned())],
            Key::None => Vec::new(),
        }
    }

    /// `"a"::text, "b"::text, …` (and `ctid::text` last when keyed by it).
    fn select_list(&self) -> String {
        let mut list: Vec<String> = self
            .columns
            .iter()
            .map(|(n, _)| format!("{}::text", quote_ident(n)))
            .collect();
        if self.key == Key::Ctid {
            list.push("ctid::text".to_owned());
        }
        list.join(", ")
    }

    /// A row's identity, from a row as [`Relation::select_list`] reads it.
    pub(crate) fn identity(&self, row: &[Option<String>]) -> Vec<Option<String>> {
        match &self.key {
            Key::Primary(indexes) => indexes.iter().map(|&i| row[i].clone()).collect(),
            Key::Ctid => vec![row[self.columns.len()].clone()],
            Key::None => Vec::new(),
        }
    }
}

/// SQL and its parameters.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pub(crate) sql: String,
    pub(crate) params: Vec<Option<String>>,
}

impl Query {
    /// Binds a value; returns `$n::text::<type>`.
    fn bind(&mut self, value: Option<String>, data_type: &str) -> String {
        self.params.push(value);
        format!("${}::text::{data_type}", self.params.len())
    }

    /// Binds a text value; returns `$n::text`.
    fn bind_text(&mut self, value: String) -> String {
        self.params.push(Some(value));
        format!("${}::text", self.params.len())
    }

    pub(crate) fn param_refs(&self) -> Vec<Option<&str>> {
        self.params.iter().map(Option::as_deref).collect()
    }
}

/// A page request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageRequest {
    pub(crate) schema: String,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) sort: Option<Sort>,
    #[serde(default)]
    pub(crate) filters: Vec<Filter>,
    /// The `next` of the previous page.
    #[serde(default)]
    pub(crate) after: Option<Vec<Option<String>>>,
    /// For relations without a key (plain views): rows to skip.
    #[serde(default)]
    pub(crate) offset: Option<u64>,
    #[serde(default)]
    pub(crate) limit: Option<usize>,
}

impl PageRequest {
    pub(crate) fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
    }
}

/// A sort on one column.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Sort {
    pub(crate) column: String,
    #[serde(default)]
    pub(crate) desc: bool,
}

/// A filter on one column.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Filter {
    pub(crate) column: String,
    pub(crate) op: FilterOp,
    #[serde(default)]
    pub(crate) value: Option<String>,
}

/// What a filter tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum FilterOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// Case-insensitive substring of the text form.
    Contains,
    /// Prefix of the text form.
    StartsWith,
    IsNull,
    NotNull,
}

/// Heap blocks `[start, end)` (`end` open: to the end of the table).
///
/// `ORDER BY ctid` has no index to walk: on its own it sorts the whole
/// table for every page. Read a block range at a time instead (a TID range
/// scan, PostgreSQL 14+), sort just those rows, and widen the range until
/// the page is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Blocks {
    pub(crate) start: u64,
    pub(crate) end: Option<u64>,
}

/// Whether this request's pages are read a block range at a time.
pub(crate) fn pages_by_blocks(rel: &Relation, req: &PageRequest) -> bool {
    rel.key == Key::Ctid && req.sort.is_none()
}

/// The block of a `ctid` (`(42,7)` is in block 42).
pub(crate) fn ctid_block(ctid: &str) -> Option<u64> {
    ctid.strip_prefix('(')?.split(',').next()?.parse().ok()
}

/// The query for one page, and the positions in each row of the values
/// that make the cursor for the next page.
pub(crate) fn page(
    rel: &Relation,
    req: &PageRequest,
    blocks: Option<Blocks>,
) -> Result<(Query, Vec<usize>), StudioError> {
    let mut q = Query::default();
    let mut conditions = Vec::new();
    if let Some(blocks) = blocks {
        let from = q.bind(Some(format!("({},0)", blocks.start)), "tid");
        conditions.push(format!("ctid >= {from}"));
        if let Some(end) = blocks.end {
            let to = q.bind(Some(format!("({end},0)")), "tid");
            conditions.push(format!("ctid < {to}"));
        }
    }
    for filter in &req.filters {
        conditions.push(filter_sql(rel, filter, &mut q)?);
    }
    let sort = req
        .sort
        .as_ref()
        .map(|s| Ok::<_, StudioError>((rel.column(&s.column)?, s.desc)))
        .transpose()?;
    let key_parts = rel.key_parts();
    // Positions in the selected row of the key values.
    let key_positions: Vec<usize> = match &rel.key {
        Key::Primary(indexes) => indexes.clone(),
        Key::Ctid => vec![rel.columns.len()],
        Key::None => Vec::new(),
    };
    // A sort by the (single-column) key itself is the plain key order.
    let sort = sort.filter(|(col, _)| key_positions != [*col]);
    let desc = sort.is_some_and(|(_, d)| d);
    let (cmp, dir) = if desc { ("<", " DESC") } else { (">", "") };
    let mut cursor_positions = Vec::new();
    // Qualified: a bare name in ORDER BY would name the output column of
    // the same name, which is the value's text.
    let table = rel.qualified();
    let mut order = Vec::new();
    if let Some((col, _)) = sort {
        cursor_positions.push(col);
        order.push(format!("{table}.{}{dir}", quote_ident(&rel.columns[col].0)));
    }
    cursor_positions.extend(&key_positions);
    order.extend(
        key_parts
            .iter()
            .map(|(expr, _)| format!("{table}.{expr}{dir}")),
    );

    if rel.key == Key::None {
        if req.after.is_some() {
            return Err(StudioError::BadRequest(format!(
                "`{}` has no key to page by: use offset",
                rel.name
            )));
        }
    } else if let Some(after) = &req.after {
        if after.len() != cursor_positions.len() {
            return Err(StudioError::BadRequest(format!(
                "the cursor has {} values, the sort needs {}",
                after.len(),
                cursor_positions.len()
            )));
        }
        let (sort_value, key_values) = if sort.is_some() {
            (Some(&after[0]), &after[1..])
        } else {
            (None, &after[..])
        };
        let mut key_lhs = Vec::new();
        let mut key_rhs = Vec::new();
        for ((expr, ty), value) in key_parts.iter().zip(key_values) {
            if value.is_none() {
                return Err(StudioError::BadRequest("a key value is null".to_owned()));
            }
            key_lhs.push(expr.clone());
            key_rhs.push(q.bind(value.clone(), ty));
        }
        let keys_after = format!("({}) {cmp} ({})", key_lhs.join(", "), key_rhs.join(", "));
        let condition = match (sort, sort_value) {
            (Some((col, _)), Some(value)) => {
                let column = quote_ident(&rel.columns[col].0);
                // NULLs sort last ascending and first descending (the
                // defaults, which an index on the column serves both ways).
                match value {
                    Some(v) => {
                        let bound = q.bind(Some(v.clone()), &rel.columns[col].1);
                        let row = format!(
                            "({column}, {}) {cmp} ({bound}, {})",
                            key_lhs.join(", "),
                            key_rhs.join(", ")
                        );
                        if desc {
                            row
                        } else {
                            format!("({row} OR {column} IS NULL)")
                        }
                    }
                    None if desc => {
                        format!("(({column} IS NULL AND {keys_after}) OR {column} IS NOT NULL)")
                    }
                    None => format!("({column} IS NULL AND {keys_after})"),
                }
            }
            _ => keys_after,
        };
        conditions.push(condition);
    }
    let mut sql = format!("SELECT {} FROM {}", rel.select_list(), rel.qualified());
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    if !order.is_empty() {
        sql.push_str(" ORDER BY ");
        sql.push_str(&order.join(", "));
    }
    // One more row than asked tells whether there is a next page.
    let _ = write!(sql, " LIMIT {}", req.limit() + 1);
    if rel.key == Key::None
        && let Some(offset) = req.offset
    {
        let _ = write!(sql, " OFFSET {offset}");
    }
    q.sql = sql;
    Ok((q, cursor_positions))
}

fn filter_sql(rel: &Relation, filter: &Filter, q: &mut Query) -> Result<String, StudioError> {
    let index = rel.column(&filter.column)?;
    let (name, ty) = &rel.columns[index];
    let column = quote_ident(name);
    let value = || {
        filter
            .value
            .clone()
            .ok_or_else(|| StudioError::BadRequest(format!("the filter on `{name}` needs a value")))
    };
    let compare = |op: &str, q: &mut Query| -> Result<String, StudioError> {
        Ok(format!("{column} {op} {}", q.bind(Some(value()?), ty)))
    };
    Ok(match filter.op {
        FilterOp::Eq => compare("=", q)?,
        FilterOp::Ne => compare("IS DISTINCT FROM", q)?,
        FilterOp::Lt => compare("<", q)?,
        FilterOp::Le => compare("<=", q)?,
        FilterOp::Gt => compare(">", q)?,
        FilterOp::Ge => compare(">=", q)?,
        FilterOp::Contains => format!(
            "{column}::text ILIKE {}",
            q.bind_text(format!("%{}%", escape_like(&value()?)))
        ),
        FilterOp::StartsWith => format!(
            "{column}::text LIKE {}",
            q.bind_text(format!("{}%", escape_like(&value()?)))
        ),
        FilterOp::IsNull => format!("{column} IS NULL"),
        FilterOp::NotNull => format!("{column} IS NOT NULL"),
    })
}

/// Escapes `LIKE`'s wildcards (the default escape character is `\`).
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `(k1, k2) = ($n::text::t1, …)` for a row's identity.
fn identity_condition(
    rel: &Relation,
    identity: &[Option<String>],
    q: &mut Query,
) -> Result<String, StudioError> {
    let parts = rel.key_parts();
    if parts.is_empty() {
        return Err(StudioError::BadRequest(format!(
            "`{}` is a view or has no key: its rows cannot be changed here",
            rel.name
        )));
    }
    if identity.len() != parts.len() || identity.iter().any(Option::is_none) {
        return Err(StudioError::BadRequest(format!(
            "a row of `{}` is identified by {} non-null values",
            rel.name,
            parts.len()
        )));
    }
    let lhs: Vec<&str> = parts.iter().map(|(e, _)| e.as_str()).collect();
    let rhs: Vec<String> = parts
        .iter()
        .zip(identity)
        .map(|((_, ty), v)| q.bind(v.clone(), ty))
        .collect();
    Ok(format!("({}) = ({})", lhs.join(", "), rhs.join(", ")))
}

/// `UPDATE … SET col = $1 WHERE <identity> AND col is still `old``,
/// returning the row.
pub(crate) fn update(
    rel: &Relation,
    identity: &[Option<String>],
    column: &str,
    value: Option<String>,
    old: Option<String>,
) -> Result<Query, StudioError> {
    let index = rel.column(column)?;
    let (name, ty) = &rel.columns[index];
    let mut q = Query::default();
    let set = q.bind(value, ty);
    let mut condition = identity_condition(rel, identity, &mut q)?;
    q.params.push(old);
    let _ = write!(
        condition,
        " AND {}::text IS NOT DISTINCT FROM ${}::text",
        quote_ident(name),
        q.params.len()
    );
    q.sql = format!(
        "UPDATE {} SET {} = {set} WHERE {condition} RETURNING {}",
        rel.qualified(),
        quote_ident(name),
        rel.select_list()
    );
    Ok(q)
}

/// `INSERT … (cols) VALUES (…)`, columns not given taking their defaults,
/// returning the row.
pub(crate) fn insert(
    rel: &Relation,
    values: &[(String, Option<String>)],
) -> Result<Query, StudioError> {
    let mut q = Query::default();
    let mut columns = Vec::new();
    let mut bound = Vec::new();
    for (column, value) in values {
        let index = rel.column(column)?;
        let (name, ty) = &rel.columns[index];
        if columns.contains(&quote_ident(name)) {
            return Err(StudioError::BadRequest(format!(
                "column `{name}` is given twice"
            )));
        }
        columns.push(quote_ident(name));
        bound.push(q.bind(value.clone(), ty));
    }
    q.sql = if columns.is_empty() {
        format!(
            "INSERT INTO {} DEFAULT VALUES RETURNING {}",
            rel.qualified(),
            rel.select_list()
        )
    } else {
        format!(
            "INSERT INTO {} ({}) VALUES ({}) RETURNING {}",
            rel.qualified(),
            columns.join(", "),
            bound.join(", "),
            rel.select_list()
        )
    };
    Ok(q)
}

/// `DELETE … WHERE <identity>`.
pub(crate) fn delete(rel: &Relation, identity: &[Option<String>]) -> Result<Query, StudioError> {
    let mut q = Query::default();
    let condition = identity_condition(rel, identity, &mut q)?;
    q.sql = format!(
        "DELETE FROM {} WHERE {condition} RETURNING true::text",
        rel.qualified()
    );
    Ok(q)
}

/// Whether a table has a primary key (for the page that lists tables).
pub(crate) fn has_primary_key(table: &Table) -> bool {
    table
        .constraints
        .iter()
        .any(|c| c.kind == ConstraintKind::PrimaryKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(key: Key) -> Relation {
        Relation {
            name: QualifiedName::new("public", "Users"),
            columns: vec![
                ("id".to_owned(), "integer".to_owned()),
                ("e-mail".to_owned(), "character varying(32)".to_owned()),
            ],
            key,
            writable: true,
        }
    }

    fn req(json: &str) -> PageRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn first_page_orders_by_the_key() {
        let (q, cursor) = page(
            &rel(Key::Primary(vec![0])),
            &req(r#"{"schema":"public","name":"Users"}"#),
            None,
        )
        .unwrap();
        assert_eq!(
            q.sql,
            r#"SELECT id::text, "e-mail"::text FROM public."Users" ORDER BY public."Users".id LIMIT 101"#
        );
        assert_eq!(cursor, [0]);
    }

    #[test]
    fn later_pages_and_filters_bind_every_value() {
        let (q, cursor) = page(
            &rel(Key::Primary(vec![0])),
            &req(
                r#"{"schema":"public","name":"Users","sort":{"column":"e-mail","desc":false},
                "filters":[{"column":"e-mail","op":"contains","value":"a%'; drop"}],
                "after":["x@y", "7"],"limit":10}"#,
            ),
            None,
        )
        .unwrap();
        assert_eq!(
            q.sql,
            r#"SELECT id::text, "e-mail"::text FROM public."Users" WHERE "e-mail"::text ILIKE $1::text AND (("e-mail", id) > ($3::text::character varying(32), $2::text::integer) OR "e-mail" IS NULL) ORDER BY public."Users"."e-mail", public."Users".id LIMIT 11"#
        );
        assert_eq!(
            q.params,
            [
                Some("%a\\%'; drop%".to_owned()),
                Some("7".to_owned()),
                Some("x@y".to_owned())
            ]
        );
        assert_eq!(cursor, [1, 0]);
    }

    #[test]
    fn descending_sorts_after_a_null() {
        let (q, _) = page(
            &rel(Key::Ctid),
            &req(
                r#"{"schema":"public","name":"Users","sort":{"column":"e-mail","desc":true},"after":[null,"(0,1)"]}"#,
            ),
            None,
        )
        .unwrap();
        assert!(
            q.sql.contains(r#"WHERE (("e-mail" IS NULL AND (ctid) < ($1::text::tid)) OR "e-mail" IS NOT NULL) ORDER BY public."Users"."e-mail" DESC, public."Users".ctid DESC"#),
            "{}",
            q.sql
        );
        assert!(
            q.sql
                .starts_with(r#"SELECT id::text, "e-mail"::text, ctid::text FROM"#)
        );
    }

    #[test]
    fn heaps_page_a_block_range_at_a_time() {
        let (q, cursor) = page(
            &rel(Key::Ctid),
            &req(r#"{"schema":"public","name":"Users","after":["(7,3)"]}"#),
            Some(Blocks {
                start: 7,
                end: Some(71),
            }),
        )
        .unwrap();
        assert_eq!(
            q.sql,
            r#"SELECT id::text, "e-mail"::text, ctid::text FROM public."Users" WHERE ctid >= $1::text::tid AND ctid < $2::text::tid AND (ctid) > ($3::text::tid) ORDER BY public."Users".ctid LIMIT 101"#
        );
        assert_eq!(
            q.params,
            [
                Some("(7,0)".to_owned()),
                Some("(71,0)".to_owned()),
                Some("(7,3)".to_owned())
            ]
        );
        assert_eq!(cursor, [2]);
        assert_eq!(ctid_block("(42,7)"), Some(42));
        assert_eq!(ctid_block("42"), None);
    }

    #[test]
    fn unknown_columns_and_short_cursors_are_refused() {
        let r = rel(Key::Primary(vec![0]));
        let bad = req(r#"{"schema":"public","name":"Users","sort":{"column":"nope"}}"#);
        assert!(matches!(
            page(&r, &bad, None),
            Err(StudioError::BadRequest(_))
        ));
        let bad = req(r#"{"schema":"public","name":"Users","after":[]}"#);
        assert!(matches!(
            page(&r, &bad, None),
            Err(StudioError::BadRequest(_))
        ));
    }

    #[test]
    fn edits_name_the_row_by_its_key() {
        let r = rel(Key::Primary(vec![0]));
        let q = update(
            &r,
            &[Some("1".to_owned())],
            "e-mail",
            None,
            Some("a".to_owned()),
        )
        .unwrap();
        assert_eq!(
            q.sql,
            r#"UPDATE public."Users" SET "e-mail" = $1::text::character varying(32) WHERE (id) = ($2::text::integer) AND "e-mail"::text IS NOT DISTINCT FROM $3::text RETURNING id::text, "e-mail"::text"#
        );
        let q = insert(&r, &[]).unwrap();
        assert!(q.sql.contains("DEFAULT VALUES"));
        let q = delete(&rel(Key::Ctid), &[Some("(0,1)".to_owned())]).unwrap();
        assert_eq!(
            q.sql,
            r#"DELETE FROM public."Users" WHERE (ctid) = ($1::text::tid) RETURNING true::text"#
        );
        assert!(delete(&rel(Key::None), &[]).is_err());
        assert!(delete(&r, &[None]).is_err());
    }
}
