//! Prints the introspection script.
fn main() {
    print!("{}", strata_postgres::introspect::script(false));
}
