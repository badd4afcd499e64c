//! `warren-tools`: offline inspection, repair, replay and import of Warren's and ZooKeeper's files.
