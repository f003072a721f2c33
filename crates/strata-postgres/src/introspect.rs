//! Reading the whole catalog in one round trip: one snapshot, a fixed set
//! of set-based queries (never one per table), each returning JSON that
//! maps onto the model.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use strata_model::{
    Catalog, Column, Constraint, ConstraintKind, EnumType, Extension, FkAction, Ident, Identity,
    IdentityKind, Index, QualifiedName, References, Schema, Sequence, SequenceOptions, Table,
    TableStats, UnmanagedObject,
};

use crate::PgError;

/// What the server said about itself while being introspected.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServerInfo {
    /// `server_version_num` (`150018`).
    pub server_version_num: u32,
    /// `max_locks_per_transaction`.
    pub max_locks_per_transaction: u32,
    /// `max_connections`.
    pub max_connections: u32,
    /// The database introspected.
    pub database: String,
    /// The role connected.
    pub user: String,
}

impl ServerInfo {
    /// The major version (`15`).
    pub fn major(&self) -> u32 {
        self.server_version_num / 10000
    }
}

const NOT_SYSTEM: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname !~ '^pg_(toast_)?temp_'";

fn not_extension_member(class: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{class}'::regclass AND e.objid = {oid} AND e.deptype = 'e')"
    )
}

/// The queries, in the order their results are read.
fn queries() -> Vec<String> {
    let ext_class = not_extension_member("pg_class", "c.oid");
    let ordinary = "c.relkind = 'r' AND NOT c.relispartition AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)";
    vec![
        "SELECT json_build_object(
            'server_version_num', current_setting('server_version_num')::int,
            'max_locks_per_transaction', current_setting('max_locks_per_transaction')::int,
            'max_connections', current_setting('max_connections')::int,
            'database', current_database(),
            'user', current_user)"
            .to_owned(),
        format!(
            "SELECT coalesce(json_agg(json_build_object('name', n.nspname, 'comment', d.description) ORDER BY n.nspname), '[]')
            FROM pg_namespace n
            LEFT JOIN pg_description d ON d.objoid = n.oid AND d.classoid = 'pg_namespace'::regclass AND d.objsubid = 0
            WHERE {NOT_SYSTEM} AND {}",
            not_extension_member("pg_namespace", "n.oid")
        ),
        "SELECT coalesce(json_agg(json_build_object('name', e.extname, 'schema', n.nspname, 'version', e.extversion) ORDER BY e.extname), '[]')
            FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            .to_owned(),
        format!(
            "SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', t.typname,
                'values', coalesce((SELECT json_agg(v.enumlabel ORDER BY v.enumsortorder) FROM pg_enum v WHERE v.enumtypid = t.oid), '[]'),
                'comment', d.description) ORDER BY n.nspname, t.typname), '[]')
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            LEFT JOIN pg_description d ON d.objoid = t.oid AND d.classoid = 'pg_type'::regclass AND d.objsubid = 0
            WHERE t.typtype = 'e' AND {NOT_SYSTEM} AND {}",
            not_extension_member("pg_type", "t.oid")
        ),
        format!(
            "SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', c.relname,
                'data_type', format_type(s.seqtypid, NULL), 'start', s.seqstart, 'increment', s.seqincrement,
                'min_value', s.seqmin, 'max_value', s.seqmax, 'cache', s.seqcache, 'cycle', s.seqcycle,
                'owner_schema', own.nspname, 'owner_table', oc.relname, 'owner_column', oa.attname,
                'identity', coalesce(dep.deptype = 'i', false), 'comment', d.description,
                'last_value', CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE') THEN pg_sequence_last_value(c.oid::regclass) END) ORDER BY n.nspname, c.relname), '[]')
            FROM pg_sequence s
            JOIN pg_class c ON c.oid = s.seqrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_depend dep ON dep.classid = 'pg_class'::regclass AND dep.objid = c.oid
                AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i') AND dep.refobjsubid > 0
            LEFT JOIN pg_class oc ON oc.oid = dep.refobjid
            LEFT JOIN pg_namespace own ON own.oid = oc.relnamespace
            LEFT JOIN pg_attribute oa ON oa.attrelid = dep.refobjid AND oa.attnum = dep.refobjsubid
            LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
            WHERE {NOT_SYSTEM} AND {ext_class}"
        ),
        format!(
            "SELECT coalesce(json_agg(json_build_object('oid', c.oid::bigint, 'schema', n.nspname, 'name', c.relname,
                'unlogged', c.relpersistence = 'u', 'comment', d.description,
                'rows', c.reltuples::bigint,
                'bytes', (c.relpages::bigint + coalesce(tc.relpages, 0)) * current_setting('block_size')::bigint)), '[]')
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid
            LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
            WHERE {ordinary} AND {NOT_SYSTEM} AND {ext_class}"
        ),
        format!(
            "SELECT coalesce(json_agg(json_build_object('table', a.attrelid::bigint, 'name', a.attname,
                'type', format_type(a.atttypid, a.atttypmod), 'not_null', a.attnotnull,
                'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
                'generated', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
                'identity', a.attidentity,
                'collation_schema', CASE WHEN a.attcollation <> t.typcollation THEN cn.nspname END,
                'collation', CASE WHEN a.attcollation <> t.typcollation THEN co.collname END,
                'type_schema', tn.nspname, 'type_name', bt.typname,
                'num', a.attnum, 'comment', d.description)), '[]')
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_type t ON t.oid = a.atttypid
            JOIN pg_type bt ON bt.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END
            JOIN pg_namespace tn ON tn.oid = bt.typnamespace
            LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
            LEFT JOIN pg_collation co ON co.oid = a.attcollation
            LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
            LEFT JOIN pg_description d ON d.objoid = a.attrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
            WHERE a.attnum > 0 AND NOT a.attisdropped AND {ordinary} AND {NOT_SYSTEM} AND {ext_class}"
        ),
        format!(
            "SELECT coalesce(json_agg(json_build_object('table', con.conrelid::bigint, 'name', con.conname, 'type', con.contype,
                'definition', pg_get_constraintdef(con.oid),
                'conkey', coalesce(con.conkey, '{{}}'),
                'ref_schema', rn.nspname, 'ref_table', rc.relname,
                'ref_columns', coalesce((SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num), '[]'),
                'on_delete', con.confdeltype, 'on_update', con.confupdtype, 'match', con.confmatchtype,
                'deferrable', con.condeferrable, 'deferred', con.condeferred, 'validated', con.convalidated,
                'comment', d.description)), '[]')
            FROM pg_constraint con
            JOIN pg_class c ON c.oid = con.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_class rc ON rc.oid = con.confrelid
            LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
            LEFT JOIN pg_description d ON d.objoid = con.oid AND d.classoid = 'pg_constraint'::regclass AND d.objsubid = 0
            WHERE con.contype IN ('p', 'u', 'c', 'f', 'x') AND {ordinary} AND {NOT_SYSTEM} AND {ext_class}"
        ),
        format!(
            "SELECT coalesce(json_agg(json_build_object('table', i.indrelid::bigint, 'name', ic.relname, 'unique', i.indisunique,
                'method', am.amname, 'definition', pg_get_indexdef(i.indexrelid),
                'indkey', i.indkey::int2[],
                'expression_columns', CASE WHEN i.indexprs IS NOT NULL OR i.indpred IS NOT NULL THEN
                    (SELECT json_agg(dep.refobjsubid) FROM pg_depend dep
                     WHERE dep.classid = 'pg_class'::regclass AND dep.objid = i.indexrelid
                       AND dep.refclassid = 'pg_class'::regclass AND dep.refobjid = i.indrelid AND dep.refobjsubid > 0) END,
                'predicate', pg_get_expr(i.indpred, i.indrelid), 'valid', i.indisvalid,
                'comment', d.description)), '[]')
            FROM pg_index i
            JOIN pg_class ic ON ic.oid = i.indexrelid
            JOIN pg_class c ON c.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_am am ON am.oid = ic.relam
            LEFT JOIN pg_description d ON d.objoid = i.indexrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
            WHERE NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))
              AND {ordinary} AND {NOT_SYSTEM} AND {ext_class}"
        ),
        unmanaged_query(),
    ]
}

/// Everything in the database the model does not cover yet, by name.
fn unmanaged_query() -> String {
    let qualified = "quote_ident(n.nspname) || '.' || quote_ident(c.relname)";
    let ext = |class: &str, oid: &str| not_extension_member(class, oid);
    format!(
        "SELECT coalesce(json_agg(json_build_object('kind', o.kind, 'schema', o.schema, 'name', o.name) ORDER BY o.kind, o.schema, o.name), '[]') FROM (
            SELECT CASE WHEN c.relkind = 'v' THEN 'view' WHEN c.relkind = 'm' THEN 'materialized view'
                        WHEN c.relkind = 'f' THEN 'foreign table' WHEN c.relkind = 'p' THEN 'partitioned table'
                        WHEN c.relispartition THEN 'partition' ELSE 'inheriting table' END AS kind,
                   n.nspname AS schema, {qualified} AS name
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE (c.relkind IN ('v', 'm', 'f', 'p') OR (c.relkind = 'r' AND (c.relispartition OR EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid))))
              AND {NOT_SYSTEM} AND {ext_c}
            UNION ALL
            SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function' ELSE 'function' END,
                   n.nspname, quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')'
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE {NOT_SYSTEM} AND {ext_p}
            UNION ALL
            SELECT 'trigger', n.nspname, quote_ident(t.tgname) || ' on ' || {qualified}
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT t.tgisinternal AND {NOT_SYSTEM} AND {ext_c}
            UNION ALL
            SELECT 'policy', n.nspname, quote_ident(pol.polname) || ' on ' || {qualified}
            FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE {NOT_SYSTEM} AND {ext_c}
            UNION ALL
            SELECT 'row-level security', n.nspname, {qualified}
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relrowsecurity AND {NOT_SYSTEM} AND {ext_c}
            UNION ALL
            SELECT 'rule', n.nspname, quote_ident(r.rulename) || ' on ' || {qualified}
            FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE r.rulename <> '_RETURN' AND {NOT_SYSTEM} AND {ext_c}
            UNION ALL
            SELECT CASE t.typtype WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite type' WHEN 'r' THEN 'range type' ELSE 'base type' END,
                   n.nspname, quote_ident(n.nspname) || '.' || quote_ident(t.typname)
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE (t.typtype IN ('d', 'r') OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
                   OR (t.typtype = 'b' AND t.typcategory <> 'A'))
              AND {NOT_SYSTEM} AND {ext_t}
            UNION ALL
            SELECT 'collation', n.nspname, quote_ident(n.nspname) || '.' || quote_ident(co.collname)
            FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace
            WHERE {NOT_SYSTEM} AND {ext_co}
            UNION ALL
            SELECT 'statistics object', n.nspname, quote_ident(n.nspname) || '.' || quote_ident(s.stxname)
            FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
            WHERE {NOT_SYSTEM}
            UNION ALL
            SELECT 'operator', n.nspname, quote_ident(n.nspname) || '.' || o.oprname
            FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
            WHERE {NOT_SYSTEM} AND {ext_o}
            UNION ALL
            SELECT 'text search configuration', n.nspname, quote_ident(n.nspname) || '.' || quote_ident(ts.cfgname)
            FROM pg_ts_config ts JOIN pg_namespace n ON n.oid = ts.cfgnamespace
            WHERE {NOT_SYSTEM} AND {ext_ts}
            UNION ALL
            SELECT 'event trigger', NULL, quote_ident(et.evtname) FROM pg_event_trigger et WHERE {ext_et}
            UNION ALL
            SELECT 'publication', NULL, quote_ident(pb.pubname) FROM pg_publication pb
            UNION ALL
            SELECT 'foreign server', NULL, quote_ident(fs.srvname) FROM pg_foreign_server fs WHERE {ext_fs}
            UNION ALL
            SELECT 'foreign-data wrapper', NULL, quote_ident(w.fdwname) FROM pg_foreign_data_wrapper w WHERE {ext_w}
        ) o",
        ext_c = ext("pg_class", "c.oid"),
        ext_p = ext("pg_proc", "p.oid"),
        ext_t = ext("pg_type", "t.oid"),
        ext_co = ext("pg_collation", "co.oid"),
        ext_o = ext("pg_operator", "o.oid"),
        ext_ts = ext("pg_ts_config", "ts.oid"),
        ext_et = ext("pg_event_trigger", "et.oid"),
        ext_fs = ext("pg_foreign_server", "fs.oid"),
        ext_w = ext("pg_foreign_data_wrapper", "w.oid"),
    )
}

/// The whole introspection as one script: one round trip. Inside a
/// transaction already (`in_transaction`), it neither begins nor commits.
pub fn script(in_transaction: bool) -> String {
    let mut sql = String::new();
    if !in_transaction {
        sql.push_str("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n");
    }
    // With an empty search_path the server qualifies every name it prints,
    // so text from two databases compares exactly.
    sql.push_str("SELECT pg_catalog.set_config('search_path', '', true);\n");
    // Room to aggregate a big catalog in memory.
    sql.push_str("SELECT pg_catalog.set_config('work_mem', '64MB', true);\n");
    for query in queries() {
        sql.push_str(&query);
        sql.push_str(";\n");
    }
    if in_transaction {
        sql.push_str("SELECT pg_catalog.set_config('search_path', (SELECT reset_val FROM pg_catalog.pg_settings WHERE name = 'search_path'), true);\n");
    } else {
        sql.push_str("COMMIT;\n");
    }
    sql
}

#[derive(Deserialize)]
struct SchemaRow {
    name: String,
    comment: Option<String>,
}

#[derive(Deserialize)]
struct EnumRow {
    schema: String,
    name: String,
    values: Vec<String>,
    comment: Option<String>,
}

#[derive(Deserialize)]
struct SequenceRow {
    schema: String,
    name: String,
    data_type: String,
    start: i64,
    increment: i64,
    min_value: i64,
    max_value: i64,
    cache: i64,
    cycle: bool,
    owner_schema: Option<String>,
    owner_table: Option<String>,
    owner_column: Option<String>,
    identity: bool,
    comment: Option<String>,
    last_value: Option<i64>,
}

#[derive(Deserialize)]
struct TableRow {
    oid: u32,
    schema: String,
    name: String,
    unlogged: bool,
    comment: Option<String>,
    rows: i64,
    bytes: i64,
}

#[derive(Deserialize)]
struct ColumnRow {
    table: u32,
    name: String,
    #[serde(rename = "type")]
    data_type: String,
    not_null: bool,
    default: Option<String>,
    generated: Option<String>,
    identity: String,
    collation_schema: Option<String>,
    collation: Option<String>,
    type_schema: String,
    type_name: String,
    num: i32,
    comment: Option<String>,
}

#[derive(Deserialize)]
struct ConstraintRow {
    table: u32,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    definition: String,
    conkey: Vec<i32>,
    ref_schema: Option<String>,
    ref_table: Option<String>,
    ref_columns: Vec<String>,
    on_delete: String,
    on_update: String,
    #[serde(rename = "match")]
    match_type: String,
    deferrable: bool,
    deferred: bool,
    validated: bool,
    comment: Option<String>,
}

#[derive(Deserialize)]
struct IndexRow {
    table: u32,
    name: String,
    unique: bool,
    method: String,
    definition: String,
    indkey: Vec<i32>,
    expression_columns: Option<Vec<i32>>,
    predicate: Option<String>,
    valid: bool,
    comment: Option<String>,
}

fn parse<T: for<'de> Deserialize<'de>>(what: &str, json: &str) -> Result<T, PgError> {
    serde_json::from_str(json).map_err(|e| PgError::Catalog(format!("{what}: {e}")))
}

fn fk_action(code: &str) -> FkAction {
    match code {
        "r" => FkAction::Restrict,
        "c" => FkAction::Cascade,
        "n" => FkAction::SetNull,
        "d" => FkAction::SetDefault,
        _ => FkAction::NoAction,
    }
}

/// Builds the catalog from the queries' results, in order.
pub(crate) fn build(results: &[String]) -> Result<(Catalog, ServerInfo), PgError> {
    let [
        server,
        schemas,
        extensions,
        enums,
        sequences,
        tables,
        columns,
        constraints,
        indexes,
        unmanaged,
    ] = results
    else {
        return Err(PgError::Catalog(format!(
            "expected 10 results, got {}",
            results.len()
        )));
    };
    let server: ServerInfo = parse("server", server)?;
    let mut catalog = Catalog::default();
    for row in parse::<Vec<SchemaRow>>("schemas", schemas)? {
        catalog.schemas.insert(
            Ident::new(row.name.clone()),
            Schema {
                name: Ident::new(row.name),
                comment: row.comment,
            },
        );
    }
    for extension in parse::<Vec<Extension>>("extensions", extensions)? {
        catalog.extensions.insert(extension.name.clone(), extension);
    }
    for row in parse::<Vec<EnumRow>>("enums", enums)? {
        let name = QualifiedName::new(row.schema, row.name);
        catalog.enums.insert(
            name.clone(),
            EnumType {
                name,
                values: row.values,
                comment: row.comment,
            },
        );
    }
    let mut identities: HashMap<
        (QualifiedName, String),
        (QualifiedName, SequenceOptions, Option<i64>),
    > = HashMap::new();
    for row in parse::<Vec<SequenceRow>>("sequences", sequences)? {
        let name = QualifiedName::new(row.schema, row.name);
        let options = SequenceOptions {
            data_type: row.data_type,
            start: row.start,
            increment: row.increment,
            min_value: row.min_value,
            max_value: row.max_value,
            cache: row.cache,
            cycle: row.cycle,
        };
        let owner = match (row.owner_schema, row.owner_table, row.owner_column) {
            (Some(s), Some(t), Some(c)) => Some((QualifiedName::new(s, t), c)),
            _ => None,
        };
        if row.identity {
            if let Some(owner) = owner {
                identities.insert(owner, (name, options, row.last_value));
            }
            continue;
        }
        catalog.sequences.insert(
            name.clone(),
            Sequence {
                name,
                options,
                owned_by: owner.map(|(t, c)| (t, Ident::new(c))),
                last_value: row.last_value,
                comment: row.comment,
            },
        );
    }
    let mut by_oid: BTreeMap<u32, Table> = BTreeMap::new();
    for row in parse::<Vec<TableRow>>("tables", tables)? {
        let mut table = Table::new(QualifiedName::new(row.schema, row.name));
        table.unlogged = row.unlogged;
        table.comment = row.comment;
        table.stats = Some(TableStats {
            rows_estimate: row.rows,
            total_bytes: row.bytes,
        });
        by_oid.insert(row.oid, table);
    }
    let mut columns = parse::<Vec<ColumnRow>>("columns", columns)?;
    columns.sort_by_key(|c| (c.table, c.num));
    // Constraints and indexes name columns by number.
    let names: HashMap<(u32, i32), Ident> = columns
        .iter()
        .map(|c| ((c.table, c.num), Ident::new(c.name.clone())))
        .collect();
    let column_names = |table: u32, nums: &[i32]| -> Vec<Ident> {
        nums.iter()
            .filter_map(|n| names.get(&(table, *n)).cloned())
            .collect()
    };
    for row in columns {
        let Some(table) = by_oid.get_mut(&row.table) else {
            continue;
        };
        let identity = match row.identity.as_str() {
            "a" | "d" => {
                let (sequence, options, last_value) = identities
                    .remove(&(table.name.clone(), row.name.clone()))
                    .ok_or_else(|| {
                        PgError::Catalog(format!(
                            "identity column {}.{} has no sequence",
                            table.name, row.name
                        ))
                    })?;
                Some(Identity {
                    kind: if row.identity == "a" {
                        IdentityKind::Always
                    } else {
                        IdentityKind::ByDefault
                    },
                    sequence,
                    options,
                    last_value,
                })
            }
            _ => None,
        };
        let user_type = !matches!(
            row.type_schema.as_str(),
            "pg_catalog" | "information_schema"
        );
        table.columns.push(Column {
            name: Ident::new(row.name),
            data_type: row.data_type,
            type_ref: user_type.then(|| QualifiedName::new(row.type_schema, row.type_name)),
            not_null: row.not_null,
            default: row.default,
            identity,
            generated: row.generated,
            collation: match (row.collation_schema, row.collation) {
                (Some(s), Some(c)) => Some(QualifiedName::new(s, c)),
                _ => None,
            },
            comment: row.comment,
        });
    }
    for row in parse::<Vec<ConstraintRow>>("constraints", constraints)? {
        let Some(table) = by_oid.get_mut(&row.table) else {
            continue;
        };
        let kind = match row.kind.as_str() {
            "p" => ConstraintKind::PrimaryKey,
            "u" => ConstraintKind::Unique,
            "c" => ConstraintKind::Check,
            "f" => ConstraintKind::ForeignKey,
            "x" => ConstraintKind::Exclusion,
            other => {
                return Err(PgError::Catalog(format!(
                    "unknown constraint type `{other}`"
                )));
            }
        };
        let references = match (kind, row.ref_schema, row.ref_table) {
            (ConstraintKind::ForeignKey, Some(schema), Some(name)) => Some(References {
                table: QualifiedName::new(schema, name),
                columns: row.ref_columns.into_iter().map(Ident::new).collect(),
                on_delete: fk_action(&row.on_delete),
                on_update: fk_action(&row.on_update),
                match_full: row.match_type == "f",
                deferrable: row.deferrable,
                initially_deferred: row.deferred,
            }),
            _ => None,
        };
        table.constraints.push(Constraint {
            name: Ident::new(row.name),
            kind,
            definition: row.definition,
            columns: column_names(row.table, &row.conkey),
            references,
            validated: row.validated,
            comment: row.comment,
        });
    }
    for row in parse::<Vec<IndexRow>>("indexes", indexes)? {
        let Some(table) = by_oid.get_mut(&row.table) else {
            continue;
        };
        let mut nums: Vec<i32> = row.indkey.iter().copied().filter(|n| *n > 0).collect();
        nums.extend(row.expression_columns.unwrap_or_default());
        let mut columns = column_names(row.table, &nums);
        columns.sort();
        columns.dedup();
        table.indexes.push(Index {
            name: Ident::new(row.name),
            unique: row.unique,
            method: row.method,
            keys: index_keys(&row.definition),
            definition: row.definition,
            columns,
            predicate: row.predicate,
            invalid: !row.valid,
            comment: row.comment,
        });
    }
    for mut table in by_oid.into_values() {
        table.constraints.sort_by(|a, b| a.name.cmp(&b.name));
        table.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        catalog.tables.insert(table.name.clone(), table);
    }
    catalog.unmanaged = parse::<Vec<UnmanagedObject>>("unmanaged objects", unmanaged)?;
    Ok((catalog, server))
}

/// The key list of `CREATE INDEX … USING method (keys) …`, split at its
/// top-level commas.
fn index_keys(definition: &str) -> Vec<String> {
    let Some(using) = definition.find(" USING ") else {
        return Vec::new();
    };
    let Some(open) = definition[using..].find('(').map(|i| using + i) else {
        return Vec::new();
    };
    let Ok(tokens) = strata_syntax::tokenize(&definition[open..]) else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    let mut depth = 0usize;
    let mut start = open + 1;
    for token in tokens {
        let at = open + token.span.start;
        match token.kind {
            strata_syntax::TokenKind::LParen => depth += 1,
            strata_syntax::TokenKind::RParen => {
                depth -= 1;
                if depth == 0 {
                    keys.push(definition[start..at].trim().to_owned());
                    break;
                }
            }
            strata_syntax::TokenKind::Comma if depth == 1 => {
                keys.push(definition[start..at].trim().to_owned());
                start = at + 1;
            }
            _ => {}
        }
    }
    keys
}
