//! `txnlog dump|verify|chop|recover` on Warren WAL segments and wal dirs: the toolkit's
//! line layout with the same txn text as for ZooKeeper logs, filters, JSON, every bad
//! record reported with file and offset, chop at a zxid, recover of a bad checksum.

mod common;

use common::run;
use common::warren::scenario;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The txn lines of a dump (header and EOF lines left out).
fn txn_lines(s: &str) -> Vec<String> {
    s.lines()
        .filter(|l| l.contains(" session 0x") || l.starts_with(']'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_data_dir_dumps_every_txn_in_toolkit_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let (out, err, r) = run(&["txnlog", "dump", dir.to_str().unwrap()], "");
    r.unwrap();
    assert_eq!(err, "");
    let s = text(&out);
    print!("{s}");
    let expected = "\
1/1/70, 12:00:01 AM UTC session 0x100 cxid 0x1 zxid 0x1 createSession 30000
1/1/70, 12:00:02 AM UTC session 0x100 cxid 0x2 zxid 0x2 create /a,one,[31,s{'world,'anyone}
],false,1
1/1/70, 12:00:03 AM UTC session 0x100 cxid 0x3 zxid 0x3 create /a/b,two,[31,s{'world,'anyone}
],true,1
1/1/70, 12:00:04 AM UTC session 0x100 cxid 0x4 zxid 0x4 setData /a,uno,1
1/1/70, 12:00:05 AM UTC session 0x100 cxid 0x5 zxid 0x5 createContainer /c,,[31,s{'world,'anyone}
],2
1/1/70, 12:00:06 AM UTC session 0x100 cxid 0x6 zxid 0x6 create /d,x,[31,s{'world,'anyone}
],false,3
1/1/70, 12:00:07 AM UTC session 0x100 cxid 0x7 zxid 0x7 setACL '/d,v{s{1,s{'world,'anyone}}},1
1/1/70, 12:00:08 AM UTC session 0x100 cxid 0x8 zxid 0x8 delete '/a/b
1/1/70, 12:00:09 AM UTC session 0x100 cxid 0x9 zxid 0x9 setData /d,y,1
1/1/70, 12:00:10 AM UTC session 0x100 cxid 0xa zxid 0xa createTtl /e,t,[31,s{'world,'anyone}
],4,5000
";
    assert_eq!(txn_lines(&s).join("\n") + "\n", expected);
    // One header and one EOF line per segment; the EOF counts add up to every txn.
    let headers = s
        .lines()
        .filter(|l| l.starts_with("Warren WAL segment with first zxid 0x"))
        .count();
    let total: usize = s
        .lines()
        .filter_map(|l| l.strip_prefix("EOF reached after "))
        .map(|l| l.trim_end_matches(" txns.").parse::<usize>().unwrap())
        .sum();
    assert!(headers > 1, "the scenario spans several segments");
    assert_eq!(total, 10);
    assert!(s.starts_with("Warren WAL segment with first zxid 0x1 format version 1\n"));
}

#[test]
fn dump_filters_and_json_work_on_warren_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let wal = dir.join("wal");
    let (out, _, r) = run(
        &[
            "txnlog",
            "dump",
            wal.to_str().unwrap(),
            "--from-zxid",
            "0x4",
            "--to-zxid",
            "8",
            "--path-prefix",
            "/d",
        ],
        "",
    );
    r.unwrap();
    let lines = txn_lines(&text(&out));
    assert_eq!(lines.len(), 3, "{lines:?}"); // create /d (2 lines) + setACL /d
    assert!(lines[0].contains("zxid 0x6 create /d"));
    assert!(lines[2].contains("zxid 0x7 setACL '/d"));
    let (out, _, r) = run(
        &[
            "txnlog",
            "dump",
            wal.to_str().unwrap(),
            "--json",
            "--session",
            "0x100",
        ],
        "",
    );
    r.unwrap();
    let objs: Vec<serde_json::Value> = text(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), 10);
    assert_eq!(objs[8]["type"], "setData");
    assert_eq!(objs[8]["zxid"], "0x9");
    assert_eq!(objs[8]["txn"]["data"], "y");
    assert_eq!(objs[8]["crc_ok"], true);
    assert!(objs[8]["file"].as_str().unwrap().contains("wal-"));
}

/// The segment holding zxid `z` and the offset of its record.
fn record_of(wal: &std::path::Path, z: u64) -> (std::path::PathBuf, u64) {
    for (_, seg) in warren_wal::list_segments(wal).unwrap() {
        for r in warren_wal::read_segment_file(&seg).unwrap() {
            let (off, rec) = r.unwrap();
            if rec.seq == z {
                return (seg, off);
            }
        }
    }
    panic!("no zxid {z}");
}

#[test]
fn a_flipped_byte_is_reported_with_file_and_offset_then_recovered() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let wal = dir.join("wal");
    let (seg, off) = record_of(&wal, 6);
    // Flip a byte of the payload (the txn's time field): the length stays sound.
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[off as usize + 16 + 20] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();

    let (out, _, r) = run(&["txnlog", "verify", wal.to_str().unwrap()], "");
    let s = text(&out);
    assert!(
        matches!(r, Err(warren_tools::ToolError::VerifyFailed { bad: 1 })),
        "{r:?}\n{s}"
    );
    let want = format!("{}: offset {off}: record checksum mismatch", seg.display());
    assert!(s.contains(&want), "{s}");

    // The dump shows the record twice, flagged first, as the toolkit does.
    let (out, _, r) = run(&["txnlog", "dump", seg.to_str().unwrap()], "");
    r.unwrap();
    let s = text(&out);
    let flagged: Vec<&str> = s
        .lines()
        .filter(|l| l.starts_with("CRC ERROR - "))
        .collect();
    assert_eq!(flagged.len(), 1, "{s}");
    assert!(
        flagged[0].contains("session 0x100 cxid 0x6 zxid 0x6 create /d,x"),
        "{s}"
    );
    assert_eq!(s.matches("zxid 0x6 create /d,x").count(), 2, "{s}");

    // Chop refuses to copy through it; recover fixes it into a new file.
    let (out, _, r) = run(&["txnlog", "recover", seg.to_str().unwrap()], "n\n");
    r.unwrap();
    assert!(text(&out).contains("with 0 fixed CRC error(s)"));
    let fixed2 = tmp.path().join("fixed2");
    let (out, _, r) = run(
        &[
            "txnlog",
            "recover",
            "--yes",
            seg.to_str().unwrap(),
            "--out",
            fixed2.to_str().unwrap(),
        ],
        "",
    );
    r.unwrap();
    let s = text(&out);
    assert!(s.contains("CRC FIXED - "), "{s}");
    assert!(s.contains("with 1 fixed CRC error(s)"), "{s}");
    let (out, _, r) = run(&["txnlog", "verify", fixed2.to_str().unwrap()], "");
    assert!(r.is_ok(), "{}", text(&out));
    // Only the checksum field changed.
    let after = std::fs::read(&fixed2).unwrap();
    let diff: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] != after[i]).collect();
    assert!(
        diff.iter()
            .all(|&i| (off as usize + 4..off as usize + 8).contains(&i)),
        "{diff:?}"
    );
}

/// The txns of a dump or recover report, one string each (an ACL's `]...` continuation
/// line kept with its txn), leaving out the copies flagged `CRC ERROR - `/`CRC FIXED - `.
fn txn_entries(s: &str) -> Vec<String> {
    let mut entries: Vec<String> = Vec::new();
    for l in s.lines() {
        if l.starts_with(']') {
            if let Some(last) = entries.last_mut() {
                last.push('\n');
                last.push_str(l);
            }
        } else if l.contains(" session 0x") {
            entries.push(l.to_owned());
        }
    }
    entries.retain(|e| !e.starts_with("CRC "));
    entries
}

#[test]
fn recover_shows_the_records_of_a_damaged_segment_as_dump_does() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let wal = dir.join("wal");
    // The first segment: createSession and the creates after it, of several record types.
    let (seg, off) = record_of(&wal, 2);
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[off as usize + 16 + 20] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();

    let (out, _, r) = run(&["txnlog", "dump", seg.to_str().unwrap()], "");
    r.unwrap();
    let dumped = txn_entries(&text(&out));
    assert!(dumped.len() > 2, "{dumped:?}");
    assert!(
        dumped[0].ends_with(" zxid 0x1 createSession 30000"),
        "{dumped:?}"
    );

    let fixed = tmp.path().join("fixed");
    let (out, _, r) = run(
        &[
            "txnlog",
            "recover",
            "--yes",
            "--verbose",
            seg.to_str().unwrap(),
            "--out",
            fixed.to_str().unwrap(),
        ],
        "",
    );
    r.unwrap();
    let s = text(&out);
    assert!(s.contains("with 1 fixed CRC error(s)"), "{s}");
    // Every record, the damaged one's unflagged copy included, reads as in the dump: the
    // op and its fields after the 32-byte txn header.
    let recovered = txn_entries(&s);
    let damaged = |e: &String| e.contains(" zxid 0x2 ");
    let undamaged = |v: &[String]| {
        v.iter()
            .filter(|e| !damaged(e))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(undamaged(&recovered), undamaged(&dumped), "{s}");
    assert_eq!(recovered, dumped, "{s}");
}

#[test]
fn chop_writes_a_wal_that_ends_at_the_zxid() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let wal = dir.join("wal");
    let chopped = tmp.path().join("chopped");
    let (out, _, r) = run(
        &[
            "txnlog",
            "chop",
            "--zxid",
            "0x7",
            wal.to_str().unwrap(),
            "--out",
            chopped.to_str().unwrap(),
        ],
        "",
    );
    r.unwrap();
    assert!(
        text(&out).contains("Chopping at 7 new log has 7 records"),
        "{}",
        text(&out)
    );
    // The wal crate reads the result as a clean log ending at 7.
    let report = warren_wal::verify_dir(&chopped).unwrap();
    assert!(report.is_clean(), "{:?}", report.faults);
    assert_eq!(report.last_seq(), Some(7));
    assert_eq!(report.records(), 7);
    // A single segment too, and a zxid the log lacks is refused.
    let (seg, _) = record_of(&wal, 2);
    let one = tmp.path().join("one.log");
    let (_, _, r) = run(
        &[
            "txnlog",
            "chop",
            "--zxid",
            "1",
            seg.to_str().unwrap(),
            "--out",
            one.to_str().unwrap(),
        ],
        "",
    );
    r.unwrap();
    let recs: Vec<_> = warren_wal::read_segment_file(&one).unwrap().collect();
    assert_eq!(recs.len(), 1);
    let (_, _, r) = run(
        &[
            "txnlog",
            "chop",
            "--zxid",
            "99",
            wal.to_str().unwrap(),
            "--out",
            tmp.path().join("x").to_str().unwrap(),
        ],
        "",
    );
    assert!(matches!(
        r,
        Err(warren_tools::ToolError::ZxidNotFound { .. })
    ));
}
