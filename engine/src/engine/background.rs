//! The background threads: one that flushes frozen memtables ([`super::flush`]) and one
//! that compacts whenever a level is over its target ([`crate::compaction`]).
//!
//! They sleep on [`Inner::bg_cv`] and are woken by writers that freeze a memtable, by each
//! other (a flush can make L0 due for compaction; a compaction can end a write stall), and
//! by shutdown. The compactor also re-checks the level scores every 200 ms, so a wake-up
//! that raced with its check only delays it. A failure stops the thread that hit it and is
//! recorded for every caller to see; [`EngineError::Closed`] (a compaction abandoned at
//! shutdown) is not a failure.
//!
//! [`Threads`] is held by every [`Engine`](super::Engine) clone and stops and joins the
//! threads when the last one goes away (or at [`Engine::close`](super::Engine::close)).

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use super::flush::flush_loop;
use super::inner::Inner;
use crate::compaction;
use crate::error::{EngineError, Result};

/// Stops and joins the background threads when the last [`Engine`](super::Engine) handle
/// goes away.
pub(super) struct Threads {
    inner: Arc<Inner>,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl Threads {
    /// Starts the flush thread and the compaction thread for `inner` (whose directory is
    /// `dir`, named in the error when a thread cannot be spawned).
    pub(super) fn start(inner: &Arc<Inner>, dir: &Path) -> Result<Threads> {
        let mut handles = Vec::new();
        let spawn = |name: &str, f: fn(Arc<Inner>), inner: Arc<Inner>| {
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn(move || f(inner))
                .map_err(|e| EngineError::io(dir, e))
        };
        handles.push(spawn("warren-flush", flush_loop, inner.clone())?);
        for i in 0..inner.opts.background_threads.saturating_sub(1).clamp(1, 1) {
            handles.push(spawn(
                &format!("warren-compact-{i}"),
                compaction_loop,
                inner.clone(),
            )?);
        }
        Ok(Threads {
            inner: inner.clone(),
            handles: Mutex::new(handles),
        })
    }

    /// No threads, for an engine opened read-only.
    pub(super) fn none(inner: &Arc<Inner>) -> Threads {
        Threads {
            inner: inner.clone(),
            handles: Mutex::new(Vec::new()),
        }
    }

    /// Tells the threads to stop and waits for them.
    pub(super) fn stop(&self) {
        self.inner.bg.lock().shutdown = true;
        self.inner.bg_cv.notify_all();
        let handles: Vec<_> = self.handles.lock().drain(..).collect();
        for h in handles {
            if h.join().is_err() {
                tracing::error!("an engine background thread panicked");
            }
        }
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until some level's compaction score reaches 1; `false` when the engine shuts
/// down or has failed.
fn wait_until_compaction_due(inner: &Inner) -> bool {
    let mut g = inner.bg.lock();
    loop {
        if g.shutdown || g.error.is_some() {
            return false;
        }
        let v = inner.current().version.clone();
        if compaction::best_score(&v, &inner.opts).1 >= 1.0 {
            return true;
        }
        inner.bg_cv.wait_for(&mut g, Duration::from_millis(200));
    }
}

/// Picks and runs one compaction from the current version, if one is still due.
fn compact_once(inner: &Inner) -> Result<()> {
    let _c = inner.compaction_lock.lock();
    let v = inner.current().version.clone();
    let picked = {
        let mut ptrs = inner.compact_pointers.lock();
        compaction::pick(&v, &inner.opts, &mut ptrs)
    };
    match picked {
        Some(c) => compaction::run(inner, c),
        None => Ok(()),
    }
}

/// Body of the compaction thread.
fn compaction_loop(inner: Arc<Inner>) {
    while wait_until_compaction_due(&inner) {
        match compact_once(&inner) {
            Ok(()) | Err(EngineError::Closed) => {}
            Err(e) => {
                inner.fail("compaction", &e);
                return;
            }
        }
        inner.notify_background();
    }
}
