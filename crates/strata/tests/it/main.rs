//! Integration tests of the library against real PostgreSQL databases.

mod corpus;
mod push;
mod rows;
mod support;
