//! Random values, digests and password hashing.
//!
//! Device codes, tokens, client secrets and session ids carry 256 bits from the operating
//! system's random source and are stored only as SHA-256 digests. Passwords are argon2id.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use devauth_protocol::Secret;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of access tokens, so that secret scanners can recognize leaked ones.
pub const ACCESS_TOKEN_PREFIX: &str = "dva_";
/// Prefix of refresh tokens.
pub const REFRESH_TOKEN_PREFIX: &str = "dvr_";
/// Prefix of device codes.
pub const DEVICE_CODE_PREFIX: &str = "dvc_";
/// Prefix of client secrets.
pub const CLIENT_SECRET_PREFIX: &str = "dvs_";

/// Draws a new secret: `prefix` followed by 256 random bits in unpadded base64url.
pub fn random_secret(prefix: &str) -> Secret {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    Secret::new(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Draws a record id: 128 random bits in hex. Ids are not secrets; they go into logs.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Returns the SHA-256 digest of `value`, in hex, as stored.
pub fn digest(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Compares two digests in constant time.
pub fn digests_match(left: &str, right: &str) -> bool {
    left.as_bytes().ct_eq(right.as_bytes()).into()
}

/// Hashes a password with argon2id and a random salt. Slow on purpose: call it off the async
/// runtime's worker threads.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against an argon2id PHC string. A malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_and_distinct() {
        let first = random_secret(ACCESS_TOKEN_PREFIX);
        let second = random_secret(ACCESS_TOKEN_PREFIX);
        assert!(first.expose().starts_with("dva_"));
        assert_eq!(first.expose().len(), 4 + 43);
        assert!(!digests_match(
            &digest(first.expose()),
            &digest(second.expose())
        ));
    }

    #[test]
    fn password_round_trip() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
