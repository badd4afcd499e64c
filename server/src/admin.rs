//! The AdminServer: ZooKeeper's HTTP interface to the four-letter-word figures.
//!
//! `GET <admin.commandURL>` lists the commands as links; `GET <admin.commandURL>/<name>`
//! runs one, by its name or any of ZooKeeper's aliases, and answers JSON laid out as
//! ZooKeeper 3.8 lays it out: the command's fields, then `"command"` (its primary name)
//! and `"error": null`; a command that fails puts `"error"` first. Unknown commands answer
//! 200 with an error, as ZooKeeper does. The 4lw whitelist does not apply here (it does
//! not in ZooKeeper either).
//!
//! It runs on the server's tokio runtime; a port that cannot be bound is logged and the
//! client port keeps serving, because monitoring must never take the service down.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::fourlw::json::Json;
use crate::fourlw::{self, VERSION};
use crate::state::Shared;

/// How a command answers: its fields, or an error message.
type Outcome = Result<Json, String>;

/// One command: primary name, aliases, and what it does.
struct Command {
    name: &'static str,
    aliases: &'static [&'static str],
    run: fn(&Shared, Option<&str>) -> Outcome,
}

/// ZooKeeper 3.8's commands, sorted by primary name as its listing is.
const COMMANDS: &[Command] = &[
    Command {
        name: "configuration",
        aliases: &["conf", "config"],
        run: |s, _| Ok(fourlw::conf::json(s)),
    },
    Command {
        name: "connection_stat_reset",
        aliases: &["crst"],
        run: |s, _| Ok(fourlw::crst::json(s)),
    },
    Command {
        name: "connections",
        aliases: &["cons"],
        run: |s, _| Ok(fourlw::cons::json(s)),
    },
    Command {
        name: "dirs",
        aliases: &[],
        run: |s, _| Ok(fourlw::dirs::json(s)),
    },
    Command {
        name: "dump",
        aliases: &[],
        run: |s, _| Ok(fourlw::dump::json(s)),
    },
    Command {
        name: "environment",
        aliases: &["env", "envi"],
        run: |s, _| Ok(fourlw::envi::json(s)),
    },
    Command {
        name: "get_trace_mask",
        aliases: &["gtmk"],
        run: |_, _| Ok(fourlw::gtmk::json()),
    },
    Command {
        name: "hash",
        aliases: &[],
        run: |_, _| Ok(fourlw::hash::json()),
    },
    Command {
        name: "initial_configuration",
        aliases: &["icfg"],
        run: initial_configuration,
    },
    Command {
        name: "is_read_only",
        aliases: &["isro"],
        run: |_, _| Ok(fourlw::isro::json()),
    },
    Command {
        name: "last_snapshot",
        aliases: &["lsnp"],
        run: last_snapshot,
    },
    Command {
        name: "leader",
        aliases: &["lead"],
        // ZooKeeper 3.8 answers this on a standalone server.
        run: |_, _| Err("server is not initialized".to_owned()),
    },
    Command {
        name: "monitor",
        aliases: &["mntr"],
        run: |s, _| Ok(fourlw::mntr::json(s)),
    },
    Command {
        name: "observer_connection_stat_reset",
        aliases: &["orst"],
        run: |_, _| Ok(Json::obj()),
    },
    Command {
        name: "observers",
        aliases: &["obsr"],
        run: |_, _| {
            let mut j = Json::obj();
            j.set("synced_observers", 0i64)
                .set("observers", Json::Arr(Vec::new()));
            Ok(j)
        },
    },
    Command {
        name: "ruok",
        aliases: &[],
        run: |_, _| Ok(Json::obj()),
    },
    Command {
        name: "server_stats",
        aliases: &["srvr"],
        run: |s, _| Ok(fourlw::srvr::json(s)),
    },
    Command {
        name: "set_trace_mask",
        aliases: &["stmk"],
        run: set_trace_mask,
    },
    Command {
        name: "stat_reset",
        aliases: &["srst"],
        run: |s, _| Ok(fourlw::srst::json(s)),
    },
    Command {
        name: "stats",
        aliases: &["stat"],
        run: |s, _| Ok(fourlw::stat::json(s)),
    },
    Command {
        name: "system_properties",
        aliases: &["sysp"],
        // Warren has no Java system properties; the environment figures stand in.
        run: |s, _| Ok(fourlw::envi::json(s)),
    },
    Command {
        name: "voting_view",
        aliases: &[],
        run: |_, _| {
            let mut j = Json::obj();
            j.set("current_config", Json::obj());
            Ok(j)
        },
    },
    Command {
        name: "watch_summary",
        aliases: &["wchs"],
        run: |s, _| Ok(fourlw::wchs::json(s)),
    },
    Command {
        name: "watches",
        aliases: &["wchc"],
        run: |s, _| Ok(fourlw::wchc::json(s)),
    },
    Command {
        name: "watches_by_path",
        aliases: &["wchp"],
        run: |s, _| Ok(fourlw::wchp::json(s)),
    },
    Command {
        name: "zabstate",
        aliases: &[],
        run: |_, _| {
            let mut j = Json::obj();
            j.set("voting", false).set("zabstate", "");
            Ok(j)
        },
    },
];

/// `initial_configuration`: the text of the configuration file the server started with,
/// read again from the path given on the command line (`--config`).
fn initial_configuration(_: &Shared, _: Option<&str>) -> Outcome {
    let mut args = std::env::args();
    let mut path = None;
    while let Some(a) = args.next() {
        if a == "--config" {
            path = args.next();
        } else if let Some(p) = a.strip_prefix("--config=") {
            path = Some(p.to_owned());
        }
    }
    let text = path
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let mut j = Json::obj();
    j.set("initial_configuration", text);
    Ok(j)
}

/// `last_snapshot`: Warren's counterpart of ZooKeeper's last snapshot is the engine's
/// persisted state: the highest zxid in SSTables (hex, as ZooKeeper writes it) and when
/// the engine directory last changed, in seconds.
fn last_snapshot(shared: &Shared, _: Option<&str>) -> Outcome {
    let zxid = shared.engine.persisted_seq();
    let newest = std::fs::read_dir(shared.config.engine_dir())
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok()?.modified().ok())
                .max()
        })
        .ok()
        .flatten();
    let mut j = Json::obj();
    j.set("zxid", format!("{zxid:x}"))
        .set("timestamp", newest.map_or(0, fourlw::epoch_ms) / 1000);
    Ok(j)
}

/// `set_trace_mask`: Warren filters its log with `RUST_LOG`, not a mask, so there is
/// nothing to set; without the argument it gives ZooKeeper's error.
fn set_trace_mask(_: &Shared, query: Option<&str>) -> Outcome {
    let given = query.is_some_and(|q| q.split('&').any(|kv| kv.starts_with("traceMask=")));
    if given {
        Err("Warren has no trace mask; its log is filtered with RUST_LOG".to_owned())
    } else {
        Err("setTraceMask requires long traceMask argument".to_owned())
    }
}

/// The command with this name or alias.
fn find(name: &str) -> Option<&'static Command> {
    COMMANDS
        .iter()
        .find(|c| c.name == name || c.aliases.contains(&name))
}

/// Runs a command by name or alias and returns its JSON text.
pub fn run(shared: &Shared, name: &str, query: Option<&str>) -> String {
    let mut j = Json::obj();
    match find(name) {
        None => {
            j.set("command", name)
                .set("error", format!("Unknown command: {name}"));
        }
        Some(c) => match (c.run)(shared, query) {
            Ok(Json::Obj(fields)) => {
                j = Json::Obj(fields);
                j.set("command", c.name).set("error", Json::Null);
            }
            Ok(other) => {
                j.set("result", other)
                    .set("command", c.name)
                    .set("error", Json::Null);
            }
            Err(e) => {
                j.set("error", e).set("command", c.name);
            }
        },
    }
    j.pretty()
}

/// The listing page: one link per command, as ZooKeeper's.
fn listing(base: &str) -> String {
    COMMANDS
        .iter()
        .map(|c| format!("<a href=\"{base}/{0}\">{0}</a>\n<br/>\n", c.name))
        .collect()
}

/// The routes, on `base` (`admin.commandURL`).
pub fn router(shared: Arc<Shared>) -> Router {
    let base = shared.config.admin_command_url.clone();
    let list_base = base.clone();
    let list = move || {
        let body = listing(&list_base);
        async move { body }
    };
    Router::new()
        .route(&base, get(list.clone()))
        .route(&format!("{base}/"), get(list))
        .route(&format!("{base}/{{name}}"), get(command))
        .with_state(shared)
}

async fn command(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    // Commands read engine counters and directory sizes: keep them off the async workers.
    let body = tokio::task::spawn_blocking(move || run(&shared, &name, query.as_deref())).await;
    match body {
        Ok(b) => ([(header::CONTENT_TYPE, "application/json")], b).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Serves the AdminServer until the runtime stops; returns at once when it is disabled,
/// and logs (without stopping the server) when its port cannot be bound.
pub async fn serve(shared: Arc<Shared>) {
    let Some(addr) = shared.config.admin_addr() else {
        tracing::info!("AdminServer disabled (admin.enableServer=false)");
        return;
    };
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(
                %addr,
                "AdminServer cannot listen ({e}); clients are still served. \
                 Set admin.serverPort to a free port or admin.enableServer=false"
            );
            return;
        }
    };
    tracing::info!(%addr, url = %shared.config.admin_command_url, "AdminServer listening ({VERSION})");
    if let Err(e) = axum::serve(listener, router(shared)).await {
        tracing::error!("AdminServer stopped: {e}");
    }
}
