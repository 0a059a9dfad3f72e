//! How each column's values are laid out in a binlog row image, from the table map's type code
//! and metadata, checked against the column the schema says it is.
//!
//! The table map names the storage type of each column (which differs from the result-set type:
//! DATETIME(6) is `DATETIME2`, ENUM is `STRING` with the real type in its metadata) and carries
//! the metadata needed to read it (string length prefixes, DECIMAL precision, fraction digits).
//! [`ValueFormat::choose`] turns the pair (table-map column, schema column) into the one decode
//! path for that column, or says why the two do not fit: a column that changed type since the
//! move read the schema is an error, never a guess.

use reshard_types::{ColumnDef, ColumnType, IntWidth};

use super::decimal;
use crate::schema::is_utf8_charset;

use crate::decode::wire_type as bt;

/// One column of a table map: its storage type code and its metadata bytes (0 to 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BinlogColumn {
    /// The `MYSQL_TYPE_*` storage code.
    pub type_code: u8,
    /// The metadata bytes, as the table map has them (unused bytes zero).
    pub meta: [u8; 2],
}

/// The decode path of one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ValueFormat {
    /// A little-endian integer of `bytes` bytes (sign-extended for 3-byte signed values).
    Int {
        bytes: u8,
        signed: bool,
    },
    Float,
    Double,
    /// Binary DECIMAL.
    Decimal {
        precision: u8,
        scale: u8,
        len: usize,
    },
    /// One byte, years since 1900 (0 is the zero year).
    Year,
    /// Three bytes: `day | month << 5 | year << 9`.
    Date,
    /// Old 3-byte TIME: a signed `hhmmss` number.
    OldTime,
    /// Old 8-byte DATETIME: a `YYYYMMDDhhmmss` number.
    OldDateTime,
    /// Old 4-byte TIMESTAMP: seconds.
    OldTimestamp,
    Time2 {
        fsp: u8,
    },
    DateTime2 {
        fsp: u8,
    },
    Timestamp2 {
        fsp: u8,
    },
    /// A string with a `prefix`-byte little-endian length. `char_pad` says how CHAR/BINARY
    /// values are made to look as a `SELECT` returns them.
    Bytes {
        prefix: u8,
        char_pad: CharPad,
    },
    /// ENUM: a `bytes`-byte member index (0 is the empty string).
    Enum {
        bytes: u8,
        members: Vec<String>,
    },
    /// SET: a `bytes`-byte bit mask of members.
    Set {
        bytes: u8,
        members: Vec<String>,
    },
    /// BIT: `bytes` big-endian bytes.
    Bit {
        bytes: u8,
    },
    /// MariaDB INET4: stored like BINARY(4) (a length byte, trailing zero bytes left out), shown
    /// as a dotted quad.
    Inet4,
    /// MariaDB INET6: stored like BINARY(16), in network byte order; shown as MariaDB prints it
    /// ([`super::value::inet6_text`]).
    Inet6,
    /// MariaDB UUID: stored like BINARY(16), in the order of its text (measured on MariaDB
    /// 10.11: the binlog carries the bytes as `HEX(uuid)` shows them, whatever the version of the
    /// UUID); shown as lowercase `8-4-4-4-12` hex.
    Uuid,
}

/// How a fixed-length string's binlog value differs from what `SELECT` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CharPad {
    /// Not a fixed-length string: the bytes as they are.
    None,
    /// CHAR in a character set: the binlog may keep pad spaces, `SELECT` strips trailing spaces.
    StripSpaces,
    /// BINARY(n): the binlog strips trailing zero bytes, `SELECT` returns all n bytes.
    ZeroPadTo(u32),
}

impl ValueFormat {
    /// The decode path for `column` stored as `binlog`, or why there is none.
    pub(crate) fn choose(column: &ColumnDef, binlog: BinlogColumn) -> Result<ValueFormat, String> {
        let code = binlog.type_code;
        let [m0, m1] = binlog.meta;
        let mismatch = || {
            format!(
                "the binlog stores it as type {code} (metadata {m0:#04x} {m1:#04x}), which does not fit its column type `{}`; did the table change while the move ran?",
                column.column_type
            )
        };
        let fsp_matches = |fsp: u8| m0 == fsp;
        let format = match (&column.ty, code) {
            (ColumnType::Int { width, unsigned }, _) => {
                let (bytes, expected) = match width {
                    IntWidth::W8 => (1, bt::TINY),
                    IntWidth::W16 => (2, bt::SHORT),
                    IntWidth::W24 => (3, bt::INT24),
                    IntWidth::W32 => (4, bt::LONG),
                    IntWidth::W64 => (8, bt::LONGLONG),
                };
                if code != expected {
                    return Err(mismatch());
                }
                ValueFormat::Int {
                    bytes,
                    signed: !unsigned,
                }
            }
            (ColumnType::Float, bt::FLOAT) => ValueFormat::Float,
            (ColumnType::Double, bt::DOUBLE) => ValueFormat::Double,
            (
                ColumnType::Decimal {
                    precision, scale, ..
                },
                bt::NEWDECIMAL,
            ) if m0 == *precision && m1 == *scale => ValueFormat::Decimal {
                precision: *precision,
                scale: *scale,
                len: decimal::binary_len(*precision, *scale),
            },
            (ColumnType::Year, bt::YEAR) => ValueFormat::Year,
            (ColumnType::Date, bt::DATE | bt::NEWDATE) => ValueFormat::Date,
            (ColumnType::Time { fsp: 0 }, bt::TIME) => ValueFormat::OldTime,
            (ColumnType::DateTime { fsp: 0 }, bt::DATETIME) => ValueFormat::OldDateTime,
            (ColumnType::Timestamp { fsp: 0 }, bt::TIMESTAMP) => ValueFormat::OldTimestamp,
            (ColumnType::Time { fsp }, bt::TIME2) if fsp_matches(*fsp) => {
                ValueFormat::Time2 { fsp: *fsp }
            }
            (ColumnType::DateTime { fsp }, bt::DATETIME2) if fsp_matches(*fsp) => {
                ValueFormat::DateTime2 { fsp: *fsp }
            }
            (ColumnType::Timestamp { fsp }, bt::TIMESTAMP2) if fsp_matches(*fsp) => {
                ValueFormat::Timestamp2 { fsp: *fsp }
            }
            (ColumnType::Bit { bits }, bt::BIT) => {
                let bytes = m1 + u8::from(m0 > 0);
                if u32::from(m1) * 8 + u32::from(m0) != u32::from(*bits) {
                    return Err(mismatch());
                }
                ValueFormat::Bit { bytes }
            }
            (ColumnType::VarChar { .. }, bt::VARCHAR | bt::VAR_STRING) => {
                let max = u16::from_le_bytes(binlog.meta);
                ValueFormat::Bytes {
                    prefix: if max < 256 { 1 } else { 2 },
                    char_pad: CharPad::None,
                }
            }
            (ColumnType::Text { .. } | ColumnType::Json, bt::BLOB) if (1..=4).contains(&m0) => {
                ValueFormat::Bytes {
                    prefix: m0,
                    char_pad: CharPad::None,
                }
            }
            (ColumnType::Json, bt::JSON) => {
                return Err(String::from(
                    "it is a MySQL JSON column, whose binary binlog form reshard does not decode yet; move this table with `reshard copy` while writes to it are stopped",
                ));
            }
            (ColumnType::Char { length }, bt::STRING) => {
                let (real_type, max_len) = string_meta(binlog.meta);
                if real_type != bt::STRING {
                    return Err(mismatch());
                }
                let charset = column.charset.as_deref();
                let char_pad = if charset == Some("binary") {
                    CharPad::ZeroPadTo(*length)
                } else if matches!(charset, Some("ucs2" | "utf16" | "utf16le" | "utf32")) {
                    return Err(format!(
                        "CHAR in {} pads with multi-byte spaces, which reshard does not strip yet",
                        charset.unwrap_or_default()
                    ));
                } else {
                    CharPad::StripSpaces
                };
                ValueFormat::Bytes {
                    prefix: if max_len < 256 { 1 } else { 2 },
                    char_pad,
                }
            }
            (ColumnType::Enum { members }, bt::STRING) => {
                let (real_type, bytes) = string_meta(binlog.meta);
                if real_type != bt::ENUM || !matches!(bytes, 1 | 2) {
                    return Err(mismatch());
                }
                require_utf8_members(column)?;
                ValueFormat::Enum {
                    bytes: u8::try_from(bytes).map_err(|_| mismatch())?,
                    members: members.clone(),
                }
            }
            (ColumnType::Set { members }, bt::STRING) => {
                let (real_type, bytes) = string_meta(binlog.meta);
                if real_type != bt::SET || !(1..=8).contains(&bytes) {
                    return Err(mismatch());
                }
                require_utf8_members(column)?;
                ValueFormat::Set {
                    bytes: u8::try_from(bytes).map_err(|_| mismatch())?,
                    members: members.clone(),
                }
            }
            (ColumnType::Inet4, bt::STRING) if string_meta(binlog.meta) == (bt::STRING, 4) => {
                ValueFormat::Inet4
            }
            (ColumnType::Inet6, bt::STRING) if string_meta(binlog.meta) == (bt::STRING, 16) => {
                ValueFormat::Inet6
            }
            (ColumnType::Uuid, bt::STRING) if string_meta(binlog.meta) == (bt::STRING, 16) => {
                ValueFormat::Uuid
            }
            _ => return Err(mismatch()),
        };
        Ok(format)
    }
}

/// The real type and the maximum byte length of a `STRING` column's metadata. A CHAR longer than
/// 255 bytes keeps the top bits of its length in bits 4 and 5 of the first byte, inverted.
fn string_meta([m0, m1]: [u8; 2]) -> (u8, u32) {
    if m0 & 0x30 != 0x30 {
        (
            m0 | 0x30,
            (u32::from((m0 & 0x30) ^ 0x30) << 4) | u32::from(m1),
        )
    } else {
        (m0, u32::from(m1))
    }
}

/// ENUM and SET values are member indexes in the binlog; reshard writes the member names, which
/// it knows exactly (as UTF-8) only for columns in a UTF-8 character set.
fn require_utf8_members(column: &ColumnDef) -> Result<(), String> {
    if is_utf8_charset(column.charset.as_deref()) {
        Ok(())
    } else {
        Err(format!(
            "ENUM and SET columns in character set {} are not decoded from the binlog yet (only UTF-8 ones)",
            column.charset.as_deref().unwrap_or("(none)")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_metadata() {
        assert_eq!(string_meta([bt::STRING, 40]), (bt::STRING, 40));
        assert_eq!(string_meta([bt::ENUM, 1]), (bt::ENUM, 1));
        // CHAR(255) in utf8mb4 is 1020 bytes: 1020 = 0x3FC, top bits 0x3 inverted into 0x30.
        let high = u8::try_from(1020u32 >> 8).unwrap();
        let m0 = bt::STRING ^ (high << 4);
        assert_eq!(string_meta([m0, 0xFC]), (bt::STRING, 1020));
    }
}
