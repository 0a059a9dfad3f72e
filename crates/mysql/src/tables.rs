//! What a copy needs to know about, and do to, whole tables: listing them, their row key, their
//! size, their DDL (with secondary indexes split off to be added after the copy), emptiness, and
//! how a target's columns differ from a source's.

use mysql_async::prelude::Queryable;
use reshard_types::{RowKey, TableSchema};

use crate::error::MysqlError;
use crate::reader::table_sql;
use crate::session::Session;

/// The base tables (not views) of the session's database, by name.
pub async fn list_tables(session: &mut Session, database: &str) -> Result<Vec<String>, MysqlError> {
    let names: Vec<String> = session
        .conn()
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            (database,),
        )
        .await
        .map_err(|e| session.error("listing tables", e))?;
    Ok(names)
}

/// The key rows are identified by: the primary key, else the first (by name) unique index whose
/// columns are all `NOT NULL`; `None` when there is neither.
pub async fn row_key(
    session: &mut Session,
    table: &TableSchema,
) -> Result<Option<RowKey>, MysqlError> {
    if !table.primary_key.is_empty() {
        return Ok(Some(RowKey {
            index: "PRIMARY".into(),
            columns: table.primary_key.clone(),
        }));
    }
    let rows: Vec<(String, String)> = session
        .conn()
        .exec(
            "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 \
             ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            (&table.database, &table.name),
        )
        .await
        .map_err(|e| session.error("reading unique indexes", e))?;
    let mut candidates: Vec<RowKey> = Vec::new();
    let mut usable: Vec<bool> = Vec::new();
    for (index, column) in rows {
        if candidates.last().is_none_or(|k| k.index != index) {
            candidates.push(RowKey {
                index: index.clone(),
                columns: Vec::new(),
            });
            usable.push(true);
        }
        let (key, ok) = (
            candidates.last_mut().expect("pushed"),
            usable.last_mut().expect("pushed"),
        );
        // A prefix index (or a column the schema lacks) cannot identify rows by value.
        match table.columns.iter().position(|c| c.name == column) {
            Some(i) if !table.columns[i].nullable => key.columns.push(i),
            _ => *ok = false,
        }
    }
    Ok(candidates
        .into_iter()
        .zip(usable)
        .find(|(key, ok)| *ok && !key.columns.is_empty())
        .map(|(key, _)| key))
}

/// The server's estimate of a table's rows (`information_schema.TABLES.TABLE_ROWS`, which
/// InnoDB samples: a guide for scheduling and progress, not a count).
pub async fn estimated_rows(session: &mut Session, table: &TableSchema) -> Result<u64, MysqlError> {
    let rows: Option<Option<u64>> = session
        .conn()
        .exec_first(
            "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (&table.database, &table.name),
        )
        .await
        .map_err(|e| session.error("reading table statistics", e))?;
    Ok(rows.flatten().unwrap_or(0))
}

/// Who the server says it is: `(@@hostname, @@port, @@server_id)`. Two DSNs that reach the same
/// server (by different host names, say) give the same identity.
pub async fn server_identity(session: &mut Session) -> Result<(String, u16, u32), MysqlError> {
    let row: Option<(String, u16, u32)> = session
        .conn()
        .query_first("SELECT @@hostname, @@port, @@server_id")
        .await
        .map_err(|e| session.error("reading the server's identity", e))?;
    Ok(row.unwrap_or_default())
}

/// Whether the table holds no row.
pub async fn is_empty(session: &mut Session, table: &TableSchema) -> Result<bool, MysqlError> {
    let any: Option<u8> = session
        .conn()
        .query_first(format!("SELECT 1 FROM {} LIMIT 1", table_sql(table)))
        .await
        .map_err(|e| session.error("checking whether a table is empty", e))?;
    Ok(any.is_none())
}

/// The exact number of rows (a full scan: for checks after a copy).
pub async fn count_rows(session: &mut Session, table: &TableSchema) -> Result<u64, MysqlError> {
    let count: Option<u64> = session
        .conn()
        .query_first(format!("SELECT COUNT(*) FROM {}", table_sql(table)))
        .await
        .map_err(|e| session.error("counting rows", e))?;
    Ok(count.unwrap_or(0))
}

/// Which sharding values [`unmappable_candidates`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueSuspects {
    /// NULLs (for vindexes that cannot map NULL).
    pub nulls: bool,
    /// Text that is not an integer from -2^63 to 2^64 - 1 (for integer vindexes on a string
    /// column).
    pub not_integers: bool,
}

/// Up to `limit` rows of `table` whose `column` holds a value of the kinds `suspects` names, each
/// as its key (`` `id`=42 ``, strings quoted) and the value (`None` for NULL). A read-only scan,
/// for checks before anything is written.
pub async fn unmappable_candidates(
    session: &mut Session,
    table: &TableSchema,
    key: &RowKey,
    column: usize,
    suspects: ValueSuspects,
    limit: u32,
) -> Result<Vec<(String, Option<Vec<u8>>)>, MysqlError> {
    let literal = |text: &str| format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"));
    let quoted =
        |i: usize| reshard_convert::encode::load_data::quote_identifier(&table.columns[i].name);
    let keys: Vec<String> = key
        .columns
        .iter()
        .map(|&i| {
            let name = literal(&format!("{}=", quoted(i)));
            if matches!(table.columns[i].ty, reshard_types::ColumnType::Int { .. }) {
                format!("{name}, {}", quoted(i))
            } else {
                format!("{name}, QUOTE({})", quoted(i))
            }
        })
        .collect();
    let value = quoted(column);
    let mut conditions = Vec::new();
    if suspects.nulls {
        conditions.push(format!("{value} IS NULL"));
    }
    if suspects.not_integers {
        conditions.push(format!(
            "{value} NOT REGEXP '^[-+]?[0-9]+$' \
             OR CAST({value} AS DECIMAL(65,0)) NOT BETWEEN -9223372036854775808 AND 18446744073709551615"
        ));
    }
    if conditions.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT CONCAT_WS(', ', {}), {value} FROM {} WHERE {} LIMIT {limit}",
        keys.iter()
            .map(|k| format!("CONCAT({k})"))
            .collect::<Vec<_>>()
            .join(", "),
        table_sql(table),
        conditions.join(" OR ")
    );
    session
        .conn()
        .query(sql)
        .await
        .map_err(|e| session.error("looking for sharding values the vindex cannot map", e))
}

/// Deletes every row (`TRUNCATE TABLE`, with foreign key checks off so that a table other tables
/// refer to can be emptied too; the session's setting is restored after).
pub async fn truncate(session: &mut Session, table: &TableSchema) -> Result<(), MysqlError> {
    let sql = format!(
        "SET @reshard_fk_checks = @@SESSION.foreign_key_checks, SESSION foreign_key_checks = 0; \
         TRUNCATE TABLE {}; SET SESSION foreign_key_checks = @reshard_fk_checks",
        table_sql(table)
    );
    session
        .conn()
        .query_drop(sql)
        .await
        .map_err(|e| session.error("emptying a target table", e))
}

/// `ANALYZE TABLE`: fresh index statistics after a bulk load (its result rows are read and
/// dropped; an `error` row fails).
pub async fn analyze(session: &mut Session, table: &TableSchema) -> Result<(), MysqlError> {
    let sql = format!("ANALYZE TABLE {}", table_sql(table));
    let rows: Vec<(String, String, String, String)> = session
        .conn()
        .query(sql)
        .await
        .map_err(|e| session.error("analyzing a target table", e))?;
    if let Some((_, _, _, text)) = rows.iter().find(|(_, _, kind, _)| kind == "error") {
        return Err(MysqlError::Unexpected {
            server: session.dsn().to_string(),
            doing: "analyzing a target table",
            detail: text.clone(),
        });
    }
    Ok(())
}

/// `SHOW CREATE TABLE` of `database.table`.
pub async fn show_create_table(
    session: &mut Session,
    database: &str,
    table: &str,
) -> Result<String, MysqlError> {
    let sql = format!(
        "SHOW CREATE TABLE {}.{}",
        reshard_convert::encode::load_data::quote_identifier(database),
        reshard_convert::encode::load_data::quote_identifier(table)
    );
    let row: Option<(String, String)> = session
        .conn()
        .query_first(sql)
        .await
        .map_err(|e| session.error("reading a table's definition", e))?;
    row.map(|(_, ddl)| ddl)
        .ok_or_else(|| MysqlError::TableNotFound {
            server: session.dsn().to_string(),
            table: format!("`{database}`.`{table}`"),
        })
}

/// Runs a DDL statement (creating a table, adding indexes) in the session's database.
pub async fn run_ddl(session: &mut Session, sql: &str) -> Result<(), MysqlError> {
    session
        .conn()
        .query_drop(sql)
        .await
        .map_err(|e| session.error("creating a target table or its indexes", e))
}

/// A `CREATE TABLE` statement split for a fast bulk load: the statement without its secondary
/// indexes and foreign keys, and the clauses (`ADD KEY ...`) that add them back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredDdl {
    /// `CREATE TABLE` with the primary key (or the unique key standing in for it) only.
    pub create: String,
    /// `ADD ...` clauses for one `ALTER TABLE`; empty when there was nothing to defer.
    pub add_back: Vec<String>,
}

/// Splits `SHOW CREATE TABLE` output (one definition per line, as the server prints it) into a
/// `CREATE TABLE` without secondary indexes and foreign keys, and the clauses adding them back.
/// The index named `keep` (the row key, when a unique index stands in for a primary key) stays.
pub fn defer_secondary_indexes(ddl: &str, keep: &str) -> DeferredDdl {
    let keep_line = format!(
        "UNIQUE KEY {} ",
        reshard_convert::encode::load_data::quote_identifier(keep)
    );
    let mut kept: Vec<&str> = Vec::new();
    let mut add_back = Vec::new();
    for line in ddl.lines() {
        let body = line.trim_start();
        let definition = line.starts_with("  ");
        let secondary = [
            "KEY ",
            "UNIQUE KEY ",
            "FULLTEXT KEY ",
            "SPATIAL KEY ",
            "INDEX ",
        ]
        .iter()
        .any(|p| body.starts_with(p))
            && !body.starts_with(&keep_line);
        let foreign = body.starts_with("CONSTRAINT ") && body.contains(" FOREIGN KEY ");
        if definition && (secondary || foreign) {
            add_back.push(format!("ADD {}", body.trim_end_matches(',')));
        } else {
            kept.push(line);
        }
    }
    // The last definition before the closing parenthesis must not end with a comma.
    if let Some(close) = kept.iter().rposition(|l| l.starts_with(')'))
        && close > 0
        && let Some(stripped) = kept[close - 1].strip_suffix(',')
    {
        kept[close - 1] = stripped;
    }
    DeferredDdl {
        create: kept.join("\n"),
        add_back,
    }
}

/// The name of the index or constraint an `ADD ...` clause of [`DeferredDdl::add_back`] adds: its
/// first quoted identifier, unquoted (`` ADD UNIQUE KEY `b` (`b`) `` adds `b`).
pub fn clause_name(clause: &str) -> Option<String> {
    let start = clause.find('`')? + 1;
    let mut name = String::new();
    let mut chars = clause[start..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == '`' {
            // A backquote inside a name is doubled.
            if chars.peek() == Some(&'`') {
                chars.next();
            } else {
                return Some(name);
            }
        }
        name.push(c);
    }
    None
}

/// How `target` differs from `source` in what a copy depends on (columns in order, their types,
/// nullability, character sets and collations, generation, and the primary key), one line per
/// difference; empty when they match.
pub fn schema_differences(source: &TableSchema, target: &TableSchema) -> Vec<String> {
    schema_differences_between(source, "the source", target, "the target")
}

/// The differences between table `a` (on the server called `a_name` in messages) and `b`.
pub fn schema_differences_between(
    a: &TableSchema,
    a_name: &str,
    b: &TableSchema,
    b_name: &str,
) -> Vec<String> {
    let (source, target) = (a, b);
    let mut out = Vec::new();
    let describe = |c: &reshard_types::ColumnDef| {
        let mut d = c.column_type.clone();
        if let Some(coll) = &c.collation {
            d.push_str(&format!(" COLLATE {coll}"));
        }
        d.push_str(if c.nullable { " NULL" } else { " NOT NULL" });
        if let Some(g) = &c.generated {
            d.push_str(&format!(
                " AS ({}) {}",
                g.expression,
                if g.stored { "STORED" } else { "VIRTUAL" }
            ));
        }
        d
    };
    let n = source.columns.len().max(target.columns.len());
    for i in 0..n {
        match (source.columns.get(i), target.columns.get(i)) {
            (Some(s), Some(t)) if s.name != t.name => out.push(format!(
                "column {}: `{}` on {a_name}, `{}` on {b_name}",
                i + 1,
                s.name,
                t.name
            )),
            (Some(s), Some(t)) => {
                let (ds, dt) = (describe(s), describe(t));
                if ds != dt || s.ty != t.ty {
                    out.push(format!(
                        "column `{}`: {ds} on {a_name}, {dt} on {b_name}",
                        s.name
                    ));
                }
            }
            (Some(s), None) => out.push(format!(
                "column `{}` ({}) is missing on {b_name}",
                s.name,
                describe(s)
            )),
            (None, Some(t)) => out.push(format!(
                "column `{}` ({}) exists only on {b_name}",
                t.name,
                describe(t)
            )),
            (None, None) => {}
        }
    }
    let key = |t: &TableSchema| {
        t.primary_key
            .iter()
            .map(|&i| t.columns[i].name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if key(source) != key(target) {
        out.push(format!(
            "primary key: ({}) on {a_name}, ({}) on {b_name}",
            key(source),
            key(target)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DDL: &str = "CREATE TABLE `t` (\n  `id` bigint(20) NOT NULL,\n  `a` int(11) DEFAULT NULL,\n  \
        `b` varchar(10) NOT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `b` (`b`),\n  KEY `a` (`a`),\n  \
        CONSTRAINT `fk` FOREIGN KEY (`a`) REFERENCES `p` (`id`),\n  CONSTRAINT `chk` CHECK (`a` > 0)\n) \
        ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

    #[test]
    fn secondary_indexes_and_foreign_keys_are_deferred() {
        let d = defer_secondary_indexes(DDL, "PRIMARY");
        assert_eq!(
            d.add_back,
            [
                "ADD UNIQUE KEY `b` (`b`)",
                "ADD KEY `a` (`a`)",
                "ADD CONSTRAINT `fk` FOREIGN KEY (`a`) REFERENCES `p` (`id`)"
            ]
        );
        assert!(
            d.create
                .contains("PRIMARY KEY (`id`),\n  CONSTRAINT `chk` CHECK (`a` > 0)\n)")
        );
        assert!(!d.create.contains("KEY `a`"));
    }

    #[test]
    fn clauses_are_named_by_their_first_identifier() {
        let d = defer_secondary_indexes(DDL, "PRIMARY");
        let names: Vec<_> = d.add_back.iter().filter_map(|c| clause_name(c)).collect();
        assert_eq!(names, ["b", "a", "fk"]);
        assert_eq!(
            clause_name("ADD KEY `we``ird` (`x`)").as_deref(),
            Some("we`ird")
        );
        assert_eq!(clause_name("ADD KEY"), None);
    }

    #[test]
    fn the_key_standing_in_for_a_primary_key_stays() {
        let ddl = "CREATE TABLE `t` (\n  `id` int NOT NULL,\n  UNIQUE KEY `u` (`id`),\n  KEY `k` (`id`)\n) ENGINE=InnoDB";
        let d = defer_secondary_indexes(ddl, "u");
        assert_eq!(d.add_back, ["ADD KEY `k` (`id`)"]);
        assert_eq!(
            d.create,
            "CREATE TABLE `t` (\n  `id` int NOT NULL,\n  UNIQUE KEY `u` (`id`)\n) ENGINE=InnoDB"
        );
    }
}
