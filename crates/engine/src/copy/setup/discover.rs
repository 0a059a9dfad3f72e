//! What setup reads about a table before it checks anything: its definition, size, key,
//! indexes, foreign keys and DDL on the sources, and its state on each target that would
//! receive it. Reads only; [`super::check`] decides from what is read here.

use reshard_mysql::constraints::Constraints;
use reshard_mysql::tables::{
    DeferredDdl, defer_secondary_indexes, estimated_rows, is_empty, row_key, show_create_table,
};
use reshard_mysql::{MysqlError, Session, discover_table};
use reshard_types::{RowKey, TableSchema};

use crate::error::CopyError;

/// A table as the sources hold it.
#[derive(Debug, Clone)]
pub(super) struct SourceFacts {
    /// Its name.
    pub name: String,
    /// The database of each source, in source order.
    pub databases: Vec<String>,
    /// What the first source holds; `None` when it lacks the table (nothing else is read then).
    pub first: Option<FirstSource>,
    /// Each other source's definition and row estimate; `None` where it lacks the table.
    pub others: Vec<Option<(TableSchema, u64)>>,
}

/// The table on the first source, whose definition the targets receive.
#[derive(Debug, Clone)]
pub(super) struct FirstSource {
    /// Its definition.
    pub schema: TableSchema,
    /// The server's estimate of its rows.
    pub estimated_rows: u64,
    /// Its row key; `None` when it has neither a primary key nor a unique NOT NULL index.
    pub key: Option<RowKey>,
    /// Its indexes and foreign keys.
    pub constraints: Constraints,
    /// `SHOW CREATE TABLE`.
    pub create: String,
    /// The same, split into a `CREATE` with the row key only and the clauses adding the rest.
    pub deferred: DeferredDdl,
}

/// The table on a target.
#[derive(Debug, Clone)]
pub(super) struct TargetFacts {
    /// Its definition there.
    pub schema: TableSchema,
    /// Its indexes and foreign keys there.
    pub constraints: Constraints,
    /// Whether it holds no row.
    pub empty: bool,
}

/// Reads table `name` on every source (`sources[i]` is a session on the database
/// `databases[i]`).
pub(super) async fn on_sources(
    sources: &mut [Session],
    databases: &[String],
    name: &str,
) -> Result<SourceFacts, CopyError> {
    let mut facts = SourceFacts {
        name: name.to_owned(),
        databases: databases.to_vec(),
        first: None,
        others: Vec::with_capacity(sources.len().saturating_sub(1)),
    };
    let Some(schema) = table_or_none(&mut sources[0], &databases[0], name).await? else {
        return Ok(facts);
    };
    let rows = estimated_rows(&mut sources[0], &schema).await?;
    for (session, database) in sources.iter_mut().zip(databases).skip(1) {
        let other = match table_or_none(session, database, name).await? {
            Some(other) => {
                let estimate = estimated_rows(session, &other).await?;
                Some((other, estimate))
            }
            None => None,
        };
        facts.others.push(other);
    }
    let key = row_key(&mut sources[0], &schema).await?;
    let constraints = Constraints::read(&mut sources[0], &databases[0], name).await?;
    let create = show_create_table(&mut sources[0], &databases[0], name).await?;
    let keep = key.as_ref().map_or("PRIMARY", |k| k.index.as_str());
    let deferred = defer_secondary_indexes(&create, keep);
    facts.first = Some(FirstSource {
        schema,
        estimated_rows: rows,
        key,
        constraints,
        create,
        deferred,
    });
    Ok(facts)
}

/// Reads table `name` in `database` on a target; `None` when it does not exist.
pub(super) async fn on_target(
    session: &mut Session,
    database: &str,
    name: &str,
) -> Result<Option<TargetFacts>, CopyError> {
    let Some(schema) = table_or_none(session, database, name).await? else {
        return Ok(None);
    };
    let constraints = Constraints::read(session, database, name).await?;
    let empty = is_empty(session, &schema).await?;
    Ok(Some(TargetFacts {
        schema,
        constraints,
        empty,
    }))
}

/// The table's definition, or `None` when it does not exist.
async fn table_or_none(
    session: &mut Session,
    database: &str,
    name: &str,
) -> Result<Option<TableSchema>, CopyError> {
    match discover_table(session, database, name).await {
        Ok(schema) => Ok(Some(schema)),
        Err(MysqlError::TableNotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
