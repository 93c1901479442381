//! The tamper-evident audit log: changes made behind the server's back, directly in the
//! database, are reported by `GET /api/admin/audit/verify` and `flagpole audit verify`.

use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;

use crate::helpers::{serve_args, Backend, TestApp};

/// Runs SQL on the test's database, as someone with database access would.
async fn tamper(app: &TestApp, sql: &str) {
    sqlx::any::install_default_drivers();
    let url = app.database.url().unwrap();
    let mut connection = sqlx::AnyConnection::connect(&url).await.unwrap();
    let result = sqlx::query(sql).execute(&mut connection).await.unwrap();
    assert!(result.rows_affected() > 0, "{sql} changed nothing");
    connection.close().await.unwrap();
}

async fn verify(app: &TestApp) -> Value {
    app.get("/api/admin/audit/verify").await
}

fn verify_with_cli(app: &TestApp) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flagpole"));
    command
        .args(["audit", "verify"])
        .env_remove("DATABASE_URL")
        .env("DATA_DIR", &app.database.data_dir)
        .env("LOG_LEVEL", "warn");
    if let Some(url) = &app.database.database_url {
        command.env("DATABASE_URL", url);
    }
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
    )
}

async fn make_history(app: &TestApp) {
    for name in ["chain-a", "chain-b", "chain-c"] {
        app.create_flag(name).await;
        app.admin(
            Method::POST,
            &format!("/api/admin/features/{name}/toggle/on"),
            None,
        )
        .await;
    }
    // Concurrent writers extend one chain, never fork it.
    let writes = (0..12).map(|i| {
        let path = format!(
            "/api/admin/features/chain-{}/toggle",
            ["a", "b", "c"][i % 3]
        );
        async move { app.admin(Method::POST, &path, None).await }
    });
    for (status, body) in futures_util::future::join_all(writes).await {
        assert!(status.is_success(), "{status} {body}");
    }
}

/// An intact log verifies; an edited event is found, by the API and by the CLI, and the events
/// before it are reported intact.
pub async fn audit_chain_detects_an_edited_event(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    make_history(&app).await;
    let total = app.event_count().await;
    let report = verify(&app).await;
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["eventsChecked"], total);
    assert_eq!(report["head"].as_str().unwrap().len(), 64);
    assert!(report["firstBrokenLink"].is_null());
    let (ok, text) = verify_with_cli(&app);
    assert!(ok && text.contains(&format!("{total} events")), "{text}");

    // Someone rewrites who created a flag, directly in the database.
    let events = app.get("/api/admin/events?limit=1000").await["events"].clone();
    let target = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "feature-created" && e["featureName"] == "chain-b")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    tamper(
        &app,
        &format!("update event set created_by = 'someone-else' where event_id = {target}"),
    )
    .await;
    let report = verify(&app).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["firstBrokenLink"]["eventId"], target);
    assert!(report["firstBrokenLink"]["reason"]
        .as_str()
        .unwrap()
        .contains("changed"));
    let earlier = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["id"].as_i64().unwrap() < target)
        .count();
    assert_eq!(report["eventsChecked"], earlier as u64);
    let (ok, text) = verify_with_cli(&app);
    assert!(!ok, "the CLI exits with failure");
    assert!(
        text.contains(&format!("BROKEN at event {target}")),
        "{text}"
    );

    // Clearing the hashes from the edited event on does not get them re-made at the next start.
    tamper(
        &app,
        &format!("update event set prev_hash = null, hash = null where event_id >= {target}"),
    )
    .await;
    let app = app.restart(serve_args()).await;
    let report = verify(&app).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["firstBrokenLink"]["eventId"], target);
}

/// An event appended without a hash (directly, or by an older server) is reported, and later
/// commits link past it instead of restarting the chain; each event's hash is in the log.
pub async fn audit_chain_reports_an_unchained_event(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("before").await;
    let newest = app.get("/api/admin/events?limit=1").await["events"][0].clone();
    assert_eq!(newest["hash"].as_str().unwrap().len(), 64, "{newest}");
    tamper(
        &app,
        "insert into event (revision, event_type, created_at, created_by, created_by_user_id, tags) \
         values (1, 'feature-created', 0, 'intruder', 0, '[]')",
    )
    .await;
    let stray = app.get("/api/admin/events?limit=1").await["events"][0]["id"]
        .as_i64()
        .unwrap();
    app.create_flag("after").await;
    let report = verify(&app).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["firstBrokenLink"]["eventId"], stray);
    let newest = app.get("/api/admin/events?limit=1").await["events"][0].clone();
    assert_eq!(newest["featureName"], "after");
}

/// Removing an event breaks the link of the one after it; events written before the chain
/// existed are chained at start-up.
pub async fn audit_chain_detects_a_removed_event_and_chains_old_ones(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    make_history(&app).await;

    // Events from before the chain existed (no hashes) are chained at the next start.
    tamper(&app, "update event set prev_hash = null, hash = null").await;
    let app = app.restart(serve_args()).await;
    let report = verify(&app).await;
    assert_eq!(report["valid"], true, "{report}");

    let events = app.get("/api/admin/events?limit=1000").await["events"].clone();
    let ids: Vec<i64> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .rev()
        .collect();
    let (removed, next) = (ids[3], ids[4]);
    tamper(
        &app,
        &format!("delete from event where event_id = {removed}"),
    )
    .await;
    let report = verify(&app).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["firstBrokenLink"]["eventId"], next);
    assert!(report["firstBrokenLink"]["reason"]
        .as_str()
        .unwrap()
        .contains("removed"));

    // Only admins may ask.
    let client = app
        .create_token(json!({"tokenName": "sdk", "type": "client", "environment": "development"}))
        .await;
    let (status, _) = app
        .call(Method::GET, "/api/admin/audit/verify", Some(&client), None)
        .await;
    assert_eq!(status, 403);
}
