//! Prints the introspection script.
#![allow(clippy::print_stdout)] // an example prints its result

fn main() {
    print!("{}", strata_postgres::introspect::script(false));
}
