#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! TLS to PostgreSQL against the test server (Debian's PostgreSQL serves
//! TLS with its "snakeoil" certificate, self-signed for `localhost`): the
//! store's connections are encrypted when the string asks, the chain is
//! checked against `sslrootcert` (or the web roots, which do not know a
//! self-signed certificate), and `verify-full` checks the name too.

use shutter_core::{ListQuery, Store};
use shutter_store::PostgresStore;
use shutter_testpeers::postgres::ScratchDb;
use tokio_postgres::NoTls;

/// The admin connection of the test server and its certificate file.
async fn server_certificate(db: &ScratchDb) -> (tokio_postgres::Client, String) {
    let admin = std::env::var("SHUTTER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let (client, connection) = tokio_postgres::connect(&admin, NoTls).await.unwrap();
    tokio::spawn(connection);
    let ssl: String = client.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    assert_eq!(
        ssl, "on",
        "the test PostgreSQL ({}) serves no TLS: Debian's does by default (ssl = on)",
        db.url
    );
    let file: String = client
        .query_one("SHOW ssl_cert_file", &[])
        .await
        .unwrap()
        .get(0);
    let file = if file.starts_with('/') {
        file
    } else {
        let dir: String = client
            .query_one("SHOW data_directory", &[])
            .await
            .unwrap()
            .get(0);
        format!("{dir}/{file}")
    };
    (client, file)
}

fn with(url: &str, params: &str) -> String {
    format!("{url}?{params}")
}

#[tokio::test]
async fn require_with_the_servers_root_encrypts_every_connection() {
    let db = ScratchDb::new().await;
    let (admin, cert) = server_certificate(&db).await;
    let url = with(&db.url, &format!("sslmode=require&sslrootcert={cert}"));
    let store = PostgresStore::connect(&url).await.unwrap();
    assert!(store.list(&ListQuery::default()).await.unwrap().is_empty());
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    let row = admin
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1",
            &[&name],
        )
        .await
        .unwrap();
    let (encrypted, all): (i64, i64) = (row.get(0), row.get(1));
    assert!(all >= 1, "the store holds connections to {name}");
    assert_eq!(encrypted, all, "every connection of the store is TLS");
}

#[tokio::test]
async fn a_certificate_no_root_vouches_for_is_refused() {
    let db = ScratchDb::new().await;
    let _ = server_certificate(&db).await;
    // No sslrootcert: the web roots, which do not know a self-signed one.
    let err = PostgresStore::connect(&with(&db.url, "sslmode=require"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}

#[tokio::test]
async fn verify_full_checks_the_name_the_certificate_is_for() {
    let db = ScratchDb::new().await;
    let (_, cert) = server_certificate(&db).await;
    // The snakeoil certificate names the host (`localhost` or the
    // machine's name), never the address 127.0.0.1.
    let url = with(
        &db.url.replace("localhost", "127.0.0.1"),
        &format!("sslmode=verify-full&sslrootcert={cert}"),
    );
    let err = PostgresStore::connect(&url).await.unwrap_err().to_string();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert!(!err.contains("password"), "{err}");
}
