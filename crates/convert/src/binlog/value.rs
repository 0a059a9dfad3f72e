//! One binlog value, read from its storage format and appended to its column's builder.

use std::io::Write as _;

use super::decimal;
use super::format::{CharPad, ValueFormat};
use crate::decode::column::{DecodeFailure, Sink};
use crate::decode::cursor::Cursor;
use crate::temporal::DateTimeParts;

/// `DATETIME2` stores its integer part offset by this, so that the bytes sort like the values.
const DATETIME2_OFFSET: i64 = 0x80_0000_0000;
/// `TIME2`'s offsets: of the 3-byte integer part, and of the whole 6-byte value.
const TIME2_INT_OFFSET: i64 = 0x80_0000;
const TIME2_OFFSET: i64 = 0x8000_0000_0000;
const MICROS: i64 = 1_000_000;

/// Decodes one non-NULL value of `format` from `cursor` into `sink`.
#[inline]
pub(crate) fn decode(
    sink: &mut Sink,
    format: &ValueFormat,
    cursor: &mut Cursor<'_>,
    scratch: &mut Vec<u8>,
) -> Result<(), DecodeFailure> {
    match (sink, format) {
        (Sink::Int8(b), _) => b.append_value(i8::from_le_bytes(cursor.array()?)),
        (Sink::UInt8(b), _) => b.append_value(cursor.u8()?),
        (Sink::Int16(b), _) => b.append_value(i16::from_le_bytes(cursor.array()?)),
        (Sink::UInt16(b), _) => b.append_value(u16::from_le_bytes(cursor.array()?)),
        (Sink::Int32(b), ValueFormat::Int { bytes: 3, .. }) => {
            let [x, y, z] = cursor.array()?;
            // Sign-extend the 24-bit value.
            b.append_value(i32::from_le_bytes([x, y, z, 0]) << 8 >> 8);
        }
        (Sink::Int32(b), _) => b.append_value(i32::from_le_bytes(cursor.array()?)),
        (Sink::UInt32(b), ValueFormat::Int { bytes: 3, .. }) => {
            let [x, y, z] = cursor.array()?;
            b.append_value(u32::from_le_bytes([x, y, z, 0]));
        }
        (Sink::UInt32(b), _) => b.append_value(u32::from_le_bytes(cursor.array()?)),
        (Sink::Int64(b), _) => b.append_value(i64::from_le_bytes(cursor.array()?)),
        (Sink::UInt64(b), _) => b.append_value(u64::from_le_bytes(cursor.array()?)),
        (Sink::Float32(b), _) => b.append_value(f32::from_le_bytes(cursor.array()?)),
        (Sink::Float64(b), _) => b.append_value(f64::from_le_bytes(cursor.array()?)),
        (
            Sink::Decimal128 { builder, .. },
            ValueFormat::Decimal {
                precision,
                scale,
                len,
            },
        ) => {
            let value = decimal::decode(cursor.take(*len)?, *precision, *scale)?;
            builder.append_value(value.to_i128().ok_or("a DECIMAL beyond its precision")?);
        }
        (
            Sink::Decimal256 { builder, .. },
            ValueFormat::Decimal {
                precision,
                scale,
                len,
            },
        ) => builder.append_value(decimal::decode(cursor.take(*len)?, *precision, *scale)?),
        (Sink::Year(b), _) => {
            let stored = cursor.u8()?;
            b.append_value(if stored == 0 {
                0
            } else {
                1900 + u16::from(stored)
            });
        }
        (Sink::Date(b), _) => {
            let v = u24_le(cursor)?;
            let parts = DateTimeParts {
                year: u16::try_from(v >> 9).map_err(|_| "a DATE year out of range")?,
                month: u8::try_from((v >> 5) & 15).map_err(|_| "unreachable")?,
                day: u8::try_from(v & 31).map_err(|_| "unreachable")?,
                ..DateTimeParts::default()
            };
            if !parts.is_in_range() {
                return Err("a DATE part out of range");
            }
            b.append_value(parts.to_yyyymmdd());
        }
        (Sink::DateTime(b), ValueFormat::DateTime2 { fsp }) => {
            let int_part = i64::try_from(uint_be(cursor.take(5)?)).map_err(|_| "unreachable")?
                - DATETIME2_OFFSET;
            let micros = fraction(cursor, *fsp)?;
            let packed = (int_part << 24) + micros;
            if int_part < 0 || DateTimeParts::from_packed(packed).is_none() {
                return Err("a DATETIME part out of range");
            }
            b.append_value(packed);
        }
        (Sink::DateTime(b), _) => {
            // Old format: YYYYMMDDhhmmss as a number.
            let v = u64::from_le_bytes(cursor.array()?);
            let part = |div: u64, modulo: u64| v / div % modulo;
            let parts = DateTimeParts {
                year: u16::try_from(v / 10_000_000_000).map_err(|_| "a DATETIME out of range")?,
                month: small(part(100_000_000, 100))?,
                day: small(part(1_000_000, 100))?,
                hour: small(part(10_000, 100))?,
                minute: small(part(100, 100))?,
                second: small(part(1, 100))?,
                micros: 0,
            };
            if !parts.is_in_range() {
                return Err("a DATETIME part out of range");
            }
            b.append_value(parts.to_packed());
        }
        (Sink::Timestamp(b), ValueFormat::Timestamp2 { fsp }) => {
            let seconds = i64::from(u32::from_be_bytes(cursor.array()?));
            let micros = fraction(cursor, *fsp)?;
            b.append_value(seconds * MICROS + micros);
        }
        (Sink::Timestamp(b), _) => {
            b.append_value(i64::from(u32::from_le_bytes(cursor.array()?)) * MICROS);
        }
        (Sink::Time(b), ValueFormat::Time2 { fsp }) => b.append_value(time2(cursor, *fsp)?),
        (Sink::Time(b), _) => {
            // Old format: a signed hhmmss number in 3 bytes.
            let [x, y, z] = cursor.array()?;
            let v = i32::from_le_bytes([x, y, z, 0]) << 8 >> 8;
            let magnitude = i64::from(v.unsigned_abs());
            let (hours, minutes, seconds) =
                (magnitude / 10_000, magnitude / 100 % 100, magnitude % 100);
            if minutes > 59 || seconds > 59 || hours > 838 {
                return Err("a TIME part out of range");
            }
            let micros = ((hours * 60 + minutes) * 60 + seconds) * MICROS;
            b.append_value(if v < 0 { -micros } else { micros });
        }
        (Sink::Bit(b), ValueFormat::Bit { bytes }) => {
            b.append_value(uint_be(cursor.take(usize::from(*bytes))?));
        }
        (sink, ValueFormat::Bytes { prefix, char_pad }) => {
            let len = uint_le(cursor.take(usize::from(*prefix))?);
            let len = usize::try_from(len).map_err(|_| "a string longer than memory")?;
            let mut bytes = cursor.take(len)?;
            match char_pad {
                CharPad::None => {}
                CharPad::StripSpaces => {
                    while let [rest @ .., b' '] = bytes {
                        bytes = rest;
                    }
                }
                CharPad::ZeroPadTo(n) => {
                    let n = usize::try_from(*n).map_err(|_| "unreachable")?;
                    if bytes.len() < n {
                        scratch.clear();
                        scratch.extend_from_slice(bytes);
                        scratch.resize(n, 0);
                        return append_bytes(sink, scratch);
                    }
                }
            }
            append_bytes(sink, bytes)?;
        }
        (sink, ValueFormat::Enum { bytes, members }) => {
            let index = uint_le(cursor.take(usize::from(*bytes))?);
            let text = match usize::try_from(index).map_err(|_| "unreachable")? {
                0 => "",
                i => members
                    .get(i - 1)
                    .ok_or("an ENUM index beyond the column's members")?,
            };
            append_bytes(sink, text.as_bytes())?;
        }
        (sink, ValueFormat::Set { bytes, members }) => {
            let mask = uint_le(cursor.take(usize::from(*bytes))?);
            if members.len() < 64 && mask >> members.len() != 0 {
                return Err("a SET bit beyond the column's members");
            }
            scratch.clear();
            for (bit, member) in members.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    if !scratch.is_empty() {
                        scratch.push(b',');
                    }
                    scratch.extend_from_slice(member.as_bytes());
                }
            }
            append_bytes(sink, scratch)?;
        }
        (sink, ValueFormat::Inet4) => {
            let [a, b, c, d] = zero_padded::<4>(cursor)?;
            scratch.clear();
            write!(scratch, "{a}.{b}.{c}.{d}").map_err(|_| "unreachable")?;
            append_bytes(sink, scratch)?;
        }
        (sink, ValueFormat::Inet6 | ValueFormat::Uuid) => {
            let value = zero_padded::<16>(cursor)?;
            scratch.clear();
            if matches!(format, ValueFormat::Inet6) {
                inet6_text(&value, scratch);
            } else {
                uuid_text(&value, scratch);
            }
            append_bytes(sink, scratch)?;
        }
        _ => return Err("a value whose column and binlog type do not fit (unreachable)"),
    }
    Ok(())
}

/// A value stored like BINARY(N) (INET4, INET6, UUID): a length byte, then the bytes with trailing
/// zero bytes left out.
fn zero_padded<const N: usize>(cursor: &mut Cursor<'_>) -> Result<[u8; N], DecodeFailure> {
    let len = usize::from(cursor.u8()?);
    let stored = cursor.take(len)?;
    let mut value = [0u8; N];
    value
        .get_mut(..len)
        .ok_or("a fixed-size binary value longer than its type")?
        .copy_from_slice(stored);
    Ok(value)
}

/// A UUID as MariaDB prints it: lowercase hex in groups of 8, 4, 4, 4 and 12 digits.
pub(crate) fn uuid_text(value: &[u8; 16], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in value.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[usize::from(byte >> 4)]);
        out.push(HEX[usize::from(byte & 0xf)]);
    }
}

/// An IPv6 address as MariaDB prints it (`Inet6::ascii_to_ipv6`'s inverse, after MySQL's
/// `INET6_NTOA`), which is not RFC 5952: the longest run of zero groups becomes `::` even when it
/// is one group long (the first of equally long runs); groups are lowercase hex without leading
/// zeros; an address whose first 96 bits are zero, with a non-zero seventh group
/// (`::1.2.3.4`), or whose first 80 are zero and the next 16 are `ffff` (`::ffff:1.2.3.4`), ends
/// in a dotted quad.
pub(crate) fn inet6_text(value: &[u8; 16], out: &mut Vec<u8>) {
    let words: [u16; 8] =
        std::array::from_fn(|i| u16::from_be_bytes([value[2 * i], value[2 * i + 1]]));
    // The longest run of zero words (the first of equal ones).
    let (mut gap_at, mut gap_len) = (usize::MAX, 0);
    let mut i = 0;
    while i < 8 {
        if words[i] == 0 {
            let start = i;
            while i < 8 && words[i] == 0 {
                i += 1;
            }
            if i - start > gap_len {
                (gap_at, gap_len) = (start, i - start);
            }
        } else {
            i += 1;
        }
    }
    let mut i = 0;
    while i < 8 {
        if i == gap_at {
            if i == 0 {
                out.push(b':');
            }
            out.push(b':');
            i += gap_len;
            continue;
        }
        if i == 6 && gap_at == 0 && (gap_len == 6 || (gap_len == 5 && words[5] == 0xffff)) {
            let [a, b, c, d] = [value[12], value[13], value[14], value[15]];
            let _ = write!(out, "{a}.{b}.{c}.{d}");
            return;
        }
        let _ = write!(out, "{:x}", words[i]);
        if i != 7 {
            out.push(b':');
        }
        i += 1;
    }
}

fn append_bytes(sink: &mut Sink, bytes: &[u8]) -> Result<(), DecodeFailure> {
    match sink {
        Sink::Utf8(b) => {
            b.append_value(
                simdutf8::basic::from_utf8(bytes).map_err(|_| "invalid UTF-8 in a UTF-8 column")?,
            );
        }
        Sink::Binary(b) => b.append_value(bytes),
        _ => return Err("a string for a column that is not a string (unreachable)"),
    }
    Ok(())
}

fn small(v: u64) -> Result<u8, DecodeFailure> {
    u8::try_from(v).map_err(|_| "a date or time part out of range")
}

fn u24_le(cursor: &mut Cursor<'_>) -> Result<u32, DecodeFailure> {
    let [x, y, z] = cursor.array()?;
    Ok(u32::from_le_bytes([x, y, z, 0]))
}

/// A big-endian unsigned integer of up to 8 bytes.
fn uint_be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |acc, b| (acc << 8) | u64::from(*b))
}

/// A little-endian unsigned integer of up to 8 bytes.
fn uint_le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |acc, b| (acc << 8) | u64::from(*b))
}

/// The fractional seconds of a `DATETIME2` or `TIMESTAMP2`, in microseconds: `(fsp + 1) / 2`
/// big-endian bytes, in units of 1/100, 1/10 000 or 1/1 000 000 of a second.
fn fraction(cursor: &mut Cursor<'_>, fsp: u8) -> Result<i64, DecodeFailure> {
    let micros = match fsp {
        0 => 0,
        1 | 2 => i64::from(cursor.u8()?) * 10_000,
        3 | 4 => i64::from(u16::from_be_bytes(cursor.array()?)) * 100,
        _ => i64::from(u24_be(cursor)?),
    };
    if micros >= MICROS {
        return Err("fractional seconds out of range");
    }
    Ok(micros)
}

fn u24_be(cursor: &mut Cursor<'_>) -> Result<u32, DecodeFailure> {
    let [x, y, z] = cursor.array()?;
    Ok(u32::from_be_bytes([0, x, y, z]))
}

/// A `TIME2` as signed microseconds. The server packs `±(hh:mm:ss << 24 | µs)` and stores it
/// offset; a negative value's fraction is stored as its complement, which is undone here the
/// way the server's `my_time_packed_from_binary` does.
fn time2(cursor: &mut Cursor<'_>, fsp: u8) -> Result<i64, DecodeFailure> {
    let packed = match fsp {
        0 => (i64::from(u24_be(cursor)?) - TIME2_INT_OFFSET) << 24,
        1 | 2 => {
            let mut int_part = i64::from(u24_be(cursor)?) - TIME2_INT_OFFSET;
            let mut frac = i64::from(cursor.u8()?);
            if int_part < 0 && frac != 0 {
                int_part += 1;
                frac -= 0x100;
            }
            (int_part << 24) + frac * 10_000
        }
        3 | 4 => {
            let mut int_part = i64::from(u24_be(cursor)?) - TIME2_INT_OFFSET;
            let mut frac = i64::from(u16::from_be_bytes(cursor.array()?));
            if int_part < 0 && frac != 0 {
                int_part += 1;
                frac -= 0x1_0000;
            }
            (int_part << 24) + frac * 100
        }
        _ => i64::try_from(uint_be(cursor.take(6)?)).map_err(|_| "unreachable")? - TIME2_OFFSET,
    };
    let magnitude = packed.unsigned_abs();
    let micros = magnitude & 0xFF_FFFF;
    let hms = magnitude >> 24;
    let (hours, minutes, seconds) = ((hms >> 12) & 0x3FF, (hms >> 6) & 0x3F, hms & 0x3F);
    if micros > 999_999 || minutes > 59 || seconds > 59 || hours > 838 {
        return Err("a TIME part out of range");
    }
    let total = i64::try_from(((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + micros)
        .map_err(|_| "unreachable")?;
    Ok(if packed < 0 { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::{inet6_text, uuid_text};

    fn inet6(hex: &str) -> String {
        let bytes: Vec<u8> = (0..16)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let mut out = Vec::new();
        inet6_text(&bytes.try_into().unwrap(), &mut out);
        String::from_utf8(out).unwrap()
    }

    /// As MariaDB 10.11 prints them (`SELECT CAST(ip AS CHAR)`).
    #[test]
    fn inet6_is_printed_as_mariadb_prints_it() {
        for (hex, text) in [
            ("00000000000000000000000000000000", "::"),
            ("00000000000000000000000000000001", "::1"),
            ("00000000000000000000000000000002", "::2"),
            ("00000000000000000000000001020304", "::1.2.3.4"),
            ("00000000000000000000ffff01020304", "::ffff:1.2.3.4"),
            ("20010db8000000010001000100010001", "2001:db8::1:1:1:1:1"),
            ("20010db8000000000000ff0000428329", "2001:db8::ff00:42:8329"),
            ("00020000000000100000000000000000", "2:0:0:10::"),
            ("00020000000000000010000000000000", "2::10:0:0:0"),
        ] {
            assert_eq!(inet6(hex), text, "{hex}");
        }
    }

    #[test]
    fn uuid_is_lowercase_hex_in_five_groups() {
        let mut out = Vec::new();
        uuid_text(
            &[
                0x6c, 0xcd, 0x78, 0x0c, 0xba, 0xba, 0x10, 0x26, 0x95, 0x64, 0x5b, 0x8c, 0x65, 0x60,
                0x24, 0xdb,
            ],
            &mut out,
        );
        assert_eq!(out, b"6ccd780c-baba-1026-9564-5b8c656024db");
    }
}
