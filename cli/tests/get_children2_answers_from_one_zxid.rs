//! getChildren2 answers a node's children and its Stat. Both must come from one state of
//! the tree: while children come and go, numChildren always equals the length of the
//! list it came with, and the list never shows a child the stat has not counted.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use warren_proto::consts::op;
use warren_proto::{
    Acl, Children2Response, CreateRequest, Jute, PathVersionRequest, PathWatchRequest, Request,
};

fn create(path: &str) -> Request {
    Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: path.to_owned(),
            data: None,
            acl: Acl::open_unsafe().into(),
            flags: 0,
        },
    }
}

#[test]
fn num_children_always_matches_the_list() {
    let w = Warren::start();
    let mut setup = Raw::connect(&w.addr(), 30_000);
    assert_eq!(setup.err(&create("/p")), 0);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|t| {
            let (addr, stop) = (w.addr(), stop.clone());
            std::thread::spawn(move || {
                let mut r = Raw::connect(&addr, 30_000);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let path = format!("/p/c{t}-{}", n % 8);
                    assert_eq!(r.err(&create(&path)), 0);
                    let del = Request::Delete(PathVersionRequest { path, version: -1 });
                    assert_eq!(r.err(&del), 0);
                    n += 1;
                }
            })
        })
        .collect();
    let mut r = Raw::connect(&w.addr(), 30_000);
    let (mut reads, mut mismatches) = (0u64, Vec::new());
    let end = Instant::now() + Duration::from_secs(6);
    while Instant::now() < end {
        let (h, body) = r
            .call(&Request::GetChildren2(PathWatchRequest {
                path: "/p".into(),
                watch: false,
            }))
            .expect("getChildren2");
        assert_eq!(h.err, 0);
        let resp = Children2Response::from_bytes(&body).unwrap();
        if resp.stat.num_children as usize != resp.children.0.len() {
            mismatches.push((resp.stat.num_children, resp.children.0.len()));
        }
        reads += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for h in writers {
        h.join().unwrap();
    }
    eprintln!("{reads} reads, {} mismatches", mismatches.len());
    assert!(reads > 100, "too few reads ({reads})");
    assert!(
        mismatches.is_empty(),
        "{} of {reads} answers disagree (numChildren, list length): {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(5)]
    );
}
