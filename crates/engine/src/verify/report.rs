//! What a verification found, per table and target, with the rows named by their key.

use reshard_types::BinlogPosition;

use super::compare::DifferenceKind;

/// The outcome of a verification.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Each table, in the order verified.
    pub tables: Vec<TableReport>,
    /// Whether it was cancelled before every table was compared.
    pub cancelled: bool,
    /// Sources whose binary log moved while they were read: their writes may show as
    /// differences (see the module docs). Empty when none moved or positions are unknown.
    pub sources_written: Vec<SourceWritten>,
}

impl VerifyReport {
    /// Rows that differ, in all.
    pub fn differences(&self) -> u64 {
        self.tables.iter().map(TableReport::differences).sum()
    }

    /// Rows repaired during a move, in all.
    pub fn repairs(&self) -> u64 {
        self.tables.iter().map(|t| t.repaired).sum()
    }

    /// Whether every table was compared and no row differs.
    pub fn equal(&self) -> bool {
        !self.cancelled && self.differences() == 0
    }
}

/// A source whose binary log moved during the verification.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceWritten {
    /// The source.
    pub source: String,
    /// Its binlog end before the first read.
    pub from: String,
    /// Its binlog end after the last.
    pub to: String,
}

impl SourceWritten {
    pub(crate) fn new(source: String, from: &BinlogPosition, to: &BinlogPosition) -> SourceWritten {
        SourceWritten {
            source,
            from: from.to_string(),
            to: to.to_string(),
        }
    }
}

/// One table's comparison.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct TableReport {
    /// `` `db`.`table` `` on the first source.
    pub table: String,
    /// Chunks compared.
    pub chunks: u64,
    /// Rows read on the sources.
    pub source_rows: u64,
    /// Per target that receives the table: its rows and its differences by kind.
    pub targets: Vec<TargetCounts>,
    /// The differing rows, up to the listing cap, by kind, target and key.
    pub rows: Vec<RowDifference>,
    /// Differing rows beyond the cap (counted, not listed).
    pub rows_not_listed: u64,
    /// Rows a move's verification found differing and repaired (each one means a bug in
    /// reshard or a writer other than reshard on a target).
    pub repaired: u64,
    /// Those rows, up to the listing cap, as they were found.
    pub repaired_rows: Vec<RowDifference>,
}

impl TableReport {
    /// Rows that differ in this table.
    pub fn differences(&self) -> u64 {
        self.targets.iter().map(TargetCounts::differences).sum()
    }
}

/// One target's side of a table.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TargetCounts {
    /// The target's name (its key range, or the name given).
    pub target: String,
    /// Rows read on it.
    pub rows: u64,
    /// Rows that belong on it and are absent.
    pub missing: u64,
    /// Rows on it and on no source.
    pub extra: u64,
    /// Rows on it, belonging there, with other values.
    pub different: u64,
    /// Rows on it that belong on another target.
    pub misplaced: u64,
}

impl TargetCounts {
    /// Its differing rows, in all.
    pub fn differences(&self) -> u64 {
        self.missing + self.extra + self.different + self.misplaced
    }

    pub(crate) fn count(&mut self, kind: DifferenceKind) {
        match kind {
            DifferenceKind::Missing => self.missing += 1,
            DifferenceKind::Extra => self.extra += 1,
            DifferenceKind::Different => self.different += 1,
            DifferenceKind::Misplaced => self.misplaced += 1,
        }
    }
}

/// One row that differs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct RowDifference {
    /// How.
    pub kind: DifferenceKind,
    /// The target it is about: where it is missing, or where it is.
    pub target: String,
    /// For a misplaced row, the target it belongs on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub belongs_on: Option<String>,
    /// Its key, as `` `id`=42 `` (`` `a`=1, `b`='x' `` for a composite key).
    pub key: String,
}
