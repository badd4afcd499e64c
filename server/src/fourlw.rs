//! Four-letter words: plain-text status commands sent instead of a ConnectRequest.
//! Only words in `4lw.commands.whitelist` run; others get ZooKeeper's refusal text.

use std::sync::atomic::Ordering;

use crate::server::Shared;

/// Every word ZooKeeper knows.
const WORDS: &[&str] = &[
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "stmk", "ruok", "srst", "srvr", "stat",
    "wchs", "wchc", "wchp", "mntr", "isro", "hash",
];

/// The word, if the first four bytes of a connection are one.
pub fn detect(first: &[u8; 4]) -> Option<&'static str> {
    let s = std::str::from_utf8(first).ok()?;
    WORDS.iter().copied().find(|w| *w == s)
}

/// The version string clients and scripts parse.
pub const VERSION: &str = concat!(
    "3.8.0-warren-",
    env!("CARGO_PKG_VERSION"),
    ", built on 01/01/1970 00:00 GMT"
);

/// Runs a word and returns its text.
pub fn run(shared: &Shared, word: &str) -> String {
    if !shared.config.four_letter_word_allowed(word) {
        return format!("{word} is not executed because it is not in the whitelist.\n");
    }
    match word {
        "ruok" => "imok".to_owned(),
        "isro" => "rw".to_owned(),
        "srvr" => srvr(shared),
        "stat" => {
            let mut s = String::from("Zookeeper version: ");
            s.push_str(VERSION);
            s.push_str("\nClients:\n\n");
            let rest = srvr(shared);
            s.push_str(rest.split_once('\n').map_or("", |(_, r)| r));
            s
        }
        "srst" | "crst" => {
            if word == "srst" {
                shared.stats.reset();
                "Server stats reset.\n".to_owned()
            } else {
                shared.stats.reset_connections();
                "Connection stats reset.\n".to_owned()
            }
        }
        "mntr" => mntr(shared),
        _ => format!("{word} is not yet supported by this server.\n"),
    }
}

fn srvr(shared: &Shared) -> String {
    format!(
        "Zookeeper version: {VERSION}\nLatency min/avg/max: 0/0.0/0\nReceived: {}\nSent: {}\n\
         Connections: {}\nOutstanding: 0\nZxid: 0x{:x}\nMode: standalone\nNode count: {}\n",
        shared.stats.received.load(Ordering::Relaxed),
        shared.stats.sent.load(Ordering::Relaxed),
        shared.stats.connection_count(),
        shared.last_zxid.load(Ordering::SeqCst),
        shared.node_count(),
    )
}

fn mntr(shared: &Shared) -> String {
    let (_, paths, watches) = shared.watches.summary();
    let rows: Vec<(&str, String)> = vec![
        ("zk_version", VERSION.to_owned()),
        ("zk_server_state", "standalone".to_owned()),
        (
            "zk_packets_received",
            shared.stats.received.load(Ordering::Relaxed).to_string(),
        ),
        (
            "zk_packets_sent",
            shared.stats.sent.load(Ordering::Relaxed).to_string(),
        ),
        (
            "zk_num_alive_connections",
            shared.stats.connection_count().to_string(),
        ),
        ("zk_outstanding_requests", "0".to_owned()),
        ("zk_znode_count", shared.node_count().to_string()),
        ("zk_watch_count", watches.to_string()),
        ("zk_ephemerals_count", "0".to_owned()),
        ("zk_global_sessions", shared.sessions.len().to_string()),
        ("zk_watched_paths", paths.to_string()),
    ];
    rows.iter().map(|(k, v)| format!("{k}\t{v}\n")).collect()
}
