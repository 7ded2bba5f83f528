//! One benchmark run: the baseline, devauthd on each backend, the oidc-provider peer and the
//! `devauth token` timing, in that order, each server in its own process and stopped before
//! the next one starts.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::time::Instant;

use crate::baseline::{self, BaselineWorker};
use crate::cli::RunArgs;
use crate::cli_token;
use crate::devauthd::{self, Backend, Devauthd, PostgresDatabase, BENCH_CLIENT, BENCH_INTERVAL};
use crate::devauthd::{DEFAULT_CLIENT, SCOPE};
use crate::load::{self, Timing, Worker};
use crate::machine::{self, Machine};
use crate::peer;
use crate::process::ServerProcess;
use crate::report::{
    mebibytes, thousands, PendingStage, PendingStages, Report, Row, Scenario, System,
};
use crate::scenarios::{
    self, CodePool, DeviceAuthorizationWorker, Endpoints, FlowWorker, PendingPollWorker,
    RefreshWorker, SlowDownWorker, UserinfoWorker, DEVAUTHD_ENDPOINTS, PEER_ENDPOINTS,
};

/// State shared by the parts of a run.
struct Run<'a> {
    args: &'a RunArgs,
    timing: Timing,
    dir: PathBuf,
    started: Instant,
    report: Report,
}

impl Run<'_> {
    fn progress(&self, message: &str) {
        eprintln!("[{:6.1} s] {message}", self.started.elapsed().as_secs_f64());
    }

    /// Runs one scenario and adds its row.
    async fn measure<W: Worker>(
        &mut self,
        system: &System,
        scenario: Scenario,
        workers: Vec<W>,
        server: &ServerProcess,
    ) -> Vec<W> {
        let (measurement, workers) = load::run(workers, self.timing, Some(server.pid())).await;
        let row = Row::from_measurement(system.clone(), scenario, &measurement);
        self.progress(&format!(
            "{:?} {:?}: {} completed, {:.0}/s, {} errors",
            system, scenario, row.completed, row.rate, row.errors
        ));
        self.report.rows.push(row);
        workers
    }
}

/// Runs every part that the arguments select and returns the report.
pub(crate) async fn run(args: &RunArgs) -> anyhow::Result<Report> {
    let temp = tempfile::Builder::new()
        .prefix("devauth-bench-")
        .tempdir()
        .context("cannot create a temporary folder")?;
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("this program's path has no folder")?
            .to_owned(),
    };
    if args.poll_pool < args.concurrency as u64 {
        anyhow::bail!(
            "--poll-pool {} is smaller than --concurrency {}: each worker needs its own code",
            args.poll_pool,
            args.concurrency
        );
    }

    let mut run = Run {
        args,
        timing: Timing {
            warmup: Duration::from_secs_f64(args.warmup),
            duration: Duration::from_secs_f64(args.duration),
        },
        dir: temp.path().to_owned(),
        started: Instant::now(),
        report: Report {
            machine: Machine::describe(),
            settings: settings_text(args),
            rows: Vec::new(),
            pending: Vec::new(),
            skipped: Vec::new(),
            notes: Vec::new(),
            load_at_end: String::new(),
        },
    };

    bench_baseline(&mut run).await?;

    if args.no_devauthd {
        run.report
            .skipped
            .push("devauthd: left out with --no-devauthd.".to_owned());
    } else {
        bench_devauthd_backends(&mut run, &bin_dir).await?;
    }

    if args.no_peer {
        run.report
            .skipped
            .push("oidc-provider: left out with --no-peer.".to_owned());
    } else if let Some(reason) = peer::unavailable_reason(&args.peer_oidc_provider) {
        run.progress(&format!("peer not available: {reason}"));
        run.report
            .skipped
            .push(format!("oidc-provider: peer not available: {reason}."));
    } else {
        bench_peer(&mut run).await?;
    }

    run.report.load_at_end = machine::load_average();
    run.progress("done");
    Ok(run.report)
}

/// Runs devauthd on SQLite, then on PostgreSQL when `--postgres` is given.
async fn bench_devauthd_backends(run: &mut Run<'_>, bin_dir: &Path) -> anyhow::Result<()> {
    let devauthd_exe = bin_dir.join("devauthd");
    if !devauthd_exe.is_file() {
        anyhow::bail!(
            "{} not found: build it with `cargo build --release -p devauthd`, or pass --bin-dir",
            devauthd_exe.display()
        );
    }
    let sqlite_dir = run.dir.join("sqlite");
    std::fs::create_dir_all(&sqlite_dir)?;
    let sqlite = Backend::Sqlite(sqlite_dir.join("devauth.db"));
    bench_devauthd(run, &devauthd_exe, bin_dir, sqlite).await?;

    if let Some(admin_url) = &run.args.postgres {
        run.progress("creating a PostgreSQL database");
        let database = PostgresDatabase::create(admin_url).await?;
        bench_devauthd(run, &devauthd_exe, bin_dir, Backend::Postgres(database)).await?;
    }

    Ok(())
}

fn settings_text(args: &RunArgs) -> String {
    let counts: Vec<String> = args.pending_counts.iter().map(|n| thousands(*n)).collect();
    format!(
        "- {} s warm-up and {} s measured per scenario, {} connections (one load worker each), load generator on {} thread(s)\n\
         - pending counts: {} besides a poll pool of {} device codes, each polled at most once per {} s\n\
         - devauthd RUST_LOG={}{}",
        args.warmup,
        args.duration,
        args.concurrency,
        args.client_threads,
        counts.join(", "),
        thousands(args.poll_pool),
        BENCH_INTERVAL.as_secs(),
        args.server_log,
        if args.smoke { "\n- smoke run: figures are not benchmarks" } else { "" },
    )
}

async fn bench_baseline(run: &mut Run<'_>) -> anyhow::Result<()> {
    run.progress("starting the baseline server");
    let server = baseline::start(&run.dir).await?;
    let workers = (0..run.args.concurrency)
        .map(|_| BaselineWorker::new(server.addr))
        .collect();
    run.measure(&System::Baseline, Scenario::Baseline, workers, &server)
        .await;
    server.stop().await
}

/// Runs the devauthd scenarios on one backend, then drops the backend's database whatever
/// happened.
async fn bench_devauthd(
    run: &mut Run<'_>,
    exe: &Path,
    bin_dir: &Path,
    backend: Backend,
) -> anyhow::Result<()> {
    let outcome = bench_devauthd_on(run, exe, bin_dir, &backend).await;
    let removed = backend.remove().await;
    outcome?;
    removed
}

async fn bench_devauthd_on(
    run: &mut Run<'_>,
    exe: &Path,
    bin_dir: &Path,
    backend: &Backend,
) -> anyhow::Result<()> {
    let system = System::Devauthd(backend.label());
    run.progress(&format!("starting devauthd on {}", backend.label()));
    let devauthd = devauthd::start(exe, &run.dir, backend, &run.args.server_log).await?;
    let server = &devauthd.server;
    let addr = server.addr;
    let concurrency = run.args.concurrency;

    let stages = pending_stages(run, &system, server, DEVAUTHD_ENDPOINTS, Some(backend)).await?;
    run.report.pending.push(stages);

    run.progress("slow_down polls");
    let codes = scenarios::seed(
        addr,
        DEVAUTHD_ENDPOINTS,
        BENCH_CLIENT,
        concurrency as u64,
        concurrency,
        true,
    )
    .await?;
    let workers: Vec<_> = codes
        .iter()
        .map(|code| SlowDownWorker::new(addr, DEVAUTHD_ENDPOINTS, BENCH_CLIENT, code))
        .collect();
    run.measure(&system, Scenario::SlowDown, workers, server)
        .await;

    run.progress("device authorization");
    let workers = (0..concurrency)
        .map(|_| DeviceAuthorizationWorker::new(addr, DEVAUTHD_ENDPOINTS, DEFAULT_CLIENT))
        .collect();
    run.measure(&system, Scenario::DeviceAuthorization, workers, server)
        .await;

    run.progress(&format!("signing in {concurrency} page sessions"));
    let rss_before = server.rss();
    let flows = sign_in_all(&devauthd, concurrency).await?;
    if let (Some(before), Some(after)) = (rss_before, server.rss()) {
        run.report.notes.push(format!(
            "{}: signing in {concurrency} page sessions at once ({concurrency} concurrent argon2id \
             verifications) took server RSS from {} to {}; the RSS of the rows measured after it \
             (full flow, refresh, userinfo) includes that growth.",
            system.label(),
            mebibytes(before),
            mebibytes(after)
        ));
    }
    let flows = run
        .measure(&system, Scenario::FullFlow, flows, server)
        .await;

    let tokens: Vec<_> = flows
        .into_iter()
        .filter_map(|flow| flow.last_tokens)
        .collect();
    if tokens.len() < concurrency {
        anyhow::bail!(
            "only {} of {concurrency} flow workers completed a flow, so refresh and userinfo \
             cannot run one worker per connection",
            tokens.len()
        );
    }
    let workers = tokens
        .into_iter()
        .map(|tokens| RefreshWorker::new(addr, BENCH_CLIENT, tokens))
        .collect();
    let refreshed = run
        .measure(&system, Scenario::Refresh, workers, server)
        .await;

    let workers = refreshed
        .iter()
        .map(|worker| UserinfoWorker::new(addr, &worker.tokens.access_token))
        .collect::<anyhow::Result<Vec<_>>>()?;
    run.measure(&system, Scenario::Userinfo, workers, server)
        .await;

    if matches!(backend, Backend::Sqlite(_)) {
        bench_cli_token(run, bin_dir, &devauthd).await;
    }

    run.progress(&format!("stopping devauthd on {}", backend.label()));
    devauthd.server.stop().await
}

async fn sign_in_all(devauthd: &Devauthd, count: usize) -> anyhow::Result<Vec<FlowWorker>> {
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let addr = devauthd.server.addr;
            let issuer = devauthd.issuer.clone();
            tokio::spawn(
                async move { FlowWorker::sign_in(addr, &issuer, BENCH_CLIENT, SCOPE).await },
            )
        })
        .collect();
    let mut workers = Vec::with_capacity(count);
    for task in tasks {
        workers.push(
            task.await?
                .context("signing in on the verification page failed")?,
        );
    }
    Ok(workers)
}

/// Seeds the poll pool, then for each pending count seeds grants up to it and measures
/// pending polls, recording RSS and database bytes along the way.
async fn pending_stages(
    run: &mut Run<'_>,
    system: &System,
    server: &ServerProcess,
    endpoints: Endpoints,
    backend: Option<&Backend>,
) -> anyhow::Result<PendingStages> {
    let addr = server.addr;
    let concurrency = run.args.concurrency;
    let pool_size = run.args.poll_pool;
    let rss_empty = server.rss();

    run.progress(&format!(
        "seeding a poll pool of {} grants",
        thousands(pool_size)
    ));
    let codes =
        scenarios::seed(addr, endpoints, BENCH_CLIENT, pool_size, concurrency, true).await?;
    let pool = CodePool::new(codes, BENCH_INTERVAL);

    let mut stages = Vec::new();
    let mut others = 0;
    for &count in &run.args.pending_counts.clone() {
        let seeding = Instant::now();
        scenarios::seed(
            addr,
            endpoints,
            BENCH_CLIENT,
            count - others,
            concurrency,
            false,
        )
        .await?;
        run.progress(&format!(
            "seeded {} more pending grants in {:.1} s",
            thousands(count - others),
            seeding.elapsed().as_secs_f64()
        ));
        others = count;
        let rss_seeded = server.rss();

        // Each stage starts with every code pollable, however fast the previous one ran.
        pool.wait_until_all_pollable().await;
        let stalls_before = pool.stalls.load(Ordering::Relaxed);
        let workers = (0..concurrency)
            .map(|_| PendingPollWorker::new(addr, endpoints, BENCH_CLIENT, Arc::clone(&pool)))
            .collect();
        run.measure(system, Scenario::PendingPoll(count), workers, server)
            .await;

        let database = match backend {
            Some(backend) => Some(backend.size().await?),
            None => None,
        };
        stages.push(PendingStage {
            others: count,
            stored: pool_size + count,
            rss_seeded,
            rss_polled: server.rss(),
            database,
            stalls: pool.stalls.load(Ordering::Relaxed) - stalls_before,
        });
    }
    Ok(PendingStages {
        system: system.clone(),
        pool: pool_size,
        rss_empty,
        stages,
    })
}

async fn bench_peer(run: &mut Run<'_>) -> anyhow::Result<()> {
    let dir = run.args.peer_oidc_provider.clone();
    let version = peer::version(&dir).unwrap_or_else(|| "(version unknown)".to_owned());
    let system = System::Peer(version);
    run.progress("starting oidc-provider");
    let server = peer::start(&dir, &run.dir).await?;

    let stages = pending_stages(run, &system, &server, PEER_ENDPOINTS, None).await?;
    run.report.pending.push(stages);

    run.progress("oidc-provider device authorization");
    let workers = (0..run.args.concurrency)
        .map(|_| DeviceAuthorizationWorker::new(server.addr, PEER_ENDPOINTS, DEFAULT_CLIENT))
        .collect();
    run.measure(&system, Scenario::DeviceAuthorization, workers, &server)
        .await;
    server.stop().await
}

/// Times `devauth token` when the release `devauth` binary is there and logs in; otherwise
/// records why the row is not available.
async fn bench_cli_token(run: &mut Run<'_>, bin_dir: &Path, devauthd: &Devauthd) {
    let exe = bin_dir.join("devauth");
    if !exe.is_file() {
        let reason = format!(
            "`devauth token`: not available: {} not found (build it with `cargo build --release -p devauth`).",
            exe.display()
        );
        run.progress(&reason);
        run.report.skipped.push(reason);
        return;
    }
    run.progress("timing `devauth token` with a cached token");
    let home = run.dir.join("devauth-home");
    match cli_token::measure(&exe, devauthd, &home, run.args.token_runs).await {
        Ok(timings) => {
            run.report.rows.push(Row::from_runs(
                Scenario::CliToken,
                &timings.devauth_token.latencies_us,
                timings.devauth_token.total,
            ));
            run.report.rows.push(Row::from_runs(
                Scenario::CliTrue,
                &timings.true_command.latencies_us,
                timings.true_command.total,
            ));
        }
        Err(error) => {
            let reason = format!("`devauth token`: not available: {error:#}.");
            run.progress(&reason);
            run.report.skipped.push(reason);
        }
    }
}
