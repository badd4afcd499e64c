//! `snapshot dump` and `snapshot diff` on a Warren data dir: the tree at the latest zxid
//! and at a middle one (the wal tail above the engine's flush replayed as the server does),
//! SnapshotFormatter's layout, `-d`, `--json`, zxids outside retention, and the
//! differences between two zxids.

mod common;

use common::run;
use common::warren::scenario;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The `----`-separated node blocks of a dump, by path.
fn blocks(s: &str) -> std::collections::BTreeMap<String, String> {
    s.split("----\n")
        .skip(1)
        .filter(|b| b.starts_with('/'))
        .map(|b| {
            let (p, rest) = b.split_once('\n').unwrap();
            (p.to_owned(), rest.to_owned())
        })
        .collect()
}

#[test]
fn the_latest_tree_prints_in_snapshot_formatter_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let (out, _, r) = run(&["snapshot", "dump", dir.to_str().unwrap()], "");
    r.unwrap();
    let s = text(&out);
    print!("{s}");
    assert!(s.starts_with("ZNode Details (count=9):\n----\n/\n"), "{s}");
    let b = blocks(&s);
    let paths: Vec<&str> = b.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            "/",
            "/a",
            "/c",
            "/d",
            "/e",
            "/zookeeper",
            "/zookeeper/config",
            "/zookeeper/quota"
        ]
    );
    assert_eq!(
        b["/d"],
        "  cZxid = 0x00000000000006
  ctime = Thu Jan 01 00:00:06 UTC 1970
  mZxid = 0x00000000000009
  mtime = Thu Jan 01 00:00:09 UTC 1970
  pZxid = 0x00000000000006
  cversion = 0
  dataVersion = 1
  aclVersion = 1
  ephemeralOwner = 0x00000000000000
  dataLength = 1
"
    );
    // The stored cversion, as SnapshotFormatter prints it: 4 creates under the root.
    assert!(
        b["/"].contains("  cversion = 4\n  dataVersion = 0\n"),
        "{}",
        b["/"]
    );
    assert!(b["/c"].contains("ephemeralOwner = 0x8000000000000000"));
    assert!(s.ends_with(
        "----\nSession Details (sid, timeout, ephemeralCount):\n0x00000000000100, 30000, 0\n----\nLast zxid: 0xa\n"
    ));
    let (out, _, r) = run(&["snapshot", "dump", "-d", dir.to_str().unwrap()], "");
    r.unwrap();
    assert!(blocks(&text(&out))["/d"].ends_with("  data = eQ==\n"));
    let (out, _, r) = run(&["snapshot", "dump", "--json", dir.to_str().unwrap()], "");
    r.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v[2]["progname"], "SnapshotFormatter.java");
    assert_eq!(v[3][0]["name"], "/");
}

#[test]
fn a_middle_zxid_shows_the_tree_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let (out, _, r) = run(
        &[
            "snapshot",
            "dump",
            dir.to_str().unwrap(),
            "--at-zxid",
            "0x3",
        ],
        "",
    );
    r.unwrap();
    let s = text(&out);
    let b = blocks(&s);
    assert!(s.starts_with("ZNode Details (count=7):\n"), "{s}");
    assert!(b.contains_key("/a/b") && !b.contains_key("/c") && !b.contains_key("/d"));
    assert!(b["/a/b"].contains("  ephemeralOwner = 0x00000000000100\n"));
    assert!(b["/a"].contains("  dataVersion = 0\n  aclVersion = 0\n"));
    assert!(
        s.ends_with("0x00000000000100, 30000, 1\n----\nLast zxid: 0x3\n"),
        "{s}"
    );
    // In the wal only (the engine was flushed at 5): replayed like the server does.
    let (out, _, r) = run(
        &["snapshot", "dump", dir.to_str().unwrap(), "--at-zxid", "7"],
        "",
    );
    r.unwrap();
    let b = blocks(&text(&out));
    assert!(b["/d"].contains("  aclVersion = 1\n") && b["/d"].contains("  dataVersion = 0\n"));
}

#[test]
fn zxids_outside_the_data_dir_are_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let d = dir.to_str().unwrap();
    let (_, _, r) = run(
        &[
            "snapshot",
            "dump",
            d,
            "--at-zxid",
            "3",
            "--retention-txns",
            "2",
        ],
        "",
    );
    let e = r.unwrap_err();
    assert!(
        matches!(
            e,
            warren_tools::ToolError::TooOld {
                requested: 3,
                oldest: 8
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("oldest readable zxid is 0x8"), "{e}");
    let (_, _, r) = run(&["snapshot", "dump", d, "--at-zxid", "0x20"], "");
    assert!(matches!(
        r,
        Err(warren_tools::ToolError::TooNew {
            requested: 0x20,
            last: 10
        })
    ));
}

#[test]
fn diff_lists_created_deleted_and_changed_nodes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let d = dir.to_str().unwrap();
    let (out, _, r) = run(
        &[
            "snapshot",
            "diff",
            d,
            "--from-zxid",
            "3",
            "--to-zxid",
            "0x9",
        ],
        "",
    );
    r.unwrap();
    let s = text(&out);
    print!("{s}");
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(
        lines,
        [
            "changed /: pzxid 0x2 -> 0x6, cversion 1 -> 3, numChildren 2 -> 4",
            "changed /a: data 3 bytes (old) -> 3 bytes (new), mzxid 0x2 -> 0x4, mtime 2000 -> 4000, pzxid 0x3 -> 0x8, dataVersion 0 -> 1, numChildren 1 -> 0",
            "deleted /a/b",
            "created /c (czxid 0x5)",
            "created /d (czxid 0x6)",
            "2 created, 1 deleted, 2 changed, 0 session(s) opened, 0 closed between zxid 0x3 and 0x9",
        ]
    );
    let (out, _, r) = run(
        &[
            "snapshot",
            "diff",
            d,
            "--from-zxid",
            "3",
            "--to-zxid",
            "9",
            "--json",
        ],
        "",
    );
    r.unwrap();
    let objs: Vec<serde_json::Value> = text(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), 5);
    assert_eq!(objs[2]["change"], "deleted");
    assert_eq!(objs[1]["fields"]["dataVersion"]["to"], "1");
}
