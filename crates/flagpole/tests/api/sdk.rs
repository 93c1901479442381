//! The official Unleash SDKs, installed from their registries by `scripts/test.sh`, as the judge
//! of compatibility. Each scenario seeds `sdk-tests/cases.json`, then runs one SDK against it.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, ADMIN_TOKEN};

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk-tests")
}

/// Whether the SDKs are installed. When `FLAGPOLE_REQUIRE_SDKS` is set (as `scripts/test.sh`
/// does) a missing install is a failure; otherwise the SDK tests say they were skipped.
fn sdks_available(marker: &str) -> bool {
    let installed = sdk_dir().join(marker).exists();
    if !installed {
        assert!(
            std::env::var_os("FLAGPOLE_REQUIRE_SDKS").is_none(),
            "SDK tests required, but {marker} is not installed in sdk-tests/"
        );
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\nskipped: SDK test ({marker} missing; ./scripts/test.sh installs it)\n"
        );
    }
    installed
}

/// Creates the segments and flags of `cases.json` through the Admin API.
async fn seed(app: &TestApp) {
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(sdk_dir().join("cases.json")).unwrap())
            .unwrap();
    let mut segment_ids = std::collections::HashMap::new();
    for segment in cases["segments"].as_array().unwrap() {
        let created = app.post("/api/admin/segments", segment.clone()).await;
        segment_ids.insert(
            segment["name"].as_str().unwrap().to_string(),
            created["id"].clone(),
        );
    }
    for flag in cases["flags"].as_array().unwrap() {
        let name = flag["name"].as_str().unwrap();
        app.post(
            "/api/admin/projects/default/features",
            json!({"name": name, "impressionData": true}),
        )
        .await;
        if let Some(strategy) = flag.get("strategy") {
            let mut strategy = strategy.clone();
            if let Some(segment) = flag.get("segment").and_then(Value::as_str) {
                strategy["segments"] = json!([segment_ids[segment]]);
            }
            app.post(
                &format!("/api/admin/projects/default/features/{name}/environments/development/strategies"),
                strategy,
            )
            .await;
            let (status, _) = app
                .admin(
                    Method::POST,
                    &format!(
                        "/api/admin/projects/default/features/{name}/environments/development/on"
                    ),
                    None,
                )
                .await;
            assert!(status.is_success());
        }
    }
}

/// Runs one scenario script on a server seeded with `cases.json`; fails with its output.
async fn run_scenario(backend: Backend, program: &str, script: &str, mode: &str) {
    let app = TestApp::spawn(&backend).await;
    seed(&app).await;
    run_script(&app, program, script, mode).await;
}

/// Runs one scenario script with the server's address and fresh tokens; fails with its output.
async fn run_script(app: &TestApp, program: &str, script: &str, mode: &str) {
    let client = app
        .create_token(json!({"tokenName": "sdk-client", "type": "client", "environment": "development", "projects": ["default"]}))
        .await;
    let frontend = app
        .create_token(json!({"tokenName": "sdk-frontend", "type": "frontend", "environment": "development", "projects": ["default"]}))
        .await;
    let cache = tempfile::tempdir().unwrap();
    let (base, program, script_path, mode) = (
        app.base.clone(),
        program.to_string(),
        script.to_string(),
        mode.to_string(),
    );
    let output = tokio::task::spawn_blocking(move || {
        Command::new(sdk_dir().join(&program))
            .arg(sdk_dir().join(&script_path))
            .current_dir(sdk_dir())
            .env("FLAGPOLE_URL", base)
            .env("FLAGPOLE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("FLAGPOLE_CLIENT_TOKEN", client)
            .env("FLAGPOLE_FRONTEND_TOKEN", frontend)
            .env("FLAGPOLE_SDK_CACHE", cache.path())
            .env("FLAGPOLE_SDK_MODE", mode)
            .output()
            .expect("the SDK scenario starts")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}\n{stderr}"
    );
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{script}: {}", stdout.trim());
}

pub async fn node_server_sdk(backend: Backend) {
    if sdks_available("node_modules/unleash-client") {
        run_scenario(backend, "node-runner", "node-client.mjs", "polling").await;
    }
}

pub async fn python_server_sdk(backend: Backend) {
    if sdks_available(".venv/bin/python") {
        run_scenario(backend, ".venv/bin/python", "python_client.py", "polling").await;
    }
}

pub async fn browser_sdk_against_the_frontend_api(backend: Backend) {
    if sdks_available("node_modules/unleash-proxy-client") {
        run_scenario(backend, "node-runner", "node-frontend.mjs", "polling").await;
    }
}

pub async fn node_server_sdk_delta_polling(backend: Backend) {
    if sdks_available("node_modules/unleash-client") {
        run_scenario(backend, "node-runner", "node-client.mjs", "delta").await;
    }
}

pub async fn node_server_sdk_streaming(backend: Backend) {
    if sdks_available("node_modules/unleash-client") {
        run_scenario(backend, "node-runner", "node-client.mjs", "streaming").await;
    }
}

/// The OpenFeature server SDK with the OFREP provider: booleans, strings, numbers and objects.
pub async fn openfeature_ofrep_provider(backend: Backend) {
    if !sdks_available("node_modules/@openfeature/ofrep-provider") {
        return;
    }
    let app = TestApp::spawn(&backend).await;
    seed(&app).await;
    for (name, variant, payload_type, value) in [
        (
            "ofrep-object",
            "layout",
            "json",
            r#"{"theme": "dark", "columns": [1, 2]}"#,
        ),
        ("ofrep-number", "answer", "number", "42"),
    ] {
        app.create_flag(name).await;
        app.post(
            &format!(
                "/api/admin/projects/default/features/{name}/environments/development/strategies"
            ),
            json!({"name": "flexibleRollout", "parameters": {"rollout": "100"},
                "variants": [{"name": variant, "weight": 1000, "stickiness": "default",
                              "payload": {"type": payload_type, "value": value}}]}),
        )
        .await;
        let (status, _) = app
            .admin(
                Method::POST,
                &format!("/api/admin/projects/default/features/{name}/environments/development/on"),
                None,
            )
            .await;
        assert!(status.is_success());
    }
    run_script(&app, "node-runner", "ofrep.mjs", "").await;
}
