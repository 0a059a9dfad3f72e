//! The privileges each role of a move needs, judged from `SHOW GRANTS`, with the `GRANT`
//! statements that add what is missing.
//!
//! `SHOW GRANTS` (without `FOR`) lists the grants of the current user and of its enabled role.
//! Global grants (`ON *.*`) and database grants (`` ON `db`.* ``, with `_` and `%` wildcards as
//! MariaDB reads them) are counted; table and column grants are not (a move creates and reads
//! whole tables, so it asks for database grants). `ALL PRIVILEGES` holds every privilege, and
//! `REPLICATION CLIENT` is MariaDB's older name of `BINLOG MONITOR`.
//!
//! | role | needs | why |
//! |---|---|---|
//! | source | `SELECT` on the database | reading the tables |
//! | source | `REPLICATION SLAVE` | streaming the binary log |
//! | source | `BINLOG MONITOR` (`REPLICATION CLIENT`) | reading where the binary log ends |
//! | source, for cutover | `LOCK TABLES`, `ALTER`, `DROP`, `CREATE`, `INSERT` on the database | locking the tables and renaming them to `_old` (required by a move that cuts over, and of the targets by a rollback; a warning otherwise) |
//! | target | `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `CREATE`, `ALTER` on the database | creating the tables, loading rows (`LOAD DATA LOCAL` needs no `FILE`), applying changes, adding indexes |
//! | target, with `--force` | `DROP` on the database | emptying a table (`TRUNCATE`); a warning |

use std::collections::BTreeSet;

use serde::Serialize;

use crate::checks::Role;

/// A privilege a role needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Needed {
    /// Its name, as `GRANT` spells it.
    pub privilege: &'static str,
    /// Whether it is granted on `*.*` (else on the database).
    pub global: bool,
    /// What it is for.
    pub why: &'static str,
    /// Whether the move cannot run without it (else it is needed later or by an option).
    pub required: bool,
}

/// What a role needs, in the order messages list it.
pub fn needs(role: Role) -> Vec<Needed> {
    let db = |privilege, why, required| Needed {
        privilege,
        global: false,
        why,
        required,
    };
    let global = |privilege, why| Needed {
        privilege,
        global: true,
        why,
        required: true,
    };
    match role {
        Role::Source => vec![
            db("SELECT", "reading the tables", true),
            global("REPLICATION SLAVE", "streaming the binary log"),
            global("BINLOG MONITOR", "reading where the binary log ends"),
            db("LOCK TABLES", "the cutover's lock", false),
            db("ALTER", "the cutover's rename to _old", false),
            db("DROP", "the cutover's rename to _old", false),
            db("CREATE", "the cutover's rename to _old", false),
            db("INSERT", "the cutover's rename to _old", false),
        ],
        Role::Target => vec![
            db("SELECT", "checking and verifying the tables", true),
            db("INSERT", "loading rows", true),
            db("UPDATE", "applying changes", true),
            db("DELETE", "applying changes", true),
            db("CREATE", "creating the tables", true),
            db("ALTER", "adding indexes", true),
            db("DROP", "emptying tables with --force (TRUNCATE)", false),
        ],
    }
}

/// The grants of one session, as `SHOW GRANTS` lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Whether some grants could not be counted (a role granted, a table or column grant,
    /// PUBLIC): then a privilege that seems missing may be held after all.
    pub uncertain: bool,
    global: BTreeSet<String>,
    /// Database patterns (unquoted, wildcards as written) and their privileges.
    databases: Vec<(String, BTreeSet<String>)>,
}

impl Grants {
    /// Reads `SHOW GRANTS` lines; lines it does not understand (role grants, procedures,
    /// proxies) add nothing.
    pub fn parse<S: AsRef<str>>(lines: &[S]) -> Grants {
        let mut grants = Grants::default();
        for line in lines {
            let line = line.as_ref();
            let Some((privileges, scope)) = grant_line(line) else {
                // A role granted (`GRANT `role` TO ...`), a table, column or routine grant.
                grants.uncertain |= line.starts_with("GRANT ");
                continue;
            };
            match scope {
                Scope::Global => grants.global.extend(privileges),
                Scope::Database(pattern) => {
                    match grants.databases.iter_mut().find(|(p, _)| *p == pattern) {
                        Some((_, set)) => set.extend(privileges),
                        None => grants
                            .databases
                            .push((pattern, privileges.into_iter().collect())),
                    }
                }
            }
        }
        grants
    }

    /// Whether `privilege` is held on `database` (globally, or by a database grant that
    /// matches it).
    pub fn allows(&self, needed: &Needed, database: &str) -> bool {
        let holds = |set: &BTreeSet<String>| {
            set.contains("ALL PRIVILEGES")
                || set.contains(needed.privilege)
                || (needed.privilege == "BINLOG MONITOR" && set.contains("REPLICATION CLIENT"))
        };
        if holds(&self.global) {
            return true;
        }
        !needed.global
            && self
                .databases
                .iter()
                .any(|(pattern, set)| matches_database(pattern, database) && holds(set))
    }

    /// What `role` needs on `database` that these grants lack.
    pub fn missing(&self, role: Role, database: &str) -> Vec<Needed> {
        needs(role)
            .into_iter()
            .filter(|n| !self.allows(n, database))
            .collect()
    }
}

/// The `GRANT` statements that add `missing` for `user` (as `CURRENT_USER()` names it:
/// `name@host`) on `database`: one for the global privileges, one for the database's.
pub fn grant_statements(missing: &[Needed], database: &str, user: &str) -> Vec<String> {
    let grantee = match user.rsplit_once('@') {
        Some((name, host)) => format!(
            "'{}'@'{}'",
            name.replace('\'', "''"),
            host.replace('\'', "''")
        ),
        None => format!("'{}'", user.replace('\'', "''")),
    };
    let list = |global: bool| {
        missing
            .iter()
            .filter(|n| n.global == global)
            .map(|n| n.privilege)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    let global = list(true);
    if !global.is_empty() {
        out.push(format!("GRANT {global} ON *.* TO {grantee}"));
    }
    let on_database = list(false);
    if !on_database.is_empty() && !database.is_empty() {
        out.push(format!(
            "GRANT {on_database} ON `{}`.* TO {grantee}",
            database.replace('`', "``")
        ));
    }
    out
}

/// `user lacks P (why), ...; as an administrator, run: GRANT ...`: what is missing and the
/// statements that add it, for a refusal or a finding.
pub fn lacking(user: &str, missing: &[Needed], database: &str) -> String {
    let names: Vec<String> = missing
        .iter()
        .map(|n| format!("{} ({})", n.privilege, n.why))
        .collect();
    format!(
        "{user} lacks {}; as an administrator, run: {}",
        names.join(", "),
        grant_statements(missing, database, user).join("; ")
    )
}

/// Where a grant applies.
#[derive(Debug, PartialEq, Eq)]
enum Scope {
    Global,
    Database(String),
}

/// The privileges and scope of a `GRANT <privileges> ON <scope> TO ...` line; `None` for other
/// lines, and for table, column and routine grants.
fn grant_line(line: &str) -> Option<(Vec<String>, Scope)> {
    let rest = line.strip_prefix("GRANT ")?;
    let (privileges, rest) = rest.split_once(" ON ")?;
    let (scope, _) = rest.split_once(" TO ")?;
    let scope = scope.trim();
    let scope = if scope == "*.*" {
        Scope::Global
    } else {
        let database = scope.strip_suffix(".*")?;
        Scope::Database(unquote(database)?)
    };
    let privileges = privileges
        .split(", ")
        .map(str::trim)
        .filter(|p| !p.contains('('))
        .map(|p| {
            if p == "ALL" {
                String::from("ALL PRIVILEGES")
            } else {
                p.to_owned()
            }
        })
        .collect();
    Some((privileges, scope))
}

/// `` `name` `` without its quotes (doubled backticks undone); `None` when not quoted so.
fn unquote(quoted: &str) -> Option<String> {
    let inner = quoted.strip_prefix('`')?.strip_suffix('`')?;
    Some(inner.replace("``", "`"))
}

/// Whether a database grant's `pattern` covers `database`: `_` is any one character, `%` any
/// run, `\_` and `\%` themselves (as MariaDB matches database grants).
fn matches_database(pattern: &str, database: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let database: Vec<char> = database.chars().collect();
    fn go(p: &[char], d: &[char]) -> bool {
        match p.first() {
            None => d.is_empty(),
            Some('\\') if p.len() > 1 => d.first() == Some(&p[1]) && go(&p[2..], &d[1..]),
            Some('%') => (0..=d.len()).any(|k| go(&p[1..], &d[k..])),
            Some('_') => !d.is_empty() && go(&p[1..], &d[1..]),
            Some(c) => d.first() == Some(c) && go(&p[1..], &d[1..]),
        }
    }
    go(&pattern, &database)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_privileges_on_everything_lacks_nothing() {
        let grants = Grants::parse(&[
            "GRANT ALL PRIVILEGES ON *.* TO `reshard`@`%` IDENTIFIED BY PASSWORD '*ABC' WITH GRANT OPTION",
        ]);
        assert!(grants.missing(Role::Source, "shop").is_empty());
        assert!(grants.missing(Role::Target, "shop").is_empty());
    }

    #[test]
    fn database_grants_count_for_their_database_only_and_wildcards_match() {
        let grants = Grants::parse(&[
            "GRANT USAGE ON *.* TO `app`@`10.%`",
            "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `app`@`10.%`",
            "GRANT SELECT, LOCK TABLES ON `shop`.* TO `app`@`10.%`",
            "GRANT SELECT, INSERT ON `shard\\_%`.* TO `app`@`10.%`",
            "GRANT UPDATE (`v`) ON `shop`.`t` TO `app`@`10.%`",
        ]);
        let names = |m: Vec<Needed>| m.iter().map(|n| n.privilege).collect::<Vec<_>>();
        assert_eq!(
            names(grants.missing(Role::Source, "shop")),
            vec!["ALTER", "DROP", "CREATE", "INSERT"],
            "REPLICATION CLIENT counts as BINLOG MONITOR; only cutover's privileges are missing"
        );
        assert_eq!(
            names(grants.missing(Role::Source, "other")),
            vec!["SELECT", "LOCK TABLES", "ALTER", "DROP", "CREATE", "INSERT"]
        );
        assert_eq!(
            names(grants.missing(Role::Target, "shard_1")),
            vec!["UPDATE", "DELETE", "CREATE", "ALTER", "DROP"],
            "a column grant is not a database grant"
        );
        assert!(
            names(grants.missing(Role::Target, "shardx1")).contains(&"SELECT"),
            "an escaped _ matches only itself"
        );
    }

    #[test]
    fn roles_and_table_grants_make_the_count_uncertain() {
        let plain = Grants::parse(&["GRANT SELECT ON `shop`.* TO `app`@`%`"]);
        assert!(!plain.uncertain);
        for line in [
            "GRANT `readers` TO `app`@`%`",
            "GRANT SELECT ON `shop`.`orders` TO `app`@`%`",
        ] {
            let grants = Grants::parse(&["GRANT USAGE ON *.* TO `app`@`%`", line]);
            assert!(grants.uncertain, "{line}");
        }
    }

    #[test]
    fn grant_statements_name_the_user_and_split_global_from_database() {
        let missing: Vec<Needed> = needs(Role::Source)
            .into_iter()
            .filter(|n| n.required)
            .collect();
        assert_eq!(
            grant_statements(&missing, "sh`op", "app@10.%"),
            vec![
                "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'app'@'10.%'",
                "GRANT SELECT ON `sh``op`.* TO 'app'@'10.%'",
            ]
        );
    }
}
