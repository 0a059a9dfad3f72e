//! Per-table rules: how a table's rows are placed on the targets.

use reshard_kernels::vindex::VindexKind;

use super::{Target, TopologyError};

/// How one table's rows are placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableRule {
    /// By the keyspace id of `column` under `vindex`: each row to the target whose range holds it.
    Shard {
        /// The sharding column's name.
        column: String,
        /// The vindex.
        vindex: VindexKind,
    },
    /// Every row to one target (an unsharded table), by index.
    To(usize),
    /// Every row to every target (a reference table).
    Everywhere,
}

/// A target named in a rule, before the targets are known: `all`, a 1-based position, a key
/// range (`-80`) or a name from the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRef(String);

impl TargetRef {
    /// Takes the text as given.
    pub fn parse(text: &str) -> TargetRef {
        TargetRef(text.trim().to_owned())
    }

    /// The rule this reference means among `targets`.
    pub fn resolve(&self, targets: &[Target]) -> Result<TableRule, TopologyError> {
        let text = self.0.as_str();
        if text == "all" {
            return Ok(TableRule::Everywhere);
        }
        if let Some(i) = targets.iter().position(|t| t.name == text) {
            return Ok(TableRule::To(i));
        }
        if let Ok(range) = reshard_types::KeyRange::parse(text)
            && let Some(i) = targets.iter().position(|t| t.range == range)
        {
            return Ok(TableRule::To(i));
        }
        if let Ok(n) = text.parse::<usize>()
            && (1..=targets.len()).contains(&n)
        {
            return Ok(TableRule::To(n - 1));
        }
        let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        Err(TopologyError(format!(
            "'{text}' names no target; name one by its key range or name ({}), by its position (1 to {}), or say 'all'",
            names.join(", "),
            targets.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use reshard_types::{Dsn, KeyRange};

    use super::*;

    #[test]
    fn targets_are_named_by_range_name_position_or_all() {
        let targets: Vec<Target> = KeyRange::even(2)
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(i, range)| Target {
                dsn: Dsn::parse(&format!("mysql://root@127.0.0.1:{}/db", 3300 + i)).unwrap(),
                name: if i == 1 {
                    String::from("east")
                } else {
                    range.to_string()
                },
                range,
            })
            .collect();
        assert_eq!(
            TargetRef::parse("-80").resolve(&targets).unwrap(),
            TableRule::To(0)
        );
        assert_eq!(
            TargetRef::parse("80-").resolve(&targets).unwrap(),
            TableRule::To(1)
        );
        assert_eq!(
            TargetRef::parse("east").resolve(&targets).unwrap(),
            TableRule::To(1)
        );
        assert_eq!(
            TargetRef::parse("2").resolve(&targets).unwrap(),
            TableRule::To(1)
        );
        assert_eq!(
            TargetRef::parse("all").resolve(&targets).unwrap(),
            TableRule::Everywhere
        );
        let err = TargetRef::parse("3").resolve(&targets).unwrap_err().0;
        assert!(err.contains("-80, east"), "{err}");
    }
}
