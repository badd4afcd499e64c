//! `warren-wal`: the transaction log that is Warren's only write-ahead log.
