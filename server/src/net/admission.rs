//! Admission: how much client work the server holds at once.
//!
//! Every request a connection reads takes one of `globalOutstandingLimit` places and
//! [`IN_FLIGHT_COPIES`] times its frame's bytes from a byte allowance (the budget's share
//! for requests in flight, see [`crate::config::MemoryPlan`]) before its body is read,
//! and gives both back once its reply is queued. The multiple is what a write really
//! costs while it is in flight: its bytes are held in several forms at once (the
//! decoded request or the txn, the decided changes, the overlay, the WAL record), so
//! charging the frame once let a load of large values hold several times the allowance.
//! While either is used up, the connections stop reading, as ZooKeeper stops reading
//! from clients over its outstanding limit: TCP pushes back on the clients, and every
//! queue between a socket and the disk (the requests waiting for the writer, the
//! overlay of proposed txns, the log's queue, the applier's queue, the connections'
//! reply queues) stays bounded by these two numbers, in count and in bytes.
//!
//! The places are handed out fairly (tokio's semaphore is first come, first served), and
//! one connection may hold at most its own share of them (see
//! [`crate::config::Config::per_connection_outstanding`]), so a client that pipelines
//! thousands of requests slows itself down, not everyone else.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::IN_FLIGHT_COPIES;

/// The server's two allowances.
pub struct Admission {
    requests: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    /// The byte allowance's size: a request whose charge is larger takes all of it (and
    /// so waits until nothing else is in flight) rather than being refused.
    bytes_total: u32,
}

/// What one admitted request holds until its reply is queued.
pub struct Admitted {
    _request: OwnedSemaphorePermit,
    _bytes: OwnedSemaphorePermit,
}

impl Admission {
    /// Allowances of `requests` outstanding requests and a charge of `bytes` bytes.
    pub fn new(requests: usize, bytes: usize) -> Admission {
        let bytes_total = u32::try_from(bytes).unwrap_or(u32::MAX);
        Admission {
            requests: Arc::new(Semaphore::new(requests.min(Semaphore::MAX_PERMITS))),
            bytes: Arc::new(Semaphore::new(bytes_total as usize)),
            bytes_total,
        }
    }

    /// Waits for a place for a request whose frame is `len` bytes long, charged
    /// [`IN_FLIGHT_COPIES`] × `len`.
    pub async fn admit(&self, len: usize) -> Admitted {
        let request = self.requests.clone().acquire_owned().await;
        let want = u32::try_from(len.saturating_mul(IN_FLIGHT_COPIES))
            .unwrap_or(u32::MAX)
            .clamp(1, self.bytes_total);
        let bytes = self.bytes.clone().acquire_many_owned(want).await;
        match (request, bytes) {
            (Ok(request), Ok(bytes)) => Admitted {
                _request: request,
                _bytes: bytes,
            },
            // The semaphores are never closed.
            _ => unreachable!("admission semaphores are never closed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_request_waits_while_the_limit_is_used_up() {
        let a = Arc::new(Admission::new(2, 1 << 20));
        let first = a.admit(10).await;
        let _second = a.admit(10).await;
        let waiting = tokio::spawn({
            let a = a.clone();
            async move { a.admit(10).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "a third request got in over a limit of 2"
        );
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("admitted once a place was given back")
            .expect("task");
    }

    #[tokio::test]
    async fn a_request_is_charged_its_in_flight_copies() {
        let a = Arc::new(Admission::new(100, 100 * IN_FLIGHT_COPIES));
        let first = a.admit(60).await;
        let waiting = tokio::spawn({
            let a = a.clone();
            async move { a.admit(60).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "two 60-byte frames got in where their copies take more than the allowance"
        );
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("admitted once the first was done")
            .expect("task");
    }

    #[tokio::test]
    async fn bytes_are_an_allowance_and_a_frame_larger_than_it_takes_all_of_it() {
        let a = Arc::new(Admission::new(100, 1000));
        let huge = a.admit(5000).await;
        let waiting = tokio::spawn({
            let a = a.clone();
            async move { a.admit(1).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "a frame got in beside one that took every byte"
        );
        drop(huge);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("admitted once the bytes were given back")
            .expect("task");
    }
}
