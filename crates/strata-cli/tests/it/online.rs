//! Online plans: `push --online` keeps a live app writing, and
//! `generate --online` writes the seed note's Deploy 1/2/3 as migrations
//! that `migrate` applies in steps.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::Project;

const V1: &str = "CREATE TABLE items (id bigint PRIMARY KEY, n int, note text);\n";
const V2: &str = "CREATE TABLE items (id bigint PRIMARY KEY, n int NOT NULL, note text);\n\
                  CREATE INDEX items_note ON items (note);\n";

fn project(db: &strata_testkit::TestDatabase, rows: u32) -> Project {
    let project = Project::empty();
    project.write(
        "strata.toml",
        "schema = \"schema.sql\"\n[migrations]\nlock_timeout = \"300ms\"\nretries = 20\n",
    );
    project.write("schema.sql", V1);
    project
        .strata(&["--database-url", &db.url(), "push", "--yes"])
        .expect_code(0);
    db.execute(&format!(
        "INSERT INTO items SELECT g, g % 1000, md5(g::text) FROM generate_series(1, {rows}) g; ANALYZE items"
    ));
    project.write("schema.sql", V2);
    project
}

/// Writes rows one statement at a time until told to stop; returns the
/// longest a statement took and how many it wrote.
fn writer(
    db: &strata_testkit::TestDatabase,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<(Duration, u64)> {
    let mut conn = db.connect();
    thread::spawn(move || {
        let (mut longest, mut written) = (Duration::ZERO, 0_u64);
        let mut id = 10_000_000_u64;
        while !stop.load(Ordering::Relaxed) {
            id += 1;
            let started = Instant::now();
            conn.execute(&format!(
                "INSERT INTO items VALUES ({id}, 1, 'w{id}'); UPDATE items SET n = n + 1 WHERE id = {}",
                id - 1
            ))
            .expect("the writer's statements succeed");
            longest = longest.max(started.elapsed());
            written += 1;
            thread::sleep(Duration::from_millis(5));
        }
        (longest, written)
    })
}

/// An app transaction that keeps a row of `items` locked (so nothing can
/// take the table's ACCESS EXCLUSIVE lock) until it has seen a statement
/// wait behind it, and for `linger` after that.
fn blocker(db: &strata_testkit::TestDatabase, linger: Duration) -> thread::JoinHandle<bool> {
    let mut conn = db.connect();
    let mut monitor = db.connect();
    thread::spawn(move || {
        let pid = conn.query_text("SELECT pg_backend_pid()").expect("pid")[0][0]
            .clone()
            .expect("a pid");
        conn.execute("BEGIN; UPDATE items SET note = note WHERE id = 1")
            .expect("lock a row");
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = false;
        while Instant::now() < deadline {
            let waiting = monitor
                .query_text(&format!(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE wait_event_type = 'Lock' AND {pid} = ANY (pg_blocking_pids(pid))"
                ))
                .expect("read pg_stat_activity");
            if waiting[0][0].as_deref() != Some("0") {
                seen = true;
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        thread::sleep(linger);
        conn.execute("COMMIT").expect("commit");
        seen
    })
}

#[test]
fn push_online_on_a_million_rows_never_blocks_a_writer_longer_than_the_lock_timeout() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = project(&db, 1_000_000);
    // The plan, and the desired state cached for the push below.
    let plan = project
        .strata(&[
            "--database-url",
            &url,
            "push",
            "--online",
            "--dry-run",
            "--json",
        ])
        .expect_code(0)
        .json();
    let sql: Vec<&str> = plan["statements"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| s["sql"].as_str().expect("sql"))
        .collect();
    assert!(
        sql.contains(
            &"CREATE INDEX CONCURRENTLY IF NOT EXISTS items_note ON public.items USING btree (note)"
        ),
        "{sql:#?}"
    );
    assert!(
        sql.iter()
            .any(|s| s.contains("CHECK ((n IS NOT NULL)) NOT VALID")
                || s.contains("CHECK (n IS NOT NULL) NOT VALID")),
        "{sql:#?}"
    );
    assert!(
        sql.iter().any(|s| s.contains("VALIDATE CONSTRAINT")),
        "{sql:#?}"
    );
    let kinds: Vec<&str> = plan["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|p| p["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["expand", "concurrent", "validate"]);

    let stop = Arc::new(AtomicBool::new(false));
    let writing = writer(&db, Arc::clone(&stop));
    // An app transaction holds its lock across two of push's lock timeouts.
    let blocking = blocker(&db, Duration::from_millis(900));
    let run = project.strata(&["--database-url", &url, "push", "--online", "--yes"]);
    stop.store(true, Ordering::Relaxed);
    let (longest, written) = writing.join().expect("writer");
    assert!(
        blocking.join().expect("blocker"),
        "push waited for a lock at least once"
    );
    run.expect_code(0);
    assert!(
        run.stderr().contains("not free within lock_timeout"),
        "push gave way to the app transaction and tried again: {}",
        run.stderr()
    );
    assert!(written > 10, "the writer kept writing ({written} rows)");
    assert!(
        longest < Duration::from_millis(300 + 600),
        "the writer waited {longest:?} at most: the lock_timeout (300 ms) plus scheduling"
    );
    // Everything is in place, and nothing is left over.
    assert_eq!(
        db.value("SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_note'::regclass"),
        "t"
    );
    assert_eq!(
        db.value("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'n'"),
        "t"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype = 'c'"),
        "0"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM items"),
        (1_000_000 + written).to_string()
    );
    let again = project
        .strata(&["--database-url", &url, "push", "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(again["statements"], serde_json::json!([]), "in sync");
}

/// The same change without `--online` makes the writer queue behind the
/// ALTER TABLE for as long as the app transaction lasts: what the online
/// test above rules out.
#[test]
fn push_without_online_makes_the_writer_wait_behind_its_lock() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = project(&db, 1_000);
    project
        .strata(&["--database-url", &url, "push", "--dry-run"])
        .expect_code(0);
    let stop = Arc::new(AtomicBool::new(false));
    let writing = writer(&db, Arc::clone(&stop));
    let blocking = blocker(&db, Duration::from_millis(1500));
    let run = project.strata(&["--database-url", &url, "push", "--yes"]);
    stop.store(true, Ordering::Relaxed);
    let (longest, _) = writing.join().expect("writer");
    assert!(blocking.join().expect("blocker"));
    run.expect_code(0);
    assert!(
        longest > Duration::from_secs(1),
        "the writer queued behind the ALTER TABLE ({longest:?})"
    );
}

#[test]
fn generate_online_writes_expand_and_contract_steps_that_migrate_applies_in_turn() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    project.write(
        "strata.toml",
        "schema = \"schema.sql\"\nout = \"drizzle\"\n",
    );
    project.write(
        "schema.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, full_name text, email text);\n\
         CREATE INDEX users_full_name ON users (full_name);\n",
    );
    project
        .strata(&["generate", "--name", "init"])
        .expect_code(0);
    project
        .strata(&["--database-url", &url, "migrate"])
        .expect_code(0);
    db.execute(
        "INSERT INTO users SELECT g, 'name ' || g, 'u' || g || '@example.com' FROM generate_series(1, 25000) g",
    );
    // Deploy 1/2/3 of a rename, an index and a NOT NULL.
    project.write(
        "schema.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, display_name text, email text NOT NULL);\n\
         CREATE INDEX users_full_name ON users (display_name);\n\
         CREATE INDEX users_email ON users (email);\n",
    );
    let run = project.strata(&[
        "generate",
        "--online",
        "--name",
        "rename_name",
        "--rename",
        "users.full_name=display_name",
    ]);
    run.expect_code(0);
    let files: Vec<String> = {
        let mut names: Vec<String> = std::fs::read_dir(project.dir.join("drizzle"))
            .expect("folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n.rsplit_once('.')
                    .is_some_and(|(stem, ext)| ext == "sql" && !stem.ends_with("_rollback"))
            })
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        files,
        [
            "0000_init.sql",
            "0001_rename_name.sql",
            "0002_rename_name_concurrently.sql",
            "0003_rename_name_validate.sql",
            "0004_rename_name_contract.sql",
        ],
        "{}",
        run.stdout()
    );
    let concurrent = project.read("drizzle/0002_rename_name_concurrently.sql");
    assert!(
        concurrent.starts_with("-- strata:no-transaction\n"),
        "{concurrent}"
    );
    assert!(
        concurrent.contains("CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email"),
        "{concurrent}"
    );
    let contract = project.read("drizzle/0004_rename_name_contract.sql");
    assert!(contract.starts_with("-- strata:contract\n"), "{contract}");
    assert!(contract.contains("DROP COLUMN full_name"), "{contract}");
    // strata's own review finds nothing above a warning in them.
    let check = project.strata(&["--database-url", &url, "check", "--json"]);
    let findings = check.json();
    let serious: Vec<&serde_json::Value> = findings["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| {
            f["severity"] == "error"
                || (f["severity"] == "warning"
                    && f["file"] != "drizzle/0004_rename_name_contract.sql")
        })
        .collect();
    assert!(serious.is_empty(), "{serious:#?}");
    check.expect_code(0);

    // Deploy 1: everything but the contract step.
    let first = project.strata(&["--database-url", &url, "migrate", "--json"]);
    first.expect_code(0);
    let report = first.json();
    assert_eq!(report["applied"].as_array().expect("applied").len(), 3);
    assert_eq!(report["held"], "0004_rename_name_contract");
    // The old app writes the old name, the new app the new one: both see
    // the same data.
    db.execute(
        "INSERT INTO users (id, full_name, email) VALUES (100001, 'old app', 'old@example.com')",
    );
    db.execute(
        "INSERT INTO users (id, display_name, email) VALUES (100002, 'new app', 'new@example.com')",
    );
    db.execute("UPDATE users SET full_name = 'renamed by the old app' WHERE id = 7");
    assert_eq!(
        db.value("SELECT display_name FROM users WHERE id = 100001"),
        "old app"
    );
    assert_eq!(
        db.value("SELECT full_name FROM users WHERE id = 100002"),
        "new app"
    );
    assert_eq!(
        db.value("SELECT display_name FROM users WHERE id = 7"),
        "renamed by the old app"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM users WHERE display_name IS DISTINCT FROM full_name"),
        "0",
        "the backfill copied every row"
    );
    let status = project
        .strata(&["--database-url", &url, "status", "--no-drift"])
        .expect_code(0)
        .stdout();
    assert!(
        status.contains("0004_rename_name_contract  pending, a contract step"),
        "{status}"
    );
    // Running migrate again holds at the same place.
    let again = project
        .strata(&["--database-url", &url, "migrate", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(again["applied"], serde_json::json!([]));
    assert_eq!(again["held"], "0004_rename_name_contract");

    // Deploy 3: the contract step.
    project
        .strata(&["--database-url", &url, "migrate", "--contract"])
        .expect_code(0);
    assert_eq!(
        db.value("SELECT display_name FROM users WHERE id = 7"),
        "renamed by the old app"
    );
    assert_eq!(db.value("SELECT count(*) FROM users"), "25002");
    // The result is what the schema files describe.
    let plan = project
        .strata(&["--database-url", &url, "push", "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(plan["statements"], serde_json::json!([]), "no drift");
    assert!(
        project
            .strata(&["generate"])
            .expect_code(0)
            .stdout()
            .contains("No changes"),
        "the snapshots follow the steps"
    );
    // And every step rolls back, to the start.
    project
        .strata(&["--database-url", &url, "rollback", "--steps", "4", "--yes"])
        .expect_code(0);
    assert_eq!(
        db.column(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attname"
        ),
        [Some("email".to_owned()), Some("full_name".to_owned()), Some("id".to_owned())]
    );
    assert_eq!(
        db.value("SELECT full_name FROM users WHERE id = 7"),
        "renamed by the old app",
        "the rollback kept the values"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM users WHERE full_name IS NULL"),
        "0"
    );
    assert_eq!(
        db.value("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email'"),
        "f"
    );
}

/// Forms with no concurrent variant stay as they are, and the plan still
/// applies and converges: indexes of a partitioned table, keys with
/// INCLUDE, deferrable keys, a foreign key over a key built concurrently,
/// and a dropped index whose name a new table's index takes.
#[test]
fn push_online_keeps_forms_without_a_concurrent_variant_and_converges() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    project.write("strata.toml", "schema = \"schema.sql\"\n");
    project.write(
        "schema.sql",
        "CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, kind text) PARTITION BY RANGE (at);\n\
         CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n\
         CREATE INDEX events_kind ON events (kind);\n\
         CREATE TABLE accounts (id bigint PRIMARY KEY, email text, handle text, plan text, code text);\n\
         CREATE INDEX shared_name ON accounts (plan);\n",
    );
    project
        .strata(&["--database-url", &url, "push", "--yes"])
        .expect_code(0);
    db.execute(
        "INSERT INTO events VALUES (1, '2026-05-01', 'a');
         INSERT INTO accounts SELECT g, 'a' || g || '@example.com', 'h' || g, 'free', 'c' || g FROM generate_series(1, 1000) g;",
    );
    project.write(
        "schema.sql",
        "CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, kind text) PARTITION BY RANGE (at);\n\
         CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n\
         CREATE TABLE accounts (id bigint PRIMARY KEY, email text, handle text, plan text, code text,\n\
           CONSTRAINT accounts_email_key UNIQUE (email) INCLUDE (plan),\n\
           CONSTRAINT accounts_handle_key UNIQUE (handle) DEFERRABLE INITIALLY DEFERRED,\n\
           CONSTRAINT accounts_code_key UNIQUE (code));\n\
         CREATE TABLE plans (id bigint PRIMARY KEY, handle text REFERENCES accounts (code));\n\
         CREATE INDEX shared_name ON plans (handle);\n",
    );
    let run = project.strata(&["--database-url", &url, "push", "--online", "--yes"]);
    run.expect_code(0);
    let plan = project
        .strata(&["--database-url", &url, "push", "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(
        plan["statements"],
        serde_json::json!([]),
        "{}",
        run.stdout()
    );
    assert_eq!(db.value("SELECT count(*) FROM accounts"), "1000");
    assert_eq!(
        db.value("SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = 'shared_name'::regclass"),
        "plans"
    );
    assert!(
        run.stdout()
            .contains("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS accounts_handle_key"),
        "{}",
        run.stdout()
    );
}

/// An online plan that fails between its phases says what is kept and
/// prints the rest of the plan, which finishes the change once the cause
/// is fixed.
#[test]
fn a_failed_online_push_keeps_what_ran_and_prints_the_rest() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    project.write("strata.toml", "schema = \"schema.sql\"\n");
    project.write(
        "schema.sql",
        "CREATE TABLE items (id bigint PRIMARY KEY, n int);\n",
    );
    project
        .strata(&["--database-url", &url, "push", "--yes"])
        .expect_code(0);
    db.execute("INSERT INTO items SELECT g, CASE WHEN g = 7 THEN NULL ELSE g END FROM generate_series(1, 100) g");
    project.write(
        "schema.sql",
        "CREATE TABLE items (id bigint PRIMARY KEY, n int NOT NULL);\nCREATE INDEX items_n ON items (n);\n",
    );
    let run = project.strata(&["--database-url", &url, "push", "--online", "--yes"]);
    run.expect_code(1);
    let stderr = run.stderr();
    assert!(stderr.contains("VALIDATE CONSTRAINT"), "{stderr}");
    assert!(
        stderr.contains("the online plan stopped between its phases"),
        "{stderr}"
    );
    // The expand and concurrent phases are kept: the check and the index.
    assert_eq!(
        db.value("SELECT count(*) FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype = 'c'"),
        "1"
    );
    assert_eq!(
        db.value("SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_n'::regclass"),
        "t"
    );
    // Fix the data, run the rest as printed: the change is complete.
    db.execute("UPDATE items SET n = 0 WHERE n IS NULL");
    let rest: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.contains("the online plan stopped between its phases"))
        .skip(1)
        .take_while(|l| l.ends_with(';'))
        .collect();
    assert!(!rest.is_empty(), "{stderr}");
    db.execute(&rest.join("\n"));
    let plan = project
        .strata(&["--database-url", &url, "push", "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(plan["statements"], serde_json::json!([]));
}
