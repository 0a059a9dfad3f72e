//! A resharding copy from one source into two shards, as a data-platform job would run it:
//!
//! ```sh
//! RESHARD_SOURCE=mysql://app@db1:3306/shop RESHARD_TARGETS=mysql://app@db2:3306/shop,mysql://app@db3:3306/shop \
//! RESHARD_SOURCE_PASSWORD=... RESHARD_TARGET_PASSWORD=... \
//!   cargo run --release -p reshard-engine --example copy -- orders=customer_id:hash
//! ```
//!
//! Every check of `reshard copy` runs first; then the copy, the deferred indexes and the row-count
//! check of every target table. Exits non-zero on any refusal or error.

use std::error::Error;

use reshard_engine::config::TopologyInput;
use reshard_engine::copy::CopyEnd;
use reshard_engine::job::{Cancel, CopyJob, Quiet};

/// Copies from `source` to `targets`, sharding tables by `rules` (`TABLE=COLUMN:VINDEX`; other
/// tables go whole to every target); returns the rows copied.
pub fn copy(
    source: &str,
    targets: &[String],
    rules: &[String],
    passwords: (Option<String>, Option<String>),
) -> Result<u64, Box<dyn Error>> {
    let topology = TopologyInput {
        sources: vec![source.to_owned()],
        targets: targets.to_vec(),
        shard_by: rules.to_vec(),
        unsharded_target: Some(String::from("all")),
        source_password: passwords.0,
        target_password: passwords.1,
        ..TopologyInput::default()
    }
    .topology()?;
    let report = CopyJob::new(topology).run_blocking(&Cancel::new(), &Quiet)?;
    if report.end != CopyEnd::Done {
        return Err("the copy was cancelled".into());
    }
    Ok(report.progress.snapshot().iter().map(|t| t.rows_read).sum())
}

#[allow(dead_code)] // the test suite runs `copy` without this `main`
fn main() -> Result<(), Box<dyn Error>> {
    let source = std::env::var("RESHARD_SOURCE").map_err(|_| "set RESHARD_SOURCE")?;
    let targets: Vec<String> = std::env::var("RESHARD_TARGETS")
        .map_err(|_| "set RESHARD_TARGETS (comma-separated)")?
        .split(',')
        .map(str::to_owned)
        .collect();
    let rules: Vec<String> = std::env::args().skip(1).collect();
    let passwords = (
        std::env::var("RESHARD_SOURCE_PASSWORD").ok(),
        std::env::var("RESHARD_TARGET_PASSWORD").ok(),
    );
    let rows = copy(&source, &targets, &rules, passwords)?;
    println!("copied {rows} rows into {} shards", targets.len());
    Ok(())
}
