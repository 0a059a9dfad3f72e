//! A Vitess VSchema (the keyspace's JSON, as `vtctldclient GetVSchema` prints it), read as is:
//! `vindexes` and `tables.*.column_vindexes`, whose first entry is the table's primary vindex;
//! `"type": "reference"` tables go to every target. Fields reshard does not use (`params`,
//! `owner`, `auto_increment`, `columns`, ...) are accepted and ignored. An unsharded VSchema
//! (`"sharded": false`) gives no rules.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::vindex_named;
use crate::topology::{TableRule, TopologyError};

#[derive(Debug, Deserialize)]
struct VSchema {
    #[serde(default)]
    sharded: bool,
    #[serde(default)]
    vindexes: BTreeMap<String, VindexDef>,
    #[serde(default)]
    tables: BTreeMap<String, TableDef>,
}

#[derive(Debug, Deserialize)]
struct VindexDef {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct TableDef {
    #[serde(default)]
    column_vindexes: Vec<ColumnVindex>,
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct ColumnVindex {
    #[serde(default)]
    column: Option<String>,
    #[serde(default)]
    columns: Vec<String>,
    name: String,
}

/// Reads the VSchema at `path` into per-table rules.
pub fn read(path: &Path) -> Result<BTreeMap<String, TableRule>, TopologyError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| TopologyError(format!("--vschema {}: cannot read it: {e}", path.display())))?;
    parse(&text).map_err(|e| TopologyError(format!("--vschema {}: {}", path.display(), e.0)))
}

/// Parses VSchema JSON into per-table rules.
pub fn parse(text: &str) -> Result<BTreeMap<String, TableRule>, TopologyError> {
    let vschema: VSchema = serde_json::from_str(text).map_err(|e| {
        TopologyError(format!(
            "not a Vitess VSchema ({e}); it must be JSON like {{\"sharded\": true, \"vindexes\": {{\"hash\": {{\"type\": \"hash\"}}}}, \"tables\": {{\"t\": {{\"column_vindexes\": [{{\"column\": \"id\", \"name\": \"hash\"}}]}}}}}}"
        ))
    })?;
    let mut rules = BTreeMap::new();
    if !vschema.sharded {
        return Ok(rules);
    }
    for (table, def) in &vschema.tables {
        match def.kind.as_str() {
            "reference" => {
                rules.insert(table.clone(), TableRule::Everywhere);
                continue;
            }
            "sequence" => continue,
            _ => {}
        }
        let Some(primary) = def.column_vindexes.first() else {
            return Err(TopologyError(format!(
                "table '{table}' of the sharded VSchema has no column_vindexes; give it a primary vindex (or make it a reference table)"
            )));
        };
        let column = match (&primary.column, primary.columns.as_slice()) {
            (Some(column), _) => column.clone(),
            (None, [column]) => column.clone(),
            (None, []) => {
                return Err(TopologyError(format!(
                    "the primary vindex of table '{table}' names no column"
                )));
            }
            (None, columns) => {
                return Err(TopologyError(format!(
                    "the primary vindex of table '{table}' spans {} columns ({}); reshard shards by one column",
                    columns.len(),
                    columns.join(", ")
                )));
            }
        };
        let def_of_vindex = vschema.vindexes.get(&primary.name).ok_or_else(|| {
            TopologyError(format!(
                "table '{table}' uses vindex '{}', which the VSchema's \"vindexes\" do not define",
                primary.name
            ))
        })?;
        let vindex = vindex_named(
            &def_of_vindex.kind,
            &format!("the primary vindex '{}' of table '{table}'", primary.name),
        )?;
        rules.insert(table.clone(), TableRule::Shard { column, vindex });
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use reshard_kernels::vindex::VindexKind;

    use super::*;

    const COMMERCE: &str = r#"{
      "sharded": true,
      "vindexes": {
        "hash": { "type": "hash" },
        "xx": { "type": "xxhash", "params": {} },
        "name_loose": { "type": "unicode_loose_md5" },
        "corder_keyspace_idx": { "type": "consistent_lookup_unique", "params": { "table": "x" }, "owner": "corder" }
      },
      "tables": {
        "customer": {
          "column_vindexes": [ { "column": "customer_id", "name": "hash" } ],
          "auto_increment": { "column": "customer_id", "sequence": "customer_seq" }
        },
        "corder": {
          "column_vindexes": [
            { "columns": ["sku"], "name": "xx" },
            { "column": "order_id", "name": "corder_keyspace_idx" }
          ]
        },
        "countries": { "type": "reference" },
        "customer_seq": { "type": "sequence" },
        "names": { "column_vindexes": [ { "column": "name", "name": "name_loose" } ] }
      }
    }"#;

    #[test]
    fn reads_a_vitess_vschema_as_is() {
        let rules = parse(COMMERCE).unwrap();
        assert_eq!(rules.len(), 4);
        assert_eq!(
            rules["names"],
            TableRule::Shard {
                column: String::from("name"),
                vindex: VindexKind::UnicodeLooseMd5
            }
        );
        assert_eq!(
            rules["customer"],
            TableRule::Shard {
                column: String::from("customer_id"),
                vindex: VindexKind::Hash
            }
        );
        // The first column vindex is the primary one; the lookup after it is not used.
        assert_eq!(
            rules["corder"],
            TableRule::Shard {
                column: String::from("sku"),
                vindex: VindexKind::Xxhash
            }
        );
        assert_eq!(rules["countries"], TableRule::Everywhere);
        assert!(
            parse(r#"{"sharded": false, "tables": {"t": {}}}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn malformed_vschemas_are_refused_with_the_reason() {
        for (text, says) in [
            ("{\"sharded\": true, \"tables\": [", "not a Vitess VSchema"),
            ("[1, 2]", "not a Vitess VSchema"),
            (
                r#"{"sharded": true, "tables": {"t": {}}}"#,
                "no column_vindexes",
            ),
            (
                r#"{"sharded": true, "tables": {"t": {"column_vindexes": [{"column": "id", "name": "h"}]}}}"#,
                "do not define",
            ),
            (
                r#"{"sharded": true, "vindexes": {"h": {"type": "lookup_hash"}}, "tables": {"t": {"column_vindexes": [{"column": "id", "name": "h"}]}}}"#,
                "does not support yet",
            ),
            (
                r#"{"sharded": true, "vindexes": {"h": {"type": "hash"}}, "tables": {"t": {"column_vindexes": [{"columns": ["a", "b"], "name": "h"}]}}}"#,
                "spans 2 columns",
            ),
        ] {
            let err = parse(text).unwrap_err().0;
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
