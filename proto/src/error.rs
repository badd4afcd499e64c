//! Decoding errors, and ZooKeeper's error codes as they travel on the wire.

use std::fmt;

/// Bytes that do not decode as the jute record expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JuteError {
    /// The input ended inside a value.
    #[error("input ends at byte {offset} but {wanted} more bytes were expected")]
    Truncated { offset: usize, wanted: usize },
    /// A length prefix larger than the bytes that follow it.
    #[error("length {len} at byte {offset} runs past the end of the input")]
    BadLength { offset: usize, len: usize },
    /// A string that is neither UTF-8 nor Java's CESU-8.
    #[error("string at byte {offset} is not valid UTF-8")]
    BadString { offset: usize },
    /// A value outside the set the field allows.
    #[error("unknown {what} {value}")]
    Unknown { what: &'static str, value: i64 },
}

/// A ZooKeeper error code (`KeeperException.Code`), as carried in `ReplyHeader.err`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub i32);

macro_rules! codes {
    ($($name:ident = $v:expr, $text:expr;)*) => {
        impl ErrorCode {
            $(#[doc = $text] pub const $name: ErrorCode = ErrorCode($v);)*

            /// ZooKeeper's name for the code, as its exceptions print it.
            pub fn name(self) -> &'static str {
                match self.0 { $($v => $text,)* _ => "Unknown" }
            }
        }
    };
}

codes! {
    OK = 0, "OK";
    SYSTEM_ERROR = -1, "SystemError";
    RUNTIME_INCONSISTENCY = -2, "RuntimeInconsistency";
    DATA_INCONSISTENCY = -3, "DataInconsistency";
    CONNECTION_LOSS = -4, "ConnectionLoss";
    MARSHALLING_ERROR = -5, "MarshallingError";
    UNIMPLEMENTED = -6, "Unimplemented";
    OPERATION_TIMEOUT = -7, "OperationTimeout";
    BAD_ARGUMENTS = -8, "BadArguments";
    UNKNOWN_SESSION = -12, "UnknownSession";
    NEW_CONFIG_NO_QUORUM = -13, "NewConfigNoQuorum";
    RECONFIG_IN_PROGRESS = -14, "ReconfigInProgress";
    API_ERROR = -100, "APIError";
    NO_NODE = -101, "NoNode";
    NO_AUTH = -102, "NoAuth";
    BAD_VERSION = -103, "BadVersion";
    NO_CHILDREN_FOR_EPHEMERALS = -108, "NoChildrenForEphemerals";
    NODE_EXISTS = -110, "NodeExists";
    NOT_EMPTY = -111, "Directory not empty";
    SESSION_EXPIRED = -112, "Session expired";
    INVALID_CALLBACK = -113, "Invalid callback";
    INVALID_ACL = -114, "InvalidACL";
    AUTH_FAILED = -115, "AuthFailed";
    SESSION_MOVED = -118, "Session moved";
    NOT_READONLY = -119, "Not a read-only call";
    EPHEMERAL_ON_LOCAL_SESSION = -120, "Ephemeral node on local session";
    NO_WATCHER = -121, "No such watcher";
    REQUEST_TIMEOUT = -122, "Request timeout";
    RECONFIG_DISABLED = -123, "Reconfig is disabled";
    SESSION_CLOSED_REQUIRE_SASL_AUTH = -124, "Session closed because client failed to authenticate";
    QUOTA_EXCEEDED = -125, "Quota has exceeded";
    THROTTLED_OP = -127, "Op throttled due to high load";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

impl std::error::Error for ErrorCode {}
