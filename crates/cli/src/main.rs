//! `reshard`: move and reshard very large MySQL and MariaDB tables online.
//!
//! This binary is wiring only: it parses the command line, sets up logging and the allocator,
//! runs one command from the library crates, and turns its outcome into an exit status:
//! 0 success, 1 a server or the data is not fit (the message says why), 2 the input is wrong
//! (a usage error or a malformed DSN, found before anything connects), 3 interrupted before it
//! finished (Ctrl-C or SIGTERM during a copy, or during a move's copy).

mod args;
mod bench;
mod check;
mod copy;
mod failures;
mod format;
mod lifecycle;
mod logging;
mod moves;
mod output;
mod progress_display;
mod secrets;
mod serve;
mod signals;
mod status;
mod verify;
mod vindex;

use std::process::ExitCode;

use clap::Parser;

use crate::output::err;
use args::{Cli, Command};

// mimalloc: the data plane allocates and frees many batch-sized buffers across threads, which the
// system allocator handles worse.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status when the input (arguments, DSNs, configuration) is wrong.
const EXIT_BAD_INPUT: u8 = 2;
/// Exit status when a server or the data is not fit for what was asked.
const EXIT_UNFIT: u8 = 1;
/// Exit status when the command was interrupted (Ctrl-C, SIGTERM) before it finished: a copy
/// whose tables are not all copied, a move whose copy is not done.
pub(crate) const EXIT_INTERRUPTED: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _log = logging::init();
    secrets::hide_in_arguments();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            err!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Bench(args) => bench::run(args).await,
            Command::Check(args) => check::run(args).await,
            Command::Copy(args) => copy::run(args).await,
            Command::Move(args) => moves::run(args).await,
            Command::Status(args) => status::run(&args).await,
            Command::Reset(args) => status::reset(&args).await,
            Command::Cancel(args) => lifecycle::cancel(&args).await,
            Command::Reverse(args) => lifecycle::reverse(args, false).await,
            Command::Rollback(args) => lifecycle::reverse(args, true).await,
            Command::Complete(args) => lifecycle::finish(&args).await,
            Command::Verify(args) => verify::run(args).await,
            Command::Vindex(args) => vindex::run(&args),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadInput(message)) => {
            err!("error: {message}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        Err(Failure::Unfit(message)) => {
            err!("error: {message}");
            ExitCode::from(EXIT_UNFIT)
        }
        Err(Failure::Interrupted(message)) => {
            err!("interrupted: {message}");
            ExitCode::from(EXIT_INTERRUPTED)
        }
    }
}

/// Why a command did not succeed; each maps to an exit status.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The input is wrong; nothing was done.
    BadInput(String),
    /// A server or the data is not fit.
    Unfit(String),
    /// Interrupted before the command finished; the message says what the targets hold.
    Interrupted(String),
}
