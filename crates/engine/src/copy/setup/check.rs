//! The checks of setup, without a server: given what [`super::discover`] read, is the table
//! copyable, where do its rows go, and what must be done to each target that receives it?
//!
//! Each check returns the refusals to report (messages name the table, the server and the fix);
//! setup collects them for every table before it writes anything.

use reshard_convert::schema::arrow_type;
use reshard_kernels::column::is_routable;
use reshard_kernels::vindex::VindexKind;
use reshard_mysql::constraints::{self, Constraints};
use reshard_mysql::tables::{self, schema_differences, schema_differences_between};
use reshard_types::{ColumnDef, ColumnType, RowKey, TableSchema};

use super::discover::{SourceFacts, TargetFacts};
use super::{SetupOptions, TargetTable};
use crate::copy::TableRoute;
use crate::error::Refusal;
use crate::topology::{TableRule, Topology};

/// A table the sources agree on, with its key and its placement.
#[derive(Debug, Clone)]
pub(super) struct SourcePlan {
    /// Its definition on the first source.
    pub schema: TableSchema,
    /// The sources' estimates of its rows, summed.
    pub estimated_rows: u64,
    /// The key its rows are identified by.
    pub key: RowKey,
    /// Where its rows go.
    pub route: TableRoute,
    /// The targets that receive its rows.
    pub receiving: Vec<usize>,
}

/// Checks a table as the sources hold it: on every source, with the same columns and key; with
/// a key; with a placement rule that names a routable column; for a move, without foreign keys
/// whose actions InnoDB carries out unlogged.
pub(super) fn check_sources(
    topology: &Topology,
    options: &SetupOptions,
    facts: &SourceFacts,
) -> Result<SourcePlan, Vec<Refusal>> {
    let (name, source_db) = (&facts.name, &facts.databases[0]);
    let one = |message: String| vec![refusal(source_db, name, message)];
    let Some(first) = &facts.first else {
        return Err(one(format!(
            "table `{source_db}`.`{name}` does not exist on the source {}; check --tables",
            topology.sources[0]
        )));
    };
    let mut estimated_rows = first.estimated_rows;
    for (i, other) in facts.others.iter().enumerate() {
        let number = i + 2;
        let source = &topology.sources[i + 1];
        let Some((schema, estimated)) = other else {
            return Err(one(format!(
                "table `{}`.`{name}` does not exist on source {number} ({source}); every source must hold every copied table (use --tables to leave it out)",
                facts.databases[i + 1]
            )));
        };
        let differences = schema_differences_between(
            &first.schema,
            &format!("source 1 ({})", topology.sources[0]),
            schema,
            &format!("source {number} ({source})"),
        );
        if !differences.is_empty() {
            return Err(one(format!(
                "the sources disagree on table `{name}`; every source must hold it with the same columns and key:\n  - {}",
                differences.join("\n  - ")
            )));
        }
        estimated_rows += estimated;
    }
    let schema = &first.schema;
    let Some(key) = first.key.clone() else {
        return Err(one(format!(
            "table {} has no primary key and no unique index over NOT NULL columns, so its rows \
             cannot be copied without risking duplicates; add a primary key, or leave the table out with --tables",
            schema.qualified_name()
        )));
    };
    let route = route_of(topology, schema).map_err(one)?;
    if options.online {
        let acting = cascading_foreign_keys(schema, &first.constraints);
        if !acting.is_empty() {
            return Err(acting
                .into_iter()
                .map(|m| refusal(source_db, name, m))
                .collect());
        }
    }
    let receiving = match route {
        TableRoute::To(t) => vec![t],
        TableRoute::Shard { .. } | TableRoute::Everywhere => (0..topology.targets.len()).collect(),
    };
    Ok(SourcePlan {
        schema: schema.clone(),
        estimated_rows,
        key,
        route,
        receiving,
    })
}

/// Checks the table on one target that receives it: an existing table must match the source's
/// (columns; indexes and foreign keys by [`constraints::compare`]) and be empty unless forced.
/// Returns what setup does there: create it, empty it, add what it lacks.
pub(super) fn check_target(
    topology: &Topology,
    options: &SetupOptions,
    facts: &SourceFacts,
    plan: &SourcePlan,
    target: usize,
    on_target: Option<&TargetFacts>,
) -> Result<TargetTable, Refusal> {
    let first = facts.first.as_ref().expect("checked by check_sources");
    let deferred = &first.deferred;
    let Some(existing) = on_target else {
        return Ok(TargetTable {
            target,
            created: true,
            emptied: false,
            kept_rows: false,
            add_back: if options.defer_secondary_indexes {
                deferred.add_back.clone()
            } else {
                Vec::new()
            },
        });
    };
    let (name, source_db) = (&facts.name, &facts.databases[0]);
    let dsn = &topology.targets[target].dsn;
    let mut differences = schema_differences(&plan.schema, &existing.schema);
    let comparison =
        constraints::compare(&first.constraints, &existing.constraints, &plan.key.index);
    differences.extend(comparison.refusals);
    let (add_back, unknown) = clauses_for(&deferred.add_back, &comparison.missing);
    differences.extend(unknown.into_iter().map(|name| {
        format!("the target lacks `{name}`, which reshard cannot add from the source's definition; add it")
    }));
    let table = existing.schema.qualified_name();
    if !differences.is_empty() {
        return Err(refusal(
            source_db,
            name,
            format!(
                "target table {table} on {dsn} differs from the source's:\n  - {}\n  make it match, or drop it so reshard creates it",
                differences.join("\n  - ")
            ),
        ));
    }
    if !existing.empty && !options.force && options.resume.is_none() {
        return Err(refusal(
            source_db,
            name,
            format!(
                "target table {table} on {dsn} is not empty; empty it, or pass --force to have reshard empty it first"
            ),
        ));
    }
    if !comparison.harmless.is_empty() {
        tracing::info!(table = %table, target = %dsn, "the target table's indexes differ from the source's where no row can be lost (left as they are): {}", comparison.harmless.join("; "));
    }
    if !add_back.is_empty() {
        tracing::warn!(table = %table, target = %dsn, "the target table lacks the source's {}; adding them", add_back.join(", "));
    }
    Ok(TargetTable {
        target,
        created: false,
        emptied: !existing.empty && options.resume.is_none(),
        kept_rows: !existing.empty && options.resume.is_some(),
        add_back,
    })
}

/// A refusal about `database`.`table`.
pub(super) fn refusal(database: &str, table: &str, message: String) -> Refusal {
    Refusal {
        table: Some(format!("`{database}`.`{table}`")),
        message,
    }
}

/// The refusals of a table whose rows InnoDB changes itself when a parent row changes (foreign
/// keys with `CASCADE`, `SET NULL` or `SET DEFAULT` actions): the binary log does not carry those
/// changes, so an online move would leave the targets' rows different from the sources'.
fn cascading_foreign_keys(schema: &TableSchema, constraints: &Constraints) -> Vec<String> {
    constraints
        .foreign_keys
        .iter()
        .filter_map(|fk| {
            let actions = fk.acts_on_rows();
            (!actions.is_empty()).then(|| {
                format!(
                    "table {} has foreign key `{}` ({}) on `{}`.`{}`: when a parent row changes, InnoDB changes \
                     this table's rows itself and the binary log does not carry those changes, so a move \
                     cannot follow them. Make the action RESTRICT for the move (ALTER TABLE ... DROP FOREIGN KEY `{}`, \
                     ADD CONSTRAINT ... ON DELETE RESTRICT ON UPDATE RESTRICT) and have the application change \
                     the children itself, or copy the table with reshard copy while the application is stopped",
                    schema.qualified_name(),
                    fk.name,
                    actions.join(", "),
                    fk.parent_database,
                    fk.parent_table,
                    fk.name,
                )
            })
        })
        .collect()
}

/// The clauses of `clauses` (the source's `ADD ...` clauses) that add what is `missing`, matched
/// by name and kind (MariaDB names a foreign key's index after the key), and the names of what is
/// missing that no clause adds.
fn clauses_for(clauses: &[String], missing: &[constraints::Missing]) -> (Vec<String>, Vec<String>) {
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for m in missing {
        let clause = clauses.iter().find(|c| {
            let is_foreign = c.starts_with("ADD CONSTRAINT ") && c.contains(" FOREIGN KEY ");
            is_foreign == m.foreign_key
                && tables::clause_name(c).as_deref() == Some(m.name.as_str())
        });
        match clause {
            Some(c) => found.push(c.clone()),
            None => unknown.push(m.name.clone()),
        }
    }
    (found, unknown)
}

/// Where the rows of `schema` go, or the problem to report.
fn route_of(topology: &Topology, schema: &TableSchema) -> Result<TableRoute, String> {
    let table = schema.qualified_name();
    let Some(rule) = topology.rule_for(&schema.name) else {
        return Err(format!(
            "table {table} has no sharding rule, and there are {} targets: give --shard-by {}=COLUMN:VINDEX, \
             or name the target of unsharded tables with --unsharded-target (a key range, a position, or 'all')",
            topology.targets.len(),
            schema.name
        ));
    };
    match rule {
        TableRule::To(t) => Ok(TableRoute::To(*t)),
        TableRule::Everywhere => Ok(TableRoute::Everywhere),
        TableRule::Shard { column, vindex } => {
            let Some(index) = schema.columns.iter().position(|c| &c.name == column) else {
                let names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
                return Err(format!(
                    "the sharding column `{column}` of table {table} does not exist; its columns are: {}",
                    names.join(", ")
                ));
            };
            let def = &schema.columns[index];
            let kind_ok = matches!(
                def.ty,
                ColumnType::Int { .. }
                    | ColumnType::Char { .. }
                    | ColumnType::VarChar { .. }
                    | ColumnType::Text { .. }
            );
            if !kind_ok || !is_routable(&arrow_type(def)) {
                return Err(format!(
                    "the sharding column `{column}` of table {table} is {}; reshard shards by integer and string columns",
                    def.column_type
                ));
            }
            check_sharding_charset(&table, column, def, *vindex)?;
            Ok(TableRoute::Shard {
                column: index,
                vindex: *vindex,
            })
        }
    }
}

/// Refuses a text sharding column whose bytes Vitess would not see as reshard reads them.
///
/// reshard routes by the column's bytes in its own character set; Vitess's vindexes see the value
/// in its connection's character set (utf8mb4). The two agree for UTF-8 and ASCII columns (and
/// binary strings). For the vindexes that hash the text (`xxhash`, `binary`, `binary_md5`,
/// `unicode_loose_*`) any other character set could put a non-ASCII value on another shard than
/// Vitess would; the integer vindexes only need the digits to read as ASCII.
fn check_sharding_charset(
    table: &str,
    column: &str,
    def: &ColumnDef,
    vindex: VindexKind,
) -> Result<(), String> {
    let Some(charset) = def.charset.as_deref() else {
        return Ok(()); // not a text column
    };
    let same_bytes = matches!(charset, "utf8mb4" | "utf8mb3" | "utf8" | "ascii" | "binary");
    let digits_read = !matches!(charset, "ucs2" | "utf16" | "utf16le" | "utf32");
    if same_bytes || (vindex.maps_integers() && digits_read) {
        return Ok(());
    }
    Err(format!(
        "the sharding column `{column}` of table {table} is in character set {charset}: Vitess's {} vindex \
         sees its values as utf8mb4, reshard would route by their {charset} bytes, and a non-ASCII value \
         could land on another shard than Vitess puts it; convert the column to utf8mb4 \
         (ALTER TABLE ... MODIFY `{column}` ... CHARACTER SET utf8mb4) or shard by another column",
        vindex.name()
    ))
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
