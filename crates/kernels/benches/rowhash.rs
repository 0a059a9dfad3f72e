//! Row hashing for verification: the hash of every row of a batch (canonical encoding, then
//! XXH3-128) and the chunk digest, on the `orders` shape (twelve columns: integers, DECIMAL,
//! DATETIME(6), VARCHARs, JSON, BIT, DOUBLE, TEXT) and on a wide-string shape (an id and a
//! 2 KiB VARCHAR per row).
//!
//! `cargo bench -p reshard-kernels --bench rowhash`. Throughput is in rows, one core.

#![allow(missing_docs)] // criterion_group! makes undocumented functions

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../../convert/benches/fixtures.rs"]
mod fixtures;

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reshard_kernels::rowhash::{Digest, RowHasher};

/// `id BIGINT, body VARCHAR(4096)` with 2 KiB bodies.
fn wide_strings(rows: usize) -> RecordBatch {
    let body: String = "abcdefghijklmnopqrstuvwxyz0123456789"
        .chars()
        .cycle()
        .take(2048)
        .collect();
    RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(
                (0..rows).map(|i| i64::try_from(i).unwrap()),
            )) as ArrayRef,
        ),
        (
            "body",
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| format!("{i:08}{}", &body[8..])),
            )) as ArrayRef,
        ),
    ])
    .unwrap()
}

fn rowhash(c: &mut Criterion) {
    for (name, batch) in [
        ("orders", fixtures::wide()),
        ("wide-strings", wide_strings(fixtures::ROWS / 4)),
    ] {
        let mut group = c.benchmark_group(format!("rowhash/{name}"));
        group.throughput(Throughput::Elements(batch.num_rows() as u64));
        let mut hasher = RowHasher::new();
        let mut hashes = Vec::new();
        group.bench_function("rows+digest", |b| {
            b.iter(|| {
                hasher.hash_rows(black_box(&batch), &mut hashes).unwrap();
                black_box(Digest::of(&hashes))
            });
        });
        group.bench_function("key-ids", |b| {
            b.iter(|| {
                hasher
                    .hash_columns(black_box(&batch), &[0], &mut hashes)
                    .unwrap();
                black_box(hashes.len())
            });
        });
        group.finish();
    }
}

criterion_group!(benches, rowhash);
criterion_main!(benches);
