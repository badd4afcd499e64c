//! `warren-proto`: ZooKeeper's jute encoding and every record Warren sends, receives or
//! logs, shared by the server and the offline tools so both read the same bytes the same
//! way.
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod consts;
pub mod error;
pub mod java;
pub mod jute;
pub mod path;
pub mod records;
pub mod request;
pub mod txn;

pub use error::{ErrorCode, JuteError};
pub use jute::{JVec, Jute, Reader, Writer};
pub use records::*;
pub use request::{OpResult, Request};
pub use txn::{LoggedTxn, Txn, TxnHeader};
