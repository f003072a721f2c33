//! `embed_migrations!` and `Migrator`: an app applies its migrations at
//! start-up with the same runner as `strata migrate`.

use std::sync::{Arc, Barrier};

use strata::migrate::{EmbeddedMigrations, MigrateError, Migrator};

static MIGRATIONS: EmbeddedMigrations = strata::embed_migrations!("tests/fixtures/embedded");
static MIGRATIONS_V1: EmbeddedMigrations = strata::embed_migrations!("tests/fixtures/embedded-v1");

fn recorded(db: &strata_testkit::TestDatabase) -> Vec<Option<String>> {
    db.column("SELECT hash || ':' || created_at FROM drizzle.__drizzle_migrations ORDER BY id")
}

#[test]
fn embedded_migrations_are_the_files_compiled_in() {
    let tags: Vec<&str> = MIGRATIONS.migrations().iter().map(|m| m.tag).collect();
    assert_eq!(tags, ["0000_init", "0001_orders"]);
    let first = &MIGRATIONS.migrations()[0];
    assert_eq!(first.when, Some(1_764_000_000_000));
    assert_eq!(first.path, "tests/fixtures/embedded/0000_init.sql");
    assert_eq!(
        first.sql,
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/embedded/0000_init.sql"
        ))
        .unwrap()
    );
    assert_eq!(first.rollback, Some("DROP TABLE \"customers\";\n"));
    // drizzle-kit 1.0's layout: the folder name's timestamp is the `when`.
    let folder = MIGRATIONS_V1.folder().unwrap();
    assert_eq!(folder.migrations[0].tag, "20261101120000_init");
    assert_eq!(folder.migrations[0].when, 1_793_534_400_000);
    assert_eq!(folder.migrations[0].rollback, None);
    assert!(folder.migrations[1].rollback.is_some());
}

#[test]
fn an_app_applies_its_embedded_migrations_once_and_tracks_them_like_drizzle() {
    let db = strata_testkit::database();
    let mut conn = db.connect();
    let report = MIGRATIONS.run(&mut conn).unwrap();
    let applied: Vec<&str> = report.applied.iter().map(|a| a.tag.as_str()).collect();
    assert_eq!(applied, ["0000_init", "0001_orders"]);
    assert_eq!(
        db.value("SELECT count(*) FROM pg_constraint WHERE conname = 'orders_customer_id_fk'"),
        "1"
    );
    // drizzle's rows: sha256 of the text and the journal's when.
    let rows = recorded(&db);
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0].as_deref().unwrap().ends_with(":1764000000000"),
        "{rows:?}"
    );
    // A restart applies nothing.
    let again = MIGRATIONS.run(&mut conn).unwrap();
    assert!(again.applied.is_empty());
    assert_eq!(again.already_applied, 2);
    let status = MIGRATIONS.migrator().unwrap().status(&mut conn).unwrap();
    assert_eq!(status.applied.len(), 2);
    assert!(status.pending.is_empty());
    // The same runner: rollback scripts are embedded too.
    let undone = MIGRATIONS
        .migrator()
        .unwrap()
        .rollback(&mut conn, 1)
        .unwrap();
    assert_eq!(undone, ["0001_orders"]);
    assert_eq!(
        db.value("SELECT count(*) FROM pg_tables WHERE tablename = 'orders'"),
        "0"
    );
    assert_eq!(recorded(&db).len(), 1);
}

#[test]
fn instances_starting_at_once_apply_each_migration_exactly_once() {
    let db = strata_testkit::database();
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let info = db.info().clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut conn = strata::Connection::connect(&info).unwrap();
                barrier.wait();
                MIGRATIONS.run(&mut conn).unwrap().applied.len()
            })
        })
        .collect();
    let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(total, 2);
    assert_eq!(recorded(&db).len(), 2);
}

#[test]
fn an_embedded_migration_edited_after_it_ran_is_refused() {
    let db = strata_testkit::database();
    let mut conn = db.connect();
    MIGRATIONS_V1.run(&mut conn).unwrap();
    db.execute("UPDATE drizzle.__drizzle_migrations SET hash = 'different' WHERE id = 1");
    let error = MIGRATIONS_V1.run(&mut conn).unwrap_err();
    assert!(matches!(error, MigrateError::Edited { .. }), "{error}");
    assert!(error.to_string().contains("20261101120000_init"), "{error}");
}

#[test]
fn a_migrator_reads_a_folder_at_run_time_with_its_own_tracking_table() {
    let db = strata_testkit::database();
    let mut conn = db.connect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/embedded");
    let migrator = Migrator::from_dir(&dir)
        .unwrap()
        .tracking_table("ops", "schema_history");
    assert_eq!(migrator.run(&mut conn).unwrap().applied.len(), 2);
    assert_eq!(db.value("SELECT count(*) FROM ops.schema_history"), "2");
    assert_eq!(
        db.value("SELECT count(*) FROM pg_tables WHERE schemaname = 'drizzle'"),
        "0"
    );
}
