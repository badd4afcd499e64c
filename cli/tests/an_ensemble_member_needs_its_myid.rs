//! A zoo.cfg with `server.N` lines makes an ensemble member, which must know which
//! server it is: without a `myid` file, or with one naming no `server.N` line, the
//! binary says so and exits non-zero before it listens, as ZooKeeper refuses to start.

mod common;

use common::*;

const THREE: &str = "server.1=127.0.0.1:1:1\nserver.2=127.0.0.1:2:2\nserver.3=127.0.0.1:3:3\n";

fn refused(w: &mut Warren) -> String {
    w.spawn_without_waiting();
    let status = w.wait_exit(CALL_TIMEOUT).expect("warren kept running");
    assert!(!status.success(), "exit status {status}");
    assert_eq!(
        four_letter(w.port, "ruok"),
        "",
        "nothing may serve the client port"
    );
    w.log()
}

#[test]
fn without_myid_the_member_refuses_to_start_naming_the_file() {
    let mut w = Warren::unstarted(THREE);
    let log = refused(&mut w);
    assert!(log.contains("myid") && log.contains("3 servers"), "{log}");
}

#[test]
fn a_myid_with_no_server_line_is_refused_naming_the_lines() {
    let mut w = Warren::unstarted(THREE);
    std::fs::create_dir_all(w.data_dir()).unwrap();
    std::fs::write(w.data_dir().join("myid"), "7\n").unwrap();
    let log = refused(&mut w);
    assert!(
        log.contains("server.7") && log.contains("server.1, server.2, server.3"),
        "{log}"
    );
}
