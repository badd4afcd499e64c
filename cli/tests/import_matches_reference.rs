//! Migration from Apache ZooKeeper: `warren import` on a data dir the reference server
//! wrote (the shared fixtures: snapshots plus the logs after them), then Warren started on
//! the result, and the reference started on a copy of the same dir. Every znode's path,
//! data, ACL and stat must be the same on both servers.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use warren_proto::{
    AuthPacket, Children2Response, GetAclResponse, GetDataResponse, Jute, PathRequest,
    PathWatchRequest, Request,
};

/// `super:super`, so the walk can read nodes whose ACLs admit only their owners.
const SUPER: &str = "DigestAuthenticationProvider.superDigest=super:gG7s8t3oDEtIqF6DM9LlI/R+9Ss=";

fn fixture(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/zk38")
        .join(kind)
        .join("version-2")
}

/// Every node below `/` as a line: path, data, ACL, stat.
fn walk(addr: &str) -> Vec<String> {
    let mut r = Raw::connect(addr, 30_000);
    let (h, _) = r
        .call(&Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: b"super:super".to_vec(),
        }))
        .expect("auth");
    assert_eq!(h.err, 0, "super auth");
    let mut out = Vec::new();
    let mut todo = vec!["/".to_owned()];
    while let Some(path) = todo.pop() {
        let (h, body) = r
            .call(&Request::GetData(PathWatchRequest {
                path: path.clone(),
                watch: false,
            }))
            .expect("getData");
        assert_eq!(h.err, 0, "getData {path}");
        let data = GetDataResponse::from_bytes(&body).expect("decode getData");
        let (h, body) = r
            .call(&Request::GetAcl(PathRequest { path: path.clone() }))
            .expect("getACL");
        assert_eq!(h.err, 0, "getACL {path}");
        let acl = GetAclResponse::from_bytes(&body).expect("decode getACL");
        let (h, body) = r
            .call(&Request::GetChildren2(PathWatchRequest {
                path: path.clone(),
                watch: false,
            }))
            .expect("getChildren2");
        assert_eq!(h.err, 0, "getChildren2 {path}");
        let kids = Children2Response::from_bytes(&body).expect("decode getChildren2");
        out.push(format!(
            "{path} data={:?} acl={:?} stat={:?}",
            data.data, acl.acl.0, data.stat
        ));
        for k in kids.children.iter() {
            todo.push(if path == "/" {
                format!("/{k}")
            } else {
                format!("{path}/{k}")
            });
        }
    }
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read fixture dir") {
        let e = e.expect("dir entry");
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy fixture file");
    }
}

#[test]
fn imported_zookeeper_data_serves_the_same_tree_as_the_reference() {
    if !refzk_available() {
        eprintln!("reference ZooKeeper not installed; skipping");
        return;
    }
    for kind in ["plain", "gz", "snappy"] {
        let work = tempfile::tempdir().expect("temp dir");
        // The reference, on a copy of the fixture data dir.
        let zk_dir = work.path().join("zk");
        copy_dir(&fixture(kind), &zk_dir.join("data/version-2"));
        let port = start_reference_in(
            &zk_dir,
            &match kind {
                "plain" => SUPER.to_owned(),
                k => format!("{SUPER}\nsnapshot.compression.method={k}"),
            },
        );
        let stop = || {
            let _ = Command::new("bash")
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/refzk/stop.sh"))
                .arg(&zk_dir)
                .status();
        };
        // Warren, on an import of the same files.
        let out = work.path().join("warren");
        let import = Command::new(env!("CARGO_BIN_EXE_warren"))
            .arg("import")
            .arg("--zookeeper-data-dir")
            .arg(fixture(kind))
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run warren import");
        if !import.status.success() {
            stop();
            panic!("import failed: {}", String::from_utf8_lossy(&import.stderr));
        }
        let mut w = Warren::start_on(&out, SUPER);
        let reference = walk(&format!("127.0.0.1:{port}"));
        let warren = walk(&w.addr());
        stop();
        w.stop();
        assert!(reference.len() > 10, "{reference:?}");
        assert_eq!(warren, reference, "{kind}: imported tree differs");
    }
}
