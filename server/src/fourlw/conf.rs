//! `conf`: the configuration in force, in ZooKeeper's standalone layout. `dataDir` and
//! `dataLogDir` name the engine and txn log directories (where ZooKeeper names its
//! `version-2` directories), with their sizes as `dirs` computes them.

use super::json::Json;
use crate::state::Shared;

/// The secure client port, -1 when TLS is off (ZooKeeper's convention).
fn secure_port(shared: &Shared) -> i64 {
    shared.config.secure_client_port.map_or(-1, i64::from)
}

/// The word's text.
pub fn text(shared: &Shared) -> String {
    let c = &shared.config;
    let (min, max) = c.session_timeout_range();
    let (dsize, lsize) = super::dirs::sizes(shared);
    format!(
        "clientPort={}\nsecureClientPort={}\ndataDir={}\ndataDirSize={dsize}\ndataLogDir={}\n\
         dataLogSize={lsize}\ntickTime={}\nmaxClientCnxns={}\nminSessionTimeout={min}\n\
         maxSessionTimeout={max}\nclientPortListenBacklog=-1\nserverId=0\n",
        c.client_port,
        secure_port(shared),
        c.engine_dir().display(),
        c.log_dir().display(),
        c.tick_time,
        c.max_client_cnxns,
    )
}

/// The AdminServer's `configuration`.
pub fn json(shared: &Shared) -> Json {
    let c = &shared.config;
    let (min, max) = c.session_timeout_range();
    let mut j = Json::obj();
    j.set("client_port", c.client_port as i64)
        .set("data_dir", c.engine_dir().display().to_string())
        .set("data_log_dir", c.log_dir().display().to_string())
        .set("tick_time", c.tick_time)
        .set("max_client_cnxns", c.max_client_cnxns)
        .set("min_session_timeout", min)
        .set("max_session_timeout", max)
        .set("server_id", 0i64)
        .set("client_port_listen_backlog", -1i64);
    j
}
