//! What a caller must do about an error: the one question every error in reshard answers.

/// How an error is to be handled, decided where the error is understood (next to the I/O).
///
/// Modelled on Materialize's split of transient versus definite errors: a transient error may
/// succeed when retried (on a fresh connection, after a backoff); a definite one will fail the same
/// way again and must be reported to the user, who has to change something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Retrying may succeed: lost connection, deadlock, lock wait timeout, server restarting.
    Transient,
    /// Retrying cannot help: bad credentials, missing table, unsupported setting, bad input.
    Definite,
}
