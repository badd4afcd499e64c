//! Verifying client certificates on the secure port, as Java's TLS does for ZooKeeper.
//!
//! rustls' webpki verifier checks every client certificate first, and its verdict
//! stands for every certificate it can read. It reads only X.509 v3, though, while Java
//! (PKIX) also accepts v1 certificates, which tools still make (`openssl x509 -req`
//! without extensions, and kazoo's own test harness). A v1 client certificate is
//! therefore verified here, by a narrow rule that checks what webpki would:
//!
//! - it is well formed: version 1, no extensions, its inner and outer signature
//!   algorithms equal, no bytes after it;
//! - it is valid now (notBefore ≤ now ≤ notAfter);
//! - it is issued directly by a certificate of the trust store: the issuer name equals,
//!   byte for byte, the subject of a trusted certificate, and the signature verifies
//!   with that certificate's key, by one of the algorithms rustls' crypto provider
//!   accepts for certificates (so no SHA-1, as webpki); a trusted certificate that says
//!   it is not a CA (basicConstraints CA:FALSE, or a keyUsage without keyCertSign), or
//!   that carries name constraints, issues nothing here; or it is itself a certificate
//!   of the trust store, as Java accepts a trusted self-signed peer;
//! - the handshake's signature verifies with its key, by the schemes rustls offers.
//!
//! Intermediates are not followed for a v1 certificate (the certificates a client sends
//! after it are ignored, as webpki ignores those it does not need): a v1 certificate
//! issued by an intermediate CA is refused. Nothing else changes: a certificate webpki
//! can read gets webpki's verdict only.

use std::sync::Arc;

use rustls_pki_types::{CertificateDer, SubjectPublicKeyInfoDer, UnixTime};
use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::crypto::WebPkiSupportedAlgorithms;
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::{
    self, CertificateError, DigitallySignedStruct, DistinguishedName, Error, PeerMisbehaved,
    SignatureScheme,
};
use x509_parser::x509::X509Version;

/// webpki's verifier, with v1 client certificates verified beside it (module docs).
#[derive(Debug)]
pub struct ClientVerifier {
    webpki: Arc<dyn ClientCertVerifier>,
    /// The trust store's certificates, as DER.
    trusted: Vec<CertificateDer<'static>>,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientVerifier {
    /// Wraps `webpki`, built from the certificates `trusted`; `algs` are the crypto
    /// provider's signature algorithms.
    pub fn new(
        webpki: Arc<dyn ClientCertVerifier>,
        trusted: Vec<CertificateDer<'static>>,
        algs: WebPkiSupportedAlgorithms,
    ) -> ClientVerifier {
        ClientVerifier {
            webpki,
            trusted,
            algs,
        }
    }

    fn verify_v1(&self, leaf: &V1Cert<'_>, now: UnixTime) -> Result<(), Error> {
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        if now < leaf.not_before {
            return Err(CertificateError::NotValidYet.into());
        }
        if now > leaf.not_after {
            return Err(CertificateError::Expired.into());
        }
        if self.trusted.iter().any(|t| t.as_ref() == leaf.der) {
            return Ok(());
        }
        let mut failed = None;
        for t in &self.trusted {
            let Some(issuer) = Issuer::parse(t) else {
                continue;
            };
            if issuer.subject != leaf.issuer || !issuer.may_issue {
                continue;
            }
            match verify_signed(&self.algs, &leaf.signed, issuer.spki) {
                Ok(()) => return Ok(()),
                Err(e) => failed = Some(e),
            }
        }
        Err(failed.unwrap_or_else(|| CertificateError::UnknownIssuer.into()))
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.webpki.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.webpki.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.webpki.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let refused = match self
            .webpki
            .verify_client_cert(end_entity, intermediates, now)
        {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let Some(leaf) = V1Cert::parse(end_entity) else {
            return Err(refused);
        };
        // The certificates sent after it (OpenSSL clients send the chain they built,
        // their CA included) are not used: only a trusted certificate issues a v1 one.
        self.verify_v1(&leaf, now)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        match V1Cert::parse(cert) {
            Some(leaf) => verify_handshake(&self.algs, message, leaf.spki, dss, false),
            None => self.webpki.verify_tls12_signature(message, cert, dss),
        }
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        match V1Cert::parse(cert) {
            Some(leaf) => verify_handshake(&self.algs, message, leaf.spki, dss, true),
            None => self.webpki.verify_tls13_signature(message, cert, dss),
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The parts of a signed X.509 structure that its signature covers and is made of.
struct Signed<'a> {
    /// The TBSCertificate, tag and length included: what is signed.
    tbs: &'a [u8],
    /// The contents of the outer AlgorithmIdentifier.
    algorithm: &'a [u8],
    /// The signature's bits.
    signature: &'a [u8],
}

/// A well-formed X.509 v1 certificate (see the module docs), as far as verifying it goes.
struct V1Cert<'a> {
    der: &'a [u8],
    signed: Signed<'a>,
    /// The issuer Name, tag and length included.
    issuer: &'a [u8],
    not_before: i64,
    not_after: i64,
    /// The SubjectPublicKeyInfo, tag and length included.
    spki: &'a [u8],
}

impl<'a> V1Cert<'a> {
    /// The certificate, if it is a well-formed v1 one.
    fn parse(der: &'a [u8]) -> Option<V1Cert<'a>> {
        let (rest, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        if !rest.is_empty() || cert.version() != X509Version::V1 || !cert.extensions().is_empty() {
            return None;
        }
        let signed = split_signed(der)?;
        // TBSCertificate of v1: serialNumber, signature, issuer, validity, subject,
        // subjectPublicKeyInfo (no version, no unique ids, no extensions).
        let (tag, tbs, _) = tlv(signed.tbs)?;
        if tag != SEQUENCE {
            return None;
        }
        let (_, _serial, after) = tlv(tbs)?;
        let (tag, inner_alg, after) = tlv(after)?;
        if tag != SEQUENCE || inner_alg != signed.algorithm {
            return None;
        }
        let (issuer, after) = whole(after)?;
        let (_, after) = whole(after)?; // validity, read through x509-parser
        let (_, after) = whole(after)?; // subject
        let (spki, after) = whole(after)?;
        if !after.is_empty() || issuer != cert.issuer().as_raw() {
            return None;
        }
        let validity = cert.validity();
        Some(V1Cert {
            der,
            signed,
            issuer,
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            spki,
        })
    }
}

/// A trusted certificate as the issuer of a v1 client certificate.
struct Issuer<'a> {
    /// Its subject Name, tag and length included.
    subject: &'a [u8],
    /// Its SubjectPublicKeyInfo, tag and length included.
    spki: &'a [u8],
    /// Whether it may sign certificates: not marked as a non-CA, and with no name
    /// constraints (which this rule does not evaluate).
    may_issue: bool,
}

impl<'a> Issuer<'a> {
    fn parse(der: &'a [u8]) -> Option<Issuer<'a>> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let not_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if !bc.value.ca);
        let no_cert_sign = matches!(cert.key_usage(), Ok(Some(ku)) if !ku.value.key_cert_sign());
        let constrained = !matches!(cert.name_constraints(), Ok(None));
        let bad_extensions = cert.basic_constraints().is_err() || cert.key_usage().is_err();
        let tbs = &cert.tbs_certificate;
        Some(Issuer {
            subject: tbs.subject.as_raw(),
            spki: tbs.subject_pki.raw,
            may_issue: !(not_ca || no_cert_sign || constrained || bad_extensions),
        })
    }
}

/// Verifies `signed` with the key `spki`, by the provider's algorithm whose identifiers
/// match the signature's and the key's.
fn verify_signed(
    algs: &WebPkiSupportedAlgorithms,
    signed: &Signed<'_>,
    spki: &[u8],
) -> Result<(), Error> {
    let (key_alg, key) = split_spki(spki).ok_or(CertificateError::BadEncoding)?;
    let alg = algs
        .all
        .iter()
        .find(|a| {
            a.signature_alg_id().as_ref() == signed.algorithm
                && a.public_key_alg_id().as_ref() == key_alg
        })
        .ok_or_else(|| CertificateError::UnsupportedSignatureAlgorithmContext {
            signature_algorithm_id: signed.algorithm.to_vec(),
            supported_algorithms: algs.all.iter().map(|a| a.signature_alg_id()).collect(),
        })?;
    alg.verify_signature(key, signed.tbs, signed.signature)
        .map_err(|_| CertificateError::BadSignature.into())
}

/// Verifies a handshake signature with the key `spki`, as rustls' webpki functions do
/// with a certificate's: TLS 1.3 by rustls' own function for raw keys, TLS 1.2 by any of
/// the scheme's algorithms that fits the key.
fn verify_handshake(
    algs: &WebPkiSupportedAlgorithms,
    message: &[u8],
    spki: &[u8],
    dss: &DigitallySignedStruct,
    tls13: bool,
) -> Result<HandshakeSignatureValid, Error> {
    if tls13 {
        let spki = SubjectPublicKeyInfoDer::from(spki);
        return rustls::crypto::verify_tls13_signature_with_raw_key(message, &spki, dss, algs);
    }
    let (key_alg, key) = split_spki(spki).ok_or(CertificateError::BadEncoding)?;
    let candidates = algs
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == dss.scheme)
        .map(|(_, a)| *a)
        .ok_or(PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme)?;
    let alg = candidates
        .iter()
        .find(|a| a.public_key_alg_id().as_ref() == key_alg)
        .ok_or_else(
            || CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext {
                signature_algorithm_id: Vec::new(),
                public_key_algorithm_id: key_alg.to_vec(),
            },
        )?;
    alg.verify_signature(key, message, dss.signature())
        .map(|()| HandshakeSignatureValid::assertion())
        .map_err(|_| CertificateError::BadSignature.into())
}

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;

/// One DER element at the start of `b`: its tag, its contents, and what follows it.
/// Only single-byte tags and definite lengths, as DER has for everything read here.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &d| (acc << 8) | usize::from(d));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// One whole DER element (tag and length included) at the start of `b`, and the rest.
fn whole(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, _, rest) = tlv(b)?;
    Some((&b[..b.len() - rest.len()], rest))
}

/// A BIT STRING's bits; `None` unless it is whole bytes.
fn bits(tag: u8, contents: &[u8]) -> Option<&[u8]> {
    match contents.split_first() {
        Some((0, bits)) if tag == BIT_STRING => Some(bits),
        _ => None,
    }
}

/// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }.
fn split_signed(der: &[u8]) -> Option<Signed<'_>> {
    let (tag, body, rest) = tlv(der)?;
    if tag != SEQUENCE || !rest.is_empty() {
        return None;
    }
    let (tbs, rest) = whole(body)?;
    let (tag, algorithm, rest) = tlv(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, sig, rest) = tlv(rest)?;
    if !rest.is_empty() {
        return None;
    }
    Some(Signed {
        tbs,
        algorithm,
        signature: bits(tag, sig)?,
    })
}

/// SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey }: the contents of
/// the AlgorithmIdentifier, and the key's bits.
fn split_spki(spki: &[u8]) -> Option<(&[u8], &[u8])> {
    let (tag, body, rest) = tlv(spki)?;
    if tag != SEQUENCE || !rest.is_empty() {
        return None;
    }
    let (tag, alg, rest) = tlv(body)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, key, rest) = tlv(rest)?;
    if !rest.is_empty() {
        return None;
    }
    Some((alg, bits(tag, key)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_elements_are_read_with_short_and_long_lengths() {
        assert_eq!(
            tlv(&[0x30, 2, 1, 2, 9]),
            Some((0x30, &[1u8, 2][..], &[9u8][..]))
        );
        let mut long = vec![0x04, 0x81, 200];
        long.extend(std::iter::repeat_n(7u8, 200));
        assert_eq!(
            tlv(&long).map(|(_, c, r)| (c.len(), r.len())),
            Some((200, 0))
        );
        assert_eq!(tlv(&[0x04, 0x82, 1]), None, "length cut short");
        assert_eq!(tlv(&[0x04, 5, 1, 2]), None, "contents cut short");
        assert_eq!(tlv(&[0x1f, 1, 0]), None, "multi-byte tag");
        assert_eq!(bits(BIT_STRING, &[1, 0xff]), None, "unused bits");
    }
}
