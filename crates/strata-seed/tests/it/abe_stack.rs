use strata_seed::{Existing, SeedError, SeedOptions, load, plan};

use crate::{abe_stack_schema, count, dump, seed};

const TABLES: [&str; 8] = [
    "users",
    "sessions",
    "tokens",
    "magic_link_tokens",
    "push_subscriptions",
    "notification_preferences",
    "oauth_connections",
    "security_events",
];

#[test]
fn seeding_the_example_app_fills_every_table_with_valid_rows() {
    let db = strata_testkit::database();
    db.execute(&abe_stack_schema());
    let report = seed(
        &db,
        &SeedOptions {
            seed: 42,
            count: 200,
            ..SeedOptions::default()
        },
    );
    for table in TABLES {
        let n = count(&db, table);
        assert!(n > 0, "{table} is empty");
        if table != "notification_preferences" {
            assert_eq!(n, 200, "{table}");
        }
    }
    // One preference row per user at most (its primary key is the user).
    assert_eq!(count(&db, "notification_preferences"), 200);
    assert_eq!(report.rows(), 1600);
    // Users parents first: children point at existing users (the FKs would
    // have failed otherwise) and spread over many of them.
    let parents: u64 = db
        .value("SELECT count(DISTINCT user_id) FROM sessions")
        .parse()
        .unwrap();
    assert!(parents > 50, "{parents}");
    // Realistic values, within the checks.
    assert_eq!(db.value("SELECT count(*) FROM users WHERE email !~ '^[a-z]+\\.[a-z]+[0-9.]*@example\\.(com|org|net)$'"), "0");
    assert_eq!(
        db.value("SELECT count(*) FROM users WHERE email <> lower(email)"),
        "0"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM users WHERE failed_login_attempts < 0"),
        "0"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM magic_link_tokens WHERE expires_at <= created_at"),
        "0"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM users WHERE updated_at < created_at"),
        "0"
    );
    assert_eq!(
        db.value("SELECT count(DISTINCT role) FROM users"),
        "3",
        "every enum label appears"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM users WHERE created_at > '2025-01-01' OR created_at < '2022-12-31'"),
        "0"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM sessions WHERE expires_at < '2025-01-01'"),
        "0"
    );
    assert!(
        db.value("SELECT avatar_url FROM users WHERE avatar_url IS NOT NULL LIMIT 1")
            .starts_with("https://")
    );
    let unnamed: u64 = db
        .value("SELECT count(*) FROM users WHERE name IS NULL OR name = ''")
        .parse()
        .unwrap();
    assert!(unnamed < 60, "{unnamed} of 200 users without a name");
    assert_eq!(
        db.value("SELECT jsonb_typeof(metadata) FROM security_events LIMIT 1"),
        "object"
    );
    // Identity columns were left to the database.
    assert_eq!(db.value("SELECT min(id) FROM tokens"), "1");
}

#[test]
fn the_same_seed_gives_the_same_rows_and_another_seed_others() {
    let [a, b, c] = [(); 3].map(|()| {
        let db = strata_testkit::database();
        db.execute(&abe_stack_schema());
        db
    });
    let options = |seed| SeedOptions {
        seed,
        count: 30,
        ..SeedOptions::default()
    };
    seed(&a, &options(7));
    seed(&b, &options(7));
    seed(&c, &options(8));
    let (da, db_, dc) = (dump(&a), dump(&b), dump(&c));
    assert_eq!(da.len(), 30 * 8 + 8);
    assert!(da == db_, "seed 7 twice differs");
    assert_ne!(da, dc);
    // Different in most rows, not in one value.
    let same = da.iter().filter(|r| dc.contains(r)).count();
    assert!(same <= 8, "{same} rows equal across seeds");
}

#[test]
fn tables_with_rows_are_refused_unless_truncated_and_nothing_is_kept_on_failure() {
    let db = strata_testkit::database();
    db.execute(&abe_stack_schema());
    db.execute("INSERT INTO users (email) VALUES ('keep@example.com')");
    let mut conn = db.connect();
    let (catalog, _) = conn.introspect().unwrap();
    let options = SeedOptions {
        seed: 1,
        count: 5,
        ..SeedOptions::default()
    };
    let refused = load(&mut conn, &plan(&catalog, &options).unwrap(), &mut |_| {}).unwrap_err();
    assert!(matches!(refused, SeedError::NotEmpty { .. }), "{refused}");
    assert!(
        refused.to_string().contains("`public.users` (1 rows)"),
        "{refused}"
    );
    assert_eq!(count(&db, "users"), 1);
    assert_eq!(count(&db, "sessions"), 0);

    let truncate = SeedOptions {
        existing: Existing::Truncate,
        ..options
    };
    load(&mut conn, &plan(&catalog, &truncate).unwrap(), &mut |_| {}).unwrap();
    assert_eq!(count(&db, "users"), 5);
    assert_eq!(
        db.value("SELECT count(*) FROM users WHERE email = 'keep@example.com'"),
        "0"
    );
}

#[test]
fn progress_is_reported_per_table_in_dependency_order() {
    let db = strata_testkit::database();
    db.execute(&abe_stack_schema());
    let mut conn = db.connect();
    let (catalog, _) = conn.introspect().unwrap();
    let plan = plan(
        &catalog,
        &SeedOptions {
            seed: 3,
            count: 10,
            ..SeedOptions::default()
        },
    )
    .unwrap();
    let order: Vec<String> = plan.tables().map(|(t, _)| t.name.to_string()).collect();
    let users = order.iter().position(|t| t == "users").unwrap();
    let sessions = order.iter().position(|t| t == "sessions").unwrap();
    assert!(users < sessions, "{order:?}");
    let mut finished = Vec::new();
    load(&mut conn, &plan, &mut |p| {
        if let strata_seed::Progress::Table {
            name, done, total, ..
        } = p
            && done == total
        {
            finished.push(name.name.to_string());
        }
    })
    .unwrap();
    assert_eq!(finished, order);
}
