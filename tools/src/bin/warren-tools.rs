//! `warren-tools`: the offline tools without the server, for development and tests. The
//! same commands are available as `warren txnlog …` / `warren snapshot …`.
#![deny(unsafe_code)]

use clap::Parser;
use warren_tools::ToolCommand;

/// Warren's offline tools.
#[derive(Debug, Parser)]
#[command(name = "warren-tools", version)]
struct Cli {
    #[command(subcommand)]
    cmd: ToolCommand,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = warren_tools::run(cli.cmd) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
