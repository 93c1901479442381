//! API access (API tokens), the user's profile with personal access tokens, and users.
//!
//! A new secret is shown once: the form post answers with a 303 and a short-lived HttpOnly
//! cookie holding the secret; the page it leads to shows it and clears the cookie, so a reload
//! shows nothing. The secret is never in a URL, and never logged.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use maud::{html, Markup};

use super::layout::{button_form, csrf, error, page, select_field, text_field, Nav};
use super::{
    cookie, html as to_html, rejected, secret_cookie, see_other, Errors, Fields, Page, Posted, Ui,
    SET_COOKIE,
};
use crate::app::AppState;
use crate::auth::policy::{Access, Role};
use crate::auth::session::is_secure;
use crate::auth::token::{project_label, TokenType};
use crate::domain::pats::{self, CreatePat};
use crate::domain::tokens::{self, CreateToken};
use crate::domain::users::{self, NewUser, RoleInput, UpdateUser};
use crate::snapshot::Snapshot;

const TOKEN_COOKIE: &str = "flagpole-new-token";
const PAT_COOKIE: &str = "flagpole-new-pat";

/// The page, plus the clearing of the one-time cookie when it carried a secret.
fn with_secret_shown(
    markup: Markup,
    cookie_name: &str,
    path: &str,
    shown: bool,
    secure: bool,
) -> Response {
    let mut response = to_html(markup);
    if shown {
        response
            .headers_mut()
            .append(SET_COOKIE, secret_cookie(cookie_name, path, None, secure));
    }
    response
}

fn secret_box(secret: &str, what: &str) -> Markup {
    html! {
        div.notice role="status" {
            p { strong { "Your new " (what) ". Copy it now: it will not be shown again." } }
            p.secret id="new-secret" { (secret) }
            button.secondary type="button" data-copy="new-secret" { "Copy" }
        }
    }
}

/// An end-of-day expiry from a date field, or `None` when empty.
fn expiry(form: &Fields, field: &str, errors: &mut Errors) -> Option<chrono::DateTime<Utc>> {
    let text = form.opt(field)?;
    match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        Ok(date) => date.and_hms_opt(23, 59, 59).map(|t| t.and_utc()),
        Err(_) => {
            errors.add(field, "Give a date as YYYY-MM-DD.");
            None
        }
    }
}

// ---------------------------------------------------------------- API tokens

fn render_tokens(
    snapshot: &Snapshot,
    ui: &Ui,
    new_secret: Option<&str>,
    input: &Fields,
    errors: &Errors,
) -> Markup {
    let is_admin = ui.can(Access::Admin);
    let mut tokens: Vec<(&String, &crate::auth::token::ApiToken)> = snapshot
        .tokens
        .iter()
        .map(|(digest, t)| (digest, t.value.as_ref()))
        .filter(|(_, t)| is_admin || t.token_type != TokenType::Admin)
        .collect();
    tokens.sort_by_key(|t| std::cmp::Reverse(t.1.created_at));
    let mut types = vec![
        ("client".to_string(), "Client (server SDKs)".to_string()),
        (
            "frontend".to_string(),
            "Frontend (browser and mobile SDKs)".to_string(),
        ),
    ];
    if is_admin {
        types.push(("admin".into(), "Admin (the Admin API)".into()));
    }
    let environments: Vec<(String, String)> = snapshot
        .sorted_environments()
        .iter()
        .map(|e| (e.name.clone(), e.name.clone()))
        .collect();
    let selected_projects = input.all("projects");
    let content = html! {
        @if let Some(secret) = new_secret { (secret_box(secret, "API token")) }
        section aria-labelledby="list" {
            h2 id="list" { "API tokens" }
            table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Projects" }
                    th scope="col" { "Environment" } th scope="col" { "Secret" } th scope="col" { "Expires" } th scope="col" { "" }
                } }
                tbody {
                    @for (digest, token) in &tokens {
                        tr {
                            td { (token.token_name) }
                            td { (token.token_type.as_str()) }
                            td { (project_label(&token.projects)) }
                            td { (token.environment) }
                            td { code { (token.secret_prefix) } }
                            td { (token.expires_at.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "never".into())) }
                            td {
                                @if is_admin || token.token_type != TokenType::Admin {
                                    form.inline method="post" action="/admin/api-tokens/revoke" data-confirm="Revoke this token? SDKs using it stop at once." {
                                        (csrf(ui))
                                        input type="hidden" name="token" value=(digest);
                                        button.secondary type="submit" aria-label={ "Revoke " (token.token_name) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="create" {
            h2 id="create" { "Create an API token" }
            form method="post" action="/admin/api-tokens" {
                (csrf(ui))
                (error(errors, ""))
                (text_field("Name", "name", input, errors, "text", true))
                (select_field("Type", "type", &types, if input.get("type").is_empty() { "client" } else { input.get("type") }, errors))
                fieldset {
                    legend { "Projects (none ticked: all projects)" }
                    @for project in snapshot.projects.values() {
                        @let id = &project.value.id;
                        div.check {
                            input id={ "p-" (id) } type="checkbox" name="projects" value=(id) checked[selected_projects.contains(id)];
                            label for={ "p-" (id) } { (project.value.name) }
                        }
                    }
                    (error(errors, "projects"))
                }
                (select_field("Environment (client and frontend tokens)", "environment", &environments,
                    if input.get("environment").is_empty() { "development" } else { input.get("environment") }, errors))
                (text_field("Expires on (optional)", "expires", input, errors, "date", false))
                button type="submit" { "Create token" }
            }
        }
    };
    page(ui, "API access", Nav::Tokens, content)
}

pub async fn tokens(State(state): State<AppState>, headers: HeaderMap, ui: Ui) -> Page {
    let snapshot = state.core.fresh().await?;
    let secret = cookie(&headers, TOKEN_COOKIE);
    let secure = is_secure(&state.sessions.settings, &headers);
    Ok(with_secret_shown(
        render_tokens(
            &snapshot,
            &ui,
            secret.as_deref(),
            &Fields::default(),
            &Errors::none(),
        ),
        TOKEN_COOKIE,
        "/admin/api-tokens",
        secret.is_some(),
        secure,
    ))
}

pub async fn token_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted,
) -> Page {
    let Posted { ui, form } = posted;
    let mut errors = Errors::none();
    let token_type = form.get("type").to_owned();
    let expires_at = expiry(&form, "expires", &mut errors);
    let is_admin_token = TokenType::parse(&token_type) == Some(TokenType::Admin);
    let projects = form.all("projects");
    let input = CreateToken {
        token_name: form.opt("name"),
        username: None,
        token_type,
        environment: Some(if is_admin_token {
            "*".into()
        } else {
            form.get("environment").to_owned()
        }),
        project: None,
        projects: Some(if is_admin_token { vec![] } else { projects }),
        expires_at,
    };
    let result = if errors.is_empty() {
        tokens::create(&state.core, &ui.actor(), ui.role(), input).await
    } else {
        Err(crate::error::ApiError::bad_data(""))
    };
    match result {
        Ok((_, secret)) => {
            let secure = is_secure(&state.sessions.settings, &headers);
            let mut response = Redirect::to("/admin/api-tokens").into_response();
            response.headers_mut().append(
                SET_COOKIE,
                secret_cookie(
                    TOKEN_COOKIE,
                    "/admin/api-tokens",
                    Some(secret.expose()),
                    secure,
                ),
            );
            Ok(response)
        }
        Err(error) => {
            if let crate::error::ApiError::Forbidden(message) = error {
                // The rules refused the token's type to this role: said next to the type.
                errors.add("type", message);
            } else if errors.is_empty() {
                errors = Errors::from_error(
                    error,
                    &[
                        ("tokenName", "name"),
                        ("type", "type"),
                        ("expiresAt", "expires"),
                        ("Environment", "environment"),
                        ("Project", "projects"),
                    ],
                    "name",
                )?;
            }
            let snapshot = state.core.fresh().await?;
            rejected(render_tokens(&snapshot, &ui, None, &form, &errors))
        }
    }
}

pub async fn token_revoke(State(state): State<AppState>, posted: Posted) -> Page {
    let Posted { ui, form } = posted;
    let digest = form.get("token").to_owned();
    tokens::revoke_digest(&state.core, &ui.actor(), ui.role(), &digest).await?;
    see_other("/admin/api-tokens")
}

// ---------------------------------------------------------------- profile and PATs

fn render_profile(
    state: &AppState,
    ui: &Ui,
    new_secret: Option<&str>,
    input: &Fields,
    errors: &Errors,
) -> Markup {
    let user = &ui.session.user;
    let tokens = pats::list(&state.core, user);
    let now = Utc::now();
    let content = html! {
        section {
            dl {
                dt { "Username" } dd { (user.username.clone().unwrap_or_else(|| "—".into())) }
                dt { "Email" } dd { (user.email.clone().unwrap_or_else(|| "—".into())) }
                dt { "Role" } dd { (user.root_role) " — " (user.root_role.description()) }
            }
        }
        @if let Some(secret) = new_secret { (secret_box(secret, "personal access token")) }
        section aria-labelledby="pats" {
            h2 id="pats" { "Personal access tokens" }
            p.muted { "A personal access token calls the Admin API as you, with your role." }
            @if tokens.is_empty() { p.muted { "You have none." } } @else {
                table {
                    thead { tr { th scope="col" { "Description" } th scope="col" { "Expires" } th scope="col" { "Created" } th scope="col" { "" } } }
                    tbody {
                        @for pat in &tokens {
                            tr {
                                td { (pat.description) }
                                td { (pat.expires_at.format("%Y-%m-%d")) @if pat.is_expired(now) { " " span.tag { "expired" } } }
                                td { (pat.created_at.format("%Y-%m-%d")) }
                                td { (button_form(ui, &format!("/profile/tokens/{}/delete", pat.id), "Delete", Some("Delete this token?"))) }
                            }
                        }
                    }
                }
            }
            form method="post" action="/profile/tokens" {
                (csrf(ui))
                (error(errors, ""))
                (text_field("Description", "description", input, errors, "text", true))
                (text_field("Expires on", "expires", input, errors, "date", true))
                button type="submit" { "Create personal access token" }
            }
        }
        section aria-labelledby="password" {
            h2 id="password" { "Change your password" }
            p.muted { "This signs you out everywhere; sign in again with the new password." }
            form method="post" action="/profile/password" {
                (csrf(ui))
                div.field {
                    label for="f-old_password" { "Current password" }
                    input id="f-old_password" type="password" name="old_password" autocomplete="current-password" required;
                    (error(errors, "old_password"))
                }
                div.field {
                    label for="f-new_password" { "New password" }
                    input id="f-new_password" type="password" name="new_password" autocomplete="new-password" required;
                    (error(errors, "new_password"))
                }
                button type="submit" { "Change password" }
            }
        }
    };
    page(ui, "Your profile", Nav::Profile, content)
}

pub async fn profile(State(state): State<AppState>, headers: HeaderMap, ui: Ui) -> Page {
    let secret = cookie(&headers, PAT_COOKIE);
    let secure = is_secure(&state.sessions.settings, &headers);
    let defaults = Fields(vec![(
        "expires".into(),
        (Utc::now() + chrono::Duration::days(30))
            .format("%Y-%m-%d")
            .to_string(),
    )]);
    Ok(with_secret_shown(
        render_profile(&state, &ui, secret.as_deref(), &defaults, &Errors::none()),
        PAT_COOKIE,
        "/profile",
        secret.is_some(),
        secure,
    ))
}

pub async fn pat_create(State(state): State<AppState>, headers: HeaderMap, posted: Posted) -> Page {
    let Posted { ui, form } = posted;
    let mut errors = Errors::none();
    let expires_at = expiry(&form, "expires", &mut errors);
    if expires_at.is_none() && errors.is_empty() {
        errors.add("expires", "Give the date the token expires.");
    }
    if let (Some(expires_at), true) = (expires_at, errors.is_empty()) {
        let input = CreatePat {
            description: form.get("description").to_owned(),
            expires_at,
        };
        match pats::create(&state.core, &ui.session.user, input).await {
            Ok((_, secret)) => {
                let secure = is_secure(&state.sessions.settings, &headers);
                let mut response = Redirect::to("/profile").into_response();
                response.headers_mut().append(
                    SET_COOKIE,
                    secret_cookie(PAT_COOKIE, "/profile", Some(secret.expose()), secure),
                );
                return Ok(response);
            }
            Err(error) => {
                errors = Errors::from_error(
                    error,
                    &[("description", "description"), ("expiresAt", "expires")],
                    "description",
                )?;
            }
        }
    }
    rejected(render_profile(&state, &ui, None, &form, &errors))
}

/// Changing one's password ends every session of the user (this one too), so the answer leads
/// to the sign-in page.
pub async fn password_change(State(state): State<AppState>, posted: Posted) -> Page {
    let Posted { ui, form } = posted;
    let result = users::change_own_password(
        &state.core,
        &ui.session.user,
        form.get("old_password").to_owned(),
        form.get("new_password").to_owned(),
    )
    .await;
    match result {
        Ok(()) => see_other("/login"),
        Err(error) => {
            let mut errors = Errors::from_error(error, &[], "")?;
            for (field, message) in errors.0.iter_mut() {
                *field = if message.contains("current password") {
                    "old_password".into()
                } else {
                    "new_password".into()
                };
            }
            rejected(render_profile(
                &state,
                &ui,
                None,
                &Fields::default(),
                &errors,
            ))
        }
    }
}

pub async fn pat_delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Page {
    pats::delete(&state.core, &posted.ui.session.user, id).await?;
    see_other("/profile")
}

// ---------------------------------------------------------------- users

fn role_options() -> Vec<(String, String)> {
    Role::ALL
        .iter()
        .map(|r| (r.name().to_string(), r.name().to_string()))
        .collect()
}

fn render_users(snapshot: &Snapshot, ui: &Ui, input: &Fields, errors: &Errors) -> Markup {
    let content = html! {
        section aria-labelledby="list" {
            h2 id="list" { "Users" }
            table {
                thead { tr { th scope="col" { "User" } th scope="col" { "Role" } th scope="col" { "Created" } th scope="col" { "Actions" } } }
                tbody {
                    @for user in snapshot.users.values() {
                        @let user = &user.value;
                        tr {
                            td { (user.display_name())
                                @if let Some(email) = &user.email { br; span.muted { (email) } } }
                            td {
                                form.inline method="post" action={ "/users/" (user.id) "/role" } {
                                    (csrf(ui))
                                    label.muted for={ "role-" (user.id) } { "Role of " (user.display_name()) " " }
                                    select id={ "role-" (user.id) } name="role" {
                                        @for role in Role::ALL {
                                            option value=(role.name()) selected[role == user.root_role] { (role.name()) }
                                        }
                                    }
                                    " " button.secondary type="submit" { "Change" }
                                }
                                (error(errors, &format!("role-{}", user.id)))
                            }
                            td { (user.created_at.format("%Y-%m-%d")) }
                            td {
                                details {
                                    summary { "Reset password" }
                                    form method="post" action={ "/users/" (user.id) "/password" } {
                                        (csrf(ui))
                                        div.field {
                                            label for={ "pw-" (user.id) } { "New password" }
                                            input id={ "pw-" (user.id) } type="password" name="password" autocomplete="new-password" required;
                                        }
                                        button type="submit" { "Set password" }
                                    }
                                }
                                (error(errors, &format!("password-{}", user.id)))
                                @if user.id != ui.session.user.id {
                                    (button_form(ui, &format!("/users/{}/delete", user.id), "Delete", Some("Delete this user? Their sessions and tokens end.")))
                                }
                                (error(errors, &format!("delete-{}", user.id)))
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="create" {
            h2 id="create" { "Create a user" }
            form method="post" action="/users" {
                (csrf(ui))
                (error(errors, ""))
                (text_field("Username", "username", input, errors, "text", false))
                (text_field("Email", "email", input, errors, "email", false))
                (text_field("Name", "name", input, errors, "text", false))
                (select_field("Role", "role", &role_options(), if input.get("role").is_empty() { "Viewer" } else { input.get("role") }, errors))
                div.field {
                    label for="f-password" { "Password" }
                    input id="f-password" type="password" name="password" autocomplete="new-password";
                    (error(errors, "password"))
                }
                button type="submit" { "Create user" }
            }
        }
    };
    page(ui, "Users", Nav::Users, content)
}

pub async fn users(State(state): State<AppState>, ui: Ui) -> Page {
    let snapshot = state.core.fresh().await?;
    Ok(to_html(render_users(
        &snapshot,
        &ui,
        &Fields::default(),
        &Errors::none(),
    )))
}

async fn users_refused(state: &AppState, ui: &Ui, form: &Fields, errors: Errors) -> Page {
    let snapshot = state.core.fresh().await?;
    rejected(render_users(&snapshot, ui, form, &errors))
}

pub async fn user_create(State(state): State<AppState>, posted: Posted) -> Page {
    let Posted { ui, form } = posted;
    let role = Role::parse(form.get("role")).unwrap_or(Role::Viewer);
    let result = match NewUser::validate(
        form.opt("username"),
        form.opt("email"),
        form.opt("name"),
        role,
    ) {
        Ok(new_user) => {
            let password = form.opt("password");
            users::create(&state.core, &ui.actor(), new_user, password)
                .await
                .map(|_| ())
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => see_other("/users"),
        Err(error) => {
            let errors = Errors::from_error(
                error,
                &[
                    ("username", "username"),
                    ("email", "email"),
                    ("name", "name"),
                    ("password", "password"),
                    ("Password", "password"),
                ],
                "username",
            )?;
            // Never send a password back into the page.
            let form = Fields(
                form.0
                    .into_iter()
                    .filter(|(k, _)| k != "password")
                    .collect(),
            );
            users_refused(&state, &ui, &form, errors).await
        }
    }
}

pub async fn user_role(State(state): State<AppState>, Path(id): Path<i64>, posted: Posted) -> Page {
    let Posted { ui, form } = posted;
    let input = UpdateUser {
        root_role: Some(RoleInput::Name(form.get("role").to_owned())),
        ..UpdateUser::default()
    };
    match users::update(&state.core, &ui.actor(), id, input).await {
        Ok(_) => see_other("/users"),
        Err(error) => {
            let mut errors = Errors::from_error(error, &[], "")?;
            errors
                .0
                .iter_mut()
                .for_each(|(f, _)| *f = format!("role-{id}"));
            users_refused(&state, &ui, &Fields::default(), errors).await
        }
    }
}

pub async fn user_password(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Page {
    let Posted { ui, form } = posted;
    let result = users::set_password(
        &state.core,
        &ui.actor(),
        id,
        form.get("password").to_owned(),
    )
    .await;
    match result {
        Ok(()) => see_other("/users"),
        Err(error) => {
            let mut errors = Errors::from_error(error, &[], "")?;
            errors
                .0
                .iter_mut()
                .for_each(|(f, _)| *f = format!("password-{id}"));
            users_refused(&state, &ui, &Fields::default(), errors).await
        }
    }
}

pub async fn user_delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Page {
    let Posted { ui, .. } = posted;
    match users::delete(&state.core, &ui.actor(), id).await {
        Ok(()) => see_other("/users"),
        Err(error) => {
            let mut errors = Errors::from_error(error, &[], "")?;
            errors
                .0
                .iter_mut()
                .for_each(|(f, _)| *f = format!("delete-{id}"));
            users_refused(&state, &ui, &Fields::default(), errors).await
        }
    }
}
