//! The one HTTP error type. Every handler returns `ApiResult<T>`; this module alone decides how an
//! error looks on the wire (Unleash's `{id, name, message, details}` shape) and which status it has.
//! Internal causes are logged here and never echoed to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::store::StoreError;

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body or parameters are invalid. Each detail names one problem.
    #[error("{message}")]
    BadData {
        message: String,
        details: Vec<String>,
    },
    /// 400: one field of the body is invalid; `path` names it as Unleash does (`/body/name`).
    #[error("{detail}")]
    BadField { path: String, detail: String },
    /// 400: a password the policy refuses; each rule it breaks, as Unleash lists them.
    #[error("{}", .0.first().map(String::as_str).unwrap_or("The password is too weak."))]
    WeakPassword(Vec<String>),
    /// 400: the body is not valid JSON.
    #[error("{0}")]
    MalformedJson(String),
    /// 401: no credentials were sent.
    #[error("authentication required")]
    AuthenticationRequired,
    /// 401: the credentials are unknown, expired or revoked.
    #[error("unauthorized")]
    Unauthorized,
    /// 401 on the SDK APIs, which answer with a bare message as Unleash does.
    #[error("This endpoint requires an API token. Please add an authorization header to your request with a valid token")]
    SdkUnauthorized,
    /// 401: a sign-in with a wrong username or password (deliberately not saying which).
    #[error("The username or password is not correct.")]
    InvalidCredentials,
    /// 429: too many failed sign-ins; try again after this many seconds.
    #[error("Too many failed sign-in attempts. Try again in {retry_after_seconds} seconds.")]
    TooManyRequests { retry_after_seconds: u64 },
    /// 403: valid credentials of a kind that may not use this endpoint.
    #[error("wrong token type")]
    WrongTokenType,
    /// 403: the request is well formed but asks for something that cannot be done (Unleash's
    /// status for, e.g., a dependency on a flag that cannot be a parent).
    #[error("{0}")]
    InvalidOperation(String),
    /// 403: an API token called an endpoint about one's own user account.
    #[error("{0}")]
    NoAccount(String),
    /// 403: the caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 409: the name is taken, or a concurrent change won.
    #[error("{0}")]
    Conflict(String),
    /// 408: the request body did not arrive within the body deadline.
    #[error("The request body did not arrive in time.")]
    RequestTimeout,
    /// 413
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 503: the database cannot be reached; reads may still be served from memory.
    #[error("database unavailable")]
    Unavailable,
    /// 500: logged in full, answered generically.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_data(detail: impl Into<String>) -> Self {
        ApiError::BadData {
            message:
                "Request validation failed: your request body or params contain invalid data. \
                      Refer to the `details` list for more information."
                    .into(),
            details: vec![detail.into()],
        }
    }

    pub fn bad_field(path: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::BadField {
            path: path.into(),
            detail: detail.into(),
        }
    }

    /// The same error, pinned to one field: a one-detail `BadData` becomes a `BadField`.
    pub fn at(self, path: &str) -> Self {
        match self {
            ApiError::BadData { mut details, .. } if details.len() == 1 => ApiError::BadField {
                path: path.into(),
                detail: details.remove(0),
            },
            other => other,
        }
    }

    pub fn invalid_operation(message: impl Into<String>) -> Self {
        ApiError::InvalidOperation(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::NotFound(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::Conflict(message.into())
    }

    /// The message and its details as one line, for the command line.
    pub fn describe(&self) -> String {
        let (message, details) = self.message_and_details();
        if details.is_empty() || details == [message.clone()] {
            message
        } else {
            details.join("; ")
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadData { .. }
            | ApiError::BadField { .. }
            | ApiError::WeakPassword(_)
            | ApiError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            ApiError::AuthenticationRequired
            | ApiError::Unauthorized
            | ApiError::SdkUnauthorized
            | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::WrongTokenType
            | ApiError::Forbidden(_)
            | ApiError::NoAccount(_)
            | ApiError::InvalidOperation(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            ApiError::BadData { .. } | ApiError::BadField { .. } | ApiError::MalformedJson(_) => {
                "BadDataError"
            }
            ApiError::InvalidOperation(_) => "InvalidOperationError",
            ApiError::NoAccount(_) => "ForbiddenError",
            ApiError::WeakPassword(_) => "OwaspValidationError",
            ApiError::AuthenticationRequired => "AuthenticationRequired",
            ApiError::Unauthorized | ApiError::SdkUnauthorized => "UnauthorizedError",
            ApiError::InvalidCredentials => "PasswordMismatch",
            ApiError::TooManyRequests { .. } => "TooManyRequestsError",
            ApiError::WrongTokenType | ApiError::Forbidden(_) => "NoAccessError",
            ApiError::NotFound(_) => "NotFoundError",
            ApiError::Conflict(_) => "NameExistsError",
            ApiError::RequestTimeout => "RequestTimeoutError",
            ApiError::PayloadTooLarge => "ContentTooLargeError",
            ApiError::UnsupportedMediaType(_) => "ContentTypeError",
            ApiError::Unavailable => "ServiceUnavailableError",
            ApiError::Internal(_) => "InternalError",
        }
    }

    fn message_and_details(&self) -> (String, Vec<String>) {
        match self {
            ApiError::BadData { message, details } => (message.clone(), details.clone()),
            ApiError::WeakPassword(broken) => {
                let message = "The password does not meet the password policy.".to_string();
                (message, vec![broken.join(" ")])
            }
            ApiError::BadField { detail, .. } => (
                "Request validation failed: your request body or params contain invalid data. \
                 Refer to the `details` list for more information."
                    .into(),
                vec![detail.clone()],
            ),
            ApiError::AuthenticationRequired => {
                let message = "You must log in to use Flagpole. Your request had no \
                               authorization header; send an API token in the Authorization header \
                               or sign in at /auth/simple/login."
                    .to_string();
                (message.clone(), vec![message])
            }
            ApiError::Unauthorized => {
                let message = "You must log in to use Flagpole: the token is unknown, \
                               expired or revoked."
                    .to_string();
                (message.clone(), vec![message])
            }
            ApiError::PayloadTooLarge => {
                let message = "The request body is larger than this server accepts.".to_string();
                (message.clone(), vec![message])
            }
            ApiError::Unavailable => {
                let message = "The database is unavailable; changes cannot be saved right now. \
                               Try again shortly."
                    .to_string();
                (message.clone(), vec![message])
            }
            ApiError::Internal(_) => {
                let message =
                    "Something went wrong on the server; the error has been logged.".to_string();
                (message.clone(), vec![message])
            }
            other => {
                let message = other.to_string();
                (message.clone(), vec![message])
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            ApiError::Unavailable => tracing::warn!("database unavailable"),
            _ => {}
        }
        // Unleash answers a token of the wrong kind with a bare message; SDKs match on it.
        if let ApiError::WrongTokenType = self {
            let body = json!({"message": "invalid token: expected a different token type for this endpoint"});
            return (status, Json(body)).into_response();
        }
        if let ApiError::SdkUnauthorized = self {
            return (status, Json(json!({"message": self.to_string()}))).into_response();
        }
        let (message, details) = self.message_and_details();
        let path = match &self {
            ApiError::BadField { path, .. } => Some(path.as_str()),
            _ => None,
        };
        let mut details: Vec<_> = details
            .into_iter()
            .map(|message| match path {
                Some(path) => json!({"path": path, "message": message}),
                None => json!({"message": message}),
            })
            .collect();
        if let (ApiError::WeakPassword(broken), Some(first)) = (&self, details.first_mut()) {
            first["validationErrors"] = json!(broken);
        }
        let body = json!({
            "id": ulid::Ulid::new().to_string(),
            "name": self.name(),
            "message": message,
            "details": details,
        });
        let mut body = body;
        if let ApiError::AuthenticationRequired = self {
            // Where to sign in, as Unleash tells its web UI and scripts.
            body["path"] = "/auth/simple/login".into();
            body["type"] = "password".into();
            body["defaultHidden"] = false.into();
        }
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyRequests {
            retry_after_seconds,
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict | StoreError::Stale { .. } => ApiError::conflict(
                "The resource was changed by another request at the same time; try again.",
            ),
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                ApiError::Unavailable
            }
            StoreError::Other(cause) => ApiError::Internal(cause),
        }
    }
}
