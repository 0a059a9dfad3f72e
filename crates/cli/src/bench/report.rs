//! What `reshard bench` reports: one [`Report`], printed for people or as JSON (`--json`).
//!
//! The JSON's fields are stable for scripts: rates and times are plain numbers (seconds,
//! bytes), and every figure is also given in the units its derived figures use, so a script can
//! check that they agree (rows / wall = rows per second; the stages' per-thread times never exceed
//! the wall time).

use std::fmt::Write as _;
use std::time::Duration;

use reshard_engine::stages::{Stage, StageSnapshot};
use serde::Serialize;

use crate::format::human_bytes;

/// A whole bench run.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// The copied table, `` `db`.`table` ``.
    pub(crate) table: String,
    /// `narrow`, `wide`, `text`, `blob` or `row-bytes-N`.
    pub(crate) profile: String,
    /// Rows the table holds.
    pub(crate) table_rows: u64,
    /// Whether an existing table was reused (`--reuse`) instead of generated.
    pub(crate) reused: bool,
    /// Seconds spent generating the table (0 when reused).
    pub(crate) generate_seconds: f64,
    /// The source (password hidden).
    pub(crate) source: String,
    /// The targets (passwords hidden) with their key ranges.
    pub(crate) targets: Vec<TargetReport>,
    /// How the copy ran.
    pub(crate) settings: Settings,
    /// Rows copied.
    pub(crate) rows: u64,
    /// Seconds the copy took.
    pub(crate) wall_seconds: f64,
    /// Rows copied per second of wall time.
    pub(crate) rows_per_second: f64,
    /// Row bytes read (as the source sent them) per second, in MB (10^6 bytes).
    pub(crate) mb_per_second: f64,
    /// Row bytes read from the source, as it sent them.
    pub(crate) row_bytes_read: u64,
    /// `LOAD DATA` bytes written to the targets.
    pub(crate) load_bytes_written: u64,
    /// Bytes the data connections read from and wrote to the network.
    pub(crate) network: Network,
    /// Time per stage.
    pub(crate) stages: Vec<StageReport>,
    /// Time waiting on each target's channel.
    pub(crate) channels: Vec<ChannelReport>,
    /// The stage that limits the copy (absent when stages were not timed).
    pub(crate) limiting_stage: Option<LimitReport>,
    /// CPU time of reshard and of the servers.
    pub(crate) cpu: CpuReport,
}

/// A target and its share of the rows.
#[derive(Debug, Serialize)]
pub(crate) struct TargetReport {
    pub(crate) dsn: String,
    pub(crate) key_range: String,
    pub(crate) rows: u64,
}

/// The copy's settings.
#[derive(Debug, Serialize)]
pub(crate) struct Settings {
    pub(crate) threads: usize,
    pub(crate) write_threads: usize,
    pub(crate) chunk_bytes: u64,
    pub(crate) vindex: String,
    pub(crate) stage_timing: bool,
}

/// Network bytes of the data connections.
#[derive(Debug, Serialize)]
pub(crate) struct Network {
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
}

/// One stage's time.
#[derive(Debug, Serialize)]
pub(crate) struct StageReport {
    pub(crate) stage: &'static str,
    /// `reader` or `writer`.
    pub(crate) side: &'static str,
    /// Threads running it.
    pub(crate) workers: u64,
    /// Its time summed over those threads.
    pub(crate) busy_seconds: f64,
    /// Its time per thread.
    pub(crate) per_worker_seconds: f64,
    /// Per-thread time over wall time.
    pub(crate) share_of_wall: f64,
    pub(crate) meaning: &'static str,
}

/// Waits on one target's channel.
#[derive(Debug, Serialize)]
pub(crate) struct ChannelReport {
    pub(crate) target: usize,
    pub(crate) send_wait_seconds: f64,
    pub(crate) recv_wait_seconds: f64,
}

/// The limiting stage.
#[derive(Debug, Serialize)]
pub(crate) struct LimitReport {
    pub(crate) stage: &'static str,
    pub(crate) share_of_wall: f64,
    pub(crate) other_side_waiting: f64,
    /// The one line a person reads.
    pub(crate) summary: String,
}

/// CPU time.
#[derive(Debug, Serialize)]
pub(crate) struct CpuReport {
    /// reshard's user + system seconds during the copy.
    pub(crate) reshard_seconds: Option<f64>,
    pub(crate) reshard_seconds_per_million_rows: Option<f64>,
    /// reshard's CPU seconds per wall second (cores kept busy).
    pub(crate) reshard_cores: Option<f64>,
    /// Cores this machine has.
    pub(crate) machine_cores: usize,
    pub(crate) servers: Vec<ServerCpu>,
    /// Why reshard's CPU has no figure, if it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) unavailable: Option<String>,
}

/// One server's CPU during the copy.
#[derive(Debug, Serialize)]
pub(crate) struct ServerCpu {
    /// `host:port`.
    pub(crate) server: String,
    /// `source`, `target 1`, …
    pub(crate) roles: Vec<String>,
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) cores: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) unavailable: Option<String>,
}

/// The stage rows of a report.
pub(crate) fn stage_reports(stages: &StageSnapshot, wall: Duration) -> Vec<StageReport> {
    Stage::ALL
        .iter()
        .map(|&s| StageReport {
            stage: s.name(),
            side: match s.side() {
                reshard_engine::stages::Side::Reader => "reader",
                reshard_engine::stages::Side::Writer => "writer",
            },
            workers: stages.workers(s),
            busy_seconds: stages.busy(s).as_secs_f64(),
            per_worker_seconds: stages.per_worker(s).as_secs_f64(),
            share_of_wall: stages.share(s, wall),
            meaning: s.meaning(),
        })
        .collect()
}

impl Report {
    /// The report for people.
    pub(crate) fn human(&self) -> String {
        let mut out = String::new();
        let s = &self.settings;
        let _ = writeln!(
            out,
            "reshard bench: {} ({} profile), {} rows{}, 1 source -> {} target(s), {}, {} readers, {} writers per target, {} chunks{}",
            self.table,
            self.profile,
            self.table_rows,
            if self.reused {
                String::from(" (reused)")
            } else {
                format!(" (generated in {:.1} s)", self.generate_seconds)
            },
            self.targets.len(),
            s.vindex,
            s.threads,
            s.write_threads,
            binary_size(s.chunk_bytes),
            if s.stage_timing {
                ""
            } else {
                ", stage timing off"
            }
        );
        let _ = writeln!(
            out,
            "copied {} rows, {} in {:.2} s: {:.0} rows/s, {:.1} MB/s",
            self.rows,
            human_bytes(self.row_bytes_read),
            self.wall_seconds,
            self.rows_per_second,
            self.mb_per_second
        );
        for (i, t) in self.targets.iter().enumerate() {
            let _ = writeln!(
                out,
                "  target {} [{}] {}: {} rows",
                i + 1,
                t.key_range,
                t.dsn,
                t.rows
            );
        }
        let _ = writeln!(
            out,
            "network: {} in, {} out ({} of LOAD DATA)",
            human_bytes(self.network.bytes_in),
            human_bytes(self.network.bytes_out),
            human_bytes(self.load_bytes_written)
        );
        if s.stage_timing {
            let _ = writeln!(out, "stages (time per thread, share of the wall time):");
            for st in &self.stages {
                let _ = writeln!(
                    out,
                    "  {:<7} x{:<3} {:<10} {:>8.2} s {:>5.1}%  {}",
                    st.side,
                    st.workers,
                    st.stage,
                    st.per_worker_seconds,
                    st.share_of_wall * 100.0,
                    st.meaning
                );
            }
            if self.channels.len() > 1 {
                for c in &self.channels {
                    let _ = writeln!(
                        out,
                        "  channel to target {}: readers waited {:.2} s to send, writers {:.2} s to receive",
                        c.target + 1,
                        c.send_wait_seconds,
                        c.recv_wait_seconds
                    );
                }
            }
        }
        match &self.limiting_stage {
            Some(limit) => {
                let _ = writeln!(out, "limiting stage: {}", limit.summary);
            }
            None => {
                let _ = writeln!(out, "limiting stage: not measured (stage timing off)");
            }
        }
        let _ = writeln!(out, "{}", self.cpu.line());
        out
    }
}

/// `16 MiB`, `256 KiB`, `1000 B`: sizes given as flags, in the binary units the flags use.
fn binary_size(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

impl CpuReport {
    /// `cpu: reshard 4.9 s (1.0 s per M rows, 0.41 of 2 cores); source 127.0.0.1:33061 7.7 s (0.6 cores); …`
    fn line(&self) -> String {
        let mut parts = Vec::new();
        match (
            self.reshard_seconds,
            self.reshard_seconds_per_million_rows,
            self.reshard_cores,
        ) {
            (Some(s), Some(per), Some(cores)) => parts.push(format!(
                "reshard {s:.2} s ({per:.2} s per M rows, {cores:.2} of {} cores)",
                self.machine_cores
            )),
            _ => parts.push(format!(
                "reshard: {}",
                self.unavailable.as_deref().unwrap_or("not measured")
            )),
        }
        for server in &self.servers {
            match (server.cpu_seconds, server.cores) {
                (Some(s), Some(c)) => parts.push(format!(
                    "{} {} {s:.2} s ({c:.2} cores)",
                    server.roles.join("+"),
                    server.server
                )),
                _ => parts.push(format!(
                    "{} {}: {}",
                    server.roles.join("+"),
                    server.server,
                    server.unavailable.as_deref().unwrap_or("not measured")
                )),
            }
        }
        format!("cpu: {}", parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::binary_size;

    #[test]
    fn flag_sizes_print_in_their_own_units() {
        assert_eq!(binary_size(16 << 20), "16 MiB");
        assert_eq!(binary_size(256 << 10), "256 KiB");
        assert_eq!(binary_size((1 << 20) + 1), "1048577 B");
    }
}
