//! MySQL values to and from Apache Arrow, byte-exact. Pure: no sockets, no async runtime.
//!
//! ```text
//!  TableSchema ──schema::arrow_schema──► Arrow Schema (field metadata keeps the MySQL column)
//!                    ▲                        │
//!                    └──schema::column_from_field (the inverse, exact)
//!
//!  binary-protocol row packets ──decode::BinaryRowDecoder──► RecordBatch (no per-cell allocation)
//!  RecordBatch ──encode::load_data::LoadDataEncoder──► LOAD DATA LOCAL INFILE input (the write path)
//!  RecordBatch ──encode::insert::InsertEncoder──► multi-row INSERT text
//!  RecordBatch ──canonical::RowEncoder──► one canonical byte string per row (checksums, diffs)
//!
//!  binlog row images ──binlog::ChangeDecoder──► change batches (images + ops), same schema
//! ```
//!
//! `decimal` and `temporal` hold the exact arithmetic both directions share.
//!
//! Keeping it free of I/O is what lets it be benchmarked with criterion and fuzzed with
//! cargo-fuzz on its own.

pub mod binlog;
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
