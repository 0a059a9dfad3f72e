//! The caller's cutover hook: what switches the application to the targets. It runs once per
//! cutover, under the sources' write locks, with the targets holding exactly the sources'
//! changes up to the positions it is given. A library caller passes a closure; the CLI's
//! `--cutover-hook 'CMD'` is [`command_hook`].

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a hook is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutoverContext {
    /// The sources (DSNs without their passwords).
    pub sources: Vec<String>,
    /// The targets (DSNs without their passwords).
    pub targets: Vec<String>,
    /// The moved tables.
    pub tables: Vec<String>,
    /// Per source, its binlog position under the lock (`file:offset`): the targets hold every
    /// change of the moved tables before it, and there are none after it until the release.
    pub source_positions: Vec<String>,
    /// Per target, its binlog end once it held those changes (`file:offset`): where a stream of
    /// the application's writes to the targets starts.
    pub target_positions: Vec<String>,
    /// The source tables are renamed to `<table><suffix>` once the hook has succeeded.
    pub suffix: String,
}

/// A hook: `Ok` once the application uses the targets; `Err` (with what went wrong) leaves the
/// sources unrenamed and writable, and the move replicating. It must return within its own
/// time limit: reshard holds the sources' write locks while it runs.
pub type CutoverHook = Arc<dyn Fn(&CutoverContext) -> Result<(), String> + Send + Sync>;

/// How long the output of a hook that has exited is waited for.
const OUTPUT_WAIT: Duration = Duration::from_millis(500);
/// How much of a failed command's output a message quotes.
const OUTPUT_QUOTED: usize = 2000;

/// A hook that runs `command` with `sh -c`, the context in its environment
/// (`RESHARD_SOURCES`, `RESHARD_TARGETS`, `RESHARD_TABLES`, `RESHARD_SOURCE_POSITIONS`,
/// `RESHARD_TARGET_POSITIONS`: space-separated, in the order of the move's options;
/// `RESHARD_OLD_SUFFIX`; without reshard's own environment variables ending in `_PASSWORD`,
/// so that the sources' and targets' passwords stay with reshard). It succeeds when the command exits 0 within `timeout`; past it, the
/// command's process group is killed and the hook fails.
pub fn command_hook(command: String, timeout: Duration) -> CutoverHook {
    Arc::new(move |context: &CutoverContext| run_command(&command, timeout, context))
}

fn run_command(command: &str, timeout: Duration, context: &CutoverContext) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new("sh");
    // Secrets stay with reshard: the passwords it was given are not the hook's.
    for (name, _) in std::env::vars_os() {
        let name_text = name.to_string_lossy();
        if name_text.ends_with("_PASSWORD") || name_text == "MYSQL_PWD" {
            child.env_remove(name);
        }
    }
    let mut child = child
        .arg("-c")
        .arg(command)
        .env("RESHARD_SOURCES", context.sources.join(" "))
        .env("RESHARD_TARGETS", context.targets.join(" "))
        .env("RESHARD_TABLES", context.tables.join(" "))
        .env(
            "RESHARD_SOURCE_POSITIONS",
            context.source_positions.join(" "),
        )
        .env(
            "RESHARD_TARGET_POSITIONS",
            context.target_positions.join(" "),
        )
        .env("RESHARD_OLD_SUFFIX", &context.suffix)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("the cutover hook could not be started: {e}"))?;
    // Read the output on threads of their own, so that a chatty hook never blocks on a full
    // pipe; each sends what it read when its pipe closes.
    let (output_tx, output_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let readers: Vec<std::thread::JoinHandle<()>> = [
        child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|e| Box::new(e) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut pipe| {
        let tx = output_tx.clone();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            let _ = tx.send(bytes);
        })
    })
    .collect();
    drop(output_tx);
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                // The whole group: a shell's children too.
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Err(e) => return Err(format!("waiting for the cutover hook: {e}")),
        }
    };
    // A process the hook left running in the background may hold its pipes open: its output is
    // waited for a moment, not for ever (the sources are locked meanwhile).
    let mut output = Vec::new();
    let deadline = Instant::now() + OUTPUT_WAIT;
    for _ in 0..readers.len() {
        match output_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(bytes) => output.extend(bytes),
            Err(_) => {
                tracing::warn!(
                    "the cutover hook left a process holding its output open; not waiting for it"
                );
                break;
            }
        }
    }
    drop(readers);
    let output = String::from_utf8_lossy(&output);
    let quoted = output.trim();
    let quoted = if quoted.len() > OUTPUT_QUOTED {
        let mut from = quoted.len() - OUTPUT_QUOTED;
        while !quoted.is_char_boundary(from) {
            from += 1;
        }
        &quoted[from..]
    } else {
        quoted
    };
    if !quoted.is_empty() {
        tracing::info!("cutover hook output: {quoted}");
    }
    match status {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(format!(
            "the cutover hook failed ({status}){}",
            if quoted.is_empty() {
                String::new()
            } else {
                format!(": {quoted}")
            }
        )),
        None => Err(format!(
            "the cutover hook did not finish within {} s and was killed (--cutover-hook-timeout)",
            timeout.as_secs_f64()
        )),
    }
}
