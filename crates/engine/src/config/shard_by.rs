//! `--shard-by TABLE=COLUMN:VINDEX`, and vindexes by name.

use reshard_kernels::vindex::VindexKind;

use crate::topology::{TableRule, TopologyError};

/// Parses `TABLE=COLUMN:VINDEX` (`--shard-by orders=customer_id:hash`).
pub fn parse_shard_by(text: &str) -> Result<(String, TableRule), TopologyError> {
    let bad = |why: &str| {
        TopologyError(format!(
            "--shard-by '{text}': {why}; write TABLE=COLUMN:VINDEX, e.g. orders=customer_id:hash"
        ))
    };
    let (table, rest) = text.split_once('=').ok_or_else(|| bad("there is no '='"))?;
    let (column, vindex) = rest
        .rsplit_once(':')
        .ok_or_else(|| bad("there is no ':' before the vindex"))?;
    let (table, column, vindex) = (table.trim(), column.trim(), vindex.trim());
    if table.is_empty() || column.is_empty() || vindex.is_empty() {
        return Err(bad(
            "the table, the column and the vindex must each be given",
        ));
    }
    let vindex = vindex_named(vindex, &format!("--shard-by '{text}'"))?;
    Ok((
        table.to_owned(),
        TableRule::Shard {
            column: column.to_owned(),
            vindex,
        },
    ))
}

/// The vindex called `name`, or an error listing the ones reshard has.
pub fn vindex_named(name: &str, context: &str) -> Result<VindexKind, TopologyError> {
    VindexKind::from_name(name).ok_or_else(|| {
        let why = if UNSUPPORTED_VITESS_VINDEXES.contains(&name) {
            "is a Vitess vindex reshard does not support yet"
        } else {
            "is not a vindex reshard knows"
        };
        let known: Vec<&str> = VindexKind::ALL.iter().map(|k| k.name()).collect();
        TopologyError(format!(
            "{context}: '{name}' {why}; use one of: {}",
            known.join(", ")
        ))
    })
}

/// Vitess vindex types that exist but that reshard cannot compute (lookups need their lookup
/// tables; the rest are not ported yet).
const UNSUPPORTED_VITESS_VINDEXES: &[&str] = &[
    "lookup",
    "lookup_unique",
    "lookup_hash",
    "lookup_hash_unique",
    "consistent_lookup",
    "consistent_lookup_unique",
    "numeric_static_map",
    "region_experimental",
    "region_json",
    "multicol",
    "cfc",
    "null",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_by_parses_and_refuses_clearly() {
        assert_eq!(
            parse_shard_by("orders=customer_id:hash").unwrap(),
            (
                String::from("orders"),
                TableRule::Shard {
                    column: String::from("customer_id"),
                    vindex: VindexKind::Hash
                }
            )
        );
        let unknown = parse_shard_by("orders=id:hsh").unwrap_err().0;
        assert!(unknown.contains("'hsh' is not a vindex"), "{unknown}");
        assert!(unknown.contains("xxhash"), "{unknown}");
        assert!(unknown.contains("unicode_loose_md5"), "{unknown}");
        assert_eq!(
            parse_shard_by("t=name:unicode_loose_xxhash").unwrap().1,
            TableRule::Shard {
                column: String::from("name"),
                vindex: VindexKind::UnicodeLooseXxhash
            }
        );
        let unsupported = parse_shard_by("t=name:lookup_unique").unwrap_err().0;
        assert!(
            unsupported.contains("does not support yet"),
            "{unsupported}"
        );
        for bad in ["orders", "orders=id", "=id:hash", "t=:hash"] {
            assert!(
                parse_shard_by(bad)
                    .unwrap_err()
                    .0
                    .contains("TABLE=COLUMN:VINDEX"),
                "{bad}"
            );
        }
    }
}
