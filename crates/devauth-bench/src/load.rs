//! The load generator: a fixed number of worker tasks, each running its step in a loop until
//! the deadline. Steps that finish during the warm-up are not measured. The server's RSS is
//! sampled while the scenario runs.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::cpu::{CpuUse, Snapshot};
use crate::process;

/// How often the server's RSS is sampled during a scenario.
const RSS_SAMPLE_PERIOD: Duration = Duration::from_millis(100);

/// How many distinct error messages a scenario keeps for the report.
const KEPT_ERRORS: usize = 3;

/// One load worker. It owns its connection and whatever state its scenario needs (a session
/// cookie, a refresh token).
pub(crate) trait Worker: Send + 'static {
    /// Runs one unit of work (one request, or one whole flow) and returns its latency. Work
    /// that a step waits for before its first request (such as a device code becoming
    /// pollable again) is left out of the latency.
    fn step(&mut self) -> impl Future<Output = anyhow::Result<Duration>> + Send;
}

/// Warm-up and measured duration of one scenario.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
}

/// The outcome of one scenario.
#[derive(Debug, Default)]
pub(crate) struct Measurement {
    /// Steps that succeeded and finished inside the measured window.
    pub(crate) completed: u64,
    /// Failed steps, during the warm-up and the measured window.
    pub(crate) errors: u64,
    /// The measured window.
    pub(crate) window: Duration,
    /// Latencies of the completed steps in microseconds, sorted.
    pub(crate) latencies_us: Vec<u32>,
    /// The first few distinct error messages.
    pub(crate) error_samples: Vec<String>,
    /// The largest server RSS seen while the scenario ran, in bytes.
    pub(crate) peak_rss: Option<u64>,
    /// Cores used over the measured window.
    pub(crate) cpu: Option<CpuUse>,
}

impl Measurement {
    /// Completed steps per second of the measured window.
    pub(crate) fn rate(&self) -> f64 {
        let seconds = self.window.as_secs_f64();
        if seconds > 0.0 {
            self.completed as f64 / seconds
        } else {
            0.0
        }
    }

    /// Returns the latency at quantile `q` (0 to 1), nearest rank.
    pub(crate) fn quantile(&self, q: f64) -> Option<Duration> {
        quantile_us(&self.latencies_us, q).map(|us| Duration::from_micros(u64::from(us)))
    }
}

/// Returns the nearest-rank quantile `q` of sorted microsecond values.
pub(crate) fn quantile_us(sorted: &[u32], q: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[derive(Default)]
struct Tally {
    completed: u64,
    errors: u64,
    latencies_us: Vec<u32>,
    error_samples: Vec<String>,
}

/// Runs `workers` for the warm-up plus the measured duration and returns the measurement and
/// the workers, whose state later scenarios may reuse. `server_pid` names the process whose
/// RSS is sampled.
pub(crate) async fn run<W: Worker>(
    workers: Vec<W>,
    timing: Timing,
    server_pid: Option<u32>,
) -> (Measurement, Vec<W>) {
    let started = Instant::now();
    let measure_from = started + timing.warmup;
    let deadline = measure_from + timing.duration;

    let sampler = server_pid.map(|pid| tokio::spawn(sample_peak_rss(pid, deadline)));
    let cpu_meter = tokio::spawn(measure_cpu(server_pid, measure_from, deadline));
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|worker| tokio::spawn(drive(worker, measure_from, deadline)))
        .collect();

    let mut measurement = Measurement {
        window: timing.duration,
        ..Measurement::default()
    };
    let mut finished = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok((worker, tally)) => {
                measurement.completed += tally.completed;
                measurement.errors += tally.errors;
                measurement.latencies_us.extend(tally.latencies_us);
                for message in tally.error_samples {
                    if measurement.error_samples.len() < KEPT_ERRORS
                        && !measurement.error_samples.contains(&message)
                    {
                        measurement.error_samples.push(message);
                    }
                }
                finished.push(worker);
            }
            Err(error) => {
                measurement.errors += 1;
                measurement
                    .error_samples
                    .push(format!("load worker failed: {error}"));
            }
        }
    }
    measurement.latencies_us.sort_unstable();
    if let Some(sampler) = sampler {
        measurement.peak_rss = sampler.await.ok().flatten();
    }
    measurement.cpu = cpu_meter.await.ok().flatten();
    (measurement, finished)
}

async fn measure_cpu(server_pid: Option<u32>, from: Instant, until: Instant) -> Option<CpuUse> {
    tokio::time::sleep_until(from).await;
    let first = Snapshot::take(server_pid)?;
    tokio::time::sleep_until(until).await;
    let last = Snapshot::take(server_pid)?;
    first.cores_until(&last)
}

async fn drive<W: Worker>(mut worker: W, measure_from: Instant, deadline: Instant) -> (W, Tally) {
    let mut tally = Tally::default();
    let mut failures_in_a_row = 0u32;
    while Instant::now() < deadline {
        let result = worker.step().await;
        let finished = Instant::now();
        let measured = finished >= measure_from && finished <= deadline;
        match result {
            Ok(latency) => {
                failures_in_a_row = 0;
                if measured {
                    tally.completed += 1;
                    let micros = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
                    tally.latencies_us.push(micros);
                }
            }
            Err(error) => {
                tally.errors += 1;
                if tally.error_samples.len() < KEPT_ERRORS {
                    tally.error_samples.push(format!("{error:#}"));
                }
                // A server that is gone fails every request at once: back off instead of
                // spinning until the deadline.
                failures_in_a_row = failures_in_a_row.saturating_add(1);
                if failures_in_a_row > 100 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
    (worker, tally)
}

async fn sample_peak_rss(pid: u32, deadline: Instant) -> Option<u64> {
    let mut peak = process::rss_bytes(pid);
    let mut ticker = tokio::time::interval(RSS_SAMPLE_PERIOD);
    while Instant::now() < deadline {
        ticker.tick().await;
        if let Some(rss) = process::rss_bytes(pid) {
            peak = Some(peak.map_or(rss, |peak| peak.max(rss)));
        }
    }
    peak
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_nearest_rank() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(quantile_us(&values, 0.5), Some(50));
        assert_eq!(quantile_us(&values, 0.99), Some(99));
        assert_eq!(quantile_us(&values, 1.0), Some(100));
        assert_eq!(quantile_us(&values, 0.0), Some(1));
        assert_eq!(quantile_us(&[], 0.5), None);
    }

    struct Sleeper;

    impl Worker for Sleeper {
        async fn step(&mut self) -> anyhow::Result<Duration> {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok(Duration::from_millis(5))
        }
    }

    #[tokio::test]
    async fn run_counts_only_the_window() {
        let timing = Timing {
            warmup: Duration::from_millis(50),
            duration: Duration::from_millis(200),
        };
        let (measurement, workers) = run(vec![Sleeper, Sleeper], timing, None).await;
        assert_eq!(workers.len(), 2);
        assert_eq!(measurement.errors, 0);
        // Two workers at one step per ~5 ms for 200 ms: at most 80 steps, and far more than 0.
        assert!(measurement.completed > 10, "{measurement:?}");
        assert!(measurement.completed <= 82, "{measurement:?}");
    }
}
