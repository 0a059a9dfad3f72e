//! A place in a server's binary log.
//!
//! A position is a file name and a byte offset into it. Positions of **one server** are ordered:
//! first by the file's sequence number (the digits after the last `.` of its name), then by
//! offset. The sequence number is compared as a number, not as text: after `mysql-bin.999999`
//! the server goes on with `mysql-bin.1000000`, which sorts before it as text. Positions of two
//! different servers are not comparable in any useful sense, and nothing in reshard compares
//! them.
//!
//! The offset is a `u64`. The binlog event header carries the end of each event as a 32-bit
//! `log_pos`, which wraps in a file that grows past 4 GiB (one large transaction is enough, since
//! a transaction never spans files); the binlog reader therefore takes only the low 32 bits from
//! the header and keeps the high ones itself (`reshard_mysql::binlog`), so offsets stay exact
//! past 4 GiB.
//!
//! Reshard records a position only at a transaction boundary (after a commit, or after a
//! statement that is its own transaction): resuming from a recorded position never starts in the
//! middle of a transaction.

use std::cmp::Ordering;
use std::fmt;

/// A file and a byte offset in one server's binary log (see the module docs for its order).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BinlogPosition {
    file: String,
    offset: u64,
}

impl BinlogPosition {
    /// The position `offset` bytes into `file`.
    pub fn new(file: impl Into<String>, offset: u64) -> BinlogPosition {
        BinlogPosition {
            file: file.into(),
            offset,
        }
    }

    /// The file's name, as the server reports it (`mysql-bin.000042`).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The byte offset into the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The file's sequence number: the digits after the last `.`, or 0 when there are none.
    pub fn file_number(&self) -> u64 {
        file_number(&self.file)
    }
}

/// The sequence number of a binlog file name (see [`BinlogPosition::file_number`]).
pub fn file_number(file: &str) -> u64 {
    file.rsplit_once('.')
        .and_then(|(_, digits)| digits.parse().ok())
        .unwrap_or(0)
}

impl Ord for BinlogPosition {
    fn cmp(&self, other: &BinlogPosition) -> Ordering {
        self.file_number()
            .cmp(&other.file_number())
            .then(self.offset.cmp(&other.offset))
            // Only to make the order total; one server's files differ in their numbers.
            .then_with(|| self.file.cmp(&other.file))
    }
}

impl PartialOrd for BinlogPosition {
    fn partial_cmp(&self, other: &BinlogPosition) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for BinlogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_file_number_then_offset() {
        let a = BinlogPosition::new("mysql-bin.000009", 900);
        let b = BinlogPosition::new("mysql-bin.000010", 4);
        let c = BinlogPosition::new("mysql-bin.000010", 5);
        assert!(a < b && b < c);
        // Text order would put .1000000 before .999999.
        let d = BinlogPosition::new("mysql-bin.999999", 1 << 40);
        let e = BinlogPosition::new("mysql-bin.1000000", 4);
        assert!(d < e);
        assert_eq!(e.file_number(), 1_000_000);
    }

    #[test]
    fn offsets_past_four_gib_stay_exact() {
        let p = BinlogPosition::new("binlog.000001", u64::from(u32::MAX) + 90);
        assert_eq!(p.offset(), u64::from(u32::MAX) + 90);
        assert!(p > BinlogPosition::new("binlog.000001", u64::from(u32::MAX)));
        assert_eq!(p.to_string(), "binlog.000001:4294967385");
    }

    #[test]
    fn a_name_without_digits_is_file_zero() {
        assert_eq!(file_number("binlog"), 0);
        assert_eq!(file_number("a.b.000123"), 123);
    }
}
