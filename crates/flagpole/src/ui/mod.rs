//! The web admin UI: server-rendered HTML (maud), a small stylesheet and script embedded in the
//! binary, and one route table.
//!
//! Every route is listed once in `ROUTES` with the access it needs (the same `Access` levels the
//! Admin API policy uses). Handlers take `Ui` (pages) or `Posted` (forms): both look their route
//! up in the table, so a route's access is declared in one place. Without a session the answer is
//! a 303 to `/login`; a role too low is a 403 page; a form post without the session's CSRF token
//! (`_csrf` field) is a 403 page. API tokens do not open the UI: it is for people with sessions.
//! The tests build their role matrix from `ROUTES`, so a new route without an expectation fails.

mod admin;
mod archive;
mod flags;
mod layout;
mod login;
mod meta;
mod strategy_editor;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use maud::Markup;

use crate::app::AppState;
use crate::auth::policy::Access;
use crate::auth::session::{self, Session, CSRF_FIELD};
use crate::error::ApiError;

/// One UI route: its method (lowercase), axum path template, and the access it needs (`None`:
/// public).
#[derive(Debug, Clone, Copy)]
pub struct UiRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Option<Access>,
}

const PUBLIC: Option<Access> = None;
const READ: Option<Access> = Some(Access::Read);
const EDIT: Option<Access> = Some(Access::Edit);
const ADMIN: Option<Access> = Some(Access::Admin);
const TOKENS: Option<Access> = Some(Access::ReadTokens);
const OWN: Option<Access> = Some(Access::OwnAccount);

/// Declares the route table and the router from one list, so they cannot drift apart.
macro_rules! ui_routes {
    ($($method:ident $path:literal $access:expr => $handler:path;)*) => {
        /// Every UI route with the access it needs.
        pub const ROUTES: &[UiRoute] = &[
            $(UiRoute { method: stringify!($method), path: $path, access: $access },)*
        ];

        /// The UI's routes, merged by `app::router` beside the API.
        pub fn routes() -> Router<AppState> {
            Router::new()
                $(.route($path, axum::routing::$method($handler)))*
                .layer(axum::middleware::map_response(security_headers))
        }
    };
}

ui_routes! {
    get "/login" PUBLIC => login::form;
    post "/login" PUBLIC => login::submit;
    get "/ui-assets/{file}" PUBLIC => layout::asset;
    post "/sign-out" OWN => login::sign_out;
    get "/" READ => flags::list;
    post "/flags" EDIT => flags::create;
    get "/projects/{project}/flags/{name}" READ => flags::show;
    post "/projects/{project}/flags/{name}/settings" EDIT => flags::settings;
    post "/projects/{project}/flags/{name}/environments/{env}/toggle" EDIT => flags::toggle_handler;
    get "/projects/{project}/flags/{name}/environments/{env}/strategies/new" EDIT => strategy_editor::strategy_new;
    post "/projects/{project}/flags/{name}/environments/{env}/strategies" EDIT => strategy_editor::strategy_add;
    get "/projects/{project}/flags/{name}/environments/{env}/strategies/{id}" EDIT => strategy_editor::strategy_edit;
    post "/projects/{project}/flags/{name}/environments/{env}/strategies/{id}" EDIT => strategy_editor::strategy_update;
    post "/projects/{project}/flags/{name}/environments/{env}/strategies/{id}/delete" EDIT => strategy_editor::strategy_delete;
    post "/projects/{project}/flags/{name}/environments/{env}/strategies/{id}/move" EDIT => strategy_editor::strategy_move;
    post "/projects/{project}/flags/{name}/environments/{env}/variants" EDIT => flags::variants;
    post "/projects/{project}/flags/{name}/tags" EDIT => flags::tags;
    post "/projects/{project}/flags/{name}/dependencies" EDIT => flags::dependencies;
    post "/projects/{project}/flags/{name}/archive" EDIT => flags::archive;
    get "/archive" READ => archive::archived;
    post "/archive/{name}/revive" EDIT => archive::revive;
    post "/archive/{name}/delete" EDIT => archive::delete_archived;
    get "/admin/api-tokens" TOKENS => admin::tokens;
    post "/admin/api-tokens" EDIT => admin::token_create;
    post "/admin/api-tokens/revoke" EDIT => admin::token_revoke;
    get "/profile" OWN => admin::profile;
    post "/profile/tokens" OWN => admin::pat_create;
    post "/profile/tokens/{id}/delete" OWN => admin::pat_delete;
    post "/profile/password" OWN => admin::password_change;
    get "/users" ADMIN => admin::users;
    post "/users" ADMIN => admin::user_create;
    post "/users/{id}/role" ADMIN => admin::user_role;
    post "/users/{id}/password" ADMIN => admin::user_password;
    post "/users/{id}/delete" ADMIN => admin::user_delete;
    get "/events" READ => meta::events;
    get "/applications" READ => meta::applications;
    get "/projects" READ => meta::projects;
    post "/projects" EDIT => meta::project_create;
    post "/projects/{project}/edit" EDIT => meta::project_update;
    post "/projects/{project}/delete" EDIT => meta::project_delete;
    get "/environments" READ => meta::environments;
    post "/environments" ADMIN => meta::environment_create;
    post "/environments/{env}/edit" ADMIN => meta::environment_update;
    post "/environments/{env}/delete" ADMIN => meta::environment_delete;
    get "/segments" READ => meta::segments;
    post "/segments" EDIT => meta::segment_create;
    post "/segments/{id}/edit" EDIT => meta::segment_update;
    post "/segments/{id}/delete" EDIT => meta::segment_delete;
    get "/context" READ => meta::context_fields;
    post "/context" EDIT => meta::context_create;
    post "/context/{name}/edit" EDIT => meta::context_update;
    post "/context/{name}/delete" EDIT => meta::context_delete;
    get "/tags" READ => meta::tag_types;
    post "/tags" EDIT => meta::tag_type_create;
    post "/tags/{name}/edit" EDIT => meta::tag_type_update;
    post "/tags/{name}/delete" EDIT => meta::tag_type_delete;
}

/// Headers on every UI answer: no inline scripts or styles, no framing, no sniffing, and no
/// URLs (which carry flag and project names) leaked to other sites.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Paths that belong to the APIs: an unknown one keeps the JSON 404.
fn is_api_path(path: &str) -> bool {
    [
        "/api",
        "/auth",
        "/logout",
        "/health",
        "/ready",
        "/internal-backstage",
        "/docs",
        "/metrics",
    ]
    .iter()
    .any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The router's fallback: JSON for API paths, an HTML page for the rest.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if is_api_path(uri.path()) {
        return crate::api::not_found(uri).await.into_response();
    }
    security_headers(
        (
            StatusCode::NOT_FOUND,
            html(layout::bare(
                "Not found",
                "There is no page at this address.",
            )),
        )
            .into_response(),
    )
    .await
}

/// An HTML answer.
pub fn html(markup: Markup) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// An error shown as a page. Internal causes are logged and not shown.
#[derive(Debug)]
pub struct UiError(pub ApiError);

impl From<ApiError> for UiError {
    fn from(error: ApiError) -> Self {
        UiError(error)
    }
}

impl From<crate::store::StoreError> for UiError {
    fn from(error: crate::store::StoreError) -> Self {
        UiError(error.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let message = match &self.0 {
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                "Something went wrong on the server; the error has been logged.".to_string()
            }
            other => other.describe(),
        };
        (status, html(layout::bare("Error", &message))).into_response()
    }
}

pub type Page = Result<Response, UiError>;

/// The route's entry in `ROUTES` for this request; HEAD is routed like GET.
fn route_of(parts: &Parts) -> Option<&'static UiRoute> {
    let matched = parts.extensions.get::<MatchedPath>()?;
    let method = if parts.method == Method::HEAD {
        "get".to_string()
    } else {
        parts.method.as_str().to_ascii_lowercase()
    };
    ROUTES
        .iter()
        .find(|route| route.path == matched.as_str() && route.method == method)
}

/// A signed-in user allowed to use this route.
#[derive(Debug, Clone)]
pub struct Ui {
    pub session: Session,
}

impl Ui {
    pub fn actor(&self) -> crate::auth::Actor {
        crate::domain::users::actor(&self.session.user)
    }

    pub fn can(&self, access: Access) -> bool {
        self.session.user.root_role.permits(access)
    }

    pub fn role(&self) -> crate::auth::policy::Role {
        self.session.user.root_role
    }
}

fn to_login(parts: &Parts) -> Response {
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    // A form post cannot be replayed after sign-in; come back to the page instead.
    let target = if parts.method == Method::POST {
        "/"
    } else {
        target
    };
    Redirect::to(&format!("/login?next={}", encode(target))).into_response()
}

fn forbidden(message: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        html(layout::bare("Not allowed", message)),
    )
        .into_response()
}

impl FromRequestParts<AppState> for Ui {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        // Fail closed: a handler reached by a route missing from the table opens for no one.
        let Some(route) = route_of(parts) else {
            return Err(forbidden("This page is not in the route table."));
        };
        let session = session::current(state, &parts.headers)
            .await
            .map_err(|error| UiError(error).into_response())?;
        let Some(session) = session else {
            return Err(to_login(parts));
        };
        if let Some(access) = route.access {
            if !session.user.root_role.permits(access) {
                return Err(forbidden(&format!(
                    "Your role ({}) does not allow this.",
                    session.user.root_role
                )));
            }
        }
        Ok(Ui { session })
    }
}

/// A form post by a signed-in user allowed to use this route, with a valid CSRF token.
pub struct Posted {
    pub ui: Ui,
    pub form: Fields,
}

/// Largest form body read.
const MAX_FORM_BYTES: usize = 256 * 1024;

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request<Body>, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let ui = Ui::from_request_parts(&mut parts, state).await?;
        let form = Fields::read(body).await?;
        if ui
            .session
            .verify_csrf(form.opt(CSRF_FIELD).as_deref())
            .is_err()
        {
            return Err(forbidden(
                "This form has expired or did not come from this site. Go back, reload the page \
                 and try again.",
            ));
        }
        Ok(Posted { ui, form })
    }
}

/// The fields of a submitted form, in order (a name may repeat).
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub async fn read(body: Body) -> Result<Fields, Response> {
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    html(layout::bare("Too large", "The form is too large.")),
                )
                    .into_response()
            })?;
        Ok(Fields(
            form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }

    /// The parameters of a query string.
    pub fn from_query(raw: Option<String>) -> Fields {
        Fields(
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The field's value as sent ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The trimmed value, `None` when absent or blank.
    pub fn opt(&self, name: &str) -> Option<String> {
        let value = self.get(name).trim();
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// Every value of a repeated field.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && !v.is_empty())
    }

    pub fn with(mut self, name: &str, value: &str) -> Fields {
        self.0.retain(|(k, _)| k != name);
        self.0.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Messages to show next to form fields; the field `""` is the form as a whole.
#[derive(Debug, Clone, Default)]
pub struct Errors(pub Vec<(String, String)>);

impl Errors {
    pub fn none() -> Errors {
        Errors::default()
    }

    pub fn of(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_owned(), message.into()));
    }

    /// Turns a refused change into a message next to the field it names. `fields` pairs the
    /// names the domain uses in its messages with the form's field names; a name conflict goes
    /// to `conflict_field`. Server failures are not form errors and are passed on.
    pub fn from_error(
        error: ApiError,
        fields: &[(&str, &str)],
        conflict_field: &str,
    ) -> Result<Errors, UiError> {
        let message = match &error {
            ApiError::BadData { details, .. } => details.join("; "),
            ApiError::BadField { path, detail } => {
                let named = path.strip_prefix("/body/").unwrap_or(path);
                if let Some((_, field)) = fields.iter().find(|(name, _)| *name == named) {
                    let mut errors = Errors::none();
                    errors.add(field, detail.clone());
                    return Ok(errors);
                }
                detail.clone()
            }
            ApiError::WeakPassword(broken) => broken.join(" "),
            ApiError::Conflict(message) => {
                let mut errors = Errors::none();
                errors.add(conflict_field, message.clone());
                return Ok(errors);
            }
            ApiError::NotFound(message)
            | ApiError::Forbidden(message)
            | ApiError::InvalidOperation(message) => message.clone(),
            ApiError::MalformedJson(message) => message.clone(),
            _ => return Err(UiError(error)),
        };
        let field = fields
            .iter()
            .find(|(name, _)| {
                message.contains(&format!("\"{name}\""))
                    || message.contains(&format!("/body/{name}`"))
                    || message.contains(&format!("{name}="))
            })
            .map_or("", |(_, field)| *field);
        let mut errors = Errors::none();
        errors.add(field, message);
        Ok(errors)
    }
}

/// What `encode` leaves alone: the characters flag and project names may hold (see
/// `validate::url_friendly_name`), so that addresses read as the names do.
const ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'!')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Percent-encodes a path segment or query value.
pub fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, ESCAPED).to_string()
}

/// A same-site relative path to go back to, or `fallback`: never another site (`//host`,
/// `/\host`) or a scheme.
pub fn safe_next(next: Option<&str>, fallback: &str) -> String {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.contains('\\')
                && !next.chars().any(char::is_control) =>
        {
            next.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

/// A 303 back to a page after a successful post.
pub fn see_other(location: &str) -> Page {
    Ok(Redirect::to(location).into_response())
}

/// A re-rendered form: the page with the user's input and the errors, with a 4xx status so
/// that scripts and tests notice.
pub fn rejected(markup: Markup) -> Page {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html(markup)).into_response())
}

/// A one-time cookie carrying a new secret from a form post to the page that shows it once.
pub fn secret_cookie(name: &str, path: &str, value: Option<&str>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = match value {
        Some(value) => format!(
            "{name}={}; Path={path}; HttpOnly; SameSite=Strict; Max-Age=120{secure}",
            encode(value)
        ),
        None => format!("{name}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
}

/// A cookie's value from the request.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| {
            percent_encoding::percent_decode_str(value.trim())
                .decode_utf8_lossy()
                .into_owned()
        })
        .filter(|value| !value.is_empty())
}

pub const SET_COOKIE: HeaderName = header::SET_COOKIE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/flags?q=a"), "/"), "/flags?q=a");
        assert_eq!(safe_next(Some("//evil.example"), "/"), "/");
        assert_eq!(safe_next(Some("/\\evil.example"), "/"), "/");
        assert_eq!(safe_next(Some("https://evil.example"), "/"), "/");
        assert_eq!(safe_next(None, "/"), "/");
    }

    #[test]
    fn api_paths_keep_json() {
        assert!(is_api_path("/api/admin/nope"));
        assert!(is_api_path("/health"));
        assert!(!is_api_path("/apis"));
        assert!(!is_api_path("/nothing-here"));
    }

    #[test]
    fn every_route_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for route in ROUTES {
            assert!(seen.insert((route.method, route.path)), "{route:?}");
        }
    }
}
