//! Which statements in the binlog concern a moved table.
//!
//! Row changes of moved tables arrive as row events; a `QUERY` event that names a moved table is
//! either DDL (its schema changed under the move) or a statement-based change that row decoding
//! would miss. Both stop a move, so the test errs on the side of stopping: a statement is taken
//! to concern a table when, outside string literals and comments, it contains the table's name
//! as a whole identifier (backquoted or bare, any case) that is either qualified by the table's
//! database or unqualified in a statement run with that database as its default (the event
//! carries it), and it is not pure transaction control. `DROP DATABASE` of the table's database
//! concerns it too. A DDL on another table whose text merely mentions the name stops the move
//! as well; the message quotes the statement so that the operator sees why. A same-named table
//! in another database does not.

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

/// Whether `statement`, run with default database `default_db` (empty for none), names table
/// `database`.`table` (see the module docs).
pub fn statement_names_table(
    statement: &str,
    default_db: &str,
    database: &str,
    table: &str,
) -> bool {
    if is_transaction_control(statement) {
        return false;
    }
    let idents: Vec<(usize, &str)> = identifiers(statement).collect();
    let bytes = statement.as_bytes();
    // Whether the identifier token starting at `start` follows a `.` (it is qualified).
    let qualified = |start: usize| {
        bytes[..start]
            .iter()
            .rev()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'.')
    };
    for (n, &(start, ident)) in idents.iter().enumerate() {
        if ident.eq_ignore_ascii_case(table) {
            let names_ours = if qualified(start) {
                n > 0 && idents[n - 1].1.eq_ignore_ascii_case(database)
            } else {
                default_db.eq_ignore_ascii_case(database)
            };
            if names_ours {
                return true;
            }
        }
        let drops_database = n == 2
            && idents[0].1.eq_ignore_ascii_case("DROP")
            && (idents[1].1.eq_ignore_ascii_case("DATABASE")
                || idents[1].1.eq_ignore_ascii_case("SCHEMA"));
        if drops_database && ident.eq_ignore_ascii_case(database) {
            return true;
        }
        if drops_database
            && ident.eq_ignore_ascii_case("IF")
            && idents
                .get(4)
                .is_some_and(|(_, db)| db.eq_ignore_ascii_case(database))
        {
            return true;
        }
    }
    false
}

/// The identifiers of a statement, bare or backquoted, skipping string literals and comments,
/// each with where its token starts (at the backquote of a quoted one).
fn identifiers(statement: &str) -> impl Iterator<Item = (usize, &str)> {
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
                    return statement
                        .get(start..end.min(bytes.len()))
                        .map(|ident| (start - 1, ident));
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
                    return statement.get(start..i).map(|ident| (start, ident));
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

    /// The table `shop`.`orders`, in statements run in `shop`.
    fn names_orders(statement: &str) -> bool {
        statement_names_table(statement, "shop", "shop", "orders")
    }

    #[test]
    fn a_same_named_table_elsewhere_is_not_ours() {
        assert!(!statement_names_table(
            "ALTER TABLE orders ADD x INT",
            "other",
            "shop",
            "orders"
        ));
        assert!(!statement_names_table(
            "ALTER TABLE other.orders ADD x INT",
            "shop",
            "shop",
            "orders"
        ));
        assert!(statement_names_table(
            "ALTER TABLE shop . `orders` ADD x INT",
            "other",
            "shop",
            "orders"
        ));
        assert!(statement_names_table(
            "ALTER TABLE `shop`.orders ADD x INT",
            "",
            "shop",
            "orders"
        ));
        assert!(!statement_names_table(
            "ALTER TABLE orders ADD x INT",
            "",
            "shop",
            "orders"
        ));
    }

    #[test]
    fn dropping_the_database_concerns_its_tables() {
        assert!(names_orders("DROP DATABASE shop"));
        assert!(names_orders("drop schema if exists `shop`"));
        assert!(!names_orders("DROP DATABASE shop2"));
        assert!(statement_names_table(
            "DROP DATABASE `shop`",
            "",
            "shop",
            "orders"
        ));
    }

    #[test]
    fn finds_the_table_in_ddl() {
        assert!(names_orders("ALTER TABLE orders ADD COLUMN x INT"));
        assert!(names_orders("alter table `shop`.`Orders` drop x"));
        assert!(names_orders("TRUNCATE orders"));
        assert!(names_orders("RENAME TABLE a TO orders"));
        assert!(names_orders(
            "/* comment */ DROP TABLE IF EXISTS `orders` /* generated by server */"
        ));
        assert!(names_orders("/*!40000 ALTER TABLE orders DISABLE KEYS */"));
        assert!(names_orders("UPDATE orders SET a = 1"));
    }

    #[test]
    fn ignores_other_tables_literals_comments_and_transaction_control() {
        assert!(!names_orders("ALTER TABLE orders_archive ADD x INT"));
        assert!(!names_orders("INSERT INTO log VALUES ('orders')"));
        assert!(!names_orders("CREATE TABLE t (a INT) -- orders\n"));
        assert!(!names_orders("CREATE TABLE t (a INT) /* orders */"));
        assert!(!names_orders("BEGIN"));
        assert!(!names_orders("COMMIT"));
        assert!(!names_orders("SAVEPOINT orders"));
    }
}
