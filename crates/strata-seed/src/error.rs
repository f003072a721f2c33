use std::path::PathBuf;

use strata_model::QualifiedName;
use strata_postgres::PgError;

/// Why seeding could not be planned or loaded. Nothing is kept when loading
/// fails: the whole load runs in one transaction.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum SeedError {
    /// Talking to PostgreSQL.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Postgres(#[from] PgError),
    /// A column whose type the seeder cannot fill, NOT NULL and without a default.
    #[error("column `{table}.{column}` has type `{data_type}`, which the seeder cannot generate")]
    #[diagnostic(
        code(strata::seed::unsupported_type),
        help(
            "set its values in strata.toml: [seed.tables.{}] columns.{column} = {{ value = \"…\" }} (or values = […]), or give the column a default",
            table.name
        )
    )]
    UnsupportedType {
        /// The table.
        table: QualifiedName,
        /// The column.
        column: String,
        /// Its type.
        data_type: String,
    },
    /// Foreign keys that form a cycle of NOT NULL columns.
    #[error(
        "the foreign keys between {tables} form a cycle of NOT NULL columns: no table can be filled first"
    )]
    #[diagnostic(
        code(strata::seed::fk_cycle),
        help(
            "make one of the foreign-key columns nullable or DEFERRABLE, or load these tables from seed files (seed.files)"
        )
    )]
    ForeignKeyCycle {
        /// The tables in the cycle.
        tables: String,
    },
    /// A NOT NULL foreign key whose parent table has no rows.
    #[error("`{table}` needs rows in `{parent}` (foreign key {columns}), which has none")]
    #[diagnostic(
        code(strata::seed::no_parent_rows),
        help(
            "give `{parent}` a count above 0 in [seed.tables], or load its rows from a seed file"
        )
    )]
    NoParentRows {
        /// The child table.
        table: QualifiedName,
        /// The foreign-key columns.
        columns: String,
        /// The referenced table.
        parent: QualifiedName,
    },
    /// The configuration names a table that is not in the database.
    #[error("[seed.tables.{name}] names a table that is not in the database")]
    #[diagnostic(
        code(strata::seed::unknown_table),
        help(
            "check the name (`table` or `schema.table`); the schema may need `strata push` first"
        )
    )]
    UnknownTable {
        /// The name as configured.
        name: String,
    },
    /// The configuration names a column that is not in its table.
    #[error("[seed.tables.{table}] names column `{column}`, which the table does not have")]
    #[diagnostic(code(strata::seed::unknown_column))]
    UnknownColumn {
        /// The table as configured.
        table: String,
        /// The column.
        column: String,
    },
    /// A column setting that cannot be used.
    #[error("[seed.tables.{table}] columns.{column}: {reason}")]
    #[diagnostic(
        code(strata::seed::column_config),
        help(
            "generators: {generators}; or \"default\", \"null\"; or a table with generator, value, values, min, max, null"
        )
    )]
    ColumnConfig {
        /// The table as configured.
        table: String,
        /// The column.
        column: String,
        /// What is wrong.
        reason: String,
        /// The known generator names.
        generators: &'static str,
    },
    /// Tables to seed already hold rows.
    #[error("{tables} already hold rows; seeding adds rows only to empty tables")]
    #[diagnostic(
        code(strata::seed::not_empty),
        help("empty them first (`strata seed --truncate`), or start over (`strata reset`)")
    )]
    NotEmpty {
        /// The tables, with their row counts.
        tables: String,
    },
    /// A fixed-data file failed.
    #[error("seed file `{path}`: {error}")]
    #[diagnostic(code(strata::seed::file))]
    File {
        /// The file.
        path: PathBuf,
        /// What the server said.
        error: PgError,
    },
    /// A CSV file that cannot be loaded.
    #[error("seed file `{path}`: {reason}")]
    #[diagnostic(
        code(strata::seed::csv),
        help(
            "a CSV seed file starts with a header line of column names and is named after its table (`users.csv`, `billing.plans.csv`), or is set as [seed.tables.NAME] file"
        )
    )]
    Csv {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Loading a table failed.
    #[error(
        "loading `{table}` failed ({loaded} of {tables} tables loaded before it, nothing kept): {error}"
    )]
    #[diagnostic(code(strata::seed::load))]
    Load {
        /// The table.
        table: QualifiedName,
        /// Tables loaded before it.
        loaded: usize,
        /// Tables to load.
        tables: usize,
        /// What the server said.
        error: PgError,
        /// What to do.
        #[help]
        help: Option<String>,
    },
}
