//! API tokens: creation (with the secret shown once), start-up tokens, expiry and revocation.
//! Secrets are stored only as digests; see `auth::token`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::model::kind;
use super::{validate, Core, Event};
use crate::auth::policy::Role;
use crate::auth::token::{project_label, ApiToken, Secret, TokenType};
use crate::auth::Actor;
use crate::domain::EventType;
use crate::error::{ApiError, ApiResult};
use crate::snapshot::Snapshot;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateToken {
    #[serde(default)]
    pub token_name: Option<String>,
    /// Older Unleash versions called the name `username`.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(rename = "type")]
    pub token_type: String,
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub projects: Option<Vec<String>>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a new token is for, once validated.
struct Scope {
    token_type: TokenType,
    projects: Vec<String>,
    environment: String,
}

fn check_scope(
    snapshot: &Snapshot,
    token_type: TokenType,
    projects: Vec<String>,
    environment: Option<String>,
) -> ApiResult<Scope> {
    if token_type == TokenType::Admin {
        let all = projects.is_empty() || projects.iter().all(|p| p == "*");
        if !all || environment.as_deref().is_some_and(|e| e != "*") {
            return Err(ApiError::bad_data(
                "admin tokens cover every project and environment: use projects [\"*\"] and environment \"*\"",
            ));
        }
        return Ok(Scope {
            token_type,
            projects: vec!["*".into()],
            environment: "*".into(),
        });
    }
    let environment = environment.unwrap_or_else(|| "development".into());
    if environment == "*" {
        return Err(ApiError::bad_data(
            "only admin tokens may use every environment (\"*\"); name one environment",
        ));
    }
    if !snapshot.environments.contains_key(&environment) {
        return Err(ApiError::bad_data(format!(
            "Environment={environment} does not exist"
        )));
    }
    let mut projects = if projects.is_empty() {
        vec!["*".to_string()]
    } else {
        projects
    };
    projects.sort();
    projects.dedup();
    if projects.len() > 1 && projects.iter().any(|p| p == "*") {
        projects = vec!["*".into()];
    }
    for project in &projects {
        if project != "*" && !snapshot.projects.contains_key(project) {
            return Err(ApiError::bad_data(format!(
                "Project={project} does not exist"
            )));
        }
    }
    Ok(Scope {
        token_type,
        projects,
        environment,
    })
}

/// Only Admins make, change or revoke admin tokens: decided here, for the Admin API, the web UI
/// and the command line alike.
fn check_may_manage(caller: Role, token_type: TokenType) -> ApiResult<()> {
    if token_type == TokenType::Admin && caller != Role::Admin {
        return Err(ApiError::Forbidden(format!(
            "Only Admins may create, change or revoke admin tokens; you have the {caller} role."
        )));
    }
    Ok(())
}

/// Creates a token and returns it with its secret, which is not stored and cannot be shown again.
pub async fn create(
    core: &Core,
    actor: &Actor,
    caller: Role,
    input: CreateToken,
) -> ApiResult<(ApiToken, Secret)> {
    let token_name = input
        .token_name
        .clone()
        .or(input.username.clone())
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_field(
                "/body/tokenName",
                "The `/body/tokenName` property is required",
            )
        })?;
    if token_name.chars().count() > validate::MAX_NAME_LENGTH {
        return Err(ApiError::bad_data(
            "\"tokenName\" must be at most 100 characters long",
        ));
    }
    let token_type = TokenType::parse(&input.token_type).ok_or_else(|| {
        ApiError::bad_field(
            "/body/type",
            format!(
                "\"type\" must be admin, client, backend or frontend. You sent \"{}\".",
                input.token_type
            ),
        )
    })?;
    check_may_manage(caller, token_type)?;
    if input.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::bad_data("\"expiresAt\" must be in the future"));
    }
    let projects = input
        .projects
        .clone()
        .or_else(|| input.project.clone().map(|p| vec![p]))
        .unwrap_or_default();
    core.change(actor, |snapshot, changes| {
        let scope = check_scope(
            snapshot,
            token_type,
            projects.clone(),
            input.environment.clone(),
        )?;
        let secret = Secret::generate(&scope.projects, &scope.environment);
        let token = ApiToken {
            token_name: token_name.clone(),
            token_type: scope.token_type,
            projects: scope.projects,
            environment: scope.environment,
            expires_at: input.expires_at,
            created_at: Utc::now(),
            secret_prefix: secret.display_prefix(),
            alias: None,
        };
        changes.create(kind::API_TOKEN, secret.digest(), &token)?;
        changes.record(Event::new(EventType::ApiTokenCreated).data(event_json(&token)));
        Ok((token, secret))
    })
    .await
}

/// Creates a token with a secret chosen by the operator (`INIT_*_API_TOKENS`). Creating one
/// that already exists does nothing, so restarts are harmless.
pub async fn ensure_init_token(
    core: &Core,
    token_type: TokenType,
    secret: &Secret,
) -> anyhow::Result<bool> {
    let (project, environment) = secret.scope().ok_or_else(|| {
        anyhow::anyhow!(
            "a start-up {} token is not in the form project:environment.secret",
            token_type.as_str()
        )
    })?;
    if project == "[]" {
        anyhow::bail!("a start-up token cannot use [] (several projects); name one project or *");
    }
    if token_type == TokenType::Admin && (project != "*" || environment != "*") {
        anyhow::bail!("a start-up admin token must start with *:*.");
    }
    let digest = secret.digest();
    // A start-up token that an admin revoked stays revoked, even while the variable lists it.
    if core.store.was_deleted(kind::API_TOKEN, &digest).await? {
        tracing::warn!(
            token = %secret.display_prefix(),
            "a start-up token was revoked earlier and is not re-created; remove it from the configuration"
        );
        return Ok(false);
    }
    let created = core
        .change(&Actor::system(), |snapshot, changes| {
            if snapshot.tokens.contains_key(&digest) {
                return Ok(false);
            }
            let scope = check_scope(
                snapshot,
                token_type,
                vec![project.clone()],
                Some(environment.clone()),
            )?;
            let token = ApiToken {
                // Unleash names its start-up tokens "admin", and changes are attributed to that.
                token_name: "admin".into(),
                token_type,
                projects: scope.projects,
                environment: scope.environment,
                expires_at: None,
                created_at: Utc::now(),
                secret_prefix: secret.display_prefix(),
                alias: None,
            };
            changes.create(kind::API_TOKEN, &digest, &token)?;
            changes.record(Event::new(EventType::ApiTokenCreated).data(event_json(&token)));
            Ok(true)
        })
        .await
        .map_err(|error| anyhow::anyhow!("start-up token rejected: {error}"))?;
    Ok(created)
}

/// Revokes the token with this secret. Returns whether one existed; an unknown secret is not an
/// error, as in Unleash, so that scripts can revoke idempotently.
pub async fn revoke(core: &Core, actor: &Actor, caller: Role, secret: &Secret) -> ApiResult<bool> {
    revoke_digest(core, actor, caller, &secret.digest()).await
}

/// Revokes the token stored under this digest (the web UI knows tokens only by digest).
pub async fn revoke_digest(
    core: &Core,
    actor: &Actor,
    caller: Role,
    digest: &str,
) -> ApiResult<bool> {
    let digest = digest.to_owned();
    core.change(actor, |snapshot, changes| {
        let Some(previous) = snapshot.tokens.get(&digest) else {
            return Ok(false);
        };
        check_may_manage(caller, previous.value.token_type)?;
        changes.delete(kind::API_TOKEN, &digest, previous);
        changes
            .record(Event::new(EventType::ApiTokenDeleted).pre_data(event_json(&previous.value)));
        Ok(true)
    })
    .await
}

/// Sets a new expiry; an unknown secret is not an error, as in Unleash.
pub async fn set_expiry(
    core: &Core,
    actor: &Actor,
    caller: Role,
    secret: &Secret,
    expires_at: DateTime<Utc>,
) -> ApiResult<bool> {
    let digest = secret.digest();
    core.change(actor, |snapshot, changes| {
        let Some(previous) = snapshot.tokens.get(&digest) else {
            return Ok(false);
        };
        check_may_manage(caller, previous.value.token_type)?;
        let mut token = (*previous.value).clone();
        token.expires_at = Some(expires_at);
        changes.update(kind::API_TOKEN, &digest, previous, &token)?;
        changes.record(
            Event::new(EventType::ApiTokenUpdated)
                .data(event_json(&token))
                .pre_data(event_json(&previous.value)),
        );
        Ok(true)
    })
    .await
}

/// What the audit log keeps of a token: everything but the secret.
fn event_json(token: &ApiToken) -> serde_json::Value {
    json!({
        "tokenName": token.token_name,
        "type": token.token_type,
        "projects": token.projects,
        "environment": token.environment,
        "expiresAt": token.expires_at,
        "secret": token.secret_prefix,
    })
}

/// The answer to creating a token, shaped as Unleash's: the whole secret, the type as it was
/// asked for (`backend` is kept as a `client` token), and no `seenAt`, nor `expiresAt` when
/// the token does not expire.
pub fn created_json(token: &ApiToken, secret: &Secret, requested_type: &str) -> serde_json::Value {
    let mut answer = admin_json(token, Some(secret));
    if let Some(fields) = answer.as_object_mut() {
        fields.remove("seenAt");
        if token.expires_at.is_none() {
            fields.remove("expiresAt");
        }
        if requested_type == "backend" {
            fields.insert("type".into(), "backend".into());
        }
    }
    answer
}

/// The Admin API JSON of a token. `secret` is the full secret right after creation, and only the
/// visible prefix afterwards.
pub fn admin_json(token: &ApiToken, secret: Option<&Secret>) -> serde_json::Value {
    json!({
        "secret": secret.map_or(token.secret_prefix.as_str(), Secret::expose),
        "tokenName": token.token_name,
        "type": token.token_type,
        "project": project_label(&token.projects),
        "projects": token.projects,
        "environment": token.environment,
        "expiresAt": token.expires_at,
        "createdAt": token.created_at,
        "alias": token.alias,
        "seenAt": null,
        "secure": true,
    })
}
