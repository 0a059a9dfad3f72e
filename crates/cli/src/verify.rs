//! `reshard verify`: the sources' tables against the targets', row by row; renders the
//! engine's [`VerifyReport`] as text or JSON and turns it into the exit status (0 equal, 1 rows
//! differ, 3 interrupted).

use reshard_engine::job::{Quiet, VerifyJob};
use reshard_engine::verify::{DifferenceKind, VerifyReport};

use crate::Failure;
use crate::args::VerifyArgs;
use crate::copy::topology;
use crate::failures::failure;
use crate::format::seconds;
use crate::output::out;

pub(crate) async fn run(args: VerifyArgs) -> Result<(), Failure> {
    let topology = topology(&args.topology)?;
    let job = VerifyJob::new(topology)
        .options(args.tuning.copy_options())
        .max_rows_listed(args.max_rows_listed);
    let cancel = crate::signals::watch("stopping the verification after the chunks in flight");
    let started = std::time::Instant::now();
    let report = job.run(&cancel, &Quiet).await.map_err(failure)?;
    if args.json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::Unfit(format!("cannot write the report as JSON: {e}")))?;
        out!("{json}");
    } else {
        render(&report, started.elapsed());
    }
    if report.cancelled {
        return Err(Failure::Interrupted(String::from(
            "the verification stopped before every table was compared; nothing is proven",
        )));
    }
    let differences = report.differences();
    if differences == 0 {
        return Ok(());
    }
    let mut message =
        format!("{differences} row(s) differ between the sources and the targets (listed above)");
    for written in &report.sources_written {
        message.push_str(&format!(
            "; source {} took writes while it was read (binlog {} → {}), so some of these may be changes in flight: verify with the writes stopped, or let reshard move verify (it brings the targets to each snapshot's position)",
            written.source, written.from, written.to
        ));
    }
    Err(Failure::Unfit(message))
}

fn render(report: &VerifyReport, took: std::time::Duration) {
    let rows: u64 = report.tables.iter().map(|t| t.source_rows).sum();
    for table in &report.tables {
        let verdict = if table.differences() == 0 {
            String::from("equal")
        } else {
            format!("{} row(s) differ", table.differences())
        };
        out!(
            "{}: {verdict} ({} source rows, {} chunks)",
            table.table,
            table.source_rows,
            table.chunks
        );
        for target in &table.targets {
            if target.differences() == 0 {
                out!("  target {}: {} rows, equal", target.target, target.rows);
            } else {
                out!(
                    "  target {}: {} rows; missing {}, extra {}, different {}, misplaced {}",
                    target.target,
                    target.rows,
                    target.missing,
                    target.extra,
                    target.different,
                    target.misplaced
                );
            }
        }
        for row in &table.rows {
            let what = match row.kind {
                DifferenceKind::Missing => format!("missing on {}", row.target),
                DifferenceKind::Extra => format!("extra on {}", row.target),
                DifferenceKind::Different => format!("different on {}", row.target),
                DifferenceKind::Misplaced => format!(
                    "misplaced on {} (belongs on {})",
                    row.target,
                    row.belongs_on.as_deref().unwrap_or("?")
                ),
                _ => format!("{} on {}", row.kind, row.target),
            };
            out!("    {what}: {}", row.key);
        }
        if table.rows_not_listed > 0 {
            out!(
                "    ... and {} more (raise --max-rows-listed to list them)",
                table.rows_not_listed
            );
        }
    }
    out!(
        "verified {} table(s), {rows} source rows in {}: {}",
        report.tables.len(),
        seconds(took),
        if report.equal() {
            "the targets hold exactly the sources' rows"
        } else if report.cancelled {
            "interrupted"
        } else {
            "differences found"
        }
    );
}
