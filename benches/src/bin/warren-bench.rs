//! `warren-bench`: the benchmarks of `warren bench`, as a binary of their own, so they
//! can be run with `cargo run --release -p warren-bench --bin warren-bench -- engine …`
//! without building the server.

use clap::Parser;

/// Warren's benchmarks.
#[derive(Debug, Parser)]
#[command(name = "warren-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: warren_bench::BenchCommand,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match warren_bench::run(cli.cmd) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warren-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
