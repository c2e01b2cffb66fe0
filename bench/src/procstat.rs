//! Figures of one process (or a process and its children) read from /proc: CPU time, resident
//! memory, threads, open descriptors; and the whole machine's CPU, to show what others used.

use std::fs;

/// Clock ticks per second, the unit of the CPU times in /proc/PID/stat.
fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(n).ok().filter(|&n| n > 0).unwrap_or(100)
}

fn ticks_to_us(ticks: u64) -> u64 {
    ticks * 1_000_000 / ticks_per_second()
}

/// The fields of /proc/PID/stat this bench uses.
struct Stat {
    ppid: u32,
    /// utime + stime: the process's own CPU, all its threads.
    own: u64,
    /// cutime + cstime: CPU of its children that have exited and been waited for.
    reaped: u64,
}

fn stat(pid: u32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: the fields start after the last ") ".
    let (_, rest) = text.rsplit_once(") ")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    // rest[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    Some(Stat {
        ppid: u32::try_from(num(1)?).ok()?,
        own: num(11)? + num(12)?,
        reaped: num(13)? + num(14)?,
    })
}

/// CPU time (user + system, every thread) the process has used so far, in microseconds.
pub fn cpu_us(pid: u32) -> Result<u64, String> {
    stat(pid)
        .map(|s| ticks_to_us(s.own))
        .ok_or_else(|| format!("cannot read /proc/{pid}/stat (has the process exited?)"))
}

/// CPU time of a process and of all its direct children, the exited ones included (for PostgreSQL:
/// the postmaster and every backend and background process it forked), in microseconds.
pub fn family_cpu_us(parent: u32) -> Result<u64, String> {
    let root = stat(parent).ok_or_else(|| format!("cannot read /proc/{parent}/stat"))?;
    let mut ticks = root.own + root.reaped;
    for pid in pids() {
        if let Some(s) = stat(pid).filter(|s| s.ppid == parent) {
            ticks += s.own;
        }
    }
    Ok(ticks_to_us(ticks))
}

fn pids() -> impl Iterator<Item = u32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
}

fn status_field(pid: u32, field: &str) -> Result<u64, String> {
    let text = fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no {field} in /proc/{pid}/status"))
}

/// Resident memory in KiB.
pub fn rss_kib(pid: u32) -> Result<u64, String> {
    status_field(pid, "VmRSS:")
}

pub fn threads(pid: u32) -> Result<u64, String> {
    status_field(pid, "Threads:")
}

/// Open file descriptors (sockets, files, pipes).
pub fn fds(pid: u32) -> Result<u64, String> {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count() as u64)
        .map_err(|e| format!("/proc/{pid}/fd: {e}"))
}

/// Resident memory, threads and descriptors at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Footprint {
    pub rss_kib: u64,
    pub threads: u64,
    pub fds: u64,
}

pub fn footprint(pid: u32) -> Result<Footprint, String> {
    Ok(Footprint {
        rss_kib: rss_kib(pid)?,
        threads: threads(pid)?,
        fds: fds(pid)?,
    })
}

/// The machine's CPU: all ticks and busy ticks so far (first line of /proc/stat), and this bench's
/// own process tree (the bench, its servers, PostgreSQL, wrk, pgbench).
#[derive(Clone, Copy)]
pub struct Machine {
    total: u64,
    busy: u64,
    ours: u64,
}

impl Machine {
    pub fn now() -> Machine {
        let text = fs::read_to_string("/proc/stat").unwrap_or_default();
        let f: Vec<u64> = text
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal
        let get = |i: usize| f.get(i).copied().unwrap_or(0);
        let total: u64 = (0..8).map(get).sum();
        Machine {
            total,
            busy: total.saturating_sub(get(3) + get(4)),
            ours: tree_ticks(std::process::id()),
        }
    }

    /// Share of all cores used since `self` by processes outside this bench.
    pub fn others_since(&self) -> f64 {
        let now = Machine::now();
        let total = now.total.saturating_sub(self.total).max(1) as f64;
        let busy = now.busy.saturating_sub(self.busy) as f64;
        let ours = (now.ours.saturating_sub(self.ours) as f64).min(busy);
        (busy - ours) / total
    }
}

/// utime + stime (+ reaped children's) of `root` and all its descendants, in ticks.
fn tree_ticks(root: u32) -> u64 {
    let procs: Vec<(u32, Stat)> = pids().filter_map(|p| Some((p, stat(p)?))).collect();
    let mut ours = vec![root];
    let mut i = 0;
    while i < ours.len() {
        let parent = ours[i];
        ours.extend(procs.iter().filter(|(_, s)| s.ppid == parent).map(|p| p.0));
        i += 1;
    }
    procs
        .iter()
        .filter(|(p, _)| ours.contains(p))
        .map(|(_, s)| s.own + s.reaped)
        .sum()
}

pub fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Raises this process's soft descriptor limit to its hard limit; returns the new soft limit.
pub fn raise_nofile() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    limit.rlim_cur
}

/// Context switches of every thread of a process so far: (voluntary, involuntary), summed over
/// `/proc/PID/task/*/status` (`/proc/PID/status` alone counts the main thread only). A voluntary
/// switch is a thread going to sleep (waiting for a socket, a lock, a condition); an involuntary one
/// is the scheduler taking the core from a thread that could run on.
pub fn ctx_switches(pid: u32) -> Result<(u64, u64), String> {
    let dir = format!("/proc/{pid}/task");
    let tasks = fs::read_dir(&dir).map_err(|e| format!("{dir}: {e}"))?;
    let (mut vol, mut invol) = (0, 0);
    for task in tasks.flatten() {
        let Ok(text) = fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        for line in text.lines() {
            let num = |v: &str| v.trim().parse::<u64>().unwrap_or(0);
            if let Some(v) = line.strip_prefix("voluntary_ctxt_switches:") {
                vol += num(v);
            } else if let Some(v) = line.strip_prefix("nonvoluntary_ctxt_switches:") {
                invol += num(v);
            }
        }
    }
    Ok((vol, invol))
}
