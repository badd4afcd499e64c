//! One request whose txn is too large for a log record (possible with a large
//! `jute.maxbuffer`) must get an error of its own and leave the server healthy: later
//! writes succeed, the refused change is nowhere (not in the tree, not after a restart).

mod common;

use common::*;
use warren_proto::consts::op;
use warren_proto::{
    Acl, CreateRequest, GetDataResponse, Jute, PathWatchRequest, Request, SetDataRequest,
};

fn create(path: &str, data: &[u8]) -> Request {
    Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: path.to_owned(),
            data: Some(data.to_vec()),
            acl: Acl::open_unsafe().into(),
            flags: 0,
        },
    }
}

fn data_of(r: &mut Raw, path: &str) -> Vec<u8> {
    let (h, body) = r
        .call(&Request::GetData(PathWatchRequest {
            path: path.to_owned(),
            watch: false,
        }))
        .expect("getData");
    assert_eq!(h.err, 0, "getData {path}");
    GetDataResponse::from_bytes(&body)
        .unwrap()
        .data
        .unwrap_or_default()
}

#[test]
fn a_setdata_larger_than_a_log_record_fails_alone() {
    // A log record holds at most 128 MiB; allow frames a little larger.
    let mut w = Warren::start_with("jute.maxbuffer=150000000\n");
    let mut r = Raw::connect(&w.addr(), 60_000);
    assert_eq!(r.err(&create("/big", b"small")), 0);
    let huge = vec![b'z'; 130 << 20];
    let err = r.err(&Request::SetData(SetDataRequest {
        path: "/big".into(),
        data: Some(huge),
        version: -1,
    }));
    assert_ne!(err, 0, "a 130 MiB txn was acknowledged");
    // The server goes on: the same session writes, and the refused data is nowhere.
    assert_eq!(r.err(&create("/after", b"ok")), 0);
    assert_eq!(data_of(&mut r, "/big"), b"small");
    w.kill9();
    w.restart();
    let mut r = Raw::connect(&w.addr(), 60_000);
    assert_eq!(data_of(&mut r, "/big"), b"small");
    assert_eq!(data_of(&mut r, "/after"), b"ok");
}
