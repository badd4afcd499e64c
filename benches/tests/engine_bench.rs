//! `bench engine` end to end at toy scale: every workload on Warren and fjall, checking
//! that the JSON report holds sane figures (not specific numbers: those depend on the
//! machine). One test runs the workloads one after another because `/proc/self/io` is
//! per process, and parallel tests would count each other's bytes.

use clap::Parser;
use serde_json::Value;
use warren_bench::{BenchCommand, EngineBenchArgs, Versus, Workload};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: BenchCommand,
}

fn num(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for p in path.split('.') {
        cur = &cur[p];
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number in {v}"))
}

fn check_engine(workload: &str, e: &Value, keys: u64, value_size: u64) {
    let ctx = format!("{workload}/{}", e["engine"]);
    let f = |p: &str| num(e, p);
    assert!(f("ops_per_s") > 0.0, "{ctx}: ops_per_s");
    assert!(f("ops_per_s").is_finite(), "{ctx}: ops_per_s finite");
    assert!(f("p50_us") > 0.0, "{ctx}: p50_us");
    assert!(f("p50_us") <= f("p99_us"), "{ctx}: p50 <= p99");
    assert!(f("fill_ops_per_s") > 0.0, "{ctx}: fill_ops_per_s");
    // Everything written reaches the disk at least once (the log), so at least 1.
    assert!(f("write_amp") >= 1.0, "{ctx}: write_amp {}", f("write_amp"));
    assert!(f("write_amp").is_finite(), "{ctx}: write_amp finite");
    assert!(
        f("disk_bytes_written") >= f("user_bytes_written"),
        "{ctx}: disk bytes written"
    );
    let live = keys * (16 + value_size);
    assert_eq!(f("live_logical_bytes") as u64, live, "{ctx}: live bytes");
    assert!(
        f("read_amp").is_finite() && f("read_amp") >= 0.0,
        "{ctx}: read_amp"
    );
    assert!(f("reads") > 0.0, "{ctx}: reads");
    assert!(f("read_ops_per_s") > 0.0, "{ctx}: read_ops_per_s");
    // Random values do not compress, so the files hold at least most of the data.
    assert!(f("space_amp") > 0.5, "{ctx}: space_amp {}", f("space_amp"));
    assert!(f("space_amp").is_finite(), "{ctx}: space_amp finite");
    assert!(f("disk_bytes") > 0.0, "{ctx}: disk_bytes");
    if workload == "scan" {
        assert!(f("full_scan_entries_per_s") > 0.0, "{ctx}: full scan");
    }
}

#[test]
fn every_workload_reports_sane_figures_for_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let keys = 2000u64;
    for workload in ["fill", "overwrite", "readrandom", "scan"] {
        let cli = Cli::try_parse_from([
            "warren-bench",
            "engine",
            "--workload",
            workload,
            "--keys",
            &keys.to_string(),
            "--value-size",
            "100",
            "--batch",
            "4",
            "--clients",
            "8",
            "--vs",
            "fjall",
            "--json",
            "--wal-segment-mib",
            "1",
            "--dir",
            dir.path().to_str().unwrap(),
        ])
        .unwrap();
        let BenchCommand::Engine(args) = cli.cmd else {
            panic!("parsed as another benchmark");
        };
        assert!(args.json);
        let report = warren_bench::engine_bench::run(&args).unwrap();
        let v: Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
        assert_eq!(v["workload"], workload);
        check_engine(workload, &v["warren"], keys, 100);
        check_engine(workload, &v["other"], keys, 100);
        assert!(v["warren"]["write_amp_counters"].as_f64().unwrap() >= 1.0);
        for r in ["ops_per_s", "write_amp", "read_amp", "space_amp"] {
            let x = num(&v, &format!("ratios.{r}"));
            assert!(x.is_finite() || r == "read_amp", "ratio {r} = {x}");
        }
        // Group commit: fewer fsyncs than txns (8 in flight).
        let txns = keys / 4;
        assert!(v["warren"]["details"]["wal_fsyncs"].as_u64().unwrap() <= txns);
        assert_eq!(v["warren"]["details"]["wal_appends"].as_u64().unwrap(), {
            if workload == "overwrite" {
                2 * txns
            } else {
                txns
            }
        });
    }
    // The data directories are removed after each run.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn warren_alone_and_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = EngineBenchArgs::new(Workload::Readrandom, 500);
    args.dir = Some(dir.path().to_path_buf());
    args.wal_segment_mib = 1;
    args.reads = Some(300);
    let r = warren_bench::engine_bench::run(&args).unwrap();
    assert!(r.other.is_none() && r.ratios.is_none());
    assert_eq!(r.warren.reads, 300);
    assert!(r.warren.read_amp.is_finite());
    assert!(r.to_text().contains("read_amp"));

    args.keys = 0;
    assert!(matches!(
        warren_bench::engine_bench::run(&args),
        Err(warren_bench::BenchError::InvalidArgs(_))
    ));
    let _ = Versus::Fjall;
}
