//! The Admin API (`/api/admin/*`): everything scripts and the UI use to manage flags.
//! Every route requires an admin-capable caller (`AdminAuth`), whose role must allow the route.

mod archive;
mod batch;
mod events;
mod feature_views;
pub(crate) mod features;
mod flag_tags;
mod legacy;
pub(crate) mod metadata;
mod metrics;
mod projects;
mod segments;
mod strategies;
pub(crate) mod tokens;
mod users;
mod variants;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // Flags in a project.
        .routes(routes!(features::list, features::create))
        .routes(routes!(
            features::get_one,
            features::update,
            features::patch,
            features::archive
        ))
        .routes(routes!(features::get_environment))
        .routes(routes!(features::toggle_on))
        .routes(routes!(features::toggle_off))
        .routes(routes!(
            strategies::list_strategies,
            strategies::add_strategy
        ))
        .routes(routes!(strategies::set_strategy_sort_order))
        .routes(routes!(
            strategies::get_strategy,
            strategies::update_strategy,
            strategies::patch_strategy,
            strategies::delete_strategy
        ))
        .routes(routes!(
            variants::get_variants,
            variants::put_variants,
            variants::patch_variants
        ))
        .routes(routes!(
            features::add_dependency,
            features::remove_dependencies
        ))
        .routes(routes!(features::remove_dependency))
        .routes(routes!(features::bulk_toggle_on))
        .routes(routes!(features::bulk_toggle_off))
        .routes(routes!(features::validate_name))
        // Archive.
        .routes(routes!(archive::list_archived))
        .routes(routes!(archive::list_archived_in_project))
        .routes(routes!(archive::revive))
        .routes(routes!(archive::delete_archived))
        // Tags on flags.
        .routes(routes!(
            flag_tags::list_tags,
            flag_tags::add_tag,
            flag_tags::update_tags
        ))
        .routes(routes!(flag_tags::remove_tag))
        // The legacy, environment-less flag API of Unleash 3/4.
        .routes(routes!(legacy::list, legacy::create))
        .routes(routes!(legacy::get_one, legacy::update, legacy::archive))
        .routes(routes!(legacy::toggle))
        .routes(routes!(legacy::toggle_on))
        .routes(routes!(legacy::toggle_off))
        // Projects and environments.
        .routes(routes!(projects::list, projects::create))
        .routes(routes!(
            projects::get_one,
            projects::update,
            projects::delete
        ))
        .routes(routes!(
            projects::list_environments,
            projects::create_environment
        ))
        .routes(routes!(
            projects::get_environment,
            projects::update_environment,
            projects::delete_environment
        ))
        .routes(routes!(projects::enable_environment))
        .routes(routes!(projects::disable_environment))
        // Segments.
        .routes(routes!(segments::list, segments::create))
        .routes(routes!(
            segments::get_one,
            segments::update,
            segments::delete
        ))
        // Tag types, context fields, feature types.
        .routes(routes!(metadata::list_tag_types, metadata::create_tag_type))
        .routes(routes!(metadata::validate_tag_type))
        .routes(routes!(
            metadata::get_tag_type,
            metadata::update_tag_type,
            metadata::delete_tag_type
        ))
        .routes(routes!(metadata::list_context, metadata::create_context))
        .routes(routes!(
            metadata::get_context,
            metadata::update_context,
            metadata::delete_context
        ))
        .routes(routes!(metadata::feature_types))
        // API tokens.
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(
            tokens::list_by_name,
            tokens::update,
            tokens::revoke
        ))
        // Users, the caller's own account and personal access tokens.
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::validate_password))
        .routes(routes!(
            users::get_user,
            users::update_user,
            users::delete_user
        ))
        .routes(routes!(users::change_user_password))
        .routes(routes!(users::me))
        .routes(routes!(users::profile))
        .routes(routes!(users::change_my_password))
        .routes(routes!(users::list_pats, users::create_pat))
        .routes(routes!(users::delete_pat))
        // SDK applications and usage.
        .routes(routes!(metrics::applications))
        .routes(routes!(metrics::feature_usage))
        .routes(routes!(metrics::feature_usage_raw))
        // Instance settings.
        .routes(routes!(metadata::ui_config))
        .routes(routes!(metadata::set_cors))
        // Audit log.
        .routes(routes!(events::list))
        .routes(routes!(events::for_feature))
        .routes(routes!(events::search))
        .routes(routes!(events::verify_chain))
        // Unleash's export/import format.
        .routes(routes!(batch::export))
        .routes(routes!(batch::validate))
        .routes(routes!(batch::import))
}
