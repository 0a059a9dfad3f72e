//! Vitess's vindex functions, one value at a time: the reference the columnar kernels are checked
//! against, byte for byte (`go/vt/vtgate/vindexes/`; `../shared/reference/vitess-vreplication.md`
//! §4 has the published test vectors, all of which the tests below carry).
//!
//! | vindex | keyspace id |
//! |---|---|
//! | `hash` | DES (all-zero key) of the value as a big-endian u64: 8 bytes |
//! | `xxhash` | XXH64 (seed 0) of the value's MySQL text form, written little-endian: 8 bytes |
//! | `numeric` | the value as a big-endian u64: 8 bytes |
//! | `reverse_bits` | the value's bits reversed, big-endian: 8 bytes |
//! | `binary` | the value's bytes |
//! | `binary_md5` | MD5 of the value's bytes: 16 bytes |
//! | `unicode_loose_xxhash` | XXH64 (little-endian) of the value's loose collation key: 8 bytes |
//! | `unicode_loose_md5` | MD5 of the value's loose collation key: 16 bytes |
//!
//! The loose collation key ([`crate::unicode_loose`]) is the level-1 key of Go's x/text collator
//! for English with case, accents and width ignored, after trailing spaces are trimmed: "Test",
//! "TEST " and "Tést" map to one id. Text that is not valid UTF-8 has no key.
//!
//! Integers reach `hash`, `numeric` and `reverse_bits` as Vitess casts them: a signed value bit
//! for bit (`-1` is `u64::MAX`), text parsed as a decimal integer. A value a vindex cannot map
//! (NULL for all but `xxhash`, whose NULL hashes the empty string; text that is not an integer for
//! the numeric ones) is an error the caller reports with the table, column and row.

use des::Des;
use des::cipher::generic_array::GenericArray;
use des::cipher::{BlockEncrypt, KeyInit};
use md5::{Digest, Md5};

use crate::unicode_loose::LooseKeys;

/// The vindexes reshard computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VindexKind {
    /// `hash`.
    Hash,
    /// `xxhash`.
    Xxhash,
    /// `numeric`.
    Numeric,
    /// `reverse_bits`.
    ReverseBits,
    /// `binary`.
    Binary,
    /// `binary_md5`.
    BinaryMd5,
    /// `unicode_loose_xxhash`.
    UnicodeLooseXxhash,
    /// `unicode_loose_md5`.
    UnicodeLooseMd5,
}

impl VindexKind {
    /// Every vindex reshard computes, in the order help texts list them.
    pub const ALL: [VindexKind; 8] = [
        VindexKind::Hash,
        VindexKind::Xxhash,
        VindexKind::Numeric,
        VindexKind::ReverseBits,
        VindexKind::Binary,
        VindexKind::BinaryMd5,
        VindexKind::UnicodeLooseXxhash,
        VindexKind::UnicodeLooseMd5,
    ];

    /// The vindex called `name` in a VSchema, or `None`.
    pub fn from_name(name: &str) -> Option<VindexKind> {
        Some(match name {
            "hash" => VindexKind::Hash,
            "xxhash" => VindexKind::Xxhash,
            "numeric" => VindexKind::Numeric,
            "reverse_bits" => VindexKind::ReverseBits,
            "binary" => VindexKind::Binary,
            "binary_md5" => VindexKind::BinaryMd5,
            "unicode_loose_xxhash" => VindexKind::UnicodeLooseXxhash,
            "unicode_loose_md5" => VindexKind::UnicodeLooseMd5,
            _ => return None,
        })
    }

    /// Whether it maps integers (`hash`, `numeric`, `reverse_bits`): a string is mapped only if it
    /// reads as one, so these belong on integer columns.
    pub fn maps_integers(self) -> bool {
        matches!(
            self,
            VindexKind::Hash | VindexKind::Numeric | VindexKind::ReverseBits
        )
    }

    /// Its VSchema name.
    pub fn name(self) -> &'static str {
        match self {
            VindexKind::Hash => "hash",
            VindexKind::Xxhash => "xxhash",
            VindexKind::Numeric => "numeric",
            VindexKind::ReverseBits => "reverse_bits",
            VindexKind::Binary => "binary",
            VindexKind::BinaryMd5 => "binary_md5",
            VindexKind::UnicodeLooseXxhash => "unicode_loose_xxhash",
            VindexKind::UnicodeLooseMd5 => "unicode_loose_md5",
        }
    }
}

/// One value of a sharding column, as a vindex sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VindexValue<'a> {
    /// SQL NULL.
    Null,
    /// A signed integer column's value.
    Int(i64),
    /// An unsigned integer column's value.
    UInt(u64),
    /// Any other value as MySQL's text form (strings: their bytes).
    Bytes(&'a [u8]),
}

/// Why a value has no keyspace id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unmappable {
    /// NULL, for a vindex that cannot map it.
    #[error("NULL cannot be mapped by the {0} vindex")]
    Null(&'static str),
    /// Text that is not an integer, for a numeric vindex.
    #[error("the {0} vindex needs an integer, and this value is not one")]
    NotAnInteger(&'static str),
    /// Bytes that are not UTF-8, for a `unicode_loose` vindex.
    #[error("the {0} vindex needs UTF-8 text, and this value is not valid UTF-8")]
    InvalidUtf8(&'static str),
}

/// The keyspace id of `value` under `kind`, appended to `out` (which is cleared first).
pub fn keyspace_id(
    kind: VindexKind,
    value: VindexValue<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Unmappable> {
    out.clear();
    match kind {
        VindexKind::Hash => out.extend_from_slice(&hash_u64(as_u64(kind, value)?)),
        VindexKind::Numeric => out.extend_from_slice(&as_u64(kind, value)?.to_be_bytes()),
        VindexKind::ReverseBits => {
            out.extend_from_slice(&as_u64(kind, value)?.reverse_bits().to_be_bytes());
        }
        VindexKind::Xxhash => {
            let mut text = itoa::Buffer::new();
            // NULL hashes as the empty string.
            let bytes = text_bytes(value, &mut text).unwrap_or(b"");
            out.extend_from_slice(&xxhash_bytes(bytes));
        }
        VindexKind::Binary | VindexKind::BinaryMd5 => {
            let mut text = itoa::Buffer::new();
            let bytes =
                text_bytes(value, &mut text).ok_or_else(|| Unmappable::Null(kind.name()))?;
            if kind == VindexKind::Binary {
                out.extend_from_slice(bytes);
            } else {
                out.extend_from_slice(&Md5::digest(bytes));
            }
        }
        VindexKind::UnicodeLooseXxhash | VindexKind::UnicodeLooseMd5 => {
            let mut text = itoa::Buffer::new();
            // NULL keys as the empty string.
            let bytes = text_bytes(value, &mut text).unwrap_or(b"");
            let mut keys = LooseKeys::new();
            let key = keys
                .key(bytes)
                .map_err(|_| Unmappable::InvalidUtf8(kind.name()))?;
            if kind == VindexKind::UnicodeLooseXxhash {
                out.extend_from_slice(&xxhash_bytes(key));
            } else {
                out.extend_from_slice(&Md5::digest(key));
            }
        }
    }
    Ok(())
}

/// The bytes the text-based vindexes hash: an integer's decimal text (written into `text`), a
/// string's bytes; `None` for NULL.
fn text_bytes<'a>(value: VindexValue<'a>, text: &'a mut itoa::Buffer) -> Option<&'a [u8]> {
    match value {
        VindexValue::Null => None,
        VindexValue::Int(i) => Some(text.format(i).as_bytes()),
        VindexValue::UInt(u) => Some(text.format(u).as_bytes()),
        VindexValue::Bytes(b) => Some(b),
    }
}

/// `hash` of an integer: DES with an all-zero key over its big-endian bytes.
pub fn hash_u64(value: u64) -> [u8; 8] {
    des_encrypt(&hash_cipher(), value).to_be_bytes()
}

/// The DES cipher of `hash`: an all-zero key. Build it once per batch (its key schedule costs
/// more than one block).
pub(crate) fn hash_cipher() -> Des {
    Des::new(&GenericArray::from([0u8; 8]))
}

/// `hash`'s id of `value` as a big-endian u64: DES of its big-endian bytes.
#[inline]
pub(crate) fn des_encrypt(cipher: &Des, value: u64) -> u64 {
    let mut block = GenericArray::from(value.to_be_bytes());
    cipher.encrypt_block(&mut block);
    u64::from_be_bytes(block.into())
}

/// `xxhash` of a value's text bytes: XXH64, seed 0, little-endian.
pub fn xxhash_bytes(bytes: &[u8]) -> [u8; 8] {
    xxhash_rust::xxh64::xxh64(bytes, 0).to_le_bytes()
}

/// A value as the u64 the numeric vindexes work on (Vitess's cast: signed bit for bit).
fn as_u64(kind: VindexKind, value: VindexValue<'_>) -> Result<u64, Unmappable> {
    match value {
        VindexValue::Null => Err(Unmappable::Null(kind.name())),
        #[allow(clippy::cast_sign_loss)] // Vitess's uint64(ival): the bits as they are
        VindexValue::Int(i) => Ok(i as u64),
        VindexValue::UInt(u) => Ok(u),
        VindexValue::Bytes(b) => text_as_u64(kind, b),
    }
}

/// Text as the u64 the numeric vindexes work on: an unsigned decimal, else a signed one taken
/// bit for bit.
pub(crate) fn text_as_u64(kind: VindexKind, text: &[u8]) -> Result<u64, Unmappable> {
    let text = std::str::from_utf8(text).map_err(|_| Unmappable::NotAnInteger(kind.name()))?;
    if let Ok(u) = text.parse::<u64>() {
        return Ok(u);
    }
    #[allow(clippy::cast_sign_loss)]
    text.parse::<i64>()
        .map(|i| i as u64)
        .map_err(|_| Unmappable::NotAnInteger(kind.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ksid(kind: VindexKind, value: VindexValue<'_>) -> String {
        let mut out = Vec::new();
        keyspace_id(kind, value, &mut out).unwrap();
        out.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hash_matches_vitess_vectors() {
        for (v, want) in [
            (1, "166b40b44aba4bd6"),
            (2, "06e7ea22ce92708f"),
            (3, "4eb190c9a2fa169c"),
            (4, "d2fd8867d50d2dfe"),
            (5, "70bb023c810ca87a"),
            (6, "f098480ac4c4be71"),
            (29999, "fcd63e56d3374d88"),
            (397, "5584fa738baaf516"),
            (-1, "355550b2150e2451"),
        ] {
            assert_eq!(ksid(VindexKind::Hash, VindexValue::Int(v)), want, "{v}");
        }
        // Text is parsed; an unsigned value is taken as it is.
        assert_eq!(
            ksid(VindexKind::Hash, VindexValue::Bytes(b"29999")),
            "fcd63e56d3374d88"
        );
        assert_eq!(
            ksid(VindexKind::Hash, VindexValue::UInt(u64::MAX)),
            "355550b2150e2451"
        );
    }

    #[test]
    fn xxhash_matches_vitess_vectors() {
        for (v, want) in [
            (&b"test1"[..], "d01ab7e4d6978f0b"),
            (b"test2", "87eb11714c0a0e89"),
            (b"testaverylongvaluetomakesurethisworks", "81d8c38e0d850e6a"),
        ] {
            assert_eq!(ksid(VindexKind::Xxhash, VindexValue::Bytes(v)), want);
        }
        assert_eq!(
            ksid(VindexKind::Xxhash, VindexValue::Int(1)),
            "d46405367612b4b7"
        );
        assert_eq!(
            ksid(VindexKind::Xxhash, VindexValue::Null),
            "99e9d85137db46ef"
        );
        assert_eq!(
            ksid(VindexKind::Xxhash, VindexValue::Int(-1)),
            "d8e2a6a7c8c7623d"
        );
        assert_eq!(
            ksid(VindexKind::Xxhash, VindexValue::UInt(u64::MAX)),
            "477cfa8d6d8f1f8d"
        );
        assert_eq!(
            ksid(VindexKind::Xxhash, VindexValue::Int(i64::MAX)),
            "b37eb01f7bffafd8"
        );
        assert_eq!(
            ksid(VindexKind::Xxhash, VindexValue::UInt(i64::MAX as u64)),
            "b37eb01f7bffafd8"
        );
        assert_eq!(
            ksid(VindexKind::Xxhash, VindexValue::Int(i64::MIN)),
            "102c27ddb26a609e"
        );
    }

    #[test]
    fn numeric_reverse_bits_binary_and_md5_match_vitess() {
        assert_eq!(
            ksid(VindexKind::Numeric, VindexValue::Int(1)),
            "0000000000000001"
        );
        assert_eq!(
            ksid(VindexKind::Numeric, VindexValue::Int(-1)),
            "ffffffffffffffff"
        );
        for (v, want) in [
            (1, "8000000000000000"),
            (2, "4000000000000000"),
            (3, "c000000000000000"),
            (5, "a000000000000000"),
            (6, "6000000000000000"),
        ] {
            assert_eq!(ksid(VindexKind::ReverseBits, VindexValue::UInt(v)), want);
        }
        assert_eq!(
            ksid(VindexKind::Binary, VindexValue::Bytes(b"\x00ab")),
            "006162"
        );
        assert_eq!(
            ksid(VindexKind::BinaryMd5, VindexValue::Bytes(b"heythere")),
            "d9e62c0ad204fe91658ecc758049e515"
        );
    }

    #[test]
    fn unicode_loose_matches_vitess_vectors() {
        let loose = VindexKind::UnicodeLooseXxhash;
        for text in ["Test", "TEst", "Te\u{301}st", "Tést", "Test "] {
            assert_eq!(
                ksid(loose, VindexValue::Bytes(text.as_bytes())),
                "42d21361087a4c07",
                "{text:?}"
            );
        }
        for (text, want) in [
            ("Bést", "926975b9ce2ec316"),
            (" Test", "4fcb8be34ec05775"),
            ("Test\t", "20af87fc36e3fd51"),
            ("T", "f81c3be2d501fe18"),
        ] {
            assert_eq!(
                ksid(loose, VindexValue::Bytes(text.as_bytes())),
                want,
                "{text:?}"
            );
        }
        assert_eq!(ksid(loose, VindexValue::Null), "99e9d85137db46ef");
        // Integers key as their decimal text.
        assert_eq!(
            ksid(loose, VindexValue::Int(-12)),
            ksid(loose, VindexValue::Bytes(b"-12"))
        );
        // unicode_loose_md5: MD5 of the same key (`T`: primary 0x1816).
        assert_eq!(
            ksid(VindexKind::UnicodeLooseMd5, VindexValue::Bytes(b"t ")),
            format!("{:x}", Md5::digest([0x18, 0x16]))
        );
        let mut out = Vec::new();
        assert_eq!(
            keyspace_id(loose, VindexValue::Bytes(b"\xff"), &mut out),
            Err(Unmappable::InvalidUtf8("unicode_loose_xxhash"))
        );
    }

    #[test]
    fn unmappable_values_are_errors() {
        let mut out = Vec::new();
        for kind in [VindexKind::Hash, VindexKind::Numeric, VindexKind::Binary] {
            assert_eq!(
                keyspace_id(kind, VindexValue::Null, &mut out),
                Err(Unmappable::Null(kind.name()))
            );
        }
        assert_eq!(
            keyspace_id(VindexKind::Numeric, VindexValue::Bytes(b"12a"), &mut out),
            Err(Unmappable::NotAnInteger("numeric"))
        );
        for kind in VindexKind::ALL {
            assert_eq!(VindexKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(VindexKind::from_name("lookup"), None);
    }
}
