//! Until Warren replicates, a zoo.cfg that describes an ensemble must not start N
//! independent servers that each accept writes: the binary refuses, says why, and exits
//! non-zero before it listens.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{four_letter, free_port, CALL_TIMEOUT};

#[test]
fn a_three_server_zoo_cfg_exits_non_zero_naming_the_servers() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\n\
             server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_warren"))
        .arg("--config")
        .arg(&cfg)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let end = Instant::now() + CALL_TIMEOUT;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("warren kept running with a three-server config");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "exit status {status}");
    assert!(
        err.contains("3 servers") && err.contains("server.1, server.2, server.3"),
        "{err}"
    );
    assert!(err.contains("split brain"), "{err}");
    assert_eq!(
        four_letter(port, "ruok"),
        "",
        "nothing may serve the client port"
    );
}
