//! The one-member log: Warren's WAL on this machine. A proposal is committed once its
//! record is durable (fsynced with its group, under the default fsync policy), and zxids
//! are simply one more than the last.
//!
//! `propose` appends without waiting, so many proposals share one fsync (group commit);
//! `next_committed` waits for the oldest appended record to be durable.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{mpsc, Mutex};

use warren_wal::{AppendTicket, Wal, WalError, WalStats};

use super::{Committed, Delivered, LogError, Proposal, TxnLog};

/// An appended proposal waiting to be durable.
struct InFlight {
    ticket: AppendTicket,
    committed: Committed,
}

/// The WAL as a one-member [`TxnLog`].
pub struct LocalLog {
    wal: Wal,
    last_zxid: AtomicI64,
    appended: mpsc::Sender<InFlight>,
    durable: Mutex<mpsc::Receiver<InFlight>>,
}

impl LocalLog {
    /// A log over `wal`, whose last zxid (in the log or the engine) is `last_zxid`.
    pub fn new(wal: Wal, last_zxid: i64) -> LocalLog {
        let (appended, durable) = mpsc::channel();
        LocalLog {
            wal,
            last_zxid: AtomicI64::new(last_zxid),
            appended,
            durable: Mutex::new(durable),
        }
    }
}

fn storage(e: WalError) -> LogError {
    LogError::Storage(e.to_string())
}

impl TxnLog for LocalLog {
    fn next_zxid_hint(&self) -> i64 {
        self.last_zxid.load(Ordering::SeqCst) + 1
    }

    fn propose(&self, proposal: Proposal) -> Result<(), LogError> {
        let Proposal { id, mut txn } = proposal;
        let zxid = self.next_zxid_hint();
        txn.header.zxid = zxid;
        let bytes = txn.encode();
        let ticket = self.wal.append(zxid as u64, &bytes).map_err(|e| match e {
            WalError::RecordTooLarge { len, max } => LogError::TooLarge { bytes: len, max },
            e => storage(e),
        })?;
        self.last_zxid.store(zxid, Ordering::SeqCst);
        let committed = Committed {
            proposal: Some(id),
            txn,
        };
        // The receiver lives as long as `self`.
        let _ = self.appended.send(InFlight { ticket, committed });
        Ok(())
    }

    fn next_committed(&self) -> Option<Result<Delivered, LogError>> {
        let next = {
            let rx = self.durable.lock().unwrap_or_else(|p| p.into_inner());
            rx.recv().ok()?
        };
        Some(
            next.ticket
                .wait()
                .map(|()| Delivered::Txn(next.committed))
                .map_err(storage),
        )
    }

    fn sync(&self) -> Result<(), LogError> {
        self.wal.sync().map_err(storage)
    }

    fn purge_below(&self, zxid: u64) -> Result<usize, LogError> {
        self.wal.purge_below(zxid).map_err(storage)
    }

    fn wal_stats(&self) -> WalStats {
        self.wal.stats()
    }
}
