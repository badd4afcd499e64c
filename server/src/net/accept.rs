//! The client ports: the plain one, with ZooKeeper's per-address limit
//! (`maxClientCnxns`), and the TLS one (`secureClientPort`), where a failed handshake
//! closes only that connection.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};

use super::serve_connection;
use crate::state::Shared;

/// Open connections per client address.
#[derive(Default)]
pub struct PerIp {
    counts: Mutex<HashMap<IpAddr, u32>>,
}

impl PerIp {
    /// Counts a new connection from `ip`; false when it would pass `max` (0: no limit).
    fn admit(&self, ip: IpAddr, max: u32) -> bool {
        let mut g = self.counts.lock();
        let n = g.entry(ip).or_insert(0);
        if max != 0 && *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    /// Counts a closed connection; an address with none left is forgotten, so the map
    /// holds only addresses that are connected now.
    fn release(&self, ip: IpAddr) {
        let mut g = self.counts.lock();
        if let Some(n) = g.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                g.remove(&ip);
            }
        }
    }

    /// How many addresses are tracked.
    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.counts.lock().len()
    }
}

/// Accepts one plain client, or waits a moment after a failed accept.
pub async fn accept_one(shared: &Arc<Shared>, listener: &TcpListener, per_ip: &Arc<PerIp>) {
    let (stream, peer) = match listener.accept().await {
        Ok(x) => x,
        Err(e) => {
            tracing::warn!("accept failed: {e}");
            tokio::time::sleep(Duration::from_millis(50)).await;
            return;
        }
    };
    let max = shared.config.max_client_cnxns;
    if !per_ip.admit(peer.ip(), max) {
        tracing::warn!(%peer, "too many connections from this address (maxClientCnxns={max})");
        return;
    }
    let s = shared.clone();
    let per_ip = per_ip.clone();
    tokio::spawn(async move {
        let _ = stream.set_nodelay(true);
        serve_connection(s, stream, peer, None).await;
        per_ip.release(peer.ip());
    });
}

/// Binds the secure client port when one is configured; problems disable only that port.
pub async fn start_tls(shared: &Arc<Shared>) {
    let Some(port) = shared.config.secure_client_port else {
        return;
    };
    let acceptor = match crate::tls::acceptor(&shared.config) {
        Ok(Some(a)) => a,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(
                "secure client port {port} disabled: {e}; the plain client port keeps serving"
            );
            return;
        }
    };
    let addr = SocketAddr::new(shared.config.client_port_address, port);
    match TcpListener::bind(addr).await {
        Ok(l) => {
            tracing::info!(%addr, "serving TLS clients");
            tokio::spawn(accept_tls(shared.clone(), l, acceptor));
        }
        Err(e) => tracing::error!(%addr, "secure client port disabled: cannot listen: {e}"),
    }
}

async fn accept_tls(
    shared: Arc<Shared>,
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("secure accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        tokio::spawn(serve_tls(shared.clone(), stream, peer, acceptor.clone()));
    }
}

async fn serve_tls(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
) {
    let _ = stream.set_nodelay(true);
    match acceptor.accept(stream).await {
        Ok(tls) => {
            let subject = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(crate::tls::x509_identity);
            serve_connection(shared, tls, peer, subject).await;
        }
        Err(e) => tracing::warn!(%peer, "TLS handshake failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_without_connections_are_forgotten() {
        let p = PerIp::default();
        for i in 0..1000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            assert!(p.admit(ip, 2));
            assert!(p.admit(ip, 2));
            assert!(!p.admit(ip, 2));
            p.release(ip);
            p.release(ip);
        }
        assert_eq!(p.addresses(), 0);
    }
}
