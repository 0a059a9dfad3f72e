//! An online move that reports its progress through an observer and can be cancelled from
//! another thread (here: after a time limit), from inside a tokio runtime:
//!
//! ```sh
//! RESHARD_SOURCE=mysql://app@db1:3306/shop RESHARD_TARGET=mysql://app@db2:3306/shop \
//!   cargo run --release -p reshard-engine --example move_with_progress -- 600
//! ```

use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reshard_engine::config::TopologyInput;
use reshard_engine::job::{Cancel, Event, MoveJob, MoveReport, Observer};
use reshard_engine::online::MoveProgress;

/// Prints a line per step, and keeps the move's counters to report from while it runs.
#[derive(Default)]
pub struct Printer {
    /// The move's live counters, once it has begun.
    pub progress: Mutex<Option<Arc<MoveProgress>>>,
}

impl Observer for Printer {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Planned(tables) => println!("moving {} table(s)", tables.len()),
            Event::Moving(progress) => {
                *self.progress.lock().unwrap() = Some(Arc::clone(progress));
            }
            _ => {}
        }
    }
}

/// Moves from `source` to `target` until caught up, or until `limit` has passed (then
/// cancelled); a reporter task prints the rows copied and changes applied every second.
pub async fn move_until(
    source: &str,
    target: &str,
    limit: Duration,
) -> Result<MoveReport, Box<dyn Error>> {
    let topology = TopologyInput {
        sources: vec![source.to_owned()],
        targets: vec![target.to_owned()],
        source_password: std::env::var("RESHARD_SOURCE_PASSWORD").ok(),
        target_password: std::env::var("RESHARD_TARGET_PASSWORD").ok(),
        ..TopologyInput::default()
    }
    .topology()?;
    let job = MoveJob::new(topology).stop_when_caught_up(Some(Duration::ZERO));
    let (cancel, printer) = (Cancel::new(), Arc::new(Printer::default()));
    let timer = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            cancel.cancel();
        })
    };
    let reporter = {
        let printer = Arc::clone(&printer);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let progress = printer.progress.lock().unwrap().clone();
                if let Some(progress) = progress {
                    let copied: u64 = progress
                        .copy
                        .snapshot()
                        .iter()
                        .map(|t| t.rows_inserted)
                        .sum();
                    println!(
                        "{copied} rows copied, {} change images applied",
                        progress.changes().images
                    );
                }
            }
        })
    };
    let report = job.run(&cancel, printer.as_ref()).await;
    timer.abort();
    reporter.abort();
    Ok(report?)
}

#[allow(dead_code)] // the test suite runs `move_until` without this `main`
#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let source = std::env::var("RESHARD_SOURCE").map_err(|_| "set RESHARD_SOURCE")?;
    let target = std::env::var("RESHARD_TARGET").map_err(|_| "set RESHARD_TARGET")?;
    let seconds: u64 = std::env::args().nth(1).map_or(Ok(600), |s| s.parse())?;
    let report = move_until(&source, &target, Duration::from_secs(seconds)).await?;
    println!(
        "{:?}; copy done: {}",
        report.end,
        report.progress.copy_done()
    );
    Ok(())
}
