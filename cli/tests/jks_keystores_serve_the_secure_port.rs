//! ZooKeeper's TLS configs name Java KeyStore files: `ssl.keyStore.location=….jks`,
//! `ssl.trustStore.location=….jks`. Warren must serve its secure port from the same files,
//! made here by `keytool` as ZooKeeper's guides make them (a CA, a server key signed by
//! it, a trust store holding the CA), and verify client certificates against the trust
//! store. A wrong password or a damaged store must stop the secure port with an error that
//! names the file.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use warren_proto::consts::op;
use warren_proto::{
    Acl, ConnectRequest, ConnectResponse, CreateRequest, GetDataResponse, Jute, PathWatchRequest,
    Reader, ReplyHeader, Request, RequestHeader, WhoAmIResponse,
};

/// keytool, or `None` (the test then says why it skips).
fn keytool() -> Option<PathBuf> {
    let found = Command::new("keytool")
        .arg("-help")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(PathBuf::from("keytool"));
    }
    let java_home = std::env::var_os("JAVA_HOME").map(PathBuf::from)?;
    let k = java_home.join("bin/keytool");
    k.exists().then_some(k)
}

fn run_keytool(k: &Path, dir: &Path, args: &[&str]) {
    let out = Command::new(k)
        .current_dir(dir)
        .arg("-noprompt")
        .args(args)
        .output()
        .expect("run keytool");
    assert!(
        out.status.success(),
        "keytool {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A key pair in `store` (of `kind`), signed by the CA in ca.jks, with the CA and the
/// signed certificate imported as keytool's docs do it.
fn signed_key(k: &Path, dir: &Path, name: &str, store: &str, kind: &str, pass: &str, dn: &str) {
    let san = "SAN=dns:localhost,ip:127.0.0.1";
    let csr = format!("{name}.csr");
    let crt = format!("{name}.crt");
    let in_store = |op: &[&str]| {
        let mut a = op.to_vec();
        a.extend(["-keystore", store, "-storetype", kind, "-storepass", pass]);
        run_keytool(k, dir, &a);
    };
    in_store(&[
        "-genkeypair",
        "-alias",
        name,
        "-keyalg",
        "RSA",
        "-keysize",
        "2048",
        "-validity",
        "2",
        "-dname",
        dn,
        "-keypass",
        pass,
        "-ext",
        san,
    ]);
    in_store(&["-certreq", "-alias", name, "-file", &csr]);
    run_keytool(
        k,
        dir,
        &[
            "-gencert",
            "-keystore",
            "ca.jks",
            "-storetype",
            "JKS",
            "-storepass",
            "capass1",
            "-alias",
            "ca",
            "-infile",
            &csr,
            "-outfile",
            &crt,
            "-rfc",
            "-validity",
            "2",
            "-ext",
            san,
        ],
    );
    in_store(&["-importcert", "-alias", "ca", "-file", "ca.pem"]);
    in_store(&["-importcert", "-alias", name, "-file", &crt]);
}

/// The stores of a small PKI, made by keytool in `dir`: server.jks (key store, password
/// srvpass1), truststore.ts (JKS trust store holding the CA, password trustpass) and
/// client.p12 (the client's key and chain, password clipass1), plus ca.pem.
fn make_stores(k: &Path, dir: &Path) {
    run_keytool(
        k,
        dir,
        &[
            "-genkeypair",
            "-alias",
            "ca",
            "-keyalg",
            "RSA",
            "-keysize",
            "2048",
            "-validity",
            "2",
            "-dname",
            "CN=Warren Test CA",
            "-ext",
            "bc:c",
            "-keystore",
            "ca.jks",
            "-storetype",
            "JKS",
            "-storepass",
            "capass1",
            "-keypass",
            "capass1",
        ],
    );
    run_keytool(
        k,
        dir,
        &[
            "-exportcert",
            "-rfc",
            "-alias",
            "ca",
            "-keystore",
            "ca.jks",
            "-storetype",
            "JKS",
            "-storepass",
            "capass1",
            "-file",
            "ca.pem",
        ],
    );
    signed_key(
        k,
        dir,
        "server",
        "server.jks",
        "JKS",
        "srvpass1",
        "CN=localhost",
    );
    run_keytool(
        k,
        dir,
        &[
            "-importcert",
            "-alias",
            "ca",
            "-file",
            "ca.pem",
            "-keystore",
            "truststore.ts",
            "-storetype",
            "JKS",
            "-storepass",
            "trustpass",
        ],
    );
    signed_key(
        k,
        dir,
        "client",
        "client.p12",
        "PKCS12",
        "clipass1",
        "CN=client1,O=Warren",
    );
}

/// The client's key and chain from keytool's PKCS#12 file.
fn client_identity(dir: &Path) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let bytes = std::fs::read(dir.join("client.p12")).unwrap();
    let ks = p12_keystore::KeyStore::from_pkcs12(
        &bytes,
        "clipass1",
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .expect("open client.p12");
    let (_, chain) = ks.private_key_chain().expect("the client key entry");
    let certs = chain
        .certs()
        .iter()
        .map(|c| CertificateDer::from(c.as_der().to_vec()))
        .collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
    (certs, key)
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A TLS connection to `port` that trusts ca.pem, with the client certificate if asked;
/// `Err` when the connection or the handshake fails.
fn tls_connect(port: u16, dir: &Path, with_cert: bool) -> std::io::Result<Tls> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    for c in rustls::pki_types::pem::PemObject::pem_slice_iter(&ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let b = rustls::ClientConfig::builder().with_root_certificates(roots);
    let cfg = if with_cert {
        let (certs, key) = client_identity(dir);
        b.with_client_auth_cert(certs, key).unwrap()
    } else {
        b.with_no_client_auth()
    };
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(CALL_TIMEOUT))?;
    tcp.set_write_timeout(Some(CALL_TIMEOUT))?;
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(cfg), name).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    // Drive the handshake to its end (TLS 1.3 sends the server's verdict on the client
    // certificate after the client's Finished, so read until the session is ready).
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

fn send_frame(s: &mut Tls, body: &[u8]) -> std::io::Result<()> {
    let mut f = (body.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    s.write_all(&f)?;
    s.flush()
}

fn recv_frame(s: &mut Tls) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let n = i32::from_be_bytes(len);
    if !(0..=1 << 20).contains(&n) {
        return Err(std::io::Error::other(format!("bad frame length {n}")));
    }
    let mut b = vec![0u8; n as usize];
    s.read_exact(&mut b)?;
    Ok(b)
}

/// A ZooKeeper session over the TLS connection.
fn session(s: &mut Tls) -> std::io::Result<ConnectResponse> {
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 30_000,
        session_id: 0,
        passwd: vec![0; 16],
        read_only: Some(false),
    };
    send_frame(s, &req.to_bytes())?;
    let b = recv_frame(s)?;
    ConnectResponse::from_bytes(&b).map_err(|e| std::io::Error::other(e.to_string()))
}

fn call(s: &mut Tls, xid: i32, req: &Request) -> (ReplyHeader, Vec<u8>) {
    let mut b = RequestHeader { xid, op: req.op() }.to_bytes();
    req.encode_body(&mut b);
    send_frame(s, &b).expect("send over TLS");
    let reply = recv_frame(s).expect("reply over TLS");
    let mut r = Reader::new(&reply);
    let hdr = ReplyHeader::read(&mut r).expect("reply header");
    assert_eq!(hdr.xid, xid);
    (hdr, r.rest().to_vec())
}

/// Retries the TLS connection until the secure port serves (it starts beside the plain
/// port, which the harness already waited for).
fn connect_when_serving(port: u16, dir: &Path) -> Tls {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        match tls_connect(port, dir, true) {
            Ok(s) => return s,
            Err(e) if Instant::now() > end => panic!("no TLS session on port {port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
fn a_keytool_key_store_and_trust_store_serve_tls_and_verify_client_certificates() {
    let Some(k) = keytool() else {
        println!("SKIPPED: keytool (a Java runtime) is not installed, so no JKS store can be made");
        return;
    };
    let pki = tempfile::tempdir().unwrap();
    make_stores(&k, pki.path());
    let secure = free_port();
    let d = pki.path().display();
    // The key store's type comes from its name (.jks); the trust store's name says
    // nothing, so its type is declared (in lower case, which ZooKeeper accepts too).
    let w = Warren::start_with(&format!(
        "secureClientPort={secure}\n\
         ssl.keyStore.location={d}/server.jks\nssl.keyStore.password=srvpass1\n\
         ssl.trustStore.location={d}/truststore.ts\nssl.trustStore.password=trustpass\n\
         ssl.trustStore.type=jks\nssl.clientAuth=need\n"
    ));
    let mut s = connect_when_serving(secure, pki.path());
    let resp = session(&mut s).expect("a session over TLS");
    assert_ne!(resp.session_id, 0, "the server refused the session");

    // The client certificate's subject is the session's x509 identity.
    let (h, body) = call(&mut s, 1, &Request::WhoAmI);
    assert_eq!(h.err, 0);
    let who = WhoAmIResponse::from_bytes(&body).unwrap();
    assert!(
        who.client_info
            .0
            .iter()
            .any(|c| c.auth_scheme == "x509" && c.user == "CN=client1,O=Warren"),
        "whoAmI over TLS: {:?}",
        who.client_info.0
    );
    let create = Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: "/x509only".into(),
            data: Some(b"over tls".to_vec()),
            acl: vec![Acl::new(31, "x509", "CN=client1,O=Warren")].into(),
            flags: 0,
        },
    };
    assert_eq!(call(&mut s, 2, &create).0.err, 0);
    let get = Request::GetData(PathWatchRequest {
        path: "/x509only".into(),
        watch: false,
    });
    let (h, body) = call(&mut s, 3, &get);
    assert_eq!(h.err, 0);
    assert_eq!(
        GetDataResponse::from_bytes(&body).unwrap().data.as_deref(),
        Some(&b"over tls"[..])
    );
    // A plain client is not that identity.
    let mut plain = Raw::connect(&w.addr(), 30_000);
    assert_eq!(plain.err(&get), -102, "NOAUTH for the plain-port client");

    // ssl.clientAuth=need: a client without a certificate gets no session.
    let refused = tls_connect(secure, pki.path(), false).and_then(|mut s| session(&mut s));
    assert!(
        refused.is_err(),
        "a TLS client without a certificate was served: {refused:?}"
    );
}

/// The server's stderr once the secure port has given its verdict.
fn secure_port_verdict(w: &Warren) -> String {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let log = w.log();
        if log.contains("secure client port") || Instant::now() > end {
            return log;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_wrong_password_or_a_damaged_jks_store_is_an_error_naming_the_file() {
    let Some(k) = keytool() else {
        println!("SKIPPED: keytool (a Java runtime) is not installed, so no JKS store can be made");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    run_keytool(
        &k,
        dir.path(),
        &[
            "-genkeypair",
            "-alias",
            "server",
            "-keyalg",
            "RSA",
            "-keysize",
            "2048",
            "-validity",
            "2",
            "-dname",
            "CN=localhost",
            "-keystore",
            "server.jks",
            "-storetype",
            "JKS",
            "-storepass",
            "srvpass1",
            "-keypass",
            "srvpass1",
        ],
    );
    let good = std::fs::read(dir.path().join("server.jks")).unwrap();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    std::fs::write(dir.path().join("flipped.jks"), &flipped).unwrap();
    std::fs::write(dir.path().join("cut.jks"), &good[..12]).unwrap();

    let cases = [
        ("server.jks", "wrongpass", "password was incorrect"),
        ("flipped.jks", "srvpass1", "password was incorrect"),
        ("cut.jks", "srvpass1", "truncated JKS store"),
    ];
    for (file, password, expect) in cases {
        let secure = free_port();
        let path = dir.path().join(file);
        let w = Warren::start_with(&format!(
            "secureClientPort={secure}\nssl.keyStore.location={}\n\
             ssl.keyStore.password={password}\nssl.clientAuth=none\n",
            path.display()
        ));
        let log = secure_port_verdict(&w);
        assert!(
            log.contains(&format!("secure client port {secure} disabled"))
                && log.contains(&path.display().to_string())
                && log.contains(expect),
            "{file} with {password}: expected an error naming the file and saying \
             {expect:?}; log:\n{log}"
        );
        // The plain port serves on; the secure one does not listen.
        assert_eq!(four_letter(w.port, "ruok"), "imok");
        assert!(TcpStream::connect(("127.0.0.1", secure)).is_err());
    }
}
