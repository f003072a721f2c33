//! `generate`, `migrate`, `status`, `rollback`, `mark-applied`, `drop` and
//! `pull` against real databases, judged by the catalog (`push --dry-run`
//! plans nothing) and by the tracking table.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::{Project, Run, table_count};

/// Schema B: the example app with a table dropped, a column added and one
/// retyped, an index, a view and an enum value.
fn change_to_b(project: &Project) {
    project.write("schema/notifications.sql", "-- moved elsewhere\n");
    let auth = project
        .read("schema/auth.sql")
        .replace(
            "    avatar_url text,",
            "    avatar_url text,\n    locale text NOT NULL DEFAULT 'en',",
        )
        .replace("name varchar(100)", "name varchar(200)")
        .replace(
            "('user', 'moderator', 'admin')",
            "('user', 'moderator', 'admin', 'owner')",
        );
    project.write(
        "schema/auth.sql",
        &format!(
            "{auth}\nCREATE INDEX users_created_at_idx ON users (created_at);\n\
             CREATE VIEW active_sessions AS SELECT s.id, s.user_id, u.email FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.revoked_at IS NULL;\n"
        ),
    );
}

/// `push --dry-run --json` plans nothing: the database is the schema files.
fn assert_matches_schema(project: &Project, url: &str) {
    let run = project.strata(&["--database-url", url, "push", "--dry-run", "--json"]);
    let plan = run.expect_code(0).json();
    assert_eq!(
        plan["statements"],
        json!([]),
        "the database differs from the schema files"
    );
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::new(), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

fn journal(project: &Project) -> serde_json::Value {
    serde_json::from_str(&project.read("drizzle/meta/_journal.json")).expect("journal is JSON")
}

fn tracking_rows(db: &strata_testkit::TestDatabase) -> Vec<(String, String)> {
    db.column("SELECT hash || ' ' || created_at FROM drizzle.__drizzle_migrations ORDER BY id")
        .into_iter()
        .map(|row| {
            let row = row.expect("not null");
            let (hash, when) = row.split_once(' ').expect("two fields");
            (hash.to_owned(), when.to_owned())
        })
        .collect()
}

#[test]
fn generate_a_then_b_migrates_an_empty_database_to_b_and_rolls_back_to_a() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::abe_stack();
    let run = project.strata(&[
        "--database-url",
        &url,
        "generate",
        "--name",
        "init",
        "--yes",
    ]);
    run.expect_code(0);
    assert!(
        run.stdout().contains("Wrote drizzle/0000_init.sql"),
        "{}",
        run.stdout()
    );

    change_to_b(&project);
    // Without consent the data loss is refused and nothing is written.
    project
        .strata(&["--database-url", &url, "generate", "--name", "b", "--yes"])
        .expect_code(3);
    assert!(!project.dir.join("drizzle/0001_b.sql").exists());
    // --json says so in JSON, as push does.
    let refused = project
        .strata(&["--database-url", &url, "generate", "--name", "b", "--json"])
        .expect_code(3)
        .json();
    assert_eq!(refused["refused"], "data-loss");
    assert_eq!(refused["written"], serde_json::json!([]));
    assert!(!project.dir.join("drizzle/0001_b.sql").exists());
    project
        .strata(&[
            "--database-url",
            &url,
            "generate",
            "--name",
            "b",
            "--yes",
            "--accept-data-loss",
        ])
        .expect_code(0);
    // The new enum value must be committed before anything uses it: it
    // comes first, in a migration of its own outside a transaction.
    let prepare = project.read("drizzle/0001_b_prepare.sql");
    assert!(
        prepare.starts_with("-- strata:no-transaction\n"),
        "{prepare}"
    );
    assert!(prepare.contains("ADD VALUE 'owner'"), "{prepare}");
    let forward = project.read("drizzle/0002_b.sql");
    assert!(forward.contains("--> statement-breakpoint"), "{forward}");
    assert!(!forward.contains("ADD VALUE"), "{forward}");
    let rollback = project.read("drizzle/0002_b_rollback.sql");
    assert!(rollback.contains("DROP VIEW"), "{rollback}");
    assert!(rollback.contains("DATA LOSS[drop-column]"), "{rollback}");
    assert!(
        !rollback.contains("user_role__strata_old"),
        "the enum is the prepare's to undo: {rollback}"
    );
    let prepare_rollback = project.read("drizzle/0001_b_prepare_rollback.sql");
    assert!(
        prepare_rollback.contains("user_role__strata_old"),
        "{prepare_rollback}"
    );

    let entries = journal(&project)["entries"].clone();
    assert_eq!(entries.as_array().map(Vec::len), Some(3));
    assert_eq!(entries[2]["tag"], "0002_b");
    assert_eq!(entries[2]["idx"], 2);
    assert_eq!(entries[2]["breakpoints"], true);
    assert!(project.dir.join("drizzle/meta/0002_snapshot.json").exists());

    // Nothing changed since: generate says so and writes nothing.
    let none = project.strata(&["--database-url", &url, "generate", "--yes"]);
    none.expect_code(0);
    assert!(none.stdout().contains("No changes"), "{}", none.stdout());
    assert_eq!(
        journal(&project)["entries"].as_array().map(Vec::len),
        Some(3)
    );

    let migrated = project.strata(&["--database-url", &url, "migrate"]);
    migrated.expect_code(0);
    assert!(
        migrated.stderr().contains("applied 0000_init"),
        "{}",
        migrated.stderr()
    );
    assert!(
        migrated.stderr().contains("applied 0002_b"),
        "{}",
        migrated.stderr()
    );
    assert_matches_schema(&project, &url);

    // The tracking table is drizzle's: sha256 of the file, the journal's when.
    let rows = tracking_rows(&db);
    let expected: Vec<(String, String)> = ["0000_init", "0001_b_prepare", "0002_b"]
        .iter()
        .enumerate()
        .map(|(i, tag)| {
            (
                sha256_hex(&project.read(&format!("drizzle/{tag}.sql"))),
                entries[i]["when"].to_string(),
            )
        })
        .collect();
    assert_eq!(rows, expected);

    // Migrating again does nothing.
    let again = project.strata(&["--database-url", &url, "migrate"]);
    again.expect_code(0);
    assert!(
        again.stdout().contains("Nothing to apply"),
        "{}",
        again.stdout()
    );

    // Without a terminal, rollback scripts (they drop tables and columns)
    // need --yes: refused, nothing undone.
    let refused = project.strata(&["--database-url", &url, "rollback"]);
    refused.expect_code(3);
    assert!(refused.stderr().contains("--yes"), "{}", refused.stderr());
    assert_eq!(tracking_rows(&db).len(), 3);

    // One step back is schema A with the new enum value; two steps, A.
    project
        .strata(&["--database-url", &url, "rollback", "--yes"])
        .expect_code(0);
    assert_eq!(tracking_rows(&db).len(), 2);
    let a_and_owner = Project::abe_stack();
    let auth = a_and_owner.read("schema/auth.sql").replace(
        "('user', 'moderator', 'admin')",
        "('user', 'moderator', 'admin', 'owner')",
    );
    a_and_owner.write("schema/auth.sql", &auth);
    assert_matches_schema(&a_and_owner, &url);
    project
        .strata(&["--database-url", &url, "rollback", "--yes"])
        .expect_code(0);
    let a = Project::abe_stack();
    assert_matches_schema(&a, &url);
    assert_eq!(table_count(&db), 8);

    // And forward again is B.
    project
        .strata(&["--database-url", &url, "migrate"])
        .expect_code(0);
    assert_matches_schema(&project, &url);

    // --to the first migration undoes the rest; --steps past the start undoes everything.
    project
        .strata(&[
            "--database-url",
            &url,
            "rollback",
            "--to",
            "0000_init",
            "--yes",
        ])
        .expect_code(0);
    assert_matches_schema(&a, &url);
    project
        .strata(&["--database-url", &url, "rollback", "--steps", "5", "--yes"])
        .expect_code(0);
    assert_eq!(table_count(&db), 0);
    assert!(tracking_rows(&db).is_empty());
}

#[test]
fn status_shows_pending_applied_edited_missing_and_drift() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::abe_stack();
    project
        .strata(&["--database-url", &url, "generate", "--name", "init"])
        .expect_code(0);
    project.write(
        "schema/extra.sql",
        "CREATE TABLE audit_log (id bigserial PRIMARY KEY, message text NOT NULL);\n",
    );
    project
        .strata(&["--database-url", &url, "generate", "--name", "audit"])
        .expect_code(0);

    let status = project.strata(&["--database-url", &url, "status", "--json"]);
    let value = status.expect_code(0).json();
    assert_eq!(value["applied"], json!([]));
    let pending: Vec<&str> = value["pending"]
        .as_array()
        .expect("pending")
        .iter()
        .map(|e| e["tag"].as_str().expect("tag"))
        .collect();
    assert_eq!(pending, ["0000_init", "0001_audit"]);

    project
        .strata(&["--database-url", &url, "migrate", "--to", "0000_init"])
        .expect_code(0);
    let value = project
        .strata(&["--database-url", &url, "status", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(value["applied"].as_array().map(Vec::len), Some(1));
    assert_eq!(value["pending"].as_array().map(Vec::len), Some(1));
    assert_eq!(value["drift"], json!([]));

    // Someone changes the database by hand: that is drift, shown as SQL.
    db.execute("ALTER TABLE users ADD COLUMN nickname text");
    let text = project.strata(&["--database-url", &url, "status"]);
    text.expect_code(0);
    assert!(text.stdout().contains("Drift"), "{}", text.stdout());
    assert!(text.stdout().contains("nickname"), "{}", text.stdout());
    let value = project
        .strata(&["--database-url", &url, "status", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(value["drift"].as_array().map(Vec::len), Some(1), "{value}");
    db.execute("ALTER TABLE users DROP COLUMN nickname");

    // An applied migration edited since: status says so, migrate refuses.
    let path = "drizzle/0000_init.sql";
    let original = project.read(path);
    project.write(path, &format!("{original}\n-- reviewed\n"));
    let value = project
        .strata(&["--database-url", &url, "status", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(value["edited"][0]["tag"], "0000_init", "{value}");
    let refused = project.strata(&["--database-url", &url, "migrate"]);
    refused.expect_code(3);
    assert!(
        refused.stderr().contains("0000_init"),
        "{}",
        refused.stderr()
    );
    assert!(
        refused.stderr().contains("--accept-edited"),
        "{}",
        refused.stderr()
    );
    assert_eq!(table_count(&db), 8, "nothing ran");
    project
        .strata(&["--database-url", &url, "migrate", "--accept-edited"])
        .expect_code(0);
    assert_eq!(tracking_rows(&db)[0].0, sha256_hex(&project.read(path)));
    assert_eq!(table_count(&db), 9);

    // A recorded migration whose file is gone is reported as missing.
    db.execute(
        "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('feedface', 1)",
    );
    let value = project
        .strata(&["--database-url", &url, "status", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(value["missing"][0]["hash"], "feedface", "{value}");
}

#[test]
fn a_migration_older_than_the_newest_applied_one_is_refused_not_skipped() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    project.write(
        "strata.toml",
        "dialect = \"postgresql\"\nschema = \"schema\"\n",
    );
    project.write("schema/a.sql", "CREATE TABLE a (id int PRIMARY KEY);\n");
    project
        .strata(&["--database-url", &url, "generate", "--name", "a"])
        .expect_code(0);
    project.write("schema/b.sql", "CREATE TABLE b (id int PRIMARY KEY);\n");
    project
        .strata(&["--database-url", &url, "generate", "--name", "b"])
        .expect_code(0);
    project.write("schema/c.sql", "CREATE TABLE c (id int PRIMARY KEY);\n");
    project
        .strata(&["--database-url", &url, "generate", "--name", "c"])
        .expect_code(0);
    // A branch merge: 0001 was written before 0002 but reaches the
    // database after it. Apply 0000 and 0002 only.
    db.execute("CREATE SCHEMA drizzle; CREATE TABLE drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint)");
    let journal = journal(&project);
    for i in [0, 2] {
        let tag = journal["entries"][i]["tag"]
            .as_str()
            .expect("tag")
            .to_owned();
        db.execute(
            &project
                .read(&format!("drizzle/{tag}.sql"))
                .replace("--> statement-breakpoint", ""),
        );
        db.execute(&format!(
            "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('{}', {})",
            sha256_hex(&project.read(&format!("drizzle/{tag}.sql"))),
            journal["entries"][i]["when"]
        ));
    }
    let refused = project.strata(&["--database-url", &url, "migrate"]);
    refused.expect_code(3);
    assert!(refused.stderr().contains("0001_b"), "{}", refused.stderr());
    assert!(
        refused.stderr().contains("--allow-out-of-order"),
        "{}",
        refused.stderr()
    );
    assert_eq!(
        db.value("SELECT count(*) FROM pg_tables WHERE tablename = 'b'"),
        "0"
    );
    let status = project
        .strata(&["--database-url", &url, "status", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(status["out_of_order"], json!(["0001_b"]));
    project
        .strata(&["--database-url", &url, "migrate", "--allow-out-of-order"])
        .expect_code(0);
    assert_eq!(
        db.value("SELECT count(*) FROM pg_tables WHERE tablename = 'b'"),
        "1"
    );
    assert_eq!(tracking_rows(&db).len(), 3);
}

#[test]
fn a_failing_migration_names_file_statement_and_line_and_keeps_the_last_good_one() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    project.write(
        "strata.toml",
        "dialect = \"postgresql\"\nschema = \"schema\"\n",
    );
    project.write(
        "schema/a.sql",
        "CREATE TABLE a (id int PRIMARY KEY, n int);\n",
    );
    project
        .strata(&["--database-url", &url, "generate", "--name", "a"])
        .expect_code(0);
    let custom = project.strata(&[
        "--database-url",
        &url,
        "generate",
        "--custom",
        "--name",
        "backfill",
    ]);
    custom.expect_code(0);
    project.write(
        "drizzle/0001_backfill.sql",
        "INSERT INTO a VALUES (1, 1);\n--> statement-breakpoint\nUPDATE a\n   SET n = n + 1\n WHERE nonexistent = 1;\n",
    );
    project.write("drizzle/0001_backfill_rollback.sql", "DELETE FROM a;\n");
    let failed = project.strata(&["--database-url", &url, "migrate"]);
    failed.expect_code(1);
    let stderr = failed.stderr();
    assert!(stderr.contains("0001_backfill.sql:3"), "{stderr}");
    assert!(stderr.contains("statement 2"), "{stderr}");
    assert!(stderr.contains("nonexistent"), "{stderr}");
    assert!(
        stderr.contains("0000_a"),
        "names the last good migration: {stderr}"
    );
    // The first migration stayed, nothing of the second did.
    assert_eq!(tracking_rows(&db).len(), 1);
    assert_eq!(db.value("SELECT count(*) FROM a"), "0");

    project.write(
        "drizzle/0001_backfill.sql",
        "INSERT INTO a VALUES (1, 1);\n--> statement-breakpoint\nUPDATE a SET n = n + 1;\n",
    );
    project
        .strata(&["--database-url", &url, "migrate"])
        .expect_code(0);
    assert_eq!(db.value("SELECT n FROM a"), "2");
    // The custom migration's rollback script runs too.
    project
        .strata(&["--database-url", &url, "rollback", "--yes"])
        .expect_code(0);
    assert_eq!(db.value("SELECT count(*) FROM a"), "0");
}

#[test]
fn a_no_transaction_migration_can_build_an_index_concurrently() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    project.write(
        "strata.toml",
        "dialect = \"postgresql\"\nschema = \"schema\"\n",
    );
    project.write(
        "schema/a.sql",
        "CREATE TABLE a (id int PRIMARY KEY, n int);\n",
    );
    project
        .strata(&["--database-url", &url, "generate", "--name", "a"])
        .expect_code(0);
    project
        .strata(&[
            "--database-url",
            &url,
            "generate",
            "--custom",
            "--name",
            "index",
        ])
        .expect_code(0);
    project.write(
        "drizzle/0001_index.sql",
        "-- strata:no-transaction\nCREATE INDEX CONCURRENTLY a_n_idx ON a (n);\n",
    );
    project.write(
        "drizzle/0001_index_rollback.sql",
        "-- strata:no-transaction\nDROP INDEX CONCURRENTLY a_n_idx;\n",
    );
    project
        .strata(&["--database-url", &url, "migrate"])
        .expect_code(0);
    assert_eq!(
        db.value("SELECT indisvalid FROM pg_index WHERE indexrelid = 'a_n_idx'::regclass"),
        "t"
    );
    assert_eq!(tracking_rows(&db).len(), 2);
    project
        .strata(&["--database-url", &url, "rollback", "--yes"])
        .expect_code(0);
    assert_eq!(
        db.value("SELECT count(*) FROM pg_class WHERE relname = 'a_n_idx'"),
        "0"
    );
}

#[test]
fn a_lock_timeout_is_retried_until_the_lock_is_free() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    project.write(
        "strata.toml",
        "dialect = \"postgresql\"\nschema = \"schema\"\n",
    );
    project.write("schema/a.sql", "CREATE TABLE a (id int PRIMARY KEY);\n");
    project
        .strata(&["--database-url", &url, "generate", "--name", "a"])
        .expect_code(0);
    project
        .strata(&["--database-url", &url, "migrate"])
        .expect_code(0);
    project.write(
        "schema/a.sql",
        "CREATE TABLE a (id int PRIMARY KEY, n int);\n",
    );
    project
        .strata(&["--database-url", &url, "generate", "--name", "n"])
        .expect_code(0);

    // A long transaction holds the table; with no retries migrate gives up
    // quickly instead of queueing every other query behind its lock.
    let mut holder = db.connect();
    holder
        .execute("BEGIN; LOCK TABLE a IN ACCESS SHARE MODE")
        .expect("lock");
    let started = Instant::now();
    let gave_up = project.strata(&[
        "--database-url",
        &url,
        "migrate",
        "--lock-timeout",
        "200ms",
        "--retries",
        "0",
    ]);
    gave_up.expect_code(1);
    assert!(gave_up.stderr().contains("lock"), "{}", gave_up.stderr());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(tracking_rows(&db).len(), 1);

    // With retries it gets through once the lock is released.
    let child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "--database-url",
            &url,
            "migrate",
            "--lock-timeout",
            "200ms",
            "--retries",
            "20",
        ])
        .current_dir(&project.dir)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(700));
    holder.execute("COMMIT").expect("commit");
    let run = Run(child.wait_with_output().expect("wait"));
    run.expect_code(0);
    assert_eq!(tracking_rows(&db).len(), 2);
}

/// Migrations that each take a little while: a table filled with rows.
fn slow_migrations(project: &Project, url: &str, count: usize) {
    project.write(
        "strata.toml",
        "dialect = \"postgresql\"\nschema = \"schema\"\n",
    );
    project.write("schema/.keep.sql", "-- empty\n");
    for i in 0..count {
        project
            .strata(&[
                "--database-url",
                url,
                "generate",
                "--custom",
                "--name",
                &format!("t{i}"),
            ])
            .expect_code(0);
        project.write(
            &format!("drizzle/{i:04}_t{i}.sql"),
            &format!(
                "CREATE TABLE t{i} (id int PRIMARY KEY, v text);\n--> statement-breakpoint\n\
                 INSERT INTO t{i} SELECT g, md5(g::text) FROM generate_series(1, 20000) g;\n"
            ),
        );
    }
}

/// The tracking table is true: one row per migration that ran, each
/// migration's table present exactly when its row is.
fn assert_tracking_true(
    project: &Project,
    db: &strata_testkit::TestDatabase,
    count: usize,
) -> usize {
    let rows = tracking_rows(db);
    let journal = journal(project);
    let mut applied = 0;
    for i in 0..count {
        let tag = journal["entries"][i]["tag"]
            .as_str()
            .expect("tag")
            .to_owned();
        let hash = sha256_hex(&project.read(&format!("drizzle/{tag}.sql")));
        let recorded = rows.iter().filter(|(h, _)| *h == hash).count();
        assert!(recorded <= 1, "{tag} recorded {recorded} times");
        let exists = db.value(&format!(
            "SELECT count(*) FROM pg_tables WHERE tablename = 't{i}'"
        ));
        assert_eq!(
            exists,
            recorded.to_string(),
            "{tag}: table and tracking row disagree"
        );
        if recorded == 1 {
            assert_eq!(db.value(&format!("SELECT count(*) FROM t{i}")), "20000");
            applied += 1;
        }
    }
    assert_eq!(rows.len(), applied, "rows that match no migration");
    applied
}

/// The server carries on with what a killed client sent (a migration sent
/// whole, COMMIT included, still commits) until it notices the socket is
/// gone: wait for its sessions to end.
fn wait_for_dead_sessions(db: &strata_testkit::TestDatabase) {
    let started = Instant::now();
    while db.value(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    ) != "0"
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "sessions of killed processes still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn eight_concurrent_migrates_apply_each_migration_exactly_once() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    slow_migrations(&project, &url, 12);
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_strata"))
                .args(["--database-url", &url, "migrate", "--json"])
                .current_dir(&project.dir)
                .env_remove("DATABASE_URL")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut applied_in_all = 0;
    for child in children {
        let run = Run(child.wait_with_output().expect("wait"));
        run.expect_code(0);
        applied_in_all += run.json()["applied"].as_array().map_or(0, Vec::len);
    }
    assert_eq!(
        applied_in_all, 12,
        "each migration applied by exactly one process"
    );
    assert_eq!(assert_tracking_true(&project, &db, 12), 12);
}

#[test]
fn a_migrate_killed_at_any_moment_leaves_the_tracking_table_true() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    let count = 16;
    slow_migrations(&project, &url, count);
    // Kill points spread over the run, from "just started" to "almost
    // done"; the sequence is fixed so a failure can be reproduced.
    let mut seed: u64 = 0x5eed_cafe;
    let mut kills = 0;
    for _ in 0..12 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let delay = Duration::from_millis(20 + (seed >> 33) % 400);
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["--database-url", &url, "migrate"])
            .current_dir(&project.dir)
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(delay);
        if child.try_wait().expect("poll").is_none() {
            child.kill().expect("SIGKILL");
            kills += 1;
        }
        child.wait().expect("reap");
        wait_for_dead_sessions(&db);
        // The server notices the dead connection and rolls its transaction
        // back; the lock goes with it. Whatever the moment, the state is true.
        assert_tracking_true(&project, &db, count);
    }
    assert!(kills > 0, "no run was interrupted");
    project
        .strata(&["--database-url", &url, "migrate"])
        .expect_code(0);
    assert_eq!(assert_tracking_true(&project, &db, count), count);
}

#[test]
fn mark_applied_records_without_running_and_drop_removes_the_last_unapplied() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::abe_stack();
    project
        .strata(&["--database-url", &url, "generate", "--name", "init"])
        .expect_code(0);
    // A database that already has the schema (made by push): adopt it.
    project
        .strata(&["--database-url", &url, "push", "--yes"])
        .expect_code(0);
    let marked = project.strata(&["--database-url", &url, "mark-applied", "0000_init"]);
    marked.expect_code(0);
    let rows = tracking_rows(&db);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].0,
        sha256_hex(&project.read("drizzle/0000_init.sql"))
    );
    project
        .strata(&["--database-url", &url, "mark-applied", "0000_init"])
        .expect_code(1);
    project
        .strata(&["--database-url", &url, "mark-applied", "0042_nope"])
        .expect_code(1);
    let status = project
        .strata(&["--database-url", &url, "status", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(status["pending"], json!([]));
    assert_eq!(status["drift"], json!([]));

    // The applied migration cannot be dropped; a new unapplied one can.
    let refused = project.strata(&["--database-url", &url, "drop", "0000_init"]);
    refused.expect_code(1);
    assert!(refused.stderr().contains("applied"), "{}", refused.stderr());
    project.write(
        "schema/extra.sql",
        "CREATE TABLE extra (id int PRIMARY KEY);\n",
    );
    project
        .strata(&["--database-url", &url, "generate", "--name", "extra"])
        .expect_code(0);
    let before = journal(&project);
    assert_eq!(before["entries"].as_array().map(Vec::len), Some(2));
    // Only the last one.
    project
        .strata(&["--database-url", &url, "drop", "0000_init"])
        .expect_code(1);
    project
        .strata(&["--database-url", &url, "drop"])
        .expect_code(0);
    assert_eq!(
        journal(&project)["entries"].as_array().map(Vec::len),
        Some(1)
    );
    for gone in [
        "drizzle/0001_extra.sql",
        "drizzle/0001_extra_rollback.sql",
        "drizzle/meta/0001_snapshot.json",
    ] {
        assert!(!project.dir.join(gone).exists(), "{gone} still there");
    }
    // Generating again gives the same migration number.
    project
        .strata(&["--database-url", &url, "generate", "--name", "extra"])
        .expect_code(0);
    assert!(project.dir.join("drizzle/0001_extra.sql").exists());
}

#[test]
fn pull_writes_schema_files_that_rebuild_the_same_database() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::abe_stack();
    project
        .strata(&["--database-url", &url, "push", "--yes"])
        .expect_code(0);
    db.execute(
        "CREATE VIEW recent_users AS SELECT id, email FROM users WHERE created_at > now() - interval '7 days';
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
         CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();",
    );

    let adopted = Project::empty();
    adopted.write(
        "strata.toml",
        "dialect = \"postgresql\"\nschema = \"schema\"\n",
    );
    let pulled = adopted.strata(&["--database-url", &url, "pull"]);
    pulled.expect_code(0);
    assert!(
        pulled.stdout().contains("Wrote schema/"),
        "{}",
        pulled.stdout()
    );
    // The pulled files describe the live database exactly ...
    assert_matches_schema(&adopted, &url);
    // ... and build it from nothing.
    let other = strata_testkit::database();
    let other_url = other.url();
    adopted
        .strata(&["--database-url", &other_url, "push", "--yes"])
        .expect_code(0);
    assert_matches_schema(&adopted, &other_url);
    assert_eq!(table_count(&other), 8);
    assert_eq!(
        other.value("SELECT count(*) FROM pg_trigger WHERE tgname = 'users_touch'"),
        "1"
    );

    // The adoption path: a baseline migration marked applied on the live
    // database, then migrations as usual.
    adopted
        .strata(&["--database-url", &url, "generate", "--name", "baseline"])
        .expect_code(0);
    adopted
        .strata(&["--database-url", &url, "mark-applied", "0000_baseline"])
        .expect_code(0);
    let status = adopted
        .strata(&["--database-url", &url, "status", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(status["pending"], json!([]));
    assert_eq!(status["drift"], json!([]));
    // A fresh database gets the same schema from the baseline.
    let fresh = strata_testkit::database();
    let fresh_url = fresh.url();
    adopted
        .strata(&["--database-url", &fresh_url, "migrate"])
        .expect_code(0);
    assert_matches_schema(&adopted, &fresh_url);
}

#[test]
fn bad_migration_folders_say_what_and_where() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    project.write(
        "strata.toml",
        "dialect = \"postgresql\"\nschema = \"schema\"\n",
    );
    project.write("schema/a.sql", "CREATE TABLE a (id int PRIMARY KEY);\n");
    project
        .strata(&["--database-url", &url, "generate", "--name", "a"])
        .expect_code(0);
    let journal_text = project.read("drizzle/meta/_journal.json");

    project.write("drizzle/meta/_journal.json", "{ \"entries\": [ oops ] }");
    let broken = project.strata(&["--database-url", &url, "migrate"]);
    broken.expect_code(1);
    assert!(
        broken.stderr().contains("_journal.json"),
        "{}",
        broken.stderr()
    );

    project.write("drizzle/meta/_journal.json", &journal_text);
    std::fs::remove_file(project.dir.join("drizzle/0000_a.sql")).expect("rm");
    let missing = project.strata(&["--database-url", &url, "migrate"]);
    missing.expect_code(1);
    assert!(
        missing.stderr().contains("0000_a.sql"),
        "{}",
        missing.stderr()
    );
    assert_eq!(
        db.value("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        "0"
    );
}

#[test]
fn migrate_backup_dumps_the_database_first_when_something_is_pending() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    project.write(
        "strata.toml",
        "dialect = \"postgresql\"\nschema = \"schema\"\n",
    );
    project.write("schema/a.sql", "CREATE TABLE a (id int PRIMARY KEY);\n");
    project
        .strata(&["--database-url", &url, "generate", "--name", "a"])
        .expect_code(0);
    db.execute("CREATE TABLE precious (v text); INSERT INTO precious VALUES ('keep me')");
    let run = project.strata(&["--database-url", &url, "migrate", "--backup"]);
    run.expect_code(0);
    assert!(
        run.stderr().contains("Backup written to"),
        "{}",
        run.stderr()
    );
    let backups: Vec<_> = std::fs::read_dir(project.dir.join(".strata/backups"))
        .expect("backups folder")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    // A custom-format dump of the database as it was before the migration.
    let dump = std::fs::read(&backups[0]).expect("read dump");
    assert!(
        dump.starts_with(b"PGDMP"),
        "not a pg_dump custom-format file"
    );
    assert!(
        dump.windows(b"precious".len()).any(|w| w == b"precious"),
        "the dump has the table"
    );
    assert_eq!(tracking_rows(&db).len(), 1);

    // Nothing pending: no backup.
    let again = project.strata(&["--database-url", &url, "migrate", "--backup"]);
    again.expect_code(0);
    assert!(
        again.stderr().contains("no backup taken"),
        "{}",
        again.stderr()
    );
    assert_eq!(
        std::fs::read_dir(project.dir.join(".strata/backups"))
            .expect("backups folder")
            .count(),
        1
    );
}
