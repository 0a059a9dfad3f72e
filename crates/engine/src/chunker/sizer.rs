//! How big the next chunk is: sized to a byte budget from what earlier chunks measured.
//!
//! A chunk's size is counted in *units*: rows for a keyset walk, key values for an integer range
//! (whose rows per key value vary with gaps). After each chunk, the density it showed (bytes per
//! unit) gives the size that would have met the budget; the next size moves toward it, but never
//! by more than a bounded step, so one odd chunk (a gap, a run of large rows) cannot swing it far.

/// Units of the first chunk of a table, before anything is measured: a thousand rows of even a
/// wide table (a few KiB each) stay within a few MiB, and doubling reaches a 16 MiB budget of
/// typical 200-byte rows in seven chunks.
pub const INITIAL_UNITS: u64 = 1_000;

/// Largest growth per chunk. Growing by at most 2x means a wrong estimate (rows suddenly much
/// larger past a point) overshoots the budget by at most 2x.
pub const MAX_GROWTH: u64 = 2;

/// Largest shrink per chunk. Shrinking faster than growing: an oversized chunk costs more (a
/// longer retry, a coarser interleaving of tables, a longer wait for the slowest chunk at the end)
/// than an undersized one (one more round trip).
pub const MAX_SHRINK: u64 = 4;

/// The adaptive size of the next chunk of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkSizer {
    target_bytes: u64,
    units: u64,
}

impl ChunkSizer {
    /// A sizer aiming at `target_bytes` of row data per chunk.
    pub fn new(target_bytes: u64) -> ChunkSizer {
        ChunkSizer {
            target_bytes: target_bytes.max(1),
            units: INITIAL_UNITS,
        }
    }

    /// Units of the next chunk (at least 1).
    pub fn units(&self) -> u64 {
        self.units
    }

    /// A chunk of `units` came back with `bytes` of row data: move toward the size that meets the
    /// budget. An empty chunk (`bytes == 0`) grows the size by [`MAX_GROWTH`].
    pub fn observe(&mut self, units: u64, bytes: u64) {
        let ideal = if bytes == 0 {
            u128::from(self.units) * u128::from(MAX_GROWTH)
        } else {
            u128::from(self.target_bytes) * u128::from(units.max(1)) / u128::from(bytes)
        };
        let low = u128::from((self.units / MAX_SHRINK).max(1));
        let high = u128::from(self.units) * u128::from(MAX_GROWTH);
        self.units = u64::try_from(ideal.clamp(low, high))
            .unwrap_or(u64::MAX)
            .max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_budget_in_bounded_steps() {
        let mut s = ChunkSizer::new(16 << 20);
        let mut sizes = vec![];
        for _ in 0..12 {
            let units = s.units();
            // 200 bytes per row.
            s.observe(units, units * 200);
            sizes.push(s.units());
        }
        assert_eq!(sizes[0], 2_000);
        assert!(sizes.windows(2).all(|w| w[1] <= w[0] * MAX_GROWTH));
        assert_eq!(*sizes.last().unwrap(), (16u64 << 20) / 200);
    }

    #[test]
    fn shrinks_by_at_most_the_bound() {
        let mut s = ChunkSizer::new(1 << 20);
        s.observe(1_000, 1 << 30); // rows a thousand times too large
        assert_eq!(s.units(), 1_000 / MAX_SHRINK);
        for _ in 0..20 {
            let units = s.units();
            s.observe(units, units << 20); // 1 MiB per row: one row per chunk
        }
        assert_eq!(s.units(), 1);
    }

    #[test]
    fn empty_chunks_grow_it_and_sizes_never_overflow() {
        let mut s = ChunkSizer::new(u64::MAX);
        for _ in 0..100 {
            s.observe(s.units(), 0);
        }
        assert_eq!(s.units(), u64::MAX);
        s.observe(u64::MAX, 1);
        assert_eq!(s.units(), u64::MAX);
    }
}
