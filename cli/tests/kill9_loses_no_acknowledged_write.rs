//! Several clients write as fast as they can; every acknowledged write is recorded; the
//! server is SIGKILLed mid-stream and restarted on the same data dir; every acknowledged
//! write must be there with the acknowledged data and version.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use warren_proto::consts::op;
use warren_proto::{
    Acl, CreateRequest, GetDataResponse, Jute, PathWatchRequest, Request, SetDataRequest, Stat,
};

const WRITERS: usize = 4;

/// path -> (data, version) as last acknowledged.
type Acked = Arc<Mutex<HashMap<String, (Vec<u8>, i32)>>>;

#[test]
fn kill9_loses_no_acknowledged_write() {
    let mut w = Warren::start();
    let acked: Acked = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for t in 0..WRITERS {
        let (acked, stop, addr) = (acked.clone(), stop.clone(), w.addr());
        handles.push(std::thread::spawn(move || {
            let mut r = Raw::connect(&addr, 30_000);
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let path = format!("/w{t}-{}", n % 50);
                let data = format!("{t}:{n}").into_bytes();
                let req = if n < 50 {
                    Request::Create {
                        op: op::CREATE,
                        req: CreateRequest {
                            path: path.clone(),
                            data: Some(data.clone()),
                            acl: Acl::open_unsafe().into(),
                            flags: 0,
                        },
                    }
                } else {
                    Request::SetData(SetDataRequest {
                        path: path.clone(),
                        data: Some(data.clone()),
                        version: -1,
                    })
                };
                match r.call(&req) {
                    Ok((h, body)) => {
                        assert_eq!(h.err, 0, "write {path} failed");
                        let version = if n < 50 {
                            0
                        } else {
                            Stat::from_bytes(&body).unwrap().version
                        };
                        acked.lock().unwrap().insert(path, (data, version));
                    }
                    Err(_) => return n, // the server died
                }
                n += 1;
            }
            n
        }));
    }
    // Let the writers get going, then pull the plug.
    let t0 = Instant::now();
    while acked.lock().unwrap().len() < WRITERS * 50 || t0.elapsed() < Duration::from_millis(700) {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "writers made no progress"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    w.kill9();
    stop.store(true, Ordering::Relaxed);
    let total: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(total > 200, "too few writes before the kill: {total}");

    w.restart();
    let acked = acked.lock().unwrap();
    let mut r = Raw::connect(&w.addr(), 30_000);
    let mut lost = Vec::new();
    for (path, (data, version)) in acked.iter() {
        let (h, body) = r
            .call(&Request::GetData(PathWatchRequest {
                path: path.clone(),
                watch: false,
            }))
            .unwrap();
        if h.err != 0 {
            lost.push(format!("{path}: err {}", h.err));
            continue;
        }
        let got = GetDataResponse::from_bytes(&body).unwrap();
        // A write that was sent but whose ack we never saw may also have landed, so the
        // stored version is the acknowledged one or later, with the data of that version.
        if got.stat.version < *version
            || (got.stat.version == *version && got.data.as_deref() != Some(data.as_slice()))
        {
            lost.push(format!(
                "{path}: acked v{version} {:?}, found v{} {:?}",
                String::from_utf8_lossy(data),
                got.stat.version,
                got.data.map(|d| String::from_utf8_lossy(&d).into_owned())
            ));
        }
    }
    assert!(
        lost.is_empty(),
        "acknowledged writes lost after kill -9: {lost:#?}"
    );
    eprintln!(
        "{total} writes before the kill, {} paths checked",
        acked.len()
    );
}
