//! The role matrix: every operation of the OpenAPI document, called by every kind of caller,
//! against an explicit table of what each caller may do. An operation missing from the table
//! fails the test, so a new route needs a decision here.
//!
//! "Allowed" means the authentication and role checks let the request through: the handler may
//! still answer 400 or 404 to the dummy input, but not 401 or 403.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, ADMIN_TOKEN};
use crate::users::{create_pat, create_user, sign_in, Browser};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Through to the handler: neither 401 nor 403.
    Allowed,
    /// 401: no or unknown credentials for this surface.
    Unauthenticated,
    /// 403: known credentials that may not do this.
    Forbidden,
    /// 400: known credentials, refused as bad input (as Unleash refuses an API token asking
    /// for its own profile).
    Refused,
}
use Expect::{Allowed as Y, Forbidden as F, Refused as R, Unauthenticated as U};

/// The callers, in the order of the columns below.
const CALLERS: [&str; 10] = [
    "no auth",
    "Admin session",
    "Editor session",
    "Viewer session",
    "Admin PAT",
    "Editor PAT",
    "Viewer PAT",
    "admin API token",
    "client token",
    "frontend token",
];

//                         none  Adm-s Edi-s Vie-s Adm-p Edi-p Vie-p admin client frontend
/// Anyone, signed in or not.
pub(crate) const PUBLIC: [Expect; 10] = [Y, Y, Y, Y, Y, Y, Y, Y, Y, Y];
/// Reading the Admin API: every role.
const READ: [Expect; 10] = [U, Y, Y, Y, Y, Y, Y, Y, F, F];
/// Changing flags and what they are built from, and SDK tokens: Editors and Admins.
const EDIT: [Expect; 10] = [U, Y, Y, F, Y, Y, F, Y, F, F];
/// Listing API tokens: Editors and Admins (Editors see no admin tokens).
const READ_TOKENS: [Expect; 10] = [U, Y, Y, F, Y, Y, F, Y, F, F];
/// Users, environments, instance settings: Admins only.
const ADMIN: [Expect; 10] = [U, Y, F, F, Y, F, F, Y, F, F];
/// One's own account: any user, but no API token (it has no account).
const OWN: [Expect; 10] = [U, Y, Y, Y, Y, Y, Y, F, F, F];
/// One's own profile and password: as `OWN`, but an admin API token is refused with 400.
const OWN_DETAILS: [Expect; 10] = [U, Y, Y, Y, Y, Y, Y, R, F, F];
/// The Client API: client tokens only (sessions send no token, so 401).
pub(crate) const CLIENT: [Expect; 10] = [U, U, U, U, F, F, F, F, Y, F];
/// The Frontend API: frontend tokens only.
pub(crate) const FRONTEND: [Expect; 10] = [U, U, U, U, F, F, F, F, F, Y];

/// OpenFeature remote evaluation: client and frontend tokens.
pub(crate) const OFREP: [Expect; 10] = [U, U, U, U, F, F, F, F, Y, Y];

/// Every operation, keyed by `METHOD path-template`.
pub(crate) fn expectations() -> BTreeMap<&'static str, [Expect; 10]> {
    BTreeMap::from([
        ("GET /health", PUBLIC),
        ("GET /ready", PUBLIC),
        ("GET /internal-backstage/prometheus", PUBLIC),
        ("POST /ofrep/v1/evaluate/flags", OFREP),
        ("POST /ofrep/v1/evaluate/flags/{key}", OFREP),
        ("GET /api/admin/audit/verify", ADMIN),
        ("POST /api/admin/features-batch/export", ADMIN),
        ("POST /api/admin/features-batch/validate", ADMIN),
        ("POST /api/admin/features-batch/import", ADMIN),
        ("POST /auth/simple/login", PUBLIC),
        ("POST /logout", PUBLIC),
        ("GET /api/admin/projects/{project}/features", READ),
        ("POST /api/admin/projects/{project}/features", EDIT),
        ("GET /api/admin/projects/{project}/features/{feature}", READ),
        ("PUT /api/admin/projects/{project}/features/{feature}", EDIT),
        ("PATCH /api/admin/projects/{project}/features/{feature}", EDIT),
        ("DELETE /api/admin/projects/{project}/features/{feature}", EDIT),
        ("GET /api/admin/projects/{project}/features/{feature}/environments/{environment}", READ),
        ("POST /api/admin/projects/{project}/features/{feature}/environments/{environment}/on", EDIT),
        ("POST /api/admin/projects/{project}/features/{feature}/environments/{environment}/off", EDIT),
        ("GET /api/admin/projects/{project}/features/{feature}/environments/{environment}/strategies", READ),
        ("POST /api/admin/projects/{project}/features/{feature}/environments/{environment}/strategies", EDIT),
        ("POST /api/admin/projects/{project}/features/{feature}/environments/{environment}/strategies/set-sort-order", EDIT),
        ("GET /api/admin/projects/{project}/features/{feature}/environments/{environment}/strategies/{strategy}", READ),
        ("PUT /api/admin/projects/{project}/features/{feature}/environments/{environment}/strategies/{strategy}", EDIT),
        ("PATCH /api/admin/projects/{project}/features/{feature}/environments/{environment}/strategies/{strategy}", EDIT),
        ("DELETE /api/admin/projects/{project}/features/{feature}/environments/{environment}/strategies/{strategy}", EDIT),
        ("GET /api/admin/projects/{project}/features/{feature}/environments/{environment}/variants", READ),
        ("PUT /api/admin/projects/{project}/features/{feature}/environments/{environment}/variants", EDIT),
        ("PATCH /api/admin/projects/{project}/features/{feature}/environments/{environment}/variants", EDIT),
        ("POST /api/admin/projects/{project}/features/{feature}/dependencies", EDIT),
        ("DELETE /api/admin/projects/{project}/features/{feature}/dependencies", EDIT),
        ("DELETE /api/admin/projects/{project}/features/{feature}/dependencies/{parent}", EDIT),
        ("POST /api/admin/projects/{project}/bulk_features/environments/{environment}/on", EDIT),
        ("POST /api/admin/projects/{project}/bulk_features/environments/{environment}/off", EDIT),
        ("POST /api/admin/features/validate", EDIT),
        ("GET /api/admin/archive/features", READ),
        ("GET /api/admin/archive/features/{project}", READ),
        ("POST /api/admin/archive/revive/{feature}", EDIT),
        ("DELETE /api/admin/archive/{feature}", EDIT),
        ("GET /api/admin/features/{feature}/tags", READ),
        ("POST /api/admin/features/{feature}/tags", EDIT),
        ("PUT /api/admin/features/{feature}/tags", EDIT),
        ("DELETE /api/admin/features/{feature}/tags/{tag_type}/{value}", EDIT),
        ("GET /api/admin/features", READ),
        ("POST /api/admin/features", EDIT),
        ("GET /api/admin/features/{feature}", READ),
        ("PUT /api/admin/features/{feature}", EDIT),
        ("DELETE /api/admin/features/{feature}", EDIT),
        ("POST /api/admin/features/{feature}/toggle", EDIT),
        ("POST /api/admin/features/{feature}/toggle/on", EDIT),
        ("POST /api/admin/features/{feature}/toggle/off", EDIT),
        ("GET /api/admin/projects", READ),
        ("POST /api/admin/projects", EDIT),
        ("GET /api/admin/projects/{project}", READ),
        ("PUT /api/admin/projects/{project}", EDIT),
        ("DELETE /api/admin/projects/{project}", EDIT),
        ("GET /api/admin/environments", READ),
        ("POST /api/admin/environments", ADMIN),
        ("GET /api/admin/environments/{environment}", READ),
        ("PUT /api/admin/environments/{environment}", ADMIN),
        ("DELETE /api/admin/environments/{environment}", ADMIN),
        ("POST /api/admin/environments/{environment}/on", ADMIN),
        ("POST /api/admin/environments/{environment}/off", ADMIN),
        ("GET /api/admin/segments", READ),
        ("POST /api/admin/segments", EDIT),
        ("GET /api/admin/segments/{id}", READ),
        ("PUT /api/admin/segments/{id}", EDIT),
        ("DELETE /api/admin/segments/{id}", EDIT),
        ("GET /api/admin/tag-types", READ),
        ("POST /api/admin/tag-types", EDIT),
        ("POST /api/admin/tag-types/validate", EDIT),
        ("GET /api/admin/tag-types/{name}", READ),
        ("PUT /api/admin/tag-types/{name}", EDIT),
        ("DELETE /api/admin/tag-types/{name}", EDIT),
        ("GET /api/admin/context", READ),
        ("POST /api/admin/context", EDIT),
        ("GET /api/admin/context/{name}", READ),
        ("PUT /api/admin/context/{name}", EDIT),
        ("DELETE /api/admin/context/{name}", EDIT),
        ("GET /api/admin/feature-types", READ),
        ("GET /api/admin/api-tokens", READ_TOKENS),
        ("POST /api/admin/api-tokens", EDIT),
        ("GET /api/admin/api-tokens/{token}", READ_TOKENS),
        ("PUT /api/admin/api-tokens/{token}", EDIT),
        ("DELETE /api/admin/api-tokens/{token}", EDIT),
        ("GET /api/admin/user-admin", ADMIN),
        ("POST /api/admin/user-admin", ADMIN),
        ("POST /api/admin/user-admin/validate-password", ADMIN),
        ("GET /api/admin/user-admin/{id}", ADMIN),
        ("PUT /api/admin/user-admin/{id}", ADMIN),
        ("DELETE /api/admin/user-admin/{id}", ADMIN),
        ("POST /api/admin/user-admin/{id}/change-password", ADMIN),
        ("GET /api/admin/user", READ),
        ("GET /api/admin/user/profile", OWN_DETAILS),
        ("POST /api/admin/user/change-password", OWN_DETAILS),
        ("GET /api/admin/user/tokens", OWN),
        ("POST /api/admin/user/tokens", OWN),
        ("DELETE /api/admin/user/tokens/{id}", OWN),
        ("GET /api/admin/metrics/applications", READ),
        ("GET /api/admin/client-metrics/features/{feature}", READ),
        ("GET /api/admin/client-metrics/features/{feature}/raw", READ),
        ("GET /api/admin/ui-config", READ),
        ("POST /api/admin/ui-config/cors", ADMIN),
        ("GET /api/admin/events", READ),
        ("GET /api/admin/events/{feature}", READ),
        ("GET /api/admin/search/events", READ),
        ("GET /api/client/features", CLIENT),
        ("GET /api/client/features/{feature}", CLIENT),
        ("GET /api/client/delta", CLIENT),
        ("GET /api/client/streaming", CLIENT),
        ("POST /api/client/register", CLIENT),
        ("POST /api/client/metrics", CLIENT),
        ("GET /api/frontend", FRONTEND),
        ("POST /api/frontend", FRONTEND),
        ("GET /api/frontend/features/{feature}", FRONTEND),
        ("POST /api/frontend/client/metrics", FRONTEND),
        ("POST /api/frontend/client/register", FRONTEND),
    ])
}

/// How each caller authenticates.
enum Caller {
    Nobody,
    Session(Browser),
    Token(String),
}

impl Caller {
    fn headers(&self) -> Vec<(String, String)> {
        match self {
            Caller::Nobody => vec![],
            Caller::Session(browser) => vec![
                ("Cookie".into(), browser.cookie.clone()),
                ("X-CSRF-Token".into(), browser.csrf.clone()),
            ],
            Caller::Token(secret) => vec![("Authorization".into(), secret.clone())],
        }
    }
}

async fn token(app: &TestApp, body: Value) -> String {
    app.create_token(body).await
}

pub async fn every_operation_checks_the_callers_role(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let mut callers: Vec<Caller> = vec![Caller::Nobody];
    let mut pats = Vec::new();
    for (name, role) in [("root2", "Admin"), ("ed", "Editor"), ("vic", "Viewer")] {
        create_user(&app, name, role).await;
        let browser = sign_in(&app, name).await;
        pats.push(create_pat(&app, &browser).await);
        callers.push(Caller::Session(browser));
    }
    callers.extend(pats.into_iter().map(Caller::Token));
    callers.push(Caller::Token(ADMIN_TOKEN.into()));
    callers.push(Caller::Token(
        token(
            &app,
            json!({"tokenName": "c", "type": "client", "environment": "development"}),
        )
        .await,
    ));
    callers.push(Caller::Token(
        token(
            &app,
            json!({"tokenName": "f", "type": "frontend", "environment": "development"}),
        )
        .await,
    ));
    assert_eq!(callers.len(), CALLERS.len());

    let document = serde_json::to_value(flagpole::api::openapi::document()).unwrap();
    let mut operations = Vec::new();
    for (template, item) in document["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                operations.push(format!("{} {template}", method.to_uppercase()));
            }
        }
    }
    // Signing out ends the sessions the other rows use, so it goes last.
    operations.sort_by_key(|op| op == "POST /logout");

    let table = expectations();
    let documented: BTreeSet<&str> = operations.iter().map(String::as_str).collect();
    let missing: Vec<&&str> = documented
        .iter()
        .filter(|op| !table.contains_key(**op))
        .collect();
    assert!(
        missing.is_empty(),
        "operations without an entry in the role matrix (add one): {missing:#?}"
    );
    let stale: Vec<&&str> = table
        .keys()
        .filter(|op| !documented.contains(**op))
        .collect();
    assert!(
        stale.is_empty(),
        "entries for operations that no longer exist: {stale:#?}"
    );

    let mut failures = Vec::new();
    for operation in &operations {
        let (method, template) = operation.split_once(' ').unwrap();
        let path = template
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for (column, caller) in callers.iter().enumerate() {
            let expected = table[operation.as_str()][column];
            let status = call(&app, method, &path, caller).await;
            let got = match status {
                StatusCode::UNAUTHORIZED => U,
                StatusCode::FORBIDDEN => F,
                StatusCode::BAD_REQUEST if expected == R => R,
                _ => Y,
            };
            if got != expected {
                failures.push(format!(
                    "{operation} as {}: expected {expected:?}, got {status}",
                    CALLERS[column]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "role matrix mismatches:\n{}",
        failures.join("\n")
    );
}

/// Sends a dummy request (an empty JSON object as the body of writes) and returns the status.
/// Answers are checked against the OpenAPI document, except streams, which are not read.
async fn call(app: &TestApp, method: &str, path: &str, caller: &Caller) -> StatusCode {
    let method: Method = method.parse().unwrap();
    let mut request = app.http.request(method.clone(), app.url(path));
    for (name, value) in caller.headers() {
        request = request.header(name, value);
    }
    if method != Method::GET && path != "/logout" {
        request = request.json(&json!({}));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    if path == "/api/client/streaming" {
        return status;
    }
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    crate::contract::check(method.as_str(), path, status.as_u16(), &body);
    status
}
