//! Access control: the identities a connection holds, the permission check, and the
//! validation ZooKeeper applies to ACLs given in create and setACL (`fixupACL`).

use std::net::IpAddr;

use base64::Engine as _;
use sha1::{Digest, Sha1};
use warren_proto::{Acl, ErrorCode, Id};

/// `digest` identity for `user:password`: `user:base64(sha1("user:password"))`. Like
/// ZooKeeper, a credential without a colon is all user name.
pub fn digest_id(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or_default();
    let hash = Sha1::digest(user_password.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// The identities of one connection: always `ip:<addr>`, plus what `auth` packets added.
#[derive(Debug, Clone)]
pub struct Identities {
    pub ids: Vec<Id>,
    /// Authenticated as the superDigest user: every check passes.
    pub is_super: bool,
}

impl Identities {
    /// The server itself, for the txns it makes on its own (session expiry, the reaper):
    /// every check passes.
    pub fn server() -> Identities {
        Identities {
            ids: Vec::new(),
            is_super: true,
        }
    }

    /// The identities of a new connection from `addr`.
    pub fn for_peer(addr: IpAddr) -> Identities {
        Identities {
            ids: vec![Id {
                scheme: "ip".into(),
                id: addr.to_string(),
            }],
            is_super: false,
        }
    }

    /// Adds an identity unless present.
    pub fn add(&mut self, id: Id) {
        if !self.ids.contains(&id) {
            self.ids.push(id);
        }
    }

    /// Whether the ACL grants `perm` to these identities.
    pub fn allows(&self, acl: &[Acl], perm: i32) -> bool {
        if self.is_super || acl.is_empty() {
            return true;
        }
        acl.iter().filter(|a| a.perms & perm != 0).any(|a| {
            let (scheme, id) = (a.id.scheme.as_str(), a.id.id.as_str());
            match scheme {
                "world" => id == "anyone",
                "ip" => self
                    .ids
                    .iter()
                    .filter(|i| i.scheme == "ip")
                    .any(|i| ip_matches(id, &i.id)),
                _ => self.ids.iter().any(|i| i.scheme == scheme && i.id == id),
            }
        })
    }

    /// Checks a permission, giving ZooKeeper's NOAUTH.
    ///
    /// # Errors
    /// [`ErrorCode::NO_AUTH`].
    pub fn check(&self, acl: &[Acl], perm: i32) -> Result<(), ErrorCode> {
        if self.allows(acl, perm) {
            Ok(())
        } else {
            Err(ErrorCode::NO_AUTH)
        }
    }
}

/// Whether `addr` falls in the ACL's `ip` pattern (`a.b.c.d` or `a.b.c.d/bits`).
fn ip_matches(pattern: &str, addr: &str) -> bool {
    let (net, bits) = match pattern.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (pattern, None),
    };
    let (Ok(net), Ok(addr)) = (net.parse::<IpAddr>(), addr.parse::<IpAddr>()) else {
        return false;
    };
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

fn valid_ip_pattern(p: &str) -> bool {
    let (net, bits) = match p.split_once('/') {
        Some((n, b)) => (n, Some(b)),
        None => (p, None),
    };
    let Ok(ip) = net.parse::<IpAddr>() else {
        return false;
    };
    match bits {
        None => true,
        Some(b) => b
            .parse::<u32>()
            .is_ok_and(|b| b <= if ip.is_ipv4() { 32 } else { 128 }),
    }
}

/// Validates an ACL from a create or setACL and expands `auth` entries into the
/// connection's authenticated identities, as ZooKeeper's `fixupACL` does.
///
/// # Errors
/// [`ErrorCode::INVALID_ACL`] for an empty list, an unknown scheme, a malformed id, or an
/// `auth` entry on a connection with no authenticated identity.
pub fn fixup(acl: &[Acl], who: &Identities) -> Result<Vec<Acl>, ErrorCode> {
    if acl.is_empty() {
        return Err(ErrorCode::INVALID_ACL);
    }
    let mut out: Vec<Acl> = Vec::with_capacity(acl.len());
    let mut push = |a: Acl| {
        if !out.contains(&a) {
            out.push(a);
        }
    };
    for a in acl {
        let (scheme, id) = (a.id.scheme.as_str(), a.id.id.as_str());
        match scheme {
            "world" if id == "anyone" => push(a.clone()),
            "auth" => {
                let mut any = false;
                for i in who.ids.iter().filter(|i| i.scheme != "ip") {
                    any = true;
                    push(Acl {
                        perms: a.perms,
                        id: i.clone(),
                    });
                }
                if !any {
                    return Err(ErrorCode::INVALID_ACL);
                }
            }
            "digest" if id.split(':').count() == 2 => push(a.clone()),
            "ip" if valid_ip_pattern(id) => push(a.clone()),
            "x509" | "sasl" | "super" if !id.is_empty() => push(a.clone()),
            _ => return Err(ErrorCode::INVALID_ACL),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warren_proto::consts::perms;

    #[test]
    fn digest_matches_zookeeper() {
        // base64(sha1("super:super")), as DigestAuthenticationProvider computes it.
        assert_eq!(
            digest_id("super:super"),
            "super:gG7s8t3oDEtIqF6DM9LlI/R+9Ss="
        );
    }

    #[test]
    fn checks_world_digest_and_ip() {
        let mut who = Identities::for_peer("10.1.2.3".parse().unwrap());
        let acl = vec![Acl::new(perms::READ, "digest", "bob:xyz")];
        assert!(!who.allows(&acl, perms::READ));
        who.add(Id {
            scheme: "digest".into(),
            id: "bob:xyz".into(),
        });
        assert!(who.allows(&acl, perms::READ));
        assert!(!who.allows(&acl, perms::WRITE));
        assert!(who.allows(&[Acl::new(perms::ALL, "ip", "10.1.0.0/16")], perms::ADMIN));
        assert!(!who.allows(&[Acl::new(perms::ALL, "ip", "10.2.0.0/16")], perms::ADMIN));
    }

    #[test]
    fn fixup_rejects_what_zookeeper_rejects() {
        let anon = Identities::for_peer("127.0.0.1".parse().unwrap());
        assert_eq!(fixup(&[], &anon), Err(ErrorCode::INVALID_ACL));
        assert_eq!(
            fixup(&[Acl::new(31, "auth", "")], &anon),
            Err(ErrorCode::INVALID_ACL)
        );
        assert_eq!(
            fixup(&[Acl::new(31, "world", "someone")], &anon),
            Err(ErrorCode::INVALID_ACL)
        );
        assert_eq!(
            fixup(&[Acl::new(31, "ip", "999.1.1.1")], &anon),
            Err(ErrorCode::INVALID_ACL)
        );
        assert!(fixup(&Acl::open_unsafe(), &anon).is_ok());
    }
}
