//! Building topologies from flags and files: ranges, precedence of rules, refusals.

use std::io::Write;

use reshard_kernels::vindex::VindexKind;

use super::*;
use crate::topology::TableRule;

fn dsn(port: u16) -> String {
    format!("mysql://root@127.0.0.1:{port}/shop")
}

fn input(targets: usize) -> TopologyInput {
    TopologyInput {
        sources: vec![dsn(3300)],
        targets: (0..targets)
            .map(|i| dsn(3301 + u16::try_from(i).unwrap()))
            .collect(),
        ..TopologyInput::default()
    }
}

#[test]
fn targets_without_ranges_get_even_ranges_in_order() {
    let t = TopologyInput::topology(&input(4)).unwrap();
    let names: Vec<&str> = t.targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["-40", "40-80", "80-c0", "c0-"]);
    assert_eq!(t.router.target_of_u64(0xc1 << 56), 3);
    assert!(t.unsharded.is_none(), "several targets: no default place");
    let one = TopologyInput::topology(&input(1)).unwrap();
    assert_eq!(one.targets[0].name, "-");
    assert_eq!(one.unsharded, Some(TableRule::To(0)));
}

#[test]
fn key_ranges_override_and_are_checked() {
    let mut i = input(4);
    i.key_ranges = Some(String::from("-40,40-a0,a0-c0,c0-"));
    let t = TopologyInput::topology(&i).unwrap();
    assert_eq!(t.targets[1].name, "40-a0");
    assert_eq!(t.router.target_of_u64(0x9f << 56), 1);

    for (ranges, says) in [
        ("-40,40-a0,a0-", "3 range(s) for 4 target(s)"),
        ("-40,30-a0,a0-c0,c0-", "overlap"),
        ("-40,50-a0,a0-c0,c0-", "gap"),
        ("-40,40-a0,a0-c0,c0-d0", "gap"),
        ("-40,40-a0,xx-c0,c0-", "not a key range"),
    ] {
        i.key_ranges = Some(ranges.to_owned());
        let err = TopologyInput::topology(&i).unwrap_err().0;
        assert!(err.contains(says), "{ranges}: {err}");
    }
}

#[test]
fn shard_by_overrides_the_vschema_and_unknown_vindexes_are_refused() {
    let mut vschema = tempfile("json");
    vschema
        .1
        .write_all(
            br#"{"sharded": true, "vindexes": {"h": {"type": "hash"}},
                "tables": {"a": {"column_vindexes": [{"column": "id", "name": "h"}]},
                           "b": {"column_vindexes": [{"column": "k", "name": "h"}]}}}"#,
        )
        .unwrap();
    let mut i = input(2);
    i.vschema = Some(vschema.0.clone());
    i.shard_by = vec![String::from("b=name:xxhash")];
    i.unsharded_target = Some(String::from("80-"));
    let t = TopologyInput::topology(&i).unwrap();
    assert_eq!(
        t.rule_for("a"),
        Some(&TableRule::Shard {
            column: String::from("id"),
            vindex: VindexKind::Hash
        })
    );
    assert_eq!(
        t.rule_for("b"),
        Some(&TableRule::Shard {
            column: String::from("name"),
            vindex: VindexKind::Xxhash
        })
    );
    assert_eq!(t.rule_for("other"), Some(&TableRule::To(1)));

    i.shard_by = vec![String::from("b=name:murmur")];
    assert!(
        TopologyInput::topology(&i)
            .unwrap_err()
            .0
            .contains("'murmur' is not a vindex")
    );
    i.shard_by.clear();
    i.vschema = Some(PathBuf::from("/nonexistent/vschema.json"));
    assert!(
        TopologyInput::topology(&i)
            .unwrap_err()
            .0
            .contains("cannot read it")
    );
    std::fs::remove_file(&vschema.0).unwrap();
}

#[test]
fn a_toml_file_gives_the_whole_topology() {
    let (path, mut file) = tempfile("toml");
    write!(
        file,
        r#"
tables = ["customer", "countries", "corder"]
unsharded_target = "east"

[[sources]]
dsn = "{}"
[[sources]]
dsn = "{}"

[[targets]]
dsn = "{}"
key_range = "-80"
[[targets]]
dsn = "{}"
key_range = "80-"
name = "east"

[shard_by]
customer = "customer_id:hash"

[unsharded]
countries = "all"
"#,
        dsn(3300),
        dsn(3310),
        dsn(3301),
        dsn(3302)
    )
    .unwrap();
    let t = TopologyInput {
        config: Some(path.clone()),
        ..TopologyInput::default()
    }
    .topology()
    .unwrap();
    assert_eq!(t.sources.len(), 2);
    assert_eq!(t.targets[1].name, "east");
    assert_eq!(t.rule_for("countries"), Some(&TableRule::Everywhere));
    assert_eq!(t.rule_for("corder"), Some(&TableRule::To(1)));
    assert_eq!(t.tables.as_ref().unwrap().len(), 3);

    // Sources in the file and on the command line: refused, not merged.
    let err = TopologyInput {
        config: Some(path.clone()),
        sources: vec![dsn(3300)],
        ..TopologyInput::default()
    }
    .topology()
    .unwrap_err()
    .0;
    assert!(err.contains("both in --config and with --source"), "{err}");
    std::fs::remove_file(&path).unwrap();

    for (text, says) in [
        (
            "[[targets]]\ndsn = \"x\"\nkey_rnage = \"-80\"\n",
            "unknown field",
        ),
        ("[[sources]]\ndsn = 3\n", "invalid type"),
        ("[shard_by]\nt = \"id\"\n", "TABLE=COLUMN:VINDEX"),
    ] {
        let err = file::parse(text).unwrap_err().0;
        assert!(err.contains(says), "{text}: {err}");
    }
}

#[test]
fn a_missing_source_or_target_or_a_bad_dsn_is_named() {
    let mut i = input(2);
    i.sources.clear();
    assert!(
        TopologyInput::topology(&i)
            .unwrap_err()
            .0
            .contains("no source given")
    );
    let mut i = input(2);
    i.targets[1] = String::from("mysql//nope");
    assert!(
        TopologyInput::topology(&i)
            .unwrap_err()
            .0
            .starts_with("target")
    );
    let mut i = input(2);
    i.sources[0] = String::from("mysql://root:secret@127.0.0.1:3300");
    let err = TopologyInput::topology(&i).unwrap_err().0;
    assert!(
        err.starts_with("the source DSN mysql://root:***@127.0.0.1:3300/ names no database"),
        "{err}"
    );
    let mut i = input(2);
    i.tables = Some(vec![String::from("a")]);
    i.shard_by = vec![String::from("b=id:hash")];
    let err = TopologyInput::topology(&i).unwrap_err().0;
    assert!(
        err.contains("--shard-by 'b=id:hash': 'b' is not one of the moved tables (a)"),
        "{err}"
    );
}

#[test]
fn patterns_place_many_tables_and_names_beat_patterns() {
    let mut i = input(2);
    i.shard_by = vec![
        String::from("sbtest*=id:xxhash"),
        String::from("sbtest9=k:hash"),
        String::from("sb??st1=c:hash"),
    ];
    let t = TopologyInput::topology(&i).unwrap();
    let rule = |column: &str, vindex| {
        Some(TableRule::Shard {
            column: column.to_owned(),
            vindex,
        })
    };
    assert_eq!(
        t.rule_for("sbtest2").cloned(),
        rule("id", VindexKind::Xxhash)
    );
    assert_eq!(t.rule_for("sbtest9").cloned(), rule("k", VindexKind::Hash));
    // Of two patterns, the last given wins.
    assert_eq!(t.rule_for("sbtest1").cloned(), rule("c", VindexKind::Hash));
    assert_eq!(t.rule_for("orders"), None);
    let moved: Vec<String> = ["sbtest1", "sbtest2", "sbtest9"].map(String::from).to_vec();
    assert!(t.unmatched_rules(&moved).is_empty());
}

#[test]
fn a_rule_or_pattern_that_places_no_moved_table_is_refused() {
    let mut i = input(2);
    i.unsharded_target = Some(String::from("all"));
    i.shard_by = vec![
        String::from("ordrs=customer_id:hash"),
        String::from("sbtest*=id:xxhash"),
    ];
    // Without --tables the check waits for the list of tables the setup reads.
    let t = TopologyInput::topology(&i).unwrap();
    let unmatched = t.unmatched_rules(&[String::from("orders"), String::from("customers")]);
    assert_eq!(unmatched.len(), 2, "{unmatched:?}");
    assert!(
        unmatched[0].starts_with(
            "--shard-by 'ordrs=customer_id:hash': 'ordrs' is not one of the moved tables (orders, customers)"
        ),
        "{unmatched:?}"
    );
    assert!(
        unmatched[1].contains("the pattern 'sbtest*' matches none of the moved tables"),
        "{unmatched:?}"
    );
    // With --tables, before anything connects.
    i.tables = Some(vec![String::from("orders")]);
    let err = TopologyInput::topology(&i).unwrap_err().0;
    assert!(
        err.contains("'ordrs' is not one of the moved tables (orders)"),
        "{err}"
    );
}

#[test]
fn a_table_named_twice_is_refused() {
    let mut i = input(1);
    i.tables = Some(vec![String::from("countries"), String::from("countries")]);
    let err = TopologyInput::topology(&i).unwrap_err().0;
    assert_eq!(
        err,
        "--tables names 'countries' twice; name each table once"
    );
}

fn tempfile(ext: &str) -> (PathBuf, std::fs::File) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let path = std::env::temp_dir().join(format!(
        "reshard-topology-{}-{}.{ext}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::File::create(&path).unwrap();
    (path, file)
}
