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
//! * [`zk_bench`] (`bench zk`): a ZooKeeper-protocol load generator, to compare Warren
//!   with Apache ZooKeeper (throughput, latency, server memory) in the same run.

#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]
#![warn(missing_docs)]

pub mod engine_bench;
pub mod error;
pub mod measure;
pub mod zk_bench;

pub use engine_bench::{EngineBenchArgs, EngineBenchReport, EngineFigures, Versus, Workload};
pub use error::BenchError;

/// The `bench` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchCommand {
    /// Storage engine throughput, latency and write/read/space amplification through the
    /// server's write path (WAL + group commit + engine), optionally against fjall.
    Engine(EngineBenchArgs),
    /// Load a running ZooKeeper-compatible server (Warren or Apache ZooKeeper) over the
    /// wire protocol and report throughput, latency and the server's memory.
    Zk(zk_bench::ZkBenchArgs),
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
        BenchCommand::Zk(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|source| BenchError::Io {
                    path: "tokio runtime".into(),
                    source,
                })?;
            let report = rt.block_on(zk_bench::run(&args))?;
            zk_bench::print(&report, args.json);
            Ok(())
        }
    }
}
