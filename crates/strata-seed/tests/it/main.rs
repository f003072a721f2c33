//! Integration tests of the seeder against real PostgreSQL: every test
//! gets its own database.

mod abe_stack;
mod constraints;

use strata_seed::{SeedOptions, SeedReport, load, plan};
use strata_testkit::TestDatabase;

/// The example app's schema files, in an order that loads.
pub(crate) fn abe_stack_schema() -> String {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/abe-stack/schema");
    [
        "auth.sql",
        "magic-link.sql",
        "notifications.sql",
        "oauth.sql",
        "security.sql",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(dir.join(f)).expect("schema file"))
    .collect::<Vec<_>>()
    .join("\n")
}

/// Plans and loads with `options` on `db`.
pub(crate) fn seed(db: &TestDatabase, options: &SeedOptions) -> SeedReport {
    let mut conn = db.connect();
    let (catalog, _) = conn.introspect().expect("introspect");
    let plan = plan(&catalog, options).unwrap_or_else(|e| panic!("plan: {e}"));
    load(&mut conn, &plan, &mut |_| {}).unwrap_or_else(|e| panic!("load: {e:?}"))
}

/// Every row of every public table, as text, sorted: for comparing two
/// databases.
pub(crate) fn dump(db: &TestDatabase) -> Vec<String> {
    let tables =
        db.column("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    let mut rows = Vec::new();
    for table in tables.into_iter().flatten() {
        let mut lines = db.column(&format!(
            "SELECT t::text FROM \"{table}\" t ORDER BY t::text"
        ));
        rows.push(format!("-- {table}"));
        rows.extend(lines.drain(..).flatten());
    }
    rows
}

pub(crate) fn count(db: &TestDatabase, table: &str) -> u64 {
    db.value(&format!("SELECT count(*) FROM {table}"))
        .parse()
        .expect("a count")
}
