//! Session ids in ZooKeeper's scheme: the server id in the top byte, the creation time in
//! milliseconds in the bits below it, then a counter. Ids made by different servers of an
//! ensemble never collide, and a restarted server starts past the ids it handed out.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The next session id of this server.
pub struct SessionIds {
    next: AtomicI64,
    myid: u8,
}

impl SessionIds {
    /// Ids for server `myid`, starting from the current time.
    pub fn new(myid: u8) -> SessionIds {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let first = (((now_ms << 24) as u64) >> 8) as i64 | (i64::from(myid) << 56);
        SessionIds {
            next: AtomicI64::new(first),
            myid,
        }
    }

    /// A fresh id.
    pub fn next(&self) -> i64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Makes sure `id` is never handed out again. Ids of other servers (another top
    /// byte) are theirs to avoid.
    pub fn skip_past(&self, id: i64) {
        if (id >> 56) as u8 == self.myid {
            let _ = self.next.fetch_max(id.wrapping_add(1), Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_id_is_the_top_byte() {
        for myid in [1u8, 7, 255] {
            let id = SessionIds::new(myid).next();
            assert_eq!((id >> 56) as u8, myid);
        }
    }

    #[test]
    fn another_servers_ids_do_not_move_this_ones() {
        let one = SessionIds::new(1);
        let first = one.next();
        one.skip_past(SessionIds::new(3).next());
        assert_eq!(one.next(), first + 1);
        one.skip_past(first + 10);
        assert_eq!(one.next(), first + 11);
    }
}
