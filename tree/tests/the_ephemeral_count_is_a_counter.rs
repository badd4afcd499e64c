//! The number of ephemeral znodes (`mntr`'s `zk_ephemerals_count`) is a counter the apply
//! function keeps, so reading it is one lookup, never a scan of the ephemeral index. A
//! tree written before the counter existed counts its index once, at the first ephemeral
//! change.

use warren_engine::{Engine, EngineOptions, ReadSeq, WriteBatch};
use warren_proto::txn::{CreateSessionTxn, CreateTxn, DeleteTxn, LoggedTxn, Txn, TxnHeader};
use warren_proto::Acl;
use warren_tree::{apply_committed, bootstrap, meta_key, View, EPHEMERAL_COUNT};

struct Tree {
    engine: Engine,
    zxid: i64,
    _dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
        bootstrap(&engine).unwrap();
        Tree {
            engine,
            zxid: 0,
            _dir: dir,
        }
    }

    fn apply(&mut self, session: i64, txn: Txn) {
        self.zxid += 1;
        let logged = LoggedTxn {
            header: TxnHeader {
                client_id: session,
                cxid: 1,
                zxid: self.zxid,
                time: 0,
                txn_type: txn.txn_type(),
            },
            txn,
            digest: None,
        };
        apply_committed(&self.engine, &logged).unwrap();
    }

    fn create(&mut self, session: i64, path: &str, ephemeral: bool) {
        let txn = Txn::Create(CreateTxn {
            path: path.into(),
            data: Some(Vec::new()),
            acl: Acl::open_unsafe().into(),
            ephemeral,
            parent_cversion: -1,
        });
        self.apply(session, txn);
    }

    fn count(&self) -> i64 {
        View::new(&self.engine, None).ephemeral_count().unwrap()
    }

    fn stored(&self) -> Option<i64> {
        self.engine
            .get(&meta_key(EPHEMERAL_COUNT), ReadSeq::Latest)
            .unwrap()
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
    }
}

#[test]
fn creates_deletes_and_closed_sessions_keep_the_counter() {
    let mut t = Tree::new();
    assert_eq!(t.stored(), Some(0), "a new tree starts with the counter");
    for s in [0x11, 0x22] {
        t.apply(s, Txn::CreateSession(CreateSessionTxn { time_out: 30_000 }));
    }
    t.create(0x11, "/persistent", false);
    for i in 0..3 {
        t.create(0x11, &format!("/a{i}"), true);
        t.create(0x22, &format!("/b{i}"), true);
    }
    assert_eq!(t.stored(), Some(6));
    t.apply(0x11, Txn::Delete(DeleteTxn { path: "/a0".into() }));
    t.apply(
        0x11,
        Txn::Delete(DeleteTxn {
            path: "/persistent".into(),
        }),
    );
    assert_eq!(t.stored(), Some(5));
    t.apply(
        0x22,
        Txn::CloseSession(vec!["/b0".into(), "/b1".into(), "/b2".into()]),
    );
    assert_eq!(t.stored(), Some(2));
    assert_eq!(t.count(), 2);
}

#[test]
fn a_tree_without_the_counter_counts_its_index_once() {
    let mut t = Tree::new();
    t.apply(
        0x11,
        Txn::CreateSession(CreateSessionTxn { time_out: 30_000 }),
    );
    for i in 0..4 {
        t.create(0x11, &format!("/e{i}"), true);
    }
    // As a data dir from before the counter: the key is gone.
    t.zxid += 1;
    let mut b = WriteBatch::new();
    b.delete(meta_key(EPHEMERAL_COUNT));
    t.engine.write(t.zxid as u64, b).unwrap();
    assert_eq!(t.stored(), None);
    assert_eq!(t.count(), 4, "counted from the index");

    t.create(0x11, "/e4", true);
    assert_eq!(
        t.stored(),
        Some(5),
        "the first ephemeral change stores the counter"
    );
}
