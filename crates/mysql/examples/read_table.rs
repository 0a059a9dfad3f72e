//! Reads one whole table into Arrow record batches over one connection and prints what it took:
//! the reshard side of `scripts/bench-read.sh` (which runs ConnectorX on the same table).
//!
//! ```text
//! cargo run --release -p reshard-mysql --example read_table -- DSN TABLE [--drain text|binary]
//! ```
//!
//! `--drain` reads the same rows without decoding them, over the text protocol (`COM_QUERY`) or
//! the binary one (a prepared statement): the protocol choice measured apart from the decoder.
//! Output: one line, `rows=… batches=… bytes=… wall_s=… cpu_s=…` (CPU of this process, user plus
//! system, from /proc/self/stat).

mod support;

use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use reshard_mysql::reader::{BatchLimits, TableReader, open_read_session};
use reshard_mysql::wire::ResultHandler;
use reshard_mysql::{MysqlError, connect, discover_table};
use reshard_types::Dsn;

struct Drain(u64);
impl ResultHandler for Drain {
    type Error = MysqlError;
    fn columns(&mut self, _: &[mysql_common::packets::Column]) -> Result<(), MysqlError> {
        Ok(())
    }
    fn row(&mut self, packet: &[u8]) -> Result<(), MysqlError> {
        self.0 += packet.len() as u64;
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (dsn, table) = match args.as_slice() {
        [_, dsn, table, ..] => (Dsn::parse(dsn)?, table.clone()),
        _ => return Err("usage: read_table DSN TABLE [--drain text|binary]".into()),
    };
    let drain = args
        .iter()
        .position(|a| a == "--drain")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let database = dsn
        .database()
        .ok_or("the DSN must name the database")?
        .to_owned();
    let runtime = tokio::runtime::Runtime::new()?;
    let schema = runtime.block_on(async {
        let mut session = connect(&dsn).await?;
        discover_table(&mut session, &database, &table).await
    })?;

    let cpu_before = support::cpu_seconds();
    let started = Instant::now();
    let (rows, batches, bytes) = match drain.as_deref() {
        None => {
            let mut reader = TableReader::open(&dsn, &schema, BatchLimits::default())?;
            let sql = reader.select_all_sql();
            let stats = reader.read(&sql, &[], |batch| {
                std::hint::black_box(batch);
                Ok(())
            })?;
            (stats.rows, stats.batches, reader.bytes_received())
        }
        Some(protocol) => {
            let reader = TableReader::open(&dsn, &schema, BatchLimits::default())?;
            let sql = reader.select_all_sql();
            drop(reader);
            let mut conn = open_read_session(&dsn)?;
            let mut drain = Drain(0);
            let rows = match protocol {
                "text" => conn.query_rows(&sql, &mut drain)?.1,
                "binary" => {
                    let statement = conn.prepare(&sql)?;
                    conn.execute_rows(&statement, &[], &mut drain)?.1
                }
                other => return Err(format!("--drain text or binary, not {other}").into()),
            };
            (rows, 0, conn.bytes_read())
        }
    };
    let wall = started.elapsed().as_secs_f64();
    let cpu = support::cpu_seconds() - cpu_before;
    println!("rows={rows} batches={batches} bytes={bytes} wall_s={wall:.3} cpu_s={cpu:.2}");
    Ok(())
}
