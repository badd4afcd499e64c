//! The counter: an `add` is one multi creating 1 to 5 sequential children of `/counter`
//! at once; a `read` counts the children.

use rand::Rng;
use zookeeper_client as zk;

use crate::client::{opts, perform, Done};
use crate::history::Value;

use super::{pace, Worker};

pub async fn work(w: &mut Worker) {
    let sequential = opts(zk::CreateMode::PersistentSequential);
    while w.running() {
        pace(w).await;
        let Some(c) = w.session.client().await else {
            continue;
        };
        let done = if w.rng.gen_bool(0.5) {
            let n: i64 = w.rng.gen_range(1..=5);
            perform(&w.rec, w.id, "add", "/counter", Value::Int(n), || async {
                let mut multi = c.new_multi_writer();
                for _ in 0..n {
                    if let Err(e) = multi.add_create("/counter/c-", b"", &sequential) {
                        return Done::erred(e, Value::Int(n));
                    }
                }
                let r = multi.commit().await.map_err(zk::Error::from);
                Done::of(r.map(|_| Value::Int(n)), &Value::Int(n))
            })
            .await
        } else {
            let sync = w.sync_reads;
            perform(&w.rec, w.id, "read", "/counter", Value::Null, || async {
                if sync {
                    if let Err(e) = c.sync("/counter").await {
                        return Done::erred(e, Value::Null);
                    }
                }
                let r = c
                    .check_stat("/counter")
                    .await
                    .map(|stat| Value::Int(stat.map_or(i64::MIN, |s| i64::from(s.num_children))));
                Done::of(r, &Value::Null)
            })
            .await
        };
        w.session.after(done.error.as_ref());
    }
}
