//! Every core operation through a real client (`zookeeper-client`) against Warren:
//! create/create2 in every mode, delete, exists, getData, setData, getACL, setACL,
//! getChildren(2), sync, multiRead, getEphemerals, getAllChildrenNumber, whoAmI.

mod common;

use std::time::Duration;

use common::*;
use zookeeper_client::{Acl, Acls, AuthId, CreateMode, Error, MultiReadResult, Permission};

#[tokio::test]
async fn create_in_every_mode_and_read_back() {
    let w = Warren::start();
    let c = zk(&w.addr()).await;

    let (st, seq) = tm(c.create("/p", b"data", &persistent())).await.unwrap();
    assert_eq!(seq.into_i64(), -1);
    assert_eq!((st.version, st.cversion, st.aversion), (0, 0, 0));
    assert_eq!(
        (st.czxid, st.mzxid, st.pzxid),
        (st.czxid, st.czxid, st.czxid)
    );
    assert_eq!(st.ctime, st.mtime);
    assert_eq!(st.data_length, 4);
    assert_eq!(st.ephemeral_owner, 0);

    let (st, _) = tm(c.create("/p/e", b"", &ephemeral())).await.unwrap();
    assert_eq!(st.ephemeral_owner, c.session_id().0);

    let (_, s1) = tm(c.create("/p/s-", b"", &opts(CreateMode::PersistentSequential)))
        .await
        .unwrap();
    let (_, s2) = tm(c.create("/p/s-", b"", &opts(CreateMode::EphemeralSequential)))
        .await
        .unwrap();
    // The parent's stored create counter: /p/e was child #0, so the sequences are 1 and 2.
    assert_eq!((s1.into_i64(), s2.into_i64()), (1, 2));
    assert_eq!(s1.to_string(), "0000000001");

    let (st, _) = tm(c.create("/cont", b"", &opts(CreateMode::Container)))
        .await
        .unwrap();
    assert_eq!(st.ephemeral_owner, 0);
    tm(c.create("/cont/child", b"", &persistent()))
        .await
        .unwrap();

    let (st, _) = tm(c.create(
        "/ttl",
        b"",
        &opts(CreateMode::Persistent).with_ttl(Duration::from_secs(3600)),
    ))
    .await
    .unwrap();
    assert_eq!(st.ephemeral_owner, 0, "TTL nodes show ephemeralOwner 0");

    let mut kids = tm(c.list_children("/p")).await.unwrap();
    kids.sort();
    assert_eq!(kids, vec!["e", "s-0000000001", "s-0000000002"]);
    let (kids2, pst) = tm(c.get_children("/p")).await.unwrap();
    assert_eq!(kids2.len(), 3);
    assert_eq!(pst.num_children, 3);
    assert_eq!(pst.cversion, 3);

    let (data, st) = tm(c.get_data("/p")).await.unwrap();
    assert_eq!(data, b"data");
    assert_eq!(st.num_children, 3);

    assert_eq!(
        tm(c.create("/p", b"", &persistent())).await.unwrap_err(),
        Error::NodeExists
    );
    assert_eq!(
        tm(c.create("/nope/x", b"", &persistent()))
            .await
            .unwrap_err(),
        Error::NoNode
    );
    assert_eq!(
        tm(c.create("/p/e/x", b"", &persistent()))
            .await
            .unwrap_err(),
        Error::NoChildrenForEphemerals
    );
}

#[tokio::test]
async fn set_data_delete_exists_and_versions() {
    let w = Warren::start();
    let c = zk(&w.addr()).await;
    let (c0, _) = tm(c.create("/n", b"a", &persistent())).await.unwrap();
    let st = tm(c.set_data("/n", b"bb", Some(0))).await.unwrap();
    assert_eq!(st.version, 1);
    assert!(st.mzxid > c0.mzxid);
    assert_eq!(st.czxid, c0.czxid);
    assert_eq!(st.data_length, 2);
    assert!(st.mtime >= st.ctime);
    assert_eq!(
        tm(c.set_data("/n", b"x", Some(0))).await.unwrap_err(),
        Error::BadVersion
    );
    let st = tm(c.set_data("/n", b"ccc", None)).await.unwrap();
    assert_eq!(st.version, 2);
    assert_eq!(
        tm(c.set_data("/missing", b"x", None)).await.unwrap_err(),
        Error::NoNode
    );

    let ex = tm(c.check_stat("/n")).await.unwrap().expect("exists");
    assert_eq!(ex, st);
    assert!(tm(c.check_stat("/missing")).await.unwrap().is_none());

    tm(c.create("/n/k", b"", &persistent())).await.unwrap();
    assert_eq!(tm(c.delete("/n", None)).await.unwrap_err(), Error::NotEmpty);
    assert_eq!(
        tm(c.delete("/n/k", Some(5))).await.unwrap_err(),
        Error::BadVersion
    );
    tm(c.delete("/n/k", Some(0))).await.unwrap();
    let pst = tm(c.check_stat("/n")).await.unwrap().unwrap();
    assert_eq!(pst.cversion, 2, "a create and a delete each bump cversion");
    assert!(pst.pzxid > st.mzxid);
    tm(c.delete("/n", None)).await.unwrap();
    assert_eq!(tm(c.delete("/n", None)).await.unwrap_err(), Error::NoNode);
    assert_eq!(tm(c.get_data("/n")).await.unwrap_err(), Error::NoNode);
}

#[tokio::test]
async fn acl_get_set_and_aversion() {
    let w = Warren::start();
    let c = zk(&w.addr()).await;
    tm(c.create("/a", b"", &persistent())).await.unwrap();
    let (acl, st) = tm(c.get_acl("/a")).await.unwrap();
    assert_eq!(acl, vec![Acl::new(Permission::ALL, AuthId::anyone())]);
    assert_eq!(st.aversion, 0);
    let read_only = [Acl::new(Permission::READ, AuthId::anyone())];
    assert_eq!(
        tm(c.set_acl("/a", &Acls::new(&read_only), Some(3)))
            .await
            .unwrap_err(),
        Error::BadVersion
    );
    let st = tm(c.set_acl("/a", &Acls::new(&read_only), Some(0)))
        .await
        .unwrap();
    assert_eq!(st.aversion, 1);
    // Without ADMIN, even setACL is refused (the ACL check comes before the version check).
    assert_eq!(
        tm(c.set_acl("/a", &Acls::new(&read_only), Some(0)))
            .await
            .unwrap_err(),
        Error::NoAuth
    );
    let (acl, _) = tm(c.get_acl("/a")).await.unwrap();
    assert_eq!(acl, read_only.to_vec());
    assert_eq!(
        tm(c.set_data("/a", b"x", None)).await.unwrap_err(),
        Error::NoAuth
    );
    assert_eq!(tm(c.get_acl("/none")).await.unwrap_err(), Error::NoNode);
}

#[tokio::test]
async fn sync_multiread_ephemerals_counts_and_whoami() {
    let w = Warren::start();
    let c = zk(&w.addr()).await;
    tm(c.create("/m", b"top", &persistent())).await.unwrap();
    tm(c.create("/m/a", b"1", &persistent())).await.unwrap();
    tm(c.create("/m/a/b", b"2", &persistent())).await.unwrap();
    tm(c.create("/m/e1", b"", &ephemeral())).await.unwrap();
    tm(c.create("/m/a/e2", b"", &ephemeral())).await.unwrap();
    tm(c.sync("/m")).await.unwrap();

    let mut eph = tm(c.list_ephemerals("/m")).await.unwrap();
    eph.sort();
    assert_eq!(eph, vec!["/m/a/e2", "/m/e1"]);
    let mut all = tm(c.list_ephemerals("/")).await.unwrap();
    all.sort();
    assert_eq!(all, vec!["/m/a/e2", "/m/e1"]);
    assert_eq!(tm(c.count_descendants_number("/m")).await.unwrap(), 4);

    let mut r = c.new_multi_reader();
    r.add_get_data("/m/a").unwrap();
    r.add_get_children("/m").unwrap();
    r.add_get_data("/m/zz").unwrap();
    let res = tm(r.commit()).await.unwrap();
    assert_eq!(res.len(), 3);
    match &res[0] {
        MultiReadResult::Data { data, stat } => {
            assert_eq!(data, b"1");
            assert_eq!(stat.num_children, 2);
        }
        other => panic!("unexpected {other:?}"),
    }
    match &res[1] {
        MultiReadResult::Children { children } => {
            let mut ch = children.clone();
            ch.sort();
            assert_eq!(ch, vec!["a", "e1"]);
        }
        other => panic!("unexpected {other:?}"),
    }
    match &res[2] {
        MultiReadResult::Error { err } => assert_eq!(*err, Error::NoNode),
        other => panic!("unexpected {other:?}"),
    }

    let users = tm(c.list_auth_users()).await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].scheme(), "ip");
    assert_eq!(users[0].user(), "127.0.0.1");
}

#[tokio::test]
async fn many_children_are_listed() {
    let w = Warren::start();
    let c = zk(&w.addr()).await;
    tm(c.create("/big", b"", &persistent())).await.unwrap();
    for i in 0..300 {
        tm(c.create(&format!("/big/c{i:04}"), b"", &persistent()))
            .await
            .unwrap();
    }
    let (kids, st) = tm(c.get_children("/big")).await.unwrap();
    assert_eq!(kids.len(), 300);
    assert_eq!(st.num_children, 300);
    assert_eq!(st.cversion, 300);
}
