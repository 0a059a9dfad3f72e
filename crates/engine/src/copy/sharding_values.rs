//! Before anything is written: does every source row's sharding value have a keyspace id?
//!
//! Some vindexes cannot map every value a column can hold: NULL under `hash`, `numeric`,
//! `reverse_bits`, `binary` and `binary_md5`, and text that is not an integer under the integer
//! vindexes (Vitess parses a string column's values for those). The copy would stop at the first
//! such row, after the targets were created or emptied. So setup asks each source for rows that
//! could hold such a value (a read-only scan, with the condition evaluated by the server), and
//! checks each candidate with the scalar reference vindex: a value it cannot map refuses the
//! table. Only columns that can hold such a value are scanned (a nullable column under a vindex
//! that refuses NULL, a string column under an integer vindex).
//!
//! A move can still meet such a value later, in a change: the applier stops then, naming the row.

use reshard_kernels::vindex::{VindexKind, VindexValue, keyspace_id};
use reshard_mysql::Session;
use reshard_mysql::tables::{ValueSuspects, unmappable_candidates};
use reshard_types::{ColumnType, Dsn, RowKey, TableSchema};

use super::in_database;
use crate::error::CopyError;

/// Candidates fetched per source at most: the first that does not map is reported.
const CANDIDATES: u32 = 100;

/// The values of `column` the vindex may fail on, by the column's type and nullability.
fn suspects(schema: &TableSchema, column: usize, vindex: VindexKind) -> ValueSuspects {
    let def = &schema.columns[column];
    let mut probe = Vec::new();
    let maps_null = keyspace_id(vindex, VindexValue::Null, &mut probe).is_ok();
    ValueSuspects {
        nulls: def.nullable && !maps_null,
        not_integers: vindex.maps_integers() && !matches!(def.ty, ColumnType::Int { .. }),
    }
}

/// The problem to report if a row of `schema` on any of `sources` has a sharding value `vindex`
/// cannot map; `None` when every row's value maps.
pub(super) async fn unmappable_value(
    sources: &mut [Session],
    dsns: &[Dsn],
    schema: &TableSchema,
    key: &RowKey,
    column: usize,
    vindex: VindexKind,
) -> Result<Option<String>, CopyError> {
    let wanted = suspects(schema, column, vindex);
    if !wanted.nulls && !wanted.not_integers {
        return Ok(None);
    }
    let mut id = Vec::new();
    for (i, (session, dsn)) in sources.iter_mut().zip(dsns).enumerate() {
        let table = in_database(schema, dsn);
        let candidates =
            unmappable_candidates(session, &table, key, column, wanted, CANDIDATES).await?;
        for (row, value) in candidates {
            let as_seen = value
                .as_deref()
                .map_or(VindexValue::Null, VindexValue::Bytes);
            if let Err(reason) = keyspace_id(vindex, as_seen, &mut id) {
                let shown = value.as_deref().map_or_else(
                    || String::from("NULL"),
                    |v| format!("'{}'", String::from_utf8_lossy(v)),
                );
                return Ok(Some(format!(
                    "table {}, sharding column `{}`: the row with {row} on source {} ({dsn}) holds {shown}: {reason}. \
                     Nothing was written; change that value, or shard the table by another column or vindex",
                    table.qualified_name(),
                    schema.columns[column].name,
                    i + 1,
                )));
            }
        }
    }
    Ok(None)
}
