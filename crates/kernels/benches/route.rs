//! Routing kernels: the target of every row of a batch (`route_column`) per vindex × column
//! type, and the split of a batch into one batch per target.
//!
//! `cargo bench -p reshard-kernels --bench route`. Throughput is in rows. Batches of 8,192 rows
//! are below `PARALLEL_ROWS`, so the `route/*` figures are one core's; `route-parallel` shows a
//! batch large enough for rayon.

#![allow(missing_docs)] // criterion_group! makes undocumented functions

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reshard_kernels::column::{PARALLEL_ROWS, route_column};
use reshard_kernels::route::Router;
use reshard_kernels::split::Splitter;
use reshard_kernels::vindex::VindexKind;
use reshard_types::KeyRange;

const ROWS: usize = 8192;

/// BIGINT keys as an AUTO_INCREMENT column holds them: consecutive, large.
fn bigints(rows: usize) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(
        (0..rows).map(|i| 1_000_000_000 + i64::try_from(i).unwrap()),
    ))
}

/// VARCHAR keys like customer references: 12 to 20 characters.
fn varchars(rows: usize) -> ArrayRef {
    Arc::new(StringArray::from_iter_values((0..rows).map(|i| {
        format!("cust-{:0width$}", i * 7919, width = 7 + i % 9)
    })))
}

/// VARCHAR names with accents, other scripts and a decomposed accent: the `unicode_loose`
/// vindexes' collation path (ASCII text takes a shortcut).
fn names(rows: usize) -> ArrayRef {
    const FIRST: [&str; 6] = ["Zoë", "Müller", "Straße", "Ðorđe", "Jose\u{301}", "Łukasz"];
    const LAST: [&str; 4] = ["Ångström", "Søren", "Nguyễn", "Café"];
    Arc::new(StringArray::from_iter_values((0..rows).map(|i| {
        format!("{} {} {i}", FIRST[i % FIRST.len()], LAST[i % LAST.len()])
    })))
}

fn route(c: &mut Criterion) {
    let uneven = Router::new(&KeyRange::parse_list("-40,40-a0,a0-c0,c0-").unwrap()).unwrap();
    let even = Router::new(&KeyRange::even(4).unwrap()).unwrap();
    for (type_name, column) in [
        ("bigint", bigints(ROWS)),
        ("varchar", varchars(ROWS)),
        ("varchar-accented", names(ROWS)),
    ] {
        let mut group = c.benchmark_group(format!("route/{type_name}"));
        group.throughput(Throughput::Elements(ROWS as u64));
        for kind in VindexKind::ALL {
            let numeric = matches!(
                kind,
                VindexKind::Numeric | VindexKind::Hash | VindexKind::ReverseBits
            );
            if type_name != "bigint" && numeric {
                continue; // the numeric vindexes need integer text
            }
            let loose = matches!(
                kind,
                VindexKind::UnicodeLooseXxhash | VindexKind::UnicodeLooseMd5
            );
            if type_name == "varchar-accented" && !loose && kind != VindexKind::Xxhash {
                continue; // only the collation path cares about the characters
            }
            let mut targets = Vec::new();
            group.bench_function(format!("{}/uneven-4", kind.name()), |b| {
                b.iter(|| {
                    route_column(kind, column.as_ref(), &uneven, &mut targets).unwrap();
                    black_box(&targets);
                });
            });
            if matches!(kind, VindexKind::Xxhash | VindexKind::Numeric) {
                group.bench_function(format!("{}/even-4", kind.name()), |b| {
                    b.iter(|| {
                        route_column(kind, column.as_ref(), &even, &mut targets).unwrap();
                        black_box(&targets);
                    });
                });
            }
        }
        group.finish();
    }

    let rows = PARALLEL_ROWS * 8;
    let big = bigints(rows);
    let mut group = c.benchmark_group("route-parallel/bigint");
    group.throughput(Throughput::Elements(rows as u64));
    let mut targets = Vec::new();
    group.bench_function("xxhash/uneven-4", |b| {
        b.iter(|| {
            route_column(VindexKind::Xxhash, big.as_ref(), &uneven, &mut targets).unwrap();
            black_box(&targets);
        });
    });
    group.finish();
}

fn split(c: &mut Criterion) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("customer", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(schema, vec![bigints(ROWS), varchars(ROWS)]).unwrap();
    let router = Router::new(&KeyRange::parse_list("-40,40-a0,a0-c0,c0-").unwrap()).unwrap();
    let mut targets = Vec::new();
    route_column(
        VindexKind::Xxhash,
        batch.column(0).as_ref(),
        &router,
        &mut targets,
    )
    .unwrap();
    let mut group = c.benchmark_group("split");
    group.throughput(Throughput::Elements(ROWS as u64));
    let mut splitter = Splitter::new(4);
    group.bench_function("bigint+varchar/4-targets", |b| {
        b.iter(|| black_box(splitter.split(&batch, &targets).unwrap()));
    });
    group.finish();
}

criterion_group!(benches, route, split);
criterion_main!(benches);
