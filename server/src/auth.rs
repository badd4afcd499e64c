//! The `auth` packet: what an authentication adds to a connection's identities. (SASL is
//! in `sasl`, ACL checks in `acl`.)

use std::sync::Arc;

use parking_lot::Mutex;
use warren_proto::{ErrorCode, Id};

use crate::acl::{digest_id, Identities};
use crate::state::Shared;

/// Handles an `auth` packet: digest adds `digest:user:hash`, and the superDigest user
/// becomes super; ip is implicit. Anything else fails.
pub fn authenticate(
    shared: &Shared,
    who: &Mutex<Arc<Identities>>,
    scheme: &str,
    auth: &[u8],
) -> ErrorCode {
    let mut g = who.lock();
    let mut ids = (**g).clone();
    match scheme {
        "digest" => {
            let Ok(cred) = std::str::from_utf8(auth) else {
                return ErrorCode::AUTH_FAILED;
            };
            let id = digest_id(cred);
            if shared.config.super_digest.as_deref() == Some(id.as_str()) {
                ids.is_super = true;
                ids.add(Id {
                    scheme: "super".into(),
                    id: id.split(':').next().unwrap_or_default().to_owned(),
                });
            }
            ids.add(Id {
                scheme: "digest".into(),
                id,
            });
        }
        "ip" => {}
        _ => return ErrorCode::AUTH_FAILED,
    }
    *g = Arc::new(ids);
    ErrorCode::OK
}
