//! Stamps the build date into the version string that `srvr`, `stat`, `mntr` and the
//! AdminServer print, in ZooKeeper's form (`built on 2024-12-29 17:54 UTC`). A
//! reproducible build sets SOURCE_DATE_EPOCH; otherwise it is the time of the build.

use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // Re-stamped whenever the server's sources change.
    println!("cargo:rerun-if-changed=src");
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    println!(
        "cargo:rustc-env=WARREN_BUILD_DATE={}",
        warren_proto::java::build_date(secs.saturating_mul(1000))
    );
}
