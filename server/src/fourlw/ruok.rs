//! `ruok`: answers `imok` while the server is serving; no newline, as ZooKeeper sends it.

/// The word's text.
pub fn text() -> String {
    "imok".to_owned()
}
