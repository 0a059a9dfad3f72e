//! Encoding record batches for a target: `LOAD DATA` input and multi-row `INSERT` text, on the
//! wide mixed table. `cargo bench -p reshard-convert --bench encode`.

#![allow(missing_docs)] // criterion_group! makes undocumented functions

/// The allocator the reshard binary uses, so buffer reuse behaves as it does there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod fixtures;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reshard_convert::encode::insert::InsertEncoder;
use reshard_convert::encode::load_data::LoadDataEncoder;

fn encode(c: &mut Criterion) {
    for (name, batch) in [("narrow", fixtures::narrow()), ("wide", fixtures::wide())] {
        let rows = batch.num_rows();
        let mut group = c.benchmark_group(format!("encode/{name}"));
        group.throughput(Throughput::Elements(rows as u64));
        let load = LoadDataEncoder::new(&batch.schema()).unwrap();
        let mut out = Vec::new();
        load.encode(&batch, 0..rows, &mut out).unwrap();
        eprintln!(
            "{name}: LOAD DATA {:.1} bytes per row",
            out.len() as f64 / rows as f64
        );
        group.bench_function("load-data", |b| {
            b.iter(|| {
                out.clear();
                load.encode(&batch, 0..rows, &mut out).unwrap();
                black_box(out.len())
            });
        });
        let insert = InsertEncoder::new(&batch.schema()).unwrap();
        group.bench_function("insert", |b| {
            b.iter(|| {
                out.clear();
                insert
                    .encode("`b`.`t`", false, &batch, 0..rows, &mut out)
                    .unwrap();
                black_box(out.len())
            });
        });
        group.finish();
    }
}

criterion_group!(benches, encode);
criterion_main!(benches);
