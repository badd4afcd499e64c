//! Builds Warren data dirs the way the server writes them: each txn is appended to the wal
//! (`Wal::append` + wait), then applied through `warren_tree::apply_txn` and written to the
//! engine at its zxid. A flush in the middle leaves later txns in the wal only, so the
//! tools must replay the tail as the server does.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use warren_engine::{Engine, EngineOptions, ReadSeq};
use warren_proto::txn::{
    CreateContainerTxn, CreateSessionTxn, CreateTtlTxn, CreateTxn, DeleteTxn, LoggedTxn, SetAclTxn,
    SetDataTxn, Txn, TxnHeader,
};
use warren_proto::{Acl, JVec};
use warren_tree::{apply_txn, write_changes, View};
use warren_wal::{FsyncPolicy, Wal, WalOptions};

/// The session every txn of the scenario belongs to.
pub const SESSION: i64 = 0x100;

/// A data dir under construction.
pub struct Builder {
    pub dir: PathBuf,
    pub engine: Engine,
    pub wal: Wal,
    pub zxid: i64,
}

pub fn wal_options() -> WalOptions {
    WalOptions {
        // Small segments so a scenario spans several files.
        segment_bytes: 512,
        preallocate: false,
        fsync: FsyncPolicy::Never,
        ..WalOptions::default()
    }
}

impl Builder {
    /// A new data dir at `dir` (engine bootstrapped, empty wal).
    pub fn new(dir: &Path) -> Builder {
        let engine = Engine::open(
            &dir.join("engine"),
            EngineOptions {
                retention_seqs: 1_000_000,
                ..EngineOptions::default()
            },
        )
        .unwrap();
        warren_tree::bootstrap(&engine).unwrap();
        let wal = Wal::open(&dir.join("wal"), wal_options()).unwrap();
        Builder {
            dir: dir.to_owned(),
            engine,
            wal,
            zxid: 0,
        }
    }

    /// Logs and applies one txn; returns its zxid. Its time is zxid seconds after 1970.
    pub fn txn(&mut self, txn: Txn) -> i64 {
        self.zxid += 1;
        let header = TxnHeader {
            client_id: SESSION,
            cxid: self.zxid as i32,
            zxid: self.zxid,
            time: self.zxid * 1000,
            txn_type: txn.txn_type(),
        };
        let t = LoggedTxn {
            header,
            txn,
            digest: None,
        };
        self.wal
            .append(self.zxid as u64, &t.encode())
            .unwrap()
            .wait()
            .unwrap();
        let mut view = View::new(&self.engine, None);
        let mut changes = Vec::new();
        apply_txn(&mut view, &t.header, &t.txn, &mut changes).unwrap();
        let kv = view.take_changes();
        if !kv.is_empty() {
            write_changes(&self.engine, self.zxid, &kv).unwrap();
        }
        self.zxid
    }

    fn parent_cversion(&self, path: &str) -> i32 {
        let parent = warren_proto::path::parent(path);
        View::new(&self.engine, None)
            .node(parent)
            .unwrap()
            .map_or(0, |n| n.stat.cversion + 1)
    }

    pub fn session(&mut self) -> i64 {
        self.txn(Txn::CreateSession(CreateSessionTxn { time_out: 30000 }))
    }

    pub fn create(&mut self, path: &str, data: &str, ephemeral: bool) -> i64 {
        let pc = self.parent_cversion(path);
        self.txn(Txn::Create(CreateTxn {
            path: path.into(),
            data: Some(data.as_bytes().to_vec()),
            acl: JVec(Acl::open_unsafe()),
            ephemeral,
            parent_cversion: pc,
        }))
    }

    pub fn container(&mut self, path: &str) -> i64 {
        let pc = self.parent_cversion(path);
        self.txn(Txn::CreateContainer(CreateContainerTxn {
            path: path.into(),
            data: Some(Vec::new()),
            acl: JVec(Acl::open_unsafe()),
            parent_cversion: pc,
        }))
    }

    pub fn ttl(&mut self, path: &str, ttl: i64) -> i64 {
        let pc = self.parent_cversion(path);
        self.txn(Txn::CreateTtl(CreateTtlTxn {
            path: path.into(),
            data: Some(b"t".to_vec()),
            acl: JVec(Acl::open_unsafe()),
            parent_cversion: pc,
            ttl,
        }))
    }

    pub fn set(&mut self, path: &str, data: &str, version: i32) -> i64 {
        self.txn(Txn::SetData(SetDataTxn {
            path: path.into(),
            data: Some(data.as_bytes().to_vec()),
            version,
        }))
    }

    pub fn set_acl(&mut self, path: &str, acl: Vec<Acl>, version: i32) -> i64 {
        self.txn(Txn::SetAcl(SetAclTxn {
            path: path.into(),
            acl: JVec(acl),
            version,
        }))
    }

    pub fn delete(&mut self, path: &str) -> i64 {
        self.txn(Txn::Delete(DeleteTxn { path: path.into() }))
    }

    /// Flushes the engine: txns so far are in SSTables, later ones only in the wal.
    pub fn flush(&self) {
        self.engine.flush().unwrap();
    }

    /// Stops writing (the engine's memtable is dropped unflushed, like a crash; the wal
    /// holds everything).
    pub fn close(self) -> PathBuf {
        self.wal.sync().unwrap();
        drop(self.wal);
        self.engine.close().unwrap();
        self.dir
    }
}

/// The scenario every Warren tool test uses: 10 txns, flushed after zxid 5.
///
/// | zxid | txn |
/// |---|---|
/// | 1 | createSession 0x100 |
/// | 2 | create /a "one" |
/// | 3 | create /a/b "two" (ephemeral) |
/// | 4 | setData /a "uno" |
/// | 5 | createContainer /c |
/// | 6 | create /d "x" |
/// | 7 | setACL /d (read-only) |
/// | 8 | delete /a/b |
/// | 9 | setData /d "y" |
/// | 10 | createTTL /e |
pub fn scenario(dir: &Path) -> PathBuf {
    let mut b = Builder::new(dir);
    b.session();
    b.create("/a", "one", false);
    b.create("/a/b", "two", true);
    b.set("/a", "uno", 1);
    b.container("/c");
    b.flush();
    b.create("/d", "x", false);
    b.set_acl("/d", vec![Acl::new(1, "world", "anyone")], 1);
    b.delete("/a/b");
    b.set("/d", "y", 1);
    b.ttl("/e", 5000);
    b.close()
}

/// Every key and value of an engine dir at `at` (opened with a long retention).
pub fn all_keys(engine_dir: &Path, at: ReadSeq) -> Vec<(Vec<u8>, Vec<u8>)> {
    let e = Engine::open(
        engine_dir,
        EngineOptions {
            retention_seqs: 1_000_000,
            ..EngineOptions::default()
        },
    )
    .unwrap();
    let v = e.scan(.., at).unwrap().map(|kv| kv.unwrap()).collect();
    e.close().unwrap();
    v
}
