//! Who is calling. Extractors per API surface turn the `Authorization` header (or, on the Admin
//! API, a session cookie) into a caller, or reject the request with the matching `ApiError`
//! (401 unknown, 403 wrong kind, role too low or CSRF token missing).

pub mod password;
pub mod policy;
pub mod session;
pub mod token;

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

use crate::app::AppState;
use crate::domain::model::User;
use crate::domain::{pats, users};
use crate::error::{ApiError, ApiResult};
use policy::{Access, Role};
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
fn presented_secret(request: &HeaderMap, headers: SecretHeaders) -> Result<Secret, ApiError> {
    let header = request
        .get(AUTHORIZATION)
        .or_else(|| {
            (headers == SecretHeaders::AuthorizationOrApiKey)
                .then(|| request.get("x-api-key"))
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
    authenticate_with_digest(state, &parts.headers, SecretHeaders::Authorization)
        .map(|(_, token)| token)
}

/// The live API token for the presented secret and the digest it is stored under, or 401
/// (403 for a personal access token, which only opens the Admin API).
fn authenticate_with_digest(
    state: &AppState,
    request: &HeaderMap,
    headers: SecretHeaders,
) -> Result<(String, Arc<ApiToken>), ApiError> {
    let secret = presented_secret(request, headers)?;
    let digest = secret.digest();
    let snapshot = state.core.snapshot.current();
    let Some((stored_digest, token)) = snapshot.tokens.get_key_value(&digest) else {
        if live_pat(state, &secret).is_some() {
            return Err(ApiError::WrongTokenType);
        }
        return Err(ApiError::Unauthorized);
    };
    if !digests_match(&digest, stored_digest) || token.value.is_expired(chrono::Utc::now()) {
        return Err(ApiError::Unauthorized);
    }
    Ok((digest, Arc::clone(&token.value)))
}

/// The user of a live (known, unexpired) personal access token, from the snapshot alone.
fn live_pat(state: &AppState, secret: &Secret) -> Option<Arc<User>> {
    if !pats::looks_like_pat(secret) {
        return None;
    }
    let digest = secret.digest();
    let snapshot = state.core.snapshot.current();
    let (stored_digest, id) = snapshot.pat_ids.get_key_value(&digest)?;
    let pat = snapshot.pats.get(id)?;
    if !digests_match(&digest, stored_digest) || pat.value.is_expired(chrono::Utc::now()) {
        return None;
    }
    snapshot
        .users
        .get(&pat.value.user_id)
        .map(|user| Arc::clone(&user.value))
}

/// How an Admin API caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// An admin API token: acts as Admin, with no user account.
    ApiToken,
    /// A user's personal access token in the `Authorization` header.
    PersonalAccessToken,
    /// A sign-in session cookie.
    Session,
}

/// A caller allowed to use the Admin API route it called. Extracting it is the one place where
/// authentication, the CSRF check for sessions and the role policy (`policy::required_access`
/// for the matched route and method) are applied; a handler that takes it runs only if all pass.
#[derive(Debug, Clone)]
pub struct AdminAuth {
    /// Who the audit log names: the token's name, or the user's username (else email).
    pub actor: Actor,
    pub role: Role,
    /// The signed-in user (PATs and sessions); `None` for admin API tokens.
    pub user: Option<Arc<User>>,
    pub credential: Credential,
    /// The sign-in session, when the caller used one.
    pub session: Option<session::Session>,
}

impl AdminAuth {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// 403 unless the caller's role grants `access`; for checks that depend on more than the
    /// route, such as the type of the API token being created.
    pub fn require(&self, access: Access) -> ApiResult<()> {
        if self.role.permits(access) {
            Ok(())
        } else {
            Err(forbidden_for(self.role, access))
        }
    }

    /// The caller's own user account; 403 for API tokens, which have none.
    pub fn user(&self) -> ApiResult<&Arc<User>> {
        self.user.as_ref().ok_or_else(no_account)
    }
}

fn no_account() -> ApiError {
    ApiError::NoAccount(
        "API tokens have no user account. Sign in, or use a personal access token.".into(),
    )
}

fn forbidden_for(role: Role, access: Access) -> ApiError {
    let needed = match access {
        Access::Admin => "the Admin role",
        Access::Edit | Access::ReadTokens => "the Editor or Admin role",
        Access::Read | Access::OwnAccount => "a role",
    };
    ApiError::Forbidden(format!(
        "You need {needed} to do this; you have the {role} role."
    ))
}

/// Who is calling, before the route is considered: a header credential wins over a cookie.
async fn admin_caller(state: &AppState, parts: &Parts) -> Result<AdminAuth, ApiError> {
    if parts.headers.contains_key(AUTHORIZATION) || !session::has_session_cookie(&parts.headers) {
        let secret = presented_secret(&parts.headers, SecretHeaders::Authorization)?;
        if let Some(user) = live_pat(state, &secret) {
            return Ok(AdminAuth {
                actor: users::actor(&user),
                role: user.root_role,
                user: Some(user),
                credential: Credential::PersonalAccessToken,
                session: None,
            });
        }
        let (_, token) =
            authenticate_with_digest(state, &parts.headers, SecretHeaders::Authorization)?;
        if token.token_type != TokenType::Admin {
            return Err(ApiError::WrongTokenType);
        }
        return Ok(AdminAuth {
            actor: Actor {
                name: token.token_name.clone(),
                user_id: API_TOKEN_USER_ID,
            },
            role: Role::Admin,
            user: None,
            credential: Credential::ApiToken,
            session: None,
        });
    }
    let session = session::current(state, &parts.headers)
        .await?
        .ok_or(ApiError::AuthenticationRequired)?;
    if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        session.verify_csrf_header(&parts.headers)?;
    }
    Ok(AdminAuth {
        actor: users::actor(&session.user),
        role: session.user.root_role,
        user: Some(Arc::clone(&session.user)),
        credential: Credential::Session,
        session: Some(session),
    })
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = admin_caller(state, parts).await?;
        // Without a matched route nothing is known about it, so only an Admin may go on.
        let path = parts
            .extensions
            .get::<MatchedPath>()
            .map(MatchedPath::as_str)
            .unwrap_or_default();
        let access = policy::required_access(&parts.method, path);
        if access == Access::OwnAccount {
            // Reading who you are works for every caller; the rest needs an account.
            let whoami = parts.method == Method::GET && path == "/api/admin/user";
            if caller.user.is_none() && !whoami {
                // Unleash refuses a token's profile and password change as bad input, and
                // personal tokens as forbidden.
                let own_details = matches!(
                    path,
                    "/api/admin/user/profile" | "/api/admin/user/change-password"
                );
                return Err(if own_details {
                    ApiError::bad_data(no_account().to_string())
                } else {
                    no_account()
                });
            }
            return Ok(caller);
        }
        caller.require(access)?;
        Ok(caller)
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
    request: &HeaderMap,
    headers: SecretHeaders,
) -> Result<(String, Arc<ApiToken>), ApiError> {
    authenticate_with_digest(state, request, headers).map_err(|error| match error {
        ApiError::AuthenticationRequired | ApiError::Unauthorized => ApiError::SdkUnauthorized,
        other => other,
    })
}

impl ClientAuth {
    /// The client token presented in these request headers, checked as the extractor checks it.
    pub fn from_headers(state: &AppState, headers: &HeaderMap) -> Result<ClientAuth, ApiError> {
        let (digest, token) = authenticate_sdk(state, headers, SecretHeaders::Authorization)?;
        // Least privilege, as in Unleash 8: only client tokens read the Client API.
        if token.token_type != TokenType::Client {
            return Err(ApiError::WrongTokenType);
        }
        Ok(ClientAuth { token, digest })
    }
}

impl FromRequestParts<AppState> for ClientAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        ClientAuth::from_headers(state, &parts.headers)
    }
}

/// A caller allowed to use the Frontend API (browser and mobile SDKs).
#[derive(Debug, Clone)]
pub struct FrontendAuth {
    pub token: Arc<ApiToken>,
}

impl FrontendAuth {
    /// The frontend token presented in these request headers, checked as the extractor checks it.
    pub fn from_headers(state: &AppState, headers: &HeaderMap) -> Result<FrontendAuth, ApiError> {
        let (_, token) = authenticate_sdk(state, headers, SecretHeaders::Authorization)?;
        if token.token_type != TokenType::Frontend {
            return Err(ApiError::WrongTokenType);
        }
        Ok(FrontendAuth { token })
    }
}

impl FromRequestParts<AppState> for FrontendAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        FrontendAuth::from_headers(state, &parts.headers)
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
        let (_, token) =
            authenticate_sdk(state, &parts.headers, SecretHeaders::AuthorizationOrApiKey)?;
        if !matches!(token.token_type, TokenType::Client | TokenType::Frontend) {
            return Err(ApiError::WrongTokenType);
        }
        Ok(OfrepAuth { token })
    }
}
