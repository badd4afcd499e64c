//! A client registers a watcher when the reply that set it arrives (Java, kazoo and the
//! other clients all do), so an event that reaches the connection before that reply is
//! lost for good, and a lock waiter or an election follower hangs. ZooKeeper never lets
//! it happen. Under load (one writer setting a few znodes, several readers looping
//! watched reads), every event must come after the reply of the read that set its watch.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use warren_proto::consts::{add_watch_mode, event, op};
use warren_proto::{
    Acl, AddWatchRequest, CreateRequest, PathWatchRequest, Request, SetDataRequest,
};

const NODES: usize = 4;
const READERS: usize = 4;
const WRITERS: usize = 2;
const RUN: Duration = Duration::from_secs(8);

fn watched_read(kind: usize, path: &str) -> Request {
    let r = PathWatchRequest {
        path: path.to_owned(),
        watch: true,
    };
    match kind % 3 {
        0 => Request::GetData(r),
        1 => Request::Exists(r),
        _ => Request::GetChildren(r),
    }
}

/// A reader's view of its watches: a path is armed once the reply of the read that set
/// its watch has arrived, and disarmed by the watch's event.
struct Reader {
    r: Raw,
    armed: Vec<bool>,
    overtaken: usize,
}

impl Reader {
    /// Notes an event; an event for a path whose watch is not armed yet can only belong
    /// to the read still waiting for its reply: it overtook that reply.
    fn event(&mut self, path: &str, pending: Option<usize>) {
        let Some(i) = path
            .strip_prefix("/n")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            return;
        };
        if self.armed[i] {
            self.armed[i] = false;
        } else if pending == Some(i) {
            self.overtaken += 1;
        }
    }

    /// One watched read of node `i` (not armed), waiting for its reply.
    fn read(&mut self, kind: usize, i: usize) {
        let req = watched_read(kind, &format!("/n{i}"));
        let mut body = Vec::new();
        req.encode_body(&mut body);
        let xid = self.r.send(req.op(), &body);
        loop {
            match self.r.recv().expect("reply") {
                Frame::Event { ev, .. } => self.event(&ev.path, Some(i)),
                Frame::Reply { hdr, .. } if hdr.xid == xid => break,
                Frame::Reply { hdr, .. } => panic!("unexpected reply xid {}", hdr.xid),
            }
        }
        self.armed[i] = true;
    }
}

#[test]
fn watch_events_never_overtake_the_reply_that_set_them() {
    let w = Warren::start();
    let mut setup = Raw::connect(&w.addr(), 30_000);
    for i in 0..NODES {
        let path = format!("/n{i}");
        let create = Request::Create {
            op: op::CREATE,
            req: CreateRequest {
                path: path.clone(),
                data: Some(Vec::new()),
                acl: Acl::open_unsafe().into(),
                flags: 0,
            },
        };
        assert_eq!(setup.err(&create), 0);
        // A child of each node changes too, so child watches fire.
        let child = Request::Create {
            op: op::CREATE,
            req: CreateRequest {
                path: format!("{path}/c"),
                data: Some(Vec::new()),
                acl: Acl::open_unsafe().into(),
                flags: 0,
            },
        };
        assert_eq!(setup.err(&child), 0);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|t| {
            let (addr, stop) = (w.addr(), stop.clone());
            std::thread::spawn(move || {
                let mut r = Raw::connect(&addr, 30_000);
                let mut n = t;
                while !stop.load(Ordering::Relaxed) {
                    let path = format!("/n{}", n % NODES);
                    let set = Request::SetData(SetDataRequest {
                        path: path.clone(),
                        data: Some(n.to_le_bytes().to_vec()),
                        version: -1,
                    });
                    assert_eq!(r.err(&set), 0);
                    // Recreating the child changes the node's children.
                    if t == 0 && n % 3 == 0 {
                        let del = Request::Delete(warren_proto::PathVersionRequest {
                            path: format!("{path}/c"),
                            version: -1,
                        });
                        assert_eq!(r.err(&del), 0);
                        let create = Request::Create {
                            op: op::CREATE,
                            req: CreateRequest {
                                path: format!("{path}/c"),
                                data: None,
                                acl: Acl::open_unsafe().into(),
                                flags: 0,
                            },
                        };
                        assert_eq!(r.err(&create), 0);
                    }
                    n += WRITERS;
                }
                n / WRITERS
            })
        })
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|t| {
            let addr = w.addr();
            std::thread::spawn(move || {
                let mut reader = Reader {
                    r: Raw::connect(&addr, 30_000),
                    armed: vec![false; NODES],
                    overtaken: 0,
                };
                let mut cycles = 0usize;
                let end = Instant::now() + RUN;
                while Instant::now() < end {
                    // The data and exists watches of a node share its events, so one
                    // watch per node at a time keeps every event attributable.
                    match (0..NODES)
                        .map(|k| (t + cycles + k) % NODES)
                        .find(|&i| !reader.armed[i])
                    {
                        Some(i) => reader.read(t + cycles, i),
                        None => {
                            let Frame::Event { ev, .. } = reader.r.recv().expect("event") else {
                                panic!("a reply nobody asked for");
                            };
                            reader.event(&ev.path, None);
                        }
                    }
                    cycles += 1;
                }
                (cycles, reader.overtaken)
            })
        })
        .collect();
    let results: Vec<(usize, usize)> = readers.into_iter().map(|h| h.join().unwrap()).collect();
    stop.store(true, Ordering::Relaxed);
    let writes: usize = writers.into_iter().map(|h| h.join().unwrap()).sum();
    let cycles: usize = results.iter().map(|r| r.0).sum();
    let overtaken: usize = results.iter().map(|r| r.1).sum();
    eprintln!("{cycles} watched reads, {writes} writes, {overtaken} events before their reply");
    assert!(cycles > 100, "too little load to tell ({cycles} cycles)");
    assert_eq!(
        overtaken, 0,
        "{overtaken} of {cycles} events overtook their reply"
    );
}

/// The same for persistent watches: addWatch's reply must come before any event of the
/// watch it adds.
#[test]
fn persistent_watch_events_never_overtake_the_add_watch_reply() {
    let w = Warren::start();
    let mut setup = Raw::connect(&w.addr(), 30_000);
    let create = Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: "/p".into(),
            data: None,
            acl: Acl::open_unsafe().into(),
            flags: 0,
        },
    };
    assert_eq!(setup.err(&create), 0);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (addr, stop) = (w.addr(), stop.clone());
        std::thread::spawn(move || {
            let mut r = Raw::connect(&addr, 30_000);
            while !stop.load(Ordering::Relaxed) {
                let set = Request::SetData(SetDataRequest {
                    path: "/p".into(),
                    data: None,
                    version: -1,
                });
                assert_eq!(r.err(&set), 0);
            }
        })
    };
    let end = Instant::now() + RUN / 2;
    let (mut cycles, mut overtaken) = (0usize, 0usize);
    while Instant::now() < end {
        // A fresh connection each time, so no earlier watch can explain an event.
        let mut r = Raw::connect(&w.addr(), 30_000);
        let add = Request::AddWatch(AddWatchRequest {
            path: "/p".into(),
            mode: add_watch_mode::PERSISTENT,
        });
        let mut body = Vec::new();
        add.encode_body(&mut body);
        let xid = r.send(add.op(), &body);
        loop {
            match r.recv().expect("reply") {
                Frame::Event { ev, .. } if ev.event_type == event::NODE_DATA_CHANGED => {
                    overtaken += 1;
                    break;
                }
                Frame::Event { .. } => {}
                Frame::Reply { hdr, .. } if hdr.xid == xid => break,
                Frame::Reply { hdr, .. } => panic!("unexpected reply xid {}", hdr.xid),
            }
        }
        cycles += 1;
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    eprintln!("{cycles} addWatch calls, {overtaken} events before their reply");
    assert!(cycles > 20, "too little load to tell ({cycles} cycles)");
    assert_eq!(
        overtaken, 0,
        "{overtaken} of {cycles} events overtook their reply"
    );
}
