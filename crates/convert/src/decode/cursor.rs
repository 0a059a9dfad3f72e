//! A bounds-checked cursor over one packet's bytes: every read either succeeds inside the packet
//! or returns [`Truncated`], so arbitrary input can never read out of bounds or panic.

/// The packet ended before the value did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Truncated;

pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The next `n` bytes.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let end = self.pos.checked_add(n).ok_or(Truncated)?;
        let slice = self.bytes.get(self.pos..end).ok_or(Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    /// The next `N` bytes as an array.
    #[inline]
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Truncated> {
        let slice = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.array::<1>()?[0])
    }

    /// A length-encoded integer. `None` inside `Ok` for the NULL marker `0xFB`, which the
    /// binary protocol never sends for a value (NULLs are in the bitmap).
    #[inline]
    pub(crate) fn lenenc(&mut self) -> Result<Option<u64>, Truncated> {
        let first = self.u8()?;
        Ok(match first {
            0..=0xFA => Some(u64::from(first)),
            0xFC => Some(u64::from(u16::from_le_bytes(self.array()?))),
            0xFD => {
                let [a, b, c] = self.array()?;
                Some(u64::from_le_bytes([a, b, c, 0, 0, 0, 0, 0]))
            }
            0xFE => Some(u64::from_le_bytes(self.array()?)),
            0xFB | 0xFF => None,
        })
    }

    /// A length-encoded byte string.
    #[inline]
    pub(crate) fn lenenc_bytes(&mut self) -> Result<Option<&'a [u8]>, Truncated> {
        match self.lenenc()? {
            Some(len) => {
                let len = usize::try_from(len).map_err(|_| Truncated)?;
                self.take(len).map(Some)
            }
            None => Ok(None),
        }
    }
}
