//! The torture table: one column of every type reshard carries, for discovery, conversion and
//! round-trip tests. Keep it in step with `reshard_types::ColumnType`: a new variant gets a
//! column here.

/// DDL of the torture table (MariaDB): every supported column type, each nullable so that NULL
/// can be tested in every one, plus a few NOT NULL ones.
pub fn ddl(table: &str) -> String {
    format!(
        "CREATE TABLE `{table}` (
  id INT NOT NULL PRIMARY KEY,
  i8 TINYINT NULL, u8 TINYINT UNSIGNED NULL,
  i16 SMALLINT NULL, u16 SMALLINT UNSIGNED NULL,
  i24 MEDIUMINT NULL, u24 MEDIUMINT UNSIGNED NULL,
  i32 INT NULL, u32 INT UNSIGNED NULL,
  i64 BIGINT NULL, u64 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  dec_small DECIMAL(10,2) NULL, dec_max DECIMAL(65,30) NULL, dec_int DECIMAL(65,0) NULL,
  dec_unsigned DECIMAL(5,1) UNSIGNED NULL,
  f FLOAT NULL, d DOUBLE NULL,
  bit1 BIT(1) NULL, bit64 BIT(64) NULL,
  y YEAR NULL, dt_date DATE NULL,
  dt0 DATETIME NULL, dt3 DATETIME(3) NULL, dt6 DATETIME(6) NULL,
  ts0 TIMESTAMP NULL, ts6 TIMESTAMP(6) NULL,
  t0 TIME NULL, t6 TIME(6) NULL,
  c_utf8mb4 CHAR(10) CHARACTER SET utf8mb4 NULL,
  vc_utf8mb4 VARCHAR(300) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
  vc_utf8mb3 VARCHAR(50) CHARACTER SET utf8mb3 NULL,
  vc_latin1 VARCHAR(50) CHARACTER SET latin1 NULL,
  txt TEXT NULL, ttxt TINYTEXT NULL, mtxt MEDIUMTEXT NULL, ltxt LONGTEXT NULL,
  bin16 BINARY(16) NULL, vbin VARBINARY(300) NULL,
  tblob TINYBLOB NULL, blb BLOB NULL, mblob MEDIUMBLOB NULL, lblob LONGBLOB NULL,
  e ENUM('small','it''s','b\\\\s','') NULL, s SET('a','b','c d') NULL,
  j JSON NULL,
  ip4 INET4 NULL, ip6 INET6 NULL, uid UUID NULL,
  gen_v BIGINT AS (i64 * 2) VIRTUAL, gen_s VARCHAR(20) AS (CONCAT('g', id)) STORED
) DEFAULT CHARSET=utf8mb4"
    )
}
