//! Shared helpers for the server's integration tests: start and kill the real `warren`
//! binary, start and stop the reference Apache ZooKeeper, a raw-protocol client built on
//! `warren-proto`, and a connector for the `zookeeper-client` crate.
//!
//! Every blocking wait here has a deadline, so a misbehaving server fails a test instead of
//! hanging it.
#![allow(dead_code)]

pub mod ensemble;

use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use warren_proto::consts::{op, xid};
use warren_proto::request::decode_multi_response;
use warren_proto::{
    AllChildrenNumberResponse, Children2Response, ChildrenResponse, ConnectRequest,
    ConnectResponse, Create2Response, CreateResponse, GetAclResponse, GetDataResponse, Jute,
    OpResult, Reader, ReplyHeader, Request, RequestHeader, Stat, StatResponse, SyncResponse,
    WatcherEvent, WhoAmIResponse,
};

/// How long any single client call or process wait may take before the test fails.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// The zoo.cfg lines every Warren in the tests gets (besides dataDir and clientPort).
/// `warren.verifyApply` makes the server check every fast-path apply against the apply
/// function, so the whole suite exercises that check.
pub const BASE_CFG: &str =
    "tickTime=2000\n4lw.commands.whitelist=*\nextendedTypesEnabled=true\nwarren.verifyApply=true\n";

/// `strace` arguments that run a server with `inject` (an `-e inject=fdatasync:…` rule)
/// applied to every fdatasync of every thread, and print nothing.
pub fn fdatasync_fault(inject: &'static str) -> [&'static str; 9] {
    [
        "strace",
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        "trace=fdatasync",
        "-e",
        inject,
    ]
}

/// A port nobody listens on right now, below the kernel's ephemeral range (32768 and
/// up here), so that no outgoing connection of a server (Raft's, say) can take it
/// between this call and the server's bind.
pub fn free_port() -> u16 {
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
            return port;
        }
    }
    panic!("no free port below 32000")
}

/// A field of `/proc/PID/status` given in kB (`VmRSS:`, `VmHWM:`), in bytes; `None` once
/// the process is gone.
pub fn proc_status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())?;
    Some(kb * 1024)
}

/// The process's resident set size now (VmRSS), in bytes.
pub fn rss(pid: u32) -> u64 {
    proc_status_bytes(pid, "VmRSS:").expect("VmRSS in /proc status")
}

/// The process's peak resident set size so far (VmHWM), in bytes.
pub fn peak_rss(pid: u32) -> u64 {
    proc_status_bytes(pid, "VmHWM:").expect("VmHWM in /proc status")
}

/// Sends a four-letter word and returns the text answer ("" if the connection fails).
pub fn four_letter(port: u16, word: &str) -> String {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(word.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Waits until the server on `port` answers `ruok` with `imok`.
pub fn wait_ruok(port: u16, deadline: Duration) -> bool {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if four_letter(port, "ruok") == "imok" {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A running `warren` process on a temp data dir. Killed with SIGKILL when dropped.
pub struct Warren {
    pub port: u16,
    dir: TempDir,
    extra_cfg: String,
    child: Option<Child>,
    starts: usize,
    /// A command the binary runs under (e.g. strace injecting faults), if any.
    wrapper: Vec<String>,
    /// The server's `RUST_LOG` (`warn` unless [`Warren::log_filter`] says otherwise).
    rust_log: String,
    /// A cgroup's `cgroup.procs` the process joins before it runs (see
    /// [`Warren::in_cgroup`]).
    cgroup_procs: Option<PathBuf>,
    /// The group id the process runs as (see [`Warren::in_group`]).
    gid: Option<u32>,
}

impl Warren {
    /// Starts a fresh server with the base config.
    pub fn start() -> Warren {
        Warren::start_with("")
    }

    /// Starts a fresh server with extra zoo.cfg lines.
    pub fn start_with(extra_cfg: &str) -> Warren {
        Warren::start_under(&[], extra_cfg)
    }

    /// Starts a fresh server under `wrapper` (a command and its arguments, to which the
    /// binary and its arguments are appended), for fault injection.
    pub fn start_under(wrapper: &[&str], extra_cfg: &str) -> Warren {
        let mut w = Warren::unstarted(extra_cfg);
        w.wrapper = wrapper.iter().map(|s| s.to_string()).collect();
        w.spawn();
        w
    }

    /// A server on a fresh temp dir and a free port, not started yet.
    pub fn unstarted(extra_cfg: &str) -> Warren {
        let dir = tempfile::Builder::new()
            .prefix("warren-test-")
            .tempdir()
            .expect("temp dir");
        Warren {
            port: free_port(),
            dir,
            extra_cfg: extra_cfg.to_owned(),
            child: None,
            starts: 0,
            wrapper: Vec::new(),
            rust_log: "warn".to_owned(),
            cgroup_procs: None,
            gid: None,
        }
    }

    /// The next starts log with this `RUST_LOG` filter (`info` to see start-up lines).
    pub fn log_filter(&mut self, filter: &str) {
        self.rust_log = filter.to_owned();
    }

    /// The next starts run in the cgroup whose `cgroup.procs` file this is: the child
    /// joins it between fork and exec, so the server is in it from its first instruction.
    pub fn in_cgroup(&mut self, procs: PathBuf) {
        self.cgroup_procs = Some(procs);
    }

    /// Runs the process (from its next start on) as group `gid`, so that firewall rules
    /// can match its sockets (`meta skgid`); the user stays the same.
    pub fn in_group(&mut self, gid: u32) {
        self.gid = Some(gid);
    }

    /// Waits (bounded) for the process to exit by itself; its status, or `None` if it
    /// is still running at the deadline.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + within;
        let c = self.child.as_mut()?;
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                self.child = None;
                return Some(st);
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The next start runs the binary under `wrapper` (see [`Warren::start_under`]).
    pub fn wrap(&mut self, wrapper: &[&str]) {
        self.wrapper = wrapper.iter().map(|s| s.to_string()).collect();
    }

    /// The next start runs the binary directly, without the wrapper.
    pub fn unwrap_command(&mut self) {
        self.wrapper.clear();
    }

    /// Starts on an existing data dir (moved into the server's temp dir).
    pub fn start_on(data: &std::path::Path, extra_cfg: &str) -> Warren {
        let mut w = Warren::unstarted(extra_cfg);
        std::fs::rename(data, w.dir.path().join("data")).expect("move the data dir");
        w.spawn();
        w
    }

    /// Starts a fresh server whose data dir is `data` (elsewhere, for example on a
    /// small disk): the server's `data` is a symlink to it.
    pub fn start_with_data_at(data: &std::path::Path, extra_cfg: &str) -> Warren {
        let mut w = Warren::unstarted(extra_cfg);
        std::os::unix::fs::symlink(data, w.dir.path().join("data")).expect("link the data dir");
        w.spawn();
        w
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    /// Starts the process and waits until it answers `ruok`.
    pub fn spawn(&mut self) {
        self.spawn_without_waiting();
        if !wait_ruok(self.port, Duration::from_secs(20)) {
            let status = self.child.as_mut().unwrap().try_wait().ok().flatten();
            panic!(
                "warren did not answer ruok on port {} (exit: {status:?}); log:\n{}",
                self.port,
                self.log()
            );
        }
    }

    /// Starts the process again on the same data dir without waiting for it to serve
    /// (for a start-up that must fail); see [`Warren::wait_exit`].
    pub fn spawn_without_waiting(&mut self) {
        let data = self.data_dir();
        std::fs::create_dir_all(&data).unwrap();
        let cfg = self.dir.path().join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "{BASE_CFG}dataDir={}\nclientPort={}\n{}\n",
                data.display(),
                self.port,
                self.extra_cfg
            ),
        )
        .unwrap();
        self.starts += 1;
        let log =
            std::fs::File::create(self.dir.path().join(format!("server.{}.log", self.starts)))
                .unwrap();
        let mut cmd = match self.wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(env!("CARGO_BIN_EXE_warren"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_warren")),
        };
        if let Some(procs) = &self.cgroup_procs {
            use std::os::unix::process::CommandExt;
            let procs = std::fs::OpenOptions::new()
                .write(true)
                .open(procs)
                .unwrap_or_else(|e| panic!("open {}: {e}", procs.display()));
            // SAFETY: the closure runs in the child between fork and exec, where only
            // async-signal-safe calls are allowed: it makes one write(2) of a static
            // buffer to a file opened before the fork, and allocates nothing. Writing
            // "0" to cgroup.procs moves the writing process (v1 and v2).
            unsafe {
                cmd.pre_exec(move || (&procs).write_all(b"0"));
            }
        }
        if let Some(gid) = self.gid {
            use std::os::unix::process::CommandExt;
            cmd.gid(gid);
        }
        let child = cmd
            .arg("--config")
            .arg(&cfg)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--data-dir")
            .arg(&data)
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LOG", &self.rust_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn warren");
        self.child = Some(child);
    }

    /// The server's stderr of the current (or last) run.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("server.{}.log", self.starts)))
            .unwrap_or_default()
    }

    /// Is the process still alive?
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILL, and reap. Under a wrapper, the server (the wrapper's child) is killed
    /// first: a tracee whose strace dies would otherwise run on, detached.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            if !self.wrapper.is_empty() {
                let pid = c.id();
                let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                    .unwrap_or_default();
                for child in children.split_whitespace() {
                    let _ = Command::new("kill").args(["-9", child]).status();
                }
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait (bounded) for a clean exit. Returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("server running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let end = Instant::now() + CALL_TIMEOUT;
        loop {
            if let Some(st) = c.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > end {
                let _ = c.kill();
                let _ = c.wait();
                panic!("warren did not exit within {CALL_TIMEOUT:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same port and data dir.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill the server first");
        self.spawn();
    }
}

impl Drop for Warren {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn refzk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/refzk")
}

/// Is the reference server installed (or installable) here?
pub fn refzk_available() -> bool {
    refzk_dir().join("start.sh").exists()
}

/// A running reference Apache ZooKeeper 3.8. Stopped when dropped, and also by a watchdog
/// process when the test process dies, so a panic or abort leaves no JVM behind.
pub struct RefZk {
    pub port: u16,
    dir: TempDir,
}

impl RefZk {
    pub fn start() -> RefZk {
        RefZk::start_with("")
    }

    /// Starts one with extra zoo.cfg lines (passed through ZK_EXTRA_CFG).
    pub fn start_with(extra_cfg: &str) -> RefZk {
        let dir = tempfile::Builder::new()
            .prefix("refzk-test-")
            .tempdir()
            .expect("temp dir");
        let port = start_reference_in(dir.path(), extra_cfg);
        RefZk { port, dir }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Runs `refzk/start.sh` on `dir` and returns the port the reference answers on.
///
/// start.sh waits for `ruok` with `nc -q1`, which can hang for good when the JVM accepts
/// a connection before it serves (seen under load). So the script runs in its own process
/// group with its output in files (no pipe for a stray `nc` to hold open), gets a deadline,
/// and is killed and retried on a fresh port when it misses it. A watchdog
/// stops the reference when the test process exits, whatever happens to the test.
pub fn start_reference_in(dir: &std::path::Path, extra_cfg: &str) -> u16 {
    let scripts = refzk_dir();
    let mut last = String::new();
    for attempt in 0..3 {
        let port = free_port();
        let out_path = dir.join(format!("start.{attempt}.out"));
        let out = std::fs::File::create(&out_path).expect("start log");
        let err = out.try_clone().expect("start log");
        let mut child = Command::new("setsid")
            .arg("bash")
            .arg(scripts.join("start.sh"))
            .arg(dir)
            .arg(port.to_string())
            .env("ZK_EXTRA_CFG", extra_cfg)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("run refzk start.sh");
        // The watchdog remembers the JVM's pid as soon as start.sh writes it, since the
        // test may have deleted `dir` by the time it exits.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "pid=; while kill -0 {} 2>/dev/null; do \
                 [ -z \"$pid\" ] && [ -f '{d}/pid' ] && pid=$(cat '{d}/pid'); sleep 1; done; \
                 [ -n \"$pid\" ] && kill \"$pid\" 2>/dev/null; exit 0",
                std::process::id(),
                d = dir.display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break Some(st),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                _ => break None,
            }
        };
        if status.is_some_and(|st| st.success()) && wait_ruok(port, Duration::from_secs(5)) {
            return port;
        }
        // Kill the script's process group (and its nc), then the JVM it started.
        let _ = Command::new("kill")
            .args(["-9", "--"])
            .arg(format!("-{}", child.id()))
            .status();
        let _ = child.wait();
        let _ = Command::new("bash")
            .arg(scripts.join("stop.sh"))
            .arg(dir)
            .status();
        last = std::fs::read_to_string(&out_path).unwrap_or_default();
    }
    panic!("reference ZooKeeper did not start after 3 attempts: {last}");
}

impl Drop for RefZk {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(refzk_dir().join("stop.sh"))
            .arg(self.dir.path())
            .status();
    }
}

/// One reference server shared by all tests of a test binary (statics are never dropped:
/// the watchdog stops it when the test process exits). Tests that use it take the returned
/// lock so that their zxids are not interleaved with another test's.
pub fn shared_ref() -> (&'static RefZk, std::sync::MutexGuard<'static, ()>) {
    static REF: OnceLock<RefZk> = OnceLock::new();
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    (REF.get_or_init(RefZk::start), guard)
}

// ---------------------------------------------------------------------------------------
// zookeeper-client helpers

/// Runs a future with [`CALL_TIMEOUT`], panicking on expiry.
pub async fn tm<F: Future>(f: F) -> F::Output {
    match tokio::time::timeout(CALL_TIMEOUT, f).await {
        Ok(v) => v,
        Err(_) => panic!("client call timed out after {CALL_TIMEOUT:?}"),
    }
}

/// Connects a `zookeeper-client` session (10 s session timeout).
pub async fn zk(addr: &str) -> zookeeper_client::Client {
    zk_with(addr, zookeeper_client::Client::connector()).await
}

pub async fn zk_with(addr: &str, c: zookeeper_client::Connector) -> zookeeper_client::Client {
    tm(c.with_session_timeout(Duration::from_secs(10))
        .with_fail_eagerly()
        .connect(addr))
    .await
    .unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
}

/// Create options for a world-open node of `mode`.
pub fn opts(mode: zookeeper_client::CreateMode) -> zookeeper_client::CreateOptions<'static> {
    mode.with_acls(zookeeper_client::Acls::anyone_all())
}

pub fn persistent() -> zookeeper_client::CreateOptions<'static> {
    opts(zookeeper_client::CreateMode::Persistent)
}

pub fn ephemeral() -> zookeeper_client::CreateOptions<'static> {
    opts(zookeeper_client::CreateMode::Ephemeral)
}

// ---------------------------------------------------------------------------------------
// A raw-protocol client

/// One frame as received from a server.
#[derive(Debug, Clone)]
pub enum Frame {
    Reply { hdr: ReplyHeader, body: Vec<u8> },
    Event { zxid: i64, ev: WatcherEvent },
}

/// A blocking connection speaking ZooKeeper's wire protocol directly.
pub struct Raw {
    pub stream: TcpStream,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub timeout: i32,
    next_xid: i32,
    /// Notifications received while waiting for replies, in arrival order.
    pub events: Vec<(i64, WatcherEvent)>,
}

pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// Reads one length-prefixed frame. `Err` on EOF, timeout or a bad length.
pub fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let n = i32::from_be_bytes(len);
    if !(0..=64 << 20).contains(&n) {
        return Err(std::io::Error::other(format!("bad frame length {n}")));
    }
    let mut b = vec![0u8; n as usize];
    s.read_exact(&mut b)?;
    Ok(b)
}

/// Does the server close this connection (EOF or reset) within `within`? Any data frames
/// received before the close are ignored.
pub fn closes_within(s: &mut TcpStream, within: Duration) -> bool {
    let end = Instant::now() + within;
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

impl Raw {
    pub fn tcp(addr: &str) -> TcpStream {
        let s = TcpStream::connect(addr).expect("tcp connect");
        s.set_read_timeout(Some(CALL_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(CALL_TIMEOUT)).unwrap();
        let _ = s.set_nodelay(true);
        s
    }

    /// A new session with the given requested timeout.
    pub fn connect(addr: &str, timeout_ms: i32) -> Raw {
        Raw::connect_req(
            addr,
            ConnectRequest {
                protocol_version: 0,
                last_zxid_seen: 0,
                time_out: timeout_ms,
                session_id: 0,
                passwd: vec![0; 16],
                read_only: Some(false),
            },
        )
        .expect("raw connect")
    }

    /// Sends a ConnectRequest; returns the session, or the raw ConnectResponse if the
    /// server refused it (session id 0).
    pub fn connect_req(addr: &str, req: ConnectRequest) -> Result<Raw, ConnectResponse> {
        let mut s = Raw::tcp(addr);
        s.write_all(&frame(&req.to_bytes())).unwrap();
        let resp = match read_frame(&mut s) {
            Ok(b) => ConnectResponse::from_bytes(&b).expect("decode ConnectResponse"),
            Err(_) => return Err(ConnectResponse::default()),
        };
        if resp.session_id == 0 {
            return Err(resp);
        }
        Ok(Raw {
            stream: s,
            session_id: resp.session_id,
            passwd: resp.passwd,
            timeout: resp.time_out,
            next_xid: 1,
            events: Vec::new(),
        })
    }

    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Sends a request with a fresh xid; returns the xid.
    pub fn send(&mut self, op: i32, body: &[u8]) -> i32 {
        let x = match op {
            op::PING => xid::PING,
            op::AUTH => xid::AUTH,
            _ => {
                self.next_xid += 1;
                self.next_xid
            }
        };
        let mut b = RequestHeader { xid: x, op }.to_bytes();
        b.extend_from_slice(body);
        self.stream.write_all(&frame(&b)).expect("send request");
        x
    }

    pub fn recv(&mut self) -> std::io::Result<Frame> {
        let b = read_frame(&mut self.stream)?;
        let mut r = Reader::new(&b);
        let hdr = ReplyHeader::read(&mut r)
            .map_err(|e| std::io::Error::other(format!("bad reply header: {e}")))?;
        if hdr.xid == xid::NOTIFICATION {
            let ev = WatcherEvent::read(&mut r)
                .map_err(|e| std::io::Error::other(format!("bad event: {e}")))?;
            return Ok(Frame::Event { zxid: hdr.zxid, ev });
        }
        Ok(Frame::Reply {
            hdr,
            body: r.rest().to_vec(),
        })
    }

    /// Sends `req` and waits for its reply; notifications on the way are kept in `events`.
    pub fn call(&mut self, req: &Request) -> std::io::Result<(ReplyHeader, Vec<u8>)> {
        let mut body = Vec::new();
        req.encode_body(&mut body);
        self.call_bytes(req.op(), &body)
    }

    pub fn call_bytes(&mut self, op: i32, body: &[u8]) -> std::io::Result<(ReplyHeader, Vec<u8>)> {
        let x = self.send(op, body);
        loop {
            match self.recv()? {
                Frame::Event { zxid, ev } => self.events.push((zxid, ev)),
                Frame::Reply { hdr, body } if hdr.xid == x => return Ok((hdr, body)),
                Frame::Reply { hdr, .. } => {
                    return Err(std::io::Error::other(format!(
                        "reply for xid {} while waiting for {x}",
                        hdr.xid
                    )))
                }
            }
        }
    }

    /// The error code of `req`.
    pub fn err(&mut self, req: &Request) -> i32 {
        self.call(req).expect("call").0.err
    }
}

/// Decodes a reply body of opcode `op` into a readable form, with Stat rendered by `stat`.
pub fn render_body(op: i32, body: &[u8], stat: &mut dyn FnMut(&Stat) -> String) -> String {
    let mut r = Reader::new(body);
    let s = match op {
        op::CREATE => CreateResponse::read(&mut r).map(|x| format!("path={}", x.path)),
        op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => {
            Create2Response::read(&mut r).map(|x| format!("path={} {}", x.path, stat(&x.stat)))
        }
        op::EXISTS | op::SET_DATA | op::SET_ACL => {
            StatResponse::read(&mut r).map(|x| stat(&x.stat))
        }
        op::GET_DATA => GetDataResponse::read(&mut r).map(|x| {
            format!(
                "data={:?} {}",
                x.data.map(|d| String::from_utf8_lossy(&d).into_owned()),
                stat(&x.stat)
            )
        }),
        op::GET_ACL => GetAclResponse::read(&mut r).map(|x| {
            let acl: Vec<String> = x
                .acl
                .iter()
                .map(|a| format!("{}:{}:{}", a.perms, a.id.scheme, a.id.id))
                .collect();
            format!("acl={acl:?} {}", stat(&x.stat))
        }),
        op::GET_CHILDREN | op::GET_EPHEMERALS => ChildrenResponse::read(&mut r).map(|x| {
            let mut c = x.children.0.clone();
            c.sort();
            format!("children={c:?}")
        }),
        op::GET_CHILDREN2 => Children2Response::read(&mut r).map(|x| {
            let mut c = x.children.0.clone();
            c.sort();
            format!("children={c:?} {}", stat(&x.stat))
        }),
        op::SYNC => SyncResponse::read(&mut r).map(|x| format!("path={}", x.path)),
        op::GET_ALL_CHILDREN_NUMBER => {
            AllChildrenNumberResponse::read(&mut r).map(|x| format!("n={}", x.total_number))
        }
        op::WHO_AM_I => WhoAmIResponse::read(&mut r).map(|x| {
            let v: Vec<String> = x
                .client_info
                .iter()
                .map(|c| format!("{}:{}", c.auth_scheme, c.user))
                .collect();
            format!("who={v:?}")
        }),
        op::MULTI | op::MULTI_READ => decode_multi_response(&mut r).map(|v| {
            let parts: Vec<String> = v
                .iter()
                .map(|res| match res {
                    OpResult::Create { path } => format!("create({path})"),
                    OpResult::Create2 { op, path, stat: s } => {
                        format!("create{op}({path} {})", stat(s))
                    }
                    OpResult::Delete => "delete".into(),
                    OpResult::SetData { stat: s } => format!("setData({})", stat(s)),
                    OpResult::Check => "check".into(),
                    OpResult::GetChildren { children } => {
                        let mut c = children.clone();
                        c.sort();
                        format!("children({c:?})")
                    }
                    OpResult::GetData { data, stat: s } => format!(
                        "data({:?} {})",
                        data.as_ref()
                            .map(|d| String::from_utf8_lossy(d).into_owned()),
                        stat(s)
                    ),
                    OpResult::Error { err } => format!("error({err})"),
                })
                .collect();
            format!("[{}]", parts.join(", "))
        }),
        _ => Ok(String::new()),
    };
    match s {
        Ok(s) if r.remaining() == 0 => s,
        Ok(s) => format!("{s} +{} trailing bytes", r.remaining()),
        Err(e) => format!("undecodable ({e}): {body:?}"),
    }
}

/// Creates `/n0` … `/n{count-1}` with `size` bytes of data each, asserting each succeeds.
pub fn create_nodes(r: &mut Raw, count: usize, size: usize) {
    for i in 0..count {
        let create = Request::Create {
            op: op::CREATE,
            req: warren_proto::CreateRequest {
                path: format!("/n{i}"),
                data: Some(vec![b'x'; size]),
                acl: warren_proto::Acl::open_unsafe().into(),
                flags: 0,
            },
        };
        assert_eq!(r.err(&create), 0, "create /n{i}");
    }
}

/// The body of `GET /metrics` on the metrics port `port`, if it answers.
#[allow(dead_code)]
pub fn scrape(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}

/// The value of the unlabelled sample `name` in a scrape.
#[allow(dead_code)]
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing from:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// `len` bytes that do not compress (the engine compresses its tables), the same for
/// the same `seed` every time (xorshift64).
pub fn incompressible(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
