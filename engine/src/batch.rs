//! Atomic write batches.
//!
//! All operations of a batch are stamped with the one sequence number given to
//! [`Engine::write`](crate::Engine::write), and a reader's sequence either includes that
//! number or not, so a batch becomes visible all at once. The ops live in one byte buffer
//! so building a batch costs no allocation per entry.

/// One operation of a batch, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOp<'a> {
    /// Set `key` to `value`.
    Put(&'a [u8], &'a [u8]),
    /// Remove `key`.
    Delete(&'a [u8]),
}

#[derive(Debug, Clone, Copy)]
struct OpRef {
    kind: u8,
    start: usize,
    key_len: usize,
    value_len: usize,
}

/// A set of puts and deletes applied atomically. A later op on the same key wins.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    data: Vec<u8>,
    ops: Vec<OpRef>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put of `value` at `key`.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let (k, v) = (key.as_ref(), value.as_ref());
        let start = self.data.len();
        self.data.extend_from_slice(k);
        self.data.extend_from_slice(v);
        self.ops.push(OpRef {
            kind: crate::key::KIND_PUT,
            start,
            key_len: k.len(),
            value_len: v.len(),
        });
    }

    /// Adds a delete of `key`.
    pub fn delete(&mut self, key: impl AsRef<[u8]>) {
        let k = key.as_ref();
        let start = self.data.len();
        self.data.extend_from_slice(k);
        self.ops.push(OpRef {
            kind: crate::key::KIND_DELETE,
            start,
            key_len: k.len(),
            value_len: 0,
        });
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch has no operations.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Total key and value bytes (what the user asked to write).
    pub fn payload_bytes(&self) -> usize {
        self.data.len()
    }

    /// Removes every operation, keeping the allocation for reuse.
    pub fn clear(&mut self) {
        self.data.clear();
        self.ops.clear();
    }

    /// The operations, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = BatchOp<'_>> + '_ {
        self.ops.iter().map(move |o| {
            let key = &self.data[o.start..o.start + o.key_len];
            if o.kind == crate::key::KIND_PUT {
                let vs = o.start + o.key_len;
                BatchOp::Put(key, &self.data[vs..vs + o.value_len])
            } else {
                BatchOp::Delete(key)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_come_back_in_order() {
        let mut b = WriteBatch::new();
        b.put("a", "1");
        b.delete(b"b");
        b.put(vec![0u8], []);
        let ops: Vec<_> = b.iter().collect();
        assert_eq!(
            ops,
            vec![
                BatchOp::Put(b"a", b"1"),
                BatchOp::Delete(b"b"),
                BatchOp::Put(&[0], &[])
            ]
        );
        assert_eq!(b.len(), 3);
        b.clear();
        assert!(b.is_empty());
    }
}
