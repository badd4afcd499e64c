//! A client whose server dies reconnects to another member with its session id and
//! password: the session is the same there (sessions are replicated txns, and every
//! member derives the same passwords), its ephemeral node stays, and it writes on. A
//! wrong password is refused on every member.

mod common;

use std::time::Duration;

use common::ensemble::Ensemble;
use common::*;
use warren_proto::consts::op;
use warren_proto::{Acl, ConnectRequest, CreateRequest, PathWatchRequest, Request};

fn create(path: &str, flags: i32) -> Request {
    Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: path.into(),
            data: Some(b"e".to_vec()),
            acl: Acl::open_unsafe().into(),
            flags,
        },
    }
}

fn exists(path: &str) -> Request {
    Request::Exists(PathWatchRequest {
        path: path.into(),
        watch: false,
    })
}

fn resume(addr: &str, id: i64, passwd: Vec<u8>) -> Result<Raw, warren_proto::ConnectResponse> {
    resume_seen(addr, id, passwd, 0)
}

/// Resumes as a real client does: with the last zxid it has seen. A member that has
/// not applied that far yet refuses (as ZooKeeper's do), and the client tries again.
fn resume_after(addr: &str, id: i64, passwd: Vec<u8>, seen: i64) -> Raw {
    let end = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match resume_seen(addr, id, passwd.clone(), seen) {
            Ok(r) => return r,
            Err(resp) => assert!(
                std::time::Instant::now() < end,
                "the session did not move to {addr}: {resp:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn resume_seen(
    addr: &str,
    id: i64,
    passwd: Vec<u8>,
    seen: i64,
) -> Result<Raw, warren_proto::ConnectResponse> {
    Raw::connect_req(
        addr,
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: seen,
            time_out: 10_000,
            session_id: id,
            passwd,
            read_only: Some(false),
        },
    )
}

#[test]
fn a_session_moves_to_another_member_and_keeps_its_ephemeral() {
    let mut e = Ensemble::start(3);
    let leader = e.wait_leader(Duration::from_secs(10));
    let first = e.other_than(leader);
    let second = (0..3).find(|&i| i != leader && i != first).unwrap();
    let mut r = Raw::connect(&e.members[first].addr(), 10_000);
    assert_eq!(r.err(&create("/mine", 1)), 0);
    let (id, passwd) = (r.session_id, r.passwd.clone());
    e.members[first].kill9();

    let mut wrong = passwd.clone();
    wrong[0] ^= 1;
    assert!(
        resume(&e.members[second].addr(), id, wrong).is_err(),
        "a wrong password was accepted"
    );
    let mut moved = resume(&e.members[second].addr(), id, passwd.clone())
        .unwrap_or_else(|resp| panic!("the session did not move: {resp:?}"));
    assert_eq!(moved.session_id, id);
    assert_eq!(
        moved.err(&exists("/mine")),
        0,
        "the ephemeral went with the old server"
    );
    let (hdr, _) = moved.call(&create("/after-move", 0)).unwrap();
    assert_eq!(hdr.err, 0);
    // And once more, to the leader, having seen the create's zxid.
    drop(moved);
    let mut again = resume_after(&e.members[leader].addr(), id, passwd, hdr.zxid);
    assert_eq!(again.err(&exists("/mine")), 0);
    assert_eq!(again.err(&exists("/after-move")), 0);
}

#[test]
fn a_write_through_the_connection_a_session_left_gets_session_moved() {
    let e = Ensemble::start(3);
    let leader = e.wait_leader(Duration::from_secs(10));
    let a = e.other_than(leader);
    let b = (0..3).find(|&i| i != leader && i != a).unwrap();
    let mut old = Raw::connect(&e.members[a].addr(), 10_000);
    let (hdr, _) = old.call(&create("/before", 0)).unwrap();
    assert_eq!(hdr.err, 0);
    // The client reconnects to b while its old connection to a is still open.
    let mut moved = resume_after(
        &e.members[b].addr(),
        old.session_id,
        old.passwd.clone(),
        hdr.zxid,
    );
    assert_eq!(moved.err(&create("/through-b", 0)), 0);
    let code = old.err(&create("/through-a", 0));
    assert_eq!(
        code, -118,
        "a write through the old connection must get SESSIONMOVED"
    );
    assert_eq!(
        moved.err(&exists("/through-a")),
        -101,
        "the refused write was applied"
    );
}
