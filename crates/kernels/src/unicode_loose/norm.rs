//! The few normalization facts x/text's collation iterator asks of `golang.org/x/text/unicode/norm`,
//! answered from the `unicode-normalization` crate. It is pinned to Unicode 15.0.0, the version of
//! the normalization tables frozen into Vitess next to its collation table.
//!
//! They matter only after the first code point of a contraction, where x/text looks past
//! combining marks for the rest of the contraction (UCA's discontiguous matching), and for
//! characters that collate as their compatibility decomposition.

use unicode_normalization::char::{
    canonical_combining_class, decompose_canonical, decompose_compatible,
};
use unicode_normalization::{IsNormalized, is_nfc_quick};

/// Non-starters in a row after which a new segment starts anyway (Unicode's stream-safe format).
const MAX_NON_STARTERS: u32 = 30;

/// The code point at the start of `s` and its length in bytes; U+FFFD and 1 for bytes that do
/// not start one (the way Go's `utf8.DecodeRune` reads them).
pub(super) fn first_char(s: &[u8]) -> (char, usize) {
    const BAD: (char, usize) = ('\u{FFFD}', 1);
    let Some(&b0) = s.first() else {
        return ('\u{FFFD}', 0);
    };
    if b0 < 0x80 {
        return (char::from(b0), 1);
    }
    let (len, init) = match b0 {
        0xC2..=0xDF => (2, u32::from(b0 & 0x1F)),
        0xE0..=0xEF => (3, u32::from(b0 & 0x0F)),
        0xF0..=0xF4 => (4, u32::from(b0 & 0x07)),
        _ => return BAD,
    };
    let Some(tail) = s.get(1..len) else {
        return BAD;
    };
    let mut cp = init;
    for &b in tail {
        if b & 0xC0 != 0x80 {
            return BAD;
        }
        cp = (cp << 6) | u32::from(b & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not code points.
    let shortest = match len {
        2 => 0x80,
        3 => 0x800,
        _ => 0x1_0000,
    };
    match char::from_u32(cp) {
        Some(c) if cp >= shortest => (c, len),
        _ => BAD,
    }
}

/// What `norm.NFD.Properties` says of the code point at the start of `s`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Nfd {
    /// Its length in bytes.
    pub size: usize,
    /// The combining class of the first code point of its canonical decomposition.
    pub lead_ccc: u8,
    /// The combining class of the last code point of its canonical decomposition.
    pub trail_ccc: u8,
}

pub(super) fn nfd(s: &[u8]) -> Nfd {
    let (c, size) = first_char(s);
    let mut lead = None;
    let mut trail = 0;
    decompose_canonical(c, |d| {
        let class = canonical_combining_class(d);
        lead.get_or_insert(class);
        trail = class;
    });
    Nfd {
        size,
        lead_ccc: lead.unwrap_or(0),
        trail_ccc: trail,
    }
}

/// Whether `c` can combine with a code point before it (NFC quick check "maybe").
fn combines_backward(c: char) -> bool {
    is_nfc_quick(std::iter::once(c)) == IsNormalized::Maybe
}

/// The leading non-starters of `c`'s compatibility decomposition, code points that combine
/// backwards counted as non-starters (x/text's `nLeadingNonStarters`).
fn leading_non_starters(c: char) -> u32 {
    let mut count = 0;
    let mut counting = true;
    decompose_compatible(c, |d| {
        if counting && (canonical_combining_class(d) != 0 || combines_backward(d)) {
            count += 1;
        } else {
            counting = false;
        }
    });
    count
}

/// Whether nothing after `c` can interact with it or what came before (x/text's `isInert`).
fn is_inert(c: char) -> bool {
    canonical_combining_class(c) == 0
        && is_nfc_quick(std::iter::once(c)) == IsNormalized::Yes
        && !has_canonical_decomposition(c)
}

fn has_canonical_decomposition(c: char) -> bool {
    let mut parts = 0;
    let mut same = true;
    decompose_canonical(c, |d| {
        parts += 1;
        same &= d == c;
    });
    parts != 1 || !same
}

/// `norm.NFD.FirstBoundary`: where the first normalization segment after the start of `s`
/// begins, `s.len()` when `s` ends one, or `None`.
pub(super) fn first_boundary(s: &[u8]) -> Option<usize> {
    let mut at = 0;
    let mut non_starters = 0;
    loop {
        if at >= s.len() {
            return None;
        }
        let (c, size) = first_char(&s[at..]);
        let lead = leading_non_starters(c);
        non_starters += lead;
        if lead == 0 || non_starters > MAX_NON_STARTERS {
            return Some(at);
        }
        at += size;
        if at >= s.len() {
            return (is_inert(c) || non_starters == MAX_NON_STARTERS).then_some(s.len());
        }
    }
}

/// Calls `f` with each code point of `c`'s canonical decomposition (`c` itself if it has none).
pub(super) fn for_each_nfd(c: char, f: impl FnMut(char)) {
    decompose_canonical(c, f);
}

/// The longest compatibility decomposition in UTF-8 (U+FDFA: 18 code points, 33 bytes).
const MAX_NFKD_BYTES: usize = 72;

/// A code point's compatibility decomposition as UTF-8, on the stack (x/text's
/// `norm.NFKD.Properties(s).Decomposition()`; empty for a code point without one).
pub(super) struct Nfkd {
    bytes: [u8; MAX_NFKD_BYTES],
    len: usize,
}

impl Nfkd {
    pub(super) fn of(c: char) -> Nfkd {
        let mut out = Nfkd {
            bytes: [0; MAX_NFKD_BYTES],
            len: 0,
        };
        let mut same = true;
        decompose_compatible(c, |d| {
            same &= d == c;
            let end = out.len + d.len_utf8();
            if end <= MAX_NFKD_BYTES {
                d.encode_utf8(&mut out.bytes[out.len..end]);
                out.len = end;
            }
        });
        if same {
            out.len = 0;
        }
        out
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_classes_of_decompositions() {
        // U+0344 decomposes to U+0308 U+0301, both class 230.
        let p = nfd("\u{344}x".as_bytes());
        assert_eq!((p.size, p.lead_ccc, p.trail_ccc), (2, 230, 230));
        // U+0F73 has class 0 but decomposes to U+0F71 (129) U+0F72 (130).
        let p = nfd("\u{F73}".as_bytes());
        assert_eq!((p.size, p.lead_ccc, p.trail_ccc), (3, 129, 130));
        let p = nfd(b"a");
        assert_eq!((p.size, p.lead_ccc, p.trail_ccc), (1, 0, 0));
    }

    #[test]
    fn finds_the_first_segment_boundary() {
        assert_eq!(first_boundary("\u{301}\u{302}a".as_bytes()), Some(4));
        assert_eq!(first_boundary(b"a"), Some(0));
        // Only non-starters to the end: no boundary known.
        assert_eq!(first_boundary("\u{301}\u{302}".as_bytes()), None);
        // A Hangul vowel jamo combines backwards: not a boundary.
        assert_eq!(first_boundary("\u{1161}a".as_bytes()), Some(3));
        // 31 non-starters overflow at the 31st.
        let marks = "\u{301}".repeat(31);
        assert_eq!(first_boundary(marks.as_bytes()), Some(60));
        assert_eq!(first_boundary("\u{301}".repeat(30).as_bytes()), Some(60));
        assert_eq!(first_boundary(b""), None);
    }

    #[test]
    fn decomposes_for_compatibility() {
        assert_eq!(Nfkd::of('\u{FB01}').as_bytes(), b"fi");
        assert_eq!(Nfkd::of('\u{2460}').as_bytes(), b"1");
        assert!(Nfkd::of('a').as_bytes().is_empty());
        // The longest decomposition there is fits.
        let longest = Nfkd::of('\u{FDFA}');
        assert_eq!(longest.as_bytes().len(), 33);
        assert!(
            std::str::from_utf8(longest.as_bytes())
                .unwrap()
                .starts_with('\u{635}')
        );
        // No code point's decomposition is cut short by the buffer.
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let mut bytes = 0;
            decompose_compatible(c, |d| bytes += d.len_utf8());
            assert!(bytes <= MAX_NFKD_BYTES, "U+{:04X}: {bytes} bytes", c as u32);
        }
    }

    #[test]
    fn reads_code_points_as_go_does() {
        assert_eq!(first_char("é".as_bytes()), ('é', 2));
        assert_eq!(first_char(&[0xFF, b'a']), ('\u{FFFD}', 1));
        assert_eq!(first_char(&[0xE2, 0x82]), ('\u{FFFD}', 1));
        assert_eq!(first_char("\u{10FFFF}".as_bytes()), ('\u{10FFFF}', 4));
        assert_eq!(first_char("\u{FFFF}x".as_bytes()), ('\u{FFFF}', 3));
        // Overlong, surrogate, past U+10FFFF.
        assert_eq!(first_char(&[0xE0, 0x80, 0xAF]), ('\u{FFFD}', 1));
        assert_eq!(first_char(&[0xED, 0xA0, 0x80]), ('\u{FFFD}', 1));
        assert_eq!(first_char(&[0xF4, 0x90, 0x80, 0x80]), ('\u{FFFD}', 1));
        for c in [
            '\0',
            'a',
            '\u{80}',
            'ß',
            '\u{800}',
            '\u{D7FF}',
            '\u{E000}',
            '\u{10000}',
        ] {
            let mut utf8 = [0; 4];
            assert_eq!(
                first_char(c.encode_utf8(&mut utf8).as_bytes()),
                (c, c.len_utf8())
            );
        }
    }
}
