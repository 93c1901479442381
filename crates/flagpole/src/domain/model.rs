//! The aggregates Flagpole stores, in the JSON form they are stored in. Each is read and written
//! whole; see `store` for why.

use chrono::{DateTime, Utc};
use flagpole_eval::wire::{CompactString, Constraint, Dependency, Strategy, Variant};
use serde::{Deserialize, Serialize};

use crate::auth::password::PasswordHash;
use crate::auth::policy::Role;

/// Document kinds, as stored in `document.kind`.
pub mod kind {
    pub const PROJECT: &str = "project";
    pub const ENVIRONMENT: &str = "environment";
    pub const FEATURE: &str = "feature";
    pub const SEGMENT: &str = "segment";
    pub const TAG_TYPE: &str = "tag_type";
    pub const CONTEXT_FIELD: &str = "context_field";
    pub const API_TOKEN: &str = "api_token";
    pub const SETTING: &str = "setting";
    /// Users, keyed by id.
    pub const USER: &str = "user";
    /// One per lowercased username and email, keyed by it: makes sign-in names unique even
    /// across replicas (two creations of the same name conflict in the store).
    pub const USER_LOGIN: &str = "user_login";
    /// Personal access tokens, keyed by id.
    pub const PAT: &str = "pat";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    pub name: String,
    #[serde(rename = "type")]
    pub environment_type: String,
    pub enabled: bool,
    pub sort_order: i64,
    #[serde(default)]
    pub protected: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feature {
    pub name: CompactString,
    pub project: CompactString,
    #[serde(default)]
    pub description: Option<CompactString>,
    #[serde(rename = "type")]
    pub feature_type: CompactString,
    #[serde(default)]
    pub stale: bool,
    #[serde(default)]
    pub impression_data: bool,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by: CompactString,
    /// The user (or, for API tokens, Unleash's pseudo user) who created the flag; unknown for
    /// flags created before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_user_id: Option<i64>,
    /// Per-environment state; an environment missing here is disabled with no strategies.
    #[serde(default)]
    pub environments: Environments,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
}

impl Feature {
    /// Drops the spare room that parsing leaves in vectors (a parsed list keeps room for four):
    /// a snapshot holds every flag for as long as it is current, and with 10,000 flags the spare
    /// room was several megabytes.
    pub fn shrink_to_fit(&mut self) {
        self.environments.shrink_to_fit();
        for (_, state) in self.environments.iter_mut() {
            state.strategies.shrink_to_fit();
            state.variants.shrink_to_fit();
            for strategy in &mut state.strategies {
                strategy.constraints.shrink_to_fit();
                strategy.variants.shrink_to_fit();
                strategy.segments.shrink_to_fit();
                for constraint in &mut strategy.constraints {
                    constraint.values.shrink_to_fit();
                }
            }
        }
        self.tags.shrink_to_fit();
        self.dependencies.shrink_to_fit();
    }

    pub fn environment(&self, name: &str) -> FeatureEnvironment {
        self.environments.get(name).cloned().unwrap_or_default()
    }

    pub fn environment_mut(&mut self, name: &str) -> &mut FeatureEnvironment {
        self.environments.entry(name.into()).or_default()
    }

    /// The fields Unleash puts in `data`/`preData` of metadata events.
    pub fn metadata(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "description": self.description,
            "type": self.feature_type,
            "project": self.project,
            "stale": self.stale,
            "createdAt": self.created_at,
            "impressionData": self.impression_data,
            "archived": self.archived,
        })
    }
}

/// A flag's state per environment, by environment name. A flag is in a few environments, so
/// this is a sorted vector: a B-tree node takes most of a kilobyte even for one entry.
pub type Environments = flagpole_eval::wire::SmallMap<CompactString, FeatureEnvironment>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureEnvironment {
    pub enabled: bool,
    #[serde(default)]
    pub strategies: Vec<Strategy>,
    #[serde(default)]
    pub variants: Vec<Variant>,
}

#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct Tag {
    #[serde(rename = "type")]
    pub tag_type: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagType {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegalValue {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContextField {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub stickiness: bool,
    #[serde(default)]
    pub sort_order: i64,
    #[serde(default)]
    pub legal_values: Vec<LegalValue>,
    pub created_at: DateTime<Utc>,
}

/// A person who signs in to the Admin API and UI. The password hash never leaves the server:
/// API answers and audit events are built from the other fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub root_role: Role,
    /// None until a password is set: such a user cannot sign in.
    #[serde(default)]
    pub password_hash: Option<PasswordHash>,
    pub created_at: DateTime<Utc>,
}

impl User {
    /// How the user appears in the audit log: the username, else the email.
    pub fn display_name(&self) -> String {
        self.username
            .clone()
            .or_else(|| self.email.clone())
            .unwrap_or_else(|| format!("user-{}", self.id))
    }

    /// The names the user signs in with, lowercased (the keys of their `user_login` documents).
    pub fn logins(&self) -> Vec<String> {
        [&self.username, &self.email]
            .into_iter()
            .flatten()
            .map(|login| login.to_lowercase())
            .collect()
    }
}

/// Which user a sign-in name belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserLogin {
    pub user_id: i64,
}

/// A personal access token: acts for its user, with the user's role. Only the SHA-256 digest of
/// its secret is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pat {
    pub id: i64,
    pub user_id: i64,
    pub description: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub digest: String,
}

impl Pat {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }
}
