//! Where the local test servers are: the same environment variables and defaults as
//! `scripts/db.sh`, so tests find whatever it started.

use std::path::PathBuf;

/// One server a test may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Loopback port.
    pub port: u16,
    /// User with all privileges.
    pub user: String,
    /// Its password.
    pub password: String,
}

impl Server {
    /// `mysql://user:password@127.0.0.1:port/database`.
    pub fn dsn(&self, database: &str) -> String {
        format!(
            "mysql://{}:{}@127.0.0.1:{}/{}",
            self.user, self.password, self.port, database
        )
    }

    /// Driver options for this server and database, TCP only.
    pub fn opts(&self, database: Option<&str>) -> mysql_async::Opts {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some(&self.user))
            .pass(Some(&self.password))
            .db_name(database)
            .prefer_socket(false)
            .into()
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// How many instances `scripts/db.sh up` starts (`RESHARD_DB_INSTANCES`, default 4).
pub fn count() -> usize {
    env_or("RESHARD_DB_INSTANCES", "4")
        .parse()
        .expect("RESHARD_DB_INSTANCES must be a number")
}

/// Instance `n` (1-based) of those `scripts/db.sh up` started.
pub fn instance(n: usize) -> Server {
    assert!(
        (1..=count()).contains(&n),
        "instance {n} asked for, but RESHARD_DB_INSTANCES is {}",
        count()
    );
    let base: usize = env_or("RESHARD_DB_PORT_BASE", "33061")
        .parse()
        .expect("RESHARD_DB_PORT_BASE must be a number");
    Server {
        port: u16::try_from(base + n - 1).expect("port out of range"),
        user: user(),
        password: password(),
    }
}

/// The test user (`RESHARD_DB_USER`, default `reshard`).
pub fn user() -> String {
    env_or("RESHARD_DB_USER", "reshard")
}

/// Its password (`RESHARD_DB_PASSWORD`, default `reshard`).
pub fn password() -> String {
    env_or("RESHARD_DB_PASSWORD", "reshard")
}

/// The repository's top directory.
pub fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .and_then(|p| p.parent())
        .expect("crates/testkit is two levels below the repository")
        .to_owned()
}

/// Where `scripts/db.sh` keeps data directories (`RESHARD_DB_ROOT`, default `<repo>/.db`).
pub fn db_root() -> PathBuf {
    std::env::var_os("RESHARD_DB_ROOT").map_or_else(|| repo_root().join(".db"), PathBuf::from)
}
