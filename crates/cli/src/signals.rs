//! Ctrl-C and SIGTERM, honoured in every state.
//!
//! The first signal asks the running command to stop at its next safe point: a copy after the
//! batches in flight, a move after its current cycle of changes. If it has not ended within
//! [`GRACE`] (a statement stuck inside a server, say), or a second signal comes, the process exits
//! at once with [`crate::EXIT_INTERRUPTED`]: the targets' open transactions are rolled back by the
//! servers when the connections drop, and what was committed stays (every write of reshard can be
//! done again).

use std::time::Duration;

use reshard_engine::job::Cancel;

use crate::output::err;

/// How long the command may take to stop after the first signal.
pub(crate) const GRACE: Duration = Duration::from_secs(30);

/// Starts watching for Ctrl-C and SIGTERM (on the tokio runtime); the first cancels the job.
pub(crate) fn watch(what: &'static str) -> Cancel {
    let interrupt = Cancel::new();
    let flag = interrupt.clone();
    tokio::spawn(async move {
        let mut signals = Signals::new();
        signals.next().await;
        // The flag first: nothing that writes (and could block) comes before it.
        flag.cancel();
        tracing::warn!("interrupted: {what}; a second Ctrl-C or SIGTERM exits at once");
        let why = tokio::select! {
            () = signals.next() => "a second signal came",
            () = tokio::time::sleep(GRACE) => "it did not stop within 30 s",
        };
        err!(
            "error: interrupted, and {why}: exiting now; the targets keep what was committed (run again to finish)"
        );
        std::process::exit(i32::from(crate::EXIT_INTERRUPTED));
    });
    interrupt
}

/// Ctrl-C, and SIGTERM where there is one.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Signals {
        Signals {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .inspect_err(|e| tracing::warn!("cannot watch SIGTERM: {e}"))
                .ok(),
        }
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(term) = &mut self.term {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
