//! Personal access tokens: created by a user for themselves, acting with the user's role. The
//! secret (`user:<56 hex>`) is shown once; only its digest is stored, in the document that the
//! snapshot indexes, so checking a PAT never touches the database.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Deserialize;
use serde_json::{json, Value};

use super::model::{kind, Pat, User};
use super::{users, validate, Core, Event};
use crate::auth::token::Secret;
use crate::domain::EventType;
use crate::error::{ApiError, ApiResult};

/// Most personal access tokens one user may hold.
pub const MAX_PER_USER: usize = 100;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatePat {
    pub description: String,
    pub expires_at: DateTime<Utc>,
}

/// A new secret: `user:` and 224 random bits in hex.
fn generate_secret() -> Secret {
    let mut random = [0u8; 28];
    rand::rng().fill_bytes(&mut random);
    Secret::new(format!("user:{}", hex::encode(random)))
}

/// Whether a presented secret has the form of a personal access token.
pub fn looks_like_pat(secret: &Secret) -> bool {
    secret.expose().starts_with("user:")
}

fn event_json(pat: &Pat) -> Value {
    json!({
        "id": pat.id,
        "userId": pat.user_id,
        "description": pat.description,
        "expiresAt": pat.expires_at,
    })
}

/// Unleash's `patSchema`; `secret` only right after creation.
pub fn admin_json(pat: &Pat, secret: Option<&Secret>) -> Value {
    let mut body = json!({
        "id": pat.id,
        "description": pat.description,
        "expiresAt": pat.expires_at,
        "createdAt": pat.created_at,
        "userId": pat.user_id,
        "seenAt": null,
    });
    if let Some(secret) = secret {
        body["secret"] = json!(secret.expose());
    }
    if pat.is_expired(Utc::now()) {
        body["expiryWarning"] = json!("expired");
    }
    body
}

/// The user's tokens, oldest first.
pub fn list(core: &Core, user: &User) -> Vec<Pat> {
    let snapshot = core.snapshot.current();
    snapshot
        .pats
        .values()
        .filter(|pat| pat.value.user_id == user.id)
        .map(|pat| (*pat.value).clone())
        .collect()
}

pub async fn create(core: &Core, user: &User, input: CreatePat) -> ApiResult<(Pat, Secret)> {
    let description = input.description.trim().to_owned();
    if description.is_empty() {
        return Err(ApiError::bad_data("\"description\" is required"));
    }
    if description.chars().count() > validate::MAX_DESCRIPTION_LENGTH {
        return Err(ApiError::bad_data(
            "\"description\" must be at most 2000 characters long",
        ));
    }
    if input.expires_at <= Utc::now() {
        return Err(ApiError::bad_data("\"expiresAt\" must be in the future"));
    }
    let user_id = user.id;
    core.change(&users::actor(user), |snapshot, changes| {
        users::find(snapshot, user_id)?;
        let held = snapshot
            .pats
            .values()
            .filter(|p| p.value.user_id == user_id)
            .count();
        if held >= MAX_PER_USER {
            return Err(ApiError::bad_data(format!(
                "A user may hold at most {MAX_PER_USER} personal access tokens"
            )));
        }
        let secret = generate_secret();
        let pat = Pat {
            id: snapshot.max_pat_id + 1,
            user_id,
            description: description.clone(),
            expires_at: input.expires_at,
            created_at: Utc::now(),
            digest: secret.digest(),
        };
        changes.create(kind::PAT, pat.id.to_string(), &pat)?;
        changes.record(Event::new(EventType::PatCreated).data(event_json(&pat)));
        Ok((pat, secret))
    })
    .await
}

/// Deletes one of the user's own tokens; someone else's is 404, as if it did not exist.
pub async fn delete(core: &Core, user: &User, id: i64) -> ApiResult<()> {
    core.change(&users::actor(user), |snapshot, changes| {
        let pat = snapshot
            .pats
            .get(&id)
            .filter(|pat| pat.value.user_id == user.id)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "Could not find a personal access token with id {id}."
                ))
            })?;
        changes.delete(kind::PAT, id.to_string(), pat);
        changes.record(Event::new(EventType::PatDeleted).pre_data(event_json(&pat.value)));
        Ok(())
    })
    .await
}
