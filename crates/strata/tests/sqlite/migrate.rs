//! Migrations on SQLite: generate, migrate, status, rollback.

use std::path::Path;

use strata::Settings;
use strata::migrate::{Folder, GenerateOptions, MigrateOptions, RollbackTarget};
use strata_diff::NoRenames;
use strata_model::Catalog;

use crate::support::{TRACKING, TempDir, catalog, files, open, push_and_check, value};

const V1: &str = "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL UNIQUE, name text);\n\
    CREATE TABLE posts (id integer PRIMARY KEY, user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE, title text);\n\
    CREATE INDEX posts_user_idx ON posts (user_id);\n";

/// STRICT and NOT NULL (a rebuild of a parent with cascading children), a
/// type change, a new
/// table, a view and a trigger.
const V2: &str = "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL DEFAULT '') STRICT;\n\
    CREATE TABLE posts (id integer PRIMARY KEY, user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE, title varchar(200), published integer NOT NULL DEFAULT 0);\n\
    CREATE INDEX posts_user_idx ON posts (user_id);\n\
    CREATE TABLE tags (id integer PRIMARY KEY, post_id integer REFERENCES posts (id), label text NOT NULL);\n\
    CREATE VIEW published AS SELECT id, title FROM posts WHERE published = 1;\n\
    CREATE TRIGGER posts_tag AFTER INSERT ON posts BEGIN INSERT INTO tags (post_id, label) VALUES (new.id, 'new'); END;\n";

fn settings(dir: &Path) -> Settings {
    strata::config::resolve(
        &strata::config::Inputs {
            cwd: dir.to_owned(),
            database_url: Some("sqlite:app.db".into()),
            ..strata::config::Inputs::default()
        },
        None,
        strata::config::Config::default(),
    )
    .unwrap()
}

fn generate(settings: &Settings, schema: &str, name: &str) -> usize {
    let folder = Folder::read(&settings.migrations_dir, &settings.root).unwrap();
    let options = GenerateOptions {
        name: Some(name.to_owned()),
        ..GenerateOptions::default()
    };
    let generated = strata::sqlite::generate(
        settings,
        &folder,
        &files(schema),
        &options,
        &mut NoRenames,
        &mut (),
    )
    .unwrap();
    strata::sqlite::write_generated(&folder, &generated).unwrap();
    generated.statements.len()
}

fn folder(settings: &Settings) -> Folder {
    Folder::read(&settings.migrations_dir, &settings.root).unwrap()
}

fn read(path: &Path) -> Catalog {
    let mut conn = open(path);
    let mut catalog = conn.introspect().unwrap();
    strata::sqlite::scope(TRACKING).restrict(&mut catalog);
    catalog
}

fn same(a: &Catalog, b: &Catalog) -> bool {
    strata_diff::diff(a, b, &[], &mut NoRenames)
        .unwrap()
        .is_empty()
        && strata_diff::diff(b, a, &[], &mut NoRenames)
            .unwrap()
            .is_empty()
}

#[test]
fn generate_then_migrate_from_empty_equals_push() {
    let dir = TempDir::new();
    let settings = settings(&dir.0);
    assert_eq!(generate(&settings, V1, "init"), 3);
    assert!(generate(&settings, V2, "v2") > 0);
    let folder = folder(&settings);
    assert_eq!(folder.migrations.len(), 2);
    let journal = std::fs::read_to_string(dir.path("drizzle/meta/_journal.json")).unwrap();
    assert!(journal.contains("\"dialect\": \"sqlite\""), "{journal}");
    let snapshot = std::fs::read_to_string(dir.path("drizzle/meta/0001_snapshot.json")).unwrap();
    let snapshot: serde_json::Value = serde_json::from_str(&snapshot).unwrap();
    assert_eq!(snapshot["version"], "6");
    assert!(
        snapshot["tables"]["tags"]["foreignKeys"]
            .as_object()
            .unwrap()
            .len()
            == 1
    );
    // Nothing more to generate.
    let again = strata::sqlite::generate(
        &settings,
        &folder,
        &files(V2),
        &GenerateOptions::default(),
        &mut NoRenames,
        &mut (),
    )
    .unwrap();
    assert!(again.is_empty(), "{:?}", again.statements);

    let migrated = dir.path("migrated.db");
    let mut conn = open(&migrated);
    let report = strata::sqlite::migrate(
        &mut conn,
        &folder,
        TRACKING,
        &MigrateOptions::default(),
        &mut (),
    )
    .unwrap();
    assert_eq!(report.applied.len(), 2);
    // drizzle's tracking table: id left NULL, the file's sha256, the journal's `when`.
    let rows = conn
        .query_text(&format!(
            "SELECT id, hash, created_at FROM {TRACKING} ORDER BY created_at"
        ))
        .unwrap();
    assert_eq!(rows.len(), 2);
    for (row, migration) in rows.iter().zip(&folder.migrations) {
        assert_eq!(row[0], None);
        assert_eq!(row[1].as_deref(), Some(migration.hash.as_str()));
        assert_eq!(row[2].as_deref(), Some(migration.when.to_string().as_str()));
    }
    let report = strata::sqlite::migrate(
        &mut conn,
        &folder,
        TRACKING,
        &MigrateOptions::default(),
        &mut (),
    )
    .unwrap();
    assert!(report.applied.is_empty());
    drop(conn);

    let pushed = dir.path("pushed.db");
    let mut conn = open(&pushed);
    let (wanted, source) = strata::sqlite::desired_state(&files(V2)).unwrap();
    let current = conn.introspect().unwrap();
    let plan = strata::sqlite::plan_between(
        &mut conn,
        current,
        wanted.clone(),
        source,
        &strata::sqlite::scope(TRACKING),
        &[],
        &mut NoRenames,
    )
    .unwrap();
    strata::sqlite::apply_push(&mut conn, &plan, &mut ()).unwrap();
    drop(conn);
    assert!(same(&read(&migrated), &read(&pushed)));
    assert_eq!(read(&migrated), read(&pushed));
    assert!(same(&read(&migrated), &wanted));
}

#[test]
fn migrate_keeps_rows_through_a_rebuild_and_rolls_back() {
    let dir = TempDir::new();
    let settings = settings(&dir.0);
    generate(&settings, V1, "init");
    let path = dir.path("app.db");
    let mut conn = open(&path);
    strata::sqlite::migrate(
        &mut conn,
        &folder(&settings),
        TRACKING,
        &MigrateOptions::default(),
        &mut (),
    )
    .unwrap();
    conn.execute("INSERT INTO users (id, email, name) VALUES (1, 'a@x', 'A'), (2, 'b@x', NULL); INSERT INTO posts VALUES (1, 1, 'one'), (2, 2, 'two');")
        .unwrap();
    generate(&settings, V2, "v2");
    let sql = folder(&settings).migrations[1].sql.clone();
    assert!(
        sql.starts_with("-- info[non-transactional]") || sql.contains("PRAGMA foreign_keys = OFF"),
        "{sql}"
    );
    assert!(sql.contains("__strata_new_users"), "{sql}");
    // NULL names become '' only if the plan says so: it does not, so the
    // copy fails and nothing is kept.
    let error = strata::sqlite::migrate(
        &mut conn,
        &folder(&settings),
        TRACKING,
        &MigrateOptions::default(),
        &mut (),
    )
    .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("migration `0001_v2` failed at drizzle/0001_v2.sql:"),
        "{message}"
    );
    assert!(message.contains("NOT NULL"), "{message}");
    assert!(
        message.contains("nothing of it was applied") && message.contains("at `0000_init`"),
        "{message}"
    );
    assert_eq!(
        value(&mut conn, &format!("SELECT count(*) FROM {TRACKING}")),
        "1"
    );
    assert!(same(&read(&path), &catalog(V1).unwrap()));
    conn.execute("UPDATE users SET name = 'B' WHERE id = 2")
        .unwrap();
    strata::sqlite::migrate(
        &mut conn,
        &folder(&settings),
        TRACKING,
        &MigrateOptions::default(),
        &mut (),
    )
    .unwrap();
    assert_eq!(value(&mut conn, "SELECT count(*) FROM posts"), "2");
    assert_eq!(
        value(&mut conn, "SELECT group_concat(name) FROM users"),
        "A,B"
    );
    assert!(conn.foreign_key_violations().unwrap().is_empty());
    let status = strata::sqlite::status(&mut conn, &folder(&settings), TRACKING, true).unwrap();
    assert!(status.is_clean() && status.drift_checked, "{status:?}");
    // Drift: a change made by hand shows.
    conn.execute("CREATE INDEX by_hand ON tags (label)")
        .unwrap();
    let status = strata::sqlite::status(&mut conn, &folder(&settings), TRACKING, true).unwrap();
    assert_eq!(status.drift.len(), 1, "{:?}", status.drift);
    conn.execute("DROP INDEX by_hand").unwrap();

    let done = strata::sqlite::rollback(
        &mut conn,
        &folder(&settings),
        TRACKING,
        RollbackTarget::Steps(1),
        &mut (),
    )
    .unwrap();
    assert_eq!(done, ["0001_v2"]);
    assert!(same(&read(&path), &catalog(V1).unwrap()));
    assert_eq!(value(&mut conn, "SELECT count(*) FROM posts"), "2");
    let status = strata::sqlite::status(&mut conn, &folder(&settings), TRACKING, true).unwrap();
    assert_eq!((status.applied.len(), status.pending.len()), (1, 1));
    assert!(status.drift.is_empty());
}

#[test]
fn edited_migrations_are_refused() {
    let dir = TempDir::new();
    let settings = settings(&dir.0);
    generate(&settings, V1, "init");
    let path = dir.path("app.db");
    let mut conn = open(&path);
    strata::sqlite::migrate(
        &mut conn,
        &folder(&settings),
        TRACKING,
        &MigrateOptions::default(),
        &mut (),
    )
    .unwrap();
    let file = folder(&settings).migrations[0].path.clone();
    let file = dir.0.join(file);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}\n-- edited")).unwrap();
    let error = strata::sqlite::migrate(
        &mut conn,
        &folder(&settings),
        TRACKING,
        &MigrateOptions::default(),
        &mut (),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("changed since they ran: 0000_init"),
        "{error}"
    );
}

#[test]
fn pair_property_holds_for_the_migration_schemas() {
    push_and_check(V1, V2, &[], true).unwrap();
    push_and_check(V2, V1, &[], true).unwrap();
}

#[test]
fn concurrent_migrate_runs_apply_each_migration_once_and_all_succeed() {
    for _ in 0..3 {
        let dir = TempDir::new();
        let settings = settings(&dir.0);
        generate(&settings, V1, "init");
        // A slow data migration widens the window between reading the
        // tracking table and taking the write lock.
        let folder_now = folder(&settings);
        let options = GenerateOptions {
            name: Some("fill".to_owned()),
            custom: true,
            ..GenerateOptions::default()
        };
        let custom = strata::sqlite::generate(
            &settings,
            &folder_now,
            &files(V1),
            &options,
            &mut NoRenames,
            &mut (),
        )
        .unwrap();
        let written = strata::sqlite::write_generated(&folder_now, &custom).unwrap();
        let script = written
            .iter()
            .find(|p| !p.to_string_lossy().ends_with("_rollback.sql"))
            .unwrap();
        std::fs::write(
            script,
            "INSERT INTO users (email, name) VALUES ('once@x', 'x');\n--> statement-breakpoint\nSELECT count(*) FROM (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 300000) SELECT n FROM c);",
        )
        .unwrap();
        generate(&settings, V2, "v2");
        let folder = folder(&settings);
        let path = dir.path("app.db");
        let results: Vec<Result<usize, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        let mut conn = open(&path);
                        strata::sqlite::migrate(
                            &mut conn,
                            &folder,
                            TRACKING,
                            &MigrateOptions::default(),
                            &mut (),
                        )
                        .map(|r| r.applied.len())
                        .map_err(|e| e.to_string())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let applied: usize = results
            .iter()
            .map(|r| {
                *r.as_ref()
                    .unwrap_or_else(|e| panic!("a migrate failed: {e}"))
            })
            .sum();
        assert_eq!(applied, 3, "{results:?}");
        let mut conn = open(&path);
        assert_eq!(
            value(&mut conn, &format!("SELECT count(*) FROM {TRACKING}")),
            "3"
        );
        assert_eq!(value(&mut conn, "SELECT count(*) FROM users"), "1");
    }
}

#[test]
fn migrate_waits_for_a_write_lock_held_longer_than_the_busy_timeout() {
    let dir = TempDir::new();
    let settings = settings(&dir.0);
    generate(&settings, V1, "init");
    let path = dir.path("app.db");
    let mut holder = open(&path);
    holder.execute("BEGIN IMMEDIATE").unwrap();
    let folder = folder(&settings);
    let result = std::thread::scope(|s| {
        let migrating = s.spawn(|| {
            let mut conn = open(&path);
            strata::sqlite::migrate(
                &mut conn,
                &folder,
                TRACKING,
                &MigrateOptions::default(),
                &mut (),
            )
            .map(|r| r.applied.len())
            .map_err(|e| e.to_string())
        });
        // Longer than the 5-second busy timeout of other statements.
        std::thread::sleep(strata_sqlite::BUSY_TIMEOUT + std::time::Duration::from_secs(1));
        holder.execute("COMMIT").unwrap();
        migrating.join().unwrap()
    });
    assert_eq!(result, Ok(1));
}

#[test]
fn a_migration_whose_foreign_keys_fail_the_check_keeps_nothing_and_says_so() {
    let dir = TempDir::new();
    let settings = settings(&dir.0);
    let v1 = "CREATE TABLE users (id integer PRIMARY KEY);\nCREATE TABLE posts (id integer PRIMARY KEY, user_id integer);\n";
    generate(&settings, v1, "init");
    let path = dir.path("app.db");
    let mut conn = open(&path);
    let run = |conn: &mut strata_sqlite::Connection| {
        strata::sqlite::migrate(
            conn,
            &folder(&settings),
            TRACKING,
            &MigrateOptions::default(),
            &mut (),
        )
    };
    run(&mut conn).unwrap();
    conn.execute("INSERT INTO users VALUES (1); INSERT INTO posts VALUES (1, 1), (2, 99);")
        .unwrap();
    generate(
        &settings,
        &v1.replace("user_id integer)", "user_id integer REFERENCES users (id))"),
        "fk",
    );
    let message = run(&mut conn).unwrap_err().to_string();
    assert!(
        message.starts_with("migration `0001_fk` failed in drizzle/0001_fk.sql before COMMIT: foreign keys are violated: `posts` row 2 references a missing `users` row"),
        "{message}"
    );
    assert_eq!(
        value(&mut conn, &format!("SELECT count(*) FROM {TRACKING}")),
        "1"
    );
    assert_eq!(value(&mut conn, "SELECT count(*) FROM posts"), "2");
    assert!(conn.foreign_keys_enabled().unwrap());
}

#[test]
fn snapshots_spell_defaults_and_unnamed_constraints_as_drizzle_kit() {
    // drizzle-kit diffs its next `generate` against the last snapshot:
    // anything spelled otherwise than its own serializer would is a
    // phantom change (a table rebuild) in the user's next migration.
    let dir = TempDir::new();
    let settings = settings(&dir.0);
    generate(
        &settings,
        "CREATE TABLE users (id integer PRIMARY KEY AUTOINCREMENT, email text NOT NULL, created integer NOT NULL DEFAULT (unixepoch()), score integer DEFAULT 0, ratio real DEFAULT 1.5, debt integer DEFAULT -3, active integer DEFAULT true, name text DEFAULT 'x', UNIQUE (email));\n\
         CREATE TABLE posts (id integer PRIMARY KEY, user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE, CONSTRAINT posts_own FOREIGN KEY (id) REFERENCES users (id));",
        "init",
    );
    let text = std::fs::read_to_string(dir.path("drizzle/meta/0000_snapshot.json")).unwrap();
    let snapshot: serde_json::Value = serde_json::from_str(&text).unwrap();
    let users = &snapshot["tables"]["users"];
    let default = |c: &str| users["columns"][c]["default"].clone();
    assert_eq!(default("created"), serde_json::json!("(unixepoch())"));
    assert_eq!(default("score"), serde_json::json!(0));
    assert_eq!(default("ratio"), serde_json::json!(1.5));
    assert_eq!(default("debt"), serde_json::json!(-3));
    assert_eq!(default("active"), serde_json::json!(true));
    assert_eq!(default("name"), serde_json::json!("'x'"));
    assert!(
        users["uniqueConstraints"]["users_email_unique"].is_object(),
        "{users}"
    );
    let posts = &snapshot["tables"]["posts"]["foreignKeys"];
    assert_eq!(
        posts["posts_user_id_users_id_fk"]["name"], "posts_user_id_users_id_fk",
        "{posts}"
    );
    assert!(posts["posts_own"].is_object(), "{posts}");
}
