//! The report: one Markdown table of every scenario, the comparison with oidc-provider, memory
//! and database bytes per pending grant, and the targets marked met or missed.

use std::fmt::Write as _;
use std::time::Duration;

use crate::cpu::CpuUse;
use crate::devauthd::DatabaseSize;
use crate::load::{quantile_us, Measurement};
use crate::machine::Machine;

/// The server, or command, that a row measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum System {
    Baseline,
    Devauthd(&'static str),
    Peer(String),
    Cli,
}

impl System {
    pub(crate) fn label(&self) -> String {
        match self {
            System::Baseline => "axum baseline".to_owned(),
            System::Devauthd(backend) => format!("devauthd, {backend}"),
            System::Peer(version) => format!("oidc-provider {version}"),
            System::Cli => "CLI".to_owned(),
        }
    }
}

/// The scenario of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    Baseline,
    DeviceAuthorization,
    /// Pending polls with this many other pending grants stored beside the poll pool.
    PendingPoll(u64),
    SlowDown,
    /// One whole login: four requests.
    FullFlow,
    Refresh,
    Userinfo,
    CliToken,
    CliTrue,
}

/// Requests in one full flow: device authorization, code entry, decision, token.
const REQUESTS_PER_FLOW: f64 = 4.0;

impl Scenario {
    fn label(&self) -> String {
        match self {
            Scenario::Baseline => "GET small JSON".to_owned(),
            Scenario::DeviceAuthorization => "device authorization".to_owned(),
            Scenario::PendingPoll(others) => {
                format!(
                    "poll: authorization_pending, +{} pending",
                    thousands(*others)
                )
            }
            Scenario::SlowDown => "poll: slow_down".to_owned(),
            Scenario::FullFlow => "full flow (4 requests)".to_owned(),
            Scenario::Refresh => "refresh grant".to_owned(),
            Scenario::Userinfo => "GET /oauth/userinfo".to_owned(),
            Scenario::CliToken => "`devauth token`, cached".to_owned(),
            Scenario::CliTrue => "`true` (process start)".to_owned(),
        }
    }

    fn unit(&self) -> &'static str {
        match self {
            Scenario::FullFlow => "flows/s",
            Scenario::CliToken | Scenario::CliTrue => "runs/s",
            _ => "req/s",
        }
    }

    /// HTTP requests per unit of the rate, for the ratio to the baseline.
    fn requests_per_unit(&self) -> Option<f64> {
        match self {
            Scenario::FullFlow => Some(REQUESTS_PER_FLOW),
            Scenario::CliToken | Scenario::CliTrue => None,
            _ => Some(1.0),
        }
    }
}

/// One line of the table.
pub(crate) struct Row {
    pub(crate) system: System,
    pub(crate) scenario: Scenario,
    pub(crate) rate: f64,
    pub(crate) completed: u64,
    pub(crate) p50: Option<Duration>,
    pub(crate) p99: Option<Duration>,
    pub(crate) errors: u64,
    pub(crate) error_samples: Vec<String>,
    pub(crate) peak_rss: Option<u64>,
    pub(crate) cpu: Option<CpuUse>,
    /// Server CPU time per completed step: less disturbed by other processes than the rate.
    pub(crate) server_cpu_per_step: Option<Duration>,
}

impl Row {
    /// Builds a row from a load measurement.
    pub(crate) fn from_measurement(
        system: System,
        scenario: Scenario,
        measurement: &Measurement,
    ) -> Self {
        Self {
            system,
            scenario,
            rate: measurement.rate(),
            completed: measurement.completed,
            p50: measurement.quantile(0.50),
            p99: measurement.quantile(0.99),
            errors: measurement.errors,
            error_samples: measurement.error_samples.clone(),
            peak_rss: measurement.peak_rss,
            cpu: measurement.cpu,
            server_cpu_per_step: measurement
                .cpu
                .filter(|_| measurement.completed > 0)
                .map(|cpu| {
                    measurement
                        .window
                        .mul_f64(cpu.server / measurement.completed as f64)
                }),
        }
    }

    /// Builds a row from sequential process runs.
    pub(crate) fn from_runs(scenario: Scenario, latencies_us: &[u32], total: Duration) -> Self {
        let seconds = total.as_secs_f64();
        let micros =
            |q| quantile_us(latencies_us, q).map(|us| Duration::from_micros(u64::from(us)));
        Self {
            system: System::Cli,
            scenario,
            rate: if seconds > 0.0 {
                latencies_us.len() as f64 / seconds
            } else {
                0.0
            },
            completed: latencies_us.len() as u64,
            p50: micros(0.50),
            p99: micros(0.99),
            errors: 0,
            error_samples: Vec::new(),
            peak_rss: None,
            cpu: None,
            server_cpu_per_step: None,
        }
    }
}

/// The server's state after one pending-poll stage.
pub(crate) struct PendingStage {
    /// Pending grants stored besides the poll pool.
    pub(crate) others: u64,
    /// All pending grants stored (pool included).
    pub(crate) stored: u64,
    /// Server RSS right after seeding, before the polls.
    pub(crate) rss_seeded: Option<u64>,
    /// Server RSS right after the polls.
    pub(crate) rss_polled: Option<u64>,
    /// Database bytes after the polls (`None` for an in-memory store).
    pub(crate) database: Option<DatabaseSize>,
    /// Polls that had to wait because the pool was too small for the rate.
    pub(crate) stalls: u64,
}

/// A system's pending-poll stages.
pub(crate) struct PendingStages {
    pub(crate) system: System,
    pub(crate) pool: u64,
    /// RSS right after start, before any grant was stored.
    pub(crate) rss_empty: Option<u64>,
    pub(crate) stages: Vec<PendingStage>,
}

impl PendingStages {
    /// Memory per pending grant: the RSS growth from the first stage to the last, divided by
    /// the pending grants added between them.
    fn memory_per_grant(&self) -> Option<f64> {
        let (first, last) = (self.stages.first()?, self.stages.last()?);
        per_grant(
            first.rss_polled?,
            last.rss_polled?,
            first.stored,
            last.stored,
        )
    }

    fn database_per_grant(&self) -> Option<f64> {
        let (first, last) = (self.stages.first()?, self.stages.last()?);
        per_grant(
            first.database?.data,
            last.database?.data,
            first.stored,
            last.stored,
        )
    }
}

fn per_grant(before: u64, after: u64, stored_before: u64, stored_after: u64) -> Option<f64> {
    let added = stored_after.checked_sub(stored_before).filter(|n| *n > 0)?;
    Some((after as f64 - before as f64).max(0.0) / added as f64)
}

/// Everything one run produced.
pub(crate) struct Report {
    pub(crate) machine: Machine,
    pub(crate) settings: String,
    pub(crate) rows: Vec<Row>,
    pub(crate) pending: Vec<PendingStages>,
    /// Parts that did not run, and why.
    pub(crate) skipped: Vec<String>,
    /// Observations the table cannot show.
    pub(crate) notes: Vec<String>,
    pub(crate) load_at_end: String,
}

impl Report {
    fn baseline_rate(&self) -> Option<f64> {
        self.rows
            .iter()
            .find(|row| row.scenario == Scenario::Baseline)
            .map(|row| row.rate)
    }

    fn find(&self, system: &System, scenario: Scenario) -> Option<&Row> {
        self.rows
            .iter()
            .find(|row| &row.system == system && row.scenario == scenario)
    }

    /// Renders the whole report as Markdown.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## Machine\n\n{}", self.machine);
        let _ = writeln!(out, "- load average at end: {}\n", self.load_at_end);
        let _ = writeln!(out, "## Settings\n\n{}\n", self.settings);
        self.render_table(&mut out);
        self.render_peer_ratios(&mut out);
        self.render_pending(&mut out);
        self.render_targets(&mut out);
        if !self.notes.is_empty() {
            let _ = writeln!(out, "## Notes\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
            out.push('\n');
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(out, "## Not measured\n");
            for reason in &self.skipped {
                let _ = writeln!(out, "- {reason}");
            }
            out.push('\n');
        }
        self.render_errors(&mut out);
        out
    }

    fn render_table(&self, out: &mut String) {
        let baseline = self.baseline_rate();
        let _ = writeln!(out, "## Results\n");
        let _ = writeln!(
            out,
            "| system | scenario | rate | vs baseline | p50 | p99 | errors | server RSS (peak) | server CPU per request | CPU cores: server / PostgreSQL / load generator / other |"
        );
        let _ = writeln!(
            out,
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
        );
        for row in &self.rows {
            let ratio = match (baseline, row.scenario.requests_per_unit()) {
                (Some(baseline), Some(requests)) if baseline > 0.0 => {
                    format!("{:.2}", row.rate * requests / baseline)
                }
                _ => "–".to_owned(),
            };
            let cpu = row.cpu.map_or_else(
                || "–".to_owned(),
                |cpu| {
                    format!(
                        "{:.2} / {:.2} / {:.2} / {:.2}",
                        cpu.server, cpu.database, cpu.generator, cpu.other
                    )
                },
            );
            let _ = writeln!(
                out,
                "| {} | {} | {} {} | {ratio} | {} | {} | {} | {} | {} | {cpu} |",
                row.system.label(),
                row.scenario.label(),
                thousands(row.rate.round() as u64),
                row.scenario.unit(),
                millis(row.p50),
                millis(row.p99),
                row.errors,
                row.peak_rss.map_or_else(|| "–".to_owned(), mebibytes),
                row.server_cpu_per_step.map_or_else(
                    || "–".to_owned(),
                    |cpu| format!("{:.0} µs", cpu.as_secs_f64() * 1e6)
                ),
            );
        }
        let _ = writeln!(
            out,
            "\nThe ratio of a full flow counts its 4 requests, and its server CPU is per flow. Errors count failed requests in the warm-up and the measured window. CPU cores are averages over the measured window, from /proc: \"PostgreSQL\" sums the processes named postgres (busy only in the PostgreSQL rows), and \"other\" is every other process on the machine."
        );
        out.push('\n');
    }

    fn render_peer_ratios(&self, out: &mut String) {
        let Some(peer) = self
            .rows
            .iter()
            .map(|row| &row.system)
            .find(|system| matches!(system, System::Peer(_)))
        else {
            return;
        };
        let mut lines = Vec::new();
        for peer_row in self.rows.iter().filter(|row| &row.system == peer) {
            for row in self.rows.iter().filter(|row| {
                matches!(row.system, System::Devauthd(_)) && row.scenario == peer_row.scenario
            }) {
                if peer_row.rate > 0.0 {
                    lines.push(format!(
                        "| {} | {} | {:.2} |",
                        row.scenario.label(),
                        row.system.label(),
                        row.rate / peer_row.rate
                    ));
                }
            }
        }
        if lines.is_empty() {
            return;
        }
        let _ = writeln!(out, "## devauthd against {}\n", peer.label());
        let _ = writeln!(
            out,
            "| scenario | devauthd system | devauthd / peer (rate) |"
        );
        let _ = writeln!(out, "| --- | --- | ---: |");
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
    }

    fn render_pending(&self, out: &mut String) {
        if self.pending.is_empty() {
            return;
        }
        let _ = writeln!(out, "## Pending grants: memory and database bytes\n");
        let _ = writeln!(
            out,
            "| system | pending stored | RSS after seeding | RSS after polls | database | write-ahead log | pool stalls |"
        );
        let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for stages in &self.pending {
            let _ = writeln!(
                out,
                "| {} | 0 | {} | | | | |",
                stages.system.label(),
                stages.rss_empty.map_or_else(|| "–".to_owned(), mebibytes),
            );
            for stage in &stages.stages {
                let _ = writeln!(
                    out,
                    "| {} | {} ({} pool + {}) | {} | {} | {} | {} | {} |",
                    stages.system.label(),
                    thousands(stage.stored),
                    thousands(stages.pool),
                    thousands(stage.others),
                    stage.rss_seeded.map_or_else(|| "–".to_owned(), mebibytes),
                    stage.rss_polled.map_or_else(|| "–".to_owned(), mebibytes),
                    stage
                        .database
                        .map_or_else(|| "in memory".to_owned(), |size| mebibytes(size.data)),
                    stage
                        .database
                        .and_then(|size| size.log)
                        .map_or_else(|| "–".to_owned(), mebibytes),
                    stage.stalls,
                );
            }
        }
        out.push('\n');
        for stages in &self.pending {
            let memory = stages.memory_per_grant().map_or_else(
                || "not measured".to_owned(),
                |bytes| format!("{bytes:.0} bytes"),
            );
            let database = stages
                .database_per_grant()
                .map_or_else(|| "–".to_owned(), |bytes| format!("{bytes:.0} bytes"));
            let _ = writeln!(
                out,
                "- {}: RSS per added pending grant {memory}; database per added pending grant {database}.",
                stages.system.label()
            );
        }
        let _ = writeln!(
            out,
            "\nPer-grant figures divide the growth from the first stage to the last (RSS after polls; the database file without its write-ahead log on SQLite, `pg_database_size` on PostgreSQL) by the pending grants added between them. A pool stall is a poll that waited for a code to become pollable again: a sign that the pool was too small for the rate.\n"
        );
    }

    fn render_targets(&self, out: &mut String) {
        let _ = writeln!(out, "## Targets\n");
        for target in self.targets() {
            let _ = writeln!(out, "- {target}");
        }
        out.push('\n');
    }

    /// Evaluates the targets on the SQLite rows: each line states met, missed or not measured.
    fn targets(&self) -> Vec<String> {
        let sqlite = System::Devauthd("SQLite");
        let mut lines = Vec::new();

        // Pending polls: at least half the baseline, flat latency across the stored counts.
        let pending: Vec<&Row> = self
            .rows
            .iter()
            .filter(|row| row.system == sqlite && matches!(row.scenario, Scenario::PendingPoll(_)))
            .collect();
        match (self.baseline_rate(), pending.first(), pending.last()) {
            (Some(baseline), Some(first), Some(last)) if baseline > 0.0 => {
                let worst = pending
                    .iter()
                    .map(|row| row.rate / baseline)
                    .fold(f64::INFINITY, f64::min);
                lines.push(format!(
                    "Pending polls at least 0.50 of the baseline: lowest ratio {worst:.2}: {}.",
                    met(worst >= 0.5)
                ));
                let flat = match (first.p50, last.p50, first.p99, last.p99) {
                    (Some(p50_first), Some(p50_last), Some(p99_first), Some(p99_last)) => {
                        let p50_growth = p50_last.as_secs_f64() / p50_first.as_secs_f64().max(1e-9);
                        let p99_growth = p99_last.as_secs_f64() / p99_first.as_secs_f64().max(1e-9);
                        let ok = p50_growth <= 1.5 && p99_growth <= 2.0;
                        format!(
                            "p50 {} → {} ({p50_growth:.2}×), p99 {} → {} ({p99_growth:.2}×) from {} to {}: {}",
                            millis(first.p50),
                            millis(last.p50),
                            millis(first.p99),
                            millis(last.p99),
                            first.scenario.label(),
                            last.scenario.label(),
                            met(ok)
                        )
                    }
                    _ => "not measured".to_owned(),
                };
                lines.push(format!(
                    "Flat pending-poll latency (p50 grows at most 1.5×, p99 at most 2×): {flat}."
                ));
            }
            _ => lines.push("Pending polls against the baseline: not measured.".to_owned()),
        }

        match self.find(&sqlite, Scenario::DeviceAuthorization) {
            Some(row) => lines.push(format!(
                "Device authorization at least 5,000/s on SQLite: {} req/s: {}.",
                thousands(row.rate.round() as u64),
                met(row.rate >= 5000.0)
            )),
            None => lines.push("Device authorization on SQLite: not measured.".to_owned()),
        }

        match self
            .pending
            .iter()
            .find(|stages| stages.system == sqlite)
            .and_then(PendingStages::memory_per_grant)
        {
            Some(bytes) => lines.push(format!(
                "At most 1 KiB of memory per pending grant: {bytes:.0} bytes: {}.",
                met(bytes <= 1024.0)
            )),
            None => lines.push(
                "Memory per pending grant: not measured (needs two or more pending counts)."
                    .to_owned(),
            ),
        }

        match self.find(&System::Cli, Scenario::CliToken) {
            Some(row) => lines.push(format!(
                "`devauth token` with a cached token within 5 ms: p50 {}, p99 {}: {}.",
                millis(row.p50),
                millis(row.p99),
                met(row.p50.is_some_and(|p50| p50 <= Duration::from_millis(5)))
            )),
            None => lines.push("`devauth token` with a cached token: not available.".to_owned()),
        }
        lines
    }

    fn render_errors(&self, out: &mut String) {
        let failing: Vec<&Row> = self.rows.iter().filter(|row| row.errors > 0).collect();
        if failing.is_empty() {
            return;
        }
        let _ = writeln!(out, "## Errors\n");
        for row in failing {
            let _ = writeln!(
                out,
                "- {}, {}: {} errors, for example:",
                row.system.label(),
                row.scenario.label(),
                row.errors
            );
            for sample in &row.error_samples {
                let _ = writeln!(out, "  - {sample}");
            }
        }
        out.push('\n');
    }

    /// Returns the smoke check's failures: a row with no successful request or with errors.
    pub(crate) fn smoke_failures(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter(|row| row.completed == 0 || row.errors > 0)
            .map(|row| {
                format!(
                    "{}, {}: {} completed, {} errors {:?}",
                    row.system.label(),
                    row.scenario.label(),
                    row.completed,
                    row.errors,
                    row.error_samples
                )
            })
            .collect()
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**missed**"
    }
}

/// Formats an integer with comma thousands separators.
pub(crate) fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn millis(duration: Option<Duration>) -> String {
    match duration {
        None => "–".to_owned(),
        Some(duration) => {
            let ms = duration.as_secs_f64() * 1000.0;
            if ms < 10.0 {
                format!("{ms:.2} ms")
            } else {
                format!("{ms:.1} ms")
            }
        }
    }
}

/// Formats bytes in MiB with one decimal.
pub(crate) fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn per_grant_growth() {
        assert_eq!(per_grant(1000, 3000, 10, 20), Some(200.0));
        assert_eq!(per_grant(3000, 1000, 10, 20), Some(0.0));
        assert_eq!(per_grant(1000, 3000, 10, 10), None);
    }
}
