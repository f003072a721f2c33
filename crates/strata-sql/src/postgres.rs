//! PostgreSQL: changes as SQL, with hazards.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use strata_diff::{AttributeAction, Change, CommentTarget, DomainAction, Plan};
use strata_model::GrantTarget;
use strata_model::{
    Column, CompositeAttribute, Constraint, ConstraintKind, Identity, IdentityKind, Policy,
    QualifiedName, RoutineKind, RoutineName, Sequence, SequenceOptions, Table, View,
};
use strata_syntax::{quote_ident, quote_literal, quote_qualified};

use crate::hazard::{Hazard, HazardId};
use crate::types::{TypeName, classify, needs_using};
use crate::{RenderContext, Statement, Transaction};

fn q(name: &QualifiedName) -> String {
    quote_qualified(&name.schema, &name.name)
}

fn approx_rows(ctx: &RenderContext<'_>, table: &QualifiedName) -> String {
    if let Some(count) = ctx.row_counts.get(table) {
        return format!(
            " ({} {})",
            group_digits(*count),
            if *count == 1 { "row" } else { "rows" }
        );
    }
    match ctx.table_stats(table) {
        Some(stats) if stats.rows_estimate >= 0 => {
            format!(" (about {} rows)", group_digits(stats.rows_estimate))
        }
        _ => String::new(),
    }
}

fn group_digits(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

pub(crate) fn render(plan: &Plan, ctx: &RenderContext<'_>) -> Vec<Vec<Statement>> {
    let new_tables: BTreeSet<&QualifiedName> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::CreateTable { table } => Some(&table.name),
            _ => None,
        })
        .collect();
    plan.changes
        .iter()
        .map(|change| {
            let is_new = change.table().is_some_and(|t| new_tables.contains(t));
            let mut out = Vec::new();
            render_change(change, ctx, is_new, &mut out);
            out
        })
        .collect()
}

fn stmt(sql: String, table: Option<&QualifiedName>) -> Statement {
    Statement {
        sql,
        hazards: Vec::new(),
        transaction: Transaction::Inside,
        table: table.cloned(),
    }
}

fn with(mut statement: Statement, hazard: Hazard) -> Statement {
    statement.hazards.push(hazard);
    statement
}

#[allow(clippy::too_many_lines)]
fn render_change(change: &Change, ctx: &RenderContext<'_>, is_new: bool, out: &mut Vec<Statement>) {
    let table_of = change.table();
    let s = |sql: String| stmt(sql, table_of);
    match change {
        Change::CreateSchema { schema } => out.push(s(format!("CREATE SCHEMA {}", quote_ident(&schema.name)))),
        Change::DropSchema { name } => out.push(s(format!("DROP SCHEMA {}", quote_ident(name)))),
        Change::CreateExtension { extension } => out.push(s(format!(
            "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {} VERSION {}",
            quote_ident(&extension.name),
            quote_ident(&extension.schema),
            quote_literal(&extension.version)
        ))),
        Change::AlterExtension { name, to_version, .. } => out.push(s(format!(
            "ALTER EXTENSION {} UPDATE TO {}",
            quote_ident(name),
            quote_literal(to_version)
        ))),
        Change::DropExtension { name } => out.push(with(
            s(format!("DROP EXTENSION {}", quote_ident(name))),
            Hazard::new(
                HazardId::DropExtension,
                format!("removes extension `{name}` and everything it installed"),
                "keep the extension in the schema files if anything still uses it",
            ),
        )),
        Change::CreateEnum { enum_type } => out.push(s(format!(
            "CREATE TYPE {} AS ENUM ({})",
            q(&enum_type.name),
            enum_type.values.iter().map(|v| quote_literal(v)).collect::<Vec<_>>().join(", ")
        ))),
        Change::AddEnumValue { name, value, before } => {
            let mut sql = format!("ALTER TYPE {} ADD VALUE {}", q(name), quote_literal(value));
            if let Some(before) = before {
                write!(sql, " BEFORE {}", quote_literal(before)).expect("write to String");
            }
            let mut statement = with(
                s(sql),
                Hazard::new(
                    HazardId::NonTransactional,
                    "runs and commits before the rest of the plan: a new enum value cannot be used in the transaction that adds it",
                    "nothing to do; adding a value is harmless if the rest of the plan fails",
                ),
            );
            statement.transaction = Transaction::Outside;
            out.push(statement);
        }
        Change::RebuildEnum { from, to, columns } => {
            let old = to.name.with_name(format!("{}__strata_old", to.name.name));
            out.push(s(format!("ALTER TYPE {} RENAME TO {}", q(&from.name), quote_ident(&old.name))));
            out.push(s(format!(
                "CREATE TYPE {} AS ENUM ({})",
                q(&to.name),
                to.values.iter().map(|v| quote_literal(v)).collect::<Vec<_>>().join(", ")
            )));
            let removed: Vec<_> = from.values.iter().filter(|v| !to.values.contains(v)).collect();
            for column in columns {
                let target = TypeName::parse(&column.data_type);
                let via = format!("text{}", "[]".repeat(target.array));
                let mut parts = Vec::new();
                let c = quote_ident(&column.column);
                if column.had_default {
                    parts.push(format!("ALTER COLUMN {c} DROP DEFAULT"));
                }
                parts.push(format!(
                    "ALTER COLUMN {c} TYPE {} USING {c}::{via}::{}",
                    column.data_type, column.data_type
                ));
                if let Some(default) = &column.default {
                    parts.push(format!("ALTER COLUMN {c} SET DEFAULT {default}"));
                }
                let message = if removed.is_empty() {
                    format!("rewrites `{}` to convert `{}` to the reordered enum", column.table, column.column)
                } else {
                    format!(
                        "rewrites `{}`; fails if a row of `{}` holds a removed value ({})",
                        column.table,
                        column.column,
                        removed.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ")
                    )
                };
                out.push(with(
                    stmt(format!("ALTER TABLE {} {}", q(&column.table), parts.join(", ")), Some(&column.table)),
                    Hazard::new(
                        HazardId::EnumRebuild,
                        message,
                        "update rows that hold removed values first; on a big table, do it off-peak",
                    ),
                ));
            }
            out.push(s(format!("DROP TYPE {}", q(&old))));
        }
        Change::DropEnum { name } | Change::DropCompositeType { name } => {
            out.push(s(format!("DROP TYPE {}", q(name))));
        }
        Change::CreateSequence { sequence } => out.push(s(create_sequence(sequence))),
        Change::AlterSequence { name, from, to, unused } => {
            let mut options = sequence_option_changes(from, to);
            if *unused && moves_range(from, to) {
                options.push_str(" RESTART");
            }
            out.push(s(format!("ALTER SEQUENCE {}{options}", q(name))));
        }
        Change::RenameSequence { from, to } => {
            out.push(s(format!("ALTER SEQUENCE {} RENAME TO {}", q(from), quote_ident(to))));
        }
        Change::SetSequenceOwner { name, owned_by } => {
            let owner = owned_by.as_ref().map_or_else(
                || "NONE".to_owned(),
                |(table, column)| format!("{}.{}", q(table), quote_ident(column)),
            );
            out.push(s(format!("ALTER SEQUENCE {} OWNED BY {owner}", q(name))));
        }
        Change::DropSequence { name } => out.push(with(
            s(format!("DROP SEQUENCE {}", q(name))),
            Hazard::new(
                HazardId::DropSequence,
                format!("deletes sequence `{name}` and its current position"),
                "keep it in the schema files if anything still draws numbers from it",
            ),
        )),
        Change::CreateTable { table } => out.push(s(create_table(table))),
        Change::RenameTable { from, to } => out.push(with(
            s(format!("ALTER TABLE {} RENAME TO {}", q(from), quote_ident(to))),
            Hazard::new(
                HazardId::RenameTable,
                format!("queries of the running app that use `{}` fail from now on", from.name),
                "deploy code that no longer uses the old name first, or keep a view with the old name during the switch",
            ),
        )),
        Change::SetLogged { table, unlogged } => {
            let word = if *unlogged { "UNLOGGED" } else { "LOGGED" };
            let mut statement = s(format!("ALTER TABLE {} SET {word}", q(table)));
            if !is_new {
                statement = with(statement, rewrite_hazard(ctx, table));
            }
            out.push(statement);
        }
        Change::DropTable { name, .. } => out.push(with(
            s(format!("DROP TABLE {}", q(name))),
            Hazard::new(
                HazardId::DropTable,
                format!("deletes table `{name}` and all its rows{}", approx_rows(ctx, name)),
                "take a backup first; if the table was renamed, pass --rename OLD_TABLE=NEW_TABLE",
            ),
        )),
        Change::AddColumn { table, column } => {
            let mut statement = s(format!("ALTER TABLE {} ADD COLUMN {}", q(table), column_definition(column)));
            if !is_new {
                add_column_hazards(ctx, table, column, &mut statement);
            }
            out.push(statement);
        }
        Change::RenameColumn { table, from, to } => out.push(with(
            s(format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                q(table),
                quote_ident(from),
                quote_ident(to)
            )),
            Hazard::new(
                HazardId::RenameColumn,
                format!("queries of the running app that use `{}.{from}` fail from now on", table.name),
                "add the new column, backfill it and switch the code over before dropping the old one (expand and contract)",
            ),
        )),
        Change::DropColumn { table, column, generated } => {
            let statement = s(format!("ALTER TABLE {} DROP COLUMN {}", q(table), quote_ident(column)));
            if *generated {
                out.push(statement);
            } else {
                let count = ctx
                    .value_counts
                    .get(&(table.clone(), column.clone()))
                    .map(|n| format!(" ({} non-null {})", group_digits(*n), if *n == 1 { "value" } else { "values" }))
                    .unwrap_or_default();
                out.push(with(
                    statement,
                    Hazard::new(
                        HazardId::DropColumn,
                        format!("deletes column `{}.{column}` and its values{count}", table.name),
                        "take a backup first; if the column was renamed, pass --rename TABLE.OLD=NEW",
                    ),
                ));
            }
        }
        Change::AlterColumnType {
            table,
            column,
            from_type,
            to_type,
            collation,
            had_default,
            default,
        } => {
            let c = quote_ident(column);
            let mut parts = Vec::new();
            if *had_default {
                parts.push(format!("ALTER COLUMN {c} DROP DEFAULT"));
            }
            let mut alter = format!("ALTER COLUMN {c} TYPE {to_type}");
            if let Some(collation) = collation {
                write!(alter, " COLLATE {}", q(collation)).expect("write to String");
            }
            let target = TypeName::parse(to_type);
            if ctx.to.enums.contains_key(&enum_name(&target)) {
                write!(alter, " USING {c}::text{}::{to_type}", "[]".repeat(target.array)).expect("write to String");
            } else if needs_using(from_type, to_type) {
                write!(alter, " USING {c}::{to_type}").expect("write to String");
            }
            parts.push(alter);
            if let Some(default) = default {
                parts.push(format!("ALTER COLUMN {c} SET DEFAULT {default}"));
            }
            let mut statement = s(format!("ALTER TABLE {} {}", q(table), parts.join(", ")));
            if !is_new {
                let effect = classify(from_type, to_type);
                let what = format!("`{}.{column}` from {from_type} to {to_type}", table.name);
                if effect.lossy {
                    let message = if effect.unknown {
                        format!("converting {what} may change or lose values")
                    } else {
                        format!("converting {what} rounds or truncates values that do not fit")
                    };
                    statement.hazards.push(Hazard::new(
                        HazardId::LossyTypeChange,
                        message,
                        "add a new column of the new type, backfill it with an explicit conversion you have checked, then switch over",
                    ));
                } else if effect.may_fail {
                    statement.hazards.push(Hazard::new(
                        HazardId::TypeChangeMayFail,
                        format!("converting {what} fails if a value does not fit the new type"),
                        "check the existing values first; nothing is changed if it fails",
                    ));
                }
                if effect.rewrite {
                    statement.hazards.push(rewrite_hazard(ctx, table));
                }
            }
            out.push(statement);
        }
        Change::SetDefault { table, column, default } => out.push(s(format!(
            "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {default}",
            q(table),
            quote_ident(column)
        ))),
        Change::DropDefault { table, column } => out.push(s(format!(
            "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
            q(table),
            quote_ident(column)
        ))),
        Change::SetNotNull { table, column } => {
            let mut statement = s(format!("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL", q(table), quote_ident(column)));
            if !is_new {
                statement.hazards.push(Hazard::new(
                    HazardId::ValidatingScan,
                    format!(
                        "reads every row of `{table}`{} to check `{column}` while writes are blocked; fails if a value is NULL",
                        approx_rows(ctx, table)
                    ),
                    format!(
                        "backfill NULLs first; on a big table add CHECK ({} IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL",
                        quote_ident(column)
                    ),
                ));
            }
            out.push(statement);
        }
        Change::DropNotNull { table, column } => out.push(s(format!(
            "ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL",
            q(table),
            quote_ident(column)
        ))),
        Change::AddIdentity { table, column, identity } => {
            out.push(s(format!(
                "ALTER TABLE {} ALTER COLUMN {} ADD {}",
                q(table),
                quote_ident(column),
                identity_clause(identity, ctx.column_type(table, column))
            )));
            if !is_new {
                // Start the new sequence after the values already there.
                out.push(with(
                    s(format!(
                        "SELECT setval({}, max({})) FROM {}",
                        quote_literal(&q(&identity.sequence)),
                        quote_ident(column),
                        q(table)
                    )),
                    Hazard::new(
                        HazardId::IdentityStart,
                        format!("moves `{}` past the highest existing `{column}`", identity.sequence),
                        "nothing to do: without it, new rows would reuse existing values",
                    ),
                ));
            }
        }
        Change::AlterIdentity { table, column, from, to } => {
            let mut sql = format!("ALTER TABLE {} ALTER COLUMN {}", q(table), quote_ident(column));
            if from.kind != to.kind {
                sql.push_str(match to.kind {
                    IdentityKind::Always => " SET GENERATED ALWAYS",
                    IdentityKind::ByDefault => " SET GENERATED BY DEFAULT",
                });
            }
            sql.push_str(&identity_option_changes(&from.options, &to.options));
            // A never-used sequence restarts at its new start, which may
            // lie outside the old range.
            if from.last_value.is_none() && moves_range(&from.options, &to.options) {
                sql.push_str(" RESTART");
            }
            out.push(s(sql));
        }
        Change::DropIdentity { table, column, .. } => out.push(s(format!(
            "ALTER TABLE {} ALTER COLUMN {} DROP IDENTITY",
            q(table),
            quote_ident(column)
        ))),
        Change::DropExpression { table, column } => out.push(s(format!(
            "ALTER TABLE {} ALTER COLUMN {} DROP EXPRESSION",
            q(table),
            quote_ident(column)
        ))),
        Change::AddConstraint { table, constraint } => {
            let mut statement = s(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {}",
                q(table),
                quote_ident(&constraint.name),
                constraint.definition
            ));
            if !is_new {
                constraint_hazards(ctx, table, constraint, &mut statement);
            }
            out.push(statement);
        }
        Change::RenameConstraint { table, from, to } => out.push(s(format!(
            "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
            q(table),
            quote_ident(from),
            quote_ident(to)
        ))),
        Change::ValidateConstraint { table, name } => out.push(s(format!(
            "ALTER TABLE {} VALIDATE CONSTRAINT {}",
            q(table),
            quote_ident(name)
        ))),
        Change::DropConstraint { table, constraint } => out.push(s(format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            q(table),
            quote_ident(&constraint.name)
        ))),
        Change::CreateIndex { table, index } => {
            // An index on a partitioned table prints as `ON ONLY`, which would
            // leave the partitions without it: create it on all of them.
            let mut statement = s(index.definition.replacen(" ON ONLY ", " ON ", 1));
            if !is_new {
                statement.hazards.push(Hazard::new(
                    HazardId::BlockingIndexBuild,
                    format!("blocks writes to `{table}`{} while the index builds", approx_rows(ctx, table)),
                    "on a big table build it with CREATE INDEX CONCURRENTLY outside a transaction",
                ));
            }
            out.push(statement);
        }
        Change::RenameIndex { from, to } => {
            out.push(s(format!("ALTER INDEX {} RENAME TO {}", q(from), quote_ident(to))));
        }
        Change::DropIndex { name, .. } => out.push(s(format!("DROP INDEX {}", q(name)))),
        Change::CreateView { view } => out.push(s(create_view(view, false))),
        Change::ReplaceView { view } => out.push(s(create_view(view, true))),
        Change::DropView { view } => {
            let kind = if view.materialized { "MATERIALIZED VIEW" } else { "VIEW" };
            out.push(s(format!("DROP {kind} {}", q(&view.name))));
        }
        Change::CreateFunction { function } | Change::ReplaceFunction { function } => {
            out.push(s(function.definition.trim_end().trim_end_matches(';').to_owned()));
        }
        Change::DropFunction { function } => {
            let kind = match function.kind {
                RoutineKind::Function => "FUNCTION",
                RoutineKind::Procedure => "PROCEDURE",
            };
            out.push(s(format!("DROP {kind} {}", routine(&function.name))));
        }
        Change::CreateTrigger { trigger, .. } => out.push(s(trigger.definition.clone())),
        Change::SetTriggerEnabled { table, name, enabled } => {
            let how = match enabled.as_str() {
                "D" => "DISABLE",
                "R" => "ENABLE REPLICA",
                "A" => "ENABLE ALWAYS",
                _ => "ENABLE",
            };
            out.push(s(format!("ALTER TABLE {} {how} TRIGGER {}", q(table), quote_ident(name))));
        }
        Change::DropTrigger { table, name } => {
            out.push(s(format!("DROP TRIGGER {} ON {}", quote_ident(name), q(table))));
        }
        Change::CreatePolicy { table, policy } => {
            let mut sql = format!(
                "CREATE POLICY {} ON {} AS {} FOR {} TO {}",
                quote_ident(&policy.name),
                q(table),
                if policy.permissive { "PERMISSIVE" } else { "RESTRICTIVE" },
                policy.command,
                policy_roles(&policy.roles)
            );
            policy_expressions(policy, &mut sql);
            let mut statement = s(sql);
            if !is_new {
                statement.hazards.push(access_hazard(table));
            }
            out.push(statement);
        }
        Change::AlterPolicy { table, policy } => {
            let mut sql = format!(
                "ALTER POLICY {} ON {} TO {}",
                quote_ident(&policy.name),
                q(table),
                policy_roles(&policy.roles)
            );
            policy_expressions(policy, &mut sql);
            out.push(with(s(sql), access_hazard(table)));
        }
        Change::DropPolicy { table, name } => {
            let mut statement = s(format!("DROP POLICY {} ON {}", quote_ident(name), q(table)));
            if !is_new {
                statement.hazards.push(Hazard::new(
                    HazardId::AccessChange,
                    format!("removes policy `{name}` on `{table}`: with row-level security on, the rows it allowed become invisible"),
                    "create the replacement policy in the same plan",
                ));
            }
            out.push(statement);
        }
        Change::SetRowSecurity { table, enabled } => {
            let word = if *enabled { "ENABLE" } else { "DISABLE" };
            let mut statement = s(format!("ALTER TABLE {} {word} ROW LEVEL SECURITY", q(table)));
            if !is_new {
                let message = if *enabled {
                    format!("from now on roles other than the owner see only the rows of `{table}` that a policy allows")
                } else {
                    format!("every role with privileges on `{table}` sees every row again")
                };
                statement.hazards.push(Hazard::new(
                    HazardId::AccessChange,
                    message,
                    "deploy the policies in the same plan and check the app's roles",
                ));
            }
            out.push(statement);
        }
        Change::SetForceRowSecurity { table, forced } => {
            let word = if *forced { "FORCE" } else { "NO FORCE" };
            out.push(s(format!("ALTER TABLE {} {word} ROW LEVEL SECURITY", q(table))));
        }
        Change::CreateDomain { domain } => {
            let mut sql = format!("CREATE DOMAIN {} AS {}", q(&domain.name), domain.data_type);
            if let Some(collation) = &domain.collation {
                write!(sql, " COLLATE {}", q(collation)).expect("write to String");
            }
            if let Some(default) = &domain.default {
                write!(sql, " DEFAULT {default}").expect("write to String");
            }
            if domain.not_null {
                sql.push_str(" NOT NULL");
            }
            for constraint in &domain.constraints {
                write!(sql, " CONSTRAINT {} {}", quote_ident(&constraint.name), constraint.definition)
                    .expect("write to String");
            }
            out.push(s(sql));
        }
        Change::AlterDomain { name, action } => {
            let what = match action {
                DomainAction::SetDefault { default } => format!("SET DEFAULT {default}"),
                DomainAction::DropDefault => "DROP DEFAULT".to_owned(),
                DomainAction::SetNotNull => "SET NOT NULL".to_owned(),
                DomainAction::DropNotNull => "DROP NOT NULL".to_owned(),
                DomainAction::AddConstraint { constraint } => {
                    format!("ADD CONSTRAINT {} {}", quote_ident(&constraint.name), constraint.definition)
                }
                DomainAction::DropConstraint { name } => format!("DROP CONSTRAINT {}", quote_ident(name)),
                DomainAction::ValidateConstraint { name } => format!("VALIDATE CONSTRAINT {}", quote_ident(name)),
            };
            let mut statement = s(format!("ALTER DOMAIN {} {what}", q(name)));
            let validates = match action {
                DomainAction::SetNotNull => true,
                DomainAction::AddConstraint { constraint } => constraint.validated,
                _ => false,
            };
            if validates {
                statement.hazards.push(Hazard::new(
                    HazardId::ValidatingScan,
                    format!("checks every value of every column of type `{name}`; fails if one does not pass"),
                    "add the constraint NOT VALID, then VALIDATE it in a later step",
                ));
            }
            out.push(statement);
        }
        Change::DropDomain { name } => out.push(s(format!("DROP DOMAIN {}", q(name)))),
        Change::CreateCompositeType { composite } => {
            let attributes: Vec<String> = composite.attributes.iter().map(attribute_definition).collect();
            out.push(s(format!("CREATE TYPE {} AS ({})", q(&composite.name), attributes.join(", "))));
        }
        Change::AlterCompositeType { name, action } => {
            let what = match action {
                AttributeAction::Add { attribute } => format!("ADD ATTRIBUTE {}", attribute_definition(attribute)),
                AttributeAction::Drop { name } => format!("DROP ATTRIBUTE {}", quote_ident(name)),
                AttributeAction::AlterType { attribute } => {
                    let mut text = format!(
                        "ALTER ATTRIBUTE {} SET DATA TYPE {}",
                        quote_ident(&attribute.name),
                        attribute.data_type
                    );
                    if let Some(collation) = &attribute.collation {
                        write!(text, " COLLATE {}", q(collation)).expect("write to String");
                    }
                    text
                }
            };
            out.push(s(format!("ALTER TYPE {} {what}", q(name))));
        }
        Change::AttachPartition { table, partition } => out.push(with(
            s(format!(
                "ALTER TABLE {} ATTACH PARTITION {} {}",
                q(&partition.parent),
                q(table),
                partition.bound
            )),
            Hazard::new(
                HazardId::ValidatingScan,
                format!("reads every row of `{table}` to check it fits the partition bound"),
                "add a CHECK constraint matching the bound first, so that the scan is skipped",
            ),
        )),
        Change::DetachPartition { table, parent } => {
            out.push(s(format!("ALTER TABLE {} DETACH PARTITION {}", q(parent), q(table))));
        }
        Change::Grant {
            target,
            grantee,
            privileges,
            grantable,
        } => {
            let option = if *grantable { " WITH GRANT OPTION" } else { "" };
            out.push(s(format!(
                "GRANT {} ON {} TO {}{option}",
                privileges.join(", "),
                grant_target(target),
                role(grantee)
            )));
        }
        Change::Revoke {
            target,
            grantee,
            privileges,
        } => out.push(s(format!(
            "REVOKE {} ON {} FROM {}",
            privileges.join(", "),
            grant_target(target),
            role(grantee)
        ))),
        Change::Comment { target, comment } => {
            let what = match target {
                CommentTarget::Schema { name } => format!("SCHEMA {}", quote_ident(name)),
                CommentTarget::Type { name } => format!("TYPE {}", q(name)),
                CommentTarget::Domain { name } => format!("DOMAIN {}", q(name)),
                CommentTarget::View { name, materialized } => {
                    format!("{} {}", if *materialized { "MATERIALIZED VIEW" } else { "VIEW" }, q(name))
                }
                CommentTarget::Function { name, kind } => format!(
                    "{} {}",
                    match kind {
                        RoutineKind::Function => "FUNCTION",
                        RoutineKind::Procedure => "PROCEDURE",
                    },
                    routine(name)
                ),
                CommentTarget::Trigger { table, name } => format!("TRIGGER {} ON {}", quote_ident(name), q(table)),
                CommentTarget::Policy { table, name } => format!("POLICY {} ON {}", quote_ident(name), q(table)),
                CommentTarget::Sequence { name } => format!("SEQUENCE {}", q(name)),
                CommentTarget::Table { name } => format!("TABLE {}", q(name)),
                CommentTarget::Column { table, column } => format!("COLUMN {}.{}", q(table), quote_ident(column)),
                CommentTarget::Constraint { table, name } => {
                    format!("CONSTRAINT {} ON {}", quote_ident(name), q(table))
                }
                CommentTarget::Index { name } => format!("INDEX {}", q(name)),
            };
            let text = comment.as_deref().map_or_else(|| "NULL".to_owned(), quote_literal);
            out.push(s(format!("COMMENT ON {what} IS {text}")));
        }
    }
}

fn enum_name(t: &TypeName) -> QualifiedName {
    strata_syntax::parse_qualified(&t.base).map_or_else(
        || QualifiedName::new("", ""),
        |(schema, name)| QualifiedName::new(schema, name),
    )
}

fn access_hazard(table: &QualifiedName) -> Hazard {
    Hazard::new(
        HazardId::AccessChange,
        format!("changes which rows of `{table}` each role can see or write"),
        "check that the app's roles still reach the rows they need",
    )
}

fn rewrite_hazard(ctx: &RenderContext<'_>, table: &QualifiedName) -> Hazard {
    Hazard::new(
        HazardId::TableRewrite,
        format!(
            "rewrites `{table}`{} and its indexes under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done",
            approx_rows(ctx, table)
        ),
        "on a big table add a new column, backfill it in batches, and swap (expand and contract)",
    )
}

fn add_column_hazards(
    ctx: &RenderContext<'_>,
    table: &QualifiedName,
    column: &Column,
    statement: &mut Statement,
) {
    if column.not_null
        && column.default.is_none()
        && column.identity.is_none()
        && column.generated.is_none()
    {
        statement.hazards.push(Hazard::new(
            HazardId::NotNullWithoutDefault,
            format!(
                "fails if `{table}` has rows{}: a NOT NULL column without a default has no value for them",
                approx_rows(ctx, table)
            ),
            "add the column nullable, backfill it, then make it NOT NULL; or give it a default",
        ));
    }
    let volatile = column.default.as_deref().is_some_and(is_volatile);
    if volatile || column.identity.is_some() || column.generated.is_some() {
        statement.hazards.push(rewrite_hazard(ctx, table));
    }
}

/// Defaults PostgreSQL must evaluate once per row, which rewrites the table
/// when such a column is added (constant and stable defaults do not).
fn is_volatile(default: &str) -> bool {
    const VOLATILE: &[&str] = &[
        "random(",
        "gen_random_uuid(",
        "uuid_generate_v1",
        "uuid_generate_v4(",
        "clock_timestamp(",
        "timeofday(",
        "nextval(",
        "statement_timestamp(",
    ];
    VOLATILE.iter().any(|f| default.contains(f))
}

fn constraint_hazards(
    ctx: &RenderContext<'_>,
    table: &QualifiedName,
    constraint: &Constraint,
    statement: &mut Statement,
) {
    let rows = approx_rows(ctx, table);
    match constraint.kind {
        ConstraintKind::PrimaryKey | ConstraintKind::Unique | ConstraintKind::Exclusion => {
            statement.hazards.push(Hazard::new(
                HazardId::BlockingIndexBuild,
                format!("builds the constraint's index on `{table}`{rows} while reads and writes wait; fails on duplicates"),
                "build a unique index with CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … USING INDEX",
            ));
        }
        ConstraintKind::Check | ConstraintKind::ForeignKey if constraint.validated => {
            statement.hazards.push(Hazard::new(
                HazardId::ValidatingScan,
                format!("reads every row of `{table}`{rows} to check `{}` while writes are blocked", constraint.name),
                "add it NOT VALID, then VALIDATE CONSTRAINT in a later step (validation does not block writes)",
            ));
        }
        ConstraintKind::Check | ConstraintKind::ForeignKey => {}
    }
}

fn column_definition(column: &Column) -> String {
    let mut sql = format!("{} {}", quote_ident(&column.name), column.data_type);
    if let Some(collation) = &column.collation {
        write!(sql, " COLLATE {}", q(collation)).expect("write to String");
    }
    if let Some(identity) = &column.identity {
        write!(sql, " {}", identity_clause(identity, &column.data_type)).expect("write to String");
    }
    if let Some(generated) = &column.generated {
        write!(sql, " GENERATED ALWAYS AS ({generated}) STORED").expect("write to String");
    }
    if let Some(default) = &column.default {
        write!(sql, " DEFAULT {default}").expect("write to String");
    }
    if column.not_null && column.identity.is_none() {
        sql.push_str(" NOT NULL");
    }
    sql
}

fn identity_clause(identity: &Identity, column_type: &str) -> String {
    let kind = match identity.kind {
        IdentityKind::Always => "ALWAYS",
        IdentityKind::ByDefault => "BY DEFAULT",
    };
    let defaults = sequence_defaults(column_type, identity.options.increment);
    let options = sequence_options(&identity.options, &defaults, false);
    format!(
        "GENERATED {kind} AS IDENTITY (SEQUENCE NAME {}{options})",
        q(&identity.sequence)
    )
}

/// The options `CREATE SEQUENCE` picks by itself for a type and direction.
fn sequence_defaults(data_type: &str, increment: i64) -> SequenceOptions {
    let mut defaults = SequenceOptions::defaults_for(data_type);
    if increment < 0 {
        let min = match data_type {
            "smallint" => i64::from(i16::MIN),
            "integer" => i64::from(i32::MIN),
            _ => i64::MIN,
        };
        defaults.min_value = min;
        defaults.max_value = -1;
        defaults.start = -1;
    }
    defaults
}

/// ` START WITH … INCREMENT BY …` for the options that differ from `defaults`.
fn sequence_options(
    options: &SequenceOptions,
    defaults: &SequenceOptions,
    with_type: bool,
) -> String {
    let mut sql = String::new();
    if with_type && options.data_type != "bigint" {
        write!(sql, " AS {}", options.data_type).expect("write to String");
    }
    if options.increment != defaults.increment {
        write!(sql, " INCREMENT BY {}", options.increment).expect("write to String");
    }
    if options.min_value != defaults.min_value {
        write!(sql, " MINVALUE {}", options.min_value).expect("write to String");
    }
    if options.max_value != defaults.max_value {
        write!(sql, " MAXVALUE {}", options.max_value).expect("write to String");
    }
    if options.start != defaults.start {
        write!(sql, " START WITH {}", options.start).expect("write to String");
    }
    if options.cache != defaults.cache {
        write!(sql, " CACHE {}", options.cache).expect("write to String");
    }
    if options.cycle {
        sql.push_str(" CYCLE");
    }
    sql
}

fn create_sequence(sequence: &Sequence) -> String {
    let defaults = sequence_defaults(&sequence.options.data_type, sequence.options.increment);
    format!(
        "CREATE SEQUENCE {}{}",
        q(&sequence.name),
        sequence_options(&sequence.options, &defaults, true)
    )
}

fn moves_range(from: &SequenceOptions, to: &SequenceOptions) -> bool {
    from.start != to.start || from.min_value != to.min_value || from.max_value != to.max_value
}

/// ` AS … INCREMENT BY …` for every option that changes (`ALTER SEQUENCE`).
fn sequence_option_changes(from: &SequenceOptions, to: &SequenceOptions) -> String {
    let mut sql = String::new();
    if from.data_type != to.data_type {
        write!(sql, " AS {}", to.data_type).expect("write to String");
    }
    sql.push_str(&identity_option_changes(from, to).replace(" SET ", " "));
    sql
}

/// ` SET INCREMENT BY …` for every option that changes (identity columns).
fn identity_option_changes(from: &SequenceOptions, to: &SequenceOptions) -> String {
    let mut sql = String::new();
    if from.increment != to.increment {
        write!(sql, " SET INCREMENT BY {}", to.increment).expect("write to String");
    }
    if from.min_value != to.min_value {
        write!(sql, " SET MINVALUE {}", to.min_value).expect("write to String");
    }
    if from.max_value != to.max_value {
        write!(sql, " SET MAXVALUE {}", to.max_value).expect("write to String");
    }
    if from.start != to.start {
        write!(sql, " SET START WITH {}", to.start).expect("write to String");
    }
    if from.cache != to.cache {
        write!(sql, " SET CACHE {}", to.cache).expect("write to String");
    }
    if from.cycle != to.cycle {
        sql.push_str(if to.cycle {
            " SET CYCLE"
        } else {
            " SET NO CYCLE"
        });
    }
    sql
}

fn create_table(table: &Table) -> String {
    let unlogged = if table.unlogged { "UNLOGGED " } else { "" };
    let constraints: Vec<String> = table
        .constraints
        .iter()
        .map(|c| format!("CONSTRAINT {} {}", quote_ident(&c.name), c.definition))
        .collect();
    if let Some(partition) = &table.partition_of {
        // A partition's columns come from its parent.
        let mut sql = format!(
            "CREATE {unlogged}TABLE {} PARTITION OF {}",
            q(&table.name),
            q(&partition.parent)
        );
        if !constraints.is_empty() {
            write!(sql, " (\n    {}\n)", constraints.join(",\n    ")).expect("write to String");
        }
        write!(sql, " {}", partition.bound).expect("write to String");
        if let Some(key) = &table.partition_key {
            write!(sql, " PARTITION BY {key}").expect("write to String");
        }
        return sql;
    }
    let mut lines: Vec<String> = table.columns.iter().map(column_definition).collect();
    lines.extend(constraints);
    let mut sql = if lines.is_empty() {
        format!("CREATE {unlogged}TABLE {} ()", q(&table.name))
    } else {
        format!(
            "CREATE {unlogged}TABLE {} (\n    {}\n)",
            q(&table.name),
            lines.join(",\n    ")
        )
    };
    if let Some(key) = &table.partition_key {
        write!(sql, " PARTITION BY {key}").expect("write to String");
    }
    sql
}

fn create_view(view: &View, replace: bool) -> String {
    let kind = match (view.materialized, replace) {
        (true, _) => "CREATE MATERIALIZED VIEW",
        (false, true) => "CREATE OR REPLACE VIEW",
        (false, false) => "CREATE VIEW",
    };
    let mut sql = format!("{kind} {}", q(&view.name));
    if !view.options.is_empty() {
        write!(sql, " WITH ({})", view.options.join(", ")).expect("write to String");
    }
    // pg_get_viewdef ends the query with a semicolon.
    let query = view.definition.trim_end().trim_end_matches(';').trim_end();
    write!(sql, " AS\n{query}").expect("write to String");
    sql
}

fn routine(name: &RoutineName) -> String {
    format!(
        "{}({})",
        quote_qualified(&name.schema, &name.name),
        name.args
    )
}

fn role(name: &str) -> String {
    if name == "public" {
        "PUBLIC".to_owned()
    } else {
        quote_ident(name)
    }
}

fn policy_roles(roles: &[String]) -> String {
    roles.iter().map(|r| role(r)).collect::<Vec<_>>().join(", ")
}

fn grant_target(target: &GrantTarget) -> String {
    match target {
        GrantTarget::Schema(name) => format!("SCHEMA {}", quote_ident(name)),
        GrantTarget::Table(name) => format!("TABLE {}", q(name)),
        GrantTarget::Sequence(name) => format!("SEQUENCE {}", q(name)),
        GrantTarget::Function(name, RoutineKind::Function) => format!("FUNCTION {}", routine(name)),
        GrantTarget::Function(name, RoutineKind::Procedure) => {
            format!("PROCEDURE {}", routine(name))
        }
    }
}

fn policy_expressions(policy: &Policy, sql: &mut String) {
    if let Some(using) = &policy.using {
        write!(sql, " USING ({using})").expect("write to String");
    }
    if let Some(check) = &policy.with_check {
        write!(sql, " WITH CHECK ({check})").expect("write to String");
    }
}

fn attribute_definition(attribute: &CompositeAttribute) -> String {
    let mut sql = format!("{} {}", quote_ident(&attribute.name), attribute.data_type);
    if let Some(collation) = &attribute.collation {
        write!(sql, " COLLATE {}", q(collation)).expect("write to String");
    }
    sql
}
