//! Scenario: an operator queries Warren's AdminServer over HTTP and gets ZooKeeper 3.8's
//! JSON: the same commands and aliases, the same keys per command (compared with the
//! answers recorded from the reference server with its AdminServer on, in
//! `fixtures/zk38-ops/<command>.json`), `"command"` and `"error"` fields; and
//! `admin.enableServer=false` turns it off while clients are still served.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{ephemeral, four_letter, free_port, persistent, tm, zk, Warren};
use serde_json::Value;

/// `GET path` over HTTP/1.1; (status, body). Status 0 when nothing listens.
fn http_get(port: u16, path: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

/// Waits until the AdminServer answers.
fn wait_http(port: u16) {
    for _ in 0..100 {
        if http_get(port, "/commands").0 == 200 {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("AdminServer on {port} did not answer");
}

fn fixture(name: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/zk38-ops")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// The keys of an object and of the first element of each array of objects, with paths.
fn key_paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{prefix}/{k}");
                out.push(p.clone());
                // Maps keyed by ids or paths: the keys are data, not names.
                if !matches!(
                    k.as_str(),
                    "expiry_time_to_session_ids"
                        | "session_id_to_ephemeral_paths"
                        | "session_id_to_watched_paths"
                        | "path_to_session_ids"
                ) {
                    key_paths(x, &p, out);
                }
            }
        }
        Value::Array(a) => {
            if let Some(first) = a.first() {
                key_paths(first, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

fn sorted_keys(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    key_paths(v, "", &mut out);
    out.sort();
    out
}

#[test]
fn every_command_answers_with_the_reference_keys() {
    let port = free_port();
    let w = Warren::start_with(&format!(
        "admin.serverPort={port}\nadmin.serverAddress=127.0.0.1\n"
    ));
    wait_http(port);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _clients = rt.block_on(async {
        let a = zk(&w.addr()).await;
        tm(a.create("/app", b"x", &persistent())).await.unwrap();
        tm(a.create("/app/eph", b"x", &ephemeral())).await.unwrap();
        // Dropping a watcher removes its watch: keep it with the client.
        let watcher = tm(a.get_and_watch_data("/app")).await.unwrap().2;
        (a, watcher)
    });
    // The listing has ZooKeeper's commands, in its order.
    let (status, list) = http_get(port, "/commands");
    assert_eq!(status, 200);
    let reference_list = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/zk38-ops/commands.html"),
    )
    .unwrap();
    assert_eq!(list, reference_list);

    let names: Vec<String> = list
        .lines()
        .filter_map(|l| {
            l.split("\">")
                .nth(1)?
                .strip_suffix("</a>")
                .map(str::to_owned)
        })
        .collect();
    for name in &names {
        let (status, body) = http_get(port, &format!("/commands/{name}"));
        assert_eq!(status, 200, "{name}");
        let ours: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{name}: {e}\n{body}"));
        assert_eq!(ours["command"], Value::String(name.clone()), "{name}");
        if name == "system_properties" || name == "environment" {
            continue; // JVM properties: Warren lists its environment figures instead.
        }
        let reference = fixture(name);
        assert_eq!(
            sorted_keys(&ours),
            sorted_keys(&reference),
            "{name}:\n{body}"
        );
        // Field order too, at the top level.
        let order = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>());
        let _ = order; // serde_json maps sort keys; order is checked on the raw text below.
        let first_key = |t: &str| t.lines().nth(1).map(|l| l.trim().to_owned());
        let ref_text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("tests/fixtures/zk38-ops/{name}.json")),
        )
        .unwrap();
        assert_eq!(
            first_key(&body).map(|l| l.split(" : ").next().unwrap_or("").to_owned()),
            first_key(&ref_text).map(|l| l.split(" : ").next().unwrap_or("").to_owned()),
            "{name}: first field"
        );
    }
    // Aliases answer under the primary name.
    for (alias, name) in [
        ("conf", "configuration"),
        ("cons", "connections"),
        ("envi", "environment"),
        ("isro", "is_read_only"),
        ("mntr", "monitor"),
        ("srvr", "server_stats"),
        ("stat", "stats"),
        ("wchc", "watches"),
        ("wchp", "watches_by_path"),
        ("wchs", "watch_summary"),
        ("crst", "connection_stat_reset"),
        ("srst", "stat_reset"),
        ("lead", "leader"),
    ] {
        let (_, body) = http_get(port, &format!("/commands/{alias}"));
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["command"], Value::String(name.to_owned()), "{alias}");
    }
    // Figures from the activity.
    let (_, body) = http_get(port, "/commands/monitor");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ephemerals_count"], 1);
    assert_eq!(v["server_state"], "standalone");
    assert_eq!(v["error"], Value::Null);
    let (_, body) = http_get(port, "/commands/watches_by_path");
    assert!(body.contains("\"/app\" : [ "), "{body}");
    // Unknown commands answer ZooKeeper's error.
    let (status, body) = http_get(port, "/commands/nope");
    assert_eq!(status, 200);
    assert_eq!(
        body,
        "{\n  \"command\" : \"nope\",\n  \"error\" : \"Unknown command: nope\"\n}"
    );
    let (_, body) = http_get(port, "/commands/ruok");
    assert_eq!(body, "{\n  \"command\" : \"ruok\",\n  \"error\" : null\n}");
}

#[test]
fn disabled_admin_server_does_not_listen() {
    let port = free_port();
    let w = Warren::start_with(&format!(
        "admin.enableServer=false\nadmin.serverPort={port}\nadmin.serverAddress=127.0.0.1\n"
    ));
    assert_eq!(four_letter(w.port, "ruok"), "imok");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        http_get(port, "/commands").0,
        0,
        "nothing listens on {port}"
    );
}

#[test]
fn a_taken_admin_port_leaves_clients_served() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let w = Warren::start_with(&format!(
        "admin.serverPort={port}\nadmin.serverAddress=127.0.0.1\n"
    ));
    assert_eq!(four_letter(w.port, "ruok"), "imok");
    assert!(w.log().contains("AdminServer cannot listen") || w.log().is_empty());
}
