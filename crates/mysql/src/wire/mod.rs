//! The protocol spoken directly, for the bulk paths (see [`conn`]).

pub mod conn;
pub(crate) mod packets;
pub mod text;

pub use conn::{Interrupter, IoStats, OkInfo, RawConn, ResultHandler, Rows, Statement};
