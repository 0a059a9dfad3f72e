//! MySQL values to and from Apache Arrow, byte-exact. Pure: no sockets, no async runtime.
//!
//! This crate will hold (issue "lossless columnar core"):
//! - the schema mapping from a table's column definitions to an Arrow schema whose field metadata
//!   keeps the MySQL type, signedness, precision, scale, charset and collation;
//! - decoders from result-set rows and binlog row images straight into Arrow builders;
//! - encoders from record batches into what a target ingests fastest;
//! - the canonical row encoding that checksums and diffs hash.
//!
//! Keeping it free of I/O is what lets it be benchmarked with criterion and fuzzed with
//! cargo-fuzz on its own.
