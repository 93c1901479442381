//! Black-box HTTP tests. Every behaviour test runs against SQLite, and against PostgreSQL when
//! `TEST_DATABASE_URL` is set (each test on its own new database).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod auth;
mod authz;
mod bad_input;
mod batch;
mod cli;
mod client;
mod connections;
mod contract;
mod declarative;
mod delta;
mod durability;
mod errors;
mod events;
mod flags;
mod frontend;
mod fuzz_replay;
mod helpers;
mod import_cli;
mod legacy;
mod limits;
mod metadata;
mod observability;
mod ofrep;
mod openapi;
mod packaging;
mod parity;
mod replicas;
mod roles;
mod sdk;
mod secrets;
mod soak;
mod tokens;
mod ui;
mod users;

/// Instantiates each listed test once per backend: `sqlite::name` and `postgres::name`.
macro_rules! behaviour_suite {
    ($($module:ident :: $test:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $module::$test(helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    if let Some(backend) = helpers::Backend::postgres() {
                        $module::$test(backend).await;
                    }
                }
            )*
        }
    };
}

behaviour_suite! {
    parity::same_answers_as_unleash,
    flags::documented_flow_toggles_and_attributes_the_change,
    flags::bulk_toggle_switches_all_or_none,
    flags::strategies_with_constraints_and_segments,
    flags::variants_are_balanced_and_patchable,
    flags::metadata_put_and_json_patch,
    flags::archive_revive_and_delete,
    flags::dependencies_between_flags,
    flags::concurrent_changes_all_apply_with_one_event_each,
    flags::state_survives_a_restart,
    audit::audit_chain_detects_an_edited_event,
    audit::audit_chain_detects_a_removed_event_and_chains_old_ones,
    audit::audit_chain_reports_an_unchained_event,
    auth::missing_unknown_and_wrong_kind_of_token,
    cli::token_commands_work_on_the_database,
    auth::bearer_prefix_is_accepted,
    auth::revoked_and_expired_tokens_stop_at_once,
    client::client_api_serves_the_token_scope,
    client::client_api_caching_and_compression,
    client::repeated_polls_on_one_connection_follow_changes,
    client::sdk_apis_check_token_kinds,
    client::metrics_and_registrations_reach_the_admin_api,
    declarative::example_is_applied_served_and_idempotent,
    declarative::dry_run_plans_and_one_edit_is_one_event,
    declarative::bad_files_are_refused_and_change_nothing,
    declarative::export_then_apply_elsewhere_serves_the_same,
    declarative::prune_archives_flags_missing_from_the_file,
    declarative::server_and_cli_take_turns_on_one_database,
    delta::delta_api_sends_only_what_changed,
    delta::streaming_pushes_changes_and_resumes,
    errors::bad_input_is_refused_and_changes_nothing,
    errors::unknown_things_are_404,
    errors::limits_give_413_and_400,
    events::search_filters_and_pages,
    frontend::frontend_api_evaluates_for_the_context,
    frontend::frontend_cors_follows_the_setting,
    frontend::frontend_get_and_post_answer_alike,
    legacy::legacy_endpoints_act_on_every_environment,
    legacy::legacy_environments_can_be_narrowed,
    metadata::projects_and_environments,
    metadata::tags_and_tag_types,
    metadata::context_fields_and_feature_types,
    openapi::document_is_served_and_every_operation_is_routed,
    observability::prometheus_metrics_follow_requests_and_state,
    observability::requests_carry_a_request_id,
    observability::json_logs_carry_the_request_id,
    ofrep::ofrep_evaluates_single_flags,
    ofrep::ofrep_bulk_evaluation_and_etags,
    ofrep::ofrep_errors_and_authentication,
    sdk::browser_sdk_against_the_frontend_api,
    sdk::node_server_sdk,
    sdk::node_server_sdk_delta_polling,
    sdk::node_server_sdk_streaming,
    sdk::python_server_sdk,
    sdk::openfeature_ofrep_provider,
    tokens::tokens_have_unleash_format_and_are_shown_once,
    tokens::token_scopes_are_validated,
    tokens::start_up_tokens_are_idempotent,
    batch::recorded_unleash_export_imports,
    batch::export_import_round_trips,
    batch::bad_imports_change_nothing,
    batch::batch_endpoints_need_an_admin_token,
    import_cli::import_from_recorded_unleash,
    import_cli::import_from_another_flagpole,
    import_cli::import_from_real_unleash,
    users::users_crud_with_events,
    users::sign_in_sets_a_session_cookie_and_logout_ends_it,
    users::cookies_are_secure_over_tls,
    users::sign_in_attempts_are_limited,
    users::sessions_expire_when_idle_and_at_their_age,
    users::cookie_writes_need_the_csrf_token,
    users::personal_access_tokens_act_as_their_user,
    users::password_changes_end_sessions,
    users::editors_manage_only_sdk_tokens,
    users::user_commands_work_on_the_database,
    users::first_start_creates_an_admin_and_prints_its_password_once,
    roles::every_operation_checks_the_callers_role,
    authz::bad_credentials_are_refused_on_every_operation,
    authz::sdk_bodies_hold_only_the_tokens_scope,
    bad_input::random_input_is_refused_cleanly_and_changes_nothing,
    durability::acknowledged_changes_survive_repeated_sigkills,
    durability::conflicting_updates_of_one_flag_stay_in_order,
    limits::every_documented_limit_is_enforced,
    soak::mixed_traffic_stays_flat,
    secrets::secrets_never_reach_the_logs,
    ui::every_ui_route_checks_the_callers_session_and_role,
    ui::forms_show_errors_next_to_fields_and_change_nothing,
    ui::ui_changes_are_audited_as_the_user,
    ui::new_secrets_are_shown_once,
    ui::the_flag_page_charts_sdk_metrics,
    ui::sign_in_page_and_security_headers,
    ui::the_ui_works_end_to_end_in_chromium,
    ui::users_and_metadata_are_managed_in_the_ui,
    ui::flag_page_forms_change_the_flag,
    ui::editors_cannot_create_or_revoke_admin_tokens,
}

/// The server runs on a multi-threaded runtime, where an SQLite commit runs in place on the
/// request's worker thread; every behaviour test above runs that way. On a current-thread runtime
/// (an embedder's, say) commits take the blocking pool instead: the same writes, retries and
/// restarts must hold there too.
mod current_thread_runtime {
    use super::*;

    #[tokio::test]
    async fn sqlite_changes_commit_and_survive_a_restart() {
        flags::concurrent_changes_all_apply_with_one_event_each(helpers::Backend::Sqlite).await;
        flags::state_survives_a_restart(helpers::Backend::Sqlite).await;
    }
}
