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

/// A user as Unleash shows one beside a change: id, name and avatar. Changes made with an API
/// token show Unleash's pseudo user id -42 and the token's name.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Actor {
    id: i64,
    name: String,
    image_url: String,
}

#[derive(ToSchema)]
pub struct Collaborators {
    users: Vec<Actor>,
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
    /// In the listing only: always null (release plans are not supported).
    milestone_id: Option<String>,
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
    /// Evaluations SDKs reported as on this hour.
    yes: i64,
    /// Evaluations SDKs reported as off this hour.
    no: i64,
    strategies: Vec<AdminStrategy>,
    /// Only with `?variantEnvironments=true`.
    variants: Option<Vec<Variant>>,
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
    created_at: DateTime<Utc>,
    created_by: Actor,
    /// Who changed the flag (from its history), most recent first.
    collaborators: Collaborators,
    environments: Vec<FeatureEnvironment>,
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
    favorite: bool,
    created_at: DateTime<Utc>,
    stale: bool,
    impression_data: bool,
    environments: Vec<FeatureEnvironmentSummary>,
}

/// An archived flag in the archive's listing.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ArchivedFeatureSummary {
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
    features: Vec<ArchivedFeatureSummary>,
}

/// A flag's state in one environment, on its own.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct FeatureEnvironmentDetail {
    /// The flag's name.
    name: String,
    environment: String,
    enabled: bool,
    strategies: Vec<EnvironmentStrategy>,
}

/// A strategy in a flag's environment view: with its flag's name, without segments.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct EnvironmentStrategy {
    id: String,
    feature_name: String,
    name: String,
    title: Option<String>,
    disabled: bool,
    sort_order: i64,
    constraints: Vec<Constraint>,
    variants: Vec<Variant>,
    parameters: BTreeMap<String, String>,
}

#[derive(ToSchema)]
pub struct FeatureVariants {
    version: u32,
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
    /// 100 minus `technicalDebt`.
    health: u32,
    /// The share of the project's flags marked stale, in percent.
    technical_debt: u32,
    mode: String,
    /// Always null: projects are deleted, not archived.
    archived_at: Option<DateTime<Utc>>,
    /// Always `[{"ownerType": "system"}]`.
    owners: Vec<Value>,
    /// When anything in the project last changed.
    last_updated_at: Option<DateTime<Utc>>,
    /// When an SDK last reported one of its flags.
    last_reported_flag_usage: Option<DateTime<Utc>>,
    /// `{"status": "onboarding-started"}`, `{"status": "first-flag-created", "feature": …}`
    /// or `{"status": "onboarded"}`. In the listing only, like the two fields above.
    onboarding_status: Option<Value>,
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
    /// Always null: no approvals are required per environment yet.
    required_approvals: Option<u32>,
    /// In the listing: how many projects have the environment.
    project_count: Option<u64>,
    /// In the listing: API tokens scoped to it.
    api_token_count: Option<u64>,
    /// In the listing: live flags switched on in it.
    enabled_toggle_count: Option<u64>,
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
    /// In the listing only.
    used_in_features: Option<u64>,
    /// In the listing only.
    used_in_projects: Option<u64>,
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

/// A context field in the listing, with how much it is used.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ListedContextField {
    name: String,
    description: Option<String>,
    stickiness: bool,
    sort_order: i64,
    legal_values: Vec<crate::domain::model::LegalValue>,
    created_at: DateTime<Utc>,
    /// Live flags with a constraint on this field.
    used_in_features: usize,
    /// Projects of those flags.
    used_in_projects: usize,
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
    /// Always empty: Flagpole does not look for newer versions.
    latest: BTreeMap<String, String>,
    #[schema(rename = "isLatest")]
    is_latest: bool,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UiConfig {
    version: String,
    /// Always `Flagpole`.
    environment: String,
    unleash_url: String,
    base_uri_path: String,
    version_info: VersionInfo,
    frontend_api_origins: Vec<String>,
    /// Always `open-source`: sign-in by password.
    authentication_type: String,
    disable_password_auth: bool,
    email_enabled: bool,
    #[schema(rename = "prometheusAPIAvailable")]
    prometheus_api_available: bool,
    maintenance_mode: bool,
    /// 0: no limit.
    max_sessions_count: u32,
    /// Always `disabled`.
    impact_metrics: String,
    stories_page_enabled: bool,
    /// Always empty.
    unleash_context: BTreeMap<String, String>,
}

/// A token's type as answered: `backend` only in the answer to creating a token of that
/// (newer) name for `client`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum TokenTypeName {
    Admin,
    Client,
    Frontend,
    Backend,
}

/// An API token. `secret` is whole only in the answer to its creation.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ApiToken {
    secret: String,
    token_name: String,
    #[schema(rename = "type")]
    token_type: TokenTypeName,
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
    /// Always `transaction`: the events of one change share a `groupId`.
    group_type: String,
    /// The change the event was part of (its revision).
    group_id: String,
    /// A short title for the kind of change (in the search only).
    label: Option<String>,
    /// Who did what, where, in Markdown (in the search only).
    summary: Option<String>,
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
    /// Always `User`.
    account_type: Option<String>,
    /// Gravatar's picture for the email (else username or name).
    image_url: Option<String>,
    /// Always null: Flagpole has no SCIM provisioning.
    scim_id: Option<String>,
    /// Always null: Flagpole has no seats.
    seat_type: Option<String>,
    /// Always null.
    company_role: Option<String>,
    /// Always null: Flagpole sends no product e-mails.
    product_updates_email_consent: Option<bool>,
}

/// Who is calling: a user, or an admin API token.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum Caller {
    User(User),
    Token(TokenCaller),
}

/// The caller, when it is an admin API token (Unleash's shape, without the secret).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct TokenCaller {
    /// The token's name.
    username: String,
    /// Always `["ADMIN"]`.
    permissions: Vec<String>,
    environment: String,
    #[schema(rename = "type")]
    token_type: String,
    projects: Vec<String>,
    /// The pseudo user id changes made with the token are attributed to (-42).
    internal_admin_token_user_id: i64,
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
    user: Caller,
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
