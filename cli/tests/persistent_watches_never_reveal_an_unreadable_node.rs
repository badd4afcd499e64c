//! CVE-2024-23944: a watch never tells a connection about a node it may not READ.
//!
//! ZooKeeper 3.8.4/3.9.2 (and the reference here, Debian's 3.8.0 with the fix backported)
//! check the READ permission of the node an event names (for children-changed, of the
//! parent) against the watcher's identities when the event is delivered, for every kind
//! of watch: a persistent-recursive watch on `/` must not reveal the paths of nodes
//! created, changed and deleted under a digest-only ACL. The scenario runs over the raw
//! protocol on Warren and, when it is installed, on the reference, and both must tell
//! the watcher exactly the same events.

mod common;

use common::*;
use warren_proto::consts::{add_watch_mode, event, op, perms};
use warren_proto::{
    Acl, AddWatchRequest, AuthPacket, CreateRequest, Jute, PathRequest, PathVersionRequest,
    PathWatchRequest, Request, SetDataRequest,
};

/// `digest` id of alice:secret.
const ALICE: &str = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=";

fn auth(r: &mut Raw, cred: &str) {
    let pkt = AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: cred.as_bytes().to_vec(),
    };
    let (h, _) = r.call_bytes(op::AUTH, &pkt.to_bytes()).expect("auth reply");
    assert_eq!(h.err, 0, "auth {cred}");
}

fn alice_only() -> Vec<Acl> {
    vec![Acl::new(perms::ALL, "digest", ALICE)]
}

fn create_with(path: &str, acl: Vec<Acl>, flags: i32) -> Request {
    Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: path.into(),
            data: Some(b"d".to_vec()),
            acl: acl.into(),
            flags,
        },
    }
}

fn create(path: &str, acl: Vec<Acl>) -> Request {
    create_with(path, acl, 0)
}

fn set(path: &str) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(b"x".to_vec()),
        version: -1,
    })
}

fn delete(path: &str) -> Request {
    Request::Delete(PathVersionRequest {
        path: path.into(),
        version: -1,
    })
}

fn watched(path: &str) -> PathWatchRequest {
    PathWatchRequest {
        path: path.into(),
        watch: true,
    }
}

fn add_watch(path: &str, mode: i32) -> Request {
    Request::AddWatch(AddWatchRequest {
        path: path.into(),
        mode,
    })
}

/// A read on the watcher's own connection: every event of a txn applied before it
/// arrives before its reply.
fn flush(r: &mut Raw) {
    r.call(&Request::Exists(PathWatchRequest {
        path: "/".into(),
        watch: false,
    }))
    .expect("exists");
}

fn events(r: &Raw) -> Vec<(i32, String)> {
    r.events
        .iter()
        .map(|(_, e)| (e.event_type, e.path.clone()))
        .collect()
}

/// Runs the scenario on one server and returns what the unauthenticated watcher was told.
fn scenario(addr: &str) -> Vec<(i32, String)> {
    let mut watcher = Raw::connect(addr, 30_000);
    let mut alice = Raw::connect(addr, 30_000);
    auth(&mut alice, "alice:secret");
    let world = Acl::open_unsafe;
    // READ is the one permission the world lacks on /noread.
    let no_read = || vec![Acl::new(perms::ALL & !perms::READ, "world", "anyone")];

    assert_eq!(
        watcher.err(&add_watch("/", add_watch_mode::PERSISTENT_RECURSIVE)),
        0
    );
    assert_eq!(
        watcher.err(&add_watch("/pub", add_watch_mode::PERSISTENT)),
        0
    );
    // One-shot watches: exists on a missing node, and the root's children.
    assert_eq!(watcher.err(&Request::Exists(watched("/hidden"))), -101);
    assert_eq!(watcher.err(&Request::GetChildren(watched("/"))), 0);

    for req in [
        create("/hidden", alice_only()),
        create("/hidden/kid", alice_only()),
        // World-readable, under an unreadable parent: its own events are seen.
        create("/hidden/open", world()),
        set("/hidden"),
        set("/hidden/kid"),
        set("/hidden/open"),
        create("/noread", no_read()),
        set("/noread"),
        create("/pub", world()),
        Request::Multi(vec![
            create("/hidden/m", alice_only()),
            create("/pub/m", world()),
            set("/pub"),
        ]),
    ] {
        assert_eq!(alice.err(&req), 0, "{req:?}");
    }
    // An ephemeral removed by its session's close.
    let mut short = Raw::connect(addr, 30_000);
    auth(&mut short, "alice:secret");
    assert_eq!(
        short.err(&create_with("/hidden/eph", alice_only(), 1)),
        0,
        "ephemeral"
    );
    short
        .call(&Request::CloseSession)
        .expect("closeSession reply");
    for p in [
        "/hidden/m",
        "/hidden/kid",
        "/hidden/open",
        "/hidden",
        "/noread",
        "/pub/m",
        "/pub",
    ] {
        assert_eq!(alice.err(&delete(p)), 0, "delete {p}");
    }
    flush(&mut watcher);

    // Identities count when the event is delivered: once the watcher is alice, it is
    // told about her nodes.
    auth(&mut watcher, "alice:secret");
    assert_eq!(alice.err(&create("/hidden2", alice_only())), 0);
    assert_eq!(alice.err(&set("/hidden2")), 0);
    assert_eq!(alice.err(&delete("/hidden2")), 0);
    flush(&mut watcher);
    assert_eq!(
        watcher.err(&Request::Sync(PathRequest { path: "/".into() })),
        0
    );
    events(&watcher)
}

#[test]
fn persistent_watches_never_reveal_an_unreadable_node() {
    let w = Warren::start();
    let seen = scenario(&w.addr());
    let ev = |t: i32, p: &str| (t, p.to_owned());
    let expected = vec![
        // The root's children changed: the root is world-readable.
        ev(event::NODE_CHILDREN_CHANGED, "/"),
        ev(event::NODE_CREATED, "/hidden/open"),
        ev(event::NODE_DATA_CHANGED, "/hidden/open"),
        ev(event::NODE_CREATED, "/pub"),
        ev(event::NODE_CREATED, "/pub/m"),
        ev(event::NODE_CHILDREN_CHANGED, "/pub"),
        ev(event::NODE_DATA_CHANGED, "/pub"),
        ev(event::NODE_DELETED, "/hidden/open"),
        ev(event::NODE_DELETED, "/pub/m"),
        ev(event::NODE_CHILDREN_CHANGED, "/pub"),
        ev(event::NODE_DELETED, "/pub"),
        ev(event::NODE_CREATED, "/hidden2"),
        ev(event::NODE_DATA_CHANGED, "/hidden2"),
        ev(event::NODE_DELETED, "/hidden2"),
    ];
    assert_eq!(seen, expected, "what the watcher was told");
    let unreadable = [
        "/hidden",
        "/hidden/kid",
        "/hidden/m",
        "/hidden/eph",
        "/noread",
    ];
    for (_, p) in &seen[..11] {
        assert!(
            !unreadable.contains(&p.as_str()),
            "an event named the unreadable {p}"
        );
    }
    if refzk_available() {
        let (reference, _g) = shared_ref();
        assert_eq!(
            scenario(&reference.addr()),
            seen,
            "the reference told the watcher something else"
        );
    }
}
