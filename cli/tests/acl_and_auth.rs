//! Digest authentication, the `auth` ACL scheme, NOAUTH, INVALIDACL, failed auth, and the
//! super user configured with `DigestAuthenticationProvider.superDigest`.

mod common;

use std::time::Duration;

use common::*;
use warren_proto::consts::op;
use warren_proto::{AuthPacket, Jute};
use zookeeper_client::{Acl, Acls, AuthId, CreateMode, Error, Permission};

const ALICE_DIGEST: &str = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="; // alice:secret
const SUPER_DIGEST: &str = "super:g9oN2HttPfn8MMWJZ2r45Np/LIA="; // super:superpw

#[tokio::test]
async fn digest_acl_admits_only_the_authenticated_user() {
    let w = Warren::start();
    let alice = zk_with(
        &w.addr(),
        zookeeper_client::Client::connector().with_auth("digest", b"alice:secret"),
    )
    .await;
    let acl = [Acl::new(
        Permission::ALL,
        AuthId::new("digest", ALICE_DIGEST),
    )];
    tm(alice.create(
        "/secret",
        b"s",
        &CreateMode::Persistent.with_acls(Acls::new(&acl)),
    ))
    .await
    .unwrap();
    assert_eq!(tm(alice.get_data("/secret")).await.unwrap().0, b"s");

    let anon = zk(&w.addr()).await;
    assert_eq!(
        tm(anon.get_data("/secret")).await.unwrap_err(),
        Error::NoAuth
    );
    assert_eq!(
        tm(anon.set_data("/secret", b"x", None)).await.unwrap_err(),
        Error::NoAuth
    );
    assert_eq!(
        tm(anon.create("/secret/kid", b"", &persistent()))
            .await
            .unwrap_err(),
        Error::NoAuth
    );
    // exists needs no permission.
    assert!(tm(anon.check_stat("/secret")).await.unwrap().is_some());
    // getACL needs READ or ADMIN, as on the reference.
    assert_eq!(
        tm(anon.get_acl("/secret")).await.unwrap_err(),
        Error::NoAuth
    );

    let bob = zk_with(
        &w.addr(),
        zookeeper_client::Client::connector().with_auth("digest", b"bob:pw"),
    )
    .await;
    assert_eq!(
        tm(bob.get_data("/secret")).await.unwrap_err(),
        Error::NoAuth
    );
    // Adding the right identity later works.
    tm(bob.auth("digest", b"alice:secret")).await.unwrap();
    assert_eq!(tm(bob.get_data("/secret")).await.unwrap().0, b"s");
    let mut who: Vec<String> = tm(bob.list_auth_users())
        .await
        .unwrap()
        .iter()
        .map(|u| format!("{}:{}", u.scheme(), u.user()))
        .collect();
    who.sort();
    assert_eq!(who, vec!["digest:alice", "digest:bob", "ip:127.0.0.1"]);
}

#[tokio::test]
async fn auth_scheme_expands_to_the_creators_identities() {
    let w = Warren::start();
    let alice = zk_with(
        &w.addr(),
        zookeeper_client::Client::connector().with_auth("digest", b"alice:secret"),
    )
    .await;
    tm(alice.create(
        "/mine",
        b"",
        &CreateMode::Persistent.with_acls(Acls::creator_all()),
    ))
    .await
    .unwrap();
    let (acl, _) = tm(alice.get_acl("/mine")).await.unwrap();
    assert_eq!(
        acl,
        vec![Acl::new(
            Permission::ALL,
            AuthId::new("digest", ALICE_DIGEST)
        )]
    );
    // Without any authenticated identity, an `auth` ACL is invalid.
    let anon = zk(&w.addr()).await;
    assert_eq!(
        tm(anon.create(
            "/x",
            b"",
            &CreateMode::Persistent.with_acls(Acls::creator_all())
        ))
        .await
        .unwrap_err(),
        Error::InvalidAcl
    );
    assert_eq!(tm(anon.get_data("/mine")).await.unwrap_err(), Error::NoAuth);
}

#[tokio::test]
async fn invalid_acls_are_refused() {
    let w = Warren::start();
    let c = zk(&w.addr()).await;
    for (scheme, id) in [
        ("digest", "no-colon"),
        ("ip", "300.1.1.1"),
        ("ip", "10.0.0.0/99"),
        ("world", "someone"),
        ("bogus", "x"),
    ] {
        let acl = [Acl::new(Permission::ALL, AuthId::new(scheme, id))];
        assert_eq!(
            tm(c.create(
                "/bad",
                b"",
                &CreateMode::Persistent.with_acls(Acls::new(&acl))
            ))
            .await
            .unwrap_err(),
            Error::InvalidAcl,
            "{scheme}:{id}"
        );
    }
    let ok = [Acl::new(Permission::READ, AuthId::new("ip", "127.0.0.1"))];
    tm(c.create(
        "/ip",
        b"",
        &CreateMode::Persistent.with_acls(Acls::new(&ok)),
    ))
    .await
    .unwrap();
    tm(c.get_data("/ip")).await.unwrap();
    assert_eq!(
        tm(c.set_data("/ip", b"", None)).await.unwrap_err(),
        Error::NoAuth
    );
}

#[tokio::test]
async fn super_user_bypasses_every_acl() {
    let w = Warren::start_with(&format!(
        "DigestAuthenticationProvider.superDigest={SUPER_DIGEST}"
    ));
    let alice = zk_with(
        &w.addr(),
        zookeeper_client::Client::connector().with_auth("digest", b"alice:secret"),
    )
    .await;
    let acl = [Acl::new(
        Permission::ALL,
        AuthId::new("digest", ALICE_DIGEST),
    )];
    tm(alice.create(
        "/locked",
        b"l",
        &CreateMode::Persistent.with_acls(Acls::new(&acl)),
    ))
    .await
    .unwrap();
    let root = zk_with(
        &w.addr(),
        zookeeper_client::Client::connector().with_auth("digest", b"super:superpw"),
    )
    .await;
    assert_eq!(tm(root.get_data("/locked")).await.unwrap().0, b"l");
    tm(root.set_data("/locked", b"m", None)).await.unwrap();
    tm(root.create("/locked/k", b"", &persistent()))
        .await
        .unwrap();
    tm(root.delete("/locked/k", None)).await.unwrap();
    let wrong = zk_with(
        &w.addr(),
        zookeeper_client::Client::connector().with_auth("digest", b"super:wrong"),
    )
    .await;
    assert_eq!(
        tm(wrong.get_data("/locked")).await.unwrap_err(),
        Error::NoAuth
    );
}

#[test]
fn unknown_auth_scheme_fails_and_closes() {
    let w = Warren::start();
    let mut r = Raw::connect(&w.addr(), 30_000);
    let pkt = AuthPacket {
        auth_type: 0,
        scheme: "nosuchscheme".into(),
        auth: b"x".to_vec(),
    };
    let (h, _) = r.call_bytes(op::AUTH, &pkt.to_bytes()).expect("auth reply");
    assert_eq!(h.xid, -4);
    assert_eq!(h.err, -115, "AUTHFAILED");
    assert!(closes_within(&mut r.stream, Duration::from_secs(5)));
}

/// The same ACL checks as the client-crate tests above, over the raw protocol with the
/// auth xid (-4) that the Java client and kazoo use, so they run while the xid differs.
#[test]
fn digest_auth_scheme_and_super_over_the_raw_protocol() {
    use warren_proto::{
        Acl as PAcl, CreateRequest, GetAclResponse, PathWatchRequest, Request, SetDataRequest,
    };
    let w = Warren::start_with(&format!(
        "DigestAuthenticationProvider.superDigest={SUPER_DIGEST}"
    ));
    let auth = |r: &mut Raw, cred: &[u8]| {
        let pkt = AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: cred.to_vec(),
        };
        r.call_bytes(op::AUTH, &pkt.to_bytes()).expect("auth").0.err
    };
    let create = |path: &str, acl: Vec<PAcl>| Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: path.into(),
            data: Some(b"d".to_vec()),
            acl: acl.into(),
            flags: 0,
        },
    };
    let get = |path: &str| {
        Request::GetData(PathWatchRequest {
            path: path.into(),
            watch: false,
        })
    };
    let mut alice = Raw::connect(&w.addr(), 30_000);
    assert_eq!(auth(&mut alice, b"alice:secret"), 0);
    let digest_acl = vec![PAcl::new(31, "digest", ALICE_DIGEST)];
    assert_eq!(alice.err(&create("/d", digest_acl)), 0);
    assert_eq!(alice.err(&get("/d")), 0);
    assert_eq!(
        alice.err(&create("/au", vec![PAcl::new(31, "auth", "")])),
        0
    );
    let (h, body) = alice
        .call(&Request::GetAcl(warren_proto::PathRequest {
            path: "/au".into(),
        }))
        .unwrap();
    assert_eq!(h.err, 0);
    let acl = GetAclResponse::from_bytes(&body).unwrap().acl.0;
    assert_eq!(acl, vec![PAcl::new(31, "digest", ALICE_DIGEST)]);

    let mut anon = Raw::connect(&w.addr(), 30_000);
    assert_eq!(anon.err(&get("/d")), -102, "NOAUTH");
    assert_eq!(anon.err(&get("/au")), -102, "NOAUTH");
    assert_eq!(
        anon.err(&create("/x", vec![PAcl::new(31, "auth", "")])),
        -114,
        "auth scheme without identities is INVALIDACL"
    );
    let set = Request::SetData(SetDataRequest {
        path: "/d".into(),
        data: Some(b"z".to_vec()),
        version: -1,
    });
    assert_eq!(anon.err(&set), -102);
    assert_eq!(auth(&mut anon, b"bob:pw"), 0);
    assert_eq!(anon.err(&get("/d")), -102);

    let mut root = Raw::connect(&w.addr(), 30_000);
    assert_eq!(auth(&mut root, b"super:superpw"), 0);
    assert_eq!(root.err(&get("/d")), 0);
    assert_eq!(root.err(&set), 0);
    assert_eq!(
        root.err(&create("/d/k", vec![PAcl::new(31, "world", "anyone")])),
        0
    );
}
