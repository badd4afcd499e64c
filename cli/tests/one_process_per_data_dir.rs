//! A data dir belongs to one process: a second server started on it by mistake, or a tool
//! that opens its engine beside the live server, stops with a message naming the dir
//! instead of running flushes and compactions in a directory another process writes.

mod common;

use std::process::{Command, Output, Stdio};

use common::*;

fn warren(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warren"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .output()
        .expect("run warren")
}

#[test]
fn a_second_server_and_an_engine_tool_refuse_a_data_dir_in_use() {
    let mut w = Warren::start();
    let data = w.data_dir();
    let d = data.to_str().unwrap();
    let port = free_port().to_string();
    let second = warren(&["--data-dir", d, "--port", &port]);
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "a second server started: {err}");
    assert!(err.contains("in use by another Warren process"), "{err}");
    assert!(err.contains(d), "{err}");
    assert_eq!(
        four_letter(w.port, "ruok"),
        "imok",
        "the first server must go on"
    );

    let dump = warren(&["snapshot", "dump", d]);
    let err = String::from_utf8_lossy(&dump.stderr);
    assert!(
        !dump.status.success(),
        "snapshot dump ran beside the server"
    );
    assert!(err.contains("in use by another Warren process"), "{err}");

    assert!(w.stop().success());
    let dump = warren(&["snapshot", "dump", d]);
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(String::from_utf8_lossy(&dump.stdout).contains("/zookeeper"));
}
