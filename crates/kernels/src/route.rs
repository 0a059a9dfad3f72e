//! Which target a keyspace id belongs to: the sorted range starts, looked up by binary search, or
//! by a shift of the id's top bits when the ranges are an even split into a power of two.
//!
//! A [`Router`] is built once per plan from the targets' key ranges (in target order), which must
//! cover the keyspace exactly once ([`KeyRange::check_cover`]). Range `i` of the sorted list
//! holds the ids from its start up to the next range's start, so the target of an id is the last
//! range whose start is `<=` the id. Starts are compared byte by byte, as
//! [`KeyRange::contains`] does; the tests check every lookup against `contains`.
//!
//! The 8-byte ids of `hash`, `xxhash`, `numeric` and `reverse_bits` are looked up as big-endian
//! `u64`s against starts turned into the smallest `u64` id they admit (a start longer than 8
//! bytes admits only ids above its first 8 bytes), which orders exactly as the byte comparison.

use reshard_types::{KeyRange, KeyRangeError};

/// Maps keyspace ids to target indexes (positions in the plan's list of targets).
#[derive(Debug, Clone)]
pub struct Router {
    /// The ranges sorted by start.
    sorted: Vec<KeyRange>,
    /// The target of each sorted range.
    target_of_sorted: Vec<u32>,
    /// Per sorted range, the smallest 8-byte id it holds; ranges no 8-byte id reaches are left out
    /// (they can only be at the end).
    u64_starts: Vec<u64>,
    /// With `2^bits` even ranges (`bits` in 1..=8): the top `bits` bits of an id index
    /// `target_of_sorted` directly.
    even_bits: Option<u32>,
}

impl Router {
    /// A router over `ranges`, where `ranges[t]` is the key range of target `t`. Refuses a set
    /// that leaves a gap or overlaps, naming it.
    pub fn new(ranges: &[KeyRange]) -> Result<Router, KeyRangeError> {
        let sorted = KeyRange::check_cover(ranges)?;
        let target_of_sorted = sorted
            .iter()
            .map(|range| {
                let t = ranges
                    .iter()
                    .position(|r| r == range)
                    .expect("a given range");
                u32::try_from(t).expect("fewer than 2^32 targets")
            })
            .collect();
        let mut u64_starts = Vec::with_capacity(sorted.len());
        for range in &sorted {
            match smallest_u64_at_or_above(range.start()) {
                Some(start) => u64_starts.push(start),
                None => break,
            }
        }
        let n = sorted.len();
        let even_bits = (n > 1 && n <= 256 && n.is_power_of_two())
            .then(|| n.trailing_zeros())
            .filter(|&bits| {
                sorted.iter().enumerate().all(|(i, range)| {
                    let start = u8::try_from(i << (8 - bits)).expect("below 256");
                    range.start() == [start].as_slice() || (i == 0 && range.start().is_empty())
                })
            });
        Ok(Router {
            sorted,
            target_of_sorted,
            u64_starts,
            even_bits,
        })
    }

    /// A router that sends everything to target 0 (one target, the whole keyspace).
    pub fn single() -> Router {
        Router::new(&[KeyRange::full()]).expect("the full range covers the keyspace")
    }

    /// How many targets the ranges were given for.
    pub fn targets(&self) -> usize {
        self.sorted.len()
    }

    /// The ranges, sorted by start.
    pub fn sorted_ranges(&self) -> &[KeyRange] {
        &self.sorted
    }

    /// The target of sorted range `i`.
    pub fn target_of_sorted(&self, i: usize) -> u32 {
        self.target_of_sorted[i]
    }

    /// Whether lookups are a shift (the ranges are an even power-of-two split).
    pub fn is_even_power_of_two(&self) -> bool {
        self.even_bits.is_some()
    }

    /// The target of an 8-byte keyspace id, read as a big-endian `u64`.
    #[inline]
    pub fn target_of_u64(&self, id: u64) -> u32 {
        let sorted_index = match self.even_bits {
            // Truncation intended: the top `bits` bits, below 256.
            #[allow(clippy::cast_possible_truncation)]
            Some(bits) => (id >> (64 - bits)) as usize,
            None => self.u64_starts.partition_point(|&start| start <= id) - 1,
        };
        self.target_of_sorted[sorted_index]
    }

    /// The target of a keyspace id of any length.
    #[inline]
    pub fn target_of_bytes(&self, id: &[u8]) -> u32 {
        let sorted_index = match self.even_bits {
            Some(bits) => usize::from(id.first().copied().unwrap_or(0) >> (8 - bits)),
            None => self.sorted.partition_point(|r| r.start() <= id) - 1,
        };
        self.target_of_sorted[sorted_index]
    }
}

/// The smallest 8-byte id (as a big-endian `u64`) that is `>= start` byte-wise, or `None` if
/// every 8-byte id is below it.
fn smallest_u64_at_or_above(start: &[u8]) -> Option<u64> {
    let mut first8 = [0u8; 8];
    let n = start.len().min(8);
    first8[..n].copy_from_slice(&start[..n]);
    let value = u64::from_be_bytes(first8);
    // A normalized start longer than 8 bytes has a non-zero byte past the 8th: the id equal to
    // its first 8 bytes is a proper prefix of it, so below it.
    if start.len() > 8 {
        value.checked_add(1)
    } else {
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(list: &str) -> Router {
        Router::new(&KeyRange::parse_list(list).unwrap()).unwrap()
    }

    fn contains_target(ranges: &[KeyRange], id: &[u8]) -> u32 {
        let hits: Vec<usize> = (0..ranges.len())
            .filter(|&t| ranges[t].contains(id))
            .collect();
        assert_eq!(hits.len(), 1, "{} is in exactly one range", hex(id));
        u32::try_from(hits[0]).unwrap()
    }

    fn hex(b: &[u8]) -> String {
        reshard_types::keyrange::hex(b)
    }

    #[test]
    fn targets_follow_the_given_order_not_the_sorted_one() {
        let r = router("80-,-80");
        assert_eq!(r.target_of_u64(0), 1);
        assert_eq!(r.target_of_u64(0x7fff_ffff_ffff_ffff), 1);
        assert_eq!(r.target_of_u64(0x8000_0000_0000_0000), 0);
        assert_eq!(r.target_of_bytes(&[0x80]), 0);
        assert_eq!(r.target_of_bytes(&[]), 1);
        assert!(r.is_even_power_of_two());
    }

    #[test]
    fn uneven_ranges_use_the_search() {
        let r = router("-40,40-a0,a0-c0,c0-");
        assert!(!r.is_even_power_of_two());
        for (id, t) in [
            (0x3fu64 << 56 | 0xff, 0),
            (0x40 << 56, 1),
            (0x9f << 56, 1),
            (0xa0 << 56, 2),
            (0xc0 << 56, 3),
            (u64::MAX, 3),
        ] {
            assert_eq!(r.target_of_u64(id), t, "{id:016x}");
            assert_eq!(r.target_of_bytes(&id.to_be_bytes()), t, "{id:016x}");
        }
    }

    #[test]
    fn even_power_of_two_split_uses_the_shift_and_agrees_with_contains() {
        for n in [2usize, 4, 8, 16, 256] {
            let ranges = KeyRange::even(n).unwrap();
            let r = Router::new(&ranges).unwrap();
            assert!(r.is_even_power_of_two(), "{n}");
            for top in 0..=255u8 {
                for low in [0u64, 1, u64::from(u32::MAX)] {
                    let id = u64::from(top) << 56 | low;
                    assert_eq!(
                        r.target_of_u64(id),
                        contains_target(&ranges, &id.to_be_bytes())
                    );
                }
            }
        }
        assert!(
            !Router::new(&KeyRange::even(3).unwrap())
                .unwrap()
                .is_even_power_of_two()
        );
        assert!(!Router::single().is_even_power_of_two());
        assert_eq!(Router::single().target_of_u64(u64::MAX), 0);
    }

    #[test]
    fn starts_longer_than_eight_bytes_compare_as_bytes_do() {
        // 0x80 00..00 01 (9 bytes): the 8-byte id 0x8000000000000000 is below it.
        let ranges = vec![
            KeyRange::new(&[], &[0x80, 0, 0, 0, 0, 0, 0, 0, 1]).unwrap(),
            KeyRange::new(&[0x80, 0, 0, 0, 0, 0, 0, 0, 1], &[0xff; 9]).unwrap(),
            KeyRange::new(&[0xff; 9], &[]).unwrap(),
        ];
        let r = Router::new(&ranges).unwrap();
        for id in [0x8000_0000_0000_0000u64, 0x8000_0000_0000_0001, u64::MAX] {
            let bytes = id.to_be_bytes();
            assert_eq!(r.target_of_u64(id), contains_target(&ranges, &bytes));
            assert_eq!(r.target_of_bytes(&bytes), contains_target(&ranges, &bytes));
        }
        assert_eq!(r.target_of_u64(0x8000_0000_0000_0000), 0);
        assert_eq!(r.target_of_u64(u64::MAX), 1);
    }

    #[test]
    fn refuses_gaps_and_overlaps() {
        let gap = Router::new(&KeyRange::parse_list("-40,80-").unwrap()).unwrap_err();
        assert!(gap.to_string().contains("40-80"), "{gap}");
        let overlap = Router::new(&KeyRange::parse_list("-80,40-").unwrap()).unwrap_err();
        assert!(overlap.to_string().contains("overlap"), "{overlap}");
    }
}
