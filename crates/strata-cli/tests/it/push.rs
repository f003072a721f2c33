use crate::support::{Project, table_count};

#[test]
fn push_creates_the_example_app_then_plans_nothing() {
    let db = strata_testkit::database();
    let project = Project::abe_stack();
    let url = db.url();
    let run = project.strata(&["--database-url", &url, "push"]);
    run.expect_code(0);
    assert!(
        run.stdout()
            .contains("Applied 26 statements in 1 transaction"),
        "{}",
        run.stdout()
    );
    assert_eq!(table_count(&db), 8);
    assert_eq!(
        db.value("SELECT count(*) FROM pg_constraint WHERE contype = 'f'"),
        "6"
    );
    assert_eq!(
        db.value("SELECT count(*) FROM pg_type WHERE typtype = 'e'"),
        "4"
    );

    let again = project.strata(&["--database-url", &url, "push"]);
    again.expect_code(0);
    assert_eq!(
        again.stdout().trim(),
        "No changes: the database matches the schema files."
    );

    let json = project.strata(&["--database-url", &url, "push", "--json"]);
    json.expect_code(0);
    let value = json.json();
    assert_eq!(value["statements"], serde_json::json!([]));
    assert_eq!(value["applied"], false);
    // Even when the desired state comes from scratch again.
    let refreshed = project.strata(&["--database-url", &url, "push", "--json", "--refresh"]);
    assert_eq!(
        refreshed.expect_code(0).json()["statements"],
        serde_json::json!([])
    );
}

#[test]
fn data_loss_is_refused_without_consent_and_nothing_is_applied() {
    let db = strata_testkit::database();
    let project = Project::abe_stack();
    let url = db.url();
    project
        .strata(&["--database-url", &url, "push"])
        .expect_code(0);
    db.execute("INSERT INTO users (email) VALUES ('a@example.com'); INSERT INTO push_subscriptions (user_id, endpoint, p256dh_key, auth_key) SELECT id, 'https://push.example/1', 'k', 'a' FROM users");
    // Drop the notifications tables and add a column elsewhere.
    project.write("schema/notifications.sql", "-- moved elsewhere\n");
    let auth = project.read("schema/auth.sql").replace(
        "    avatar_url text,",
        "    avatar_url text,\n    locale text NOT NULL DEFAULT 'en',",
    );
    project.write("schema/auth.sql", &auth);

    let refused = project.strata(&["--database-url", &url, "push"]);
    refused.expect_code(3);
    assert!(
        refused
            .stderr()
            .contains("refusing to run 2 statement(s) that destroy data"),
        "{}",
        refused.stderr()
    );
    assert!(
        refused
            .stdout()
            .contains("deletes table `public.push_subscriptions` and all its rows (1 row)"),
        "{}",
        refused.stdout()
    );
    assert_eq!(table_count(&db), 8);
    assert_eq!(
        db.value("SELECT count(*) FROM information_schema.columns WHERE column_name = 'locale'"),
        "0"
    );

    let json = project.strata(&["--database-url", &url, "push", "--json"]);
    json.expect_code(3);
    assert_eq!(json.json()["refused"], "data-loss");

    project
        .strata(&["--database-url", &url, "push", "--accept-data-loss"])
        .expect_code(0);
    assert_eq!(table_count(&db), 6);
    assert_eq!(db.value("SELECT locale FROM users"), "en");
}

#[test]
fn dry_run_prints_the_sql_and_changes_nothing() {
    let db = strata_testkit::database();
    let project = Project::abe_stack();
    let run = project.strata(&["--database-url", &db.url(), "push", "--dry-run"]);
    run.expect_code(0);
    let stdout = run.stdout();
    assert!(stdout.starts_with("CREATE TYPE public."), "{stdout}");
    assert!(stdout.contains("CREATE TABLE public.users (\n"));
    assert_eq!(stdout.lines().filter(|l| l.ends_with(';')).count(), 26);
    assert_eq!(table_count(&db), 0);
}

#[test]
fn json_lists_statements_with_their_hazards() {
    let db = strata_testkit::database();
    db.execute(
        "CREATE TABLE users (id bigint PRIMARY KEY, name text); INSERT INTO users VALUES (1, 'x');",
    );
    let project = Project::empty();
    project.write("schema.sql", "CREATE TABLE users (id bigint PRIMARY KEY, name varchar(10) NOT NULL);\nCREATE INDEX users_name ON users (name);");
    let run = project.strata(&[
        "--database-url",
        &db.url(),
        "--schema",
        "schema.sql",
        "push",
        "--json",
        "--dry-run",
    ]);
    let value = run.expect_code(0).json();
    let statements = value["statements"].as_array().expect("statements");
    let summary: Vec<(String, Vec<String>)> = statements
        .iter()
        .map(|s| {
            let ids = s["hazards"]
                .as_array()
                .expect("hazards")
                .iter()
                .map(|h| h["id"].as_str().expect("id").to_owned())
                .collect();
            (s["sql"].as_str().expect("sql").to_owned(), ids)
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "ALTER TABLE public.users ALTER COLUMN name TYPE character varying(10)".to_owned(),
                vec!["type-change-may-fail".to_owned()]
            ),
            (
                "ALTER TABLE public.users ALTER COLUMN name SET NOT NULL".to_owned(),
                vec!["validating-scan".to_owned()]
            ),
            (
                "CREATE INDEX users_name ON public.users USING btree (name)".to_owned(),
                vec!["blocking-index-build".to_owned()]
            ),
        ]
    );
    let hazard = &statements[1]["hazards"][0];
    assert_eq!(hazard["severity"], "warning");
    assert!(hazard["help"].as_str().expect("help").contains("NOT VALID"));
}

#[test]
fn renames_come_from_flags() {
    let db = strata_testkit::database();
    db.execute(
        "CREATE TABLE users (id int PRIMARY KEY, name text); INSERT INTO users VALUES (1, 'Ada');",
    );
    let project = Project::empty();
    project.write(
        "schema.sql",
        "CREATE TABLE accounts (id int PRIMARY KEY, full_name text);",
    );
    let url = db.url();
    let without = project.strata(&["--database-url", &url, "--schema", "schema.sql", "push"]);
    without.expect_code(3);
    assert!(
        without.stderr().contains("pass --rename users=accounts"),
        "{}",
        without.stderr()
    );
    let run = project.strata(&[
        "--database-url",
        &url,
        "--schema",
        "schema.sql",
        "push",
        "--rename",
        "users=accounts",
        "--rename",
        "accounts.name=full_name",
    ]);
    run.expect_code(0);
    assert_eq!(
        db.value("SELECT full_name FROM accounts WHERE id = 1"),
        "Ada"
    );
    let bad = project.strata(&[
        "--database-url",
        &url,
        "--schema",
        "schema.sql",
        "push",
        "--rename",
        "nosuch=x",
    ]);
    bad.expect_code(1);
    assert!(
        bad.stderr().contains("invalid rename `nosuch=x`"),
        "{}",
        bad.stderr()
    );
}

#[test]
fn a_broken_schema_file_names_file_and_line_and_nothing_is_applied() {
    let db = strata_testkit::database();
    let project = Project::abe_stack();
    let security = project
        .read("schema/security.sql")
        .replace("    email text,", "    email txet,");
    project.write("schema/security.sql", &security);
    let run = project.strata(&["--database-url", &db.url(), "push"]);
    run.expect_code(1);
    let stderr = run.stderr();
    assert!(
        stderr.contains("schema file schema/security.sql:8: type \"txet\" does not exist"),
        "{stderr}"
    );
    assert_eq!(table_count(&db), 0);

    // A table defined twice is the files' fault, not the database's.
    project.write("schema/security.sql", "CREATE TABLE users (id int);\n");
    let run = project.strata(&["--database-url", &db.url(), "push"]);
    run.expect_code(1);
    let stderr = run.stderr();
    assert!(
        stderr.contains("schema/security.sql:1: relation \"users\" already exists"),
        "{stderr}"
    );
    assert!(stderr.contains("define it twice"), "{stderr}");
    assert!(!stderr.contains("changes strata did not make"), "{stderr}");
    assert_eq!(table_count(&db), 0);
}

#[test]
fn an_unknown_config_key_is_named() {
    let project = Project::empty();
    project.write(
        "strata.toml",
        "dialect = \"postgresql\"\nshema = \"schema\"\n",
    );
    let run = project.strata(&["push"]);
    run.expect_code(1);
    assert!(
        run.stderr().contains("unknown field `shema`"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("strata.toml"), "{}", run.stderr());
}

#[test]
fn a_malformed_url_is_explained_without_the_password() {
    let project = Project::abe_stack();
    let run = project.strata(&[
        "--database-url",
        "postgres://app:hunter2@db.example.com:54x2/app",
        "push",
    ]);
    run.expect_code(1);
    let stderr = run.stderr();
    assert!(stderr.contains("port `54x2` is not a number"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    let run = project.strata_env(&["push"], &[("DATABASE_URL", "mysql://app:hunter2@h/db")]);
    run.expect_code(1);
    assert!(
        run.stderr().starts_with("error: DATABASE_URL: "),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains("hunter2"));
}

#[test]
fn an_unreachable_server_gets_a_hint() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let project = Project::abe_stack();
    let url = format!("postgres://app:hunter2@127.0.0.1:{port}/app");
    let run = project.strata(&["--database-url", &url, "push"]);
    run.expect_code(1);
    let stderr = run.stderr();
    assert!(
        stderr.contains("could not connect to postgres://app:***@127.0.0.1"),
        "{stderr}"
    );
    assert!(stderr.contains("is PostgreSQL running"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn a_wrong_password_is_refused_with_a_hint_and_never_printed() {
    let (_cluster, info) = strata_testkit::password_cluster("right-horse-battery");
    let project = Project::abe_stack();
    let mut wrong = info.clone();
    wrong.password = Some("wrong-staple-guess".to_owned());
    let run = project.strata(&["--database-url", &wrong.to_url_with_password(), "push"]);
    run.expect_code(1);
    let all = format!("{}{}", run.stdout(), run.stderr());
    assert!(all.contains("password authentication failed"), "{all}");
    assert!(all.contains("check the user and password"), "{all}");
    assert!(
        !all.contains("wrong-staple-guess") && !all.contains("right-horse-battery"),
        "{all}"
    );
    // The right password through the POSTGRES_* variables works.
    let port = info.port.to_string();
    let run = project.strata_env(
        &["push", "--dry-run"],
        &[
            ("POSTGRES_HOST", "127.0.0.1"),
            ("POSTGRES_PORT", &port),
            ("POSTGRES_DB", "postgres"),
            ("POSTGRES_PASSWORD", "right-horse-battery"),
        ],
    );
    run.expect_code(0);
    assert!(
        !run.stdout().contains("right-horse-battery")
            && !run.stderr().contains("right-horse-battery")
    );
}

#[test]
fn the_database_comes_from_dotenv_when_nothing_else_names_it() {
    let db = strata_testkit::database();
    let project = Project::abe_stack();
    project.write(
        ".env",
        &format!("# local settings\nDATABASE_URL={}\n", db.url()),
    );
    project.strata(&["push"]).expect_code(0);
    assert_eq!(table_count(&db), 8);
}

#[test]
fn usage_errors_exit_2() {
    let project = Project::empty();
    project.strata(&["push", "--no-such-flag"]).expect_code(2);
    project.strata(&["frobnicate"]).expect_code(2);
    // Malformed values are usage errors too, caught before anything connects.
    let rename = project.strata(&["push", "--rename", "users.name"]);
    rename.expect_code(2);
    assert!(rename.stderr().contains("--rename"), "{}", rename.stderr());
    project
        .strata(&["generate", "--rename", "a.b.c.d=e"])
        .expect_code(2);
    project
        .strata(&["migrate", "--lock-timeout", "soon"])
        .expect_code(2);
    let help = project.strata(&["push", "--help"]);
    help.expect_code(0);
    assert!(help.stdout().contains("--accept-data-loss"));
}

#[test]
fn missing_schema_files_say_how_to_configure_them() {
    let project = Project::empty();
    let run = project.strata(&[
        "--database-url",
        "postgres://postgres@127.0.0.1:1/x",
        "push",
    ]);
    run.expect_code(1);
    assert!(
        run.stderr().contains("no schema files are configured"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("--schema"), "{}", run.stderr());
}

/// A terminal session (through `script`, which gives the command a pty):
/// strata asks whether a column was renamed and whether to apply.
#[test]
fn on_a_terminal_renames_are_asked_for() {
    assert!(
        std::process::Command::new("script")
            .arg("--version")
            .output()
            .is_ok(),
        "`script` (util-linux) is needed for the terminal test"
    );
    let db = strata_testkit::database();
    db.execute(
        "CREATE TABLE users (id int PRIMARY KEY, name text); INSERT INTO users VALUES (1, 'Ada');",
    );
    let project = Project::empty();
    project.write(
        "schema.sql",
        "CREATE TABLE users (id int PRIMARY KEY, display_name text);",
    );
    let command = format!(
        "{} --color never --database-url '{}' --schema schema.sql push",
        env!("CARGO_BIN_EXE_strata"),
        db.url()
    );
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf '2\\ny\\n' | script -qec \"{command}\" /dev/null"
        ))
        .current_dir(&project.dir)
        .output()
        .expect("run script");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(
            "Is column display_name in table public.users new, or renamed from another column?"
        ),
        "{text}"
    );
    assert!(
        text.contains("RENAME COLUMN name TO display_name"),
        "{text}"
    );
    assert!(text.contains("Applied 1 statement"), "{text}");
    assert_eq!(db.value("SELECT display_name FROM users"), "Ada");
}

#[test]
fn a_missing_database_says_how_to_create_it() {
    let db = strata_testkit::database();
    let mut info = db.info().clone();
    info.dbname = "no_such_database".to_owned();
    let project = Project::abe_stack();
    let run = project.strata(&["--database-url", &info.to_url_with_password(), "push"]);
    run.expect_code(1);
    let stderr = run.stderr();
    assert!(
        stderr.contains("database \"no_such_database\" does not exist"),
        "{stderr}"
    );
    assert!(stderr.contains("createdb"), "{stderr}");
}

#[test]
fn a_small_plan_does_not_claim_the_lock_table_split_it() {
    // An enum value (outside any transaction) and an online plan's phases
    // are separate transactions by design, not because of the lock table.
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    project.write("strata.toml", "schema = \"schema\"\n");
    project.write(
        "schema/a.sql",
        "CREATE TYPE role AS ENUM ('user'); CREATE TABLE t (id int PRIMARY KEY, name text, r role);",
    );
    project
        .strata(&["--database-url", &url, "push"])
        .expect_code(0);
    project.write(
        "schema/a.sql",
        "CREATE TYPE role AS ENUM ('user', 'admin'); CREATE TABLE t (id int PRIMARY KEY, full_name text, r role);",
    );
    let run = project.strata(&[
        "--database-url",
        &url,
        "push",
        "--rename",
        "t.name=full_name",
    ]);
    run.expect_code(0);
    assert!(!run.stdout().contains("lock table"), "{}", run.stdout());
    project.write(
        "schema/a.sql",
        "CREATE TYPE role AS ENUM ('user', 'admin'); CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL, r role);",
    );
    let run = project.strata(&[
        "--database-url",
        &url,
        "push",
        "--online",
        "--rename",
        "t.full_name=name",
    ]);
    run.expect_code(0);
    assert!(run.stdout().contains("validate"), "{}", run.stdout());
    assert!(!run.stdout().contains("lock table"), "{}", run.stdout());
}

#[test]
fn push_online_makes_a_renamed_or_retyped_column_not_null_once_and_on_the_copy() {
    // A rename that also becomes NOT NULL added its check twice (the
    // transaction failed); a retyped column took the old column's
    // nullability, so the result differed from the schema files.
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    project.write("strata.toml", "schema = \"schema\"\n");
    project.write(
        "schema/a.sql",
        "CREATE TABLE t (id int PRIMARY KEY, full_name text, n int, m int NOT NULL);",
    );
    project
        .strata(&["--database-url", &url, "push"])
        .expect_code(0);
    db.execute("INSERT INTO t VALUES (1, 'a', 2, 3)");
    project.write(
        "schema/a.sql",
        "CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL, n bigint NOT NULL, m bigint);",
    );
    project
        .strata(&[
            "--database-url",
            &url,
            "push",
            "--online",
            "--rename",
            "t.full_name=name",
        ])
        .expect_code(0);
    assert_eq!(
        db.value("SELECT string_agg(format('%s %s %s', attname, format_type(atttypid, atttypmod), attnotnull), ', ' ORDER BY attname) FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0 AND NOT attisdropped"),
        "id integer t, m bigint f, n bigint t, name text t"
    );
    assert_eq!(
        db.value("SELECT format('%s %s %s', name, n, m) FROM t"),
        "a 2 3"
    );
    let again = project.strata(&["--database-url", &url, "push"]);
    assert!(
        again.expect_code(0).stdout().contains("No changes"),
        "{}",
        again.stdout()
    );
}
