//! The write-method measurement behind `reshard_convert::encode::load_data`'s choice: the same
//! rows written into an empty copy of a table by `LOAD DATA LOCAL INFILE` (streamed from the
//! batches), by multi-row `INSERT` statements, and by MariaDB's bulk prepared execution.
//!
//! ```text
//! cargo run --release -p reshard-mysql --example write_methods -- SOURCE_DSN TABLE TARGET_DSN [ROWS]
//! ```
//!
//! Reads the first ROWS rows (default 500000) of TABLE into Arrow once, then per method: recreates
//! the table on the target (from the source's `SHOW CREATE TABLE`), writes every batch on one
//! connection, and prints wall time, rows/s and this process's CPU seconds. Afterwards the three
//! copies' `CHECKSUM TABLE` values must agree.
#![allow(clippy::cast_precision_loss)] // rates for display

mod support;

use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int8Type, Int32Type, Int64Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use mysql_common::value::Value;
use reshard_convert::decimal;
use reshard_convert::encode::insert::InsertEncoder;
use reshard_convert::encode::load_data::quote_identifier;
use reshard_convert::temporal::DateTimeParts;
use reshard_mysql::reader::{BatchLimits, TableReader, table_sql};
use reshard_mysql::wire::text::text_row_fields;
use reshard_mysql::wire::{RawConn, Rows};
use reshard_mysql::writer::{Duplicates, TableWriter, open_write_session};
use reshard_mysql::{connect, discover_table};
use reshard_types::{Dsn, TableSchema};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Field `field` of the first row `sql` returns, as text.
fn first_text_field(conn: &mut RawConn, sql: &str, field: usize) -> String {
    let mut out = None;
    conn.query_rows(
        sql,
        &mut Rows(|row: &[u8]| {
            if out.is_none() {
                let value = text_row_fields(row)
                    .get(field)
                    .copied()
                    .flatten()
                    .unwrap_or_default();
                out = Some(String::from_utf8_lossy(value).into_owned());
            }
            Ok(())
        }),
    )
    .expect(sql);
    out.unwrap_or_default()
}

/// One batch row as bulk-execution parameters.
fn row_values(batch: &RecordBatch, row: usize) -> Vec<Value> {
    batch
        .schema()
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let array = batch.column(i);
            if array.is_null(row) {
                return Value::NULL;
            }
            let mysql_type = field.metadata().get("mysql.type").map(String::as_str);
            match array.data_type() {
                DataType::Int8 => {
                    Value::Int(i64::from(array.as_primitive::<Int8Type>().value(row)))
                }
                DataType::Int32 => {
                    Value::Int(i64::from(array.as_primitive::<Int32Type>().value(row)))
                }
                DataType::Int64 if mysql_type == Some("datetime") => {
                    let p =
                        DateTimeParts::from_packed(array.as_primitive::<Int64Type>().value(row))
                            .unwrap();
                    Value::Date(p.year, p.month, p.day, p.hour, p.minute, p.second, p.micros)
                }
                DataType::Int64 => Value::Int(array.as_primitive::<Int64Type>().value(row)),
                DataType::UInt64 => Value::UInt(array.as_primitive::<UInt64Type>().value(row)),
                DataType::Decimal128(_, scale) => {
                    let mut text = Vec::new();
                    decimal::write_i128(
                        array.as_primitive::<Decimal128Type>().value(row),
                        u8::try_from(*scale).unwrap(),
                        &mut text,
                    );
                    Value::Bytes(text)
                }
                DataType::Utf8 => {
                    Value::Bytes(array.as_string::<i32>().value(row).as_bytes().to_vec())
                }
                DataType::Binary => Value::Bytes(array.as_binary::<i32>().value(row).to_vec()),
                other => panic!("this measurement does not convert {other}"),
            }
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, source, table, target, rest @ ..] = args.as_slice() else {
        return Err("usage: write_methods SOURCE_DSN TABLE TARGET_DSN [ROWS]".into());
    };
    let rows: u64 = rest.first().map_or(Ok(500_000), |r| r.parse())?;
    let (source, target) = (Dsn::parse(source)?, Dsn::parse(target)?);
    let database = source
        .database()
        .ok_or("the source DSN must name the database")?
        .to_owned();
    let runtime = tokio::runtime::Runtime::new()?;
    let schema: TableSchema = runtime.block_on(async {
        let mut session = connect(&source).await?;
        discover_table(&mut session, &database, table).await
    })?;

    let mut reader = TableReader::open(&source, &schema, BatchLimits::default())?;
    let sql = format!("{} ORDER BY id LIMIT {rows}", reader.select_all_sql());
    let mut batches = Vec::new();
    reader.read(&sql, &[], |batch| {
        batches.push(batch);
        Ok(())
    })?;
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut raw = RawConn::connect(&source)?;
    let ddl = first_text_field(
        &mut raw,
        &format!("SHOW CREATE TABLE {}", table_sql(&schema)),
        1,
    );

    let target_database = target
        .database()
        .ok_or("the target DSN must name the database")?
        .to_owned();
    let target_schema = TableSchema {
        database: target_database,
        ..schema.clone()
    };
    let target_table = table_sql(&target_schema);
    let mut checksums = Vec::new();
    for method in ["load-data", "insert", "bulk"] {
        let mut admin = RawConn::connect(&target)?;
        admin.query_drop(&format!("DROP TABLE IF EXISTS {target_table}"))?;
        admin.query_drop(&ddl)?;
        let cpu = support::cpu_seconds();
        let started = Instant::now();
        match method {
            "load-data" => {
                let mut writer = TableWriter::open(&target, &target_schema, Duplicates::Refuse)?;
                for batch in &batches {
                    writer.write(batch)?;
                }
            }
            "insert" => {
                let mut conn = open_write_session(&target)?;
                let encoder = InsertEncoder::new(&batches[0].schema())?;
                let mut statement = Vec::new();
                for batch in &batches {
                    // Statements of about 4 MiB: 1000-row steps.
                    for start in (0..batch.num_rows()).step_by(1000) {
                        statement.clear();
                        let end = (start + 1000).min(batch.num_rows());
                        encoder.encode(&target_table, false, batch, start..end, &mut statement)?;
                        conn.query_drop(std::str::from_utf8(&statement)?)?;
                    }
                }
            }
            _ => {
                let mut conn = open_write_session(&target)?;
                let columns: Vec<String> = schema
                    .columns
                    .iter()
                    .map(|c| quote_identifier(&c.name))
                    .collect();
                let marks = vec!["?"; columns.len()].join(", ");
                let insert = conn.prepare(&format!(
                    "INSERT INTO {target_table} ({}) VALUES ({marks})",
                    columns.join(", ")
                ))?;
                for batch in &batches {
                    conn.execute_bulk(
                        &insert,
                        (0..batch.num_rows()).map(|row| row_values(batch, row)),
                    )?;
                }
            }
        }
        let wall = started.elapsed().as_secs_f64();
        let cpu = support::cpu_seconds() - cpu;
        let count = first_text_field(
            &mut admin,
            &format!("SELECT COUNT(*) FROM {target_table}"),
            0,
        );
        let checksum = first_text_field(&mut admin, &format!("CHECKSUM TABLE {target_table}"), 1);
        println!(
            "{method:<10} {total} rows {wall:7.2} s {:9.0} rows/s {cpu:6.2} CPU s  count={count} checksum={checksum}",
            total as f64 / wall
        );
        checksums.push(checksum);
        admin.query_drop(&format!("DROP TABLE {target_table}"))?;
    }
    if checksums.windows(2).any(|w| w[0] != w[1]) {
        return Err(format!("the copies differ: {checksums:?}").into());
    }
    Ok(())
}
