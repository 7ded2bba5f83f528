//! A fresh database per test: a SQLite file in a temporary folder by default, or a new
//! PostgreSQL database when `DEVAUTH_TEST_DATABASE=postgres`.
//!
//! The PostgreSQL server is taken from `DEVAUTH_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When PostgreSQL is selected and unreachable,
//! the test fails: it is never skipped.

use sqlx::Connection;

pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    None,
    Folder(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

pub fn postgres_selected() -> bool {
    std::env::var("DEVAUTH_TEST_DATABASE").is_ok_and(|value| value == "postgres")
}

fn postgres_admin_url() -> String {
    std::env::var("DEVAUTH_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl TestDatabase {
    pub async fn create() -> Self {
        if postgres_selected() {
            return Self::create_postgres().await;
        }
        let folder = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", folder.path().join("devauth.db").display());
        Self {
            url,
            cleanup: Cleanup::Folder(folder),
        }
    }

    /// A SQLite database at `path`, which the caller's temporary folder removes.
    pub fn at_sqlite(path: std::path::PathBuf) -> Self {
        Self {
            url: format!("sqlite://{}", path.display()),
            cleanup: Cleanup::None,
        }
    }

    pub async fn create_postgres() -> Self {
        let admin_url = postgres_admin_url();
        let mut connection = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|error| {
                panic!("PostgreSQL selected but unreachable at {admin_url}: {error}")
            });
        let name = format!("devauth_test_{}", devauth_server::crypto::random_id());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut connection)
            .await
            .expect("create test database");
        let mut url = url::Url::parse(&admin_url).expect("PostgreSQL URL");
        url.set_path(&name);
        Self {
            url: url.to_string(),
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin_url, name } = &self.cleanup else {
            return;
        };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop runs inside the test's runtime, which cannot block on itself: drop the database
        // from a short-lived thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut connection = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut connection)
                    .await
                    .ok()
            })
        })
        .join();
    }
}
