//! Chunkers: the walk of one (source, table) in key order, cut into chunks of a byte budget.
//!
//! Three ways to cut, chosen from the table's row key ([`KeyWalk`]):
//!
//! - **Integer ranges** (a key that is one integer column): `MIN` and `MAX` are read once, and
//!   chunks are `key >= lo AND key < hi` with `hi - lo` sized by [`ChunkSizer`]. A chunk that
//!   comes back empty makes the chunker ask for the next key that exists (`MIN(key) WHERE key >=
//!   hi`) and measure the next chunk's width from there, so a gap of any width costs one query,
//!   not one chunk per gap-sized step. The chunks still tile the whole key space: the first has
//!   no lower bound (`key < hi`), each starts where the previous one ended (a jumped gap is part
//!   of the next chunk), and the last is open-ended (`key >= lo`). So rows inserted anywhere
//!   during the copy, below `MIN`, in a gap or beyond `MAX`, fall in exactly one chunk, and
//!   [`Chunk::covers`] says which keys that is: what an online move needs to decide whether a
//!   change's key has been copied yet.
//! - **Keyset** (any other key the server orders by value: composite, strings in any collation,
//!   BINARY, DATETIME, ...): the server finds each boundary (`ORDER BY key LIMIT 1 OFFSET n-1`)
//!   and chunks are `key > previous AND key <= boundary`, the comparisons spelled for the range
//!   optimizer by [`KeyWalk`]. Strings are never ordered in Rust: the server's collation decides.
//!   The last chunk is open-ended as well.
//! - **Whole table**, in one chunk, when the key cannot be walked by value (a FLOAT or ENUM key)
//!   or the table was empty at the start.
//!
//! Chunks of one table are handed out in order while earlier ones are still being read; a
//! chunker is shared by the readers of its source behind a mutex, and its boundary queries run
//! on the connection of the reader asking.

mod sizer;

pub use sizer::{ChunkSizer, INITIAL_UNITS, MAX_GROWTH, MAX_SHRINK};

use reshard_mysql::MysqlError;
use reshard_mysql::keyset::{KeyValue, KeyWalk};
use reshard_mysql::wire::RawConn;
use reshard_mysql::wire::text::first_row;

/// A part of a table to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Its number within its table (0, 1, ...), for messages and progress.
    pub seq: u64,
    /// The `WHERE` condition selecting its rows; `None` for the whole table.
    pub predicate: Option<String>,
    span: Span,
    covers: Covers,
    resume: Resume,
}

/// Where a walk resumes once a chunk and every chunk before it are copied: what a checkpoint
/// records of a (source, table).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Resume {
    /// Nothing copied: the walk starts at the beginning.
    Start,
    /// Every integer key below this is copied (an integer walk goes on at `key >= below`).
    /// Kept as text: JSON numbers do not hold every `i128`.
    Below(String),
    /// Every key up to and including this boundary (SQL literals, per key column) is copied.
    After(Vec<String>),
    /// The whole table is copied.
    End,
}

/// The keys a chunk covers: every key that is or will be in the table, not just the rows there
/// when it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covers {
    /// The integer keys `lo <= key < hi`; `i128::MIN` and `i128::MAX` stand for no bound.
    Int {
        /// The lowest key covered.
        lo: i128,
        /// The first key after the chunk.
        hi: i128,
    },
    /// Keys only the server can place (a keyset chunk: strings compare in their collation).
    Opaque,
}

impl Chunk {
    /// What the chunk covers, for messages (the condition, shortened).
    pub fn describe(&self) -> String {
        match &self.predicate {
            None => String::from("the whole table"),
            Some(p) if p.len() > 160 => {
                let cut = (0..=160)
                    .rev()
                    .find(|&i| p.is_char_boundary(i))
                    .unwrap_or(0);
                format!("{}...", &p[..cut])
            }
            Some(p) => p.clone(),
        }
    }

    /// Which keys the chunk covers.
    pub fn covers(&self) -> Covers {
        self.covers
    }

    /// Where the walk resumes once this chunk and every earlier one are copied.
    pub fn resume(&self) -> &Resume {
        &self.resume
    }
}

/// What a chunk covers, for sizing the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Span {
    /// `[lo, hi)` of an integer key; `hi` is `None` for the open-ended last chunk.
    Int { lo: i128, hi: Option<i128> },
    /// A keyset chunk of (up to) this many rows.
    Rows(u64),
    /// Everything.
    Whole,
}

/// Where a chunker is in its table.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Nothing read yet.
    Start,
    /// The next chunk covers keys from `lo` (no lower bound when `None`: the first chunk) and
    /// its width is measured from `from` (past a jumped gap); `max` was the largest key at the
    /// start.
    Int {
        lo: Option<i128>,
        from: i128,
        max: i128,
    },
    /// The next chunk starts after `after` (at the beginning when `None`).
    Keyset { after: Option<KeyValue> },
    /// An integer walk resumed at `key >= lo`: the rest of the key space, measured on first use.
    Resumed { lo: i128 },
    /// Every chunk has been handed out.
    Done,
}

/// The chunker of one (source, table).
#[derive(Debug)]
pub struct Chunker {
    walk: Option<KeyWalk>,
    /// `` `db`.`table` FORCE INDEX (...) ``: the table as chunk queries name it.
    from_sql: String,
    sizer: ChunkSizer,
    state: State,
    next_seq: u64,
}

impl Chunker {
    /// A chunker over `table_sql` walking `walk` (whole-table when `None`), aiming at
    /// `target_bytes` per chunk.
    pub fn new(table_sql: &str, walk: Option<KeyWalk>, target_bytes: u64) -> Chunker {
        let from_sql = match &walk {
            Some(w) => format!("{table_sql} {}", w.force_index()),
            None => table_sql.to_owned(),
        };
        Chunker {
            walk,
            from_sql,
            sizer: ChunkSizer::new(target_bytes),
            state: State::Start,
            next_seq: 0,
        }
    }

    /// A chunker that goes on where a checkpoint says an earlier walk of the same table got to
    /// (`Resume::Start`: the beginning). A walk resumed past its end hands out nothing.
    pub fn resumed(
        table_sql: &str,
        walk: Option<KeyWalk>,
        target_bytes: u64,
        at: &Resume,
    ) -> Result<Chunker, String> {
        let mut chunker = Chunker::new(table_sql, walk, target_bytes);
        let integer = chunker.walk.as_ref().is_some_and(|w| w.integer().is_some());
        chunker.state = match at {
            Resume::Start => State::Start,
            Resume::End => State::Done,
            Resume::Below(lo) if integer => State::Resumed {
                lo: lo.parse().map_err(|_| {
                    format!("a checkpoint's integer bound `{lo}` is not an integer")
                })?,
            },
            Resume::After(after) if chunker.walk.is_some() && !integer => State::Keyset {
                after: Some(after.clone()),
            },
            other => {
                return Err(format!(
                    "a checkpoint's place in the table ({other:?}) does not fit how its key is walked now"
                ));
            }
        };
        Ok(chunker)
    }

    /// `FROM` clause of the chunk reads: the table, with the key's index forced.
    pub fn from_sql(&self) -> &str {
        &self.from_sql
    }

    /// Whether every chunk has been handed out.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The next chunk, or `None` when the table is covered. Boundary queries run on `conn`, a
    /// reading session on the table's server.
    pub fn next(&mut self, conn: &mut RawConn) -> Result<Option<Chunk>, MysqlError> {
        if self.state == State::Start {
            self.state = self.start(conn)?;
        }
        let int_walk = self.walk.as_ref().is_some_and(|w| w.integer().is_some());
        let (predicate, span, covers, state) = match std::mem::replace(&mut self.state, State::Done)
        {
            State::Resumed { lo } => self.resumed_chunk(conn, lo)?,
            State::Done => return Ok(None),
            State::Start => {
                let covers = if int_walk {
                    Covers::Int {
                        lo: i128::MIN,
                        hi: i128::MAX,
                    }
                } else {
                    Covers::Opaque
                };
                (None, Span::Whole, covers, State::Done)
            }
            State::Int { lo, from, max } => self.int_chunk(lo, from, max),
            State::Keyset { after } => {
                let rows = self.sizer.units();
                let boundary = self.boundary(conn, after.as_deref(), rows)?;
                let walk = self.walk.as_ref().expect("keyset state has a walk");
                let lower = after.as_deref().map(|a| walk.after(a));
                match boundary {
                    Some(b) => {
                        let upper = walk.at_most(&b);
                        let predicate = match lower {
                            Some(l) => format!("{l} AND {upper}"),
                            None => upper,
                        };
                        (
                            Some(predicate),
                            Span::Rows(rows),
                            Covers::Opaque,
                            State::Keyset { after: Some(b) },
                        )
                    }
                    None => (lower, Span::Rows(rows), Covers::Opaque, State::Done),
                }
            }
        };
        let resume = match &state {
            State::Done => Resume::End,
            State::Int { lo: Some(lo), .. } => Resume::Below(lo.to_string()),
            State::Keyset { after: Some(after) } => Resume::After(after.clone()),
            State::Start
            | State::Int { lo: None, .. }
            | State::Keyset { after: None }
            | State::Resumed { .. } => {
                unreachable!("a chunk always moves the walk on")
            }
        };
        self.state = state;
        let seq = self.next_seq;
        self.next_seq += 1;
        Ok(Some(Chunk {
            seq,
            predicate,
            span,
            covers,
            resume,
        }))
    }

    /// A chunk was read: `rows` rows, `bytes` bytes of row data. Sizes the next chunk and, after
    /// an empty integer range, jumps over the gap (a query on `conn`).
    pub fn done(
        &mut self,
        conn: &mut RawConn,
        chunk: &Chunk,
        rows: u64,
        bytes: u64,
    ) -> Result<(), MysqlError> {
        match chunk.span {
            Span::Int { lo, hi: Some(hi) } => {
                let width = u64::try_from(hi - lo).unwrap_or(u64::MAX);
                self.sizer.observe(width, bytes);
                if rows == 0 {
                    self.jump_gap(conn, hi)?;
                }
            }
            Span::Rows(asked) if rows > 0 => self.sizer.observe(asked.min(rows), bytes),
            _ => {}
        }
        Ok(())
    }

    /// After `[.., hi)` came back empty: measures the next chunk from the next key at or after
    /// `hi` (the chunk still starts where the previous one ended, so the gap stays covered).
    fn jump_gap(&mut self, conn: &mut RawConn, hi: i128) -> Result<(), MysqlError> {
        let State::Int { lo, from, max } = self.state else {
            return Ok(());
        };
        let walk = self.walk.as_ref().expect("integer state has a walk");
        let sql = format!(
            "SELECT MIN({}) FROM {} WHERE {}",
            walk.column_list(),
            self.from_sql,
            walk.at_least_int(hi)
        );
        let next = first_row(conn, &sql)?
            .and_then(|v| v.into_iter().next().flatten())
            .map(|raw| parse_int(conn, &raw))
            .transpose()?;
        // With no key at or after `hi`, the rest up to `max` is empty: only the open-ended last
        // chunk (for rows inserted since) remains.
        let next = next.unwrap_or(max.saturating_add(1));
        if next > from {
            tracing::debug!(from, to = next, "jumping over a gap in the key");
            self.state = State::Int {
                lo,
                from: next,
                max,
            };
        }
        Ok(())
    }

    /// The first chunk of a resumed integer walk: from `lo` on, measured from the first key at
    /// or after it, up to the largest key now (one open-ended chunk when there is none).
    fn resumed_chunk(
        &mut self,
        conn: &mut RawConn,
        lo: i128,
    ) -> Result<(Option<String>, Span, Covers, State), MysqlError> {
        let walk = self.walk.as_ref().expect("integer state has a walk");
        let column = walk.column_list();
        let sql = format!(
            "SELECT MIN({column}), MAX({column}) FROM {} WHERE {}",
            self.from_sql,
            walk.at_least_int(lo)
        );
        let values = first_row(conn, &sql)?.unwrap_or_default();
        let (first, max) = match (
            values.first().cloned().flatten(),
            values.get(1).cloned().flatten(),
        ) {
            (Some(min), Some(max)) => (parse_int(conn, &min)?, parse_int(conn, &max)?),
            _ => {
                return Ok((
                    Some(walk.at_least_int(lo)),
                    Span::Int { lo, hi: None },
                    Covers::Int { lo, hi: i128::MAX },
                    State::Done,
                ));
            }
        };
        Ok(self.int_chunk(Some(lo), first.max(lo), max))
    }

    /// The next integer chunk: keys from `lo` (unbounded below when `None`), its width
    /// measured from `from`, the last one open-ended once `max` is passed.
    fn int_chunk(
        &self,
        lo: Option<i128>,
        from: i128,
        max: i128,
    ) -> (Option<String>, Span, Covers, State) {
        let walk = self.walk.as_ref().expect("integer state has a walk");
        let width = i128::from(self.sizer.units());
        let lower = lo.map(|lo| walk.at_least_int(lo));
        let covers_lo = lo.unwrap_or(i128::MIN);
        match from.checked_add(width).filter(|&hi| hi <= max) {
            Some(hi) => {
                let upper = walk.below_int(hi);
                (
                    Some(match lower {
                        Some(l) => format!("{l} AND {upper}"),
                        None => upper,
                    }),
                    Span::Int {
                        lo: from,
                        hi: Some(hi),
                    },
                    Covers::Int { lo: covers_lo, hi },
                    State::Int {
                        lo: Some(hi),
                        from: hi,
                        max,
                    },
                )
            }
            None => (
                lower,
                Span::Int { lo: from, hi: None },
                Covers::Int {
                    lo: covers_lo,
                    hi: i128::MAX,
                },
                State::Done,
            ),
        }
    }

    fn start(&mut self, conn: &mut RawConn) -> Result<State, MysqlError> {
        let Some(walk) = &self.walk else {
            return Ok(State::Start);
        };
        if walk.integer().is_none() {
            return Ok(State::Keyset { after: None });
        }
        let column = walk.column_list();
        let sql = format!("SELECT MIN({column}), MAX({column}) FROM {}", self.from_sql);
        let values = first_row(conn, &sql)?.unwrap_or_default();
        match (
            values.first().cloned().flatten(),
            values.get(1).cloned().flatten(),
        ) {
            (Some(min), Some(max)) => Ok(State::Int {
                lo: None,
                from: parse_int(conn, &min)?,
                max: parse_int(conn, &max)?,
            }),
            // Empty at the start: one whole-table chunk reads whatever is there by then.
            _ => Ok(State::Start),
        }
    }

    /// The key of the `rows`-th row after `after`, or `None` when fewer rows remain.
    fn boundary(
        &self,
        conn: &mut RawConn,
        after: Option<&[String]>,
        rows: u64,
    ) -> Result<Option<KeyValue>, MysqlError> {
        let walk = self.walk.as_ref().expect("keyset state has a walk");
        let columns = walk.column_list();
        let filter = after
            .map(|a| format!(" WHERE {}", walk.after(a)))
            .unwrap_or_default();
        let sql = format!(
            "SELECT {columns} FROM {}{filter} ORDER BY {columns} LIMIT 1 OFFSET {}",
            self.from_sql,
            rows.saturating_sub(1)
        );
        let Some(values) = first_row(conn, &sql)? else {
            return Ok(None);
        };
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let raw = v
                    .as_deref()
                    .ok_or_else(|| unexpected(conn, "a NULL key value"))?;
                walk.literal(i, raw).map_err(|e| unexpected(conn, &e))
            })
            .collect::<Result<KeyValue, _>>()
            .map(Some)
    }
}

fn parse_int(conn: &RawConn, raw: &[u8]) -> Result<i128, MysqlError> {
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| unexpected(conn, "an integer key that is not an integer"))
}

fn unexpected(conn: &RawConn, what: &str) -> MysqlError {
    MysqlError::Unexpected {
        server: conn.dsn().to_string(),
        doing: "finding chunk boundaries",
        detail: what.to_owned(),
    }
}
