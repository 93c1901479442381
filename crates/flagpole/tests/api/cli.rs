use std::process::Command;

use reqwest::{Method, StatusCode};

use crate::helpers::{Backend, TestApp};

/// Runs the real binary against the test's database.
fn flagpole(app: &TestApp, arguments: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flagpole"));
    command
        .args(arguments)
        .env_remove("DATABASE_URL")
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

/// `flagpole token create|list|revoke` and `migrate` work on the database directly, and a
/// running server sees their effect.
pub async fn token_commands_work_on_the_database(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (ok, _, stderr) = flagpole(&app, &["migrate"]);
    assert!(ok, "{stderr}");
    let (ok, secret, stderr) = flagpole(
        &app,
        &["token", "create", "--name", "ci-bot", "--type", "admin"],
    );
    assert!(ok, "{stderr}");
    assert!(
        secret.starts_with("*:*.") && secret.len() == 4 + 56,
        "{secret}"
    );

    // The running server picks the new token up by itself, within its sync interval.
    let mut status = StatusCode::UNAUTHORIZED;
    for _ in 0..50 {
        status = app
            .call(Method::GET, "/api/admin/projects", Some(&secret), None)
            .await
            .0;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, StatusCode::OK);

    let (ok, listing, _) = flagpole(&app, &["token", "list"]);
    assert!(ok);
    assert!(
        listing.contains("ci-bot") && !listing.contains(&secret),
        "{listing}"
    );

    let (ok, _, stderr) = flagpole(
        &app,
        &[
            "token",
            "create",
            "--name",
            "x",
            "--type",
            "client",
            "--environment",
            "nope",
        ],
    );
    assert!(
        !ok && stderr.contains("Environment=nope does not exist"),
        "{stderr}"
    );

    let (ok, output, stderr) = flagpole(&app, &["token", "revoke", &secret]);
    assert!(ok, "{stderr}");
    assert_eq!(output, "revoked");
    let (ok, _, _) = flagpole(&app, &["token", "revoke", &secret]);
    assert!(!ok, "revoking twice says so");
    let events = app
        .get("/api/admin/search/events?createdBy=flagpole-cli")
        .await;
    assert_eq!(events["total"], 2);
}
