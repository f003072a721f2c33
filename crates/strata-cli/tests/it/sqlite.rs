//! `dialect = "sqlite"` and `sqlite:PATH` URLs: push, generate, migrate,
//! status and rollback on real database files, no server.

use strata_sqlite::{Connection, Target};

use crate::support::Project;

const V1: &str = "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL UNIQUE, name text);\n\
    CREATE TABLE posts (\n  id integer PRIMARY KEY,\n  user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n  title text\n);\n\
    CREATE INDEX posts_user_idx ON posts (user_id);\n";

fn project(schema: &str) -> Project {
    let project = Project::empty();
    project.write(
        "strata.toml",
        "dialect = \"sqlite\"\nschema = \"schema\"\ndatabase_url = \"sqlite:data/app.db\"\n",
    );
    std::fs::create_dir_all(project.dir.join("data")).expect("mkdir");
    project.write("schema/app.sql", schema);
    project
}

fn open(project: &Project, file: &str) -> Connection {
    Connection::open(&Target::File(project.dir.join(file))).expect("open")
}

fn value(conn: &mut Connection, sql: &str) -> String {
    conn.query_text(sql).expect("query")[0][0]
        .clone()
        .unwrap_or_default()
}

#[test]
fn push_creates_then_rebuilds_keeping_rows() {
    let project = project(V1);
    let run = project.strata(&["push"]);
    run.expect_code(0);
    assert!(
        run.stdout()
            .contains("Applied 3 statements in 1 transaction"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout().contains("now has 2 tables"),
        "{}",
        run.stdout()
    );
    let mut conn = open(&project, "data/app.db");
    conn.execute(
        "INSERT INTO users VALUES (1, 'a@x', 'A'); INSERT INTO posts VALUES (1, 1, 'one');",
    )
    .expect("rows");
    drop(conn);
    project.strata(&["push"]).expect_code(0);
    assert!(project.strata(&["push"]).stdout().contains("No changes"));

    // NOT NULL on the parent of an ON DELETE CASCADE child: a rebuild.
    project.write(
        "schema/app.sql",
        &V1.replace("name text", "name text NOT NULL DEFAULT ''"),
    );
    let dry = project.strata(&["push", "--dry-run"]);
    dry.expect_code(0);
    let script = dry.stdout();
    assert!(
        script.starts_with("-- info[non-transactional]")
            && script.contains("PRAGMA foreign_keys = OFF;"),
        "{script}"
    );
    assert!(
        script.contains("INSERT INTO \"__strata_new_users\""),
        "{script}"
    );
    let json = project.strata(&["push", "--json"]);
    json.expect_code(0);
    let json = json.json();
    assert_eq!(json["applied"], true, "{json}");
    assert_eq!(
        json["target"],
        format!("sqlite:{}", project.dir.join("data/app.db").display())
    );
    let mut conn = open(&project, "data/app.db");
    assert_eq!(value(&mut conn, "SELECT count(*) FROM posts"), "1");
    assert_eq!(value(&mut conn, "SELECT name FROM users"), "A");
    assert!(conn.foreign_key_violations().expect("check").is_empty());
    assert!(
        value(
            &mut conn,
            "SELECT sql FROM sqlite_schema WHERE name = 'users'"
        )
        .contains("NOT NULL DEFAULT ''")
    );
    drop(conn);

    // Dropping a column destroys data: refused without consent.
    project.write(
        "schema/app.sql",
        &V1.replace(",\n  title text", "")
            .replace("name text", "name text NOT NULL DEFAULT ''"),
    );
    let refused = project.strata(&["push"]);
    refused.expect_code(3);
    assert!(
        refused.stderr().contains("destroy data"),
        "{}",
        refused.stderr()
    );
    project
        .strata(&["push", "--accept-data-loss"])
        .expect_code(0);
    let mut conn = open(&project, "data/app.db");
    assert_eq!(value(&mut conn, "SELECT count(*) FROM posts"), "1");
}

#[test]
fn a_sqlite_url_picks_the_dialect_and_renames_keep_data() {
    let project = Project::empty();
    project.write("schema/app.sql", V1);
    let url = "sqlite:app.db";
    project
        .strata(&["--database-url", url, "--schema", "schema", "push"])
        .expect_code(0);
    let mut conn = open(&project, "app.db");
    conn.execute("INSERT INTO users VALUES (1, 'a@x', 'A');")
        .expect("rows");
    drop(conn);
    project.write("schema/app.sql", &V1.replace("name text", "full_name text"));
    project
        .strata(&[
            "--database-url",
            url,
            "--schema",
            "schema",
            "push",
            "--rename",
            "users.name=full_name",
        ])
        .expect_code(0);
    let mut conn = open(&project, "app.db");
    assert_eq!(value(&mut conn, "SELECT full_name FROM users"), "A");
}

#[test]
fn generate_migrate_status_rollback() {
    let project = project(V1);
    let run = project.strata(&["generate", "--name", "init"]);
    run.expect_code(0);
    assert!(
        run.stdout()
            .contains("Wrote drizzle/0000_init.sql and drizzle/0000_init_rollback.sql"),
        "{}",
        run.stdout()
    );
    let journal = project.read("drizzle/meta/_journal.json");
    assert!(journal.contains("\"dialect\": \"sqlite\""), "{journal}");
    project.write(
        "schema/app.sql",
        &format!(
            "{}CREATE VIEW titled AS SELECT id, title FROM posts WHERE title IS NOT NULL;\n",
            V1.replace("name text", "name text NOT NULL DEFAULT ''")
        ),
    );
    project
        .strata(&["generate", "--name", "names"])
        .expect_code(0);
    assert!(
        project
            .read("drizzle/0001_names.sql")
            .contains("__strata_new_users")
    );

    let pending = project.strata(&["migrate", "--dry-run", "--json"]);
    pending.expect_code(0);
    assert_eq!(pending.json()["pending"].as_array().map(Vec::len), Some(2));
    let migrated = project.strata(&["migrate", "--to", "0000_init"]);
    migrated.expect_code(0);
    assert!(
        migrated.stdout().contains("Applied 1 migration(s)."),
        "{}",
        migrated.stdout()
    );
    let mut conn = open(&project, "data/app.db");
    conn.execute(
        "INSERT INTO users VALUES (1, 'a@x', NULL); INSERT INTO posts VALUES (1, 1, 'one');",
    )
    .expect("rows");
    drop(conn);
    // The NULL name fails the copy: the migration is rolled back whole.
    let failed = project.strata(&["migrate"]);
    failed.expect_code(1);
    assert!(
        failed
            .stderr()
            .contains("migration `0001_names` failed at drizzle/0001_names.sql:"),
        "{}",
        failed.stderr()
    );
    let mut conn = open(&project, "data/app.db");
    conn.execute("UPDATE users SET name = 'A'").expect("fill");
    drop(conn);
    project.strata(&["migrate"]).expect_code(0);
    let status = project.strata(&["status"]);
    status.expect_code(0);
    assert!(
        status.stdout().contains("2 applied, 0 pending"),
        "{}",
        status.stdout()
    );
    assert!(status.stdout().contains("No drift"), "{}", status.stdout());
    let mut conn = open(&project, "data/app.db");
    assert_eq!(value(&mut conn, "SELECT count(*) FROM titled"), "1");
    assert_eq!(
        value(
            &mut conn,
            "SELECT count(*) FROM __drizzle_migrations WHERE id IS NULL"
        ),
        "2"
    );
    drop(conn);
    // The migrated database is what push makes.
    let pushed = project.strata(&["--database-url", "sqlite:data/pushed.db", "push", "--json"]);
    pushed.expect_code(0);
    let same = project.strata(&[
        "--database-url",
        "sqlite:data/app.db",
        "push",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(
        same.json()["statements"].as_array().map(Vec::len),
        Some(0),
        "{}",
        same.stdout()
    );

    let rolled = project.strata(&["rollback", "--json"]);
    rolled.expect_code(0);
    assert_eq!(
        rolled.json()["rolled_back"],
        serde_json::json!(["0001_names"])
    );
    let status = project.strata(&["status", "--json"]);
    let status = status.json();
    assert_eq!(
        status["pending"].as_array().map(Vec::len),
        Some(1),
        "{status}"
    );
    assert_eq!(
        status["drift"].as_array().map(Vec::len),
        Some(0),
        "{status}"
    );
    let mut conn = open(&project, "data/app.db");
    assert_eq!(value(&mut conn, "SELECT count(*) FROM posts"), "1");
}

#[test]
fn errors_name_the_file_and_line_and_postgres_only_commands() {
    let project = project(
        "CREATE TABLE users (id integer PRIMARY KEY);\n\nCREATE TABLE posts (id integer REFERENCES);\n",
    );
    let run = project.strata(&["push"]);
    run.expect_code(1);
    assert!(
        run.stderr().contains("schema/app.sql:3"),
        "{}",
        run.stderr()
    );
    let online = project.strata(&["push", "--online"]);
    online.expect_code(1);
    assert!(
        online
            .stderr()
            .contains("`strata push --online` is not available with SQLite"),
        "{}",
        online.stderr()
    );
    let seed = project.strata(&["seed"]);
    seed.expect_code(1);
    assert!(
        seed.stderr()
            .contains("`strata seed` is not available with SQLite"),
        "{}",
        seed.stderr()
    );
    project.write("strata.toml", "dialect = \"sqlite\"\nschema = \"schema\"\n");
    let missing = project.strata(&["push"]);
    missing.expect_code(1);
    assert!(
        missing.stderr().contains("sqlite:app.db"),
        "{}",
        missing.stderr()
    );
}

#[test]
fn mark_applied_and_drop() {
    let project = project(V1);
    project
        .strata(&["generate", "--name", "init"])
        .expect_code(0);
    project.strata(&["migrate"]).expect_code(0);
    project.write(
        "schema/app.sql",
        &format!("{V1}CREATE TABLE tags (id integer PRIMARY KEY, label text);\n"),
    );
    project
        .strata(&["generate", "--name", "tags"])
        .expect_code(0);
    // The table was made by hand: record the migration without running it.
    let mut conn = open(&project, "data/app.db");
    conn.execute("CREATE TABLE tags (id integer PRIMARY KEY, label text)")
        .expect("by hand");
    drop(conn);
    let marked = project.strata(&["mark-applied", "0001_tags"]);
    marked.expect_code(0);
    assert!(
        marked.stdout().contains("Recorded 0001_tags as applied"),
        "{}",
        marked.stdout()
    );
    let status = project.strata(&["status", "--json"]).json();
    assert_eq!(
        status["pending"].as_array().map(Vec::len),
        Some(0),
        "{status}"
    );
    assert_eq!(
        status["drift"].as_array().map(Vec::len),
        Some(0),
        "{status}"
    );
    let again = project.strata(&["mark-applied", "0001_tags"]);
    again.expect_code(1);
    assert!(
        again.stderr().contains("already recorded as applied"),
        "{}",
        again.stderr()
    );
    let mut conn = open(&project, "data/app.db");
    assert_eq!(
        value(&mut conn, "SELECT count(*) FROM __drizzle_migrations"),
        "2"
    );
    drop(conn);
    // An applied migration is not dropped; once rolled back, it is.
    let applied = project.strata(&["drop"]);
    applied.expect_code(1);
    assert!(
        applied.stderr().contains("has applied it"),
        "{}",
        applied.stderr()
    );
    project.strata(&["rollback", "-y"]).expect_code(0);
    let dropped = project.strata(&["drop", "0001_tags"]);
    dropped.expect_code(0);
    assert!(
        dropped.stdout().contains("Removed 0001_tags"),
        "{}",
        dropped.stdout()
    );
    assert!(!project.dir.join("drizzle/0001_tags.sql").exists());
    let journal =
        std::fs::read_to_string(project.dir.join("drizzle/meta/_journal.json")).expect("journal");
    assert!(!journal.contains("0001_tags"), "{journal}");
    let status = project.strata(&["status", "--json"]).json();
    assert_eq!(
        status["applied"].as_array().map(Vec::len),
        Some(1),
        "{status}"
    );
}

#[test]
fn migrate_backup_copies_the_database_before_applying() {
    let project = project(V1);
    project
        .strata(&["generate", "--name", "init"])
        .expect_code(0);
    // A backup is taken when something is pending, an empty database too.
    let first = project.strata(&["migrate", "--backup"]);
    first.expect_code(0);
    assert!(
        first
            .stderr()
            .contains("Backup written to .strata/backups/app_"),
        "{}",
        first.stderr()
    );
    let again = project.strata(&["migrate", "--backup"]);
    again.expect_code(0);
    assert!(
        again.stderr().contains("no backup taken"),
        "{}",
        again.stderr()
    );
    // `backup = true` in strata.toml takes one too.
    project.write(
        "strata.toml",
        "dialect = \"sqlite\"\nschema = \"schema\"\ndatabase_url = \"sqlite:data/app.db\"\n[migrations]\nbackup = true\n",
    );
    project.write(
        "schema/app.sql",
        &format!("{V1}CREATE TABLE tags (id integer PRIMARY KEY);\n"),
    );
    project
        .strata(&["generate", "--name", "tags"])
        .expect_code(0);
    let second = project.strata(&["migrate"]);
    second.expect_code(0);
    let backups: Vec<_> = std::fs::read_dir(project.dir.join(".strata/backups"))
        .expect("backups")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(backups.len(), 2, "{backups:?}");
    // The newest holds the database before `0001_tags`.
    let newest = backups.iter().max().expect("a backup");
    let mut copy = Connection::open(&Target::File(newest.clone())).expect("open");
    assert_eq!(
        value(&mut copy, "SELECT count(*) FROM __drizzle_migrations"),
        "1"
    );
}

#[test]
fn commands_that_only_read_do_not_create_the_database_file() {
    let project = project(V1);
    project
        .strata(&["generate", "--name", "init"])
        .expect_code(0);
    let status = project.strata(&["status"]);
    status.expect_code(0);
    assert!(
        status.stdout().contains("0 applied, 1 pending"),
        "{}",
        status.stdout()
    );
    let dry = project.strata(&["push", "--dry-run"]);
    dry.expect_code(0);
    assert!(
        dry.stdout().contains("CREATE TABLE \"users\""),
        "{}",
        dry.stdout()
    );
    project.strata(&["migrate", "--dry-run"]).expect_code(0);
    assert!(!project.dir.join("data/app.db").exists());
    project.strata(&["migrate"]).expect_code(0);
    assert!(project.dir.join("data/app.db").exists());
}
