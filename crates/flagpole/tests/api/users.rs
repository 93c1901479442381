//! Users, sign-in sessions, CSRF, the sign-in limit, personal access tokens, the first admin and
//! the `flagpole user` commands.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{serve_args, Backend, TestApp};

pub const PASSWORD: &str = "Sturdy-Pass-2024";

/// A signed-in client: its cookie and CSRF token.
#[derive(Debug, Clone)]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

impl Browser {
    /// Headers for a read.
    pub fn reading(&self) -> Vec<(&str, &str)> {
        vec![("Cookie", self.cookie.as_str())]
    }

    /// Headers for a write: the cookie and the CSRF token.
    pub fn writing(&self) -> Vec<(&str, &str)> {
        vec![
            ("Cookie", self.cookie.as_str()),
            ("X-CSRF-Token", self.csrf.as_str()),
        ]
    }
}

/// Creates a user through the Admin API (with the admin token) and returns its id.
pub async fn create_user(app: &TestApp, username: &str, role: &str) -> i64 {
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/admin/user-admin",
            Some(json!({"username": username, "rootRole": role, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().unwrap()
}

/// Signs in and returns the session's cookie and CSRF token, plus the raw `Set-Cookie`.
pub async fn sign_in_raw(
    app: &TestApp,
    login: &str,
    password: &str,
    extra: &[(&str, &str)],
) -> (Browser, String) {
    let (status, headers, body) = app
        .send(
            Method::POST,
            "/auth/simple/login",
            extra,
            Some(json!({"username": login, "password": password})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let set_cookie = headers["set-cookie"].to_str().unwrap().to_string();
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let csrf = headers["x-csrf-token"].to_str().unwrap().to_string();
    (Browser { cookie, csrf }, set_cookie)
}

pub async fn sign_in(app: &TestApp, login: &str) -> Browser {
    sign_in_raw(app, login, PASSWORD, &[]).await.0
}

/// Creates a personal access token for the signed-in user and returns its secret.
pub async fn create_pat(app: &TestApp, browser: &Browser) -> String {
    let expires = chrono::Utc::now() + chrono::Duration::days(1);
    let (status, _, body) = app
        .send(
            Method::POST,
            "/api/admin/user/tokens",
            &browser.writing(),
            Some(json!({"description": "script", "expiresAt": expires})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["secret"].as_str().unwrap().to_string()
}

async fn status_with(app: &TestApp, headers: &[(&str, &str)], path: &str) -> StatusCode {
    app.send(Method::GET, path, headers, None).await.0
}

pub async fn users_crud_with_events(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (status, headers, created) = app
        .send(
            Method::POST,
            "/api/admin/user-admin",
            &[("Authorization", crate::helpers::ADMIN_TOKEN)],
            Some(
                json!({"username": "alice", "email": "Alice@Example.com", "name": "Alice",
                        "rootRole": 2, "password": PASSWORD}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(headers["location"], format!("user-admin/{id}").as_str());
    assert_eq!(created["rootRole"], 2);
    assert_eq!(created["username"], "alice");
    assert!(created.get("password").is_none() && created.get("passwordHash").is_none());

    let listed = app.get("/api/admin/user-admin").await;
    let names: Vec<&str> = listed["rootRoles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Admin", "Editor", "Viewer"]);
    assert_eq!(listed["rootRoles"][0]["id"], 1);
    // The first start made `admin`; alice comes after it.
    let usernames: Vec<&str> = listed["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(usernames, ["admin", "alice"]);
    assert_eq!(
        app.get(&format!("/api/admin/user-admin/{id}")).await["email"],
        "Alice@Example.com"
    );

    // Names are unique in any case, across usernames and emails (a taken one is bad input, as
    // in Unleash); bad input changes nothing.
    let before = app.event_count().await;
    let invalid = [
        (
            json!({"username": "ALICE", "rootRole": 3}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "bob", "email": "alice@example.com", "rootRole": 3}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "bob", "rootRole": 3, "password": "short"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "bob", "rootRole": 3, "password": "onlylowercaseletters"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "bob", "rootRole": 7}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "bob", "rootRole": "Owner"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "Nobody", "rootRole": 3}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "has space", "rootRole": 3}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "not-an-email", "rootRole": 3}),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (body, expected) in invalid {
        let (status, response) = app
            .admin(Method::POST, "/api/admin/user-admin", Some(body.clone()))
            .await;
        assert_eq!(status, expected, "{body} -> {response}");
    }
    let (status, weak) = app
        .admin(
            Method::POST,
            "/api/admin/user-admin",
            Some(json!({"username": "bob", "rootRole": 3, "password": "short"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        weak.to_string().contains("at least 10 characters"),
        "{weak}"
    );
    assert_eq!(app.event_count().await, before);

    // Role names are accepted as Unleash accepts them.
    let (status, viewer) = app
        .admin(
            Method::POST,
            "/api/admin/user-admin",
            Some(json!({"email": "viewer@example.com", "rootRole": "Viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(viewer["rootRole"], 3);
    assert!(viewer["username"].is_null());

    let (status, updated) = app
        .admin(
            Method::PUT,
            &format!("/api/admin/user-admin/{id}"),
            Some(json!({"rootRole": "Admin", "name": "Alice A.", "email": "alice@example.org"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["rootRole"], 1);
    assert_eq!(updated["name"], "Alice A.");
    // The old email is free again, the new one signs in.
    sign_in(&app, "alice@example.org").await;
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/user-admin",
            Some(json!({"email": "alice@example.com", "rootRole": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, _) = app
        .admin(
            Method::POST,
            &format!("/api/admin/user-admin/{id}/change-password"),
            Some(json!({"password": "Another-Pass-99"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/user-admin/validate-password",
            Some(json!({"password": "weak"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/user-admin/validate-password",
            Some(json!({"password": "Good-Enough-1"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = app
        .admin(Method::DELETE, &format!("/api/admin/user-admin/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .admin(Method::GET, &format!("/api/admin/user-admin/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .admin(Method::GET, "/api/admin/user-admin/abc", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The last Admin user stays.
    let admin_id = listed["users"][0]["id"].as_i64().unwrap();
    let (status, body) = app
        .admin(
            Method::DELETE,
            &format!("/api/admin/user-admin/{admin_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("last Admin"));

    // Every change is in the audit log, by the token, and no password or hash is.
    let events = app.get("/api/admin/search/events?limit=100").await;
    let text = events.to_string();
    for (kind, count) in [
        ("user-created", 4),
        ("user-updated", 1),
        ("user-password-changed", 1),
        ("user-deleted", 1),
    ] {
        let found = app
            .get(&format!("/api/admin/search/events?type={kind}"))
            .await;
        assert_eq!(found["total"], count, "{kind}: {found}");
    }
    for secret in [PASSWORD, "Another-Pass-99", "argon2", "passwordHash"] {
        assert!(!text.contains(secret), "{secret} in the audit log");
    }
    let updated_event = app.get("/api/admin/search/events?type=user-updated").await;
    assert_eq!(updated_event["events"][0]["preData"]["rootRole"], 2);
    assert_eq!(updated_event["events"][0]["data"]["rootRole"], 1);
}

pub async fn sign_in_sets_a_session_cookie_and_logout_ends_it(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let id = create_user(&app, "erin", "Editor").await;
    let (browser, set_cookie) = sign_in_raw(&app, "ERIN", PASSWORD, &[]).await;
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=172800"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    assert!(browser.cookie.starts_with("flagpole-session="));
    assert_eq!(browser.csrf.len(), 64);

    let (status, headers, me) = app
        .send(Method::GET, "/api/admin/user", &browser.reading(), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["id"], id);
    assert_eq!(me["user"]["rootRole"], 2);
    assert_eq!(headers["x-csrf-token"], browser.csrf.as_str());
    let permissions = me["permissions"].to_string();
    assert!(permissions.contains("CREATE_FEATURE") && !permissions.contains("\"ADMIN\""));
    let (status, _, profile) = app
        .send(
            Method::GET,
            "/api/admin/user/profile",
            &browser.reading(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(profile["rootRole"]["name"], "Editor");

    // One answer for a wrong password, an unknown user and a user without a password.
    app.post(
        "/api/admin/user-admin",
        json!({"username": "nopass", "rootRole": 3}),
    )
    .await;
    let mut messages = Vec::new();
    for (login, password) in [
        ("erin", "Wrong-Password-1"),
        ("nobody", PASSWORD),
        ("nopass", PASSWORD),
    ] {
        let (status, headers, body) = app
            .send(
                Method::POST,
                "/auth/simple/login",
                &[],
                Some(json!({"username": login, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(headers.get("set-cookie").is_none());
        messages.push(body["message"].clone());
    }
    assert!(messages.iter().all(|m| *m == messages[0]), "{messages:?}");
    let (status, _, _) = app
        .send(
            Method::POST,
            "/auth/simple/login",
            &[],
            Some(json!({"username": "erin"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Logout needs the CSRF token, then ends the session everywhere.
    let (status, _, body) = app
        .send(Method::POST, "/logout", &browser.reading(), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("CSRF"));
    let (status, headers, _) = app
        .send(Method::POST, "/logout", &browser.writing(), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let cleared = headers["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with("flagpole-session=;") && cleared.contains("Max-Age=0"));
    assert_eq!(
        status_with(&app, &browser.reading(), "/api/admin/user").await,
        StatusCode::UNAUTHORIZED
    );
    // Logging out again (no session) is harmless.
    let (status, _, _) = app.send(Method::POST, "/logout", &[], None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

pub async fn cookies_are_secure_over_tls(backend: Backend) {
    let mut serve = serve_args();
    serve.users.trust_proxy = true;
    let app = TestApp::spawn_with(&backend, serve).await;
    create_user(&app, "sam", "Viewer").await;
    let (_, cookie) = sign_in_raw(&app, "sam", PASSWORD, &[("X-Forwarded-Proto", "https")]).await;
    assert!(cookie.contains("; Secure"), "{cookie}");
    let (_, cookie) = sign_in_raw(&app, "sam", PASSWORD, &[("X-Forwarded-Proto", "http")]).await;
    assert!(!cookie.contains("Secure"), "{cookie}");

    // Without a trusted proxy the header is ignored; SECURE_COOKIES marks every cookie.
    let mut serve = serve_args();
    serve.users.secure_cookies = true;
    let app = app.restart(serve.clone()).await;
    let (_, cookie) = sign_in_raw(&app, "sam", PASSWORD, &[]).await;
    assert!(cookie.contains("; Secure"), "{cookie}");
    serve.users.secure_cookies = false;
    let app = app.restart(serve).await;
    let (_, cookie) = sign_in_raw(&app, "sam", PASSWORD, &[("X-Forwarded-Proto", "https")]).await;
    assert!(!cookie.contains("Secure"), "{cookie}");
}

pub async fn sign_in_attempts_are_limited(backend: Backend) {
    let mut serve = serve_args();
    serve.users.trust_proxy = true;
    let app = TestApp::spawn_with(&backend, serve).await;
    create_user(&app, "alice", "Viewer").await;
    create_user(&app, "carol", "Viewer").await;
    let attempt = |login: &'static str, password: &'static str, ip: String| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                "/auth/simple/login",
                &[("X-Forwarded-For", &format!("203.0.113.9, {ip}"))],
                Some(json!({"username": login, "password": password})),
            )
            .await
        }
    };
    // Per username: ten failures from ten addresses block the eleventh address too.
    for n in 0..10 {
        let (status, _, _) = attempt("alice", "Wrong-Password-1", format!("10.0.0.{n}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, headers, body) = attempt("alice", PASSWORD, "10.0.1.1".into()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait > 800 && wait <= 900, "{wait}");
    // Per address: ten failures on different usernames block that address.
    for n in 0..10 {
        let login: &'static str = Box::leak(format!("ghost{n}").into_boxed_str());
        let (status, _, _) = attempt(login, "Wrong-Password-1", "10.0.2.2".into()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _, _) = attempt("carol", PASSWORD, "10.0.2.2".into()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _, _) = attempt("carol", PASSWORD, "10.0.3.3".into()).await;
    assert_eq!(status, StatusCode::OK);
}

pub async fn sessions_expire_when_idle_and_at_their_age(backend: Backend) {
    let mut serve = serve_args();
    serve.users.session_idle_timeout_seconds = 1;
    serve.users.session_max_age_seconds = 3;
    let app = TestApp::spawn_with(&backend, serve).await;
    create_user(&app, "ivy", "Viewer").await;

    let idle = sign_in(&app, "ivy").await;
    assert_eq!(
        status_with(&app, &idle.reading(), "/api/admin/user").await,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        status_with(&app, &idle.reading(), "/api/admin/user").await,
        StatusCode::UNAUTHORIZED,
        "idle for longer than the idle timeout"
    );

    // Activity keeps a session alive past the idle timeout, but not past its age.
    let busy = sign_in(&app, "ivy").await;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        assert_eq!(
            status_with(&app, &busy.reading(), "/api/admin/projects").await,
            StatusCode::OK
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        status_with(&app, &busy.reading(), "/api/admin/projects").await,
        StatusCode::UNAUTHORIZED,
        "older than the session age"
    );
}

pub async fn cookie_writes_need_the_csrf_token(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    create_user(&app, "ed", "Editor").await;
    let browser = sign_in(&app, "ed").await;
    let other = sign_in(&app, "ed").await;
    let path = "/api/admin/projects/default/features";
    let before = app.event_count().await;
    let wrong = format!("{}; x", browser.cookie);
    let attempts: Vec<Vec<(&str, &str)>> = vec![
        browser.reading(),
        vec![("Cookie", &browser.cookie), ("X-CSRF-Token", "nope")],
        // Another session's token does not fit this session.
        vec![("Cookie", &browser.cookie), ("X-CSRF-Token", &other.csrf)],
        vec![("Cookie", &wrong)],
    ];
    for headers in attempts {
        let (status, _, body) = app
            .send(
                Method::POST,
                path,
                &headers,
                Some(json!({"name": "sneaky"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("CSRF token"),
            "{body}"
        );
    }
    assert_eq!(app.event_count().await, before, "nothing changed");
    let (status, _, _) = app
        .send(
            Method::POST,
            path,
            &browser.writing(),
            Some(json!({"name": "allowed"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Reads need none, and neither do tokens in the Authorization header.
    assert_eq!(
        status_with(&app, &browser.reading(), path).await,
        StatusCode::OK
    );
    let pat = create_pat(&app, &browser).await;
    let (status, _) = app
        .call(
            Method::POST,
            path,
            Some(&pat),
            Some(json!({"name": "by-pat"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // The attribution is the user's.
    let events = app
        .get("/api/admin/search/events?type=feature-created")
        .await;
    for event in events["events"].as_array().unwrap() {
        assert_eq!(event["createdBy"], "ed");
    }
}

pub async fn personal_access_tokens_act_as_their_user(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let editor_id = create_user(&app, "ed", "Editor").await;
    create_user(&app, "vic", "Viewer").await;
    let editor = sign_in(&app, "ed").await;
    let viewer = sign_in(&app, "vic").await;

    let expires = chrono::Utc::now() + chrono::Duration::days(30);
    let (status, headers, created) = app
        .send(
            Method::POST,
            "/api/admin/user/tokens",
            &editor.writing(),
            Some(json!({"description": "ci", "expiresAt": expires})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    let pat_id = created["id"].as_i64().unwrap();
    assert_eq!(
        headers["location"],
        format!("user/tokens/{pat_id}").as_str()
    );
    let random = secret.strip_prefix("user:").unwrap();
    assert!(random.len() == 56 && random.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(created["userId"], editor_id);
    let (_, _, listed) = app
        .send(
            Method::GET,
            "/api/admin/user/tokens",
            &editor.reading(),
            None,
        )
        .await;
    assert_eq!(listed["pats"].as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains(&secret),
        "listing shows no secret"
    );
    let (_, _, others) = app
        .send(
            Method::GET,
            "/api/admin/user/tokens",
            &viewer.reading(),
            None,
        )
        .await;
    assert_eq!(others["pats"], json!([]));

    // The PAT writes with the editor's role and is attributed to the editor.
    let bearer = format!("Bearer {secret}");
    let (status, _) = app
        .call(
            Method::POST,
            "/api/admin/projects/default/features",
            Some(&bearer),
            Some(json!({"name": "from-pat"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let events = app
        .get("/api/admin/search/events?type=feature-created")
        .await;
    assert_eq!(events["events"][0]["createdBy"], "ed");
    assert_eq!(events["events"][0]["createdByUserId"], editor_id);
    let (status, me) = app
        .call(Method::GET, "/api/admin/user", Some(&secret), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["username"], "ed");
    // ... and no more than the editor's role.
    for path in ["/api/admin/user-admin", "/api/admin/environments"] {
        let (status, body) = app
            .call(
                Method::POST,
                path,
                Some(&secret),
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert!(body["message"].as_str().unwrap().contains("Admin role"));
    }
    // A PAT is no SDK token.
    let (status, _) = app
        .call(Method::GET, "/api/client/features", Some(&secret), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A viewer's PAT reads but does not write.
    let viewer_pat = create_pat(&app, &viewer).await;
    let (status, _) = app
        .call(Method::GET, "/api/admin/projects", Some(&viewer_pat), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(
            Method::POST,
            "/api/admin/projects/default/features",
            Some(&viewer_pat),
            Some(json!({"name": "nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Someone else's token cannot be deleted; the owner's deletion stops it at once.
    let (status, _, _) = app
        .send(
            Method::DELETE,
            &format!("/api/admin/user/tokens/{pat_id}"),
            &viewer.writing(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = app
        .send(
            Method::DELETE,
            &format!("/api/admin/user/tokens/{pat_id}"),
            &editor.writing(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(Method::GET, "/api/admin/projects", Some(&secret), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for kind in ["pat-created", "pat-deleted"] {
        let found = app
            .get(&format!("/api/admin/search/events?type={kind}"))
            .await;
        assert!(found["total"].as_i64().unwrap() >= 1, "{kind}");
        assert!(!found.to_string().contains(random));
    }

    // Expired tokens are refused; a past expiry cannot be chosen.
    let (status, _, _) = app
        .send(
            Method::POST,
            "/api/admin/user/tokens",
            &editor.writing(),
            Some(json!({"description": "old", "expiresAt": "2001-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Deleting the user stops their tokens and sessions at once.
    let pat = create_pat(&app, &editor).await;
    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!("/api/admin/user-admin/{editor_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(Method::GET, "/api/admin/projects", Some(&pat), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status_with(&app, &editor.reading(), "/api/admin/projects").await,
        StatusCode::UNAUTHORIZED
    );
    // API tokens have no account of their own.
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/admin/user/tokens",
            Some(json!({"description": "x", "expiresAt": expires})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

pub async fn password_changes_end_sessions(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let id = create_user(&app, "pat", "Viewer").await;
    let first = sign_in(&app, "pat").await;
    let second = sign_in(&app, "pat").await;

    // One's own change needs the current password.
    for body in [
        json!({"password": "Brand-New-Pass-1"}),
        json!({"password": "Brand-New-Pass-1", "oldPassword": "Wrong-Password-1"}),
        json!({"password": "Brand-New-Pass-1", "oldPassword": PASSWORD, "confirmPassword": "typo"}),
        json!({"password": "weak", "oldPassword": PASSWORD}),
    ] {
        let (status, _, response) = app
            .send(
                Method::POST,
                "/api/admin/user/change-password",
                &first.writing(),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {response}");
    }
    let (status, _, _) = app
        .send(
            Method::POST,
            "/api/admin/user/change-password",
            &first.writing(),
            Some(json!({"password": "Brand-New-Pass-1", "oldPassword": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for browser in [&first, &second] {
        assert_eq!(
            status_with(&app, &browser.reading(), "/api/admin/user").await,
            StatusCode::UNAUTHORIZED
        );
    }
    let again = sign_in_raw(&app, "pat", "Brand-New-Pass-1", &[]).await.0;

    // An admin's reset ends them too.
    let (status, _) = app
        .admin(
            Method::POST,
            &format!("/api/admin/user-admin/{id}/change-password"),
            Some(json!({"password": "Reset-By-Admin-2"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        status_with(&app, &again.reading(), "/api/admin/user").await,
        StatusCode::UNAUTHORIZED
    );
    sign_in_raw(&app, "pat", "Reset-By-Admin-2", &[]).await;
    let events = app
        .get("/api/admin/search/events?type=user-password-changed")
        .await;
    assert_eq!(events["total"], 2);
    assert_eq!(events["events"][1]["createdBy"], "pat");
}

pub async fn editors_manage_only_sdk_tokens(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    create_user(&app, "ed", "Editor").await;
    let editor = sign_in(&app, "ed").await;
    let (status, _, client) = app
        .send(
            Method::POST,
            "/api/admin/api-tokens",
            &editor.writing(),
            Some(json!({"tokenName": "sdk", "type": "client", "environment": "development"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let (status, _, body) = app
        .send(
            Method::POST,
            "/api/admin/api-tokens",
            &editor.writing(),
            Some(json!({"tokenName": "root", "type": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Admin tokens are not listed to editors, nor can they be revoked by them.
    let (_, _, listed) = app
        .send(
            Method::GET,
            "/api/admin/api-tokens",
            &editor.reading(),
            None,
        )
        .await;
    let types: Vec<&str> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["client"]);
    let (status, _, _) = app
        .send(
            Method::DELETE,
            &format!("/api/admin/api-tokens/{}", crate::helpers::ADMIN_TOKEN),
            &editor.writing(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let secret = client["secret"].as_str().unwrap();
    let (status, _, _) = app
        .send(
            Method::DELETE,
            &format!("/api/admin/api-tokens/{secret}"),
            &editor.writing(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// Runs the real binary against the test's database, with extra environment and stdin.
fn flagpole(
    app: &TestApp,
    arguments: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flagpole"));
    command
        .args(arguments)
        .env_remove("DATABASE_URL")
        .env("DATA_DIR", &app.database.data_dir)
        .env("LOG_LEVEL", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = &app.database.database_url {
        command.env("DATABASE_URL", url);
    }
    let mut child = command.spawn().expect("binary runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let output = child.wait_with_output().expect("binary ends");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

fn password_line(output: &str) -> String {
    output
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .expect("a password line")
        .to_string()
}

pub async fn user_commands_work_on_the_database(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (ok, output, stderr) = flagpole(
        &app,
        &[
            "user",
            "create",
            "--username",
            "carl",
            "--email",
            "carl@example.com",
            "--role",
            "editor",
        ],
        &[],
        None,
    );
    assert!(ok, "{stderr}");
    assert!(output.contains("created user carl"), "{output}");
    let generated = password_line(&output);
    sign_in_raw(&app, "carl@example.com", &generated, &[]).await;

    let (ok, output, stderr) = flagpole(
        &app,
        &[
            "user",
            "create",
            "--username",
            "dana",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        &[],
        Some("Piped-In-Pass-7\n"),
    );
    assert!(ok, "{stderr}");
    assert!(!output.contains("password"), "{output}");
    sign_in_raw(&app, "dana", "Piped-In-Pass-7", &[]).await;

    let (ok, _, stderr) = flagpole(
        &app,
        &[
            "user",
            "create",
            "--username",
            "eve",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        &[],
        Some("weak\n"),
    );
    assert!(!ok && stderr.contains("at least 10 characters"), "{stderr}");
    let (ok, _, stderr) = flagpole(
        &app,
        &["user", "create", "--username", "eve", "--role", "owner"],
        &[],
        None,
    );
    assert!(
        !ok && stderr.contains("admin, editor or viewer"),
        "{stderr}"
    );

    let session = sign_in_raw(&app, "dana", "Piped-In-Pass-7", &[]).await.0;
    let (ok, output, stderr) = flagpole(&app, &["user", "reset-password", "DANA"], &[], None);
    assert!(ok, "{stderr}");
    let reset = password_line(&output);
    assert_eq!(
        status_with(&app, &session.reading(), "/api/admin/user").await,
        StatusCode::UNAUTHORIZED,
        "the reset ended the session"
    );
    sign_in_raw(&app, "dana", &reset, &[]).await;
    let (ok, _, stderr) = flagpole(&app, &["user", "reset-password", "nobody"], &[], None);
    assert!(!ok && stderr.contains("no user"), "{stderr}");

    let (ok, listing, _) = flagpole(&app, &["user", "list"], &[], None);
    assert!(ok);
    for expected in [
        "admin",
        "carl",
        "carl@example.com",
        "Editor",
        "dana",
        "Viewer",
    ] {
        assert!(listing.contains(expected), "{listing}");
    }
    assert!(!listing.contains(&reset) && !listing.contains("argon2"));
    let events = app
        .get("/api/admin/search/events?createdBy=flagpole-cli")
        .await;
    assert_eq!(events["total"], 3, "two creations and a reset");
}

/// Starts `flagpole serve` on the test's database and reads its log until it serves (or ends).
/// Returns the child, to be stopped by the caller, and the log lines read.
fn serve_binary(app: &TestApp, env: &[(&str, &str)]) -> (std::process::Child, Vec<String>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flagpole"));
    command
        .args(["serve", "--port", "0", "--host", "127.0.0.1"])
        .env_remove("DATABASE_URL")
        .env_remove("UNLEASH_DEFAULT_ADMIN_USERNAME")
        .env_remove("UNLEASH_DEFAULT_ADMIN_PASSWORD")
        .env("DATA_DIR", &app.database.data_dir)
        .env("LOG_LEVEL", "info")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = &app.database.database_url {
        command.env("DATABASE_URL", url);
    }
    let mut child = command.spawn().expect("binary runs");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        let serving = line.contains("Flagpole is serving");
        lines.push(line);
        if serving {
            break;
        }
    }
    (child, lines)
}

/// Stops a server started by `serve_binary` (it is this test's own child) and returns its
/// standard error.
fn stop(mut child: std::process::Child) -> String {
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stderr).to_string()
}

fn mentions_a_password(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|l| l.to_lowercase().contains("password"))
        .collect()
}

pub async fn first_start_creates_an_admin_and_prints_its_password_once(backend: Backend) {
    let blank = TestApp::unstarted(&backend).await;
    let (child, lines) = serve_binary(&blank, &[]);
    stop(child);
    let announcements = mentions_a_password(&lines);
    assert_eq!(announcements.len(), 1, "{lines:?}");
    let line = announcements[0];
    assert!(
        line.contains("\"admin\"") && line.contains("shown only this once"),
        "{line}"
    );
    let password = line
        .split("with password ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_string();
    assert_eq!(password.len(), 20, "{line}");

    // Later starts print no password.
    let (child, lines) = serve_binary(&blank, &[]);
    stop(child);
    assert!(
        lines.iter().any(|l| l.contains("Flagpole is serving")),
        "{lines:?}"
    );
    assert!(mentions_a_password(&lines).is_empty(), "{lines:?}");

    // The printed password signs in as the one Admin.
    let server = TestApp::start(blank.database.clone(), serve_args()).await;
    let browser = sign_in_raw(&server, "admin", &password, &[]).await.0;
    let (_, _, me) = server
        .send(Method::GET, "/api/admin/user", &browser.reading(), None)
        .await;
    assert_eq!(me["user"]["rootRole"], 1);
    let listed = server.get("/api/admin/user-admin").await;
    assert_eq!(listed["users"].as_array().unwrap().len(), 1);
    drop(server);

    // Configured credentials create that admin instead; a weak password refuses to start.
    let configured = TestApp::unstarted(&backend).await;
    let weak = [
        ("UNLEASH_DEFAULT_ADMIN_USERNAME", "root"),
        ("UNLEASH_DEFAULT_ADMIN_PASSWORD", "unleash4all"),
    ];
    let (child, lines) = serve_binary(&configured, &weak);
    let stderr = stop(child);
    assert!(
        !lines.iter().any(|l| l.contains("Flagpole is serving")),
        "{lines:?}"
    );
    assert!(
        stderr.contains("UNLEASH_DEFAULT_ADMIN_PASSWORD") && !stderr.contains("unleash4all"),
        "{stderr}"
    );
    let good = [
        ("UNLEASH_DEFAULT_ADMIN_USERNAME", "root"),
        ("UNLEASH_DEFAULT_ADMIN_PASSWORD", "Configured-Pass-1"),
    ];
    let (child, lines) = serve_binary(&configured, &good);
    stop(child);
    assert!(
        lines.iter().any(|l| l.contains("Flagpole is serving")),
        "{lines:?}"
    );
    assert!(mentions_a_password(&lines).is_empty(), "{lines:?}");
    let server = TestApp::start(configured.database.clone(), serve_args()).await;
    let browser = sign_in_raw(&server, "root", "Configured-Pass-1", &[])
        .await
        .0;
    let (_, _, me) = server
        .send(Method::GET, "/api/admin/user", &browser.reading(), None)
        .await;
    assert_eq!(me["user"]["username"], "root");
    assert_eq!(me["user"]["rootRole"], 1);
    let listed = server.get("/api/admin/user-admin").await;
    assert_eq!(listed["users"].as_array().unwrap().len(), 1);
}
