//! Scenario: Prometheus scrapes Warren's `/metrics` after some client activity and finds
//! ZooKeeper's metric names (so existing dashboards work) and Warren's engine and txn log
//! figures, with values that follow from the activity. Without a metrics provider in
//! zoo.cfg nothing listens.

mod common;

use std::time::Duration;

use common::{
    ephemeral, four_letter, free_port, metric as value, persistent, scrape, tm, zk, Warren,
};

#[test]
fn metrics_carry_zookeeper_names_and_engine_figures_after_activity() {
    let port = free_port();
    let w = Warren::start_with(&format!(
        "admin.enableServer=false\n\
         metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n\
         metricsProvider.httpPort={port}\nmetricsProvider.httpHost=127.0.0.1\n"
    ));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _client = rt.block_on(async {
        let a = zk(&w.addr()).await;
        tm(a.create("/m", b"data", &persistent())).await.unwrap();
        tm(a.create("/m/e", b"", &ephemeral())).await.unwrap();
        for _ in 0..5 {
            let _ = tm(a.get_data("/m")).await.unwrap();
        }
        // Dropping a watcher removes its watch: keep it with the client.
        let watcher = tm(a.get_and_watch_data("/m")).await.unwrap().2;
        (a, watcher)
    });
    let mut text = None;
    for _ in 0..50 {
        text = scrape(port);
        if text.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = text.expect("metrics endpoint answers");
    for name in [
        "znode_count",
        "watch_count",
        "ephemerals_count",
        "global_sessions",
        "num_alive_connections",
        "outstanding_requests",
        "packets_received",
        "avg_latency",
        "readlatency_count",
        "updatelatency_count",
        "warren_wal_fsyncs_total",
        "warren_engine_user_bytes_written_total",
        "warren_engine_flush_bytes_written_total",
        "warren_engine_compaction_bytes_written_total",
        "warren_engine_block_cache_hit_ratio",
        "warren_engine_write_amplification",
    ] {
        value(&text, name);
    }
    assert_eq!(value(&text, "watch_count"), 1.0);
    assert_eq!(value(&text, "ephemerals_count"), 1.0);
    assert_eq!(value(&text, "global_sessions"), 1.0);
    assert_eq!(value(&text, "num_alive_connections"), 1.0);
    assert!(value(&text, "znode_count") >= 3.0);
    assert!(value(&text, "readlatency_count") >= 6.0);
    assert!(value(&text, "updatelatency_count") >= 2.0);
    assert!(value(&text, "warren_wal_fsyncs_total") >= 1.0);
    assert!(value(&text, "warren_engine_user_bytes_written_total") > 0.0);
    assert!(
        text.contains("warren_request_latency_seconds_count{op=\"getData\"} 6"),
        "{text}"
    );
    assert!(text.contains("warren_engine_level_bytes{level=\"0\"}"));
    assert!(text.contains("# TYPE readlatency histogram"));
    // The endpoint does not disturb the client port.
    assert_eq!(four_letter(w.port, "ruok"), "imok");
}

#[test]
fn without_a_metrics_provider_nothing_listens() {
    let port = free_port();
    let w = Warren::start_with("admin.enableServer=false\n");
    assert_eq!(four_letter(w.port, "ruok"), "imok");
    // The default port is 7000; the free port stays free.
    assert!(scrape(port).is_none());
}
