//! The ensemble in `zoo.cfg`: `server.N=host:quorumPort:electionPort[:participant|:observer][;[clientAddr:]clientPort]`
//! lines, as ZooKeeper writes them (also from a `dynamicConfigFile`).
//!
//! A config with more than one such line, or one line and `standaloneEnabled=false`, is
//! an ensemble, as in ZooKeeper. The election port is accepted and not used: Raft elects
//! over the quorum port.

use std::collections::BTreeMap;

use crate::config::{Config, ConfigError};

/// One `server.N` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLine {
    pub id: u64,
    pub host: String,
    pub quorum_port: u16,
    pub election_port: u16,
    pub observer: bool,
    /// `;[clientAddr:]clientPort`, when given.
    pub client: Option<(Option<String>, u16)>,
}

impl ServerLine {
    /// `host:quorumPort`, where peers reach this server.
    pub fn quorum_addr(&self) -> String {
        format!("{}:{}", self.host, self.quorum_port)
    }
}

fn bad(key: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError::BadValue {
        key: key.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

fn port(key: &str, value: &str, p: &str) -> Result<u16, ConfigError> {
    p.trim()
        .parse()
        .map_err(|_| bad(key, value, &format!("{p:?} is not a port number")))
}

/// Parses the value of `server.<id>`.
///
/// # Errors
/// [`ConfigError::BadValue`] naming the key, for a value not of ZooKeeper's form.
pub fn parse_server_line(id: u64, key: &str, value: &str) -> Result<ServerLine, ConfigError> {
    let (addrs, client) = match value.split_once(';') {
        Some((a, c)) => (a, Some(c)),
        None => (value, None),
    };
    let parts: Vec<&str> = addrs.split(':').collect();
    if parts.len() < 3 || parts.len() > 4 {
        return Err(bad(
            key,
            value,
            "must be host:quorumPort:electionPort[:participant|:observer]",
        ));
    }
    let observer = match parts.get(3).map(|s| s.trim()) {
        None | Some("participant") => false,
        Some("observer") => true,
        Some(other) => {
            return Err(bad(
                key,
                value,
                &format!("{other:?} is neither participant nor observer"),
            ))
        }
    };
    let client = match client {
        None => None,
        Some(c) => Some(match c.rsplit_once(':') {
            Some((addr, p)) => (Some(addr.trim().to_owned()), port(key, value, p)?),
            None => (None, port(key, value, c)?),
        }),
    };
    Ok(ServerLine {
        id,
        host: parts[0].trim().to_owned(),
        quorum_port: port(key, value, parts[1])?,
        election_port: port(key, value, parts[2])?,
        observer,
        client,
    })
}

impl Config {
    /// The `server.N` lines, by id.
    ///
    /// # Errors
    /// [`ConfigError::BadValue`] for a line that does not parse.
    pub fn server_lines(&self) -> Result<BTreeMap<u64, ServerLine>, ConfigError> {
        let mut out = BTreeMap::new();
        for (k, v) in &self.extra {
            let Some(id) = k
                .strip_prefix("server.")
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if !(1..=255).contains(&id) {
                return Err(bad(k, v, "the server id must be from 1 to 255"));
            }
            out.insert(id, parse_server_line(id, k, v)?);
        }
        Ok(out)
    }

    /// Whether this config describes an ensemble (see the module doc).
    ///
    /// # Errors
    /// For `server.N` lines that do not parse.
    pub fn is_ensemble(&self) -> Result<bool, ConfigError> {
        let n = self.server_lines()?.len();
        let standalone_enabled = self
            .extra
            .get("standaloneEnabled")
            .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
        Ok(n > 1 || (n == 1 && !standalone_enabled))
    }

    /// Whether the quorum port listens on every address (`quorumListenOnAllIPs`).
    pub fn quorum_listen_on_all_ips(&self) -> bool {
        self.extra
            .get("quorumListenOnAllIPs")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_lines_parse_as_zookeeper_writes_them() {
        let l = parse_server_line(2, "server.2", "zk2:2888:3888:observer;0.0.0.0:2182").unwrap();
        assert_eq!(l.quorum_addr(), "zk2:2888");
        assert!(l.observer);
        assert_eq!(l.client, Some((Some("0.0.0.0".into()), 2182)));
        let l = parse_server_line(1, "server.1", "zk1:2888:3888;2181").unwrap();
        assert_eq!((l.observer, l.client), (false, Some((None, 2181))));
        assert!(parse_server_line(1, "server.1", "zk1:2888").is_err());
        assert!(parse_server_line(1, "server.1", "zk1:x:3888").is_err());
        assert!(parse_server_line(1, "server.1", "zk1:1:2:voter").is_err());
    }
}
