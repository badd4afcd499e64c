//! The set: each `add` creates a znode named after a unique element under `/set`.

use crate::client::{opts, perform, Done};
use crate::history::Value;
use zookeeper_client as zk;

use super::{pace, Worker};
use crate::checker::set::element_name;

pub async fn work(w: &mut Worker) {
    let persistent = opts(zk::CreateMode::Persistent);
    let mut seq = 0;
    while w.running() {
        pace(w).await;
        seq += 1;
        let e = w.unique(seq);
        let Some(c) = w.session.client().await else {
            continue;
        };
        let path = format!("/set/{}", element_name(e));
        let done = perform(&w.rec, w.id, "add", "/set", Value::Int(e), || async {
            let r = c.create(&path, b"", &persistent).await;
            Done::of(r.map(|_| Value::Int(e)), &Value::Int(e))
        })
        .await;
        w.session.after(done.error.as_ref());
    }
}
