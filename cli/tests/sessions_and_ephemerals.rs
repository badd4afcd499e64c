//! Sessions: timeout negotiation, resuming a session on a new connection, wrong passwords,
//! expiry and closeSession removing ephemerals.

mod common;

use std::time::{Duration, Instant};

use common::*;
use warren_proto::consts::op;
use warren_proto::{
    Acl, ConnectRequest, CreateRequest, Jute, PathRequest, PathWatchRequest, Request,
};

fn create_eph(path: &str) -> Request {
    Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: path.into(),
            data: Some(b"e".to_vec()),
            acl: Acl::open_unsafe().into(),
            flags: 1,
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
    Raw::connect_req(
        addr,
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: 10_000,
            session_id: id,
            passwd,
            read_only: Some(false),
        },
    )
}

#[test]
fn timeout_is_clamped_to_min_and_max() {
    let w = Warren::start();
    // tickTime 2000: min 4000, max 40000.
    assert_eq!(Raw::connect(&w.addr(), 1000).timeout, 4000);
    assert_eq!(Raw::connect(&w.addr(), 10_000).timeout, 10_000);
    assert_eq!(Raw::connect(&w.addr(), 1_000_000).timeout, 40_000);
    let w2 = Warren::start_with("minSessionTimeout=6000\nmaxSessionTimeout=8000");
    assert_eq!(Raw::connect(&w2.addr(), 1000).timeout, 6000);
    assert_eq!(Raw::connect(&w2.addr(), 7000).timeout, 7000);
    assert_eq!(Raw::connect(&w2.addr(), 9000).timeout, 8000);
}

#[test]
fn session_resumes_on_a_new_connection_and_keeps_ephemerals() {
    let w = Warren::start();
    let mut a = Raw::connect(&w.addr(), 10_000);
    assert_eq!(a.err(&create_eph("/eph")), 0);
    let (id, pw) = (a.session_id, a.passwd.clone());
    drop(a); // connection lost, not closed
    std::thread::sleep(Duration::from_millis(300));
    let mut b = resume(&w.addr(), id, pw).expect("session resumes");
    assert_eq!(b.session_id, id);
    let (h, body) = b.call(&exists("/eph")).unwrap();
    assert_eq!(h.err, 0);
    let st = warren_proto::Stat::from_bytes(&body).unwrap();
    assert_eq!(st.ephemeral_owner, id);
    // Still there well after the original connection died.
    std::thread::sleep(Duration::from_millis(1500));
    let mut other = Raw::connect(&w.addr(), 10_000);
    assert_eq!(other.err(&exists("/eph")), 0);
}

#[test]
fn wrong_password_is_refused() {
    let w = Warren::start();
    let a = Raw::connect(&w.addr(), 10_000);
    let mut bad = a.passwd.clone();
    bad[0] ^= 0xff;
    let refused = resume(&w.addr(), a.session_id, bad).err().expect("refused");
    assert_eq!(refused.session_id, 0);
    assert_eq!(refused.time_out, 0);
    // The real session is unaffected.
    let mut a = a;
    assert_eq!(a.err(&exists("/")), 0);
}

#[test]
fn unknown_session_is_refused() {
    let w = Warren::start();
    let refused = resume(&w.addr(), 0x1234_5678_9abc, vec![0; 16])
        .err()
        .expect("refused");
    assert_eq!((refused.session_id, refused.time_out), (0, 0));
}

#[test]
fn expiry_deletes_ephemerals() {
    let w = Warren::start();
    let mut a = Raw::connect(&w.addr(), 4000);
    assert_eq!(a.timeout, 4000);
    assert_eq!(a.err(&create_eph("/gone")), 0);
    let (id, pw) = (a.session_id, a.passwd.clone());
    let t0 = Instant::now();
    drop(a);
    let mut o = Raw::connect(&w.addr(), 30_000);
    loop {
        if o.err(&exists("/gone")) == -101 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(14),
            "ephemeral of an expired session still present after {:?}",
            t0.elapsed()
        );
        std::thread::sleep(Duration::from_millis(200));
        // keep our own session alive
        let _ = o.call_bytes(op::PING, &[]);
    }
    assert!(
        t0.elapsed() >= Duration::from_millis(3000),
        "session expired too early: {:?}",
        t0.elapsed()
    );
    assert!(
        resume(&w.addr(), id, pw).is_err(),
        "expired session resumed"
    );
}

#[test]
fn close_session_deletes_ephemerals_at_once() {
    let w = Warren::start();
    let mut a = Raw::connect(&w.addr(), 30_000);
    assert_eq!(a.err(&create_eph("/c1")), 0);
    assert_eq!(a.err(&create_eph("/c2")), 0);
    let (id, pw) = (a.session_id, a.passwd.clone());
    let (h, _) = a.call(&Request::CloseSession).unwrap();
    assert_eq!(h.err, 0);
    assert!(closes_within(&mut a.stream, Duration::from_secs(5)));
    let mut o = Raw::connect(&w.addr(), 30_000);
    assert_eq!(o.err(&exists("/c1")), -101);
    assert_eq!(o.err(&exists("/c2")), -101);
    let (h, body) = o
        .call(&Request::GetEphemerals(PathRequest { path: "/".into() }))
        .unwrap();
    assert_eq!(h.err, 0);
    assert_eq!(body, vec![0, 0, 0, 0]);
    assert!(resume(&w.addr(), id, pw).is_err(), "closed session resumed");
}

#[tokio::test]
async fn client_crate_session_close_removes_ephemerals() {
    let w = Warren::start();
    let c = zk(&w.addr()).await;
    tm(c.create("/z", b"", &ephemeral())).await.unwrap();
    let o = zk(&w.addr()).await;
    assert!(tm(o.check_stat("/z")).await.unwrap().is_some());
    drop(c); // the crate closes the session when the last handle goes
    let t0 = Instant::now();
    while tm(o.check_stat("/z")).await.unwrap().is_some() {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "ephemeral not removed on close"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
