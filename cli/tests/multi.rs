//! multi (check, create, setData, delete) success and failure with per-op results, and
//! that a failed multi changes nothing.

mod common;

use common::*;
use warren_proto::consts::op;
use warren_proto::request::decode_multi_response;
use warren_proto::{
    Acl, CreateRequest, OpResult, PathVersionRequest, PathWatchRequest, Reader, Request,
    SetDataRequest,
};
use zookeeper_client::{Error, MultiWriteError, MultiWriteResult};

#[tokio::test]
async fn multi_success_returns_every_result() {
    let w = Warren::start();
    let c = zk(&w.addr()).await;
    tm(c.create("/m", b"0", &persistent())).await.unwrap();
    let mut m = c.new_multi_writer();
    m.add_check_version("/m", 0).unwrap();
    m.add_create("/m/a", b"a", &persistent()).unwrap();
    m.add_set_data("/m", b"1", Some(0)).unwrap();
    m.add_create("/m/a/b", b"", &persistent()).unwrap();
    m.add_delete("/m/a/b", Some(0)).unwrap();
    let res = tm(m.commit()).await.unwrap();
    assert_eq!(res.len(), 5);
    assert_eq!(res[0], MultiWriteResult::Check);
    // Inside a multi, ZooKeeper answers a create with a plain create result (path only,
    // no Stat), even for create2; the differential suite checks that against the reference.
    let MultiWriteResult::Create { path, .. } = &res[1] else {
        panic!("{res:?}")
    };
    assert_eq!(path, "/m/a");
    let MultiWriteResult::SetData { stat } = &res[2] else {
        panic!("{res:?}")
    };
    assert_eq!(stat.version, 1);
    // All ops of a multi share one zxid.
    let (_, a) = tm(c.get_data("/m/a")).await.unwrap();
    assert_eq!(stat.mzxid, a.czxid);
    assert_eq!(res[4], MultiWriteResult::Delete);
    let (data, st) = tm(c.get_data("/m")).await.unwrap();
    assert_eq!(
        (data.as_slice(), st.version, st.num_children),
        (&b"1"[..], 1, 1)
    );
    assert!(tm(c.check_stat("/m/a/b")).await.unwrap().is_none());
}

#[tokio::test]
async fn failed_multi_reports_the_failing_op_and_changes_nothing() {
    let w = Warren::start();
    let c = zk(&w.addr()).await;
    tm(c.create("/f", b"0", &persistent())).await.unwrap();
    let mut m = c.new_multi_writer();
    m.add_create("/f/new", b"", &persistent()).unwrap();
    m.add_check_version("/f", 7).unwrap();
    m.add_set_data("/f", b"x", None).unwrap();
    let err = tm(m.commit()).await.unwrap_err();
    assert_eq!(
        err,
        MultiWriteError::OperationFailed {
            index: 1,
            source: Error::BadVersion
        }
    );
    assert!(tm(c.check_stat("/f/new")).await.unwrap().is_none());
    assert_eq!(tm(c.get_data("/f")).await.unwrap().0, b"0");
}

#[test]
fn failed_multi_per_op_results_on_the_wire() {
    let w = Warren::start();
    let mut r = Raw::connect(&w.addr(), 30_000);
    let create = |p: &str| Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: p.into(),
            data: Some(vec![]),
            acl: Acl::open_unsafe().into(),
            flags: 0,
        },
    };
    assert_eq!(r.err(&create("/x")), 0);
    let multi = Request::Multi(vec![
        create("/x/1"),
        Request::SetData(SetDataRequest {
            path: "/x".into(),
            data: Some(b"d".to_vec()),
            version: -1,
        }),
        Request::Delete(PathVersionRequest {
            path: "/nonexistent".into(),
            version: -1,
        }),
        create("/x/2"),
        Request::Check(PathVersionRequest {
            path: "/x".into(),
            version: 0,
        }),
    ]);
    let (h, body) = r.call(&multi).unwrap();
    assert_eq!(h.err, 0, "a failed multi still has reply err 0");
    let res = decode_multi_response(&mut Reader::new(&body)).unwrap();
    assert_eq!(
        res,
        vec![
            OpResult::Error { err: 0 },
            OpResult::Error { err: 0 },
            OpResult::Error { err: -101 },
            OpResult::Error { err: -2 },
            OpResult::Error { err: -2 },
        ]
    );
    let exists = Request::Exists(PathWatchRequest {
        path: "/x/1".into(),
        watch: false,
    });
    assert_eq!(r.err(&exists), -101);
    // An empty multi succeeds with no results.
    let (h, body) = r.call(&Request::Multi(vec![])).unwrap();
    assert_eq!(h.err, 0);
    assert_eq!(
        decode_multi_response(&mut Reader::new(&body)).unwrap(),
        vec![]
    );
}
