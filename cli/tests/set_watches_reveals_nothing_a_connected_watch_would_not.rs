//! setWatches (101) and setWatches2 (105), which a client sends on reconnecting to set
//! its watches again, tell it nothing that its watches would not have told it had it
//! stayed connected.
//!
//! A watch whose node changed since the client's last zxid fires at once. Since
//! CVE-2024-23944 a live event is withheld from a connection that may not READ the node
//! it names (a one-shot watch is spent all the same), so Warren withholds the at-once
//! event of setWatches by the same rule and does not set that watch again: a reconnect
//! learns exactly what staying connected would have. The reference (3.8 with the fix, and
//! ZooKeeper up to 3.9 today) does not check setWatches' own events, and sends them for
//! unreadable nodes too; the test pins both behaviours, and that they differ only there.

mod common;

use common::*;
use warren_proto::consts::{event, op, perms, xid};
use warren_proto::{
    Acl, AuthPacket, CreateRequest, Jute, PathVersionRequest, PathWatchRequest, Request,
    RequestHeader, SetDataRequest, SetWatches, SetWatches2,
};

const ALICE: &str = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="; // alice:secret

fn create(path: &str, acl: Vec<Acl>) -> Request {
    Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: path.into(),
            data: Some(b"d".to_vec()),
            acl: acl.into(),
            flags: 0,
        },
    }
}

fn set(path: &str) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(b"x".to_vec()),
        version: -1,
    })
}

fn alice_only() -> Vec<Acl> {
    vec![Acl::new(perms::ALL, "digest", ALICE)]
}

/// Sends a setWatches-style request with the xid clients use for it (−8) and waits for
/// its reply; events on the way are kept.
fn send_set_watches(r: &mut Raw, opcode: i32, body: &[u8]) {
    let mut b = RequestHeader {
        xid: xid::SET_WATCHES,
        op: opcode,
    }
    .to_bytes();
    b.extend_from_slice(body);
    r.send_raw(&frame(&b)).expect("send setWatches");
    loop {
        match r.recv().expect("setWatches reply") {
            Frame::Event { zxid, ev } => r.events.push((zxid, ev)),
            Frame::Reply { hdr, .. } if hdr.xid == xid::SET_WATCHES => {
                assert_eq!(hdr.err, 0, "setWatches error");
                return;
            }
            Frame::Reply { hdr, .. } => panic!("unexpected reply {hdr:?}"),
        }
    }
}

fn strings(v: &[&str]) -> warren_proto::JVec<String> {
    v.iter().map(|s| s.to_string()).collect::<Vec<_>>().into()
}

/// Runs the reconnect scenario on one server and returns what the unauthenticated
/// client was told: first by its setWatches, then by its setWatches2, then live.
fn scenario(addr: &str) -> [Vec<(i32, String)>; 3] {
    let mut alice = Raw::connect(addr, 30_000);
    let pkt = AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: b"alice:secret".to_vec(),
    };
    assert_eq!(
        alice.call_bytes(op::AUTH, &pkt.to_bytes()).unwrap().0.err,
        0
    );
    let world = Acl::open_unsafe;
    for req in [
        create("/sw", world()),
        create("/sw/hidden", alice_only()),
        create("/sw/open", world()),
        create("/sw/gone", world()),
        create("/sw/still", world()),
    ] {
        assert_eq!(alice.err(&req), 0, "{req:?}");
    }
    // The zxid the client last saw before it lost its connection.
    let (h, _) = alice
        .call(&Request::Exists(PathWatchRequest {
            path: "/sw".into(),
            watch: false,
        }))
        .unwrap();
    let seen_zxid = h.zxid;
    // While it was away:
    for req in [
        set("/sw/hidden"),
        set("/sw/open"),
        create("/sw/hidden/kid", alice_only()),
        create("/sw/open/kid", world()),
        create("/sw/new-hidden", alice_only()),
        create("/sw/new-open", world()),
        Request::Delete(PathVersionRequest {
            path: "/sw/gone".into(),
            version: -1,
        }),
    ] {
        assert_eq!(alice.err(&req), 0, "{req:?}");
    }

    let mut client = Raw::connect(addr, 30_000);
    let mut told = [Vec::new(), Vec::new(), Vec::new()];
    let body = SetWatches {
        relative_zxid: seen_zxid,
        data_watches: strings(&["/sw/hidden", "/sw/open", "/sw/gone", "/sw/still"]),
        exist_watches: strings(&["/sw/new-hidden", "/sw/new-open", "/sw/never"]),
        child_watches: strings(&["/sw/hidden", "/sw/open"]),
    }
    .to_bytes();
    send_set_watches(&mut client, op::SET_WATCHES, &body);
    told[0] = take(&mut client);
    let body = SetWatches2 {
        relative_zxid: seen_zxid,
        data_watches: strings(&["/sw/hidden/kid", "/sw/open/kid"]),
        exist_watches: strings(&[]),
        child_watches: strings(&[]),
        persistent_watches: strings(&[]),
        persistent_recursive_watches: strings(&["/sw"]),
    }
    .to_bytes();
    send_set_watches(&mut client, op::SET_WATCHES2, &body);
    told[1] = take(&mut client);

    // Live: the watches set again fire as watches do (and only readable ones speak).
    for req in [
        set("/sw/hidden"),
        set("/sw/still"),
        create("/sw/never", alice_only()),
        create("/sw/open/kid2", world()),
        create("/sw/hidden/kid2", alice_only()),
    ] {
        assert_eq!(alice.err(&req), 0, "{req:?}");
    }
    client
        .call(&Request::Exists(PathWatchRequest {
            path: "/".into(),
            watch: false,
        }))
        .unwrap();
    told[2] = take(&mut client);
    told
}

fn take(r: &mut Raw) -> Vec<(i32, String)> {
    std::mem::take(&mut r.events)
        .into_iter()
        .map(|(_, e)| (e.event_type, e.path))
        .collect()
}

fn ev(t: i32, p: &str) -> (i32, String) {
    (t, p.to_owned())
}

#[test]
fn set_watches_reveals_nothing_a_connected_watch_would_not() {
    let w = Warren::start();
    let told = scenario(&w.addr());
    assert_eq!(
        told[0],
        vec![
            ev(event::NODE_DATA_CHANGED, "/sw/open"),
            ev(event::NODE_DELETED, "/sw/gone"),
            ev(event::NODE_CREATED, "/sw/new-open"),
            ev(event::NODE_CHILDREN_CHANGED, "/sw/open"),
        ],
        "setWatches"
    );
    assert_eq!(
        told[1],
        vec![ev(event::NODE_DATA_CHANGED, "/sw/open/kid")],
        "setWatches2"
    );
    let live = vec![
        ev(event::NODE_DATA_CHANGED, "/sw/still"),
        ev(event::NODE_CREATED, "/sw/open/kid2"),
    ];
    assert_eq!(told[2], live, "live events after the reconnect");

    if refzk_available() {
        let (reference, _g) = shared_ref();
        let ref_told = scenario(&reference.addr());
        // The reference tells of the unreadable nodes in setWatches' own events.
        assert_eq!(
            ref_told[0],
            vec![
                ev(event::NODE_DATA_CHANGED, "/sw/hidden"),
                ev(event::NODE_DATA_CHANGED, "/sw/open"),
                ev(event::NODE_DELETED, "/sw/gone"),
                ev(event::NODE_CREATED, "/sw/new-hidden"),
                ev(event::NODE_CREATED, "/sw/new-open"),
                ev(event::NODE_CHILDREN_CHANGED, "/sw/hidden"),
                ev(event::NODE_CHILDREN_CHANGED, "/sw/open"),
            ],
            "the reference's setWatches"
        );
        assert_eq!(
            ref_told[1],
            vec![
                ev(event::NODE_DATA_CHANGED, "/sw/hidden/kid"),
                ev(event::NODE_DATA_CHANGED, "/sw/open/kid"),
            ],
            "the reference's setWatches2"
        );
        assert_eq!(ref_told[2], live, "the reference's live events");
        // Apart from those, the two agree.
        let hidden = |(_, p): &(i32, String)| p.contains("hidden");
        for (ours, theirs) in told.iter().zip(&ref_told) {
            let theirs: Vec<_> = theirs.iter().filter(|e| !hidden(e)).cloned().collect();
            assert_eq!(ours, &theirs);
        }
    }
}
