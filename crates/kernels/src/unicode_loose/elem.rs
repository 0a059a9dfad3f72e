//! x/text's collation element: one `u32` whose top bits say how to read the rest
//! (`internal/colltab/collelem.go`). Only what a level-1 key needs is here: the kind of element,
//! its primary weight, its canonical combining class, and the tertiary update of decomposed
//! characters (kept because, for odd secondaries, it can change the primary bits, and x/text's
//! keys carry that).

/// A collation element as x/text stores it.
pub(super) type Elem = u32;

/// What an element from the code-point table stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A weight (0 in the table: the code point is not there; its weight is implicit).
    Normal,
    /// The first code point of a contraction.
    Contraction,
    /// An index into the expansions.
    Expansion,
    /// Collates as its compatibility decomposition, with changed tertiary weights.
    Decompose,
}

const MAX_CE: Elem = 0xAFFF_FFFF;
const MAX_CONTRACT: Elem = 0xDFFF_FFFF;
const MAX_EXPAND: Elem = 0xEFFF_FFFF;

const CE_TYPE_MASK: Elem = 0xC000_0000;
const CE_TYPE_MASK_EXT: Elem = 0xE000_0000;
const CE_TYPE1: Elem = 0x4000_0000;
const CE_TYPE3_OR_4: Elem = 0x8000_0000;
const CE_TYPE4: Elem = 0xA000_0000;
const FIRST_NON_PRIMARY: Elem = 0x8000_0000;
const LAST_SPECIAL_PRIMARY: Elem = 0xA000_0000;
const PRIMARY_VALUE_MASK: Elem = 0x3FFF_FE00;
const PRIMARY_SHIFT: u32 = 9;
const COMPACT_SECONDARY_SHIFT: u32 = 5;
const DEFAULT_SECONDARY: Elem = 0x20;
const MIN_COMPACT_SECONDARY: u8 = 0x20 - 4;
/// The tertiary weight of every element after the second of a decomposition.
pub(super) const MAX_TERTIARY: u8 = 0x1F;

pub(super) fn kind(ce: Elem) -> Kind {
    if ce <= MAX_CE {
        Kind::Normal
    } else if ce <= MAX_CONTRACT {
        Kind::Contraction
    } else if ce <= MAX_EXPAND {
        Kind::Expansion
    } else {
        Kind::Decompose
    }
}

/// The level-1 weight (0: none).
#[inline]
pub(super) fn primary(ce: Elem) -> u32 {
    if ce >= FIRST_NON_PRIMARY {
        if ce > LAST_SPECIAL_PRIMARY {
            0
        } else {
            ce & 0xFFFF
        }
    } else {
        (ce & PRIMARY_VALUE_MASK) >> PRIMARY_SHIFT
    }
}

/// The canonical combining class the element carries.
#[inline]
pub(super) fn ccc(ce: Elem) -> u8 {
    if ce & CE_TYPE3_OR_4 != 0 {
        let shift = if ce & CE_TYPE4 == CE_TYPE3_OR_4 {
            16
        } else {
            20
        };
        // The class is the byte at `shift`.
        #[allow(clippy::cast_possible_truncation)]
        return (ce >> shift) as u8;
    }
    0
}

/// The element of a code point the table lacks: its implicit primary, default secondary.
pub(super) fn implicit(primary: u32) -> Elem {
    CE_TYPE1 | (primary << PRIMARY_SHIFT) | DEFAULT_SECONDARY
}

/// x/text's `updateTertiary`, bit for bit (including its wrapping byte arithmetic).
pub(super) fn update_tertiary(ce: Elem, tertiary: u8) -> Elem {
    let updated = if ce & CE_TYPE_MASK == CE_TYPE1 {
        #[allow(clippy::cast_possible_truncation)]
        let secondary = (ce as u8).wrapping_sub(MIN_COMPACT_SECONDARY);
        (ce & PRIMARY_VALUE_MASK) | (Elem::from(secondary) << COMPACT_SECONDARY_SHIFT)
    } else if ce & CE_TYPE_MASK_EXT == CE_TYPE3_OR_4 {
        return (ce & !(Elem::from(MAX_TERTIARY) << 24)) | (Elem::from(tertiary) << 24);
    } else {
        ce & !Elem::from(MAX_TERTIARY)
    };
    updated | Elem::from(tertiary)
}

/// A contraction element's trie index, number of first states and element offset.
pub(super) fn split_contract_index(ce: Elem) -> (usize, usize, usize) {
    let n = ce & 0xF;
    let index = (ce >> 4) & 0xFFF;
    let offset = (ce >> 16) & 0x1FFF;
    (index as usize, n as usize, offset as usize)
}

/// An expansion element's index into the expansions.
pub(super) fn expand_index(ce: Elem) -> usize {
    (ce & 0xFFFF) as usize
}

/// A decomposition element's tertiary weights for its first and second elements.
pub(super) fn split_decompose(ce: Elem) -> (u8, u8) {
    let [t1, t2, _, _] = ce.to_le_bytes();
    (t1, t2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_layouts_x_text_documents() {
        // 'T' in the root table: a type-2 element (non-default tertiary), primary 0x1816.
        assert_eq!(kind(0x0030_2C88), Kind::Normal);
        assert_eq!(primary(0x0030_2C88), 0x1816);
        // 'a': a type-1 element, primary 0x15EF.
        assert_eq!(primary(0x402B_DE20), 0x15EF);
        assert_eq!(ccc(0x402B_DE20), 0);
        // A control character: ignorable.
        assert_eq!(primary(0xA000_0000), 0);
        // A type-3 element: primary in the low 16 bits, class in bits 16..24.
        assert_eq!(primary(0x80E6_1234), 0x1234);
        assert_eq!(ccc(0x80E6_1234), 0xE6);
        // A type-4 element (no primary): class in bits 20..28.
        assert_eq!(primary(0xAE60_4702), 0);
        assert_eq!(ccc(0xAE60_4702), 0xE6);
        assert_eq!(kind(0xC003_0002), Kind::Contraction);
        assert_eq!(split_contract_index(0xC003_0002), (0, 2, 3));
        assert_eq!(kind(0xE000_0123), Kind::Expansion);
        assert_eq!(expand_index(0xE000_0123), 0x123);
        assert_eq!(kind(0xF000_1F02), Kind::Decompose);
        assert_eq!(split_decompose(0xF000_1F02), (0x02, 0x1F));
        assert_eq!(primary(implicit(0x5_0041)), 0x5_0041);
    }

    #[test]
    fn a_tertiary_update_keeps_the_primary_of_a_default_secondary() {
        let a = 0x402B_DE20;
        let updated = update_tertiary(a, 0x1F);
        assert_eq!(primary(updated), primary(a));
        assert_eq!(updated & 0x1F, 0x1F);
        // Type 3 keeps primary and class, and writes the tertiary at bit 24.
        let updated = update_tertiary(0x80E6_1234, 0x05);
        assert_eq!((primary(updated), ccc(updated)), (0x1234, 0xE6));
        assert_eq!(updated >> 24 & 0x1F, 0x05);
    }
}
