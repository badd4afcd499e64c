//! The reply to setWatches carries the xid the client sent it with, as every reply but a
//! ping's does in ZooKeeper.
//!
//! Java's client sends setWatches under the reserved xid −8, so a server that always
//! answered −8 looked right to it. aiozk (the asyncio Python client) sends it under its
//! next ordinary xid and looks the reply up by that xid: Warren's −8 matched no request
//! of aiozk's, aiozk dropped the connection while it was still re-registering its
//! watches, and then waited for good for a state it could only reach by finishing that
//! re-registration. So a data watch set before the connection dropped never fired after
//! the reconnect, and the client hung. The test replays the bytes aiozk 0.32 sends when
//! it reconnects (captured through a proxy against Apache ZooKeeper 3.8): the connect
//! with its session and last zxid, then setWatches under xid 3 with relativeZxid 0
//! (aiozk forgets its last zxid on connecting, so every watched node that exists fires
//! at once), and checks Warren and the reference answer alike; then the same with a
//! client that remembers its zxid, whose watch must fire only when another client
//! changes the node.

mod common;

use std::net::Shutdown;

use common::*;
use warren_proto::consts::{event, op};
use warren_proto::{
    ConnectRequest, CreateRequest, Jute, PathWatchRequest, Request, RequestHeader, SetDataRequest,
    SetWatches,
};

/// What a client is told, in order: events by type and path, replies by xid and error.
#[derive(Debug, PartialEq, Eq)]
enum Told {
    Event(i32, String),
    Reply(i32, i32),
}

fn get_data(path: &str, watch: bool) -> Request {
    Request::GetData(PathWatchRequest {
        path: path.into(),
        watch,
    })
}

fn set(path: &str, data: &[u8]) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(data.to_vec()),
        version: -1,
    })
}

/// Drops the client's TCP connection (the session lives on in the server) and connects
/// again to the same session, as aiozk does: protocol 0, the last zxid it saw, its
/// session id and password.
fn reconnect(r: Raw, addr: &str, last_zxid_seen: i64) -> Raw {
    let _ = r.stream.shutdown(Shutdown::Both);
    let again = Raw::connect_req(
        addr,
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen,
            time_out: r.timeout,
            session_id: r.session_id,
            passwd: r.passwd.clone(),
            read_only: Some(false),
        },
    )
    .expect("the session survives a dropped connection");
    assert_eq!(again.session_id, r.session_id);
    again
}

/// Sends setWatches (opcode 101) for one data watch under `xid`, as aiozk frames it,
/// and collects what arrives up to and including a reply.
fn set_watches(r: &mut Raw, xid: i32, relative_zxid: i64, path: &str) -> Vec<Told> {
    let mut b = RequestHeader {
        xid,
        op: op::SET_WATCHES,
    }
    .to_bytes();
    let body = SetWatches {
        relative_zxid,
        data_watches: vec![path.to_owned()].into(),
        exist_watches: Vec::new().into(),
        child_watches: Vec::new().into(),
    };
    b.extend_from_slice(&body.to_bytes());
    r.send_raw(&frame(&b)).expect("send setWatches");
    let mut told = Vec::new();
    loop {
        match r.recv().expect("setWatches is answered") {
            Frame::Event { ev, .. } => told.push(Told::Event(ev.event_type, ev.path)),
            Frame::Reply { hdr, .. } => {
                told.push(Told::Reply(hdr.xid, hdr.err));
                return told;
            }
        }
    }
}

/// Runs both reconnects against the server at `addr`; returns what the reconnecting
/// client was told by each setWatches, and then by the other client's change.
fn scenario(addr: &str) -> [Vec<Told>; 3] {
    let path = "/reconnect-with-a-data-watch";
    let mut client = Raw::connect(addr, 10_000);
    let mut other = Raw::connect(addr, 10_000);
    let create = Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: path.into(),
            data: Some(b"v0".to_vec()),
            acl: warren_proto::Acl::open_unsafe().into(),
            flags: 0,
        },
    };
    assert_eq!(client.err(&create), 0);
    let (h, _) = client.call(&get_data(path, true)).expect("getData");
    assert_eq!(h.err, 0);

    // aiozk: relativeZxid 0, xid 3. The node changed "since zxid 0", so its watch fires
    // at once, before the reply.
    let mut client = reconnect(client, addr, h.zxid);
    let aiozk = set_watches(&mut client, 3, 0, path);

    // A client that remembers its zxid: nothing has changed, so nothing fires yet.
    let (h, _) = client.call(&get_data(path, false)).expect("getData");
    let mut client = reconnect(client, addr, h.zxid);
    let remembering = set_watches(&mut client, 7, h.zxid, path);
    assert_eq!(other.err(&set(path, b"v1")), 0);
    // The event, then the reply to a getData sent after the change, in that order.
    let x = client.send(op::GET_DATA, &{
        let mut b = Vec::new();
        get_data(path, false).encode_body(&mut b);
        b
    });
    let mut after = Vec::new();
    loop {
        match client.recv().expect("getData is answered") {
            Frame::Event { ev, .. } => after.push(Told::Event(ev.event_type, ev.path)),
            Frame::Reply { hdr, .. } => {
                assert_eq!(hdr.xid, x);
                after.push(Told::Reply(hdr.xid, hdr.err));
                break;
            }
        }
    }
    let _ = Raw::connect(addr, 10_000).err(&Request::Delete(warren_proto::PathVersionRequest {
        path: path.into(),
        version: -1,
    }));
    [aiozk, remembering, after]
}

fn expected(after_xid: i32) -> [Vec<Told>; 3] {
    let path = "/reconnect-with-a-data-watch".to_owned();
    [
        vec![
            Told::Event(event::NODE_DATA_CHANGED, path.clone()),
            Told::Reply(3, 0),
        ],
        vec![Told::Reply(7, 0)],
        vec![
            Told::Event(event::NODE_DATA_CHANGED, path),
            Told::Reply(after_xid, 0),
        ],
    ]
}

#[test]
fn set_watches_is_answered_under_the_xid_the_client_chose() {
    let w = Warren::start();
    let told = scenario(&w.addr());
    let after_xid = match told[2].last() {
        Some(Told::Reply(x, _)) => *x,
        _ => panic!("no reply after the change: {told:?}"),
    };
    assert_eq!(told, expected(after_xid), "Warren");

    if refzk_available() {
        let (reference, _g) = shared_ref();
        let ref_told = scenario(&reference.addr());
        assert_eq!(ref_told, told, "the reference answers alike");
    }
}
