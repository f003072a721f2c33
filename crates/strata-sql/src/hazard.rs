//! What can go wrong when a statement runs on a live database.

use serde::Serialize;

/// How bad a hazard is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing breaks.
    Info,
    /// Can block the app or fail; needs a look.
    Warning,
    /// Destroys data or breaks the app; needs consent.
    Error,
}

impl Severity {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

macro_rules! hazard_ids {
    ($($(#[$doc:meta])* $variant:ident = $id:literal, $severity:ident, $data_loss:literal;)*) => {
        /// The stable identifier of a kind of hazard.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum HazardId {
            $($(#[$doc])* $variant,)*
        }

        impl HazardId {
            /// Every hazard, for documentation and configuration checks.
            pub const ALL: &'static [HazardId] = &[$(HazardId::$variant,)*];

            /// The kebab-case id (`drop-column`).
            pub fn as_str(self) -> &'static str {
                match self { $(HazardId::$variant => $id,)* }
            }

            /// The default severity.
            pub fn severity(self) -> Severity {
                match self { $(HazardId::$variant => Severity::$severity,)* }
            }

            /// Whether the statement destroys data, so that it needs consent
            /// (`--accept-data-loss`) before it runs.
            pub fn is_data_loss(self) -> bool {
                match self { $(HazardId::$variant => $data_loss,)* }
            }

            /// Looks an id up by its name.
            pub fn parse(name: &str) -> Option<HazardId> {
                match name { $($id => Some(HazardId::$variant),)* _ => None }
            }
        }
    };
}

hazard_ids! {
    /// `DROP TABLE`: the table and every row in it are deleted.
    DropTable = "drop-table", Error, true;
    /// `DROP COLUMN`: the column's values are deleted.
    DropColumn = "drop-column", Error, true;
    /// `DROP SEQUENCE`: the sequence's position is lost.
    DropSequence = "drop-sequence", Error, true;
    /// `DROP EXTENSION`: the extension's objects are removed.
    DropExtension = "drop-extension", Error, true;
    /// A type change that can round, truncate or otherwise change values.
    LossyTypeChange = "lossy-type-change", Error, true;
    /// A type change that fails when a value does not convert.
    TypeChangeMayFail = "type-change-may-fail", Warning, false;
    /// Enum values removed or reordered: the type is replaced.
    EnumRebuild = "enum-rebuild", Warning, false;
    /// The table (and its indexes) are rewritten under an ACCESS EXCLUSIVE lock.
    TableRewrite = "table-rewrite", Warning, false;
    /// Every row is read to check a constraint while writes are blocked.
    ValidatingScan = "validating-scan", Warning, false;
    /// An index is built while writes to the table are blocked.
    BlockingIndexBuild = "blocking-index-build", Warning, false;
    /// A NOT NULL column without a default cannot be added to a table with rows.
    NotNullWithoutDefault = "not-null-without-default", Warning, false;
    /// Renaming a table breaks queries that use the old name.
    RenameTable = "rename-table", Warning, false;
    /// Renaming a column breaks queries that use the old name.
    RenameColumn = "rename-column", Warning, false;
    /// Row-level security or a policy changes which rows roles see.
    AccessChange = "access-change", Warning, false;
    /// A new identity's sequence starts below values already in the column.
    IdentityStart = "identity-start", Info, false;
    /// The statement runs outside the plan's transaction.
    NonTransactional = "non-transactional", Info, false;
    /// `DROP SCHEMA`: every object in it, with its rows, is deleted.
    DropSchema = "drop-schema", Error, true;
    /// `DROP DATABASE`: everything is deleted.
    DropDatabase = "drop-database", Error, true;
    /// `TRUNCATE`: every row is deleted (`CASCADE`: in referencing tables too).
    Truncate = "truncate", Error, true;
    /// `DROP INDEX` without `CONCURRENTLY`: reads and writes wait for it.
    BlockingIndexDrop = "blocking-index-drop", Warning, false;
    /// A statement that takes an `ACCESS EXCLUSIVE` lock for as long as it runs.
    BlockingLock = "blocking-lock", Warning, false;
    /// `CONCURRENTLY` inside a transaction: PostgreSQL refuses to run it.
    ConcurrentInTransaction = "concurrent-in-transaction", Error, false;
    /// `BEGIN`/`COMMIT` inside a migration that already runs in a transaction.
    TransactionNesting = "transaction-nesting", Error, false;
    /// A domain constraint is checked against every column of that domain.
    DomainConstraint = "domain-constraint", Warning, false;
    /// Dropping `NOT NULL` lets NULLs reach code that does not expect them.
    DropNotNull = "drop-not-null", Warning, false;
    /// A foreign key whose referencing columns have no index.
    ForeignKeyWithoutIndex = "foreign-key-without-index", Warning, false;
    /// A statement that fails when run again after a partial failure.
    NonIdempotent = "non-idempotent", Warning, false;
    /// An identifier longer than 63 bytes, which PostgreSQL truncates.
    IdentifierTooLong = "identifier-too-long", Warning, false;
    /// A statement that takes a lock with no `lock_timeout` set.
    MissingLockTimeout = "missing-lock-timeout", Warning, false;
    /// `int`/`smallint` keys and counters run out; `bigint` does not.
    PreferBigint = "prefer-bigint", Info, false;
    /// `serial` columns: an identity column is the standard form.
    PreferIdentity = "prefer-identity", Info, false;
    /// `varchar(n)`: changing the limit later takes a lock; `text` with a check does not.
    PreferText = "prefer-text", Info, false;
    /// `timestamp` without a time zone.
    PreferTimestamptz = "prefer-timestamptz", Info, false;
    /// `char(n)` pads values with spaces.
    CharColumn = "char-column", Info, false;
    /// A migration without a rollback script.
    MissingRollback = "missing-rollback", Warning, false;
    /// Destructive migrations run without a backup configured.
    NoBackup = "no-backup", Warning, false;
    /// The schema files have changes that no migration contains.
    SchemaNotMigrated = "schema-not-migrated", Warning, false;
    /// PostgreSQL rejects the statement.
    InvalidStatement = "invalid-statement", Error, false;
}

/// A hazard attached to a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hazard {
    /// Which kind of hazard.
    #[serde(serialize_with = "serialize_id")]
    pub id: HazardId,
    /// How bad it is.
    pub severity: Severity,
    /// What happens to the live database.
    pub message: String,
    /// What to do instead, or how to make it safe.
    pub help: String,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's serialize_with passes a reference"
)]
fn serialize_id<S: serde::Serializer>(id: &HazardId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(id.as_str())
}

impl Hazard {
    /// A hazard of kind `id` with its default severity.
    pub fn new(id: HazardId, message: impl Into<String>, help: impl Into<String>) -> Hazard {
        Hazard {
            id,
            severity: id.severity(),
            message: message.into(),
            help: help.into(),
        }
    }

    /// Whether it destroys data.
    pub fn is_data_loss(&self) -> bool {
        self.id.is_data_loss()
    }
}
