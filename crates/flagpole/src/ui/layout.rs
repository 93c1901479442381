//! The page shell, shared pieces of forms, and the embedded assets.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use sha2::{Digest, Sha256};

use super::{Errors, Fields, Ui};
use crate::auth::policy::{Access, Role};
use crate::auth::session::CSRF_FIELD;

const CSS: &str = include_str!("assets/ui.css");
const JS: &str = include_str!("assets/ui.js");

/// A short hash of both assets: part of their URLs, so they can be cached for a year and still
/// change with a new build.
static ASSET_VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    hasher.update(CSS);
    hasher.update(JS);
    hex::encode(&hasher.finalize()[..6])
});

pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "ui.css" => (CSS, "text/css; charset=utf-8"),
        "ui.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

pub(super) fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Flagpole" }
            link rel="stylesheet" href={ "/ui-assets/ui.css?v=" (*ASSET_VERSION) };
            script src={ "/ui-assets/ui.js?v=" (*ASSET_VERSION) } defer {}
        }
    }
}

/// A page without navigation: sign-in, errors.
pub fn bare(title: &str, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                main {
                    h1 { (title) }
                    p { (message) }
                    p { a href="/" { "Back to Flagpole" } }
                }
            }
        }
    }
}

/// Where a page sits in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Flags,
    Archive,
    Tokens,
    Events,
    Projects,
    Environments,
    Segments,
    Context,
    Tags,
    Users,
    Applications,
    Profile,
}

/// The page shell with the navigation and the user menu.
pub fn page(ui: &Ui, title: &str, active: Nav, content: Markup) -> Markup {
    let role = ui.session.user.root_role;
    let items: Vec<(Nav, &str, &str)> = [
        (Nav::Flags, "/", "Flags", true),
        (Nav::Archive, "/archive", "Archive", true),
        (
            Nav::Tokens,
            "/admin/api-tokens",
            "API access",
            role.permits(Access::ReadTokens),
        ),
        (Nav::Events, "/events", "Events", true),
        (Nav::Projects, "/projects", "Projects", true),
        (Nav::Environments, "/environments", "Environments", true),
        (Nav::Segments, "/segments", "Segments", true),
        (Nav::Context, "/context", "Context", true),
        (Nav::Tags, "/tags", "Tags", true),
        (Nav::Users, "/users", "Users", role == Role::Admin),
        (Nav::Applications, "/applications", "Applications", true),
    ]
    .into_iter()
    .filter(|item| item.3)
    .map(|(nav, href, label, _)| (nav, href, label))
    .collect();
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "Flagpole" }
                    nav.menu aria-label="Main" {
                        {
                            ul {
                                @for (nav, href, label) in &items {
                                    li {
                                        @if *nav == active {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    div.user {
                        a href="/profile" { (ui.session.user.display_name()) " (" (role) ")" }
                        form method="post" action="/sign-out" {
                            (csrf(ui))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf(ui: &Ui) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(ui.session.csrf_token()); }
}

/// An error message for a field (or the whole form when `field` is "").
pub fn error(errors: &Errors, field: &str) -> Markup {
    html! {
        @if let Some(message) = errors.of(field) {
            p.error id={ "error-" (field) } role="alert" { (message) }
        }
    }
}

/// A labelled text input, keeping the user's input and showing its error.
pub fn text_field(
    label: &str,
    name: &str,
    input: &Fields,
    errors: &Errors,
    kind: &str,
    required: bool,
) -> Markup {
    let id = format!("f-{}", name.replace('.', "-"));
    text_field_id(&id, label, name, input, errors, kind, required)
}

/// `text_field` with its own element id, for forms repeated on one page (one per row).
pub fn text_field_id(
    id: &str,
    label: &str,
    name: &str,
    input: &Fields,
    errors: &Errors,
    kind: &str,
    required: bool,
) -> Markup {
    let invalid = errors.of(name).is_some();
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(name) type=(kind) value=(input.get(name)) required[required]
                aria-invalid=[invalid.then_some("true")]
                aria-describedby=[invalid.then(|| format!("error-{name}"))];
            (error(errors, name))
        }
    }
}

/// A labelled select; `options` are (value, label).
pub fn select_field(
    label: &str,
    name: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &Errors,
) -> Markup {
    let id = format!("f-{}", name.replace('.', "-"));
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
            (error(errors, name))
        }
    }
}

pub fn checkbox(label: &str, name: &str, checked: bool) -> Markup {
    checkbox_id(
        &format!("f-{}", name.replace('.', "-")),
        label,
        name,
        checked,
    )
}

/// `checkbox` with its own element id, for forms repeated on one page.
pub fn checkbox_id(id: &str, label: &str, name: &str, checked: bool) -> Markup {
    html! {
        div.check {
            input id=(id) type="checkbox" name=(name) value="on" checked[checked];
            label for=(id) { (label) }
        }
    }
}

/// A small form with one button (delete, revoke, archive): asks before it submits.
pub fn button_form(ui: &Ui, action: &str, label: &str, confirm: Option<&str>) -> Markup {
    html! {
        form.inline method="post" action=(action) data-confirm=[confirm] {
            (csrf(ui))
            button.secondary type="submit" { (label) }
        }
    }
}

/// An on/off switch as a form: works without JavaScript and with the keyboard.
pub fn toggle(ui: &Ui, action: &str, label: &str, on: bool, back: &str, allowed: bool) -> Markup {
    html! {
        form.inline.toggle method="post" action=(action) {
            (csrf(ui))
            input type="hidden" name="enabled" value=(if on { "false" } else { "true" });
            input type="hidden" name="back" value=(back);
            button.switch type="submit" role="switch" aria-checked=(on) disabled[!allowed]
                aria-label={ (label) ": " (if on { "on, turn off" } else { "off, turn on" }) } {
                span.knob {}
                span.state { (if on { "On" } else { "Off" }) }
            }
        }
    }
}

/// A timestamp in milliseconds, readable and in UTC.
pub fn time(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// A before/after view of one change: the fields that differ, then both documents in full.
pub fn change(pre: Option<&serde_json::Value>, data: Option<&serde_json::Value>) -> Markup {
    use serde_json::Value;
    let compact = |v: Option<&Value>| v.map_or("—".to_string(), Value::to_string);
    let changed: Vec<(String, String, String)> = match (pre, data) {
        (Some(Value::Object(before)), Some(Value::Object(after))) => {
            let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .filter(|k| before.get(*k) != after.get(*k))
                .map(|k| (k.clone(), compact(before.get(k)), compact(after.get(k))))
                .collect()
        }
        _ => vec![],
    };
    html! {
        @if !changed.is_empty() {
            table.diff {
                thead { tr { th scope="col" { "Field" } th scope="col" { "Before" } th scope="col" { "After" } } }
                tbody {
                    @for (key, before, after) in &changed {
                        tr { td { (key) } td.before { code { (before) } } td.after { code { (after) } } }
                    }
                }
            }
        } @else {
            @if let Some(pre) = pre { div.before { strong { "Before: " } code { (pre.to_string()) } } }
            @if let Some(data) = data { div.after { strong { "After: " } code { (data.to_string()) } } }
        }
        @if !changed.is_empty() {
            details {
                summary { "Full before and after" }
                pre { (pretty(pre)) }
                pre { (pretty(data)) }
            }
        }
    }
}

fn pretty(value: Option<&serde_json::Value>) -> String {
    value
        .and_then(|v| serde_json::to_string_pretty(v).ok())
        .unwrap_or_else(|| "—".into())
}
