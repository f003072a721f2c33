//! strata's seeder: deterministic, realistic rows for every table of a
//! database, loaded through `COPY`.
//!
//! Values are chosen from each column's type and name (emails, names,
//! URLs, phone numbers, timestamps around a fixed reference date, JSON,
//! enum labels, uuids, …) and respect the schema: NOT NULL, unique
//! columns and constraints (distinct values), foreign keys (tables are
//! filled parents first and children pick existing parent keys; a cycle is
//! broken at a nullable key, left NULL), enums, simple CHECKs (bounds,
//! `IN` lists, lengths, `lower()`, comparisons between columns), and
//! columns the database fills itself (identity, serial, generated) are left
//! to it. The same seed gives the same rows: values come from this crate's
//! own xoshiro256** generator, with one stream per column, so adding a
//! column does not change the others.
//!
//! Start with [`plan`] (pure: a [`Catalog`](strata_model::Catalog) and
//! [`SeedOptions`] in, a [`SeedPlan`] out) and [`load`] (one transaction;
//! progress per table through a callback). It does not read files or
//! print: the caller reads seed files into [`FixedData`] and shows
//! [`Progress`].
//!
//! Generator names for `strata.toml` (`columns.bio = "paragraph"`): email,
//! first_name, last_name, name, username, url, image_url, phone, hash,
//! token, ip, user_agent, title, sentence, paragraph, slug, city, country,
//! country_code, region, street, postal_code, company, currency, locale,
//! timezone, color, status, word, age, year, rating, percent, count, price,
//! latitude, longitude, past, future, birth_date, json, plain; `default`
//! leaves the column to its default, `null` makes it NULL.
//!
//! ```no_run
//! use strata_seed::{SeedOptions, load, plan};
//! let info = strata_postgres::ConnInfo::parse_url("postgres://postgres@localhost/app").unwrap();
//! let mut conn = strata_postgres::Connection::connect(&info).unwrap();
//! let (catalog, _) = conn.introspect().unwrap();
//! let options = SeedOptions { seed: 7, count: 100, ..SeedOptions::default() };
//! let plan = plan(&catalog, &options).unwrap();
//! let report = load(&mut conn, &plan, &mut |_| {}).unwrap();
//! println!("{} rows from seed {}", report.rows(), report.seed);
//! ```
#![warn(missing_docs)]

mod check;
mod config;
mod error;
mod generate;
mod load;
mod plan;
mod rng;
mod value;
mod words;

pub use config::{ColumnConfig, Literal, SeedConfig, TableConfig};
pub use error::SeedError;
pub use load::{Progress, SeedReport, load};
pub use plan::{DEFAULT_COUNT, DEFAULT_SEED, Existing, FixedData, SeedOptions, SeedPlan, plan};
