//! TLS against a real server with `ssl = on` and a certificate from a test
//! authority: libpq's `sslmode` semantics, certificate checks that fail when
//! they should, and the password kept out of every message.

use std::path::{Path, PathBuf};
use std::process::Command;

use strata_postgres::{ClusterOptions, ConnInfo, Connection, TempCluster};

/// A certificate authority and a server certificate for `localhost` and
/// 127.0.0.1 (another for `elsewhere.test`, to fail name checks), made
/// with `openssl` in a fresh directory the server's user can read.
struct Certs {
    dir: PathBuf,
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (Debian: apt install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn certs(names: &str) -> Certs {
    let dir = std::env::temp_dir().join(format!(
        "strata-tls-{}-{}",
        std::process::id(),
        names.len() + names.bytes().map(usize::from).sum::<usize>()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &dir,
        &[
            &[
                "req",
                "-x509",
                "-days",
                "2",
                "-subj",
                "/CN=strata test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
            ][..],
            &ec[..],
        ]
        .concat(),
    );
    openssl(
        &dir,
        &[
            &[
                "req",
                "-new",
                "-subj",
                "/CN=server",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ][..],
            &ec[..],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("ext.cnf"),
        format!("basicConstraints=CA:FALSE\nsubjectAltName={names}\n"),
    )
    .expect("write ext.cnf");
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-days",
            "2",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.crt",
        ],
    );
    // The server reads its key only when its own user owns it, mode 0600.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if root {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("chown");
        assert!(status.success());
    }
    let status = Command::new("chmod")
        .args(["600"])
        .arg(dir.join("server.key"))
        .status()
        .expect("chmod");
    assert!(status.success());
    Certs { dir }
}

fn tls_cluster(certs: &Certs) -> TempCluster {
    TempCluster::start(&ClusterOptions {
        tcp: true,
        settings: vec![
            "ssl=on".to_owned(),
            format!("ssl_cert_file={}", certs.dir.join("server.crt").display()),
            format!("ssl_key_file={}", certs.dir.join("server.key").display()),
        ],
    })
    .expect("start a cluster with ssl = on")
}

fn url(cluster: &TempCluster, host: &str, query: &str) -> ConnInfo {
    let tcp = cluster.tcp_conn_info("postgres").expect("tcp");
    ConnInfo::parse_url(&format!(
        "postgres://postgres:not-a-secret@{host}:{}/postgres?{query}",
        tcp.port
    ))
    .expect("a valid URL")
}

fn encrypted(info: &ConnInfo) -> Result<String, String> {
    let mut conn = Connection::connect(info).map_err(|e| {
        let text = format!(
            "{e} {:?}",
            miette::Diagnostic::help(&e).map(|h| h.to_string())
        );
        assert!(
            !text.contains("not-a-secret"),
            "the password leaked: {text}"
        );
        text
    })?;
    let rows = conn
        .query_text("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .map_err(|e| e.to_string())?;
    Ok(rows[0][0].clone().unwrap_or_default())
}

#[test]
fn sslmodes_encrypt_and_check_certificates_as_libpq_does() {
    let certs = certs("DNS:localhost,IP:127.0.0.1");
    let cluster = tls_cluster(&certs);
    let ca = certs.dir.join("ca.crt").display().to_string();

    assert_eq!(
        encrypted(&url(&cluster, "127.0.0.1", "sslmode=require")).unwrap(),
        "true"
    );
    assert_eq!(
        encrypted(&url(&cluster, "127.0.0.1", "sslmode=prefer")).unwrap(),
        "true"
    );
    assert_eq!(
        encrypted(&url(&cluster, "127.0.0.1", "")).unwrap(),
        "true",
        "prefer is the default"
    );
    assert_eq!(
        encrypted(&url(&cluster, "127.0.0.1", "sslmode=disable")).unwrap(),
        "false"
    );
    for host in ["127.0.0.1", "localhost"] {
        let info = url(
            &cluster,
            host,
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        );
        assert_eq!(encrypted(&info).unwrap(), "true", "{host}");
        assert!(
            info.redacted().contains("sslmode=verify-full"),
            "{}",
            info.redacted()
        );
    }
    // The built-in public roots do not know the test authority.
    let error = encrypted(&url(&cluster, "127.0.0.1", "sslmode=verify-full")).unwrap_err();
    assert!(error.contains("sslrootcert"), "{error}");
    let error = encrypted(&url(&cluster, "127.0.0.1", "sslmode=verify-ca")).unwrap_err();
    assert!(error.contains("certificate"), "{error}");
    // An unreadable root file says which.
    let error = encrypted(&url(
        &cluster,
        "127.0.0.1",
        "sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem",
    ))
    .unwrap_err();
    assert!(error.contains("/nonexistent/ca.pem"), "{error}");
}

#[test]
fn verify_ca_accepts_another_name_and_verify_full_does_not() {
    let certs = certs("DNS:elsewhere.test");
    let cluster = tls_cluster(&certs);
    let ca = certs.dir.join("ca.crt").display().to_string();
    assert_eq!(
        encrypted(&url(
            &cluster,
            "127.0.0.1",
            &format!("sslmode=verify-ca&sslrootcert={ca}")
        ))
        .unwrap(),
        "true"
    );
    let error = encrypted(&url(
        &cluster,
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .unwrap_err();
    assert!(error.contains("certificate"), "{error}");
}
