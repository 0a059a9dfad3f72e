//! Pure Arrow kernels of reshard: free, synchronous functions over arrays and record batches.
//!
//! This crate will hold (issue "resharding"): the Vitess-compatible vindexes computing keyspace
//! ids a column at a time, the key-range lookup, the split of a batch into one batch per target,
//! and (later) row hashing for checksums and row diffs. It owns the criterion micro-benchmarks.
