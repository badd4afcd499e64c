//! Scenario: an operator runs every four-letter word against Warren and against the
//! reference ZooKeeper 3.8 after the same client activity, and sees the same layout:
//! the same lines, field names and key names (values differ: ports, ids, times, sizes).
//! Also: words outside `4lw.commands.whitelist` get ZooKeeper's refusal text.

mod common;

use common::{ephemeral, four_letter, persistent, tm, zk, RefZk, Warren};

/// The same activity on either server: a node, an ephemeral child, a plain child, and
/// data watches from two sessions (one of them on two paths). Returns the clients, which
/// must stay alive while the words run.
#[allow(clippy::type_complexity)]
async fn activity(
    addr: &str,
) -> (
    Vec<zookeeper_client::Client>,
    Vec<zookeeper_client::OneshotWatcher>,
    zookeeper_client::OneshotWatcher,
) {
    let a = zk(addr).await;
    let b = zk(addr).await;
    tm(a.create("/app", b"hello", &persistent())).await.unwrap();
    tm(a.create("/app/eph", b"x", &ephemeral())).await.unwrap();
    tm(a.create("/app/c1", b"", &persistent())).await.unwrap();
    let w1 = tm(b.get_and_watch_data("/app")).await.unwrap().2;
    let w2 = tm(a.check_and_watch_stat("/app/c1")).await.unwrap().1;
    let w3 = tm(a.get_and_watch_data("/app")).await.unwrap().2;
    // Dropping a watcher removes its watch: keep them with the clients.
    (vec![a, b], vec![w1, w3], w2)
}

/// A line's shape: every value that varies between runs and servers replaced by a token.
fn shape(line: &str) -> String {
    let mut out = String::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if line[i..].starts_with("0x") {
            i += 2;
            while i < b.len() && (b[i] as char).is_ascii_hexdigit() {
                i += 1;
            }
            out.push_str("HEX");
        } else if c.is_ascii_digit() {
            while i < b.len() && ((b[i] as char).is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            out.push('N');
        } else {
            out.push(c);
            i += 1;
        }
    }
    // Dates: "Sat Nov 21 N:N:N UTC N" keep only the fact that there is one.
    if let Some(p) = out.find(" expire at ") {
        out.truncate(p + " expire at ".len());
        out.push_str("DATE:");
    }
    out
}

/// The sorted line shapes of a word's answer. Values after `version` are not compared;
/// ZooKeeper's own 4lw connection (which Warren does not list) is left out.
fn shapes(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| !l.ends_with("[0](queued=0,recved=1,sent=0)"))
        .map(|l| {
            if let Some((k, _)) = l.split_once("version") {
                format!("{k}version…")
            } else {
                shape(l)
            }
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

fn keys(text: &str, sep: char) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_once(sep).map(|(k, _)| k.to_owned()))
        .collect()
}

/// The reference's answers, live when the reference can start here, else the answers
/// recorded from it in `fixtures/zk38-ops` (same activity).
fn reference_answers(words: &[&str]) -> Vec<String> {
    let live = std::panic::catch_unwind(|| {
        let z = RefZk::start();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let _clients = rt.block_on(activity(&z.addr()));
        words
            .iter()
            .map(|w| four_letter(z.port, w))
            .collect::<Vec<_>>()
    });
    match live {
        Ok(v) => v,
        Err(_) => {
            eprintln!("reference ZooKeeper not available; using the recorded answers");
            let dir =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zk38-ops");
            words
                .iter()
                .map(|w| std::fs::read_to_string(dir.join(format!("{w}.txt"))).unwrap_or_default())
                .collect()
        }
    }
}

#[test]
fn every_word_has_the_reference_layout() {
    let words = [
        "srvr", "stat", "cons", "dump", "wchs", "wchc", "wchp", "conf", "envi", "mntr",
    ];
    let reference = reference_answers(&words);
    let w = Warren::start_with("admin.enableServer=false\n");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _clients = rt.block_on(activity(&w.addr()));
    for (word, r) in words.iter().zip(&reference) {
        let ours = four_letter(w.port, word);
        match *word {
            // Key sets, in order.
            "conf" | "envi" => assert_eq!(keys(&ours, '='), keys(r, '='), "{word}:\n{ours}"),
            "mntr" => assert_eq!(keys(&ours, '\t'), keys(r, '\t'), "{word}"),
            _ => assert_eq!(
                shapes(&ours),
                shapes(r),
                "{word}:\n{ours}\n--- reference:\n{r}"
            ),
        }
        assert!(ours.ends_with('\n'), "{word} ends its last line");
    }
    // Figures that follow from the activity, on Warren.
    let mntr = four_letter(w.port, "mntr");
    let get = |k: &str| {
        mntr.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}\t")))
            .unwrap_or_else(|| panic!("{k} missing"))
            .to_owned()
    };
    assert_eq!(get("zk_server_state"), "standalone");
    assert_eq!(get("zk_ephemerals_count"), "1");
    assert_eq!(get("zk_global_sessions"), "2");
    assert_eq!(get("zk_num_alive_connections"), "2");
    assert_eq!(get("zk_watch_count"), "3");
    assert!(get("zk_cnt_updatelatency").parse::<u64>().unwrap() >= 3);
    assert_eq!(
        four_letter(w.port, "wchs"),
        "2 connections watching 2 paths\nTotal watches:3\n"
    );
    assert!(four_letter(w.port, "dump").contains("\t/app/eph\n"));
    assert_eq!(four_letter(w.port, "ruok"), "imok");
    assert_eq!(four_letter(w.port, "isro"), "rw");
    assert_eq!(four_letter(w.port, "gtmk"), "306");
    assert_eq!(four_letter(w.port, "srst"), "Server stats reset.\n");
    assert_eq!(four_letter(w.port, "crst"), "Connection stats reset.\n");
}

#[test]
fn words_outside_the_whitelist_are_refused() {
    let w = Warren::start_with("4lw.commands.whitelist=srvr, ruok\nadmin.enableServer=false\n");
    // The base config allows every word; a later line narrows it.
    assert_eq!(four_letter(w.port, "ruok"), "imok");
    assert!(four_letter(w.port, "srvr").starts_with("Zookeeper version: "));
    for word in ["mntr", "cons", "dump", "envi", "conf", "wchs", "stat"] {
        assert_eq!(
            four_letter(w.port, word),
            format!("{word} is not executed because it is not in the whitelist.\n")
        );
    }
}
