//! Configuration: Apache ZooKeeper's `zoo.cfg`, read unchanged.
//!
//! Keys Warren acts on are parsed into [`Config`]; keys of features Warren does not have
//! yet are accepted and kept in [`Config::extra`]; keys nobody knows are logged and
//! ignored, as ZooKeeper turns them into system properties nobody reads. A value that
//! does not parse stops start-up with a message naming the key.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use warren_datadir::DataDir;

use crate::memory_limit::{CgroupLimit, MemoryLimitError};
use crate::sysprops::SystemProperties;

/// A problem with the configuration that stops start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config key {key}: {reason} (value {value:?})")]
    BadValue {
        key: String,
        value: String,
        reason: String,
    },
}

/// Everything the server reads from `zoo.cfg`, with ZooKeeper's defaults.
#[derive(Debug, Clone)]
pub struct Config {
    pub tick_time: u32,
    /// Ticks a member may take to join the ensemble and catch up (`initLimit`).
    pub init_limit: u32,
    /// Ticks a member may take to answer the leader before its connection is dropped
    /// (`syncLimit`).
    pub sync_limit: u32,
    /// How often an ensemble's leader sends heartbeats (`warren.raftHeartbeatMs`).
    pub raft_heartbeat_ms: u64,
    pub data_dir: PathBuf,
    /// Where the txn log goes; ZooKeeper's default is `dataDir`.
    pub data_log_dir: Option<PathBuf>,
    pub client_port: u16,
    pub client_port_address: IpAddr,
    /// The TLS client port (`secureClientPort`); the `ssl.*` keys configure it.
    pub secure_client_port: Option<u16>,
    pub max_client_cnxns: u32,
    pub min_session_timeout: Option<u32>,
    pub max_session_timeout: Option<u32>,
    /// Four-letter words allowed; `*` allows all. ZooKeeper's default is `srvr` only.
    pub four_letter_words: Vec<String>,
    pub snap_count: u64,
    /// Txn log segment preallocation, in KiB (ZooKeeper's preAllocSize).
    pub pre_alloc_size_kb: u64,
    /// ZooKeeper's autopurge keys, checked (a bad value stops start-up, as in ZooKeeper): Warren takes no snapshots
    /// and purges its log continuously (see `log_purge_interval_ms`).
    pub autopurge_snap_retain_count: u32,
    pub autopurge_purge_interval_hours: u32,
    pub extended_types_enabled: bool,
    /// Refuse writes over a quota's hard limits with QUOTAEXCEEDED (`enforceQuota`).
    pub enforce_quota: bool,
    pub jute_max_buffer: usize,
    /// `super:<base64 sha1>` from DigestAuthenticationProvider.superDigest.
    pub super_digest: Option<String>,
    /// The server's memory budget in MiB, split by [`Config::memory_plan`] (Warren's own key
    /// `warren.memoryBudgetMB`; unset, derived from a memory cgroup's limit, see
    /// [`budget_for_cgroup_limit`]).
    pub memory_budget_mb: u64,
    /// Why `memory_budget_mb` is what it is.
    pub memory_budget_source: MemoryBudgetSource,
    /// How many txns back point-in-time reads (`snapshot dump --at-zxid`, `replay`) can
    /// reach: the engine keeps every version younger than this (`warren.retentionTxns`).
    pub retention_txns: u64,
    /// How often log segments the server no longer needs are deleted
    /// (`warren.logPurgeIntervalMs`).
    pub log_purge_interval_ms: u64,
    /// How often the container and TTL reaper runs (`znode.container.checkIntervalMs`).
    pub container_check_interval_ms: u64,
    /// At most this many reaper deletes per minute (`znode.container.maxPerMinute`).
    pub container_max_per_minute: u32,
    /// SASL DIGEST-MD5 users: `warren.sasl.user.<name>=<password>` keys, plus the `Server`
    /// section of the JAAS file named by `warren.sasl.jaasConfig`.
    pub sasl_users: std::collections::HashMap<String, String>,
    /// Whether the AdminServer runs (`admin.enableServer`, default true as in ZooKeeper).
    pub admin_enable_server: bool,
    /// The AdminServer's address (`admin.serverAddress`, default 0.0.0.0 as in ZooKeeper).
    pub admin_server_address: IpAddr,
    /// The AdminServer's port (`admin.serverPort`, default 8080).
    pub admin_server_port: u16,
    /// The URL under which the AdminServer lists its commands (`admin.commandURL`).
    pub admin_command_url: String,
    /// `metricsProvider.className`: the metrics endpoint runs when it names ZooKeeper's
    /// Prometheus provider ([`PROMETHEUS_PROVIDER`]).
    pub metrics_provider_class: Option<String>,
    /// `metricsProvider.httpPort` (ZooKeeper's default 7000); giving it also turns the
    /// metrics endpoint on.
    pub metrics_http_port: Option<u16>,
    /// `metricsProvider.httpHost` (default 0.0.0.0).
    pub metrics_http_host: IpAddr,
    /// Check every fast-path apply against the apply function (`warren.verifyApply`; on
    /// in debug builds and in the test suite).
    pub verify_apply: bool,
    /// Testing only, never in production: `warren.unsafe.testFault=stale-reads` makes one
    /// getData in five answer from the tree as it was a few txns ago, so that the
    /// reliability harness can be seen to catch stale reads.
    pub stale_reads_fault: bool,
    /// Requests outstanding in the whole server before it stops reading from clients
    /// (`globalOutstandingLimit`, ZooKeeper's default 1000).
    pub global_outstanding_limit: usize,
    /// Requests one connection may have outstanding before the server stops reading from
    /// it (`warren.connectionOutstandingLimit`; default half the global limit, so one
    /// client cannot hold up all the others).
    pub connection_outstanding_limit: Option<usize>,
    /// Bytes of replies and events a client may leave unread before the server closes its
    /// connection (`warren.clientOutboundLimitMB`, default 16; never less than one
    /// `jute.maxbuffer`).
    pub client_outbound_limit_mb: u64,
    /// Accepted keys that belong to features not built yet, kept for `conf`.
    pub extra: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tick_time: 3000,
            init_limit: 10,
            sync_limit: 5,
            raft_heartbeat_ms: 50,
            data_dir: PathBuf::from("warren-data"),
            data_log_dir: None,
            client_port: 2181,
            client_port_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            secure_client_port: None,
            max_client_cnxns: 60,
            min_session_timeout: None,
            max_session_timeout: None,
            four_letter_words: vec!["srvr".to_owned()],
            snap_count: 100_000,
            pre_alloc_size_kb: 65_536,
            autopurge_snap_retain_count: 3,
            autopurge_purge_interval_hours: 0,
            extended_types_enabled: false,
            enforce_quota: false,
            jute_max_buffer: 0xfffff,
            super_digest: None,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET_MB,
            memory_budget_source: MemoryBudgetSource::Default,
            global_outstanding_limit: 1000,
            connection_outstanding_limit: None,
            client_outbound_limit_mb: 16,
            retention_txns: 100_000,
            log_purge_interval_ms: 10_000,
            container_check_interval_ms: 60_000,
            container_max_per_minute: 10_000,
            sasl_users: std::collections::HashMap::new(),
            admin_enable_server: true,
            admin_server_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            admin_server_port: 8080,
            admin_command_url: "/commands".to_owned(),
            metrics_provider_class: None,
            metrics_http_port: None,
            metrics_http_host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            verify_apply: false,
            stale_reads_fault: false,
            extra: BTreeMap::new(),
        }
    }
}

/// `warren.memoryBudgetMB` when neither it nor a memory cgroup limit says otherwise.
pub const DEFAULT_MEMORY_BUDGET_MB: u64 = 256;

/// The smallest `warren.memoryBudgetMB`, and the smallest budget a cgroup limit gives.
pub const MIN_MEMORY_BUDGET_MB: u64 = 16;

/// Where the memory budget came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryBudgetSource {
    /// `warren.memoryBudgetMB`, in zoo.cfg or as a system property
    /// (`-Dzookeeper.warren.memoryBudgetMB`).
    Configured,
    /// Derived from the memory cgroup's limit ([`budget_for_cgroup_limit`]).
    CgroupLimit(CgroupLimit),
    /// [`DEFAULT_MEMORY_BUDGET_MB`]: no memory cgroup, or one without a limit.
    Default,
    /// [`DEFAULT_MEMORY_BUDGET_MB`]: the memory cgroup's files could not be read (why).
    LimitUnreadable(String),
}

impl MemoryBudgetSource {
    /// A cgroup limit so small that even the smallest budget is more than half of it.
    pub fn leaves_little_room(&self) -> bool {
        matches!(self, MemoryBudgetSource::CgroupLimit(l) if half_in_mib(l.bytes) < MIN_MEMORY_BUDGET_MB)
    }
}

/// The memory budget, in MiB, for a process whose memory cgroup allows `limit_bytes`:
/// half of the limit, at least [`MIN_MEMORY_BUDGET_MB`] and at most
/// [`DEFAULT_MEMORY_BUDGET_MB`].
///
/// The JVM sizes its default heap as a share of the container's limit
/// (`MaxRAMPercentage`, 25%) because a heap is only part of a Java process. Warren's
/// budget is a ceiling on the whole resident set ([`MemoryPlan`]: the fixed baseline,
/// memtables, block cache, requests in flight and headroom). What the cgroup must hold
/// besides is the page cache the kernel charges to it:
/// the SSTables Warren reads with `pread` and the txn log it writes. A cgroup with no
/// room for those pages re-reads tables from disk and stalls writing the log, so half
/// the limit is the budget and half is left for them.
///
/// The cap keeps the default what it is on a host without a limit: a cgroup only ever
/// lowers it, so moving a server into a large container does not change how much memory
/// it takes; a larger budget is asked for with `warren.memoryBudgetMB`. The floor is the
/// smallest budget the key accepts (the engine needs a memtable and some cache); a limit
/// below twice that is logged as a warning.
pub fn budget_for_cgroup_limit(limit_bytes: u64) -> u64 {
    half_in_mib(limit_bytes).clamp(MIN_MEMORY_BUDGET_MB, DEFAULT_MEMORY_BUDGET_MB)
}

/// Half of `bytes`, in whole MiB.
fn half_in_mib(bytes: u64) -> u64 {
    (bytes / 2) >> 20
}

/// Bytes as MiB, with a fraction only when they are not whole MiB.
fn mib(bytes: u64) -> String {
    if bytes & ((1 << 20) - 1) == 0 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    }
}

/// ZooKeeper's Prometheus metrics provider class, as `metricsProvider.className` names it.
pub const PROMETHEUS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";

/// Keys ZooKeeper knows that Warren accepts without acting on them (yet).
const ACCEPTED: &[&str] = &[
    "secureClientPortAddress",
    "standaloneEnabled",
    "reconfigEnabled",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "serverCnxnFactory",
    "authProvider.1",
    "ssl.keyStore.location",
    "ssl.keyStore.password",
    "ssl.keyStore.type",
    "ssl.trustStore.location",
    "ssl.trustStore.password",
    "ssl.trustStore.type",
    "ssl.clientAuth",
    "snapshot.compression.method",
    "electionAlg",
    "peerType",
    "dynamicConfigFile",
    "maxCnxns",
    "quorumListenOnAllIPs",
    "skipACL",
    "zookeeper.skipACL",
];

impl Config {
    /// Reads a `zoo.cfg` file.
    ///
    /// # Errors
    /// [`ConfigError`] when the file cannot be read or a value is bad.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        Config::load(Some(path), &SystemProperties::default())
    }

    /// The configuration a server starts with: ZooKeeper's defaults, under the Java system
    /// properties Warren reads (see [`crate::sysprops`]), under `zoo.cfg` (if given).
    ///
    /// # Errors
    /// [`ConfigError`] when a file cannot be read or a value is bad (naming the key or
    /// the property).
    pub fn load(path: Option<&Path>, props: &SystemProperties) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        for (name, value) in &props.props {
            c.set_property(name, value)?;
        }
        if let Some(path) = path {
            c.parse_more(&read(path)?)?;
        }
        // ZooKeeper 3.5+ may keep the server.N lines in a separate dynamic config file.
        if let Some(dynamic) = c.extra.get("dynamicConfigFile").cloned() {
            c.parse_more(&read(Path::new(&dynamic))?)?;
        }
        c.validate()?;
        c.choose_memory_budget(crate::memory_limit::detect());
        let reason = c.memory_budget_reason();
        if c.memory_budget_source.leaves_little_room() {
            tracing::warn!("{reason}; the cgroup's limit leaves little room besides it");
        } else {
            tracing::info!("{reason}");
        }
        Ok(c)
    }

    /// Derives the memory budget from the memory cgroup's limit (what
    /// [`crate::memory_limit::detect`] found) unless `warren.memoryBudgetMB` set it.
    pub fn choose_memory_budget(&mut self, limit: Result<Option<CgroupLimit>, MemoryLimitError>) {
        if self.memory_budget_source == MemoryBudgetSource::Configured {
            return;
        }
        (self.memory_budget_mb, self.memory_budget_source) = match limit {
            Ok(Some(limit)) => (
                budget_for_cgroup_limit(limit.bytes),
                MemoryBudgetSource::CgroupLimit(limit),
            ),
            Ok(None) => (DEFAULT_MEMORY_BUDGET_MB, MemoryBudgetSource::Default),
            Err(e) => (
                DEFAULT_MEMORY_BUDGET_MB,
                MemoryBudgetSource::LimitUnreadable(e.to_string()),
            ),
        };
    }

    /// Which memory budget is in force and why, as the start-up log says it.
    pub fn memory_budget_reason(&self) -> String {
        let mb = self.memory_budget_mb;
        let why = match &self.memory_budget_source {
            MemoryBudgetSource::Configured => "warren.memoryBudgetMB".to_owned(),
            MemoryBudgetSource::Default => "the default (no memory cgroup limit)".to_owned(),
            MemoryBudgetSource::LimitUnreadable(e) => {
                format!("the default (the memory cgroup limit could not be read: {e})")
            }
            MemoryBudgetSource::CgroupLimit(l) => {
                let limit = format!(
                    "the memory cgroup limit {} ({})",
                    mib(l.bytes),
                    l.file.display()
                );
                let half = half_in_mib(l.bytes);
                if half > DEFAULT_MEMORY_BUDGET_MB {
                    format!("the default, less than half of {limit}")
                } else if half < MIN_MEMORY_BUDGET_MB {
                    format!("the smallest budget, more than half of {limit}")
                } else {
                    format!("half of {limit}")
                }
            }
        };
        format!("memory budget {mb} MiB: {why}")
    }

    /// Parses the text of a `zoo.cfg` (Java properties: `key=value`, `#` comments).
    ///
    /// # Errors
    /// [`ConfigError::BadValue`] naming the first key whose value is bad.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let c = Config::parse_lines(text)?;
        c.validate()?;
        Ok(c)
    }

    fn parse_lines(text: &str) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        c.parse_more(text)?;
        Ok(c)
    }

    fn parse_more(&mut self, text: &str) -> Result<(), ConfigError> {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some((k, v)) = line.split_once(['=', ':']) else {
                tracing::warn!(line, "ignoring config line without '='");
                continue;
            };
            if !self.set(k.trim(), v.trim())? {
                tracing::warn!(key = k.trim(), "unknown config key, ignored");
            }
        }
        Ok(())
    }

    /// Checks what no single key can: the session timeout range, and the `server.N`
    /// lines.
    fn validate(&self) -> Result<(), ConfigError> {
        if let (Some(min), Some(max)) = (self.min_session_timeout, self.max_session_timeout) {
            if min > max {
                return Err(bad(
                    "minSessionTimeout",
                    &min.to_string(),
                    "is larger than maxSessionTimeout",
                ));
            }
        }
        self.server_lines().map(|_| ())
    }

    /// Applies one Java system property: ZooKeeper's `zookeeper.*` properties are the
    /// zoo.cfg keys of the same name, and the JAAS file is
    /// `java.security.auth.login.config`. Others are logged and ignored.
    fn set_property(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let known = match name {
            "java.security.auth.login.config" => self.set("warren.sasl.jaasConfig", value)?,
            "readonlymode.enabled" => {
                self.extra.insert(name.to_owned(), value.to_owned());
                true
            }
            n if n.starts_with("zookeeper.") => self.set(n, value)?,
            _ => false,
        };
        if known {
            tracing::info!(property = name, value, "system property applied");
        } else {
            tracing::info!(
                property = name,
                "system property not read by Warren, ignored"
            );
        }
        Ok(())
    }

    /// Sets a zoo.cfg key; `Ok(false)` for a key nobody knows.
    fn set(&mut self, key: &str, v: &str) -> Result<bool, ConfigError> {
        let key_no_prefix = key.strip_prefix("zookeeper.").unwrap_or(key);
        match key_no_prefix {
            "tickTime" => self.tick_time = num(key, v, 1)?,
            "initLimit" => self.init_limit = num(key, v, 1)?,
            "syncLimit" => self.sync_limit = num(key, v, 1)?,
            "dataDir" => self.data_dir = PathBuf::from(v),
            "dataLogDir" => self.data_log_dir = Some(PathBuf::from(v)),
            "clientPort" => self.client_port = num(key, v, 1)?,
            "secureClientPort" => self.secure_client_port = Some(num(key, v, 1)?),
            "clientPortAddress" => {
                self.client_port_address =
                    v.parse().map_err(|_| bad(key, v, "is not an IP address"))?
            }
            "maxClientCnxns" => self.max_client_cnxns = num(key, v, 0)?,
            "minSessionTimeout" => self.min_session_timeout = Some(num(key, v, 0)?),
            "maxSessionTimeout" => self.max_session_timeout = Some(num(key, v, 0)?),
            "4lw.commands.whitelist" => {
                self.four_letter_words = v
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            "snapCount" => self.snap_count = num(key, v, 2)?,
            "preAllocSize" => self.pre_alloc_size_kb = num(key, v, 1)?,
            "autopurge.snapRetainCount" => self.autopurge_snap_retain_count = num(key, v, 0)?,
            "autopurge.purgeInterval" => self.autopurge_purge_interval_hours = num(key, v, 0)?,
            "extendedTypesEnabled" => self.extended_types_enabled = boolean(key, v)?,
            "enforceQuota" => self.enforce_quota = boolean(key, v)?,
            "jute.maxbuffer" => self.jute_max_buffer = num(key, v, 1)?,
            "DigestAuthenticationProvider.superDigest" => {
                if !v.contains(':') {
                    return Err(bad(key, v, "must look like super:<base64 sha1>"));
                }
                self.super_digest = Some(v.to_owned())
            }
            "znode.container.checkIntervalMs" => self.container_check_interval_ms = num(key, v, 1)?,
            "znode.container.maxPerMinute" => self.container_max_per_minute = num(key, v, 1)?,
            "warren.retentionTxns" => self.retention_txns = num(key, v, 0)?,
            "warren.sasl.jaasConfig" => {
                let users = crate::sasl::users_from_jaas(Path::new(v))
                    .map_err(|e| bad(key, v, &e.to_string()))?;
                self.sasl_users.extend(users);
            }
            k if k.starts_with("warren.sasl.user.") => {
                let name = &k["warren.sasl.user.".len()..];
                self.sasl_users.insert(name.to_owned(), v.to_owned());
            }
            "warren.raftHeartbeatMs" => self.raft_heartbeat_ms = num(key, v, 1)?,
            "warren.memoryBudgetMB" => {
                self.memory_budget_mb = num(key, v, MIN_MEMORY_BUDGET_MB as u32)?;
                self.memory_budget_source = MemoryBudgetSource::Configured;
            }
            "warren.verifyApply" => self.verify_apply = boolean(key, v)?,
            "warren.unsafe.testFault" => match v {
                "stale-reads" => self.stale_reads_fault = true,
                _ => return Err(bad(key, v, "the only test fault is stale-reads")),
            },
            "globalOutstandingLimit" => self.global_outstanding_limit = num(key, v, 1)?,
            "warren.connectionOutstandingLimit" => {
                self.connection_outstanding_limit = Some(num(key, v, 1)?)
            }
            "warren.clientOutboundLimitMB" => self.client_outbound_limit_mb = num(key, v, 1)?,
            "warren.logPurgeIntervalMs" => self.log_purge_interval_ms = num(key, v, 100)?,
            "admin.enableServer" => self.admin_enable_server = boolean(key, v)?,
            "admin.serverAddress" => {
                self.admin_server_address =
                    v.parse().map_err(|_| bad(key, v, "is not an IP address"))?
            }
            "admin.serverPort" => self.admin_server_port = num(key, v, 1)?,
            "admin.commandURL" => {
                if !v.starts_with('/') {
                    return Err(bad(key, v, "must start with /"));
                }
                self.admin_command_url = v.trim_end_matches('/').to_owned();
            }
            "metricsProvider.className" => self.metrics_provider_class = Some(v.to_owned()),
            "metricsProvider.httpPort" => self.metrics_http_port = Some(num(key, v, 1)?),
            "metricsProvider.httpHost" => {
                self.metrics_http_host =
                    v.parse().map_err(|_| bad(key, v, "is not an IP address"))?
            }
            k if k.starts_with("server.")
                || k.starts_with("group.")
                || k.starts_with("weight.") =>
            {
                self.extra.insert(key.to_owned(), v.to_owned());
            }
            // Stored without the `zookeeper.` of a system property
            // (`-Dzookeeper.ssl.keyStore.location=…`), where the TLS set-up reads them.
            k if ACCEPTED.contains(&k) || k.starts_with("ssl.") || k.starts_with("admin.") => {
                self.extra.insert(k.to_owned(), v.to_owned());
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The negotiable session timeout range, in ms: ZooKeeper's defaults are 2 and 20 ticks.
    pub fn session_timeout_range(&self) -> (u32, u32) {
        let min = self.min_session_timeout.unwrap_or(self.tick_time * 2);
        let max = self.max_session_timeout.unwrap_or(self.tick_time * 20);
        (min, max.max(min))
    }

    /// Requests one connection may have outstanding.
    pub fn per_connection_outstanding(&self) -> usize {
        self.connection_outstanding_limit
            .unwrap_or((self.global_outstanding_limit / 2).max(1))
    }

    /// Bytes of unread replies and events after which a client is disconnected.
    pub fn client_outbound_limit(&self) -> usize {
        let limit = usize::try_from(self.client_outbound_limit_mb << 20).unwrap_or(usize::MAX);
        limit.max(self.jute_max_buffer)
    }

    /// How the memory budget is spent (see [`MemoryPlan`]).
    pub fn memory_plan(&self) -> MemoryPlan {
        MemoryPlan::new(
            usize::try_from(self.memory_budget_mb << 20).unwrap_or(usize::MAX),
            self.jute_max_buffer,
        )
    }

    /// The admission charge of the requests the server holds at once: each is charged
    /// [`IN_FLIGHT_COPIES`] times its frame (never less than one such charge for a
    /// `jute.maxbuffer` frame, so any valid request fits alone).
    pub fn request_bytes_in_flight(&self) -> usize {
        self.memory_plan()
            .in_flight_bytes
            .max(self.jute_max_buffer.saturating_mul(IN_FLIGHT_COPIES))
    }

    /// The address clients connect to.
    pub fn client_addr(&self) -> SocketAddr {
        SocketAddr::new(self.client_port_address, self.client_port)
    }

    /// Where the engine and the txn log live (`dataDir`, `dataLogDir`).
    pub fn data_dir_layout(&self) -> DataDir {
        DataDir::new(&self.data_dir, self.data_log_dir.as_deref())
    }

    /// The directory of the txn log.
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir_layout().wal_dir
    }

    /// The directory of the engine.
    pub fn engine_dir(&self) -> PathBuf {
        self.data_dir_layout().engine_dir
    }

    /// The AdminServer's address, or `None` when `admin.enableServer=false`.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_enable_server
            .then(|| SocketAddr::new(self.admin_server_address, self.admin_server_port))
    }

    /// The metrics endpoint's address, or `None` when no metrics provider is configured:
    /// it runs when `metricsProvider.className` names ZooKeeper's Prometheus provider or
    /// `metricsProvider.httpPort` is given.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        let on = self.metrics_provider_class.as_deref() == Some(PROMETHEUS_PROVIDER)
            || self.metrics_http_port.is_some();
        on.then(|| {
            SocketAddr::new(
                self.metrics_http_host,
                self.metrics_http_port.unwrap_or(7000),
            )
        })
    }

    /// Whether a four-letter word may run.
    pub fn four_letter_word_allowed(&self, word: &str) -> bool {
        self.four_letter_words
            .iter()
            .any(|w| w == "*" || w.eq_ignore_ascii_case(word))
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

fn bad(key: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError::BadValue {
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

fn num<T: std::str::FromStr + PartialOrd + TryFrom<u32>>(
    key: &str,
    v: &str,
    min: u32,
) -> Result<T, ConfigError> {
    let n: T = v
        .parse()
        .map_err(|_| bad(key, v, "is not a whole number in range"))?;
    let min_t = T::try_from(min).map_err(|_| bad(key, v, "is out of range"))?;
    if n < min_t {
        return Err(bad(key, v, &format!("must be at least {min}")));
    }
    Ok(n)
}

fn boolean(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => Err(bad(key, v, "must be true or false")),
    }
}

/// What the process needs whatever the budget, before any of it goes to the engine or to
/// requests: the binary, the async runtime and its threads' stacks, the allocator's own
/// structures (measured idle: about 21 MiB), plus the transient copies of one request
/// in each of the threads that handle it one at a time (the writer's decision and
/// encoding, the applier's write batch and check, the engine's flush and compaction
/// blocks), counted as [`TRANSIENT_COPIES`] of a `jute.maxbuffer` frame.
pub const FIXED_OVERHEAD_BYTES: usize = 20 << 20;

/// See [`FIXED_OVERHEAD_BYTES`].
pub const TRANSIENT_COPIES: usize = 6;

/// How many copies of a request's bytes the server holds while the request is in flight
/// (from admission until its reply is queued): for a write, the decoded request and then
/// the decided txn (in the log's queue until it commits), the decided changes (waiting
/// for the applier), the same changes in the overlay (so later writes are decided
/// against them), and the WAL record (in the group buffer until it is written). A read's
/// frame is small, so charging it the same costs nothing. Two more than those four:
/// on a loaded machine the engine's memtable copy and the allocator's freed pages lag
/// behind (peak RSS 74-75 MiB at a 64 MiB budget with 4, in a full suite run).
pub const IN_FLIGHT_COPIES: usize = 6;

/// How `warren.memoryBudgetMB` is spent. The fixed overhead comes off the top; of the
/// rest, 3/8 goes to memtables (three of 1/8: the active one and two being flushed),
/// 5/16 to the block cache (data, index and filter blocks), 1/4 to requests in flight
/// (admission charges each [`IN_FLIGHT_COPIES`] × its frame), and 1/16 is headroom for
/// connections, sessions, watches and allocator slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryPlan {
    /// The budget, in bytes.
    pub budget: usize,
    /// What comes off the top (see [`FIXED_OVERHEAD_BYTES`]).
    pub fixed: usize,
    /// The size at which a memtable is frozen (three may exist at once).
    pub memtable_bytes: usize,
    pub block_cache_bytes: usize,
    /// The admission allowance: requests in flight, [`IN_FLIGHT_COPIES`] × their frames.
    pub in_flight_bytes: usize,
}

impl MemoryPlan {
    /// The plan for a budget of `budget` bytes and requests of up to `max_frame` bytes.
    /// A budget too small for the fixed overhead still gets a quarter of itself to split
    /// (and cannot be a ceiling: see docs/ARCHITECTURE.md).
    pub fn new(budget: usize, max_frame: usize) -> MemoryPlan {
        let fixed = FIXED_OVERHEAD_BYTES.saturating_add(max_frame.saturating_mul(TRANSIENT_COPIES));
        let rest = budget.saturating_sub(fixed).max(budget / 4);
        MemoryPlan {
            budget,
            fixed: budget - rest,
            memtable_bytes: (rest / 8).max(1 << 20),
            block_cache_bytes: (rest / 16 * 5).max(1 << 20),
            in_flight_bytes: rest / 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_zookeeper_keys_and_names_bad_ones() {
        let c = Config::parse(
            "tickTime=2000\ndataDir=/tmp/x\nclientPort=2222\n# c\n4lw.commands.whitelist=ruok, srvr\n\
             server.1=localhost:2888:3888\nsomethingNew=1\nextendedTypesEnabled=true\n",
        )
        .unwrap();
        assert_eq!(c.tick_time, 2000);
        assert_eq!(c.client_port, 2222);
        assert_eq!(c.session_timeout_range(), (4000, 40000));
        assert!(c.four_letter_word_allowed("ruok") && !c.four_letter_word_allowed("mntr"));
        assert!(c.extended_types_enabled);
        let e = Config::parse("clientPort=abc").unwrap_err().to_string();
        assert!(e.contains("clientPort"), "{e}");
        let e = Config::parse("minSessionTimeout=9000\nmaxSessionTimeout=100")
            .unwrap_err()
            .to_string();
        assert!(e.contains("minSessionTimeout"), "{e}");
    }

    #[test]
    fn server_lines_make_an_ensemble_also_from_a_dynamic_config_file() {
        let three = "server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n";
        assert!(Config::parse(three).unwrap().is_ensemble().unwrap());
        let one = Config::parse("server.1=a:2888:3888\nstandaloneEnabled=false\n").unwrap();
        assert!(one.is_ensemble().unwrap());
        assert!(!Config::parse("server.1=a:2888:3888\n")
            .unwrap()
            .is_ensemble()
            .unwrap());
        let e = Config::parse("server.1=a:2888\n").unwrap_err().to_string();
        assert!(e.contains("server.1"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let dynamic = dir.path().join("zoo.cfg.dynamic");
        std::fs::write(&dynamic, three).unwrap();
        let cfg = dir.path().join("zoo.cfg");
        std::fs::write(&cfg, format!("dynamicConfigFile={}\n", dynamic.display())).unwrap();
        let c = Config::from_file(&cfg).unwrap();
        assert_eq!(c.server_lines().unwrap().len(), 3);
    }

    #[test]
    fn ssl_system_properties_configure_the_secure_port_as_zoo_cfg_keys_do() {
        let props = SystemProperties {
            props: vec![
                (
                    "zookeeper.ssl.keyStore.location".into(),
                    "/etc/zk/server.jks".into(),
                ),
                ("zookeeper.ssl.keyStore.password".into(), "pw".into()),
            ],
        };
        let c = Config::load(None, &props).unwrap();
        assert_eq!(
            c.extra.get("ssl.keyStore.location").map(String::as_str),
            Some("/etc/zk/server.jks")
        );
        assert_eq!(
            c.extra.get("ssl.keyStore.password").map(String::as_str),
            Some("pw")
        );
    }

    fn limit(mb: u64) -> Result<Option<CgroupLimit>, MemoryLimitError> {
        Ok(Some(CgroupLimit {
            bytes: mb << 20,
            file: PathBuf::from("/sys/fs/cgroup/memory/w/memory.limit_in_bytes"),
        }))
    }

    #[test]
    fn the_memory_budget_is_half_a_cgroup_limit_between_the_floor_and_the_default() {
        assert_eq!(budget_for_cgroup_limit(256 << 20), 128);
        assert_eq!(budget_for_cgroup_limit(300 << 20), 150);
        assert_eq!(budget_for_cgroup_limit(64 << 30), DEFAULT_MEMORY_BUDGET_MB);
        assert_eq!(budget_for_cgroup_limit(20 << 20), MIN_MEMORY_BUDGET_MB);
        assert_eq!(budget_for_cgroup_limit(0), MIN_MEMORY_BUDGET_MB);

        let mut c = Config::parse("").unwrap();
        c.choose_memory_budget(limit(256));
        assert_eq!(c.memory_budget_mb, 128);
        assert_eq!(
            c.memory_budget_reason(),
            "memory budget 128 MiB: half of the memory cgroup limit 256 MiB \
             (/sys/fs/cgroup/memory/w/memory.limit_in_bytes)"
        );
        assert_eq!(
            c.request_bytes_in_flight(),
            ((128 << 20) - (20 << 20) - 6 * 0xfffff) / 4
        );
        assert!(!c.memory_budget_source.leaves_little_room());

        c.choose_memory_budget(limit(4096));
        assert_eq!(c.memory_budget_mb, 256);
        assert!(c.memory_budget_reason().starts_with(
            "memory budget 256 MiB: the default, less than half of the memory cgroup limit 4096 MiB"
        ));
        c.choose_memory_budget(limit(24));
        assert_eq!(c.memory_budget_mb, 16);
        assert!(c.memory_budget_source.leaves_little_room());
        assert!(c.memory_budget_reason().starts_with(
            "memory budget 16 MiB: the smallest budget, more than half of the memory cgroup limit 24 MiB"
        ));

        c.choose_memory_budget(Ok(None));
        assert_eq!(c.memory_budget_mb, 256);
        assert_eq!(
            c.memory_budget_reason(),
            "memory budget 256 MiB: the default (no memory cgroup limit)"
        );
        c.choose_memory_budget(Err(MemoryLimitError::NoMount { what: "cgroup2" }));
        assert_eq!(c.memory_budget_mb, 256);
        assert!(c.memory_budget_reason().contains("could not be read"));

        let odd = Ok(Some(CgroupLimit {
            bytes: (100 << 20) + (1 << 19),
            file: PathBuf::from("/m/memory.max"),
        }));
        c.choose_memory_budget(odd);
        assert_eq!(c.memory_budget_mb, 50);
        assert!(c.memory_budget_reason().contains("100.5 MiB"));
    }

    #[test]
    fn an_explicit_memory_budget_wins_over_the_cgroup_limit() {
        let mut c = Config::parse("warren.memoryBudgetMB=64\n").unwrap();
        c.choose_memory_budget(limit(256));
        assert_eq!(c.memory_budget_mb, 64);
        assert_eq!(
            c.memory_budget_reason(),
            "memory budget 64 MiB: warren.memoryBudgetMB"
        );
        let props = SystemProperties {
            props: vec![("zookeeper.warren.memoryBudgetMB".into(), "48".into())],
        };
        let c = Config::load(None, &props).unwrap();
        assert_eq!(c.memory_budget_mb, 48);
        assert_eq!(c.memory_budget_source, MemoryBudgetSource::Configured);
        let e = Config::parse("warren.memoryBudgetMB=8\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 16"), "{e}");
    }

    #[test]
    fn the_memory_plan_spends_no_more_than_the_budget() {
        for mb in [64usize, 256, 4096] {
            let p = MemoryPlan::new(mb << 20, 0xfffff);
            let spent = p.fixed + 3 * p.memtable_bytes + p.block_cache_bytes + p.in_flight_bytes;
            assert!(spent <= p.budget, "{mb} MiB: {p:?} spends {spent}");
        }
        // 64 MiB: 26 MiB fixed (20 + six 1 MiB frames), then 38 MiB split.
        let p = MemoryPlan::new(64 << 20, 0xfffff);
        assert_eq!(p.in_flight_bytes, (p.budget - p.fixed) / 4);
        assert!(p.fixed > 25 << 20 && p.fixed < 27 << 20, "{p:?}");
        // A budget below the fixed overhead still gets a quarter of itself to split.
        let p = MemoryPlan::new(16 << 20, 0xfffff);
        assert_eq!(p.fixed, 12 << 20);
    }
}
