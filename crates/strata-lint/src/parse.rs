//! What a statement does, read from its tokens: enough of PostgreSQL's
//! grammar for the DDL that migrations contain (`ALTER TABLE` and its
//! actions, `CREATE TABLE`/`INDEX`/`DOMAIN`, `DROP …`, `TRUNCATE`,
//! transaction control, `SET`). Anything else is [`Stmt::Other`]; the
//! server, not this reader, decides whether SQL is valid.

use strata_syntax::{Token, TokenKind, ident_value, tokenize};

/// A possibly schema-qualified name, as written (folded like PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Name {
    /// The schema, when written.
    pub schema: Option<String>,
    /// The name.
    pub name: String,
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A type name, normalized: `int4`, `int8`, `varchar`, `timestamp`, …
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeName {
    /// The base name, normalized to PostgreSQL's internal name where it
    /// has one (`integer` → `int4`, `character varying` → `varchar`).
    pub base: String,
    /// Whether a modifier was given (`varchar(20)`).
    pub has_modifier: bool,
    /// Whether it is an array.
    pub array: bool,
    /// As written.
    pub text: String,
}

/// A column definition (`CREATE TABLE`, `ADD COLUMN`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent clauses of a column definition"
)]
pub struct ColumnDef {
    /// Its name.
    pub name: String,
    /// Its type (absent for partitions' column options).
    pub type_name: Option<TypeName>,
    /// The default expression's text.
    pub default: Option<String>,
    /// `NOT NULL`.
    pub not_null: bool,
    /// `PRIMARY KEY`.
    pub primary_key: bool,
    /// `UNIQUE`.
    pub unique: bool,
    /// `REFERENCES table`.
    pub references: Option<Name>,
    /// `CHECK (…)`.
    pub check: bool,
    /// `GENERATED ALWAYS AS (…) STORED`.
    pub generated_stored: bool,
    /// `GENERATED … AS IDENTITY`.
    pub identity: bool,
    /// Byte offset of the column's name in the statement.
    pub offset: usize,
}

/// A table constraint (`ADD CONSTRAINT`, or in `CREATE TABLE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// `CONSTRAINT name`, when given.
    pub name: Option<String>,
    /// What kind.
    pub kind: ConstraintKind,
    /// The constrained columns (`FOREIGN KEY (a, b)`, `UNIQUE (a)`).
    pub columns: Vec<String>,
    /// `NOT VALID`.
    pub not_valid: bool,
    /// `USING INDEX name` (a primary key or unique constraint over an
    /// index built before).
    pub using_index: bool,
}

/// The kind of a table constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstraintKind {
    /// `PRIMARY KEY`.
    PrimaryKey,
    /// `UNIQUE`.
    Unique,
    /// `CHECK (…)`.
    Check,
    /// `FOREIGN KEY (…) REFERENCES table`.
    ForeignKey(Name),
    /// `EXCLUDE …`.
    Exclude,
}

/// One action of an `ALTER TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `ADD [COLUMN] [IF NOT EXISTS] …`.
    AddColumn {
        /// The column.
        column: ColumnDef,
        /// `IF NOT EXISTS`.
        if_not_exists: bool,
    },
    /// `DROP [COLUMN] [IF EXISTS] name`.
    DropColumn {
        /// The column.
        name: String,
        /// `IF EXISTS`.
        if_exists: bool,
    },
    /// `ALTER [COLUMN] name [SET DATA] TYPE …`.
    AlterType {
        /// The column.
        column: String,
        /// The new type.
        type_name: TypeName,
        /// `USING …`.
        using: bool,
    },
    /// `ALTER [COLUMN] name SET NOT NULL`.
    SetNotNull {
        /// The column.
        column: String,
    },
    /// `ALTER [COLUMN] name DROP NOT NULL`.
    DropNotNull {
        /// The column.
        column: String,
    },
    /// `ALTER [COLUMN] name SET DEFAULT …` / `DROP DEFAULT`.
    Default {
        /// The column.
        column: String,
    },
    /// `ADD [CONSTRAINT name] …`.
    AddConstraint {
        /// The constraint.
        constraint: Constraint,
        /// `IF NOT EXISTS` is not SQL; constraints cannot be added
        /// idempotently.
        offset: usize,
    },
    /// `VALIDATE CONSTRAINT name`.
    ValidateConstraint {
        /// The constraint.
        name: String,
    },
    /// `DROP CONSTRAINT [IF EXISTS] name`.
    DropConstraint {
        /// The constraint.
        name: String,
        /// `IF EXISTS`.
        if_exists: bool,
    },
    /// `DETACH PARTITION name [CONCURRENTLY | FINALIZE]`.
    DetachPartition {
        /// `CONCURRENTLY`.
        concurrently: bool,
    },
    /// `ATTACH PARTITION …` (validates the partition unless a matching
    /// check constraint exists).
    AttachPartition,
    /// `SET LOGGED`, `SET UNLOGGED`, `SET TABLESPACE`, `CLUSTER ON`, …:
    /// anything else, by its first words.
    Other(String),
}

/// What a statement is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stmt {
    /// `ALTER TABLE [IF EXISTS] [ONLY] name action, …`.
    AlterTable {
        /// The table.
        table: Name,
        /// The actions.
        actions: Vec<Action>,
        /// `IF EXISTS`.
        if_exists: bool,
    },
    /// `ALTER TABLE name RENAME TO new`.
    RenameTable {
        /// The table.
        table: Name,
        /// The new name.
        to: String,
    },
    /// `ALTER TABLE name RENAME [COLUMN] old TO new`.
    RenameColumn {
        /// The table.
        table: Name,
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `CREATE [UNLOGGED|TEMP] TABLE [IF NOT EXISTS] name (…)`.
    CreateTable {
        /// The table.
        table: Name,
        /// Its columns.
        columns: Vec<ColumnDef>,
        /// Its table constraints.
        constraints: Vec<Constraint>,
        /// `IF NOT EXISTS`.
        if_not_exists: bool,
        /// `CREATE TABLE … AS` / `PARTITION OF` / `(LIKE …)`.
        derived: bool,
        /// `TEMPORARY`: gone at the end of the session.
        temporary: bool,
    },
    /// `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON table …`.
    CreateIndex {
        /// The index, when named.
        name: Option<Name>,
        /// The table.
        table: Name,
        /// `CONCURRENTLY`.
        concurrently: bool,
        /// `IF NOT EXISTS`.
        if_not_exists: bool,
        /// `UNIQUE`.
        unique: bool,
        /// The indexed columns (plain column references only), in order.
        columns: Vec<String>,
    },
    /// `DROP INDEX [CONCURRENTLY] [IF EXISTS] name, …`.
    DropIndex {
        /// `CONCURRENTLY`.
        concurrently: bool,
        /// `IF EXISTS`.
        if_exists: bool,
    },
    /// `REINDEX [ (…) ] { INDEX | TABLE | … } [CONCURRENTLY] name`.
    Reindex {
        /// `CONCURRENTLY`.
        concurrently: bool,
    },
    /// `DROP TABLE [IF EXISTS] name, …`.
    DropTable {
        /// The tables.
        tables: Vec<Name>,
        /// `IF EXISTS`.
        if_exists: bool,
    },
    /// `DROP SCHEMA …`.
    DropSchema {
        /// The schemas.
        names: Vec<String>,
        /// `CASCADE`.
        cascade: bool,
    },
    /// `DROP DATABASE …`.
    DropDatabase {
        /// The database.
        name: String,
    },
    /// `TRUNCATE [TABLE] name, … [CASCADE]`.
    Truncate {
        /// The tables.
        tables: Vec<Name>,
        /// `CASCADE`.
        cascade: bool,
    },
    /// `CREATE DOMAIN name AS type … [CHECK (…)]`.
    CreateDomain {
        /// Whether it has a `CHECK` (or `NOT NULL`) constraint.
        constrained: bool,
    },
    /// `ALTER DOMAIN name ADD CONSTRAINT … [NOT VALID]`.
    AlterDomainAddConstraint {
        /// `NOT VALID`.
        not_valid: bool,
    },
    /// `ALTER TYPE name ADD VALUE …`.
    AddEnumValue {
        /// `IF NOT EXISTS`.
        if_not_exists: bool,
    },
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`, `ROLLBACK`, `ABORT` (not `ROLLBACK TO`).
    Commit,
    /// `SET [SESSION | LOCAL] name …`.
    Set {
        /// The setting, lower case.
        name: String,
        /// The value as written, lower case, quotes removed.
        value: String,
    },
    /// `CLUSTER`, `VACUUM FULL`, `LOCK TABLE … ACCESS EXCLUSIVE`, `REFRESH
    /// MATERIALIZED VIEW` without `CONCURRENTLY`.
    ExclusiveMaintenance {
        /// What it is, for messages.
        what: String,
    },
    /// `CREATE [OR REPLACE] …` of objects without data (views, functions,
    /// types, sequences, schemas, extensions, triggers, policies).
    CreateOther {
        /// `IF NOT EXISTS` / `OR REPLACE`.
        idempotent: bool,
    },
    /// `DROP …` of objects without data (views, functions, types, …).
    DropOther {
        /// `IF EXISTS`.
        if_exists: bool,
    },
    /// Anything else (DML, comments, grants, …).
    Other,
}

/// The meaningful tokens of a statement, with a cursor.
struct Cursor<'a> {
    source: &'a str,
    tokens: Vec<Token>,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(source: &'a str) -> Option<Cursor<'a>> {
        let tokens = tokenize(source)
            .ok()?
            .into_iter()
            .filter(|t| !t.kind.is_trivia())
            .collect();
        Some(Cursor {
            source,
            tokens,
            at: 0,
        })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn peek_at(&self, n: usize) -> Option<&Token> {
        self.tokens.get(self.at + n)
    }

    fn done(&self) -> bool {
        self.at >= self.tokens.len()
    }

    fn word_at(&self, n: usize) -> Option<String> {
        let token = self.peek_at(n)?;
        (token.kind == TokenKind::Word).then(|| token.text(self.source).to_ascii_lowercase())
    }

    fn is(&self, word: &str) -> bool {
        self.word_at(0).as_deref() == Some(word)
    }

    /// Consumes `words` if the next tokens are exactly those keywords.
    fn eat(&mut self, words: &[&str]) -> bool {
        let matches = words
            .iter()
            .enumerate()
            .all(|(i, w)| self.word_at(i).as_deref() == Some(*w));
        if matches {
            self.at += words.len();
        }
        matches
    }

    fn eat_kind(&mut self, kind: TokenKind) -> bool {
        if self.peek().is_some_and(|t| t.kind == kind) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn offset(&self) -> usize {
        self.peek().map_or(self.source.len(), |t| t.span.start)
    }

    /// An identifier (a keyword used as a name is fine).
    fn ident(&mut self) -> Option<String> {
        let token = self.peek()?;
        let value = ident_value(token, self.source)?;
        self.at += 1;
        Some(value)
    }

    /// `name` or `schema.name` (a third part, `db.schema.name`, keeps the
    /// last two).
    fn name(&mut self) -> Option<Name> {
        let mut parts = vec![self.ident()?];
        while self.peek().is_some_and(|t| t.kind == TokenKind::Dot) {
            self.at += 1;
            parts.push(self.ident()?);
        }
        let name = parts.pop()?;
        Some(Name {
            schema: parts.pop(),
            name,
        })
    }

    /// Skips a balanced `( … )` if one starts here; returns its inner
    /// tokens' range.
    fn skip_parens(&mut self) -> Option<std::ops::Range<usize>> {
        if !self.peek().is_some_and(|t| t.kind == TokenKind::LParen) {
            return None;
        }
        let start = self.at + 1;
        let mut depth = 0usize;
        while let Some(token) = self.peek() {
            match token.kind {
                TokenKind::LParen => depth += 1,
                TokenKind::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        let end = self.at;
                        self.at += 1;
                        return Some(start..end);
                    }
                }
                _ => {}
            }
            self.at += 1;
        }
        Some(start..self.at)
    }

    /// Tokens up to (not including) the next top-level comma or the end.
    fn until_comma(&mut self) -> std::ops::Range<usize> {
        let start = self.at;
        let mut depth = 0usize;
        while let Some(token) = self.peek() {
            match token.kind {
                TokenKind::LParen | TokenKind::LBracket => depth += 1,
                TokenKind::RParen | TokenKind::RBracket => depth = depth.saturating_sub(1),
                TokenKind::Comma if depth == 0 => break,
                _ => {}
            }
            self.at += 1;
        }
        start..self.at
    }

    fn text(&self, range: std::ops::Range<usize>) -> String {
        if range.is_empty() {
            return String::new();
        }
        let start = self.tokens[range.start].span.start;
        let end = self.tokens[range.end - 1].span.end;
        self.source[start..end].to_owned()
    }

    /// A sub-cursor over `range` of this cursor's tokens.
    fn sub(&self, range: std::ops::Range<usize>) -> Cursor<'a> {
        Cursor {
            source: self.source,
            tokens: self.tokens[range].to_vec(),
            at: 0,
        }
    }

    /// Identifiers in a parenthesized, comma-separated list of plain
    /// column references (`(a, b)`); expressions give nothing.
    fn column_list(&mut self) -> Vec<String> {
        let Some(range) = self.skip_parens() else {
            return Vec::new();
        };
        let mut inner = self.sub(range);
        let mut out = Vec::new();
        while !inner.done() {
            let part = inner.until_comma();
            let mut item = inner.sub(part);
            if let Some(name) = item.ident() {
                // `col`, `col ASC`, `col DESC NULLS LAST`, `col opclass`.
                let rest_is_plain = item
                    .tokens
                    .iter()
                    .skip(item.at)
                    .all(|t| t.kind == TokenKind::Word);
                if rest_is_plain {
                    out.push(name);
                }
            }
            inner.eat_kind(TokenKind::Comma);
        }
        out
    }
}

/// Reads one statement (as split by `strata_syntax::split_statements`).
pub fn parse(statement: &str) -> Stmt {
    let Some(mut c) = Cursor::new(statement) else {
        return Stmt::Other;
    };
    parse_stmt(&mut c).unwrap_or(Stmt::Other)
}

fn parse_stmt(c: &mut Cursor<'_>) -> Option<Stmt> {
    if c.eat(&["alter", "table"]) {
        return alter_table(c);
    }
    if c.eat(&["alter", "domain"]) {
        c.name()?;
        if c.eat(&["add"]) {
            let rest = c.text(c.at..c.tokens.len()).to_ascii_lowercase();
            return Some(Stmt::AlterDomainAddConstraint {
                not_valid: rest.contains("not valid"),
            });
        }
        return Some(Stmt::Other);
    }
    if c.eat(&["alter", "type"]) {
        c.name()?;
        if c.eat(&["add", "value"]) {
            return Some(Stmt::AddEnumValue {
                if_not_exists: c.eat(&["if", "not", "exists"]),
            });
        }
        return Some(Stmt::Other);
    }
    if c.is("create") {
        return create(c);
    }
    if c.eat(&["drop"]) {
        return drop(c);
    }
    if c.eat(&["truncate"]) {
        c.eat(&["table"]);
        let mut tables = Vec::new();
        loop {
            c.eat(&["only"]);
            tables.push(c.name()?);
            c.eat_kind(TokenKind::Operator); // `name *`
            if !c.eat_kind(TokenKind::Comma) {
                break;
            }
        }
        let rest = c.text(c.at..c.tokens.len()).to_ascii_lowercase();
        return Some(Stmt::Truncate {
            tables,
            cascade: rest.split_whitespace().any(|w| w == "cascade"),
        });
    }
    if c.eat(&["begin"]) || c.eat(&["start", "transaction"]) {
        return Some(Stmt::Begin);
    }
    if c.eat(&["commit"]) || c.eat(&["end"]) || c.eat(&["abort"]) {
        return Some(if c.is("prepared") {
            Stmt::Other
        } else {
            Stmt::Commit
        });
    }
    if c.eat(&["rollback"]) {
        // `ROLLBACK TO SAVEPOINT` stays in the transaction.
        return Some(if c.is("to") || c.is("prepared") {
            Stmt::Other
        } else {
            Stmt::Commit
        });
    }
    if c.eat(&["set"]) {
        if !c.eat(&["session"]) {
            c.eat(&["local"]);
        }
        let name = c.ident()?;
        if !c.eat(&["to"]) {
            if c.peek().is_none_or(|t| t.text(c.source) != "=") {
                return Some(Stmt::Other);
            }
            c.at += 1;
        }
        let value = c
            .text(c.at..c.tokens.len())
            .trim_matches('\'')
            .to_ascii_lowercase();
        return Some(Stmt::Set { name, value });
    }
    if c.eat(&["reindex"]) {
        let rest = c.text(c.at..c.tokens.len()).to_ascii_lowercase();
        if rest.starts_with("system") {
            // System catalogs cannot be reindexed concurrently.
            return Some(Stmt::Other);
        }
        return Some(Stmt::Reindex {
            concurrently: rest.split_whitespace().any(|w| w == "concurrently")
                || rest.contains("concurrently"),
        });
    }
    if c.eat(&["cluster"]) {
        return Some(Stmt::ExclusiveMaintenance {
            what: "CLUSTER".to_owned(),
        });
    }
    if c.eat(&["vacuum"]) {
        let rest = c.text(c.at..c.tokens.len()).to_ascii_lowercase();
        let full = rest.starts_with("full") || rest.starts_with("(full") || rest.contains("full");
        return Some(if full {
            Stmt::ExclusiveMaintenance {
                what: "VACUUM FULL".to_owned(),
            }
        } else {
            Stmt::Other
        });
    }
    if c.eat(&["lock"]) {
        let rest = c.text(c.at..c.tokens.len()).to_ascii_lowercase();
        let exclusive = !rest.contains(" in ") || rest.contains("access exclusive");
        return Some(if exclusive {
            Stmt::ExclusiveMaintenance {
                what: "LOCK TABLE … ACCESS EXCLUSIVE".to_owned(),
            }
        } else {
            Stmt::Other
        });
    }
    if c.eat(&["refresh", "materialized", "view"]) {
        return Some(if c.is("concurrently") {
            Stmt::Other
        } else {
            Stmt::ExclusiveMaintenance {
                what: "REFRESH MATERIALIZED VIEW".to_owned(),
            }
        });
    }
    Some(Stmt::Other)
}

fn alter_table(c: &mut Cursor<'_>) -> Option<Stmt> {
    let if_exists = c.eat(&["if", "exists"]);
    c.eat(&["only"]);
    let table = c.name()?;
    c.eat_kind(TokenKind::Operator); // `name *`
    if c.eat(&["rename"]) {
        if c.eat(&["to"]) {
            return Some(Stmt::RenameTable {
                table,
                to: c.ident()?,
            });
        }
        if c.eat(&["constraint"]) {
            return Some(Stmt::Other);
        }
        c.eat(&["column"]);
        let from = c.ident()?;
        c.eat(&["to"]).then_some(())?;
        return Some(Stmt::RenameColumn {
            table,
            from,
            to: c.ident()?,
        });
    }
    if c.is("set") && c.word_at(1).as_deref() == Some("schema") {
        return Some(Stmt::Other);
    }
    let mut actions = Vec::new();
    while !c.done() {
        let range = c.until_comma();
        let mut part = c.sub(range);
        actions.push(action(&mut part));
        c.eat_kind(TokenKind::Comma);
    }
    Some(Stmt::AlterTable {
        table,
        actions,
        if_exists,
    })
}

fn action(c: &mut Cursor<'_>) -> Action {
    let all = c.text(0..c.tokens.len());
    let other = || {
        Action::Other(
            all.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
                .to_ascii_uppercase(),
        )
    };
    if c.eat(&["add"]) {
        let offset = c.offset();
        if c.is("constraint")
            || c.is("primary")
            || c.is("unique")
            || c.is("check")
            || c.is("foreign")
            || c.is("exclude")
        {
            return match table_constraint(c) {
                Some(constraint) => Action::AddConstraint { constraint, offset },
                None => other(),
            };
        }
        c.eat(&["column"]);
        let if_not_exists = c.eat(&["if", "not", "exists"]);
        return match column_def(c) {
            Some(column) => Action::AddColumn {
                column,
                if_not_exists,
            },
            None => other(),
        };
    }
    if c.eat(&["drop"]) {
        if c.eat(&["constraint"]) {
            let if_exists = c.eat(&["if", "exists"]);
            return match c.ident() {
                Some(name) => Action::DropConstraint { name, if_exists },
                None => other(),
            };
        }
        c.eat(&["column"]);
        let if_exists = c.eat(&["if", "exists"]);
        return match c.ident() {
            Some(name) => Action::DropColumn { name, if_exists },
            None => other(),
        };
    }
    if c.eat(&["alter"]) {
        c.eat(&["column"]);
        let Some(column) = c.ident() else {
            return other();
        };
        if c.eat(&["type"]) || c.eat(&["set", "data", "type"]) {
            let Some(type_name) = type_name(c) else {
                return other();
            };
            let rest = c.text(c.at..c.tokens.len()).to_ascii_lowercase();
            return Action::AlterType {
                column,
                type_name,
                using: rest.split_whitespace().any(|w| w == "using"),
            };
        }
        if c.eat(&["set", "not", "null"]) {
            return Action::SetNotNull { column };
        }
        if c.eat(&["drop", "not", "null"]) {
            return Action::DropNotNull { column };
        }
        if c.eat(&["set", "default"]) || c.eat(&["drop", "default"]) {
            return Action::Default { column };
        }
        return other();
    }
    if c.eat(&["validate", "constraint"]) {
        return match c.ident() {
            Some(name) => Action::ValidateConstraint { name },
            None => other(),
        };
    }
    if c.eat(&["detach", "partition"]) {
        let rest = c.text(c.at..c.tokens.len()).to_ascii_lowercase();
        return Action::DetachPartition {
            concurrently: rest.contains("concurrently") || rest.contains("finalize"),
        };
    }
    if c.eat(&["attach", "partition"]) {
        return Action::AttachPartition;
    }
    other()
}

/// Reads a type name: `integer`, `varchar(20)`, `timestamp(3) with time
/// zone`, `double precision[]`, `public.my_enum`.
fn type_name(c: &mut Cursor<'_>) -> Option<TypeName> {
    let start = c.at;
    let mut words = Vec::new();
    let first = c.ident()?;
    words.push(first);
    // Multi-word SQL types.
    let continues = |w: &[String]| -> &'static [&'static str] {
        match w.last().map(String::as_str) {
            Some("double") => &["precision"],
            Some("character" | "char" | "national") => &["varying", "character"],
            Some("bit") => &["varying"],
            _ => &[],
        }
    };
    loop {
        let next = c.word_at(0);
        match next {
            Some(n) if continues(&words).contains(&n.as_str()) => {
                words.push(n);
                c.at += 1;
            }
            _ => break,
        }
    }
    if c.peek().is_some_and(|t| t.kind == TokenKind::Dot) {
        c.at += 1;
        words = vec![c.ident()?];
    }
    let has_modifier = c.skip_parens().is_some();
    // `timestamp [ (p) ] with[out] time zone`, `time …`.
    let mut with_zone = None;
    if c.eat(&["with", "time", "zone"]) {
        with_zone = Some(true);
    } else if c.eat(&["without", "time", "zone"]) {
        with_zone = Some(false);
    }
    let mut array = false;
    while c.peek().is_some_and(|t| t.kind == TokenKind::LBracket) {
        array = true;
        c.at += 1;
        while c.peek().is_some_and(|t| t.kind != TokenKind::RBracket) {
            c.at += 1;
        }
        c.at += 1;
    }
    if c.eat(&["array"]) {
        array = true;
    }
    let written = words.join(" ");
    let base = match written.as_str() {
        "int" | "integer" | "int4" => "int4",
        "smallint" | "int2" => "int2",
        "bigint" | "int8" => "int8",
        "serial" | "serial4" => "serial",
        "smallserial" | "serial2" => "smallserial",
        "bigserial" | "serial8" => "bigserial",
        "character varying" | "varchar" | "char varying" => "varchar",
        "character" | "char" | "bpchar" | "national character" => "bpchar",
        "double precision" | "float8" => "float8",
        "real" | "float4" => "float4",
        "timestamp" => {
            if with_zone == Some(true) {
                "timestamptz"
            } else {
                "timestamp"
            }
        }
        "time" => {
            if with_zone == Some(true) {
                "timetz"
            } else {
                "time"
            }
        }
        "bool" | "boolean" => "bool",
        "decimal" | "numeric" => "numeric",
        other => other,
    }
    .to_owned();
    Some(TypeName {
        base,
        has_modifier,
        array,
        text: c.text(start..c.at),
    })
}

/// Words that end a column's type and start its constraints.
const COLUMN_CONSTRAINT_WORDS: &[&str] = &[
    "constraint",
    "not",
    "null",
    "default",
    "primary",
    "unique",
    "references",
    "check",
    "generated",
    "collate",
    "deferrable",
    "initially",
    "storage",
    "compression",
];

fn column_def(c: &mut Cursor<'_>) -> Option<ColumnDef> {
    let offset = c.offset();
    let name = c.ident()?;
    let mut column = ColumnDef {
        name,
        offset,
        ..ColumnDef::default()
    };
    if !c.done()
        && !c
            .word_at(0)
            .is_some_and(|w| COLUMN_CONSTRAINT_WORDS.contains(&w.as_str()))
    {
        column.type_name = type_name(c);
    }
    while !c.done() {
        if c.eat(&["constraint"]) {
            c.ident();
        } else if c.eat(&["not", "null"]) {
            column.not_null = true;
        } else if c.eat(&["null"]) {
        } else if c.eat(&["default"]) {
            let start = c.at;
            // The default runs up to the next constraint keyword at depth 0.
            let mut depth = 0usize;
            while let Some(token) = c.peek() {
                match token.kind {
                    TokenKind::LParen | TokenKind::LBracket => depth += 1,
                    TokenKind::RParen | TokenKind::RBracket => depth = depth.saturating_sub(1),
                    TokenKind::Word
                        if depth == 0
                            && COLUMN_CONSTRAINT_WORDS
                                .contains(&token.text(c.source).to_ascii_lowercase().as_str()) =>
                    {
                        break;
                    }
                    _ => {}
                }
                c.at += 1;
            }
            column.default = Some(c.text(start..c.at));
        } else if c.eat(&["primary", "key"]) {
            column.primary_key = true;
            column.not_null = true;
        } else if c.eat(&["unique"]) {
            column.unique = true;
            c.eat(&["nulls", "not", "distinct"]);
            c.eat(&["nulls", "distinct"]);
        } else if c.eat(&["references"]) {
            column.references = c.name();
            c.skip_parens();
        } else if c.eat(&["check"]) {
            column.check = true;
            c.skip_parens();
        } else if c.eat(&["generated"]) {
            let rest = c.text(c.at..c.tokens.len()).to_ascii_lowercase();
            if rest.contains("identity") {
                column.identity = true;
            } else if rest.contains("stored") {
                column.generated_stored = true;
            }
            c.at = c.tokens.len();
        } else {
            c.at += 1;
            c.skip_parens();
        }
    }
    Some(column)
}

fn table_constraint(c: &mut Cursor<'_>) -> Option<Constraint> {
    let name = if c.eat(&["constraint"]) {
        c.ident()
    } else {
        None
    };
    let rest = c.text(c.at..c.tokens.len()).to_ascii_lowercase();
    let not_valid = rest.contains("not valid");
    let using_index = rest.contains("using index") && !rest.contains("using index tablespace");
    let (kind, columns) = if c.eat(&["primary", "key"]) {
        (ConstraintKind::PrimaryKey, c.column_list())
    } else if c.eat(&["unique"]) {
        c.eat(&["nulls", "not", "distinct"]);
        c.eat(&["nulls", "distinct"]);
        (ConstraintKind::Unique, c.column_list())
    } else if c.eat(&["check"]) {
        // `CHECK (col IS NOT NULL)` names its column (for SET NOT NULL).
        let mut columns = Vec::new();
        if let Some(range) = c.skip_parens() {
            let mut inner = c.sub(range);
            if let Some(column) = inner.ident()
                && inner.eat(&["is", "not", "null"])
                && inner.done()
            {
                columns.push(column);
            }
        }
        (ConstraintKind::Check, columns)
    } else if c.eat(&["foreign", "key"]) {
        let columns = c.column_list();
        c.eat(&["references"]).then_some(())?;
        (ConstraintKind::ForeignKey(c.name()?), columns)
    } else if c.eat(&["exclude"]) {
        (ConstraintKind::Exclude, Vec::new())
    } else {
        return None;
    };
    Some(Constraint {
        name,
        kind,
        columns,
        not_valid,
        using_index,
    })
}

fn create(c: &mut Cursor<'_>) -> Option<Stmt> {
    c.eat(&["create"]);
    let or_replace = c.eat(&["or", "replace"]);
    // CREATE [GLOBAL|LOCAL] [TEMP|TEMPORARY|UNLOGGED] TABLE
    c.eat(&["global"]);
    c.eat(&["local"]);
    let temporary = c.eat(&["temporary"]) || c.eat(&["temp"]);
    c.eat(&["unlogged"]);
    if c.eat(&["table"]) {
        let if_not_exists = c.eat(&["if", "not", "exists"]);
        let table = c.name()?;
        let mut columns = Vec::new();
        let mut constraints = Vec::new();
        let mut derived = false;
        if c.is("partition") || c.is("of") || c.is("as") {
            derived = true;
        } else if let Some(range) = c.skip_parens() {
            let mut inner = c.sub(range);
            while !inner.done() {
                let part = inner.until_comma();
                let mut item = inner.sub(part);
                if item.is("constraint")
                    || item.is("primary")
                    || item.is("unique")
                    || item.is("check")
                    || item.is("foreign")
                    || item.is("exclude")
                {
                    if let Some(constraint) = table_constraint(&mut item) {
                        constraints.push(constraint);
                    }
                } else if item.is("like") {
                    derived = true;
                } else if let Some(column) = column_def(&mut item) {
                    columns.push(column);
                }
                inner.eat_kind(TokenKind::Comma);
            }
            let rest = c.text(c.at..c.tokens.len()).to_ascii_lowercase();
            if rest.starts_with("as") {
                derived = true;
            }
        }
        return Some(Stmt::CreateTable {
            table,
            columns,
            constraints,
            if_not_exists,
            derived,
            temporary,
        });
    }
    let unique = c.eat(&["unique"]);
    if c.eat(&["index"]) {
        let concurrently = c.eat(&["concurrently"]);
        let if_not_exists = c.eat(&["if", "not", "exists"]);
        let name = if c.is("on") { None } else { c.name() };
        c.eat(&["on"]).then_some(())?;
        c.eat(&["only"]);
        let table = c.name()?;
        if c.eat(&["using"]) {
            c.ident();
        }
        let columns = c.column_list();
        return Some(Stmt::CreateIndex {
            name,
            table,
            concurrently,
            if_not_exists,
            unique,
            columns,
        });
    }
    if c.eat(&["domain"]) {
        let rest = c.text(c.at..c.tokens.len()).to_ascii_lowercase();
        let constrained = rest
            .split_whitespace()
            .any(|w| w == "check" || w.starts_with("check("))
            || rest.contains("not null");
        return Some(Stmt::CreateDomain { constrained });
    }
    let rest = c.text(c.at..c.tokens.len()).to_ascii_lowercase();
    Some(Stmt::CreateOther {
        idempotent: or_replace || rest.contains("if not exists"),
    })
}

fn drop(c: &mut Cursor<'_>) -> Option<Stmt> {
    if c.eat(&["table"]) {
        let if_exists = c.eat(&["if", "exists"]);
        let mut tables = vec![c.name()?];
        while c.eat_kind(TokenKind::Comma) {
            tables.push(c.name()?);
        }
        return Some(Stmt::DropTable { tables, if_exists });
    }
    if c.eat(&["index"]) {
        let concurrently = c.eat(&["concurrently"]);
        let if_exists = c.eat(&["if", "exists"]);
        return Some(Stmt::DropIndex {
            concurrently,
            if_exists,
        });
    }
    if c.eat(&["schema"]) {
        c.eat(&["if", "exists"]);
        let mut names = vec![c.ident()?];
        while c.eat_kind(TokenKind::Comma) {
            names.push(c.ident()?);
        }
        return Some(Stmt::DropSchema {
            names,
            cascade: c.eat(&["cascade"]),
        });
    }
    if c.eat(&["database"]) {
        c.eat(&["if", "exists"]);
        return Some(Stmt::DropDatabase { name: c.ident()? });
    }
    // DROP [MATERIALIZED] VIEW / FUNCTION / TYPE / … [IF EXISTS]
    let rest = c.text(c.at..c.tokens.len()).to_ascii_lowercase();
    Some(Stmt::DropOther {
        if_exists: rest.contains("if exists"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        match text.split_once('.') {
            Some((s, n)) => Name {
                schema: Some(s.to_owned()),
                name: n.to_owned(),
            },
            None => Name {
                schema: None,
                name: text.to_owned(),
            },
        }
    }

    #[test]
    fn alter_table_actions() {
        let stmt = parse(
            r#"ALTER TABLE ONLY "public"."Users" ADD COLUMN IF NOT EXISTS bio varchar(20) NOT NULL DEFAULT 'x', DROP COLUMN old, ALTER COLUMN n TYPE bigint USING n::bigint, ALTER n SET NOT NULL, ADD CONSTRAINT fk FOREIGN KEY (a, b) REFERENCES other (x, y) NOT VALID, VALIDATE CONSTRAINT fk"#,
        );
        let Stmt::AlterTable { table, actions, .. } = stmt else {
            panic!("{stmt:?}")
        };
        assert_eq!(table, name("public.Users"));
        assert_eq!(actions.len(), 6);
        let Action::AddColumn {
            column,
            if_not_exists,
        } = &actions[0]
        else {
            panic!()
        };
        assert!(if_not_exists);
        assert_eq!(column.name, "bio");
        assert_eq!(column.type_name.as_ref().unwrap().base, "varchar");
        assert!(column.type_name.as_ref().unwrap().has_modifier);
        assert!(column.not_null);
        assert_eq!(column.default.as_deref(), Some("'x'"));
        assert!(matches!(&actions[1], Action::DropColumn { name, .. } if name == "old"));
        assert!(
            matches!(&actions[2], Action::AlterType { column, type_name, using: true } if column == "n" && type_name.base == "int8")
        );
        assert!(matches!(&actions[3], Action::SetNotNull { column } if column == "n"));
        let Action::AddConstraint { constraint, .. } = &actions[4] else {
            panic!()
        };
        assert_eq!(constraint.kind, ConstraintKind::ForeignKey(name("other")));
        assert_eq!(constraint.columns, ["a", "b"]);
        assert!(constraint.not_valid);
        assert!(matches!(&actions[5], Action::ValidateConstraint { name } if name == "fk"));
    }

    #[test]
    fn renames_and_create_table() {
        assert_eq!(
            parse("alter table a rename to b"),
            Stmt::RenameTable {
                table: name("a"),
                to: "b".to_owned()
            }
        );
        assert_eq!(
            parse("alter table a rename column x to y"),
            Stmt::RenameColumn {
                table: name("a"),
                from: "x".to_owned(),
                to: "y".to_owned()
            }
        );
        let Stmt::CreateTable {
            columns,
            constraints,
            ..
        } = parse(
            "create table t (id serial primary key, at timestamp(3) without time zone, c char(2), d double precision[] default array[]::double precision[], CONSTRAINT u UNIQUE (c))",
        )
        else {
            panic!()
        };
        let bases: Vec<&str> = columns
            .iter()
            .map(|c| c.type_name.as_ref().unwrap().base.as_str())
            .collect();
        assert_eq!(bases, ["serial", "timestamp", "bpchar", "float8"]);
        assert!(columns[0].primary_key);
        assert!(columns[3].type_name.as_ref().unwrap().array);
        assert_eq!(constraints[0].kind, ConstraintKind::Unique);
    }

    #[test]
    fn indexes_drops_and_transactions() {
        assert!(matches!(
            parse("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON s.t USING btree (a, lower(b))"),
            Stmt::CreateIndex { concurrently: true, if_not_exists: true, unique: true, ref columns, .. } if columns == &["a"]
        ));
        assert!(matches!(
            parse("drop index concurrently if exists i"),
            Stmt::DropIndex {
                concurrently: true,
                if_exists: true
            }
        ));
        assert!(
            matches!(parse("TRUNCATE a, b CASCADE"), Stmt::Truncate { cascade: true, ref tables } if tables.len() == 2)
        );
        assert_eq!(parse("BEGIN"), Stmt::Begin);
        assert_eq!(parse("commit"), Stmt::Commit);
        assert_eq!(parse("rollback to savepoint s"), Stmt::Other);
        assert_eq!(
            parse("SET lock_timeout = '2s'"),
            Stmt::Set {
                name: "lock_timeout".to_owned(),
                value: "2s".to_owned()
            }
        );
        assert_eq!(
            parse("set local statement_timeout to 0"),
            Stmt::Set {
                name: "statement_timeout".to_owned(),
                value: "0".to_owned()
            }
        );
    }
}
