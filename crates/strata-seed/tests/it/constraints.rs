use strata_seed::{FixedData, SeedConfig, SeedOptions, load, plan};

use crate::{count, seed};

fn options(count: u64) -> SeedOptions {
    SeedOptions {
        seed: 11,
        count,
        ..SeedOptions::default()
    }
}

#[test]
fn checks_uniques_and_types_are_respected() {
    let db = strata_testkit::database();
    db.execute(
        "CREATE TYPE mood AS ENUM ('happy', 'sad', 'ok');
         CREATE DOMAIN percent AS integer CHECK (VALUE >= 0 AND VALUE <= 100);
         CREATE TABLE products (
             id serial PRIMARY KEY,
             sku varchar(12) NOT NULL UNIQUE,
             name text NOT NULL,
             price numeric(8,2) NOT NULL CHECK (price > 0 AND price < 50),
             stock integer NOT NULL CHECK (stock BETWEEN 10 AND 20),
             status text NOT NULL CHECK (status IN ('draft', 'live')),
             code char(3) NOT NULL CHECK (code = upper(code)),
             short_name text NOT NULL CHECK (char_length(short_name) <= 4),
             discount percent NOT NULL,
             mood mood NOT NULL,
             moods mood[] NOT NULL,
             tags text[],
             starts_on date NOT NULL,
             ends_on date NOT NULL,
             opens time NOT NULL,
             ratio real,
             weight double precision,
             big bigint NOT NULL UNIQUE,
             small smallint NOT NULL,
             flag boolean NOT NULL,
             doc json NOT NULL,
             raw bytea,
             net cidr,
             mac macaddr,
             wait interval,
             total numeric GENERATED ALWAYS AS (price * stock) STORED,
             CHECK (ends_on > starts_on)
         );
         CREATE TABLE pairs (
             a mood NOT NULL,
             b boolean NOT NULL,
             UNIQUE (a, b)
         );",
    );
    seed(&db, &options(300));
    assert_eq!(count(&db, "products"), 300);
    assert_eq!(db.value("SELECT count(DISTINCT sku) FROM products"), "300");
    assert_eq!(db.value("SELECT count(DISTINCT big) FROM products"), "300");
    assert_eq!(db.value("SELECT count(DISTINCT status) FROM products"), "2");
    assert_eq!(
        db.value("SELECT min(stock) >= 10 AND max(stock) <= 20 FROM products"),
        "t"
    );
    // 3 × 2 combinations only: the rest are given up, not failed.
    assert_eq!(count(&db, "pairs"), 6);
}

#[test]
fn foreign_keys_self_references_and_cycles() {
    let db = strata_testkit::database();
    db.execute(
        "CREATE TABLE teams (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, captain_id uuid);
         CREATE TABLE people (
             id uuid PRIMARY KEY,
             team_id bigint NOT NULL REFERENCES teams,
             manager_id uuid REFERENCES people,
             email text NOT NULL UNIQUE
         );
         ALTER TABLE teams ADD FOREIGN KEY (captain_id) REFERENCES people;
         CREATE TABLE profiles (person_id uuid PRIMARY KEY REFERENCES people, bio text);
         CREATE TABLE memberships (
             person_id uuid NOT NULL REFERENCES people,
             team_id bigint NOT NULL REFERENCES teams,
             PRIMARY KEY (person_id, team_id)
         );",
    );
    let mut conn = db.connect();
    let (catalog, _) = conn.introspect().unwrap();
    let plan = plan(&catalog, &options(50)).unwrap();
    assert!(
        plan.warnings().iter().any(|w| w.contains("captain_id")),
        "{:?}",
        plan.warnings()
    );
    load(&mut conn, &plan, &mut |_| {}).unwrap();
    assert_eq!(count(&db, "people"), 50);
    assert_ne!(
        db.value("SELECT count(*) FROM people WHERE manager_id IS NOT NULL"),
        "0"
    );
    assert_eq!(count(&db, "profiles"), 50);
    assert!(count(&db, "memberships") > 40);
    assert_eq!(
        db.value("SELECT count(*) FROM teams WHERE captain_id IS NOT NULL"),
        "0"
    );
}

#[test]
fn configured_counts_generators_and_fixed_files() {
    let db = strata_testkit::database();
    db.execute(
        "CREATE TABLE countries (code char(2) PRIMARY KEY, name text NOT NULL);
         CREATE TABLE users (
             id serial PRIMARY KEY,
             country char(2) NOT NULL REFERENCES countries,
             nickname text NOT NULL,
             level integer NOT NULL,
             joined timestamptz NOT NULL,
             note text DEFAULT 'n/a'
         );
         CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);",
    );
    let config: SeedConfig = toml_like();
    let mut conn = db.connect();
    let (catalog, _) = conn.introspect().unwrap();
    let options = SeedOptions {
        config,
        fixed: vec![
            FixedData::Csv {
                path: "countries.csv".into(),
                table: strata_model::QualifiedName::new("public", "countries"),
                text: "code,name\nFR,France\nJP,Japan\n".into(),
            },
            FixedData::Sql {
                path: "settings.sql".into(),
                text: "INSERT INTO settings VALUES ('theme', 'dark');".into(),
            },
        ],
        ..options(10)
    };
    let plan = plan(&catalog, &options).unwrap();
    load(&mut conn, &plan, &mut |_| {}).unwrap();
    assert_eq!(count(&db, "countries"), 2);
    assert_eq!(count(&db, "users"), 25);
    assert_eq!(count(&db, "settings"), 1, "the table was given count 0");
    assert_eq!(
        db.value("SELECT count(DISTINCT nickname) FROM users WHERE nickname IN ('ace', 'bee')"),
        "2"
    );
    assert_eq!(
        db.value("SELECT min(level) >= 3 AND max(level) <= 4 FROM users"),
        "t"
    );
    assert_eq!(
        db.value("SELECT min(joined) >= '2020-01-01' AND max(joined) <= '2020-12-31' FROM users"),
        "t"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM users WHERE note = 'n/a'"),
        "25"
    );
    assert_eq!(db.value("SELECT count(DISTINCT country) FROM users"), "2");
}

/// The configuration as strata.toml would give it.
fn toml_like() -> SeedConfig {
    let mut config = SeedConfig::default();
    let mut users = strata_seed::TableConfig {
        count: Some(25),
        ..Default::default()
    };
    users.columns.insert(
        "nickname".into(),
        strata_seed::ColumnConfig {
            values: Some(vec![
                strata_seed::Literal::Text("ace".into()),
                strata_seed::Literal::Text("bee".into()),
            ]),
            ..Default::default()
        },
    );
    users.columns.insert(
        "level".into(),
        strata_seed::ColumnConfig {
            min: Some(strata_seed::Literal::Int(3)),
            max: Some(strata_seed::Literal::Int(4)),
            ..Default::default()
        },
    );
    users.columns.insert(
        "joined".into(),
        strata_seed::ColumnConfig {
            min: Some(strata_seed::Literal::Text("2020-01-01".into())),
            max: Some(strata_seed::Literal::Text("2020-12-31".into())),
            ..Default::default()
        },
    );
    users.columns.insert(
        "note".into(),
        strata_seed::ColumnConfig {
            generator: Some("default".into()),
            ..Default::default()
        },
    );
    config.tables.insert("users".into(), users);
    config.tables.insert(
        "settings".into(),
        strata_seed::TableConfig {
            count: Some(0),
            ..Default::default()
        },
    );
    config
}

#[test]
fn unique_indexes_on_expressions_and_partial_ones() {
    let db = strata_testkit::database();
    db.execute(
        "CREATE TABLE accounts (
             id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
             email text NOT NULL,
             handle varchar(8) NOT NULL,
             deleted_at timestamptz
         );
         CREATE UNIQUE INDEX accounts_email ON accounts (lower(email)) WHERE deleted_at IS NULL;
         CREATE UNIQUE INDEX accounts_handle ON accounts (handle);",
    );
    seed(&db, &options(500));
    assert_eq!(count(&db, "accounts"), 500);
    assert_eq!(
        db.value("SELECT count(DISTINCT lower(email)) FROM accounts"),
        "500"
    );
    // The predicate's column keeps its realistic NULLs.
    assert_ne!(
        db.value("SELECT count(*) FROM accounts WHERE deleted_at IS NULL"),
        "0"
    );
    assert_eq!(
        db.value("SELECT max(length(handle)) <= 8 FROM accounts"),
        "t"
    );
}
