//! Times introspection of a database: `cargo run --example introspect -- URL [N]`.
#![allow(clippy::print_stdout)] // an example prints its result

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let info = strata_postgres::ConnInfo::parse_url(&args[1]).expect("url");
    let n: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(5);
    let mut conn = strata_postgres::Connection::connect(&info).expect("connect");
    let mut times = Vec::new();
    for _ in 0..n {
        let started = std::time::Instant::now();
        let (catalog, _) = conn.introspect().expect("introspect");
        times.push(started.elapsed());
        assert!(catalog.tables.len() < usize::MAX);
    }
    times.sort();
    println!(
        "median {:?} min {:?} max {:?}",
        times[n / 2],
        times[0],
        times[n - 1]
    );
}
