//! The `warren` binary: with no arguments, a standalone server on 127.0.0.1:2181 with its
//! data in `./warren-data`; `--config zoo.cfg` reads an Apache ZooKeeper config unchanged.
//! Offline tools and benchmarks are subcommands.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use warren_server::sysprops::SystemProperties;
use warren_server::{Config, Server};

/// mimalloc instead of glibc's malloc: the engine allocates and frees many short-lived
/// blocks from several threads, and glibc's per-thread arenas let that fragment into
/// resident memory well above the configured budget (measured: 464 MiB against 343 MiB
/// with two arenas, for a 256 MiB budget and 1M znodes).
///
/// mimalloc keeps memory it has freed resident for a while (`purge_delay`, 10 ms), and
/// only gives it back when the thread that owns it allocates again: a thread that
/// decoded a burst of 1 MB requests and then served small ones kept those megabytes, and
/// a 64 MiB budget went to 102 MiB of RSS under large pipelined creates (66 MiB with
/// immediate purging). So freed memory is purged at once.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (v2 and v3 alike; the bindings
/// have no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

#[derive(Parser)]
#[command(
    name = "warren",
    version,
    about = "A ZooKeeper-compatible coordination server on an LSM engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// An Apache ZooKeeper zoo.cfg.
    #[arg(long, short = 'c', value_name = "ZOO_CFG")]
    config: Option<PathBuf>,
    /// Overrides clientPort.
    #[arg(long)]
    port: Option<u16>,
    /// Overrides dataDir.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A Java system property, as ZooKeeper takes it (`-Dzookeeper.4lw.commands.whitelist=*`);
    /// SERVER_JVMFLAGS, JVMFLAGS and a java.env beside zoo.cfg are read too.
    #[arg(short = 'D', value_name = "NAME=VALUE")]
    define: Vec<String>,
}

/// Offline tools; with no subcommand, `warren` runs the server.
#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Tool(warren_tools::ToolCommand),
    /// Benchmarks: the storage engine's amplification, or load on a running server.
    #[command(subcommand)]
    Bench(warren_bench::BenchCommand),
}

fn main() -> anyhow::Result<()> {
    // SAFETY: sets a process-wide allocator option; mimalloc reads it on each purge.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in log files and journals.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Tool(t)) => return warren_tools::run(t).map_err(anyhow::Error::from),
        Some(Command::Bench(b)) => return warren_bench::run(b).map_err(anyhow::Error::from),
        None => {}
    }
    let props = SystemProperties::gather(&cli.define, cli.config.as_deref(), |var| {
        std::env::var(var).ok()
    });
    let mut config = Config::load(cli.config.as_deref(), &props)?;
    if let Some(p) = cli.port {
        config.client_port = p;
    }
    if let Some(d) = cli.data_dir {
        config.data_dir = d;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let server = Server::start(config).await?;
        server.run(shutdown_signal()).await?;
        anyhow::Ok(())
    })
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
