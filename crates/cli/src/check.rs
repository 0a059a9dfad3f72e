//! `reshard check`: is every server fit for its part in a move?
//!
//! All DSNs are parsed before anything connects. Servers are then checked concurrently, read-only:
//! connect (without selecting the database, so that a missing one is a finding rather than a
//! connection failure), read the settings, judge them for the server's role, and judge the servers
//! together (the same database given twice). Every server is reported, even after one fails.

use std::fmt::Write as _;

use reshard_mysql::{
    Assessment, Finding, MysqlError, Role, ServerFacts, Verdict, assess, cross_check,
};
use reshard_types::Dsn;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::Failure;
use crate::args::CheckArgs;
use crate::output::out;

/// One server's outcome.
#[derive(Debug, Serialize)]
struct ServerReport {
    role: Role,
    /// 1-based position among the servers of its role, as the user gave them.
    number: usize,
    dsn: String,
    fit: bool,
    /// Why the server could not be checked at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    facts: Option<ServerFacts>,
    findings: Vec<Finding>,
}

#[derive(Debug, Serialize)]
struct Report {
    fit: bool,
    servers: Vec<ServerReport>,
}

pub(crate) async fn run(args: CheckArgs) -> Result<(), Failure> {
    let servers = parse_servers(&args)?;
    let mut tasks = JoinSet::new();
    for (i, (_, _, dsn)) in servers.iter().enumerate() {
        let dsn = dsn.clone();
        tasks.spawn(async move { (i, ServerFacts::of(&dsn).await) });
    }
    let mut outcomes: Vec<Option<Result<ServerFacts, MysqlError>>> =
        servers.iter().map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let (i, outcome) = joined
            .map_err(|e| Failure::Unfit(format!("a server check stopped unexpectedly: {e}")))?;
        outcomes[i] = Some(outcome);
    }

    let mut reports: Vec<ServerReport> = servers
        .iter()
        .zip(outcomes)
        .map(|((role, number, dsn), outcome)| {
            let base = ServerReport {
                role: *role,
                number: *number,
                dsn: dsn.to_string(),
                fit: false,
                error: None,
                facts: None,
                findings: Vec::new(),
            };
            match outcome {
                Some(Ok(facts)) => {
                    let Assessment { findings } = assess(&facts, *role);
                    ServerReport {
                        findings,
                        facts: Some(facts),
                        ..base
                    }
                }
                Some(Err(e)) => ServerReport {
                    error: Some(e.to_string()),
                    ..base
                },
                None => ServerReport {
                    error: Some("not checked".into()),
                    ..base
                },
            }
        })
        .collect();
    // Judge the servers together: only those that answered can be compared.
    let answered: Vec<usize> = (0..reports.len())
        .filter(|&i| reports[i].facts.is_some())
        .collect();
    let view: Vec<(Role, &ServerFacts)> = answered
        .iter()
        .filter_map(|&i| reports[i].facts.as_ref().map(|f| (reports[i].role, f)))
        .collect();
    let together = cross_check(&view);
    for (k, finding) in together {
        reports[answered[k]].findings.push(finding);
    }
    if let Some(first) = args.server_id {
        for r in &mut reports {
            if r.role != Role::Source {
                continue;
            }
            // Source N streams under first + N - 1, as the move numbers them.
            let id = first.wrapping_add(u32::try_from(r.number - 1).unwrap_or(0));
            if let Some(facts) = &r.facts {
                r.findings.push(reshard_mysql::stream_id(facts, id));
            }
        }
    }
    for r in &mut reports {
        r.fit = r.error.is_none() && !r.findings.iter().any(is_failure);
    }

    let report = Report {
        fit: reports.iter().all(|r| r.fit),
        servers: reports,
    };
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::Unfit(format!("cannot write JSON: {e}")))?;
        out!("{text}");
    } else {
        let _ =
            std::io::Write::write_all(&mut std::io::stdout().lock(), render(&report).as_bytes());
    }
    if report.fit {
        return Ok(());
    }
    let unfit: Vec<String> = report
        .servers
        .iter()
        .filter(|r| !r.fit)
        .map(|r| match &r.error {
            // The error names the server already, and says what to do.
            Some(e) => format!("{} #{}: {e}", r.role, r.number),
            None => {
                let failed: Vec<&str> = r
                    .findings
                    .iter()
                    .filter(|f| is_failure(f))
                    .map(|f| f.setting)
                    .collect();
                format!("{} #{} {} ({})", r.role, r.number, r.dsn, failed.join(", "))
            }
        })
        .collect();
    Err(Failure::Unfit(format!(
        "{} of {} server(s) not fit for a move: {}",
        unfit.len(),
        report.servers.len(),
        unfit.join("; ")
    )))
}

fn is_failure(f: &Finding) -> bool {
    matches!(f.verdict, Verdict::Fail(_))
}

/// Parses every DSN, sources first, before anything connects.
fn parse_servers(args: &CheckArgs) -> Result<Vec<(Role, usize, Dsn)>, Failure> {
    let sources = args.sources.iter().map(|s| (Role::Source, s));
    let targets = args.targets.iter().map(|s| (Role::Target, s));
    let mut counts = [0usize; 2];
    sources
        .chain(targets)
        .map(|(role, text)| {
            let n = &mut counts[usize::from(role == Role::Target)];
            *n += 1;
            let dsn =
                Dsn::parse(text).map_err(|e| Failure::BadInput(format!("{role} #{n}: {e}")))?;
            let env = if role == Role::Source {
                crate::secrets::SOURCE_PASSWORD_ENV
            } else {
                crate::secrets::TARGET_PASSWORD_ENV
            };
            let dsn = match crate::secrets::role_password(None, env)? {
                Some(password) if dsn.password().is_empty() => dsn.with_password(&password),
                _ => dsn,
            };
            Ok((role, *n, dsn))
        })
        .collect()
}

/// The human-readable report: one block per server, one line per setting.
fn render(report: &Report) -> String {
    let mut out = String::new();
    let width = report
        .servers
        .iter()
        .flat_map(|r| &r.findings)
        .map(|f| f.value.len())
        .max()
        .unwrap_or(0);
    for r in &report.servers {
        let _ = writeln!(out, "{} #{}  {}", r.role, r.number, r.dsn);
        if let Some(error) = &r.error {
            let _ = writeln!(out, "  FAIL  {error}");
        }
        for f in &r.findings {
            let (mark, advice) = match &f.verdict {
                Verdict::Ok => ("ok", None),
                Verdict::Warn(w) => ("WARN", Some(w)),
                Verdict::Fail(w) => ("FAIL", Some(w)),
            };
            let _ = writeln!(out, "  {:<26} {:<width$}  {mark}", f.setting, f.value);
            if let Some(advice) = advice {
                let _ = writeln!(out, "      {advice}");
            }
        }
        let verdict = if r.fit {
            format!("fit to be a {}", r.role)
        } else {
            format!("NOT fit to be a {}", r.role)
        };
        let _ = writeln!(out, "  => {verdict}\n");
    }
    let fit = report.servers.iter().filter(|r| r.fit).count();
    let _ = writeln!(
        out,
        "{fit} of {} server(s) fit for a move",
        report.servers.len()
    );
    out
}
