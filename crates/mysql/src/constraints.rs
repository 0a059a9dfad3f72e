//! A table's indexes and foreign keys, from `information_schema`, and how a target table's differ
//! from a source's.
//!
//! A copy writes with `LOAD DATA ... IGNORE` and the change applier with `REPLACE`: both act on
//! every unique key of the target, not only the row key. A target table with a unique key the
//! source lacks (or with a different definition: other columns, order or prefix lengths) could
//! therefore skip or delete rows the source holds, so such a difference is refused before anything
//! is written ([`compare`]), as is a foreign key defined otherwise (other columns, parent or
//! actions). An index or foreign key of the source that the target lacks cannot reject a row; it
//! is added to the target (a table whose deferred indexes were never added back, say, is
//! completed). Non-unique indexes the target has in addition, or defines otherwise, cannot lose a
//! row either: they are reported and left alone. The primary key is compared with the columns
//! (`tables::schema_differences`), not here.
//!
//! Foreign keys whose actions InnoDB carries out itself (`CASCADE`, `SET NULL`, `SET DEFAULT`)
//! change child rows without writing those changes to the binary log: [`ForeignKey::acts_on_rows`]
//! says which, so that an online move can refuse to follow them.

use mysql_async::prelude::Queryable;

use crate::error::MysqlError;
use crate::session::Session;

/// One column of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPart {
    /// The column.
    pub column: String,
    /// The prefix length in characters (bytes for binary strings), for a prefix index.
    pub prefix: Option<u64>,
    /// Whether the column is sorted descending.
    pub descending: bool,
}

/// An index of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    /// Its name (`PRIMARY` for the primary key).
    pub name: String,
    /// Whether it is unique (the primary key is).
    pub unique: bool,
    /// `BTREE`, `HASH` (MariaDB's long unique keys), `FULLTEXT`, `SPATIAL`.
    pub kind: String,
    /// Its columns, in order.
    pub parts: Vec<IndexPart>,
}

impl std::fmt::Display for IndexDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|p| {
                let mut s = format!("`{}`", p.column);
                if let Some(n) = p.prefix {
                    s.push_str(&format!("({n})"));
                }
                if p.descending {
                    s.push_str(" DESC");
                }
                s
            })
            .collect();
        let kind = match (self.name.as_str(), self.unique, self.kind.as_str()) {
            ("PRIMARY", _, _) => String::from("PRIMARY KEY"),
            (_, true, "BTREE") => String::from("UNIQUE KEY"),
            (_, true, other) => format!("UNIQUE KEY USING {other}"),
            (_, false, "BTREE") => String::from("KEY"),
            (_, false, other) => format!("{other} KEY"),
        };
        write!(f, "{kind} `{}` ({})", self.name, parts.join(", "))
    }
}

/// A foreign key of a (child) table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The constraint's name.
    pub name: String,
    /// The child's columns.
    pub columns: Vec<String>,
    /// The parent table's database.
    pub parent_database: String,
    /// The parent table.
    pub parent_table: String,
    /// The parent's columns.
    pub parent_columns: Vec<String>,
    /// `ON UPDATE`: `RESTRICT`, `NO ACTION`, `CASCADE`, `SET NULL` or `SET DEFAULT`.
    pub on_update: String,
    /// `ON DELETE`, likewise.
    pub on_delete: String,
}

impl ForeignKey {
    /// The actions by which InnoDB changes this table's rows itself when a parent row changes
    /// (`ON DELETE CASCADE`, `ON UPDATE SET NULL`, ...): changes that the binary log does not
    /// carry, whatever its format.
    pub fn acts_on_rows(&self) -> Vec<String> {
        let acting = |rule: &str| matches!(rule, "CASCADE" | "SET NULL" | "SET DEFAULT");
        let mut out = Vec::new();
        if acting(&self.on_delete) {
            out.push(format!("ON DELETE {}", self.on_delete));
        }
        if acting(&self.on_update) {
            out.push(format!("ON UPDATE {}", self.on_update));
        }
        out
    }
}

impl std::fmt::Display for ForeignKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |c: &[String]| {
            c.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(
            f,
            "CONSTRAINT `{}` FOREIGN KEY ({}) REFERENCES `{}`.`{}` ({}) ON DELETE {} ON UPDATE {}",
            self.name,
            list(&self.columns),
            self.parent_database,
            self.parent_table,
            list(&self.parent_columns),
            self.on_delete,
            self.on_update
        )
    }
}

/// The indexes of `database.table`, by name.
pub async fn read_indexes(
    session: &mut Session,
    database: &str,
    table: &str,
) -> Result<Vec<IndexDef>, MysqlError> {
    // COLUMN_NAME is NULL for a key part that is an expression (MySQL 8's functional indexes).
    type Row = (
        String,
        u8,
        Option<String>,
        Option<u64>,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = session
        .conn()
        .exec(
            "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE, COLLATION \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            (database, table),
        )
        .await
        .map_err(|e| session.error("reading a table's indexes", e))?;
    let mut out: Vec<IndexDef> = Vec::new();
    for (name, non_unique, column, prefix, kind, collation) in rows {
        if out.last().is_none_or(|i| i.name != name) {
            out.push(IndexDef {
                name,
                unique: non_unique == 0,
                kind,
                parts: Vec::new(),
            });
        }
        out.last_mut().expect("pushed").parts.push(IndexPart {
            column: column.unwrap_or_else(|| String::from("(an expression)")),
            prefix,
            descending: collation.as_deref() == Some("D"),
        });
    }
    Ok(out)
}

/// The foreign keys of `database.table` (the table as the child), by name.
pub async fn read_foreign_keys(
    session: &mut Session,
    database: &str,
    table: &str,
) -> Result<Vec<ForeignKey>, MysqlError> {
    type Row = (String, String, String, String, String, String, String);
    let rows: Vec<Row> = session
        .conn()
        .exec(
            "SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, \
                    k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE \
             FROM information_schema.KEY_COLUMN_USAGE k \
             JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
               ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME \
              AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
             WHERE k.TABLE_SCHEMA = ? AND k.TABLE_NAME = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL \
             ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            (database, table),
        )
        .await
        .map_err(|e| session.error("reading a table's foreign keys", e))?;
    let mut out: Vec<ForeignKey> = Vec::new();
    for (name, column, parent_db, parent_table, parent_column, on_update, on_delete) in rows {
        if out.last().is_none_or(|f| f.name != name) {
            out.push(ForeignKey {
                name,
                columns: Vec::new(),
                parent_database: parent_db,
                parent_table,
                parent_columns: Vec::new(),
                on_update,
                on_delete,
            });
        }
        let fk = out.last_mut().expect("pushed");
        fk.columns.push(column);
        fk.parent_columns.push(parent_column);
    }
    Ok(out)
}

/// A table's indexes and foreign keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Constraints {
    /// Its indexes, the primary key included.
    pub indexes: Vec<IndexDef>,
    /// Its foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
}

impl Constraints {
    /// Reads both for `database.table`.
    pub async fn read(
        session: &mut Session,
        database: &str,
        table: &str,
    ) -> Result<Constraints, MysqlError> {
        Ok(Constraints {
            indexes: read_indexes(session, database, table).await?,
            foreign_keys: read_foreign_keys(session, database, table).await?,
        })
    }
}

/// Something of the source's that a target table lacks, to be added to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The index's or foreign key's name.
    pub name: String,
    /// Whether it is a foreign key (MariaDB names a foreign key's own index after it, so a name
    /// alone does not say which).
    pub foreign_key: bool,
}

/// How a target table's indexes and foreign keys stand against the source's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Differences that could reject, skip or replace a row the source holds (or that make the
    /// target a different table): each refuses the copy.
    pub refusals: Vec<String>,
    /// The source's indexes and foreign keys the target lacks: to be added to it.
    pub missing: Vec<Missing>,
    /// Differences that cannot lose a row (non-unique indexes only the target has, or that it
    /// defines otherwise): reported, left as they are.
    pub harmless: Vec<String>,
}

/// An action as both flavors mean it: InnoDB treats `NO ACTION` as `RESTRICT`, and MySQL and
/// MariaDB report the default differently.
fn action(rule: &str) -> &str {
    if rule == "NO ACTION" {
        "RESTRICT"
    } else {
        rule
    }
}

/// Compares the target's indexes and foreign keys with the source's (by name), foreign keys'
/// parent database aside (it is the target's own). `row_key` is the index that identifies rows.
pub fn compare(source: &Constraints, target: &Constraints, row_key: &str) -> Comparison {
    let mut out = Comparison::default();
    let secondary = |c: &Constraints| -> Vec<IndexDef> {
        c.indexes
            .iter()
            .filter(|i| i.name != "PRIMARY")
            .cloned()
            .collect()
    };
    let (source_indexes, target_indexes) = (secondary(source), secondary(target));
    for s in &source_indexes {
        match target_indexes.iter().find(|t| t.name == s.name) {
            Some(t) if t == s => {}
            Some(t) if s.unique || t.unique => out.refusals.push(format!(
                "index `{}` is {s} on the source but {t} on the target",
                s.name
            )),
            Some(t) => out.harmless.push(format!(
                "index `{}` is {t} on the target, {s} on the source",
                s.name
            )),
            None if s.name == row_key => out.refusals.push(format!(
                "the target lacks {s}, which identifies the rows; add it"
            )),
            None => out.missing.push(Missing {
                name: s.name.clone(),
                foreign_key: false,
            }),
        }
    }
    for t in &target_indexes {
        if source_indexes.iter().any(|s| s.name == t.name) {
            continue;
        }
        if t.unique {
            out.refusals.push(format!(
                "the target has {t}, which the source lacks: it could reject or replace rows the source holds; drop it"
            ));
        } else {
            out.harmless.push(format!("{t} (only on the target)"));
        }
    }
    let same_fk = |s: &ForeignKey, t: &ForeignKey| {
        s.columns == t.columns
            && s.parent_table == t.parent_table
            && s.parent_columns == t.parent_columns
            && action(&s.on_update) == action(&t.on_update)
            && action(&s.on_delete) == action(&t.on_delete)
    };
    for s in &source.foreign_keys {
        match target.foreign_keys.iter().find(|t| t.name == s.name) {
            Some(t) if same_fk(s, t) => {}
            Some(t) => out.refusals.push(format!(
                "foreign key `{}` is {s} on the source but {t} on the target",
                s.name
            )),
            None => out.missing.push(Missing {
                name: s.name.clone(),
                foreign_key: true,
            }),
        }
    }
    for t in &target.foreign_keys {
        if !source.foreign_keys.iter().any(|s| s.name == t.name) {
            out.refusals.push(format!(
                "the target has {t}, which the source lacks; drop it"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(name: &str, unique: bool, columns: &[(&str, Option<u64>)]) -> IndexDef {
        IndexDef {
            name: name.into(),
            unique,
            kind: "BTREE".into(),
            parts: columns
                .iter()
                .map(|&(c, prefix)| IndexPart {
                    column: c.into(),
                    prefix,
                    descending: false,
                })
                .collect(),
        }
    }

    fn fk(name: &str, on_delete: &str) -> ForeignKey {
        ForeignKey {
            name: name.into(),
            columns: vec!["parent_id".into()],
            parent_database: "shop".into(),
            parent_table: "parents".into(),
            parent_columns: vec!["id".into()],
            on_update: "RESTRICT".into(),
            on_delete: on_delete.into(),
        }
    }

    fn source() -> Constraints {
        Constraints {
            indexes: vec![
                index("PRIMARY", true, &[("id", None)]),
                index("email", true, &[("email", Some(20))]),
                index("k_name", false, &[("last", None), ("first", None)]),
            ],
            foreign_keys: vec![fk("fk_parent", "RESTRICT")],
        }
    }

    #[test]
    fn equal_tables_have_no_difference() {
        assert_eq!(
            compare(&source(), &source(), "PRIMARY"),
            Comparison::default()
        );
    }

    #[test]
    fn what_the_target_lacks_is_added_not_refused() {
        let mut target = source();
        target.indexes.retain(|i| i.name == "PRIMARY");
        target.foreign_keys.clear();
        let c = compare(&source(), &target, "PRIMARY");
        assert!(c.refusals.is_empty(), "{c:?}");
        let missing: Vec<(&str, bool)> = c
            .missing
            .iter()
            .map(|m| (m.name.as_str(), m.foreign_key))
            .collect();
        assert_eq!(
            missing,
            [("email", false), ("k_name", false), ("fk_parent", true)]
        );
    }

    #[test]
    fn a_unique_key_only_the_target_has_is_refused_a_plain_one_is_not() {
        let mut target = source();
        target
            .indexes
            .push(index("u_extra", true, &[("sku", None)]));
        target
            .indexes
            .push(index("k_extra", false, &[("sku", None)]));
        let c = compare(&source(), &target, "PRIMARY");
        assert_eq!(c.refusals.len(), 1, "{c:?}");
        assert!(
            c.refusals[0].contains("UNIQUE KEY `u_extra` (`sku`)"),
            "{c:?}"
        );
        assert_eq!(c.harmless, ["KEY `k_extra` (`sku`) (only on the target)"]);
    }

    #[test]
    fn a_unique_key_with_other_columns_order_or_prefix_lengths_is_refused() {
        for changed in [
            index("email", true, &[("email", Some(10))]),
            index("email", true, &[("email", None)]),
            index("email", false, &[("email", Some(20))]),
        ] {
            let mut target = source();
            target.indexes[1] = changed.clone();
            let c = compare(&source(), &target, "PRIMARY");
            assert_eq!(c.refusals.len(), 1, "{changed}: {c:?}");
        }
    }

    #[test]
    fn a_plain_index_defined_otherwise_is_reported_not_refused() {
        let mut target = source();
        target.indexes[2] = index("k_name", false, &[("first", None), ("last", None)]);
        let c = compare(&source(), &target, "PRIMARY");
        assert!(c.refusals.is_empty(), "{c:?}");
        assert!(
            c.harmless[0].contains("KEY `k_name` (`last`, `first`) on the source"),
            "{c:?}"
        );
    }

    #[test]
    fn the_primary_key_is_left_to_the_column_comparison() {
        let mut target = source();
        target.indexes[0] = index("PRIMARY", true, &[("email", None)]);
        assert_eq!(
            compare(&source(), &target, "PRIMARY"),
            Comparison::default()
        );
    }

    #[test]
    fn no_action_and_restrict_are_the_same() {
        let mut target = source();
        target.foreign_keys[0] = fk("fk_parent", "NO ACTION");
        target.foreign_keys[0].on_update = "NO ACTION".into();
        assert_eq!(
            compare(&source(), &target, "PRIMARY"),
            Comparison::default()
        );
    }

    #[test]
    fn foreign_keys_that_differ_or_only_the_target_has_are_refused() {
        let mut target = source();
        target.foreign_keys[0] = fk("fk_parent", "CASCADE");
        target.foreign_keys.push(fk("fk_other", "RESTRICT"));
        let c = compare(&source(), &target, "PRIMARY");
        assert_eq!(c.refusals.len(), 2, "{c:?}");
        assert!(c.refusals[0].contains("ON DELETE CASCADE"), "{c:?}");
        assert!(c.refusals[1].contains("`fk_other`"), "{c:?}");
    }

    #[test]
    fn a_missing_row_key_is_refused() {
        let mut source = source();
        source.indexes.remove(0);
        let mut target = source.clone();
        target.indexes.retain(|i| i.name != "email");
        let c = compare(&source, &target, "email");
        assert_eq!(c.refusals.len(), 1, "{c:?}");
    }

    #[test]
    fn cascading_actions_are_named() {
        let mut f = fk("fk", "CASCADE");
        f.on_update = "SET NULL".into();
        assert_eq!(
            f.acts_on_rows(),
            ["ON DELETE CASCADE", "ON UPDATE SET NULL"]
        );
        assert!(fk("fk", "RESTRICT").acts_on_rows().is_empty());
        assert!(fk("fk", "NO ACTION").acts_on_rows().is_empty());
    }
}
