//! Internal keys: a user key followed by an 8-byte trailer holding the sequence number.
//!
//! The trailer is `!seq` in big-endian, so comparing trailers bytewise orders versions of
//! one user key newest first. The user key part still has to be compared on its own (a
//! plain bytewise compare of whole internal keys would mix trailer bytes with the user
//! key bytes of a longer key), which is what [`compare`] does.
//!
//! Entry values (in memtables and SSTables) start with one kind byte: [`KIND_PUT`] or
//! [`KIND_DELETE`].

use std::cmp::Ordering;

/// Length of the sequence trailer.
pub const TRAILER_LEN: usize = 8;
/// Kind byte of a tombstone.
pub const KIND_DELETE: u8 = 0;
/// Kind byte of a value.
pub const KIND_PUT: u8 = 1;

/// Writes the internal key of (`user`, `seq`) into `buf`, replacing its contents.
#[inline]
pub fn encode_into(buf: &mut Vec<u8>, user: &[u8], seq: u64) {
    buf.clear();
    buf.reserve(user.len() + TRAILER_LEN);
    buf.extend_from_slice(user);
    buf.extend_from_slice(&(!seq).to_be_bytes());
}

/// The internal key of (`user`, `seq`).
#[inline]
pub fn encode(user: &[u8], seq: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(user.len() + TRAILER_LEN);
    encode_into(&mut v, user, seq);
    v
}

/// The user key part. Never panics: a malformed (too short) key is all user key.
#[inline]
pub fn user_key(ikey: &[u8]) -> &[u8] {
    &ikey[..ikey.len().saturating_sub(TRAILER_LEN)]
}

/// The sequence number of an internal key (0 for a malformed key).
#[inline]
pub fn seq(ikey: &[u8]) -> u64 {
    match ikey.len().checked_sub(TRAILER_LEN) {
        Some(at) => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&ikey[at..]);
            !u64::from_be_bytes(b)
        }
        None => 0,
    }
}

/// Orders internal keys: user key ascending, then sequence descending.
#[inline]
pub fn compare(a: &[u8], b: &[u8]) -> Ordering {
    let (ua, ta) = a.split_at(a.len().saturating_sub(TRAILER_LEN));
    let (ub, tb) = b.split_at(b.len().saturating_sub(TRAILER_LEN));
    match ua.cmp(ub) {
        Ordering::Equal => ta.cmp(tb),
        o => o,
    }
}

/// An owned internal key ordered by [`compare`]; the memtable's map key.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct InternalKey(pub Vec<u8>);

impl Ord for InternalKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(&self.0, &other.0)
    }
}

impl PartialOrd for InternalKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_versions_sort_first_and_user_keys_compare_alone() {
        let a5 = encode(b"a", 5);
        let a9 = encode(b"a", 9);
        let ab1 = encode(b"ab", 1);
        assert_eq!(compare(&a9, &a5), Ordering::Less);
        assert_eq!(compare(&a5, &ab1), Ordering::Less);
        assert_eq!(compare(&a9, &ab1), Ordering::Less);
        assert_eq!(seq(&a9), 9);
        assert_eq!(user_key(&ab1), b"ab");
        assert_eq!(seq(&encode(b"", u64::MAX)), u64::MAX);
        assert_eq!(seq(b"x"), 0);
    }
}
