//! Every rule on its risky form (it fires) and on the safe form of the
//! same change (it stays quiet, or says no more than info), and the size
//! of the live table deciding how bad a lock is.

use std::collections::{BTreeMap, BTreeSet};

use strata_lint::{Context, Finding, HazardId, Linter, Severity, lint};

fn no_db() -> Context {
    Context::default()
}

fn with_rows(rows: &[(&str, u64)]) -> Context {
    Context {
        table_rows: Some(
            rows.iter()
                .map(|(t, n)| (("public".to_owned(), (*t).to_owned()), *n))
                .collect(),
        ),
        indexes: Some(BTreeMap::new()),
        ..Context::default()
    }
}

fn rules(findings: &[Finding]) -> Vec<HazardId> {
    findings.iter().map(|f| f.rule).collect()
}

/// The worst severity of `rule` among the findings, if it fired.
fn worst(findings: &[Finding], rule: HazardId) -> Option<Severity> {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.severity)
        .max()
}

/// (rule, risky SQL, safe SQL, runs in a transaction)
const CASES: &[(HazardId, &str, &str, bool)] = &[
    (
        HazardId::DropTable,
        "DROP TABLE users;",
        "CREATE TABLE scratch (id bigint); DROP TABLE scratch;",
        true,
    ),
    (
        HazardId::DropColumn,
        "ALTER TABLE users DROP COLUMN bio;",
        "ALTER TABLE users ADD COLUMN bio text;",
        true,
    ),
    (
        HazardId::DropSchema,
        "DROP SCHEMA billing CASCADE;",
        "CREATE SCHEMA billing;",
        true,
    ),
    (
        HazardId::DropDatabase,
        "DROP DATABASE app;",
        "SELECT 1;",
        false,
    ),
    (
        HazardId::Truncate,
        "TRUNCATE users CASCADE;",
        "DELETE FROM users WHERE id < 1000;",
        true,
    ),
    (
        HazardId::BlockingIndexBuild,
        "CREATE INDEX users_email_idx ON users (email);",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);",
        // the safe form runs in a `-- strata:no-transaction` migration
        false,
    ),
    (
        HazardId::BlockingIndexDrop,
        "DROP INDEX users_email_idx;",
        "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;",
        false,
    ),
    (
        HazardId::ConcurrentInTransaction,
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
        "CREATE TABLE new_table (email text); CREATE INDEX users_email_idx ON new_table (email);",
        true,
    ),
    (
        HazardId::ValidatingScan,
        "ALTER TABLE posts ADD CONSTRAINT posts_user_fk FOREIGN KEY (user_id) REFERENCES users (id);",
        "ALTER TABLE posts ADD CONSTRAINT posts_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
        true,
    ),
    (
        HazardId::TableRewrite,
        "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        "ALTER TABLE users ADD COLUMN created timestamptz NOT NULL DEFAULT now();",
        true,
    ),
    (
        HazardId::NotNullWithoutDefault,
        "ALTER TABLE users ADD COLUMN locale text NOT NULL;",
        "ALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT 'en';",
        true,
    ),
    (
        HazardId::RenameTable,
        "ALTER TABLE users RENAME TO accounts;",
        "CREATE VIEW accounts AS SELECT * FROM users;",
        true,
    ),
    (
        HazardId::RenameColumn,
        "ALTER TABLE users RENAME COLUMN name TO full_name;",
        "ALTER TABLE users ADD COLUMN full_name text;",
        true,
    ),
    (
        HazardId::TransactionNesting,
        "BEGIN; ALTER TABLE users ADD COLUMN bio text; COMMIT;",
        "ALTER TABLE users ADD COLUMN bio text;",
        true,
    ),
    (
        HazardId::DomainConstraint,
        "ALTER DOMAIN email ADD CONSTRAINT email_at CHECK (VALUE LIKE '%@%');",
        "ALTER DOMAIN email ADD CONSTRAINT email_at CHECK (VALUE LIKE '%@%') NOT VALID;",
        true,
    ),
    (
        HazardId::DropNotNull,
        "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
        "ALTER TABLE users ALTER COLUMN email SET DEFAULT '';",
        true,
    ),
    (
        HazardId::ForeignKeyWithoutIndex,
        "CREATE TABLE comments (id bigint PRIMARY KEY, post_id bigint REFERENCES posts (id));",
        "CREATE TABLE comments (id bigint PRIMARY KEY, post_id bigint REFERENCES posts (id)); CREATE INDEX comments_post_id_idx ON comments (post_id);",
        true,
    ),
    (
        HazardId::NonIdempotent,
        "ALTER TABLE users ADD COLUMN bio text;",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS bio text;",
        false,
    ),
    (
        HazardId::IdentifierTooLong,
        "ALTER TABLE users ADD COLUMN a_column_name_that_goes_on_and_on_and_on_well_past_sixty_three_bytes text;",
        "ALTER TABLE users ADD COLUMN short_name text;",
        true,
    ),
    (
        HazardId::PreferBigint,
        "CREATE TABLE t (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
        "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
        true,
    ),
    (
        HazardId::PreferIdentity,
        "CREATE TABLE t (id bigserial PRIMARY KEY);",
        "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
        true,
    ),
    (
        HazardId::PreferText,
        "CREATE TABLE t (name varchar(100));",
        "CREATE TABLE t (name text CHECK (char_length(name) <= 100));",
        true,
    ),
    (
        HazardId::PreferTimestamptz,
        "CREATE TABLE t (at timestamp);",
        "CREATE TABLE t (at timestamptz);",
        true,
    ),
    (
        HazardId::CharColumn,
        "CREATE TABLE t (code char(2));",
        "CREATE TABLE t (code text);",
        true,
    ),
    (
        HazardId::BlockingLock,
        "ALTER TABLE events DETACH PARTITION events_2024;",
        "ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;",
        false,
    ),
    (
        HazardId::NonTransactional,
        "ALTER TYPE mood ADD VALUE 'meh';",
        "ALTER TYPE mood ADD VALUE 'meh';",
        // safe: the same statement outside a transaction (checked below on 11)
        false,
    ),
];

#[test]
fn every_rule_fires_on_the_risky_form_and_not_on_the_safe_one() {
    for &(rule, risky, safe, in_tx) in CASES {
        let mut context = no_db();
        if rule == HazardId::NonTransactional {
            context.pg_major = 11;
        }
        let risky_in_tx = in_tx || rule == HazardId::NonTransactional;
        let fired = lint(risky, risky_in_tx, &context);
        assert!(
            rules(&fired).contains(&rule),
            "{} did not fire on {risky:?}: {fired:?}",
            rule.as_str()
        );
        let quiet = lint(safe, in_tx, &context);
        assert!(
            !rules(&quiet).contains(&rule),
            "{} fired on the safe form {safe:?}: {quiet:?}",
            rule.as_str()
        );
        // Safe forms raise nothing above info.
        if rule != HazardId::Truncate && rule != HazardId::DropDatabase {
            let worst = quiet.iter().map(|f| f.severity).max();
            assert!(
                worst <= Some(Severity::Info) || worst.is_none() || safe_has_warning(safe),
                "safe form {safe:?} raised {quiet:?}"
            );
        }
    }
}

/// Safe forms whose other statements legitimately raise a warning.
fn safe_has_warning(sql: &str) -> bool {
    // A new column on an existing table of unknown size: nothing above info
    // either; listed here only if a case's safe form adds a lock warning.
    sql.contains("DETACH PARTITION") && !sql.contains("CONCURRENTLY")
}

#[test]
fn the_live_table_size_decides_how_bad_a_lock_is() {
    let sql = "CREATE INDEX users_email_idx ON users (email);";
    let small = lint(sql, true, &with_rows(&[("users", 500)]));
    assert_eq!(
        worst(&small, HazardId::BlockingIndexBuild),
        Some(Severity::Info)
    );
    assert!(small[0].message.contains("~500 rows"), "{small:?}");
    let large = lint(sql, true, &with_rows(&[("users", 5_000_000)]));
    assert_eq!(
        worst(&large, HazardId::BlockingIndexBuild),
        Some(Severity::Error)
    );
    let unknown = lint(sql, true, &no_db());
    assert_eq!(
        worst(&unknown, HazardId::BlockingIndexBuild),
        Some(Severity::Warning)
    );
    assert!(unknown[0].message.contains("could not tell"), "{unknown:?}");
    // A threshold of the project's choosing.
    let mut strict = with_rows(&[("users", 500)]);
    strict.large_table_rows = 100;
    assert_eq!(
        worst(&lint(sql, true, &strict), HazardId::BlockingIndexBuild),
        Some(Severity::Error)
    );
    // A table created earlier in the run is empty: nothing to say.
    let mut linter = Linter::new(with_rows(&[]));
    assert!(
        linter
            .lint_file(
                "CREATE TABLE users (id bigint PRIMARY KEY, email text);",
                true
            )
            .is_empty()
    );
    assert!(linter.lint_file(sql, true).is_empty());
    // NOT NULL without a default fails on a table with rows.
    let required = "ALTER TABLE users ADD COLUMN locale text NOT NULL;";
    assert_eq!(
        worst(
            &lint(required, true, &with_rows(&[("users", 3)])),
            HazardId::NotNullWithoutDefault
        ),
        Some(Severity::Error)
    );
    assert_eq!(
        worst(
            &lint(required, true, &with_rows(&[("users", 0)])),
            HazardId::NotNullWithoutDefault
        ),
        Some(Severity::Info)
    );
}

#[test]
fn set_not_null_through_a_validated_check_scans_nothing() {
    let online =
        "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;";
    let later = "ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_email_nn;";
    let mut linter = Linter::new(with_rows(&[("users", 5_000_000)]));
    assert!(
        linter.lint_file(online, true).is_empty(),
        "NOT VALID scans nothing"
    );
    let findings = linter.lint_file(later, true);
    assert!(
        !rules(&findings).contains(&HazardId::ValidatingScan),
        "{findings:?}"
    );
    // The same in one transaction: the scan runs under ADD's lock.
    let together = format!("{online}\n{later}");
    let findings = lint(&together, true, &with_rows(&[("users", 5_000_000)]));
    assert_eq!(
        worst(&findings, HazardId::ValidatingScan),
        Some(Severity::Error),
        "{findings:?}"
    );
    // Without the check, SET NOT NULL scans.
    let bare = lint(
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        true,
        &with_rows(&[("users", 5_000_000)]),
    );
    assert_eq!(
        worst(&bare, HazardId::ValidatingScan),
        Some(Severity::Error)
    );
}

#[test]
fn foreign_keys_are_checked_against_existing_indexes() {
    let mut context = with_rows(&[("posts", 10)]);
    context.indexes = Some(
        [(
            ("public".to_owned(), "posts".to_owned()),
            vec![vec!["user_id".to_owned(), "created_at".to_owned()]],
        )]
        .into_iter()
        .collect(),
    );
    let covered = lint(
        "ALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
        true,
        &context,
    );
    assert!(
        !rules(&covered).contains(&HazardId::ForeignKeyWithoutIndex),
        "{covered:?}"
    );
    let uncovered = lint(
        "ALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY (author_id) REFERENCES users (id) NOT VALID;",
        true,
        &context,
    );
    assert!(rules(&uncovered).contains(&HazardId::ForeignKeyWithoutIndex));
}

#[test]
fn rules_can_be_turned_off_per_statement_per_file_and_per_project() {
    let sql = "-- strata:allow drop-column\nALTER TABLE users DROP COLUMN bio;\nALTER TABLE users DROP COLUMN age;";
    let findings = lint(sql, true, &no_db());
    let lines: Vec<usize> = findings
        .iter()
        .filter(|f| f.rule == HazardId::DropColumn)
        .map(|f| f.line)
        .collect();
    assert_eq!(
        lines,
        [3],
        "only the statement after the comment: {findings:?}"
    );
    let trailing = lint(
        "ALTER TABLE users DROP COLUMN bio; -- strata:allow drop-column (moved to profiles)",
        true,
        &no_db(),
    );
    assert!(
        !rules(&trailing).contains(&HazardId::DropColumn),
        "{trailing:?}"
    );
    let file = lint(
        "-- strata:allow-file drop-column, drop-table\nALTER TABLE users DROP COLUMN bio;\nDROP TABLE old;",
        true,
        &no_db(),
    );
    assert!(file.is_empty(), "{file:?}");
    let project = Context {
        disabled: BTreeSet::from([HazardId::PreferText]),
        ..no_db()
    };
    assert!(lint("CREATE TABLE t (name varchar(10));", true, &project).is_empty());
}

#[test]
fn findings_carry_the_statement_line() {
    let sql = "-- 0005\n\nALTER TABLE users\n  ADD COLUMN bio text;\n\nDROP TABLE old_sessions;\n";
    let findings = lint(sql, true, &no_db());
    let drop = findings
        .iter()
        .find(|f| f.rule == HazardId::DropTable)
        .expect("drop-table");
    assert_eq!(drop.line, 6);
    assert!(drop.message.contains("old_sessions"));
    assert!(!drop.help.is_empty());
}

#[test]
fn a_type_change_that_keeps_the_bytes_rewrites_nothing() {
    let mut context = with_rows(&[("users", 5_000_000)]);
    context.column_types = Some(
        [(
            ("public".to_owned(), "users".to_owned()),
            [
                ("name".to_owned(), "character varying(100)".to_owned()),
                ("id".to_owned(), "integer".to_owned()),
                ("price".to_owned(), "numeric(10,2)".to_owned()),
            ]
            .into_iter()
            .collect(),
        )]
        .into_iter()
        .collect(),
    );
    for free in [
        "ALTER TABLE users ALTER COLUMN name TYPE varchar(200);",
        "ALTER TABLE users ALTER COLUMN name TYPE text;",
        "ALTER TABLE users ALTER COLUMN price TYPE numeric(12,2);",
    ] {
        let findings = lint(free, true, &context);
        assert!(
            !rules(&findings).contains(&HazardId::TableRewrite),
            "{free}: {findings:?}"
        );
    }
    for rewrite in [
        "ALTER TABLE users ALTER COLUMN name TYPE varchar(50);",
        "ALTER TABLE users ALTER COLUMN id TYPE bigint;",
        "ALTER TABLE users ALTER COLUMN price TYPE numeric(12,3);",
    ] {
        let findings = lint(rewrite, true, &context);
        assert_eq!(
            worst(&findings, HazardId::TableRewrite),
            Some(Severity::Error),
            "{rewrite}: {findings:?}"
        );
    }
}

#[test]
fn a_type_change_that_rounds_values_is_data_loss_as_in_push() {
    let mut context = with_rows(&[("prices", 10)]);
    context.column_types = Some(
        [(
            ("public".to_owned(), "prices".to_owned()),
            [
                ("amount".to_owned(), "numeric(10,2)".to_owned()),
                ("at".to_owned(), "timestamp with time zone".to_owned()),
                ("ratio".to_owned(), "double precision".to_owned()),
                ("n".to_owned(), "bigint".to_owned()),
            ]
            .into_iter()
            .collect(),
        )]
        .into_iter()
        .collect(),
    );
    for lossy in [
        "ALTER TABLE prices ALTER COLUMN amount TYPE numeric(10,0);",
        "ALTER TABLE prices ALTER COLUMN at TYPE date;",
        "ALTER TABLE prices ALTER COLUMN ratio TYPE real;",
        "ALTER TABLE prices ALTER COLUMN ratio TYPE float4;",
    ] {
        let findings = lint(lossy, true, &context);
        assert_eq!(
            worst(&findings, HazardId::LossyTypeChange),
            Some(Severity::Error),
            "{lossy}: {findings:?}"
        );
    }
    let findings = lint(
        "ALTER TABLE prices ALTER COLUMN n TYPE int;",
        true,
        &context,
    );
    assert_eq!(
        worst(&findings, HazardId::TypeChangeMayFail),
        Some(Severity::Warning),
        "{findings:?}"
    );
    for safe in [
        "ALTER TABLE prices ALTER COLUMN amount TYPE numeric(12,2);",
        "ALTER TABLE prices ALTER COLUMN n TYPE int8;",
        "ALTER TABLE prices ALTER COLUMN ratio TYPE text;",
        "ALTER TABLE prices ALTER COLUMN at TYPE timestamptz;",
    ] {
        let findings = lint(safe, true, &context);
        assert!(
            !rules(&findings)
                .iter()
                .any(|r| matches!(r, HazardId::LossyTypeChange | HazardId::TypeChangeMayFail)),
            "{safe}: {findings:?}"
        );
    }
}
