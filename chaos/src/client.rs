//! One worker's ZooKeeper session, and the rule that turns each call's outcome into a
//! history event.
//!
//! Every worker has a session of its own (the `zookeeper-client` crate on tokio). The
//! crate reconnects a live session by itself after a lost connection, to any member of the
//! connect string; once a session is lost for good (expired, closed), the worker opens a
//! new one. A call that errs with a server's definite refusal is a `fail`; anything else
//! that is not an answer (a timeout, a lost connection, an expired session) is an `info`.

use std::future::Future;
use std::time::Duration;

use zookeeper_client as zk;

use crate::history::{Kind, Recorder, Value};

/// How long one operation may take before its outcome is declared unknown.
pub const OP_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a session survives without a connection.
const SESSION_TIMEOUT: Duration = Duration::from_secs(8);

/// A worker's session, opened on first use and again after it is lost.
pub struct Session {
    connect: String,
    client: Option<zk::Client>,
}

impl Session {
    pub fn new(connect: String) -> Session {
        Session {
            connect,
            client: None,
        }
    }

    /// The live client, connecting a new session if there is none (`None` if that fails
    /// now: the servers are down, say; the caller tries again later).
    pub async fn client(&mut self) -> Option<&zk::Client> {
        if self.client.as_ref().is_some_and(|c| lost(c.state())) {
            self.client = None;
        }
        if self.client.is_none() {
            let connect = zk::Client::connector()
                .with_session_timeout(SESSION_TIMEOUT)
                .with_fail_eagerly()
                .connect(&self.connect);
            match tokio::time::timeout(OP_TIMEOUT * 2, connect).await {
                Ok(Ok(c)) => self.client = Some(c),
                _ => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    return None;
                }
            }
        }
        self.client.as_ref()
    }

    /// After an operation that erred with `error`: drops a session that is lost for good,
    /// so that the next operation opens a new one.
    pub fn after(&mut self, error: Option<&zk::Error>) {
        if matches!(
            error,
            Some(zk::Error::SessionExpired | zk::Error::ClientClosed | zk::Error::AuthFailed)
        ) {
            self.client = None;
        }
    }
}

fn lost(state: zk::SessionState) -> bool {
    matches!(
        state,
        zk::SessionState::Expired | zk::SessionState::Closed | zk::SessionState::AuthFailed
    )
}

/// Whether a server's answer `e` says for certain that the operation did not happen.
pub fn definite(e: &zk::Error) -> bool {
    matches!(
        e,
        zk::Error::NoNode
            | zk::Error::BadVersion
            | zk::Error::NodeExists
            | zk::Error::NotEmpty
            | zk::Error::NoAuth
            | zk::Error::BadArguments(_)
            | zk::Error::InvalidAcl
            | zk::Error::NoChildrenForEphemerals
    )
}

/// What an operation ended with: its kind, the completion's value and the error, if any.
pub struct Done {
    pub kind: Kind,
    pub value: Value,
    pub error: Option<zk::Error>,
}

impl Done {
    pub fn ok(value: Value) -> Done {
        Done {
            kind: Kind::Ok,
            value,
            error: None,
        }
    }

    /// A refusal or an unknown outcome, as `e` says, with `value` as its value.
    pub fn erred(e: zk::Error, value: Value) -> Done {
        let kind = if definite(&e) { Kind::Fail } else { Kind::Info };
        Done {
            kind,
            value,
            error: Some(e),
        }
    }

    pub fn of(r: Result<Value, zk::Error>, arg: &Value) -> Done {
        match r {
            Ok(v) => Done::ok(v),
            Err(e) => Done::erred(e, arg.clone()),
        }
    }
}

/// Records the invocation, runs `op` (which issues its requests only when called, so the
/// invocation comes first), bounds it by [`OP_TIMEOUT`] and records the completion; a
/// timeout is an `info` with the argument as its value.
pub async fn perform<F, Fut>(
    rec: &Recorder,
    client: usize,
    name: &str,
    key: &str,
    arg: Value,
    op: F,
) -> Done
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Done>,
{
    rec.record(client, Kind::Invoke, name, key, arg.clone());
    let done = match tokio::time::timeout(OP_TIMEOUT, op()).await {
        Ok(done) => done,
        Err(_) => Done {
            kind: Kind::Info,
            value: arg,
            error: None,
        },
    };
    rec.record(client, done.kind, name, key, done.value.clone());
    done
}

/// Create options for a world-open node of `mode`.
pub fn opts(mode: zk::CreateMode) -> zk::CreateOptions<'static> {
    mode.with_acls(zk::Acls::anyone_all())
}

/// A znode's data as the integer the workloads store in it; data that is not one (it
/// never should be) reads as `i64::MIN`, a value no operation writes, so the checkers
/// flag it.
pub fn parse_int(data: &[u8]) -> i64 {
    std::str::from_utf8(data)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(i64::MIN)
}
