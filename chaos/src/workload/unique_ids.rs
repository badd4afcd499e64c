//! Unique ids: each `generate` is a sequential create under `/ids`; its answer, the name
//! the server chose, is the id.

use crate::client::{opts, perform, Done};
use crate::history::Value;
use zookeeper_client as zk;

use super::{pace, Worker};

pub async fn work(w: &mut Worker) {
    let sequential = opts(zk::CreateMode::PersistentSequential);
    while w.running() {
        pace(w).await;
        let Some(c) = w.session.client().await else {
            continue;
        };
        let done = perform(&w.rec, w.id, "generate", "/ids", Value::Null, || async {
            let r = c.create("/ids/id-", b"", &sequential).await;
            Done::of(
                r.map(|(_, seq)| Value::Text(format!("id-{seq}"))),
                &Value::Null,
            )
        })
        .await;
        w.session.after(done.error.as_ref());
    }
}
