//! What a move is, as its checkpoint remembers it: a run is a resumption of the same move only
//! when its sources, targets (with their key ranges), tables, table schemas and placement rules
//! are the same. Anything else would apply the checkpoint's positions and copied ranges to data
//! they do not describe.

use serde::{Deserialize, Serialize};

use crate::copy::{CopyTable, TableRoute};
use crate::topology::Topology;

/// The parts of a move that its checkpoint is only valid for, as text people can compare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Each source, `host:port/database`.
    pub sources: Vec<String>,
    /// Each target, `name host:port/database key range`.
    pub targets: Vec<String>,
    /// Each moved table.
    pub tables: Vec<TableIdentity>,
}

/// A moved table as its checkpoint remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableIdentity {
    /// Its name.
    pub name: String,
    /// Its row key (index and columns).
    pub key: String,
    /// Where its rows go.
    pub route: String,
    /// A hash of its columns (names, types, character sets, ...), and their number.
    pub schema: String,
    /// The targets that receive its rows, by name.
    #[serde(default)]
    pub receiving: Vec<String>,
}

impl Identity {
    /// The identity of the move of `tables` between the servers of `topology`.
    pub fn of(topology: &Topology, tables: &[CopyTable]) -> Identity {
        let names: Vec<String> = topology.targets.iter().map(|t| t.name.clone()).collect();
        Identity {
            sources: topology.sources.iter().map(server).collect(),
            targets: topology
                .targets
                .iter()
                .map(|t| format!("{} {} {}", t.name, server(&t.dsn), t.range))
                .collect(),
            tables: tables.iter().map(|t| table(t, &names)).collect(),
        }
    }

    /// Whether this is a move between the servers of `topology` (the tables aside).
    pub fn same_servers(&self, topology: &Topology) -> bool {
        let now = Identity::of(topology, &[]);
        self.sources == now.sources && self.targets == now.targets
    }

    /// The moved tables' names.
    pub fn table_names(&self) -> Vec<String> {
        self.tables.iter().map(|t| t.name.clone()).collect()
    }

    /// How `now` differs from this (the checkpoint's), one line per difference.
    pub fn differences(&self, now: &Identity) -> Vec<String> {
        let mut out = Vec::new();
        let list = |what: &str, then: &[String], now: &[String], out: &mut Vec<String>| {
            if then != now {
                out.push(format!(
                    "{what}: the checkpoint's are [{}], this run's are [{}]",
                    then.join(", "),
                    now.join(", ")
                ));
            }
        };
        list("sources", &self.sources, &now.sources, &mut out);
        list("targets", &self.targets, &now.targets, &mut out);
        list("tables", &self.table_names(), &now.table_names(), &mut out);
        for then in &self.tables {
            let Some(now) = now.tables.iter().find(|t| t.name == then.name) else {
                continue;
            };
            if then.schema != now.schema {
                out.push(format!(
                    "table `{}`: its columns changed since the move started (a schema change on the sources)",
                    then.name
                ));
            }
            if then.key != now.key {
                out.push(format!(
                    "table `{}`: its row key was {}, now {}",
                    then.name, then.key, now.key
                ));
            }
            if then.route != now.route {
                out.push(format!(
                    "table `{}`: its rows went {}, this run sends them {}",
                    then.name, then.route, now.route
                ));
            }
        }
        out
    }
}

fn server(dsn: &reshard_types::Dsn) -> String {
    format!(
        "{}:{}/{}",
        dsn.host(),
        dsn.port(),
        dsn.database().unwrap_or_default()
    )
}

fn table(t: &CopyTable, target_names: &[String]) -> TableIdentity {
    let column = |i: usize| t.schema.columns[i].name.clone();
    let route = match t.route {
        TableRoute::Shard { column: c, vindex } => {
            format!("by `{}` under vindex {vindex:?}", column(c))
        }
        TableRoute::To(target) => format!(
            "to target {}",
            target_names.get(target).cloned().unwrap_or_default()
        ),
        TableRoute::Everywhere => String::from("to every target"),
    };
    let columns = format!("{:?}", t.schema.columns);
    let receiving = match t.route {
        TableRoute::To(target) => target_names.get(target).cloned().into_iter().collect(),
        TableRoute::Shard { .. } | TableRoute::Everywhere => target_names.to_vec(),
    };
    TableIdentity {
        receiving,
        name: t.schema.name.clone(),
        key: format!(
            "{} ({})",
            t.key.index,
            t.key
                .columns
                .iter()
                .map(|&i| column(i))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        route,
        schema: format!(
            "{} columns, {:016x}",
            t.schema.columns.len(),
            xxhash_rust::xxh3::xxh3_64(columns.as_bytes())
        ),
    }
}
