//! The loose collation keys of the `unicode_loose_*` vindexes against keys computed by Go's
//! `golang.org/x/text` itself (`scripts/unicode-loose/regenerate.sh` wrote the files in `data/`;
//! see `scripts/unicode-loose/golden.go`). The oracle shares no code with the port.

use md5::{Digest, Md5};
use reshard_kernels::unicode_loose::LooseKeys;

const CODEPOINTS: &str = include_str!("data/unicode_loose_codepoints.txt");
const STRINGS: &str = include_str!("data/unicode_loose_strings.tsv");

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key_of(keys: &mut LooseKeys, c: char) -> Vec<u8> {
    let mut utf8 = [0; 4];
    keys.key(c.encode_utf8(&mut utf8).as_bytes())
        .expect("a code point is valid UTF-8")
        .to_vec()
}

/// The code points the golden file leaves out: their implicit weight depends on the Unicode
/// version of Go's `Ideographic` property (Go 1.19 made the file; Vitess's Go has 15.0).
fn skipped() -> Vec<(u32, u32)> {
    CODEPOINTS
        .lines()
        .filter_map(|line| line.strip_prefix("skip "))
        .map(|range| {
            let (lo, hi) = range.split_once(' ').expect("skip LO HI");
            (
                u32::from_str_radix(lo, 16).expect("hex"),
                u32::from_str_radix(hi, 16).expect("hex"),
            )
        })
        .collect()
}

#[test]
fn every_code_point_keys_as_x_text_keys_it() {
    let skipped = skipped();
    assert!(!skipped.is_empty());
    let mut keys = LooseKeys::new();
    let mut blocks = 0;
    let mut wrong = Vec::new();
    for line in CODEPOINTS.lines().filter(|l| !l.starts_with("skip ")) {
        let (start, digest) = line.split_once(' ').expect("START DIGEST");
        let start = u32::from_str_radix(start, 16).expect("hex");
        let mut md5 = Md5::new();
        for cp in start..start + 1024 {
            if skipped.iter().any(|&(lo, hi)| (lo..=hi).contains(&cp)) {
                continue;
            }
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let key = key_of(&mut keys, c);
            md5.update([u8::try_from(key.len()).expect("short key")]);
            md5.update(&key);
        }
        if hex(&md5.finalize()[..8]) != digest {
            wrong.push(format!("U+{start:04X}..U+{:04X}", start + 1023));
        }
        blocks += 1;
    }
    assert_eq!(blocks, 0x110000 / 1024);
    assert!(wrong.is_empty(), "blocks whose keys differ: {wrong:?}");
}

#[test]
fn ideographs_new_since_unicode_13_take_vitess_s_implicit_weights() {
    // Unicode 15.0 (Vitess's Go) has these as Ideographic: U+9FFD..U+9FFF weigh as common
    // unified ideographs (code point + 0x10000), the rest as rare ones (+ 0x20000).
    let mut keys = LooseKeys::new();
    for (lo, hi) in skipped() {
        for cp in lo..=hi {
            let offset = if (0x4E00..=0x9FFF).contains(&cp) {
                0x1_0000
            } else {
                0x2_0000
            };
            let [_, high, mid, low] = (cp + offset).to_be_bytes();
            let c = char::from_u32(cp).expect("assigned");
            assert_eq!(key_of(&mut keys, c), [high | 0x80, mid, low], "U+{cp:04X}");
        }
    }
}

#[test]
fn mixed_strings_key_as_x_text_keys_them() {
    let mut keys = LooseKeys::new();
    let mut count = 0;
    let mut wrong = Vec::new();
    for line in STRINGS.lines() {
        let (text, expected) = line.split_once('\t').expect("TEXT\tKEY");
        let text = unhex(text);
        let got = hex(keys.key(&text).expect("the golden strings are UTF-8"));
        if got != expected {
            wrong.push(format!(
                "{:?} ({text:02x?}): x/text {expected}, reshard {got}",
                String::from_utf8_lossy(&text)
            ));
        }
        count += 1;
    }
    assert!(count >= 3000, "only {count} golden strings");
    assert!(
        wrong.is_empty(),
        "{} of {count} keys differ; first: {:#?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
}
