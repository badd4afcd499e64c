//! `warren-server`: the ZooKeeper server over Warren's engine and log: configuration, the
//! network front end, sessions, the write pipeline over a log seam, reads, watches, and
//! the operator surface (four-letter words, AdminServer, metrics).
//!
//! A write flows `net` → `pipeline::writer` (decided by `prep`) → `log` →
//! `pipeline::applier` (applied by `warren_tree::apply`) → `net::replies`; a read flows
//! `net` → `read`. `docs/ARCHITECTURE.md` draws both.
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod acl;
pub mod admin;
pub mod auth;
pub mod client_cert;
pub mod config;
pub mod ensemble;
pub mod ensemble_config;
pub mod fourlw;
pub mod log;
pub mod memory_limit;
pub mod metrics;
pub mod net;
pub mod pipeline;
pub mod prep;
pub mod purge;
pub mod read;
pub mod reaper;
pub mod reply;
pub mod sasl;
pub mod server;
pub mod session;
pub mod state;
pub mod stats;
pub mod sysprops;
pub mod tls;
pub mod watch;

pub use config::Config;
pub use server::Server;
