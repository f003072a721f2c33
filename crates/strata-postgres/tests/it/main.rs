//! Integration tests of the PostgreSQL driver against a real server.

mod introspect;
mod load;
mod tls;
