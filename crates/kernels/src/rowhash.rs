//! Row hashes and chunk digests: what verification compares instead of rows.
//!
//! **Row hash.** A row's hash is XXH3-128 of its canonical encoding
//! ([`reshard_convert::canonical`]: every column, NULL tagged apart from the empty string,
//! strings length-prefixed, values byte-exact). The encoder works a column at a time into one
//! reused buffer, then every row's bytes are hashed; a batch costs no allocation once the
//! buffers have grown. Two rows of one schema get the same hash exactly when they hold the same
//! values, up to a 128-bit collision (about 2^-64 for 2^32 rows of one chunk, by the birthday
//! bound; never reached in practice).
//!
//! **Key id.** The same hash over the row key's columns only: what rows are matched by when a
//! chunk is narrowed to rows, without keeping the keys' values.
//!
//! **Chunk digest.** A multiset of rows is summarised by its count and the *sum* of its row
//! hashes modulo 2^128 ([`Digest`]). The sum is independent of order, so the rows of a chunk
//! may come from several sources, or several targets, in any order, and sums add up across them;
//! and it does not cancel as a bare XOR does: a row present twice adds its hash twice (XOR
//! would add nothing), and two rows changed the same way change the sum twice over (XOR would
//! cancel the pair). Two different multisets of the same count have equal sums only when their
//! hash differences sum to zero modulo 2^128: for hashes that behave as random, a chance of
//! 2^-128 per compared chunk. The count is kept beside it, as Spirit keeps `COUNT(*)` beside its
//! `BIT_XOR`, so an equal sum of a different number of rows is still a difference.

use arrow_array::RecordBatch;
use reshard_convert::ConvertError;
use reshard_convert::canonical::RowEncoder;
use xxhash_rust::xxh3::xxh3_128;

/// Rows encoded at a time: large enough that per-slice costs vanish, small enough that the
/// encoder's buffers are a small part of a batch.
pub const SLICE_ROWS: usize = 1024;

/// Hashes rows of record batches; reuse one across batches (its buffers keep their capacity).
#[derive(Debug, Default)]
pub struct RowHasher {
    encoder: RowEncoder,
}

impl RowHasher {
    /// A hasher with empty buffers.
    pub fn new() -> RowHasher {
        RowHasher::default()
    }

    /// Replaces `out` with the hash of every row of `batch`, in row order. Rows are encoded
    /// [`SLICE_ROWS`] at a time, so the encoder's buffers stay small beside the batch.
    pub fn hash_rows(
        &mut self,
        batch: &RecordBatch,
        out: &mut Vec<u128>,
    ) -> Result<(), ConvertError> {
        out.clear();
        out.reserve(batch.num_rows());
        let mut offset = 0;
        while offset < batch.num_rows() {
            let rows = SLICE_ROWS.min(batch.num_rows() - offset);
            self.encoder.encode(&batch.slice(offset, rows))?;
            out.extend((0..self.encoder.len()).map(|r| xxh3_128(self.encoder.row(r))));
            offset += rows;
        }
        Ok(())
    }

    /// Replaces `out` with the hash of the columns `columns` (in that order) of every row: the
    /// key id of each row when `columns` is its row key.
    pub fn hash_columns(
        &mut self,
        batch: &RecordBatch,
        columns: &[usize],
        out: &mut Vec<u128>,
    ) -> Result<(), ConvertError> {
        let key = batch.project(columns).map_err(|e| ConvertError::BadField {
            column: format!("{columns:?}"),
            why: format!("the key columns are not in the batch: {e}"),
        })?;
        self.hash_rows(&key, out)
    }
}

/// The count and the order-independent, non-cancelling sum of a multiset of row hashes (see the
/// module docs). Equal digests mean equal multisets, up to a 2^-128 chance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Digest {
    /// Rows added.
    pub rows: u64,
    /// Their hashes summed modulo 2^128.
    pub sum: u128,
}

impl Digest {
    /// Adds one row.
    #[inline]
    pub fn add(&mut self, row_hash: u128) {
        self.rows += 1;
        self.sum = combine(self.sum, row_hash);
    }

    /// Adds every row of `other` (rows read elsewhere: another source, another target).
    pub fn merge(&mut self, other: &Digest) {
        self.rows += other.rows;
        self.sum = combine(self.sum, other.sum);
    }

    /// The digest of `hashes`.
    pub fn of(hashes: &[u128]) -> Digest {
        let mut digest = Digest::default();
        for &h in hashes {
            digest.add(h);
        }
        digest
    }
}

/// The combining step of [`Digest`]: addition modulo 2^128 (never XOR, which cancels pairs).
#[inline]
fn combine(sum: u128, hash: u128) -> u128 {
    sum.wrapping_add(hash)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, BinaryArray, Int64Array, RecordBatch, StringArray};

    use super::*;

    fn batch(ids: &[i64], notes: &[Option<&str>]) -> RecordBatch {
        RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef),
            (
                "note",
                Arc::new(StringArray::from(notes.to_vec())) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    fn hashes(batch: &RecordBatch) -> Vec<u128> {
        let mut out = Vec::new();
        RowHasher::new().hash_rows(batch, &mut out).unwrap();
        out
    }

    #[test]
    fn equal_rows_hash_equal_and_any_changed_value_changes_the_hash() {
        let a = hashes(&batch(
            &[1, 2, 3, 4],
            &[Some("x"), None, Some(""), Some("x ")],
        ));
        let again = hashes(&batch(
            &[1, 2, 3, 4],
            &[Some("x"), None, Some(""), Some("x ")],
        ));
        assert_eq!(a, again);
        // NULL ↔ '', a trailing space, another key: each a different hash.
        let b = hashes(&batch(
            &[1, 2, 3, 4],
            &[Some("x"), Some(""), None, Some("x")],
        ));
        assert_eq!(a[0], b[0]);
        for r in 1..4 {
            assert_ne!(a[r], b[r], "row {r}");
        }
        assert_ne!(a[0], hashes(&batch(&[5], &[Some("x")]))[0]);
    }

    #[test]
    fn column_boundaries_do_not_shift() {
        let two = |a: &[u8], b: &[u8]| {
            let batch = RecordBatch::try_from_iter([
                ("a", Arc::new(BinaryArray::from(vec![a])) as ArrayRef),
                ("b", Arc::new(BinaryArray::from(vec![b])) as ArrayRef),
            ])
            .unwrap();
            hashes(&batch)[0]
        };
        assert_ne!(two(b"ab", b"c"), two(b"a", b"bc"));
    }

    #[test]
    fn key_ids_hash_the_key_columns_only() {
        let mut hasher = RowHasher::new();
        let (mut left, mut right) = (Vec::new(), Vec::new());
        hasher
            .hash_columns(&batch(&[7, 8], &[Some("a"), Some("b")]), &[0], &mut left)
            .unwrap();
        hasher
            .hash_columns(
                &batch(&[7, 9], &[Some("changed"), Some("b")]),
                &[0],
                &mut right,
            )
            .unwrap();
        assert_eq!(left[0], right[0], "same key, other values");
        assert_ne!(left[1], right[1], "other key");
    }

    #[test]
    fn digests_ignore_order_and_add_up_across_servers() {
        let h = hashes(&batch(&[1, 2, 3], &[Some("a"), Some("b"), Some("c")]));
        let whole = Digest::of(&h);
        assert_eq!(whole, Digest::of(&[h[2], h[0], h[1]]));
        let mut split = Digest::of(&h[..1]);
        split.merge(&Digest::of(&h[1..]));
        assert_eq!(whole, split);
        assert_eq!(whole.rows, 3);
    }

    /// What a bare XOR would miss: pairs of identical rows cancel under XOR, so {a, a, b, b}
    /// and {c, c, d, d} (same count) would look equal, as would a row present twice against a
    /// chunk where it is absent and another row appears twice.
    #[test]
    fn digests_do_not_cancel_pairs_as_xor_does() {
        let h = hashes(&batch(
            &[1, 2, 3, 4],
            &[Some("a"), Some("b"), Some("c"), Some("d")],
        ));
        let (a, b, c, d) = (h[0], h[1], h[2], h[3]);
        assert_ne!(Digest::of(&[a, a, b, b]), Digest::of(&[c, c, d, d]));
        assert_ne!(Digest::of(&[a, b, b]), Digest::of(&[a, c, c]));
    }
}
