//! CPU use during a measured window, from `/proc`: the server's, the PostgreSQL server's (all
//! processes named `postgres`), the load generator's (this process), and everything else's. On
//! a machine shared with compiles, the last one shows how much a figure was disturbed.

/// Cores used on average over a window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuUse {
    pub(crate) server: f64,
    /// Processes named `postgres`: the database server when devauthd runs on PostgreSQL.
    pub(crate) database: f64,
    pub(crate) generator: f64,
    /// Every other process and the kernel's work on their behalf.
    pub(crate) other: f64,
}

/// Cumulative CPU counters at one instant, in clock ticks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Snapshot {
    /// Ticks of all CPUs, idle included.
    total: u64,
    /// Ticks of all CPUs spent busy.
    busy: u64,
    server: u64,
    database: u64,
    generator: u64,
    /// CPUs counted in `/proc/stat`.
    cpus: usize,
}

impl Snapshot {
    /// Reads `/proc/stat`, this process's and the server's counters.
    pub(crate) fn take(server_pid: Option<u32>) -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().find(|line| line.starts_with("cpu "))?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|field| field.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal; guest time is already in user.
        let total: u64 = fields.iter().take(8).sum();
        let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
        let cpus = stat
            .lines()
            .filter(|line| {
                line.strip_prefix("cpu")
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
            .count();
        Some(Self {
            cpus,
            total,
            busy: total.saturating_sub(idle),
            server: server_pid.and_then(process_ticks).unwrap_or(0),
            database: ticks_of_command("postgres"),
            generator: process_ticks_of("self").unwrap_or(0),
        })
    }

    /// Returns the average cores each party used between `self` and `later`.
    pub(crate) fn cores_until(&self, later: &Snapshot) -> Option<CpuUse> {
        let elapsed_ticks = later.total.checked_sub(self.total)?;
        if elapsed_ticks == 0 || self.cpus == 0 {
            return None;
        }
        // Ticks of one CPU over the window.
        let per_core = elapsed_ticks as f64 / self.cpus as f64;
        let to_cores = |ticks: u64| ticks as f64 / per_core;
        let server = later.server.saturating_sub(self.server);
        // A database process that exited during the window makes this an underestimate.
        let database = later.database.saturating_sub(self.database);
        let generator = later.generator.saturating_sub(self.generator);
        let busy = later.busy.saturating_sub(self.busy);
        Some(CpuUse {
            server: to_cores(server),
            database: to_cores(database),
            generator: to_cores(generator),
            other: to_cores(busy.saturating_sub(server + database + generator)),
        })
    }
}

fn process_ticks(pid: u32) -> Option<u64> {
    process_ticks_of(&pid.to_string())
}

/// Returns the summed utime + stime of every process whose command name is `command`.
fn ticks_of_command(command: &str) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| command_name(stat) == Some(command))
        .filter_map(|stat| ticks_in_stat(&stat))
        .sum()
}

/// Returns the command name of a `/proc/PID/stat` line: the text inside the parentheses.
fn command_name(stat: &str) -> Option<&str> {
    stat.get(stat.find('(')? + 1..stat.rfind(')')?)
}

/// Returns utime + stime of `/proc/NAME/stat`, all threads included.
fn process_ticks_of(name: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{name}/stat")).ok()?;
    ticks_in_stat(&stat)
}

fn ticks_in_stat(stat: &str) -> Option<u64> {
    // The command name is in parentheses and may contain spaces: fields follow the last ')'.
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of proc(5); the slice starts at field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_counters_are_readable() {
        let first = Snapshot::take(Some(std::process::id())).expect("/proc is readable");
        // Burn a little CPU so the counters can move.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0);
        let second = Snapshot::take(Some(std::process::id())).unwrap();
        assert!(second.total >= first.total);
        assert!(second.generator >= first.generator);
    }

    #[test]
    fn command_name_with_spaces() {
        let stat = "123 (tokio rt) S 1 2 3 4 5 6 7 8 9 10 11 12 13";
        assert_eq!(command_name(stat), Some("tokio rt"));
        assert_eq!(ticks_in_stat(stat), Some(11 + 12));
    }
}
