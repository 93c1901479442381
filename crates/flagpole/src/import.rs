//! `flagpole import --from-unleash URL --token T`: reads a running Unleash over its Admin API
//! and copies it into the database (the rules are in `domain::migrate`).
//!
//! Requests made, all with the admin token: `GET /api/admin/projects`, `/environments`,
//! `/tag-types`, `/context`, `/segments`; per project `GET /api/admin/search/features` for its
//! archived flags (optional: a server without it just reports none); and per project and
//! environment `POST /api/admin/features-batch/export`, which carries the flags with their
//! strategies, switches, variants, tags and dependencies.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Actor;
use crate::config::DatabaseArgs;
use crate::domain::batch::ExportResult;
use crate::domain::migrate::{
    self, Source, SourceContextField, SourceEnvironment, SourceProject, SourceSegment,
};
use crate::domain::model::TagType;
use crate::domain::Core;

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Base URL of the Unleash to copy from, e.g. `https://unleash.example.com` (a trailing
    /// `/api` is accepted).
    #[arg(long = "from-unleash", value_name = "URL")]
    pub from_unleash: String,

    /// An admin API token of that Unleash (`*:*.…`). `UNLEASH_ADMIN_TOKEN` is read when unset.
    #[arg(long, env = "UNLEASH_ADMIN_TOKEN", hide_env_values = true)]
    pub token: String,

    /// How long to wait for each response, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout_secs: u64,
}

/// The actor every change of an import is attributed to in the audit log.
pub fn actor() -> Actor {
    Actor {
        name: "flagpole-import".into(),
        user_id: -1337,
    }
}

/// Runs the command and returns the report to print.
pub async fn run(database: &DatabaseArgs, args: &ImportArgs) -> anyhow::Result<String> {
    let source = fetch(args).await?;
    let url = database.url()?;
    let core = Core::open(&url, &database.pool_settings()).await?;
    let result = migrate::copy(&core, &actor(), &source).await;
    core.store.close().await;
    let report = result.map_err(|error| anyhow::anyhow!(error.describe()))?;
    Ok(format!(
        "copied from {} ({} projects, {} environments read)\n{report}",
        base_url(&args.from_unleash),
        source.projects.len(),
        source.environments.len()
    ))
}

fn base_url(raw: &str) -> String {
    let trimmed = raw.trim().trim_end_matches('/');
    trimmed.strip_suffix("/api").unwrap_or(trimmed).to_owned()
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Option<T>> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("Authorization", &self.token)
            .header("Accept", "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("could not reach {url}"))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let text = response
            .text()
            .await
            .with_context(|| format!("{method} {url}: reading the response"))?;
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            anyhow::bail!(
                "{method} {url} answered {status}: check that --token is an admin token of that Unleash"
            );
        }
        if !status.is_success() {
            let excerpt: String = text.chars().take(300).collect();
            anyhow::bail!("{method} {url} answered {status}: {excerpt}");
        }
        let value = serde_json::from_str(&text)
            .with_context(|| format!("{method} {url}: the response is not what Unleash sends"))?;
        Ok(Some(value))
    }

    /// A response that must exist.
    async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(reqwest::Method::GET, path, None)
            .await?
            .with_context(|| format!("GET {}{path} answered 404: is this an Unleash?", self.base))
    }
}

#[derive(Deserialize)]
struct Projects {
    projects: Vec<SourceProject>,
}

#[derive(Deserialize)]
struct Environments {
    environments: Vec<SourceEnvironment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagTypes {
    tag_types: Vec<TagType>,
}

#[derive(Deserialize)]
struct Segments {
    segments: Vec<SourceSegment>,
}

#[derive(Deserialize)]
struct Search {
    features: Vec<SearchedFeature>,
}

#[derive(Deserialize)]
struct SearchedFeature {
    name: String,
}

fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Reads everything the copy needs from the source.
pub async fn fetch(args: &ImportArgs) -> anyhow::Result<Source> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout_secs.max(1)))
        .build()?;
    let client = Client {
        http,
        base: base_url(&args.from_unleash),
        token: args.token.clone(),
    };
    let projects: Projects = client.get("/api/admin/projects").await?;
    let environments: Environments = client.get("/api/admin/environments").await?;
    let tag_types: TagTypes = client.get("/api/admin/tag-types").await?;
    let context_fields: Vec<SourceContextField> = client.get("/api/admin/context").await?;
    let segments: Segments = client.get("/api/admin/segments").await?;
    let mut source = Source {
        projects: projects.projects,
        environments: environments.environments,
        tag_types: tag_types.tag_types,
        context_fields,
        segments: segments.segments,
        exports: vec![],
        archived: vec![],
    };
    for project in &source.projects {
        let path = format!(
            "/api/admin/search/features?project=IS:{}&archived=IS:true&limit=1000",
            encode(&project.id)
        );
        // Older Unleash versions and other servers lack the search; archived flags are then
        // simply not listed (they are never copied either way).
        if let Ok(Some(found)) = client
            .send::<Search>(reqwest::Method::GET, &path, None)
            .await
        {
            source.archived.extend(
                found
                    .features
                    .into_iter()
                    .map(|f| (project.id.clone(), f.name)),
            );
        }
        for environment in &source.environments {
            let body = json!({ "environment": environment.name, "project": project.id });
            let export: ExportResult = client
                .send(
                    reqwest::Method::POST,
                    "/api/admin/features-batch/export",
                    Some(body),
                )
                .await?
                .context("POST /api/admin/features-batch/export answered 404: this server has no features-batch export, which flags are read from")?;
            source
                .exports
                .push((project.id.clone(), environment.name.clone(), export));
        }
    }
    Ok(source)
}
