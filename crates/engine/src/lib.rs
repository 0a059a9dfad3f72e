//! The move: copier, change applier, verifier, checkpoint, sentinel and cutover.
//!
//! Wiring only: the logic lives in `reshard-convert`, `reshard-kernels` and `reshard-mysql`;
//! this crate connects them with bounded channels and owns the correctness argument of a move
//! (see `docs/architecture.md`).
//!
//! - [`job`]: a whole copy or move, from a validated topology to a report: what the CLI and
//!   embedders run.
//! - [`copy`]: the bulk copy of whole tables (`reshard copy`), and the setup of its targets.
//! - [`chunker`]: how a table is cut into chunks of a byte budget.
//! - [`online`]: the binlog streams and the change applier of `reshard move`, and why they
//!   lose nothing while the copy runs.
//! - [`progress`]: counters workers update and displays read.
//! - [`topology`]: sources, targets, key ranges and sharding rules from flags, VSchema and TOML.
//! - [`table`]: for embedders, a table as an iterator of Arrow batches, a sink that writes
//!   batches into a table, and a router that splits batches by shard.

pub mod checkpoint;
pub mod chunker;
pub mod config;
pub mod copy;
pub mod cutover;
mod error;
pub mod job;
mod marks;
pub mod online;
pub mod progress;
pub mod retry;
pub mod stages;
pub mod status;
pub mod table;
pub mod throttle;
pub mod topology;
pub mod verify;

pub use error::{CopyError, Refusal};
