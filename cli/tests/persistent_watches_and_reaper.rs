//! ZooKeeper 3.6+ features: persistent and persistent-recursive watches (addWatch,
//! removeWatches, checkWatches with NOWATCHER), compared with the reference server; and
//! the container and TTL reaper, whose deletes are logged as deleteContainer txns.

mod common;

use std::time::{Duration, Instant};

use common::*;
use warren_proto::consts::{add_watch_mode, event, op, watcher_type};
use warren_proto::{
    Acl, AddWatchRequest, CreateRequest, CreateTtlRequest, PathRequest, PathVersionRequest,
    PathWatchRequest, Request, SetDataRequest, WatchesRequest,
};

fn create(path: &str, flags: i32) -> Request {
    Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: path.into(),
            data: Some(b"d".to_vec()),
            acl: Acl::open_unsafe().into(),
            flags,
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

fn delete(path: &str) -> Request {
    Request::Delete(PathVersionRequest {
        path: path.into(),
        version: -1,
    })
}

fn add_watch(path: &str, mode: i32) -> Request {
    Request::AddWatch(AddWatchRequest {
        path: path.into(),
        mode,
    })
}

fn watches(remove: bool, path: &str, watcher_type: i32) -> Request {
    let r = WatchesRequest {
        path: path.into(),
        watcher_type,
    };
    if remove {
        Request::RemoveWatches(r)
    } else {
        Request::CheckWatches(r)
    }
}

/// Runs the persistent-watch scenario on one server and returns what the watcher saw
/// (event type and path, in order) and the error codes of the watch management calls.
fn persistent_scenario(addr: &str, base: &str) -> (Vec<(i32, String)>, Vec<i32>) {
    let p = format!("{base}/p");
    let r = format!("{base}/r");
    let mut watcher = Raw::connect(addr, 30_000);
    let mut writer = Raw::connect(addr, 30_000);
    assert_eq!(writer.err(&create(base, 0)), 0);
    let mut codes = vec![
        watcher.err(&add_watch(&p, add_watch_mode::PERSISTENT)),
        watcher.err(&add_watch(&r, add_watch_mode::PERSISTENT_RECURSIVE)),
    ];
    for req in [
        create(&p, 0),
        set(&p),
        set(&p),
        create(&format!("{p}/c"), 0),
        create(&r, 0),
        create(&format!("{r}/a"), 0),
        create(&format!("{r}/a/b"), 0),
        set(&format!("{r}/a/b")),
        delete(&format!("{r}/a/b")),
    ] {
        assert_eq!(writer.err(&req), 0, "{req:?}");
    }
    // A read on the watcher's connection orders every event before its reply.
    watcher
        .call(&Request::Exists(PathWatchRequest {
            path: base.into(),
            watch: false,
        }))
        .expect("exists");
    codes.push(watcher.err(&watches(false, &r, watcher_type::PERSISTENT_RECURSIVE)));
    codes.push(watcher.err(&watches(true, &p, watcher_type::PERSISTENT)));
    codes.push(watcher.err(&watches(true, &p, watcher_type::PERSISTENT)));
    codes.push(watcher.err(&watches(false, &p, watcher_type::ANY)));
    // Removed: no more events for /p; the recursive watch on /r stays.
    assert_eq!(writer.err(&set(&p)), 0);
    assert_eq!(writer.err(&set(&r)), 0);
    watcher
        .call(&Request::Sync(PathRequest { path: base.into() }))
        .expect("sync");
    let events = watcher
        .events
        .iter()
        .map(|(_, e)| (e.event_type, e.path.clone()))
        .collect();
    (events, codes)
}

#[test]
fn persistent_and_recursive_watches_match_the_reference() {
    let w = Warren::start();
    let (warren_events, warren_codes) = persistent_scenario(&w.addr(), "/pw");
    let p = "/pw/p".to_owned();
    let r = "/pw/r".to_owned();
    let expected = vec![
        (event::NODE_CREATED, p.clone()),
        (event::NODE_DATA_CHANGED, p.clone()),
        (event::NODE_DATA_CHANGED, p.clone()),
        (event::NODE_CHILDREN_CHANGED, p.clone()),
        (event::NODE_CREATED, r.clone()),
        (event::NODE_CREATED, format!("{r}/a")),
        (event::NODE_CREATED, format!("{r}/a/b")),
        (event::NODE_DATA_CHANGED, format!("{r}/a/b")),
        (event::NODE_DELETED, format!("{r}/a/b")),
        (event::NODE_DATA_CHANGED, r.clone()),
    ];
    assert_eq!(warren_events, expected);
    assert_eq!(warren_codes, vec![0, 0, 0, 0, -121, -121]);
    if refzk_available() {
        // ZooKeeper 3.8.0 cannot decode watcher types 4 and 5 in removeWatches and
        // checkWatches (it answers MARSHALLINGERROR, −5, and keeps the watch); 3.9 added
        // them, and Warren follows 3.9 there. Everything up to that point must match.
        let (reference, _g) = shared_ref();
        let (ref_events, ref_codes) = persistent_scenario(&reference.addr(), "/pw");
        assert_eq!(
            warren_events[..9],
            ref_events[..9],
            "events differ from the reference"
        );
        assert_eq!(
            warren_codes[..2],
            ref_codes[..2],
            "codes differ from the reference"
        );
        assert_eq!(
            ref_codes[2..5],
            [-5, -5, -5],
            "the reference learned watcher types 4/5"
        );
        assert_eq!(ref_codes[5], 0, "checkWatches ANY sees a persistent watch");
    }
}

fn wait_gone(r: &mut Raw, path: &str, within: Duration) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        let gone = r.err(&Request::Exists(PathWatchRequest {
            path: path.into(),
            watch: false,
        })) == -101;
        if gone {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn reaper_deletes_empty_containers_and_expired_ttl_nodes_through_the_log() {
    let mut w = Warren::start_with("znode.container.checkIntervalMs=200\n");
    let mut c = Raw::connect(&w.addr(), 30_000);
    let container = Request::Create {
        op: op::CREATE_CONTAINER,
        req: CreateRequest {
            path: "/box".into(),
            data: None,
            acl: Acl::open_unsafe().into(),
            flags: 4,
        },
    };
    assert_eq!(c.err(&container), 0);
    let ttl = |path: &str, ms: i64| {
        Request::CreateTtl(CreateTtlRequest {
            path: path.into(),
            data: None,
            acl: Acl::open_unsafe().into(),
            flags: 5,
            ttl: ms,
        })
    };
    assert_eq!(c.err(&ttl("/lease", 300)), 0);
    assert_eq!(c.err(&ttl("/held", 300)), 0);
    assert_eq!(c.err(&create("/held/kid", 0)), 0);
    // A container that never had children stays; an emptied one goes.
    std::thread::sleep(Duration::from_millis(700));
    assert_ne!(
        c.err(&Request::Exists(PathWatchRequest {
            path: "/box".into(),
            watch: false
        })),
        -101,
        "a container that never had a child was reaped"
    );
    assert_eq!(c.err(&create("/box/item", 0)), 0);
    assert_eq!(c.err(&delete("/box/item")), 0);
    assert!(wait_gone(&mut c, "/box", Duration::from_secs(10)));
    assert!(wait_gone(&mut c, "/lease", Duration::from_secs(10)));
    // A TTL node with a child is not expired.
    assert_ne!(
        c.err(&Request::Exists(PathWatchRequest {
            path: "/held".into(),
            watch: false
        })),
        -101
    );
    // The reaper's deletes are txns in the log, visible to the txn log toolkit.
    w.stop();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warren"))
        .args(["txnlog", "dump"])
        .arg(w.data_dir().join("wal"))
        .output()
        .expect("run warren txnlog dump");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("deleteContainer") && l.contains("/box")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("deleteContainer") && l.contains("/lease")),
        "{text}"
    );
}
