//! Signatures of call-outs as the Standard Webhooks scheme defines them: HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`, sent as `v1,<base64>` in `webhook-signature`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix of signing secrets.
pub const SECRET_PREFIX: &str = "whsec_";

/// Returns a new secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// Returns a new message id, the `webhook-id` of all attempts of one delivery.
pub fn new_message_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("msg_{}", hex::encode(bytes))
}

/// Returns the key of `secret`, with or without its `whsec_` prefix, or `None` when it is not
/// base64 or is empty.
fn key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    STANDARD.decode(encoded).ok().filter(|key| !key.is_empty())
}

/// Returns the signature `v1,<base64>` of a call-out, or `None` for an unusable secret.
pub fn sign(secret: &str, message_id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)?).ok()?;
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_secrets_sign_nothing() {
        for secret in ["", "whsec_", "whsec_not base64!"] {
            assert_eq!(sign(secret, "msg_1", 1, b""), None, "secret {secret:?}");
        }
    }

    #[test]
    fn new_secrets_sign() {
        let secret = new_secret();
        assert!(secret.starts_with("whsec_"));
        assert!(sign(&secret, "msg_1", 1, b"").is_some());
        assert_ne!(new_secret(), secret);
    }
}
