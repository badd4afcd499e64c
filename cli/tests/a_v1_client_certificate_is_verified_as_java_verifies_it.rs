//! An X.509 v1 client certificate on the secure port: Java's TLS (and so ZooKeeper)
//! accepts one issued by a trusted CA, and tools still make them (`openssl x509 -req`
//! without extensions, kazoo's own test harness). rustls' webpki reads only v3, so
//! Warren verifies v1 client certificates itself; this checks it accepts what it must
//! (over TLS 1.2 and 1.3, with the subject as the `x509` identity) and refuses what a
//! verifier must refuse: another CA, a forged issuer name, an expired certificate, a
//! SHA-1 signature, an issuer that is not a CA. A v3 client certificate still gets
//! webpki's verdict. The PKI is made by the `openssl` command line.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use warren_proto::{
    ConnectRequest, ConnectResponse, Jute, Reader, ReplyHeader, Request, RequestHeader,
    WhoAmIResponse,
};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn have_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A self-signed CA `name` (key `name.key`, certificate `name.pem`) with `ext`.
fn ca(dir: &Path, name: &str, subject: &str, ext: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-subj",
            subject,
            "-addext",
            ext,
        ],
    );
}

/// A key `name.key` and its request `name.csr` for `subject`.
fn request(dir: &Path, name: &str, subject: &str) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            subject,
        ],
    );
}

/// Signs `name.csr` with the CA `by` into `name.pem`: with no extensions, openssl makes
/// an X.509 v1 certificate.
fn sign(dir: &Path, name: &str, by: &str, extra: &[&str]) {
    let mut args = vec![
        "x509".to_owned(),
        "-req".into(),
        "-in".into(),
        format!("{name}.csr"),
        "-CA".into(),
        format!("{by}.pem"),
        "-CAkey".into(),
        format!("{by}.key"),
        "-set_serial".into(),
        format!("{}", name.len() * 7 + 3),
        "-days".into(),
        "1".into(),
        "-out".into(),
        format!("{name}.pem"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    openssl(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
}

/// Signs `name.csr` with the CA `by` for a validity in the past, as `openssl ca` does
/// (no extension section: v1).
fn sign_expired(dir: &Path, name: &str, by: &str) {
    std::fs::create_dir_all(dir.join("ca-db")).unwrap();
    std::fs::write(dir.join("ca-db/index.txt"), "").unwrap();
    std::fs::write(dir.join("ca-db/serial"), "1000\n").unwrap();
    std::fs::write(
        dir.join("ca.cnf"),
        format!(
            "[ca]\ndefault_ca = d\n[d]\ndir = ca-db\ndatabase = ca-db/index.txt\n\
             new_certs_dir = ca-db\nserial = ca-db/serial\ncertificate = {by}.pem\n\
             private_key = {by}.key\ndefault_md = sha256\npolicy = p\n\
             [p]\ncommonName = supplied\norganizationName = optional\n"
        ),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-notext",
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200102000000Z",
            "-in",
            &format!("{name}.csr"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

/// The certificates of a PKI in `dir`: the trusted CA, a certificate that is not a CA
/// (also trusted), an untrusted CA, one with the trusted CA's name but its own key, the
/// server's v3 certificate, and the client certificates the test presents.
fn make_pki(dir: &Path) {
    ca(
        dir,
        "ca",
        "/CN=Warren Test CA",
        "basicConstraints=critical,CA:TRUE",
    );
    ca(
        dir,
        "notca",
        "/CN=Not A CA",
        "basicConstraints=critical,CA:FALSE",
    );
    ca(
        dir,
        "other",
        "/CN=Other CA",
        "basicConstraints=critical,CA:TRUE",
    );
    ca(
        dir,
        "forged",
        "/CN=Warren Test CA",
        "basicConstraints=critical,CA:TRUE",
    );
    let trust = [
        std::fs::read(dir.join("ca.pem")).unwrap(),
        std::fs::read(dir.join("notca.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(dir.join("trust.pem"), trust).unwrap();

    request(dir, "server", "/CN=localhost");
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    sign(dir, "server", "ca", &["-extfile", "server.ext"]);
    let store = [
        std::fs::read(dir.join("server.key")).unwrap(),
        std::fs::read(dir.join("server.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(dir.join("server-store.pem"), store).unwrap();

    for name in [
        "v1",
        "v1sha1",
        "v1other",
        "v1forged",
        "v1notca",
        "v1expired",
        "v3",
    ] {
        request(dir, name, &format!("/O=Warren/CN={name}"));
    }
    sign(dir, "v1", "ca", &[]);
    sign(dir, "v1sha1", "ca", &["-sha1"]);
    sign(dir, "v1other", "other", &[]);
    sign(dir, "v1forged", "forged", &[]);
    sign(dir, "v1notca", "notca", &[]);
    sign_expired(dir, "v1expired", "ca");
    std::fs::write(
        dir.join("v3.ext"),
        "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    sign(dir, "v3", "ca", &["-extfile", "v3.ext"]);
}

/// The version field of a certificate, as openssl prints it.
fn version_of(dir: &Path, name: &str) -> String {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(["x509", "-noout", "-text", "-in", &format!("{name}.pem")])
        .output()
        .expect("openssl x509 -text");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find(|l| l.trim_start().starts_with("Version:"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A client that always presents one certificate chain.
#[derive(Debug)]
struct Present(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for Present {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A TLS connection to `port` that trusts ca.pem and presents `name.pem` (with
/// `name.key`), over TLS 1.2 or 1.3, driven to the end of its handshake.
fn tls_connect(port: u16, dir: &Path, name: &str, tls13: bool) -> std::io::Result<Tls> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    for c in CertificateDer::pem_slice_iter(&ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let version: &[&rustls::SupportedProtocolVersion] = if tls13 {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS12]
    };
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join(format!("{name}.pem")))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join(format!("{name}.key"))).unwrap();
    // rustls' `with_client_auth_cert` reads the certificate with webpki to match it with
    // the key, which refuses v1: the certificate is presented as it is, as Java's and
    // OpenSSL's clients do.
    let signer = rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(key)
        .unwrap();
    let cfg = rustls::ClientConfig::builder_with_protocol_versions(version)
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(Present(Arc::new(
            rustls::sign::CertifiedKey::new(certs, signer),
        ))));
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(CALL_TIMEOUT))?;
    tcp.set_write_timeout(Some(CALL_TIMEOUT))?;
    let server = ServerName::try_from("localhost").unwrap();
    let conn =
        rustls::ClientConnection::new(Arc::new(cfg), server).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
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

/// A session over TLS presenting `name`, and the `x509` identity whoAmI reports; `Err`
/// when the server refused the certificate.
fn x509_session(port: u16, dir: &Path, name: &str, tls13: bool) -> std::io::Result<String> {
    let mut s = tls_connect(port, dir, name, tls13)?;
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 30_000,
        session_id: 0,
        passwd: vec![0; 16],
        read_only: Some(false),
    };
    send_frame(&mut s, &req.to_bytes())?;
    let resp = ConnectResponse::from_bytes(&recv_frame(&mut s)?)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    assert_ne!(resp.session_id, 0, "no session for {name}");
    let mut b = RequestHeader {
        xid: 1,
        op: Request::WhoAmI.op(),
    }
    .to_bytes();
    Request::WhoAmI.encode_body(&mut b);
    send_frame(&mut s, &b)?;
    let reply = recv_frame(&mut s)?;
    let mut r = Reader::new(&reply);
    let hdr = ReplyHeader::read(&mut r).unwrap();
    assert_eq!(hdr.err, 0);
    let who = WhoAmIResponse::from_bytes(r.rest()).unwrap();
    Ok(who
        .client_info
        .0
        .iter()
        .find(|c| c.auth_scheme == "x509")
        .map(|c| c.user.clone())
        .unwrap_or_default())
}

#[test]
fn a_v1_client_certificate_is_verified_as_java_verifies_it() {
    if !have_openssl() {
        println!("SKIPPED: the openssl command is not installed, so no PKI can be made");
        return;
    }
    let pki = tempfile::tempdir().unwrap();
    let dir = pki.path();
    make_pki(dir);
    assert_eq!(
        version_of(dir, "v1"),
        "Version: 1 (0x0)",
        "openssl made a v1 certificate"
    );
    assert_eq!(version_of(dir, "v1expired"), "Version: 1 (0x0)");
    assert_eq!(version_of(dir, "v3"), "Version: 3 (0x2)");

    let secure = free_port();
    let d = dir.display();
    let _w = Warren::start_with(&format!(
        "secureClientPort={secure}\n\
         ssl.keyStore.location={d}/server-store.pem\n\
         ssl.trustStore.location={d}/trust.pem\nssl.clientAuth=need\n"
    ));
    // The secure port starts beside the plain one.
    let end = Instant::now() + Duration::from_secs(10);
    let first = loop {
        match x509_session(secure, dir, "v1", true) {
            Ok(who) => break who,
            Err(e) if Instant::now() > end => panic!("the v1 client certificate was refused: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    assert_eq!(
        first, "CN=v1,O=Warren",
        "the x509 identity of the v1 certificate"
    );
    assert_eq!(
        x509_session(secure, dir, "v1", false).expect("v1 over TLS 1.2"),
        "CN=v1,O=Warren"
    );
    assert_eq!(
        x509_session(secure, dir, "v3", true).expect("a v3 certificate"),
        "CN=v3,O=Warren"
    );
    for (name, why) in [
        ("v1other", "issued by a CA the trust store does not hold"),
        (
            "v1forged",
            "naming the trusted CA as issuer, signed by another key",
        ),
        ("v1expired", "expired"),
        (
            "v1sha1",
            "signed with SHA-1, which webpki refuses for v3 too",
        ),
        (
            "v1notca",
            "issued by a trusted certificate that is not a CA",
        ),
    ] {
        for tls13 in [true, false] {
            let got = x509_session(secure, dir, name, tls13);
            assert!(
                got.is_err(),
                "a v1 certificate {why} was accepted (TLS 1.3: {tls13}): {got:?}"
            );
        }
    }
}
