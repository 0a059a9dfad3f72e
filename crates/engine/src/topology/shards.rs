//! Sources that are shards: their own key ranges, a move of some of them (`--source-shards`,
//! Vitess's shard-level migration), and the reverse of a move (targets back into the sources'
//! `<table>_old` tables, each row to the source whose range holds it).

use reshard_kernels::route::Router;
use reshard_types::KeyRange;

use super::{TableRule, Target, Topology, TopologyError};

impl Topology {
    /// The same topology, its sources' own key ranges given (one per source, covering the
    /// keyspace exactly once).
    pub fn with_source_ranges(mut self, ranges: Vec<KeyRange>) -> Result<Topology, TopologyError> {
        if ranges.len() != self.sources.len() {
            return Err(TopologyError(format!(
                "--source-key-ranges gives {} key ranges for {} sources; give one per source, in source order",
                ranges.len(),
                self.sources.len()
            )));
        }
        KeyRange::check_cover(&ranges)
            .map_err(|e| TopologyError(format!("--source-key-ranges: {e}")))?;
        self.source_ranges = Some(ranges);
        Ok(self)
    }

    /// The sources' key ranges: given, or the whole keyspace for a single source.
    pub fn source_ranges_or_full(&self) -> Result<Vec<KeyRange>, TopologyError> {
        match (&self.source_ranges, self.sources.len()) {
            (Some(ranges), _) => Ok(ranges.clone()),
            (None, 1) => Ok(vec![KeyRange::full()]),
            (None, n) => Err(TopologyError(format!(
                "the {n} sources' own key ranges are needed (each row goes back to the source whose range holds it): give them with --source-key-ranges, in source order (e.g. -80,80-)"
            ))),
        }
    }

    /// The move of the sources of `shards` alone, to the targets whose ranges lie inside them:
    /// each shard moves, cuts over and keeps its checkpoint on its own. Refused unless the
    /// sources and targets have the same shard layout (every target's range lies inside one
    /// source's, so each shard's rows go to its own targets only), and for tables that are not
    /// sharded (they have no shard).
    pub fn only_source_shards(&self, shards: &[KeyRange]) -> Result<Topology, TopologyError> {
        let Some(ranges) = &self.source_ranges else {
            return Err(TopologyError(String::from(
                "--source-shards needs the sources' own key ranges: give them with --source-key-ranges, in source order",
            )));
        };
        let mut picked = Vec::new();
        for shard in shards {
            let Some(i) = ranges.iter().position(|r| r == shard) else {
                return Err(TopologyError(format!(
                    "--source-shards names {shard}, which is no source's key range (they are {})",
                    list(ranges)
                )));
            };
            if picked.contains(&i) {
                return Err(TopologyError(format!(
                    "--source-shards names {shard} twice"
                )));
            }
            picked.push(i);
        }
        picked.sort_unstable();
        for target in &self.targets {
            let inside: Vec<&KeyRange> = ranges
                .iter()
                .filter(|r| r.intersects(&target.range))
                .collect();
            if inside.len() != 1
                || target.range.intersection(inside[0]).as_ref() != Some(&target.range)
            {
                return Err(TopologyError(format!(
                    "target {} ({}) spans the source shards {}: a shard-level move needs every target's key range inside one source's (the same shard layout, or each source split); move all the sources at once instead",
                    target.name,
                    target.range,
                    list(&inside.into_iter().cloned().collect::<Vec<_>>())
                )));
            }
        }
        if self.whole_table_rules() {
            return Err(TopologyError(String::from(
                "a shard-level move (--source-shards) moves sharded tables only: a table placed whole (unsharded or reference) belongs to no shard; move it with all the sources",
            )));
        }
        let targets: Vec<Target> = self
            .targets
            .iter()
            .filter(|t| picked.iter().any(|&i| ranges[i].intersects(&t.range)))
            .cloned()
            .collect();
        let sources = picked.iter().map(|&i| self.sources[i].clone()).collect();
        let source_ranges: Vec<KeyRange> = picked.iter().map(|&i| ranges[i].clone()).collect();
        Ok(Topology {
            sources,
            router: stretched_router(&targets)?,
            targets,
            source_ranges: Some(source_ranges),
            // A table without a rule is refused, not placed whole on some shard's target.
            unsharded: None,
            ..self.clone()
        })
    }

    /// The reverse of this move, once it has cut over: the targets as sources, and the sources
    /// (with their own key ranges) as targets, receiving each row by the same rules.
    pub fn reversed(&self) -> Result<Topology, TopologyError> {
        let ranges = self.source_ranges_or_full()?;
        if self.sources.len() > 1 && (self.whole_table_rules() || self.unsharded.is_some()) {
            return Err(TopologyError(String::from(
                "a reverse stream sends each row back to the source whose key range holds it; a table placed whole (unsharded or reference) has no such source: leave it out with --tables",
            )));
        }
        // One source: whatever was placed whole goes back to it.
        let back = |rule: &TableRule| match rule {
            TableRule::To(_) => TableRule::To(0),
            other => other.clone(),
        };
        let targets: Vec<Target> = self
            .sources
            .iter()
            .zip(&ranges)
            .map(|(dsn, range)| Target {
                dsn: dsn.clone(),
                range: range.clone(),
                name: range.to_string(),
            })
            .collect();
        Ok(Topology {
            sources: self.targets.iter().map(|t| t.dsn.clone()).collect(),
            router: stretched_router(&targets)?,
            targets,
            source_ranges: Some(self.targets.iter().map(|t| t.range.clone()).collect()),
            rules: self
                .rules
                .iter()
                .map(|(t, r)| (t.clone(), back(r)))
                .collect(),
            patterns: self
                .patterns
                .iter()
                .map(|(p, r)| (p.clone(), back(r)))
                .collect(),
            unsharded: self.unsharded.as_ref().map(back),
            ..self.clone()
        })
    }
}

impl Topology {
    /// The same topology with its sources also as its targets (whole keyspace each): the
    /// servers a reverse stream writes to, for taking their locks and reading its checkpoint.
    pub(crate) fn sources_as_targets(&self) -> Vec<Target> {
        self.sources
            .iter()
            .map(|dsn| Target {
                dsn: dsn.clone(),
                range: KeyRange::full(),
                name: dsn.to_string(),
            })
            .collect()
    }

    /// Whether a rule places a table whole (on one target, or on every one).
    fn whole_table_rules(&self) -> bool {
        self.rules
            .values()
            .chain(self.patterns.iter().map(|(_, r)| r))
            .any(|r| !matches!(r, TableRule::Shard { .. }))
    }
}

/// A router over `targets` whose ranges may not cover the keyspace (a shard-level move): each
/// range is stretched down to the end of the one before (the first to the start of the
/// keyspace, the last to its end). Rows come only from sources inside the targets' ranges, so
/// no row falls in a gap; the stretch only makes the lookup total.
fn stretched_router(targets: &[Target]) -> Result<Router, TopologyError> {
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by(|&a, &b| targets[a].range.start().cmp(targets[b].range.start()));
    let mut stretched = vec![KeyRange::full(); targets.len()];
    for (k, &t) in order.iter().enumerate() {
        let start: &[u8] = if k == 0 {
            &[]
        } else {
            targets[t].range.start()
        };
        let end: &[u8] = match order.get(k + 1) {
            Some(&next) => targets[next].range.start(),
            None => &[],
        };
        stretched[t] = KeyRange::new(start, end).map_err(|e| TopologyError(e.to_string()))?;
    }
    Router::new(&stretched).map_err(|e| TopologyError(format!("target key ranges: {e}")))
}

fn list(ranges: &[KeyRange]) -> String {
    ranges
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TopologyInput;

    fn input(sources: usize, targets: usize) -> TopologyInput {
        TopologyInput {
            sources: (0..sources)
                .map(|i| format!("mysql://u:p@h:{}/s", 3300 + i))
                .collect(),
            targets: (0..targets)
                .map(|i| format!("mysql://u:p@h:{}/t", 4400 + i))
                .collect(),
            shard_by: vec![String::from("t=id:hash")],
            ..TopologyInput::default()
        }
    }

    #[test]
    fn a_shard_level_move_takes_the_shard_and_its_targets() {
        let mut i = input(2, 4);
        i.source_key_ranges = Some(String::from("-80,80-"));
        i.source_shards = Some(String::from("80-"));
        let t = i.topology().expect("a topology");
        assert_eq!(t.sources.len(), 1);
        assert_eq!(t.sources[0].to_string(), "mysql://u:***@h:3301/s");
        let names: Vec<&str> = t.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["80-c0", "c0-"]);
        // Routing is total, and the shard's ids go to their own targets.
        assert_eq!(t.router.target_of_bytes(&[0x90]), 0);
        assert_eq!(t.router.target_of_bytes(&[0xd0]), 1);
    }

    #[test]
    fn a_shard_level_move_is_refused_when_targets_span_shards() {
        let mut i = input(4, 2);
        i.source_key_ranges = Some(String::from("-40,40-80,80-c0,c0-"));
        i.source_shards = Some(String::from("-40"));
        let e = i.topology().expect_err("refused");
        assert!(e.0.contains("spans the source shards -40, 40-80"), "{e}");
        let mut i = input(2, 2);
        i.source_shards = Some(String::from("-80"));
        assert!(
            i.topology()
                .expect_err("refused")
                .0
                .contains("--source-key-ranges")
        );
        let mut i = input(2, 2);
        i.source_key_ranges = Some(String::from("-80,80-"));
        i.source_shards = Some(String::from("-40"));
        assert!(
            i.topology()
                .expect_err("refused")
                .0
                .contains("no source's key range")
        );
    }

    #[test]
    fn the_reverse_sends_rows_to_the_source_holding_their_range() {
        let mut i = input(2, 3);
        i.source_key_ranges = Some(String::from("-80,80-"));
        let r = i
            .topology()
            .expect("a topology")
            .reversed()
            .expect("a reverse");
        assert_eq!(r.sources.len(), 3);
        assert_eq!(r.targets.len(), 2);
        assert_eq!(r.router.target_of_bytes(&[0x10]), 0);
        assert_eq!(r.router.target_of_bytes(&[0x90]), 1);
        assert!(
            input(2, 2)
                .topology()
                .expect("a topology")
                .reversed()
                .is_err()
        );
        let one = input(1, 2)
            .topology()
            .expect("a topology")
            .reversed()
            .expect("a reverse");
        assert_eq!(one.targets[0].range, KeyRange::full());
    }
}
