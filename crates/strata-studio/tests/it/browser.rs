//! The studio in a real browser: headless Chromium over WebDriver.

use strata_testkit::TestDatabase;

use crate::support::{Browser, studio};

const ENTER: &str = "\u{E007}";

fn shop() -> TestDatabase {
    let db = strata_testkit::database();
    db.execute(
        "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, name text);
         CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             user_id integer NOT NULL REFERENCES users ON DELETE CASCADE, total numeric(10,2));
         CREATE INDEX orders_user_id ON orders (user_id);
         INSERT INTO users (email, name)
             SELECT 'user' || i || '@example.com', 'User ' || i FROM generate_series(1, 150) i;
         INSERT INTO orders (user_id, total) SELECT 1 + i % 150, i FROM generate_series(1, 40) i;
         ANALYZE;",
    );
    db
}

/// The cell of `column` in the grid's first row.
fn first_cell(column: &str) -> String {
    format!("#grid tbody tr:first-child td[data-col=\"{column}\"]")
}

#[test]
fn browse_filter_edit_insert_and_delete() {
    let db = shop();
    let running = studio(&db, false);
    let browser = Browser::start();

    // The token in the URL becomes a cookie and leaves the address bar.
    browser.goto(&running.url);
    let link = browser.find("#tables a.table-link[data-table=\"public.users\"]");
    assert!(!browser.current_url().contains("token="));

    // Browse: the first page, then the next one (keyset paging).
    browser.click(&link);
    browser.wait_count("#grid tbody tr", 100);
    browser.wait_text(&first_cell("email"), |t| t == "user1@example.com");
    browser.click(&browser.find("#page-next"));
    browser.wait_text(&first_cell("id"), |t| t == "101");
    browser.wait_count("#grid tbody tr", 50);

    // Filter by one column.
    let filter = browser.find(".filter-input[data-col=\"email\"]");
    browser.type_text(&filter, &format!("user42@example.com{ENTER}"));
    browser.wait_count("#grid tbody tr", 1);
    browser.wait_text(&first_cell("name"), |t| t == "User 42");

    // Edit a cell: double-click, type, Enter, confirm; the database changes.
    browser.double_click(&browser.find(&first_cell("name")));
    let input = browser.find(".cell-input");
    browser.clear(&input);
    browser.type_text(&input, &format!("Ada Lovelace{ENTER}"));
    browser.click(&browser.find("#confirm-ok"));
    browser.wait_text(&first_cell("name"), |t| t == "Ada Lovelace");
    assert_eq!(
        db.value("SELECT name FROM users WHERE id = 42"),
        "Ada Lovelace"
    );

    // An edit the database refuses shows its message in place and changes
    // nothing.
    browser.double_click(&browser.find(&first_cell("email")));
    let input = browser.find(".cell-input");
    browser.clear(&input);
    browser.type_text(&input, &format!("user1@example.com{ENTER}"));
    browser.click(&browser.find("#confirm-ok"));
    let error = browser.wait_text(".cell-error", |t| !t.is_empty());
    assert!(error.contains("duplicate key value"), "{error}");
    assert!(error.contains("23505"), "{error}");
    assert_eq!(
        db.value("SELECT email FROM users WHERE id = 42"),
        "user42@example.com"
    );
    browser.click(&browser.find(".cell-cancel"));

    // Insert a row: empty fields take their defaults.
    browser.click(&browser.find("#clear-filters"));
    browser.wait_count("#grid tbody tr", 100);
    browser.click(&browser.find("#insert-row"));
    browser.type_text(
        &browser.find(".insert-input[data-col=\"email\"]"),
        "grace@example.com",
    );
    browser.type_text(&browser.find(".insert-input[data-col=\"name\"]"), "Grace");
    browser.click(&browser.find("#insert-save"));
    browser.click(&browser.find("#confirm-ok"));
    browser.find("#insert-done");
    assert_eq!(
        db.value("SELECT name FROM users WHERE email = 'grace@example.com'"),
        "Grace"
    );
    assert_eq!(db.value("SELECT count(*) FROM users"), "151");

    // Delete it again, after a confirmation.
    let filter = browser.find(".filter-input[data-col=\"email\"]");
    browser.type_text(&filter, &format!("grace@example.com{ENTER}"));
    browser.wait_count("#grid tbody tr", 1);
    browser.click(&browser.find("#grid tbody tr:first-child .row-delete"));
    browser.click(&browser.find("#confirm-ok"));
    browser.wait_count("#grid tbody tr", 0);
    assert_eq!(
        db.value("SELECT count(*) FROM users WHERE email = 'grace@example.com'"),
        "0"
    );

    // Relations, both ways, and the diagram.
    browser.goto(&format!(
        "http://{}/#/relations/public/users",
        running.address
    ));
    let incoming = browser.wait_text("#incoming", |t| t.contains("public.orders"));
    assert!(incoming.contains("user_id"), "{incoming}");
    browser.goto(&format!(
        "http://{}/#/structure/public/orders",
        running.address
    ));
    browser.wait_text("#constraints", |t| t.contains("users(id)"));
    browser.wait_text("#indexes", |t| t.contains("orders_user_id"));
    browser.goto(&format!("http://{}/#/diagram", running.address));
    browser.wait_count("svg#diagram g.entity", 2);
    browser.wait_count("svg#diagram path.edge", 1);
}

#[test]
fn sql_console_and_refusals() {
    let db = shop();
    let running = studio(&db, false);
    let browser = Browser::start();
    browser.goto(&running.url);
    browser.find("#tables");
    browser.click(&browser.find("#nav-sql"));

    // A query, its result grid.
    let input = browser.find("#sql-input");
    browser.type_text(
        &input,
        "SELECT u.email, count(o.id) AS orders FROM users u JOIN orders o ON o.user_id = u.id GROUP BY u.email ORDER BY u.email LIMIT 3",
    );
    browser.click(&browser.find("#sql-run"));
    browser.wait_count(".result-grid tbody tr", 3);
    browser.wait_text(".result-grid tbody tr:first-child", |t| {
        t.contains("user10@example.com")
    });
    browser.wait_text(".result-grid thead", |t| t.contains("orders"));

    // Read-only mode: a write is refused by the database, in place.
    browser.clear(&input);
    browser.type_text(&input, "DELETE FROM orders");
    browser.click(&browser.find("#sql-run"));
    let error = browser.wait_text(".sql-error", |t| !t.is_empty());
    assert!(error.contains("read-only transaction"), "{error}");
    assert_eq!(db.value("SELECT count(*) FROM orders"), "40");

    // A request without the token is refused, even from the page itself.
    let status = browser.run_async(
        "const done = arguments[arguments.length - 1];
         fetch('/api/schema', { credentials: 'omit' }).then(r => done(r.status), e => done(String(e)));",
    );
    assert_eq!(status, 401);
    let status = browser.run_async(
        "const done = arguments[arguments.length - 1];
         fetch('/api/schema').then(r => done(r.status), e => done(String(e)));",
    );
    assert_eq!(status, 200);
}

#[test]
fn a_browser_without_the_token_gets_401() {
    let db = strata_testkit::database();
    let running = studio(&db, false);
    let browser = Browser::start();
    browser.goto(&format!("http://{}/", running.address));
    let body = browser.wait_text("body", |t| !t.is_empty());
    assert!(body.contains("401"), "{body}");
    browser.goto(&format!("http://{}/?token=wrong", running.address));
    let body = browser.wait_text("body", |t| t.contains("401"));
    assert!(!body.contains(&running.token));
}

#[test]
fn read_only_offers_no_way_to_write() {
    let db = shop();
    let running = studio(&db, true);
    let browser = Browser::start();
    browser.goto(&running.url);
    browser.wait_text("#read-only-badge", |t| t == "read-only");
    browser.click(&browser.find("#tables a.table-link[data-table=\"public.users\"]"));
    browser.wait_count("#grid tbody tr", 100);
    assert!(browser.find_all("#insert-row").is_empty());
    assert!(browser.find_all(".row-delete").is_empty());
    browser.double_click(&browser.find(&first_cell("name")));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(browser.find_all(".cell-input").is_empty());

    browser.click(&browser.find("#nav-sql"));
    let write = browser.find("#sql-mode option[value=\"write\"]");
    let disabled = browser.run_async(
        "const done = arguments[arguments.length - 1];
         done(document.querySelector('#sql-mode option[value=\"write\"]').disabled);",
    );
    assert_eq!(disabled, true, "{write}");
}
