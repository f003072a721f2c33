//! Reading the whole catalog in one round trip: one snapshot, a fixed set
//! of set-based queries (never one per table), each returning JSON that
//! maps onto the model.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use strata_model::{
    Catalog, Column, CompositeAttribute, CompositeType, Constraint, ConstraintKind, Dependency,
    Domain, DomainConstraint, EnumType, Extension, FkAction, Function, Grant, GrantTarget, Ident,
    Identity, IdentityKind, Index, ObjectRef, PartitionOf, Policy, QualifiedName, References,
    RoutineKind, RoutineName, Schema, Sequence, SequenceOptions, Table, TableStats, Trigger,
    UnmanagedObject, View, ViewColumn,
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
    // Tables, partitioned tables, partitions, views and materialized views;
    // not children of plain inheritance (reported as unmanaged).
    let relation = "c.relkind IN ('r', 'p', 'v', 'm') AND (c.relispartition OR NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid))";
    let ext_proc = not_extension_member("pg_proc", "p.oid");
    let ext_type = not_extension_member("pg_type", "t.oid");
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
                'kind', c.relkind, 'unlogged', c.relpersistence = 'u', 'comment', d.description,
                'rows', c.reltuples::bigint,
                'bytes', (c.relpages::bigint + coalesce(tc.relpages, 0)) * current_setting('block_size')::bigint,
                'partition_key', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
                'parent_schema', pn.nspname, 'parent_name', pc.relname,
                'bound', CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
                'row_security', c.relrowsecurity, 'force_row_security', c.relforcerowsecurity,
                'view', CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END,
                'options', CASE WHEN c.relkind IN ('v', 'm') THEN coalesce(c.reloptions, '{{}}') END)), '[]')
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid
            LEFT JOIN pg_inherits pi ON c.relispartition AND pi.inhrelid = c.oid
            LEFT JOIN pg_class pc ON pc.oid = pi.inhparent
            LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
            LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
            WHERE {relation} AND {NOT_SYSTEM} AND {ext_class}"
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
            WHERE a.attnum > 0 AND NOT a.attisdropped AND {relation} AND {NOT_SYSTEM} AND {ext_class}"
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
            WHERE con.contype IN ('p', 'u', 'c', 'f', 'x') AND {relation} AND {NOT_SYSTEM} AND {ext_class}
              -- what a partition inherits from its parent is managed there
              AND NOT (c.relispartition AND (con.conparentid <> 0 OR NOT con.conislocal))"
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
              -- a partition's index attached to its parent's is managed there
              AND NOT EXISTS (SELECT 1 FROM pg_inherits ii WHERE ii.inhrelid = i.indexrelid)
              AND {relation} AND {NOT_SYSTEM} AND {ext_class}"
        ),
        format!(
            "SELECT coalesce(json_agg(json_build_object('table', t.tgrelid::bigint, 'name', t.tgname,
                'definition', pg_get_triggerdef(t.oid), 'enabled', t.tgenabled,
                'function_schema', pn.nspname, 'function_name', p.proname,
                'function_args', pg_get_function_identity_arguments(p.oid), 'comment', d.description)), '[]')
            FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_proc p ON p.oid = t.tgfoid
            JOIN pg_namespace pn ON pn.oid = p.pronamespace
            LEFT JOIN pg_description d ON d.objoid = t.oid AND d.classoid = 'pg_trigger'::regclass AND d.objsubid = 0
            WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {relation} AND {NOT_SYSTEM} AND {ext_class}"
        ),
        format!(
            "SELECT coalesce(json_agg(json_build_object('table', pol.polrelid::bigint, 'name', pol.polname,
                'permissive', pol.polpermissive,
                'command', CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                'roles', coalesce((SELECT json_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END) FROM unnest(pol.polroles) r), '[]'),
                'using', pg_get_expr(pol.polqual, pol.polrelid), 'with_check', pg_get_expr(pol.polwithcheck, pol.polrelid),
                'comment', d.description)), '[]')
            FROM pg_policy pol
            JOIN pg_class c ON c.oid = pol.polrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_description d ON d.objoid = pol.oid AND d.classoid = 'pg_policy'::regclass AND d.objsubid = 0
            WHERE {relation} AND {NOT_SYSTEM} AND {ext_class}"
        ),
        format!(
            "SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', p.proname,
                'args', pg_get_function_identity_arguments(p.oid), 'kind', p.prokind,
                'definition', pg_get_functiondef(p.oid), 'result', pg_get_function_result(p.oid),
                'arguments', pg_get_function_arguments(p.oid),
                'language', l.lanname, 'source', p.prosrc, 'comment', d.description)), '[]')
            FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            JOIN pg_language l ON l.oid = p.prolang
            LEFT JOIN pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass AND d.objsubid = 0
            WHERE p.prokind IN ('f', 'p') AND {NOT_SYSTEM} AND {ext_proc}"
        ),
        format!(
            "SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', t.typname,
                'data_type', format_type(t.typbasetype, t.typtypmod), 'not_null', t.typnotnull, 'default', t.typdefault,
                'collation_schema', CASE WHEN t.typcollation <> bt.typcollation THEN cn.nspname END,
                'collation', CASE WHEN t.typcollation <> bt.typcollation THEN co.collname END,
                'constraints', coalesce((SELECT json_agg(json_build_object('name', con.conname,
                        'definition', pg_get_constraintdef(con.oid), 'validated', con.convalidated) ORDER BY con.conname)
                    FROM pg_constraint con WHERE con.contypid = t.oid AND con.contype = 'c'), '[]'),
                'comment', d.description)), '[]')
            FROM pg_type t
            JOIN pg_namespace n ON n.oid = t.typnamespace
            JOIN pg_type bt ON bt.oid = t.typbasetype
            LEFT JOIN pg_collation co ON co.oid = t.typcollation
            LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
            LEFT JOIN pg_description d ON d.objoid = t.oid AND d.classoid = 'pg_type'::regclass AND d.objsubid = 0
            WHERE t.typtype = 'd' AND {NOT_SYSTEM} AND {ext_type}"
        ),
        format!(
            "SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', t.typname,
                'attributes', coalesce((SELECT json_agg(json_build_object('name', a.attname,
                        'data_type', format_type(a.atttypid, a.atttypmod),
                        'collation_schema', CASE WHEN a.attcollation <> at.typcollation THEN acn.nspname END,
                        'collation', CASE WHEN a.attcollation <> at.typcollation THEN aco.collname END) ORDER BY a.attnum)
                    FROM pg_attribute a
                    JOIN pg_type at ON at.oid = a.atttypid
                    LEFT JOIN pg_collation aco ON aco.oid = a.attcollation
                    LEFT JOIN pg_namespace acn ON acn.oid = aco.collnamespace
                    WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '[]'),
                'comment', d.description)), '[]')
            FROM pg_type t
            JOIN pg_namespace n ON n.oid = t.typnamespace
            JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
            LEFT JOIN pg_description d ON d.objoid = t.oid AND d.classoid = 'pg_type'::regclass AND d.objsubid = 0
            WHERE t.typtype = 'c' AND {NOT_SYSTEM} AND {ext_type}"
        ),
        dependency_query(),
        grants_query(),
        unmanaged_query(),
    ]
}

/// Privileges on schemas, relations, sequences and routines, with the
/// default ACL spelled out where none was set, and without the owner's own.
fn grants_query() -> String {
    let grantee = "CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee)::text END";
    format!(
        "SELECT coalesce(json_agg(json_build_object('kind', g.kind, 'schema', g.schema, 'name', g.name, 'args', g.args,
                'grantee', g.grantee, 'privilege', g.privilege, 'grantable', g.grantable)), '[]') FROM (
            SELECT CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END AS kind, n.nspname AS schema,
                   c.relname AS name, NULL AS args, {grantee} AS grantee, a.privilege_type AS privilege, a.is_grantable AS grantable
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                 aclexplode(coalesce(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::\"char\", c.relowner))) a
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND a.grantee <> c.relowner AND {NOT_SYSTEM} AND {ext_class}
            UNION ALL
            SELECT CASE WHEN p.prokind = 'p' THEN 'procedure' ELSE 'function' END, n.nspname, p.proname,
                   pg_get_function_identity_arguments(p.oid), {grantee}, a.privilege_type, a.is_grantable
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
                 aclexplode(coalesce(p.proacl, acldefault('f'::\"char\", p.proowner))) a
            WHERE p.prokind IN ('f', 'p') AND a.grantee <> p.proowner AND {NOT_SYSTEM} AND {ext_proc}
            UNION ALL
            SELECT 'schema', n.nspname, NULL, NULL, {grantee}, a.privilege_type, a.is_grantable
            FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n'::\"char\", n.nspowner))) a
            WHERE a.grantee <> n.nspowner AND {NOT_SYSTEM} AND {ext_ns}
        ) g",
        ext_class = not_extension_member("pg_class", "c.oid"),
        ext_proc = not_extension_member("pg_proc", "p.oid"),
        ext_ns = not_extension_member("pg_namespace", "n.oid"),
    )
}

#[derive(Deserialize)]
struct GrantRow {
    kind: String,
    schema: String,
    name: Option<String>,
    args: Option<String>,
    grantee: String,
    privilege: String,
    grantable: bool,
}

/// How an object is named in the dependency query: a JSON array of its
/// kind and names. `$class`, `$oid` and `$sub` name the pg_depend columns.
fn describe_object(class: &str, oid: &str, sub: &str) -> String {
    format!(
        "CASE
          WHEN {class} = 'pg_rewrite'::regclass THEN (SELECT json_build_array('view', n.nspname, c.relname)
              FROM pg_rewrite rw JOIN pg_class c ON c.oid = rw.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace WHERE rw.oid = {oid})
          WHEN {class} = 'pg_proc'::regclass THEN (SELECT json_build_array('function', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
              FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = {oid} AND p.prokind IN ('f', 'p'))
          WHEN {class} = 'pg_trigger'::regclass THEN (SELECT json_build_array('trigger', n.nspname, c.relname, t.tgname)
              FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.oid = {oid})
          WHEN {class} = 'pg_policy'::regclass THEN (SELECT json_build_array('policy', n.nspname, c.relname, pol.polname)
              FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE pol.oid = {oid})
          WHEN {class} = 'pg_attrdef'::regclass THEN (SELECT json_build_array('default', n.nspname, c.relname, a.attname)
              FROM pg_attrdef ad JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
              JOIN pg_class c ON c.oid = ad.adrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ad.oid = {oid})
          WHEN {class} = 'pg_constraint'::regclass THEN (SELECT CASE WHEN con.conrelid <> 0
                  THEN json_build_array('constraint', n.nspname, c.relname, con.conname)
                  ELSE json_build_array('type', tn.nspname, t.typname) END
              FROM pg_constraint con LEFT JOIN pg_class c ON c.oid = con.conrelid LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_type t ON t.oid = con.contypid LEFT JOIN pg_namespace tn ON tn.oid = t.typnamespace WHERE con.oid = {oid})
          WHEN {class} = 'pg_class'::regclass THEN (SELECT CASE
                  WHEN c.relkind = 'S' THEN json_build_array('sequence', n.nspname, c.relname)
                  WHEN c.relkind IN ('i', 'I') THEN json_build_array('index', n.nspname, c.relname)
                  WHEN c.relkind = 'c' THEN json_build_array('type', n.nspname, c.relname)
                  WHEN {sub} <> 0 THEN json_build_array('column', n.nspname, c.relname, a.attname)
                  WHEN c.relkind IN ('v', 'm') THEN json_build_array('view', n.nspname, c.relname)
                  ELSE json_build_array('table', n.nspname, c.relname) END
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = {sub} WHERE c.oid = {oid})
          WHEN {class} = 'pg_type'::regclass THEN (SELECT CASE
                  WHEN et.typrelid <> 0 AND rc.relkind IN ('v', 'm') THEN json_build_array('view', en.nspname, rc.relname)
                  WHEN et.typrelid <> 0 AND rc.relkind IN ('r', 'p') THEN json_build_array('table', en.nspname, rc.relname)
                  ELSE json_build_array('type', en.nspname, et.typname) END
              FROM pg_type et
              JOIN pg_namespace en ON en.oid = et.typnamespace
              LEFT JOIN pg_class rc ON rc.oid = et.typrelid
              -- an array type stands for its element type
              WHERE et.oid = (SELECT CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END
                              FROM pg_type t WHERE t.oid = {oid}))
        END"
    )
}

/// Dependencies between user objects that the structured catalog does not
/// already say: what views, routines, triggers, policies and domains use,
/// and the routines and types that defaults, constraints, indexes and
/// columns use. System objects (OIDs below 16384) are left out.
fn dependency_query() -> String {
    format!(
        "SELECT coalesce(json_agg(json_build_array(x.dep, x.ref)), '[]') FROM (
            SELECT {dep} AS dep, {referenced} AS ref
            FROM pg_depend d
            WHERE d.deptype IN ('n', 'a') AND d.objid >= 16384 AND d.refobjid >= 16384
              AND d.refclassid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_type'::regclass)
              AND (d.classid IN ('pg_rewrite'::regclass, 'pg_proc'::regclass, 'pg_trigger'::regclass, 'pg_policy'::regclass, 'pg_type'::regclass)
                   OR (d.refclassid IN ('pg_proc'::regclass, 'pg_type'::regclass)
                       AND d.classid IN ('pg_attrdef'::regclass, 'pg_constraint'::regclass, 'pg_class'::regclass)))
        ) x WHERE x.dep IS NOT NULL AND x.ref IS NOT NULL",
        dep = describe_object("d.classid", "d.objid", "d.objsubid"),
        referenced = describe_object("d.refclassid", "d.refobjid", "d.refobjsubid"),
    )
}

/// Everything in the database the model does not cover yet, by name.
fn unmanaged_query() -> String {
    let qualified = "quote_ident(n.nspname) || '.' || quote_ident(c.relname)";
    let ext = |class: &str, oid: &str| not_extension_member(class, oid);
    format!(
        "SELECT coalesce(json_agg(json_build_object('kind', o.kind, 'schema', o.schema, 'name', o.name) ORDER BY o.kind, o.schema, o.name), '[]') FROM (
            SELECT CASE WHEN c.relkind = 'f' THEN 'foreign table' ELSE 'inheriting table' END AS kind,
                   n.nspname AS schema, {qualified} AS name
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE (c.relkind = 'f' OR (c.relkind IN ('r', 'p') AND NOT c.relispartition AND EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)))
              AND {NOT_SYSTEM} AND {ext_c}
            UNION ALL
            SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' ELSE 'window function' END,
                   n.nspname, quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')'
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE p.prokind IN ('a', 'w') AND {NOT_SYSTEM} AND {ext_p}
            UNION ALL
            SELECT 'rule', n.nspname, quote_ident(r.rulename) || ' on ' || {qualified}
            FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE r.rulename <> '_RETURN' AND {NOT_SYSTEM} AND {ext_c}
            UNION ALL
            SELECT CASE t.typtype WHEN 'r' THEN 'range type' ELSE 'base type' END,
                   n.nspname, quote_ident(n.nspname) || '.' || quote_ident(t.typname)
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE (t.typtype = 'r' OR (t.typtype = 'b' AND t.typcategory <> 'A'))
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
            UNION ALL
            SELECT 'subscription', NULL, quote_ident(s.subname) FROM pg_subscription s WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
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
    // Room to aggregate a big catalog in memory; and no JIT: compiling
    // these wide catalog queries costs seconds and saves nothing.
    sql.push_str("SELECT pg_catalog.set_config('work_mem', '64MB', true);\n");
    sql.push_str("SELECT pg_catalog.set_config('jit', 'off', true);\n");
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
struct RelationRow {
    oid: u32,
    schema: String,
    name: String,
    kind: String,
    unlogged: bool,
    comment: Option<String>,
    rows: i64,
    bytes: i64,
    partition_key: Option<String>,
    parent_schema: Option<String>,
    parent_name: Option<String>,
    bound: Option<String>,
    row_security: bool,
    force_row_security: bool,
    view: Option<String>,
    options: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TriggerRow {
    table: u32,
    name: String,
    definition: String,
    enabled: String,
    function_schema: String,
    function_name: String,
    function_args: String,
    comment: Option<String>,
}

#[derive(Deserialize)]
struct PolicyRow {
    table: u32,
    name: String,
    permissive: bool,
    command: String,
    roles: Vec<String>,
    using: Option<String>,
    with_check: Option<String>,
    comment: Option<String>,
}

#[derive(Deserialize)]
struct FunctionRow {
    schema: String,
    name: String,
    args: String,
    kind: String,
    definition: String,
    result: Option<String>,
    arguments: String,
    language: String,
    source: Option<String>,
    comment: Option<String>,
}

#[derive(Deserialize)]
struct DomainRow {
    schema: String,
    name: String,
    data_type: String,
    not_null: bool,
    default: Option<String>,
    collation_schema: Option<String>,
    collation: Option<String>,
    constraints: Vec<DomainConstraint>,
    comment: Option<String>,
}

#[derive(Deserialize)]
struct AttributeRow {
    name: String,
    data_type: String,
    collation_schema: Option<String>,
    collation: Option<String>,
}

#[derive(Deserialize)]
struct CompositeRow {
    schema: String,
    name: String,
    attributes: Vec<AttributeRow>,
    comment: Option<String>,
}

fn collation(schema: Option<String>, name: Option<String>) -> Option<QualifiedName> {
    match (schema, name) {
        (Some(s), Some(c)) => Some(QualifiedName::new(s, c)),
        _ => None,
    }
}

/// `["table", "public", "users"]` and the like, from the dependency query.
fn object_ref(parts: &[String]) -> Option<ObjectRef> {
    let name = |i: usize, j: usize| {
        Some(QualifiedName::new(
            parts.get(i)?.as_str(),
            parts.get(j)?.as_str(),
        ))
    };
    let ident = |i: usize| Some(Ident::new(parts.get(i)?.clone()));
    Some(match parts.first()?.as_str() {
        "table" => ObjectRef::Table(name(1, 2)?),
        "view" => ObjectRef::View(name(1, 2)?),
        "sequence" => ObjectRef::Sequence(name(1, 2)?),
        "index" => ObjectRef::Index(name(1, 2)?),
        "type" => ObjectRef::Type(name(1, 2)?),
        "column" => ObjectRef::Column(name(1, 2)?, ident(3)?),
        "default" => ObjectRef::Default(name(1, 2)?, ident(3)?),
        "constraint" => ObjectRef::Constraint(name(1, 2)?, ident(3)?),
        "trigger" => ObjectRef::Trigger(name(1, 2)?, ident(3)?),
        "policy" => ObjectRef::Policy(name(1, 2)?, ident(3)?),
        "function" => ObjectRef::Function(RoutineName {
            schema: Ident::new(parts.get(1)?.clone()),
            name: Ident::new(parts.get(2)?.clone()),
            args: parts.get(3)?.clone(),
        }),
        _ => return None,
    })
}

/// Tables, views and routines a routine's body names, which `pg_depend`
/// does not record (PL/pgSQL and non-atomic SQL bodies).
fn body_dependencies(catalog: &Catalog, function: &RoutineName, source: &str) -> Vec<Dependency> {
    let Ok(tokens) = strata_syntax::tokenize(source) else {
        return Vec::new();
    };
    let words: Vec<(usize, String)> = tokens
        .iter()
        .enumerate()
        .filter_map(|(i, t)| strata_syntax::ident_value(t, source).map(|v| (i, v)))
        .collect();
    let mut found = std::collections::BTreeSet::new();
    let dependent = ObjectRef::Function(function.clone());
    for (position, (i, word)) in words.iter().enumerate() {
        // `schema.name` when the previous identifier is followed by a dot.
        let qualifier = position
            .checked_sub(1)
            .and_then(|p| words.get(p))
            .filter(|(j, _)| {
                tokens
                    .get(j + 1)
                    .is_some_and(|t| t.kind == strata_syntax::TokenKind::Dot)
                    && j + 2 == *i
            })
            .map(|(_, w)| w.as_str());
        let matches = |name: &QualifiedName| {
            name.name.as_str() == word && qualifier.is_none_or(|q| name.schema.as_str() == q)
        };
        for table in catalog.tables.keys().filter(|n| matches(n)) {
            found.insert(ObjectRef::Table(table.clone()));
        }
        for view in catalog.views.keys().filter(|n| matches(n)) {
            found.insert(ObjectRef::View(view.clone()));
        }
        for routine in catalog
            .functions
            .keys()
            .filter(|r| matches(&r.qualified()) && *r != function)
        {
            found.insert(ObjectRef::Function(routine.clone()));
        }
    }
    found
        .into_iter()
        .map(|referenced| Dependency {
            dependent: dependent.clone(),
            referenced,
            by_name: true,
        })
        .collect()
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
        relations,
        columns,
        constraints,
        indexes,
        triggers,
        policies,
        functions,
        domains,
        composites,
        dependencies,
        grants,
        unmanaged,
    ] = results
    else {
        return Err(PgError::Catalog(format!(
            "expected 17 results, got {}",
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
    let mut views: BTreeMap<u32, View> = BTreeMap::new();
    for row in parse::<Vec<RelationRow>>("relations", relations)? {
        let name = QualifiedName::new(row.schema, row.name);
        if matches!(row.kind.as_str(), "v" | "m") {
            views.insert(
                row.oid,
                View {
                    name,
                    materialized: row.kind == "m",
                    definition: row.view.unwrap_or_default(),
                    columns: Vec::new(),
                    options: row.options.unwrap_or_default(),
                    indexes: Vec::new(),
                    triggers: Vec::new(),
                    comment: row.comment,
                },
            );
            continue;
        }
        let mut table = Table::new(name);
        table.unlogged = row.unlogged;
        table.comment = row.comment;
        table.partition_key = row.partition_key;
        table.partition_of = match (row.parent_schema, row.parent_name, row.bound) {
            (Some(schema), Some(parent), Some(bound)) => Some(PartitionOf {
                parent: QualifiedName::new(schema, parent),
                bound,
            }),
            _ => None,
        };
        table.row_security = row.row_security;
        table.force_row_security = row.force_row_security;
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
        if let Some(view) = views.get_mut(&row.table) {
            view.columns.push(ViewColumn {
                name: Ident::new(row.name),
                data_type: row.data_type,
                comment: row.comment,
            });
            continue;
        }
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
            collation: collation(row.collation_schema, row.collation),
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
        let mut nums: Vec<i32> = row.indkey.iter().copied().filter(|n| *n > 0).collect();
        nums.extend(row.expression_columns.unwrap_or_default());
        let mut columns = column_names(row.table, &nums);
        columns.sort();
        columns.dedup();
        let index = Index {
            name: Ident::new(row.name),
            unique: row.unique,
            method: row.method,
            keys: index_keys(&row.definition),
            definition: row.definition,
            columns,
            predicate: row.predicate,
            invalid: !row.valid,
            comment: row.comment,
        };
        if let Some(table) = by_oid.get_mut(&row.table) {
            table.indexes.push(index);
        } else if let Some(view) = views.get_mut(&row.table) {
            view.indexes.push(index);
        }
    }
    for row in parse::<Vec<TriggerRow>>("triggers", triggers)? {
        let trigger = Trigger {
            name: Ident::new(row.name),
            definition: row.definition,
            function: RoutineName {
                schema: Ident::new(row.function_schema),
                name: Ident::new(row.function_name),
                args: row.function_args,
            },
            enabled: row.enabled,
            comment: row.comment,
        };
        if let Some(table) = by_oid.get_mut(&row.table) {
            table.triggers.push(trigger);
        } else if let Some(view) = views.get_mut(&row.table) {
            view.triggers.push(trigger);
        }
    }
    for row in parse::<Vec<PolicyRow>>("policies", policies)? {
        let Some(table) = by_oid.get_mut(&row.table) else {
            continue;
        };
        let mut roles = row.roles;
        roles.sort();
        table.policies.push(Policy {
            name: Ident::new(row.name),
            permissive: row.permissive,
            command: row.command,
            roles,
            using: row.using,
            with_check: row.with_check,
            comment: row.comment,
        });
    }
    for mut table in by_oid.into_values() {
        table.constraints.sort_by(|a, b| a.name.cmp(&b.name));
        table.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        table.triggers.sort_by(|a, b| a.name.cmp(&b.name));
        table.policies.sort_by(|a, b| a.name.cmp(&b.name));
        catalog.tables.insert(table.name.clone(), table);
    }
    for mut view in views.into_values() {
        view.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        view.triggers.sort_by(|a, b| a.name.cmp(&b.name));
        catalog.views.insert(view.name.clone(), view);
    }
    let mut bodies = Vec::new();
    for row in parse::<Vec<FunctionRow>>("functions", functions)? {
        let name = RoutineName {
            schema: Ident::new(row.schema),
            name: Ident::new(row.name),
            args: row.args,
        };
        if matches!(row.language.as_str(), "plpgsql" | "sql")
            && let Some(source) = row.source
        {
            bodies.push((name.clone(), source));
        }
        catalog.functions.insert(
            name.clone(),
            Function {
                name,
                kind: if row.kind == "p" {
                    RoutineKind::Procedure
                } else {
                    RoutineKind::Function
                },
                definition: row.definition,
                result: row.result,
                arguments: row.arguments,
                comment: row.comment,
            },
        );
    }
    for row in parse::<Vec<DomainRow>>("domains", domains)? {
        let name = QualifiedName::new(row.schema, row.name);
        catalog.domains.insert(
            name.clone(),
            Domain {
                name,
                data_type: row.data_type,
                not_null: row.not_null,
                default: row.default,
                collation: collation(row.collation_schema, row.collation),
                constraints: row.constraints,
                comment: row.comment,
            },
        );
    }
    for row in parse::<Vec<CompositeRow>>("composite types", composites)? {
        let name = QualifiedName::new(row.schema, row.name);
        catalog.composite_types.insert(
            name.clone(),
            CompositeType {
                name,
                attributes: row
                    .attributes
                    .into_iter()
                    .map(|a| CompositeAttribute {
                        name: Ident::new(a.name),
                        data_type: a.data_type,
                        collation: collation(a.collation_schema, a.collation),
                    })
                    .collect(),
                comment: row.comment,
            },
        );
    }
    let mut dependencies: Vec<Dependency> =
        parse::<Vec<(Vec<String>, Vec<String>)>>("dependencies", dependencies)?
            .into_iter()
            .filter_map(|(dependent, referenced)| {
                Some(Dependency {
                    dependent: object_ref(&dependent)?,
                    referenced: object_ref(&referenced)?,
                    by_name: false,
                })
            })
            .filter(|d| d.dependent != d.referenced)
            .collect();
    for (name, source) in &bodies {
        dependencies.extend(body_dependencies(&catalog, name, source));
    }
    let mut grant_list = Vec::new();
    for row in parse::<Vec<GrantRow>>("grants", grants)? {
        let name = || QualifiedName::new(row.schema.clone(), row.name.clone().unwrap_or_default());
        let target = match row.kind.as_str() {
            "schema" => GrantTarget::Schema(Ident::new(row.schema.clone())),
            "sequence" => GrantTarget::Sequence(name()),
            "table" => GrantTarget::Table(name()),
            kind => GrantTarget::Function(
                RoutineName {
                    schema: Ident::new(row.schema.clone()),
                    name: Ident::new(row.name.clone().unwrap_or_default()),
                    args: row.args.clone().unwrap_or_default(),
                },
                if kind == "procedure" {
                    RoutineKind::Procedure
                } else {
                    RoutineKind::Function
                },
            ),
        };
        grant_list.push(Grant {
            target,
            grantee: row.grantee,
            privilege: row.privilege,
            grantable: row.grantable,
        });
    }
    grant_list.sort();
    catalog.grants = grant_list;
    dependencies.sort();
    // A dependency the database records wins over the same one found by name.
    dependencies.dedup_by(|later, earlier| {
        later.dependent == earlier.dependent && later.referenced == earlier.referenced
    });
    catalog.dependencies = dependencies;
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
