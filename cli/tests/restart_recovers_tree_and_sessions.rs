//! Data and live sessions survive a clean stop (SIGTERM) and a kill -9.

mod common;

use std::time::Duration;

use common::*;
use warren_proto::consts::op;
use warren_proto::{
    Acl, ConnectRequest, CreateRequest, GetDataResponse, Jute, PathWatchRequest, Request,
};

fn create(path: &str, data: &[u8], flags: i32) -> Request {
    Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: path.into(),
            data: Some(data.to_vec()),
            acl: Acl::open_unsafe().into(),
            flags,
        },
    }
}

fn get(r: &mut Raw, path: &str) -> Option<GetDataResponse> {
    let (h, body) = r
        .call(&Request::GetData(PathWatchRequest {
            path: path.into(),
            watch: false,
        }))
        .unwrap();
    (h.err == 0).then(|| GetDataResponse::from_bytes(&body).unwrap())
}

fn survives(kill: impl Fn(&mut Warren)) {
    let mut w = Warren::start();
    let mut a = Raw::connect(&w.addr(), 30_000);
    assert_eq!(a.err(&create("/keep", b"v", 0)), 0);
    for i in 0..50 {
        assert_eq!(a.err(&create(&format!("/keep/n{i}"), &[i as u8], 0)), 0);
    }
    assert_eq!(a.err(&create("/keep/seq-", b"", 2)), 0);
    assert_eq!(a.err(&create("/eph", b"e", 1)), 0);
    let before = get(&mut a, "/keep").unwrap();
    let (id, pw) = (a.session_id, a.passwd.clone());
    drop(a);
    kill(&mut w);
    w.restart();

    let mut b = Raw::connect_req(
        &w.addr(),
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: 30_000,
            session_id: id,
            passwd: pw,
            read_only: Some(false),
        },
    )
    .unwrap_or_else(|e| panic!("session did not survive the restart: {e:?}"));
    assert_eq!(b.session_id, id);
    let after = get(&mut b, "/keep").unwrap();
    assert_eq!(after.stat, before.stat);
    for i in 0..50 {
        let n = get(&mut b, &format!("/keep/n{i}")).expect("child survives");
        assert_eq!(n.data, Some(vec![i as u8]));
    }
    let eph = get(&mut b, "/eph").expect("ephemeral of a live session survives");
    assert_eq!(eph.stat.ephemeral_owner, id);
    // Sequence numbers continue from the recovered counter.
    let (h, body) = b.call(&create("/keep/seq-", b"", 2)).unwrap();
    assert_eq!(h.err, 0);
    assert_eq!(String::from_bytes(&body).unwrap(), "/keep/seq-0000000051");
    // New writes get zxids above everything recovered.
    let (h, _) = b.call(&create("/later", b"", 0)).unwrap();
    assert!(h.zxid > after.stat.pzxid);
}

#[test]
fn clean_stop_keeps_data_and_sessions() {
    survives(|w| {
        let st = w.stop();
        assert!(
            st.success(),
            "SIGTERM exit status {st:?}; log:\n{}",
            w.log()
        );
    });
}

#[test]
fn kill9_keeps_data_and_sessions() {
    survives(|w| w.kill9());
}

#[test]
fn sessions_that_die_while_down_still_expire_after_restart() {
    let mut w = Warren::start();
    let mut a = Raw::connect(&w.addr(), 4000);
    assert_eq!(a.err(&create("/short", b"", 1)), 0);
    drop(a);
    w.kill9();
    w.restart();
    let mut o = Raw::connect(&w.addr(), 30_000);
    let t0 = std::time::Instant::now();
    while get(&mut o, "/short").is_some() {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "ephemeral of a dead session never expired after restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
