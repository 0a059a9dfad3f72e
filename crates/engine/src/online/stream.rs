//! One binlog stream per source, on a thread of its own: reads events, and at each commit sends
//! the moved tables' changes (with the commit's position) to the applier over a bounded channel.
//! A full channel blocks the stream, and the server's socket buffers behind it: memory stays flat
//! however far the applier falls behind.
//!
//! **Large transactions go in parts.** Once the changes read of a transaction reach
//! [`PART_BYTES`], they are sent as a part: its point is the transaction's start plus the
//! images of each table sent so far ([`StreamPoint`]). So a transaction of any size holds at
//! most a part in the stream, and the queue holds at most [`QUEUE_BYTES`] (and `QUEUE`
//! messages). Everything in the binary log is committed, so applying a part before the rest is
//! read changes nothing but when the targets see it. A stream that reconnects in the middle of
//! a transaction (or starts at a checkpoint taken in one) reads it again from its start and
//! drops the images it has already sent, table by table, in binlog order: a part is never sent
//! twice.

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
/// Row data of one transaction a stream gathers before it sends a part.
pub(crate) const PART_BYTES: usize = 4 << 20;
/// Row data queued for the applier, over all streams, beyond which a stream waits.
pub(crate) const QUEUE_BYTES: usize = 16 << 20;

/// A place in a source's stream of changes: a transaction boundary, or a part of the way into
/// the transaction that starts there (`part`: images of each moved table sent of it; empty at
/// a boundary). Ordered by position, then by images sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamPoint {
    pub(crate) position: BinlogPosition,
    pub(crate) part: Vec<u64>,
}

impl StreamPoint {
    /// The boundary at `position`.
    pub(crate) fn at(position: BinlogPosition) -> StreamPoint {
        StreamPoint {
            position,
            part: Vec::new(),
        }
    }

    fn sent(&self) -> u64 {
        self.part.iter().sum()
    }
}

impl Ord for StreamPoint {
    fn cmp(&self, other: &StreamPoint) -> std::cmp::Ordering {
        self.position
            .cmp(&other.position)
            .then(self.sent().cmp(&other.sent()))
    }
}

impl PartialOrd for StreamPoint {
    fn partial_cmp(&self, other: &StreamPoint) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// What a stream sends the applier.
#[derive(Debug)]
pub(crate) struct SourceCommit {
    /// The source's index.
    pub(crate) source: usize,
    /// The changes of the transactions since the last message, per moved table (by index).
    pub(crate) changes: Vec<(usize, ChangeBatch)>,
    /// The point after them: a transaction boundary, or a part into a large transaction.
    pub(crate) point: StreamPoint,
    /// When the last of them was logged (Unix seconds), or, for a heartbeat, when it came.
    pub(crate) timestamp: u64,
    /// Bytes of row data it holds (counted in [`QueuedBytes`] until the applier takes it).
    pub(crate) bytes: usize,
}

/// Row data sent to the applier and not yet taken, over all streams.
#[derive(Debug, Default)]
pub(crate) struct QueuedBytes(std::sync::atomic::AtomicUsize);

impl QueuedBytes {
    /// The applier took a message of `bytes`.
    pub(crate) fn taken(&self, bytes: usize) {
        self.0
            .fetch_sub(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    fn sent(&self, bytes: usize) {
        self.0
            .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    fn full(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed) > QUEUE_BYTES
    }
}

/// The images of the transaction being read that were already sent (per table), and those
/// taken from the reader in this reading of it: what is taken beyond the first is new.
#[derive(Debug, Default)]
struct TransactionParts {
    sent: Vec<u64>,
    seen: Vec<u64>,
}

impl TransactionParts {
    /// Drops from `changes` the images already sent, and counts the rest as sent.
    fn new_only(&mut self, changes: Vec<(usize, ChangeBatch)>) -> Vec<(usize, ChangeBatch)> {
        let mut out = Vec::with_capacity(changes.len());
        for (table, batch) in changes {
            if self.sent.len() <= table {
                self.sent.resize(table + 1, 0);
            }
            if self.seen.len() <= table {
                self.seen.resize(table + 1, 0);
            }
            let n = batch.ops.len() as u64;
            let duplicate = self.sent[table].saturating_sub(self.seen[table]).min(n);
            self.seen[table] += n;
            self.sent[table] = self.sent[table].max(self.seen[table]);
            if duplicate == n {
                continue;
            }
            let skip = usize::try_from(duplicate).expect("a batch fits in memory");
            out.push((
                table,
                ChangeBatch {
                    images: batch.images.slice(skip, batch.ops.len() - skip),
                    ops: batch.ops[skip..].to_vec(),
                },
            ));
        }
        out
    }

    /// The transaction is read again from its start (a reconnection).
    fn again(&mut self) {
        self.seen.clear();
    }

    /// The transaction ended.
    fn ended(&mut self) {
        self.sent.clear();
        self.seen.clear();
    }
}

/// A stream to start: where and what.
pub(crate) struct StreamSpec<'a> {
    pub(crate) source: usize,
    pub(crate) dsn: &'a Dsn,
    pub(crate) from: BinlogPosition,
    /// Images of each table of the transaction at `from` already applied (a checkpoint taken
    /// in the middle of a large transaction): dropped when read.
    pub(crate) skip: Vec<u64>,
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
#[allow(clippy::too_many_arguments)] // the stream's shared state
pub(crate) fn stream_loop(
    runtime: &tokio::runtime::Runtime,
    spec: &StreamSpec<'_>,
    reader: BinlogReader,
    tx: &Sender<SourceCommit>,
    queued: &QueuedBytes,
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
    let mut parts = TransactionParts {
        sent: spec.skip.clone(),
        seen: Vec::new(),
    };
    while !stop.stopped() {
        let Some(open) = reader.as_mut() else {
            let again = StreamSpec {
                from: committed.clone(),
                tables: spec.tables.clone(),
                skip: Vec::new(),
                ..*spec
            };
            match connect(runtime, &again) {
                Ok(r) => {
                    parts.again();
                    reader = Some(r);
                }
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
                // A move that is ending (interrupted, or cut over: its renames are in the binlog
                // after the positions it stopped at) has no use for what follows.
                if stop.stopped() {
                    return;
                }
                if retries.again(&what, class, &e) {
                    continue;
                }
                return stop.fail(CopyError::Binlog(Box::new(e)));
            }
        };
        let reader = reader.as_mut().expect("read from above");
        let part = step == Step::Rows && reader.pending_bytes() >= PART_BYTES;
        let timestamp = match step {
            Step::Commit => u64::from(reader.last_timestamp()),
            Step::Idle if !reader.in_transaction() => now(),
            Step::Rows if part => u64::from(reader.last_timestamp()),
            Step::Idle | Step::Rows | Step::Other => continue,
        };
        retries.succeeded();
        lag.received(reader.committed());
        let changes = match reader.take_changes() {
            Ok(c) => parts.new_only(c),
            Err(e) => return stop.fail(CopyError::Binlog(Box::new(e))),
        };
        let point = if part {
            StreamPoint {
                position: reader.committed().clone(),
                part: parts.sent.clone(),
            }
        } else {
            parts.ended();
            StreamPoint::at(reader.committed().clone())
        };
        let moved = reader.committed() != &sent_position;
        let due = match step {
            Step::Idle => moved,
            Step::Rows => !changes.is_empty(),
            _ => !changes.is_empty() || (moved && last_sent.elapsed() >= POSITION_EVERY),
        };
        if !due {
            continue;
        }
        let bytes = changes
            .iter()
            .map(|(_, b)| b.images.get_array_memory_size())
            .sum();
        let mut message = SourceCommit {
            source: spec.source,
            changes,
            point,
            timestamp,
            bytes,
        };
        if !part {
            sent_position = message.point.position.clone();
        }
        last_sent = Instant::now();
        // Memory is bounded by bytes as well as by messages: wait while the applier is behind.
        while queued.full() && !stop.stopped() {
            std::thread::sleep(Duration::from_millis(5));
        }
        queued.sent(message.bytes);
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
