//! Keyspace ids and key ranges, exactly as Vitess defines them (`go/vt/key/key.go`).
//!
//! A keyspace id is a byte string (8 bytes for `hash`, `xxhash` and `numeric`, 16 for MD5-based
//! vindexes, any length for `binary`). A key range is the half-open interval `[start, end)` of
//! keyspace ids, written as hex `start-end` (`-80`, `80-c0`, `c0-`); an empty start is the
//! minimum, an empty end the maximum, and `0` or `-` is the whole keyspace. Bounds are compared
//! byte by byte, unsigned, left-justified, with trailing zero bytes ignored (`-80` is
//! `0000-8000`): [`KeyRange`] keeps its bounds normalized (trailing zero bytes stripped), and
//! a keyspace id is compared with them as it is, which gives the same answers (Vitess's
//! `KeyRangeContains`).

use std::cmp::Ordering;
use std::fmt;

/// A half-open range `[start, end)` of keyspace ids; empty bounds are unbounded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyRange {
    start: Vec<u8>,
    end: Vec<u8>,
}

/// A key range or a set of them that is not valid, with what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyRangeError(String);

impl KeyRange {
    /// The whole keyspace (`-`).
    pub fn full() -> KeyRange {
        KeyRange {
            start: Vec::new(),
            end: Vec::new(),
        }
    }

    /// `[start, end)`, normalized; empty means unbounded. Refuses `start >= end` when both are set.
    pub fn new(start: &[u8], end: &[u8]) -> Result<KeyRange, KeyRangeError> {
        let range = KeyRange {
            start: normalized(start),
            end: normalized(end),
        };
        if !range.end.is_empty() && range.start >= range.end {
            return Err(KeyRangeError(format!(
                "key range {range} is empty: its start is not below its end"
            )));
        }
        Ok(range)
    }

    /// Parses Vitess's shard-name form: `-80`, `80-c0`, `c0-`, `0` or `-` (hex, either case,
    /// bounds of whole bytes).
    pub fn parse(text: &str) -> Result<KeyRange, KeyRangeError> {
        let bad = |why: &str| {
            KeyRangeError(format!(
                "'{text}' is not a key range: {why}; write it as Vitess does: -80, 80-c0, c0-, or - (or 0) for the whole keyspace"
            ))
        };
        let text_trimmed = text.trim();
        if text_trimmed == "0" || text_trimmed == "-" {
            return Ok(KeyRange::full());
        }
        let (start, end) = text_trimmed
            .split_once('-')
            .ok_or_else(|| bad("it has no '-'"))?;
        let start = decode_hex(start).ok_or_else(|| bad("its start is not whole bytes of hex"))?;
        let end = decode_hex(end).ok_or_else(|| bad("its end is not whole bytes of hex"))?;
        KeyRange::new(&start, &end).map_err(|e| KeyRangeError(format!("'{text}': {e}")))
    }

    /// The start bound (normalized; empty is the minimum).
    pub fn start(&self) -> &[u8] {
        &self.start
    }

    /// The end bound (normalized; empty is the maximum).
    pub fn end(&self) -> &[u8] {
        &self.end
    }

    /// Whether this is the whole keyspace.
    pub fn is_full(&self) -> bool {
        self.start.is_empty() && self.end.is_empty()
    }

    /// Whether keyspace id `id` is in the range.
    pub fn contains(&self, id: &[u8]) -> bool {
        (self.start.is_empty() || id >= self.start.as_slice())
            && (self.end.is_empty() || id < self.end.as_slice())
    }

    /// Whether the two ranges share a keyspace id (Vitess's `KeyRangeIntersect`).
    pub fn intersects(&self, other: &KeyRange) -> bool {
        (self.end.is_empty() || other.start < self.end)
            && (other.end.is_empty() || self.start < other.end)
    }

    /// The keyspace ids in both ranges, or `None` when they share none.
    pub fn intersection(&self, other: &KeyRange) -> Option<KeyRange> {
        if !self.intersects(other) {
            return None;
        }
        let start = self.start.clone().max(other.start.clone());
        let end = match (self.end.is_empty(), other.end.is_empty()) {
            (true, _) => other.end.clone(),
            (_, true) => self.end.clone(),
            _ => self.end.clone().min(other.end.clone()),
        };
        Some(KeyRange { start, end })
    }

    /// `n` ranges that split the keyspace evenly, the way Vitess's `GenerateShardRanges` does:
    /// one-byte bounds for up to 256 ranges, two-byte bounds up to 65,536, each end the integer
    /// part of `i * size` so that uneven splits spread their rounding (`-55,55-aa,aa-` for 3).
    pub fn even(n: usize) -> Result<Vec<KeyRange>, KeyRangeError> {
        let (width, max) = match n {
            0 => {
                return Err(KeyRangeError(String::from(
                    "the number of ranges must be at least 1",
                )));
            }
            1..=256 => (1usize, 256u32),
            257..=65_536 => (2, 65_536),
            _ => {
                return Err(KeyRangeError(format!(
                    "{n} ranges are more than the 65,536 Vitess generates"
                )));
            }
        };
        let bound = |v: u32| -> Vec<u8> {
            if v == 0 || v == max {
                Vec::new()
            } else {
                v.to_be_bytes()[4 - width..].to_vec()
            }
        };
        let size = f64::from(max) / n as f64;
        let mut ranges = Vec::with_capacity(n);
        let mut start = 0u32;
        for i in 1..=n {
            // Vitess truncates i * size to an integer; the values stay below 2^17, exact in f64.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let end = (i as f64 * size) as u32;
            ranges.push(KeyRange {
                start: normalized(&bound(start)),
                end: normalized(&bound(end)),
            });
            start = end;
        }
        Ok(ranges)
    }

    /// Checks that `ranges` cover the keyspace exactly once: no gap, no overlap. Returns them
    /// sorted by start; the error names the gap or the overlapping ranges.
    pub fn check_cover(ranges: &[KeyRange]) -> Result<Vec<KeyRange>, KeyRangeError> {
        if ranges.is_empty() {
            return Err(KeyRangeError(String::from(
                "no key ranges given: they must cover the whole keyspace (e.g. -80,80-)",
            )));
        }
        let mut sorted = ranges.to_vec();
        sorted.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| end_cmp(&a.end, &b.end)));
        if !sorted[0].start.is_empty() {
            return Err(KeyRangeError(format!(
                "the key ranges leave a gap: nothing covers -{} (the start of the keyspace up to {})",
                hex(&sorted[0].start),
                sorted[0]
            )));
        }
        for pair in sorted.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if a.end.is_empty() || a.intersects(b) {
                return Err(KeyRangeError(format!(
                    "the key ranges {a} and {b} overlap; every keyspace id must belong to exactly one target"
                )));
            }
            if a.end != b.start {
                return Err(KeyRangeError(format!(
                    "the key ranges leave a gap: nothing covers {}-{} (between {a} and {b})",
                    hex(&a.end),
                    hex(&b.start)
                )));
            }
        }
        let last = sorted.last().expect("not empty");
        if !last.end.is_empty() {
            return Err(KeyRangeError(format!(
                "the key ranges leave a gap: nothing covers {}- (after {last})",
                hex(&last.end)
            )));
        }
        Ok(sorted)
    }

    /// Parses a comma-separated list (`-80,80-`).
    pub fn parse_list(text: &str) -> Result<Vec<KeyRange>, KeyRangeError> {
        text.split(',').map(KeyRange::parse).collect()
    }
}

/// Orders ends with the empty (maximum) end last.
fn end_cmp(a: &[u8], b: &[u8]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.cmp(b),
    }
}

impl fmt::Display for KeyRange {
    /// Vitess's shard name: `80-c0`; `-` for the whole keyspace.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", hex(&self.start), hex(&self.end))
    }
}

fn normalized(bound: &[u8]) -> Vec<u8> {
    let len = bound.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    bound[..len].to_vec()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> KeyRange {
        KeyRange::parse(text).unwrap()
    }

    fn names(ranges: &[KeyRange]) -> Vec<String> {
        ranges.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn parses_vitess_shard_names() {
        assert!(r("0").is_full());
        assert!(r("-").is_full());
        assert_eq!(r("-80").end(), [0x80]);
        assert_eq!(r("80-C0").to_string(), "80-c0");
        assert_eq!(r("c0-").start(), [0xc0]);
        assert_eq!(r("c0-dc00").end(), [0xdc]);
        // Trailing zero bytes are ignored.
        assert_eq!(r("0000-8000"), r("-80"));
        for bad in ["80", "8-", "x0-", "80-80", "c0-80", "", "-800", "1"] {
            let e = KeyRange::parse(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("'{bad}'")), "{e}");
        }
    }

    #[test]
    fn contains_is_half_open_and_left_justified() {
        let low = r("-80");
        let high = r("80-");
        assert!(low.contains(&[0x7f, 0xff, 0xff]));
        assert!(!low.contains(&[0x80]));
        assert!(!low.contains(&[0x80, 0x00, 0x00]));
        assert!(high.contains(&[0x80]));
        assert!(high.contains(&[0x80, 0x00]));
        assert!(high.contains(&[0xff; 8]));
        assert!(!high.contains(&[0x7f, 0xff]));
        assert!(low.contains(&[]));
        let mid = r("80-c0");
        assert!(mid.contains(&[0xbf, 0xff]) && !mid.contains(&[0xc0]) && mid.contains(&[0x80]));
    }

    #[test]
    fn intersections() {
        assert!(r("-80").intersects(&r("40-c0")));
        assert!(!r("-80").intersects(&r("80-")));
        assert!(r("-").intersects(&r("c0-")));
        assert_eq!(r("-80").intersection(&r("40-c0")), Some(r("40-80")));
        assert_eq!(r("40-").intersection(&r("-")), Some(r("40-")));
        assert_eq!(r("-40").intersection(&r("40-")), None);
    }

    #[test]
    fn even_ranges_match_vitess() {
        assert_eq!(names(&KeyRange::even(1).unwrap()), ["-"]);
        assert_eq!(names(&KeyRange::even(2).unwrap()), ["-80", "80-"]);
        assert_eq!(
            names(&KeyRange::even(4).unwrap()),
            ["-40", "40-80", "80-c0", "c0-"]
        );
        assert_eq!(names(&KeyRange::even(3).unwrap()), ["-55", "55-aa", "aa-"]);
        assert_eq!(
            names(&KeyRange::even(7).unwrap()),
            ["-24", "24-49", "49-6d", "6d-92", "92-b6", "b6-db", "db-"]
        );
        let many = KeyRange::even(512).unwrap();
        assert_eq!(many[1].to_string(), "0080-01");
        assert_eq!(many.len(), 512);
        for n in [1, 2, 3, 5, 7, 16, 100, 256, 300, 4096] {
            KeyRange::check_cover(&KeyRange::even(n).unwrap()).unwrap();
        }
        assert!(KeyRange::even(0).is_err());
        assert!(KeyRange::even(65_537).is_err());
    }

    #[test]
    fn covers_are_checked_naming_gaps_and_overlaps() {
        let sorted =
            KeyRange::check_cover(&KeyRange::parse_list("80-,-40,40-80").unwrap()).unwrap();
        assert_eq!(names(&sorted), ["-40", "40-80", "80-"]);
        KeyRange::check_cover(&[r("-")]).unwrap();
        let e = KeyRange::check_cover(&KeyRange::parse_list("-40,50-").unwrap()).unwrap_err();
        assert!(e.to_string().contains("nothing covers 40-50"), "{e}");
        let e = KeyRange::check_cover(&KeyRange::parse_list("-80,40-").unwrap()).unwrap_err();
        assert!(e.to_string().contains("-80 and 40- overlap"), "{e}");
        let e = KeyRange::check_cover(&KeyRange::parse_list("40-").unwrap()).unwrap_err();
        assert!(e.to_string().contains("nothing covers -40"), "{e}");
        let e = KeyRange::check_cover(&KeyRange::parse_list("-c0").unwrap()).unwrap_err();
        assert!(e.to_string().contains("nothing covers c0-"), "{e}");
        let e = KeyRange::check_cover(&KeyRange::parse_list("-,80-").unwrap()).unwrap_err();
        assert!(e.to_string().contains("overlap"), "{e}");
        assert!(KeyRange::check_cover(&[]).is_err());
    }
}
