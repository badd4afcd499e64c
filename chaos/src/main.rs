//! `warren-chaos`: one run of the history-checking harness (see the library's docs and
//! docs/RELIABILITY.md). Exits non-zero when the checker finds an anomaly, a lost
//! acknowledged write or a crashed server.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use warren_chaos::nemesis::FaultKind;
use warren_chaos::{Options, Workload};

#[derive(Parser)]
#[command(
    name = "warren-chaos",
    about = "Drive real warren servers under faults and check the history"
)]
struct Cli {
    /// The server binary (default: `warren` beside this binary, else target/release/warren).
    #[arg(long)]
    warren_bin: Option<PathBuf>,
    /// 1 (standalone) or 3 (an ensemble).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    nodes: u8,
    /// register, set, unique-ids, counter or queue.
    #[arg(long, default_value = "register")]
    workload: Workload,
    /// Comma-separated faults: kill, pause, restart-all (empty: none).
    #[arg(long, default_value = "kill,pause", value_delimiter = ',')]
    nemesis: Vec<String>,
    /// How long the workers run, in seconds.
    #[arg(long, default_value_t = 30.0)]
    time: f64,
    /// Concurrent workers, one session each.
    #[arg(long, default_value_t = 5)]
    clients: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where the history, faults, summary, timeline and server logs go.
    #[arg(long)]
    out: PathBuf,
    /// An extra zoo.cfg line for every server (repeatable), e.g. a testing-only switch.
    #[arg(long = "server-cfg")]
    server_cfg: Vec<String>,
}

fn default_bin() -> PathBuf {
    let beside = std::env::current_exe()
        .ok()
        .map(|p| p.with_file_name("warren"));
    beside
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("target/release/warren"))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    anyhow::ensure!(
        cli.nodes != 2,
        "--nodes is 1 (standalone) or 3 (an ensemble)"
    );
    let nemesis = cli
        .nemesis
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<FaultKind>().map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let opts = Options {
        warren_bin: cli.warren_bin.unwrap_or_else(default_bin),
        nodes: usize::from(cli.nodes),
        workload: cli.workload,
        nemesis,
        seconds: cli.time,
        clients: cli.clients.max(1),
        seed: cli.seed,
        out: cli.out,
        server_cfg: cli.server_cfg,
    };
    // One thread: the servers' parent-death signal follows the thread that started them.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let summary = rt.block_on(warren_chaos::run(&opts))?;
    warren_chaos::write_summary(&opts, &summary)?;
    println!("{}", summary.line());
    if !summary.valid {
        std::process::exit(1);
    }
    Ok(())
}
