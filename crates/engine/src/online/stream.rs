//! One binlog stream per source, on a thread of its own: reads events, and at each commit sends
//! the moved tables' changes (with the commit's position) to the applier over a bounded channel.
//! A full channel blocks the stream, and the server's socket buffers behind it: memory stays flat
//! however far the applier falls behind.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{SendTimeoutError, Sender};
use reshard_convert::binlog::ChangeBatch;
use reshard_mysql::binlog::{BinlogError, BinlogReader, MovedTable, Step};
use reshard_types::{BinlogPosition, Dsn};

use super::progress::SourceLag;
use crate::copy::Stop;
use crate::error::CopyError;
use crate::retry::{Retries, RetryPolicy};
use reshard_types::ErrorClass;

/// How often a position is sent while commits carry no change of a moved table.
const POSITION_EVERY: Duration = Duration::from_millis(200);

/// What a stream sends the applier.
#[derive(Debug)]
pub(crate) struct SourceCommit {
    /// The source's index.
    pub(crate) source: usize,
    /// The changes of the transactions since the last message, per moved table (by index).
    pub(crate) changes: Vec<(usize, ChangeBatch)>,
    /// The transaction boundary after them.
    pub(crate) position: BinlogPosition,
    /// When the last of them was logged (Unix seconds), or, for a heartbeat, when it came.
    pub(crate) timestamp: u64,
}

/// A stream to start: where and what.
pub(crate) struct StreamSpec<'a> {
    pub(crate) source: usize,
    pub(crate) dsn: &'a Dsn,
    pub(crate) from: BinlogPosition,
    pub(crate) tables: Vec<MovedTable>,
    pub(crate) server_id: u32,
}

/// Connects the stream (so a refusal comes before the copy starts). Blocking.
pub(crate) fn connect(
    runtime: &tokio::runtime::Runtime,
    spec: &StreamSpec<'_>,
) -> Result<BinlogReader, CopyError> {
    runtime
        .block_on(BinlogReader::start(
            spec.dsn,
            spec.from.clone(),
            spec.tables.clone(),
            spec.server_id,
        ))
        .map_err(|e| CopyError::Binlog(Box::new(e)))
}

/// Runs the stream until the move stops or the applier goes away; a failure stops the move. A
/// transient one (the source restarting, a lost connection) reconnects from the last commit, for
/// as long as `retry` allows: the transaction in progress is read again whole.
pub(crate) fn stream_loop(
    runtime: &tokio::runtime::Runtime,
    spec: &StreamSpec<'_>,
    reader: BinlogReader,
    tx: &Sender<SourceCommit>,
    lag: &SourceLag,
    stop: &Stop,
    retry: RetryPolicy,
) {
    let mut retries = Retries::new(retry);
    let what = format!("the binlog stream of {}", spec.dsn);
    let mut last_sent = Instant::now();
    let mut sent_position = spec.from.clone();
    let mut committed = spec.from.clone();
    let mut reader = Some(reader);
    while !stop.stopped() {
        let Some(open) = reader.as_mut() else {
            let again = StreamSpec {
                from: committed.clone(),
                tables: spec.tables.clone(),
                ..*spec
            };
            match connect(runtime, &again) {
                Ok(r) => reader = Some(r),
                Err(e) if retries.again(&what, transient(&e), &e) => {}
                Err(e) => return stop.fail(e),
            }
            continue;
        };
        let step = match runtime.block_on(open.next()) {
            Ok(step) => step,
            Err(e) => {
                committed = open.committed().clone();
                reader = None;
                let class = if e.is_transient() {
                    ErrorClass::Transient
                } else {
                    ErrorClass::Definite
                };
                if retries.again(&what, class, &e) {
                    continue;
                }
                return stop.fail(CopyError::Binlog(Box::new(e)));
            }
        };
        let reader = reader.as_mut().expect("read from above");
        let timestamp = match step {
            Step::Commit => u64::from(reader.last_timestamp()),
            Step::Idle if !reader.in_transaction() => now(),
            Step::Idle | Step::Rows | Step::Other => continue,
        };
        retries.succeeded();
        lag.received(reader.committed());
        let changes = match reader.take_changes() {
            Ok(c) => c,
            Err(e) => return stop.fail(CopyError::Binlog(Box::new(e))),
        };
        let moved = reader.committed() != &sent_position;
        let due = match step {
            Step::Idle => moved,
            _ => !changes.is_empty() || (moved && last_sent.elapsed() >= POSITION_EVERY),
        };
        if !due {
            continue;
        }
        let mut message = SourceCommit {
            source: spec.source,
            changes,
            position: reader.committed().clone(),
            timestamp,
        };
        sent_position = message.position.clone();
        last_sent = Instant::now();
        loop {
            match tx.send_timeout(message, Duration::from_millis(200)) {
                Ok(()) => break,
                Err(SendTimeoutError::Timeout(m)) if !stop.stopped() => message = m,
                Err(_) => return,
            }
        }
    }
}

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether reconnecting a stream that failed with `e` can help.
fn transient(e: &CopyError) -> ErrorClass {
    match e {
        CopyError::Binlog(b) if b.is_transient() => ErrorClass::Transient,
        _ => ErrorClass::Definite,
    }
}

impl From<BinlogError> for CopyError {
    fn from(e: BinlogError) -> CopyError {
        CopyError::Binlog(Box::new(e))
    }
}
