//! `warren-engine`: the LSM tree that holds every znode, session and index.
