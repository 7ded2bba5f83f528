//! The machine the run measured, from `/proc`.

use std::fmt;

/// Description of the machine, for the report.
pub(crate) struct Machine {
    cpu_model: String,
    cpus: usize,
    memory_bytes: Option<u64>,
    kernel: String,
    load_at_start: String,
}

impl Machine {
    /// Reads the CPU model, the CPU count, total memory, the kernel release and the load
    /// averages.
    pub(crate) fn describe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split_once(':'))
            .map_or_else(
                || "unknown".to_owned(),
                |(_, model)| model.trim().to_owned(),
            );
        let cpus = cpuinfo
            .lines()
            .filter(|line| line.starts_with("processor"))
            .count();
        let memory_bytes = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|meminfo| {
                let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
                let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
                Some(kib * 1024)
            });
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_owned(), |text| text.trim().to_owned());
        Self {
            cpu_model,
            cpus,
            memory_bytes,
            kernel,
            load_at_start: load_average(),
        }
    }
}

/// Returns the 1, 5 and 15 minute load averages.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let memory = self.memory_bytes.map_or_else(
            || "unknown".to_owned(),
            |bytes| format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64),
        );
        writeln!(f, "- CPU: {} ({} cores)", self.cpu_model, self.cpus)?;
        writeln!(f, "- memory: {memory}")?;
        writeln!(f, "- kernel: Linux {}", self.kernel)?;
        write!(
            f,
            "- load average at start (1, 5, 15 min): {}",
            self.load_at_start
        )
    }
}
