//! The servers under test: real `warren` processes, one data dir each, standalone or a
//! 3-member ensemble formed from zoo.cfg `server.N=` lines and `myid` files (as an
//! operator would, see docs/OPERATIONS.md).
//!
//! [`Cluster`] is the guard for every process it started: dropping it (on a normal exit,
//! an error, a panic's unwinding, or after Ctrl-C) continues any stopped server and kills
//! every one. A harness killed outright cannot run its destructors, so each server also
//! gets a parent-death signal: the kernel kills it when the harness's thread that started
//! it dies, which is why the harness runs on a single-threaded runtime (that thread is
//! the main thread, alive as long as the process).

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::ChaosError;

/// One member: its ports, its directory and, while it runs, its process.
pub struct Node {
    /// The `myid` (1-based), or 1 for a standalone server.
    pub id: usize,
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    paused: bool,
    starts: usize,
}

impl Node {
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    fn pid(&self) -> Option<libc::pid_t> {
        self.child
            .as_ref()
            .and_then(|c| libc::pid_t::try_from(c.id()).ok())
    }

    fn signal(&self, sig: libc::c_int) {
        if let Some(pid) = self.pid() {
            // SAFETY: kill(2) on a child this process started and has not reaped yet (the
            // pid cannot have been reused); no memory is touched.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }
}

/// Every server of a run.
pub struct Cluster {
    bin: PathBuf,
    pub nodes: Vec<Node>,
    /// Members found exited by themselves before a fault or a heal reaped them (a
    /// fail-stop the nemesis then restarted), by index, once per exit.
    crashed_earlier: Vec<usize>,
}

impl Cluster {
    /// Writes each member's zoo.cfg (and myid, for an ensemble) under `dir/nodes`, with
    /// `extra_cfg` appended, and starts them all.
    pub fn start(bin: &Path, dir: &Path, n: usize, extra_cfg: &str) -> Result<Cluster, ChaosError> {
        if !bin.exists() {
            return Err(ChaosError::NoBinary(bin.to_owned()));
        }
        let mut servers = String::new();
        for id in (1..=n).filter(|_| n > 1) {
            servers += &format!("server.{id}=127.0.0.1:{}:{}\n", free_port()?, free_port()?);
        }
        let mut nodes = Vec::new();
        for id in 1..=n {
            let node_dir = dir.join("nodes").join(format!("n{id}"));
            let data = node_dir.join("data");
            mkdir(&data)?;
            let port = free_port()?;
            if n > 1 {
                write(&data.join("myid"), &format!("{id}\n"))?;
            }
            let cfg = format!(
                "tickTime=2000\n4lw.commands.whitelist=*\nwarren.verifyApply=true\n\
                 dataDir={}\nclientPort={port}\n{servers}{extra_cfg}\n",
                data.display()
            );
            write(&node_dir.join("zoo.cfg"), &cfg)?;
            nodes.push(Node {
                id,
                port,
                dir: node_dir,
                child: None,
                paused: false,
                starts: 0,
            });
        }
        let mut cluster = Cluster {
            bin: bin.to_owned(),
            nodes,
            crashed_earlier: Vec::new(),
        };
        for i in 0..n {
            cluster.spawn(i)?;
        }
        Ok(cluster)
    }

    /// Starts member `i` on its data dir (it must not be running).
    pub fn spawn(&mut self, i: usize) -> Result<(), ChaosError> {
        let bin = self.bin.clone();
        let node = &mut self.nodes[i];
        if node.child.is_some() {
            return Ok(());
        }
        node.starts += 1;
        let log_path = node.dir.join(format!("server.{}.log", node.starts));
        let log = std::fs::File::create(&log_path).map_err(|e| ChaosError::Io(log_path, e))?;
        let mut cmd = Command::new(&bin);
        cmd.arg("--config")
            .arg(node.dir.join("zoo.cfg"))
            .env("RUST_LOG", "warn")
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // SAFETY: prctl(2) is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| ChaosError::Spawn(bin.clone(), e))?;
        node.child = Some(child);
        node.paused = false;
        Ok(())
    }

    /// SIGKILL member `i` (continued first, so that a stopped one dies at once) and reap it.
    pub fn kill(&mut self, i: usize) {
        if self.reap_if_exited(i) {
            self.crashed_earlier.push(i);
        }
        let node = &mut self.nodes[i];
        node.signal(libc::SIGCONT);
        if let Some(mut c) = node.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        node.paused = false;
    }

    /// SIGSTOP member `i`.
    pub fn pause(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.signal(libc::SIGSTOP);
        node.paused = node.child.is_some();
    }

    /// SIGCONT member `i`.
    pub fn resume(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.signal(libc::SIGCONT);
        node.paused = false;
    }

    /// Continues every stopped member and starts every dead one.
    pub fn heal(&mut self) -> Result<(), ChaosError> {
        for i in 0..self.nodes.len() {
            self.resume(i);
            if self.reap_if_exited(i) {
                self.crashed_earlier.push(i);
            }
            self.spawn(i)?;
        }
        Ok(())
    }

    /// Forgets a member whose process exited by itself (a crash), so that it can be
    /// started again; returns whether it had.
    pub fn reap_if_exited(&mut self, i: usize) -> bool {
        let node = &mut self.nodes[i];
        let exited = node
            .child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
        if exited {
            node.child = None;
        }
        exited
    }

    /// `host:port` of every member, for a client's connect string (in `order`).
    pub fn connect_string(&self, order: &[usize]) -> String {
        order
            .iter()
            .map(|&i| format!("127.0.0.1:{}", self.nodes[i].port))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// The members whose process exited by itself (a crash the nemesis did not cause),
    /// now or earlier in the run, once per exit.
    pub fn crashed(&mut self) -> Vec<usize> {
        let now: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.reap_if_exited(i))
            .collect();
        let mut all = self.crashed_earlier.clone();
        all.extend(now);
        all
    }

    /// The last lines of member `i`'s current log, for an error message.
    pub fn log_tail(&self, i: usize) -> String {
        let node = &self.nodes[i];
        let text = std::fs::read_to_string(node.dir.join(format!("server.{}.log", node.starts)))
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Cluster {
    /// Continues and kills every member (they can be started again).
    pub fn stop_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Sends a four-letter word and returns the answer ("" when the member does not answer
/// within a second, a stopped one say).
pub async fn four_letter(port: u16, word: &str) -> String {
    let ask = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        s.write_all(word.as_bytes()).await?;
        let mut out = String::new();
        s.read_to_string(&mut out).await?;
        Ok::<_, std::io::Error>(out)
    };
    match tokio::time::timeout(Duration::from_secs(1), ask).await {
        Ok(Ok(out)) => out,
        _ => String::new(),
    }
}

/// The `Mode:` line of `srvr` (`standalone`, `leader`, `follower`; "" if no answer).
pub async fn mode(port: u16) -> String {
    four_letter(port, "srvr")
        .await
        .lines()
        .find_map(|l| l.strip_prefix("Mode: ").map(str::to_owned))
        .unwrap_or_default()
}

/// The index of the member that says it leads, if exactly one does.
pub async fn leader(ports: &[u16]) -> Option<usize> {
    let mut leaders = Vec::new();
    for (i, &p) in ports.iter().enumerate() {
        if mode(p).await == "leader" {
            leaders.push(i);
        }
    }
    (leaders.len() == 1).then(|| leaders[0])
}

/// Waits until every member answers `ruok` and, for an ensemble, exactly one leads and
/// the others follow.
pub async fn wait_healthy(ports: &[u16], within: Duration) -> Result<(), ChaosError> {
    let end = Instant::now() + within;
    loop {
        let mut modes = Vec::new();
        for &p in ports {
            modes.push(mode(p).await);
        }
        let healthy = if ports.len() == 1 {
            modes[0] == "standalone"
        } else {
            modes.iter().filter(|m| *m == "leader").count() == 1
                && modes.iter().all(|m| m == "leader" || m == "follower")
        };
        if healthy {
            return Ok(());
        }
        if Instant::now() > end {
            return Err(ChaosError::Unhealthy(format!("{modes:?}")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A port nobody listens on, below the kernel's ephemeral range, so that no outgoing
/// connection (Raft's, a client's) can take it before the server binds it.
fn free_port() -> Result<u16, ChaosError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let seed = u64::from(std::process::id()) << 20
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    for _ in 0..1000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut x = seed.wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        x ^= x >> 31;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^= x >> 29;
        let port = 10_000 + (x % 22_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(ChaosError::NoPort)
}

fn mkdir(p: &Path) -> Result<(), ChaosError> {
    std::fs::create_dir_all(p).map_err(|e| ChaosError::Io(p.to_owned(), e))
}

fn write(p: &Path, text: &str) -> Result<(), ChaosError> {
    std::fs::write(p, text).map_err(|e| ChaosError::Io(p.to_owned(), e))
}
