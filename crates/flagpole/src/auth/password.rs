//! Passwords: the policy, argon2id hashing and verification (run off the async runtime), and
//! generated passwords. A password never leaves this module except as its hash, and a hash never
//! prints (`PasswordHash`'s `Debug` is redacted).

use std::fmt;
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 10;
/// Longest password accepted (argon2 pre-hashes any length, but a bound keeps bodies sane).
pub const MAX_LENGTH: usize = 128;

/// An argon2id hash in PHC string form (`$argon2id$v=19$m=…`), salt and parameters included.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// argon2id with OWASP's recommended minimum: 19 MiB of memory, 2 passes, 1 lane.
fn hasher() -> ApiResult<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("argon2 parameters: {error}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Well-known default passwords, refused even though they meet the rest of the policy.
const KNOWN_DEFAULTS: &[&str] = &["unleash4all", "password123", "changeme123", "admin12345"];

/// Checks the password policy, which is Unleash's (OWASP's) so that a password one server
/// takes the other takes too: 10 to 128 characters with a lowercase letter, an uppercase letter,
/// a digit and another character, no character three times in a row; also not the user's own
/// name, and not a well-known default password. Every rule broken is reported.
pub fn check_policy(password: &str, names: &[&str]) -> ApiResult<()> {
    let length = password.chars().count();
    let chars: Vec<char> = password.chars().collect();
    let mut broken = Vec::new();
    if length < MIN_LENGTH {
        broken.push(format!(
            "The password must be at least {MIN_LENGTH} characters long."
        ));
    }
    if length > MAX_LENGTH {
        broken.push(format!(
            "The password must be at most {MAX_LENGTH} characters long."
        ));
    }
    if chars.windows(3).any(|w| w[0] == w[1] && w[1] == w[2]) {
        broken.push("The password must not repeat a character three times in a row.".into());
    }
    let classes = [
        (char::is_lowercase as fn(char) -> bool, "a lowercase letter"),
        (char::is_uppercase, "an uppercase letter"),
        (|c: char| c.is_ascii_digit(), "a digit"),
        (
            |c: char| !c.is_alphanumeric(),
            "a character other than a letter or digit",
        ),
    ];
    for (present, kind) in classes {
        if !chars.iter().any(|c| present(*c)) {
            broken.push(format!("The password must contain {kind}."));
        }
    }
    if names
        .iter()
        .any(|name| !name.is_empty() && password.eq_ignore_ascii_case(name))
    {
        broken.push("The password must not be the username or email address.".into());
    }
    if KNOWN_DEFAULTS
        .iter()
        .any(|known| password.eq_ignore_ascii_case(known))
    {
        broken.push("The password is a well-known default; choose another.".into());
    }
    if broken.is_empty() {
        Ok(())
    } else {
        Err(ApiError::WeakPassword(broken))
    }
}

/// Hashes a password with a fresh random salt. Runs on the blocking pool: argon2 is slow on
/// purpose.
pub async fn hash(password: String) -> ApiResult<PasswordHash> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
}

fn hash_blocking(password: &str) -> ApiResult<PasswordHash> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("salt: {error}")))?;
    let hash = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("hashing a password: {error}")))?;
    Ok(PasswordHash(hash.to_string()))
}

/// Whether `password` matches `hash`. Without a hash (no such user, or a user without a
/// password) a dummy hash is checked instead, so that the answer takes as long either way and
/// timing does not tell which usernames exist.
pub async fn verify(password: String, hash: Option<PasswordHash>) -> bool {
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_blocking(&password, &hash.0),
        None => {
            let _ = verify_blocking(&password, dummy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

fn verify_blocking(password: &str, phc: &str) -> bool {
    let Ok(parsed) = argon2::password_hash::PasswordHash::new(phc) else {
        return false;
    };
    // The parameters come from the stored string, so hashes made with older parameters verify.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A hash of a random password, made once, with the current parameters.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking(&generate())
            .map(|hash| hash.0)
            .unwrap_or_default()
    })
}

/// A random password that meets the policy: 20 characters of letters, digits and a few marks
/// (~120 bits).
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!";
    let mut rng = rand::rng();
    loop {
        let password: String = (0..20)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        if check_policy(&password, &[]).is_ok() {
            return password;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert!(check_policy("short1A", &[]).is_err());
        assert!(check_policy("alllowercaseletters", &[]).is_err());
        assert!(check_policy("1234567890123", &[]).is_err());
        assert!(check_policy("lowercase and spaces", &[]).is_err());
        assert!(check_policy("Correct-Horse-1", &[]).is_ok());
        assert!(check_policy("Correct-Hooorse-1", &[]).is_err(), "ooo");
        assert!(check_policy("Alice12345", &["alice12345"]).is_err());
        assert!(check_policy("unleash4all", &[]).is_err());
        let Err(ApiError::WeakPassword(broken)) = check_policy("short", &[]) else {
            panic!("refused with every rule broken");
        };
        assert_eq!(broken.len(), 4, "{broken:?}");
        assert!(check_policy(&"aB".repeat(65), &[]).is_err());
        for _ in 0..20 {
            assert!(check_policy(&generate(), &[]).is_ok());
        }
    }

    #[tokio::test]
    async fn hashes_are_salted_argon2id_and_verify() {
        let first = hash("Correct-Horse".into()).await.unwrap();
        let second = hash("Correct-Horse".into()).await.unwrap();
        assert_ne!(first, second, "a fresh salt each time");
        assert!(first.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("Correct-Horse".into(), Some(first.clone())).await);
        assert!(!verify("correct-horse".into(), Some(first.clone())).await);
        assert!(!verify("Correct-Horse".into(), None).await);
        assert!(!format!("{first:?}").contains("argon2"));
    }
}
