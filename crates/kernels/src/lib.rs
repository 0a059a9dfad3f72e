//! Pure Arrow kernels of reshard: free, synchronous functions over arrays and record batches.
//!
//! - [`vindex`]: Vitess's vindex functions one value at a time (`hash`, `xxhash`, `numeric`,
//!   `reverse_bits`, `binary`, `binary_md5`, `unicode_loose_xxhash`, `unicode_loose_md5`),
//!   byte-exact with Vitess's published vectors: the reference the columnar kernels are checked
//!   against.
//! - [`unicode_loose`]: the collation key of the `unicode_loose_*` vindexes, a port of Go's
//!   `x/text` collator and its table.
//! - [`route`]: key ranges to targets ([`route::Router`]): binary search over the sorted starts,
//!   or a shift when the ranges are an even power-of-two split.
//! - [`column`](mod@column): the target of every row of a batch from its sharding column, one type branch
//!   per batch, rayon for large batches.
//! - [`split`]: one batch per target, reusing index buffers.
//! - [`changes`]: the change applier's plan for a run of row changes: the last image of each key
//!   wins, and the key is deleted on every other shard any of its images routed to.
//!
//! - [`rowhash`]: row hashes (XXH3-128 of the canonical encoding), key ids, and chunk digests
//!   (count and a sum that does not cancel) for verification.
//!
//! This crate owns the criterion
//! micro-benchmarks of its kernels (`benches/`).

pub mod changes;
pub mod column;
pub mod route;
pub mod rowhash;
pub mod split;
pub mod unicode_loose;
pub mod vindex;

#[cfg(test)]
mod property_tests;
