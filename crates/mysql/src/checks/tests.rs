use super::*;

fn good() -> ServerFacts {
    ServerFacts {
        version: "10.11.19-MariaDB-0+deb12u1-log".into(),
        flavor: Flavor::MariaDb,
        log_bin: true,
        binlog_format: "ROW".into(),
        binlog_row_image: "FULL".into(),
        binlog_row_value_options: None,
        server_id: 1,
        local_infile: true,
        read_only: false,
        hostname: "h".into(),
        port: 33061,
        database: Some(("shop".into(), true)),
        user: "reshard@%".into(),
        grants: vec!["GRANT ALL PRIVILEGES ON *.* TO `reshard`@`%`".into()],
        replica_ids: vec![7],
    }
}

fn failed(a: &Assessment) -> Vec<&'static str> {
    a.failures().map(|f| f.setting).collect()
}

#[test]
fn a_well_configured_server_is_fit_in_both_roles() {
    for role in [Role::Source, Role::Target] {
        let a = assess(&good(), role);
        assert!(a.fit(), "{role}: {a:?}");
        assert!(
            a.findings.iter().all(|f| f.verdict == Verdict::Ok),
            "{role}: {a:?}"
        );
    }
}

#[test]
fn a_source_needs_full_row_binlogs() {
    let facts = ServerFacts {
        log_bin: false,
        binlog_format: "STATEMENT".into(),
        binlog_row_image: "MINIMAL".into(),
        server_id: 0,
        ..good()
    };
    let a = assess(&facts, Role::Source);
    assert_eq!(
        failed(&a),
        ["log_bin", "binlog_format", "binlog_row_image", "server_id"]
    );
    let log_bin = a.findings.iter().find(|f| f.setting == "log_bin").unwrap();
    assert!(matches!(&log_bin.verdict, Verdict::Fail(why) if why.contains("log-bin=binlog")));
    // A target does not need a binary log.
    assert!(assess(&facts, Role::Target).fit());
}

#[test]
fn partial_json_is_refused_on_a_mysql_source() {
    let facts = ServerFacts {
        version: "8.0.36".into(),
        flavor: Flavor::MySql,
        binlog_row_value_options: Some("PARTIAL_JSON".into()),
        ..good()
    };
    assert_eq!(
        failed(&assess(&facts, Role::Source)),
        ["binlog_row_value_options"]
    );
    let clean = ServerFacts {
        binlog_row_value_options: Some(String::new()),
        ..facts
    };
    assert!(assess(&clean, Role::Source).fit());
}

#[test]
fn a_read_only_target_is_unfit_a_read_only_source_is_a_warning() {
    let facts = ServerFacts {
        read_only: true,
        ..good()
    };
    assert_eq!(failed(&assess(&facts, Role::Target)), ["read_only"]);
    let a = assess(&facts, Role::Source);
    assert!(a.fit());
    assert!(
        a.findings
            .iter()
            .any(|f| f.setting == "read_only" && matches!(f.verdict, Verdict::Warn(_)))
    );
}

#[test]
fn local_infile_off_warns_on_a_target_only() {
    let facts = ServerFacts {
        local_infile: false,
        ..good()
    };
    let warned = |a: &Assessment| {
        a.findings
            .iter()
            .any(|f| f.setting == "local_infile" && matches!(f.verdict, Verdict::Warn(_)))
    };
    assert!(warned(&assess(&facts, Role::Target)));
    assert!(!warned(&assess(&facts, Role::Source)));
}

#[test]
fn a_missing_database_fails_with_the_fix_for_the_role() {
    let facts = ServerFacts {
        database: Some(("shop".into(), false)),
        ..good()
    };
    let fix = |role| match &assess(&facts, role)
        .findings
        .iter()
        .find(|f| f.setting == "database")
        .unwrap()
        .verdict
    {
        Verdict::Fail(why) => why.clone(),
        other => panic!("{other:?}"),
    };
    assert!(fix(Role::Target).contains("CREATE DATABASE `shop`"));
    assert!(fix(Role::Source).contains("fix the database in the DSN"));
}

#[test]
fn old_releases_are_warned_about() {
    let facts = ServerFacts {
        version: "5.5.5-10.3.39-MariaDB".into(),
        ..good()
    };
    assert_eq!(facts.version_numbers(), Some((10, 3, 39)));
    let v = &assess(&facts, Role::Source).findings[0];
    assert!(
        matches!(&v.verdict, Verdict::Warn(w) if w.contains("10.6")),
        "{v:?}"
    );
    let mysql57 = ServerFacts {
        version: "5.7.44-log".into(),
        flavor: Flavor::MySql,
        ..good()
    };
    assert!(matches!(
        assess(&mysql57, Role::Source).findings[0].verdict,
        Verdict::Warn(_)
    ));
}

#[test]
fn the_same_database_of_one_server_given_twice_is_refused() {
    let a = good();
    let other_db = ServerFacts {
        database: Some(("shop2".into(), true)),
        ..good()
    };
    let other_server = ServerFacts {
        port: 33062,
        server_id: 2,
        ..good()
    };
    assert!(cross_check(&[(Role::Source, &a), (Role::Target, &other_db)]).is_empty());
    assert!(cross_check(&[(Role::Source, &a), (Role::Target, &other_server)]).is_empty());
    let found = cross_check(&[
        (Role::Source, &a),
        (Role::Target, &other_server),
        (Role::Target, &a),
    ]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, 2);
    assert!(
        matches!(&found[0].1.verdict, Verdict::Fail(w) if w.contains("as source #1")),
        "{found:?}"
    );
}

/// The reason of the failed `privileges` finding of `a`.
fn privileges_failure(a: &Assessment) -> String {
    let finding = a
        .findings
        .iter()
        .find(|f| f.setting == "privileges")
        .unwrap();
    match &finding.verdict {
        Verdict::Fail(why) => why.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_grants_fail_with_the_statements_that_add_them_and_cutover_grants_warn() {
    let facts = ServerFacts {
        user: "app@10.%".into(),
        grants: vec![
            "GRANT USAGE ON *.* TO `app`@`10.%`".into(),
            "GRANT SELECT ON `shop`.* TO `app`@`10.%`".into(),
        ],
        ..good()
    };
    let source = assess(&facts, Role::Source);
    assert_eq!(failed(&source), vec!["privileges"]);
    let why = privileges_failure(&source);
    assert!(
        why.contains("GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'app'@'10.%'"),
        "{why}"
    );
    assert!(
        why.contains("needed at cutover or with --force: LOCK TABLES"),
        "{why}"
    );
    let why = privileges_failure(&assess(&facts, Role::Target));
    assert!(
        why.contains("GRANT INSERT, UPDATE, DELETE, CREATE, ALTER ON `shop`.* TO 'app'@'10.%'"),
        "{why}"
    );
    // Only what is needed later: a warning, the server is fit.
    let later = ServerFacts {
        grants: vec![
            "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `app`@`10.%`".into(),
            "GRANT SELECT ON `shop`.* TO `app`@`10.%`".into(),
        ],
        ..facts
    };
    let source = assess(&later, Role::Source);
    assert!(source.fit(), "{source:?}");
    assert!(matches!(
        source
            .findings
            .iter()
            .find(|f| f.setting == "privileges")
            .unwrap()
            .verdict,
        Verdict::Warn(_)
    ));
}

#[test]
fn two_servers_with_one_server_id_are_warned_about() {
    let a = good();
    let b = ServerFacts {
        port: 33062,
        ..good()
    };
    let found = cross_check(&[(Role::Source, &a), (Role::Target, &b)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, 1);
    assert_eq!(found[0].1.setting, "server_id");
    assert!(
        matches!(&found[0].1.verdict, Verdict::Warn(w) if w.contains("source #1 (h:33061) has the same server_id"))
    );
    let c = ServerFacts {
        port: 33063,
        server_id: 3,
        ..good()
    };
    assert!(cross_check(&[(Role::Source, &a), (Role::Target, &c)]).is_empty());
}

#[test]
fn a_stream_id_taken_by_the_source_or_a_replica_fails() {
    let facts = good();
    assert_eq!(stream_id(&facts, 99).verdict, Verdict::Ok);
    assert!(
        matches!(stream_id(&facts, 1).verdict, Verdict::Fail(w) if w.contains("the source's own"))
    );
    assert!(
        matches!(stream_id(&facts, 7).verdict, Verdict::Fail(w) if w.contains("a replica registered"))
    );
}
