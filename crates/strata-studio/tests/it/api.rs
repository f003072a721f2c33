//! The JSON API over real HTTP against a real database.

use serde_json::{Value, json};
use strata_studio::{Studio, StudioOptions};

use crate::support::{http, studio};

#[test]
fn requests_without_the_token_are_refused() {
    let db = strata_testkit::database();
    db.execute("CREATE TABLE t (id int PRIMARY KEY)");
    let running = studio(&db, false);
    let token = running.token.as_str();
    assert!(token.len() >= 32, "at least 128 bits, hex");
    assert!(running.url.starts_with("http://127.0.0.1:"));
    assert!(running.url.ends_with(&format!("/?token={token}")));

    for (method, path, headers, body) in [
        ("GET", "/", vec![], None),
        ("GET", "/app.js", vec![], None),
        ("GET", "/api/schema", vec![], None),
        ("GET", "/api/schema?token=nope", vec![], None),
        ("GET", "/api/schema", vec![("X-Strata-Token", "nope")], None),
        (
            "GET",
            "/api/schema",
            vec![("Cookie", "strata_studio_1=nope")],
            None,
        ),
        ("POST", "/api/sql", vec![], Some(r#"{"sql":"select 1"}"#)),
    ] {
        let reply = http(running.address, method, path, &headers, body);
        assert_eq!(reply.status, 401, "{method} {path} {headers:?}");
        assert!(!reply.body.contains(token));
    }

    // The first page trades the token for a cookie and drops it from the URL.
    let reply = http(
        running.address,
        "GET",
        &format!("/?token={token}"),
        &[],
        None,
    );
    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/"));
    let cookie = reply.header("set-cookie").expect("a cookie").to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().expect("name=value");
    let page = http(running.address, "GET", "/", &[("Cookie", pair)], None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<script src=\"/app.js\""));
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("script-src 'self'"))
    );
    let schema = http(
        running.address,
        "GET",
        "/api/schema",
        &[("X-Strata-Token", token)],
        None,
    );
    assert_eq!(schema.status, 200);
    assert_eq!(schema.json()["tables"][0]["name"]["name"], "t");

    // A cross-site form cannot post JSON; anything else is refused.
    let reply = http(
        running.address,
        "POST",
        "/api/sql",
        &[
            ("X-Strata-Token", token),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        None,
    );
    assert_eq!(reply.status, 400);
}

/// Every page of every order, collected: the rows are all there, once,
/// in the order SQL gives.
#[test]
fn keyset_pages_cover_every_row_once_in_order() {
    let db = strata_testkit::database();
    db.execute(
        "CREATE TABLE items (a int, b text, score int, PRIMARY KEY (a, b));
         INSERT INTO items SELECT i % 7, 'k' || i, CASE WHEN i % 5 = 0 THEN NULL ELSE i % 4 END
             FROM generate_series(1, 60) i;
         CREATE TABLE heap (score int, note text, pad text DEFAULT repeat('x', 400));
         INSERT INTO heap SELECT CASE WHEN i % 6 = 0 THEN NULL ELSE i % 3 END, 'n' || i
             FROM generate_series(1, 2000) i;",
    );
    let running = studio(&db, false);
    let sparse = json!([{"column": "note", "op": "starts-with", "value": "n19"}]);
    for (table, sort, filters, expected_sql) in [
        (
            "items",
            None,
            None,
            "SELECT a::text || '/' || b FROM items ORDER BY a, b",
        ),
        (
            "items",
            Some(json!({"column": "score"})),
            None,
            "SELECT a::text || '/' || b FROM items ORDER BY score, a, b",
        ),
        (
            "items",
            Some(json!({"column": "score", "desc": true})),
            None,
            "SELECT a::text || '/' || b FROM items ORDER BY score DESC, a DESC, b DESC",
        ),
        (
            "items",
            Some(json!({"column": "b", "desc": true})),
            None,
            "SELECT a::text || '/' || b FROM items ORDER BY b DESC, a DESC",
        ),
        ("heap", None, None, "SELECT note FROM heap ORDER BY ctid"),
        (
            "heap",
            None,
            Some(sparse.clone()),
            "SELECT note FROM heap WHERE note LIKE 'n19%' ORDER BY ctid",
        ),
        (
            "heap",
            Some(json!({"column": "score", "desc": true})),
            None,
            "SELECT note FROM heap ORDER BY score DESC, ctid DESC",
        ),
    ] {
        let mut seen = Vec::new();
        let mut after = Value::Null;
        let mut pages = 0;
        loop {
            let mut request = json!({"schema": "public", "name": table, "limit": 7});
            if let Some(sort) = &sort {
                request["sort"] = sort.clone();
            }
            if let Some(filters) = &filters {
                request["filters"] = filters.clone();
            }
            if !after.is_null() {
                request["after"] = after.clone();
            }
            let reply = running.api("/api/rows", &request);
            assert_eq!(reply.status, 200, "{}", reply.body);
            let page = reply.json();
            for row in page["rows"].as_array().expect("rows") {
                seen.push(if table == "items" {
                    format!("{}/{}", row[0].as_str().unwrap(), row[1].as_str().unwrap())
                } else {
                    row[1].as_str().unwrap().to_owned()
                });
            }
            pages += 1;
            if page["more"] == false {
                break;
            }
            after = page["next"].clone();
        }
        let expected: Vec<String> = db.column(expected_sql).into_iter().flatten().collect();
        assert_eq!(seen, expected, "{table} sorted by {sort:?}");
        assert_eq!(pages, expected.len().div_ceil(7));
    }
}

#[test]
fn values_are_bound_and_identifiers_quoted() {
    let db = strata_testkit::database();
    db.execute(
        r#"CREATE TYPE mood AS ENUM ('happy', 'sad');
           CREATE TABLE "we""ird; table" (
               id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
               "sel""ect" text, doc jsonb, tags int[], at timestamptz, raw bytea, m mood,
               amount numeric(8,3), v varchar(5));
           CREATE TABLE canary (id int);"#,
    );
    let running = studio(&db, false);
    let table = "we\"ird; table";
    let values = [
        ("sel\"ect", "'); DROP TABLE canary; --"),
        ("doc", r#"{"a": [1, "x'y"]}"#),
        ("tags", "{1,2,3}"),
        ("at", "2024-02-29 12:34:56.789+00"),
        ("raw", "\\x00ff27"),
        ("m", "sad"),
        ("amount", "12.500"),
        ("v", "ab'c"),
    ];
    let reply = running.api(
        "/api/insert",
        &json!({"schema": "public", "name": table, "values": values}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let row = reply.json()["row"].clone();
    for (i, (_, value)) in values.iter().enumerate() {
        assert_eq!(row[i + 1], *value, "column {i} round-trips");
    }
    assert_eq!(db.value("SELECT count(*) FROM canary"), "0");

    // Filters bind their values too.
    let reply = running.api(
        "/api/rows",
        &json!({"schema": "public", "name": table, "filters": [
            {"column": "sel\"ect", "op": "eq", "value": "'); DROP TABLE canary; --"},
            {"column": "doc", "op": "contains", "value": "x'y"},
            {"column": "m", "op": "eq", "value": "sad"},
        ]}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["rows"].as_array().unwrap().len(), 1);
    let reply = running.api(
        "/api/rows",
        &json!({"schema": "public", "name": table, "filters": [
            {"column": "sel\"ect", "op": "contains", "value": "%"},
            {"column": "v", "op": "starts-with", "value": "_b"},
        ]}),
    );
    assert_eq!(
        reply.json()["rows"].as_array().unwrap().len(),
        0,
        "LIKE wildcards are escaped"
    );

    // A value the type refuses is the database's error, whole.
    let reply = running.api(
        "/api/update",
        &json!({"schema": "public", "name": table, "id": ["1"], "column": "m", "value": "angry", "old": "sad"}),
    );
    assert_eq!(reply.status, 422);
    let error = reply.json()["error"].clone();
    assert_eq!(error["code"], "22P02");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("invalid input value for enum mood")
    );

    // Unknown tables and columns are named, never spliced.
    let reply = running.api(
        "/api/rows",
        &json!({"schema": "public", "name": "canary\"; DROP TABLE canary; --"}),
    );
    assert_eq!(reply.status, 404);
    let reply = running.api(
        "/api/rows",
        &json!({"schema": "public", "name": "canary", "sort": {"column": "id; DROP TABLE canary"}}),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(db.value("SELECT count(*) FROM canary"), "0");
}

#[test]
fn edits_run_in_a_transaction_and_refuse_stale_rows() {
    let db = strata_testkit::database();
    db.execute(
        "CREATE TABLE t (id int PRIMARY KEY, n text NOT NULL);
         INSERT INTO t VALUES (1, 'one'), (2, 'two');
         CREATE TABLE heap (n text); INSERT INTO heap VALUES ('a'), ('b');",
    );
    let running = studio(&db, false);
    let update = |old: &str, value: Value| {
        running.api(
            "/api/update",
            &json!({"schema": "public", "name": "t", "id": ["1"], "column": "n", "value": value, "old": old}),
        )
    };
    let reply = update("stale", json!("uno"));
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(db.value("SELECT n FROM t WHERE id = 1"), "one");
    let reply = update("one", Value::Null);
    assert_eq!(reply.status, 422);
    assert_eq!(reply.json()["error"]["code"], "23502");
    let reply = update("one", json!("uno"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["row"], json!(["1", "uno"]));
    assert_eq!(db.value("SELECT n FROM t WHERE id = 1"), "uno");

    // Rows without a primary key are found by ctid, which the reply renews.
    let page = running
        .api("/api/rows", &json!({"schema": "public", "name": "heap"}))
        .json();
    assert_eq!(page["key"], "ctid");
    let id = page["ids"][0].clone();
    let reply = running.api(
        "/api/update",
        &json!({"schema": "public", "name": "heap", "id": id, "column": "n", "value": "A", "old": "a"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let new_id = reply.json()["id"].clone();
    assert_ne!(new_id, id);
    let reply = running.api(
        "/api/delete",
        &json!({"schema": "public", "name": "heap", "id": new_id}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(db.value("SELECT string_agg(n, ',') FROM heap"), "b");
    let reply = running.api(
        "/api/delete",
        &json!({"schema": "public", "name": "heap", "id": new_id}),
    );
    assert_eq!(reply.status, 409);
}

#[test]
fn partitions_page_and_edit_by_their_parents_primary_key() {
    let db = strata_testkit::database();
    db.execute(
        "CREATE TABLE m (id int, at date NOT NULL, v text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
         CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         INSERT INTO m VALUES (1, '2024-02-02', 'x'), (2, '2024-03-03', 'y');",
    );
    let running = studio(&db, false);
    for name in ["m", "m_2024"] {
        let page = running
            .api("/api/rows", &json!({"schema": "public", "name": name}))
            .json();
        assert_eq!(page["key"], "primary-key", "{name}");
        assert_eq!(page["ids"][1], json!(["2", "2024-03-03"]), "{name}");
    }
    let reply = running.api(
        "/api/update",
        &json!({"schema": "public", "name": "m_2024", "id": ["2", "2024-03-03"], "column": "v", "value": "z", "old": "y"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(db.value("SELECT v FROM m WHERE id = 2"), "z");
}

#[test]
fn read_only_refuses_every_write() {
    let db = strata_testkit::database();
    db.execute("CREATE TABLE t (id int PRIMARY KEY, n text); INSERT INTO t VALUES (1, 'one');");
    let running = studio(&db, true);
    for (path, body) in [
        (
            "/api/update",
            json!({"schema": "public", "name": "t", "id": ["1"], "column": "n", "value": "x", "old": "one"}),
        ),
        (
            "/api/insert",
            json!({"schema": "public", "name": "t", "values": [["id", "2"]]}),
        ),
        (
            "/api/delete",
            json!({"schema": "public", "name": "t", "id": ["1"]}),
        ),
        ("/api/sql", json!({"sql": "DELETE FROM t", "mode": "write"})),
    ] {
        let reply = running.api(path, &body);
        assert_eq!(reply.status, 403, "{path}: {}", reply.body);
        assert!(reply.body.contains("read-only"));
    }
    let schema = http(
        running.address,
        "GET",
        "/api/schema",
        &[("X-Strata-Token", &running.token)],
        None,
    )
    .json();
    assert_eq!(schema["read_only"], true);
    assert_eq!(schema["tables"][0]["writable"], false);
    let reply = running.api("/api/sql", &json!({"sql": "SELECT n FROM t"}));
    assert_eq!(reply.json()["results"][0]["rows"], json!([["one"]]));
    assert_eq!(db.value("SELECT n FROM t"), "one");
}

#[test]
fn the_console_cannot_leave_its_read_only_transaction() {
    let db = strata_testkit::database();
    db.execute(
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 2500);
         CREATE SEQUENCE s;",
    );
    let running = studio(&db, false);
    for sql in [
        "DELETE FROM t",
        "COMMIT; DELETE FROM t",
        "SELECT 1; DELETE FROM t",
        "WITH d AS (DELETE FROM t RETURNING id) SELECT count(*) FROM d",
        "CREATE TABLE u (id int)",
        "SELECT nextval('s')",
    ] {
        let reply = running.api("/api/sql", &json!({ "sql": sql }));
        assert!(
            reply.status == 400 || reply.status == 422,
            "{sql}: {} {}",
            reply.status,
            reply.body
        );
    }
    assert_eq!(db.value("SELECT count(*) FROM t"), "2500");
    assert_eq!(
        db.value("SELECT count(*) FROM pg_class WHERE relname = 'u'"),
        "0"
    );

    // A big result comes back in its first 1000 rows, through a cursor.
    let reply = running.api("/api/sql", &json!({"sql": "SELECT * FROM t ORDER BY id"}));
    let result = reply.json()["results"][0].clone();
    assert_eq!(result["rows"].as_array().unwrap().len(), 1000);
    assert_eq!(result["truncated"], true);
    assert_eq!(result["columns"][0], json!({"name": "id", "type": "int4"}));

    // Write mode commits, and statements that are no cursor's still answer.
    let reply = running.api(
        "/api/sql",
        &json!({"sql": "DELETE FROM t WHERE id > 2000 RETURNING id", "mode": "write"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["results"][0]["affected"], 500);
    assert_eq!(db.value("SELECT count(*) FROM t"), "2000");
    let reply = running.api(
        "/api/sql",
        &json!({"sql": "CREATE TABLE u (id int); INSERT INTO u VALUES (1)", "mode": "write"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = running.api("/api/rows", &json!({"schema": "public", "name": "u"}));
    assert_eq!(reply.status, 200, "the schema is read again after a write");
    let reply = running.api("/api/sql", &json!({"sql": "EXPLAIN SELECT * FROM t"}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = running.api("/api/sql", &json!({"sql": "SELEC 1"}));
    assert_eq!(reply.json()["error"]["position"], 1);
}

#[test]
fn console_sessions_end_with_each_run() {
    let db = strata_testkit::database();
    db.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);");
    let running = studio(&db, false);
    let reply = running.api("/api/sql", &json!({"sql": "SELECT pg_advisory_lock(42)"}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = running.api(
        "/api/sql",
        &json!({"sql": "SET search_path = nowhere; SET statement_timeout = 1", "mode": "write"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    // The lock went with its session (which ends a moment after the reply).
    let started = std::time::Instant::now();
    while db.value("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") != "0" {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the console's advisory lock outlived its run"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Nothing the console SET reaches the grid or the next console run.
    let page = running.api("/api/rows", &json!({"schema": "public", "name": "t"}));
    assert_eq!(page.json()["rows"], json!([["1"]]));
    let reply = running.api(
        "/api/sql",
        &json!({"sql": "SELECT pg_sleep(0.05), count(*) FROM t"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn the_password_never_shows() {
    let (_cluster, info) = strata_testkit::password_cluster("s3cret-Pa55");
    let options = StudioOptions {
        port: 0,
        ..StudioOptions::new(info.clone())
    };
    let studio = Studio::bind(options).expect("the studio starts");
    assert!(!studio.database().contains("s3cret"));
    assert!(!format!("{studio:?}").contains("s3cret"));
    let address = studio.address();
    let token = studio.token().to_owned();
    std::thread::spawn(move || studio.serve());
    let schema = http(
        address,
        "GET",
        "/api/schema",
        &[("X-Strata-Token", &token)],
        None,
    );
    assert_eq!(schema.status, 200);
    assert!(!schema.body.contains("s3cret"));

    let mut wrong = info;
    wrong.password = Some("wr0ng-Pa55".to_owned());
    let options = StudioOptions {
        port: 0,
        ..StudioOptions::new(wrong)
    };
    let error = Studio::bind(options).expect_err("a wrong password");
    let text = format!("{error} {error:?}");
    assert!(
        !text.contains("wr0ng") && !text.contains("s3cret"),
        "{text}"
    );
}
