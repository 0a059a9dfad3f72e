//! The topology of a copy or move: sources, targets with their key ranges, and each table's
//! placement, validated into one [`Topology`] before anything connects. Built from typed parts
//! with [`Topology::builder`] ([`builder`]); the command line's flags and files are parsed into
//! that builder by [`crate::config`].
//!
//! Rules for the same table override in the order given (a later one wins); a table's own name
//! beats a pattern (`*` any run of characters, `?` one), and of several patterns the last given
//! wins. A rule given for this move must place at least one moved table: one that places none
//! is a typo or a stale rule, refused as bad input ([`Topology::unmatched_rules`]; with the
//! tables listed here, else once the setup has listed the source's tables). Keyspace rules (a
//! VSchema) describe a whole keyspace, so they need not all be moved. Targets given without
//! ranges get even ranges in the order given (as Vitess names shards: two targets are `-80` and
//! `80-`). The ranges must cover the keyspace exactly once ([`Router::new`]). What needs the
//! servers (does the column exist, is its type routable, do the sources agree) is checked by the
//! copy's setup, still before anything is written.

pub mod builder;
pub mod rules;
mod shards;

use std::collections::BTreeMap;

use reshard_kernels::route::Router;
use reshard_types::{Dsn, KeyRange};

pub use builder::TopologyBuilder;
pub use rules::{TableRule, TargetRef};

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
    /// The sources' own key ranges, in source order, when given (sources that are Vitess-style
    /// shards): what a reverse stream routes by, and what `--source-shards` picks from.
    pub source_ranges: Option<Vec<KeyRange>>,
}

impl Topology {
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
