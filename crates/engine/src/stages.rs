//! Where a copy's time goes, stage by stage, and which stage limits it.
//!
//! Every reader thread's time splits into finding chunk boundaries ([`Stage::Chunking`]),
//! waiting on the source ([`Stage::Read`]: time in socket calls, the server producing rows and
//! the network carrying them), decoding rows into Arrow ([`Stage::Decode`]: the rest of the time
//! inside a chunk's read), routing and splitting batches ([`Stage::Route`]) and waiting for room
//! on a target's channel ([`Stage::SendWait`]: the writers are behind). Every writer thread's time
//! splits into waiting for a batch ([`Stage::RecvWait`]: the readers are behind), encoding rows
//! for `LOAD DATA` ([`Stage::Encode`]) and waiting on the target ([`Stage::Write`]: socket calls
//! and the server's answer).
//!
//! One instrumentation serves `reshard bench`, `reshard copy` and `reshard move`: the workers
//! add to the counters of [`StageClock`] (relaxed atomics, allocated before the copy starts)
//! once per batch, chunk or socket call, never per row, and a display or report reads
//! [`StageClock::snapshot`]. With timing off ([`StageClock::new`] with `false`) no clock is read
//! at all, which is how its cost is measured (`reshard bench --no-stage-timing`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// A stage of the copy pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// A reader finding the next chunk's boundaries (queries on the source).
    Chunking,
    /// A reader waiting on the source: the server producing rows, the network carrying them.
    Read,
    /// A reader decoding rows into Arrow batches.
    Decode,
    /// A reader computing each row's target and splitting batches per target.
    Route,
    /// A reader waiting for room on a target's channel (the writers are behind).
    SendWait,
    /// A writer waiting for a batch (the readers are behind).
    RecvWait,
    /// A writer encoding rows as `LOAD DATA` text.
    Encode,
    /// A writer waiting on the target: the server loading rows, the network carrying them.
    Write,
}

/// Which threads a stage runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The reader threads.
    Reader,
    /// The writer threads (all targets').
    Writer,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Stage; 8] = [
        Stage::Chunking,
        Stage::Read,
        Stage::Decode,
        Stage::Route,
        Stage::SendWait,
        Stage::RecvWait,
        Stage::Encode,
        Stage::Write,
    ];

    /// Its name in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Chunking => "chunking",
            Stage::Read => "read",
            Stage::Decode => "decode",
            Stage::Route => "route",
            Stage::SendWait => "send_wait",
            Stage::RecvWait => "recv_wait",
            Stage::Encode => "encode",
            Stage::Write => "write",
        }
    }

    /// What its time is, for people.
    pub fn meaning(self) -> &'static str {
        match self {
            Stage::Chunking => "finding chunk boundaries on the sources",
            Stage::Read => "waiting on the sources (their servers and the network)",
            Stage::Decode => "decoding rows into Arrow (reshard's CPU)",
            Stage::Route => "routing rows to targets (reshard's CPU)",
            Stage::SendWait => "readers waiting on full channels (the writers are behind)",
            Stage::RecvWait => "writers waiting for batches (the readers are behind)",
            Stage::Encode => "encoding rows for the targets (reshard's CPU)",
            Stage::Write => "waiting on the targets (their servers and the network)",
        }
    }

    /// The threads it runs on.
    pub fn side(self) -> Side {
        match self {
            Stage::Chunking | Stage::Read | Stage::Decode | Stage::Route | Stage::SendWait => {
                Side::Reader
            }
            Stage::RecvWait | Stage::Encode | Stage::Write => Side::Writer,
        }
    }

    /// Whether it is time spent waiting on another stage (not work of its own).
    pub fn is_wait(self) -> bool {
        matches!(self, Stage::SendWait | Stage::RecvWait)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A start time, or nothing when timing is off.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lap(Option<Instant>);

impl Lap {
    /// Nanoseconds since the lap started (0 when timing is off).
    pub(crate) fn nanos(self) -> u64 {
        self.0.map_or(0, |start| nanos(start.elapsed()))
    }
}

/// A duration in whole nanoseconds (saturating at 584 years).
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The per-stage counters of one copy.
#[derive(Debug)]
pub struct StageClock {
    enabled: bool,
    busy: [AtomicU64; Stage::ALL.len()],
    /// Per target: readers' wait to send to it, its writers' wait to receive.
    channel_waits: Box<[[AtomicU64; 2]]>,
    readers: AtomicU64,
    writers: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

/// The stage counters at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct StageSnapshot {
    /// Whether the stages were timed (if not, every time is zero).
    pub timed: bool,
    /// Reader threads.
    pub readers: u64,
    /// Writer threads, all targets together.
    pub writers: u64,
    /// Time in each stage summed over its threads, in [`Stage::ALL`] order.
    pub busy: [Duration; Stage::ALL.len()],
    /// Per target: the readers' wait to send to it and its writers' wait to receive.
    pub channel_waits: Vec<ChannelWait>,
    /// Bytes the data connections read from servers.
    pub bytes_in: u64,
    /// Bytes the data connections wrote to servers.
    pub bytes_out: u64,
}

/// Time spent waiting on one target's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelWait {
    /// Readers blocked because the channel was full.
    pub send: Duration,
    /// The target's writers blocked because it was empty.
    pub recv: Duration,
}

impl StageClock {
    /// Counters for a copy to `targets` targets; `timed` says whether stage times are measured.
    pub fn new(targets: usize, timed: bool) -> StageClock {
        StageClock {
            enabled: timed,
            busy: Default::default(),
            channel_waits: (0..targets).map(|_| Default::default()).collect(),
            readers: AtomicU64::new(0),
            writers: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
        }
    }

    /// Whether stage times are measured.
    pub fn timed(&self) -> bool {
        self.enabled
    }

    /// Now, if timing is on.
    #[inline]
    pub(crate) fn lap(&self) -> Lap {
        Lap(self.enabled.then(Instant::now))
    }

    /// Adds `nanos` to `stage`.
    #[inline]
    pub(crate) fn add(&self, stage: Stage, nanos: u64) {
        if nanos > 0 {
            self.busy[stage.index()].fetch_add(nanos, Relaxed);
        }
    }

    /// Adds the time since `lap` to `stage`, and to target `target`'s channel for the waits.
    #[inline]
    pub(crate) fn add_channel_wait(&self, stage: Stage, target: usize, lap: Lap) {
        let n = lap.nanos();
        if n == 0 {
            return;
        }
        self.add(stage, n);
        let side = usize::from(stage == Stage::RecvWait);
        self.channel_waits[target][side].fetch_add(n, Relaxed);
    }

    /// Counts bytes a data connection moved.
    #[inline]
    pub(crate) fn add_bytes(&self, bytes_in: u64, bytes_out: u64) {
        self.bytes_in.fetch_add(bytes_in, Relaxed);
        self.bytes_out.fetch_add(bytes_out, Relaxed);
    }

    /// Records how many threads run each side.
    pub(crate) fn set_workers(&self, readers: usize, writers: usize) {
        self.readers.store(readers as u64, Relaxed);
        self.writers.store(writers as u64, Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> StageSnapshot {
        let d = |a: &AtomicU64| Duration::from_nanos(a.load(Relaxed));
        StageSnapshot {
            timed: self.enabled,
            readers: self.readers.load(Relaxed),
            writers: self.writers.load(Relaxed),
            busy: std::array::from_fn(|i| d(&self.busy[i])),
            channel_waits: self
                .channel_waits
                .iter()
                .map(|[send, recv]| ChannelWait {
                    send: d(send),
                    recv: d(recv),
                })
                .collect(),
            bytes_in: self.bytes_in.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
        }
    }
}

/// The stage that limits a copy, and how the other side spent its time.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// The working stage whose threads were busiest.
    pub stage: Stage,
    /// The fraction of the wall time each of its threads spent in it.
    pub share: f64,
    /// The fraction of the wall time the other side's threads spent waiting on their channel.
    pub other_side_waiting: f64,
}

impl Limit {
    /// One line for people: `write, waiting on the targets …: 91% of each writer's time; the
    /// readers waited 64% of theirs on full channels`.
    pub fn describe(&self) -> String {
        let (own, other, why) = match self.stage.side() {
            Side::Reader => ("reader", "writers", "for batches"),
            Side::Writer => ("writer", "readers", "on full channels"),
        };
        format!(
            "{}, {}: {:.0}% of each {own}'s time; the {other} waited {:.0}% of theirs {why}",
            self.stage.name(),
            self.stage.meaning(),
            self.share * 100.0,
            self.other_side_waiting * 100.0,
        )
    }
}

impl StageSnapshot {
    /// Time in `stage`, all its threads together.
    pub fn busy(&self, stage: Stage) -> Duration {
        self.busy[stage.index()]
    }

    /// The threads `stage` runs on.
    pub fn workers(&self, stage: Stage) -> u64 {
        match stage.side() {
            Side::Reader => self.readers,
            Side::Writer => self.writers,
        }
    }

    /// Time in `stage` per thread running it.
    pub fn per_worker(&self, stage: Stage) -> Duration {
        let workers = u32::try_from(self.workers(stage).max(1)).unwrap_or(u32::MAX);
        self.busy(stage) / workers
    }

    /// The fraction of `wall` each of `stage`'s threads spent in it.
    pub fn share(&self, stage: Stage, wall: Duration) -> f64 {
        if wall.is_zero() {
            return 0.0;
        }
        self.per_worker(stage).as_secs_f64() / wall.as_secs_f64()
    }

    /// One compact line of each side's shares and the limit, for progress displays:
    /// `readers read 40% decode 12% … | writers … write 85% | limit: write`.
    pub fn summary(&self, wall: Duration) -> Option<String> {
        let limit = self.limit(wall)?;
        let side = |side: Side| {
            Stage::ALL
                .iter()
                .filter(|s| s.side() == side)
                .map(|&s| format!("{} {:.0}%", s.name(), self.share(s, wall) * 100.0))
                .collect::<Vec<_>>()
                .join(" ")
        };
        Some(format!(
            "readers {} | writers {} | limit: {}",
            side(Side::Reader),
            side(Side::Writer),
            limit.stage.name()
        ))
    }

    /// The limiting stage over `wall`: of the stages that do work (not the channel waits), the
    /// one whose threads spent the largest share of the wall time in it. `None` when nothing
    /// was timed.
    pub fn limit(&self, wall: Duration) -> Option<Limit> {
        if !self.timed {
            return None;
        }
        let (stage, share) = Stage::ALL
            .iter()
            .filter(|s| !s.is_wait())
            .map(|&s| (s, self.share(s, wall)))
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        if share <= 0.0 {
            return None;
        }
        let other_wait = match stage.side() {
            Side::Reader => Stage::RecvWait,
            Side::Writer => Stage::SendWait,
        };
        Some(Limit {
            stage,
            share,
            other_side_waiting: self.share(other_wait, wall),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(busy_secs: [u64; 8], readers: u64, writers: u64) -> StageSnapshot {
        StageSnapshot {
            timed: true,
            readers,
            writers,
            busy: busy_secs.map(Duration::from_secs),
            channel_waits: Vec::new(),
            bytes_in: 0,
            bytes_out: 0,
        }
    }

    #[test]
    fn the_busiest_working_stage_per_thread_limits() {
        // 2 readers, 8 writers, 10 s: writers spend 9 s each writing; readers 7 s each waiting
        // to send. The waits are larger in total than any reader stage but are not work.
        let s = snapshot([0, 4, 2, 0, 14, 8, 0, 72], 2, 8);
        let limit = s.limit(Duration::from_secs(10)).expect("timed");
        assert_eq!(limit.stage, Stage::Write);
        assert!((limit.share - 0.9).abs() < 1e-9);
        assert!((limit.other_side_waiting - 0.7).abs() < 1e-9);
        assert!(
            limit
                .describe()
                .starts_with("write, waiting on the targets")
        );
        assert!(limit.describe().contains("readers waited 70%"));
        assert_eq!(
            s.summary(Duration::from_secs(10)).expect("timed"),
            "readers chunking 0% read 20% decode 10% route 0% send_wait 70% | \
             writers recv_wait 10% encode 0% write 90% | limit: write"
        );
    }

    #[test]
    fn per_thread_shares_not_totals_decide() {
        // Read: 16 s over 2 readers = 8 s each; write: 24 s over 8 writers = 3 s each.
        let s = snapshot([0, 16, 1, 1, 0, 40, 1, 24], 2, 8);
        let limit = s.limit(Duration::from_secs(10)).expect("timed");
        assert_eq!(limit.stage, Stage::Read);
        assert!((limit.other_side_waiting - 0.5).abs() < 1e-9);
        assert!(
            limit
                .describe()
                .contains("writers waited 50% of theirs for batches")
        );
    }

    #[test]
    fn untimed_or_empty_has_no_limit() {
        let mut s = snapshot([0; 8], 1, 1);
        assert_eq!(s.limit(Duration::from_secs(1)), None);
        s.timed = false;
        s.busy[1] = Duration::from_secs(1);
        assert_eq!(s.limit(Duration::from_secs(1)), None);
    }

    #[test]
    fn channel_waits_land_on_their_target_and_stage() {
        let clock = StageClock::new(2, true);
        let lap = Lap(Some(
            Instant::now()
                .checked_sub(Duration::from_millis(5))
                .expect("clock"),
        ));
        clock.add_channel_wait(Stage::SendWait, 1, lap);
        clock.add_channel_wait(Stage::RecvWait, 0, lap);
        let s = clock.snapshot();
        assert!(s.channel_waits[1].send >= Duration::from_millis(5));
        assert_eq!(s.channel_waits[1].recv, Duration::ZERO);
        assert!(s.channel_waits[0].recv >= Duration::from_millis(5));
        assert_eq!(s.channel_waits[0].send, Duration::ZERO);
        assert_eq!(s.busy(Stage::SendWait), s.channel_waits[1].send);
        assert_eq!(s.busy(Stage::RecvWait), s.channel_waits[0].recv);
    }

    #[test]
    fn an_untimed_clock_reads_no_time() {
        let clock = StageClock::new(1, false);
        let lap = clock.lap();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(lap.nanos(), 0);
        clock.add_channel_wait(Stage::SendWait, 0, lap);
        assert_eq!(clock.snapshot().busy(Stage::SendWait), Duration::ZERO);
    }
}
