//! Before and after the copy: which tables, with which key and placement; refusals; creating
//! target tables (optionally without secondary indexes) and adding the indexes back; checking
//! row counts.
//!
//! Every check runs before anything is written: a copy that would be refused for one table
//! writes nothing to any table on any target. Checks: each table exists on every source with
//! the same columns and key (several sources must agree); it has a key; its placement rule
//! exists (several targets need one per table) and names an existing column of a routable type,
//! whose values on the sources its vindex can all map ([`super::sharding_values`]); a move's
//! table has no foreign key whose actions InnoDB carries out unlogged; on each target that
//! receives it, an existing table matches (columns, and by [`constraints::compare`] its indexes
//! and foreign keys) and is empty (or `--force`).

use reshard_convert::schema::arrow_type;
use reshard_kernels::column::is_routable;
use reshard_kernels::vindex::VindexKind;
use reshard_mysql::constraints::{self, Constraints};
use reshard_mysql::tables::{
    self, count_rows, defer_secondary_indexes, estimated_rows, is_empty, row_key, run_ddl,
    schema_differences, schema_differences_between, server_identity, show_create_table,
};
use reshard_mysql::{MysqlError, Session, connect, discover_table};
use reshard_types::{ColumnDef, ColumnType, Dsn, TableSchema};

use super::{CopyTable, TableRoute, in_database};
use crate::error::{CopyError, Refusal};
use crate::topology::{TableRule, Topology};

/// What `reshard copy` was asked to do with the target tables.
#[derive(Debug, Clone, Default)]
pub struct SetupOptions {
    /// Empty target tables that hold rows instead of refusing.
    pub force: bool,
    /// Create missing target tables without secondary indexes and foreign keys, and add them
    /// after the copy.
    pub defer_secondary_indexes: bool,
    /// The copy is part of an online move, which follows the sources' binary logs: tables whose
    /// rows InnoDB changes itself (foreign keys with `CASCADE`, `SET NULL`, `SET DEFAULT`) are
    /// refused, as those changes are not in the binary log.
    pub online: bool,
}

/// A table on one target.
#[derive(Debug, Clone)]
pub struct TargetTable {
    /// The target's index.
    pub target: usize,
    /// Whether the copy created the table there.
    pub created: bool,
    /// Whether it held rows and was emptied (`--force`).
    pub emptied: bool,
    /// `ADD ...` clauses for the source's indexes and foreign keys the table lacks there: those
    /// deferred when it was created, or missing from an existing table (one whose deferred
    /// indexes were never added back, say). Added after the copy with
    /// `--defer-secondary-indexes`, else before it.
    pub add_back: Vec<String>,
}

/// A table ready to be copied.
#[derive(Debug, Clone)]
pub struct PreparedTable {
    /// The table, its key and where its rows go.
    pub table: CopyTable,
    /// The sources' estimate of its rows, summed.
    pub estimated_rows: u64,
    /// The targets that receive its rows.
    pub targets: Vec<TargetTable>,
}

/// The prepared copy.
#[derive(Debug, Clone)]
pub struct CopySetup {
    /// The tables, by name.
    pub tables: Vec<PreparedTable>,
}

impl CopySetup {
    /// The plan that copies these tables between the servers of `topology`.
    pub fn plan(&self, topology: &Topology) -> super::CopyPlan {
        super::CopyPlan {
            sources: topology.sources.clone(),
            targets: topology.targets.iter().map(|t| t.dsn.clone()).collect(),
            router: topology.router.clone(),
            tables: self.tables.iter().map(|p| p.table.clone()).collect(),
        }
    }
}

/// The database a DSN names, or a refusal saying it must name one.
fn database_of<'a>(dsn: &'a Dsn, role: &str) -> Result<&'a str, CopyError> {
    dsn.database().ok_or_else(|| {
        CopyError::Refused(format!(
            "the {role} DSN {dsn} names no database; add it to the DSN's path (mysql://user:pw@host:port/database)"
        ))
    })
}

/// Discovers the tables on the sources, checks each against the rules and every target that
/// receives it, then (only when every check passed) creates missing target tables and empties
/// forced ones.
pub async fn prepare_copy(
    topology: &Topology,
    options: &SetupOptions,
) -> Result<CopySetup, CopyError> {
    let first = &topology.sources[0];
    let source_db = database_of(first, "source")?;
    for source in &topology.sources {
        database_of(source, "source")?;
    }
    for target in &topology.targets {
        database_of(&target.dsn, "target")?;
    }
    let mut sources = Vec::with_capacity(topology.sources.len());
    for source in &topology.sources {
        sources.push(connect(source).await?);
    }
    let mut targets = Vec::with_capacity(topology.targets.len());
    for target in &topology.targets {
        targets.push(connect(&target.dsn).await?);
    }
    same_database_twice(topology, &mut sources, &mut targets).await?;
    let names = match &topology.tables {
        Some(names) => names.clone(),
        None => {
            let names = tables::list_tables(&mut sources[0], source_db).await?;
            let unmatched = topology.unmatched_rules(&names);
            if !unmatched.is_empty() {
                return Err(CopyError::BadInput(format!(
                    "nothing was copied:\n- {}",
                    unmatched.join("\n- ")
                )));
            }
            names
        }
    };
    let mut problems = Vec::new();
    let mut planned = Vec::new();
    'tables: for name in &names {
        let schema = match discover_table(&mut sources[0], source_db, name).await {
            Ok(schema) => schema,
            Err(MysqlError::TableNotFound { .. }) => {
                problems.push(refusal(source_db, name, format!(
                    "table `{source_db}`.`{name}` does not exist on the source {first}; check --tables"
                )));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let mut estimated = estimated_rows(&mut sources[0], &schema).await?;
        for (i, source) in topology.sources.iter().enumerate().skip(1) {
            let db = database_of(source, "source")?;
            match discover_table(&mut sources[i], db, name).await {
                Ok(other) => {
                    let differences = schema_differences_between(
                        &schema,
                        &format!("source 1 ({first})"),
                        &other,
                        &format!("source {} ({source})", i + 1),
                    );
                    if !differences.is_empty() {
                        problems.push(refusal(source_db, name, format!(
                            "the sources disagree on table `{name}`; every source must hold it with the same columns and key:\n  - {}",
                            differences.join("\n  - ")
                        )));
                        continue 'tables;
                    }
                    estimated += estimated_rows(&mut sources[i], &other).await?;
                }
                Err(MysqlError::TableNotFound { .. }) => {
                    problems.push(refusal(source_db, name, format!(
                        "table `{db}`.`{name}` does not exist on source {} ({source}); every source must hold every copied table (use --tables to leave it out)",
                        i + 1
                    )));
                    continue 'tables;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let Some(key) = row_key(&mut sources[0], &schema).await? else {
            problems.push(refusal(source_db, name, format!(
                "table {} has no primary key and no unique index over NOT NULL columns, so its rows \
                 cannot be copied without risking duplicates; add a primary key, or leave the table out with --tables",
                schema.qualified_name()
            )));
            continue;
        };
        if !key.is_primary() {
            let columns: Vec<&str> = key
                .columns
                .iter()
                .map(|&i| schema.columns[i].name.as_str())
                .collect();
            tracing::info!(
                "table {} has no primary key; its unique index `{}` ({}), whose columns are NOT NULL, identifies its rows instead",
                schema.qualified_name(),
                key.index,
                columns.join(", ")
            );
        }
        let route = match route_of(topology, &schema) {
            Ok(route) => route,
            Err(problem) => {
                problems.push(refusal(source_db, name, problem));
                continue;
            }
        };
        if let TableRoute::Shard { column, vindex } = route
            && let Some(problem) = super::sharding_values::unmappable_value(
                &mut sources,
                &topology.sources,
                &schema,
                &key,
                column,
                vindex,
            )
            .await?
        {
            problems.push(refusal(source_db, name, problem));
            continue;
        }
        let receiving: Vec<usize> = match route {
            TableRoute::To(t) => vec![t],
            TableRoute::Shard { .. } | TableRoute::Everywhere => {
                (0..topology.targets.len()).collect()
            }
        };
        let source_constraints = Constraints::read(&mut sources[0], source_db, name).await?;
        if options.online {
            let acting = cascading_foreign_keys(&schema, &source_constraints);
            if !acting.is_empty() {
                problems.extend(acting.into_iter().map(|m| refusal(source_db, name, m)));
                continue;
            }
        }
        let create = show_create_table(&mut sources[0], source_db, name).await?;
        let split = defer_secondary_indexes(&create, &key.index);
        let mut on_targets = Vec::with_capacity(receiving.len());
        for &t in &receiving {
            let target = &topology.targets[t].dsn;
            let target_db = database_of(target, "target")?;
            match discover_table(&mut targets[t], target_db, name).await {
                Ok(existing) => {
                    let mut differences = schema_differences(&schema, &existing);
                    let target_constraints =
                        Constraints::read(&mut targets[t], target_db, name).await?;
                    let comparison =
                        constraints::compare(&source_constraints, &target_constraints, &key.index);
                    differences.extend(comparison.refusals);
                    let (add_back, unknown) = clauses_for(&split.add_back, &comparison.missing);
                    differences.extend(unknown.into_iter().map(|name| {
                        format!("the target lacks `{name}`, which reshard cannot add from the source's definition; add it")
                    }));
                    if !differences.is_empty() {
                        problems.push(refusal(source_db, name, format!(
                            "target table {} on {target} differs from the source's:\n  - {}\n  make it match, or drop it so reshard creates it",
                            existing.qualified_name(),
                            differences.join("\n  - ")
                        )));
                        continue 'tables;
                    }
                    let empty = is_empty(&mut targets[t], &existing).await?;
                    if !empty && !options.force {
                        problems.push(refusal(source_db, name, format!(
                            "target table {} on {target} is not empty; empty it, or pass --force to have reshard empty it first",
                            existing.qualified_name()
                        )));
                        continue 'tables;
                    }
                    if !comparison.harmless.is_empty() {
                        tracing::info!(table = %existing.qualified_name(), target = %target, "the target table's indexes differ from the source's where no row can be lost (left as they are): {}", comparison.harmless.join("; "));
                    }
                    if !add_back.is_empty() {
                        tracing::warn!(table = %existing.qualified_name(), target = %target, "the target table lacks the source's {}; adding them", add_back.join(", "));
                    }
                    on_targets.push(TargetTable {
                        target: t,
                        created: false,
                        emptied: !empty,
                        add_back,
                    });
                }
                Err(MysqlError::TableNotFound { .. }) => on_targets.push(TargetTable {
                    target: t,
                    created: true,
                    emptied: false,
                    add_back: if options.defer_secondary_indexes {
                        split.add_back.clone()
                    } else {
                        Vec::new()
                    },
                }),
                Err(e) => return Err(e.into()),
            }
        }
        let other_unique_keys = source_constraints
            .indexes
            .iter()
            .filter(|i| i.unique && i.name != key.index)
            .map(|i| i.name.clone())
            .collect();
        planned.push((
            CopyTable {
                schema,
                key,
                route,
                other_unique_keys,
            },
            estimated,
            on_targets,
            if options.defer_secondary_indexes {
                split.create
            } else {
                create
            },
        ));
    }
    if !problems.is_empty() {
        return Err(CopyError::Refusals(problems));
    }
    // Every check passed: from here on, the targets are written. Tables are created in any
    // order, so a foreign key may name a parent not created yet: allowed with the checks off.
    for session in &mut targets {
        run_ddl(session, "SET SESSION foreign_key_checks = 0").await?;
    }
    let mut prepared = Vec::with_capacity(planned.len());
    for (table, estimated, mut on_targets, create) in planned {
        for on in &mut on_targets {
            let target = &topology.targets[on.target].dsn;
            let target_schema = in_database(&table.schema, target);
            let session = &mut targets[on.target];
            if on.created {
                run_ddl(session, &create).await?;
                tracing::info!(table = %target_schema.qualified_name(), target = %target, deferred = on.add_back.len(), "created the target table");
                continue;
            }
            if on.emptied {
                tables::truncate(session, &target_schema).await?;
                tracing::warn!(table = %target_schema.qualified_name(), target = %target, "emptied the target table (--force)");
            }
            if !options.defer_secondary_indexes && !on.add_back.is_empty() {
                add_indexes(session, &target_schema, &on.add_back).await?;
                on.add_back.clear();
            }
        }
        prepared.push(PreparedTable {
            table,
            estimated_rows: estimated,
            targets: on_targets,
        });
    }
    for session in sources.into_iter().chain(targets) {
        let _ = session.close().await;
    }
    Ok(CopySetup { tables: prepared })
}

/// A refusal about `database`.`table`.
fn refusal(database: &str, table: &str, message: String) -> Refusal {
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

/// Adds indexes and foreign keys (`ADD ...` clauses) to a target table in one `ALTER TABLE`.
async fn add_indexes(
    session: &mut Session,
    table: &TableSchema,
    clauses: &[String],
) -> Result<(), CopyError> {
    let sql = format!(
        "ALTER TABLE {} {}",
        reshard_mysql::reader::table_sql(table),
        clauses.join(", ")
    );
    tracing::info!(table = %table.qualified_name(), target = %session.dsn(), indexes = clauses.len(), "adding indexes");
    run_ddl(session, &sql).await?;
    Ok(())
}

/// Refuses a database given twice among the sources and targets (by the servers' own identity,
/// so `localhost` and `127.0.0.1` are the same): a target that is a source would be written to,
/// and two targets that are one database would receive each other's rows.
async fn same_database_twice(
    topology: &Topology,
    sources: &mut [Session],
    targets: &mut [Session],
) -> Result<(), CopyError> {
    let mut seen: Vec<((String, u16, u32), String, String)> = Vec::new();
    let servers = topology
        .sources
        .iter()
        .enumerate()
        .map(|(i, dsn)| (format!("source {}", i + 1), dsn))
        .chain(
            topology
                .targets
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("target {} [{}]", i + 1, t.name), &t.dsn)),
        );
    let sessions = sources.iter_mut().chain(targets.iter_mut());
    for ((role, dsn), session) in servers.zip(sessions) {
        let identity = server_identity(session).await?;
        let database = dsn.database().unwrap_or_default().to_owned();
        if let Some((_, _, other)) = seen
            .iter()
            .find(|(id, db, _)| *id == identity && *db == database)
        {
            return Err(CopyError::Refused(format!(
                "{role} ({dsn}) is the same server and database as {other}; nothing was copied. \
                 Give each database once (two databases of one server are fine)"
            )));
        }
        seen.push((identity, database, role));
    }
    Ok(())
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

/// After the copy: adds deferred indexes back, then checks that every target table holds as
/// many rows as were routed to it (`rows_per_target[table][target]`): for an offline copy
/// (sources quiet) anything else is a lost or extra row.
pub async fn finish_targets(
    targets: &[Dsn],
    setup: &CopySetup,
    rows_per_target: &[Vec<u64>],
) -> Result<(), CopyError> {
    for (t, target) in targets.iter().enumerate() {
        let mut dst: Session = connect(target).await?;
        for prepared in &setup.tables {
            let Some(on) = prepared.targets.iter().find(|on| on.target == t) else {
                continue;
            };
            if !on.add_back.is_empty() {
                let schema = in_database(&prepared.table.schema, target);
                add_indexes(&mut dst, &schema, &on.add_back).await?;
            }
        }
        for (prepared, routed) in setup.tables.iter().zip(rows_per_target) {
            if !prepared.targets.iter().any(|on| on.target == t) {
                continue;
            }
            let schema = in_database(&prepared.table.schema, target);
            let count = count_rows(&mut dst, &schema).await?;
            let expected = routed[t];
            if count != expected {
                return Err(CopyError::Mismatch(format!(
                    "target table {} on {target} holds {count} rows, but {expected} were read for it from the sources; \
                     was a source or the target written to during the copy, or do two sources hold rows with the same key? \
                     (reshard copy needs quiet sources with disjoint rows; use reshard move for live ones)",
                    schema.qualified_name()
                )));
            }
        }
        let _ = dst.close().await;
    }
    Ok(())
}
