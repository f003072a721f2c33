use strata_postgres::{LoadError, SourceFile, load_schema};

fn file(path: &str, text: &str) -> SourceFile {
    SourceFile {
        path: path.to_owned(),
        text: text.to_owned(),
    }
}

#[test]
fn statement_order_within_and_across_files_does_not_matter() {
    let db = strata_testkit::database();
    let files = [
        file(
            "a.sql",
            "CREATE TABLE posts (id int PRIMARY KEY, author int REFERENCES authors (id));\nCREATE INDEX ON posts (tag);",
        ),
        file(
            "b.sql",
            "ALTER TABLE posts ADD COLUMN tag text;\nCREATE TABLE authors (id int PRIMARY KEY, kind kind);\nCREATE TYPE kind AS ENUM ('a');",
        ),
    ];
    let report = load_schema(&mut db.connect(), &files).unwrap();
    assert_eq!(report.statements, 5);
    assert!(report.retries >= 1);
    assert_eq!(
        db.value("SELECT count(*) FROM pg_indexes WHERE tablename = 'posts'"),
        "2"
    );
}

#[test]
fn a_broken_statement_names_file_and_line() {
    let db = strata_testkit::database();
    let files = [file(
        "schema/x.sql",
        "CREATE TABLE a (id int);\n\nCREATE TABLE b (\n  id int,\n  oops nosuchtype\n);",
    )];
    let error = load_schema(&mut db.connect(), &files).unwrap_err();
    let LoadError::Statement {
        path, line, error, ..
    } = error
    else {
        panic!("{error:?}")
    };
    assert_eq!((path.as_str(), line), ("schema/x.sql", 5));
    assert!(error.message.contains("nosuchtype"), "{}", error.message);

    let files = [file(
        "y.sql",
        "CREATE TABLE c (id int);\nCREATE TABLE d (id int,);",
    )];
    let error = load_schema(&mut db.connect(), &files).unwrap_err();
    let LoadError::Statement { line, error, .. } = error else {
        panic!("{error:?}")
    };
    assert_eq!(line, 2);
    assert_eq!(error.code, "42601");

    let files = [file(
        "z.sql",
        "CREATE TABLE e (note text DEFAULT 'unterminated);",
    )];
    assert!(matches!(
        load_schema(&mut db.connect(), &files),
        Err(LoadError::Syntax { line: 1, .. })
    ));
}

#[test]
fn tables_whose_foreign_keys_reference_each_other_load() {
    let db = strata_testkit::database();
    let files = [file(
        "cycle.sql",
        "CREATE TABLE departments (id int PRIMARY KEY, manager_id int REFERENCES employees (id));\nCREATE TABLE employees (id int PRIMARY KEY, department_id int CONSTRAINT emp_dept REFERENCES departments ON DELETE SET NULL);",
    )];
    load_schema(&mut db.connect(), &files).unwrap();
    let names = db.column("SELECT conname FROM pg_constraint WHERE contype = 'f' ORDER BY 1");
    assert_eq!(
        names,
        [
            Some("departments_manager_id_fkey".to_owned()),
            Some("emp_dept".to_owned())
        ]
    );
}
