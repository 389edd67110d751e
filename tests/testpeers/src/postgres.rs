//! A PostgreSQL database of its own for each test, on the server the tests
//! use: `SHUTTER_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`, which `tests/run` makes sure
//! answers). It is dropped when the test ends, pass or fail.

use tokio_postgres::NoTls;

const DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug)]
pub struct ScratchDb {
    admin: String,
    name: String,
    /// The connection string of the scratch database.
    pub url: String,
}

impl ScratchDb {
    pub async fn new() -> Self {
        let admin = std::env::var("SHUTTER_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT.to_owned());
        let name = format!("shutter_test_{}", unique());
        let client = connect(&admin).await;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("the test server lets tests create databases");
        let base = admin.split('?').next().unwrap_or(&admin);
        let (server, _) = base.rsplit_once('/').expect("a URL that names a database");
        let url = format!("{server}/{name}");
        Self { admin, name, url }
    }
}

/// Unique enough across the processes and threads of one test run.
fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap_or_else(|err| {
        panic!("no PostgreSQL for tests at {url} ({err}): tests/run starts one; or set SHUTTER_TEST_POSTGRES")
    });
    tokio::spawn(connection);
    client
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs inside the test's runtime: drop the database from a
        // thread of its own, and wait for it.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for dropping the test database");
            runtime.block_on(async {
                let client = connect(&admin).await;
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}
