//! `warren-bench`: workloads and amplification figures for `warren bench`.
//!
//! Each benchmark is a module with its own clap `Args` struct and a variant of
//! [`BenchCommand`]; the `warren` binary embeds [`BenchCommand`] as its `bench` subcommand
//! and calls [`run`], and `src/bin/warren-bench.rs` does the same on its own.
//!
//! * [`engine_bench`] (`bench engine`): the storage engine under the server's write path
//!   (WAL record + group commit, then an engine batch), with write, read and space
//!   amplification, optionally side by side with `fjall`.
//!
//! A ZooKeeper-protocol load generator belongs in its own module and variant (`Zk`).

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod engine_bench;
pub mod error;
pub mod measure;

pub use engine_bench::{EngineBenchArgs, EngineBenchReport, EngineFigures, Versus, Workload};
pub use error::BenchError;

/// The `bench` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchCommand {
    /// Storage engine throughput, latency and write/read/space amplification through the
    /// server's write path (WAL + group commit + engine), optionally against fjall.
    Engine(EngineBenchArgs),
}

/// Runs one benchmark and prints its figures on stdout (human-readable, or one JSON
/// object with `--json`).
///
/// # Errors
/// Whatever the benchmark hits: invalid arguments, I/O, WAL or engine errors.
pub fn run(cmd: BenchCommand) -> Result<(), BenchError> {
    match cmd {
        BenchCommand::Engine(args) => {
            let report = engine_bench::run(&args)?;
            if args.json {
                println!("{}", report.to_json()?);
            } else {
                print!("{}", report.to_text());
            }
            Ok(())
        }
    }
}
