//! CVE-2019-0201: getACL shows a digest id's password hash only to a client with ADMIN
//! on the node.
//!
//! ZooKeeper (3.4.14/3.5.5 on, and the 3.8 reference) answers getACL to a client with
//! READ or ADMIN, else NOAUTH; without ADMIN, every `digest` id comes back as
//! `user:x` (its `:…` replaced), while the other schemes, the permissions and the stat
//! are shown as they are. The cases run over the raw protocol on Warren and, when it is
//! installed, on the reference, and must answer the same.

mod common;

use common::*;
use warren_proto::consts::{op, perms};
use warren_proto::{Acl, AuthPacket, CreateRequest, GetAclResponse, Jute, PathRequest, Request};

const ALICE: &str = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="; // alice:secret
const BOB: &str = "bob:ikIaKsbtGweaHnb/jKn7OHqbunM="; // bob:pw
const SUPER_DIGEST: &str = "super:g9oN2HttPfn8MMWJZ2r45Np/LIA="; // super:superpw

fn authed(addr: &str, cred: Option<&str>) -> Raw {
    let mut r = Raw::connect(addr, 30_000);
    if let Some(cred) = cred {
        let pkt = AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: cred.as_bytes().to_vec(),
        };
        let (h, _) = r.call_bytes(op::AUTH, &pkt.to_bytes()).expect("auth reply");
        assert_eq!(h.err, 0, "auth {cred}");
    }
    r
}

/// What getACL answers: the error code, or the ACL list.
fn get_acl(r: &mut Raw, path: &str) -> Result<Vec<Acl>, i32> {
    let (h, body) = r
        .call(&Request::GetAcl(PathRequest { path: path.into() }))
        .expect("getACL");
    if h.err != 0 {
        return Err(h.err);
    }
    let resp = GetAclResponse::from_bytes(&body).expect("decode GetAclResponse");
    Ok(resp.acl.0)
}

/// The nodes, by name, and their ACLs.
fn nodes() -> Vec<(&'static str, Vec<Acl>)> {
    let alice = || Acl::new(perms::ALL, "digest", ALICE);
    vec![
        // The world may read: it sees alice, without her hash.
        (
            "/g-world-read",
            vec![alice(), Acl::new(perms::READ, "world", "anyone")],
        ),
        // bob may read: he sees both ids without hashes, his own too.
        (
            "/g-bob-read",
            vec![alice(), Acl::new(perms::READ, "digest", BOB)],
        ),
        // The world holds ADMIN without READ: that is enough, and shows the hashes.
        (
            "/g-world-admin",
            vec![alice(), Acl::new(perms::ADMIN, "world", "anyone")],
        ),
        // WRITE alone gives no getACL.
        (
            "/g-world-write",
            vec![alice(), Acl::new(perms::WRITE, "world", "anyone")],
        ),
        ("/g-alice", vec![alice()]),
        // READ through the address; the ip id itself is not hidden.
        (
            "/g-ip-read",
            vec![
                alice(),
                Acl::new(perms::READ | perms::CREATE, "ip", "127.0.0.1"),
            ],
        ),
    ]
}

/// What one caller was told about one node: (caller, node, answer).
type Answer = (&'static str, &'static str, Result<Vec<Acl>, i32>);

/// Creates the nodes as alice and returns what each caller is told about each node.
fn scenario(addr: &str) -> Vec<Answer> {
    let mut alice = authed(addr, Some("alice:secret"));
    for (path, acl) in nodes() {
        let req = Request::Create {
            op: op::CREATE,
            req: CreateRequest {
                path: path.into(),
                data: Some(b"d".to_vec()),
                acl: acl.into(),
                flags: 0,
            },
        };
        assert_eq!(alice.err(&req), 0, "create {path}");
    }
    let mut callers = [
        ("anonymous", authed(addr, None)),
        ("bob", authed(addr, Some("bob:pw"))),
        ("alice", alice),
        ("super", authed(addr, Some("super:superpw"))),
    ];
    let mut out = Vec::new();
    for (who, conn) in callers.iter_mut() {
        for (path, _) in nodes() {
            out.push((*who, path, get_acl(conn, path)));
        }
        out.push((*who, "/g-missing", get_acl(conn, "/g-missing")));
    }
    let (_, alice) = &mut callers[2];
    for (path, _) in nodes() {
        let del = Request::Delete(warren_proto::PathVersionRequest {
            path: path.into(),
            version: -1,
        });
        assert_eq!(alice.err(&del), 0, "delete {path}");
    }
    out
}

#[test]
fn get_acl_hides_digest_hashes_from_a_client_without_admin() {
    let super_cfg = format!("DigestAuthenticationProvider.superDigest={SUPER_DIGEST}");
    let w = Warren::start_with(&super_cfg);
    let seen = scenario(&w.addr());

    let alice = Acl::new(perms::ALL, "digest", ALICE);
    let alice_x = Acl::new(perms::ALL, "digest", "alice:x");
    let full = nodes();
    let acl_of = |p: &str| full.iter().find(|(n, _)| *n == p).unwrap().1.clone();
    let answer = |who: &str, path: &str| {
        seen.iter()
            .find(|(w, p, _)| *w == who && *p == path)
            .unwrap_or_else(|| panic!("no answer for {who} on {path}"))
            .2
            .clone()
    };
    // Without ADMIN: the hashes are gone, everything else is as stored.
    assert_eq!(
        answer("anonymous", "/g-world-read"),
        Ok(vec![
            alice_x.clone(),
            Acl::new(perms::READ, "world", "anyone")
        ])
    );
    assert_eq!(
        answer("bob", "/g-bob-read"),
        Ok(vec![
            alice_x.clone(),
            Acl::new(perms::READ, "digest", "bob:x")
        ])
    );
    assert_eq!(
        answer("anonymous", "/g-ip-read"),
        Ok(vec![
            alice_x.clone(),
            Acl::new(perms::READ | perms::CREATE, "ip", "127.0.0.1")
        ])
    );
    // ADMIN (without READ) shows them.
    assert_eq!(
        answer("anonymous", "/g-world-admin"),
        Ok(acl_of("/g-world-admin"))
    );
    // Neither READ nor ADMIN: NOAUTH.
    assert_eq!(answer("anonymous", "/g-world-write"), Err(-102));
    assert_eq!(answer("anonymous", "/g-alice"), Err(-102));
    assert_eq!(answer("bob", "/g-alice"), Err(-102));
    assert_eq!(answer("anonymous", "/g-missing"), Err(-101));
    // The owner and the super user see everything.
    for who in ["alice", "super"] {
        for (path, acl) in nodes() {
            assert_eq!(answer(who, path), Ok(acl), "{who} on {path}");
        }
    }
    assert_eq!(answer("alice", "/g-alice"), Ok(vec![alice]));
    // No answer to a caller without ADMIN carries a hash.
    for (who, path, a) in &seen {
        if matches!(*who, "anonymous" | "bob") && *path != "/g-world-admin" {
            for acl in a.iter().flatten() {
                assert!(
                    acl.id.scheme != "digest" || acl.id.id.ends_with(":x"),
                    "{who} on {path} was shown {acl:?}"
                );
            }
        }
    }

    if refzk_available() {
        let reference = RefZk::start_with(&format!("\n{super_cfg}"));
        assert_eq!(
            scenario(&reference.addr()),
            seen,
            "the reference answered getACL differently"
        );
    }
}
