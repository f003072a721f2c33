//! Push, change by change: each case loads A with rows, pushes B, and
//! checks the pair property (see `support`) plus what the plan says.

use crate::support::{hazards, pair, sql};

const USERS: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text);";
const USER_ROWS: &str =
    "INSERT INTO users VALUES (1, 'a@example.com', 'Ada'), (2, 'b@example.com', 'Bob');";

#[test]
fn add_a_column() {
    let pushed = pair(
        USERS,
        USER_ROWS,
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text, locale varchar(16) NOT NULL DEFAULT 'en');",
        &[],
    );
    assert_eq!(
        sql(&pushed),
        [
            "ALTER TABLE public.users ADD COLUMN locale character varying(16) DEFAULT 'en'::character varying NOT NULL"
        ]
    );
    assert_eq!(hazards(&pushed), [Vec::<&str>::new()]);
}

#[test]
fn add_a_table_referencing_an_existing_one() {
    let pushed = pair(
        USERS,
        USER_ROWS,
        &format!(
            "{USERS}\nCREATE TABLE sessions (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE);\nCREATE INDEX ON sessions (user_id);"
        ),
        &[],
    );
    let statements = sql(&pushed);
    assert_eq!(statements.len(), 2);
    assert!(statements[0].starts_with("CREATE TABLE public.sessions ("));
    assert!(statements[0].contains("CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE"));
    // An index on a new table blocks nobody.
    assert_eq!(
        statements[1],
        "CREATE INDEX sessions_user_id_idx ON public.sessions USING btree (user_id)"
    );
    assert_eq!(hazards(&pushed), [Vec::<&str>::new(), Vec::new()]);
}

#[test]
fn rename_a_column_keeps_its_values() {
    let to = "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, full_name text);";
    let pushed = pair(USERS, USER_ROWS, to, &["users.name=full_name"]);
    assert_eq!(
        sql(&pushed),
        ["ALTER TABLE public.users RENAME COLUMN name TO full_name"]
    );
    assert_eq!(hazards(&pushed), [vec!["rename-column"]]);
}

#[test]
fn rename_a_table_keeps_its_rows_and_names_follow() {
    let from = "CREATE TABLE magic_links (id serial PRIMARY KEY, token text UNIQUE, owner bigint REFERENCES users);";
    let to = "CREATE TABLE login_links (id serial PRIMARY KEY, token text UNIQUE, owner bigint REFERENCES users);";
    let pushed = pair(
        &format!("{USERS}\n{from}"),
        &format!("{USER_ROWS} INSERT INTO magic_links (token, owner) VALUES ('t1', 1), ('t2', 2);"),
        &format!("{USERS}\n{to}"),
        &["magic_links=login_links"],
    );
    let statements = sql(&pushed);
    assert_eq!(
        statements[0],
        "ALTER TABLE public.magic_links RENAME TO login_links"
    );
    // The serial sequence, the constraints and their indexes get the names a
    // fresh CREATE TABLE would give them, without being rebuilt.
    assert!(
        statements.iter().all(|s| !s.contains("DROP")),
        "{statements:?}"
    );
    assert!(statements.contains(
        &"ALTER SEQUENCE public.magic_links_id_seq RENAME TO login_links_id_seq".to_owned()
    ));
    assert!(statements.contains(&"ALTER TABLE public.login_links RENAME CONSTRAINT magic_links_pkey TO login_links_pkey".to_owned()));
}

#[test]
fn rename_by_annotation_in_the_schema_file() {
    let to = "CREATE TABLE accounts ( -- @renamed from=users\n  id bigint PRIMARY KEY,\n  email text NOT NULL,\n  display_name text -- @renamed from=name\n);";
    let pushed = pair(USERS, USER_ROWS, to, &[]);
    let statements = sql(&pushed);
    assert_eq!(statements[0], "ALTER TABLE public.users RENAME TO accounts");
    assert_eq!(
        statements[1],
        "ALTER TABLE public.accounts RENAME COLUMN name TO display_name"
    );
}

#[test]
fn drop_a_table_is_data_loss_with_the_row_count() {
    let pushed = pair(
        &format!("{USERS}\nCREATE TABLE old (x int);"),
        "INSERT INTO old VALUES (1), (2), (3);",
        USERS,
        &[],
    );
    assert_eq!(sql(&pushed), ["DROP TABLE public.old"]);
    let hazard = &pushed.statements[0].hazards[0];
    assert_eq!(hazard.id.as_str(), "drop-table");
    assert!(hazard.is_data_loss());
    assert!(hazard.message.contains("(3 rows)"), "{}", hazard.message);
}

#[test]
fn drop_a_column_is_data_loss() {
    let pushed = pair(
        USERS,
        USER_ROWS,
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);",
        &[],
    );
    assert_eq!(sql(&pushed), ["ALTER TABLE public.users DROP COLUMN name"]);
    assert!(
        pushed.statements[0].hazards[0]
            .message
            .contains("(2 non-null values)")
    );
}

#[test]
fn type_change_uses_a_cast_and_keeps_values() {
    let pushed = pair(
        "CREATE TABLE t (id int PRIMARY KEY, qty text NOT NULL DEFAULT '0');",
        "INSERT INTO t VALUES (1, '12'), (2, '7');",
        "CREATE TABLE t (id int PRIMARY KEY, qty integer NOT NULL DEFAULT 0);",
        &[],
    );
    assert_eq!(
        sql(&pushed),
        [
            "ALTER TABLE public.t ALTER COLUMN qty DROP DEFAULT, ALTER COLUMN qty TYPE integer USING qty::integer, ALTER COLUMN qty SET DEFAULT 0"
        ]
    );
    assert_eq!(
        hazards(&pushed),
        [vec!["type-change-may-fail", "table-rewrite"]]
    );
}

#[test]
fn widening_a_varchar_is_free_and_narrowing_never_truncates() {
    let pushed = pair(
        "CREATE TABLE t (code varchar(8));",
        "INSERT INTO t VALUES ('abcdefgh');",
        "CREATE TABLE t (code varchar(32));",
        &[],
    );
    assert_eq!(
        sql(&pushed),
        ["ALTER TABLE public.t ALTER COLUMN code TYPE character varying(32)"]
    );
    assert_eq!(hazards(&pushed), [Vec::<&str>::new()]);
    // Narrowing below the data fails instead of truncating (no USING cast).
    let db = crate::support::loaded("CREATE TABLE t (code varchar(32));").unwrap();
    db.execute("INSERT INTO t VALUES ('abcdefghij')");
    let b = crate::support::loaded("CREATE TABLE t (code varchar(4));").unwrap();
    let (expected, _) = b.connect().introspect().unwrap();
    let error = crate::support::push_and_check(&db, "", &expected, &[]).unwrap_err();
    assert!(error.contains("value too long"), "{error}");
    assert_eq!(db.value("SELECT code FROM t"), "abcdefghij");
}

#[test]
fn enum_values_are_added_in_place() {
    let pushed = pair(
        "CREATE TYPE role AS ENUM ('user', 'admin'); CREATE TABLE u (r role NOT NULL DEFAULT 'user');",
        "INSERT INTO u VALUES ('admin'), ('user');",
        "CREATE TYPE role AS ENUM ('guest', 'user', 'moderator', 'admin', 'owner'); CREATE TABLE u (r role NOT NULL DEFAULT 'guest');",
        &[],
    );
    assert_eq!(
        sql(&pushed),
        [
            "ALTER TYPE public.role ADD VALUE 'guest' BEFORE 'user'",
            "ALTER TYPE public.role ADD VALUE 'moderator' BEFORE 'admin'",
            "ALTER TYPE public.role ADD VALUE 'owner'",
            "ALTER TABLE public.u ALTER COLUMN r SET DEFAULT 'guest'::public.role",
        ]
    );
    assert_eq!(
        pushed.statements[0].transaction,
        strata_sql::Transaction::Outside
    );
}

#[test]
fn removing_an_enum_value_rebuilds_the_type_and_keeps_rows() {
    let pushed = pair(
        "CREATE TYPE role AS ENUM ('user', 'legacy', 'admin'); CREATE TABLE u (r role NOT NULL DEFAULT 'user', rs role[]);",
        "INSERT INTO u VALUES ('admin', '{user,admin}'), ('user', NULL);",
        "CREATE TYPE role AS ENUM ('admin', 'user'); CREATE TABLE u (r role NOT NULL DEFAULT 'user', rs role[]);",
        &[],
    );
    let statements = sql(&pushed);
    assert_eq!(
        statements[0],
        "ALTER TYPE public.role RENAME TO role__strata_old"
    );
    assert_eq!(
        statements[1],
        "CREATE TYPE public.role AS ENUM ('admin', 'user')"
    );
    assert!(
        statements
            .iter()
            .any(|s| s.contains("USING rs::text[]::public.role[]")),
        "{statements:?}"
    );
    assert_eq!(
        statements.last().unwrap(),
        "DROP TYPE public.role__strata_old"
    );
}

#[test]
fn defaults_nullability_and_identity_change_in_place() {
    let pushed = pair(
        "CREATE TABLE t (id serial PRIMARY KEY, n int, flag boolean DEFAULT false, s text NOT NULL);",
        "INSERT INTO t (n, s) VALUES (1, 'x'), (2, 'y');",
        "CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n int NOT NULL, flag boolean DEFAULT true, s text);",
        &[],
    );
    let statements = sql(&pushed);
    assert!(
        statements.contains(&"ALTER TABLE public.t ALTER COLUMN id DROP DEFAULT".to_owned()),
        "{statements:?}"
    );
    assert!(statements.iter().any(|s| {
        s.starts_with("ALTER TABLE public.t ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
    }));
    assert!(
        statements.contains(&"SELECT setval('public.t_id_seq1', max(id)) FROM public.t".to_owned())
            || statements.iter().any(|s| s.starts_with("SELECT setval("))
    );
    assert!(statements.contains(&"ALTER TABLE public.t ALTER COLUMN n SET NOT NULL".to_owned()));
    assert!(
        statements.contains(&"ALTER TABLE public.t ALTER COLUMN flag SET DEFAULT true".to_owned())
    );
    assert!(statements.contains(&"ALTER TABLE public.t ALTER COLUMN s DROP NOT NULL".to_owned()));
    assert!(statements.contains(&"DROP SEQUENCE public.t_id_seq".to_owned()));
}

#[test]
fn identity_continues_after_existing_values() {
    let a = crate::support::loaded("CREATE TABLE t (id int PRIMARY KEY, v text);").unwrap();
    a.execute("INSERT INTO t VALUES (1, 'a'), (41, 'b')");
    let b = crate::support::loaded(
        "CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text);",
    )
    .unwrap();
    let (expected, _) = b.connect().introspect().unwrap();
    crate::support::push_and_check(&a, "", &expected, &[]).unwrap();
    a.execute("INSERT INTO t (v) VALUES ('c')");
    assert_eq!(a.value("SELECT max(id) FROM t"), "42");
}

#[test]
fn foreign_key_cycles_are_broken_with_alter_table() {
    let pushed = pair(
        "",
        "",
        "CREATE TABLE a (id int PRIMARY KEY, b_id int REFERENCES b); CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);",
        &[],
    );
    let statements = sql(&pushed);
    assert_eq!(statements.len(), 3, "{statements:?}");
    assert!(
        statements[2].starts_with("ALTER TABLE public.") && statements[2].contains("FOREIGN KEY")
    );
    // And back: dropping both tables drops a foreign key first.
    let pushed = pair(
        "CREATE TABLE a (id int PRIMARY KEY, b_id int); CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a); ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b;",
        "INSERT INTO a VALUES (1, NULL); INSERT INTO b VALUES (1, 1); UPDATE a SET b_id = 1;",
        "",
        &[],
    );
    let statements = sql(&pushed);
    assert!(statements[0].contains("DROP CONSTRAINT"), "{statements:?}");
}

#[test]
fn replacing_a_referenced_key_recreates_the_foreign_keys() {
    let pushed = pair(
        "CREATE TABLE p (id int, code text, CONSTRAINT p_key PRIMARY KEY (id)); CREATE TABLE c (p_id int REFERENCES p);",
        "INSERT INTO p VALUES (1, 'x'); INSERT INTO c VALUES (1);",
        "CREATE TABLE p (id int, code text, CONSTRAINT p_key PRIMARY KEY (id) INCLUDE (code)); CREATE TABLE c (p_id int REFERENCES p);",
        &[],
    );
    let statements = sql(&pushed);
    assert_eq!(
        statements,
        [
            "ALTER TABLE public.c DROP CONSTRAINT c_p_id_fkey",
            "ALTER TABLE public.p DROP CONSTRAINT p_key",
            "ALTER TABLE public.p ADD CONSTRAINT p_key PRIMARY KEY (id) INCLUDE (code)",
            "ALTER TABLE public.c ADD CONSTRAINT c_p_id_fkey FOREIGN KEY (p_id) REFERENCES public.p(id)",
        ]
    );
}

#[test]
fn type_change_under_indexes_and_checks() {
    pair(
        "CREATE TABLE t (n int CHECK (n > 0), m int); CREATE INDEX t_n ON t (n) WHERE m IS NULL; CREATE UNIQUE INDEX t_nm ON t (n, m);",
        "INSERT INTO t VALUES (1, NULL), (2, 3);",
        "CREATE TABLE t (n bigint CHECK (n > 0), m numeric); CREATE INDEX t_n ON t (n) WHERE m IS NULL; CREATE UNIQUE INDEX t_nm ON t (n, m);",
        &[],
    );
}

#[test]
fn generated_columns_change_their_expression() {
    let pushed = pair(
        "CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) STORED); CREATE INDEX t_b ON t (b);",
        "INSERT INTO t (a) VALUES (1), (2);",
        "CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 3) STORED); CREATE INDEX t_b ON t (b);",
        &[],
    );
    let statements = sql(&pushed);
    assert!(statements.contains(&"ALTER TABLE public.t DROP COLUMN b".to_owned()));
    // Computed values are not data loss.
    assert!(
        !pushed
            .statements
            .iter()
            .any(strata_sql::Statement::is_data_loss)
    );
}

#[test]
fn indexes_of_every_shape() {
    pair(
        "CREATE TABLE t (a int, b text, c jsonb, d timestamptz);",
        "INSERT INTO t VALUES (1, 'x', '{}', now());",
        "CREATE TABLE t (a int, b text, c jsonb, d timestamptz);
         CREATE UNIQUE INDEX t_a ON t (a) INCLUDE (b) WHERE a > 0;
         CREATE INDEX t_lower ON t (lower(b) text_pattern_ops, d DESC NULLS LAST);
         CREATE INDEX t_c ON t USING gin (c jsonb_path_ops);
         CREATE INDEX t_hash ON t USING hash (b);",
        &[],
    );
}

#[test]
fn schemas_comments_collations_and_unlogged_tables() {
    pair(
        "CREATE TABLE t (a text);",
        "INSERT INTO t VALUES ('x');",
        "CREATE SCHEMA billing; COMMENT ON SCHEMA billing IS 'money';
         CREATE UNLOGGED TABLE billing.invoices (id int PRIMARY KEY, note text COLLATE \"C\");
         COMMENT ON TABLE billing.invoices IS 'issued invoices'; COMMENT ON COLUMN billing.invoices.note IS 'free text';
         CREATE TABLE t (a text COLLATE \"C\"); COMMENT ON TABLE t IS 'tee';",
        &[],
    );
    pair(
        "CREATE SCHEMA billing; CREATE TABLE billing.x (id int); CREATE UNLOGGED TABLE t (a int);",
        "INSERT INTO t VALUES (1);",
        "CREATE TABLE t (a int);",
        &[],
    );
}

#[test]
fn sequences_and_their_owners() {
    pair(
        "CREATE SEQUENCE counter; CREATE TABLE t (id int DEFAULT nextval('counter'));",
        "INSERT INTO t DEFAULT VALUES;",
        "CREATE SEQUENCE counter AS integer INCREMENT BY 5 START 100 CACHE 10; CREATE TABLE t (id int DEFAULT nextval('counter')); ALTER SEQUENCE counter OWNED BY t.id;",
        &[],
    );
}

#[test]
fn constraints_not_valid_and_deferrable() {
    pair(
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int, n int);",
        "INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 5);",
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int, n int, CONSTRAINT c_n CHECK (n > 0), CONSTRAINT c_u UNIQUE (n) DEFERRABLE INITIALLY DEFERRED);
         ALTER TABLE c ADD CONSTRAINT c_p FOREIGN KEY (p) REFERENCES p ON UPDATE CASCADE NOT VALID;",
        &[],
    );
}

#[test]
fn a_failing_statement_is_named_and_its_transaction_rolled_back() {
    let a = crate::support::loaded("CREATE TABLE t (a text);").unwrap();
    a.execute("INSERT INTO t VALUES ('12'), ('x')");
    let b = crate::support::loaded("CREATE TABLE t (a integer, b int NOT NULL DEFAULT 1, c text);")
        .unwrap();
    let (expected, _) = b.connect().introspect().unwrap();
    let error = crate::support::push_and_check(&a, "", &expected, &[]).unwrap_err();
    assert!(
        error.contains(
            "statement 3 of 3 failed: invalid input syntax for type integer: \"x\" (SQLSTATE 22P02)"
        ),
        "{error}"
    );
    assert!(
        error.contains("ALTER TABLE public.t ALTER COLUMN a TYPE integer USING a::integer"),
        "{error}"
    );
    assert!(error.contains("nothing was applied"), "{error}");
    assert_eq!(
        a.value("SELECT count(*) FROM information_schema.columns WHERE table_name = 't'"),
        "1"
    );
}

#[test]
fn an_enum_value_runs_before_a_rename_so_a_failure_keeps_nothing() {
    // The rename ranks before the new enum value: had it stayed first, it
    // would have been committed on its own before `ADD VALUE`, and kept
    // when the type change after it failed.
    let a = crate::support::loaded(
        "CREATE TYPE role AS ENUM ('user'); CREATE TABLE t (id int PRIMARY KEY, name text, code text, r role);",
    )
    .unwrap();
    a.execute("INSERT INTO t VALUES (1, 'x', 'abcdef', 'user')");
    let b = crate::support::loaded(
        "CREATE TYPE role AS ENUM ('user', 'admin'); CREATE TABLE t (id int PRIMARY KEY, full_name text, code varchar(2), r role);",
    )
    .unwrap();
    let (expected, _) = b.connect().introspect().unwrap();
    let error =
        crate::support::push_and_check(&a, "", &expected, &["t.name=full_name"]).unwrap_err();
    assert!(error.contains("value too long"), "{error}");
    assert_eq!(
        a.value("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 't'"),
        "id,name,code,r"
    );
}
