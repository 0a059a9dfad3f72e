//! Verification: do the targets hold exactly the sources' rows, each on the target it belongs
//! on? Every row is compared byte for byte (through its hash), and every row that differs is
//! named by its key.
//!
//! **What is compared.** For each table, the key space is cut into chunks by the copy's
//! chunker, walking the first source ([`crate::chunker`]: the chunks tile the whole key space,
//! the first and last are open-ended, so every key of every server falls in exactly one). For a
//! chunk, every source and every target that receives the table is read for that key range, in
//! parallel, one thread per server. Each row becomes its key id, its row hash (XXH3-128 of the
//! canonical encoding: [`reshard_kernels::rowhash`]) and, on a source, the target it belongs on
//! (the copy's routing kernel, the copy's rules). Then per target, the digest (count and sum) of
//! the source rows that belong there is compared with the digest of the rows it holds; only a
//! target whose digest differs is narrowed to rows by key id (`compare`): missing, extra,
//! different and misplaced rows, each exactly once. No row is read twice, and nothing is
//! compared by collation: two values are equal when their bytes are (`'a'` and `'A'` differ under any
//! collation, as do `''` and NULL, or `'x'` and `'x '` in a VARBINARY).
//!
//! **Memory** is one batch per server being read, plus per row of the chunk its key id, hash
//! and placement (48 bytes) and its key's values: bounded by the chunk's byte budget and the
//! batch limits, whatever the table's or a row's size (a 10 MB BLOB is hashed and dropped).
//!
//! **What it proves, and when.** Each server's read of a chunk is one statement, so one
//! consistent snapshot of that server. When the sources and targets do not change while they
//! are read (after `reshard copy`, with the application stopped, or after cutover), equal
//! digests mean equal rows (up to a 2^-128 chance per chunk) and every reported row is a real
//! difference. While a source takes writes, a source read and a target read of one chunk are
//! snapshots at different instants, and a row written in between looks different. This
//! standalone verification therefore reads each source's binlog position before and after, and
//! reports the sources that moved ([`VerifyReport::sources_written`]): the CLI then says that
//! its differences may be changes in flight, and that the proof under live writes is the
//! move's own verification, which brings the targets to each source snapshot's position.

mod compare;
pub(crate) mod in_move;
mod read;
mod report;
mod run;

pub use compare::DifferenceKind;
pub use report::{RowDifference, SourceWritten, TableReport, TargetCounts, VerifyReport};
pub use run::{VERIFY_BATCH, VerifyOptions, VerifyProgress, run_verify};
