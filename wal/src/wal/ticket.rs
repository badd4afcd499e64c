//! What `append` hands back: a ticket to redeem for the record's durability.
//!
//! Appending and waiting are separate so that a caller can queue many records and wait
//! once, and so that the wait can be either a blocked thread ([`AppendTicket::wait`]) or
//! a parked async task ([`AppendTicket::durable`]). The async side needs no runtime of
//! its own: the future leaves its waker with the progress state, keyed by its seq, and
//! the writer thread wakes it directly once that seq is acknowledged. A future dropped
//! before then takes its waker back out, so abandoned waits leave nothing behind.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::shared::{lock, Shared};
use crate::error::Result;

/// Proof of an append; redeem it to learn when the record is durable.
#[must_use = "an append is not durable until its ticket completes"]
pub struct AppendTicket {
    seq: u64,
    epoch: u64,
    shared: Arc<Shared>,
}

impl AppendTicket {
    pub(super) fn new(seq: u64, epoch: u64, shared: Arc<Shared>) -> AppendTicket {
        AppendTicket { seq, epoch, shared }
    }

    /// The seq this ticket is for.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Blocks until the record is durable (as the fsync policy defines it).
    ///
    /// # Errors
    /// `WalError::Failed` if a write or fsync failed before the record became durable.
    pub fn wait(self) -> Result<()> {
        self.shared
            .wait_until(|p| p.acked(self.seq, self.epoch, &self.shared))
    }

    /// Completes when the record is durable, without blocking a thread: usable from any
    /// async runtime, as the writer thread wakes the task directly.
    ///
    /// # Errors
    /// As [`AppendTicket::wait`].
    pub async fn durable(self) -> Result<()> {
        Durable {
            seq: self.seq,
            epoch: self.epoch,
            shared: self.shared,
            key: None,
        }
        .await
    }
}

struct Durable {
    seq: u64,
    epoch: u64,
    shared: Arc<Shared>,
    /// Where this future's waker is registered, once it has been polled while pending.
    key: Option<(u64, u64)>,
}

impl Future for Durable {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut p = lock(&this.shared.progress);
        if let Some(outcome) = p.settled(p.acked(this.seq, this.epoch, &this.shared)) {
            if let Some(k) = this.key.take() {
                p.wakers.remove(&k);
            }
            return Poll::Ready(outcome);
        }
        let key = match this.key {
            Some(k) => k,
            None => {
                let k = (this.seq, p.next_waker_id);
                p.next_waker_id += 1;
                this.key = Some(k);
                k
            }
        };
        match p.wakers.get_mut(&key) {
            Some(w) if w.will_wake(cx.waker()) => {}
            Some(w) => w.clone_from(cx.waker()),
            None => {
                p.wakers.insert(key, cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

impl Drop for Durable {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            lock(&self.shared.progress).wakers.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::task::{Wake, Waker};
    use std::time::Duration;

    use super::*;
    use crate::wal::{Wal, WalOptions};

    struct CountingWaker(AtomicU64);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn pending_async_waiter_is_woken_and_deregistered_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), WalOptions::default()).unwrap();
        let counter = Arc::new(CountingWaker(AtomicU64::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);

        // Holding `files` stalls the writer, so the tickets cannot complete yet.
        let files = lock(&wal.sh().files);
        let t1 = wal.append(1, b"a").unwrap();
        let t2 = wal.append(2, b"b").unwrap();
        let mut f1 = Box::pin(t1.durable());
        let mut f2 = Box::pin(t2.durable());
        assert!(f1.as_mut().poll(&mut cx).is_pending());
        assert!(f2.as_mut().poll(&mut cx).is_pending());
        assert!(f2.as_mut().poll(&mut cx).is_pending()); // re-poll does not re-register
        assert_eq!(lock(&wal.sh().progress).wakers.len(), 2);
        drop(f2);
        assert_eq!(lock(&wal.sh().progress).wakers.len(), 1);
        drop(files);

        while counter.0.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(matches!(f1.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
        assert!(lock(&wal.sh().progress).wakers.is_empty());
    }
}
