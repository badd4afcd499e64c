//! `warren bench zk`: a ZooKeeper-protocol load generator.
//!
//! It speaks the wire protocol directly (jute frames from `warren-proto`), so the same
//! run can drive Warren and Apache ZooKeeper and the figures compare servers, not client
//! libraries. Each client keeps up to `--pipeline` requests in flight on its connection, as
//! asynchronous ZooKeeper clients do, and times every request from send to reply.
//! `--server-pid` samples the server's resident memory (`/proc/<pid>/status`) after the
//! run, which is how docs/PERFORMANCE.md compares Warren's and ZooKeeper's RSS.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use warren_proto::consts::op;
use warren_proto::{
    Acl, ConnectRequest, ConnectResponse, CreateRequest, Jute, PathVersionRequest,
    PathWatchRequest, ReplyHeader, Request, RequestHeader, SetDataRequest,
};

/// What each request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ZkWorkload {
    /// Create `--ops` new nodes (persistent), spread over the clients.
    Create,
    /// setData on nodes made by a previous `create` run with the same prefix and clients.
    Set,
    /// getData on nodes made by a previous `create` run.
    Get,
    /// 90% getData, 10% setData, on nodes made by a previous `create` run.
    Mixed,
    /// Delete the nodes a `create` run made.
    Delete,
}

/// `warren bench zk` arguments.
#[derive(Debug, Clone, Args)]
pub struct ZkBenchArgs {
    /// The server to load.
    #[arg(long, default_value = "127.0.0.1:2181")]
    pub connect: SocketAddr,
    /// What each request does.
    #[arg(long, value_enum, default_value = "create")]
    pub workload: ZkWorkload,
    /// Total requests over all clients.
    #[arg(long, default_value_t = 100_000)]
    pub ops: u64,
    /// Concurrent client connections.
    #[arg(long, default_value_t = 16)]
    pub clients: u32,
    /// Requests in flight per connection.
    #[arg(long, default_value_t = 32)]
    pub pipeline: usize,
    /// Data bytes per create or setData.
    #[arg(long, default_value_t = 1024)]
    pub value_size: usize,
    /// Parent of the benchmark's nodes (created if missing).
    #[arg(long, default_value = "/warren-bench")]
    pub prefix: String,
    /// A server process whose resident memory to report after the run.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Why a benchmark run failed.
#[derive(Debug, thiserror::Error)]
pub enum ZkBenchError {
    /// The connection failed.
    #[error("{addr}: {source}")]
    Io {
        /// The server.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The server answered the handshake with no session.
    #[error("{addr}: the server refused the session")]
    Refused {
        /// The server.
        addr: SocketAddr,
    },
    /// A reply that does not decode.
    #[error("{addr}: reply does not decode: {detail}")]
    Protocol {
        /// The server.
        addr: SocketAddr,
        /// What was wrong.
        detail: String,
    },
    /// A request got a ZooKeeper error (e.g. NONODE: run `create` first).
    #[error("{addr}: {op} failed with error code {code}")]
    Failed {
        /// The server.
        addr: SocketAddr,
        /// The request.
        op: &'static str,
        /// ZooKeeper's error code.
        code: i32,
    },
}

struct Client {
    addr: SocketAddr,
    rd: BufReader<OwnedReadHalf>,
    wr: BufWriter<OwnedWriteHalf>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Result<Client, ZkBenchError> {
        let io = |source| ZkBenchError::Io { addr, source };
        let s = TcpStream::connect(addr).await.map_err(io)?;
        s.set_nodelay(true).map_err(io)?;
        let (rd, wr) = s.into_split();
        let mut c = Client {
            addr,
            rd: BufReader::new(rd),
            wr: BufWriter::new(wr),
        };
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: 30_000,
            session_id: 0,
            passwd: vec![0; 16],
            read_only: Some(false),
        };
        c.write_frame(&req.to_bytes()).await?;
        c.wr.flush().await.map_err(io)?;
        let body = c.read_frame().await?;
        let resp = ConnectResponse::from_bytes(&body).map_err(|e| ZkBenchError::Protocol {
            addr,
            detail: e.to_string(),
        })?;
        if resp.session_id == 0 {
            return Err(ZkBenchError::Refused { addr });
        }
        Ok(c)
    }

    async fn write_frame(&mut self, body: &[u8]) -> Result<(), ZkBenchError> {
        let addr = self.addr;
        let io = |source| ZkBenchError::Io { addr, source };
        self.wr
            .write_all(&(body.len() as i32).to_be_bytes())
            .await
            .map_err(io)?;
        self.wr.write_all(body).await.map_err(io)
    }

    async fn read_frame(&mut self) -> Result<Vec<u8>, ZkBenchError> {
        let addr = self.addr;
        let io = |source| ZkBenchError::Io { addr, source };
        let mut len = [0u8; 4];
        self.rd.read_exact(&mut len).await.map_err(io)?;
        let mut body = vec![0u8; i32::from_be_bytes(len).max(0) as usize];
        self.rd.read_exact(&mut body).await.map_err(io)?;
        Ok(body)
    }

    async fn send(&mut self, xid: i32, req: &Request) -> Result<(), ZkBenchError> {
        let mut b = Vec::with_capacity(64);
        RequestHeader { xid, op: req.op() }.write(&mut b);
        req.encode_body(&mut b);
        self.write_frame(&b).await
    }

    /// The next reply header, skipping watch notifications.
    async fn recv(&mut self) -> Result<ReplyHeader, ZkBenchError> {
        loop {
            let body = self.read_frame().await?;
            let h = ReplyHeader::from_bytes(&body).map_err(|e| ZkBenchError::Protocol {
                addr: self.addr,
                detail: e.to_string(),
            })?;
            if h.xid != -1 {
                return Ok(h);
            }
        }
    }

    async fn call(&mut self, req: &Request) -> Result<i32, ZkBenchError> {
        self.send(1, req).await?;
        self.wr.flush().await.map_err(|source| ZkBenchError::Io {
            addr: self.addr,
            source,
        })?;
        Ok(self.recv().await?.err)
    }
}

fn node_path(prefix: &str, client: u32, i: u64) -> String {
    format!("{prefix}/c{client}/n{i:010}")
}

fn make_request(w: ZkWorkload, a: &ZkBenchArgs, client: u32, i: u64, data: &[u8]) -> Request {
    let path = node_path(&a.prefix, client, i);
    let set = |path| {
        Request::SetData(SetDataRequest {
            path,
            data: Some(data.to_vec()),
            version: -1,
        })
    };
    let get = |path| Request::GetData(PathWatchRequest { path, watch: false });
    match w {
        ZkWorkload::Create => Request::Create {
            op: op::CREATE,
            req: CreateRequest {
                path,
                data: Some(data.to_vec()),
                acl: Acl::open_unsafe().into(),
                flags: 0,
            },
        },
        ZkWorkload::Set => set(path),
        ZkWorkload::Get => get(path),
        ZkWorkload::Mixed if i.is_multiple_of(10) => set(path),
        ZkWorkload::Mixed => get(path),
        ZkWorkload::Delete => Request::Delete(PathVersionRequest { path, version: -1 }),
    }
}

fn op_name(w: ZkWorkload) -> &'static str {
    match w {
        ZkWorkload::Create => "create",
        ZkWorkload::Set => "setData",
        ZkWorkload::Get => "getData",
        ZkWorkload::Mixed => "getData/setData",
        ZkWorkload::Delete => "delete",
    }
}

/// One client's share: requests `0..n` on its own subtree, pipelined. Returns latencies
/// in microseconds.
async fn run_client(a: ZkBenchArgs, client: u32, n: u64) -> Result<Vec<u32>, ZkBenchError> {
    let mut c = Client::connect(a.connect).await?;
    let data = vec![b'x'; a.value_size];
    if a.workload == ZkWorkload::Create {
        let parent = format!("{}/c{client}", a.prefix);
        let req = Request::Create {
            op: op::CREATE,
            req: CreateRequest {
                path: parent,
                data: None,
                acl: Acl::open_unsafe().into(),
                flags: 0,
            },
        };
        let code = c.call(&req).await?;
        if code != 0 && code != -110 {
            return Err(ZkBenchError::Failed {
                addr: a.connect,
                op: "create",
                code,
            });
        }
    }
    let mut lat = Vec::with_capacity(n as usize);
    let mut inflight: VecDeque<Instant> = VecDeque::with_capacity(a.pipeline);
    let (mut sent, mut done) = (0u64, 0u64);
    while done < n {
        while sent < n && inflight.len() < a.pipeline.max(1) {
            let req = make_request(a.workload, &a, client, sent, &data);
            c.send((sent % i32::MAX as u64) as i32 + 2, &req).await?;
            inflight.push_back(Instant::now());
            sent += 1;
        }
        c.wr.flush().await.map_err(|source| ZkBenchError::Io {
            addr: a.connect,
            source,
        })?;
        let h = c.recv().await?;
        if h.err != 0 {
            return Err(ZkBenchError::Failed {
                addr: a.connect,
                op: op_name(a.workload),
                code: h.err,
            });
        }
        if let Some(t) = inflight.pop_front() {
            lat.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        }
        done += 1;
    }
    Ok(lat)
}

/// The figures of one run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ZkBenchReport {
    /// The server's address.
    pub server: String,
    /// The workload's name.
    pub workload: String,
    /// Requests answered.
    pub ops: u64,
    /// Client connections.
    pub clients: u32,
    /// Requests in flight per connection.
    pub pipeline: usize,
    /// Data bytes per write.
    pub value_size: usize,
    /// Wall-clock time of the run.
    pub seconds: f64,
    /// Requests answered per second.
    pub ops_per_s: f64,
    /// Median request latency, send to reply.
    pub p50_us: u32,
    /// 99th percentile latency.
    pub p99_us: u32,
    /// 99.9th percentile latency.
    pub p999_us: u32,
    /// The server's resident set after the run, if `--server-pid` was given.
    pub server_rss_mib: Option<f64>,
    /// The server's peak resident set, if `--server-pid` was given.
    pub server_peak_rss_mib: Option<f64>,
}

/// `VmRSS` and `VmHWM` of a process, in MiB.
pub fn rss_mib(pid: u32) -> Option<(f64, f64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs the benchmark.
///
/// # Errors
/// [`ZkBenchError`] when a connection fails or a request gets an error.
pub async fn run(a: &ZkBenchArgs) -> Result<ZkBenchReport, ZkBenchError> {
    if a.workload == ZkWorkload::Create {
        let mut c = Client::connect(a.connect).await?;
        let req = Request::Create {
            op: op::CREATE,
            req: CreateRequest {
                path: a.prefix.clone(),
                data: None,
                acl: Acl::open_unsafe().into(),
                flags: 0,
            },
        };
        c.call(&req).await?;
    }
    let clients = a.clients.max(1);
    let per = a.ops / u64::from(clients);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..clients {
        let n = per + u64::from(u64::from(i) < a.ops % u64::from(clients));
        tasks.push(tokio::spawn(run_client(a.clone(), i, n)));
    }
    let mut lat = Vec::with_capacity(a.ops as usize);
    for t in tasks {
        match t.await {
            Ok(r) => lat.extend(r?),
            Err(e) => {
                return Err(ZkBenchError::Protocol {
                    addr: a.connect,
                    detail: format!("client task failed: {e}"),
                })
            }
        }
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    lat.sort_unstable();
    // Let the server settle (flushes, compactions) before reading its memory.
    let rss = a.server_pid.and_then(|p| {
        std::thread::sleep(Duration::from_millis(500));
        rss_mib(p)
    });
    Ok(ZkBenchReport {
        server: a.connect.to_string(),
        workload: format!("{:?}", a.workload).to_lowercase(),
        ops: lat.len() as u64,
        clients,
        pipeline: a.pipeline,
        value_size: a.value_size,
        seconds: secs,
        ops_per_s: lat.len() as f64 / secs,
        p50_us: percentile(&lat, 0.50),
        p99_us: percentile(&lat, 0.99),
        p999_us: percentile(&lat, 0.999),
        server_rss_mib: rss.map(|r| r.0),
        server_peak_rss_mib: rss.map(|r| r.1),
    })
}

/// Prints a report as text or JSON.
pub fn print(r: &ZkBenchReport, json: bool) {
    if json {
        println!("{}", serde_json::to_string(r).unwrap_or_default());
        return;
    }
    println!(
        "{} {} x{} ({} clients, pipeline {}, {} B): {:.0} ops/s, p50 {} us, p99 {} us, p99.9 {} us",
        r.server,
        r.workload,
        r.ops,
        r.clients,
        r.pipeline,
        r.value_size,
        r.ops_per_s,
        r.p50_us,
        r.p99_us,
        r.p999_us
    );
    if let (Some(rss), Some(peak)) = (r.server_rss_mib, r.server_peak_rss_mib) {
        println!("server RSS {rss:.1} MiB (peak {peak:.1} MiB)");
    }
}
