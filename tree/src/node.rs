//! A znode as the engine stores it, and what its ephemeralOwner means.

use warren_proto::consts::owner;
use warren_proto::{Acl, Data, JVec, Jute, Stat, StatPersisted};

use crate::{corrupt, TreeError};

/// The id of an ACL list in the ACL table: a hash of its encoding, so equal lists share
/// one entry and the id never depends on the order txns were applied in.
pub fn acl_id(acl: &[Acl]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(&JVec(acl.to_vec()).to_bytes())
}

/// A znode as stored: ZooKeeper's persisted stat, the child count, the ACL id and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub stat: StatPersisted,
    pub num_children: i32,
    pub acl_id: u64,
    pub data: Data,
}

const NODE_FORMAT: u8 = 1;

impl Node {
    /// Encodes the node record (layout in docs/FORMATS.md).
    pub fn encode(&self) -> Vec<u8> {
        let s = &self.stat;
        let data_len = self.data.as_ref().map_or(0, Vec::len);
        let mut v = Vec::with_capacity(74 + data_len);
        v.push(NODE_FORMAT);
        for x in [s.czxid, s.mzxid, s.ctime, s.mtime] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        for x in [s.version, s.cversion, s.aversion] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(&s.ephemeral_owner.to_le_bytes());
        v.extend_from_slice(&s.pzxid.to_le_bytes());
        v.extend_from_slice(&self.num_children.to_le_bytes());
        v.extend_from_slice(&self.acl_id.to_le_bytes());
        match &self.data {
            None => v.push(0),
            Some(d) => {
                v.push(1);
                v.extend_from_slice(d);
            }
        }
        v
    }

    /// Decodes a node record.
    ///
    /// # Errors
    /// [`TreeError::Corrupt`] when the bytes are not a node record.
    pub fn decode(b: &[u8]) -> Result<Node, TreeError> {
        if b.len() < 74 || b[0] != NODE_FORMAT {
            return Err(corrupt(
                "node",
                format!("{} bytes, format {:?}", b.len(), b.first()),
            ));
        }
        let i64_at = |o: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[o..o + 8]);
            i64::from_le_bytes(a)
        };
        let i32_at = |o: usize| {
            let mut a = [0u8; 4];
            a.copy_from_slice(&b[o..o + 4]);
            i32::from_le_bytes(a)
        };
        Ok(Node {
            stat: StatPersisted {
                czxid: i64_at(1),
                mzxid: i64_at(9),
                ctime: i64_at(17),
                mtime: i64_at(25),
                version: i32_at(33),
                cversion: i32_at(37),
                aversion: i32_at(41),
                ephemeral_owner: i64_at(45),
                pzxid: i64_at(53),
            },
            num_children: i32_at(61),
            acl_id: i64_at(65) as u64,
            data: match b[73..].split_first() {
                Some((0, _)) => None,
                Some((_, d)) => Some(d.to_vec()),
                None => None,
            },
        })
    }

    /// The Stat clients see. The stored cversion counts child creates; ZooKeeper shows
    /// creates plus deletes, which is `2 × stored − numChildren`. Container and TTL nodes
    /// keep a marker in ephemeralOwner that clients see as 0.
    pub fn client_stat(&self) -> Stat {
        let mut st = Stat::from_persisted(
            &self.stat,
            self.data.as_ref().map_or(0, |d| d.len() as i32),
            self.num_children,
        );
        st.cversion = self
            .stat
            .cversion
            .wrapping_mul(2)
            .wrapping_sub(self.num_children);
        if owner_kind(self.stat.ephemeral_owner) != OwnerKind::Ephemeral {
            st.ephemeral_owner = 0;
        }
        st
    }
}

/// What a stored ephemeralOwner means (`EphemeralType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    Persistent,
    Ephemeral,
    Container,
    Ttl(i64),
}

/// Classifies a stored ephemeralOwner.
pub fn owner_kind(o: i64) -> OwnerKind {
    if o == 0 {
        OwnerKind::Persistent
    } else if o == owner::CONTAINER {
        OwnerKind::Container
    } else if o & owner::TTL_MASK == owner::TTL_MASK {
        OwnerKind::Ttl(o & owner::MAX_TTL)
    } else {
        OwnerKind::Ephemeral
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_records_round_trip_and_show_zookeeper_cversion() {
        let n = Node {
            stat: StatPersisted {
                czxid: 1,
                mzxid: 2,
                ctime: 3,
                mtime: 4,
                version: 5,
                cversion: 3,
                aversion: 7,
                ephemeral_owner: owner::CONTAINER,
                pzxid: 9,
            },
            num_children: 1,
            acl_id: 42,
            data: Some(b"hi".to_vec()),
        };
        assert_eq!(Node::decode(&n.encode()).unwrap(), n);
        let st = n.client_stat();
        assert_eq!((st.cversion, st.ephemeral_owner, st.data_length), (5, 0, 2));
        let null = Node { data: None, ..n };
        assert_eq!(Node::decode(&null.encode()).unwrap().data, None);
        assert!(Node::decode(b"junk").is_err());
    }
}
