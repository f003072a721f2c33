//! SQLite end to end, on real database files in temporary folders: the
//! pair property (a database built from schema A, with rows, pushed to
//! schema B has B's catalog, keeps its rows and passes
//! `PRAGMA foreign_key_check`), table rebuilds, migrations (generate then
//! migrate from empty equals push; rollback), and sqldef's SQLite cases.

mod corpus;
mod migrate;
mod pair;
mod support;
