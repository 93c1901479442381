//! API tokens: their secret format, how secrets are generated and how they are stored.
//!
//! Secrets look like Unleash's: `<project>:<environment>.<random>`, with `*:*.` for admin tokens
//! and `[]:<environment>.` for tokens scoped to several projects. Only the SHA-256 digest of a
//! secret is stored (the random part has 224 bits, so a digest cannot be reversed), together with
//! a short visible prefix for people to recognise the token by. The full secret is shown once.

use std::fmt;

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Which API surface a token opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Admin,
    Client,
    Frontend,
}

impl TokenType {
    /// Parses a type name as Unleash accepts it; `backend` is the newer name for `client`.
    pub fn parse(name: &str) -> Option<TokenType> {
        match name.to_ascii_lowercase().as_str() {
            "admin" => Some(TokenType::Admin),
            "client" | "backend" => Some(TokenType::Client),
            "frontend" => Some(TokenType::Frontend),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Admin => "admin",
            TokenType::Client => "client",
            TokenType::Frontend => "frontend",
        }
    }
}

/// A stored API token. It never holds the secret itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    pub token_name: String,
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// Project ids, or `["*"]` for every project.
    pub projects: Vec<String>,
    /// An environment name, or `*` (admin tokens only).
    pub environment: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The start of the secret, enough to tell tokens apart: `default:development.4f1c…`.
    pub secret_prefix: String,
    #[serde(default)]
    pub alias: Option<String>,
}

impl ApiToken {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|expires_at| expires_at <= now)
    }

    pub fn all_projects(&self) -> bool {
        self.projects.iter().any(|project| project == "*")
    }

    pub fn allows_project(&self, project: &str) -> bool {
        self.all_projects() || self.projects.iter().any(|p| p == project)
    }

    pub fn allows_environment(&self, environment: &str) -> bool {
        self.environment == "*" || self.environment == environment
    }
}

/// A token secret. Its `Debug` and `Display` never show the value, so it cannot end up in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Hex SHA-256 of the secret: the key it is stored and looked up under.
    pub fn digest(&self) -> String {
        // Encoded into a stack buffer: `hex::encode` goes char by char, and every SDK request
        // computes this.
        let mut hex = [0u8; 64];
        let _ = hex::encode_to_slice(Sha256::digest(self.0.as_bytes()), &mut hex);
        String::from_utf8_lossy(&hex).into_owned()
    }

    /// Generates a fresh secret for the given scope, in Unleash's format.
    pub fn generate(projects: &[String], environment: &str) -> Secret {
        let mut random = [0u8; 28];
        rand::rng().fill_bytes(&mut random);
        Secret(format!(
            "{}:{}.{}",
            project_label(projects),
            environment,
            hex::encode(random)
        ))
    }

    /// The visible part kept for display: the scope and four characters of the random part.
    pub fn display_prefix(&self) -> String {
        match self.0.split_once('.') {
            Some((scope, random)) => {
                let visible: String = random.chars().take(4).collect();
                format!("{scope}.{visible}…")
            }
            None => "…".to_string(),
        }
    }

    /// Splits `project:environment.random` into its scope. `None` if the format is not met.
    pub fn scope(&self) -> Option<(String, String)> {
        let (scope, random) = self.0.split_once('.')?;
        let (project, environment) = scope.split_once(':')?;
        if project.is_empty() || environment.is_empty() || random.is_empty() {
            return None;
        }
        Some((project.to_owned(), environment.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The project part of a secret: `*`, the one project, or `[]` for several.
pub fn project_label(projects: &[String]) -> String {
    match projects {
        [one] => one.clone(),
        _ if projects.iter().any(|p| p == "*") => "*".to_string(),
        _ => "[]".to_string(),
    }
}

/// Compares two digests without leaking, through timing, how much of them matched.
pub fn digests_match(presented: &str, stored: &str) -> bool {
    presented.as_bytes().ct_eq(stored.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_lowercase_hex_sha256() {
        assert_eq!(
            Secret::new("abc").digest(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn generated_secrets_have_unleash_format() {
        let secret = Secret::generate(&["default".into()], "development");
        let (scope, random) = secret.expose().split_once('.').unwrap();
        assert_eq!(scope, "default:development");
        assert_eq!(random.len(), 56);
        assert!(random.chars().all(|c| c.is_ascii_hexdigit()));
        let several = Secret::generate(&["a".into(), "b".into()], "production");
        assert!(several.expose().starts_with("[]:production."));
        let admin = Secret::generate(&["*".into()], "*");
        assert!(admin.expose().starts_with("*:*."));
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("*:*.very-secret");
        assert!(!format!("{secret:?}").contains("very-secret"));
        assert!(!secret.display_prefix().contains("secret"));
    }

    #[test]
    fn backend_is_an_alias_of_client() {
        assert_eq!(TokenType::parse("BACKEND"), Some(TokenType::Client));
        assert_eq!(TokenType::parse("nope"), None);
    }
}
