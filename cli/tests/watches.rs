//! One-shot data, exist and child watches, and the ordering guarantee: a client sees the
//! event before any reply that reflects the change.

mod common;

use std::time::Duration;

use common::*;
use warren_proto::consts::op;
use warren_proto::{PathWatchRequest, Request, SetDataRequest};
use zookeeper_client::EventType;

async fn event(w: zookeeper_client::OneshotWatcher) -> zookeeper_client::WatchedEvent {
    tm(w.changed()).await
}

#[tokio::test]
async fn data_exist_and_child_watches_fire_once() {
    let w = Warren::start();
    let c = zk(&w.addr()).await;
    let o = zk(&w.addr()).await;
    tm(c.create("/w", b"0", &persistent())).await.unwrap();

    let (_, _, dw) = tm(c.get_and_watch_data("/w")).await.unwrap();
    tm(o.set_data("/w", b"1", None)).await.unwrap();
    let ev = event(dw).await;
    assert_eq!(ev.event_type, EventType::NodeDataChanged);
    assert_eq!(ev.path, "/w");

    let (none, ew) = tm(c.check_and_watch_stat("/w/new")).await.unwrap();
    assert!(none.is_none());
    tm(o.create("/w/new", b"", &persistent())).await.unwrap();
    let ev = event(ew).await;
    assert_eq!(ev.event_type, EventType::NodeCreated);
    assert_eq!(ev.path, "/w/new");

    let (_, cw) = tm(c.list_and_watch_children("/w")).await.unwrap();
    tm(o.create("/w/second", b"", &persistent())).await.unwrap();
    let ev = event(cw).await;
    assert_eq!(ev.event_type, EventType::NodeChildrenChanged);
    assert_eq!(ev.path, "/w");

    let (_, _, dw) = tm(c.get_and_watch_data("/w/new")).await.unwrap();
    tm(o.delete("/w/new", None)).await.unwrap();
    let ev = event(dw).await;
    assert_eq!(ev.event_type, EventType::NodeDeleted);
}

#[test]
fn watch_is_one_shot_and_event_precedes_reply() {
    let w = Warren::start();
    let mut a = Raw::connect(&w.addr(), 30_000);
    let mut b = Raw::connect(&w.addr(), 30_000);
    let create = Request::Create {
        op: op::CREATE,
        req: warren_proto::CreateRequest {
            path: "/o".into(),
            data: Some(b"0".to_vec()),
            acl: warren_proto::Acl::open_unsafe().into(),
            flags: 0,
        },
    };
    assert_eq!(a.err(&create), 0);
    let get = |watch| {
        Request::GetData(PathWatchRequest {
            path: "/o".into(),
            watch,
        })
    };
    let set = |d: &[u8]| {
        Request::SetData(SetDataRequest {
            path: "/o".into(),
            data: Some(d.to_vec()),
            version: -1,
        })
    };
    assert_eq!(b.err(&get(true)), 0);
    // Same session: the event comes before the reply to its own setData.
    assert_eq!(b.err(&set(b"1")), 0);
    assert_eq!(b.events.len(), 1, "event must precede the setData reply");
    assert_eq!(b.events[0].1.event_type, 3);
    assert_eq!(b.events[0].1.path, "/o");
    assert_eq!(b.events[0].1.state, 3);
    // One-shot: a second change fires nothing.
    assert_eq!(a.err(&set(b"2")), 0);
    assert_eq!(b.err(&get(true)), 0);
    assert_eq!(b.events.len(), 1, "a fired watch must not fire again");
    // Other session writes: b's next read that sees the new data comes after the event.
    assert_eq!(a.err(&set(b"3")), 0);
    let (h, body) = b.call(&get(false)).unwrap();
    assert_eq!(h.err, 0);
    assert!(body.contains(&b'3'));
    assert_eq!(
        b.events.len(),
        2,
        "event must arrive before a read reflecting the change"
    );
    // Nothing else arrives.
    b.stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(b.recv().is_err(), "unexpected extra frame");
}
