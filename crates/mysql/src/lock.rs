//! A lock on a target database for the length of a run, so that two reshard processes never write
//! into the same tables at once.
//!
//! It is MariaDB's and MySQL's named lock (`GET_LOCK`), held by a connection of its own: the
//! server releases it when that connection ends, however the process ends (kill -9 included), so
//! no stale lock is ever left behind to clear by hand. It lives on the target, as everything a run
//! keeps does: sources are never written before cutover.

use mysql_async::prelude::Queryable;
use reshard_types::Dsn;

use crate::error::MysqlError;
use crate::session::{Session, connect};

/// The lock of one target database, held while this value lives.
pub struct TargetLock {
    session: Session,
    name: String,
    server: ServerIdentity,
    connection: u64,
}

/// A server as it names itself: `(@@hostname, @@port, @@server_id)`.
pub type ServerIdentity = (String, u16, u32);

impl std::fmt::Debug for TargetLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetLock")
            .field("server", &self.session.dsn().to_string())
            .field("name", &self.name)
            .finish()
    }
}

/// Who holds a lock another run wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// The server the lock is on.
    pub server: ServerIdentity,
    /// The holder's connection id on the target.
    pub connection: u64,
    /// Its client host and port, as the server sees them.
    pub host: Option<String>,
    /// How long its connection has been idle holding the lock, in seconds (about how long the
    /// other run has been going).
    pub seconds: Option<u64>,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "connection {}", self.connection)?;
        if let Some(host) = &self.host {
            write!(f, " from {host}")?;
        }
        if let Some(seconds) = self.seconds {
            write!(f, ", holding it for {seconds} s")?;
        }
        Ok(())
    }
}

impl TargetLock {
    /// Takes the lock of the DSN's database on its server without waiting, or says who holds it.
    pub async fn take(dsn: &Dsn) -> Result<Result<TargetLock, LockHolder>, MysqlError> {
        let database = dsn.database().unwrap_or_default();
        let mut session = connect(dsn).await?;
        // The connection idles for the whole run: the server must not close it for that (which
        // would drop the lock). A server that restarts drops it all the same.
        session
            .conn()
            .query_drop("SET SESSION wait_timeout = 31536000")
            .await
            .map_err(|e| session.error("setting up the run's lock connection", e))?;
        let identity: Option<(u64, String, u16, u32)> = session
            .conn()
            .query_first("SELECT CONNECTION_ID(), @@hostname, @@port, @@server_id")
            .await
            .map_err(|e| session.error("setting up the run's lock connection", e))?;
        let (connection, hostname, port, server_id) = identity.unwrap_or_default();
        let server = (hostname, port, server_id);
        // Lock names are at most 64 characters: a long database name is hashed.
        let name: Option<String> = session
            .conn()
            .exec_first(
                "SELECT IF(CHAR_LENGTH(?) <= 56, CONCAT('reshard:', ?), CONCAT('reshard:', LEFT(SHA2(?, 256), 56)))",
                (database, database, database),
            )
            .await
            .map_err(|e| session.error("naming the run's lock", e))?;
        let name = name.unwrap_or_default();
        let got: Option<Option<u8>> = session
            .conn()
            .exec_first("SELECT GET_LOCK(?, 0)", (&name,))
            .await
            .map_err(|e| session.error("taking the run's lock on the target", e))?;
        if got.flatten() == Some(1) {
            return Ok(Ok(TargetLock {
                session,
                name,
                server,
                connection,
            }));
        }
        let holder: Option<(u64, Option<String>, Option<u64>)> = session
            .conn()
            .exec_first(
                "SELECT l.id, p.HOST, p.TIME FROM (SELECT IS_USED_LOCK(?) AS id) l \
                 LEFT JOIN information_schema.PROCESSLIST p ON p.ID = l.id",
                (&name,),
            )
            .await
            .map_err(|e| session.error("finding who holds the run's lock", e))?;
        let _ = session.close().await;
        let (connection, host, seconds) = holder.unwrap_or_default();
        Ok(Err(LockHolder {
            server,
            connection,
            host,
            seconds,
        }))
    }

    /// The server it is on, and the id of the connection that holds it there.
    pub fn holder(&self) -> (&ServerIdentity, u64) {
        (&self.server, self.connection)
    }

    /// Releases the lock (dropping it does too, when the connection closes).
    pub async fn release(mut self) {
        let _ = self
            .session
            .conn()
            .exec_drop("DO RELEASE_LOCK(?)", (&self.name,))
            .await;
        let _ = self.session.close().await;
    }
}
