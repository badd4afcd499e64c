//! ZooKeeper's users configure part of the server with Java system properties: `-D`
//! options, SERVER_JVMFLAGS / JVMFLAGS, or a java.env beside zoo.cfg. The same settings
//! must configure Warren.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use warren_proto::consts::op;
use warren_proto::{Acl, AuthPacket, CreateTtlRequest, Jute, Request, WhoAmIResponse};

/// Starts the binary on a minimal zoo.cfg in `dir`, with `args` and `env`.
fn start(dir: &Path, port: u16, args: &[&str], env: &[(&str, &str)]) -> Child {
    let cfg = dir.join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\nadmin.enableServer=false\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warren"));
    cmd.args(args)
        .arg("--config")
        .arg(&cfg)
        .env_remove("SERVER_JVMFLAGS")
        .env_remove("JVMFLAGS")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    assert!(
        wait_ruok_or_refused(port),
        "the server did not come up on {port}"
    );
    child
}

/// `ruok` may be outside the whitelist: any answer on the port means it is serving.
fn wait_ruok_or_refused(port: u16) -> bool {
    let end = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < end {
        if !four_letter(port, "ruok").is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_command_line_property_sets_the_four_letter_word_whitelist() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _w = Killed(start(
        dir.path(),
        port,
        &["-Dzookeeper.4lw.commands.whitelist=ruok,mntr"],
        &[],
    ));
    assert!(four_letter(port, "mntr").contains("zk_version"));
    assert!(four_letter(port, "conf").contains("not in the whitelist"));
}

#[test]
fn server_jvmflags_turn_on_extended_types() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _w = Killed(start(
        dir.path(),
        port,
        &[],
        &[(
            "SERVER_JVMFLAGS",
            "-Xmx512m -Dzookeeper.extendedTypesEnabled=true",
        )],
    ));
    let mut r = Raw::connect(&format!("127.0.0.1:{port}"), 30_000);
    let ttl = Request::CreateTtl(CreateTtlRequest {
        path: "/ttl".into(),
        data: None,
        acl: Acl::open_unsafe().into(),
        flags: 5, // PERSISTENT_WITH_TTL
        ttl: 60_000,
    });
    assert_eq!(r.err(&ttl), 0, "TTL nodes need extendedTypesEnabled");
}

#[test]
fn a_java_env_beside_zoo_cfg_sets_the_super_digest() {
    let dir = tempfile::tempdir().unwrap();
    // super:test
    std::fs::write(
        dir.path().join("java.env"),
        "export SERVER_JVMFLAGS=\"-Xmx1g \
         -Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU= \
         $SERVER_JVMFLAGS\"\n",
    )
    .unwrap();
    let port = free_port();
    let _w = Killed(start(dir.path(), port, &[], &[]));
    let mut r = Raw::connect(&format!("127.0.0.1:{port}"), 30_000);
    let auth = AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: b"super:test".to_vec(),
    };
    let (h, _) = r.call_bytes(op::AUTH, &auth.to_bytes()).unwrap();
    assert_eq!(h.err, 0);
    let (h, body) = r.call(&Request::WhoAmI).unwrap();
    assert_eq!(h.err, 0);
    let who = WhoAmIResponse::from_bytes(&body).unwrap();
    assert!(
        who.client_info.0.iter().any(|c| c.auth_scheme == "super"),
        "{:?}",
        who.client_info.0
    );
}
