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
  dt0 DATETIME NULL, dt1 DATETIME(1) NULL, dt2 DATETIME(2) NULL, dt3 DATETIME(3) NULL,
  dt4 DATETIME(4) NULL, dt5 DATETIME(5) NULL, dt6 DATETIME(6) NULL,
  ts0 TIMESTAMP NULL, ts1 TIMESTAMP(1) NULL, ts2 TIMESTAMP(2) NULL, ts3 TIMESTAMP(3) NULL,
  ts4 TIMESTAMP(4) NULL, ts5 TIMESTAMP(5) NULL, ts6 TIMESTAMP(6) NULL,
  t0 TIME NULL, t1 TIME(1) NULL, t2 TIME(2) NULL, t3 TIME(3) NULL, t4 TIME(4) NULL,
  t5 TIME(5) NULL, t6 TIME(6) NULL,
  c_utf8mb4 CHAR(10) CHARACTER SET utf8mb4 NULL,
  vc_utf8mb4 VARCHAR(300) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
  vc_utf8mb3 VARCHAR(50) CHARACTER SET utf8mb3 NULL,
  vc_latin1 VARCHAR(50) CHARACTER SET latin1 NULL,
  c_latin1 CHAR(5) CHARACTER SET latin1 NULL, txt_latin1 TEXT CHARACTER SET latin1 NULL,
  txt TEXT NULL, ttxt TINYTEXT NULL, mtxt MEDIUMTEXT NULL, ltxt LONGTEXT NULL,
  bin16 BINARY(16) NULL, vbin VARBINARY(300) NULL,
  tblob TINYBLOB NULL, blb BLOB NULL, mblob MEDIUMBLOB NULL, lblob LONGBLOB NULL,
  e ENUM('small','it''s','b\\\\s','') NULL, s SET('a','b','c d') NULL,
  j JSON NULL,
  ip4 INET4 NULL, ip6 INET6 NULL, uid UUID NULL,
  gen_v BIGINT AS (i32 * 2) VIRTUAL, gen_s VARCHAR(20) AS (CONCAT('g', id)) STORED
) DEFAULT CHARSET=utf8mb4"
    )
}

/// Statements that fill the torture table (made by [`ddl`]) with every type's edge values, to be
/// run in order on one connection: the minimum and maximum of every type, NULL in every nullable
/// column, empty strings, 4-byte UTF-8, invalid UTF-8 and 0x00 bytes in binary columns, the
/// load-format's special bytes (tab, newline, backslash, a literal `\N`), trailing spaces,
/// `BINARY(n)` padding, multi-MB TEXT and BLOB values, every fsp, -0.0, subnormal floats,
/// TIMESTAMPs on both sides of a DST change written from two session time zones, and zero and
/// partly zero dates (inserted with a `sql_mode` that lets them in).
pub fn edge_rows(table: &str) -> Vec<String> {
    let max_dec = format!("{}.{}", "9".repeat(35), "9".repeat(30));
    let max_dec_int = "9".repeat(65);
    let columns = "id, i8, u8, i16, u16, i24, u24, i32, u32, i64, u64, dec_small, dec_max, dec_int, \
        dec_unsigned, f, d, bit1, bit64, y, dt_date, dt0, dt1, dt2, dt3, dt4, dt5, dt6, ts0, ts1, ts2, ts3, \
        ts4, ts5, ts6, t0, t1, t2, t3, t4, t5, t6, c_utf8mb4, vc_utf8mb4, vc_utf8mb3, vc_latin1, c_latin1, \
        txt_latin1, txt, ttxt, mtxt, ltxt, bin16, vbin, tblob, blb, mblob, lblob, e, s, j, ip4, ip6, uid";
    let insert = |values: String| format!("INSERT INTO `{table}` ({columns}) VALUES ({values})");
    let temporal = |date: &str, time: &str, frac: &str| -> Vec<String> {
        let mut out = Vec::new();
        for fsp in 0..=6 {
            let f = if fsp == 0 {
                String::new()
            } else {
                format!(".{}", &frac[..fsp])
            };
            out.push(format!("'{date} {time}{f}'"));
        }
        out
    };
    let row = |id: i64,
               ints: &str,
               decs: &str,
               floats: &str,
               bits: &str,
               year: &str,
               date: &str,
               dts: Vec<String>,
               tss: Vec<String>,
               times: Vec<String>,
               strings: &str| {
        insert(format!(
            "{id}, {ints}, {decs}, {floats}, {bits}, {year}, {date}, {}, {}, {}, {strings}",
            dts.join(", "),
            tss.join(", "),
            times.join(", ")
        ))
    };
    let times = |value: &str, frac: &str| -> Vec<String> {
        (0..=6)
            .map(|fsp| {
                if fsp == 0 {
                    format!("'{value}'")
                } else {
                    format!("'{value}.{}'", &frac[..fsp])
                }
            })
            .collect()
    };
    vec![
        String::from("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO'"),
        String::from("SET SESSION time_zone = '+00:00'"),
        // 1: NULL in every nullable column.
        format!("INSERT INTO `{table}` (id) VALUES (1)"),
        // 2: minimums.
        row(
            2,
            "-128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0",
            &format!("-99999999.99, -{max_dec}, -{max_dec_int}, 0.0"),
            "-3.4028234663852886e38, -1.7976931348623157e308",
            "b'0', b'0'",
            "1901",
            "'1000-01-01'",
            temporal("1000-01-01", "00:00:00", "000000"),
            temporal("1970-01-01", "00:00:01", "000000"),
            times("-838:59:59", "000000"),
            "'', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', 'small', '', '[]', \
             '0.0.0.0', '::', '00000000-0000-0000-0000-000000000000'",
        ),
        // 3: maximums, 4-byte UTF-8, bytes that are not UTF-8.
        row(
            3,
            "127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615",
            &format!("99999999.99, {max_dec}, {max_dec_int}, 9999.9"),
            "3.4028234663852886e38, 1.7976931348623157e308",
            "b'1', 18446744073709551615",
            "2155",
            "'9999-12-31'",
            temporal("9999-12-31", "23:59:59", "999999"),
            temporal("2038-01-19", "03:14:07", "999999"),
            times("838:59:59", "000000"),
            "'🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀', '𝄞 naïve 日本語 🦀 ok', 'ÄÖÜ€ mb3', 'café ÿ', 'ÿÿÿÿÿ', 'Grüße', \
             'trailing spaces   ', '🦀', 'mediumtext', 'longtext', \
             X'00FF00FF00FF00FF00FF00FF00FF00FF', X'C328FF00FE5C0A09', X'00', X'FFFE00', X'5C4E', X'0A0D09', \
             'it''s', 'a,b,c d', '{\"a\": [1, 2.50, \"x\"], \"b\": null, \"c\": \"\\\\u00e9\"}', \
             '255.255.255.255', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffffffff-ffff-ffff-ffff-ffffffffffff'",
        ),
        // 4: zero and partly zero dates, the zero TIMESTAMP, -0.0 and subnormals, the load
        // format's special characters, padding and trailing spaces.
        row(
            4,
            "-1, 1, -1, 1, -1, 1, -1, 1, -1, 1",
            "0.00, -0.000000000000000000000000000001, 0, 0.1",
            "-0e0, -0e0",
            "b'0', b'1000000000000000000000000000000000000000000000000000000000000001'",
            "0",
            "'0000-00-00'",
            vec![
                "'0000-00-00 00:00:00'".into(),
                "'2020-00-15 00:00:00.1'".into(),
                "'2020-02-00 12:34:56.01'".into(),
                "'0000-01-01 00:00:00.001'".into(),
                "'2020-00-00 23:59:59.0001'".into(),
                "'0000-00-01 00:00:00.00001'".into(),
                "'2020-02-00 12:34:56.000001'".into(),
            ],
            vec!["'0000-00-00 00:00:00'".into(); 7],
            times("-00:00:00", "000001"),
            "'ab  ', 'tab\\there\\nnewline\\\\backslash\\\\N', '\\\\N', 'x  ', 'é  ', '  lead', \
             '\\\\N', 'NULL', '\\t\\n', '', 'ab', X'5C004E', X'', X'0000', X'5C', X'5C4E', \
             '', '', '\"str\"', '1.2.3.4', '::ffff:1.2.3.4', '01234567-89ab-cdef-0123-456789abcdef'",
        ),
        // 5: small values, subnormal floats, exactly representable and inexact FLOAT values.
        row(
            5,
            "0, 0, 0, 0, 0, 0, 0, 0, 0, 0",
            "-0.01, 0.000000000000000000000000000001, -1, 0.0",
            "1.401298464324817e-45, 4.9406564584124654e-324",
            "NULL, b'1'",
            "2000",
            "'2020-02-29'",
            temporal("2020-02-29", "00:00:00", "500000"),
            temporal("2021-03-28", "00:59:59", "999999"),
            times("24:00:00", "999999"),
            "'a', 'ä', 'ä', 'ä', 'ä', 'ä', 'a', 'a', 'a', 'a', X'', X'', X'', X'', X'', X'', \
             'b\\\\s', 'c d,a', '{}', '10.0.0.1', '2001:db8::1', '00000000-0000-0000-0000-000000000001'",
        ),
        // 6: floats that text rounding would change.
        format!(
            "INSERT INTO `{table}` (id, f, d) VALUES (6, 16777217, 0.1), (7, 0.1, 0.30000000000000004), \
                 (8, 1.17549435e-38, 2.2250738585072014e-308), (9, 123456.789, -1e300)"
        ),
        // 10-13: TIMESTAMPs on both sides of the CET/CEST changes of 2021, written in local time.
        String::from("SET SESSION time_zone = '+01:00'"),
        format!(
            "INSERT INTO `{table}` (id, ts0, ts6) VALUES (10, '2021-03-28 01:59:59', '2021-03-28 01:59:59.999999'), \
                 (11, '2021-10-31 02:30:00', '2021-10-31 02:59:59.999999')"
        ),
        String::from("SET SESSION time_zone = '+02:00'"),
        format!(
            "INSERT INTO `{table}` (id, ts0, ts6) VALUES (12, '2021-03-28 03:00:00', '2021-03-28 03:00:00.000000'), \
                 (13, '2021-10-31 02:30:00', '2021-10-31 02:00:00.000001')"
        ),
        // 20-22: multi-MB TEXT and BLOB values, with the load format's special bytes inside.
        format!(
            "INSERT INTO `{table}` (id, mtxt, ltxt, mblob, lblob) VALUES \
                 (20, REPEAT('ü\\t', 1000000), REPEAT('🦀 text\\\\N\\n', 500000), REPEAT(X'005C0A09FF', 600000), REPEAT(X'5C4E00', 2000000))"
        ),
        format!(
            "INSERT INTO `{table}` (id, txt, blb, vc_utf8mb4) VALUES (21, REPEAT('x', 65535), REPEAT(X'FF', 65535), REPEAT('🦀', 300))"
        ),
    ]
}
