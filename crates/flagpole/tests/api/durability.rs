//! Crash safety: concurrent writers against a server process that is killed with SIGKILL at a
//! random moment, several times over, on the same database. Afterwards every acknowledged
//! change is there with exactly one audit event, nothing is half there (a flag without its
//! event or an event without its flag), and the audit chain still verifies.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, ADMIN_TOKEN};
use crate::replicas::Replica;

const KILLS: usize = 4;
const WRITERS: usize = 4;

/// What a writer got an answer for, and what it sent last without one.
#[derive(Default)]
struct Ledger {
    created: BTreeSet<String>,
    enabled: BTreeSet<String>,
    requests: usize,
}

async fn writer(base: String, id: usize, round: usize, ledger: Arc<Mutex<Ledger>>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for n in 0.. {
        let name = format!("w{id}-r{round}-{n}");
        ledger.lock().unwrap().requests += 1;
        let created = http
            .post(format!("{base}/api/admin/projects/default/features"))
            .header("Authorization", ADMIN_TOKEN)
            .json(&json!({"name": name}))
            .send()
            .await;
        match created {
            Ok(response) if response.status().is_success() => {
                ledger.lock().unwrap().created.insert(name.clone());
            }
            Ok(response) => panic!("create {name}: {}", response.status()),
            Err(_) => return,
        }
        // Every other flag is also switched on: a second kind of change, on a flag that exists.
        if n % 2 == 0 {
            ledger.lock().unwrap().requests += 1;
            let enabled = http
                .post(format!(
                    "{base}/api/admin/projects/default/features/{name}/environments/development/on"
                ))
                .header("Authorization", ADMIN_TOKEN)
                .send()
                .await;
            match enabled {
                Ok(response) if response.status().is_success() => {
                    ledger.lock().unwrap().enabled.insert(name);
                }
                Ok(response) => panic!("enable {name}: {}", response.status()),
                Err(_) => return,
            }
        }
    }
}

/// Every audit event of a type, as flag name → how many.
async fn events_per_flag(
    http: &reqwest::Client,
    base: &str,
    kind: &str,
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    let mut offset = 0;
    loop {
        let page: Value = http
            .get(format!(
                "{base}/api/admin/search/events?type={kind}&limit=1000&offset={offset}"
            ))
            .header("Authorization", ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let events = page["events"].as_array().unwrap();
        for event in events {
            let flag = event["featureName"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            *counts.entry(flag).or_insert(0) += 1;
        }
        offset += events.len();
        if events.is_empty() || offset as i64 >= page["total"].as_i64().unwrap() {
            return counts;
        }
    }
}

pub async fn acknowledged_changes_survive_repeated_sigkills(backend: Backend) {
    let database = TestApp::unstarted(&backend).await;
    let url = database.database.url().unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut kills = 0;
    for round in 0..KILLS {
        let mut server = Replica::start(&url).await;
        let writers: Vec<_> = (0..WRITERS)
            .map(|id| tokio::spawn(writer(server.base.clone(), id, round, Arc::clone(&ledger))))
            .collect();
        let delay = rand::random_range(200..900);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.kill();
        kills += 1;
        for writer in writers {
            writer.await.unwrap();
        }
    }

    let server = Replica::start(&url).await;
    let http = reqwest::Client::new();
    let listed: Value = http
        .get(format!(
            "{}/api/admin/projects/default/features",
            server.base
        ))
        .header("Authorization", ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut present = BTreeMap::new();
    for flag in listed["features"].as_array().unwrap() {
        let enabled = flag["environments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "development" && e["enabled"] == true);
        present.insert(flag["name"].as_str().unwrap().to_string(), enabled);
    }
    let created_events = events_per_flag(&http, &server.base, "feature-created").await;
    let enabled_events = events_per_flag(&http, &server.base, "feature-environment-enabled").await;

    let ledger = std::mem::take(&mut *ledger.lock().unwrap());
    assert!(
        ledger.created.len() >= KILLS,
        "too few writes to mean anything"
    );
    // Acknowledged: there, with one event each.
    for name in &ledger.created {
        assert!(present.contains_key(name), "acknowledged {name} is missing");
    }
    for name in &ledger.enabled {
        assert_eq!(
            present.get(name),
            Some(&true),
            "acknowledged enabling of {name} is lost"
        );
    }
    // Nothing half there: each flag has exactly one creation event and each event its flag;
    // a flag is on exactly when its enabling event was written.
    for (name, enabled) in &present {
        assert_eq!(
            created_events.get(name),
            Some(&1),
            "{name}: creation events"
        );
        let expected = usize::from(*enabled);
        assert_eq!(
            enabled_events.get(name).copied().unwrap_or(0),
            expected,
            "{name}: enabled is {enabled} but the log says otherwise"
        );
    }
    for name in created_events.keys().chain(enabled_events.keys()) {
        assert!(
            present.contains_key(name),
            "an event for {name}, which does not exist"
        );
    }
    // The audit chain survived the kills.
    let report: Value = http
        .get(format!("{}/api/admin/audit/verify", server.base))
        .header("Authorization", ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["valid"], true, "{report}");
    let response = http
        .request(Method::GET, format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    println!(
        "durability: {kills} SIGKILLs under {WRITERS} concurrent writers, {} requests sent, \
         {} acknowledged creations and {} acknowledged switches all present with one event each; \
         {} flags in all, none half-written",
        ledger.requests,
        ledger.created.len(),
        ledger.enabled.len(),
        present.len(),
    );
}

/// Conflicting updates of one flag from many clients (through two server processes on
/// PostgreSQL): each applied change has one event, the events form one unbroken sequence (each
/// one's `preData` is the previous one's `data`, so no update was lost or applied on stale
/// state), and the final state is the last event's. A JSON Patch `test` operation makes an
/// update conditional, as in Unleash: of many racing compare-and-set patches exactly one wins.
pub async fn conflicting_updates_of_one_flag_stay_in_order(backend: Backend) {
    let database = TestApp::unstarted(&backend).await;
    let url = database.database.url().unwrap();
    let servers = match backend {
        Backend::Sqlite => vec![Replica::start(&url).await],
        Backend::Postgres(_) => vec![Replica::start(&url).await, Replica::start(&url).await],
    };
    let http = reqwest::Client::new();
    let flag = |base: &str| format!("{base}/api/admin/projects/default/features/contended");
    let created = http
        .post(format!(
            "{}/api/admin/projects/default/features",
            servers[0].base
        ))
        .header("Authorization", ADMIN_TOKEN)
        .json(&json!({"name": "contended", "description": "v0"}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    // Both processes know the flag before the race starts.
    for server in &servers {
        for _ in 0..100 {
            let found = http
                .get(flag(&server.base))
                .header("Authorization", ADMIN_TOKEN)
                .send()
                .await
                .unwrap()
                .status();
            if found == StatusCode::OK {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // Compare-and-set: every patch expects "v0"; one wins, the others are refused.
    let racers: Vec<_> = (0..16)
        .map(|n| {
            let (http, url) = (http.clone(), flag(&servers[n % servers.len()].base));
            tokio::spawn(async move {
                http.patch(url)
                    .header("Authorization", ADMIN_TOKEN)
                    .json(&json!([
                        {"op": "test", "path": "/description", "value": "v0"},
                        {"op": "replace", "path": "/description", "value": format!("cas-{n}")}
                    ]))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        let status = racer.await.unwrap();
        assert!(status.is_success() || status.is_client_error(), "{status}");
        won += usize::from(status.is_success());
    }
    assert_eq!(won, 1, "exactly one compare-and-set wins");

    // Unconditional updates: all apply, in one order.
    let writers: Vec<_> = (0..12)
        .map(|n| {
            let (http, url) = (http.clone(), flag(&servers[n % servers.len()].base));
            tokio::spawn(async move {
                let mut applied = 0;
                for round in 0..4 {
                    let status = http
                        .patch(&url)
                        .header("Authorization", ADMIN_TOKEN)
                        .json(&json!([{"op": "replace", "path": "/description",
                                       "value": format!("w{n}-{round}")}]))
                        .send()
                        .await
                        .unwrap()
                        .status();
                    assert_eq!(status, StatusCode::OK);
                    applied += 1;
                }
                applied
            })
        })
        .collect();
    let mut applied = 0;
    for writer in writers {
        applied += writer.await.unwrap();
    }

    let page: Value = http
        .get(format!(
            "{}/api/admin/search/events?type=feature-metadata-updated&feature=IS:contended&limit=1000",
            servers[0].base
        ))
        .header("Authorization", ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut events = page["events"].as_array().unwrap().clone();
    events.sort_by_key(|e| e["id"].as_i64().unwrap());
    assert_eq!(events.len(), applied + won, "one event per applied change");
    let mut previous = "v0".to_string();
    for event in &events {
        assert_eq!(
            event["preData"]["description"], previous,
            "event {} was built on stale state",
            event["id"]
        );
        previous = event["data"]["description"].as_str().unwrap().to_string();
    }
    for server in &servers {
        let mut last = Value::Null;
        for _ in 0..100 {
            last = http
                .get(flag(&server.base))
                .header("Authorization", ADMIN_TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if last["description"] == previous.as_str() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            last["description"],
            previous.as_str(),
            "final state is the last event's"
        );
    }
}
