//! Throwaway servers with settings the shared instances must not have (no binary log, statement
//! format, read-only, ...), or that a test may kill. Started through `scripts/db.sh start-one`,
//! so their configuration is the shared instances' plus the extra options.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::servers::{self, Server};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// How often to retry when the free port picked was taken before the server could bind it.
const PORT_ATTEMPTS: usize = 3;

/// A `mariadbd` of its own, stopped and deleted when dropped. Starting one takes about a second.
#[derive(Debug)]
pub struct ScratchServer {
    dir: PathBuf,
    server: Server,
    extra: Vec<String>,
}

impl ScratchServer {
    /// Starts a server with `extra` mariadbd options (e.g. `--skip-log-bin`) and waits until it
    /// accepts connections. Blocks the calling thread; panics with the script's output on failure.
    pub fn start(extra: &[&str]) -> ScratchServer {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = servers::db_root()
            .join("scratch")
            .join(format!("{}_{n}", std::process::id()));
        let mut last_output = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            let output = Command::new("bash")
                .arg(servers::repo_root().join("scripts/db.sh"))
                .args([
                    "start-one",
                    &dir.to_string_lossy(),
                    &port.to_string(),
                    &port.to_string(),
                ])
                .args(extra)
                .output()
                .expect("running scripts/db.sh");
            if output.status.success() {
                let server = Server {
                    port,
                    user: servers::user(),
                    password: servers::password(),
                };
                return ScratchServer {
                    dir,
                    server,
                    extra: extra.iter().map(|s| (*s).to_owned()).collect(),
                };
            }
            last_output = String::from_utf8_lossy(&output.stderr).into_owned();
            if !last_output.contains("already taken") {
                break;
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("could not start a scratch server with {extra:?}:\n{last_output}");
    }

    /// How to reach it.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// `mysql://user:password@127.0.0.1:port/database`.
    pub fn dsn(&self, database: &str) -> String {
        self.server.dsn(database)
    }

    /// Kills the server as a crash would (SIGKILL), and waits until it is gone.
    pub fn kill(&self) {
        let pid = std::fs::read_to_string(self.dir.join("mariadbd.pid"))
            .expect("the scratch server's pid file")
            .trim()
            .to_owned();
        let killed = Command::new("kill").args(["-9", &pid]).status();
        assert!(
            matches!(killed, Ok(s) if s.success()),
            "kill -9 {pid}: {killed:?}"
        );
        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Starts the server again on its data and port (after [`ScratchServer::kill`]), and waits
    /// until it accepts connections.
    pub fn restart(&self) {
        self.restart_with(&self.extra.iter().map(String::as_str).collect::<Vec<_>>());
    }

    /// Stops the server cleanly (SIGTERM), and waits until it is gone.
    pub fn stop(&self) {
        let stopped = Command::new("bash")
            .arg(servers::repo_root().join("scripts/db.sh"))
            .args(["stop-one", &self.dir.to_string_lossy()])
            .status();
        assert!(
            matches!(stopped, Ok(s) if s.success()),
            "stopping the scratch server: {stopped:?}"
        );
    }

    /// [`ScratchServer::restart`] with other mariadbd options.
    pub fn restart_with(&self, extra: &[&str]) {
        let port = self.server.port.to_string();
        let output = Command::new("bash")
            .arg(servers::repo_root().join("scripts/db.sh"))
            .args(["start-one", &self.dir.to_string_lossy(), &port, &port])
            .args(extra)
            .output()
            .expect("running scripts/db.sh");
        assert!(
            output.status.success(),
            "restarting the scratch server on port {port}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for ScratchServer {
    fn drop(&mut self) {
        let stopped = Command::new("bash")
            .arg(servers::repo_root().join("scripts/db.sh"))
            .args(["stop-one", &self.dir.to_string_lossy()])
            .status();
        if !matches!(stopped, Ok(s) if s.success()) {
            eprintln!(
                "warning: could not stop the scratch server in {}: {stopped:?}",
                self.dir.display()
            );
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("local address").port()
}
