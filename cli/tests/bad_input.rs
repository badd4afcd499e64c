//! Malformed traffic closes only the offending connection while other clients keep being
//! served; invalid requests get the reference's error codes.

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;
use warren_proto::consts::op;
use warren_proto::{
    Acl, CreateRequest, Id, Jute, PathVersionRequest, PathWatchRequest, Request, RequestHeader,
    SetDataRequest,
};

fn exists(path: &str) -> Request {
    Request::Exists(PathWatchRequest {
        path: path.into(),
        watch: false,
    })
}

fn create(path: &str, flags: i32, acl: Vec<Acl>) -> Request {
    Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: path.into(),
            data: Some(vec![]),
            acl: acl.into(),
            flags,
        },
    }
}

/// Runs `abuse` on its own connection and checks that the server closes that connection
/// while a concurrent, healthy session keeps getting answers.
fn only_that_connection_closes(w: &Warren, abuse: impl FnOnce(&mut std::net::TcpStream)) {
    let mut good = Raw::connect(&w.addr(), 30_000);
    assert_eq!(good.err(&exists("/")), 0);
    let mut bad = Raw::tcp(&w.addr());
    abuse(&mut bad);
    assert!(
        closes_within(&mut bad, Duration::from_secs(5)),
        "the offending connection was not closed"
    );
    assert_eq!(good.err(&exists("/")), 0, "healthy client no longer served");
    let mut fresh = Raw::connect(&w.addr(), 30_000);
    assert_eq!(fresh.err(&exists("/")), 0, "new clients no longer served");
}

fn handshake(s: &mut std::net::TcpStream) {
    let req = warren_proto::ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 10_000,
        session_id: 0,
        passwd: vec![0; 16],
        read_only: Some(false),
    };
    s.write_all(&frame(&req.to_bytes())).unwrap();
    read_frame(s).expect("connect response");
}

#[test]
fn oversize_frame_length() {
    let w = Warren::start();
    only_that_connection_closes(&w, |s| {
        handshake(s);
        s.write_all(&(0x10_0000i32 + 1).to_be_bytes()).unwrap();
        let _ = s.write_all(&[0u8; 64]);
    });
    only_that_connection_closes(&w, |s| {
        // before the handshake, too
        s.write_all(&i32::MAX.to_be_bytes()).unwrap();
    });
}

#[test]
fn negative_frame_length() {
    let w = Warren::start();
    only_that_connection_closes(&w, |s| {
        handshake(s);
        s.write_all(&(-5i32).to_be_bytes()).unwrap();
    });
    only_that_connection_closes(&w, |s| {
        s.write_all(&(-1i32).to_be_bytes()).unwrap();
    });
}

#[test]
fn garbage_after_handshake() {
    let w = Warren::start();
    only_that_connection_closes(&w, |s| {
        handshake(s);
        // A well-framed body that is not a request: an unknown opcode and junk.
        let mut b = RequestHeader { xid: 1, op: 9999 }.to_bytes();
        b.extend_from_slice(b"\xde\xad\xbe\xef");
        s.write_all(&frame(&b)).unwrap();
    });
    only_that_connection_closes(&w, |s| {
        handshake(s);
        // A create whose path length runs past the frame.
        let mut b = RequestHeader {
            xid: 1,
            op: op::CREATE,
        }
        .to_bytes();
        b.extend_from_slice(&1000i32.to_be_bytes());
        b.extend_from_slice(b"/x");
        s.write_all(&frame(&b)).unwrap();
    });
}

#[test]
fn truncated_frame_then_hangup() {
    let w = Warren::start();
    only_that_connection_closes(&w, |s| {
        handshake(s);
        s.write_all(&100i32.to_be_bytes()).unwrap();
        s.write_all(&[1, 2, 3]).unwrap();
        let _ = s.shutdown(std::net::Shutdown::Write);
    });
    // And a truncated ConnectRequest.
    only_that_connection_closes(&w, |s| {
        s.write_all(&8i32.to_be_bytes()).unwrap();
        s.write_all(&[0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    });
}

#[test]
fn invalid_paths_get_the_references_codes() {
    let w = Warren::start();
    let open = Acl::open_unsafe();
    // The reference's answers (see differential.rs): create validates the path, and a
    // malformed path whose parent cannot exist is NONODE rather than BADARGUMENTS.
    let cases: [(&str, i32, i32); 10] = [
        // path, create, delete
        ("a", -8, -8),
        ("", -8, -8),
        ("/", -110, -8),
        ("//a", -8, -101),
        ("/a\u{1}", -8, -101),
        ("/\u{7f}x", -8, -101),
        ("/a/", -101, -101),
        ("/a//b", -101, -101),
        ("/./a", -101, -101),
        ("/a/..", -101, -101),
    ];
    let mut wrong = Vec::new();
    for (p, c, d) in cases {
        let del = Request::Delete(PathVersionRequest {
            path: p.into(),
            version: -1,
        });
        for (what, req, want) in [
            ("create", create(p, 0, open.clone()), c),
            ("delete", del, d),
        ] {
            let mut fresh = Raw::connect(&w.addr(), 30_000);
            match fresh.call(&req) {
                Ok((h, _)) if h.err == want => {}
                Ok((h, _)) => wrong.push(format!("{what}({p:?}) = {} want {want}", h.err)),
                Err(e) => wrong.push(format!(
                    "{what}({p:?}): connection failed ({e}) want {want}"
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn bad_versions_flags_ephemeral_parents_and_acls() {
    let w = Warren::start();
    let mut r = Raw::connect(&w.addr(), 30_000);
    let open = Acl::open_unsafe();
    assert_eq!(
        r.err(&create("/", 0, open.clone())),
        -110,
        "create / is NODEEXISTS"
    );
    assert_eq!(r.err(&create("/p", 0, open.clone())), 0);
    assert_eq!(
        r.err(&create("/p", 42, open.clone())),
        -8,
        "bad create flag"
    );
    let setv = Request::SetData(SetDataRequest {
        path: "/p".into(),
        data: Some(vec![]),
        version: 3,
    });
    assert_eq!(r.err(&setv), -103);
    let delv = Request::Delete(PathVersionRequest {
        path: "/p".into(),
        version: 3,
    });
    assert_eq!(r.err(&delv), -103);
    assert_eq!(r.err(&create("/eph", 1, open.clone())), 0);
    assert_eq!(r.err(&create("/eph/kid", 0, open.clone())), -108);
    assert_eq!(r.err(&create("/eph/kid", 2, open.clone())), -108);
    assert_eq!(r.err(&create("/noacl", 0, vec![])), -114, "empty ACL");
    let bogus = vec![Acl {
        perms: 31,
        id: Id {
            scheme: "nope".into(),
            id: "x".into(),
        },
    }];
    assert_eq!(r.err(&create("/badacl", 0, bogus)), -114);
    let oversize = Request::SetData(SetDataRequest {
        path: "/p".into(),
        data: Some(vec![7u8; 1_100_000]),
        version: -1,
    });
    // Over jute.maxbuffer as a frame: the connection is closed; nothing is stored.
    let mut body = Vec::new();
    oversize.encode_body(&mut body);
    let mut b = RequestHeader {
        xid: 99,
        op: op::SET_DATA,
    }
    .to_bytes();
    b.extend_from_slice(&body);
    // The server may close as soon as it has read the length, while the body is still
    // being sent: a broken pipe here is the refusal too.
    let _ = r.send_raw(&frame(&b));
    assert!(closes_within(&mut r.stream, Duration::from_secs(5)));
    let mut r2 = Raw::connect(&w.addr(), 30_000);
    let (h, body) = r2
        .call(&Request::GetData(PathWatchRequest {
            path: "/p".into(),
            watch: false,
        }))
        .unwrap();
    assert_eq!(h.err, 0);
    assert_eq!(&body[..4], &0i32.to_be_bytes(), "data unchanged (empty)");
}
