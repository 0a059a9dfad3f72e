//! The command line's topology, as text: flags, a TOML file and a Vitess VSchema, parsed into
//! the typed [`TopologyBuilder`](crate::topology::TopologyBuilder). The engine's jobs take the
//! [`Topology`] this builds; embedders build one from types and need none of this.
//!
//! | input | gives |
//! |---|---|
//! | `--source`, `--target` (repeatable) | the servers, targets in order |
//! | `--config FILE` (TOML, [`file`](mod@file)) | sources, targets with key ranges, tables, rules |
//! | `--vschema FILE` (Vitess JSON, [`vschema`]) | each table's primary vindex, reference tables |
//! | `--shard-by TABLE=COLUMN:VINDEX` ([`parse_shard_by`]) | a table's sharding column and vindex; `TABLE` may be a pattern (`sbtest*`) |
//! | `--key-ranges -80,80-` | the targets' ranges, overriding any other |
//! | `--unsharded-target T` | where tables without a rule go |
//!
//! Rules for the same table override in that order: VSchema, then the TOML file, then
//! `--shard-by` (see [`crate::topology`] for patterns and rules that place nothing).

pub mod file;
mod shard_by;
pub mod vschema;

use std::path::PathBuf;

use reshard_types::{Dsn, KeyRange};

pub use shard_by::{parse_shard_by, vindex_named};

use crate::topology::{TargetRef, Topology, TopologyError};

/// The raw inputs, as the command line gives them.
#[derive(Debug, Clone, Default)]
pub struct TopologyInput {
    /// `--source` values.
    pub sources: Vec<String>,
    /// `--target` values.
    pub targets: Vec<String>,
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--vschema`.
    pub vschema: Option<PathBuf>,
    /// `--shard-by` values.
    pub shard_by: Vec<String>,
    /// `--key-ranges`.
    pub key_ranges: Option<String>,
    /// `--unsharded-target`.
    pub unsharded_target: Option<String>,
    /// `--source-key-ranges`: the sources' own key ranges, in source order.
    pub source_key_ranges: Option<String>,
    /// `--source-shards`: only the sources of these key ranges (and the targets inside them).
    pub source_shards: Option<String>,
    /// `--tables`.
    pub tables: Option<Vec<String>>,
    /// The password of source DSNs that give none (from the environment or a file).
    pub source_password: Option<String>,
    /// The password of target DSNs that give none.
    pub target_password: Option<String>,
}

impl TopologyInput {
    /// Reads the files, parses and checks everything; connects to nothing.
    pub fn topology(&self) -> Result<Topology, TopologyError> {
        let file = match &self.config {
            Some(path) => Some(file::read(path)?),
            None => None,
        };
        let file = file.unwrap_or_default();

        let source_texts = pick("sources", "--source", &file.sources, &self.sources)?;
        let target_texts = pick("targets", "--target", &file.targets, &self.targets)?;
        if source_texts.is_empty() {
            return Err(TopologyError(String::from(
                "no source given: pass --source DSN (repeatable) or list [[sources]] in --config",
            )));
        }
        if target_texts.is_empty() {
            return Err(TopologyError(String::from(
                "no target given: pass --target DSN (repeatable) or list [[targets]] in --config",
            )));
        }
        let sources = source_texts
            .iter()
            .map(|s| parse_dsn("source", &s.dsn, self.source_password.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        let dsns = target_texts
            .iter()
            .map(|t| parse_dsn("target", &t.dsn, self.target_password.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        let ranges = ranges(self.key_ranges.as_deref(), &target_texts)?;

        let mut builder = Topology::builder();
        for dsn in sources {
            builder = builder.source(dsn);
        }
        for ((dsn, range), spec) in dsns.into_iter().zip(ranges).zip(&target_texts) {
            builder = match &spec.name {
                Some(name) => builder.named_target(dsn, Some(range), name),
                None => builder.target_with_range(dsn, range),
            };
        }
        if let Some(path) = self.vschema.as_ref().or(file.vschema.as_ref()) {
            builder = builder.keyspace_rules(vschema::read(path)?);
        }
        for (table, rule) in &file.rules {
            let origin = format!("the rule for '{table}' in --config");
            builder = match rule {
                file::FileRule::Shard(rule) => builder.rule(table, rule.clone(), &origin),
                file::FileRule::Place(place) => builder.place(table, place.clone(), &origin),
            };
        }
        for text in &self.shard_by {
            let (table, rule) = parse_shard_by(text)?;
            builder = builder.rule(&table, rule, &format!("--shard-by '{text}'"));
        }
        if let Some(text) = self
            .unsharded_target
            .as_deref()
            .or(file.unsharded_target.as_deref())
        {
            builder = builder.unsharded_to(TargetRef::parse(text));
        }
        if let Some(tables) = self.tables.clone().or(file.tables.clone()) {
            builder = builder.tables(tables);
        }
        let mut topology = builder.build()?;
        if let Some(text) = &self.source_key_ranges {
            let ranges = KeyRange::parse_list(text)
                .map_err(|e| TopologyError(format!("--source-key-ranges: {e}")))?;
            topology = topology.with_source_ranges(ranges)?;
        }
        if let Some(text) = &self.source_shards {
            let shards = KeyRange::parse_list(text)
                .map_err(|e| TopologyError(format!("--source-shards: {e}")))?;
            topology = topology.only_source_shards(&shards)?;
        }
        Ok(topology)
    }
}

/// The sources or targets: from the file or from flags, not both.
fn pick(
    what: &str,
    flag: &str,
    from_file: &[file::ServerSpec],
    from_flags: &[String],
) -> Result<Vec<file::ServerSpec>, TopologyError> {
    match (from_file.is_empty(), from_flags.is_empty()) {
        (false, false) => Err(TopologyError(format!(
            "{what} are given both in --config and with {flag}; give them in one place"
        ))),
        (false, true) => Ok(from_file.to_vec()),
        _ => Ok(from_flags
            .iter()
            .map(|dsn| file::ServerSpec {
                dsn: dsn.clone(),
                name: None,
                key_range: None,
            })
            .collect()),
    }
}

/// A source's or target's DSN, which must name the database moved from or into; one without a
/// password gets `password`, when given.
fn parse_dsn(role: &str, text: &str, password: Option<&str>) -> Result<Dsn, TopologyError> {
    let mut dsn = Dsn::parse(text).map_err(|e| TopologyError(format!("{role} {e}")))?;
    if let Some(password) = password
        && dsn.password().is_empty()
    {
        dsn = dsn.with_password(password);
    }
    if dsn.database().is_none() {
        return Err(TopologyError(format!(
            "the {role} DSN {dsn} names no database; add it to the DSN's path (mysql://user:pw@host:port/database)"
        )));
    }
    Ok(dsn)
}

/// The targets' key ranges: `--key-ranges`, else all given in the file, else even.
fn ranges(
    flag: Option<&str>,
    targets: &[file::ServerSpec],
) -> Result<Vec<KeyRange>, TopologyError> {
    let n = targets.len();
    if let Some(text) = flag {
        let list =
            KeyRange::parse_list(text).map_err(|e| TopologyError(format!("--key-ranges: {e}")))?;
        if list.len() != n {
            return Err(TopologyError(format!(
                "--key-ranges gives {} range(s) for {n} target(s); give one range per target, in the order of the targets",
                list.len()
            )));
        }
        return Ok(list);
    }
    let given: Vec<&str> = targets
        .iter()
        .filter_map(|t| t.key_range.as_deref())
        .collect();
    if given.is_empty() {
        return KeyRange::even(n).map_err(|e| TopologyError(e.to_string()));
    }
    if given.len() != n {
        return Err(TopologyError(format!(
            "{} of {n} targets in --config have a key_range; give every target one, or none (for even ranges)",
            given.len()
        )));
    }
    given
        .iter()
        .map(|text| KeyRange::parse(text).map_err(|e| TopologyError(format!("--config: {e}"))))
        .collect()
}

#[cfg(test)]
mod tests;
