//! Fail-stop on a full disk: when the txn log's disk (or the whole data dir's) fills up,
//! the server stops with a non-zero exit and a message that names the failure, rather
//! than answering writes it may not have logged. Once the disk has room again, a restart
//! recovers every write it acknowledged.
//!
//! The full disk is real: a small tmpfs mounted for the test (this needs root, as the
//! project's test machines have).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use warren_proto::consts::op;
use warren_proto::{Acl, CreateRequest, GetDataResponse, Jute, PathWatchRequest, Request};

/// A tmpfs of a given size, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size_mib: u32) -> SmallDisk {
        let dir = tempfile::Builder::new()
            .prefix("warren-small-disk-")
            .tempdir()
            .unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            st.success(),
            "mounting a tmpfs failed (the test needs root)"
        );
        SmallDisk { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// Gives the disk room again.
    fn grow(&self, size_mib: u32) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,size={size_mib}m")])
            .arg(self.dir.path())
            .status()
            .expect("run mount");
        assert!(st.success(), "remounting the tmpfs failed");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// 2 KiB that do not compress (the engine compresses its tables), the same for a path
/// every time.
fn payload(path: &str) -> Vec<u8> {
    let seed = path.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    incompressible(seed, 2048)
}

fn create(path: &str) -> Request {
    Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: path.to_owned(),
            data: Some(payload(path)),
            acl: Acl::open_unsafe().into(),
            flags: 0,
        },
    }
}

/// Creates nodes until the server stops answering; the acknowledged paths.
fn create_until_the_server_stops(w: &Warren) -> Vec<String> {
    let mut client = Raw::connect(&w.addr(), 30_000);
    let mut acked = Vec::new();
    for i in 0..200_000 {
        let path = format!("/n{i}");
        match client.call(&create(&path)) {
            Ok((h, _)) if h.err == 0 => acked.push(path),
            Ok((h, _)) => panic!("create {path} answered {} instead of closing", h.err),
            Err(_) => break,
        }
    }
    acked
}

fn assert_stopped_for_a_full_disk(w: &mut Warren, acked: &[String]) {
    assert!(
        !acked.is_empty(),
        "no create succeeded before the disk filled"
    );
    let status = w
        .wait_exit(CALL_TIMEOUT)
        .expect("the server kept running on a full disk");
    assert!(!status.success(), "exit status {status}");
    let log = w.log();
    assert!(log.contains("storage failure"), "{log}");
    assert!(log.contains("No space left on device"), "{log}");
    eprintln!("{} acknowledged; the server said:\n{log}", acked.len());
}

fn assert_all_present(w: &Warren, acked: &[String]) {
    let mut r = Raw::connect(&w.addr(), 30_000);
    for path in acked {
        let (h, body) = r
            .call(&Request::GetData(PathWatchRequest {
                path: path.clone(),
                watch: false,
            }))
            .expect("getData");
        assert_eq!(h.err, 0, "acknowledged {path} is missing after restart");
        let data = GetDataResponse::from_bytes(&body).unwrap().data;
        assert_eq!(data, Some(payload(path)), "{path}");
    }
}

#[test]
fn a_full_log_disk_stops_the_server_and_every_acknowledged_create_survives() {
    let disk = SmallDisk::mount(24);
    let cfg = format!("dataLogDir={}\npreAllocSize=1024\n", disk.path().display());
    let mut w = Warren::start_with(&cfg);
    let acked = create_until_the_server_stops(&w);
    assert_stopped_for_a_full_disk(&mut w, &acked);

    disk.grow(512);
    w.restart();
    assert_all_present(&w, &acked);
}

#[test]
fn a_full_data_dir_stops_the_server_and_every_acknowledged_create_survives() {
    let disk = SmallDisk::mount(48);
    let data = disk.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut w = Warren::start_with_data_at(&data, "preAllocSize=1024\nwarren.memoryBudgetMB=32\n");
    let acked = create_until_the_server_stops(&w);
    assert_stopped_for_a_full_disk(&mut w, &acked);

    disk.grow(1024);
    w.restart();
    assert_all_present(&w, &acked);
    assert!(Path::new(&data).join("engine").exists());
}

#[test]
fn a_full_engine_disk_stops_the_server_and_every_acknowledged_create_survives() {
    // The txn log has room; the engine's disk (dataDir) fills up when it flushes.
    let disk = SmallDisk::mount(12);
    let data = disk.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let log_dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "dataLogDir={}\nwarren.memoryBudgetMB=32\n",
        log_dir.path().display()
    );
    let mut w = Warren::start_with_data_at(&data, &cfg);
    let acked = create_until_the_server_stops(&w);
    assert_stopped_for_a_full_disk(&mut w, &acked);

    disk.grow(1024);
    w.restart();
    assert_all_present(&w, &acked);
}
