//! What an operator reads: a log written to a file carries no terminal colour codes, and
//! `srvr` names the real build date in ZooKeeper's form, as monitoring scripts parse it.

mod common;

use common::*;

#[test]
fn a_log_file_has_no_colour_codes_and_srvr_names_the_build_date() {
    // An unknown key makes the server log a warning (the harness logs at warn level).
    let w = Warren::start_with("admin.enableServer=false\nnoSuchKeyAnywhere=1\n");
    let srvr = four_letter(w.port, "srvr");
    let first = srvr.lines().next().unwrap_or_default();
    let date = first
        .split_once(", built on ")
        .map(|(_, d)| d)
        .unwrap_or_default();
    // yyyy-MM-dd HH:mm UTC
    let b = date.as_bytes();
    let shaped = b.len() == 20
        && date.ends_with(" UTC")
        && [4, 7].iter().all(|&i| b[i] == b'-')
        && b[10] == b' '
        && b[13] == b':'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    assert!(shaped, "srvr first line: {first:?}");
    assert!(!date.starts_with("1970"), "srvr first line: {first:?}");
    let log = w.log();
    assert!(log.contains("noSuchKeyAnywhere"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log file: {log:?}"
    );
}
