//! CPU time of reshard itself and of the servers, read from `/proc` (Linux).
//!
//! A server's CPU can be read when it runs on this machine: its DSN's host is a loopback
//! address, it tells its pid file (`@@pid_file`), and `/proc/<pid>` is a `mariadbd` or `mysqld`.
//! Otherwise the report says why it has no figure rather than guessing.

use std::time::Duration;

use reshard_mysql::wire::RawConn;
use reshard_mysql::wire::text::first_row;
use reshard_types::Dsn;

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`, 100 on every Linux ABI).
const TICKS_PER_SECOND: f64 = 100.0;

/// User plus system CPU time of process `pid` (`self` for this one), or why it cannot be read.
pub(crate) fn process_cpu(pid: &str) -> Result<Duration, String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    parse_stat_cpu(&stat).ok_or_else(|| format!("{path} is not in the expected format"))
}

/// `utime + stime` from a `/proc/<pid>/stat` line. The command name (field 2) may hold spaces
/// and parentheses, so fields are counted from the last `)`.
fn parse_stat_cpu(stat: &str) -> Option<Duration> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // Fields 3.. of the line: state is field 3, utime 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    #[allow(clippy::cast_precision_loss)] // ticks of a process's life fit f64 exactly
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / TICKS_PER_SECOND,
    ))
}

/// Whether `host` is this machine.
fn is_local(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The pid of the server `dsn` names, when it runs here and its CPU can be read.
pub(crate) fn server_pid(dsn: &Dsn) -> Result<u32, String> {
    if !is_local(dsn.host()) {
        return Err(format!(
            "{} is not on this machine; run `reshard bench` where the server runs to see its CPU",
            dsn.host()
        ));
    }
    let mut conn = RawConn::connect(dsn).map_err(|e| e.to_string())?;
    let row = first_row(&mut conn, "SELECT @@pid_file")
        .map_err(|e| e.to_string())?
        .and_then(|mut row| row.pop().flatten())
        .ok_or_else(|| String::from("the server reports no pid file"))?;
    let path = String::from_utf8_lossy(&row).into_owned();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read its pid file {path}: {e}"))?;
    let pid: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("its pid file {path} holds no pid"))?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map_err(|e| format!("pid {pid} from {path} is not running here: {e}"))?;
    if !matches!(comm.trim(), "mariadbd" | "mysqld") {
        return Err(format!(
            "pid {pid} from {path} is `{}`, not a server",
            comm.trim()
        ));
    }
    Ok(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_read_after_the_command_name() {
        // A name with a space and a parenthesis must not shift the fields.
        let stat =
            "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 8 0 100 0 0";
        assert_eq!(parse_stat_cpu(stat), Some(Duration::from_millis(3250)));
        assert_eq!(parse_stat_cpu("garbage"), None);
    }

    #[test]
    fn this_process_cpu_time_grows_while_it_computes() {
        let spent = process_cpu("self").expect("/proc/self/stat");
        let started = std::time::Instant::now();
        let mut x = 0u64;
        let mut now = spent;
        while now <= spent && started.elapsed() < Duration::from_secs(5) {
            for i in 0..1_000_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            now = process_cpu("self").expect("again");
        }
        std::hint::black_box(x);
        assert!(now > spent, "{now:?} after {spent:?}");
    }

    #[test]
    fn only_loopback_hosts_are_local() {
        assert!(is_local("127.0.0.1"));
        assert!(is_local("::1"));
        assert!(is_local("localhost"));
        assert!(!is_local("10.0.0.5"));
        assert!(!is_local("db.example.com"));
    }
}
