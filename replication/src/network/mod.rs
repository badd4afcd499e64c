//! Peer connections on the quorum port (`server.N=host:quorumPort:electionPort`).
//!
//! One listener takes every peer connection; the hello says whether it carries Raft's
//! RPCs ([`raft_client`]) or the server's own requests to another member, such as a
//! write a follower forwards to the leader ([`app`]).

pub mod app;
pub mod frame;
pub mod listener;
pub mod raft_client;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::net::TcpStream;

use frame::{Channel, Hello, MAGIC, VERSION};

/// The server's handler for application requests from peers.
pub trait AppService: Send + Sync + 'static {
    /// Answers one request from member `from`. It is called in the order the requests
    /// arrived on a connection: whatever must happen in that order (a forwarded write
    /// entering the pipeline) happens in the call itself, before the future is returned.
    fn call(&self, from: u64, body: Vec<u8>) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send>>;
}

/// Opens a connection to `addr` and says hello.
///
/// # Errors
/// Connect and write failures.
pub async fn connect(addr: &str, from: u64, channel: Channel) -> std::io::Result<TcpStream> {
    let mut s = tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr))
        .await
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("connecting to {addr}"),
            )
        })??;
    s.set_nodelay(true)?;
    let hello = Hello {
        magic: MAGIC,
        version: VERSION,
        from,
        channel,
    };
    frame::write(&mut s, &hello).await?;
    Ok(s)
}
