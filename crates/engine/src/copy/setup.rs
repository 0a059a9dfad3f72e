//! Before and after the copy: which tables, with which key; refusals; creating target tables
//! (optionally without secondary indexes) and adding the indexes back; checking row counts.
//!
//! Every check runs before anything is written: a copy that would be refused for one table
//! writes nothing to any table.

use reshard_mysql::tables::{
    self, count_rows, defer_secondary_indexes, estimated_rows, is_empty, row_key, run_ddl,
    schema_differences, show_create_table,
};
use reshard_mysql::{MysqlError, Session, connect, discover_table};
use reshard_types::{Dsn, TableSchema};

use super::CopyTable;
use crate::error::CopyError;

/// What `reshard copy` was asked to do with the tables.
#[derive(Debug, Clone, Default)]
pub struct SetupOptions {
    /// Only these tables (all base tables of the source database when `None`).
    pub tables: Option<Vec<String>>,
    /// Empty target tables that hold rows instead of refusing.
    pub force: bool,
    /// Create missing target tables without secondary indexes and foreign keys, and add them
    /// after the copy.
    pub defer_secondary_indexes: bool,
}

/// A table ready to be copied.
#[derive(Debug, Clone)]
pub struct PreparedTable {
    /// The table and its key.
    pub table: CopyTable,
    /// The source's estimate of its rows.
    pub estimated_rows: u64,
    /// Whether the target table was created by this copy.
    pub created: bool,
    /// Whether the target table held rows and was emptied (`--force`).
    pub emptied: bool,
    /// `ADD ...` clauses to run on the target after the copy (deferred indexes).
    pub add_back: Vec<String>,
}

/// The prepared copy.
#[derive(Debug, Clone)]
pub struct CopySetup {
    /// The tables, by name.
    pub tables: Vec<PreparedTable>,
}

/// The database a DSN names, or a refusal saying it must name one.
fn database_of<'a>(dsn: &'a Dsn, role: &str) -> Result<&'a str, CopyError> {
    dsn.database().ok_or_else(|| {
        CopyError::Refused(format!(
            "the {role} DSN {dsn} names no database; add it to the DSN's path (mysql://user:pw@host:port/database)"
        ))
    })
}

/// Discovers the tables on `source`, checks each against `target`, then (only when every check
/// passed) creates missing target tables and empties forced ones.
pub async fn prepare_copy(
    source: &Dsn,
    target: &Dsn,
    options: &SetupOptions,
) -> Result<CopySetup, CopyError> {
    let source_db = database_of(source, "source")?;
    let target_db = database_of(target, "target")?;
    let mut src = connect(source).await?;
    let mut dst = connect(target).await?;
    let names = match &options.tables {
        Some(names) => names.clone(),
        None => tables::list_tables(&mut src, source_db).await?,
    };
    let mut problems = Vec::new();
    let mut planned = Vec::new();
    for name in &names {
        let schema = match discover_table(&mut src, source_db, name).await {
            Ok(schema) => schema,
            Err(MysqlError::TableNotFound { .. }) => {
                problems.push(format!(
                    "table `{source_db}`.`{name}` does not exist on the source {source}; check --tables"
                ));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let Some(key) = row_key(&mut src, &schema).await? else {
            problems.push(format!(
                "table {} has no primary key and no unique index over NOT NULL columns, so its rows \
                 cannot be copied without risking duplicates; add a primary key, or leave the table out with --tables",
                schema.qualified_name()
            ));
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
        let estimated = estimated_rows(&mut src, &schema).await?;
        let target_schema = TableSchema {
            database: target_db.to_owned(),
            ..schema.clone()
        };
        let (exists, empty) = match discover_table(&mut dst, target_db, name).await {
            Ok(existing) => {
                let differences = schema_differences(&schema, &existing);
                if !differences.is_empty() {
                    problems.push(format!(
                        "target table {} on {target} differs from the source's:\n  - {}\n  make it match, or drop it so reshard creates it",
                        existing.qualified_name(),
                        differences.join("\n  - ")
                    ));
                    continue;
                }
                let empty = is_empty(&mut dst, &existing).await?;
                if !empty && !options.force {
                    problems.push(format!(
                        "target table {} on {target} is not empty; empty it, or pass --force to have reshard empty it first",
                        existing.qualified_name()
                    ));
                    continue;
                }
                (true, empty)
            }
            Err(MysqlError::TableNotFound { .. }) => (false, true),
            Err(e) => return Err(e.into()),
        };
        planned.push((schema, target_schema, key, estimated, exists, empty));
    }
    if !problems.is_empty() {
        return Err(CopyError::Refused(format!(
            "nothing was copied:\n- {}",
            problems.join("\n- ")
        )));
    }
    let mut prepared = Vec::with_capacity(planned.len());
    for (schema, target_schema, key, estimated, exists, empty) in planned {
        let mut add_back = Vec::new();
        if !exists {
            let ddl = show_create_table(&mut src, source_db, &schema.name).await?;
            let create = if options.defer_secondary_indexes {
                let split = defer_secondary_indexes(&ddl, &key.index);
                add_back = split.add_back;
                split.create
            } else {
                ddl
            };
            run_ddl(&mut dst, &create).await?;
            tracing::info!(table = %target_schema.qualified_name(), deferred = add_back.len(), "created the target table");
        } else if !empty {
            tables::truncate(&mut dst, &target_schema).await?;
            tracing::warn!(table = %target_schema.qualified_name(), "emptied the target table (--force)");
        }
        prepared.push(PreparedTable {
            table: CopyTable { schema, key },
            estimated_rows: estimated,
            created: !exists,
            emptied: exists && !empty,
            add_back,
        });
    }
    let _ = src.close().await;
    let _ = dst.close().await;
    Ok(CopySetup { tables: prepared })
}

/// After the copy: adds deferred indexes back, then checks that every target table holds as
/// many rows as were read for it (`rows_read`, per table in setup order): for an offline copy
/// (sources quiet) anything else is a lost or extra row.
pub async fn finish_targets(
    target: &Dsn,
    setup: &CopySetup,
    rows_read: &[u64],
) -> Result<(), CopyError> {
    let mut dst: Session = connect(target).await?;
    let on_target = |schema: &TableSchema| TableSchema {
        database: target.database().unwrap_or(&schema.database).to_owned(),
        ..schema.clone()
    };
    for prepared in &setup.tables {
        if prepared.add_back.is_empty() {
            continue;
        }
        let schema = &on_target(&prepared.table.schema);
        let sql = format!(
            "ALTER TABLE {} {}",
            reshard_mysql::reader::table_sql(schema),
            prepared.add_back.join(", ")
        );
        tracing::info!(table = %schema.qualified_name(), indexes = prepared.add_back.len(), "adding deferred indexes");
        run_ddl(&mut dst, &sql).await?;
    }
    for (prepared, &read) in setup.tables.iter().zip(rows_read) {
        let schema = &on_target(&prepared.table.schema);
        let count = count_rows(&mut dst, schema).await?;
        if count != read {
            return Err(CopyError::Mismatch(format!(
                "target table {} on {target} holds {count} rows, but {read} were read from the source; \
                 was a source or the target written to during the copy? (reshard copy needs quiet sources; use reshard move for live ones)",
                schema.qualified_name()
            )));
        }
    }
    let _ = dst.close().await;
    Ok(())
}
