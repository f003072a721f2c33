//! `embed_migrations!("drizzle")`: the migrations folder, read at compile
//! time and compiled into the binary as `include_str!`s (so cargo rebuilds
//! when a migration or the journal changes), for
//! `strata::migrate::EmbeddedMigrations::run` at start-up.
//!
//! Use it through the `strata` crate: `strata::embed_migrations!`.
//! No `syn`: the input is one string literal and the output is text.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use proc_macro::{TokenStream, TokenTree};

/// Embeds a migrations folder (drizzle-kit 0.31's `meta/_journal.json`
/// layout or 1.0's folder-per-migration layout), relative to the crate's
/// `Cargo.toml`; `drizzle` when no path is given.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(code) => code.parse().expect("generated code parses"),
        Err(message) => format!("::core::compile_error!({message:?})")
            .parse()
            .expect("compile_error parses"),
    }
}

struct Entry {
    tag: String,
    /// The journal's `when`; for 1.0's layout the name's timestamp, which
    /// the runtime reads.
    when: Option<i64>,
    sql: PathBuf,
    rollback: Option<PathBuf>,
}

fn expand(input: TokenStream) -> Result<String, String> {
    let relative = argument(input)?;
    let manifest = std::env::var("CARGO_MANIFEST_DIR").map_err(|_| {
        "embed_migrations!: CARGO_MANIFEST_DIR is not set (build with cargo)".to_owned()
    })?;
    let dir = Path::new(&manifest).join(&relative);
    if !dir.is_dir() {
        return Err(format!(
            "embed_migrations!: `{}` is not a folder (paths are relative to {manifest}/Cargo.toml)",
            dir.display()
        ));
    }
    let journal = dir.join("meta").join("_journal.json");
    let (entries, tracked) = if journal.is_file() {
        (journal_entries(&dir, &journal)?, Some(journal))
    } else {
        (folder_entries(&dir)?, None)
    };
    let mut code = String::from("{\n");
    if let Some(journal) = tracked {
        // Rebuild when the journal changes (a migration added or dropped).
        let _ = writeln!(
            code,
            "const _: &str = ::core::include_str!({:?});",
            path_text(&journal)?
        );
    }
    code.push_str("::strata::migrate::EmbeddedMigrations::new(&[\n");
    for entry in &entries {
        let rollback = match &entry.rollback {
            Some(path) => format!(
                "::core::option::Option::Some(::core::include_str!({:?}))",
                path_text(path)?
            ),
            None => "::core::option::Option::None".to_owned(),
        };
        let shown = Path::new(&relative).join(
            entry
                .sql
                .strip_prefix(&dir)
                .map_err(|_| "embed_migrations!: a file outside the folder".to_owned())?,
        );
        let when = match entry.when {
            Some(when) => format!("::core::option::Option::Some({when}i64)"),
            None => "::core::option::Option::None".to_owned(),
        };
        let _ = writeln!(
            code,
            "::strata::migrate::EmbeddedMigration {{ tag: {:?}, when: {when}, path: {:?}, sql: ::core::include_str!({:?}), rollback: {rollback} }},",
            entry.tag,
            path_text(&shown)?,
            path_text(&entry.sql)?,
        );
    }
    code.push_str("])\n}");
    Ok(code)
}

/// The one string literal, or none.
fn argument(input: TokenStream) -> Result<String, String> {
    let tokens: Vec<TokenTree> = input.into_iter().collect();
    match tokens.as_slice() {
        [] => Ok("drizzle".to_owned()),
        [TokenTree::Literal(literal)] => unquote(&literal.to_string()).ok_or_else(|| {
            format!("embed_migrations!: expected a string literal, got `{literal}`")
        }),
        _ => Err("embed_migrations!: expected one string literal, the migrations folder relative to Cargo.toml (`embed_migrations!(\"drizzle\")`)".to_owned()),
    }
}

/// The value of a plain or raw string literal.
fn unquote(text: &str) -> Option<String> {
    if let Some(raw) = text.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let body = raw.get(hashes..raw.len().checked_sub(hashes)?)?;
        return Some(body.strip_prefix('"')?.strip_suffix('"')?.to_owned());
    }
    let body = text.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            '0' => out.push('\0'),
            _ => return None,
        }
    }
    Some(out)
}

fn path_text(path: &Path) -> Result<String, String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("embed_migrations!: `{}` is not UTF-8", path.display()))
}

fn journal_entries(dir: &Path, journal: &Path) -> Result<Vec<Entry>, String> {
    let text = std::fs::read_to_string(journal).map_err(|e| {
        format!(
            "embed_migrations!: cannot read `{}`: {e}",
            journal.display()
        )
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "embed_migrations!: `{}` line {}, column {}: {e}",
            journal.display(),
            e.line(),
            e.column()
        )
    })?;
    let entries = value
        .get("entries")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| {
            format!(
                "embed_migrations!: `{}` has no `entries` array",
                journal.display()
            )
        })?;
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let tag = entry.get("tag").and_then(serde_json::Value::as_str);
        let when = entry.get("when").and_then(serde_json::Value::as_i64);
        let (Some(tag), Some(when)) = (tag, when) else {
            return Err(format!(
                "embed_migrations!: `{}` entry {i} needs a string `tag` and a number `when`",
                journal.display()
            ));
        };
        let sql = dir.join(format!("{tag}.sql"));
        if !sql.is_file() {
            return Err(format!(
                "embed_migrations!: the journal lists `{tag}` but `{}` does not exist",
                sql.display()
            ));
        }
        let rollback = dir.join(format!("{tag}_rollback.sql"));
        out.push(Entry {
            tag: tag.to_owned(),
            when: Some(when),
            sql,
            rollback: rollback.is_file().then_some(rollback),
        });
    }
    Ok(out)
}

/// drizzle-kit 1.0: `YYYYMMDDHHMMSS_name/migration.sql`, in name order.
fn folder_entries(dir: &Path) -> Result<Vec<Entry>, String> {
    let read = std::fs::read_dir(dir)
        .map_err(|e| format!("embed_migrations!: cannot read `{}`: {e}", dir.display()))?;
    let mut names: Vec<String> = read
        .flatten()
        .filter(|e| e.path().join("migration.sql").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() > 15 && n.as_bytes()[..14].iter().all(u8::is_ascii_digit))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(format!(
            "embed_migrations!: `{}` has neither meta/_journal.json nor YYYYMMDDHHMMSS_name/migration.sql folders",
            dir.display()
        ));
    }
    Ok(names
        .into_iter()
        .map(|name| {
            let rollback = dir.join(&name).join("rollback.sql");
            Entry {
                sql: dir.join(&name).join("migration.sql"),
                rollback: rollback.is_file().then_some(rollback),
                when: None,
                tag: name,
            }
        })
        .collect())
}
