//! MySQL values to and from Apache Arrow, byte-exact. Pure: no sockets, no async runtime.
//!
//! ```text
//!  TableSchema ──schema::arrow_schema──► Arrow Schema (field metadata keeps the MySQL column)
//!                    ▲                        │
//!                    └──schema::column_from_field (the inverse, exact)
//!
//!  RecordBatch ──canonical::RowEncoder──► one canonical byte string per row (checksums, diffs)
//! ```
//!
//! Coming with the rest of the columnar core: decoders from result-set rows and binlog row images
//! straight into Arrow builders, and encoders from record batches into what a target ingests
//! fastest.
//!
//! Keeping it free of I/O is what lets it be benchmarked with criterion and fuzzed with
//! cargo-fuzz on its own.

pub mod canonical;
pub mod decimal;
pub mod decode;
pub mod encode;
mod error;
#[cfg(test)]
mod roundtrip_tests;
pub mod schema;
pub mod temporal;
#[cfg(test)]
mod test_support;

pub use error::ConvertError;
