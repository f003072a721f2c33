//! strata and drizzle-kit on the same project, with the real tools from npm
//! (versions pinned in `tests/interop/package.json`): a folder and database
//! made by drizzle-kit continue under strata, drizzle's migrator applies
//! what strata generates, both agree on what is applied, and `drizzle-kit
//! check` accepts strata's folder.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use serde_json::json;

use crate::support::{Project, Run};

/// `tests/interop`, with its `node_modules` installed (`npm ci` the first
/// time; the registry is the only network the tests use).
fn interop_dir() -> &'static Path {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    static INSTALL: Mutex<()> = Mutex::new(());
    READY.get_or_init(|| {
        let _guard = INSTALL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop");
        let dir = dir.canonicalize().expect("tests/interop exists");
        if !dir.join("node_modules/drizzle-kit/bin.cjs").is_file() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("npm (Node.js) is needed for the drizzle-kit interoperability tests");
            assert!(status.success(), "npm ci in {} failed", dir.display());
        }
        dir
    })
}

/// `node ARGS` in the project, with `node_modules` linked in so that the
/// project's TypeScript schema resolves `drizzle-orm`.
fn node(project: &Project, args: &[&str], url: &str) -> Run {
    let modules = project.dir.join("node_modules");
    if !modules.exists() {
        std::os::unix::fs::symlink(interop_dir().join("node_modules"), &modules)
            .expect("link node_modules");
    }
    let output = Command::new("node")
        .args(args)
        .current_dir(&project.dir)
        .env("DATABASE_URL", url)
        .output()
        .expect("run node");
    Run(output)
}

fn drizzle_kit(project: &Project, args: &[&str], url: &str) -> Run {
    let bin = interop_dir().join("node_modules/drizzle-kit/bin.cjs");
    let mut all = vec![bin.to_str().expect("UTF-8 path")];
    all.extend_from_slice(args);
    node(project, &all, url)
}

/// drizzle-orm's migrator (`migrate()` from `drizzle-orm/node-postgres`).
fn drizzle_migrate(project: &Project, url: &str) -> Run {
    let script = interop_dir().join("migrate.mjs");
    node(
        project,
        &[script.to_str().expect("UTF-8 path"), "drizzle"],
        url,
    )
}

const DRIZZLE_CONFIG: &str = r#"import { defineConfig } from "drizzle-kit";
export default defineConfig({ dialect: "postgresql", schema: "./src/schema.ts", out: "./drizzle" });
"#;

const TS_SCHEMA: &str = r#"import { pgTable, serial, text, integer, timestamp, boolean, index } from "drizzle-orm/pg-core";
export const users = pgTable("users", {
  id: serial("id").primaryKey(),
  email: text("email").notNull().unique(),
  admin: boolean("admin").notNull().default(false),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});
export const posts = pgTable("posts", {
  id: serial("id").primaryKey(),
  userId: integer("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
  title: text("title").notNull(),
}, (t) => [index("posts_user_id_idx").on(t.userId)]);
"#;

fn tracking_count(db: &strata_testkit::TestDatabase) -> String {
    db.value("SELECT count(*) FROM drizzle.__drizzle_migrations")
}

#[test]
fn a_drizzle_kit_project_continues_under_strata_and_drizzle_applies_what_strata_wrote() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::empty();
    project.write("drizzle.config.ts", DRIZZLE_CONFIG);
    project.write("src/schema.ts", TS_SCHEMA);
    project.write(
        "strata.toml",
        "dialect = \"postgresql\"\nschema = \"schema\"\nout = \"drizzle\"\n",
    );

    // drizzle-kit writes the first migration, drizzle's migrator applies it.
    drizzle_kit(&project, &["generate", "--name", "init"], &url).expect_code(0);
    drizzle_migrate(&project, &url).expect_code(0);
    assert_eq!(tracking_count(&db), "1");

    // strata reads drizzle's folder and tracking table: nothing pending, no drift.
    let status = project
        .strata(&["--database-url", &url, "status", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(status["applied"][0]["tag"], "0000_init", "{status}");
    assert_eq!(status["pending"], json!([]));
    assert_eq!(status["edited"], json!([]));
    assert_eq!(status["drift"], json!([]));
    project
        .strata(&["--database-url", &url, "migrate"])
        .expect_code(0);
    assert_eq!(tracking_count(&db), "1", "strata applied nothing twice");

    // The adoption path: pull the schema as SQL files, then change it.
    project
        .strata(&["--database-url", &url, "pull"])
        .expect_code(0);
    let same = project.strata(&["--database-url", &url, "generate"]);
    same.expect_code(0);
    assert!(
        same.stdout().contains("No changes"),
        "the pulled files are what drizzle-kit's folder produces: {}",
        same.stdout()
    );
    project.write(
        "schema/comments.sql",
        "CREATE TABLE comments (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    post_id integer NOT NULL REFERENCES posts (id) ON DELETE CASCADE,\n    body text NOT NULL\n);\nCREATE INDEX comments_post_id_idx ON comments (post_id);\n",
    );
    let generated = project.strata(&["--database-url", &url, "generate", "--name", "comments"]);
    generated.expect_code(0);
    assert!(
        generated.stdout().contains("drizzle/0001_comments.sql"),
        "{}",
        generated.stdout()
    );
    // drizzle-kit accepts the folder strata extended.
    let check = drizzle_kit(&project, &["check"], &url);
    check.expect_code(0);
    assert!(
        check.stdout().contains("Everything's fine"),
        "{}",
        check.stdout()
    );

    // strata applies its migration; drizzle's migrator then has nothing to do.
    project
        .strata(&["--database-url", &url, "migrate"])
        .expect_code(0);
    assert_eq!(tracking_count(&db), "2");
    drizzle_migrate(&project, &url).expect_code(0);
    assert_eq!(tracking_count(&db), "2", "drizzle re-applied a migration");

    // A fresh database migrated by drizzle's migrator alone: drizzle-kit's
    // migration, then strata's, gives exactly the schema files.
    let fresh = strata_testkit::database();
    let fresh_url = fresh.url();
    drizzle_migrate(&project, &fresh_url).expect_code(0);
    assert_eq!(tracking_count(&fresh), "2");
    let plan = project
        .strata(&["--database-url", &fresh_url, "push", "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(plan["statements"], json!([]), "{plan}");
    // And both tools agree on it.
    let status = project
        .strata(&["--database-url", &fresh_url, "status", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(status["applied"].as_array().map(Vec::len), Some(2));
    assert_eq!(status["pending"], json!([]));
    assert_eq!(status["drift"], json!([]));
}

#[test]
fn drizzle_kit_check_and_drizzles_migrator_accept_a_folder_strata_wrote() {
    let db = strata_testkit::database();
    let url = db.url();
    let project = Project::abe_stack();
    project.write("drizzle.config.ts", DRIZZLE_CONFIG);
    project
        .strata(&["--database-url", &url, "generate", "--name", "init"])
        .expect_code(0);
    let auth = project.read("schema/auth.sql").replace(
        "    avatar_url text,",
        "    avatar_url text,\n    locale text NOT NULL DEFAULT 'en',",
    );
    project.write("schema/auth.sql", &auth);
    project
        .strata(&["--database-url", &url, "generate", "--name", "locale"])
        .expect_code(0);
    let check = drizzle_kit(&project, &["check"], &url);
    check.expect_code(0);
    assert!(
        check.stdout().contains("Everything's fine"),
        "{}",
        check.stdout()
    );

    drizzle_migrate(&project, &url).expect_code(0);
    assert_eq!(tracking_count(&db), "2");
    let plan = project
        .strata(&["--database-url", &url, "push", "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(plan["statements"], json!([]), "{plan}");
    // strata sees drizzle's rows as its own.
    let status = project
        .strata(&["--database-url", &url, "status", "--json", "--no-drift"])
        .expect_code(0)
        .json();
    assert_eq!(status["applied"].as_array().map(Vec::len), Some(2));
    assert_eq!(status["pending"], json!([]));
}
