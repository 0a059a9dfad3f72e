//! The topology of a copy or move, from the command line, a Vitess VSchema and a TOML file, turned
//! into one validated [`Topology`] before anything connects.
//!
//! | input | gives |
//! |---|---|
//! | `--source`, `--target` (repeatable) | the servers, targets in order |
//! | `--config FILE` (TOML, [`config_file`]) | sources, targets with key ranges, tables, rules |
//! | `--vschema FILE` (Vitess JSON, [`vschema`]) | each table's primary vindex, reference tables |
//! | `--shard-by TABLE=COLUMN:VINDEX` ([`rules`]) | a table's sharding column and vindex; `TABLE` may be a pattern (`sbtest*`) |
//! | `--key-ranges -80,80-` | the targets' ranges, overriding any other |
//! | `--unsharded-target T` | where tables without a rule go |
//!
//! Rules for the same table override in that order: VSchema, then the TOML file, then
//! `--shard-by`; a table's own name beats a pattern (`*` any run of characters, `?` one), and of
//! several patterns the last given wins. A rule of `--shard-by` or the TOML file must place at
//! least one moved table: one that places none is a typo or a stale rule, refused as bad input
//! ([`Topology::unmatched_rules`]; with `--tables` here, else once the setup has listed the
//! source's tables). A VSchema describes a whole keyspace, so its entries need not all be moved.
//! Targets given without ranges get even ranges in the order given (as Vitess
//! names shards: two targets are `-80` and `80-`). The ranges must cover the keyspace exactly once
//! ([`Router::new`]). What needs the servers (does the column exist, is its type routable, do
//! the sources agree) is checked by the copy's setup, still before anything is written.

pub mod builder;
pub mod config_file;
pub mod rules;
pub mod vschema;

use std::collections::BTreeMap;
use std::path::PathBuf;

use reshard_kernels::route::Router;
use reshard_kernels::vindex::VindexKind;
use reshard_types::{Dsn, KeyRange};

pub use builder::TopologyBuilder;
pub use rules::{TableRule, TargetRef, parse_shard_by};

/// A topology that is not valid, with what to change. Nothing has connected yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TopologyError(pub String);

/// A target server and the keyspace ids it receives.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its DSN.
    pub dsn: Dsn,
    /// Its key range.
    pub range: KeyRange,
    /// Its name in messages: the key range (Vitess's shard name), unless the config names it.
    pub name: String,
}

/// Sources, targets, key ranges and per-table rules: everything a copy needs to know before it
/// connects.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Servers rows are read from.
    pub sources: Vec<Dsn>,
    /// Servers rows are written to, in the order given.
    pub targets: Vec<Target>,
    /// Key ranges to target indexes.
    pub router: Router,
    /// Only these tables, when given.
    pub tables: Option<Vec<String>>,
    /// Per table, how its rows are placed.
    pub rules: BTreeMap<String, TableRule>,
    /// Rules for every table whose name matches a pattern (`sbtest*`), in the order given; the
    /// last match wins, and a table's own entry in `rules` beats any pattern.
    pub patterns: Vec<(String, TableRule)>,
    /// The rules given for this move (`--shard-by`, the TOML file's), by table name or pattern,
    /// with where each came from: each must place at least one moved table.
    pub named_rules: Vec<(String, String)>,
    /// Where a table without a rule goes (with one target: there).
    pub unsharded: Option<TableRule>,
}

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
    /// `--tables`.
    pub tables: Option<Vec<String>>,
    /// The password of source DSNs that give none (from the environment or a file).
    pub source_password: Option<String>,
    /// The password of target DSNs that give none.
    pub target_password: Option<String>,
}

impl Topology {
    /// Reads the files, parses and checks everything; connects to nothing.
    pub fn build(input: &TopologyInput) -> Result<Topology, TopologyError> {
        let file = match &input.config {
            Some(path) => Some(config_file::read(path)?),
            None => None,
        };
        let file = file.unwrap_or_default();

        let source_texts = pick("sources", "--source", &file.sources, &input.sources)?;
        let target_texts = pick("targets", "--target", &file.targets, &input.targets)?;
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
            .map(|s| parse_dsn("source", &s.dsn, input.source_password.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        let dsns = target_texts
            .iter()
            .map(|t| parse_dsn("target", &t.dsn, input.target_password.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        let ranges = ranges(input.key_ranges.as_deref(), &target_texts)?;

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
        if let Some(path) = input.vschema.as_ref().or(file.vschema.as_ref()) {
            builder = builder.keyspace_rules(vschema::read(path)?);
        }
        for (table, rule) in &file.rules {
            let origin = format!("the rule for '{table}' in --config");
            builder = match rule {
                config_file::FileRule::Shard(rule) => builder.rule(table, rule.clone(), &origin),
                config_file::FileRule::Place(place) => builder.place(table, place.clone(), &origin),
            };
        }
        for text in &input.shard_by {
            let (table, rule) = parse_shard_by(text)?;
            builder = builder.rule(&table, rule, &format!("--shard-by '{text}'"));
        }
        if let Some(text) = input
            .unsharded_target
            .as_deref()
            .or(file.unsharded_target.as_deref())
        {
            builder = builder.unsharded_to(TargetRef::parse(text));
        }
        if let Some(tables) = input.tables.clone().or(file.tables.clone()) {
            builder = builder.tables(tables);
        }
        builder.build()
    }

    /// The typed way to a topology (see [`builder`]).
    pub fn builder() -> TopologyBuilder {
        TopologyBuilder::default()
    }

    /// The rules given for this move (`--shard-by`, the TOML file) that place none of `tables`
    /// (the moved tables), one message each: a typo or a stale rule would otherwise be ignored
    /// and its table placed by `--unsharded-target` instead.
    pub fn unmatched_rules(&self, tables: &[String]) -> Vec<String> {
        let shown: Vec<&str> = tables.iter().take(12).map(String::as_str).collect();
        let more = if tables.len() > shown.len() {
            ", ..."
        } else {
            ""
        };
        self.named_rules
            .iter()
            .filter(|(name, _)| !tables.iter().any(|t| name_matches(name, t)))
            .map(|(name, origin)| {
                let what = if is_pattern(name) {
                    format!("the pattern '{name}' matches none of the moved tables")
                } else {
                    format!("'{name}' is not one of the moved tables")
                };
                format!(
                    "{origin}: {what} ({}{more}); fix the table name, or drop the rule",
                    shown.join(", ")
                )
            })
            .collect()
    }

    /// The rule for `table`: its own, else the last pattern that matches it, else where unsharded
    /// tables go; `None` if there is none.
    pub fn rule_for(&self, table: &str) -> Option<&TableRule> {
        self.rules
            .get(table)
            .or_else(|| {
                self.patterns
                    .iter()
                    .rev()
                    .find(|(pattern, _)| name_matches(pattern, table))
                    .map(|(_, rule)| rule)
            })
            .or(self.unsharded.as_ref())
    }

    /// A one-line description of the targets: `mysql://…/db [-80], mysql://…/db [80-]`.
    pub fn describe_targets(&self) -> String {
        self.targets
            .iter()
            .map(|t| format!("{} [{}]", t.dsn, t.name))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether a rule's table name is a pattern (`*` or `?`) rather than a name.
fn is_pattern(name: &str) -> bool {
    name.contains(['*', '?'])
}

/// Whether the rule's name or pattern `rule` covers `table` (names are compared exactly, as
/// MariaDB does on Linux).
fn name_matches(rule: &str, table: &str) -> bool {
    if is_pattern(rule) {
        wildmatch::WildMatch::new(rule).matches(table)
    } else {
        rule == table
    }
}

/// The sources or targets: from the file or from flags, not both.
fn pick(
    what: &str,
    flag: &str,
    from_file: &[config_file::ServerSpec],
    from_flags: &[String],
) -> Result<Vec<config_file::ServerSpec>, TopologyError> {
    match (from_file.is_empty(), from_flags.is_empty()) {
        (false, false) => Err(TopologyError(format!(
            "{what} are given both in --config and with {flag}; give them in one place"
        ))),
        (false, true) => Ok(from_file.to_vec()),
        _ => Ok(from_flags
            .iter()
            .map(|dsn| config_file::ServerSpec {
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
    targets: &[config_file::ServerSpec],
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
mod tests;
