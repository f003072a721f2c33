//! The pair property on hand-picked changes, rebuilds above all.

use crate::support::{TempDir, open, push_and_check, value};

const USERS: &str = "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL UNIQUE, name text);\n\
    CREATE TABLE posts (id integer PRIMARY KEY, user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE, title text);\n\
    CREATE INDEX posts_user_idx ON posts (user_id);\n";

fn check(current: &str, desired: &str, renames: &[&str], rebuild: bool) -> crate::support::Pushed {
    let pushed = push_and_check(current, desired, renames, true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        pushed.rebuilt(),
        rebuild,
        "rebuild expected: {rebuild}; plan:\n{}",
        pushed.statements.join(";\n")
    );
    pushed
}

#[test]
fn alter_table_where_sqlite_can() {
    let pushed = check(
        USERS,
        &format!(
            "{USERS}ALTER TABLE users ADD COLUMN bio text;\nALTER TABLE users ADD COLUMN score integer NOT NULL DEFAULT 0;"
        ),
        &[],
        false,
    );
    assert_eq!(pushed.rows_kept, 2);
    // Dropping a column nothing refers to is an ALTER TABLE too.
    check(USERS, &USERS.replace(", name text", ""), &[], false);
    // Renames.
    check(
        USERS,
        &USERS.replace("name text", "full_name text"),
        &["users.name=full_name"],
        false,
    );
    let renamed = USERS
        .replace("TABLE posts", "TABLE articles")
        .replace("ON posts", "ON articles");
    check(USERS, &renamed, &["posts=articles"], false);
}

#[test]
fn renaming_key_columns_and_changing_case_is_no_rebuild() {
    // A renamed primary-key or UNIQUE column, and the foreign keys that
    // point at it: SQLite's RENAME COLUMN rewrites them all.
    check(
        USERS,
        &USERS
            .replace(
                "id integer PRIMARY KEY, email",
                "uid integer PRIMARY KEY, email",
            )
            .replace("REFERENCES users (id)", "REFERENCES users (uid)"),
        &["users.id=uid"],
        false,
    );
    check(
        USERS,
        &USERS.replace("email text NOT NULL UNIQUE", "mail text NOT NULL UNIQUE"),
        &["users.email=mail"],
        false,
    );
    // A column spelled in another case is the same column to SQLite: it
    // is renamed (no flag needed), not dropped and added or rebuilt.
    let upper = "CREATE TABLE Accounts (ID integer PRIMARY KEY, Code text UNIQUE, name text);\n\
        CREATE TABLE entries (id integer PRIMARY KEY, Account_ID integer REFERENCES accounts (id), note text);\n\
        CREATE INDEX entries_account_idx ON entries (Account_ID);\n";
    let lower = "CREATE TABLE accounts (id integer PRIMARY KEY, code text UNIQUE, name text);\n\
        CREATE TABLE entries (id integer PRIMARY KEY, account_id integer REFERENCES Accounts (ID), note text);\n\
        CREATE INDEX entries_account_idx ON entries (account_id);\n";
    let pushed = check(upper, lower, &[], false);
    assert_eq!(pushed.rows_kept, 2);
    check(lower, upper, &[], false);
    // A REFERENCES clause spelled in another case changes nothing.
    check(
        upper,
        &upper.replace("accounts (id)", "ACCOUNTS (Id)"),
        &[],
        false,
    );
}

#[test]
fn rebuilds_keep_rows_indexes_and_children() {
    // A type, a NOT NULL, a default: each rebuilds `users`, whose
    // `posts` rows (ON DELETE CASCADE) must survive the DROP TABLE.
    for desired in [
        USERS.replace("name text", "name varchar(80)"),
        USERS.replace("name text", "name text NOT NULL DEFAULT ''"),
        USERS.replace("name text", "name text DEFAULT 'anonymous'"),
        USERS.replace("name text)", "name text, CHECK (length(email) > 1))"),
        USERS.replace("email text NOT NULL UNIQUE", "email text NOT NULL"),
        USERS.replace("name text);", "name text) STRICT;"),
    ] {
        let pushed = check(USERS, &desired, &[], true);
        assert_eq!(pushed.rows_kept, 2, "{desired}");
    }
    // A column only a dropped index used goes with ALTER TABLE; a column
    // that turns NOT NULL rebuilds, and the table's indexes come back.
    let indexed = format!("{USERS}CREATE INDEX posts_title_idx ON posts (title);");
    check(
        &indexed,
        USERS.replace(", title text", "").as_str(),
        &[],
        false,
    );
    check(
        &indexed,
        &format!(
            "{}CREATE INDEX posts_user_title_idx ON posts (user_id, title);",
            USERS.replace("title text", "title text NOT NULL DEFAULT 'x'")
        ),
        &[],
        true,
    );
}

#[test]
fn a_new_foreign_key_on_a_table_with_rows() {
    let current = "CREATE TABLE users (id integer PRIMARY KEY, email text);\nCREATE TABLE posts (id integer PRIMARY KEY, user_id integer);";
    let desired = "CREATE TABLE users (id integer PRIMARY KEY, email text);\nCREATE TABLE posts (id integer PRIMARY KEY, user_id integer REFERENCES users (id));";
    let pushed = check(current, desired, &[], true);
    assert_eq!(pushed.rows_kept, 2);
}

#[test]
fn triggers_views_and_autoincrement_survive_a_rebuild() {
    let current = "CREATE TABLE users (id integer PRIMARY KEY AUTOINCREMENT, email text);\n\
        CREATE TABLE audit (msg text);\n\
        CREATE TRIGGER users_audit AFTER INSERT ON users BEGIN INSERT INTO audit VALUES ('new ' || new.email); END;\n\
        CREATE VIEW user_emails AS SELECT id, email FROM users;";
    let desired = current.replace("email text)", "email text NOT NULL DEFAULT '')");
    let dir = TempDir::new();
    // The pair property, with rows.
    check(current, &desired, &[], true);
    // And the high-water mark of AUTOINCREMENT: ids are never handed out twice.
    let path = dir.path("app.db");
    let mut conn = open(&path);
    conn.execute(current).unwrap();
    conn.execute(
        "INSERT INTO users (email) VALUES ('a'), ('b'), ('c'); DELETE FROM users WHERE id = 3;",
    )
    .unwrap();
    let mut settings_files = crate::support::files(&desired);
    settings_files[0].path = "schema.sql".into();
    let scope = strata::sqlite::scope(crate::support::TRACKING);
    let current_catalog = conn.introspect().unwrap();
    let (wanted, source) = strata::sqlite::desired_state(&settings_files).unwrap();
    let plan = strata::sqlite::plan_between(
        &mut conn,
        current_catalog,
        wanted,
        source,
        &scope,
        &[],
        &mut strata_diff::NoRenames,
    )
    .unwrap();
    strata::sqlite::apply_push(&mut conn, &plan, &mut ()).unwrap();
    conn.execute("INSERT INTO users (email) VALUES ('d')")
        .unwrap();
    assert_eq!(value(&mut conn, "SELECT max(id) FROM users"), "4");
    assert_eq!(value(&mut conn, "SELECT count(*) FROM audit"), "4");
    assert_eq!(value(&mut conn, "SELECT count(*) FROM user_emails"), "3");
}

#[test]
fn a_violated_foreign_key_fails_the_apply_and_keeps_nothing() {
    let dir = TempDir::new();
    let path = dir.path("app.db");
    let mut conn = open(&path);
    conn.execute(
        "CREATE TABLE users (id integer PRIMARY KEY);\nCREATE TABLE posts (id integer PRIMARY KEY, user_id integer);\nINSERT INTO posts VALUES (1, 42);",
    )
    .unwrap();
    let files = crate::support::files(
        "CREATE TABLE users (id integer PRIMARY KEY);\nCREATE TABLE posts (id integer PRIMARY KEY, user_id integer REFERENCES users (id));",
    );
    let settings = strata::config::resolve(
        &strata::config::Inputs {
            cwd: dir.0.clone(),
            database_url: Some("sqlite:app.db".into()),
            ..strata::config::Inputs::default()
        },
        None,
        strata::config::Config::default(),
    )
    .unwrap();
    let plan = strata::sqlite::plan_push(
        &settings,
        &mut conn,
        &files,
        &strata::push::PushOptions::default(),
        &mut strata_diff::NoRenames,
        &mut (),
    )
    .unwrap();
    assert!(plan.statements.iter().any(|s| {
        s.hazards
            .iter()
            .any(|h| h.message.contains("foreign_key_check"))
    }));
    let error = strata::sqlite::apply_push(&mut conn, &plan, &mut ()).unwrap_err();
    assert!(
        error.to_string().contains("foreign keys are violated"),
        "{error}"
    );
    // Nothing was kept, and foreign keys are on again.
    let sql = value(
        &mut conn,
        "SELECT sql FROM sqlite_schema WHERE name = 'posts'",
    );
    assert!(!sql.contains("REFERENCES"), "{sql}");
    assert_eq!(value(&mut conn, "SELECT count(*) FROM posts"), "1");
    assert!(conn.foreign_keys_enabled().unwrap());
}

#[test]
fn schema_file_errors_name_file_and_line() {
    let error = strata::sqlite::desired_state(&[strata_postgres::SourceFile {
        path: "schema/app.sql".into(),
        text: "CREATE TABLE a (id integer);\n\nCREATE TABLE b (id integer REFERENCES);\n".into(),
    }])
    .unwrap_err();
    assert!(error.to_string().contains("schema/app.sql:3"), "{error}");
}

#[test]
fn a_changed_view_keeps_its_instead_of_triggers() {
    let current = "CREATE TABLE t (id integer PRIMARY KEY, x text, y text);\n\
        CREATE VIEW v AS SELECT id, x FROM t;\n\
        CREATE TRIGGER v_ins INSTEAD OF INSERT ON v BEGIN INSERT INTO t (id, x) VALUES (new.id, new.x); END;\n\
        CREATE TRIGGER v_del INSTEAD OF DELETE ON v BEGIN DELETE FROM t WHERE id = old.id; END;";
    // SQLite drops a view's triggers with it: a view created again gets
    // them back, changed or not.
    let wider = current.replace("SELECT id, x FROM t", "SELECT id, x, y FROM t");
    check(current, &wider, &[], false);
    check(
        current,
        &wider.replace("VALUES (new.id, new.x)", "VALUES (new.id, upper(new.x))"),
        &[],
        false,
    );
    check(
        current,
        &current.replace("SELECT id, x FROM t", "SELECT x, id FROM t"),
        &[],
        false,
    );
}
