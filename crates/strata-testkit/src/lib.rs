//! Test support: every test gets its own fresh PostgreSQL database, so
//! tests run in parallel and never skip.
//!
//! The databases live on one throwaway cluster per test process, started
//! from the installed server binaries (as the `postgres` user when run as
//! root) and removed when the process ends; or, when `TEST_DATABASE_URL`
//! is set, on that server.
//!
//! ```no_run
//! let db = strata_testkit::database();
//! let mut conn = db.connect();
//! conn.execute("create table t (id int)").unwrap();
//! ```
#![warn(missing_docs)]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use strata_postgres::{ClusterOptions, ConnInfo, Connection, TempCluster};

enum Server {
    Cluster(TempCluster),
    External(ConnInfo),
}

impl Server {
    fn admin(&self) -> ConnInfo {
        match self {
            Server::Cluster(cluster) => cluster
                .tcp_conn_info("postgres")
                .expect("the test cluster listens on TCP"),
            Server::External(info) => info.clone(),
        }
    }
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        #[allow(clippy::disallowed_methods)] // tests read their environment
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Server::External(
                ConnInfo::parse_url(&url).unwrap_or_else(|e| panic!("TEST_DATABASE_URL: {e}")),
            ),
            _ => Server::Cluster(
                TempCluster::start(&ClusterOptions {
                    tcp: true,
                    ..ClusterOptions::default()
                })
                .unwrap_or_else(|e| {
                    panic!("could not start a PostgreSQL cluster for the tests: {e}")
                }),
            ),
        }
    })
}

/// A fresh, empty database, dropped when the value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    info: ConnInfo,
}

impl TestDatabase {
    /// Its connection settings (TCP on 127.0.0.1 for the throwaway cluster).
    pub fn info(&self) -> &ConnInfo {
        &self.info
    }

    /// Its URL, for passing to the `strata` binary or to other tools.
    pub fn url(&self) -> String {
        self.info.to_url_with_password()
    }

    /// A new connection to it.
    ///
    /// # Panics
    /// When the connection fails.
    pub fn connect(&self) -> Connection {
        Connection::connect(&self.info).unwrap_or_else(|e| panic!("connect to {}: {e}", self.info))
    }

    /// Runs SQL on it.
    ///
    /// # Panics
    /// When the SQL fails.
    pub fn execute(&self, sql: &str) {
        self.connect()
            .execute(sql)
            .unwrap_or_else(|e| panic!("{e}\nin:\n{sql}"));
    }

    /// The first column of every row of a query, as text.
    ///
    /// # Panics
    /// When the query fails.
    pub fn column(&self, sql: &str) -> Vec<Option<String>> {
        self.connect()
            .query_text(sql)
            .unwrap_or_else(|e| panic!("{e}\nin:\n{sql}"))
            .into_iter()
            .map(|row| row.into_iter().next().flatten())
            .collect()
    }

    /// A single value.
    ///
    /// # Panics
    /// When the query fails or returns no row.
    pub fn value(&self, sql: &str) -> String {
        self.column(sql)
            .into_iter()
            .next()
            .flatten()
            .unwrap_or_else(|| panic!("no value from {sql}"))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = server().admin();
        if let Ok(mut conn) = Connection::connect(&admin) {
            let _ = conn.execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.info.dbname
            ));
        }
    }
}

/// A fresh, empty database for one test.
///
/// # Panics
/// When no server can be started or reached.
pub fn database() -> TestDatabase {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let admin = server().admin();
    let name = format!(
        "strata_test_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn =
        Connection::connect(&admin).unwrap_or_else(|e| panic!("connect to the test server: {e}"));
    // FILE_COPY (PostgreSQL 15+) creates a small database several times
    // faster than the default WAL_LOG.
    let strategy = if conn.server_version_num().unwrap_or(0) >= 150_000 {
        " STRATEGY FILE_COPY"
    } else {
        ""
    };
    conn.execute(&format!(
        "CREATE DATABASE \"{name}\" TEMPLATE template0{strategy}"
    ))
    .unwrap_or_else(|e| panic!("create test database: {e}"));
    TestDatabase {
        info: admin.with_dbname(&name),
    }
}

/// Connection settings for the test server's maintenance database, to
/// create scratch databases of one's own.
pub fn server_info() -> ConnInfo {
    server().admin()
}

/// A separate cluster that asks for a password on TCP (unix sockets stay
/// trusted), for tests of authentication errors. Returns the cluster (keep
/// it alive) and TCP settings with the right password.
///
/// # Panics
/// When the cluster cannot be started or configured.
pub fn password_cluster(password: &str) -> (TempCluster, ConnInfo) {
    let cluster = TempCluster::start(&ClusterOptions {
        tcp: true,
        ..ClusterOptions::default()
    })
    .expect("start a password cluster");
    let mut local =
        Connection::connect(&cluster.conn_info("postgres")).expect("connect over the socket");
    local
        .execute(&format!(
            "ALTER ROLE postgres PASSWORD '{}'",
            password.replace('\'', "''")
        ))
        .expect("set the password");
    let hba = cluster.data_dir().join("pg_hba.conf");
    std::fs::write(
        &hba,
        "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
    )
    .expect("write pg_hba.conf");
    local.execute("SELECT pg_reload_conf()").expect("reload");
    let mut info = cluster.tcp_conn_info("postgres").expect("tcp");
    info.password = Some(password.to_owned());
    (cluster, info)
}
