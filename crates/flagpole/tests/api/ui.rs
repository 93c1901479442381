//! The web UI: who may open each page (a matrix built from the UI's route table), forms that
//! refuse bad input without changing anything, audit attribution, secrets shown once, the
//! metrics chart, sign-in, and an end-to-end run in headless Chromium.

use std::collections::BTreeMap;
use std::time::Duration;

use flagpole::auth::policy::Access;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, TestApp, ADMIN_TOKEN};
use crate::users::{create_pat, create_user, sign_in, Browser, PASSWORD};

/// A client that does not follow redirects, so that 303s can be checked.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Answer {
    status: StatusCode,
    location: String,
    set_cookies: Vec<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn request(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    form: Option<&[(&str, &str)]>,
) -> Answer {
    let mut request = client().request(method, app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(form) = form {
        request = request.form(form);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let location = headers
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    let set_cookies = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let body = response.text().await.unwrap();
    Answer {
        status,
        location,
        set_cookies,
        headers,
        body,
    }
}

async fn page(app: &TestApp, browser: &Browser, path: &str) -> Answer {
    request(app, Method::GET, path, &browser.reading(), None).await
}

/// Posts a form as a signed-in browser, with the session's CSRF token.
async fn post(app: &TestApp, browser: &Browser, path: &str, fields: &[(&str, &str)]) -> Answer {
    let mut form = vec![("_csrf", browser.csrf.as_str())];
    form.extend_from_slice(fields);
    request(app, Method::POST, path, &browser.reading(), Some(&form)).await
}

/// The access each UI route is expected to need. Every route of the table must be listed here,
/// so adding a route means deciding (and testing) who may use it.
fn expected_access() -> BTreeMap<(&'static str, &'static str), Option<Access>> {
    use Access::*;
    let read = Some(Read);
    let edit = Some(Edit);
    let admin = Some(Admin);
    [
        ("get", "/login", None),
        ("post", "/login", None),
        ("get", "/ui-assets/{file}", None),
        ("post", "/sign-out", Some(OwnAccount)),
        ("get", "/", read),
        ("post", "/flags", edit),
        ("get", "/projects/{project}/flags/{name}", read),
        ("post", "/projects/{project}/flags/{name}/settings", edit),
        (
            "post",
            "/projects/{project}/flags/{name}/environments/{env}/toggle",
            edit,
        ),
        (
            "get",
            "/projects/{project}/flags/{name}/environments/{env}/strategies/new",
            edit,
        ),
        (
            "post",
            "/projects/{project}/flags/{name}/environments/{env}/strategies",
            edit,
        ),
        (
            "get",
            "/projects/{project}/flags/{name}/environments/{env}/strategies/{id}",
            edit,
        ),
        (
            "post",
            "/projects/{project}/flags/{name}/environments/{env}/strategies/{id}",
            edit,
        ),
        (
            "post",
            "/projects/{project}/flags/{name}/environments/{env}/strategies/{id}/delete",
            edit,
        ),
        (
            "post",
            "/projects/{project}/flags/{name}/environments/{env}/strategies/{id}/move",
            edit,
        ),
        (
            "post",
            "/projects/{project}/flags/{name}/environments/{env}/variants",
            edit,
        ),
        ("post", "/projects/{project}/flags/{name}/tags", edit),
        (
            "post",
            "/projects/{project}/flags/{name}/dependencies",
            edit,
        ),
        ("post", "/projects/{project}/flags/{name}/archive", edit),
        ("get", "/archive", read),
        ("post", "/archive/{name}/revive", edit),
        ("post", "/archive/{name}/delete", edit),
        ("get", "/admin/api-tokens", Some(ReadTokens)),
        ("post", "/admin/api-tokens", edit),
        ("post", "/admin/api-tokens/revoke", edit),
        ("get", "/profile", Some(OwnAccount)),
        ("post", "/profile/tokens", Some(OwnAccount)),
        ("post", "/profile/tokens/{id}/delete", Some(OwnAccount)),
        ("post", "/profile/password", Some(OwnAccount)),
        ("get", "/users", admin),
        ("post", "/users", admin),
        ("post", "/users/{id}/role", admin),
        ("post", "/users/{id}/password", admin),
        ("post", "/users/{id}/delete", admin),
        ("get", "/events", read),
        ("get", "/applications", read),
        ("get", "/projects", read),
        ("post", "/projects", edit),
        ("post", "/projects/{project}/edit", edit),
        ("post", "/projects/{project}/delete", edit),
        ("get", "/environments", read),
        ("post", "/environments", admin),
        ("post", "/environments/{env}/edit", admin),
        ("post", "/environments/{env}/delete", admin),
        ("get", "/segments", read),
        ("post", "/segments", edit),
        ("post", "/segments/{id}/edit", edit),
        ("post", "/segments/{id}/delete", edit),
        ("get", "/context", read),
        ("post", "/context", edit),
        ("post", "/context/{name}/edit", edit),
        ("post", "/context/{name}/delete", edit),
        ("get", "/tags", read),
        ("post", "/tags", edit),
        ("post", "/tags/{name}/edit", edit),
        ("post", "/tags/{name}/delete", edit),
    ]
    .into_iter()
    .map(|(method, path, access)| ((method, path), access))
    .collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    Nobody,
    AdminWithoutCsrf,
    Admin,
    Editor,
    Viewer,
    AdminToken,
    ClientToken,
    FrontendToken,
    Pat,
}

/// What the matrix fills in for the parameters of each route.
struct Fixture {
    strategy_id: String,
    segment_id: String,
    victim_id: String,
    pat_id: String,
}

fn concrete(template: &str, fixture: &Fixture) -> String {
    let id = if template.starts_with("/projects/") {
        &fixture.strategy_id
    } else if template.starts_with("/users/") {
        &fixture.victim_id
    } else if template.starts_with("/profile/") {
        &fixture.pat_id
    } else {
        &fixture.segment_id
    };
    let name = if template.starts_with("/archive/") {
        "Old"
    } else if template.starts_with("/context/") {
        "region"
    } else if template.starts_with("/tags/") {
        "team"
    } else {
        "Demo"
    };
    let env = if template.starts_with("/environments/") {
        "scratch"
    } else {
        "development"
    };
    let project = if template.ends_with("/edit") || template.ends_with("/delete") {
        "scratch-project"
    } else {
        "default"
    };
    let project = if template.contains("/flags/") {
        "default"
    } else {
        project
    };
    let path = template
        .replace("{project}", project)
        .replace("{name}", name)
        .replace("{env}", env)
        .replace("{id}", id)
        .replace("{file}", "ui.css");
    assert!(
        !path.contains('{'),
        "no fixture for a parameter of {template}"
    );
    path
}

pub async fn every_ui_route_checks_the_callers_session_and_role(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let table: BTreeMap<(&str, &str), Option<Access>> = flagpole::ui::ROUTES
        .iter()
        .map(|r| ((r.method, r.path), r.access))
        .collect();
    let expected = expected_access();
    let differences: Vec<String> = table
        .keys()
        .chain(expected.keys())
        .filter(|key| table.get(*key) != expected.get(*key))
        .map(|key| {
            format!(
                "{} {}: table {:?}, test {:?}",
                key.0,
                key.1,
                table.get(key),
                expected.get(key)
            )
        })
        .collect();
    assert!(
        differences.is_empty(),
        "the UI route table and this test's expectations differ; decide who may use each \
         route:\n{}",
        differences.join("\n")
    );

    // Fixtures every route can act on.
    create_user(&app, "ada", "Admin").await;
    create_user(&app, "ed", "Editor").await;
    create_user(&app, "vic", "Viewer").await;
    let victim = create_user(&app, "victim", "Viewer").await;
    let admin = sign_in(&app, "ada").await;
    let editor = sign_in(&app, "ed").await;
    let viewer = sign_in(&app, "vic").await;
    let pat = create_pat(&app, &admin).await;
    app.create_flag("Demo").await;
    app.create_flag("Old").await;
    app.admin(
        Method::DELETE,
        "/api/admin/projects/default/features/Old",
        None,
    )
    .await;
    let strategy = app
        .post(
            "/api/admin/projects/default/features/Demo/environments/development/strategies",
            json!({"name": "default"}),
        )
        .await;
    let segment = app
        .post(
            "/api/admin/segments",
            json!({"name": "beta", "constraints": []}),
        )
        .await;
    app.post("/api/admin/context", json!({"name": "region"}))
        .await;
    app.post("/api/admin/tag-types", json!({"name": "team"}))
        .await;
    app.post(
        "/api/admin/environments",
        json!({"name": "scratch", "type": "test"}),
    )
    .await;
    app.post(
        "/api/admin/projects",
        json!({"id": "scratch-project", "name": "Scratch"}),
    )
    .await;
    let client_token = app
        .create_token(json!({"tokenName": "c", "type": "client", "environment": "development"}))
        .await;
    let frontend_token = app
        .create_token(json!({"tokenName": "f", "type": "frontend", "environment": "development"}))
        .await;
    let (_, _, pats) = app
        .send(
            Method::GET,
            "/api/admin/user/tokens",
            &admin.reading(),
            None,
        )
        .await;
    let fixture = Fixture {
        strategy_id: strategy["id"].as_str().unwrap().to_string(),
        segment_id: segment["id"].to_string(),
        victim_id: victim.to_string(),
        pat_id: pats["pats"][0]["id"].to_string(),
    };

    let callers = [
        Caller::Nobody,
        Caller::AdminWithoutCsrf,
        Caller::Admin,
        Caller::Editor,
        Caller::Viewer,
        Caller::AdminToken,
        Caller::ClientToken,
        Caller::FrontendToken,
        Caller::Pat,
    ];
    // Reads first, then writes (some writes delete what later requests would read); signing
    // out last, since it ends the session.
    let mut routes: Vec<&flagpole::ui::UiRoute> = flagpole::ui::ROUTES.iter().collect();
    routes.sort_by_key(|r| (r.method != "get", r.path == "/sign-out"));
    let mut failures = Vec::new();
    for route in routes {
        let path = concrete(route.path, &fixture);
        let method = Method::from_bytes(route.method.to_uppercase().as_bytes()).unwrap();
        let writes = method == Method::POST;
        for caller in callers {
            let (browser, token): (Option<&Browser>, Option<&str>) = match caller {
                Caller::Nobody => (None, None),
                Caller::AdminWithoutCsrf | Caller::Admin => (Some(&admin), None),
                Caller::Editor => (Some(&editor), None),
                Caller::Viewer => (Some(&viewer), None),
                Caller::AdminToken => (None, Some(ADMIN_TOKEN)),
                Caller::ClientToken => (None, Some(&client_token)),
                Caller::FrontendToken => (None, Some(&frontend_token)),
                Caller::Pat => (None, Some(&pat)),
            };
            let mut headers: Vec<(&str, &str)> = Vec::new();
            if let Some(browser) = browser {
                headers.push(("Cookie", &browser.cookie));
            }
            if let Some(token) = token {
                headers.push(("Authorization", token));
            }
            let mut form: Vec<(&str, &str)> = Vec::new();
            if let (Some(browser), true) = (browser, caller != Caller::AdminWithoutCsrf) {
                form.push(("_csrf", &browser.csrf));
            }
            let answer = request(
                &app,
                method.clone(),
                &path,
                &headers,
                writes.then_some(form.as_slice()),
            )
            .await;
            let role = match caller {
                Caller::Admin | Caller::AdminWithoutCsrf => {
                    Some(flagpole::auth::policy::Role::Admin)
                }
                Caller::Editor => Some(flagpole::auth::policy::Role::Editor),
                Caller::Viewer => Some(flagpole::auth::policy::Role::Viewer),
                _ => None,
            };
            let to_login = answer.status == StatusCode::SEE_OTHER
                && answer.location.starts_with("/login?next=");
            let ok = match (route.access, role) {
                // Public routes answer everyone, each in its own way, and never fail.
                (None, _) => answer.status.as_u16() < 500,
                (Some(_), None) => to_login,
                (Some(access), Some(role)) if !role.permits(access) => {
                    answer.status == StatusCode::FORBIDDEN
                }
                (Some(_), Some(_)) if writes && caller == Caller::AdminWithoutCsrf => {
                    answer.status == StatusCode::FORBIDDEN
                }
                // Allowed reads show the page; allowed writes get past the guard (they may
                // still refuse the empty form, or find that an earlier write removed the thing).
                (Some(_), Some(_)) if writes => {
                    answer.status != StatusCode::FORBIDDEN
                        && !to_login
                        && answer.status.as_u16() < 500
                }
                (Some(_), Some(_)) => answer.status == StatusCode::OK,
            };
            if !ok {
                failures.push(format!(
                    "{} {path} as {caller:?}: {} {}",
                    route.method, answer.status, answer.location
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "unexpected answers:\n{}",
        failures.join("\n")
    );
}

pub async fn forms_show_errors_next_to_fields_and_change_nothing(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    create_user(&app, "ed", "Editor").await;
    let editor = sign_in(&app, "ed").await;
    app.create_flag("Demo").await;
    let before = app.event_count().await;

    let answer = post(
        &app,
        &editor,
        "/flags",
        &[("name", "bad name"), ("project", "default")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.body.contains(r#"id="error-name""#),
        "{}",
        answer.body
    );
    assert!(answer.body.contains("URL friendly"));
    assert!(
        answer.body.contains(r#"value="bad name""#),
        "the input is kept"
    );

    let answer = post(
        &app,
        &editor,
        "/flags",
        &[("name", "Demo"), ("project", "default")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains(r#"id="error-name""#));
    assert!(answer.body.contains("already exists"));

    let strategies = "/projects/default/flags/Demo/environments/development/strategies";
    let answer = post(
        &app,
        &editor,
        strategies,
        &[
            ("action", "save"),
            ("strategy", "flexibleRollout"),
            ("rollout", "50"),
            ("constraints", "1"),
            ("c0.context", "appVersion"),
            ("c0.operator", "SEMVER_GT"),
            ("c0.value", "not-a-version"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.body.contains(r#"id="error-c0.value""#),
        "{}",
        answer.body
    );
    assert!(answer.body.contains(r#"value="not-a-version""#));

    let answer = post(
        &app,
        &editor,
        strategies,
        &[
            ("action", "save"),
            ("strategy", "flexibleRollout"),
            ("rollout", "250"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.body.contains(r#"id="error-rollout""#),
        "{}",
        answer.body
    );

    assert_eq!(app.event_count().await, before, "nothing was changed");
    let flag = app.get("/api/admin/projects/default/features/Demo").await;
    assert!(flag["environments"][0]["strategies"]
        .as_array()
        .unwrap()
        .is_empty());

    // A good strategy with every kind of constraint value is saved.
    let answer = post(
        &app,
        &editor,
        strategies,
        &[
            ("action", "save"),
            ("strategy", "flexibleRollout"),
            ("rollout", "25"),
            ("constraints", "2"),
            ("c0.context", "userId"),
            ("c0.operator", "IN"),
            ("c0.values", "alice\nbob"),
            ("c0.ci", "on"),
            ("c1.context", "appVersion"),
            ("c1.operator", "SEMVER_GTE"),
            ("c1.value", "1.2.0"),
            ("c1.inverted", "on"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let (_, strategies) = app
        .admin(
            Method::GET,
            "/api/admin/projects/default/features/Demo/environments/development/strategies",
            None,
        )
        .await;
    let constraints = &strategies[0]["constraints"];
    assert_eq!(constraints[0]["values"], json!(["alice", "bob"]));
    assert_eq!(constraints[0]["caseInsensitive"], true);
    assert_eq!(constraints[1]["operator"], "SEMVER_GTE");
    assert_eq!(constraints[1]["value"], "1.2.0");
    assert_eq!(constraints[1]["inverted"], true);
    assert_eq!(strategies[0]["parameters"]["rollout"], "25");

    // A second strategy moved up comes first.
    let second = app
        .post(
            "/api/admin/projects/default/features/Demo/environments/development/strategies",
            json!({"name": "default"}),
        )
        .await;
    let id = second["id"].as_str().unwrap();
    let answer = post(
        &app,
        &editor,
        &format!("/projects/default/flags/Demo/environments/development/strategies/{id}/move"),
        &[("direction", "up")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let (_, strategies) = app
        .admin(
            Method::GET,
            "/api/admin/projects/default/features/Demo/environments/development/strategies",
            None,
        )
        .await;
    assert_eq!(strategies[0]["id"], id);
}

pub async fn ui_changes_are_audited_as_the_user(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    create_user(&app, "ed", "Editor").await;
    let editor = sign_in(&app, "ed").await;
    let answer = post(
        &app,
        &editor,
        "/flags",
        &[
            ("name", "Checkout"),
            ("project", "default"),
            ("type", "release"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location, "/projects/default/flags/Checkout");
    let answer = post(
        &app,
        &editor,
        "/projects/default/flags/Checkout/environments/production/toggle",
        &[("enabled", "true"), ("back", "/?q=Check")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location, "/?q=Check");
    // A `back` to another site is ignored.
    let answer = post(
        &app,
        &editor,
        "/projects/default/flags/Checkout/environments/production/toggle",
        &[("enabled", "false"), ("back", "//evil.example/")],
    )
    .await;
    assert_eq!(answer.location, "/projects/default/flags/Checkout");
    let events = app
        .get("/api/admin/search/events?feature=IS:Checkout&limit=20")
        .await;
    let events = events["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for expected in [
        "feature-created",
        "feature-environment-enabled",
        "feature-environment-disabled",
    ] {
        assert!(types.contains(&expected), "{types:?}");
    }
    assert!(events.iter().all(|e| e["createdBy"] == "ed"), "{events:?}");
    // The flag page shows the history with a readable before/after.
    let answer = page(&app, &editor, "/projects/default/flags/Checkout").await;
    assert!(answer.body.contains("feature-environment-enabled"));
    assert!(answer.body.contains("by ed"));
    let answer = page(&app, &editor, "/events?flag=Checkout").await;
    assert!(answer.body.contains("feature-created"));
}

pub async fn new_secrets_are_shown_once(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    create_user(&app, "ada", "Admin").await;
    let admin = sign_in(&app, "ada").await;
    let answer = post(
        &app,
        &admin,
        "/admin/api-tokens",
        &[
            ("name", "checkout"),
            ("type", "client"),
            ("environment", "production"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(
        answer.location, "/admin/api-tokens",
        "the secret is never in a URL"
    );
    let carried = answer
        .set_cookies
        .iter()
        .find(|c| c.starts_with("flagpole-new-token="))
        .expect("one-time cookie");
    assert!(carried.contains("HttpOnly") && carried.contains("Max-Age=120"));
    let cookie = carried.split(';').next().unwrap().to_string();
    let both = format!("{}; {cookie}", admin.cookie);
    let shown = request(
        &app,
        Method::GET,
        "/admin/api-tokens",
        &[("Cookie", &both)],
        None,
    )
    .await;
    let secret = shown
        .body
        .split(r#"id="new-secret">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the secret is shown")
        .to_string();
    assert!(
        secret.starts_with("default:production.") || secret.starts_with("*:production."),
        "{secret}"
    );
    assert!(shown.body.contains("data-copy"), "a copy button");
    assert!(shown
        .set_cookies
        .iter()
        .any(|c| c.starts_with("flagpole-new-token=;") && c.contains("Max-Age=0")));
    // A reload (the browser dropped the cookie) shows only the masked prefix.
    let again = page(&app, &admin, "/admin/api-tokens").await;
    assert!(!again.body.contains(&secret));
    assert!(again.body.contains("checkout"));
    // The secret works.
    let (status, _) = app
        .call(Method::GET, "/api/client/features", Some(&secret), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let events = app
        .get("/api/admin/search/events?type=api-token-created&limit=5")
        .await;
    assert_eq!(events["events"][0]["createdBy"], "ada");

    // Personal access tokens work the same way on the profile page.
    let answer = post(
        &app,
        &admin,
        "/profile/tokens",
        &[("description", "script"), ("expires", "2999-01-01")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let carried = answer
        .set_cookies
        .iter()
        .find(|c| c.starts_with("flagpole-new-pat="))
        .unwrap();
    let both = format!("{}; {}", admin.cookie, carried.split(';').next().unwrap());
    let shown = request(&app, Method::GET, "/profile", &[("Cookie", &both)], None).await;
    assert!(shown.body.contains("user:"), "{}", shown.body);
    let again = page(&app, &admin, "/profile").await;
    assert!(!again.body.contains(r#"id="new-secret""#));

    // A wrong current password is shown next to its field, and the session lives on.
    let answer = post(
        &app,
        &admin,
        "/profile/password",
        &[
            ("old_password", "Not-It-At-All-1"),
            ("new_password", "Brand-New-Pass-9"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.body.contains(r#"id="error-old_password""#),
        "{}",
        answer.body
    );
    let answer = post(
        &app,
        &admin,
        "/profile/password",
        &[
            ("old_password", PASSWORD),
            ("new_password", "Brand-New-Pass-9"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location, "/login");
    let after = page(&app, &admin, "/profile").await;
    assert_eq!(
        after.status,
        StatusCode::SEE_OTHER,
        "the password change ended the session"
    );
}

pub async fn the_flag_page_charts_sdk_metrics(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    create_user(&app, "vic", "Viewer").await;
    let viewer = sign_in(&app, "vic").await;
    app.create_flag("Demo").await;
    let token = app
        .create_token(json!({"tokenName": "sdk", "type": "client", "environment": "production"}))
        .await;
    let (status, _) = app
        .call(
            Method::POST,
            "/api/client/metrics",
            Some(&token),
            Some(json!({"appName": "shop", "instanceId": "pod-1",
                "bucket": {"start": "2026-01-01T00:00:00Z", "stop": "2026-01-01T00:01:00Z",
                           "toggles": {"Demo": {"yes": 7, "no": 3}}}})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mut body = String::new();
    for _ in 0..50 {
        body = page(
            &app,
            &viewer,
            "/projects/default/flags/Demo?metrics=production",
        )
        .await
        .body;
        if body.contains("Yes: 7") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(body.contains("Yes: 7") && body.contains("No: 3"), "{body}");
    assert!(body.contains("<svg") && body.contains("<polyline"));
    // Another environment has no evaluations.
    let other = page(
        &app,
        &viewer,
        "/projects/default/flags/Demo?metrics=development",
    )
    .await;
    assert!(other.body.contains("Yes: 0"));
    // The SDK instance is listed among applications.
    let apps = page(&app, &viewer, "/applications").await;
    assert!(apps.body.contains("shop") && apps.body.contains("pod-1"));
    // A viewer sees no switch it could use and no create form.
    let list = page(&app, &viewer, "/").await;
    assert!(list.body.contains("disabled"));
    assert!(!list.body.contains(r#"action="/flags""#));
}

pub async fn sign_in_page_and_security_headers(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    create_user(&app, "ada", "Admin").await;
    let form = request(&app, Method::GET, "/login?next=/events", &[], None).await;
    assert_eq!(form.status, StatusCode::OK);
    let csp = form.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(form.headers["x-frame-options"], "DENY");
    assert_eq!(form.headers["x-content-type-options"], "nosniff");
    assert_eq!(form.headers["referrer-policy"], "same-origin");
    assert!(!form.body.contains("<script>"), "no inline scripts");
    let login_cookie = form.set_cookies[0].split(';').next().unwrap().to_string();
    let token = login_cookie.split('=').nth(1).unwrap().to_string();

    // Without the form token: refused, whatever the password.
    let answer = request(
        &app,
        Method::POST,
        "/login",
        &[],
        Some(&[("username", "ada"), ("password", PASSWORD)]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    // A wrong password: one message that does not say which part was wrong.
    let answer = request(
        &app,
        Method::POST,
        "/login",
        &[("Cookie", &login_cookie)],
        Some(&[
            ("_csrf", &token),
            ("username", "ada"),
            ("password", "Wrong-Pass-1"),
            ("next", "/events"),
        ]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.body.contains("Invalid username or password"));
    let unknown = request(
        &app,
        Method::POST,
        "/login",
        &[("Cookie", &login_cookie)],
        Some(&[
            ("_csrf", &token),
            ("username", "nobody"),
            ("password", "Wrong-Pass-1"),
        ]),
    )
    .await;
    assert!(unknown.body.contains("Invalid username or password"));
    // Right: a session, and on to `next`, but never to another site.
    let answer = request(
        &app,
        Method::POST,
        "/login",
        &[("Cookie", &login_cookie)],
        Some(&[
            ("_csrf", &token),
            ("username", "ada"),
            ("password", PASSWORD),
            ("next", "//evil.example"),
        ]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location, "/");
    let session = answer
        .set_cookies
        .iter()
        .find(|c| c.starts_with("flagpole-session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let home = request(&app, Method::GET, "/", &[("Cookie", &session)], None).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains(r#"name="viewport""#));
    let csrf = home
        .body
        .split(r#"name="_csrf" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let out = request(
        &app,
        Method::POST,
        "/sign-out",
        &[("Cookie", &session)],
        Some(&[("_csrf", &csrf)]),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let after = request(&app, Method::GET, "/", &[("Cookie", &session)], None).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location, "/login?next=%2F");

    // Unknown pages are HTML; unknown API paths keep their JSON.
    let missing = request(&app, Method::GET, "/no-such-page", &[], None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let missing = request(
        &app,
        Method::GET,
        "/api/admin/no-such-thing",
        &[("Authorization", ADMIN_TOKEN)],
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    // Assets are cached for long.
    let css = request(&app, Method::GET, "/ui-assets/ui.css", &[], None).await;
    assert!(css.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age=31536000"));
}

/// Whether node, Chromium and playwright-core (`npm ci` in `e2e/`) are there. With
/// `FLAGPOLE_REQUIRE_BROWSER` set (by `scripts/test.sh` in CI, or where Chromium is installed)
/// missing ones fail the test; otherwise it says it was skipped.
fn chromium_available(e2e: &std::path::Path) -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing: Vec<&str> = [
        (!node).then_some("node"),
        (!std::path::Path::new(&chromium).exists()).then_some("chromium"),
        (!e2e.join("node_modules/playwright-core").exists())
            .then_some("playwright-core (npm ci in e2e/)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return Some(chromium);
    }
    assert!(
        std::env::var_os("FLAGPOLE_REQUIRE_BROWSER").is_none(),
        "the browser test is required, but {} is missing",
        missing.join(", ")
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\nskipped: browser test ({} missing; ./scripts/test.sh installs them)\n",
        missing.join(", ")
    );
    None
}

/// Where screenshots go: `e2e-screenshots/` in the target directory this test was built in.
fn screenshot_dir(backend: &Backend) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    // <target>/debug/deps/api-…
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres(_) => "postgres",
    };
    target.join("e2e-screenshots").join(name)
}

pub async fn the_ui_works_end_to_end_in_chromium(backend: Backend) {
    let e2e = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../e2e");
    let Some(chromium) = chromium_available(&e2e) else {
        return;
    };
    let app = TestApp::spawn(&backend).await;
    create_user(&app, "ada", "Admin").await;
    create_user(&app, "vic", "Viewer").await;
    let shots = screenshot_dir(&backend);
    let base = app.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg("ui.mjs")
            .current_dir(&e2e)
            .env("FLAGPOLE_URL", base)
            .env("ADMIN_USER", "ada")
            .env("VIEWER_USER", "vic")
            .env("PASSWORD", PASSWORD)
            .env("SCREENSHOT_DIR", &shots)
            .env("CHROMIUM", chromium)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser run failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("e2e: all steps passed"), "{stdout}");
    // What the browser did is in the audit log, as the admin.
    let events = app
        .get("/api/admin/search/events?feature=IS:e2e-checkout&limit=50")
        .await;
    let events = events["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["type"] == "feature-strategy-add"));
    assert!(events.iter().all(|e| e["createdBy"] == "ada"), "{events:?}");
    let (_, flag) = app
        .admin(
            Method::GET,
            "/api/admin/projects/default/features/e2e-checkout",
            None,
        )
        .await;
    let development = flag["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "development")
        .unwrap();
    assert_eq!(development["enabled"], true, "the viewer changed nothing");
}

pub async fn users_and_metadata_are_managed_in_the_ui(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    create_user(&app, "ada", "Admin").await;
    let admin = sign_in(&app, "ada").await;

    // A user created in the UI signs in with the password given there.
    let answer = post(
        &app,
        &admin,
        "/users",
        &[
            ("username", "newbie"),
            ("role", "Editor"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let newbie = sign_in(&app, "newbie").await;
    let profile = page(&app, &newbie, "/profile").await;
    assert!(profile.body.contains("Editor"));
    // The same name again is refused next to the field, without echoing the password.
    let answer = post(
        &app,
        &admin,
        "/users",
        &[
            ("username", "NEWBIE"),
            ("role", "Viewer"),
            ("password", "Another-Pass-77"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.body.contains(r#"id="error-username""#),
        "{}",
        answer.body
    );
    assert!(!answer.body.contains("Another-Pass-77"));
    let users = app.get("/api/admin/user-admin").await;
    let id = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "newbie")
        .unwrap()["id"]
        .to_string();
    let answer = post(
        &app,
        &admin,
        &format!("/users/{id}/role"),
        &[("role", "Viewer")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let answer = post(&app, &admin, &format!("/users/{id}/delete"), &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let gone = page(&app, &newbie, "/").await;
    assert_eq!(
        gone.status,
        StatusCode::SEE_OTHER,
        "deleting a user ends their session"
    );
    let events = app
        .get("/api/admin/search/events?createdBy=ada&limit=50")
        .await;
    let types: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for expected in ["user-created", "user-updated", "user-deleted"] {
        assert!(types.contains(&expected), "{types:?}");
    }

    // Each metadata page creates, and refuses a duplicate next to the name field.
    for (path, fields, field) in [
        ("/projects", vec![("id", "web"), ("name", "Web")], "id"),
        (
            "/environments",
            vec![("name", "staging"), ("type", "staging")],
            "name",
        ),
        (
            "/segments",
            vec![("name", "beta-users"), ("action", "save")],
            "name",
        ),
        (
            "/context",
            vec![("name", "region"), ("legal_values", "eu, us")],
            "name",
        ),
        ("/tags", vec![("name", "team")], "name"),
    ] {
        let answer = post(&app, &admin, path, &fields).await;
        assert_eq!(
            answer.status,
            StatusCode::SEE_OTHER,
            "{path}: {}",
            answer.body
        );
        let before = app.event_count().await;
        let answer = post(&app, &admin, path, &fields).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(
            answer.body.contains(&format!(r#"id="error-{field}""#)),
            "{path}: {}",
            answer.body
        );
        assert_eq!(app.event_count().await, before, "{path}: nothing changed");
    }
    let context = app.get("/api/admin/context/region").await;
    assert_eq!(context["legalValues"][1]["value"], "us");
    assert_eq!(
        app.get("/api/admin/projects").await["projects"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

pub async fn editors_cannot_create_or_revoke_admin_tokens(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    create_user(&app, "ed", "Editor").await;
    let editor = sign_in(&app, "ed").await;
    let before = app.event_count().await;
    let answer = post(
        &app,
        &editor,
        "/admin/api-tokens",
        &[("name", "sneaky"), ("type", "admin")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.body.contains(r#"id="error-type""#),
        "{}",
        answer.body
    );
    let digest = flagpole::auth::token::Secret::new(ADMIN_TOKEN).digest();
    let answer = post(
        &app,
        &editor,
        "/admin/api-tokens/revoke",
        &[("token", &digest)],
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(app.event_count().await, before, "nothing changed");
    // Editors do not see admin tokens at all.
    let list = page(&app, &editor, "/admin/api-tokens").await;
    assert!(!list.body.contains("*:*.") && !list.body.contains(&digest));
    // They manage client tokens.
    let answer = post(
        &app,
        &editor,
        "/admin/api-tokens",
        &[
            ("name", "sdk"),
            ("type", "client"),
            ("environment", "development"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let tokens = app.get("/api/admin/api-tokens").await;
    let sdk = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tokenName"] == "sdk")
        .unwrap();
    assert_eq!(sdk["type"], "client");
}

pub async fn flag_page_forms_change_the_flag(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    create_user(&app, "ed", "Editor").await;
    let editor = sign_in(&app, "ed").await;
    app.create_flag("Demo").await;
    app.create_flag("Parent").await;
    app.post("/api/admin/tag-types", json!({"name": "team"}))
        .await;
    let base = "/projects/default/flags/Demo";

    let answer = post(
        &app,
        &editor,
        &format!("{base}/settings"),
        &[
            ("description", "Checkout flow"),
            ("type", "experiment"),
            ("stale", "on"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let answer = post(
        &app,
        &editor,
        &format!("{base}/tags"),
        &[
            ("action", "add"),
            ("tag_type", "team"),
            ("value", "payments"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let answer = post(
        &app,
        &editor,
        &format!("{base}/dependencies"),
        &[("action", "add"), ("parent", "Parent")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let answer = post(
        &app,
        &editor,
        &format!("{base}/environments/production/variants"),
        &[
            ("rows", "3"),
            ("v0.name", "blue"),
            ("v1.name", "green"),
            ("v1.payload_type", "string"),
            ("v1.payload", "hi"),
            ("v2.name", ""),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let flag = app
        .get("/api/admin/projects/default/features/Demo?variantEnvironments=true")
        .await;
    assert_eq!(flag["description"], "Checkout flow");
    assert_eq!(flag["type"], "experiment");
    assert_eq!(flag["stale"], true);
    let tags = app.get("/api/admin/features/Demo/tags").await;
    assert_eq!(
        tags["tags"],
        json!([{"type": "team", "value": "payments", "color": null}])
    );
    assert_eq!(flag["dependencies"][0]["feature"], "Parent");
    let production = flag["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "production")
        .unwrap();
    let variants = production["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert_eq!(
        variants[0]["weight"].as_i64().unwrap() + variants[1]["weight"].as_i64().unwrap(),
        1000
    );
    assert_eq!(
        variants[1]["payload"],
        json!({"type": "string", "value": "hi"})
    );

    // The list filters by tag and staleness.
    let list = page(&app, &editor, "/?tag=team%3Apayments&stale=stale").await;
    assert!(
        list.body.contains(">Demo<") && !list.body.contains(">Parent<"),
        "{}",
        list.body
    );
    // A flag cannot depend on itself: the error is shown, nothing changes.
    let before = app.event_count().await;
    let answer = post(
        &app,
        &editor,
        "/projects/default/flags/Parent/dependencies",
        &[("action", "add"), ("parent", "Parent")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.body.contains(r#"id="error-parent""#),
        "{}",
        answer.body
    );
    assert_eq!(app.event_count().await, before);

    // Tags and dependencies come off again; the flag is archived and revived.
    post(
        &app,
        &editor,
        &format!("{base}/tags"),
        &[
            ("action", "remove"),
            ("tag_type", "team"),
            ("value", "payments"),
        ],
    )
    .await;
    post(
        &app,
        &editor,
        &format!("{base}/dependencies"),
        &[("action", "remove"), ("parent", "Parent")],
    )
    .await;
    let answer = post(&app, &editor, &format!("{base}/archive"), &[]).await;
    assert_eq!(answer.location, "/archive");
    let archive = page(&app, &editor, "/archive").await;
    assert!(archive.body.contains("Demo"));
    let answer = post(&app, &editor, "/archive/Demo/revive", &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let flag = app.get("/api/admin/projects/default/features/Demo").await;
    let tags = app.get("/api/admin/features/Demo/tags").await;
    assert_eq!(tags["tags"], json!([]));
    assert_eq!(flag["dependencies"], json!([]));
    assert_eq!(flag["archived"], false);
}
