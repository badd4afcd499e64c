//! The state a txn is decided and applied against.
//!
//! A [`View`] reads the engine's applied state, under the changes of txns that are
//! logged but not yet applied (the [`Overlay`]), under the changes of the txn being
//! built. The write pipeline decides each txn on a view with the overlay, so a txn sees
//! every txn proposed before it; the apply step reads the engine alone, because by then
//! every txn before it is applied.

use std::collections::BTreeMap;
use std::ops::Bound;

use warren_engine::{Engine, ReadSeq, WriteBatch};
use warren_proto::{Acl, JVec, Jute};

use crate::keys::{acl_key, meta_key, node_key, EPHEMERALS, EPHEMERAL_COUNT, NODE_COUNT};
use crate::node::{acl_id, Node};
use crate::{corrupt, KeyValues, TreeError, Writes};

/// A pending value of a key: the proposal that wrote it, and the value (`None`: deleted).
type Pending = (u64, Option<Vec<u8>>);

/// The changes of proposed txns that the engine does not hold yet, by key. Each change
/// carries the id of the proposal that made it (ids only grow), and a key changed by
/// several pending proposals keeps all their values, newest last, so that discarding the
/// newest proposals (a leader that lost its term) uncovers the older values again.
#[derive(Debug, Default)]
pub struct Overlay {
    entries: BTreeMap<Vec<u8>, Vec<Pending>>,
    /// The keys each pending proposal changed, oldest proposal first.
    proposals: BTreeMap<u64, Vec<Vec<u8>>>,
}

impl Overlay {
    /// Records the changes of proposal `id`, which is newer than every recorded one.
    pub fn record(&mut self, id: u64, changes: &[(Vec<u8>, Option<Vec<u8>>)]) {
        for (k, v) in changes {
            self.entries
                .entry(k.clone())
                .or_default()
                .push((id, v.clone()));
        }
        self.proposals
            .insert(id, changes.iter().map(|(k, _)| k.clone()).collect());
    }

    /// Forgets the changes of proposal `id` and of every older one: the engine holds them.
    pub fn applied(&mut self, id: u64) {
        while let Some(oldest) = self.proposals.first_entry() {
            if *oldest.key() > id {
                break;
            }
            for key in oldest.remove() {
                if let Some(stack) = self.entries.get_mut(&key) {
                    stack.retain(|(p, _)| *p > id);
                    if stack.is_empty() {
                        self.entries.remove(&key);
                    }
                }
            }
        }
    }

    /// Drops the changes of every proposal newer than `id`: they will never commit.
    pub fn discard_after(&mut self, id: u64) {
        for key in self.proposals.split_off(&(id + 1)).into_values().flatten() {
            if let Some(stack) = self.entries.get_mut(&key) {
                stack.retain(|(p, _)| *p <= id);
                if stack.is_empty() {
                    self.entries.remove(&key);
                }
            }
        }
    }

    /// Whether no proposal is pending.
    pub fn is_empty(&self) -> bool {
        self.proposals.is_empty()
    }

    /// The newest pending value of `key`.
    fn get(&self, key: &[u8]) -> Option<&Option<Vec<u8>>> {
        self.entries.get(key).and_then(|s| s.last()).map(|(_, v)| v)
    }
}

/// The state a txn is decided and applied against (see the module docs).
pub struct View<'a> {
    engine: &'a Engine,
    at: ReadSeq,
    overlay: Option<&'a Overlay>,
    local: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a> View<'a> {
    /// A view of the engine under `overlay`.
    pub fn new(engine: &'a Engine, overlay: Option<&'a Overlay>) -> View<'a> {
        View {
            engine,
            at: ReadSeq::Latest,
            overlay,
            local: BTreeMap::new(),
        }
    }

    /// A view of the engine as of `at` (a pinned snapshot's sequence number, so a
    /// request that reads several keys sees them all at one zxid).
    pub fn at(engine: &'a Engine, at: ReadSeq) -> View<'a> {
        View {
            at,
            ..View::new(engine, None)
        }
    }

    /// Reads a key.
    ///
    /// # Errors
    /// Engine failures.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TreeError> {
        if let Some(v) = self.local.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.overlay.and_then(|o| o.get(key)) {
            return Ok(v.clone());
        }
        Ok(self.engine.get(key, self.at)?)
    }

    /// Calls `f` with every live key and value under `prefix`, in key order, without
    /// collecting them: the engine's keys stream past, and the pending changes (the
    /// overlay's and this view's own, bounded by the work in flight, not by the tree) are
    /// merged in on the way. Memory does not grow with the number of keys.
    ///
    /// # Errors
    /// Engine failures, and whatever `f` returns.
    pub fn for_each_prefix(
        &self,
        prefix: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> Result<(), TreeError>,
    ) -> Result<(), TreeError> {
        let mut pending = self.pending_under(prefix).into_iter().peekable();
        for kv in self.engine.scan_prefix(prefix, self.at)? {
            let (k, v) = kv?;
            while let Some((pk, pv)) = pending.next_if(|(pk, _)| pk.as_slice() < k.as_slice()) {
                if let Some(pv) = pv {
                    f(&pk, &pv)?;
                }
            }
            match pending.next_if(|(pk, _)| *pk == k) {
                Some((pk, Some(pv))) => f(&pk, &pv)?,
                Some((_, None)) => {}
                None => f(&k, &v)?,
            }
        }
        for (pk, pv) in pending {
            if let Some(pv) = pv {
                f(&pk, &pv)?;
            }
        }
        Ok(())
    }

    /// The overlay's and this view's changes under `prefix` (this view's win).
    fn pending_under(&self, prefix: &[u8]) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        let mut pending = BTreeMap::new();
        let range = (Bound::Included(prefix.to_vec()), Bound::Unbounded);
        if let Some(o) = self.overlay {
            for (k, stack) in o.entries.range(range.clone()) {
                if !k.starts_with(prefix) {
                    break;
                }
                if let Some((_, v)) = stack.last() {
                    pending.insert(k.clone(), v.clone());
                }
            }
        }
        for (k, v) in self.local.range(range) {
            if !k.starts_with(prefix) {
                break;
            }
            pending.insert(k.clone(), v.clone());
        }
        pending
    }

    /// All live keys under `prefix`, in order. Only for small key ranges (a session's
    /// ephemerals): it collects them; [`View::for_each_prefix`] streams.
    ///
    /// # Errors
    /// Engine failures.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<KeyValues, TreeError> {
        let mut out = Vec::new();
        self.for_each_prefix(prefix, |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            Ok(())
        })?;
        Ok(out)
    }

    pub(crate) fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.local.insert(key, Some(value));
    }

    pub(crate) fn delete(&mut self, key: Vec<u8>) {
        self.local.insert(key, None);
    }

    /// Reads a node.
    ///
    /// # Errors
    /// Engine failures and corrupt records.
    pub fn node(&self, path: &str) -> Result<Option<Node>, TreeError> {
        self.get(&node_key(path))?
            .map(|b| Node::decode(&b))
            .transpose()
    }

    /// Number of znodes, kept as a counter so nothing has to scan the tree for it.
    ///
    /// # Errors
    /// Engine failures and corrupt records.
    pub fn node_count(&self) -> Result<i64, TreeError> {
        Ok(self.counter(NODE_COUNT)?.unwrap_or(0))
    }

    pub(crate) fn add_nodes(&mut self, delta: i64) -> Result<(), TreeError> {
        let n = self.node_count()? + delta;
        self.put(meta_key(NODE_COUNT), n.to_le_bytes().to_vec());
        Ok(())
    }

    /// Number of ephemeral znodes, kept as a counter so `mntr` and the metrics cost one
    /// read. A tree written before the counter existed has none: its ephemeral-owner
    /// index is counted as it streams past (nothing is collected), until the first
    /// ephemeral create or delete stores the counter.
    ///
    /// # Errors
    /// Engine failures and corrupt records.
    pub fn ephemeral_count(&self) -> Result<i64, TreeError> {
        if let Some(n) = self.counter(EPHEMERAL_COUNT)? {
            return Ok(n);
        }
        let mut n = 0i64;
        self.for_each_prefix(&[EPHEMERALS], |_, _| {
            n += 1;
            Ok(())
        })?;
        Ok(n)
    }

    /// Adds `delta` to the ephemeral counter; called before the ephemeral-owner index
    /// changes, so a tree without the counter yet counts its index as it was.
    pub(crate) fn add_ephemerals(&mut self, delta: i64) -> Result<(), TreeError> {
        let n = self.ephemeral_count()? + delta;
        self.put(meta_key(EPHEMERAL_COUNT), n.to_le_bytes().to_vec());
        Ok(())
    }

    /// A counter under `m`, `None` when it was never stored.
    fn counter(&self, name: &'static str) -> Result<Option<i64>, TreeError> {
        let Some(b) = self.get(&meta_key(name))? else {
            return Ok(None);
        };
        let a: [u8; 8] = b
            .as_slice()
            .try_into()
            .map_err(|_| corrupt(name, format!("{} bytes", b.len())))?;
        Ok(Some(i64::from_le_bytes(a)))
    }

    pub(crate) fn put_node(&mut self, path: &str, node: &Node) {
        self.put(node_key(path), node.encode());
    }

    /// Reads an ACL list by id.
    ///
    /// # Errors
    /// Engine failures and corrupt records.
    pub fn acl(&self, id: u64) -> Result<Vec<Acl>, TreeError> {
        match self.get(&acl_key(id))? {
            None => Err(corrupt("acl", format!("ACL id {id:#x} is missing"))),
            Some(b) => decode_acl(&b),
        }
    }

    pub(crate) fn intern_acl(&mut self, acl: &[Acl]) -> Result<u64, TreeError> {
        let id = acl_id(acl);
        if self.get(&acl_key(id))?.is_none() {
            self.put(acl_key(id), JVec(acl.to_vec()).to_bytes());
        }
        Ok(id)
    }

    /// The changes made through this view, to log in the overlay and write to the engine.
    pub fn take_changes(&mut self) -> Writes {
        std::mem::take(&mut self.local).into_iter().collect()
    }

    /// Drops the changes made through this view (a failed multi's partial work).
    pub fn discard(&mut self) {
        self.local.clear();
    }
}

fn decode_acl(b: &[u8]) -> Result<Vec<Acl>, TreeError> {
    Ok(JVec::<Acl>::from_bytes(b).map_err(|e| corrupt("acl", e))?.0)
}

/// Reads an ACL list by id as the engine will hold it once `writes` are written. The
/// watch events of a txn are checked before its writes reach the engine, and the txn
/// may be the one that brings a new ACL.
///
/// # Errors
/// Engine failures and corrupt or missing records.
pub fn acl_after(
    engine: &Engine,
    writes: &[(Vec<u8>, Option<Vec<u8>>)],
    id: u64,
) -> Result<Vec<Acl>, TreeError> {
    let key = acl_key(id);
    if let Some((_, Some(b))) = writes.iter().find(|(k, _)| *k == key) {
        return decode_acl(b);
    }
    View::new(engine, None).acl(id)
}

/// Writes a set of changes to the engine as one atomic batch stamped with `zxid`.
///
/// # Errors
/// Engine failures.
pub fn write_changes(
    engine: &Engine,
    zxid: i64,
    changes: &[(Vec<u8>, Option<Vec<u8>>)],
) -> Result<(), TreeError> {
    let mut batch = WriteBatch::default();
    for (k, v) in changes {
        match v {
            Some(v) => batch.put(k.clone(), v.clone()),
            None => batch.delete(k.clone()),
        }
    }
    engine.write(zxid as u64, batch)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str, v: &str) -> (Vec<u8>, Option<Vec<u8>>) {
        (k.as_bytes().to_vec(), Some(v.as_bytes().to_vec()))
    }

    #[test]
    fn discarding_newer_proposals_uncovers_older_values() {
        let mut o = Overlay::default();
        o.record(1, &[put("a", "1")]);
        o.record(2, &[put("a", "2"), put("b", "2")]);
        o.record(3, &[(b"a".to_vec(), None)]);
        assert_eq!(o.get(b"a"), Some(&None));
        o.discard_after(1);
        assert_eq!(o.get(b"a"), Some(&Some(b"1".to_vec())));
        assert_eq!(o.get(b"b"), None);
        o.record(4, &[put("b", "4")]);
        o.applied(1);
        assert_eq!(o.get(b"a"), None);
        assert_eq!(o.get(b"b"), Some(&Some(b"4".to_vec())));
        o.applied(4);
        assert!(o.is_empty() && o.entries.is_empty());
    }

    #[test]
    fn a_prefix_streams_the_engine_under_the_overlay_and_the_views_own_changes() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), warren_engine::EngineOptions::default()).unwrap();
        write_changes(&engine, 1, &[put("pa", "1"), put("pc", "1"), put("q", "1")]).unwrap();
        let mut o = Overlay::default();
        o.record(1, &[(b"pc".to_vec(), None), put("pb", "2")]);
        let mut v = View::new(&engine, Some(&o));
        v.put(b"pd".to_vec(), b"3".to_vec());
        v.put(b"pa".to_vec(), b"3".to_vec());
        let mut seen = Vec::new();
        v.for_each_prefix(b"p", |k, val| {
            seen.push((k.to_vec(), val.to_vec()));
            Ok(())
        })
        .unwrap();
        let want: Vec<_> = [("pa", "3"), ("pb", "2"), ("pd", "3")]
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        assert_eq!(seen, want);
        assert_eq!(v.scan_prefix(b"p").unwrap(), want);
    }
}
