//! DECIMAL values as scaled integers (`i128` up to 38 digits, `i256` up to 65), parsed from and
//! written as the server's text form (`-123.4500`: sign, digits, exactly `scale` fraction digits).
//!
//! Parsing refuses anything that would not fit the column exactly: more fraction digits than the
//! scale, more significant digits than the precision, any other character.

use arrow_buffer::i256;

/// Parses DECIMAL text into an `i128` scaled by `10^scale`.
pub fn parse_i128(text: &[u8], precision: u8, scale: u8) -> Option<i128> {
    let (negative, int_digits, frac_digits) = split(text, precision, scale)?;
    let mut value: i128 = 0;
    for digit in int_digits.iter().chain(frac_digits) {
        value = value
            .checked_mul(10)?
            .checked_add(i128::from(digit - b'0'))?;
    }
    for _ in frac_digits.len()..usize::from(scale) {
        value = value.checked_mul(10)?;
    }
    Some(if negative { -value } else { value })
}

/// Parses DECIMAL text into an `i256` scaled by `10^scale`.
pub fn parse_i256(text: &[u8], precision: u8, scale: u8) -> Option<i256> {
    let (negative, int_digits, frac_digits) = split(text, precision, scale)?;
    let ten = i256::from_i128(10);
    let mut value = i256::ZERO;
    for digit in int_digits.iter().chain(frac_digits) {
        value = value
            .checked_mul(ten)?
            .checked_add(i256::from_i128(i128::from(digit - b'0')))?;
    }
    for _ in frac_digits.len()..usize::from(scale) {
        value = value.checked_mul(ten)?;
    }
    Some(if negative {
        value.checked_neg()?
    } else {
        value
    })
}

/// Sign, integer digits and fraction digits of DECIMAL text, checked against the column.
fn split(text: &[u8], precision: u8, scale: u8) -> Option<(bool, &[u8], &[u8])> {
    let (negative, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let (int_digits, frac_digits) = match body.iter().position(|b| *b == b'.') {
        Some(dot) => (&body[..dot], &body[dot + 1..]),
        None => (body, &body[body.len()..]),
    };
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    if !int_digits.iter().chain(frac_digits).all(u8::is_ascii_digit) {
        return None;
    }
    if frac_digits.len() > usize::from(scale) {
        return None;
    }
    let significant_int = int_digits.iter().skip_while(|d| **d == b'0').count();
    if significant_int + usize::from(scale) > usize::from(precision) {
        return None;
    }
    Some((negative, int_digits, frac_digits))
}

/// Appends the text form of `value / 10^scale` (`-123.4500`) to `out`.
pub fn write_i128(value: i128, scale: u8, out: &mut Vec<u8>) {
    if value < 0 {
        out.push(b'-');
    }
    write_digits(value.unsigned_abs(), scale, out);
}

/// Appends the text form of an `i256` DECIMAL to `out`.
pub fn write_i256(value: i256, scale: u8, out: &mut Vec<u8>) {
    let negative = value.is_negative();
    // |value| < 10^65 < 2^216: split into two halves below 10^38 each, which fit u128.
    let magnitude = if negative {
        value.wrapping_neg()
    } else {
        value
    };
    let base = i256::from_i128(10i128.pow(38));
    let (high, low) = (magnitude.wrapping_div(base), magnitude.wrapping_rem(base));
    let high = high.as_i128().unsigned_abs();
    let low = low.as_i128().unsigned_abs();
    if negative {
        out.push(b'-');
    }
    if high == 0 {
        write_digits(low, scale, out);
        return;
    }
    // 38 low digits, zero-padded; then place the decimal point.
    let mut digits = [0u8; 80];
    let mut len = 0;
    for (part, width) in [(low, 38usize), (high, 0)] {
        let mut part = part;
        let mut written = 0;
        while part > 0 || written < width {
            digits[len] = b'0' + u8::try_from(part % 10).expect("a digit");
            part /= 10;
            len += 1;
            written += 1;
        }
    }
    emit(&mut digits[..len], scale, out);
}

fn write_digits(mut magnitude: u128, scale: u8, out: &mut Vec<u8>) {
    let mut digits = [0u8; 40];
    let mut len = 0;
    while magnitude > 0 {
        digits[len] = b'0' + u8::try_from(magnitude % 10).expect("a digit");
        magnitude /= 10;
        len += 1;
    }
    emit(&mut digits[..len], scale, out);
}

/// `reversed` holds the digits, least significant first. Writes them with `scale` fraction
/// digits and at least one integer digit.
fn emit(reversed: &mut [u8], scale: u8, out: &mut Vec<u8>) {
    let scale = usize::from(scale);
    let len = reversed.len();
    reversed.reverse();
    let digits: &[u8] = reversed;
    if len > scale {
        out.extend_from_slice(&digits[..len - scale]);
    } else {
        out.push(b'0');
    }
    if scale > 0 {
        out.push(b'.');
        for _ in len..scale {
            out.push(b'0');
        }
        out.extend_from_slice(&digits[len.saturating_sub(scale)..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text_i128(value: i128, scale: u8) -> String {
        let mut out = Vec::new();
        write_i128(value, scale, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn text_i256(value: i256, scale: u8) -> String {
        let mut out = Vec::new();
        write_i256(value, scale, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn server_forms() {
        assert_eq!(parse_i128(b"-123.45", 5, 2), Some(-12345));
        assert_eq!(parse_i128(b"0.01", 3, 2), Some(1));
        assert_eq!(parse_i128(b"7", 3, 2), Some(700));
        assert_eq!(text_i128(-12345, 2), "-123.45");
        assert_eq!(text_i128(1, 2), "0.01");
        assert_eq!(text_i128(-1, 30), "-0.000000000000000000000000000001");
        assert_eq!(text_i128(0, 0), "0");
        assert_eq!(text_i128(0, 3), "0.000");
    }

    #[test]
    fn refuses_what_does_not_fit() {
        assert_eq!(parse_i128(b"1.234", 5, 2), None, "too many fraction digits");
        assert_eq!(parse_i128(b"1234.5", 5, 2), None, "too many integer digits");
        assert_eq!(parse_i128(b"1e5", 10, 2), None);
        assert_eq!(parse_i128(b"", 10, 2), None);
        assert_eq!(parse_i128(b"-", 10, 2), None);
        assert_eq!(
            parse_i128(b"99999999999999999999999999999999999999999", 38, 0),
            None
        );
    }

    #[test]
    fn decimal_65_30_extremes() {
        let max = format!("{}.{}", "9".repeat(35), "9".repeat(30));
        let value = parse_i256(max.as_bytes(), 65, 30).unwrap();
        assert_eq!(text_i256(value, 30), max);
        let min = format!("-{max}");
        assert_eq!(
            text_i256(parse_i256(min.as_bytes(), 65, 30).unwrap(), 30),
            min
        );
        let tiny = "-0.000000000000000000000000000001";
        assert_eq!(
            text_i256(parse_i256(tiny.as_bytes(), 65, 30).unwrap(), 30),
            tiny
        );
        assert_eq!(parse_i256(format!("1{max}").as_bytes(), 65, 30), None);
    }

    proptest! {
        #[test]
        fn i128_round_trips(value in -(10i128.pow(38) - 1)..10i128.pow(38), scale in 0u8..=38) {
            let text = text_i128(value, scale);
            prop_assert_eq!(parse_i128(text.as_bytes(), 38, scale), Some(value));
        }

        #[test]
        fn i256_round_trips(high in -(10i128.pow(27) - 1)..10i128.pow(27), low in 0..10i128.pow(38), scale in 0u8..=30) {
            let big = i256::from_i128(high) * i256::from_i128(10i128.pow(38));
            let value = if high < 0 { big - i256::from_i128(low) } else { big + i256::from_i128(low) };
            let text = text_i256(value, scale);
            prop_assert_eq!(parse_i256(text.as_bytes(), 65, scale), Some(value), "{}", text);
        }
    }
}
