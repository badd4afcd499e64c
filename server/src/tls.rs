//! TLS on the secure client port, configured with ZooKeeper's `ssl.*` keys.
//!
//! ZooKeeper names three store types, and Warren reads all three: JKS (Java's own
//! `keytool` format, the default of ZooKeeper's guides; a private-key entry with its
//! certificate chain, or trusted-certificate entries, protected by
//! `ssl.keyStore.password` / `ssl.trustStore.password`), PKCS#12 (`.p12`/`.pfx`) and PEM
//! (certificates and a PKCS#8, PKCS#1 or SEC1 key in one file, or certificates for a
//! trust store). The type comes from `ssl.keyStore.type` / `ssl.trustStore.type`, or else
//! from the file name (`.jks`, `.p12`, `.pem`), as in ZooKeeper; like Java's `JKS` and
//! `PKCS12` key stores, either of those two types opens a file of the other format.
//! A store that cannot be used (missing, damaged, wrong password) disables the secure
//! port with an error naming the file, and the plain port keeps serving.
//!
//! With `ssl.clientAuth` at `need` (ZooKeeper's default) or `want`, a client certificate
//! is verified against the trust store, and its subject becomes an `x509` identity that
//! ACLs can name. X.509 v1 client certificates, which Java accepts and webpki does not,
//! are verified by `client_cert` when a trusted certificate issued them directly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::sign::{CertifiedKey, SingleCertAndKey};
use tokio_rustls::rustls::{self, InconsistentKeys, RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::client_cert::ClientVerifier;
use crate::config::Config;

/// Why the secure port cannot start.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("ssl.keyStore.location is not set")]
    NoKeyStore,
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: Keystore was tampered with, or password was incorrect (the JKS store's \
         integrity check failed; check ssl.keyStore.password / ssl.trustStore.password)"
    )]
    JksPassword { path: PathBuf },
    #[error(
        "{path} is a {kind} store, which Warren cannot read; convert it with \
         `keytool -importkeystore -srckeystore {path} -destkeystore store.p12 -deststoretype PKCS12` \
         and point ssl.keyStore.location (or ssl.trustStore.location) at the .p12 file"
    )]
    Unsupported { path: PathBuf, kind: &'static str },
    #[error("{path}: {detail}")]
    Bad { path: PathBuf, detail: String },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Store formats, from `ssl.*Store.type` or the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreType {
    Pem,
    Pkcs12,
    Jks,
    Bcfks,
}

/// ZooKeeper's `KeyStoreFileType.fromPropertyValueOrFileName`: the declared type
/// (case-insensitive), else the extension. Where ZooKeeper gives up (an unknown
/// extension), Warren looks at the file's first bytes instead.
fn store_type(path: &Path, declared: Option<&str>, bytes: &[u8]) -> StoreType {
    let declared = declared.map(str::trim).filter(|d| !d.is_empty());
    let name = declared
        .map(str::to_ascii_lowercase)
        .or_else(|| {
            path.extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
        })
        .unwrap_or_default();
    match name.as_str() {
        "pkcs12" | "p12" | "pfx" => StoreType::Pkcs12,
        "jks" => StoreType::Jks,
        "bcfks" => StoreType::Bcfks,
        "pem" | "crt" | "cer" | "key" => StoreType::Pem,
        _ => match sniff(bytes) {
            Some(t) => t,
            None => StoreType::Pem,
        },
    }
}

/// JKS and PKCS#12 by their first bytes: JKS's magic `0xFEEDFEED`, or the DER SEQUENCE
/// that a PKCS#12 file is.
fn sniff(bytes: &[u8]) -> Option<StoreType> {
    match bytes {
        [0xFE, 0xED, 0xFE, 0xED, ..] => Some(StoreType::Jks),
        [0x30, ..] => Some(StoreType::Pkcs12),
        _ => None,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn bad(path: &Path, detail: impl ToString) -> TlsError {
    TlsError::Bad {
        path: path.to_owned(),
        detail: detail.to_string(),
    }
}

/// What a store holds: a private key with its certificate chain (leaf first), and
/// certificates trusted on their own.
#[derive(Default)]
struct Store {
    key: Option<PrivateKeyDer<'static>>,
    chain: Vec<CertificateDer<'static>>,
    trusted: Vec<CertificateDer<'static>>,
}

impl Store {
    /// The trust anchors, as Java's trust manager takes them from a key store: the
    /// trusted-certificate entries and the leaf of each key entry.
    fn roots(self) -> Vec<CertificateDer<'static>> {
        let mut roots = self.trusted;
        roots.extend(self.chain.into_iter().take(1));
        roots
    }
}

/// Reads certificates (and a key, if the store has one).
fn load_store(path: &Path, declared: Option<&str>, password: &str) -> Result<Store, TlsError> {
    let bytes = read(path)?;
    let mut kind = store_type(path, declared, &bytes);
    // Java's JKS and PKCS12 key stores each read the other's files
    // (keystore.type.compat); so does Warren.
    if matches!(kind, StoreType::Jks | StoreType::Pkcs12) {
        kind = sniff(&bytes).unwrap_or(kind);
    }
    match kind {
        StoreType::Bcfks => Err(TlsError::Unsupported {
            path: path.to_owned(),
            kind: "BCFKS (Bouncy Castle FIPS)",
        }),
        StoreType::Jks => load_jks(path, &bytes, password),
        StoreType::Pem => {
            let certs = CertificateDer::pem_slice_iter(&bytes)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(path, format!("bad PEM certificate: {e}")))?;
            if certs.is_empty() {
                return Err(bad(path, "no certificate in the PEM file"));
            }
            Ok(match PrivateKeyDer::from_pem_slice(&bytes) {
                Ok(key) => Store {
                    key: Some(key),
                    chain: certs,
                    trusted: Vec::new(),
                },
                Err(_) => Store {
                    trusted: certs,
                    ..Store::default()
                },
            })
        }
        StoreType::Pkcs12 => {
            let ks = p12_keystore::KeyStore::from_pkcs12(
                &bytes,
                password,
                p12_keystore::Pkcs12ImportPolicy::Relaxed,
            )
            .map_err(|e| {
                bad(
                    path,
                    format!("cannot open PKCS#12 store (wrong password?): {e}"),
                )
            })?;
            let mut store = Store::default();
            for (_, entry) in ks.entries() {
                match entry {
                    p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => {
                        if store.key.is_none() {
                            store.key = Some(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                                chain.key().as_der().to_vec(),
                            )));
                            store.chain.extend(
                                chain
                                    .certs()
                                    .iter()
                                    .map(|c| CertificateDer::from(c.as_der().to_vec())),
                            );
                        }
                    }
                    p12_keystore::KeyStoreEntry::Certificate(c) => {
                        store
                            .trusted
                            .push(CertificateDer::from(c.as_der().to_vec()));
                    }
                    p12_keystore::KeyStoreEntry::Secret(_) => {}
                }
            }
            if store.chain.is_empty() && store.trusted.is_empty() {
                return Err(bad(path, "no certificate in the PKCS#12 store"));
            }
            Ok(store)
        }
    }
}

/// A password as Java's JKS code hashes it: UTF-16 code units, big-endian. (The `jks`
/// crate's default treats each byte as one character, right for ASCII only.)
fn java_password_bytes(utf8: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(utf8)
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect()
}

/// Checks a JKS file's trailing integrity digest, SHA-1 over the password, the crate's
/// whitener text and the rest of the file, before anything in it is parsed: a damaged
/// count or length would otherwise have the decoder allocate as the damage says. So only
/// the bytes keytool wrote (for someone holding the password) are parsed. A wrong
/// password and a damaged file look alike here, as they do to Java. Returns the body.
fn jks_integrity<'a>(path: &Path, bytes: &'a [u8], password: &str) -> Result<&'a [u8], TlsError> {
    use sha1::{Digest, Sha1};
    let Some(split) = bytes.len().checked_sub(20) else {
        return Err(bad(path, "truncated JKS store (shorter than its digest)"));
    };
    let (body, stored) = bytes.split_at(split);
    let mut h = Sha1::new();
    h.update(java_password_bytes(password.as_bytes()));
    h.update(jks::common::WHITENER_MESSAGE);
    h.update(body);
    if h.finalize().as_slice() == stored {
        Ok(body)
    } else {
        Err(TlsError::JksPassword {
            path: path.to_owned(),
        })
    }
}

/// A JKS store: the first private-key entry by alias (its key decrypted with the store's
/// password, as ZooKeeper's key manager does, and its certificate chain) plus every
/// trusted-certificate entry. The `jks` crate's decoder reads the entries and its key
/// protector decrypts the key.
fn load_jks(path: &Path, bytes: &[u8], password: &str) -> Result<Store, TlsError> {
    let mut body = jks_integrity(path, bytes, password)?;
    let unreadable = |e: jks::KeyStoreError| bad(path, format!("cannot read JKS store: {e}"));
    let mut decoder = jks::decoder::Decoder::new(&mut body);
    if decoder.read_u32().map_err(unreadable)? != jks::common::MAGIC {
        return Err(bad(path, "not a JKS store (no 0xFEEDFEED magic)"));
    }
    let version = decoder.read_u32().map_err(unreadable)?;
    let count = decoder.read_u32().map_err(unreadable)?;
    let mut entries = Vec::new();
    for _ in 0..count {
        entries.push(decoder.read_entry(version).map_err(unreadable)?);
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut store = Store::default();
    for (alias, entry) in entries {
        match entry {
            jks::Entry::PrivateKey(_) if store.key.is_some() => {}
            jks::Entry::PrivateKey(entry) => {
                let key = jks::keyprotector::decrypt(
                    &entry.private_key,
                    password.as_bytes(),
                    java_password_bytes,
                )
                .map_err(|e| {
                    bad(
                        path,
                        format!(
                            "cannot decrypt the private key of entry {alias:?} with \
                             ssl.keyStore.password (a key password different from the \
                             store password is not supported, as in ZooKeeper): {e}"
                        ),
                    )
                })?;
                store.key = Some(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)));
                store.chain = entry
                    .certificate_chain
                    .into_iter()
                    .map(|c| CertificateDer::from(c.content))
                    .collect();
            }
            jks::Entry::TrustedCertificate(entry) => store
                .trusted
                .push(CertificateDer::from(entry.certificate.content)),
        }
    }
    if store.chain.is_empty() && store.trusted.is_empty() {
        return Err(bad(path, "no certificate in the JKS store"));
    }
    Ok(store)
}

/// Builds the TLS acceptor for the secure port, or `None` when no secure port is set.
///
/// # Errors
/// [`TlsError`] naming the store that could not be used.
pub fn acceptor(config: &Config) -> Result<Option<TlsAcceptor>, TlsError> {
    if config.secure_client_port.is_none() {
        return Ok(None);
    }
    let get = |k: &str| config.extra.get(k).map(String::as_str);
    let key_path = PathBuf::from(get("ssl.keyStore.location").ok_or(TlsError::NoKeyStore)?);
    let store = load_store(
        &key_path,
        get("ssl.keyStore.type"),
        get("ssl.keyStore.password").unwrap_or(""),
    )?;
    let key = store
        .key
        .ok_or_else(|| bad(&key_path, "the key store holds no private key"))?;
    if store.chain.is_empty() {
        return Err(bad(&key_path, "the private key has no certificate"));
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certified = certified_key(&key_path, store.chain, key)?;
    let builder = ServerConfig::builder();
    let client_auth = get("ssl.clientAuth").unwrap_or("need").to_ascii_lowercase();
    let builder = match (get("ssl.trustStore.location"), client_auth.as_str()) {
        (_, "none") | (None, _) => builder.with_no_client_auth(),
        (Some(trust), mode) => {
            let trust = PathBuf::from(trust);
            let roots = load_store(
                &trust,
                get("ssl.trustStore.type"),
                get("ssl.trustStore.password").unwrap_or(""),
            )?
            .roots();
            let mut store = RootCertStore::empty();
            for c in roots.iter().cloned() {
                store
                    .add(c)
                    .map_err(|e| bad(&trust, format!("unusable trusted certificate: {e}")))?;
            }
            let verifier = WebPkiClientVerifier::builder(Arc::new(store));
            let verifier = if mode == "want" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let webpki = verifier
                .build()
                .map_err(|e| bad(&trust, format!("trust store: {e}")))?;
            let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
            builder.with_client_cert_verifier(Arc::new(ClientVerifier::new(webpki, roots, algs)))
        }
    };
    let cfg = builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
    Ok(Some(TlsAcceptor::from(Arc::new(cfg))))
}

/// The server's certificate chain and signing key. Unlike rustls' `with_single_cert`,
/// a leaf certificate that webpki cannot parse, such as an X.509 v1 certificate (which
/// Java's key managers serve, and which kazoo's own test harness makes), is served as it
/// is; a key that does not belong to the certificate is still refused.
fn certified_key(
    path: &Path,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<CertifiedKey, TlsError> {
    let provider = rustls::crypto::ring::default_provider();
    let signer = provider.key_provider.load_private_key(key).map_err(|e| {
        bad(
            path,
            format!(
                "unusable private key: {e} (an EC key written by Java's keytool lacks the \
                 public key that Warren's TLS library needs; use an RSA key, or an EC key \
                 in PEM as openssl writes it)"
            ),
        )
    })?;
    let certified = CertifiedKey::new(chain, signer);
    match certified.keys_match() {
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => Err(bad(
            path,
            "the private key does not belong to the first certificate of its chain",
        )),
        Err(rustls::Error::InvalidCertificate(e)) => {
            tracing::info!(
                file = %path.display(),
                "the server certificate is served unchecked ({e:?}), as Java serves it"
            );
            Ok(certified)
        }
        _ => Ok(certified),
    }
}

/// The `x509` identity of a client certificate: its subject in RFC 2253 form, as Java's
/// `X500Principal.getName()` prints it (most specific attribute first, no spaces).
pub fn x509_identity(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let rdns: Vec<String> = parsed
        .subject()
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    let key = x509_parser::objects::oid2abbrev(
                        atv.attr_type(),
                        x509_parser::objects::oid_registry(),
                    )
                    .map(str::to_owned)
                    .unwrap_or_else(|_| atv.attr_type().to_id_string());
                    let val = atv.as_str().unwrap_or_default();
                    format!("{key}={val}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    Some(rdns.into_iter().rev().collect::<Vec<_>>().join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JKS: &[u8] = &[0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2];
    const DER: &[u8] = &[0x30, 0x82, 0x0A, 0x00];
    const PEM: &[u8] = b"-----BEGIN CERTIFICATE-----\n";

    #[test]
    fn the_store_type_is_declared_or_told_by_the_file_name_as_in_zookeeper() {
        let t = |name: &str, declared: Option<&str>, bytes: &[u8]| {
            store_type(Path::new(name), declared, bytes)
        };
        assert_eq!(t("/a/keystore.jks", None, JKS), StoreType::Jks);
        assert_eq!(t("/a/keystore.p12", None, DER), StoreType::Pkcs12);
        assert_eq!(t("/a/keystore.pem", None, PEM), StoreType::Pem);
        assert_eq!(t("/a/keystore.bcfks", None, DER), StoreType::Bcfks);
        // The declared type wins over the name, in any case (ZooKeeper upper-cases it).
        assert_eq!(t("/a/keystore.pem", Some("jks"), JKS), StoreType::Jks);
        assert_eq!(t("/a/store", Some("PKCS12"), DER), StoreType::Pkcs12);
        assert_eq!(t("/a/store.jks", Some(" "), JKS), StoreType::Jks);
        // Where ZooKeeper cannot tell from the name, Warren looks at the bytes.
        assert_eq!(t("/a/server.keystore", None, JKS), StoreType::Jks);
        assert_eq!(t("/a/server.keystore", None, DER), StoreType::Pkcs12);
        assert_eq!(t("/a/server.keystore", None, PEM), StoreType::Pem);
    }

    #[test]
    fn a_jks_password_is_hashed_as_java_chars_are() {
        assert_eq!(
            java_password_bytes("aé€".as_bytes()),
            vec![0, b'a', 0, 0xE9, 0x20, 0xAC]
        );
    }

    #[test]
    fn a_missing_or_unreadable_store_is_an_error_naming_it() {
        let e = load_store(Path::new("/nonexistent/ks.jks"), None, "pw")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("/nonexistent/ks.jks"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.jks");
        std::fs::write(&path, JKS).unwrap();
        let e = load_store(&path, None, "pw")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("short.jks") && e.contains("truncated"), "{e}");
        let path = dir.path().join("bc.bcfks");
        std::fs::write(&path, DER).unwrap();
        let e = load_store(&path, None, "pw")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("BCFKS") && e.contains("bc.bcfks"), "{e}");
    }
}
