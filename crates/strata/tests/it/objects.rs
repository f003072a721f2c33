//! Every kind of object beyond plain tables: create, alter and drop, with
//! rows kept, and the dependency order a change needs in both directions.

use crate::support::{pair, sql};

const USERS: &str = "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, age int);";
const ROWS: &str = "INSERT INTO users VALUES (1, 'Ada', 36), (2, 'Bob', 17);";

fn statements_of(from: &str, to: &str) -> Vec<String> {
    sql(&pair(from, ROWS, to, &[]))
}

#[test]
fn views_are_created_replaced_and_dropped() {
    let with_view =
        format!("{USERS}\nCREATE VIEW adults AS SELECT id, name FROM users WHERE age >= 18;");
    let statements = statements_of(USERS, &with_view);
    assert_eq!(statements.len(), 1);
    assert!(
        statements[0].starts_with("CREATE VIEW public.adults AS\n SELECT users.id,"),
        "{statements:?}"
    );
    // A new column at the end and a new filter: CREATE OR REPLACE.
    let wider =
        format!("{USERS}\nCREATE VIEW adults AS SELECT id, name, age FROM users WHERE age >= 21;");
    let statements = statements_of(&with_view, &wider);
    assert_eq!(statements.len(), 1);
    assert!(
        statements[0].starts_with("CREATE OR REPLACE VIEW public.adults AS"),
        "{statements:?}"
    );
    // Columns removed: drop and create.
    let narrower = format!("{USERS}\nCREATE VIEW adults AS SELECT id FROM users;");
    let statements = statements_of(&wider, &narrower);
    assert_eq!(statements[0], "DROP VIEW public.adults");
    // Options.
    statements_of(
        &narrower,
        &format!(
            "{USERS}\nCREATE VIEW adults WITH (security_barrier = true) AS SELECT id FROM users;"
        ),
    );
    assert_eq!(statements_of(&narrower, USERS), ["DROP VIEW public.adults"]);
}

#[test]
fn materialized_views_with_their_indexes() {
    let mv = format!(
        "{USERS}\nCREATE MATERIALIZED VIEW ages AS SELECT age, count(*) AS n FROM users GROUP BY age;\nCREATE UNIQUE INDEX ages_age ON ages (age);\nCOMMENT ON MATERIALIZED VIEW ages IS 'histogram';"
    );
    let statements = statements_of(USERS, &mv);
    assert!(
        statements[0].starts_with("CREATE MATERIALIZED VIEW public.ages AS"),
        "{statements:?}"
    );
    assert!(
        statements
            .contains(&"CREATE UNIQUE INDEX ages_age ON public.ages USING btree (age)".to_owned())
    );
    let changed = mv.replace("GROUP BY age;", "WHERE age > 0 GROUP BY age;");
    let statements = statements_of(&mv, &changed);
    assert_eq!(statements[0], "DROP MATERIALIZED VIEW public.ages");
    assert!(
        statements
            .iter()
            .any(|s| s.starts_with("CREATE UNIQUE INDEX ages_age"))
    );
    statements_of(&mv, USERS);
}

#[test]
fn views_on_views_follow_a_column_type_change() {
    let from = format!(
        "{USERS}\nCREATE VIEW named AS SELECT id, name FROM users;\nCREATE VIEW shouting AS SELECT id, upper(name) AS name FROM named;\nCOMMENT ON VIEW shouting IS 'loud';"
    );
    let to = from.replace("name text NOT NULL", "name varchar(40) NOT NULL");
    let statements = statements_of(&from, &to);
    assert_eq!(statements[0], "DROP VIEW public.shouting", "{statements:?}");
    assert_eq!(statements[1], "DROP VIEW public.named");
    assert!(statements[2].contains("ALTER COLUMN name TYPE character varying(40)"));
    assert!(statements[3].starts_with("CREATE VIEW public.named"));
    assert!(statements[4].starts_with("CREATE VIEW public.shouting"));
    assert_eq!(statements[5], "COMMENT ON VIEW public.shouting IS 'loud'");
}

#[test]
fn dropping_a_table_drops_its_views_first() {
    let from = format!("{USERS}\nCREATE VIEW named AS SELECT id, name FROM users;");
    let statements = sql(&pair(&from, ROWS, "", &[]));
    assert_eq!(
        statements,
        ["DROP VIEW public.named", "DROP TABLE public.users"]
    );
}

#[test]
fn functions_and_procedures() {
    let f = "CREATE FUNCTION add_one(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x + 1';";
    let statements = statements_of(USERS, &format!("{USERS}\n{f}"));
    assert!(
        statements[0].starts_with("CREATE OR REPLACE FUNCTION public.add_one(x integer)"),
        "{statements:?}"
    );
    // A new body: replaced in place.
    let g = "CREATE FUNCTION add_one(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x + 2';";
    let statements = statements_of(&format!("{USERS}\n{f}"), &format!("{USERS}\n{g}"));
    assert_eq!(statements.len(), 1);
    // A new result type: dropped and created.
    let h =
        "CREATE FUNCTION add_one(x int) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT x + 2';";
    let statements = statements_of(&format!("{USERS}\n{g}"), &format!("{USERS}\n{h}"));
    assert_eq!(statements[0], "DROP FUNCTION public.add_one(x integer)");
    let p = "CREATE PROCEDURE bump() LANGUAGE sql AS $$ UPDATE users SET age = age + 1 $$;\nCOMMENT ON PROCEDURE bump() IS 'birthday';";
    let statements = statements_of(USERS, &format!("{USERS}\n{p}"));
    assert!(statements[0].starts_with("CREATE OR REPLACE PROCEDURE public.bump()"));
    assert_eq!(
        statements[1],
        "COMMENT ON PROCEDURE public.bump() IS 'birthday'"
    );
    statements_of(&format!("{USERS}\n{p}"), USERS);
}

#[test]
fn a_function_used_by_defaults_checks_and_indexes_is_recreated_around_them() {
    let from =
        "CREATE FUNCTION norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower(t)';
        CREATE TABLE tags (name text NOT NULL DEFAULT norm('X') CHECK (name = norm(name)));
        CREATE INDEX tags_norm ON tags (norm(name));";
    let to = from
        .replace("RETURNS text LANGUAGE sql", "RETURNS varchar LANGUAGE sql")
        .replace("lower(t)", "lower(t)::varchar");
    let statements = sql(&pair(from, "INSERT INTO tags VALUES ('a');", &to, &[]));
    let position = |prefix: &str| {
        statements
            .iter()
            .position(|s| s.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix}: {statements:?}"))
    };
    assert!(position("DROP INDEX public.tags_norm") < position("DROP FUNCTION public.norm"));
    assert!(
        position("ALTER TABLE public.tags DROP CONSTRAINT") < position("DROP FUNCTION public.norm")
    );
    assert!(
        position("CREATE OR REPLACE FUNCTION public.norm") < position("CREATE INDEX tags_norm")
    );
}

#[test]
fn triggers_created_changed_disabled_dropped() {
    let func = "CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.name := trim(NEW.name); RETURN NEW; END $$;";
    let base = format!("{USERS}\n{func}");
    let with = format!(
        "{base}\nCREATE TRIGGER users_stamp BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION stamp();"
    );
    let statements = statements_of(&base, &with);
    assert_eq!(
        statements,
        [
            "CREATE TRIGGER users_stamp BEFORE INSERT ON public.users FOR EACH ROW EXECUTE FUNCTION public.stamp()"
        ]
    );
    let changed = with.replace("BEFORE INSERT ON", "BEFORE INSERT OR UPDATE OF name ON");
    let statements = statements_of(&with, &changed);
    assert_eq!(statements[0], "DROP TRIGGER users_stamp ON public.users");
    let disabled = format!(
        "{changed}\nALTER TABLE users DISABLE TRIGGER users_stamp;\nCOMMENT ON TRIGGER users_stamp ON users IS 'tidy';"
    );
    let statements = statements_of(&changed, &disabled);
    assert_eq!(
        statements,
        [
            "ALTER TABLE public.users DISABLE TRIGGER users_stamp",
            "COMMENT ON TRIGGER users_stamp ON public.users IS 'tidy'",
        ]
    );
    // The trigger's column changes type: it is recreated around the change.
    let retyped = disabled.replace("name text NOT NULL", "name varchar(80) NOT NULL");
    let statements = statements_of(&disabled, &retyped);
    assert_eq!(
        statements[0], "DROP TRIGGER users_stamp ON public.users",
        "{statements:?}"
    );
    assert!(
        statements.contains(&"ALTER TABLE public.users DISABLE TRIGGER users_stamp".to_owned())
    );
    statements_of(&disabled, &base);
}

#[test]
fn row_level_security_and_policies() {
    let base = format!("{USERS}\nCREATE ROLE strata_test_reader NOLOGIN;");
    let _ = base;
    let secured = format!(
        "{USERS}\nALTER TABLE users ENABLE ROW LEVEL SECURITY;\nALTER TABLE users FORCE ROW LEVEL SECURITY;\nCREATE POLICY adults_only ON users FOR SELECT USING (age >= 18);\nCREATE POLICY own_rows ON users AS RESTRICTIVE FOR UPDATE USING (true) WITH CHECK (age >= 0);"
    );
    let pushed = pair(USERS, ROWS, &secured, &[]);
    let statements = sql(&pushed);
    assert!(statements.contains(&"ALTER TABLE public.users ENABLE ROW LEVEL SECURITY".to_owned()));
    assert!(statements.contains(&"CREATE POLICY adults_only ON public.users AS PERMISSIVE FOR SELECT TO PUBLIC USING ((age >= 18))".to_owned()));
    assert!(
        pushed
            .statements
            .iter()
            .any(|s| s.hazards.iter().any(|h| h.id.as_str() == "access-change"))
    );
    // New expression: ALTER POLICY.
    let stricter = secured.replace("age >= 18", "age >= 21");
    assert_eq!(
        statements_of(&secured, &stricter),
        ["ALTER POLICY adults_only ON public.users TO PUBLIC USING ((age >= 21))"]
    );
    // A new command: drop and create.
    let command = secured.replace("FOR SELECT USING (age >= 18)", "FOR ALL USING (age >= 18)");
    assert_eq!(statements_of(&secured, &command).len(), 2);
    // Back to no security.
    let statements = statements_of(&secured, USERS);
    assert!(statements.contains(&"ALTER TABLE public.users DISABLE ROW LEVEL SECURITY".to_owned()));
}

#[test]
fn policies_follow_a_column_type_change() {
    let from = format!(
        "{USERS}\nALTER TABLE users ENABLE ROW LEVEL SECURITY;\nCREATE POLICY adults_only ON users FOR SELECT USING (age >= 18);"
    );
    let to = from.replace("age int)", "age bigint)");
    let statements = statements_of(&from, &to);
    assert_eq!(
        statements[0], "DROP POLICY adults_only ON public.users",
        "{statements:?}"
    );
    assert!(statements[2].starts_with("CREATE POLICY adults_only"));
}

#[test]
fn domains_with_their_constraints() {
    let base = "CREATE DOMAIN positive AS int CHECK (VALUE > 0);\nCREATE TABLE t (n positive);";
    let statements = sql(&pair("", "", base, &[]));
    assert_eq!(
        statements[0],
        "CREATE DOMAIN public.positive AS integer CONSTRAINT positive_check CHECK ((VALUE > 0))"
    );
    let altered = "CREATE DOMAIN positive AS int DEFAULT 1 NOT NULL CONSTRAINT small CHECK (VALUE < 1000) CONSTRAINT positive_check CHECK (VALUE > 0);\nCREATE TABLE t (n positive);\nCOMMENT ON DOMAIN positive IS 'counts';";
    let statements = sql(&pair(base, "INSERT INTO t VALUES (5);", altered, &[]));
    assert_eq!(
        statements,
        [
            "ALTER DOMAIN public.positive SET DEFAULT 1",
            "ALTER DOMAIN public.positive ADD CONSTRAINT small CHECK ((VALUE < 1000))",
            "ALTER DOMAIN public.positive SET NOT NULL",
            "COMMENT ON DOMAIN public.positive IS 'counts'",
        ]
    );
    sql(&pair(altered, "INSERT INTO t VALUES (5);", base, &[]));
    sql(&pair(base, "", "CREATE TABLE t (n int);", &[]));
}

#[test]
fn composite_types() {
    let base = "CREATE TYPE money_amount AS (amount numeric(12,2), currency char(3));\nCREATE TABLE prices (p money_amount);";
    sql(&pair("", "", base, &[]));
    let altered = "CREATE TYPE money_amount AS (amount numeric(14,2), currency char(3), note text);\nCREATE TABLE prices (p money_amount);";
    let statements = sql(&pair(
        "CREATE TYPE money_amount AS (amount numeric(12,2), currency char(3));",
        "",
        &altered.replace("\nCREATE TABLE prices (p money_amount);", ""),
        &[],
    ));
    assert_eq!(
        statements,
        [
            "ALTER TYPE public.money_amount ALTER ATTRIBUTE amount SET DATA TYPE numeric(14,2)",
            "ALTER TYPE public.money_amount ADD ATTRIBUTE note text",
        ]
    );
    sql(&pair(
        base,
        "INSERT INTO prices VALUES (ROW(1.5, 'EUR'));",
        "",
        &[],
    ));
}

#[test]
fn exclusion_constraints() {
    sql(&pair(
        "CREATE EXTENSION IF NOT EXISTS btree_gist; CREATE TABLE bookings (room int, during tstzrange);",
        "INSERT INTO bookings VALUES (1, '[2026-01-01, 2026-01-02)');",
        "CREATE EXTENSION IF NOT EXISTS btree_gist; CREATE TABLE bookings (room int, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&));",
        &[],
    ));
}

#[test]
fn partitions_bounds_keys_and_partitioned_indexes() {
    let parent =
        "CREATE TABLE events (id bigint, at date NOT NULL, kind text) PARTITION BY RANGE (at);";
    let one = format!(
        "{parent}\nCREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
    );
    let statements = sql(&pair("", "", &one, &[]));
    assert!(
        statements[0].ends_with("PARTITION BY RANGE (at)"),
        "{statements:?}"
    );
    assert_eq!(
        statements[1],
        "CREATE TABLE public.events_2025 PARTITION OF public.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"
    );
    let rows = "INSERT INTO events VALUES (1, '2025-03-01', 'a');";
    // A second partition, a partitioned index and a new column on the parent.
    let two = format!(
        "{}\nCREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\nCREATE INDEX events_at ON events (at);",
        one.replace("kind text)", "kind text, source text)")
    );
    let statements = sql(&pair(&one, rows, &two, &[]));
    assert!(
        statements.contains(&"ALTER TABLE public.events ADD COLUMN source text".to_owned()),
        "{statements:?}"
    );
    assert!(
        statements.contains(&"CREATE INDEX events_at ON public.events USING btree (at)".to_owned())
    );
    assert!(
        !statements
            .iter()
            .any(|s| s.contains("events_2025 ADD COLUMN"))
    );
    // A new bound: detach and attach, keeping the rows.
    let wider = two.replace(
        "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
        "FOR VALUES FROM ('2024-01-01') TO ('2026-01-01')",
    );
    let statements = sql(&pair(&two, rows, &wider, &[]));
    assert_eq!(
        statements[0],
        "ALTER TABLE public.events DETACH PARTITION public.events_2025"
    );
    assert!(statements[1].starts_with("ALTER TABLE public.events ATTACH PARTITION public.events_2025 FOR VALUES FROM ('2024-01-01')"));
    // A different key: the table is rebuilt, which is data loss.
    let list =
        "CREATE TABLE events (id bigint, at date NOT NULL, kind text) PARTITION BY LIST (kind);";
    let pushed = pair(parent, "", list, &[]);
    assert!(pushed.statements[0].is_data_loss());
}

#[test]
fn extensions_with_versions() {
    let statements = sql(&pair(
        "",
        "",
        "CREATE EXTENSION IF NOT EXISTS pg_trgm;",
        &[],
    ));
    assert!(
        statements[0]
            .starts_with("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public VERSION '"),
        "{statements:?}"
    );
    let pushed = pair("CREATE EXTENSION IF NOT EXISTS pg_trgm;", "", "", &[]);
    assert_eq!(sql(&pushed), ["DROP EXTENSION pg_trgm"]);
    assert!(pushed.statements[0].is_data_loss());
    // An older version installed: updated in place.
    let statements = sql(&pair(
        "CREATE EXTENSION IF NOT EXISTS pg_trgm VERSION '1.5';",
        "",
        "CREATE EXTENSION IF NOT EXISTS pg_trgm;",
        &[],
    ));
    assert!(
        statements[0].starts_with("ALTER EXTENSION pg_trgm UPDATE TO '"),
        "{statements:?}"
    );
}

#[test]
fn comments_on_every_kind_of_object() {
    let objects = "CREATE SCHEMA app;
        CREATE TYPE app.mood AS ENUM ('ok');
        CREATE DOMAIN app.pos AS int CHECK (VALUE > 0);
        CREATE SEQUENCE app.counter;
        CREATE TABLE app.t (id int CONSTRAINT t_pk PRIMARY KEY, m app.mood);
        CREATE INDEX t_m ON app.t (m);
        CREATE VIEW app.v AS SELECT id FROM app.t;
        CREATE FUNCTION app.f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER tr BEFORE INSERT ON app.t FOR EACH ROW EXECUTE FUNCTION app.f();
        CREATE POLICY p ON app.t USING (true);";
    let comments = "COMMENT ON SCHEMA app IS 's';
        COMMENT ON TYPE app.mood IS 'e';
        COMMENT ON DOMAIN app.pos IS 'd';
        COMMENT ON SEQUENCE app.counter IS 'q';
        COMMENT ON TABLE app.t IS 't';
        COMMENT ON COLUMN app.t.m IS 'c';
        COMMENT ON CONSTRAINT t_pk ON app.t IS 'k';
        COMMENT ON INDEX app.t_m IS 'i';
        COMMENT ON VIEW app.v IS 'v';
        COMMENT ON COLUMN app.v.id IS 'vc';
        COMMENT ON FUNCTION app.f() IS 'f';
        COMMENT ON TRIGGER tr ON app.t IS 'tr';
        COMMENT ON POLICY p ON app.t IS 'p';";
    let statements = sql(&pair(objects, "", &format!("{objects}\n{comments}"), &[]));
    assert_eq!(statements.len(), 13, "{statements:?}");
    let statements = sql(&pair(&format!("{objects}\n{comments}"), "", objects, &[]));
    assert!(
        statements.iter().all(|s| s.ends_with("IS NULL")),
        "{statements:?}"
    );
}

#[test]
fn identity_options_and_generated_columns() {
    sql(&pair(
        "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY, a int, b int GENERATED ALWAYS AS (a * 2) STORED);",
        "INSERT INTO t (a) VALUES (1), (2);",
        "CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY (START WITH 10 INCREMENT BY 5 CACHE 20), a int, b int);",
        &[],
    ));
}

#[test]
fn schema_files_may_define_everything_in_any_order() {
    // Used before defined, across kinds.
    sql(&pair(
        "",
        "",
        "CREATE VIEW active AS SELECT id, shout(name) FROM people WHERE kind = 'a';
         CREATE TRIGGER people_touch BEFORE UPDATE ON people FOR EACH ROW EXECUTE FUNCTION touch();
         CREATE POLICY people_p ON people USING (kind <> 'z');
         CREATE TABLE people (id int PRIMARY KEY, name pname, kind kind NOT NULL, boss int REFERENCES people);
         CREATE FUNCTION shout(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT upper(t)';
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
         CREATE DOMAIN pname AS text CHECK (length(VALUE) < 100);
         CREATE TYPE kind AS ENUM ('a', 'z');",
        &[],
    ));
}

const ROLES: &str = "DO $$ BEGIN CREATE ROLE strata_reader NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE strata_writer NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;";

#[test]
fn grants_are_managed_when_asked_for() {
    let objects = format!(
        "{ROLES}
        CREATE SCHEMA app;
        CREATE TABLE app.t (id int);
        CREATE VIEW app.v AS SELECT id FROM app.t;
        CREATE SEQUENCE app.s;
        CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS 'SELECT 1';"
    );
    let granted = format!(
        "{objects}
        GRANT USAGE ON SCHEMA app TO strata_reader;
        GRANT SELECT ON app.t TO strata_reader;
        GRANT SELECT, INSERT ON app.v TO strata_writer WITH GRANT OPTION;
        GRANT USAGE ON SEQUENCE app.s TO strata_writer;
        REVOKE EXECUTE ON FUNCTION app.f() FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION app.f() TO strata_reader;"
    );
    let statements = sql(&pair(&objects, "", &granted, &[]));
    assert_eq!(
        statements,
        [
            "GRANT USAGE ON SCHEMA app TO strata_reader",
            "GRANT SELECT ON TABLE app.t TO strata_reader",
            "GRANT INSERT, SELECT ON TABLE app.v TO strata_writer WITH GRANT OPTION",
            "GRANT USAGE ON SEQUENCE app.s TO strata_writer",
            "REVOKE EXECUTE ON FUNCTION app.f() FROM PUBLIC",
            "GRANT EXECUTE ON FUNCTION app.f() TO strata_reader",
        ]
    );
    // Created with the objects, and taken back.
    sql(&pair(ROLES, "", &granted, &[]));
    sql(&pair(&granted, "", &objects, &[]));
}

#[test]
fn grants_are_left_alone_by_default() {
    use strata::push::{Scope, plan_between};
    let a = crate::support::loaded(&format!("{ROLES}\nCREATE TABLE t (id int);")).unwrap();
    let b = crate::support::loaded(&format!(
        "{ROLES}\nCREATE TABLE t (id int);\nGRANT SELECT ON t TO strata_reader;"
    ))
    .unwrap();
    let (current, server) = a.connect().introspect().unwrap();
    let (desired, _) = b.connect().introspect().unwrap();
    assert!(!desired.grants.is_empty());
    let scope = Scope {
        grants: strata::config::Grants::Ignored,
        ..crate::support::scope_of(&current, &desired)
    };
    let plan = plan_between(
        &mut a.connect(),
        current,
        server,
        desired,
        strata::desired::DesiredSource::Cache,
        scope,
        &[],
        &mut strata_diff::NoRenames,
    )
    .unwrap();
    assert!(plan.is_empty(), "{:?}", plan.statements);
}
