//! SQL lexing for strata.
//!
//! A PostgreSQL-compatible lexer (strings in all their forms, dollar quotes,
//! nested comments, quoted identifiers), a statement splitter that reports
//! each statement's line, and quoting that matches the server's own
//! `quote_ident`, so text strata builds compares equal to text the database
//! prints. No parsing beyond that: the database is the parser.
//!
//! ```
//! let statements = strata_syntax::split_statements("create table a ();\n-- x\ncreate table b ();").unwrap();
//! assert_eq!(statements[1].line, 3);
//! assert_eq!(strata_syntax::quote_ident("order"), "\"order\"");
//! ```
#![warn(missing_docs)]

mod annotate;
mod fk;
mod lexer;
mod quote;
mod split;

pub use annotate::{Annotation, Renamed, rename_annotations};
pub use fk::{SplitForeignKeys, split_foreign_keys};
pub use lexer::{LexError, Token, TokenKind, ident_value, line_of, tokenize};
pub use quote::{
    is_bare_ident, parse_qualified, quote_ident, quote_literal, quote_qualified, rename_identifiers,
};
pub use split::{Statement, split_statements};
