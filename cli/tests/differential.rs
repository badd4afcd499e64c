//! Differential tests: the same raw-protocol operation sequences against a fresh Warren and
//! the reference Apache ZooKeeper 3.8, comparing reply error codes, bodies and Stat fields.
//!
//! Zxids are compared relative to the zxid of the first write of each sequence (the
//! reference is shared by the tests of this binary, so its absolute zxids are offset);
//! session ids are replaced by the session's index in the sequence; ctime/mtime are only
//! checked for consistency (ctime == mtime for never-modified nodes, both recent).

mod common;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use warren_proto::consts::op;
use warren_proto::{
    Acl, AuthPacket, CreateRequest, CreateTtlRequest, Id, Jute, PathRequest, PathVersionRequest,
    PathWatchRequest, Request, SetAclRequest, SetDataRequest, Stat,
};

/// One step of a sequence: a request on session `s` (sessions are opened on first use), or
/// something done to a session.
enum Step {
    Req(usize, Request),
    /// Raw opcode and body, for requests the typed encoder cannot express.
    Bytes(usize, i32, Vec<u8>),
    /// Auth packet (sent with the -4 xid, like the Java client).
    Auth(usize, &'static str, &'static [u8]),
    Ping(usize),
    Close(usize),
}

struct Run {
    addr: String,
    sessions: Vec<Option<Raw>>,
    ids: HashMap<i64, usize>,
    base: Option<i64>,
    now_ms: i64,
}

impl Run {
    fn new(addr: String) -> Run {
        Run {
            addr,
            sessions: Vec::new(),
            ids: HashMap::new(),
            base: None,
            now_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64,
        }
    }

    fn session(&mut self, s: usize) -> &mut Raw {
        while self.sessions.len() <= s {
            self.sessions.push(None);
        }
        if self.sessions[s].is_none() {
            let r = Raw::connect(&self.addr, 30_000);
            self.ids.insert(r.session_id, s);
            self.sessions[s] = Some(r);
        }
        self.sessions[s].as_mut().unwrap()
    }

    fn zx(&self, z: i64) -> String {
        match self.base {
            Some(b) if z > 0 => format!("Z{:+}", z - b),
            _ => format!("{z}"),
        }
    }

    fn stat(&self, st: &Stat) -> String {
        let owner = if st.ephemeral_owner == 0 {
            "0".to_string()
        } else {
            match self.ids.get(&st.ephemeral_owner) {
                Some(i) => format!("s{i}"),
                None => format!("{:#x}", st.ephemeral_owner),
            }
        };
        let recent = |t: i64| (t - self.now_ms).abs() < 3_600_000;
        format!(
            "{{cz={} mz={} pz={} v={} cv={} av={} eph={} len={} kids={} ctime==mtime:{} times_recent:{}}}",
            self.zx(st.czxid),
            self.zx(st.mzxid),
            self.zx(st.pzxid),
            st.version,
            st.cversion,
            st.aversion,
            owner,
            st.data_length,
            st.num_children,
            st.ctime == st.mtime,
            recent(st.ctime) && recent(st.mtime)
        )
    }

    /// Runs one step; returns what the client saw, as comparable lines.
    fn step(&mut self, step: &Step) -> Vec<String> {
        let (s, op_code, body) = match step {
            Step::Req(s, r) => {
                let mut b = Vec::new();
                r.encode_body(&mut b);
                (*s, r.op(), b)
            }
            Step::Bytes(s, o, b) => (*s, *o, b.clone()),
            Step::Auth(s, scheme, cred) => (
                *s,
                op::AUTH,
                AuthPacket {
                    auth_type: 0,
                    scheme: (*scheme).into(),
                    auth: cred.to_vec(),
                }
                .to_bytes(),
            ),
            Step::Ping(s) => (*s, op::PING, vec![]),
            Step::Close(s) => (*s, op::CLOSE_SESSION, vec![]),
        };
        let res = self.session(s).call_bytes(op_code, &body);
        let mut out = Vec::new();
        let events = std::mem::take(&mut self.session(s).events);
        for (z, ev) in events {
            out.push(format!(
                "event type={} state={} path={} zxid={}",
                ev.event_type,
                ev.state,
                ev.path,
                self.zx(z)
            ));
        }
        match res {
            Ok((h, b)) => {
                if self.base.is_none() && h.err == 0 && h.zxid > 0 {
                    self.base = Some(h.zxid);
                }
                let mut stat = |st: &Stat| self.stat(st);
                let body = if h.err == 0 {
                    render_body(op_code, &b, &mut stat)
                } else if b.is_empty() {
                    String::new()
                } else {
                    format!("unexpected body {b:?}")
                };
                out.push(format!("err={} zxid={} {body}", h.err, self.zx(h.zxid)));
            }
            Err(e) => {
                out.push(format!("connection closed ({})", e.kind()));
                self.sessions[s] = None;
            }
        }
        if matches!(step, Step::Close(_)) {
            self.sessions[s] = None;
        }
        out
    }
}

/// Runs `steps` against a fresh Warren and the shared reference and returns the
/// differences, one string per differing step.
fn diff(name: &str, steps: &[Step]) -> Vec<String> {
    let (reference, _guard) = shared_ref();
    let w = Warren::start();
    let mut a = Run::new(reference.addr());
    let mut b = Run::new(w.addr());
    let mut diffs = Vec::new();
    for (i, st) in steps.iter().enumerate() {
        let ra = a.step(st);
        let rb = b.step(st);
        if ra != rb {
            let what = match st {
                Step::Req(s, r) => format!("s{s} {} {:?}", op::name(r.op()), r.path()),
                Step::Bytes(s, o, _) => format!("s{s} raw {}", op::name(*o)),
                Step::Auth(s, sc, _) => format!("s{s} auth {sc}"),
                Step::Ping(s) => format!("s{s} ping"),
                Step::Close(s) => format!("s{s} closeSession"),
            };
            diffs.push(format!(
                "[{name} step {i}: {what}]\n  reference: {ra:?}\n  warren:    {rb:?}"
            ));
        }
    }
    diffs
}

fn check(name: &str, steps: &[Step]) {
    let d = diff(name, steps);
    assert!(d.is_empty(), "{} differences:\n{}", d.len(), d.join("\n"));
}

// --- request builders ------------------------------------------------------------------

fn open() -> Vec<Acl> {
    Acl::open_unsafe()
}

fn cr(o: i32, path: &str, data: &str, flags: i32, acl: Vec<Acl>) -> Request {
    Request::Create {
        op: o,
        req: CreateRequest {
            path: path.into(),
            data: Some(data.as_bytes().to_vec()),
            acl: acl.into(),
            flags,
        },
    }
}
fn create(path: &str, flags: i32) -> Request {
    cr(op::CREATE, path, "d", flags, open())
}
fn create2(path: &str, flags: i32) -> Request {
    cr(op::CREATE2, path, "d2", flags, open())
}
fn ttl(path: &str, flags: i32, ttl: i64) -> Request {
    Request::CreateTtl(CreateTtlRequest {
        path: path.into(),
        data: Some(b"t".to_vec()),
        acl: open().into(),
        flags,
        ttl,
    })
}
fn delete(path: &str, version: i32) -> Request {
    Request::Delete(PathVersionRequest {
        path: path.into(),
        version,
    })
}
fn check_v(path: &str, version: i32) -> Request {
    Request::Check(PathVersionRequest {
        path: path.into(),
        version,
    })
}
fn pw(path: &str, watch: bool) -> PathWatchRequest {
    PathWatchRequest {
        path: path.into(),
        watch,
    }
}
fn exists(path: &str, watch: bool) -> Request {
    Request::Exists(pw(path, watch))
}
fn get(path: &str, watch: bool) -> Request {
    Request::GetData(pw(path, watch))
}
fn kids(path: &str, watch: bool) -> Request {
    Request::GetChildren(pw(path, watch))
}
fn kids2(path: &str, watch: bool) -> Request {
    Request::GetChildren2(pw(path, watch))
}
fn set(path: &str, data: &str, version: i32) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(data.as_bytes().to_vec()),
        version,
    })
}
fn p(path: &str) -> PathRequest {
    PathRequest { path: path.into() }
}
fn set_acl(path: &str, acl: Vec<Acl>, version: i32) -> Request {
    Request::SetAcl(SetAclRequest {
        path: path.into(),
        acl: acl.into(),
        version,
    })
}
fn acl(perms: i32, scheme: &str, id: &str) -> Acl {
    Acl {
        perms,
        id: Id {
            scheme: scheme.into(),
            id: id.into(),
        },
    }
}

use Step::{Auth, Bytes, Close, Ping, Req};

// --- sequences ---------------------------------------------------------------------------

#[test]
fn create_modes_and_stats() {
    let d = "/dc";
    check(
        "create_modes_and_stats",
        &[
            Req(0, create(d, 0)),
            Req(0, create2(&format!("{d}/p"), 0)),
            Req(0, create2(&format!("{d}/e"), 1)),
            Req(0, create2(&format!("{d}/ps-"), 2)),
            Req(0, create(&format!("{d}/es-"), 3)),
            Req(
                0,
                cr(op::CREATE_CONTAINER, &format!("{d}/c"), "c", 4, open()),
            ),
            Req(0, ttl(&format!("{d}/t"), 5, 60_000)),
            Req(0, ttl(&format!("{d}/ts-"), 6, 60_000)),
            Req(0, kids2(d, false)),
            Req(0, exists(&format!("{d}/e"), false)),
            Req(0, get(&format!("{d}/c"), false)),
            Req(0, get(&format!("{d}/t"), false)),
            Req(0, create2(&format!("{d}/p"), 0)),
            Req(0, create2(&format!("{d}/missing/x"), 0)),
            Req(0, create2(&format!("{d}/e/x"), 0)),
            Req(0, create2(&format!("{d}/e/x"), 2)),
            Req(0, create2(&format!("{d}/bad"), 7)),
            Req(0, create2(&format!("{d}/bad"), -1)),
            Req(0, cr(op::CREATE2, &format!("{d}/noacl"), "", 0, vec![])),
            Req(
                0,
                cr(
                    op::CREATE2,
                    &format!("{d}/badacl"),
                    "",
                    0,
                    vec![acl(31, "x", "y")],
                ),
            ),
            Req(
                0,
                cr(
                    op::CREATE2,
                    &format!("{d}/perm0"),
                    "",
                    0,
                    vec![acl(0, "world", "anyone")],
                ),
            ),
            Req(
                0,
                cr(
                    op::CREATE2,
                    &format!("{d}/perm99"),
                    "",
                    0,
                    vec![acl(99, "world", "anyone")],
                ),
            ),
            Req(0, ttl(&format!("{d}/t0"), 5, 0)),
            Req(0, ttl(&format!("{d}/tbig"), 5, 1 << 40)),
            Req(0, ttl(&format!("{d}/tmode"), 1, 1000)),
            Req(0, cr(op::CREATE2, &format!("{d}/null"), "", 0, open())),
            Req(
                0,
                Request::Create {
                    op: op::CREATE2,
                    req: CreateRequest {
                        path: format!("{d}/nulldata"),
                        data: None,
                        acl: open().into(),
                        flags: 0,
                    },
                },
            ),
            Req(0, get(&format!("{d}/nulldata"), false)),
            Req(0, kids2(d, false)),
        ],
    );
}

#[test]
fn ttl_without_extended_types_is_unimplemented() {
    // Only the Warren side can be configured per test here; compare with the documented
    // reference answer (UNIMPLEMENTED, -6).
    let w = Warren::start_with("extendedTypesEnabled=false");
    let mut r = Raw::connect(&w.addr(), 30_000);
    assert_eq!(r.err(&ttl("/t", 5, 1000)), -6);
}

#[test]
fn set_get_delete_versions_and_cversion() {
    let d = "/ds";
    check(
        "set_get_delete_versions_and_cversion",
        &[
            Req(0, create(d, 0)),
            Req(0, create(&format!("{d}/a"), 0)),
            Req(0, set(&format!("{d}/a"), "one", 0)),
            Req(0, set(&format!("{d}/a"), "two", 0)),
            Req(0, set(&format!("{d}/a"), "three", -1)),
            Req(0, get(&format!("{d}/a"), false)),
            Req(0, set(&format!("{d}/none"), "x", -1)),
            Req(0, create(&format!("{d}/a/b"), 0)),
            Req(0, delete(&format!("{d}/a"), -1)),
            Req(0, delete(&format!("{d}/a/b"), 7)),
            Req(0, delete(&format!("{d}/a/b"), 0)),
            Req(0, exists(&format!("{d}/a"), false)),
            Req(0, delete(&format!("{d}/a"), -1)),
            Req(0, delete(&format!("{d}/a"), -1)),
            Req(0, exists(d, false)),
            Req(0, get(&format!("{d}/a"), false)),
            Req(0, kids(&format!("{d}/a"), false)),
            Req(0, kids2(&format!("{d}/a"), false)),
            Req(0, create(&format!("{d}/big"), 0)),
            Req(0, set(&format!("{d}/big"), &"x".repeat(1_000_000), -1)),
            Req(0, get(&format!("{d}/big"), false)),
            Req(0, Request::Sync(p(d))),
            Req(0, Request::Sync(p(&format!("{d}/none")))),
            Req(0, Request::GetAllChildrenNumber(p(d))),
            Req(0, Request::GetAllChildrenNumber(p(&format!("{d}/none")))),
        ],
    );
}

#[test]
fn acls_auth_and_whoami() {
    let d = "/da";
    let alice = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=";
    check(
        "acls_auth_and_whoami",
        &[
            Req(0, create(d, 0)),
            Req(0, Request::GetAcl(p(d))),
            Req(0, set_acl(d, vec![acl(31, "world", "anyone")], 5)),
            Req(0, set_acl(d, vec![acl(31, "world", "anyone")], 0)),
            Req(0, set_acl(d, vec![], -1)),
            Req(0, set_acl(d, vec![acl(31, "ip", "1.2.3.4/40")], -1)),
            Req(0, set_acl(&format!("{d}/none"), open(), -1)),
            Req(0, Request::GetAcl(p(&format!("{d}/none")))),
            Req(0, Request::WhoAmI),
            Auth(1, "digest", b"alice:secret"),
            Req(1, Request::WhoAmI),
            Req(
                1,
                cr(
                    op::CREATE2,
                    &format!("{d}/al"),
                    "a",
                    0,
                    vec![acl(31, "auth", "")],
                ),
            ),
            Req(1, Request::GetAcl(p(&format!("{d}/al")))),
            Req(0, get(&format!("{d}/al"), false)),
            Req(0, set(&format!("{d}/al"), "x", -1)),
            Req(0, create(&format!("{d}/al/k"), 0)),
            Req(0, delete(&format!("{d}/al"), -1)),
            Req(
                0,
                cr(
                    op::CREATE2,
                    &format!("{d}/x"),
                    "",
                    0,
                    vec![acl(31, "auth", "")],
                ),
            ),
            Req(
                1,
                cr(
                    op::CREATE2,
                    &format!("{d}/dg"),
                    "",
                    0,
                    vec![acl(1, "digest", alice)],
                ),
            ),
            Req(1, set(&format!("{d}/dg"), "no", -1)),
            Req(1, get(&format!("{d}/dg"), false)),
            Req(0, Request::GetAcl(p(&format!("{d}/dg")))),
            Req(
                1,
                cr(
                    op::CREATE2,
                    &format!("{d}/ip"),
                    "",
                    0,
                    vec![acl(31, "ip", "127.0.0.1")],
                ),
            ),
            Req(0, get(&format!("{d}/ip"), false)),
            Req(
                1,
                cr(
                    op::CREATE2,
                    &format!("{d}/ro"),
                    "",
                    0,
                    vec![acl(1, "world", "anyone")],
                ),
            ),
            Req(0, create(&format!("{d}/ro/k"), 0)),
            Req(0, set_acl(&format!("{d}/ro"), open(), -1)),
            Auth(2, "digest", b"no-colon"),
            Auth(3, "nosuch", b"x"),
        ],
    );
}

#[test]
fn auth_reply_echoes_the_request_xid() {
    // zookeeper-client sends auth with an ordinary xid; the reference echoes it.
    let (reference, _g) = shared_ref();
    let w = Warren::start();
    let mut got = Vec::new();
    for addr in [reference.addr(), w.addr()] {
        let mut r = Raw::connect(&addr, 30_000);
        let mut b = warren_proto::RequestHeader {
            xid: 5,
            op: op::AUTH,
        }
        .to_bytes();
        b.extend(
            AuthPacket {
                auth_type: 0,
                scheme: "digest".into(),
                auth: b"u:p".to_vec(),
            }
            .to_bytes(),
        );
        r.send_raw(&frame(&b)).unwrap();
        got.push(format!(
            "{:?}",
            r.recv().map(|f| match f {
                Frame::Reply { hdr, body } =>
                    format!("xid={} err={} body={body:?}", hdr.xid, hdr.err),
                Frame::Event { .. } => "event".into(),
            })
        ));
    }
    assert_eq!(got[0], got[1], "reference vs warren");
}

#[test]
fn multi_and_multi_read() {
    let d = "/dm";
    check(
        "multi_and_multi_read",
        &[
            Req(0, create(d, 0)),
            Req(
                0,
                Request::Multi(vec![
                    check_v(d, 0),
                    create(&format!("{d}/a"), 0),
                    create2(&format!("{d}/b"), 0),
                    create2(&format!("{d}/s-"), 2),
                    set(&format!("{d}/a"), "x", 0),
                    delete(&format!("{d}/b"), 0),
                ]),
            ),
            Req(
                0,
                Request::Multi(vec![
                    create(&format!("{d}/c"), 0),
                    check_v(d, 99),
                    set(&format!("{d}/a"), "y", -1),
                ]),
            ),
            Req(
                0,
                Request::Multi(vec![
                    create(&format!("{d}/c"), 0),
                    create(&format!("{d}/c"), 0),
                ]),
            ),
            Req(0, Request::Multi(vec![delete(&format!("{d}/nope"), -1)])),
            Req(0, Request::Multi(vec![check_v(&format!("{d}/nope"), -1)])),
            Req(
                0,
                Request::Multi(vec![
                    create(&format!("{d}/e"), 1),
                    create(&format!("{d}/e/x"), 0),
                ]),
            ),
            Req(0, Request::Multi(vec![])),
            Req(0, kids2(d, false)),
            Req(
                0,
                Request::MultiRead(vec![
                    get(&format!("{d}/a"), false),
                    kids(d, false),
                    get(&format!("{d}/zz"), false),
                    kids(&format!("{d}/zz"), false),
                ]),
            ),
            Req(0, Request::MultiRead(vec![])),
        ],
    );
}

#[test]
fn sessions_ephemerals_and_close() {
    let d = "/de";
    check(
        "sessions_ephemerals_and_close",
        &[
            Req(0, create(d, 0)),
            Req(1, create2(&format!("{d}/e1"), 1)),
            Req(1, create2(&format!("{d}/e2-"), 3)),
            Req(2, create2(&format!("{d}/f"), 1)),
            Req(0, Request::GetEphemerals(p(d))),
            Req(1, Request::GetEphemerals(p(d))),
            Req(1, Request::GetEphemerals(p(&format!("{d}/e")))),
            Req(1, Request::GetEphemerals(p(&format!("{d}/none")))),
            Req(0, kids2(d, true)),
            Close(1),
            Ping(0),
            Req(0, kids2(d, false)),
            Req(2, exists(&format!("{d}/f"), false)),
        ],
    );
}

#[test]
fn watches_and_event_order() {
    let d = "/dw";
    check(
        "watches_and_event_order",
        &[
            Req(0, create(d, 0)),
            Req(1, get(d, true)),
            Req(1, exists(&format!("{d}/n"), true)),
            Req(1, kids(d, true)),
            Req(1, exists(&format!("{d}/gone"), true)),
            Req(0, create(&format!("{d}/n"), 0)),
            Ping(1),
            Req(0, set(d, "x", -1)),
            Req(1, get(d, false)),
            Req(0, set(d, "y", -1)),
            Ping(1),
            Req(1, get(&format!("{d}/n"), true)),
            Req(1, kids(&format!("{d}/n"), true)),
            Req(1, delete(&format!("{d}/n"), -1)),
            Req(1, get(d, true)),
            Req(1, set(d, "self", -1)),
            Req(
                1,
                Request::Multi(vec![
                    create(&format!("{d}/m1"), 0),
                    create(&format!("{d}/m2"), 0),
                ]),
            ),
        ],
    );
}

#[test]
fn invalid_paths_and_requests() {
    let mut steps = vec![Req(0, create("/dp", 0))];
    for path in [
        "a",
        "//a",
        "/a/",
        "/a//b",
        "/./a",
        "/a/..",
        "/a\u{1}",
        "/\u{7f}x",
        "/dp/",
        "/\u{fff0}",
    ] {
        for r in [
            exists(path, false),
            get(path, false),
            kids(path, false),
            set(path, "", -1),
            delete(path, -1),
            create(path, 0),
            create(&format!("{path}s"), 2),
            Request::GetAcl(p(path)),
            Request::Sync(p(path)),
        ] {
            steps.push(Req(0, r));
        }
    }
    steps.push(Req(0, create("/dp/", 2)));
    steps.push(Req(0, delete("/", -1)));
    steps.push(Req(0, create("/", 0)));
    check("invalid_paths_and_requests", &steps);
}

#[test]
fn nul_in_path() {
    check(
        "nul_in_path",
        &[
            Req(0, create("/dn", 0)),
            Req(0, exists("/dn\u{0}x", false)),
            Req(0, get("/dn\u{0}x", false)),
        ],
    );
}

#[test]
fn unknown_opcode() {
    check(
        "unknown_opcode",
        &[Req(0, create("/du", 0)), Bytes(0, 9999, vec![]), Ping(0)],
    );
}

#[test]
fn empty_path_reads() {
    // Only error codes: the root's stat differs between a shared reference and a fresh Warren.
    let (reference, _g) = shared_ref();
    let w = Warren::start();
    let mut got = Vec::new();
    for addr in [reference.addr(), w.addr()] {
        let mut r = Raw::connect(&addr, 30_000);
        r.stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        let mut codes = Vec::new();
        for req in [
            exists("", false),
            get("", false),
            kids("", false),
            Request::GetAcl(p("")),
        ] {
            codes.push(match r.call(&req) {
                Ok((h, _)) => h.err.to_string(),
                Err(e) => format!("no reply ({})", e.kind()),
            });
            if codes.last().unwrap().starts_with("no reply") {
                r = Raw::connect(&addr, 30_000);
                r.stream
                    .set_read_timeout(Some(Duration::from_secs(3)))
                    .unwrap();
            }
        }
        got.push(codes);
    }
    assert_eq!(got[0], got[1], "reference vs warren");
}

#[test]
fn ping_and_unknown_session_ops() {
    check(
        "ping_and_unknown_session_ops",
        &[
            Req(0, create("/dq", 0)),
            Ping(0),
            Req(
                0,
                Request::CheckWatches(warren_proto::WatchesRequest {
                    path: "/dq".into(),
                    watcher_type: 1,
                }),
            ),
            Req(0, get("/dq", true)),
            Req(
                0,
                Request::RemoveWatches(warren_proto::WatchesRequest {
                    path: "/dq".into(),
                    watcher_type: 2,
                }),
            ),
            Req(
                0,
                Request::RemoveWatches(warren_proto::WatchesRequest {
                    path: "/dq".into(),
                    watcher_type: 2,
                }),
            ),
            Req(
                0,
                Request::AddWatch(warren_proto::AddWatchRequest {
                    path: "/dq".into(),
                    mode: 0,
                }),
            ),
            Req(0, set("/dq", "z", -1)),
        ],
    );
}

#[test]
fn reference_is_stopped_by_its_guard() {
    // A per-test reference server stops when its guard drops (checked via ruok).
    let r = RefZk::start();
    let port = r.port;
    assert!(wait_ruok(port, Duration::from_secs(5)));
    drop(r);
    let end = std::time::Instant::now() + Duration::from_secs(15);
    while four_letter(port, "ruok") == "imok" {
        assert!(
            std::time::Instant::now() < end,
            "reference still running after stop"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// deleteContainer (opcode 20) is the server's own reaper request; a client that sends it
/// must not get around the ACLs that guard a plain delete. The path is sent both as a jute
/// string and as raw bytes.
#[test]
fn delete_container_from_a_client() {
    let jute = |p: &str| {
        let mut b = Vec::new();
        warren_proto::Jute::write(&p.to_owned(), &mut b);
        b
    };
    check(
        "delete_container_from_a_client",
        &[
            Req(0, create("/dcp", 0)),
            Req(0, create("/dcp/x", 0)),
            Req(0, create("/dcp/y", 0)),
            Req(0, set_acl("/dcp", vec![acl(1, "world", "anyone")], -1)),
            Req(1, delete("/dcp/x", -1)),
            Bytes(1, 20, jute("/dcp/x")),
            Req(1, exists("/dcp/x", false)),
            Bytes(1, 20, b"/dcp/y".to_vec()),
            Req(1, exists("/dcp/y", false)),
            Ping(1),
        ],
    );
}
