//! `reshard vindex`: the keyspace id of each value under a vindex and, given key ranges, its
//! shard; what users reach for when they debug routing. Computed by the scalar reference
//! functions (`reshard_kernels::vindex`) and the copy's router, so it answers as a copy routes.

use reshard_kernels::route::Router;
use reshard_kernels::vindex::{VindexValue, keyspace_id};
use reshard_types::KeyRange;
use reshard_types::keyrange::hex;

use crate::Failure;
use crate::args::VindexArgs;
use crate::output::out;

pub(crate) fn run(args: &VindexArgs) -> Result<(), Failure> {
    let bad = |m: String| Failure::BadInput(m);
    let vindex = reshard_engine::config::vindex_named(&args.vindex, "--vindex")
        .map_err(|e| bad(e.to_string()))?;
    let ranges = match &args.key_ranges {
        None => None,
        Some(text) => Some(match text.trim().parse::<usize>() {
            Ok(n) => KeyRange::even(n).map_err(|e| bad(format!("--key-ranges: {e}")))?,
            Err(_) => KeyRange::parse_list(text).map_err(|e| bad(format!("--key-ranges: {e}")))?,
        }),
    };
    let router = match &ranges {
        Some(list) => Some(Router::new(list).map_err(|e| bad(format!("--key-ranges: {e}")))?),
        None => None,
    };
    let mut rows = Vec::with_capacity(args.values.len());
    let mut id = Vec::new();
    for text in &args.values {
        let is_null = args.null.as_deref() == Some(text.as_str());
        let value = if is_null {
            VindexValue::Null
        } else {
            VindexValue::Bytes(text.as_bytes())
        };
        keyspace_id(vindex, value, &mut id).map_err(|e| bad(format!("value '{text}': {e}")))?;
        let shard = match (&router, &ranges) {
            (Some(router), Some(list)) => {
                Some(list[router.target_of_bytes(&id) as usize].to_string())
            }
            _ => None,
        };
        let shown = if is_null {
            String::from("NULL")
        } else {
            text.clone()
        };
        rows.push((shown, hex(&id), shard));
    }
    if args.json {
        for (value, id, shard) in &rows {
            let mut line = serde_json::json!({ "value": value, "keyspace_id": id });
            if let Some(shard) = shard {
                line["shard"] = serde_json::Value::from(shard.as_str());
            }
            out!("{line}");
        }
        return Ok(());
    }
    let width = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    let id_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(11);
    if router.is_some() {
        out!("{:<width$}  {:<id_width$}  shard", "value", "keyspace_id");
    } else {
        out!("{:<width$}  keyspace_id", "value");
    }
    for (value, id, shard) in &rows {
        match shard {
            Some(shard) => out!("{value:<width$}  {id:<id_width$}  {shard}"),
            None => out!("{value:<width$}  {id}"),
        }
    }
    Ok(())
}
