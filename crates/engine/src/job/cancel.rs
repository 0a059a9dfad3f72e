//! Cancelling a running job from anywhere (a signal handler, another task, a timeout).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// A handle that asks a job to stop at its next safe point. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A handle not cancelled yet.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks the job to stop.
    pub fn cancel(&self) {
        self.0.store(true, Relaxed);
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Relaxed)
    }

    /// The flag the engine's loops poll (for [`crate::copy::run_copy`] and
    /// [`crate::online::run_move`] called directly).
    pub fn flag(&self) -> &AtomicBool {
        &self.0
    }
}
