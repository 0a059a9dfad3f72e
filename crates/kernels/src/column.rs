//! The target of every row of a batch, from its sharding column, a whole column at a time.
//!
//! [`route_column`] branches once per batch on the column's Arrow type and the vindex, then
//! runs one monomorphized loop over the rows: compute the keyspace id (on the stack, no
//! allocation), look up its target ([`Router`]), store it. Batches of at least
//! [`PARALLEL_ROWS`] rows are cut into blocks routed on rayon's pool. The results are the same
//! as [`crate::vindex::keyspace_id`] row by row (the tests and the property test check it).
//!
//! Sharding columns are integers (signed or unsigned, any width) or strings (`Utf8`, `Binary`);
//! a column of any other type is refused when the plan is made, and here again.

use std::cell::RefCell;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType, GenericByteArray, PrimitiveArray};
use arrow_buffer::{ArrowNativeType, NullBuffer};
use arrow_schema::DataType;
use md5::{Digest, Md5};
use rayon::prelude::*;

use crate::route::Router;
use crate::unicode_loose::LooseKeys;
use crate::vindex::{Unmappable, VindexKind, des_encrypt, hash_cipher, text_as_u64};

/// Batches with at least this many rows are routed in parallel blocks of this size.
///
/// Below it, handing work to the pool costs more than it saves: at 20M+ rows/s a block of 16K
/// rows takes under a millisecond on one core.
pub const PARALLEL_ROWS: usize = 1 << 14;

/// Why a batch could not be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// A row's value has no keyspace id under the vindex.
    #[error("row {row} of the batch: {reason}")]
    Unmappable {
        /// The row's index in the batch (the caller names its primary key).
        row: usize,
        /// Why.
        reason: Unmappable,
    },
    /// The column's type cannot be a sharding column.
    #[error(
        "a column of Arrow type {0} cannot be a sharding column; shard by an integer or string column"
    )]
    UnsupportedType(DataType),
}

/// Whether a column of `data_type` can be routed.
pub fn is_routable(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Binary
            | DataType::LargeBinary
    )
}

/// Sets `targets` to the target of each row of `column` under `vindex` and `router`
/// (`targets[i]` for row `i`). The buffer is reused: pass the same one batch after batch.
pub fn route_column(
    vindex: VindexKind,
    column: &dyn Array,
    router: &Router,
    targets: &mut Vec<u32>,
) -> Result<(), RouteError> {
    targets.clear();
    targets.resize(column.len(), 0);
    if router.targets() == 1 && vindex == VindexKind::Xxhash {
        // Every id maps, and to the one target.
        return Ok(());
    }
    match column.data_type() {
        DataType::Int8 => signed::<Int8Type>(vindex, column, router, targets),
        DataType::Int16 => signed::<Int16Type>(vindex, column, router, targets),
        DataType::Int32 => signed::<Int32Type>(vindex, column, router, targets),
        DataType::Int64 => signed::<Int64Type>(vindex, column, router, targets),
        DataType::UInt8 => unsigned::<UInt8Type>(vindex, column, router, targets),
        DataType::UInt16 => unsigned::<UInt16Type>(vindex, column, router, targets),
        DataType::UInt32 => unsigned::<UInt32Type>(vindex, column, router, targets),
        DataType::UInt64 => unsigned::<UInt64Type>(vindex, column, router, targets),
        DataType::Utf8 => bytes(vindex, column.as_string::<i32>(), router, targets),
        DataType::LargeUtf8 => bytes(vindex, column.as_string::<i64>(), router, targets),
        DataType::Binary => bytes(vindex, column.as_binary::<i32>(), router, targets),
        DataType::LargeBinary => bytes(vindex, column.as_binary::<i64>(), router, targets),
        other => Err(RouteError::UnsupportedType(other.clone())),
    }
}

fn signed<T>(
    vindex: VindexKind,
    column: &dyn Array,
    router: &Router,
    targets: &mut [u32],
) -> Result<(), RouteError>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i64> + itoa::Integer,
{
    let array: &PrimitiveArray<T> = column.as_primitive();
    // Vitess casts a signed value to u64 bit for bit (-1 is u64::MAX).
    #[allow(clippy::cast_sign_loss)]
    let as_u64 = |v: T::Native| v.into() as u64;
    integers(
        vindex,
        array.values(),
        array.nulls(),
        router,
        targets,
        as_u64,
    )
}

fn unsigned<T>(
    vindex: VindexKind,
    column: &dyn Array,
    router: &Router,
    targets: &mut [u32],
) -> Result<(), RouteError>
where
    T: ArrowPrimitiveType,
    T::Native: Into<u64> + itoa::Integer,
{
    let array: &PrimitiveArray<T> = column.as_primitive();
    integers(
        vindex,
        array.values(),
        array.nulls(),
        router,
        targets,
        Into::into,
    )
}

/// Routes an integer column: `as_u64` is Vitess's cast of a value to u64; `xxhash` and the byte
/// vindexes work on its decimal text.
fn integers<N, C>(
    vindex: VindexKind,
    values: &[N],
    nulls: Option<&NullBuffer>,
    router: &Router,
    targets: &mut [u32],
    as_u64: C,
) -> Result<(), RouteError>
where
    N: itoa::Integer + Copy + Sync,
    C: Fn(N) -> u64 + Sync,
{
    let is_null = |i: usize| nulls.is_some_and(|n| n.is_null(i));
    match vindex {
        VindexKind::Numeric => fill(targets, |i| {
            not_null(vindex, is_null(i))?;
            Ok(router.target_of_u64(as_u64(values[i])))
        }),
        VindexKind::ReverseBits => fill(targets, |i| {
            not_null(vindex, is_null(i))?;
            Ok(router.target_of_u64(as_u64(values[i]).reverse_bits()))
        }),
        VindexKind::Hash => {
            let cipher = hash_cipher();
            fill(targets, |i| {
                not_null(vindex, is_null(i))?;
                Ok(router.target_of_u64(des_encrypt(&cipher, as_u64(values[i]))))
            })
        }
        VindexKind::Xxhash => fill(targets, |i| {
            let id = if is_null(i) {
                xxhash_u64(b"")
            } else {
                xxhash_u64(itoa::Buffer::new().format(values[i]).as_bytes())
            };
            Ok(router.target_of_u64(id))
        }),
        VindexKind::Binary => fill(targets, |i| {
            not_null(vindex, is_null(i))?;
            Ok(router.target_of_bytes(itoa::Buffer::new().format(values[i]).as_bytes()))
        }),
        VindexKind::BinaryMd5 => fill(targets, |i| {
            not_null(vindex, is_null(i))?;
            let digest = Md5::digest(itoa::Buffer::new().format(values[i]).as_bytes());
            Ok(router.target_of_bytes(&digest))
        }),
        VindexKind::UnicodeLooseXxhash | VindexKind::UnicodeLooseMd5 => fill(targets, |i| {
            let mut text = itoa::Buffer::new();
            let bytes = if is_null(i) {
                b""
            } else {
                text.format(values[i]).as_bytes()
            };
            unicode_loose_target(vindex, bytes, router)
        }),
    }
}

/// Routes a string or binary column by its bytes.
fn bytes<T: arrow_array::types::ByteArrayType>(
    vindex: VindexKind,
    array: &GenericByteArray<T>,
    router: &Router,
    targets: &mut [u32],
) -> Result<(), RouteError> {
    let offsets = array.value_offsets();
    let data = array.value_data();
    let nulls = array.nulls();
    let is_null = |i: usize| nulls.is_some_and(|n| n.is_null(i));
    let value = |i: usize| -> &[u8] {
        let start = offsets[i].as_usize();
        let end = offsets[i + 1].as_usize();
        &data[start..end]
    };
    match vindex {
        VindexKind::Xxhash => fill(targets, |i| {
            let id = if is_null(i) {
                xxhash_u64(b"")
            } else {
                xxhash_u64(value(i))
            };
            Ok(router.target_of_u64(id))
        }),
        VindexKind::Binary => fill(targets, |i| {
            not_null(vindex, is_null(i))?;
            Ok(router.target_of_bytes(value(i)))
        }),
        VindexKind::BinaryMd5 => fill(targets, |i| {
            not_null(vindex, is_null(i))?;
            Ok(router.target_of_bytes(&Md5::digest(value(i))))
        }),
        VindexKind::UnicodeLooseXxhash | VindexKind::UnicodeLooseMd5 => fill(targets, |i| {
            let bytes = if is_null(i) { b"" } else { value(i) };
            unicode_loose_target(vindex, bytes, router)
        }),
        VindexKind::Numeric | VindexKind::ReverseBits | VindexKind::Hash => {
            let cipher = hash_cipher();
            fill(targets, |i| {
                not_null(vindex, is_null(i))?;
                let number = text_as_u64(vindex, value(i))?;
                let id = match vindex {
                    VindexKind::Numeric => number,
                    VindexKind::ReverseBits => number.reverse_bits(),
                    _ => des_encrypt(&cipher, number),
                };
                Ok(router.target_of_u64(id))
            })
        }
    }
}

/// Fills `targets[i]` with `target_of(i)`, in parallel blocks when there are many rows. The
/// first failing row (lowest index) is reported.
fn fill<F>(targets: &mut [u32], target_of: F) -> Result<(), RouteError>
where
    F: Fn(usize) -> Result<u32, Unmappable> + Sync,
{
    let block = |offset: usize, out: &mut [u32]| -> Result<(), RouteError> {
        for (j, slot) in out.iter_mut().enumerate() {
            let row = offset + j;
            *slot = target_of(row).map_err(|reason| RouteError::Unmappable { row, reason })?;
        }
        Ok(())
    };
    if targets.len() < PARALLEL_ROWS {
        return block(0, targets);
    }
    let failures: Vec<RouteError> = targets
        .par_chunks_mut(PARALLEL_ROWS)
        .enumerate()
        .filter_map(|(b, out)| block(b * PARALLEL_ROWS, out).err())
        .collect();
    // Blocks are collected in order, so the first is the lowest row.
    failures.into_iter().next().map_or(Ok(()), Err)
}

fn not_null(vindex: VindexKind, is_null: bool) -> Result<(), Unmappable> {
    if is_null {
        Err(Unmappable::Null(vindex.name()))
    } else {
        Ok(())
    }
}

thread_local! {
    /// Each routing thread's key buffers for the `unicode_loose` vindexes.
    static LOOSE_KEYS: RefCell<LooseKeys> = RefCell::new(LooseKeys::new());
}

/// The target of `bytes` under a `unicode_loose` vindex: its loose collation key (in this
/// thread's reused buffers), hashed.
fn unicode_loose_target(
    vindex: VindexKind,
    bytes: &[u8],
    router: &Router,
) -> Result<u32, Unmappable> {
    LOOSE_KEYS.with_borrow_mut(|keys| {
        let key = keys
            .key(bytes)
            .map_err(|_| Unmappable::InvalidUtf8(vindex.name()))?;
        Ok(if vindex == VindexKind::UnicodeLooseXxhash {
            router.target_of_u64(xxhash_u64(key))
        } else {
            router.target_of_bytes(&Md5::digest(key))
        })
    })
}

/// `xxhash`'s id as a u64: its little-endian output bytes read big-endian.
#[inline]
fn xxhash_u64(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(bytes, 0).swap_bytes()
}
