//! Is a server fit for its part in a move? A pure judgement of [`ServerFacts`].
//!
//! A source must write every change to its binary log as full row images, or changes made during
//! the copy cannot be replayed exactly; a target must accept writes. Each requirement that fails
//! says what is wrong and the statement or option that fixes it. Settings that a move does not need
//! from a server in that role are still listed, as plain facts.

use serde::Serialize;

use crate::server_facts::ServerFacts;
use reshard_types::Flavor;

/// The part a server plays in a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Rows are read from it and its binary log is followed.
    Source,
    /// Rows are written to it.
    Target,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Source => "source",
            Role::Target => "target",
        })
    }
}

/// The judgement of one setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", content = "advice", rename_all = "lowercase")]
pub enum Verdict {
    /// Fit.
    Ok,
    /// Usable, but worth the user's attention; the text says why.
    Warn(String),
    /// Unfit; the text says why and how to fix it.
    Fail(String),
}

/// One setting, its value, and the verdict on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The setting (a server variable name, or `version` / `database`).
    pub setting: &'static str,
    /// Its value as the server reported it.
    pub value: String,
    /// The judgement.
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// Every finding on one server in one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// The findings, in a fixed order.
    pub findings: Vec<Finding>,
}

impl Assessment {
    /// Fit when nothing failed.
    pub fn fit(&self) -> bool {
        !self
            .findings
            .iter()
            .any(|f| matches!(f.verdict, Verdict::Fail(_)))
    }

    /// The failed findings.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| matches!(f.verdict, Verdict::Fail(_)))
    }
}

/// Oldest releases reshard is built and tested for.
const MIN_MARIADB: (u32, u32) = (10, 6);
const MIN_MYSQL: (u32, u32) = (8, 0);

/// Judges `facts` for a server playing `role`.
pub fn assess(facts: &ServerFacts, role: Role) -> Assessment {
    let source = role == Role::Source;
    let mut findings = vec![version(facts)];
    let on_off = |b: bool| if b { "ON" } else { "OFF" }.to_owned();

    findings.push(Finding {
        setting: "log_bin",
        value: on_off(facts.log_bin),
        verdict: if source && !facts.log_bin {
            Verdict::Fail(
                "the binary log is off, so changes made during the move cannot be followed; start the \
                 server with the binary log on (log-bin=binlog in its option file; log_bin is not dynamic, \
                 this needs a restart)"
                    .into(),
            )
        } else {
            Verdict::Ok
        },
    });
    findings.push(Finding {
        setting: "binlog_format",
        value: facts.binlog_format.clone(),
        verdict: if source && facts.binlog_format != "ROW" {
            Verdict::Fail(
                "changes can only be replayed exactly from row events; run SET GLOBAL binlog_format='ROW' \
                 (sessions already open keep their format: reconnect them) and set binlog_format=ROW in the \
                 option file"
                    .into(),
            )
        } else {
            Verdict::Ok
        },
    });
    findings.push(Finding {
        setting: "binlog_row_image",
        value: facts.binlog_row_image.clone(),
        verdict: if source && facts.binlog_row_image != "FULL" {
            Verdict::Fail(
                "row events must carry every column to be applied to a resharded target; run SET GLOBAL \
                 binlog_row_image='FULL' and set binlog_row_image=FULL in the option file"
                    .into(),
            )
        } else {
            Verdict::Ok
        },
    });
    if let Some(options) = &facts.binlog_row_value_options {
        findings.push(Finding {
            setting: "binlog_row_value_options",
            value: if options.is_empty() { "''".into() } else { options.clone() },
            verdict: if source && options.to_ascii_uppercase().contains("PARTIAL_JSON") {
                Verdict::Fail(
                    "partial JSON updates log only the changed part of a JSON value; run SET GLOBAL \
                     binlog_row_value_options='' and remove it from the option file"
                        .into(),
                )
            } else {
                Verdict::Ok
            },
        });
    }
    findings.push(Finding {
        setting: "server_id",
        value: facts.server_id.to_string(),
        verdict: if source && facts.server_id == 0 {
            Verdict::Fail("a server with server_id=0 does not serve its binary log; set server_id to a unique non-zero value".into())
        } else {
            Verdict::Ok
        },
    });
    findings.push(Finding {
        setting: "local_infile",
        value: on_off(facts.local_infile),
        verdict: if !source && !facts.local_infile {
            Verdict::Warn(
                "LOAD DATA LOCAL INFILE, the fastest write path, is refused; run SET GLOBAL local_infile=ON".into(),
            )
        } else {
            Verdict::Ok
        },
    });
    findings.push(Finding {
        setting: "read_only",
        value: on_off(facts.read_only),
        verdict: match (source, facts.read_only) {
            (false, true) => Verdict::Fail(
                "the target refuses writes; run SET GLOBAL read_only=OFF (and super_read_only=OFF on MySQL)".into(),
            ),
            (true, true) => Verdict::Warn(
                "the source is read-only: copying works, but cutover renames the source tables and needs \
                 read_only=OFF by then"
                    .into(),
            ),
            _ => Verdict::Ok,
        },
    });
    findings.push(database(facts, role));
    findings.push(privileges(facts, role));
    Assessment { findings }
}

/// The grants the role needs on the DSN's database, by [`crate::privileges`]: what is missing
/// and the `GRANT` statements that add it. Privileges needed only later (cutover) or by an
/// option (`--force`) warn.
fn privileges(facts: &ServerFacts, role: Role) -> Finding {
    use crate::privileges::{Grants, Needed, grant_statements, lacking};
    let database = facts
        .database
        .as_ref()
        .map_or("", |(name, _)| name.as_str());
    let grants = Grants::parse(&facts.grants);
    let missing = grants.missing(role, database);
    let (now, later): (Vec<Needed>, Vec<Needed>) = missing.iter().partition(|n| n.required);
    let value = if missing.is_empty() {
        String::from("every grant needed")
    } else {
        format!("{} missing", missing.len())
    };
    let names = |part: &[Needed]| {
        part.iter()
            .map(|n| format!("{} ({})", n.privilege, n.why))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let fix = |part: &[Needed]| grant_statements(part, database, &facts.user).join("; ");
    let verdict = if !now.is_empty() && grants.uncertain {
        Verdict::Warn(format!(
            "{} seems to lack {} (unless a role, a table-level or a PUBLIC grant gives it, which \
             this check cannot count); if it does, run: {}",
            facts.user,
            names(&now),
            fix(&now)
        ))
    } else if !now.is_empty() {
        let mut why = lacking(&facts.user, &now, database);
        if !later.is_empty() {
            why.push_str(&format!(
                " (needed at cutover or with --force: {}; {})",
                names(&later),
                fix(&later)
            ));
        }
        Verdict::Fail(why)
    } else if !later.is_empty() {
        Verdict::Warn(format!(
            "{} lacks what is needed at cutover or with --force: {}; run: {}",
            facts.user,
            names(&later),
            fix(&later)
        ))
    } else {
        Verdict::Ok
    };
    Finding {
        setting: "privileges",
        value,
        verdict,
    }
}

fn version(facts: &ServerFacts) -> Finding {
    let value = format!("{} ({})", facts.version, facts.flavor);
    let minimum = match facts.flavor {
        Flavor::MariaDb => MIN_MARIADB,
        Flavor::MySql => MIN_MYSQL,
    };
    let verdict = match facts.version_numbers() {
        Some((major, minor, _)) if (major, minor) >= minimum => Verdict::Ok,
        Some(_) => Verdict::Warn(format!(
            "reshard is tested on {} {}.{} and later; this older release may not work",
            facts.flavor, minimum.0, minimum.1
        )),
        None => Verdict::Warn(
            "the version string could not be read; the server may not be supported".into(),
        ),
    };
    Finding {
        setting: "version",
        value,
        verdict,
    }
}

fn database(facts: &ServerFacts, role: Role) -> Finding {
    match &facts.database {
        None => Finding {
            setting: "database",
            value: "(none in the DSN)".into(),
            verdict: Verdict::Ok,
        },
        Some((name, true)) => Finding {
            setting: "database",
            value: name.clone(),
            verdict: Verdict::Ok,
        },
        Some((name, false)) => Finding {
            setting: "database",
            value: name.clone(),
            verdict: Verdict::Fail(match role {
                Role::Source => format!(
                    "database '{name}' does not exist on this server; fix the database in the DSN"
                ),
                Role::Target => format!(
                    "database '{name}' does not exist on this server; create it (CREATE DATABASE `{name}`) or fix the DSN"
                ),
            }),
        },
    }
}

/// Findings about the servers taken together: the same database of the same server given twice
/// (a move onto itself, or a source read twice). `servers` holds each server's role and facts; the
/// result pairs an index into it with a finding for that server.
pub fn cross_check(servers: &[(Role, &ServerFacts)]) -> Vec<(usize, Finding)> {
    let mut out = Vec::new();
    for (i, (_, a)) in servers.iter().enumerate() {
        for (j, (role_j, b)) in servers.iter().enumerate().take(i) {
            let same_db = a.database.as_ref().map(|d| &d.0) == b.database.as_ref().map(|d| &d.0);
            if a.same_server(b) && same_db {
                out.push((
                    i,
                    Finding {
                        setting: "identity",
                        value: format!("{}:{} server_id {}", a.hostname, a.port, a.server_id),
                        verdict: Verdict::Fail(format!(
                            "this is the same server and database as {role_j} #{}; give each server and \
                             database once (a move between two databases of one server is fine)",
                            servers[..=j].iter().filter(|(r, _)| r == role_j).count()
                        )),
                    },
                ));
            } else if !a.same_server(b) && a.server_id == b.server_id {
                out.push((
                    i,
                    Finding {
                        setting: "server_id",
                        value: a.server_id.to_string(),
                        verdict: Verdict::Warn(format!(
                            "{role_j} #{} ({}:{}) has the same server_id; servers that replicate \
                             from each other (a rollback window replicates targets back into \
                             sources) must have distinct ids: set server_id in one's option file",
                            servers[..=j].iter().filter(|(r, _)| r == role_j).count(),
                            b.hostname,
                            b.port
                        )),
                    },
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;

/// Whether `id`, the replica server id a move would stream this source's binary log under
/// (`--server-id`), is free: not the source's own, nor a registered replica's.
pub fn stream_id(facts: &ServerFacts, id: u32) -> Finding {
    let taken = if facts.server_id == id {
        Some(String::from("the source's own server_id"))
    } else if facts.replica_ids.contains(&id) {
        Some(String::from(
            "the server_id of a replica registered with this source",
        ))
    } else {
        None
    };
    Finding {
        setting: "--server-id",
        value: id.to_string(),
        verdict: match taken {
            Some(whose) => Verdict::Fail(format!(
                "{id} is {whose}; a second stream under it would cut that one off: give the move \
                 another --server-id"
            )),
            None => Verdict::Ok,
        },
    }
}
