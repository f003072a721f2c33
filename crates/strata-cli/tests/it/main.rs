//! End-to-end tests of the `strata` binary: real processes, real
//! databases, checked by exit code, output and the database afterwards.

mod backfill;
mod check;
mod interop;
mod migrations;
mod online;
mod push;
mod quickstart;
mod reset;
mod seed;
mod sqlite;
mod studio;
mod support;
