//! `strata seed`, `bootstrap`, `bootstrap admin`, `backup` and `restore`.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::support::Project;

/// A database with the example app's schema pushed into it.
fn pushed() -> (strata_testkit::TestDatabase, Project, String) {
    let db = strata_testkit::database();
    let project = Project::abe_stack();
    let url = db.url();
    project
        .strata(&["--database-url", &url, "push", "--yes"])
        .expect_code(0);
    (db, project, url)
}

fn rows(db: &strata_testkit::TestDatabase, table: &str) -> u64 {
    db.value(&format!("SELECT count(*) FROM {table}"))
        .parse()
        .expect("a count")
}

/// Every row of the example app's tables, as text.
fn contents(db: &strata_testkit::TestDatabase) -> Vec<Option<String>> {
    db.column(
        "SELECT string_agg(t, E'\\n' ORDER BY t) FROM (
           SELECT u::text AS t FROM users u UNION ALL SELECT s::text FROM sessions s
           UNION ALL SELECT o::text FROM oauth_connections o UNION ALL SELECT e::text FROM security_events e
         ) all_rows",
    )
}

#[test]
fn seed_fills_every_table_prints_its_seed_and_repeats_itself() {
    let (db, project, url) = pushed();
    let run = project.strata(&["--database-url", &url, "seed"]);
    run.expect_code(0);
    assert!(run.stdout().contains("with seed 42"), "{}", run.stdout());
    for table in ["users", "sessions", "tokens", "security_events"] {
        assert_eq!(rows(&db, table), 20, "{table}");
    }
    let first = contents(&db);
    // Tables with rows are refused, then emptied on request: same rows.
    let again = project.strata(&["--database-url", &url, "seed"]);
    again.expect_code(1);
    assert!(
        again.stderr().contains("already hold rows"),
        "{}",
        again.stderr()
    );
    assert!(again.stderr().contains("--truncate"), "{}", again.stderr());
    project
        .strata(&["--database-url", &url, "seed", "--truncate"])
        .expect_code(0);
    assert_eq!(contents(&db), first);
    // Another seed, another count, as JSON.
    let json = project
        .strata(&[
            "--database-url",
            &url,
            "seed",
            "--truncate",
            "--seed",
            "7",
            "--count",
            "5",
            "--json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(json["seed"], 7);
    assert_eq!(json["rows"], 40);
    assert_ne!(contents(&db), first);
    assert_eq!(rows(&db, "users"), 5);
}

#[test]
fn seed_settings_come_from_strata_toml() {
    let (db, project, url) = pushed();
    let config = project.read("strata.toml");
    project.write(
        "strata.toml",
        &format!(
            "{config}\n[seed]\nseed = 9\ncount = 3\nfiles = [\"seed/users.csv\"]\n\n[seed.tables.users]\ncount = 4\ncolumns.name = {{ values = [\"Ada\", \"Grace\"] }}\n\n[seed.tables.security_events]\ncount = 0\n"
        ),
    );
    project.write(
        "seed/users.csv",
        "email,name\nfixed@example.com,Fixed Person\n",
    );
    let run = project.strata(&["--database-url", &url, "seed"]);
    run.expect_code(0);
    assert!(run.stdout().contains("with seed 9"), "{}", run.stdout());
    assert_eq!(rows(&db, "users"), 5, "1 from the CSV file and 4 generated");
    assert_eq!(rows(&db, "sessions"), 3);
    assert_eq!(rows(&db, "security_events"), 0);
    assert_eq!(
        db.value("SELECT count(*) FROM users WHERE name NOT IN ('Ada', 'Grace', 'Fixed Person')"),
        "0"
    );
    // An unknown key in [seed] is named.
    project.write("strata.toml", &format!("{config}\n[seed]\ncuont = 3\n"));
    let bad = project.strata(&["--database-url", &url, "seed"]);
    bad.expect_code(1);
    assert!(bad.stderr().contains("cuont"), "{}", bad.stderr());
}

#[test]
fn development_commands_refuse_production_even_with_force_flags_and_keep_everything() {
    let (db, project, url) = pushed();
    project
        .strata(&["--database-url", &url, "seed"])
        .expect_code(0);
    let before = contents(&db);
    let run = project.strata_env(
        &["--database-url", &url, "seed", "--truncate", "--yes"],
        &[("STRATA_ENV", "production")],
    );
    run.expect_code(3);
    assert!(
        run.stderr().contains("marked production"),
        "{}",
        run.stderr()
    );
    let config = project.read("strata.toml");
    project.write("strata.toml", &format!("production = true\n{config}"));
    project
        .strata(&["--database-url", &url, "seed", "--truncate"])
        .expect_code(3);
    assert_eq!(contents(&db), before);
}

#[test]
fn bootstrap_files_apply_once_each() {
    let (db, project, url) = pushed();
    project.write(
        "bootstrap/0001_system_user.sql",
        "INSERT INTO users (email, role) VALUES ('system@example.com', 'moderator');",
    );
    let run = project.strata(&["--database-url", &url, "bootstrap"]);
    run.expect_code(0);
    assert!(
        run.stdout()
            .contains("applied  bootstrap/0001_system_user.sql"),
        "{}",
        run.stdout()
    );
    project.write(
        "bootstrap/0002_more.sql",
        "INSERT INTO users (email) VALUES ('ops@example.com');",
    );
    let json = project
        .strata(&["--database-url", &url, "bootstrap", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(
        json["applied"],
        serde_json::json!(["bootstrap/0002_more.sql"])
    );
    assert_eq!(
        json["already"],
        serde_json::json!(["bootstrap/0001_system_user.sql"])
    );
    assert_eq!(rows(&db, "users"), 2);
    assert_eq!(rows(&db, "drizzle.__strata_bootstrap"), 2);
    // An edited file is not run again, and says so.
    project.write(
        "bootstrap/0001_system_user.sql",
        "INSERT INTO users (email) VALUES ('x@example.com');",
    );
    let edited = project.strata(&["--database-url", &url, "bootstrap"]);
    edited.expect_code(0);
    assert!(
        edited.stderr().contains("changed since it was applied"),
        "{}",
        edited.stderr()
    );
    assert_eq!(rows(&db, "users"), 2);
    // A failing file is not recorded and keeps nothing; the next run retries it.
    project.write(
        "bootstrap/0003_broken.sql",
        "INSERT INTO users (email) VALUES ('half@example.com'); INSERT INTO nowhere VALUES (1);",
    );
    let failed = project.strata(&["--database-url", &url, "bootstrap"]);
    failed.expect_code(1);
    assert!(
        failed.stderr().contains("0003_broken.sql"),
        "{}",
        failed.stderr()
    );
    assert_eq!(rows(&db, "users"), 2);
    assert_eq!(rows(&db, "drizzle.__strata_bootstrap"), 2);
    // The seeder leaves the bootstrap table alone.
    project
        .strata(&["--database-url", &url, "seed", "--truncate"])
        .expect_code(0);
    assert_eq!(rows(&db, "drizzle.__strata_bootstrap"), 2);
}

/// Checks a PHC string against a password with Debian's `argon2` (the
/// reference C implementation): same salt and parameters must give the
/// same encoded hash.
fn verifies(hash: &str, password: &str) -> bool {
    let parts: Vec<&str> = hash.split('$').collect();
    assert_eq!(parts.len(), 6, "{hash}");
    assert_eq!(parts[1], "argon2id", "{hash}");
    let params: Vec<(&str, &str)> = parts[3]
        .split(',')
        .map(|kv| kv.split_once('=').expect("k=v"))
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| *n == k).expect(k).1;
    let salt = String::from_utf8(base64_decode(parts[4])).expect("the salt is printable");
    let mut child = Command::new("argon2")
        .args([
            salt.as_str(),
            "-id",
            "-t",
            get("t"),
            "-k",
            get("m"),
            "-p",
            get("p"),
            "-l",
            &base64_decode(parts[5]).len().to_string(),
            "-e",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the argon2 command (Debian/Ubuntu: apt-get install argon2; .ci/run installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(password.as_bytes())
        .expect("write the password");
    let output = child.wait_with_output().expect("argon2 runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).trim() == hash
}

/// Standard base64 without padding, as in PHC strings.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let v =
            u32::try_from(ALPHABET.iter().position(|&a| a == c).expect("base64")).expect("< 64");
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from(bits >> count).expect("8 bits"));
            bits &= (1 << count) - 1;
        }
    }
    out
}

#[test]
fn admin_gets_a_generated_password_that_an_independent_argon2_verifies() {
    let (db, project, url) = pushed();
    let run = project.strata(&[
        "--database-url",
        &url,
        "bootstrap",
        "admin",
        "--email",
        "Root@Example.com",
        "--json",
    ]);
    let json = run.expect_code(0).json();
    let email = json["email"].as_str().expect("email").to_owned();
    let password = json["password"].as_str().expect("password").to_owned();
    assert_eq!(email, "root@example.com");
    assert!(
        password.len() >= 20 && password.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{password}"
    );
    assert!(
        !run.stderr().contains(&password),
        "the password is printed once, on stdout"
    );
    let hash = db.value(
        "SELECT password_hash FROM users WHERE email = 'root@example.com' AND role = 'admin'",
    );
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(verifies(&hash, &password), "{hash}");
    assert!(!verifies(&hash, "not the password"));

    // A second run refuses and changes nothing.
    let again = project.strata(&[
        "--database-url",
        &url,
        "bootstrap",
        "admin",
        "--email",
        "root@example.com",
    ]);
    again.expect_code(3);
    assert!(again.stderr().contains("--rotate"), "{}", again.stderr());
    assert!(again.stdout().is_empty(), "{}", again.stdout());
    assert_eq!(
        db.value("SELECT password_hash FROM users WHERE email = 'root@example.com'"),
        hash
    );

    // --rotate gives a new password; the old one stops working.
    let rotated = project.strata(&[
        "--database-url",
        &url,
        "bootstrap",
        "admin",
        "--email",
        "root@example.com",
        "--rotate",
    ]);
    rotated.expect_code(0);
    let stdout = rotated.stdout();
    let new_password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Password: "))
        .expect("the password line")
        .to_owned();
    assert_ne!(new_password, password);
    let new_hash = db.value("SELECT password_hash FROM users WHERE email = 'root@example.com'");
    assert!(verifies(&new_hash, &new_password));
    assert!(!verifies(&new_hash, &password));
    assert_eq!(rows(&db, "users"), 1);
}

#[test]
fn admin_table_and_columns_come_from_strata_toml() {
    let db = strata_testkit::database();
    let project = Project::empty();
    project.write("schema/accounts.sql", "CREATE SCHEMA app; CREATE TABLE app.accounts (id serial PRIMARY KEY, login text NOT NULL UNIQUE, secret text NOT NULL);");
    project.write(
        "strata.toml",
        "schema = \"schema\"\n[bootstrap.admin]\ntable = \"app.accounts\"\nemail_column = \"login\"\npassword_column = \"secret\"\nrole_column = \"\"\nemail = \"boss@example.org\"\n",
    );
    let url = db.url();
    project
        .strata(&["--database-url", &url, "push", "--yes"])
        .expect_code(0);
    let json = project
        .strata(&["--database-url", &url, "bootstrap", "admin", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(json["email"], "boss@example.org");
    let hash = db.value("SELECT secret FROM app.accounts WHERE login = 'boss@example.org'");
    assert!(verifies(&hash, json["password"].as_str().unwrap()));
    // A missing column is named.
    project.write(
        "strata.toml",
        "schema = \"schema\"\n[bootstrap.admin]\ntable = \"app.accounts\"\nemail_column = \"mail\"\n",
    );
    let run = project.strata(&["--database-url", &url, "bootstrap", "admin"]);
    run.expect_code(1);
    assert!(
        run.stderr().contains("no column `mail`"),
        "{}",
        run.stderr()
    );
}

#[test]
fn backup_then_restore_round_trips_the_database() {
    let (db, project, url) = pushed();
    project
        .strata(&["--database-url", &url, "seed"])
        .expect_code(0);
    let before = contents(&db);
    let json = project
        .strata(&["--database-url", &url, "backup", "--json"])
        .expect_code(0)
        .json();
    let path = std::path::PathBuf::from(json["path"].as_str().expect("path"));
    assert!(
        path.starts_with(project.dir.join(".strata/backups")),
        "{path:?}"
    );
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("{}_", db.info().dbname))
            && path.extension().is_some_and(|e| e == "dump"),
        "{name}"
    );
    assert!(json["bytes"].as_u64().unwrap() > 1000);

    // Lose data: rows and a whole table.
    db.execute(
        "DELETE FROM sessions; UPDATE users SET name = 'changed'; DROP TABLE security_events;",
    );
    assert_eq!(rows(&db, "sessions"), 0);

    // Without a terminal, a restore needs --yes.
    let refused = project.strata(&["--database-url", &url, "restore", path.to_str().unwrap()]);
    refused.expect_code(3);
    assert!(refused.stderr().contains("--yes"), "{}", refused.stderr());
    let restored = project.strata(&[
        "--database-url",
        &url,
        "restore",
        path.to_str().unwrap(),
        "--yes",
    ]);
    restored.expect_code(0);
    assert!(
        restored.stdout().contains("Restored"),
        "{}",
        restored.stdout()
    );
    assert_eq!(contents(&db), before);

    // --out names the file; a missing backup is an error that says so.
    let file = project.dir.join("mine.dump");
    project
        .strata(&[
            "--database-url",
            &url,
            "backup",
            "--out",
            file.to_str().unwrap(),
        ])
        .expect_code(0);
    assert!(file.is_file());
    let missing = project.strata(&["--database-url", &url, "restore", "nope.dump", "--yes"]);
    missing.expect_code(1);
    assert!(
        missing.stderr().contains("does not exist"),
        "{}",
        missing.stderr()
    );
}
