//! Which statements in the binlog concern a moved table.
//!
//! Row changes of moved tables arrive as row events; a `QUERY` event that names a moved table is
//! either DDL (its schema changed under the move) or a statement-based change that row decoding
//! would miss. Both stop a move, so the test errs on the side of stopping: a statement is taken
//! to concern a table when, outside string literals and comments, it contains the table's name
//! as a whole identifier (backquoted or bare, any case) and it is not pure transaction control.
//! A DDL on another table whose text merely mentions the name stops the move too; the message
//! quotes the statement so that the operator sees why.

/// Statements that never change a table.
fn is_transaction_control(statement: &str) -> bool {
    let word = first_word(statement);
    ["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "XA"]
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w))
}

/// The statement's first keyword (after leading comments; inside a versioned comment's body).
pub fn first_word(statement: &str) -> &str {
    let trimmed = strip_leading_comments(statement);
    let end = trimmed
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(trimmed.len());
    &trimmed[..end]
}

fn strip_leading_comments(mut s: &str) -> &str {
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix("/*") {
            // Versioned comments (`/*!50100 ... */`) are executed: keep their body.
            if let Some(body) = rest.strip_prefix('!') {
                let body = body.trim_start_matches(|c: char| c.is_ascii_digit());
                return body;
            }
            match rest.find("*/") {
                Some(end) => s = &rest[end + 2..],
                None => return "",
            }
        } else if s.starts_with("--") || s.starts_with('#') {
            match s.find('\n') {
                Some(end) => s = &s[end + 1..],
                None => return "",
            }
        } else {
            return s;
        }
    }
}

/// Whether `statement` names table `table` (see the module docs).
pub fn statement_names_table(statement: &str, table: &str) -> bool {
    if is_transaction_control(statement) {
        return false;
    }
    identifiers(statement).any(|ident| ident.eq_ignore_ascii_case(table))
}

/// The identifiers of a statement, bare or backquoted, skipping string literals and comments.
fn identifiers(statement: &str) -> impl Iterator<Item = &str> {
    let bytes = statement.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let c = bytes[i];
            match c {
                b'\'' | b'"' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != c {
                        if bytes[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    i += 1;
                }
                b'`' => {
                    let start = i + 1;
                    let mut end = start;
                    while end < bytes.len() && bytes[end] != b'`' {
                        end += 1;
                    }
                    i = end + 1;
                    return statement.get(start..end.min(bytes.len()));
                }
                b'-' if bytes.get(i + 1) == Some(&b'-') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') && bytes.get(i + 2) != Some(&b'!') => {
                    i += 2;
                    while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                        i += 1;
                    }
                    i += 2;
                }
                c if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 => {
                    let start = i;
                    while i < bytes.len()
                        && (bytes[i].is_ascii_alphanumeric()
                            || bytes[i] == b'_'
                            || bytes[i] == b'$'
                            || bytes[i] >= 0x80)
                    {
                        i += 1;
                    }
                    return statement.get(start..i);
                }
                _ => i += 1,
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_table_in_ddl() {
        assert!(statement_names_table(
            "ALTER TABLE orders ADD COLUMN x INT",
            "orders"
        ));
        assert!(statement_names_table(
            "alter table `shop`.`Orders` drop x",
            "orders"
        ));
        assert!(statement_names_table("TRUNCATE orders", "orders"));
        assert!(statement_names_table("RENAME TABLE a TO orders", "orders"));
        assert!(statement_names_table(
            "/* comment */ DROP TABLE IF EXISTS `orders` /* generated by server */",
            "orders"
        ));
        assert!(statement_names_table(
            "/*!40000 ALTER TABLE orders DISABLE KEYS */",
            "orders"
        ));
        assert!(statement_names_table("UPDATE orders SET a = 1", "orders"));
    }

    #[test]
    fn ignores_other_tables_literals_comments_and_transaction_control() {
        assert!(!statement_names_table(
            "ALTER TABLE orders_archive ADD x INT",
            "orders"
        ));
        assert!(!statement_names_table(
            "INSERT INTO log VALUES ('orders')",
            "orders"
        ));
        assert!(!statement_names_table(
            "CREATE TABLE t (a INT) -- orders\n",
            "orders"
        ));
        assert!(!statement_names_table(
            "CREATE TABLE t (a INT) /* orders */",
            "orders"
        ));
        assert!(!statement_names_table("BEGIN", "orders"));
        assert!(!statement_names_table("COMMIT", "orders"));
        assert!(!statement_names_table("SAVEPOINT orders", "orders"));
    }
}
