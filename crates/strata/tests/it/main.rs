//! Integration tests of the library against real PostgreSQL databases.

mod corpus;
mod embedded;
mod objects;
mod push;
mod rows;
mod support;
