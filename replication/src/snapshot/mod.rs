//! Snapshots: how a member that lags behind the leader's log (or starts empty) catches
//! up, and what lets every member purge its log.
//!
//! A snapshot is the engine's live pairs at one applied zxid, with the facts about the
//! log before it (where terms start, the memberships), in one checksummed file
//! ([`file`]). Every member builds its own every `snapCount` log entries ([`build`]),
//! without stopping writes; Raft then purges the log up to a little before it. A
//! member missing entries the leader no longer has receives the leader's snapshot in
//! chunks, verifies it, and installs it ([`install`]): the engine is rewritten to hold
//! exactly the snapshot's state, by the server's applier thread so that nothing else
//! writes meanwhile, while the server serves no client (as a ZooKeeper follower
//! syncing with its leader does not).
//!
//! Files in `<dataDir>/raft/`: `snapshot` (the current one), `snapshot.build` and
//! `snapshot.recv.<n>` (being written), and `install.pending` while an install is under way.

pub mod build;
pub mod file;
pub mod install;

use std::fs::File;
use std::path::{Path, PathBuf};

use tokio::sync::oneshot;
use warren_engine::Engine;

use crate::meta::MetaDir;
use crate::ReplicationError;

pub use file::{Header, Meta};

/// The current snapshot.
pub const CURRENT: &str = "snapshot";
/// A snapshot being built.
pub const BUILDING: &str = "snapshot.build";
/// Snapshots being received: `snapshot.recv.<n>`, one file per stream.
pub const RECEIVING: &str = "snapshot.recv";
/// Present while the current snapshot is being installed into the engine.
pub const PENDING: &str = "install.pending";

/// Fsyncs the directory holding `path`, so a rename or removal in it is durable.
pub(crate) fn sync_parent(path: &Path) -> Result<(), ReplicationError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| ReplicationError::Io {
            path: dir.to_owned(),
            source,
        })
}

/// The path of `name` in `meta`.
pub(crate) fn path(meta: &MetaDir, name: &str) -> PathBuf {
    meta.path().join(name)
}

/// The header of the current snapshot, if there is one.
///
/// # Errors
/// A snapshot that cannot be read or whose header does not parse.
pub fn current(meta: &MetaDir) -> Result<Option<Header>, ReplicationError> {
    let p = path(meta, CURRENT);
    if !p.exists() {
        return Ok(None);
    }
    file::Reader::open(&p).map(|(_, h)| Some(h))
}

/// Finishes an install that a crash interrupted, before anything else reads the engine
/// or the log; the engine's zxid afterwards. Called at start-up.
///
/// # Errors
/// As [`install::install_into`], and when the marker cannot be removed.
pub fn resume(meta_dir: &Path, engine: &Engine) -> Result<Option<i64>, ReplicationError> {
    let meta = MetaDir::open(meta_dir)?;
    let pending = path(&meta, PENDING);
    if !pending.exists() {
        return Ok(None);
    }
    let snapshot = path(&meta, CURRENT);
    let header = file::verify(&snapshot)?;
    tracing::warn!(
        snapshot = %snapshot.display(),
        zxid = format_args!("{:#x}", header.zxid),
        "finishing the install of a snapshot that a restart interrupted"
    );
    if engine.last_seq() < header.zxid.max(0) as u64 {
        write_log_facts(&meta, &header)?;
        install::install_into(engine, &snapshot, header.zxid)?;
    }
    remove_marker(&pending)?;
    Ok(Some(header.zxid))
}

/// Replaces the facts about the log (term starts, memberships) with the snapshot's.
pub(crate) fn write_log_facts(meta: &MetaDir, header: &Header) -> Result<(), ReplicationError> {
    meta.replace_lines(crate::zxid::TERMS, &header.terms)?;
    meta.replace_lines(crate::state_machine::MEMBERSHIPS, &header.memberships)
}

/// Removes the files of snapshots that were being received when the server stopped.
pub(crate) fn remove_received(meta: &MetaDir) -> Result<(), ReplicationError> {
    let dir = meta.path();
    let entries = std::fs::read_dir(dir).map_err(|source| ReplicationError::Io {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(RECEIVING) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|source| ReplicationError::Io { path, source })?;
        }
    }
    Ok(())
}

pub(crate) fn remove_marker(pending: &Path) -> Result<(), ReplicationError> {
    std::fs::remove_file(pending).map_err(|source| ReplicationError::Io {
        path: pending.to_owned(),
        source,
    })?;
    sync_parent(pending)
}

/// An install for the server's applier to run: the state machine hands it over and
/// waits, so the applier, the engine's only writer, is the one that rewrites it.
pub struct Install {
    engine: Engine,
    snapshot: PathBuf,
    zxid: i64,
    done: Option<oneshot::Sender<Result<(), String>>>,
}

impl std::fmt::Debug for Install {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Install")
            .field("snapshot", &self.snapshot)
            .field("zxid", &format_args!("{:#x}", self.zxid))
            .finish()
    }
}

impl Install {
    pub(crate) fn new(
        engine: Engine,
        snapshot: PathBuf,
        zxid: i64,
        done: oneshot::Sender<Result<(), String>>,
    ) -> Install {
        Install {
            engine,
            snapshot,
            zxid,
            done: Some(done),
        }
    }

    /// The zxid the engine holds once the install is done.
    pub fn zxid(&self) -> i64 {
        self.zxid
    }

    /// Rewrites the engine to hold the snapshot, and tells the state machine.
    ///
    /// # Errors
    /// As [`install::install_into`].
    pub fn run(mut self) -> Result<install::Installed, ReplicationError> {
        let r = install::install_into(&self.engine, &self.snapshot, self.zxid);
        if let Some(done) = self.done.take() {
            let _ = done.send(r.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        }
        r
    }
}

impl Drop for Install {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(Err("the applier stopped before installing".into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use warren_engine::{EngineOptions, ReadSeq, WriteBatch};

    use super::*;
    use crate::zxid::TermStart;

    #[test]
    fn an_install_cut_short_is_finished_at_start_up() {
        let d = tempfile::tempdir().unwrap();
        let meta = MetaDir::open(&d.path().join("raft")).unwrap();
        let src = Engine::open(&d.path().join("src"), EngineOptions::default()).unwrap();
        let mut b = WriteBatch::new();
        b.put("k1", "v1");
        b.put("k2", "v2");
        src.write(50, b).unwrap();
        let header = Header {
            meta: Meta {
                last_log_id: None,
                last_membership: Default::default(),
                snapshot_id: "x".into(),
            },
            zxid: 50,
            terms: vec![TermStart {
                term: 4,
                node: 2,
                index: 9,
            }],
            memberships: Vec::new(),
        };
        let current = path(&meta, CURRENT);
        build::write_snapshot(&src, &header, &path(&meta, BUILDING), &current).unwrap();
        // The crash came after the marker, with the engine still at its old state.
        std::fs::write(path(&meta, PENDING), b"x").unwrap();
        let dst = Engine::open(&d.path().join("dst"), EngineOptions::default()).unwrap();
        let mut b = WriteBatch::new();
        b.put("k0", "old");
        dst.write(3, b).unwrap();

        assert_eq!(resume(meta.path(), &dst).unwrap(), Some(50));
        assert!(!path(&meta, PENDING).exists());
        assert_eq!(dst.get(b"k0", ReadSeq::Latest).unwrap(), None);
        assert_eq!(
            dst.get(b"k2", ReadSeq::Latest).unwrap(),
            Some(b"v2".to_vec())
        );
        assert_eq!(dst.last_seq(), 50);
        let terms: Vec<TermStart> = meta.read_lines(crate::zxid::TERMS).unwrap();
        assert_eq!(terms, header.terms);
        // Nothing pending: nothing done.
        assert_eq!(resume(meta.path(), &dst).unwrap(), None);
    }
}
