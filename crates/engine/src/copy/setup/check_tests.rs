//! The checks of setup on definitions built by hand: every refusal, and what is done on a
//! target, without a server.

use reshard_kernels::vindex::VindexKind;
use reshard_mysql::constraints::{Constraints, ForeignKey, IndexDef, IndexPart};
use reshard_mysql::tables::defer_secondary_indexes;
use reshard_types::{ColumnDef, ColumnType, Dsn, IntWidth, RowKey, TableSchema};

use super::super::discover::{FirstSource, SourceFacts, TargetFacts};
use super::super::{SetupOptions, TargetTable};
use super::{check_sources, check_target};
use crate::copy::TableRoute;
use crate::topology::{TableRule, Topology};

const CREATE: &str = "CREATE TABLE `orders` (\n  `id` bigint(20) NOT NULL,\n  `customer_id` bigint(20) NOT NULL,\n  `note` varchar(20) CHARACTER SET latin1 DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `u_note` (`note`)\n) ENGINE=InnoDB";

fn int(name: &str) -> ColumnDef {
    ColumnDef {
        name: name.into(),
        ty: ColumnType::Int {
            width: IntWidth::W64,
            unsigned: false,
        },
        nullable: false,
        charset: None,
        collation: None,
        column_type: "bigint(20)".into(),
        generated: None,
    }
}

fn latin1(name: &str) -> ColumnDef {
    ColumnDef {
        name: name.into(),
        ty: ColumnType::VarChar { length: 20 },
        nullable: true,
        charset: Some("latin1".into()),
        collation: Some("latin1_swedish_ci".into()),
        column_type: "varchar(20)".into(),
        generated: None,
    }
}

fn orders(database: &str) -> TableSchema {
    TableSchema {
        database: database.into(),
        name: "orders".into(),
        columns: vec![int("id"), int("customer_id"), latin1("note")],
        primary_key: vec![0],
    }
}

fn index(name: &str, unique: bool, column: &str) -> IndexDef {
    IndexDef {
        name: name.into(),
        unique,
        kind: "BTREE".into(),
        parts: vec![IndexPart {
            column: column.into(),
            prefix: None,
            descending: false,
        }],
    }
}

fn source_constraints() -> Constraints {
    Constraints {
        indexes: vec![index("PRIMARY", true, "id"), index("u_note", true, "note")],
        foreign_keys: Vec::new(),
    }
}

fn facts(sources: usize) -> SourceFacts {
    SourceFacts {
        name: "orders".into(),
        databases: (0..sources).map(|i| format!("s{i}")).collect(),
        first: Some(FirstSource {
            schema: orders("s0"),
            estimated_rows: 10,
            key: Some(RowKey {
                index: "PRIMARY".into(),
                columns: vec![0],
            }),
            constraints: source_constraints(),
            create: CREATE.into(),
            deferred: defer_secondary_indexes(CREATE, "PRIMARY"),
        }),
        others: (1..sources)
            .map(|i| Some((orders(&format!("s{i}")), 5)))
            .collect(),
    }
}

fn dsn(port: u16, database: &str) -> Dsn {
    Dsn::parse(&format!("mysql://u@127.0.0.1:{port}/{database}")).unwrap()
}

/// `sources` sources and two targets, `orders` sharded by `column` under `vindex`.
fn topology(sources: usize, column: &str, vindex: VindexKind) -> Topology {
    let mut builder = Topology::builder();
    for i in 0..sources {
        builder = builder.source(dsn(3306, &format!("s{i}")));
    }
    builder
        .target(dsn(3307, "t"))
        .target(dsn(3308, "t"))
        .shard("orders", column, vindex)
        .build()
        .unwrap()
}

fn sharded() -> Topology {
    topology(2, "customer_id", VindexKind::Hash)
}

fn refused(result: Result<impl std::fmt::Debug, Vec<crate::error::Refusal>>) -> String {
    let refusals = result.expect_err("refused");
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0].table.as_deref(), Some("`s0`.`orders`"));
    refusals[0].message.clone()
}

#[test]
fn a_table_every_source_agrees_on_is_planned_to_every_target() {
    let plan = check_sources(&sharded(), &SetupOptions::default(), &facts(2)).unwrap();
    assert_eq!(plan.estimated_rows, 15, "the sources' estimates are summed");
    assert_eq!(plan.receiving, vec![0, 1]);
    assert_eq!(
        plan.route,
        TableRoute::Shard {
            column: 1,
            vindex: VindexKind::Hash
        }
    );
}

#[test]
fn a_table_missing_on_a_source_is_refused_naming_it() {
    let mut missing_first = facts(2);
    missing_first.first = None;
    let message = refused(check_sources(
        &sharded(),
        &SetupOptions::default(),
        &missing_first,
    ));
    assert!(message.contains("does not exist on the source mysql://u@127.0.0.1:3306/s0"));
    let mut missing_second = facts(2);
    missing_second.others[0] = None;
    let message = refused(check_sources(
        &sharded(),
        &SetupOptions::default(),
        &missing_second,
    ));
    assert!(
        message.contains("`s1`.`orders` does not exist on source 2"),
        "{message}"
    );
}

#[test]
fn sources_that_disagree_are_refused() {
    let mut disagree = facts(2);
    disagree.others[0].as_mut().unwrap().0.columns[1].nullable = true;
    let message = refused(check_sources(
        &sharded(),
        &SetupOptions::default(),
        &disagree,
    ));
    assert!(message.contains("the sources disagree"), "{message}");
    assert!(message.contains("customer_id"), "{message}");
}

#[test]
fn a_table_without_a_key_is_refused() {
    let mut keyless = facts(1);
    keyless.first.as_mut().unwrap().key = None;
    let message = refused(check_sources(
        &topology(1, "customer_id", VindexKind::Hash),
        &SetupOptions::default(),
        &keyless,
    ));
    assert!(
        message.contains("no primary key and no unique index"),
        "{message}"
    );
}

#[test]
fn placement_rules_are_checked_against_the_columns() {
    let options = SetupOptions::default();
    let no_column = refused(check_sources(
        &topology(1, "shop_id", VindexKind::Hash),
        &options,
        &facts(1),
    ));
    assert!(no_column.contains("`shop_id` of table `s0`.`orders` does not exist; its columns are: id, customer_id, note"), "{no_column}");
    // A latin1 column: its bytes hash differently from the utf8mb4 Vitess sees...
    let latin1_hash = refused(check_sources(
        &topology(1, "note", VindexKind::Xxhash),
        &options,
        &facts(1),
    ));
    assert!(
        latin1_hash.contains("character set latin1"),
        "{latin1_hash}"
    );
    // ... but its digits read the same under an integer vindex.
    let plan = check_sources(&topology(1, "note", VindexKind::Hash), &options, &facts(1));
    assert!(plan.is_ok(), "{plan:?}");
    let no_rule = Topology::builder()
        .source(dsn(3306, "s0"))
        .target(dsn(3307, "t"))
        .target(dsn(3308, "t"))
        .build()
        .unwrap();
    let message = refused(check_sources(&no_rule, &options, &facts(1)));
    assert!(
        message.contains("has no sharding rule, and there are 2 targets"),
        "{message}"
    );
    let to_second = Topology::builder()
        .source(dsn(3306, "s0"))
        .target(dsn(3307, "t"))
        .target(dsn(3308, "t"))
        .rule("orders", TableRule::To(1), "test")
        .build()
        .unwrap();
    let plan = check_sources(&to_second, &options, &facts(1)).unwrap();
    assert_eq!(
        plan.receiving,
        vec![1],
        "a whole table goes to its one target"
    );
}

#[test]
fn a_move_refuses_foreign_keys_that_act_on_rows_and_a_copy_does_not() {
    let mut cascading = facts(1);
    cascading
        .first
        .as_mut()
        .unwrap()
        .constraints
        .foreign_keys
        .push(ForeignKey {
            name: "fk_customer".into(),
            columns: vec!["customer_id".into()],
            parent_database: "s0".into(),
            parent_table: "customers".into(),
            parent_columns: vec!["id".into()],
            on_update: "RESTRICT".into(),
            on_delete: "CASCADE".into(),
        });
    let topology = topology(1, "customer_id", VindexKind::Hash);
    let online = SetupOptions {
        online: true,
        ..SetupOptions::default()
    };
    let message = refused(check_sources(&topology, &online, &cascading));
    assert!(
        message.contains("foreign key `fk_customer` (ON DELETE CASCADE)"),
        "{message}"
    );
    assert!(check_sources(&topology, &SetupOptions::default(), &cascading).is_ok());
}

fn target_check(
    options: &SetupOptions,
    on_target: Option<&TargetFacts>,
) -> Result<TargetTable, crate::error::Refusal> {
    let topology = sharded();
    let facts = facts(2);
    let plan = check_sources(&topology, options, &facts).unwrap();
    check_target(&topology, options, &facts, &plan, 1, on_target)
}

fn existing(empty: bool, constraints: Constraints) -> TargetFacts {
    TargetFacts {
        schema: orders("t"),
        constraints,
        empty,
    }
}

#[test]
fn a_missing_target_table_is_created_with_its_indexes_now_or_after_the_copy() {
    let now = target_check(&SetupOptions::default(), None).unwrap();
    assert!(now.created && !now.emptied);
    assert!(now.add_back.is_empty(), "the full CREATE has every index");
    let deferred = SetupOptions {
        defer_secondary_indexes: true,
        ..SetupOptions::default()
    };
    let later = target_check(&deferred, None).unwrap();
    assert_eq!(later.target, 1);
    assert_eq!(later.add_back, vec!["ADD UNIQUE KEY `u_note` (`note`)"]);
}

#[test]
fn an_existing_target_table_must_be_empty_unless_forced() {
    let options = SetupOptions::default();
    let holding = existing(false, source_constraints());
    let refusal = target_check(&options, Some(&holding)).unwrap_err();
    assert!(
        refusal
            .message
            .contains("target table `t`.`orders` on mysql://u@127.0.0.1:3308/t is not empty"),
        "{}",
        refusal.message
    );
    let forced = SetupOptions {
        force: true,
        ..SetupOptions::default()
    };
    let on = target_check(&forced, Some(&holding)).unwrap();
    assert!(on.emptied && !on.created && on.add_back.is_empty());
    let empty = target_check(&options, Some(&existing(true, source_constraints()))).unwrap();
    assert!(!empty.emptied);
}

#[test]
fn a_target_table_lacking_an_index_gets_it_and_one_with_an_extra_unique_key_is_refused() {
    let options = SetupOptions::default();
    let lacking = existing(
        true,
        Constraints {
            indexes: vec![index("PRIMARY", true, "id")],
            foreign_keys: Vec::new(),
        },
    );
    let on = target_check(&options, Some(&lacking)).unwrap();
    assert_eq!(on.add_back, vec!["ADD UNIQUE KEY `u_note` (`note`)"]);
    let mut extra = source_constraints();
    extra.indexes.push(index("u_customer", true, "customer_id"));
    let refusal = target_check(&options, Some(&existing(true, extra))).unwrap_err();
    assert!(
        refusal.message.contains("differs from the source's"),
        "{}",
        refusal.message
    );
    assert!(
        refusal.message.contains("u_customer"),
        "{}",
        refusal.message
    );
    let mut other_column = existing(true, source_constraints());
    other_column.schema.columns[2].collation = Some("latin1_bin".into());
    let refusal = target_check(&options, Some(&other_column)).unwrap_err();
    assert!(refusal.message.contains("note"), "{}", refusal.message);
}
