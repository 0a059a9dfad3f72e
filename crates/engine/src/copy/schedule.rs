//! Which chunk a reader takes next: least progress first.
//!
//! Every (source, table) pair is a unit with its own chunker. A reader of a source asks for work
//! and gets a chunk of that source's unit whose table has the smallest fraction of its estimated
//! rows read (ties: the larger table first). Large tables therefore start at once and keep
//! getting readers for as long as they are behind, and the copy does not end with one large
//! table read alone while the other readers idle: chunkers of every key shape hand out chunks
//! while earlier ones are still being read, so all readers can work on the last table together.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use reshard_mysql::MysqlError;
use reshard_mysql::wire::RawConn;

use crate::chunker::{Chunk, Chunker};
use crate::progress::CopyProgress;

/// One (source, table) to copy.
#[derive(Debug)]
pub(crate) struct Unit {
    pub(crate) source: usize,
    pub(crate) table: usize,
    pub(crate) chunker: Mutex<Chunker>,
    /// The chunker's `FROM` clause, readable without waiting on its lock.
    pub(crate) from_sql: String,
    exhausted: AtomicBool,
}

/// The units of a copy.
#[derive(Debug)]
pub(crate) struct Scheduler {
    units: Vec<Unit>,
}

/// A chunk to read, of `units[unit]`.
#[derive(Debug)]
pub(crate) struct Assignment {
    pub(crate) unit: usize,
    pub(crate) chunk: Chunk,
    /// Whether it is the unit's last chunk.
    pub(crate) last: bool,
}

impl Scheduler {
    pub(crate) fn new(units: Vec<(usize, usize, Chunker)>) -> Scheduler {
        Scheduler {
            units: units
                .into_iter()
                .map(|(source, table, chunker)| Unit {
                    source,
                    table,
                    from_sql: chunker.from_sql().to_owned(),
                    chunker: Mutex::new(chunker),
                    exhausted: AtomicBool::new(false),
                })
                .collect(),
        }
    }

    pub(crate) fn unit(&self, unit: usize) -> &Unit {
        &self.units[unit]
    }

    /// The next chunk for a reader of `source`, or `None` when all its units are handed out.
    /// `conn` runs the boundary queries; an error names the unit it happened on.
    pub(crate) fn next(
        &self,
        source: usize,
        progress: &CopyProgress,
        conn: &mut RawConn,
    ) -> Result<Option<Assignment>, (usize, MysqlError)> {
        loop {
            let mut candidates: Vec<usize> = (0..self.units.len())
                .filter(|&u| {
                    self.units[u].source == source && !self.units[u].exhausted.load(Relaxed)
                })
                .collect();
            if candidates.is_empty() {
                return Ok(None);
            }
            candidates.sort_by(|&a, &b| {
                let key = |u: usize| {
                    let t = &progress.tables[self.units[u].table];
                    let fraction = t.rows_read() as f64 / t.estimated_rows.max(1) as f64;
                    (fraction, std::cmp::Reverse(t.estimated_rows))
                };
                let (ka, kb) = (key(a), key(b));
                ka.0.total_cmp(&kb.0).then(ka.1.cmp(&kb.1))
            });
            // A unit whose chunker is busy (another reader finding a boundary) is passed over for
            // the next one; only when all are busy does this reader wait, on the first.
            let mut chosen = None;
            for &u in &candidates {
                if let Ok(guard) = self.units[u].chunker.try_lock() {
                    chosen = Some((u, guard));
                    break;
                }
            }
            let (u, mut chunker) = match chosen {
                Some(c) => c,
                None => {
                    let u = candidates[0];
                    (u, self.units[u].chunker.lock().expect("chunker lock"))
                }
            };
            match chunker.next(conn).map_err(|e| (u, e))? {
                Some(chunk) => {
                    return Ok(Some(Assignment {
                        unit: u,
                        chunk,
                        last: chunker.is_done(),
                    }));
                }
                None => {
                    self.units[u].exhausted.store(true, Relaxed);
                    let table = self.units[u].table;
                    if self
                        .units
                        .iter()
                        .filter(|x| x.table == table)
                        .all(|x| x.exhausted.load(Relaxed))
                    {
                        progress.tables[table].set_reading_done();
                    }
                }
            }
        }
    }
}
