//! The online half of a move: binlog changes applied to the targets while the copy runs, and
//! after it, until the move is stopped or has caught up (`reshard move`).
//!
//! ```text
//!  source 1 ── binlog stream thread ──┐ SourceCommit (changes of transactions, large ones in parts + point)
//!  source N ── binlog stream thread ──┤ bounded channel
//!                                     ▼
//!                 applier (this thread), in cycles:
//!                   1. chunks the copy finished → release the changes held for them
//!                   2. new changes → drop / hold / apply, by what the copy has done (below)
//!                   3. per table: dedupe by key, route, plan (reshard_kernels::changes)
//!                   4. per target in parallel: one transaction of DELETEs then REPLACEs
//!                   5. record each source's position (a transaction boundary)
//!                 between cycles: a verification may hold it at exact positions (barrier)
//!  copy (crate::copy) ── hand-outs and completed chunks ──► Watermarks ──► applier
//! ```
//!
//! # Why no change is lost and no row is stale
//!
//! Each source's stream starts at the binlog position captured before the copy's first read,
//! so every change after that point reaches the applier, in binlog order. The copy writes with
//! `LOAD DATA ... IGNORE` (never overwriting a row the target has); the applier writes the
//! final image of each key (`REPLACE`) and deletes by key. Every key belongs to exactly one
//! chunk of its (source, table): integer chunks tile the key space (see [`crate::chunker`]),
//! and for any other key the chunks together cover the table. A change to key `k`, whose chunk
//! is `c`, committed at binlog position `p`, is:
//!
//! - **dropped** when `c` has not been handed to a reader. The reader publishes the hand-out
//!   (under the lock the applier reads it under) *before* it asks the server where the binlog
//!   ends (`M`) and starts a consistent snapshot that it waits to be at or after `M`
//!   ([`reshard_mysql::binlog::snapshot`]: a transaction is in the binlog before it is visible,
//!   so "read later" alone is not enough). The change was in the binlog before the applier
//!   looked, so before the hand-out, so `p < M <= snapshot`: the chunk's read contains it, and
//!   every later change to `k` comes through the stream again.
//! - **held** when `c` has been handed out but is not yet on every target (its read finished
//!   and every part written). Applying it now could be undone: a row the chunk read before a
//!   `DELETE` would be inserted by the copy after the applier deleted it, and a row whose
//!   sharding column changed would be left on its old shard. Held changes are released, in
//!   their order and before any newer change of the same chunk, once `c` is complete.
//! - **applied** when `c` is on every target. The copy never writes `c` again, and applying the
//!   change in binlog order leaves `k` as the source has it after `p`, whatever version of
//!   `k` the chunk wrote: `REPLACE` overwrites an older copied row, and `IGNORE` had kept an
//!   applied row from being overwritten by an older copy.
//!
//! So the target holds, for each key, either the copied version and then every change after
//! the chunk's snapshot, or (for a key first seen after its chunk was read) exactly the changes
//! the stream carried. Changes of one key are applied in binlog order: one stream per source,
//! one applier, held changes released before newer ones. Keys live on one source each, so
//! sources need no order between them.
//!
//! Integer-keyed tables hold changes only for the chunks in flight (a few per reader). Tables
//! chunked by keyset hold every change from their first hand-out until their last chunk is on
//! every target, because only the server can say which chunk a string key falls in; the held
//! count is reported in progress.
//!
//! # Positions
//!
//! A source's applied position moves after a cycle has committed on every target, and only
//! ever to a transaction boundary, or to a part of the way into a large transaction (the
//! images of each table sent of it: `stream::StreamPoint`). Changes held for a chunk in flight
//! are part of it: the checkpoint ([`crate::checkpoint`]) stores the positions together with
//! the copy's completed chunks, and the applier saves it (`checkpointing`) so that it is never
//! ahead of what every target holds.

mod apply;
pub(crate) mod barrier;
mod checkpointing;
mod classify;
mod progress;
mod run;
mod stream;

pub use checkpointing::Checkpointing;
pub use progress::{ChangeSnapshot, CutoverProgress, LagSnapshot, MoveProgress, SourceLag};
pub use run::{
    AfterCopy, AfterCopyContext, HeldApplier, MoveEnd, MoveOptions, run_move, run_move_then,
    start_positions,
};
pub(crate) use stream::StreamPoint;
pub use stream::now as unix_now;
