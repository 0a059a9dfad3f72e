//! The collation key behind Vitess's `unicode_loose_xxhash` and `unicode_loose_md5` vindexes.
//!
//! Vitess (`go/vt/vtgate/vindexes/unicode.go`) maps a value to the keyspace id as follows:
//! 1. refuse bytes that are not valid UTF-8;
//! 2. trim trailing ASCII spaces;
//! 3. take the collation key of `collate.New(language.English, collate.Loose)` from Go's
//!    `golang.org/x/text` (Vitess keeps a frozen copy in `go/mysql/collations/vindex`);
//! 4. hash it (XXH64 little-endian, or MD5).
//!
//! `Loose` ignores case, accents and width, so the key holds only the level-1 (primary)
//! weights, each as 2 big-endian bytes (3 with the top bit set above 0x7FFF). "Test", "TEst",
//! "Tést" and "Te\u{301}st" share one key; " Test" and "Test\t" do not.
//!
//! Reproducing those bytes means reproducing x/text exactly: its table (CLDR 23, UCA 6.2.0, the
//! root order that English uses), its implicit weights for code points the table lacks, its
//! contractions (including discontiguous ones across combining marks), expansions and
//! compatibility decompositions, and its reordering of combining marks. `tables.rs` is generated
//! from x/text's own table by `scripts/unicode-loose/gen_tables.py`; `collate.rs` ports the
//! iterator that walks it. The golden tests (`crates/kernels/tests/unicode_loose_golden.rs`)
//! compare every code point and thousands of mixed strings with keys computed by x/text itself
//! (`scripts/unicode-loose/golden.go`), which is also how the published Vitess vectors come out.
//!
//! Where Go's own Unicode data shows through (the `Ideographic` property behind implicit weights,
//! and normalization), this follows the versions Vitess is built with: Unicode 15.0.0.

mod collate;
mod elem;
mod norm;
#[allow(clippy::unreadable_literal)]
mod tables;

use std::sync::LazyLock;

/// The value is not valid UTF-8, which Vitess refuses to map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the value is not valid UTF-8")]
pub struct InvalidUtf8;

/// Computes loose collation keys, reusing its buffers from one value to the next (keep one per
/// thread; after the first few values a key allocates nothing).
#[derive(Debug, Default, Clone)]
pub struct LooseKeys {
    elems: Vec<u32>,
    key: Vec<u8>,
}

impl LooseKeys {
    /// A key computer with empty buffers.
    pub fn new() -> LooseKeys {
        LooseKeys::default()
    }

    /// The key Vitess hashes for `value`: trailing spaces trimmed, then the level-1 collation
    /// key of `collate.New(language.English, collate.Loose)`.
    pub fn key(&mut self, value: &[u8]) -> Result<&[u8], InvalidUtf8> {
        let text = std::str::from_utf8(value).map_err(|_| InvalidUtf8)?;
        let text = text.trim_end_matches(' ').as_bytes();
        self.key.clear();
        if text.is_ascii() {
            let ascii = &*ASCII_KEYS;
            self.key.reserve(text.len() * 2);
            for &b in text {
                match &ascii[usize::from(b)] {
                    // Most ASCII characters have one primary below 0x8000: two bytes.
                    (2, [high, low, ..]) => self.key.extend_from_slice(&[*high, *low]),
                    (len, bytes) => self.key.extend_from_slice(&bytes[..usize::from(*len)]),
                }
            }
            return Ok(&self.key);
        }
        collate::elements(text, &mut self.elems);
        append_primaries(&mut self.key, &self.elems);
        Ok(&self.key)
    }
}

/// Appends the level-1 key of collation elements: their primary weights, in order.
fn append_primaries(key: &mut Vec<u8>, elems: &[u32]) {
    for &e in elems {
        append_primary(key, elem::primary(e));
    }
}

/// Appends a primary weight as x/text writes it into a key (nothing for 0).
fn append_primary(key: &mut Vec<u8>, primary: u32) {
    let [_, high, mid, low] = primary.to_be_bytes();
    match primary {
        0 => {}
        1..=0x7FFF => key.extend_from_slice(&[mid, low]),
        _ => key.extend_from_slice(&[high | 0x80, mid, low]),
    }
}

/// The key of each ASCII character alone. An ASCII string's key is the concatenation of its
/// characters' keys: no ASCII character has a combining class, and none starts a contraction
/// with another ASCII character (a test checks every pair).
static ASCII_KEYS: LazyLock<[(u8, [u8; 6]); 128]> = LazyLock::new(|| {
    let mut keys = [(0, [0; 6]); 128];
    let mut elems = Vec::new();
    let mut key = Vec::new();
    for (b, slot) in (0u8..128).zip(keys.iter_mut()) {
        collate::elements(&[b], &mut elems);
        key.clear();
        append_primaries(&mut key, &elems);
        // One or two primaries of at most 3 bytes; the tests compare every entry with the
        // collator.
        let len = key.len().min(6);
        slot.1[..len].copy_from_slice(&key[..len]);
        slot.0 = u8::try_from(len).unwrap_or(6);
    }
    keys
});

#[cfg(test)]
mod tests {
    use super::*;

    /// The key through the collator, without the ASCII shortcut.
    fn slow_key(text: &str) -> Vec<u8> {
        let mut elems = Vec::new();
        collate::elements(text.as_bytes(), &mut elems);
        let mut key = Vec::new();
        append_primaries(&mut key, &elems);
        key
    }

    #[test]
    fn keys_of_the_published_vitess_inputs() {
        let mut keys = LooseKeys::new();
        let same = [0x18, 0x16, 0x16, 0x4C, 0x17, 0xF3, 0x18, 0x16];
        for text in ["Test", "TEst", "Te\u{301}st", "Tést", "Test "] {
            assert_eq!(keys.key(text.as_bytes()).unwrap(), same, "{text:?}");
        }
        assert_eq!(
            keys.key(" Test".as_bytes()).unwrap(),
            [0x01, 0x09, 0x18, 0x16, 0x16, 0x4C, 0x17, 0xF3, 0x18, 0x16]
        );
        assert_eq!(keys.key(b"").unwrap(), b"");
        assert_eq!(keys.key(b"  ").unwrap(), b"");
        assert_eq!(keys.key(&[b'T', 0xFF]), Err(InvalidUtf8));
    }

    #[test]
    fn ascii_strings_key_as_their_characters_do() {
        // The fast path's premise, for every pair of ASCII characters.
        for a in 0u8..128 {
            for b in 0u8..128 {
                let text = String::from_utf8(vec![a, b]).unwrap();
                let mut expected = slow_key(&text[..1]);
                expected.extend(slow_key(&text[1..]));
                assert_eq!(slow_key(&text), expected, "{text:?}");
            }
        }
        // The shortcut's table against the collator, character by character and on a sentence.
        let mut keys = LooseKeys::new();
        for b in (0u8..128).filter(|&b| b != b' ') {
            let text = String::from_utf8(vec![b, b'x']).unwrap();
            assert_eq!(
                keys.key(text.as_bytes()).unwrap(),
                slow_key(&text),
                "{text:?}"
            );
        }
        let text = "Hello, World!\tl L ~0123_\u{7f}.";
        assert!(text.is_ascii());
        assert_eq!(keys.key(text.as_bytes()).unwrap(), slow_key(text));
    }

    #[test]
    fn primaries_above_0x7fff_take_three_bytes() {
        let mut key = Vec::new();
        append_primary(&mut key, 0x7FFF);
        append_primary(&mut key, 0);
        append_primary(&mut key, 0x1_4E00);
        assert_eq!(key, [0x7F, 0xFF, 0x81, 0x4E, 0x00]);
    }
}
