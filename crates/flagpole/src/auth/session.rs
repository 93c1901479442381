//! Sign-in sessions for people (the web UI, or scripts that sign in with a password).
//!
//! - A session id is 256 random bits, sent only in the `flagpole-session` cookie (`HttpOnly`,
//!   `SameSite=Lax`, `Path=/`, `Secure` when the request came over TLS). The database keeps only
//!   its SHA-256 (`user_session`), so every replica accepts it and a copy of the table opens
//!   nothing. Sessions end after `SESSION_IDLE_TIMEOUT_SECONDS` without a request, after
//!   `SESSION_MAX_AGE_SECONDS` in any case, on logout, and when the user's password changes or
//!   the user is deleted.
//! - CSRF: a state-changing request authenticated by the cookie must carry the session's CSRF
//!   token, in the `X-CSRF-Token` header (the Admin API; checked by `AdminAuth`) or in a form
//!   field `_csrf` (HTML forms: call `Session::verify_csrf`). The token is derived from the
//!   session id (SHA-256 with a domain label), so it is bound to the session and needs no storage.
//! - Sign-in attempts are limited per username and per client address (`LoginLimiter`).
//!
//! For HTML handlers: take `Session` (401 without one) or `Option<Session>` as an extractor; use
//! `sign_in` / `sign_out` and put the returned `Set-Cookie` value on the response.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts};
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::password;
use super::token::digests_match;
use crate::app::AppState;
use crate::domain::model::User;
use crate::domain::users;
use crate::error::{ApiError, ApiResult};

pub const COOKIE_NAME: &str = "flagpole-session";
/// The header that carries the CSRF token on Admin API requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field that carries the CSRF token on HTML form posts.
pub const CSRF_FIELD: &str = "_csrf";

/// Failed sign-ins allowed per username and per client address within `LOGIN_WINDOW`.
pub const LOGIN_MAX_FAILURES: usize = 10;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);

/// How sessions behave; from the serve options.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub idle_timeout: Duration,
    pub max_age: Duration,
    /// Always mark the cookie `Secure` (Flagpole is served over HTTPS by a proxy).
    pub secure_cookies: bool,
    /// Believe `X-Forwarded-Proto` and `X-Forwarded-For` (Flagpole is behind a trusted proxy).
    pub trust_proxy: bool,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            idle_timeout: Duration::from_secs(8 * 3600),
            max_age: Duration::from_secs(48 * 3600),
            secure_cookies: false,
            trust_proxy: false,
        }
    }
}

/// Session settings and the sign-in limiter of this process.
#[derive(Debug, Default)]
pub struct Sessions {
    pub settings: SessionSettings,
    pub limiter: LoginLimiter,
}

/// A session id as found in a cookie. Never printed.
#[derive(Clone)]
struct SessionId(String);

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

impl SessionId {
    fn generate() -> SessionId {
        let mut random = [0u8; 32];
        rand::rng().fill_bytes(&mut random);
        SessionId(hex::encode(random))
    }

    /// What the database stores.
    fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    fn csrf_token(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"flagpole csrf token\0");
        hasher.update(self.0.as_bytes());
        hex::encode(hasher.finalize())
    }
}

/// A signed-in user's live session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: Arc<User>,
    id: SessionId,
}

impl Session {
    /// The token state-changing requests of this session must carry (`X-CSRF-Token` header or
    /// `_csrf` form field). Put it in every form an HTML page renders.
    pub fn csrf_token(&self) -> String {
        self.id.csrf_token()
    }

    /// Checks a presented CSRF token (from a form's `_csrf` field, or the header); 403 if wrong.
    pub fn verify_csrf(&self, presented: Option<&str>) -> ApiResult<()> {
        match presented {
            Some(token) if digests_match(token.trim(), &self.csrf_token()) => Ok(()),
            _ => Err(ApiError::Forbidden(
                "This request was authenticated by a session cookie and changes something, so it \
                 needs the session's CSRF token in the X-CSRF-Token header (or the _csrf form \
                 field). API tokens in the Authorization header need none."
                    .into(),
            )),
        }
    }

    /// Checks the `X-CSRF-Token` header.
    pub fn verify_csrf_header(&self, headers: &HeaderMap) -> ApiResult<()> {
        self.verify_csrf(headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
    }
}

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The session id in the request's cookies, if any.
fn session_cookie(headers: &HeaderMap) -> Option<SessionId> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| SessionId(value.trim().to_owned()))
        .filter(|id| !id.0.is_empty())
}

/// Whether the request carries a session cookie at all (valid or not).
pub fn has_session_cookie(headers: &HeaderMap) -> bool {
    session_cookie(headers).is_some()
}

/// The live session of the request, if it has one. Expired sessions are removed.
pub async fn current(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<Session>> {
    let Some(id) = session_cookie(headers) else {
        return Ok(None);
    };
    let settings = &state.sessions.settings;
    let store = &state.core.store;
    let digest = id.digest();
    let Some(row) = store.find_session(&digest).await? else {
        return Ok(None);
    };
    let now = now_millis();
    let idle = millis(settings.idle_timeout);
    if now >= row.expires_at || now - row.updated_at >= idle {
        store.delete_session(&digest).await?;
        return Ok(None);
    }
    let mut user = state
        .core
        .snapshot
        .current()
        .users
        .get(&row.user_id)
        .cloned();
    if user.is_none() {
        // The user may have been created on another replica a moment ago.
        user = state.core.fresh().await?.users.get(&row.user_id).cloned();
    }
    let Some(user) = user else {
        store.delete_session(&digest).await?;
        return Ok(None);
    };
    // Activity is recorded at a fraction of the idle timeout, not on every request.
    if now - row.updated_at >= (idle / 4).min(60_000) {
        store.touch_session(&digest, now).await?;
    }
    Ok(Some(Session {
        user: user.value,
        id,
    }))
}

/// The `Set-Cookie` value that carries a session.
fn session_cookie_header(
    id: &SessionId,
    max_age: Duration,
    secure: bool,
) -> ApiResult<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        id.0,
        max_age.as_secs()
    ))
    .map_err(|error| ApiError::Internal(error.into()))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clearing_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("flagpole-session=; Path=/; Max-Age=0"))
}

/// Whether the request reached us over TLS: always with `secure_cookies`, else when a trusted
/// proxy says so in `X-Forwarded-Proto`.
pub fn is_secure(settings: &SessionSettings, headers: &HeaderMap) -> bool {
    settings.secure_cookies
        || (settings.trust_proxy
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https")))
}

/// The client's address: the connection's peer, or with a trusted proxy the address it reports
/// last in `X-Forwarded-For` (the one the proxy itself saw).
pub fn client_ip(settings: &SessionSettings, parts: &Parts) -> IpAddr {
    let forwarded = settings
        .trust_proxy
        .then(|| parts.headers.get("x-forwarded-for")?.to_str().ok())
        .flatten()
        .and_then(|list| list.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok());
    forwarded
        .or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip())
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// A successful sign-in: the user, the `Set-Cookie` value and the session's CSRF token.
pub struct SignedIn {
    pub user: Arc<User>,
    pub set_cookie: HeaderValue,
    pub csrf_token: String,
}

/// Checks a username (or email) and password and opens a session. Every failure gives the same
/// answer and takes about as long (an unknown user still costs one argon2 verification); too
/// many failures for the username or the client address give 429.
pub async fn sign_in(
    state: &AppState,
    parts: &Parts,
    login: &str,
    password: String,
) -> ApiResult<SignedIn> {
    let sessions = &state.sessions;
    let ip = client_ip(&sessions.settings, parts);
    let keys = [
        format!("user:{}", login.trim().to_lowercase()),
        format!("ip:{ip}"),
    ];
    sessions.limiter.check(&keys)?;
    let snapshot = state.core.fresh().await?;
    let user = users::find_by_login(&snapshot, login).map(|u| Arc::clone(&u.value));
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    if !password::verify(password, hash).await {
        sessions.limiter.record_failure(&keys);
        return Err(ApiError::InvalidCredentials);
    }
    let Some(user) = user else {
        return Err(ApiError::InvalidCredentials);
    };
    sessions.limiter.clear(&keys[0]);
    let id = SessionId::generate();
    let now = now_millis();
    let max_age = sessions.settings.max_age;
    let store = &state.core.store;
    // Sign-ins are rare, so this is where sessions nobody can use any more are swept.
    store
        .delete_expired_sessions(now, now - millis(sessions.settings.idle_timeout))
        .await?;
    store
        .insert_session(&id.digest(), user.id, now, now + millis(max_age))
        .await?;
    Ok(SignedIn {
        user,
        set_cookie: session_cookie_header(
            &id,
            max_age,
            is_secure(&sessions.settings, &parts.headers),
        )?,
        csrf_token: id.csrf_token(),
    })
}

/// Ends the session (if any) and returns the `Set-Cookie` value that removes the cookie.
pub async fn sign_out(
    state: &AppState,
    session: Option<&Session>,
    headers: &HeaderMap,
) -> ApiResult<HeaderValue> {
    if let Some(session) = session {
        state
            .core
            .store
            .delete_session(&session.id.digest())
            .await?;
    }
    Ok(clearing_cookie(is_secure(
        &state.sessions.settings,
        headers,
    )))
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        current(state, &parts.headers)
            .await?
            .ok_or(ApiError::AuthenticationRequired)
    }
}

impl OptionalFromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        current(state, &parts.headers).await
    }
}

/// Counts failed sign-ins per key (username, client address) in a sliding window, in memory:
/// each process counts its own, so with N replicas behind a load balancer an attacker gets at
/// most N times the limit.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Keys tracked before old ones are swept.
const MAX_TRACKED_KEYS: usize = 100_000;

impl LoginLimiter {
    /// 429 with the seconds to wait when any key has reached the limit.
    pub fn check(&self, keys: &[String]) -> ApiResult<()> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let mut wait = Duration::ZERO;
        for key in keys {
            if let Some(times) = failures.get_mut(key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= LOGIN_WINDOW)
                {
                    times.pop_front();
                }
                if times.len() >= LOGIN_MAX_FAILURES {
                    if let Some(oldest) = times.front() {
                        wait = wait.max(LOGIN_WINDOW.saturating_sub(now.duration_since(*oldest)));
                    }
                }
            }
        }
        if wait > Duration::ZERO {
            return Err(ApiError::TooManyRequests {
                retry_after_seconds: wait.as_secs().max(1),
            });
        }
        Ok(())
    }

    pub fn record_failure(&self, keys: &[String]) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if failures.len() >= MAX_TRACKED_KEYS {
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < LOGIN_WINDOW)
            });
        }
        for key in keys {
            let times = failures.entry(key.clone()).or_default();
            times.push_back(now);
            while times.len() > LOGIN_MAX_FAILURES {
                times.pop_front();
            }
        }
    }

    pub fn clear(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_blocks_after_ten_failures_per_key() {
        let limiter = LoginLimiter::default();
        let keys = ["user:alice".to_string(), "ip:127.0.0.1".to_string()];
        for _ in 0..LOGIN_MAX_FAILURES {
            assert!(limiter.check(&keys).is_ok());
            limiter.record_failure(&keys);
        }
        let Err(ApiError::TooManyRequests {
            retry_after_seconds,
        }) = limiter.check(&keys)
        else {
            panic!("expected 429");
        };
        assert!(retry_after_seconds > 14 * 60 && retry_after_seconds <= 15 * 60);
        // The address alone is enough to block another username.
        assert!(limiter
            .check(&["user:bob".to_string(), "ip:127.0.0.1".to_string()])
            .is_err());
        assert!(limiter
            .check(&["user:bob".to_string(), "ip:10.0.0.1".to_string()])
            .is_ok());
    }

    #[test]
    fn session_ids_and_csrf_tokens_never_print_and_differ() {
        let id = SessionId::generate();
        assert_eq!(id.0.len(), 64);
        assert!(!format!("{id:?}").contains(&id.0));
        assert_ne!(id.digest(), id.csrf_token());
        assert_ne!(id.csrf_token(), SessionId::generate().csrf_token());
    }

    #[test]
    fn cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=b; flagpole-session=abc; c=d"),
        );
        assert_eq!(session_cookie(&headers).unwrap().0, "abc");
    }
}
