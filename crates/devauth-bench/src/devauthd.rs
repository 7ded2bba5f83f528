//! The server under test: the release `devauthd` binary on a fresh database (a SQLite file in
//! a temporary folder, or a new PostgreSQL database that is dropped afterwards), set up with
//! its own admin commands.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::Connection as _;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::process::{self, ServerProcess};

/// The public client that the benchmark polls with: its 1-second interval is the smallest a
/// client can have, so a pool of device codes can be polled at full rate without slow_down.
pub(crate) const BENCH_CLIENT: &str = "bench";
/// The client `devauthd serve` creates on first start; device authorization requests use it.
pub(crate) const DEFAULT_CLIENT: &str = "devauth";
/// The scopes both clients may request.
pub(crate) const SCOPE: &str = "profile offline_access";
/// The polling interval of [`BENCH_CLIENT`], in seconds.
pub(crate) const BENCH_INTERVAL: Duration = Duration::from_secs(1);
/// The account that approves devices on the verification page.
pub(crate) const BENCH_USER: &str = "bench";
/// Its password. The server listens on loopback only and its database is thrown away.
pub(crate) const BENCH_PASSWORD: &str = "bench-password-not-secret";

/// How long one admin command may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The database of devauthd for one run.
pub(crate) enum Backend {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database created for this run.
    Postgres(PostgresDatabase),
}

impl Backend {
    /// Returns the name shown in the report.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }

    fn url(&self) -> String {
        match self {
            Backend::Sqlite(path) => format!("sqlite://{}", path.display()),
            Backend::Postgres(database) => database.url.clone(),
        }
    }

    /// Returns the bytes the database takes: the SQLite file and its write-ahead log, or
    /// `pg_database_size` on PostgreSQL (which has no separate log figure here).
    pub(crate) async fn size(&self) -> anyhow::Result<DatabaseSize> {
        match self {
            Backend::Sqlite(path) => {
                let file_len = |path: &Path| std::fs::metadata(path).map_or(0, |meta| meta.len());
                let mut wal = path.as_os_str().to_owned();
                wal.push("-wal");
                Ok(DatabaseSize {
                    data: file_len(path),
                    log: Some(file_len(Path::new(&wal))),
                })
            }
            Backend::Postgres(database) => Ok(DatabaseSize {
                data: database.size_bytes().await?,
                log: None,
            }),
        }
    }

    /// Removes what this backend created outside the run's temporary folder.
    pub(crate) async fn remove(self) -> anyhow::Result<()> {
        match self {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(database) => database.drop_database().await,
        }
    }
}

/// Bytes a database takes on disk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DatabaseSize {
    /// The database itself.
    pub(crate) data: u64,
    /// SQLite's write-ahead log file (`-wal`).
    pub(crate) log: Option<u64>,
}

/// A PostgreSQL database created for one run.
pub(crate) struct PostgresDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    /// Creates a new, empty database on the server that `admin_url` connects to.
    pub(crate) async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let name = format!("devauth_bench_{}_{seconds}", std::process::id());
        let mut url = url::Url::parse(admin_url)
            .with_context(|| format!("invalid PostgreSQL URL {admin_url:?}"))?;
        url.set_path(&format!("/{name}"));

        let mut connection = sqlx::PgConnection::connect(admin_url)
            .await
            .with_context(|| format!("cannot connect to PostgreSQL at {admin_url}"))?;
        // The name is built above from digits and underscores only, so it needs no quoting.
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut connection)
            .await
            .with_context(|| format!("cannot create database {name}"))?;
        connection.close().await?;
        Ok(Self {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        })
    }

    async fn size_bytes(&self) -> anyhow::Result<u64> {
        let mut connection = sqlx::PgConnection::connect(&self.admin_url).await?;
        let size: i64 = sqlx::query_scalar("SELECT pg_database_size($1)")
            .bind(&self.name)
            .fetch_one(&mut connection)
            .await?;
        connection.close().await?;
        Ok(u64::try_from(size).unwrap_or(0))
    }

    async fn drop_database(self) -> anyhow::Result<()> {
        let mut connection = sqlx::PgConnection::connect(&self.admin_url).await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut connection)
        .await
        .with_context(|| format!("cannot drop database {}", self.name))?;
        connection.close().await?;
        Ok(())
    }
}

/// A running devauthd.
pub(crate) struct Devauthd {
    pub(crate) server: ServerProcess,
    /// Its issuer, `http://` plus the listen address; page POSTs send it as `Origin`.
    pub(crate) issuer: String,
}

/// Sets up the database with devauthd's own admin commands (the benchmark client and user),
/// then starts `devauthd serve` on a free loopback port with `RUST_LOG=log_level`.
pub(crate) async fn start(
    exe: &Path,
    dir: &Path,
    backend: &Backend,
    log_level: &str,
) -> anyhow::Result<Devauthd> {
    let database = backend.url();
    admin(exe, &database, &["migrate"], None).await?;
    let interval = BENCH_INTERVAL.as_secs().to_string();
    admin(
        exe,
        &database,
        &[
            "client",
            "add",
            BENCH_CLIENT,
            "--name",
            "devauth benchmark",
            "--scope",
            SCOPE,
            "--interval",
            &interval,
            "--device-code-lifetime",
            "3600",
        ],
        None,
    )
    .await?;
    admin(
        exe,
        &database,
        &["user", "add", BENCH_USER],
        Some(BENCH_PASSWORD),
    )
    .await?;

    let addr = process::free_loopback_addr()?;
    let mut command = Command::new(exe);
    command
        .arg("--database")
        .arg(&database)
        .arg("serve")
        .arg("--listen")
        .arg(addr.to_string())
        .env("RUST_LOG", log_level);
    let log = dir.join(format!("devauthd-{}.log", backend.label()));
    let server = ServerProcess::start("devauthd", command, addr, &log, "/healthz").await?;
    Ok(Devauthd {
        server,
        issuer: format!("http://{addr}"),
    })
}

/// Runs one `devauthd` admin command, with `stdin` written to its standard input.
async fn admin(
    exe: &Path,
    database: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> anyhow::Result<()> {
    let mut child = Command::new(exe)
        .arg("--database")
        .arg(database)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    if let Some(mut input) = child.stdin.take() {
        if let Some(text) = stdin {
            input.write_all(format!("{text}\n").as_bytes()).await?;
        }
    }
    let output = tokio::time::timeout(ADMIN_TIMEOUT, child.wait_with_output())
        .await
        .with_context(|| format!("devauthd {} timed out", args.join(" ")))??;
    if !output.status.success() {
        anyhow::bail!(
            "devauthd {} failed with {}: {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
