//! Exports a table to an Arrow IPC file, exactly as reshard reads it (every MySQL type as the
//! Arrow type that holds it without loss; field metadata names the MySQL type):
//!
//! ```sh
//! RESHARD_DSN=mysql://app:secret@db1:3306/shop \
//!   cargo run --release -p reshard-engine --example export_ipc -- orders orders.arrow
//! ```
//!
//! The DSN comes from the environment, so that its password stays out of `ps`.

use std::error::Error;
use std::fs::File;
use std::path::Path;

use arrow_ipc::writer::FileWriter;
use reshard_engine::table::TableSource;
use reshard_types::Dsn;

/// Writes every row of `table` (of the DSN's database), in key order, to the IPC file `path`;
/// returns the number of rows.
pub fn export(dsn: &Dsn, table: &str, path: &Path) -> Result<u64, Box<dyn Error>> {
    let source = TableSource::open(dsn, table)?;
    let mut writer = FileWriter::try_new(File::create(path)?, source.schema())?;
    let mut rows = 0u64;
    for batch in source {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer.write(&batch)?;
    }
    writer.finish()?;
    Ok(rows)
}

#[allow(dead_code)] // the test suite runs `export` without this `main`
fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [table, path] = args.as_slice() else {
        return Err("usage: RESHARD_DSN=mysql://... export_ipc TABLE FILE".into());
    };
    let dsn = Dsn::parse(&std::env::var("RESHARD_DSN").map_err(|_| "set RESHARD_DSN")?)?;
    let rows = export(&dsn, table, Path::new(path))?;
    println!("exported {rows} rows of {table} to {path}");
    Ok(())
}
