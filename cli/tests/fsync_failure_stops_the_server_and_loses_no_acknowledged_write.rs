//! Fail-stop: when fdatasync of the txn log fails (EIO injected into the real binary with
//! strace), the server must not go on serving with a log it cannot trust. It stops with a
//! non-zero exit and a message naming the failure, and after a restart on a healthy disk
//! every write it acknowledged is there.

mod common;

use common::*;
use warren_proto::consts::op;
use warren_proto::{Acl, CreateRequest, Jute, PathWatchRequest, Request};

fn create(path: &str) -> Request {
    Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: path.to_owned(),
            data: Some(path.as_bytes().to_vec()),
            acl: Acl::open_unsafe().into(),
            flags: 0,
        },
    }
}

#[test]
fn an_fsync_error_stops_the_server_and_every_acknowledged_create_survives() {
    assert!(
        std::process::Command::new("strace")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success()),
        "strace is needed for fault injection (scripts/install-test-deps installs it)"
    );
    // fdatasync calls from the 60th on fail with EIO, in every thread of the server.
    let strace = fdatasync_fault("inject=fdatasync:error=EIO:when=60+");
    let mut w = Warren::start_under(&strace, "");
    let mut client = Raw::connect(&w.addr(), 30_000);
    let mut acked = Vec::new();
    for i in 0..10_000 {
        let path = format!("/n{i}");
        match client.call(&create(&path)) {
            Ok((h, _)) if h.err == 0 => acked.push(path),
            // An error reply must not claim success; the server must go away instead.
            Ok((h, _)) => panic!("create {path} answered {} instead of closing", h.err),
            Err(_) => break,
        }
    }
    assert!(!acked.is_empty(), "no create succeeded before the fault");
    assert!(acked.len() < 10_000, "the injected fsync error never hit");
    let status = w
        .wait_exit(CALL_TIMEOUT)
        .expect("the server kept running after an fsync error");
    assert!(!status.success(), "exit status {status}");
    let log = w.log();
    assert!(log.contains("storage failure"), "{log}");
    assert!(log.contains("Input/output error"), "{log}");

    w.unwrap_command();
    w.restart();
    let mut r = Raw::connect(&w.addr(), 30_000);
    for path in &acked {
        let (h, body) = r
            .call(&Request::GetData(PathWatchRequest {
                path: path.clone(),
                watch: false,
            }))
            .expect("getData");
        assert_eq!(h.err, 0, "acknowledged {path} is missing after restart");
        let data = warren_proto::GetDataResponse::from_bytes(&body)
            .unwrap()
            .data;
        assert_eq!(data.as_deref(), Some(path.as_bytes()));
    }
}
