//! Starting a member: the data dir opened without replay, Raft started over its log,
//! then the same pipeline and client port as a standalone server.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use warren_replication::{Member, MemberConfig, Peer};

use super::service::PeerService;
use super::Ensemble;
use crate::config::Config;
use crate::ensemble_config::ServerLine;
use crate::log::raft::RaftLog;
use crate::server::{engine_options, wal_options, Server, StartError};
use crate::session::Sessions;
use crate::state::Shared;

/// Raft's timing, in milliseconds.
///
/// ZooKeeper's followers give up on a leader, and its leader on a follower, after
/// `syncLimit` ticks of silence (10 s with the usual tickTime=2000, syncLimit=5); that is
/// also how long its elections can take to notice a dead leader. Warren keeps those
/// limits for what they bound, and detects failure much faster:
/// - heartbeats every `warren.raftHeartbeatMs` (default 50 ms). openraft derives two
///   times from `election_min`/`election_max`: a voter honours the leader it last heard
///   for `election_max` (its lease: votes are refused meanwhile), and a follower that
///   hears nothing elects after the lease plus a random `election_min..election_max`,
///   11 to 12 heartbeats of silence. A leader whose process died is replaced as soon as
///   its lease runs out: its closed connections tell the followers at once (6
///   heartbeats after it was last heard);
/// - one exchange with a peer (appending entries, a vote) may take `syncLimit` ticks
///   before its connection is closed, so a member busy with a slow disk is waited for,
///   not cut off and sent the same entries again;
/// - installing a snapshot may take `initLimit` ticks (never less than one exchange).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timing {
    heartbeat: u64,
    election_min: u64,
    election_max: u64,
    rpc_timeout: u64,
    install_timeout: u64,
}

fn timing(config: &Config) -> Timing {
    let heartbeat = config.raft_heartbeat_ms;
    let tick = u64::from(config.tick_time);
    let sync = tick * u64::from(config.sync_limit);
    let rpc_timeout = sync.max(heartbeat * 8);
    Timing {
        heartbeat,
        election_min: heartbeat * 5,
        election_max: heartbeat * 6,
        rpc_timeout,
        install_timeout: (tick * u64::from(config.init_limit)).max(rpc_timeout),
    }
}

fn ensemble_error(s: String) -> StartError {
    StartError::Ensemble(s)
}

/// The quorum address this server listens on.
fn listen_addr(config: &Config, me: &ServerLine) -> Result<SocketAddr, StartError> {
    if config.quorum_listen_on_all_ips() {
        return Ok(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            me.quorum_port,
        ));
    }
    (me.host.as_str(), me.quorum_port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| ensemble_error(format!("server.{}: cannot resolve {}", me.id, me.host)))
}

/// The secret session passwords derive from: the same on every member, so a session
/// moves between servers with its password. It depends on the server ids and ports only,
/// not on the host names, which members may spell differently (`0.0.0.0` for their own
/// line). ZooKeeper derives its passwords from a constant; this is no more secret than
/// the config, which is why the digest of a session's password is never shown.
fn ensemble_secret(lines: &BTreeMap<u64, ServerLine>) -> [u8; 16] {
    let text: String = lines
        .values()
        .map(|l| format!("{}:{}:{};", l.id, l.quorum_port, l.election_port))
        .collect();
    xxhash_rust::xxh3::xxh3_128(text.as_bytes()).to_be_bytes()
}

/// Applies `server.<myid>`'s `;[clientAddr:]clientPort` to the client port.
fn client_port_from_line(config: &mut Config, me: &ServerLine) -> Result<(), StartError> {
    if let Some((addr, port)) = &me.client {
        config.client_port = *port;
        if let Some(addr) = addr {
            config.client_port_address = addr.parse().map_err(|_| {
                ensemble_error(format!("server.{}: {addr:?} is not an IP address", me.id))
            })?;
        }
    }
    Ok(())
}

/// Starts this server as a member of the ensemble its config describes.
///
/// # Errors
/// [`StartError`] for a missing or unlisted `myid`, or what could not be opened or bound.
pub async fn start_member(mut config: Config) -> Result<Server, StartError> {
    let dd = config.data_dir_layout();
    let lines = config.server_lines()?;
    let myid = dd.myid()?.ok_or_else(|| {
        ensemble_error(format!(
            "this config describes an ensemble ({} servers), but {} does not exist: write \
             this server's id (its server.N number) into it, as for ZooKeeper",
            lines.len(),
            dd.myid_path().display()
        ))
    })?;
    let me = lines.get(&u64::from(myid)).cloned().ok_or_else(|| {
        ensemble_error(format!(
            "myid is {myid}, but the config has no server.{myid} line (it lists {})",
            lines
                .keys()
                .map(|k| format!("server.{k}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    client_port_from_line(&mut config, &me)?;
    let opened = dd.open_for_member(engine_options(&config), wal_options(&config))?;
    let timing = timing(&config);
    let member_config = MemberConfig {
        id: me.id,
        peers: lines
            .values()
            .map(|l| Peer {
                id: l.id,
                addr: l.quorum_addr(),
                voter: !l.observer,
            })
            .collect(),
        listen: listen_addr(&config, &me)?,
        heartbeat_ms: timing.heartbeat,
        election_timeout_min_ms: timing.election_min,
        election_timeout_max_ms: timing.election_max,
        rpc_timeout_ms: timing.rpc_timeout,
        install_timeout_ms: timing.install_timeout,
        snapshot_every: config.snap_count,
        logs_to_keep: config.snap_count,
    };
    let service = PeerService::default();
    let raft_dir = dd.data_dir.join("raft");
    let resumed = warren_replication::snapshot::resume(&raft_dir, &opened.engine)?;
    let last_zxid = resumed.unwrap_or(0).max(opened.last_zxid as i64);
    let (member, feed): (Arc<Member>, _) = Member::start(
        member_config,
        opened.wal,
        opened.engine.clone(),
        &raft_dir,
        last_zxid,
        Arc::new(service.clone()),
    )
    .await?;
    let runtime = tokio::runtime::Handle::current();
    let ensemble = Ensemble::start(member.clone(), service.clone());
    let log = Box::new(RaftLog::new(member, feed, runtime));
    let sessions = Sessions::new(ensemble_secret(&lines), myid);
    sessions.recover(&opened.engine)?;
    let shared = Arc::new(Shared::new(
        config,
        opened.engine,
        log,
        sessions,
        last_zxid,
        Some(ensemble),
    ));
    let _ = service.shared.set(shared.clone());
    Server::serve(shared, opened.lock).await
}

#[cfg(test)]
mod tests {
    use super::{timing, Timing};
    use crate::config::Config;

    #[test]
    fn an_exchange_may_take_sync_limit_ticks_and_elections_follow_the_heartbeat(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let c = Config::parse("tickTime=2000\nsyncLimit=5\ninitLimit=10\ndataDir=/tmp/x\n")?;
        assert_eq!(
            timing(&c),
            Timing {
                heartbeat: 50,
                election_min: 250,
                election_max: 300,
                rpc_timeout: 10_000,
                install_timeout: 20_000,
            }
        );
        let c = Config::parse(
            "tickTime=20\nsyncLimit=2\nwarren.raftHeartbeatMs=100\ndataDir=/tmp/x\n",
        )?;
        let t = timing(&c);
        assert_eq!((t.heartbeat, t.election_max), (100, 600));
        assert_eq!(t.rpc_timeout, 800, "never shorter than an election timeout");
        Ok(())
    }
}
