//! Decoding binary-protocol result rows into Arrow: reshard's decoder against the naive path
//! (mysql_common `Row`/`Value`, then builders), on a narrow all-integer table and a wide mixed one.
//!
//! `cargo bench -p reshard-convert --bench decode`. Throughput is in rows; the bytes per row of
//! each table are printed first, for MB/s.

#![allow(missing_docs)] // criterion_group! makes undocumented functions

/// The allocator the reshard binary uses, so buffer reuse behaves as it does there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod fixtures;
mod naive;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reshard_convert::decode::BinaryRowDecoder;
use reshard_convert::encode::binary_row::wire_columns;

fn decode(c: &mut Criterion) {
    for (name, batch) in [("narrow", fixtures::narrow()), ("wide", fixtures::wide())] {
        let packets = fixtures::packets(&batch);
        let bytes: usize = packets.iter().map(Vec::len).sum();
        eprintln!(
            "{name}: {} rows, {bytes} bytes, {:.1} bytes per row",
            packets.len(),
            bytes as f64 / packets.len() as f64
        );
        let schema = batch.schema();
        let wire = wire_columns(&schema).unwrap();
        let mut group = c.benchmark_group(format!("decode/{name}"));
        group.throughput(Throughput::Elements(packets.len() as u64));
        group.bench_function("reshard", |b| {
            let mut decoder = BinaryRowDecoder::new(schema.clone()).unwrap();
            decoder.check_wire(&wire).unwrap();
            b.iter(|| {
                for packet in &packets {
                    decoder.decode_row(packet).unwrap();
                }
                black_box(decoder.finish().unwrap())
            });
        });
        group.bench_function("naive-mysql_common-values", |b| {
            let mut decoder = naive::NaiveDecoder::new(schema.clone(), naive::columns(&wire));
            b.iter(|| {
                for packet in &packets {
                    decoder.decode_row(packet);
                }
                black_box(decoder.finish())
            });
        });
        // Both paths must agree, or the comparison means nothing.
        let mut ours = BinaryRowDecoder::new(schema.clone()).unwrap();
        let mut theirs = naive::NaiveDecoder::new(schema.clone(), naive::columns(&wire));
        for packet in &packets {
            ours.decode_row(packet).unwrap();
            theirs.decode_row(packet);
        }
        assert_eq!(ours.finish().unwrap(), batch);
        assert_eq!(theirs.finish(), batch);
        group.finish();
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
