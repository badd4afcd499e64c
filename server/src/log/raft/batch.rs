//! Batching: many txns per Raft entry.
//!
//! Every Raft entry costs the leader a turn of openraft's core loop, an fdatasync on
//! each member and a round of replication, whatever it carries. So the leader does not
//! give Raft one txn at a time: the writer adds each proposal to the *open batch*, and a
//! proposer thread hands the open batch to Raft as one entry whenever fewer than
//! [`MAX_IN_FLIGHT`] of this server's entries are waiting for their commit. Under a light
//! load a batch holds one txn and goes at once; under a heavy one, txns gather while
//! earlier entries commit, and the batch size follows the load (up to
//! [`TXNS_PER_ENTRY`], or [`MAX_BATCH_BYTES`]), as ZooKeeper's leader batches its
//! proposals per fsync.
//!
//! The writer decides each txn with the zxid it will get, so the batches also predict
//! their log index: the next index after the log's last when a term starts, then one
//! more per batch. A wrong guess (a membership entry in between) only costs the applier
//! a recomputation. A batch left open when the term changes is dropped: the writer has
//! given its txns up (their decisions left the overlay), and their clients are answered
//! once later txns commit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use warren_replication::zxid::TXNS_PER_ENTRY;
use warren_replication::{Command, Member, ProposedTxn};

/// How many of this server's entries may wait for their commit before the open batch
/// waits too.
pub const MAX_IN_FLIGHT: u64 = 2;
/// A batch takes no more txns once it holds this many bytes (a larger txn goes alone).
pub const MAX_BATCH_BYTES: usize = 1 << 20;
/// How long the open batch waits for an entry in flight to commit before it goes anyway
/// (a safety net: entries in flight commit or the term ends long before).
const IN_FLIGHT_PATIENCE: Duration = Duration::from_millis(50);

/// The open batch and what the proposer thread needs to know to send it.
#[derive(Default)]
struct State {
    txns: Vec<ProposedTxn>,
    bytes: usize,
    /// The term the open batch is for, and the log index it should get.
    term: u64,
    index: u64,
    /// The index of the last entry sent to Raft in this term, and of the last committed
    /// entry handed to the applier: the difference is what is in flight.
    sent: u64,
    delivered: u64,
    /// Since when the open batch has waited for entries in flight.
    waiting_since: Option<Instant>,
    stopped: bool,
}

impl State {
    fn in_flight(&self) -> u64 {
        self.sent.saturating_sub(self.delivered)
    }

    fn full_for(&self, bytes: usize) -> bool {
        self.txns.len() >= TXNS_PER_ENTRY
            || (!self.txns.is_empty() && self.bytes + bytes > MAX_BATCH_BYTES)
    }
}

/// The open batch, shared by the writer (which fills it), the proposer thread (which
/// sends it) and the applier (whose progress lets the next batch go).
pub struct Batches {
    member: Arc<Member>,
    state: Mutex<State>,
    changed: Condvar,
}

impl Batches {
    /// The batches of `member`, with the proposer thread that sends them to Raft.
    pub fn start(member: Arc<Member>, runtime: tokio::runtime::Handle) -> Arc<Batches> {
        let batches = Arc::new(Batches {
            member,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let b = batches.clone();
        let spawned = std::thread::Builder::new()
            .name("raft-proposer".into())
            .spawn(move || b.send_batches(&runtime));
        if let Err(e) = spawned {
            tracing::error!("cannot start the raft-proposer thread: {e}");
            batches.state.lock().stopped = true;
        }
        batches
    }

    /// The zxid the next txn added would get if every batch commits as predicted.
    pub fn next_zxid(&self) -> Option<i64> {
        let mut st = self.state.lock();
        self.follow_term(&mut st);
        let (index, pos) = if st.full_for(0) {
            (st.index + 1, 0)
        } else {
            (st.index, st.txns.len())
        };
        self.member.terms.lock().zxid_at(st.term, index, pos)
    }

    /// Adds a txn to the open batch, waiting while the batch is full; `false` once the
    /// proposer has stopped.
    pub fn add(&self, txn: ProposedTxn) -> bool {
        let mut st = self.state.lock();
        loop {
            self.follow_term(&mut st);
            if st.stopped {
                return false;
            }
            if !st.full_for(txn.txn.len()) {
                break;
            }
            self.changed.wait_for(&mut st, IN_FLIGHT_PATIENCE);
        }
        st.bytes += txn.txn.len();
        st.txns.push(txn);
        self.changed.notify_all();
        true
    }

    /// Notes that the committed entry at `index` reached the applier (its last txn).
    pub fn delivered(&self, index: u64) {
        let mut st = self.state.lock();
        if index > st.delivered {
            st.delivered = index;
            self.changed.notify_all();
        }
    }

    /// Stops the proposer thread (its batch, if any, is dropped).
    pub fn stop(&self) {
        self.state.lock().stopped = true;
        self.changed.notify_all();
    }

    /// Starts afresh when the term has changed since the open batch was opened.
    fn follow_term(&self, st: &mut State) {
        let term = self.member.term();
        if st.term == term {
            return;
        }
        if !st.txns.is_empty() {
            tracing::info!(
                txns = st.txns.len(),
                "a new term: the txns not yet sent to Raft are given up"
            );
        }
        let next = self.member.log.last_index().map_or(0, |i| i + 1);
        *st = State {
            term,
            index: next,
            stopped: st.stopped,
            ..State::default()
        };
    }

    /// The proposer thread: sends each batch as soon as it may.
    fn send_batches(&self, runtime: &tokio::runtime::Handle) {
        while let Some(command) = self.next_batch() {
            let txns = command.txns.len();
            match runtime.block_on(self.member.raft.client_write_ff(command)) {
                // Committed txns reach their clients through the state machine; Raft's
                // own answer is only received so that openraft does not warn of an
                // answer nobody took.
                Ok(answer) => drop(runtime.spawn(answer)),
                // Raft has stopped or this server no longer leads: the txns never commit,
                // and their clients are answered as for any lost proposal.
                Err(e) => tracing::warn!(txns, "Raft did not take a batch: {e}"),
            }
        }
    }

    /// Waits until the open batch may go, and takes it; `None` once stopped.
    fn next_batch(&self) -> Option<Command> {
        let mut st = self.state.lock();
        loop {
            if st.stopped {
                return None;
            }
            self.follow_term(&mut st);
            if !st.txns.is_empty() {
                if st.in_flight() < MAX_IN_FLIGHT {
                    break;
                }
                let since = *st.waiting_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= IN_FLIGHT_PATIENCE {
                    break;
                }
            }
            self.changed.wait_for(&mut st, IN_FLIGHT_PATIENCE);
        }
        let txns = std::mem::take(&mut st.txns);
        st.bytes = 0;
        st.waiting_since = None;
        st.sent = st.index;
        st.index += 1;
        self.changed.notify_all();
        Some(Command {
            incarnation: self.member.incarnation,
            term: st.term,
            txns,
        })
    }
}
