//! Decoding binlog row events: reshard's `ChangeDecoder` (row images straight into the copy's
//! Arrow builders, via `BinlogReader`) against mysql_common's own `RowsEventData::rows` (a
//! `BinlogRow` of `BinlogValue`s per image), over the same binlog range of one table.
//!
//! ```text
//! cargo run --release -p reshard-mysql --example binlog_decode -- DSN TABLE FILE:FROM FILE:UNTIL
//! ```
//!
//! Three passes, each streaming the range from the server anew: `stream` (events received, rows
//! not decoded: the floor both decoders stand on), `mysql_common` (every image of the table
//! decoded to values, every value touched), `reshard` (every image decoded into Arrow change
//! batches). One line each: images, wall seconds, CPU seconds of this process (user + system),
//! and CPU above the `stream` pass. `scripts/bench-apply.sh` makes such a range (1M changes).

mod support;

use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use futures_util::StreamExt;
use mysql_async::{BinlogStreamRequest, Conn};
use mysql_common::binlog::events::EventData;
use mysql_common::binlog::row::BinlogRow;
use reshard_convert::schema::arrow_schema;
use reshard_mysql::binlog::{BinlogReader, MovedTable, Step};
use reshard_mysql::{connect, connect_server, discover_table};
use reshard_types::{BinlogPosition, Dsn};

type Error = Box<dyn std::error::Error>;

fn position(text: &str) -> Result<BinlogPosition, Error> {
    let (file, offset) = text.rsplit_once(':').ok_or("a position is FILE:OFFSET")?;
    Ok(BinlogPosition::new(file.to_owned(), offset.parse()?))
}

/// Streams the range with mysql_async; decodes the table's rows with mysql_common when `decode`.
async fn mysql_common_pass(
    dsn: &Dsn,
    table: &str,
    from: &BinlogPosition,
    until: &BinlogPosition,
    decode: bool,
    server_id: u32,
) -> Result<u64, Error> {
    let conn: Conn = connect_server(dsn).await?.into_conn();
    let mut stream = conn
        .get_binlog_stream(
            BinlogStreamRequest::new(server_id)
                .with_filename(from.file().as_bytes())
                .with_pos(from.offset()),
        )
        .await?;
    let mut images = 0u64;
    while let Some(event) = stream.next().await {
        let event = event?;
        let end = u64::from(event.header().log_pos());
        if decode && let Some(EventData::RowsEvent(rows)) = event.read_data()? {
            let tme = stream
                .get_tme(rows.table_id())
                .ok_or("a rows event without its table map")?;
            if tme.table_name() == table {
                for row in rows.rows(tme) {
                    let (before, after) = row?;
                    for image in [before, after].into_iter().flatten() {
                        images += 1;
                        touch(&image);
                    }
                }
            }
        }
        if end >= until.offset() {
            break;
        }
    }
    Ok(images)
}

/// Reads every value of an image, as a consumer of mysql_common's rows would.
fn touch(row: &BinlogRow) {
    for i in 0..row.len() {
        std::hint::black_box(row.as_ref(i));
    }
}

/// Streams the range with reshard's reader, decoding the table's images into Arrow.
async fn reshard_pass(
    dsn: &Dsn,
    moved: MovedTable,
    from: &BinlogPosition,
    until: &BinlogPosition,
    server_id: u32,
) -> Result<u64, Error> {
    let mut reader = BinlogReader::start(dsn, from.clone(), vec![moved], server_id).await?;
    let mut images = 0u64;
    while reader.committed() < until {
        if reader.next().await? == Step::Commit {
            for (_, batch) in reader.take_changes()? {
                images += batch.images.num_rows() as u64;
                std::hint::black_box(&batch);
            }
        }
    }
    Ok(images)
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dsn, table, from, until] = args.as_slice() else {
        return Err("usage: binlog_decode DSN TABLE FILE:FROM FILE:UNTIL".into());
    };
    let dsn = Dsn::parse(dsn)?;
    let (from, until) = (position(from)?, position(until)?);
    if from.file() != until.file() {
        return Err("give a range within one binlog file".into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let database = dsn
        .database()
        .ok_or("the DSN names no database")?
        .to_owned();
    let schema = runtime.block_on(async {
        let mut session = connect(&dsn).await?;
        discover_table(&mut session, &database, table).await
    })?;
    let moved = MovedTable {
        database,
        name: table.clone(),
        schema: std::sync::Arc::new(arrow_schema(&schema)),
    };
    let server_id = 0x5d00_0000 | (std::process::id() & 0xffff);
    let mut floor = 0.0;
    for pass in ["stream", "mysql_common", "reshard"] {
        let (wall, cpu) = (Instant::now(), support::cpu_seconds());
        let images = runtime.block_on(async {
            match pass {
                "stream" => mysql_common_pass(&dsn, table, &from, &until, false, server_id).await,
                "mysql_common" => {
                    mysql_common_pass(&dsn, table, &from, &until, true, server_id).await
                }
                _ => reshard_pass(&dsn, moved.clone(), &from, &until, server_id).await,
            }
        })?;
        let cpu = support::cpu_seconds() - cpu;
        if pass == "stream" {
            floor = cpu;
        }
        println!(
            "{pass:<13} images={images} wall_s={:.2} cpu_s={cpu:.2} decode_cpu_s={:.2}",
            wall.elapsed().as_secs_f64(),
            cpu - floor
        );
    }
    Ok(())
}
