//! The synthetic tables `reshard bench` copies: their columns, and SQL that generates their rows
//! on the source server itself (no data crosses the network to set up a run).
//!
//! Row `n` (1, 2, …) of every profile is a pure function of `n`, so two runs with the same
//! profile and row count copy the same bytes. Rows are generated in blocks: a block is the
//! cross join of `k` ten-row digit tables (10^k rows), offset by the block's first `n`, which
//! works on MySQL and MariaDB alike. Blocks hold at most [`BLOCK_BYTES`] of rows (at least 10
//! rows, so a block of 4 MiB rows is 40 MiB) and run on several connections at once.

/// The shape of a bench table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// Six integer columns: the per-row cost of the pipeline, few bytes per row.
    Narrow,
    /// An orders table (as `../shared/reference/measured-limits.md` measures): integers, a
    /// decimal, strings, a datetime, JSON, a bit, NULLs, one secondary index.
    Wide,
    /// Mostly UTF-8 text, about 1.4 kB a row, non-ASCII characters included.
    Text,
    /// A binary value of 8 to 24 KiB a row.
    Blob,
    /// An id and a binary value, `n` bytes a row in all (`--row-bytes`).
    RowBytes(u32),
}

/// The largest `--row-bytes`: `REPEAT` on the server returns NULL past `max_allowed_packet`.
pub(crate) const MAX_ROW_BYTES: u32 = 4 << 20;

/// Rows of one generating statement, in bytes at most.
const BLOCK_BYTES: u64 = 32 << 20;

impl Profile {
    /// `narrow`, `wide`, `text`, `blob` (`--row-bytes` is given as a number).
    pub(crate) fn parse(name: &str) -> Result<Profile, String> {
        match name {
            "narrow" => Ok(Profile::Narrow),
            "wide" => Ok(Profile::Wide),
            "text" => Ok(Profile::Text),
            "blob" => Ok(Profile::Blob),
            other => Err(format!(
                "unknown profile '{other}'; use narrow, wide, text or blob (or --row-bytes N)"
            )),
        }
    }

    /// Its name in reports.
    pub(crate) fn name(self) -> String {
        match self {
            Profile::Narrow => String::from("narrow"),
            Profile::Wide => String::from("wide"),
            Profile::Text => String::from("text"),
            Profile::Blob => String::from("blob"),
            Profile::RowBytes(n) => format!("row-bytes-{n}"),
        }
    }

    /// The bench table's name for this profile.
    pub(crate) fn table_name(self) -> String {
        format!("reshard_bench_{}", self.name().replace('-', "_"))
    }

    /// About how many bytes a row has on the wire (for default row counts and block sizes).
    pub(crate) fn approx_row_bytes(self) -> u64 {
        match self {
            Profile::Narrow => 40,
            Profile::Wide => 200,
            Profile::Text => 1_400,
            Profile::Blob => 16_400,
            Profile::RowBytes(n) => u64::from(n),
        }
    }

    /// Rows when `--rows` is not given: about 250 MB of rows, at least 1,000.
    pub(crate) fn default_rows(self) -> u64 {
        match self {
            Profile::Narrow => 4_000_000,
            Profile::Wide => 1_000_000,
            Profile::Text => 200_000,
            Profile::Blob => 16_000,
            Profile::RowBytes(n) => (250_000_000 / u64::from(n).max(1)).clamp(1_000, 10_000_000),
        }
    }

    /// The column definitions and keys of `CREATE TABLE`.
    fn columns_sql(self) -> String {
        match self {
            Profile::Narrow => String::from(
                "id BIGINT NOT NULL PRIMARY KEY, a INT NOT NULL, b BIGINT NOT NULL, \
                 c SMALLINT NOT NULL, d BIGINT UNSIGNED NOT NULL, e INT NOT NULL",
            ),
            Profile::Wide => String::from(
                "id BIGINT UNSIGNED NOT NULL PRIMARY KEY, customer_id BIGINT NOT NULL, \
                 sku VARCHAR(32) NOT NULL, status TINYINT NOT NULL, qty INT NOT NULL, \
                 price DECIMAL(12,2) NOT NULL, created_at DATETIME(6) NOT NULL, \
                 note VARCHAR(200) NULL, payload JSON NULL, flag BIT(1) NOT NULL, \
                 KEY customer (customer_id)",
            ),
            Profile::Text => String::from(
                "id BIGINT NOT NULL PRIMARY KEY, title VARCHAR(255) NOT NULL, \
                 body TEXT NOT NULL, tags VARCHAR(512) NULL",
            ),
            Profile::Blob => String::from(
                "id BIGINT NOT NULL PRIMARY KEY, kind INT NOT NULL, payload MEDIUMBLOB NOT NULL",
            ),
            Profile::RowBytes(_) => {
                String::from("id BIGINT NOT NULL PRIMARY KEY, pad MEDIUMBLOB NOT NULL")
            }
        }
    }

    /// The values of row `n` (an expression over the column `n`), in column order.
    fn values_sql(self) -> String {
        match self {
            Profile::Narrow => String::from(
                "n, n % 1000003, n * 7919, n % 30011 - 15005, CRC32(n), (n * 2654435761) % 2147483647",
            ),
            Profile::Wide => String::from(
                "n, CRC32(n) % 1000000, CONCAT('SKU-', LPAD(n % 100000, 6, '0')), n % 5, 1 + n % 20, \
                 (CRC32(CONCAT('p', n)) % 10000000) / 100, \
                 TIMESTAMP('2020-01-01 00:00:00') + INTERVAL n SECOND + INTERVAL (n % 1000000) MICROSECOND, \
                 IF(n % 5 = 0, NULL, CONCAT('note for order ', n, ': ', REPEAT(MD5(n), 1 + n % 3))), \
                 IF(n % 10 < 3, NULL, JSON_OBJECT('n', n, 'tag', LEFT(MD5(n), 8), 'gift', n % 2 = 0)), \
                 n % 2",
            ),
            Profile::Text => String::from(
                "n, CONCAT('Título ', n, ' — ', MD5(n)), \
                 REPEAT(CONCAT(SHA2(n, 256), ' naïve café ✓ '), 8 + n % 17), \
                 IF(n % 4 = 0, NULL, CONCAT_WS(',', 'tag', n % 97, n % 89, '日本語'))",
            ),
            Profile::Blob => String::from("n, n % 7, REPEAT(UNHEX(SHA2(n, 512)), 128 + n % 256)"),
            Profile::RowBytes(bytes) => {
                let pad = bytes.saturating_sub(8);
                format!(
                    "n, LEFT(REPEAT(UNHEX(SHA2(n, 512)), {}), {pad})",
                    pad.div_ceil(64).max(1)
                )
            }
        }
    }

    /// `CREATE TABLE` for `table` (quoted), with `comment` as its table comment.
    pub(crate) fn create_sql(self, table: &str, comment: &str) -> String {
        format!(
            "CREATE TABLE {table} ({}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='{comment}'",
            self.columns_sql()
        )
    }

    /// Digits per generating block: 10^digits rows of at most [`BLOCK_BYTES`] (1 to 5 digits:
    /// 10 rows even when they are larger).
    pub(crate) fn block_digits(self) -> u32 {
        let rows = BLOCK_BYTES / self.approx_row_bytes().max(1);
        rows.max(1).ilog10().clamp(1, 5)
    }

    /// `INSERT … SELECT` generating rows `first ..= min(first + 10^digits - 1, last)` of `table`.
    pub(crate) fn insert_block_sql(self, table: &str, first: u64, last: u64) -> String {
        let digits = self.block_digits();
        let ten = "(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 \
                   UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 \
                   UNION ALL SELECT 8 UNION ALL SELECT 9)";
        let from: Vec<String> = (0..digits).map(|i| format!("{ten} d{i}")).collect();
        let sum: Vec<String> = (0..digits)
            .map(|i| format!("d{i}.d * {}", 10u64.pow(i)))
            .collect();
        format!(
            "INSERT INTO {table} SELECT {} FROM (SELECT {first} + {} AS n FROM {}) g WHERE n <= {last}",
            self.values_sql(),
            sum.join(" + "),
            from.join(", ")
        )
    }

    /// Rows per generating block.
    pub(crate) fn block_rows(self) -> u64 {
        10u64.pow(self.block_digits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_stay_within_their_byte_budget() {
        assert_eq!(Profile::Narrow.block_rows(), 100_000);
        assert_eq!(Profile::Blob.block_rows(), 1_000);
        assert_eq!(Profile::RowBytes(4 << 20).block_rows(), 10);
        for p in [Profile::Narrow, Profile::Wide, Profile::Text, Profile::Blob] {
            assert!(
                p.block_rows() * p.approx_row_bytes() <= BLOCK_BYTES,
                "{p:?}"
            );
        }
    }

    #[test]
    fn a_block_numbers_its_rows_from_its_first() {
        let sql = Profile::Narrow.insert_block_sql("`t`", 200_001, 250_000);
        assert!(
            sql.contains("SELECT 200001 + d0.d * 1 + d1.d * 10"),
            "{sql}"
        );
        assert!(sql.contains("d4.d * 10000 AS n FROM"), "{sql}");
        assert!(sql.ends_with("WHERE n <= 250000"), "{sql}");
    }

    #[test]
    fn names_and_parsing_agree() {
        for p in [Profile::Narrow, Profile::Wide, Profile::Text, Profile::Blob] {
            assert_eq!(Profile::parse(&p.name()), Ok(p));
        }
        assert_eq!(
            Profile::RowBytes(512).table_name(),
            "reshard_bench_row_bytes_512"
        );
        assert!(Profile::parse("huge").is_err());
    }
}
