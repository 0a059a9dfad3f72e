//! x/text's collation iterator, ported line for line: the collation elements of a string, from
//! the root table in [`super::tables`] (`internal/colltab/table.go`, `contract.go`, `iter.go`).
//!
//! Each step looks up the code point at the cursor. A plain element is appended; an expansion
//! appends its elements; a contraction runs the byte trie over what follows (looking past
//! combining marks that cannot block it); a compatibility character collates as its
//! decomposition. The iterator then puts elements of combining marks into canonical order.

use super::elem::{self, Elem, Kind};
use super::norm;
use super::tables::{BLOCK, BLOCKS, CONTRACT, CONTRACT_TRIES, ELEMENTS, EXPAND};

/// More combining marks in a row than this are not reordered any further.
const MAX_COMBINING_CHARACTERS: usize = 30;
/// The longest run of bytes x/text sets aside while it matches a discontiguous contraction.
const MAX_SEGMENT_SIZE: usize = 128;

/// The table's element for `c` (0: not in the table).
#[inline]
pub(super) fn element_of(c: char) -> Elem {
    let cp = c as usize;
    let block = usize::from(BLOCKS[cp / BLOCK]);
    ELEMENTS[block * BLOCK + cp % BLOCK]
}

/// Appends the elements of the text at the start of `s` to `w`; returns the bytes consumed.
pub(super) fn append_next(w: &mut Vec<Elem>, s: &[u8]) -> usize {
    let (c, mut size) = norm::first_char(s);
    let ce = element_of(c);
    match elem::kind(ce) {
        Kind::Normal if ce != 0 => w.push(ce),
        Kind::Normal => {
            if ('\u{AC00}'..='\u{D7A3}').contains(&c) {
                // A Hangul syllable collates as its jamo (its canonical decomposition).
                norm::for_each_nfd(c, |jamo| w.push(element_of(jamo)));
                return size;
            }
            w.push(elem::implicit(implicit_primary(c)));
        }
        Kind::Expansion => append_expansion(w, ce),
        Kind::Contraction => size += match_contraction(w, ce, &s[size..]),
        Kind::Decompose => {
            let (t1, t2) = elem::split_decompose(ce);
            let first = w.len();
            let nfkd = norm::Nfkd::of(c);
            let mut rest = nfkd.as_bytes();
            while !rest.is_empty() {
                let p = append_next(w, rest);
                rest = &rest[p.max(1).min(rest.len())..];
            }
            if let Some(e) = w.get_mut(first) {
                *e = elem::update_tertiary(*e, t1);
            }
            if let Some(e) = w.get_mut(first + 1) {
                *e = elem::update_tertiary(*e, t2);
            }
            for e in w.iter_mut().skip(first + 2) {
                *e = elem::update_tertiary(*e, elem::MAX_TERTIARY);
            }
        }
    }
    size
}

fn append_expansion(w: &mut Vec<Elem>, ce: Elem) {
    let i = elem::expand_index(ce);
    let n = EXPAND[i] as usize;
    w.extend_from_slice(&EXPAND[i + 1..=i + n]);
}

/// x/text's implicit primary of a code point the table lacks: ideographs sort first, by code
/// point, then everything else by code point.
fn implicit_primary(c: char) -> u32 {
    const COMMON_UNIFIED_OFFSET: u32 = 0x1_0000;
    const RARE_UNIFIED_OFFSET: u32 = 0x2_0000;
    const OTHER_OFFSET: u32 = 0x5_0000;
    let cp = c as u32;
    if is_ideographic(cp) {
        if (0x4E00..=0x9FFF).contains(&cp) || (0xF900..=0xFAFF).contains(&cp) {
            return cp + COMMON_UNIFIED_OFFSET;
        }
        return cp + RARE_UNIFIED_OFFSET;
    }
    cp + OTHER_OFFSET
}

/// Unicode 15.0's `Ideographic` property: what Go's `unicode.Ideographic` holds in the Go
/// versions Vitess is built with (1.21 and later).
fn is_ideographic(cp: u32) -> bool {
    const RANGES: [(u32, u32); 20] = [
        (0x3006, 0x3007),
        (0x3021, 0x3029),
        (0x3038, 0x303A),
        (0x3400, 0x4DBF),
        (0x4E00, 0x9FFF),
        (0xF900, 0xFA6D),
        (0xFA70, 0xFAD9),
        (0x16FE4, 0x16FE4),
        (0x17000, 0x187F7),
        (0x18800, 0x18CD5),
        (0x18D00, 0x18D08),
        (0x1B170, 0x1B2FB),
        (0x20000, 0x2A6DF),
        (0x2A700, 0x2B739),
        (0x2B740, 0x2B81D),
        (0x2B820, 0x2CEA1),
        (0x2CEB0, 0x2EBE0),
        (0x2F800, 0x2FA1D),
        (0x30000, 0x3134A),
        (0x31350, 0x323AF),
    ];
    RANGES
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// The contraction scanner over the byte tries (`ctScanner`).
struct Scanner<'a> {
    /// Offset of the current trie level in [`CONTRACT_TRIES`], and its number of states.
    states: usize,
    n: usize,
    s: &'a [u8],
    index: usize,
    pindex: usize,
    done: bool,
}

impl Scanner<'_> {
    fn scan(&mut self, mut p: usize) -> usize {
        const FINAL: u8 = 0;
        const NO_INDEX: u8 = 0xFF;
        let mut pr = p;
        let (mut states, mut n) = (self.states, self.n);
        let mut i = 0;
        while i < n && p < self.s.len() {
            let (lo, hi, next, index) = CONTRACT_TRIES[states + i];
            let c = self.s[p];
            if c >= lo {
                if lo == c {
                    p += 1;
                    if index != NO_INDEX {
                        self.index = usize::from(index);
                        self.pindex = p;
                    }
                    if next != FINAL {
                        i = 0;
                        states += usize::from(hi) + n;
                        n = usize::from(next);
                        if p >= self.s.len() || is_rune_start(self.s[p]) {
                            self.states = states;
                            self.n = n;
                            pr = p;
                        }
                    } else {
                        self.done = true;
                        return p;
                    }
                    continue;
                } else if next == FINAL && c <= hi {
                    p += 1;
                    self.done = true;
                    self.index = usize::from(c - lo) + usize::from(index);
                    self.pindex = p;
                    return p;
                }
            }
            i += 1;
        }
        pr
    }
}

fn is_rune_start(b: u8) -> bool {
    b & 0xC0 != 0x80
}

/// Matches the longest contraction that starts with the code point of `ce` and goes on with
/// `suffix`, appends its elements, and returns how many bytes of `suffix` it took. Combining
/// marks skipped over to complete it are collated after it.
fn match_contraction(w: &mut Vec<Elem>, ce: Elem, suffix: &[u8]) -> usize {
    let (index, n, offset) = elem::split_contract_index(ce);
    let mut scan = Scanner {
        states: index,
        n,
        s: suffix,
        index: 0,
        pindex: 0,
        done: false,
    };
    let mut buf = [0u8; MAX_SEGMENT_SIZE];
    let mut bufp = 0;
    let mut p = scan.scan(0);
    if !scan.done && p < suffix.len() && suffix[p] >= 0x80 {
        let mut p0 = p;
        let mut bufn = 0;
        let rune = norm::nfd(&suffix[p..]);
        p += rune.size;
        if rune.lead_ccc != 0 {
            let mut prev_cc = rune.trail_ccc;
            if let Some(end) = norm::first_boundary(&suffix[p..]) {
                scan.s = &suffix[..p + end];
            }
            while p < suffix.len() && !scan.done && suffix[p] >= 0x80 {
                let rune = norm::nfd(&suffix[p..]);
                let ccc = rune.lead_ccc;
                if ccc == 0 || prev_cc >= ccc {
                    break;
                }
                prev_cc = rune.trail_ccc;
                let pp = scan.scan(p);
                if pp != p {
                    // Set aside the marks skipped over.
                    let skipped = &suffix[p0..p];
                    let room = MAX_SEGMENT_SIZE - bufn;
                    let copied = skipped.len().min(room);
                    buf[bufn..bufn + copied].copy_from_slice(&skipped[..copied]);
                    bufn += copied;
                    if scan.pindex == pp {
                        bufp = bufn;
                    }
                    p = pp;
                    p0 = pp;
                } else {
                    p += rune.size;
                }
            }
        }
    }
    let ce = CONTRACT[scan.index + offset];
    if elem::kind(ce) == Kind::Normal {
        w.push(ce);
    } else {
        append_expansion(w, ce);
    }
    let mut rest = &buf[..bufp];
    while !rest.is_empty() {
        let p = append_next(w, rest);
        rest = &rest[p.max(1).min(rest.len())..];
    }
    scan.pindex
}

/// The collation elements of `text`, in x/text's order, into `elems` (cleared first).
pub(super) fn elements(text: &[u8], elems: &mut Vec<Elem>) {
    elems.clear();
    let mut iter = Iter {
        elems,
        n: 0,
        p_next: 0,
        text,
    };
    while iter.next() {}
}

/// x/text's `colltab.Iter`, as far as a key needs it.
struct Iter<'a, 'b> {
    elems: &'a mut Vec<Elem>,
    /// Elements before this index are final.
    n: usize,
    /// Bytes of `text` already looked up.
    p_next: usize,
    text: &'b [u8],
}

impl Iter<'_, '_> {
    fn append_next(&mut self) -> bool {
        if self.p_next >= self.text.len() {
            return false;
        }
        let size = append_next(self.elems, &self.text[self.p_next..]);
        self.p_next += size.max(1);
        true
    }

    fn ccc_at(&self, i: usize) -> u8 {
        self.elems.get(i).map_or(0, |&e| elem::ccc(e))
    }

    fn next(&mut self) -> bool {
        if self.n == self.elems.len() && !self.append_next() {
            return false;
        }
        let Some(&last) = self.elems.last() else {
            return self.p_next < self.text.len();
        };
        let mut prev_ccc = elem::ccc(last);
        if prev_ccc == 0 {
            self.n = self.elems.len();
            return true;
        } else if self.ccc_at(self.n) == 0 {
            self.n += 1;
            while self.n < self.elems.len() && self.ccc_at(self.n) == 0 {
                self.n += 1;
            }
            return true;
        }
        loop {
            let p = self.elems.len();
            if !self.append_next() {
                break;
            }
            let ccc = self.ccc_at(p);
            if ccc == 0 || self.elems.len() - self.n > MAX_COMBINING_CHARACTERS {
                self.n = p;
                return true;
            } else if ccc < prev_ccc {
                self.do_norm(p, ccc);
            } else {
                prev_ccc = ccc;
            }
        }
        let done = self.elems.len() != self.n;
        self.n = self.elems.len();
        done
    }

    /// Moves the elements from `k` on before the ones of higher class that precede them.
    fn do_norm(&mut self, k: usize, ccc: u8) {
        let mut p = k - 1;
        while p > self.n && ccc < self.ccc_at(p - 1) {
            p -= 1;
        }
        self.elems[p..].rotate_left(k - p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangul_syllables_collate_as_their_jamo() {
        let mut syllable = Vec::new();
        let mut jamo = Vec::new();
        for (text, parts) in [
            ("\u{AC00}", "\u{1100}\u{1161}"),
            ("\u{D7A3}", "\u{1112}\u{1175}\u{11C2}"),
        ] {
            elements(text.as_bytes(), &mut syllable);
            elements(parts.as_bytes(), &mut jamo);
            assert_eq!(syllable, jamo, "{text:?}");
            assert!(syllable.iter().all(|&e| elem::primary(e) != 0));
        }
    }

    #[test]
    fn implicit_weights_put_ideographs_first() {
        assert_eq!(implicit_primary('\u{4E00}'), 0x4E00 + 0x1_0000);
        assert_eq!(implicit_primary('\u{FA0E}'), 0xFA0E + 0x1_0000);
        assert_eq!(implicit_primary('\u{3400}'), 0x3400 + 0x2_0000);
        // Added to Ideographic in Unicode 15.0 (CJK extension H).
        assert_eq!(implicit_primary('\u{31350}'), 0x31350 + 0x2_0000);
        assert_eq!(implicit_primary('\u{323B0}'), 0x323B0 + 0x5_0000);
        assert_eq!(implicit_primary('\u{E000}'), 0xE000 + 0x5_0000);
    }
}
