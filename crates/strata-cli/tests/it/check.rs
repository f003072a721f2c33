//! `strata check`: pending migrations reviewed against a live database,
//! run through PostgreSQL on a scratch database, and the checklist.

use serde_json::{Value, json};

use crate::support::{Project, Run};

fn rules(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().expect("rule").to_owned())
        .collect()
}

fn finding<'a>(report: &'a Value, rule: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding in {report:#}"))
}

fn check_json(project: &Project, url: &str, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["--database-url", url, "check", "--json"];
    args.extend_from_slice(extra);
    let run = project.strata(&args);
    let value = serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout(), run.stderr()));
    (run, value)
}

/// A project with one migration applied and a big `users` table.
fn applied_project(db: &strata_testkit::TestDatabase) -> Project {
    let url = db.url();
    let project = Project::empty();
    project.write(
        "strata.toml",
        "dialect = \"postgresql\"\nschema = \"schema\"\n[check]\nlarge_table_rows = 1000\n",
    );
    project.write(
        "schema/app.sql",
        "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL, name text);\n\
         CREATE TABLE posts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint NOT NULL, title text);\n\
         CREATE INDEX posts_user_id_idx ON posts (user_id);\n",
    );
    project
        .strata(&["--database-url", &url, "generate", "--name", "init"])
        .expect_code(0);
    project
        .strata(&["--database-url", &url, "migrate"])
        .expect_code(0);
    db.execute(
        "INSERT INTO users (email) SELECT 'u' || g || '@example.com' FROM generate_series(1, 5000) g; ANALYZE users;",
    );
    project
}

#[test]
fn a_risky_pending_migration_is_refused_with_where_and_why() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = applied_project(&db);
    project
        .strata(&[
            "--database-url",
            &url,
            "generate",
            "--custom",
            "--name",
            "risky",
        ])
        .expect_code(0);
    project.write(
        "drizzle/0001_risky.sql",
        "CREATE INDEX users_email_idx ON users (email);\n--> statement-breakpoint\nALTER TABLE users DROP COLUMN name;\n",
    );
    let (run, report) = check_json(&project, &url, &["--no-schema"]);
    run.expect_code(3);
    let index = finding(&report, "blocking-index-build");
    assert_eq!(
        index["severity"], "error",
        "5000 rows is over the threshold of 1000"
    );
    assert_eq!(index["file"], "drizzle/0001_risky.sql");
    assert_eq!(index["line"], 1);
    assert!(
        index["message"].as_str().unwrap().contains("~5000 rows"),
        "{index}"
    );
    assert!(index["help"].as_str().unwrap().contains("CONCURRENTLY"));
    let drop = finding(&report, "drop-column");
    assert_eq!(drop["line"], 3);
    assert_eq!(drop["severity"], "error");
    // The checklist: the rollback script is the generated placeholder (present),
    // and nothing takes a backup before the data loss.
    finding(&report, "no-backup");
    assert_eq!(report["checked"], json!(["drizzle/0001_risky.sql"]));
    assert_eq!(report["ran_on_scratch"], true);

    // People get file:line, the rule and a fix.
    let text = project.strata(&["--database-url", &url, "check", "--no-schema"]);
    text.expect_code(3);
    assert!(
        text.stdout()
            .contains("drizzle/0001_risky.sql:1: error[blocking-index-build]"),
        "{}",
        text.stdout()
    );
    assert!(text.stdout().contains("help:"), "{}", text.stdout());

    // The safe forms: concurrently, outside a transaction; the column kept.
    project.write(
        "drizzle/0001_risky.sql",
        "-- strata:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n",
    );
    let (run, report) = check_json(&project, &url, &["--no-schema"]);
    run.expect_code(0);
    assert_eq!(rules(&report), Vec::<String>::new(), "{report:#}");
}

#[test]
fn safe_forms_raise_nothing_above_info() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = applied_project(&db);
    project
        .strata(&[
            "--database-url",
            &url,
            "generate",
            "--custom",
            "--name",
            "safe",
        ])
        .expect_code(0);
    project.write(
        "drizzle/0001_safe.sql",
        "ALTER TABLE users ADD COLUMN bio text;\n\
         --> statement-breakpoint\n\
         ALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT 'en';\n\
         --> statement-breakpoint\n\
         CREATE TABLE audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), at timestamptz NOT NULL DEFAULT now());\n\
         --> statement-breakpoint\n\
         CREATE INDEX audit_user_id_idx ON audit (user_id);\n\
         --> statement-breakpoint\n\
         ALTER TABLE posts ADD CONSTRAINT posts_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n",
    );
    project.write(
        "drizzle/0001_safe_rollback.sql",
        "ALTER TABLE posts DROP CONSTRAINT posts_user_fk;\nDROP TABLE audit;\nALTER TABLE users DROP COLUMN locale, DROP COLUMN bio;\n",
    );
    let (run, report) = check_json(&project, &url, &["--no-schema"]);
    run.expect_code(0);
    let above_info: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .collect();
    assert!(above_info.is_empty(), "{above_info:#?}");
}

#[test]
fn postgres_itself_rejects_what_would_fail_and_the_checklist_is_applied() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = applied_project(&db);
    project
        .strata(&[
            "--database-url",
            &url,
            "generate",
            "--custom",
            "--name",
            "typo",
        ])
        .expect_code(0);
    project.write(
        "drizzle/0001_typo.sql",
        "ALTER TABLE users ADD COLUMN bio text;\n--> statement-breakpoint\n\nALTER TABLE users ALTER COLUMN biography SET DEFAULT '';\n",
    );
    std::fs::remove_file(project.dir.join("drizzle/0001_typo_rollback.sql")).expect("rm");
    let (run, report) = check_json(&project, &url, &[]);
    run.expect_code(3);
    let invalid = finding(&report, "invalid-statement");
    assert_eq!(invalid["line"], 4);
    assert!(
        invalid["message"].as_str().unwrap().contains("biography"),
        "{invalid}"
    );
    assert_eq!(finding(&report, "missing-rollback")["severity"], "warning");
    // The migrations no longer replay, so they were not compared with the
    // schema files; the report says why.
    assert!(
        report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("schema files")),
        "{report:#}"
    );

    // Fixed; but the schema files moved on without a migration.
    project.write(
        "drizzle/0001_typo.sql",
        "ALTER TABLE users ADD COLUMN bio text;\n",
    );
    project.write(
        "schema/more.sql",
        "CREATE TABLE tags (id bigint PRIMARY KEY, name text NOT NULL);\n",
    );
    let (run, report) = check_json(&project, &url, &[]);
    run.expect_code(0);
    assert!(
        !rules(&report).contains(&"invalid-statement".to_owned()),
        "{report:#}"
    );
    assert!(
        finding(&report, "schema-not-migrated")["message"]
            .as_str()
            .unwrap()
            .contains("change(s)")
    );
    // Nothing was applied to the real database by checking.
    assert_eq!(
        db.value("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'bio'"),
        "0"
    );
}

#[test]
fn rules_are_turned_off_in_the_file_or_the_project_and_unknown_ones_are_errors() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = applied_project(&db);
    project
        .strata(&[
            "--database-url",
            &url,
            "generate",
            "--custom",
            "--name",
            "drop",
        ])
        .expect_code(0);
    project.write(
        "drizzle/0001_drop.sql",
        "-- strata:allow drop-column (the column moved to profiles in 0000; backed up)\nALTER TABLE users DROP COLUMN name;\n",
    );
    let (run, report) = check_json(&project, &url, &["--no-schema"]);
    run.expect_code(0);
    assert!(
        !rules(&report).contains(&"drop-column".to_owned()),
        "{report:#}"
    );

    project.write(
        "drizzle/0001_drop.sql",
        "ALTER TABLE users DROP COLUMN name;\n",
    );
    project.write(
        "strata.toml",
        "dialect = \"postgresql\"\nschema = \"schema\"\n[check]\ndisable = [\"drop-column\", \"no-backup\"]\n",
    );
    let (run, report) = check_json(&project, &url, &["--no-schema"]);
    run.expect_code(0);
    assert!(
        !rules(&report).contains(&"drop-column".to_owned()),
        "{report:#}"
    );

    project.write(
        "strata.toml",
        "dialect = \"postgresql\"\nschema = \"schema\"\n[check]\ndisable = [\"drop-colum\"]\n",
    );
    let bad = project.strata(&["--database-url", &url, "check"]);
    bad.expect_code(1);
    assert!(bad.stderr().contains("drop-colum"), "{}", bad.stderr());
    assert!(
        bad.stderr().contains("drop-column"),
        "lists the rules: {}",
        bad.stderr()
    );
}

#[test]
fn given_files_are_checked_without_a_database() {
    let project = Project::empty();
    project.write(
        "strata.toml",
        "dialect = \"postgresql\"\nschema = \"schema\"\n",
    );
    project.write(
        "change.sql",
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);\n",
    );
    // A database named on purpose that cannot be reached is an error ...
    let unreachable = project.strata(&[
        "--database-url",
        "postgres://postgres@127.0.0.1:1/none",
        "check",
        "--no-scratch",
        "change.sql",
    ]);
    unreachable.expect_code(1);
    assert!(
        unreachable.stderr().contains("could not connect"),
        "{}",
        unreachable.stderr()
    );
    // ... while offline the check runs without live sizes, and says so.
    let run = project.strata(&["check", "--json", "--offline", "--no-scratch", "change.sql"]);
    let report: Value = serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout(), run.stderr()));
    run.expect_code(0);
    let build = finding(&report, "blocking-index-build");
    assert_eq!(build["severity"], "warning");
    assert!(
        build["message"]
            .as_str()
            .unwrap()
            .contains("could not tell")
    );
    assert_eq!(build["file"], "change.sql");
}

/// The hazards `generate` writes above each statement are the ones
/// `check` finds in the generated file: one hazard model for both.
#[test]
fn check_finds_the_hazards_generate_wrote() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = applied_project(&db);
    project.write(
        "schema/app.sql",
        "CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL, full_name text, score bigint NOT NULL);\n\
         CREATE INDEX accounts_email_idx ON accounts (email);\n\
         CREATE TABLE posts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint NOT NULL REFERENCES accounts (id), title text NOT NULL);\n\
         CREATE INDEX posts_user_id_idx ON posts (user_id);\n",
    );
    project
        .strata(&[
            "--database-url",
            &url,
            "generate",
            "--name",
            "accounts",
            "--yes",
            "--accept-data-loss",
            "--rename",
            "users=accounts",
            "--rename",
            "accounts.name=full_name",
        ])
        .expect_code(0);
    let sql = project.read("drizzle/0001_accounts.sql");
    let written: std::collections::BTreeSet<String> = sql
        .lines()
        .filter_map(|l| l.strip_prefix("-- "))
        .filter_map(|l| {
            let open = l.find('[')?;
            let close = l.find(']')?;
            Some(l[open + 1..close].to_owned())
        })
        .collect();
    for expected in [
        "rename-table",
        "rename-column",
        "blocking-index-build",
        "validating-scan",
    ] {
        assert!(
            written.contains(expected),
            "generate wrote {written:?}:\n{sql}"
        );
    }
    let (_, report) = check_json(&project, &url, &["--no-schema"]);
    let found: std::collections::BTreeSet<String> = rules(&report).into_iter().collect();
    let known: std::collections::BTreeSet<&str> = [
        "drop-table",
        "drop-column",
        "rename-table",
        "rename-column",
        "blocking-index-build",
        "validating-scan",
        "table-rewrite",
        "not-null-without-default",
    ]
    .into_iter()
    .collect();
    for id in written.iter().filter(|id| known.contains(id.as_str())) {
        assert!(
            found.contains(id),
            "generate wrote {id} but check did not find it: {report:#}\n{sql}"
        );
    }
}
