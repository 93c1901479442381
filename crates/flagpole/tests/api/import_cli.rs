//! `flagpole import --from-unleash`: against a small HTTP server replaying the Admin API
//! responses recorded from a real Unleash 8.2 (always), against another Flagpole (always), and
//! against a real Unleash when `UNLEASH_URL` is set and reachable.

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method as HttpMethod, StatusCode as HttpStatus, Uri};
use axum::response::IntoResponse;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::batch::create_segment;
use crate::helpers::{Backend, TestApp, ADMIN_TOKEN};

const RECORDED_TOKEN: &str = "*:*.recorded-unleash-admin-token";

/// Runs `flagpole import` on the test's database; returns (success, stdout, stderr).
fn import(app: &TestApp, url: &str, token: &str) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flagpole"));
    command
        .args(["import", "--from-unleash", url, "--token", token])
        .env_remove("DATABASE_URL")
        .env_remove("UNLEASH_ADMIN_TOKEN")
        .env("DATA_DIR", &app.database.data_dir)
        .env("LOG_LEVEL", "warn");
    if let Some(url) = &app.database.database_url {
        command.env("DATABASE_URL", url);
    }
    let output = command.output().expect("binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

/// Serves the recorded exchanges: same method, path, query and JSON body, right token.
async fn recorded_unleash() -> String {
    let exchanges: Vec<Value> =
        serde_json::from_str(include_str!("../fixtures/unleash/admin-api.json")).unwrap();
    let app = axum::Router::new().fallback(
        move |method: HttpMethod, uri: Uri, headers: HeaderMap, body: Bytes| {
            let exchanges = exchanges.clone();
            async move {
                if headers.get("authorization").and_then(|v| v.to_str().ok())
                    != Some(RECORDED_TOKEN)
                {
                    return (
                        HttpStatus::UNAUTHORIZED,
                        axum::Json(json!({"message": "no"})),
                    )
                        .into_response();
                }
                let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("");
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let found = exchanges.iter().find(|e| {
                    e["method"] == method.as_str() && e["path"] == path && e["body"] == body
                });
                match found {
                    Some(exchange) => axum::Json(exchange["response"].clone()).into_response(),
                    None => (
                        HttpStatus::NOT_FOUND,
                        format!("not recorded: {method} {path}"),
                    )
                        .into_response(),
                }
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}")
}

/// The counts line of one kind in the report, as numbers: created, updated, unchanged.
fn counts(report: &str, kind: &str) -> Vec<u32> {
    let line = report
        .lines()
        .find(|l| l.starts_with(kind) && l[kind.len()..].starts_with("  "))
        .unwrap_or_else(|| panic!("no {kind} line in\n{report}"));
    line[kind.len()..]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

/// Waits until the running server sees a change made by the command.
async fn eventually_get(app: &TestApp, path: &str) -> Value {
    for _ in 0..100 {
        let (status, body) = app.admin(Method::GET, path, None).await;
        if status == StatusCode::OK {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} never appeared");
}

pub async fn import_from_recorded_unleash(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let unleash = recorded_unleash().await;
    // A segment of Flagpole's own takes id 1; Unleash's beta-users (id 1) must get another.
    let own = create_segment(&app, "flagpole-only").await;

    let (ok, _, stderr) = import(&app, &unleash, "*:*.wrong");
    assert!(!ok);
    assert!(stderr.contains("--token"), "{stderr}");

    let (ok, report, stderr) = import(&app, &format!("{unleash}/api/"), RECORDED_TOKEN);
    assert!(ok, "{stderr}");
    assert_eq!(counts(&report, "projects"), [0, 0, 1], "{report}");
    assert_eq!(counts(&report, "environments"), [0, 0, 2]);
    // `simple` is built in: Unleash's description replaces Flagpole's.
    assert_eq!(counts(&report, "tag types"), [1, 1, 0]);
    assert_eq!(counts(&report, "context fields"), [1, 0, 0]);
    assert_eq!(counts(&report, "segments"), [2, 0, 0]);
    assert_eq!(counts(&report, "flags"), [6, 0, 0]);
    assert_eq!(counts(&report, "strategies"), [10, 0, 0]);
    assert!(
        report.contains("flag old-landing: archived in Unleash"),
        "{report}"
    );
    assert!(report.contains("built in to Flagpole"), "{report}");
    assert!(report.contains("betaCountries"), "{report}");

    // The running server sees it all, with Unleash's segment ids mapped to Flagpole's.
    let checkout = eventually_get(&app, "/api/admin/projects/default/features/checkout-v2").await;
    let segments = app.get("/api/admin/segments").await;
    let id_of = |name: &str| {
        segments["segments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (beta, internal) = (id_of("beta-users"), id_of("internal"));
    assert!(beta != own && internal != own && beta != internal);
    let development = &checkout["environments"][0];
    assert_eq!(development["enabled"], true);
    assert_eq!(development["strategies"][0]["title"], "Half of EU beta");
    assert_eq!(development["strategies"][0]["segments"], json!([beta]));
    assert_eq!(
        development["strategies"][0]["constraints"][2],
        json!({"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com"],
               "caseInsensitive": true, "inverted": true})
    );
    let production = &checkout["environments"][1];
    assert_eq!(production["enabled"], false);
    assert_eq!(production["strategies"][0]["segments"], json!([internal]));
    assert_eq!(
        production["strategies"][0]["constraints"][1]["operator"],
        "NOT_IN"
    );
    // Strategy ids are Unleash's.
    assert_eq!(
        development["strategies"][0]["id"],
        "01M8HC7KASTM5QQQ1CPPTHFYMP"
    );

    let kill = app
        .get("/api/admin/projects/default/features/kill-payments")
        .await;
    assert_eq!(kill["stale"], true);
    assert_eq!(kill["environments"][0]["enabled"], true);
    assert_eq!(kill["environments"][1]["enabled"], true);
    let pricing = app
        .get("/api/admin/projects/default/features/new-pricing")
        .await;
    assert_eq!(pricing["impressionData"], true);
    assert_eq!(pricing["type"], "experiment");
    let tags = app.get("/api/admin/features/new-pricing/tags").await;
    assert_eq!(tags["tags"].as_array().unwrap().len(), 2);
    let banner = app
        .get("/api/admin/projects/default/features/pricing-banner")
        .await;
    assert_eq!(banner["dependencies"][0]["feature"], "new-pricing");
    assert_eq!(
        banner["dependencies"][0]["variants"],
        json!(["cheap", "premium"])
    );
    let variants = app
        .get("/api/admin/projects/default/features/banner-colour/environments/development/variants")
        .await;
    assert_eq!(variants["variants"][1]["name"], "teal");
    assert_eq!(
        variants["variants"][1]["overrides"][0]["values"],
        json!(["7"])
    );
    let banner_colour = app
        .get("/api/admin/projects/default/features/banner-colour")
        .await;
    assert_eq!(
        banner_colour["environments"][1]["strategies"][0]["parameters"]["IPs"],
        "192.168.0.1,10.1.0.0/16"
    );
    let (status, _) = app
        .admin(
            Method::GET,
            "/api/admin/projects/default/features/old-landing",
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "archived flags are not copied"
    );
    let region = app.get("/api/admin/context/region").await;
    assert_eq!(region["legalValues"].as_array().unwrap().len(), 2);

    // Every change is in the audit log, attributed to the import.
    let events = app
        .get("/api/admin/search/events?createdBy=flagpole-import&type=feature-created")
        .await;
    assert_eq!(events["total"], 6);
    let segment_events = app
        .get("/api/admin/search/events?createdBy=flagpole-import&type=segment-created")
        .await;
    assert_eq!(segment_events["total"], 2);

    // Running it again changes nothing.
    let before = app.event_count().await;
    let (ok, report, stderr) = import(&app, &unleash, RECORDED_TOKEN);
    assert!(ok, "{stderr}");
    assert_eq!(counts(&report, "flags"), [0, 0, 6], "{report}");
    assert_eq!(counts(&report, "segments"), [0, 0, 2]);
    assert_eq!(counts(&report, "strategies"), [0, 0, 10]);
    assert_eq!(app.event_count().await, before);

    // A change made in Flagpole is put back to Unleash's state on the next run.
    let path = "/api/admin/projects/default/features/checkout-v2/environments/development/off";
    let (status, _) = app.admin(Method::POST, path, None).await;
    assert_eq!(status, StatusCode::OK);
    let (ok, report, stderr) = import(&app, &unleash, RECORDED_TOKEN);
    assert!(ok, "{stderr}");
    assert_eq!(counts(&report, "flags"), [0, 1, 5], "{report}");
    let mut enabled = Value::Null;
    for _ in 0..100 {
        enabled = app
            .get("/api/admin/projects/default/features/checkout-v2")
            .await["environments"][0]["enabled"]
            .clone();
        if enabled == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(enabled, true);
}

/// Flagpole speaks the same Admin API, so it can be a source too: this covers several projects
/// and an extra environment, which the open-source Unleash does not offer.
pub async fn import_from_another_flagpole(backend: Backend) {
    let source = TestApp::spawn(&backend).await;
    source
        .post(
            "/api/admin/projects",
            json!({"id": "growth", "name": "Growth"}),
        )
        .await;
    source
        .post(
            "/api/admin/environments",
            json!({"name": "staging", "type": "test"}),
        )
        .await;
    source
        .post(
            "/api/admin/projects/growth/features",
            json!({"name": "onboarding", "type": "experiment"}),
        )
        .await;
    source.create_flag("header").await;
    source
        .post(
            "/api/admin/projects/growth/features/onboarding/environments/staging/strategies",
            json!({"name": "flexibleRollout", "parameters": {"rollout": "25"},
                   "constraints": [{"contextName": "userId", "operator": "NUM_GTE", "value": "5"}]}),
        )
        .await;
    source
        .post(
            "/api/admin/projects/growth/features/onboarding/environments/staging/on",
            json!({}),
        )
        .await;
    // A flag the target already has in another project is skipped, with the reason.
    source.create_flag("taken").await;

    let target = TestApp::spawn(&backend).await;
    target
        .post(
            "/api/admin/projects",
            json!({"id": "elsewhere", "name": "Elsewhere"}),
        )
        .await;
    target
        .post(
            "/api/admin/projects/elsewhere/features",
            json!({"name": "taken"}),
        )
        .await;
    let (ok, report, stderr) = import(&target, &source.base, ADMIN_TOKEN);
    assert!(ok, "{stderr}");
    assert_eq!(counts(&report, "projects"), [1, 0, 1], "{report}");
    assert_eq!(counts(&report, "environments"), [1, 0, 2]);
    assert_eq!(counts(&report, "flags"), [2, 0, 0]);
    assert!(
        report.contains("flag taken: exists in Flagpole project elsewhere"),
        "{report}"
    );
    let onboarding =
        eventually_get(&target, "/api/admin/projects/growth/features/onboarding").await;
    assert_eq!(onboarding["type"], "experiment");
    let staging = onboarding["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "staging")
        .unwrap();
    assert_eq!(staging["enabled"], true);
    assert_eq!(staging["type"], "test");
    assert_eq!(staging["strategies"][0]["parameters"]["rollout"], "25");
    target
        .get("/api/admin/projects/default/features/header")
        .await;
    let taken = target
        .get("/api/admin/projects/elsewhere/features/taken")
        .await;
    assert_eq!(taken["project"], "elsewhere");
}

/// Against a real Unleash, when `UNLEASH_URL` (and `UNLEASH_ADMIN_TOKEN`) point at one.
pub async fn import_from_real_unleash(backend: Backend) {
    let Some((url, token)) = real_unleash().await else {
        return;
    };
    let app = TestApp::spawn(&backend).await;
    let (ok, report, stderr) = import(&app, &url, &token);
    assert!(ok, "{stderr}");
    assert!(report.contains("flags"), "{report}");

    // Every live flag of every project is now in Flagpole, in the same project.
    let http = reqwest::Client::new();
    let projects: Value = http
        .get(format!("{url}/api/admin/projects"))
        .header("Authorization", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for project in projects["projects"].as_array().unwrap() {
        let id = project["id"].as_str().unwrap();
        let listed: Value = http
            .get(format!("{url}/api/admin/projects/{id}/features"))
            .header("Authorization", &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for flag in listed["features"].as_array().unwrap() {
            let name = flag["name"].as_str().unwrap();
            let copied =
                eventually_get(&app, &format!("/api/admin/projects/{id}/features/{name}")).await;
            assert_eq!(copied["type"], flag["type"], "{name}");
        }
    }
    let (ok, again, stderr) = import(&app, &url, &token);
    assert!(ok, "{stderr}");
    assert_eq!(counts(&again, "flags")[..2], [0, 0], "{again}");
}

async fn real_unleash() -> Option<(String, String)> {
    let skip = |why: &str| {
        let _ = writeln!(
            std::io::stderr(),
            "\nskipped: import from a real Unleash ({why}; set UNLEASH_URL and UNLEASH_ADMIN_TOKEN)\n"
        );
        None
    };
    let Some(url) = std::env::var("UNLEASH_URL").ok().filter(|u| !u.is_empty()) else {
        return skip("UNLEASH_URL is not set");
    };
    let token = std::env::var("UNLEASH_ADMIN_TOKEN")
        .unwrap_or_else(|_| "*:*.unleash-insecure-admin-api-token".into());
    let url = url.trim_end_matches('/').to_owned();
    let reachable = reqwest::Client::new()
        .get(format!("{url}/health"))
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success());
    if !reachable {
        return skip(&format!("{url} is not reachable"));
    }
    Some((url, token))
}
