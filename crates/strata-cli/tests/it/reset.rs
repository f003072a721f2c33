//! `strata reset`: what strata manages is emptied and built again, nothing
//! else is touched, and production is never reset.

use crate::support::{Project, table_count};

fn marker(db: &strata_testkit::TestDatabase) -> String {
    db.value("SELECT count(*) FROM users WHERE email = 'keep-me@example.com'")
}

fn prepared(db: &strata_testkit::TestDatabase) -> Project {
    let project = Project::abe_stack();
    project
        .strata(&["--database-url", &db.url(), "push", "--yes"])
        .expect_code(0);
    db.execute(
        "INSERT INTO users (email) VALUES ('keep-me@example.com');
         CREATE SCHEMA other; CREATE TABLE other.keep (x int); INSERT INTO other.keep VALUES (1);",
    );
    project
}

#[test]
fn reset_with_push_empties_rebuilds_and_seeds_only_what_strata_manages() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = prepared(&db);
    let acl_before = db.value(
        "SELECT nspowner::regrole::text || ' ' || coalesce(nspacl::text, '') FROM pg_namespace WHERE nspname = 'public'",
    );
    let run = project.strata(&[
        "--database-url",
        &url,
        "reset",
        "--force",
        "--json",
        "--seed",
        "7",
    ]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["using"], "push");
    assert_eq!(report["schemas"], serde_json::json!(["public"]));
    assert_eq!(report["seed"], 7);
    assert_eq!(marker(&db), "0", "the old rows are gone");
    assert_eq!(table_count(&db), 8);
    assert_eq!(db.value("SELECT count(*) > 0 FROM users"), "t", "seeded");
    // Not strata's: untouched.
    assert_eq!(db.value("SELECT x FROM other.keep"), "1");
    // public is back as PostgreSQL made it.
    assert_eq!(
        db.value(
            "SELECT nspowner::regrole::text || ' ' || coalesce(nspacl::text, '') FROM pg_namespace WHERE nspname = 'public'"
        ),
        acl_before
    );
    // And it matches the schema files.
    let plan = project
        .strata(&["--database-url", &url, "push", "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(plan["statements"], serde_json::json!([]));
}

#[test]
fn reset_with_migrate_replays_the_migrations_and_starts_the_tracking_over() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = prepared(&db);
    project
        .strata(&["--database-url", &url, "generate", "--name", "init"])
        .expect_code(0);
    project
        .strata(&["--database-url", &url, "mark-applied", "0000_init"])
        .expect_code(0);
    let run = project.strata(&[
        "--database-url",
        &url,
        "reset",
        "--force",
        "--no-seed",
        "--json",
    ]);
    run.expect_code(0);
    assert_eq!(
        run.json()["using"],
        "migrate",
        "migrations exist: migrate by default"
    );
    assert_eq!(marker(&db), "0");
    assert_eq!(db.value("SELECT count(*) FROM users"), "0", "not seeded");
    assert_eq!(
        db.value("SELECT count(*) FROM drizzle.__drizzle_migrations"),
        "1",
        "recorded by the migrate that rebuilt it"
    );
    // `[reset] using` in strata.toml picks push instead.
    let config = project.read("strata.toml");
    project.write(
        "strata.toml",
        &format!("{config}\n[reset]\nusing = \"push\"\n"),
    );
    let run = project.strata(&[
        "--database-url",
        &url,
        "reset",
        "--force",
        "--no-seed",
        "--json",
    ]);
    run.expect_code(0);
    assert_eq!(run.json()["using"], "push");
}

#[test]
fn production_is_never_reset_and_nothing_happens_without_consent() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = prepared(&db);
    let refused = project.strata_env(
        &["--database-url", &url, "reset", "--force"],
        &[("STRATA_ENV", "production")],
    );
    refused.expect_code(3);
    assert!(
        refused.stderr().contains("production"),
        "{}",
        refused.stderr()
    );
    assert_eq!(marker(&db), "1");

    let config = project.read("strata.toml");
    project.write("strata.toml", &format!("production = true\n{config}"));
    project
        .strata(&["--database-url", &url, "reset", "--force", "--yes"])
        .expect_code(3);
    assert_eq!(marker(&db), "1");
    project.write("strata.toml", &config);

    // No terminal, no --force: refused.
    let unasked = project.strata(&["--database-url", &url, "reset"]);
    unasked.expect_code(3);
    assert!(unasked.stderr().contains("--force"), "{}", unasked.stderr());
    assert_eq!(marker(&db), "1");

    // A schema file that does not build stops the reset before anything is dropped.
    project.write(
        "schema/broken.sql",
        "CREATE TABLE broken (id int REFERENCES nowhere (id));\n",
    );
    let broken = project.strata(&["--database-url", &url, "reset", "--force"]);
    broken.expect_code(1);
    assert!(
        broken.stderr().contains("broken.sql"),
        "{}",
        broken.stderr()
    );
    assert_eq!(marker(&db), "1");
}

#[test]
fn reset_empties_public_when_the_tracking_table_lives_there_too() {
    // `[migrations] schema = "public"`: the schema used to be left alone
    // because of the tracking table, so migrate found the old tables and
    // failed after the tracking rows were gone.
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    project.write(
        "strata.toml",
        "schema = \"schema\"\n[migrations]\nschema = \"public\"\ntable = \"my_migrations\"\n",
    );
    project.write("schema/a.sql", "CREATE TABLE a (id int PRIMARY KEY);\n");
    project
        .strata(&["--database-url", &url, "generate", "--name", "init"])
        .expect_code(0);
    project
        .strata(&["--database-url", &url, "migrate"])
        .expect_code(0);
    db.execute("INSERT INTO a VALUES (1)");
    let run = project.strata(&[
        "--database-url",
        &url,
        "reset",
        "--force",
        "--no-seed",
        "--json",
    ]);
    run.expect_code(0);
    assert_eq!(run.json()["schemas"], serde_json::json!(["public"]));
    assert_eq!(db.value("SELECT count(*) FROM a"), "0");
    assert_eq!(db.value("SELECT count(*) FROM public.my_migrations"), "1");
}
