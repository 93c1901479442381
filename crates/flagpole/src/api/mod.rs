//! HTTP only: extract, call the domain, serialise. No SQL and no business rules here.
//! One router per Unleash API surface; `app` assembles them.

pub mod admin;
pub mod auth;
pub mod client;
pub mod fast_path;
pub mod frontend;
pub mod health;
pub mod ofrep;
pub mod openapi;
pub mod schema;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body whose every failure is an `ApiError`: 415 without a JSON content type, 413 when
/// too large, 400 when malformed or of the wrong shape.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
            "We do not accept the content-type you provided. Send the body as application/json."
                .into(),
        ),
        JsonRejection::JsonSyntaxError(error) => {
            ApiError::MalformedJson(format!("The body is not valid JSON: {}", error.body_text()))
        }
        JsonRejection::JsonDataError(error) => {
            let text = error.body_text();
            match missing_field(&text) {
                Some(field) => ApiError::bad_field(format!("/body/{field}"), text),
                None => ApiError::bad_data(text),
            }
        }
        JsonRejection::BytesRejection(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge
        }
        other => ApiError::bad_data(other.body_text()),
    }
}

/// The field serde reported missing, if that is what went wrong: Unleash names it in the
/// error's `details[].path`.
fn missing_field(serde_message: &str) -> Option<&str> {
    let rest = serde_message.split("missing field `").nth(1)?;
    rest.split('`').next()
}

/// Query parameters as ordered pairs, so that repeated keys and Unleash's operator syntax survive.
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|query| QueryPairs(query.0))
            .map_err(|rejection: QueryRejection| ApiError::bad_data(rejection.body_text()))
    }
}

/// Unknown routes answer in the same JSON shape as every other error.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "The path you were looking for ({}) is not available.",
        uri.path()
    ))
}
