//! The small durable files beside the log, in `<dataDir>/raft/`:
//!
//! - `vote.json`: the vote (term and whom this server voted for, committed or not) and
//!   the last purged log id. Replaced atomically (write, fsync, rename, fsync the dir)
//!   before Raft acts on a new vote, so a server never votes twice in a term.
//! - `terms.jsonl`: one line per term, where the term's entries start in the log. Lines
//!   are facts about the committed log, which never changes, so they are only appended.
//! - `membership.jsonl`: every membership the state machine applied, in log order.
//! - the snapshot files ([`crate::snapshot`]). Installing a snapshot replaces
//!   `terms.jsonl` and `membership.jsonl` with the snapshot's (atomically, each).
//!
//! A last line without its newline is a torn append and is ignored; any other line that
//! does not parse stops start-up with the file and line named.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{LogId, ReplicationError};

/// What `vote.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteState {
    pub vote: Option<openraft::Vote<u64>>,
    pub purged: Option<LogId>,
}

/// The `raft/` directory of a data dir.
#[derive(Debug, Clone)]
pub struct MetaDir {
    dir: PathBuf,
}

fn io(path: &Path, source: std::io::Error) -> ReplicationError {
    ReplicationError::Io {
        path: path.to_owned(),
        source,
    }
}

impl MetaDir {
    /// The directory, created when missing.
    ///
    /// # Errors
    /// [`ReplicationError::Io`] when it cannot be created.
    pub fn open(dir: &Path) -> Result<MetaDir, ReplicationError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        Ok(MetaDir {
            dir: dir.to_owned(),
        })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The saved vote state (default when none was saved).
    ///
    /// # Errors
    /// Read failures; a file that does not parse.
    pub fn read_vote(&self) -> Result<VoteState, ReplicationError> {
        let path = self.dir.join("vote.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ReplicationError::Corrupt {
                path,
                reason: format!("not a vote record: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(VoteState::default()),
            Err(e) => Err(io(&path, e)),
        }
    }

    /// Replaces the vote state durably.
    ///
    /// # Errors
    /// Write, fsync or rename failures.
    pub fn write_vote(&self, state: &VoteState) -> Result<(), ReplicationError> {
        let bytes = serde_json::to_vec(state).map_err(|e| ReplicationError::Corrupt {
            path: self.dir.join("vote.json"),
            reason: e.to_string(),
        })?;
        self.replace("vote.json", &bytes)
    }

    fn replace(&self, name: &str, bytes: &[u8]) -> Result<(), ReplicationError> {
        let tmp = self.dir.join(format!("{name}.tmp"));
        let path = self.dir.join(name);
        let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        self.sync_dir()
    }

    fn sync_dir(&self) -> Result<(), ReplicationError> {
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(&self.dir, e))
    }

    /// Appends one record as a line of `name`, durably.
    ///
    /// # Errors
    /// Write or fsync failures.
    pub fn append_line<T: Serialize>(
        &self,
        name: &str,
        record: &T,
    ) -> Result<(), ReplicationError> {
        let path = self.dir.join(name);
        let mut line = serde_json::to_vec(record).map_err(|e| ReplicationError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        line.push(b'\n');
        let existed = path.exists();
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        f.write_all(&line).map_err(|e| io(&path, e))?;
        f.sync_data().map_err(|e| io(&path, e))?;
        if !existed {
            self.sync_dir()?;
        }
        Ok(())
    }

    /// Replaces `name` with `records`, one per line, atomically and durably.
    ///
    /// # Errors
    /// Write, fsync or rename failures.
    pub fn replace_lines<T: Serialize>(
        &self,
        name: &str,
        records: &[T],
    ) -> Result<(), ReplicationError> {
        let mut text = Vec::new();
        for r in records {
            serde_json::to_writer(&mut text, r).map_err(|e| ReplicationError::Corrupt {
                path: self.dir.join(name),
                reason: e.to_string(),
            })?;
            text.push(b'\n');
        }
        self.replace(name, &text)
    }

    /// Every record of `name`, in order (none when the file does not exist).
    ///
    /// # Errors
    /// Read failures; a line other than a torn last one that does not parse.
    pub fn read_lines<T: DeserializeOwned>(&self, name: &str) -> Result<Vec<T>, ReplicationError> {
        let path = self.dir.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&path, e)),
        };
        let complete = text.ends_with('\n');
        let lines: Vec<&str> = text.lines().collect();
        let mut out = Vec::with_capacity(lines.len());
        for (n, line) in lines.iter().enumerate() {
            match serde_json::from_str(line) {
                Ok(r) => out.push(r),
                Err(_) if n + 1 == lines.len() && !complete => {
                    tracing::warn!(file = %path.display(), "ignoring a torn last line");
                }
                Err(e) => {
                    return Err(ReplicationError::Corrupt {
                        path,
                        reason: format!("line {}: {e}", n + 1),
                    })
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_ignored_and_a_bad_middle_line_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let m = MetaDir::open(d.path()).unwrap();
        m.append_line("x.jsonl", &1u64).unwrap();
        m.append_line("x.jsonl", &2u64).unwrap();
        let mut f = OpenOptions::new()
            .append(true)
            .open(d.path().join("x.jsonl"))
            .unwrap();
        f.write_all(b"{\"tor").unwrap();
        assert_eq!(m.read_lines::<u64>("x.jsonl").unwrap(), vec![1, 2]);
        f.write_all(b"\n3\n").unwrap();
        let e = m.read_lines::<u64>("x.jsonl").unwrap_err().to_string();
        assert!(e.contains("line 3"), "{e}");
    }

    #[test]
    fn the_vote_survives_reopen() {
        let d = tempfile::tempdir().unwrap();
        let m = MetaDir::open(d.path()).unwrap();
        assert_eq!(m.read_vote().unwrap(), VoteState::default());
        let s = VoteState {
            vote: Some(openraft::Vote::new(3, 2)),
            purged: None,
        };
        m.write_vote(&s).unwrap();
        assert_eq!(MetaDir::open(d.path()).unwrap().read_vote().unwrap(), s);
    }
}
