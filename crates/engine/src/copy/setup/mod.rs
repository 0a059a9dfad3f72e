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

pub(crate) mod apply;
mod check;
mod discover;

pub use apply::{add_deferred_indexes, finish_targets};
use reshard_mysql::tables::{self, server_identity};
use reshard_mysql::{Session, connect};
use reshard_types::Dsn;

use super::{CopyTable, TableRoute};
use crate::error::{CopyError, Refusal};
use crate::topology::Topology;

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
    /// The move resumes from this checkpoint: target tables holding rows are expected (they
    /// are left as they are), and the run is refused when the checkpoint does not describe it
    /// (other servers, tables, schemas or rules) or the targets lost what it says was copied.
    pub resume: Option<crate::checkpoint::Checkpoint>,
    /// A checkpoint to delete once every check passed, before anything else is written
    /// (`--force` over a move that has one): the store's first target and moved tables.
    pub discard: Option<(Dsn, Vec<String>)>,
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
    /// Whether it holds rows and is kept (a resumed move).
    pub kept_rows: bool,
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
            target_names: topology.targets.iter().map(|t| t.name.clone()).collect(),
            router: topology.router.clone(),
            tables: self.tables.iter().map(|p| p.table.clone()).collect(),
            replicas: Vec::new(),
            target_suffix: String::new(),
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
    let mut databases = Vec::with_capacity(topology.sources.len());
    for source in &topology.sources {
        databases.push(database_of(source, "source")?.to_owned());
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
            let names = tables::list_tables(&mut sources[0], &databases[0]).await?;
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
    for name in &names {
        match plan_table(
            topology,
            options,
            &mut sources,
            &mut targets,
            &databases,
            name,
        )
        .await?
        {
            Ok(table) => planned.push(table),
            Err(refusals) => problems.extend(refusals),
        }
    }
    if !problems.is_empty() {
        return Err(CopyError::Refusals(problems));
    }
    if let Some(checkpoint) = &options.resume {
        let refusals = crate::checkpoint::resume::refusals(topology, checkpoint, &planned);
        if !refusals.is_empty() {
            return Err(CopyError::Refused(format!(
                "this move cannot resume from its checkpoint in `{}` on {}; nothing was written:\n- {}\nRun the command the move was started with, or discard the checkpoint and the copied rows with --force (or reshard reset)",
                crate::checkpoint::CHECKPOINT_TABLE,
                topology.targets[0].dsn,
                refusals.join("\n- ")
            )));
        }
    }
    // Every check passed: from here on, the targets are written. A discarded checkpoint goes
    // first, so that no checkpoint ever describes tables that were emptied.
    if let Some((first_target, tables)) = options.discard.clone() {
        tokio::task::spawn_blocking(move || {
            crate::checkpoint::CheckpointStore::new(&first_target, &tables).delete()
        })
        .await
        .map_err(|e| CopyError::Internal(format!("discarding the checkpoint stopped: {e}")))??;
    }
    let prepared = apply::apply(topology, options, &mut targets, planned).await?;
    for session in sources.into_iter().chain(targets) {
        let _ = session.close().await;
    }
    Ok(CopySetup { tables: prepared })
}

/// Reads and checks one table on the sources and on the targets that receive it: what setup
/// will do with it, or why it is refused. Reads only.
async fn plan_table(
    topology: &Topology,
    options: &SetupOptions,
    sources: &mut [Session],
    targets: &mut [Session],
    databases: &[String],
    name: &str,
) -> Result<Result<apply::Planned, Vec<Refusal>>, CopyError> {
    let facts = discover::on_sources(sources, databases, name).await?;
    let plan = match check::check_sources(topology, options, &facts) {
        Ok(plan) => plan,
        Err(refusals) => return Ok(Err(refusals)),
    };
    if !plan.key.is_primary() {
        let columns: Vec<&str> = plan
            .key
            .columns
            .iter()
            .map(|&i| plan.schema.columns[i].name.as_str())
            .collect();
        tracing::info!(
            "table {} has no primary key; its unique index `{}` ({}), whose columns are NOT NULL, identifies its rows instead",
            plan.schema.qualified_name(),
            plan.key.index,
            columns.join(", ")
        );
    }
    if let TableRoute::Shard { column, vindex } = plan.route
        && let Some(problem) = super::sharding_values::unmappable_value(
            sources,
            &topology.sources,
            &plan.schema,
            &plan.key,
            column,
            vindex,
        )
        .await?
    {
        return Ok(Err(vec![check::refusal(&databases[0], name, problem)]));
    }
    let mut on_targets = Vec::with_capacity(plan.receiving.len());
    for &t in &plan.receiving {
        let database = database_of(&topology.targets[t].dsn, "target")?;
        let found = discover::on_target(&mut targets[t], database, name).await?;
        match check::check_target(topology, options, &facts, &plan, t, found.as_ref()) {
            Ok(on) => on_targets.push(on),
            Err(refusal) => return Ok(Err(vec![refusal])),
        }
    }
    let first = facts.first.expect("checked by check_sources");
    let other_unique_keys = first
        .constraints
        .indexes
        .iter()
        .filter(|i| i.unique && i.name != plan.key.index)
        .map(|i| i.name.clone())
        .collect();
    Ok(Ok(apply::Planned {
        create: if options.defer_secondary_indexes {
            first.deferred.create
        } else {
            first.create
        },
        table: CopyTable {
            schema: plan.schema,
            key: plan.key,
            route: plan.route,
            other_unique_keys,
        },
        estimated_rows: plan.estimated_rows,
        on_targets,
    }))
}

/// The tables to verify, read-only: discovered and checked on the sources as a copy's are
/// (same columns and key everywhere, a key, a placement rule), and on every target that
/// receives them, present with the source's columns (what the row hashes cover). Indexes and
/// emptiness do not matter here. Writes nothing.
pub async fn plan_verify(topology: &Topology) -> Result<Vec<CopyTable>, CopyError> {
    plan_read_only(topology, None).await
}

/// The tables of a reverse stream ([`crate::job::ReverseJob`]), read-only: discovered and
/// checked on its sources (the move's targets) as a copy's are, each present on every target
/// (the move's sources) as `<table><suffix>` with the same columns. Writes nothing.
pub async fn plan_reverse(topology: &Topology, suffix: &str) -> Result<Vec<CopyTable>, CopyError> {
    plan_read_only(topology, Some(suffix)).await
}

/// [`plan_verify`], or with `reverse_suffix` [`plan_reverse`].
async fn plan_read_only(
    topology: &Topology,
    reverse_suffix: Option<&str>,
) -> Result<Vec<CopyTable>, CopyError> {
    let mut databases = Vec::with_capacity(topology.sources.len());
    for source in &topology.sources {
        databases.push(database_of(source, "source")?.to_owned());
    }
    let mut sources = Vec::with_capacity(topology.sources.len());
    for source in &topology.sources {
        sources.push(connect(source).await?);
    }
    let mut targets = Vec::with_capacity(topology.targets.len());
    for target in &topology.targets {
        database_of(&target.dsn, "target")?;
        targets.push(connect(&target.dsn).await?);
    }
    let names = match &topology.tables {
        Some(names) => names.clone(),
        None => tables::list_tables(&mut sources[0], &databases[0]).await?,
    };
    let mut problems = Vec::new();
    let mut planned = Vec::new();
    'tables: for name in &names {
        let facts = discover::on_sources(&mut sources, &databases, name).await?;
        let plan = match check::check_sources(topology, &SetupOptions::default(), &facts) {
            Ok(plan) => plan,
            Err(refusals) => {
                problems.extend(refusals);
                continue;
            }
        };
        let on_target = format!("{name}{}", reverse_suffix.unwrap_or_default());
        for &t in &plan.receiving {
            let dsn = &topology.targets[t].dsn;
            let database = database_of(dsn, "target")?;
            let problem = match discover::on_target(&mut targets[t], database, &on_target).await? {
                None if reverse_suffix.is_some() => Some(format!(
                    "{dsn} has no table `{database}`.`{on_target}` to send the targets' changes back into (dropped since the cutover?)"
                )),
                None => Some(format!(
                    "target {} ({dsn}) has no table `{database}`.`{name}`, which receives rows of the source's: nothing to compare; copy it first, or leave it out with --tables",
                    t + 1
                )),
                Some(found) => {
                    let differences = tables::schema_differences(&plan.schema, &found.schema);
                    (!differences.is_empty()).then(|| format!(
                        "`{database}`.`{on_target}` on {dsn} has other columns than the source's `{name}`, so {}:\n  - {}",
                        if reverse_suffix.is_some() { "changes cannot be sent back into it" } else { "its rows cannot be compared" },
                        differences.join("\n  - ")
                    ))
                }
            };
            if let Some(message) = problem {
                problems.push(check::refusal(&databases[0], name, message));
                continue 'tables;
            }
        }
        let first = facts.first.expect("checked by check_sources");
        planned.push(CopyTable {
            other_unique_keys: first
                .constraints
                .indexes
                .iter()
                .filter(|i| i.unique && i.name != plan.key.index)
                .map(|i| i.name.clone())
                .collect(),
            schema: plan.schema,
            key: plan.key,
            route: plan.route,
        });
    }
    for session in sources.into_iter().chain(targets) {
        let _ = session.close().await;
    }
    if !problems.is_empty() {
        let lines: Vec<String> = problems.into_iter().map(|p| p.message).collect();
        return Err(CopyError::Refused(format!(
            "{}:\n- {}",
            if reverse_suffix.is_some() {
                "the reverse stream cannot start; nothing was written"
            } else {
                "nothing was verified"
            },
            lines.join("\n- ")
        )));
    }
    Ok(planned)
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
