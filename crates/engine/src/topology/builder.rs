//! A [`Topology`] from typed parts: what embedders use, and what [`crate::config`] turns flags
//! and files into. Everything is checked in [`TopologyBuilder::build`], before anything connects.
//!
//! ```
//! use reshard_engine::topology::{TableRule, Topology};
//! use reshard_kernels::vindex::VindexKind;
//! use reshard_types::Dsn;
//!
//! let dsn = |port: u16| Dsn::parse(&format!("mysql://app@127.0.0.1:{port}/shop")).unwrap();
//! let topology = Topology::builder()
//!     .source(dsn(3306))
//!     .target(dsn(3307))
//!     .target(dsn(3308))
//!     .shard("orders", "customer_id", VindexKind::Hash)
//!     .shard("sbtest*", "id", VindexKind::Xxhash)
//!     .unsharded(TableRule::Everywhere)
//!     .build()
//!     .unwrap();
//! // Two targets without ranges split the keyspace evenly, as Vitess names shards.
//! assert_eq!(topology.targets[1].name, "80-");
//! assert_eq!(
//!     topology.rule_for("sbtest7"),
//!     Some(&TableRule::Shard { column: "id".into(), vindex: VindexKind::Xxhash })
//! );
//! ```

use std::collections::BTreeMap;

use reshard_kernels::route::Router;
use reshard_kernels::vindex::VindexKind;
use reshard_types::{Dsn, KeyRange};

use super::{TableRule, Target, TargetRef, Topology, TopologyError, is_pattern};

/// Where a rule's tables go, before the targets are numbered.
#[derive(Debug, Clone)]
enum Placement {
    Rule(TableRule),
    Named(TargetRef),
}

/// The parts of a [`Topology`], typed; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct TopologyBuilder {
    sources: Vec<Dsn>,
    targets: Vec<(Dsn, Option<KeyRange>, Option<String>)>,
    /// Rules that need not place a moved table (a VSchema describes a whole keyspace).
    keyspace_rules: BTreeMap<String, TableRule>,
    /// Rules given for this move, in order (a later one for the same table wins), with where
    /// each came from for messages.
    rules: Vec<(String, Placement, String)>,
    unsharded: Option<Placement>,
    tables: Option<Vec<String>>,
}

impl TopologyBuilder {
    /// A server and database rows are read from.
    #[must_use]
    pub fn source(mut self, dsn: Dsn) -> TopologyBuilder {
        self.sources.push(dsn);
        self
    }

    /// A server and database rows are written to; targets without ranges split the keyspace
    /// evenly in the order given.
    #[must_use]
    pub fn target(mut self, dsn: Dsn) -> TopologyBuilder {
        self.targets.push((dsn, None, None));
        self
    }

    /// A target that receives the keyspace ids of `range` (give every target a range, or none).
    #[must_use]
    pub fn target_with_range(mut self, dsn: Dsn, range: KeyRange) -> TopologyBuilder {
        self.targets.push((dsn, Some(range), None));
        self
    }

    /// A target with a range and a name for messages and rules (else its range names it).
    #[must_use]
    pub fn named_target(
        mut self,
        dsn: Dsn,
        range: Option<KeyRange>,
        name: &str,
    ) -> TopologyBuilder {
        self.targets.push((dsn, range, Some(name.to_owned())));
        self
    }

    /// Shards `table` (a name, or a pattern with `*` and `?`) by the keyspace id of `column`
    /// under `vindex`. It must place at least one moved table.
    #[must_use]
    pub fn shard(self, table: &str, column: &str, vindex: VindexKind) -> TopologyBuilder {
        let origin = format!("the rule for '{table}'");
        self.rule(
            table,
            TableRule::Shard {
                column: column.to_owned(),
                vindex,
            },
            &origin,
        )
    }

    /// Places `table` (a name or a pattern) by `rule`; `origin` names the rule in messages
    /// (`--shard-by 'orders=customer_id:hash'`). It must place at least one moved table.
    #[must_use]
    pub fn rule(mut self, table: &str, rule: TableRule, origin: &str) -> TopologyBuilder {
        self.rules
            .push((table.to_owned(), Placement::Rule(rule), origin.to_owned()));
        self
    }

    /// Places `table` on the target `place` names (its key range, name, 1-based position or
    /// `all`), resolved once the targets are known.
    #[must_use]
    pub fn place(mut self, table: &str, place: TargetRef, origin: &str) -> TopologyBuilder {
        self.rules
            .push((table.to_owned(), Placement::Named(place), origin.to_owned()));
        self
    }

    /// Rules from a description of a whole keyspace (a Vitess VSchema): overridden by the other
    /// rules, and not required to place a moved table.
    #[must_use]
    pub fn keyspace_rules(mut self, rules: BTreeMap<String, TableRule>) -> TopologyBuilder {
        self.keyspace_rules.extend(rules);
        self
    }

    /// Where tables without a rule go (with one target, there by default).
    #[must_use]
    pub fn unsharded(mut self, rule: TableRule) -> TopologyBuilder {
        self.unsharded = Some(Placement::Rule(rule));
        self
    }

    /// Where tables without a rule go, by a target's key range, name, position or `all`.
    #[must_use]
    pub fn unsharded_to(mut self, place: TargetRef) -> TopologyBuilder {
        self.unsharded = Some(Placement::Named(place));
        self
    }

    /// Only these tables (else every base table of the first source's database).
    #[must_use]
    pub fn tables(mut self, tables: Vec<String>) -> TopologyBuilder {
        self.tables = Some(tables);
        self
    }

    /// Checks everything and makes the topology; connects to nothing.
    pub fn build(self) -> Result<Topology, TopologyError> {
        if self.sources.is_empty() {
            return Err(TopologyError(String::from("no source given")));
        }
        if self.targets.is_empty() {
            return Err(TopologyError(String::from("no target given")));
        }
        let dsns = self
            .sources
            .iter()
            .map(|d| ("source", d))
            .chain(self.targets.iter().map(|t| ("target", &t.0)));
        for (role, dsn) in dsns {
            if dsn.database().is_none() {
                return Err(TopologyError(format!(
                    "the {role} DSN {dsn} names no database; add it to the DSN's path (mysql://user:pw@host:port/database)"
                )));
            }
        }
        let given = self.targets.iter().filter(|t| t.1.is_some()).count();
        let ranges: Vec<KeyRange> = if given == 0 {
            KeyRange::even(self.targets.len()).map_err(|e| TopologyError(e.to_string()))?
        } else if given == self.targets.len() {
            self.targets
                .iter()
                .map(|t| t.1.clone().expect("counted"))
                .collect()
        } else {
            return Err(TopologyError(format!(
                "{given} of {} targets have a key range; give every target one, or none (for even ranges)",
                self.targets.len()
            )));
        };
        let router =
            Router::new(&ranges).map_err(|e| TopologyError(format!("target key ranges: {e}")))?;
        let targets: Vec<Target> = self
            .targets
            .into_iter()
            .zip(ranges)
            .map(|((dsn, _, name), range)| Target {
                name: name.unwrap_or_else(|| range.to_string()),
                dsn,
                range,
            })
            .collect();
        let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(TopologyError(format!(
                    "two targets are named '{name}'; give each target its own name or key range"
                )));
            }
        }
        let resolve = |placement: Placement| match placement {
            Placement::Rule(rule) => Ok(rule),
            Placement::Named(place) => place.resolve(&targets),
        };
        let mut rules = self.keyspace_rules;
        let mut patterns = Vec::new();
        let mut named_rules = Vec::new();
        for (table, placement, origin) in self.rules {
            let rule = resolve(placement)?;
            named_rules.push((table.clone(), origin));
            if is_pattern(&table) {
                patterns.push((table, rule));
            } else {
                rules.insert(table, rule);
            }
        }
        let unsharded = match self.unsharded {
            Some(placement) => Some(resolve(placement)?),
            None if targets.len() == 1 => Some(TableRule::To(0)),
            None => None,
        };
        if let Some(list) = &self.tables {
            for (i, table) in list.iter().enumerate() {
                if list[..i].contains(table) {
                    return Err(TopologyError(format!(
                        "--tables names '{table}' twice; name each table once"
                    )));
                }
            }
        }
        let topology = Topology {
            sources: self.sources,
            targets,
            router,
            tables: self.tables,
            rules,
            patterns,
            named_rules,
            unsharded,
            source_ranges: None,
        };
        if let Some(list) = &topology.tables {
            let unmatched = topology.unmatched_rules(list);
            if !unmatched.is_empty() {
                return Err(TopologyError(unmatched.join("\n")));
            }
        }
        Ok(topology)
    }
}
