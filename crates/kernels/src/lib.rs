//! Pure Arrow kernels of reshard: free, synchronous functions over arrays and record batches.
//!
//! - [`vindex`]: Vitess's vindex functions one value at a time (`hash`, `xxhash`, `numeric`,
//!   `reverse_bits`, `binary`, `binary_md5`), byte-exact with Vitess's published vectors: the
//!   reference the columnar routing kernels are checked against.
//!
//! To come (issue "resharding"): keyspace ids a column at a time, the key-range lookup, the split
//! of a batch into one batch per target, `unicode_loose_xxhash`, and (later) row hashing for
//! checksums and row diffs. This crate owns their criterion micro-benchmarks.

pub mod vindex;
