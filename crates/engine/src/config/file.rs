//! The topology as a TOML file (`--config FILE`), for moves too large to spell on a command line:
//!
//! ```toml
//! tables = ["customer", "corder", "countries"]   # optional: all tables of the source database
//! vschema = "commerce.json"                       # optional, relative to this file
//! unsharded_target = "-80"                        # optional: where tables without a rule go
//!
//! [[sources]]
//! dsn = "mysql://reshard:secret@10.0.0.1:3306/commerce"
//!
//! [[targets]]
//! dsn = "mysql://reshard:secret@10.0.1.1:3306/commerce"
//! key_range = "-80"          # every target has one, or none does (even ranges in this order)
//! name = "east"              # optional; by default the key range is the name
//!
//! [[targets]]
//! dsn = "mysql://reshard:secret@10.0.1.2:3306/commerce"
//! key_range = "80-"
//!
//! [shard_by]                 # as --shard-by: TABLE = "COLUMN:VINDEX"
//! customer = "customer_id:hash"
//!
//! [unsharded]                # tables placed whole: a target's name, key range or position, or "all"
//! countries = "all"
//! ```
//!
//! Unknown keys are refused (a misspelt key must not be silently ignored).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::parse_shard_by;
use crate::topology::{TableRule, TargetRef};
use crate::topology::{Target, TopologyError};

/// A server as the file lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Its DSN.
    pub dsn: String,
    /// Its name (targets).
    #[serde(default)]
    pub name: Option<String>,
    /// Its key range (targets).
    #[serde(default)]
    pub key_range: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    tables: Option<Vec<String>>,
    #[serde(default)]
    vschema: Option<PathBuf>,
    #[serde(default)]
    unsharded_target: Option<String>,
    #[serde(default)]
    sources: Vec<ServerSpec>,
    #[serde(default)]
    targets: Vec<ServerSpec>,
    #[serde(default)]
    shard_by: BTreeMap<String, String>,
    #[serde(default)]
    unsharded: BTreeMap<String, String>,
}

/// A table's rule as the file gives it; targets are resolved once all are known.
#[derive(Debug, Clone)]
pub enum FileRule {
    /// A `[shard_by]` entry.
    Shard(TableRule),
    /// An `[unsharded]` entry.
    Place(TargetRef),
}

impl FileRule {
    /// The rule among `targets`.
    pub fn resolve(&self, targets: &[Target]) -> Result<TableRule, TopologyError> {
        match self {
            FileRule::Shard(rule) => Ok(rule.clone()),
            FileRule::Place(target) => target.resolve(targets),
        }
    }
}

/// The file, parsed.
#[derive(Debug, Default)]
pub struct ConfigFile {
    /// `tables`.
    pub tables: Option<Vec<String>>,
    /// `vschema`, made relative to the file's directory.
    pub vschema: Option<PathBuf>,
    /// `unsharded_target`.
    pub unsharded_target: Option<String>,
    /// `[[sources]]`.
    pub sources: Vec<ServerSpec>,
    /// `[[targets]]`.
    pub targets: Vec<ServerSpec>,
    /// `[shard_by]` and `[unsharded]`, by table.
    pub rules: BTreeMap<String, FileRule>,
}

/// Reads and parses the file at `path`.
pub fn read(path: &Path) -> Result<ConfigFile, TopologyError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| TopologyError(format!("--config {}: cannot read it: {e}", path.display())))?;
    let mut file =
        parse(&text).map_err(|e| TopologyError(format!("--config {}: {}", path.display(), e.0)))?;
    if let Some(vschema) = &file.vschema
        && vschema.is_relative()
    {
        file.vschema = Some(path.parent().unwrap_or(Path::new(".")).join(vschema));
    }
    Ok(file)
}

/// Parses the file's text.
pub fn parse(text: &str) -> Result<ConfigFile, TopologyError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| TopologyError(e.to_string()))?;
    let mut rules = BTreeMap::new();
    for (table, spec) in &raw.shard_by {
        let (_, rule) = parse_shard_by(&format!("{table}={spec}"))?;
        rules.insert(table.clone(), FileRule::Shard(rule));
    }
    for (table, target) in &raw.unsharded {
        if rules.contains_key(table) {
            return Err(TopologyError(format!(
                "table '{table}' is both in [shard_by] and in [unsharded]; keep one"
            )));
        }
        rules.insert(table.clone(), FileRule::Place(TargetRef::parse(target)));
    }
    for (role, list) in [("sources", &raw.sources), ("targets", &raw.targets)] {
        if role == "sources"
            && list
                .iter()
                .any(|s| s.key_range.is_some() || s.name.is_some())
        {
            return Err(TopologyError(String::from(
                "[[sources]] take only a dsn; key_range and name belong to [[targets]]",
            )));
        }
    }
    Ok(ConfigFile {
        tables: raw.tables,
        vschema: raw.vschema,
        unsharded_target: raw.unsharded_target,
        sources: raw.sources,
        targets: raw.targets,
        rules,
    })
}
