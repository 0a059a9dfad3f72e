//! DECIMAL in the server's binary storage format, as binlog row images carry it.
//!
//! The digits are stored in groups of nine, each a 4-byte big-endian integer; the integer part's
//! leftover digits (fewer than nine) come first in the fewest bytes that hold them, the fraction's
//! leftover digits last. The first byte's top bit is flipped so that the bytes sort like the
//! numbers, and a negative number has every byte inverted. The result is the unscaled value
//! (`123.45` in DECIMAL(5,2) is 12345), exact for every precision up to 65.

use arrow_buffer::i256;

/// Bytes that hold a leftover group of `n` digits (`n` < 10).
const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// Digits in a full group.
const DIGITS_PER_GROUP: u8 = 9;

/// Bytes a DECIMAL(precision, scale) takes in binary form.
pub(crate) fn binary_len(precision: u8, scale: u8) -> usize {
    let integer = usize::from(precision.saturating_sub(scale));
    let fraction = usize::from(scale);
    (integer / 9) * 4 + DIG2BYTES[integer % 9] + (fraction / 9) * 4 + DIG2BYTES[fraction % 9]
}

/// The unscaled value of a binary DECIMAL(precision, scale); `bytes` is exactly
/// [`binary_len`] long.
pub(crate) fn decode(bytes: &[u8], precision: u8, scale: u8) -> Result<i256, &'static str> {
    debug_assert_eq!(bytes.len(), binary_len(precision, scale));
    let Some(&first) = bytes.first() else {
        return Err("an empty DECIMAL value");
    };
    let negative = first & 0x80 == 0;
    let mask = if negative { 0xFF } else { 0x00 };
    let integer = precision.saturating_sub(scale);
    // (digits, bytes) of each group, in storage order.
    let leftover = |digits: u8| (digits, DIG2BYTES[usize::from(digits)]);
    let groups = std::iter::once(leftover(integer % DIGITS_PER_GROUP))
        .chain(std::iter::repeat_n(
            (DIGITS_PER_GROUP, 4),
            usize::from(integer / DIGITS_PER_GROUP),
        ))
        .chain(std::iter::repeat_n(
            (DIGITS_PER_GROUP, 4),
            usize::from(scale / DIGITS_PER_GROUP),
        ))
        .chain(std::iter::once(leftover(scale % DIGITS_PER_GROUP)));
    let mut value = i256::ZERO;
    let mut at = 0;
    for (digits, len) in groups {
        if len == 0 {
            continue;
        }
        let group = bytes.get(at..at + len).ok_or("a DECIMAL value cut short")?;
        let mut number: u32 = 0;
        for (i, byte) in group.iter().enumerate() {
            let byte = if at + i == 0 { byte ^ 0x80 } else { *byte };
            number = (number << 8) | u32::from(byte ^ mask);
        }
        let limit = 10u32.pow(u32::from(digits));
        if number >= limit {
            return Err("a DECIMAL digit group out of range");
        }
        value = value
            .checked_mul(i256::from_i128(i128::from(limit)))
            .and_then(|v| v.checked_add(i256::from_i128(i128::from(number))))
            .ok_or("a DECIMAL value too large for its precision")?;
        at += len;
    }
    if at != bytes.len() {
        return Err("a DECIMAL value of the wrong length");
    }
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes the way the server does (`decimal2bin`), from the digits of `text`.
    fn encode(text: &str, precision: u8, scale: u8) -> Vec<u8> {
        let negative = text.starts_with('-');
        let digits = text.trim_start_matches('-');
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        let integer = usize::from(precision - scale);
        let int_part = int_part.trim_start_matches('0');
        let int_digits = format!("{int_part:0>integer$}");
        let frac_digits = format!("{frac_part:0<width$}", width = usize::from(scale));
        let mut out = Vec::new();
        let mut push = |group: &str| {
            if group.is_empty() {
                return;
            }
            let len = DIG2BYTES[group.len()];
            let n: u32 = group.parse().unwrap();
            out.extend_from_slice(&n.to_be_bytes()[4 - len..]);
        };
        let lead = integer % 9;
        push(&int_digits[..lead]);
        for chunk in int_digits.as_bytes()[lead..].chunks(9) {
            push(std::str::from_utf8(chunk).unwrap());
        }
        for chunk in frac_digits.as_bytes().chunks(9) {
            push(std::str::from_utf8(chunk).unwrap());
        }
        if negative {
            for b in &mut out {
                *b = !*b;
            }
        }
        out[0] ^= 0x80;
        out
    }

    #[test]
    fn the_manuals_example() {
        // MySQL's decimal2bin comment: 1234567890.1234 as DECIMAL(14,4) is
        // 81 0D FB 38 D2 04 D2 (int 1 234567890, frac 1234).
        let bytes = [0x81, 0x0D, 0xFB, 0x38, 0xD2, 0x04, 0xD2];
        assert_eq!(binary_len(14, 4), 7);
        assert_eq!(
            decode(&bytes, 14, 4).unwrap(),
            i256::from_i128(12_345_678_901_234)
        );
        let negative: Vec<u8> = bytes.iter().map(|b| !b).collect();
        assert_eq!(
            decode(&negative, 14, 4).unwrap(),
            i256::from_i128(-12_345_678_901_234)
        );
    }

    #[test]
    fn edges_round_trip() {
        for (text, p, s, unscaled) in [
            ("0", 10, 0, 0i128),
            ("-1", 1, 0, -1),
            ("9", 1, 0, 9),
            ("0.5", 1, 1, 5),
            ("-0.000000001", 10, 9, -1),
            (
                "99999999999999999999.999999999",
                29,
                9,
                99_999_999_999_999_999_999_999_999_999,
            ),
            (
                "-12345678901234567890123456789.12345678",
                38,
                8,
                -1_234_567_890_123_456_789_012_345_678_912_345_678,
            ),
        ] {
            let bytes = encode(text, p, s);
            assert_eq!(bytes.len(), binary_len(p, s), "{text}");
            assert_eq!(
                decode(&bytes, p, s).unwrap(),
                i256::from_i128(unscaled),
                "{text}"
            );
        }
    }

    #[test]
    fn sixty_five_digits() {
        let text = format!("-{}.{}", "9".repeat(35), "9".repeat(30));
        let bytes = encode(&text, 65, 30);
        let expected = i256::from_string(&format!("-{}", "9".repeat(65))).unwrap();
        assert_eq!(decode(&bytes, 65, 30).unwrap(), expected);
    }

    #[test]
    fn refuses_groups_out_of_range() {
        // A 1-byte leftover group of 2 digits holding 100.
        let bytes = [0x80 | 0x64];
        assert!(decode(&bytes, 2, 0).is_err());
        let bytes = [0x80, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(decode(&bytes, 10, 0).is_err());
    }
}
