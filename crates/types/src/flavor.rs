//! Which server family a connection talks to.

use std::fmt;

/// The server family. SQL and binlog handling that differ between the two go behind this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// Oracle MySQL (and compatible builds such as Percona Server).
    MySql,
    /// MariaDB.
    MariaDb,
}

impl Flavor {
    /// Tells the flavor from `SELECT VERSION()`: MariaDB always puts `MariaDB` in it
    /// (`10.11.6-MariaDB-0+deb12u1-log`), MySQL never does (`8.0.36`, `8.4.0-log`).
    pub fn from_version(version: &str) -> Flavor {
        if version.contains("MariaDB") {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavor::MySql => "MySQL",
            Flavor::MariaDb => "MariaDB",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavor_is_read_from_the_version_string() {
        assert_eq!(
            Flavor::from_version("10.11.19-MariaDB-0+deb12u1-log"),
            Flavor::MariaDb
        );
        assert_eq!(
            Flavor::from_version("5.5.5-10.6.12-MariaDB"),
            Flavor::MariaDb
        );
        assert_eq!(Flavor::from_version("8.0.36"), Flavor::MySql);
        assert_eq!(Flavor::from_version("8.4.0-log"), Flavor::MySql);
    }
}
