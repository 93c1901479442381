//! Response shapes for the OpenAPI document.
//!
//! Most Admin API bodies are assembled as JSON next to the domain code that owns them, so these
//! types exist to describe them, not to build them. They are kept honest by the test suite:
//! every response a test receives through `TestApp::call` is validated against the document
//! (`tests/api/contract.rs`).

#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use flagpole_eval::wire::{Constraint, Strategy, Variant};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::token::TokenType;
use crate::domain::model::{Tag, TagType};

/// An error, in the shape Unleash uses.
#[derive(ToSchema)]
pub struct ErrorBody {
    /// A random id for this error, to find it in the logs.
    id: Option<String>,
    /// The kind of error, e.g. `NotFoundError`, `ValidationError`.
    name: Option<String>,
    /// A sentence saying what was wrong.
    message: String,
    /// Details per offending field, when there are several.
    details: Option<Vec<ErrorDetail>>,
}

#[derive(ToSchema)]
pub struct ErrorDetail {
    message: String,
    description: Option<String>,
}

/// One operation of a JSON Patch (RFC 6902).
#[derive(ToSchema)]
pub struct PatchOperation {
    #[schema(inline)]
    op: PatchOp,
    /// A JSON Pointer, e.g. `/description`.
    path: String,
    value: Option<Value>,
    from: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum PatchOp {
    Add,
    Remove,
    Replace,
    Move,
    Copy,
    Test,
}

#[derive(ToSchema)]
pub struct Health {
    /// `GOOD` while the server serves.
    health: String,
}

#[derive(ToSchema)]
pub struct Readiness {
    /// `GOOD`, or `BAD` (with status 503) while the database cannot be reached.
    health: String,
    /// `reachable` or `unreachable`.
    database: String,
    /// The newest commit this server has loaded.
    revision: i64,
}

#[derive(ToSchema)]
pub struct Actor {
    name: String,
}

/// A strategy as the Admin API shows it: every field present.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AdminStrategy {
    id: String,
    name: String,
    title: Option<String>,
    disabled: bool,
    sort_order: i64,
    constraints: Vec<Constraint>,
    variants: Vec<Variant>,
    parameters: BTreeMap<String, String>,
    segments: Vec<i64>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AdminDependency {
    feature: String,
    enabled: bool,
    variants: Vec<String>,
}

/// A flag's state in one environment.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct FeatureEnvironment {
    name: String,
    enabled: bool,
    #[schema(rename = "type")]
    environment_type: String,
    sort_order: i64,
    last_seen_at: Option<DateTime<Utc>>,
    strategies: Vec<AdminStrategy>,
    variants: Vec<Variant>,
}

/// A flag, with its state in every environment.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Feature {
    name: String,
    #[schema(rename = "type")]
    feature_type: String,
    description: Option<String>,
    project: String,
    stale: bool,
    impression_data: bool,
    archived: bool,
    archived_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    created_by: Actor,
    /// When an SDK last reported the flag, in any environment.
    last_seen_at: Option<DateTime<Utc>>,
    environments: Vec<FeatureEnvironment>,
    /// Always empty: variants live in environments.
    variants: Vec<Variant>,
    tags: Vec<Tag>,
    dependencies: Vec<AdminDependency>,
    /// Flags that depend on this one.
    children: Vec<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct FeatureEnvironmentSummary {
    name: String,
    enabled: bool,
    #[schema(rename = "type")]
    environment_type: String,
    sort_order: i64,
    variant_count: u64,
    last_seen_at: Option<DateTime<Utc>>,
    has_strategies: bool,
    has_enabled_strategies: bool,
}

/// What a write of a flag answers, as in Unleash: the flag's metadata, without its
/// environments.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct FeatureMetadataBody {
    name: String,
    #[schema(rename = "type")]
    feature_type: String,
    description: Option<String>,
    project: String,
    stale: bool,
    created_at: DateTime<Utc>,
    impression_data: bool,
    archived: bool,
}

/// A flag in a listing.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct FeatureSummary {
    name: String,
    #[schema(rename = "type")]
    feature_type: String,
    description: Option<String>,
    project: String,
    favorite: bool,
    created_at: DateTime<Utc>,
    stale: bool,
    impression_data: bool,
    archived: bool,
    archived_at: Option<DateTime<Utc>>,
    environments: Vec<FeatureEnvironmentSummary>,
    tags: Vec<Tag>,
}

#[derive(ToSchema)]
pub struct FeatureList {
    version: u32,
    features: Vec<FeatureSummary>,
}

/// The flags in the archive.
#[derive(ToSchema)]
pub struct ArchivedFeatureList {
    version: u32,
    features: Vec<FeatureSummary>,
}

/// A flag's state in one environment, on its own.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct FeatureEnvironmentDetail {
    name: String,
    environment: String,
    feature_name: String,
    #[schema(rename = "type")]
    environment_type: String,
    sort_order: i64,
    enabled: bool,
    strategies: Vec<AdminStrategy>,
    variants: Vec<Variant>,
}

#[derive(ToSchema)]
pub struct FeatureVariants {
    version: u32,
    /// The flag's name.
    name: String,
    variants: Vec<Variant>,
}

#[derive(ToSchema)]
pub struct TagList {
    version: u32,
    tags: Vec<Tag>,
}

/// A flag as the legacy, environment-less API shows it.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct LegacyFeature {
    name: String,
    description: Option<String>,
    #[schema(rename = "type")]
    feature_type: String,
    project: String,
    /// On in every environment the legacy API acts on.
    enabled: bool,
    stale: bool,
    impression_data: bool,
    strategies: Vec<LegacyStrategy>,
    variants: Vec<Variant>,
    created_at: DateTime<Utc>,
    archived: bool,
}

#[derive(ToSchema)]
pub struct LegacyStrategy {
    name: String,
    parameters: BTreeMap<String, String>,
    constraints: Vec<Constraint>,
}

#[derive(ToSchema)]
pub struct LegacyFeatureList {
    version: u32,
    features: Vec<LegacyFeature>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Project {
    id: String,
    name: String,
    description: Option<String>,
    created_at: Option<DateTime<Utc>>,
    feature_count: u64,
    member_count: u64,
    health: u32,
    mode: String,
    favorite: bool,
}

#[derive(ToSchema)]
pub struct ProjectList {
    version: u32,
    projects: Vec<Project>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Environment {
    name: String,
    #[schema(rename = "type")]
    environment_type: String,
    enabled: bool,
    protected: bool,
    sort_order: i64,
}

#[derive(ToSchema)]
pub struct EnvironmentList {
    version: u32,
    environments: Vec<Environment>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Segment {
    id: i64,
    name: String,
    description: Option<String>,
    project: Option<String>,
    constraints: Vec<Constraint>,
    created_by: Option<String>,
    created_at: Option<DateTime<Utc>>,
    used_in_features: u64,
    used_in_projects: u64,
}

#[derive(ToSchema)]
pub struct SegmentList {
    segments: Vec<Segment>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct TagTypeList {
    version: u32,
    tag_types: Vec<TagType>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct TagTypeEnvelope {
    version: u32,
    tag_type: TagType,
}

#[derive(ToSchema)]
pub struct TagTypeName {
    name: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct TagTypeValidation {
    valid: bool,
    tag_type: TagTypeName,
}

/// A context field in the listing: one of the built-in ones (without `createdAt`), or one an
/// admin defined.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ListedContextField {
    name: String,
    description: Option<String>,
    stickiness: bool,
    sort_order: i64,
    legal_values: Vec<crate::domain::model::LegalValue>,
    created_at: Option<DateTime<Utc>>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct FeatureType {
    id: String,
    name: String,
    description: String,
    lifetime_days: Option<u32>,
}

#[derive(ToSchema)]
pub struct FeatureTypeList {
    version: u32,
    types: Vec<FeatureType>,
}

#[derive(ToSchema)]
pub struct VersionInfo {
    current: BTreeMap<String, String>,
    #[schema(rename = "isLatest")]
    is_latest: bool,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UiConfig {
    version: String,
    name: String,
    environment: String,
    unleash_url: String,
    base_uri_path: String,
    version_info: VersionInfo,
    frontend_api_origins: Vec<String>,
}

/// An API token. `secret` is whole only in the answer to its creation.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ApiToken {
    secret: String,
    token_name: String,
    #[schema(rename = "type")]
    token_type: TokenType,
    /// `*`, one project, or `[]` when the token names several (see `projects`).
    project: String,
    projects: Vec<String>,
    environment: String,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    alias: Option<String>,
    seen_at: Option<DateTime<Utc>>,
    secure: bool,
}

#[derive(ToSchema)]
pub struct ApiTokenList {
    tokens: Vec<ApiToken>,
}

/// One entry of the audit log.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Event {
    id: i64,
    #[schema(rename = "type")]
    event_type: String,
    created_by: String,
    created_at: DateTime<Utc>,
    created_by_user_id: Option<i64>,
    data: Option<Value>,
    pre_data: Option<Value>,
    tags: Vec<Tag>,
    feature_name: Option<String>,
    project: Option<String>,
    environment: Option<String>,
    /// The commit the change was part of.
    revision: Option<i64>,
    /// The event's link in the audit hash chain: record it to check later that the log up to
    /// here was not rewritten (see `GET /api/admin/audit/verify`).
    hash: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct EventList {
    version: u32,
    events: Vec<Event>,
    total_events: i64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct FeatureEventList {
    version: u32,
    toggle_name: String,
    events: Vec<Event>,
    total_events: i64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct EventSearchResult {
    events: Vec<Event>,
    total: i64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ApplicationInstance {
    instance_id: String,
    environment: Option<String>,
    sdk_version: Option<String>,
    first_seen_at: Option<DateTime<Utc>>,
    last_seen_at: Option<DateTime<Utc>>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Application {
    app_name: String,
    strategies: Vec<String>,
    environments: Vec<String>,
    sdk_version: Option<String>,
    instances: Vec<ApplicationInstance>,
}

#[derive(ToSchema)]
pub struct ApplicationList {
    total: u64,
    applications: Vec<Application>,
}

#[derive(ToSchema)]
pub struct HourUsage {
    environment: String,
    timestamp: Option<DateTime<Utc>>,
    yes: i64,
    no: i64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct FeatureUsage {
    version: u32,
    maturity: String,
    feature_name: String,
    last_hour_usage: Vec<HourUsage>,
    seen_applications: Vec<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UsageBucket {
    feature_name: String,
    app_name: String,
    environment: String,
    timestamp: Option<DateTime<Utc>>,
    yes: i64,
    no: i64,
    variants: BTreeMap<String, i64>,
}

#[derive(ToSchema)]
pub struct FeatureUsageRaw {
    version: u32,
    maturity: String,
    data: Vec<UsageBucket>,
}

/// A strategy as the Client API sends it (see `ClientFeatures`).
#[derive(ToSchema)]
pub struct ClientStrategies(Vec<Strategy>);

/// One flag evaluated for the caller's context.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct FrontendToggle {
    name: String,
    enabled: bool,
    impression_data: bool,
    variant: FrontendVariant,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct FrontendVariant {
    name: String,
    enabled: bool,
    payload: Option<flagpole_eval::wire::Payload>,
    #[schema(rename = "feature_enabled")]
    feature_enabled_snake: bool,
    /// The same as `feature_enabled`, in the spelling newer SDKs read.
    feature_enabled: bool,
}

/// The flags that are on for the caller's context.
#[derive(ToSchema)]
pub struct FrontendToggles {
    toggles: Vec<FrontendToggle>,
}

/// Events of the delta API: what changed since the client's revision.
#[derive(ToSchema)]
pub struct ClientDelta {
    events: Vec<Value>,
}

/// A user (Unleash's `userSchema`, the fields Flagpole has).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct User {
    id: i64,
    username: Option<String>,
    email: Option<String>,
    name: Option<String>,
    /// 1 Admin, 2 Editor, 3 Viewer.
    root_role: i64,
    created_at: Option<DateTime<Utc>>,
    /// `User`, or `Service Account` for an admin API token.
    account_type: Option<String>,
    /// True for an admin API token's pseudo user.
    #[schema(rename = "isAPI")]
    is_api: Option<bool>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RootRole {
    id: i64,
    /// Always `root`.
    #[schema(rename = "type")]
    role_type: String,
    name: String,
    description: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UserList {
    users: Vec<User>,
    root_roles: Vec<RootRole>,
}

#[derive(ToSchema)]
pub struct Permission {
    /// An Unleash permission name, e.g. `ADMIN` or `CREATE_FEATURE`.
    permission: String,
}

/// The caller (Unleash's `meSchema`).
#[derive(ToSchema)]
pub struct Me {
    user: User,
    permissions: Vec<Permission>,
    /// Always empty.
    feedback: Vec<Value>,
    /// Always empty.
    splash: BTreeMap<String, bool>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Profile {
    root_role: RootRole,
    projects: Vec<String>,
    groups: Vec<Value>,
    features: Vec<Value>,
    subscriptions: Vec<String>,
    can_change_password: bool,
}

/// A personal access token (Unleash's `patSchema`).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Pat {
    id: i64,
    description: String,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    user_id: i64,
    seen_at: Option<DateTime<Utc>>,
    /// The whole secret, only in the answer that creates the token.
    secret: Option<String>,
    /// `expired` once past `expiresAt`.
    expiry_warning: Option<String>,
}

#[derive(ToSchema)]
pub struct PatList {
    pats: Vec<Pat>,
}
