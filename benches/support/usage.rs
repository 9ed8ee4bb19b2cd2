//! CPU time during a measurement: the server's, the driver's, PostgreSQL's and the whole machine's, read
//! from /proc, so a figure can be put beside what it cost and what else was running.

use anyhow::Context;

use crate::server::Server;

/// User and system CPU seconds a process has used, from /proc/<pid>/stat (`self` for this driver).
fn cpu_seconds(pid: &str) -> anyhow::Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    ticks_used(&stat)
        .map(|ticks| ticks as f64 / clock_ticks_per_second())
        .with_context(|| format!("no CPU times in {path}"))
}

/// utime + stime of a /proc/<pid>/stat line, in clock ticks.
fn ticks_used(stat: &str) -> Option<u64> {
    // The command name may hold spaces and parentheses; the fields after its last `)` start at field 3.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

/// CPU seconds of every PostgreSQL process on the machine: on PostgreSQL part of each request's work is
/// done in the database's backends, outside the server's process. The pool's connections stay open for
/// the whole run, so no backend's time is lost to an exit between two readings.
fn postgres_cpu_seconds() -> anyhow::Result<f64> {
    let mut ticks = 0;
    for entry in std::fs::read_dir("/proc")? {
        let path = entry?.path().join("stat");
        // Processes come and go while the directory is read.
        let Ok(stat) = std::fs::read_to_string(&path) else {
            continue;
        };
        if stat.contains(" (postgres) ") {
            ticks += ticks_used(&stat).unwrap_or(0);
        }
    }
    Ok(ticks as f64 / clock_ticks_per_second())
}

/// CPU seconds all processes on the machine have used, from /proc/stat: what the server, the driver and
/// the database did not use of it was other work on the machine, which the figures share the cores with.
fn machine_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .context("no cpu line in /proc/stat")?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    // user nice system idle iowait irq softirq steal: all but idle and iowait is time spent working.
    let busy: u64 =
        ticks.iter().take(8).sum::<u64>() - ticks.get(3).unwrap_or(&0) - ticks.get(4).unwrap_or(&0);
    Ok(busy as f64 / clock_ticks_per_second())
}

/// CPU seconds used so far by the server, this driver, (on PostgreSQL) the database, and the machine.
pub struct Usage {
    pub server: f64,
    pub driver: f64,
    pub database: Option<f64>,
    pub machine: f64,
}

impl Usage {
    pub fn now(server: &Server, postgres: bool) -> anyhow::Result<Self> {
        Self::of(&[server.child.id()], postgres)
    }

    /// `now`, with the CPU time of several server processes summed: two instances of `voices`, or a
    /// server that is not `voices` at all.
    pub fn of(servers: &[u32], postgres: bool) -> anyhow::Result<Self> {
        let mut server = 0.0;
        for pid in servers {
            server += cpu_seconds(&pid.to_string())?;
        }
        Ok(Usage {
            server,
            driver: cpu_seconds("self")?,
            database: if postgres {
                Some(postgres_cpu_seconds()?)
            } else {
                None
            },
            machine: machine_cpu_seconds()?,
        })
    }

    pub fn since(&self, before: &Usage) -> Usage {
        Usage {
            server: self.server - before.server,
            driver: self.driver - before.driver,
            database: self.database.zip(before.database).map(|(a, b)| a - b),
            machine: self.machine - before.machine,
        }
    }

    /// What the rest of the machine used: unrelated work, which the figures share the cores with.
    pub fn other(&self) -> f64 {
        // Readings taken microseconds apart can make the remainder slightly negative.
        (self.machine - self.server - self.driver - self.database.unwrap_or(0.0)).max(0.0)
    }
}

/// CPU seconds used over `elapsed` as a percentage of every core of the machine.
pub fn share_of_machine(cpu: f64, elapsed: std::time::Duration) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    100.0 * cpu / elapsed.as_secs_f64() / cores as f64
}
