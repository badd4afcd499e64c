//! TLS on the secure client port, configured with ZooKeeper's `ssl.*` keys.
//!
//! ZooKeeper reads Java key stores; Warren reads the two formats that are not Java's own:
//! PEM (certificates and a PKCS#8, PKCS#1 or SEC1 key in one file, or certificates for a
//! trust store) and PKCS#12 (`.p12`/`.pfx`, with `ssl.keyStore.password`). A JKS store
//! cannot be read without Java; such a store disables the secure port with a log line
//! that says what to convert it to, and the plain port keeps serving.
//!
//! With `ssl.clientAuth` at `need` (ZooKeeper's default) or `want`, a client certificate
//! is verified against the trust store, and its subject becomes an `x509` identity that
//! ACLs can name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

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
        "{path} is a Java KeyStore (JKS), which only Java can read; convert it with \
         `keytool -importkeystore -srckeystore {path} -destkeystore store.p12 -deststoretype PKCS12` \
         and point ssl.keyStore.location (or ssl.trustStore.location) at the .p12 file"
    )]
    Jks { path: PathBuf },
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
}

fn store_type(path: &Path, declared: Option<&str>) -> StoreType {
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
        "jks" | "bcfks" => StoreType::Jks,
        _ => StoreType::Pem,
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

type Chain = (Vec<CertificateDer<'static>>, Option<PrivateKeyDer<'static>>);

/// Reads certificates (and a key, if the store has one).
fn load_store(path: &Path, declared: Option<&str>, password: &str) -> Result<Chain, TlsError> {
    match store_type(path, declared) {
        StoreType::Jks => Err(TlsError::Jks {
            path: path.to_owned(),
        }),
        StoreType::Pem => {
            let bytes = read(path)?;
            let certs = CertificateDer::pem_slice_iter(&bytes)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(path, format!("bad PEM certificate: {e}")))?;
            let key = PrivateKeyDer::from_pem_slice(&bytes).ok();
            if certs.is_empty() {
                return Err(bad(path, "no certificate in the PEM file"));
            }
            Ok((certs, key))
        }
        StoreType::Pkcs12 => {
            let bytes = read(path)?;
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
            let mut certs = Vec::new();
            let mut key = None;
            for (_, entry) in ks.entries() {
                match entry {
                    p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => {
                        if key.is_none() {
                            key = Some(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                                chain.key().as_der().to_vec(),
                            )));
                            certs.extend(
                                chain
                                    .certs()
                                    .iter()
                                    .map(|c| CertificateDer::from(c.as_der().to_vec())),
                            );
                        }
                    }
                    p12_keystore::KeyStoreEntry::Certificate(c) => {
                        certs.push(CertificateDer::from(c.as_der().to_vec()));
                    }
                    p12_keystore::KeyStoreEntry::Secret(_) => {}
                }
            }
            if certs.is_empty() {
                return Err(bad(path, "no certificate in the PKCS#12 store"));
            }
            Ok((certs, key))
        }
    }
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
    let (chain, key) = load_store(
        &key_path,
        get("ssl.keyStore.type"),
        get("ssl.keyStore.password").unwrap_or(""),
    )?;
    let key = key.ok_or_else(|| bad(&key_path, "the key store holds no private key"))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let builder = ServerConfig::builder();
    let client_auth = get("ssl.clientAuth").unwrap_or("need").to_ascii_lowercase();
    let builder = match (get("ssl.trustStore.location"), client_auth.as_str()) {
        (_, "none") | (None, _) => builder.with_no_client_auth(),
        (Some(trust), mode) => {
            let trust = PathBuf::from(trust);
            let (roots, _) = load_store(
                &trust,
                get("ssl.trustStore.type"),
                get("ssl.trustStore.password").unwrap_or(""),
            )?;
            let mut store = RootCertStore::empty();
            for c in roots {
                store.add(c)?;
            }
            let verifier = WebPkiClientVerifier::builder(Arc::new(store));
            let verifier = if mode == "want" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| bad(&trust, format!("trust store: {e}")))?,
            )
        }
    };
    let cfg = builder.with_single_cert(chain, key)?;
    Ok(Some(TlsAcceptor::from(Arc::new(cfg))))
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
