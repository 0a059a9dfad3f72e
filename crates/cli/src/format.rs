//! How figures are shown: rates, durations, byte counts, the change side of a move. Shared by
//! the commands' summaries and the progress display.

use std::time::Duration;

use reshard_engine::online::ChangeSnapshot;

/// Per second over `d`, as a whole number.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a non-negative display figure
pub(crate) fn rate(n: u64, d: Duration) -> u64 {
    let secs = d.as_secs_f64();
    if secs > 0.0 {
        (n as f64 / secs).round() as u64
    } else {
        n
    }
}

pub(crate) fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// `1.5 GB`-style, decimal units as disks and network rates are quoted.
pub(crate) fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} kB", n / 1e3)
    } else {
        format!("{n} B")
    }
}

/// One line on the change side of a move, for the progress display.
pub(crate) fn changes_line(changes: &ChangeSnapshot) -> String {
    let lags: Vec<String> = changes
        .sources
        .iter()
        .enumerate()
        .map(|(i, lag)| {
            format!(
                "source {} {} s / {} behind",
                i + 1,
                lag.seconds_behind,
                human_bytes(lag.bytes_behind)
            )
        })
        .collect();
    format!(
        "{} applied, {} held; {}",
        changes.images,
        changes.held,
        lags.join(", ")
    )
}

/// `throttled now (why); throttled 3.2 s in all (threads_running 3.0 s, ...); rate limit:
/// writers slept 8.0 s`, or `None` when neither ever held the job back.
pub(crate) fn throttled(snapshot: &reshard_engine::throttle::ThrottleSnapshot) -> Option<String> {
    let total = snapshot.total();
    let mut parts = Vec::new();
    if let Some(why) = &snapshot.now {
        parts.push(format!("throttled now ({why})"));
    }
    if !total.is_zero() {
        let reasons: Vec<String> = snapshot
            .engaged
            .iter()
            .map(|(name, d)| format!("{name} {}", seconds(*d)))
            .collect();
        parts.push(format!(
            "throttled {} in all ({})",
            seconds(total),
            reasons.join(", ")
        ));
    }
    if !snapshot.paced.is_zero() {
        parts.push(format!(
            "rate limit: writers slept {} in all",
            seconds(snapshot.paced)
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}
