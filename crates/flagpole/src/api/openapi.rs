//! The OpenAPI document, generated from the routes themselves: every route is registered through
//! `utoipa_axum::routes!`, which reads the handler's `#[utoipa::path]`, so the router and the
//! document cannot disagree. Served at `/docs/openapi.json`, with Swagger UI at `/docs`.

use tower_http::cors::CorsLayer;
use utoipa::openapi::path::{HttpMethod, Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDocument, Ref, RefOr};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

pub const DOCUMENT_PATH: &str = "/docs/openapi.json";
pub const VIEWER_PATH: &str = "/docs";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Flagpole",
        description = "An Unleash-compatible feature-flag server. Every route takes an API token \
                       in the `Authorization` header (optionally prefixed with `Bearer `): admin \
                       tokens for `/api/admin`, client tokens for `/api/client`, frontend tokens \
                       for `/api/frontend`. The Admin API also takes a user's personal access \
                       token in that header, or the session cookie from `/auth/simple/login` \
                       (then writes need the `X-CSRF-Token` header); users act with their root \
                       role (Admin, Editor, Viewer), and a role too low for a route gives 403.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(crate::api::schema::ErrorBody)),
    modifiers(&CommonResponses),
)]
struct ApiDoc;

/// Every route of the server with its documentation, ready to be split into a router and the
/// document. `frontend_cors` is the CORS policy of the Frontend API, the one surface browsers
/// call from other origins.
pub fn routes(frontend_cors: Option<CorsLayer>) -> OpenApiRouter<AppState> {
    let frontend = crate::api::frontend::router();
    let ofrep = crate::api::ofrep::router();
    // OFREP is called from browsers too (web providers), under the Frontend API's policy.
    let (frontend, ofrep) = match frontend_cors {
        Some(cors) => (frontend.layer(cors.clone()), ofrep.layer(cors)),
        None => (frontend, ofrep),
    };
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(crate::api::health::health))
        .routes(routes!(crate::api::health::ready))
        .routes(routes!(crate::api::health::prometheus))
        .merge(ofrep)
        .routes(routes!(crate::api::auth::login))
        .routes(routes!(crate::api::auth::logout))
        .nest("/api/admin", crate::api::admin::router())
        .nest("/api/client", crate::api::client::router())
        .nest("/api/frontend", frontend)
}

/// The document alone (for `flagpole openapi` and tests).
pub fn document() -> OpenApiDocument {
    let (_, mut document) = routes(None).split_for_parts();
    complete(&mut document);
    document
}

/// What every route shares is added here rather than repeated on ninety handlers: the token
/// scheme and the error answers each kind of route can give.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, document: &mut OpenApiDocument) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "An API token or personal access token, optionally prefixed with `Bearer `.",
            ))),
        );
        components.add_security_scheme(
            "xApiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "A client or frontend token, as OpenFeature's OFREP providers send it.",
            ))),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "flagpole-session",
                "A sign-in session from `/auth/simple/login`; writes also need `X-CSRF-Token`.",
            ))),
        );
    }
}

/// Adds the shared answers to each operation. Runs after the routes are collected (a `Modify` on
/// `ApiDoc` runs before), so it sees every path.
pub fn complete(document: &mut OpenApiDocument) {
    for (path, item) in document.paths.paths.iter_mut() {
        let operations = [
            (HttpMethod::Get, item.get.as_mut()),
            (HttpMethod::Post, item.post.as_mut()),
            (HttpMethod::Put, item.put.as_mut()),
            (HttpMethod::Patch, item.patch.as_mut()),
            (HttpMethod::Delete, item.delete.as_mut()),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                add_common_responses(path, &method, operation);
            }
        }
    }
}

fn add_common_responses(path: &str, method: &HttpMethod, operation: &mut Operation) {
    let authenticated = path.starts_with("/api/") || path.starts_with("/ofrep/");
    let has_path_parameters = path.contains('{');
    let has_body = operation.request_body.is_some();
    let has_query = operation.parameters.as_ref().is_some_and(|parameters| {
        parameters
            .iter()
            .any(|p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Query)))
    });
    let writes = !matches!(method, HttpMethod::Get);

    if authenticated {
        let mut security = vec![SecurityRequirement::new("apiToken", Vec::<String>::new())];
        if path.starts_with("/api/admin/") {
            security.push(SecurityRequirement::new("session", Vec::<String>::new()));
        }
        if path.starts_with("/ofrep/") {
            security.push(SecurityRequirement::new("xApiKey", Vec::<String>::new()));
        }
        operation.security = Some(security);
    }
    if path.starts_with("/ofrep/") {
        // OFREP answers in its own error shapes, declared on each operation.
        return;
    }
    let mut add = |status: &str, description: &str| {
        if !operation.responses.responses.contains_key(status) {
            operation.responses.responses.insert(
                status.to_owned(),
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build()
                    .into(),
            );
        }
    };
    if authenticated {
        add(
            "401",
            "No token, or one that is unknown, expired or revoked",
        );
        add(
            "403",
            "A token of the wrong kind or outside the token's projects, a role too low for \
             this route, or a session write without its CSRF token",
        );
    }
    if has_body || has_query || has_path_parameters {
        add("400", "The input is not valid; the message says why");
    }
    if has_path_parameters {
        add("404", "Something named in the path does not exist");
    }
    if has_body {
        add("413", "The body is larger than the configured limit");
        add("415", "The body is not JSON");
    }
    if authenticated && writes {
        add("409", "The change conflicts with the current state");
    }
    if path.starts_with("/api/admin/") {
        add("503", "The database cannot be reached; nothing was changed");
    }
    if authenticated {
        add("500", "An unexpected error; the log has the details");
    }
}
