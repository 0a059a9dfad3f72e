//! Change application throughput: applies a source's binlog from a position to a target that
//! already holds the tables as of that position, until it reaches the source's binlog end, and
//! prints what it applied and how fast. `scripts/bench-apply.sh` sets the stage and runs it next
//! to `mariadb-binlog | mariadb` over the same range.
//!
//! ```text
//! [APPLY_CONNECTIONS=4] cargo run --release -p reshard-engine --example apply_bench -- \
//!     SOURCE_DSN TARGET_DSN TABLE[,TABLE...] BINLOG_FILE:POSITION
//! ```
//!
//! `APPLY_CONNECTIONS` is the number of connections the target is written over (the move's
//! `--write-threads`). `APPLY_CHECKPOINT=1` keeps the move's checkpoint on the target as a
//! move does (`scripts/bench-checkpoint.sh` compares the two).

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use reshard_engine::checkpoint::{
    Checkpoint, CheckpointStore, Identity, Phase, Resume, StoredPosition,
};
use reshard_engine::copy::{CopyOptions, CopyPlan, CopyTable, TableRoute};
use reshard_engine::online::{Checkpointing, MoveOptions, MoveProgress, SourceLag, run_move_then};
use reshard_engine::progress::{CopyProgress, TableProgress};
use reshard_kernels::route::Router;
use reshard_mysql::{connect, discover_table, tables::row_key};
use reshard_types::{BinlogPosition, Dsn};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [source, target, tables, from] = args.as_slice() else {
        return Err(
            "usage: apply_bench SOURCE_DSN TARGET_DSN TABLE[,TABLE...] FILE:POSITION".into(),
        );
    };
    let source = Dsn::parse(source)?;
    let target = Dsn::parse(target)?;
    let (file, offset) = from
        .rsplit_once(':')
        .ok_or("the position is FILE:POSITION")?;
    let from = BinlogPosition::new(file.to_owned(), offset.parse()?);
    let runtime = tokio::runtime::Runtime::new()?;
    let database = source
        .database()
        .ok_or("the source DSN names no database")?
        .to_owned();
    let copy_tables = runtime.block_on(async {
        let mut session = connect(&source).await?;
        let mut out = Vec::new();
        for name in tables.split(',') {
            let schema = discover_table(&mut session, &database, name).await?;
            let key = row_key(&mut session, &schema)
                .await?
                .ok_or_else(|| format!("{name} has no key"))?;
            let other_unique_keys =
                reshard_mysql::constraints::read_indexes(&mut session, &database, name)
                    .await?
                    .into_iter()
                    .filter(|i| i.unique && i.name != key.index)
                    .map(|i| i.name)
                    .collect();
            out.push(CopyTable {
                schema,
                key,
                route: TableRoute::To(0),
                other_unique_keys,
            });
        }
        Ok::<_, Box<dyn std::error::Error>>(out)
    })?;
    let plan = CopyPlan {
        sources: vec![source.clone()],
        targets: vec![target],
        target_names: vec![String::from("-")],
        router: Router::single(),
        tables: copy_tables,
        replicas: Vec::new(),
        target_suffix: String::new(),
    };
    let progress = MoveProgress::new(
        CopyProgress::new(
            plan.tables
                .iter()
                .map(|t| TableProgress::new(t.schema.qualified_name(), 0, 1))
                .collect(),
        ),
        vec![SourceLag::new(source.to_string(), from.clone())],
    );
    let connections = std::env::var("APPLY_CONNECTIONS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(CopyOptions::default().write_threads);
    let options = MoveOptions {
        copy: CopyOptions {
            write_threads: connections,
            ..CopyOptions::default()
        },
        stop_when_caught_up: Some(std::time::Duration::ZERO),
        server_id: 0x5f00_0000 | (std::process::id() & 0xffff),
        tables_already_copied: true,
        verify: None,
    };
    let checkpointing = std::env::var("APPLY_CHECKPOINT")
        .is_ok_and(|v| v == "1")
        .then(|| {
            let names: Vec<String> = plan.tables.iter().map(|t| t.schema.name.clone()).collect();
            let now = reshard_engine::online::unix_now();
            Checkpointing::new(
                CheckpointStore::new(&plan.targets[0], &names),
                Checkpoint {
                    version: reshard_engine::checkpoint::VERSION,
                    identity: Identity {
                        sources: Vec::new(),
                        targets: Vec::new(),
                        tables: Vec::new(),
                    },
                    phase: Phase::Replicating,
                    positions: vec![StoredPosition::from(&from)],
                    in_flight: None,
                    copied: vec![Resume::End; plan.tables.len()],
                    verified: Vec::new(),
                    started_at: now,
                    saved_at: now,
                    cutover: None,
                    verified_at: None,
                },
            )
        });
    let started = Instant::now();
    run_move_then(
        &plan,
        options,
        &progress,
        &AtomicBool::new(false),
        &|_| Ok(()),
        checkpointing.as_ref(),
        None,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let changes = progress.changes();
    #[allow(clippy::cast_precision_loss)] // a rate for display
    let rate = changes.images as f64 / seconds;
    println!(
        "{{\"images\":{},\"keys\":{},\"deletes\":{},\"upserts\":{},\"cycles\":{},\"seconds\":{seconds:.3},\"images_per_second\":{rate:.0}}}",
        changes.images, changes.keys, changes.deletes, changes.upserts, changes.cycles
    );
    Ok(())
}
