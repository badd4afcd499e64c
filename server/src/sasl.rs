//! SASL DIGEST-MD5 (RFC 2831), the mechanism ZooKeeper clients use for password logins.
//!
//! Users come from a JAAS-style `Server { … user_<name>="<password>"; }` section (the file
//! ZooKeeper reads through `java.security.auth.login.config`, named here by
//! `warren.sasl.jaasConfig`) or from `warren.sasl.user.<name>=<password>` keys. As in
//! ZooKeeper, the realm is `zk-sasl-md5` and the service `zookeeper`. A session that
//! completes the exchange gains the identity `sasl:<name>`.

use std::collections::HashMap;
use std::path::Path;

use md5::{Digest, Md5};

/// ZooKeeper's fixed DIGEST-MD5 realm.
pub const REALM: &str = "zk-sasl-md5";

/// A failed or malformed SASL exchange.
#[derive(Debug, thiserror::Error)]
pub enum SaslError {
    #[error("SASL: {0}")]
    Protocol(String),
    #[error("SASL: authentication failed for user {0:?}")]
    BadCredentials(String),
    #[error("cannot read the JAAS file {path}: {source}")]
    Jaas {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Reads `user_<name>="<password>"` entries of the `Server` section of a JAAS file.
///
/// # Errors
/// [`SaslError::Jaas`] when the file cannot be read.
pub fn users_from_jaas(path: &Path) -> Result<HashMap<String, String>, SaslError> {
    let text = std::fs::read_to_string(path).map_err(|source| SaslError::Jaas {
        path: path.to_owned(),
        source,
    })?;
    let mut users = HashMap::new();
    let Some(start) = text.find("Server") else {
        return Ok(users);
    };
    let section = &text[start..];
    let body = match (section.find('{'), section.find("};")) {
        (Some(a), Some(b)) if a < b => &section[a + 1..b],
        _ => return Ok(users),
    };
    for tok in body.split_whitespace() {
        let tok = tok.trim_end_matches(';');
        if let Some((k, v)) = tok.split_once('=') {
            if let Some(name) = k.strip_prefix("user_") {
                users.insert(name.to_owned(), v.trim_matches('"').to_owned());
            }
        }
    }
    Ok(users)
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Splits `k=v,k="v, with comma",…` into pairs.
fn parse_directives(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(n);
                        }
                    }
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                val.push(*c);
                chars.next();
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), val.trim().to_owned());
    }
    out
}

/// One connection's side of a DIGEST-MD5 exchange.
pub struct DigestMd5 {
    nonce: String,
    challenged: bool,
}

impl DigestMd5 {
    /// A new exchange with a fresh nonce.
    pub fn new(nonce_seed: u128) -> DigestMd5 {
        DigestMd5 {
            nonce: hex(&nonce_seed.to_be_bytes()),
            challenged: false,
        }
    }

    /// Answers one client token: the first gets the challenge; the digest response gets
    /// `rspauth` and the authenticated user name.
    ///
    /// # Errors
    /// [`SaslError`] for a malformed response, an unknown user or a wrong password.
    pub fn step(
        &mut self,
        token: &[u8],
        users: &HashMap<String, String>,
    ) -> Result<(Vec<u8>, Option<String>), SaslError> {
        if !self.challenged {
            self.challenged = true;
            let challenge = format!(
                "realm=\"{REALM}\",nonce=\"{}\",qop=\"auth\",charset=utf-8,algorithm=md5-sess",
                self.nonce
            );
            return Ok((challenge.into_bytes(), None));
        }
        let text = std::str::from_utf8(token)
            .map_err(|_| SaslError::Protocol("digest response is not UTF-8".into()))?;
        let d = parse_directives(text);
        let get = |k: &str| {
            d.get(k)
                .map(String::as_str)
                .ok_or_else(|| SaslError::Protocol(format!("digest response lacks {k}")))
        };
        let user = get("username")?;
        let realm = d.get("realm").map_or(REALM, String::as_str);
        let (nonce, cnonce, nc, uri, response) = (
            get("nonce")?,
            get("cnonce")?,
            get("nc")?,
            get("digest-uri")?,
            get("response")?,
        );
        let qop = d.get("qop").map_or("auth", String::as_str);
        if nonce != self.nonce {
            return Err(SaslError::Protocol("nonce does not match".into()));
        }
        let Some(password) = users.get(user) else {
            return Err(SaslError::BadCredentials(user.to_owned()));
        };
        let authzid = d.get("authzid");
        let inner = md5(&[
            user.as_bytes(),
            b":",
            realm.as_bytes(),
            b":",
            password.as_bytes(),
        ]);
        let mut a1: Vec<u8> = inner.to_vec();
        a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
        if let Some(z) = authzid {
            a1.extend_from_slice(format!(":{z}").as_bytes());
        }
        let ha1 = hex(&md5(&[&a1]));
        let kd = |a2: &str| {
            let ha2 = hex(&md5(&[a2.as_bytes()]));
            hex(&md5(&[
                ha1.as_bytes(),
                format!(":{nonce}:{nc}:{cnonce}:{qop}:{ha2}").as_bytes(),
            ]))
        };
        if kd(&format!("AUTHENTICATE:{uri}")) != response.to_ascii_lowercase() {
            return Err(SaslError::BadCredentials(user.to_owned()));
        }
        let rspauth = format!("rspauth={}", kd(&format!(":{uri}")));
        let who = authzid.cloned().unwrap_or_else(|| user.to_owned());
        Ok((rspauth.into_bytes(), Some(who)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jaas_server_section() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("jaas.conf");
        std::fs::write(
            &p,
            "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
             user_super=\"adminsecret\"\n  user_bob=\"bobsecret\";\n};\nClient { x };\n",
        )
        .unwrap();
        let u = users_from_jaas(&p).unwrap();
        assert_eq!(u.get("bob").map(String::as_str), Some("bobsecret"));
        assert_eq!(u.len(), 2);
    }

    #[test]
    fn directives_parse_quoted_values() {
        let d = parse_directives("username=\"bob\",nc=00000001,realm=\"a,b\",qop=auth");
        assert_eq!(d["username"], "bob");
        assert_eq!(d["realm"], "a,b");
        assert_eq!(d["nc"], "00000001");
    }

    #[test]
    fn wrong_nonce_is_refused() {
        let mut s = DigestMd5::new(1);
        let users = HashMap::from([("bob".to_owned(), "pw".to_owned())]);
        s.step(b"", &users).unwrap();
        let r = s.step(
            b"username=\"bob\",nonce=\"x\",cnonce=\"y\",nc=00000001,digest-uri=\"zookeeper/zk-sasl-md5\",response=00",
            &users,
        );
        assert!(r.is_err());
    }
}
