//! The Admin API (`/api/admin/*`): everything scripts and the UI use to manage flags.
//! Every route requires an admin-capable caller (`AdminAuth`).

mod batch;
mod events;
mod features;
mod legacy;
mod metadata;
mod metrics;
mod projects;
mod segments;
mod tokens;

use axum::routing::{delete, get, post};
use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    let feature = "/projects/{project}/features/{feature}";
    let environment = "/projects/{project}/features/{feature}/environments/{environment}";
    Router::new()
        // Flags in a project.
        .route(
            "/projects/{project}/features",
            get(features::list).post(features::create),
        )
        .route(
            feature,
            get(features::get_one)
                .put(features::update)
                .patch(features::patch)
                .delete(features::archive),
        )
        .route(environment, get(features::get_environment))
        .route(&format!("{environment}/on"), post(features::toggle_on))
        .route(&format!("{environment}/off"), post(features::toggle_off))
        .route(
            &format!("{environment}/strategies"),
            get(features::list_strategies).post(features::add_strategy),
        )
        .route(
            &format!("{environment}/strategies/set-sort-order"),
            post(features::set_strategy_sort_order),
        )
        .route(
            &format!("{environment}/strategies/{{strategy}}"),
            get(features::get_strategy)
                .put(features::update_strategy)
                .patch(features::patch_strategy)
                .delete(features::delete_strategy),
        )
        .route(
            &format!("{environment}/variants"),
            get(features::get_variants)
                .put(features::put_variants)
                .patch(features::patch_variants),
        )
        .route(
            &format!("{feature}/dependencies"),
            post(features::add_dependency).delete(features::remove_dependencies),
        )
        .route(
            &format!("{feature}/dependencies/{{parent}}"),
            delete(features::remove_dependency),
        )
        .route(
            "/projects/{project}/bulk_features/environments/{environment}/on",
            post(features::bulk_toggle_on),
        )
        .route(
            "/projects/{project}/bulk_features/environments/{environment}/off",
            post(features::bulk_toggle_off),
        )
        .route("/features/validate", post(features::validate_name))
        // Archive.
        .route("/archive/features", get(features::list_archived))
        .route(
            "/archive/features/{project}",
            get(features::list_archived_in_project),
        )
        .route("/archive/revive/{feature}", post(features::revive))
        .route("/archive/{feature}", delete(features::delete_archived))
        // Tags on flags.
        .route(
            "/features/{feature}/tags",
            get(features::list_tags)
                .post(features::add_tag)
                .put(features::update_tags),
        )
        .route(
            "/features/{feature}/tags/{tag_type}/{value}",
            delete(features::remove_tag),
        )
        // The legacy, environment-less flag API of Unleash 3/4.
        .route("/features", get(legacy::list).post(legacy::create))
        .route(
            "/features/{feature}",
            get(legacy::get_one)
                .put(legacy::update)
                .delete(legacy::archive),
        )
        .route("/features/{feature}/toggle", post(legacy::toggle))
        .route("/features/{feature}/toggle/on", post(legacy::toggle_on))
        .route("/features/{feature}/toggle/off", post(legacy::toggle_off))
        // Projects and environments.
        .route("/projects", get(projects::list).post(projects::create))
        .route(
            "/projects/{project}",
            get(projects::get_one)
                .put(projects::update)
                .delete(projects::delete),
        )
        .route(
            "/environments",
            get(projects::list_environments).post(projects::create_environment),
        )
        .route(
            "/environments/{environment}",
            get(projects::get_environment)
                .put(projects::update_environment)
                .delete(projects::delete_environment),
        )
        .route(
            "/environments/{environment}/on",
            post(projects::enable_environment),
        )
        .route(
            "/environments/{environment}/off",
            post(projects::disable_environment),
        )
        // Segments.
        .route("/segments", get(segments::list).post(segments::create))
        .route(
            "/segments/{id}",
            get(segments::get_one)
                .put(segments::update)
                .delete(segments::delete),
        )
        // Tag types, context fields, feature types.
        .route(
            "/tag-types",
            get(metadata::list_tag_types).post(metadata::create_tag_type),
        )
        .route("/tag-types/validate", post(metadata::validate_tag_type))
        .route(
            "/tag-types/{name}",
            get(metadata::get_tag_type)
                .put(metadata::update_tag_type)
                .delete(metadata::delete_tag_type),
        )
        .route(
            "/context",
            get(metadata::list_context).post(metadata::create_context),
        )
        .route(
            "/context/{name}",
            get(metadata::get_context)
                .put(metadata::update_context)
                .delete(metadata::delete_context),
        )
        .route("/feature-types", get(metadata::feature_types))
        // API tokens.
        .route("/api-tokens", get(tokens::list).post(tokens::create))
        .route(
            "/api-tokens/{token}",
            get(tokens::list_by_name)
                .put(tokens::update)
                .delete(tokens::revoke),
        )
        // SDK applications and usage.
        .route("/metrics/applications", get(metrics::applications))
        .route(
            "/client-metrics/features/{feature}",
            get(metrics::feature_usage),
        )
        .route(
            "/client-metrics/features/{feature}/raw",
            get(metrics::feature_usage_raw),
        )
        // Instance settings.
        .route("/ui-config", get(metadata::ui_config))
        .route("/ui-config/cors", post(metadata::set_cors))
        // Audit log.
        .route("/events", get(events::list))
        .route("/events/{feature}", get(events::for_feature))
        .route("/search/events", get(events::search))
        // Unleash's export/import format.
        .route("/features-batch/export", post(batch::export))
        .route("/features-batch/validate", post(batch::validate))
        .route("/features-batch/import", post(batch::import))
}
