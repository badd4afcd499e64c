//! `warren-server`: ZooKeeper semantics, sessions, watches and the network front end.
