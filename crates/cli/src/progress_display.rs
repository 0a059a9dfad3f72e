//! Copy progress for people: bars on a terminal (one per table and a total: rows, bytes, rate,
//! ETA, and a line of where the time goes stage by stage), and plain log lines every
//! [`LOG_INTERVAL`] when standard error is not a terminal (a job's log file). Reads the engine's
//! counters (the same ones `reshard bench` reports); never touches the data path.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use reshard_engine::online::MoveProgress;
use reshard_engine::progress::CopyProgress;

use crate::format::{changes_line, human_bytes, rate};

/// How often bars are redrawn.
const DRAW_INTERVAL: Duration = Duration::from_millis(200);
/// How often a plain progress line is logged when not on a terminal.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// A running display; [`ProgressDisplay::finish`] stops it.
pub(crate) struct ProgressDisplay {
    stop: Arc<AtomicBool>,
    /// Whether the copy finished: its bars are then completed, else left where they stand.
    completed: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What a display shows: a copy's counters, and a move's change side when there is one.
pub(crate) trait Watched: Send + Sync + 'static {
    fn copy(&self) -> &CopyProgress;
    /// One line on the change side (lag per source), if any.
    fn changes_line(&self) -> Option<String>;
}

impl Watched for CopyProgress {
    fn copy(&self) -> &CopyProgress {
        self
    }
    fn changes_line(&self) -> Option<String> {
        None
    }
}

impl Watched for MoveProgress {
    fn copy(&self) -> &CopyProgress {
        &self.copy
    }
    fn changes_line(&self) -> Option<String> {
        Some(changes_line(&self.changes()))
    }
}

impl ProgressDisplay {
    pub(crate) fn start<W: Watched>(watched: Arc<W>) -> ProgressDisplay {
        let stop = Arc::new(AtomicBool::new(false));
        let completed = Arc::new(AtomicBool::new(false));
        let (flag, done) = (Arc::clone(&stop), Arc::clone(&completed));
        let terminal = std::io::stderr().is_terminal();
        let thread = std::thread::Builder::new()
            .name("reshard-progress".into())
            .spawn(move || {
                if terminal {
                    bars(&*watched, &flag, &done);
                } else {
                    log_lines(&*watched, &flag);
                }
            })
            .ok();
        ProgressDisplay {
            stop,
            completed,
            thread,
        }
    }

    /// Stops the display; `completed` says whether the copy finished (bars of an unfinished
    /// copy stay where they are rather than jump to their end).
    pub(crate) fn finish(mut self, completed: bool) {
        self.completed.store(completed, Ordering::Relaxed);
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bars(watched: &dyn Watched, stop: &AtomicBool, completed: &AtomicBool) {
    let progress = watched.copy();
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{prefix:>32} [{bar:30}] {pos}/{len} rows {msg} ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    let bars: Vec<ProgressBar> = progress
        .tables
        .iter()
        .map(|t| {
            let bar = multi.add(ProgressBar::new(t.estimated_rows.max(1)));
            bar.set_style(style.clone());
            bar.set_prefix(short(&t.name, 32));
            bar
        })
        .collect();
    let total_estimate: u64 = progress.tables.iter().map(|t| t.estimated_rows).sum();
    let total = multi.add(ProgressBar::new(total_estimate.max(1)));
    total.set_style(style);
    total.set_prefix("total");
    let line_style = ProgressStyle::with_template("{prefix:>32} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let stages = multi.add(ProgressBar::new_spinner());
    stages.set_style(line_style.clone());
    stages.set_prefix("stages");
    let changes = watched.changes_line().map(|_| {
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(line_style.clone());
        bar.set_prefix("changes");
        bar
    });
    loop {
        let done = stop.load(Ordering::Relaxed);
        let mut rows = 0;
        let mut bytes = 0;
        for (bar, t) in bars.iter().zip(progress.snapshot()) {
            // Estimates are samples: never show a bar past its end.
            bar.set_length(t.estimated_rows.max(t.rows_inserted).max(1));
            bar.set_position(t.rows_inserted);
            bar.set_message(human_bytes(t.bytes_read));
            rows += t.rows_inserted;
            bytes += t.bytes_read;
        }
        total.set_length(total_estimate.max(rows).max(1));
        total.set_position(rows);
        // The rate over the copy's own time (frozen when it ends), in whole rows: indicatif's
        // own figure prints fractions and keeps falling once the copy is done.
        total.set_message(format!(
            "{}, {} rows/s",
            human_bytes(bytes),
            rate(rows, progress.copy_time())
        ));
        if let Some(line) = stage_line(progress) {
            stages.set_message(line);
        }
        if let (Some(bar), Some(line)) = (&changes, watched.changes_line()) {
            bar.set_message(line);
        }
        if done {
            break;
        }
        std::thread::sleep(DRAW_INTERVAL);
    }
    let completed = completed.load(Ordering::Relaxed);
    for bar in bars.iter().chain([&total, &stages]).chain(&changes) {
        if completed {
            bar.finish();
        } else {
            bar.abandon();
        }
    }
}

fn log_lines(watched: &dyn Watched, stop: &AtomicBool) {
    let progress = watched.copy();
    let mut waited = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(DRAW_INTERVAL);
        waited += DRAW_INTERVAL;
        if waited < LOG_INTERVAL {
            continue;
        }
        waited = Duration::ZERO;
        let snapshots = progress.snapshot();
        let rows: u64 = snapshots.iter().map(|s| s.rows_inserted).sum();
        let bytes: u64 = snapshots.iter().map(|s| s.bytes_read).sum();
        let estimate: u64 = snapshots.iter().map(|s| s.estimated_rows).sum();
        let done_tables = snapshots.iter().filter(|s| s.reading_done).count();
        let per_sec = rate(rows, progress.copy_time());
        let eta = if per_sec > 0 && estimate > rows {
            format!("{} s", (estimate - rows) / per_sec)
        } else {
            String::from("?")
        };
        // Estimates are samples: never show fewer rows to go than were written.
        let estimate = estimate.max(rows);
        tracing::info!(
            "progress: {rows} of ~{estimate} rows, {} read, {per_sec} rows/s, tables read {done_tables}/{}, ETA {eta}",
            human_bytes(bytes),
            snapshots.len()
        );
        if let Some(line) = stage_line(progress) {
            tracing::info!("stages: {line}");
        }
        if let Some(line) = watched.changes_line() {
            tracing::info!("changes: {line}");
        }
    }
}

/// Each stage's share of the copy's time (so far, or in all once it ended) and the limiting
/// one, once the copy has timed any.
fn stage_line(progress: &CopyProgress) -> Option<String> {
    let stages = progress.stages.snapshot().summary(progress.copy_time());
    match (
        stages,
        crate::format::throttled(&progress.throttle.snapshot()),
    ) {
        (Some(stages), Some(throttle)) => Some(format!("{stages} | {throttle}")),
        (stages, throttle) => stages.or(throttle),
    }
}

fn short(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        name.to_owned()
    } else {
        let tail: String = name
            .chars()
            .rev()
            .take(width - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}
