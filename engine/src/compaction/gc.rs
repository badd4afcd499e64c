//! Which versions survive a compaction.
//!
//! Reads are served at any sequence number at or above the horizon (the oldest pinned
//! snapshot or `last_seq - retention_seqs`), so for each user key the merge keeps every
//! version above the horizon and the newest one at or below it, which is what a read at
//! the horizon sees. Older versions can never be read again and are dropped. The kept
//! version at the horizon is dropped too when it is a tombstone and no deeper level can
//! hold the key: there is then nothing left for it to hide.

use super::Compaction;
use crate::key::{self, KIND_DELETE};
use crate::version::{Version, NUM_LEVELS};

/// Whether no level below `output_level` may hold `user`.
fn is_bottom(v: &Version, output_level: usize, user: &[u8]) -> bool {
    for l in output_level + 1..NUM_LEVELS {
        let files = &v.levels[l];
        let i = v.find_file(l, user);
        if i < files.len() && files[i].smallest_user() <= user {
            return false;
        }
    }
    true
}

/// Decides, entry by entry of the merged stream (user key ascending, newest version
/// first), which versions a reader may still need.
pub(super) struct VersionFilter<'a> {
    horizon: u64,
    version: &'a Version,
    output_level: usize,
    cur_user: Vec<u8>,
    have_user: bool,
    seen_at_or_below: bool,
}

impl<'a> VersionFilter<'a> {
    pub(super) fn new(c: &'a Compaction, horizon: u64) -> Self {
        VersionFilter {
            horizon,
            version: &c.version,
            output_level: c.output_level,
            cur_user: Vec::new(),
            have_user: false,
            seen_at_or_below: false,
        }
    }

    /// Whether the entry (`k`, `value`) is kept: every version above the horizon, and the
    /// newest at or below it unless that is a tombstone no deeper level needs to shadow.
    pub(super) fn keep(&mut self, k: &[u8], value: &[u8]) -> bool {
        let user = key::user_key(k);
        if !self.have_user || user != self.cur_user.as_slice() {
            self.cur_user.clear();
            self.cur_user.extend_from_slice(user);
            self.have_user = true;
            self.seen_at_or_below = false;
        }
        if key::seq(k) > self.horizon {
            true
        } else if !self.seen_at_or_below {
            self.seen_at_or_below = true;
            let tomb = value.first() == Some(&KIND_DELETE);
            !(tomb && is_bottom(self.version, self.output_level, user))
        } else {
            false
        }
    }
}
