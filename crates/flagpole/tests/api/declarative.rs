//! `flagpole export` and `flagpole apply`, run as the real binary against a test server's
//! database, checked through the Admin and Client APIs.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};

/// The documented example, applied as it is committed.
fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/flags.yaml")
}

fn example_text() -> String {
    std::fs::read_to_string(example()).unwrap()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the real binary against the test's database.
fn flagpole(app: &TestApp, arguments: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flagpole"));
    command
        .args(arguments)
        .env_remove("DATABASE_URL")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .env("DATA_DIR", &app.database.data_dir)
        .env("LOG_LEVEL", "warn");
    if let Some(url) = &app.database.database_url {
        command.env("DATABASE_URL", url);
    }
    let output = command.output().expect("binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).to_string(),
    }
}

fn apply(app: &TestApp, file: &Path, flags: &[&str]) -> Run {
    let mut arguments = vec!["apply"];
    arguments.extend_from_slice(flags);
    let file = file.to_str().unwrap();
    arguments.push(file);
    flagpole(app, &arguments)
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A client token for one environment and every project.
async fn client_token(app: &TestApp, environment: &str) -> String {
    app.create_token(json!({
        "tokenName": format!("sdk-{environment}"),
        "type": "client",
        "projects": ["*"],
        "environment": environment,
    }))
    .await
}

/// The Client API body (segments inlined, as older SDKs get it). An Admin API read first makes
/// the server pick up what the command wrote.
async fn client_body(app: &TestApp, token: &str) -> Value {
    app.get("/api/admin/projects").await;
    let (status, body) = app
        .call(Method::GET, "/api/client/features", Some(token), None)
        .await;
    assert!(status.is_success(), "{status} {body}");
    body
}

/// The revision the server serves, from the delta API's ETag.
async fn served_revision(app: &TestApp, token: &str) -> String {
    app.get("/api/admin/projects").await;
    let response = app
        .http
        .get(app.url("/api/client/delta"))
        .header("Authorization", token)
        .send()
        .await
        .unwrap();
    response.headers()["etag"].to_str().unwrap().to_string()
}

fn feature<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("{name} is served: {body}"))
}

/// The body without what differs between databases by design: generated strategy ids and the
/// revision metadata.
fn comparable(mut body: Value) -> Value {
    body.as_object_mut().unwrap().remove("meta");
    for feature in body["features"].as_array_mut().unwrap() {
        for strategy in feature["strategies"].as_array_mut().unwrap() {
            strategy.as_object_mut().unwrap().remove("id");
        }
    }
    body
}

async fn events_by_apply(app: &TestApp) -> Value {
    app.get("/api/admin/search/events?createdBy=flagpole-apply&limit=1000")
        .await
}

/// The committed example is applied, served to SDKs as written, and applying it again changes
/// nothing: no events, no new revision.
pub async fn example_is_applied_served_and_idempotent(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let before = app.event_count().await;

    let run = apply(&app, &example(), &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("+ create flag new-checkout (project checkout)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with("applied: 7 created\n"),
        "{}",
        run.stdout
    );

    // One event per changed thing, each attributed to the apply.
    let events = events_by_apply(&app).await;
    let mut types: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    types.sort();
    let count = |t: &str| types.iter().filter(|x| **x == t).count();
    assert_eq!(count("project-created"), 1);
    assert_eq!(count("segment-created"), 1);
    assert_eq!(count("tag-type-created"), 1);
    assert_eq!(count("context-field-created"), 1);
    assert_eq!(count("feature-created"), 3);
    assert_eq!(count("feature-strategy-add"), 5);
    assert_eq!(count("feature-environment-enabled"), 5);
    assert_eq!(count("feature-environment-variants-updated"), 1);
    assert_eq!(count("feature-dependency-added"), 1);
    assert_eq!(types.len(), 19, "{types:?}");
    assert_eq!(app.event_count().await, before + 19);

    let production = client_token(&app, "production").await;
    let body = client_body(&app, &production).await;
    let checkout = feature(&body, "new-checkout");
    assert_eq!(checkout["enabled"], true);
    assert_eq!(checkout["impressionData"], true);
    assert_eq!(checkout["project"], "checkout");
    let rollout = &checkout["strategies"][0];
    assert_eq!(rollout["name"], "flexibleRollout");
    assert_eq!(rollout["parameters"]["rollout"], "50");
    assert_eq!(rollout["parameters"]["stickiness"], "userId");
    assert_eq!(
        rollout["constraints"],
        json!([
            {"contextName": "region", "operator": "IN", "values": ["eu"]},
            {"contextName": "appVersion", "operator": "SEMVER_GTE", "values": [],
             "value": "2.4.0"},
        ])
    );
    // The segment, named in the file, is inlined for this (pre-4.2) client.
    assert_eq!(checkout["strategies"][1]["name"], "default");
    assert_eq!(
        checkout["strategies"][1]["constraints"][0]["values"],
        json!(["alice", "bob"])
    );
    let color = feature(&body, "checkout-button-color");
    assert_eq!(color["dependencies"][0]["feature"], "new-checkout");
    let constraints = &color["strategies"][0]["constraints"];
    assert_eq!(constraints[0]["caseInsensitive"], true);
    assert_eq!(constraints[1]["inverted"], true);
    assert_eq!(constraints[1]["values"], json!(["@example.com"]));
    let variants: Vec<(&str, u64)> = color["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["weight"].as_u64().unwrap()))
        .collect();
    // Saved in Unleash's order, by name, whatever the file's order.
    assert_eq!(variants, vec![("blue", 200), ("green", 800)]);
    assert_eq!(
        color["variants"][1]["payload"]["value"],
        "{\"color\": \"#0a0\"}"
    );
    let kill = feature(&body, "payments-kill-switch");
    assert_eq!(kill["strategies"][0]["constraints"][0]["inverted"], true);

    // Off in development: the flag the file does not switch on there.
    let development = client_token(&app, "development").await;
    let body = client_body(&app, &development).await;
    assert_eq!(feature(&body, "checkout-button-color")["enabled"], false);
    assert_eq!(feature(&body, "new-checkout")["strategies"], json!([]));
    assert_eq!(feature(&body, "new-checkout")["enabled"], true);

    // Again: nothing to do, nothing written, the served revision unchanged.
    let events = app.event_count().await;
    let revision = served_revision(&app, &production).await;
    let run = apply(&app, &example(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "no changes\n");
    let run = apply(&app, &example(), &["--dry-run"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "no changes\n"));
    assert_eq!(app.event_count().await, events);
    assert_eq!(served_revision(&app, &production).await, revision);
}

/// A dry run prints exactly what would change and changes nothing; editing one constraint
/// then changes only that strategy (same id), with one event.
pub async fn dry_run_plans_and_one_edit_is_one_event(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let dir = tempfile::tempdir().unwrap();

    let run = apply(&app, &example(), &["--dry-run"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("+ create flag checkout-button-color (project checkout)\n    production: on, 1 strategy\n"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .ends_with("dry run: 7 to create (nothing was changed)\n"));
    let (status, _) = app
        .admin(Method::GET, "/api/admin/projects/checkout", None)
        .await;
    assert_eq!(status, 404, "a dry run creates nothing");

    assert_eq!(apply(&app, &example(), &[]).code, 0);
    let strategies =
        "/api/admin/projects/checkout/features/new-checkout/environments/production/strategies";
    let ids_before: Vec<Value> = app
        .get(strategies)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    let production = client_token(&app, "production").await;
    let served_before = client_body(&app, &production).await;
    let events = app.event_count().await;

    let edited = example_text().replacen("values: [eu]", "values: [eu, us]", 1);
    let edited = write(&dir, "edited.yaml", &edited);
    let run = apply(&app, &edited, &["--dry-run"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "~ update flag new-checkout (project checkout)\n    \
         environments.production.strategies[0].constraints[0].values: [\"eu\"] → [\"eu\",\"us\"]\n\
         dry run: 1 to update (nothing was changed)\n"
    );
    assert_eq!(app.event_count().await, events);
    assert_eq!(client_body(&app, &production).await, served_before);

    let run = apply(&app, &edited, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.ends_with("applied: 1 updated\n"),
        "{}",
        run.stdout
    );
    assert_eq!(app.event_count().await, events + 1);
    let latest = app.get("/api/admin/search/events?limit=1").await;
    let event = &latest["events"][0];
    assert_eq!(event["type"], "feature-strategy-update");
    assert_eq!(event["createdBy"], "flagpole-apply");
    assert_eq!(event["featureName"], "new-checkout");
    assert_eq!(event["environment"], "production");
    assert_eq!(event["preData"]["constraints"][0]["values"], json!(["eu"]));
    assert_eq!(
        event["data"]["constraints"][0]["values"],
        json!(["eu", "us"])
    );

    let ids_after: Vec<Value> = app
        .get(strategies)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(ids_after, ids_before, "strategies keep their ids");
    let served = client_body(&app, &production).await;
    assert_eq!(
        feature(&served, "new-checkout")["strategies"][0]["constraints"][0]["values"],
        json!(["eu", "us"])
    );
    for other in ["checkout-button-color", "payments-kill-switch"] {
        assert_eq!(feature(&served, other), feature(&served_before, other));
    }

    // Going back is again exactly one change.
    let run = apply(&app, &example(), &[]);
    assert!(
        run.stdout.ends_with("applied: 1 updated\n"),
        "{}",
        run.stdout
    );
    assert_eq!(app.event_count().await, events + 2);
}

/// Files with mistakes are refused with a message naming the problem, and nothing changes,
/// not even the parts of the file that were fine.
pub async fn bad_files_are_refused_and_change_nothing(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(apply(&app, &example(), &[]).code, 0);
    let production = client_token(&app, "production").await;
    let served = client_body(&app, &production).await;
    let events = app.event_count().await;

    // A good new flag first (in name order), then a broken one: neither lands.
    let extra = "
  - name: aaa-fine
    environments:
      production:
        enabled: true
";
    let text = example_text();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unknown operator",
            text.replacen("operator: SEMVER_GTE", "operator: SEMVER_BIGGER", 1) + extra,
            "flag new-checkout, environment production, strategy 1 (flexibleRollout): The `operator` property must be equal to one of the allowed values",
        ),
        (
            "unknown segment",
            text.replacen("segments: [beta-testers]", "segments: [gamma-testers]", 1) + extra,
            "flag new-checkout, environment production, strategy 2 (default): segment \"gamma-testers\" does not exist",
        ),
        (
            "missing environment",
            text.replacen("      development:\n        enabled: true\n      production:", "      staging:\n        enabled: true\n      production:", 1)
                + extra,
            "flag new-checkout, environment staging: no such environment",
        ),
        (
            "a list where text belongs",
            text.replacen("    type: release\n", "    type: [release\n", 1),
            "line 42 column 11",
        ),
        (
            "broken indentation",
            text.replacen("    type: release\n", "   type: release\n", 1),
            "line 42 column 4",
        ),
        (
            "misspelt field",
            text.replacen("impressionData: true", "impressionDatta: true", 1),
            "unknown field `impressionDatta`",
        ),
        (
            "newer version",
            text.replacen("version: 1", "version: 2", 1),
            "unsupported version 2",
        ),
    ];
    for (case, text, expected) in cases {
        let path = write(&dir, "bad.yaml", &text);
        for flags in [&[][..], &["--dry-run"][..]] {
            let run = apply(&app, &path, flags);
            assert_eq!(run.code, 1, "{case}: {}{}", run.stdout, run.stderr);
            assert!(run.stderr.contains(expected), "{case}: {}", run.stderr);
            assert!(run.stderr.contains("bad.yaml"), "{case}: {}", run.stderr);
        }
    }
    let run = apply(&app, &dir.path().join("missing.yaml"), &[]);
    assert!(
        run.code == 1 && run.stderr.contains("cannot read"),
        "{}",
        run.stderr
    );

    assert_eq!(app.event_count().await, events);
    assert_eq!(client_body(&app, &production).await, served);
    let (status, _) = app
        .admin(
            Method::GET,
            "/api/admin/projects/default/features/aaa-fine",
            None,
        )
        .await;
    assert_eq!(status, 404);
}

/// Export is deterministic and complete: applied to a fresh database it serves SDKs the same
/// flags, and exporting that database gives the same file. Exporting state made through the
/// Admin API and applying it back is a no-op.
pub async fn export_then_apply_elsewhere_serves_the_same(backend: Backend) {
    let source = TestApp::spawn(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(apply(&source, &example(), &[]).code, 0);

    // More, made through the Admin API: every operator and option, strategy variants, a
    // disabled strategy, a project-scoped segment, a fixed variant, tags, stale.
    source
        .post(
            "/api/admin/segments",
            json!({"name": "office", "project": "checkout", "constraints": [
                {"contextName": "remoteAddress", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}
            ]}),
        )
        .await;
    let segments = source.get("/api/admin/segments").await;
    let office = segments["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "office")
        .unwrap()["id"]
        .clone();
    source
        .post(
            "/api/admin/projects/checkout/features",
            json!({"name": "everything", "type": "operational", "description": "all the options",
                   "stale": true, "tags": [{"type": "team", "value": "x"}]}),
        )
        .await;
    let constraint = |operator: &str, value: Value| {
        let mut c = json!({"contextName": "someField", "operator": operator,
                           "caseInsensitive": true, "inverted": true});
        if value.is_array() {
            c["values"] = value;
        } else {
            c["value"] = value;
        }
        c
    };
    let strategies =
        "/api/admin/projects/checkout/features/everything/environments/production/strategies";
    source
        .post(
            strategies,
            json!({"name": "flexibleRollout", "title": "all operators",
            "parameters": {"rollout": "25", "stickiness": "sessionId", "groupId": "g"},
            "segments": [office],
            "constraints": [
                constraint("IN", json!(["a"])),
                constraint("NOT_IN", json!(["b", "c"])),
                constraint("STR_CONTAINS", json!(["d"])),
                constraint("STR_STARTS_WITH", json!(["e"])),
                constraint("STR_ENDS_WITH", json!(["f"])),
                constraint("NUM_EQ", json!("1")),
                constraint("NUM_GT", json!("2")),
                constraint("NUM_GTE", json!("3.5")),
                constraint("NUM_LT", json!("4")),
                constraint("NUM_LTE", json!("5")),
                constraint("DATE_AFTER", json!("2024-01-01T00:00:00Z")),
                constraint("DATE_BEFORE", json!("2030-01-01T00:00:00Z")),
                constraint("SEMVER_EQ", json!("1.0.0")),
                constraint("SEMVER_GT", json!("1.0.1")),
                constraint("SEMVER_LT", json!("9.0.0")),
                constraint("SEMVER_GTE", json!("1.2.3-beta.1")),
                constraint("SEMVER_LTE", json!("8.0.0")),
                constraint("REGEX", json!("^a.*z$")),
                constraint("IN_CIDR", json!(["192.168.0.0/16", "::1"])),
            ],
            "variants": [
                {"name": "s1", "weight": 0, "stickiness": "sessionId",
                 "payload": {"type": "string", "value": "true"}},
                {"name": "s2", "weight": 300, "weightType": "fix",
                 "payload": {"type": "number", "value": "12"}},
            ]}),
        )
        .await;
    source
        .post(
            strategies,
            json!({"name": "userWithId", "disabled": true, "parameters": {"userIds": "1,2"}}),
        )
        .await;
    source
        .post(
            strategies,
            json!({"name": "remoteAddress", "parameters": {"IPs": "1.2.3.4"}}),
        )
        .await;
    source
        .admin(
            Method::PUT,
            "/api/admin/projects/checkout/features/everything/environments/production/variants",
            Some(json!([
                {"name": "on", "weightType": "variable", "weight": 0,
                 "overrides": [{"contextName": "userId", "values": ["7"]}]},
                {"name": "off", "weightType": "fix", "weight": 100, "stickiness": "userId"}
            ])),
        )
        .await;
    source
        .post(
            "/api/admin/projects/checkout/features/everything/environments/production/on",
            json!({}),
        )
        .await;

    let exported = flagpole(&source, &["export"]);
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let again = flagpole(&source, &["export"]);
    assert_eq!(again.stdout, exported.stdout, "export is deterministic");
    for expected in [
        "operator: IN_CIDR",
        "operator: REGEX",
        "caseInsensitive: true",
        "- office",
        "disabled: true",
        "stale: true",
    ] {
        assert!(
            exported.stdout.contains(expected),
            "{expected}: {}",
            exported.stdout
        );
    }

    // Applying the export to where it came from changes nothing.
    let file = write(&dir, "flags.yaml", &exported.stdout);
    let events = source.event_count().await;
    let run = apply(&source, &file, &[]);
    assert_eq!(run.stdout, "no changes\n", "{}", run.stderr);
    assert_eq!(source.event_count().await, events);

    // A fresh database serves the same bodies and exports the same file; `-o` writes it.
    let target = TestApp::spawn(&backend).await;
    let run = apply(&target, &file, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let out = dir.path().join("target.yaml");
    let run = flagpole(&target, &["export", "-o", out.to_str().unwrap()]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), exported.stdout);
    for environment in ["development", "production"] {
        let a = client_body(&source, &client_token(&source, environment).await).await;
        let b = client_body(&target, &client_token(&target, environment).await).await;
        assert_eq!(comparable(a), comparable(b), "{environment}");
    }

    // A project filter keeps that project's flags and what they use.
    let run = flagpole(&source, &["export", "--project", "default"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("new-checkout") && !run.stdout.contains("beta-testers"));
    let run = flagpole(&source, &["export", "--project", "nope"]);
    assert!(
        run.code == 1 && run.stderr.contains("no project \"nope\""),
        "{}",
        run.stderr
    );
}

/// Without `--prune`, flags the file does not list are left alone; with it, those of the
/// file's projects are archived (and the plan says so).
pub async fn prune_archives_flags_missing_from_the_file(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    assert_eq!(apply(&app, &example(), &[]).code, 0);
    app.post(
        "/api/admin/projects/checkout/features",
        json!({"name": "stray"}),
    )
    .await;
    app.create_flag("elsewhere").await;

    let run = apply(&app, &example(), &[]);
    assert_eq!(run.stdout, "no changes\n", "{}", run.stderr);

    let run = apply(&app, &example(), &["--dry-run", "--prune"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "- archive flag stray (project checkout)\n    not in the file (--prune)\n\
         dry run: 1 to archive (nothing was changed)\n"
    );
    let events = app.event_count().await;
    let run = apply(&app, &example(), &["--prune"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.ends_with("applied: 1 archived\n"),
        "{}",
        run.stdout
    );
    assert_eq!(app.event_count().await, events + 1);
    let archived = app.get("/api/admin/archive/features").await;
    let names: Vec<&str> = archived["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["stray"]);
    let latest = app.get("/api/admin/search/events?limit=1").await;
    assert_eq!(latest["events"][0]["type"], "feature-archived");
    assert_eq!(latest["events"][0]["createdBy"], "flagpole-apply");
    app.get("/api/admin/projects/default/features/elsewhere")
        .await;

    // Naming an archived flag in the file brings it back.
    let revived = example_text() + "\n  - name: stray\n    project: checkout\n";
    let dir = tempfile::tempdir().unwrap();
    let run = apply(&app, &write(&dir, "revive.yaml", &revived), &[]);
    assert!(
        run.stdout.contains("revived from the archive"),
        "{}",
        run.stdout
    );
    app.get("/api/admin/projects/checkout/features/stray").await;
}

/// The server and the CLI write one database in turns. Each change by the server right after
/// one by the CLI must see it (the server's snapshot is stale until it looks), nothing is
/// overwritten, and the audit log stays one unbroken hash chain across both writers.
pub async fn server_and_cli_take_turns_on_one_database(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    app.create_flag("from-server").await;
    for round in 0..3 {
        let file = write(
            &dir,
            "flags.yaml",
            &format!(
                "version: 1\nflags:\n  - name: from-cli-{round}\n    description: round {round}\n"
            ),
        );
        let run = apply(&app, &file, &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        // A change to the flag the CLI just made, and one to the server's own flag.
        for path in [
            format!("/api/admin/features/from-cli-{round}/toggle/on"),
            "/api/admin/features/from-server/toggle".to_owned(),
        ] {
            let (status, body) = app.admin(Method::POST, &path, None).await;
            assert!(status.is_success(), "{path}: {status} {body}");
        }
    }
    for round in 0..3 {
        let flag = app
            .get(&format!(
                "/api/admin/projects/default/features/from-cli-{round}"
            ))
            .await;
        assert_eq!(flag["description"], format!("round {round}"), "{flag}");
        assert!(
            flag["environments"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["enabled"] == true),
            "{flag}"
        );
    }
    let report = app.get("/api/admin/audit/verify").await;
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["eventsChecked"], app.event_count().await, "{report}");
}
