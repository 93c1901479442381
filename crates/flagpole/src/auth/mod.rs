//! Who is calling. Extractors per API surface turn the `Authorization` header into an `Actor`
//! or reject the request with the matching `ApiError` (401 unknown, 403 wrong kind).

pub mod token;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::app::AppState;
use crate::error::ApiError;
use token::{digests_match, ApiToken, Secret, TokenType};

/// Who made a change, as written into the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub user_id: i64,
}

impl Actor {
    /// Changes made by Flagpole itself (start-up tokens, migrations).
    pub fn system() -> Actor {
        Actor {
            name: "flagpole".into(),
            user_id: -1337,
        }
    }
}

/// Unleash attributes API-token changes to this pseudo user id; scripts may filter on it.
pub const API_TOKEN_USER_ID: i64 = -42;

/// Where a secret may be presented. `X-API-Key` is read only by the OFREP endpoints, whose
/// specification names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SecretHeaders {
    Authorization,
    AuthorizationOrApiKey,
}

/// Reads the secret from `Authorization: <secret>` or `Authorization: Bearer <secret>` (or, where
/// allowed, `X-API-Key: <secret>` when there is no `Authorization` header).
fn presented_secret(parts: &Parts, headers: SecretHeaders) -> Result<Secret, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .or_else(|| {
            (headers == SecretHeaders::AuthorizationOrApiKey)
                .then(|| parts.headers.get("x-api-key"))
                .flatten()
        })
        .ok_or(ApiError::AuthenticationRequired)?;
    let value = header.to_str().map_err(|_| ApiError::Unauthorized)?.trim();
    let value = match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => value[7..].trim(),
        _ => value,
    };
    if value.is_empty() {
        return Err(ApiError::AuthenticationRequired);
    }
    Ok(Secret::new(value))
}

/// Finds the live token for the presented secret, or 401.
pub fn authenticate(state: &AppState, parts: &Parts) -> Result<Arc<ApiToken>, ApiError> {
    authenticate_with_digest(state, parts, SecretHeaders::Authorization).map(|(_, token)| token)
}

/// The live token for the presented secret and the digest it is stored under, or 401.
fn authenticate_with_digest(
    state: &AppState,
    parts: &Parts,
    headers: SecretHeaders,
) -> Result<(String, Arc<ApiToken>), ApiError> {
    let secret = presented_secret(parts, headers)?;
    let digest = secret.digest();
    let snapshot = state.core.snapshot.current();
    let (stored_digest, token) = snapshot
        .tokens
        .get_key_value(&digest)
        .ok_or(ApiError::Unauthorized)?;
    if !digests_match(&digest, stored_digest) || token.value.is_expired(chrono::Utc::now()) {
        return Err(ApiError::Unauthorized);
    }
    Ok((digest, Arc::clone(&token.value)))
}

/// A caller allowed to use the Admin API.
#[derive(Debug, Clone)]
pub struct AdminAuth {
    pub actor: Actor,
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = authenticate(state, parts)?;
        if token.token_type != TokenType::Admin {
            return Err(ApiError::WrongTokenType);
        }
        Ok(AdminAuth {
            actor: Actor {
                name: token.token_name.clone(),
                user_id: API_TOKEN_USER_ID,
            },
        })
    }
}

/// A caller allowed to use the Client API (server-side SDKs).
#[derive(Debug, Clone)]
pub struct ClientAuth {
    pub token: Arc<ApiToken>,
    /// Where the token is stored, so that long-lived streams can see it revoked.
    pub digest: String,
}

/// The SDK APIs answer missing and unknown tokens alike, with Unleash's bare message.
fn authenticate_sdk(
    state: &AppState,
    parts: &Parts,
    headers: SecretHeaders,
) -> Result<(String, Arc<ApiToken>), ApiError> {
    authenticate_with_digest(state, parts, headers).map_err(|error| match error {
        ApiError::AuthenticationRequired | ApiError::Unauthorized => ApiError::SdkUnauthorized,
        other => other,
    })
}

impl FromRequestParts<AppState> for ClientAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (digest, token) = authenticate_sdk(state, parts, SecretHeaders::Authorization)?;
        // Least privilege, as in Unleash 8: only client tokens read the Client API.
        if token.token_type != TokenType::Client {
            return Err(ApiError::WrongTokenType);
        }
        Ok(ClientAuth { token, digest })
    }
}

/// A caller allowed to use the Frontend API (browser and mobile SDKs).
#[derive(Debug, Clone)]
pub struct FrontendAuth {
    pub token: Arc<ApiToken>,
}

impl FromRequestParts<AppState> for FrontendAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (_, token) = authenticate_sdk(state, parts, SecretHeaders::Authorization)?;
        if token.token_type != TokenType::Frontend {
            return Err(ApiError::WrongTokenType);
        }
        Ok(FrontendAuth { token })
    }
}

/// A caller of the OpenFeature remote evaluation endpoints: a client token (server-side
/// providers) or a frontend token (web providers), sent as `Authorization` (with or without
/// `Bearer `) or as `X-API-Key`.
#[derive(Debug, Clone)]
pub struct OfrepAuth {
    pub token: Arc<ApiToken>,
}

impl FromRequestParts<AppState> for OfrepAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (_, token) = authenticate_sdk(state, parts, SecretHeaders::AuthorizationOrApiKey)?;
        if !matches!(token.token_type, TokenType::Client | TokenType::Frontend) {
            return Err(ApiError::WrongTokenType);
        }
        Ok(OfrepAuth { token })
    }
}
