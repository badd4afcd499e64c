//! `warren-server`: the ZooKeeper server over Warren's engine and log: configuration, the
//! network front end, sessions, the txn pipeline, the data tree and watches.
#![deny(unsafe_code)]

pub mod acl;
pub mod admin;
pub mod config;
pub mod fourlw;
pub mod metrics;
pub mod net;
pub mod pipeline;
pub mod prep;
pub mod read;
pub mod reply;
pub mod sasl;
pub mod server;
pub mod session;
pub mod stats;
pub mod tls;
pub mod watch;

pub use config::Config;
pub use server::Server;
