//! The `[seed]` section of `strata.toml`.
//!
//! ```toml
//! [seed]
//! seed = 42                      # default seed (--seed wins)
//! count = 50                     # rows per table (--count wins)
//! files = ["seed/roles.sql", "seed/countries.csv"]  # fixed data, loaded first, in order
//!
//! [seed.tables.users]
//! count = 200
//! columns.role = { values = ["user", "admin"] }
//! columns.bio = { generator = "paragraph", null = 0.5 }
//! columns.avatar_url = "default"           # leave it to the column's default
//! columns.age = { min = 18, max = 65 }
//!
//! [seed.tables.countries]
//! file = "seed/countries.csv"              # this table's rows, as CSV with a header
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

/// `[seed]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedConfig {
    /// The seed used when `--seed` is not given.
    pub seed: Option<u64>,
    /// Rows per table when neither `--count` nor the table says.
    pub count: Option<u64>,
    /// Fixed data loaded before any generated row, in order: `.sql` files
    /// run as they are; `.csv` files (with a header line) go into the table
    /// named like the file (`countries.csv`, `billing.plans.csv`).
    #[serde(default)]
    pub files: Vec<String>,
    /// Per-table settings, by table name (`users` or `schema.users`).
    #[serde(default)]
    pub tables: BTreeMap<String, TableConfig>,
}

/// `[seed.tables.NAME]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// Rows to generate (0: none). A table with a `file` gets none unless
    /// this says otherwise.
    pub count: Option<u64>,
    /// A CSV file (with a header line) of fixed rows for this table.
    pub file: Option<String>,
    /// Per-column settings.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnConfig>,
}

/// How one column is filled: a generator name (`"email"`, `"default"` to
/// leave it to the column's default, `"null"`), or a table of settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnConfig {
    /// A generator by name (see the list in the crate docs).
    pub generator: Option<String>,
    /// One value for every row.
    pub value: Option<Literal>,
    /// Values to pick from.
    pub values: Option<Vec<Literal>>,
    /// Lower bound (numbers; dates and timestamps as `"2024-01-31"`).
    pub min: Option<Literal>,
    /// Upper bound.
    pub max: Option<Literal>,
    /// Share of rows that are NULL, from 0 to 1.
    pub null: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnTable {
    generator: Option<String>,
    value: Option<Literal>,
    values: Option<Vec<Literal>>,
    min: Option<Literal>,
    max: Option<Literal>,
    null: Option<f64>,
}

impl<'de> Deserialize<'de> for ColumnConfig {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ColumnVisitor;
        impl<'de> Visitor<'de> for ColumnVisitor {
            type Value = ColumnConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a generator name or a table with generator, value, values, min, max, null",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ColumnConfig, E> {
                Ok(ColumnConfig {
                    generator: Some(v.to_owned()),
                    ..ColumnConfig::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ColumnConfig, A::Error> {
                let t = ColumnTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ColumnConfig {
                    generator: t.generator,
                    value: t.value,
                    values: t.values,
                    min: t.min,
                    max: t.max,
                    null: t.null,
                })
            }
        }
        deserializer.deserialize_any(ColumnVisitor)
    }
}

/// A value written in the configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Literal {
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A decimal number.
    Float(f64),
    /// Text (also dates and anything else in PostgreSQL's text form).
    Text(String),
}

impl Literal {
    /// The value in PostgreSQL's text input form.
    pub fn to_text(&self) -> String {
        match self {
            Literal::Bool(b) => b.to_string(),
            Literal::Int(i) => i.to_string(),
            Literal::Float(f) => f.to_string(),
            Literal::Text(t) => t.clone(),
        }
    }
}
