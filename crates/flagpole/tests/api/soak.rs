//! A bounded soak: mixed traffic (SDK reads with and without ETags, Frontend API and OFREP
//! evaluations, metrics posts, admin writes) against a server process for `SOAK_SECONDS`
//! (default 20). No request may fail, and the process's memory and open files must stay
//! roughly flat after warm-up. `bench/soak.sh` runs the same for longer.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp, ADMIN_TOKEN};
use crate::replicas::Replica;

const FLAGS: usize = 20;

/// (resident memory in KiB, open file descriptors) of a process, from /proc.
fn usage(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    (rss, fds)
}

#[derive(Default)]
struct Tally {
    requests: AtomicUsize,
    errors: AtomicUsize,
}

impl Tally {
    fn record(&self, what: &str, result: reqwest::Result<reqwest::Response>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(r) if r.status().is_success() || r.status() == StatusCode::NOT_MODIFIED => {}
            Ok(r) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                eprintln!("soak: {what}: {}", r.status());
            }
            Err(error) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                eprintln!("soak: {what}: {error}");
            }
        }
    }
}

pub async fn mixed_traffic_stays_flat(backend: Backend) {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let database = TestApp::unstarted(&backend).await;
    let server = Replica::start(&database.database.url().unwrap()).await;
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let admin = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}{path}"))
            .header("Authorization", ADMIN_TOKEN)
    };
    for n in 0..FLAGS {
        let response = admin(
            reqwest::Method::POST,
            "/api/admin/projects/default/features",
        )
        .json(&json!({"name": format!("soak-{n}")}))
        .send()
        .await
        .unwrap();
        assert!(response.status().is_success());
    }
    let token = |kind: &str| {
        let request = admin(reqwest::Method::POST, "/api/admin/api-tokens")
            .json(&json!({"tokenName": kind, "type": kind, "environment": "development"}));
        async move {
            let body: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
            body["secret"].as_str().unwrap().to_string()
        }
    };
    let client = token("client").await;
    let frontend = token("frontend").await;

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    // Four kinds of traffic, two tasks each.
    for task in 0..8 {
        let (http, base, tally, stop) = (http.clone(), base.clone(), tally.clone(), stop.clone());
        let (client, frontend) = (client.clone(), frontend.clone());
        tasks.push(tokio::spawn(async move {
            let mut etag = String::new();
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let flag = format!("soak-{}", n % FLAGS);
                match task % 4 {
                    0 => {
                        let response = http
                            .get(format!("{base}/api/client/features"))
                            .header("Authorization", &client)
                            .header("If-None-Match", &etag)
                            .send()
                            .await;
                        if let Ok(r) = &response {
                            if let Some(tag) = r.headers().get("etag") {
                                etag = tag.to_str().unwrap_or_default().to_string();
                            }
                        }
                        tally.record("client features", response);
                    }
                    1 => {
                        let (path, token) = if n.is_multiple_of(2) {
                            ("/api/frontend", &frontend)
                        } else {
                            ("/ofrep/v1/evaluate/flags", &client)
                        };
                        let response = http
                            .post(format!("{base}{path}"))
                            .header("Authorization", token)
                            .json(&json!({"context": {"userId": n.to_string(), "targetingKey": n.to_string()}}))
                            .send()
                            .await;
                        tally.record(path, response);
                    }
                    2 => {
                        let response = http
                            .post(format!("{base}/api/client/metrics"))
                            .header("Authorization", &client)
                            .json(&json!({"appName": "soak", "instanceId": format!("i{task}"),
                                "bucket": {"start": chrono::Utc::now(), "stop": chrono::Utc::now(),
                                "toggles": {flag: {"yes": 1, "no": 2}}}}))
                            .send()
                            .await;
                        tally.record("metrics", response);
                    }
                    _ => {
                        let state = if n.is_multiple_of(2) { "on" } else { "off" };
                        let response = http
                            .post(format!(
                                "{base}/api/admin/projects/default/features/{flag}/environments/development/{state}"
                            ))
                            .header("Authorization", ADMIN_TOKEN)
                            .send()
                            .await;
                        tally.record("toggle", response);
                        // Writes at a human-ish pace; the reads are the flood.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }));
    }

    let started = Instant::now();
    let warm_up = Duration::from_secs(seconds / 4);
    tokio::time::sleep(warm_up).await;
    let warm = usage(server.pid());
    let mut peak = warm;
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = usage(server.pid());
        peak = (peak.0.max(now.0), peak.1.max(now.1));
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let end = usage(server.pid());
    let requests = tally.requests.load(Ordering::Relaxed);
    let errors = tally.errors.load(Ordering::Relaxed);
    println!(
        "soak: {seconds} s, {requests} requests, {errors} errors; RSS {} KiB after warm-up, \
         {} KiB peak, {} KiB at the end; open files {} / {} / {}",
        warm.0, peak.0, end.0, warm.1, peak.1, end.1
    );
    assert_eq!(errors, 0, "requests failed during the soak");
    assert!(
        requests > 100 * seconds as usize / 4,
        "too little traffic to mean anything"
    );
    // Flat: growth after warm-up bounded (allocator slack, caches filling), not proportional
    // to the traffic.
    assert!(
        end.0 <= warm.0 + warm.0 / 2 + 16 * 1024,
        "memory grew from {} KiB to {} KiB",
        warm.0,
        end.0
    );
    assert!(
        end.1 <= warm.1 + 16,
        "open files grew from {} to {}",
        warm.1,
        end.1
    );
}
