//! Every member of a three-member ensemble is killed with SIGKILL under a stream of
//! sequential creates, and the leader is started again first. openraft restores it, from
//! its own committed vote, as the leader of the same term, with no new blank entry; its
//! engine lost the txns applied since the last snapshot (which flushes it), and its log
//! holds them, to be applied again once a follower answers. A write it took before
//! applying all of them would be decided against a state that misses them: a
//! sequential create would be given a sequence number already taken (and under
//! `warren.verifyApply` the leader stops, its decision differing from the apply
//! function's).
//!
//! The write comes from a session the leader's engine held before the kill, resumed with
//! no zxid seen, so that it reaches the leader's writer at once.

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::ensemble::Ensemble;
use common::*;
use warren_proto::consts::op;
use warren_proto::{Acl, ConnectRequest, CreateRequest, CreateResponse, Jute, Reader, Request};

const WRITERS: usize = 8;
const ACKED_BEFORE_KILL: usize = 3000;

fn create_sequential(path: &str) -> Request {
    Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: path.into(),
            data: Some(b"x".to_vec()),
            acl: Acl::open_unsafe().into(),
            flags: 2,
        },
    }
}

/// Resumes session `id` on `addr` with no zxid seen; `None` while the server refuses.
fn resume(addr: &str, id: i64, passwd: &[u8]) -> Option<Raw> {
    TcpStream::connect(addr).ok()?;
    Raw::connect_req(
        addr,
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: 30_000,
            session_id: id,
            passwd: passwd.to_vec(),
            read_only: Some(false),
        },
    )
    .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_restarted_in_its_own_term_applies_its_log_before_deciding() {
    let mut e =
        tokio::task::block_in_place(|| Ensemble::start_with(3, &|_| "snapCount=50\n".into()));
    let leader = e.wait_leader(Duration::from_secs(10));
    let addr = e.members[leader].addr();
    // The session of the write after the restart; the snapshots taken under the load
    // make it durable in the leader's engine.
    let (id, passwd) = {
        let r = tokio::task::block_in_place(|| Raw::connect(&addr, 30_000));
        (r.session_id, r.passwd.clone())
    };
    let c = zk(&addr).await;
    tm(c.create("/seq", b"", &persistent())).await.unwrap();
    let (acked, _) = e
        .sequential_load_then_kill_all(&addr, WRITERS, b"x", ACKED_BEFORE_KILL)
        .await;
    drop(c);

    // The leader first, so that it leads again before a follower could elect another.
    let created = tokio::task::block_in_place(|| {
        e.members[leader].spawn_without_waiting();
        let end = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < end, "the leader did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
        for (i, m) in e.members.iter_mut().enumerate() {
            if i != leader {
                m.spawn_without_waiting();
            }
        }
        loop {
            assert!(
                Instant::now() < end && e.members[leader].is_running(),
                "the write after the restart got no answer; the leader's log:\n{}",
                e.members[leader].log()
            );
            let Some(mut r) = resume(&addr, id, &passwd) else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            match r.call(&create_sequential("/seq/n-")) {
                Ok((hdr, body)) if hdr.err == 0 => {
                    break CreateResponse::read(&mut Reader::new(&body)).unwrap().path;
                }
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    let name = created.strip_prefix("/seq/").unwrap().to_owned();
    assert!(
        !acked.contains(&name),
        "the restarted leader gave {created} again: it decided before applying its log"
    );
    for (addr, children) in e.settled_children(&acked).await {
        assert!(children.contains(&name), "{addr}: {created} is missing");
    }
    tokio::task::block_in_place(|| {
        for m in &mut e.members {
            assert!(m.is_running(), "a member stopped; its log:\n{}", m.log());
        }
    });
}
