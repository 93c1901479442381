//! Flags: the list and a flag's page (switches, strategies, variants, tags, dependencies,
//! metrics, history). The strategy editor and the archive have modules of their own. Every change goes through `domain`, so it is
//! validated and audited exactly as the same change through the Admin API.

use axum::extract::{Path, RawQuery, State};
use flagpole_eval::wire::{Constraint, Dependency, Payload, Strategy, Variant};
use maud::{html, Markup};

use super::layout::{
    button_form, change, checkbox, csrf, error, page, select_field, text_field, time, toggle, Nav,
};
use super::{
    html as to_html, rejected, safe_next, see_other, Errors, Fields, Page, Posted, Ui, UiError,
};
use crate::app::AppState;
use crate::auth::policy::Access;
use crate::domain::features::{self, CreateFeature, Edit, FeatureMetadata};
use crate::domain::model::{Feature, Tag};
use crate::domain::validate;
use crate::error::ApiError;
use crate::snapshot::Snapshot;
use crate::store::EventQuery;

pub fn flag_path(project: &str, name: &str) -> String {
    format!(
        "/projects/{}/flags/{}",
        super::encode(project),
        super::encode(name)
    )
}

fn type_options() -> Vec<(String, String)> {
    validate::FEATURE_TYPES
        .iter()
        .map(|(id, label, ..)| (id.to_string(), label.to_string()))
        .collect()
}

// ---------------------------------------------------------------- the list

/// A select of the filter form (its ids differ from the create form's).
fn filter_select(label: &str, name: &str, options: &[(String, String)], selected: &str) -> Markup {
    html! {
        div.field {
            label for={ "filter-" (name) } { (label) }
            select id={ "filter-" (name) } name=(name) {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
        }
    }
}

pub async fn list(State(state): State<AppState>, ui: Ui, RawQuery(raw): RawQuery) -> Page {
    let query = Fields::from_query(raw);
    let snapshot = state.core.fresh().await?;
    Ok(to_html(render_list(
        &snapshot,
        &ui,
        &query,
        &Fields::default(),
        &Errors::none(),
    )))
}

fn render_list(
    snapshot: &Snapshot,
    ui: &Ui,
    query: &Fields,
    input: &Fields,
    errors: &Errors,
) -> Markup {
    let search = query.get("q").trim().to_lowercase();
    let project = query.get("project");
    let flag_type = query.get("type");
    let tag = query.get("tag");
    let stale = query.get("stale");
    let environments = snapshot.sorted_environments();
    let flags: Vec<&Feature> = snapshot
        .features
        .values()
        .map(|f| f.value.as_ref())
        .filter(|f| !f.archived)
        .filter(|f| {
            search.is_empty()
                || f.name.to_lowercase().contains(&search)
                || f.description
                    .as_deref()
                    .is_some_and(|d| d.to_lowercase().contains(&search))
        })
        .filter(|f| project.is_empty() || f.project == project)
        .filter(|f| flag_type.is_empty() || f.feature_type == flag_type)
        .filter(|f| {
            tag.is_empty()
                || f.tags
                    .iter()
                    .any(|t| format!("{}:{}", t.tag_type, t.value) == tag)
        })
        .filter(|f| match stale {
            "stale" => f.stale,
            "fresh" => !f.stale,
            _ => true,
        })
        .collect();
    let mut projects: Vec<(String, String)> = vec![("".into(), "All projects".into())];
    projects.extend(
        snapshot
            .projects
            .values()
            .map(|p| (p.value.id.clone(), p.value.name.clone())),
    );
    let mut types = vec![("".to_string(), "All types".to_string())];
    types.extend(type_options());
    let mut tags: Vec<String> = snapshot
        .features
        .values()
        .flat_map(|f| {
            f.value
                .tags
                .iter()
                .map(|t| format!("{}:{}", t.tag_type, t.value))
        })
        .collect();
    tags.sort();
    tags.dedup();
    let mut tag_options = vec![("".to_string(), "All tags".to_string())];
    tag_options.extend(tags.into_iter().map(|t| (t.clone(), t)));
    let stale_options: Vec<(String, String)> = [
        ("", "Stale or not"),
        ("stale", "Stale only"),
        ("fresh", "Not stale"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let back = format!(
        "/?{}",
        query
            .0
            .iter()
            .map(|(k, v)| format!("{}={}", super::encode(k), super::encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    );
    let can_edit = ui.can(Access::Edit);
    let content = html! {
        section aria-labelledby="filters" {
            h2 id="filters" { "Search and filter" }
            form.row method="get" action="/" role="search" {
                div.field {
                    label for="q" { "Search" }
                    input id="q" name="q" type="search" value=(query.get("q"));
                }
                (filter_select("Project", "project", &projects, project))
                (filter_select("Type", "type", &types, flag_type))
                (filter_select("Tag", "tag", &tag_options, tag))
                (filter_select("Stale", "stale", &stale_options, stale))
                button type="submit" { "Apply" }
            }
        }
        section aria-labelledby="flags" {
            h2 id="flags" { "Flags (" (flags.len()) ")" }
            @if flags.is_empty() {
                p.muted { "No flags match." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Name" }
                        th scope="col" { "Project" }
                        th scope="col" { "Type" }
                        @for environment in &environments { th scope="col" { (environment.name) } }
                    } }
                    tbody {
                        @for flag in &flags {
                            tr {
                                td {
                                    a href=(flag_path(&flag.project, &flag.name)) { (flag.name) }
                                    @if flag.stale { " " span.tag { "stale" } }
                                    @for tag in &flag.tags { " " span.tag { (tag.tag_type) ":" (tag.value) } }
                                }
                                td { (flag.project) }
                                td { (flag.feature_type) }
                                @for environment in &environments {
                                    td {
                                        (toggle(ui,
                                            &format!("{}/environments/{}/toggle", flag_path(&flag.project, &flag.name), super::encode(&environment.name)),
                                            &format!("{} in {}", flag.name, environment.name),
                                            flag.environment(&environment.name).enabled,
                                            &back, can_edit))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if can_edit {
            section aria-labelledby="create" {
                h2 id="create" { "Create a flag" }
                form method="post" action="/flags" {
                    (csrf(ui))
                    (error(errors, ""))
                    (text_field("Name", "name", input, errors, "text", true))
                    (select_field("Project", "project",
                        &snapshot.projects.values().map(|p| (p.value.id.clone(), p.value.name.clone())).collect::<Vec<_>>(),
                        if input.get("project").is_empty() { "default" } else { input.get("project") }, errors))
                    (select_field("Type", "type", &type_options(),
                        if input.get("type").is_empty() { "release" } else { input.get("type") }, errors))
                    (text_field("Description", "description", input, errors, "text", false))
                    button type="submit" { "Create flag" }
                }
            }
        }
    };
    page(ui, "Flags", Nav::Flags, content)
}

pub async fn create(State(state): State<AppState>, posted: Posted) -> Page {
    let Posted { ui, form } = posted;
    let project = form.opt("project").unwrap_or_else(|| "default".into());
    let input = CreateFeature {
        name: Some(form.get("name").trim().to_owned()),
        feature_type: form.opt("type"),
        description: form.opt("description"),
        impression_data: None,
        stale: None,
        tags: vec![],
    };
    match features::create(&state.core, &ui.actor(), &project, input).await {
        Ok(feature) => see_other(&flag_path(&feature.project, &feature.name)),
        Err(error) => {
            let errors = Errors::from_error(
                error,
                &[
                    ("name", "name"),
                    ("type", "type"),
                    ("description", "description"),
                    ("project", "project"),
                ],
                "name",
            )?;
            let snapshot = state.core.fresh().await?;
            rejected(render_list(
                &snapshot,
                &ui,
                &Fields::default(),
                &form,
                &errors,
            ))
        }
    }
}

pub async fn toggle_flag(
    state: &AppState,
    ui: &Ui,
    project: &str,
    name: &str,
    environment: &str,
    enabled: bool,
) -> Result<(), ApiError> {
    features::set_environment_enabled(
        &state.core,
        &ui.actor(),
        Some(project),
        name,
        environment,
        enabled,
    )
    .await
}

pub async fn toggle_handler(
    State(state): State<AppState>,
    Path((project, name, environment)): Path<(String, String, String)>,
    posted: Posted,
) -> Page {
    let enabled = posted.form.get("enabled") == "true";
    toggle_flag(&state, &posted.ui, &project, &name, &environment, enabled).await?;
    see_other(&safe_next(
        posted.form.opt("back").as_deref(),
        &flag_path(&project, &name),
    ))
}

// ---------------------------------------------------------------- a flag

pub async fn show(
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    ui: Ui,
) -> Page {
    let query = Fields::from_query(raw);
    Ok(to_html(
        render_show(
            &state,
            &ui,
            &project,
            &name,
            query.get("metrics"),
            &Fields::default(),
            &Errors::none(),
        )
        .await?,
    ))
}

fn describe_constraint(c: &Constraint) -> String {
    let values = if c.operator.uses_single_value() {
        c.value.clone().unwrap_or_default()
    } else {
        c.values.join(", ")
    };
    format!(
        "{}{} {}{} {}",
        if c.inverted { "NOT " } else { "" },
        c.context_name,
        c.operator,
        if c.case_insensitive {
            " (case-insensitive)"
        } else {
            ""
        },
        values
    )
}

fn describe_strategy(strategy: &Strategy, snapshot: &Snapshot) -> Markup {
    html! {
        div {
            strong { (strategy.title.clone().unwrap_or_else(|| strategy.name.to_string())) }
            @if strategy.title.is_some() { " " span.muted { "(" (strategy.name) ")" } }
            @if strategy.disabled == Some(true) { " " span.tag { "disabled" } }
        }
        @if !strategy.parameters.is_empty() {
            div.muted {
                @for (key, value) in &strategy.parameters { span.tag { (key) "=" (value) } }
            }
        }
        @if !strategy.constraints.is_empty() {
            ul {
                @for c in &strategy.constraints { li { code { (describe_constraint(c)) } } }
            }
        }
        @if !strategy.segments.is_empty() {
            div { "Segments: "
                @for id in &strategy.segments {
                    span.tag { (snapshot.segments.get(id).map_or_else(|| id.to_string(), |s| s.value.name.clone())) }
                }
            }
        }
        @if !strategy.variants.is_empty() {
            div { "Variants: "
                @for v in &strategy.variants { span.tag { (v.name) " " ((f64::from(v.weight)) / 10.0) "%" } }
            }
        }
    }
}

async fn render_show(
    state: &AppState,
    ui: &Ui,
    project: &str,
    name: &str,
    metrics_environment: &str,
    input: &Fields,
    errors: &Errors,
) -> Result<Markup, UiError> {
    let snapshot = state.core.fresh().await?;
    let flag = features::find(&snapshot, project, name)?.value.clone();
    let environments = snapshot.sorted_environments();
    let can_edit = ui.can(Access::Edit);
    let base = flag_path(project, name);
    let metrics_environment = if metrics_environment.is_empty() {
        environments
            .first()
            .map(|e| e.name.clone())
            .unwrap_or_default()
    } else {
        metrics_environment.to_owned()
    };
    let since = chrono::Utc::now().timestamp_millis() - 48 * 3_600_000;
    let usage = state.core.store.feature_usage(name, since).await?;
    let (history, _) = state
        .core
        .store
        .events(&EventQuery {
            feature_names: vec![name.to_owned()],
            limit: 50,
            ..EventQuery::default()
        })
        .await?;
    let live: Vec<&Feature> = snapshot
        .features
        .values()
        .map(|f| f.value.as_ref())
        .filter(|f| !f.archived && f.project == flag.project && f.name != flag.name)
        .collect();
    let settings = if input.0.is_empty() {
        Fields(vec![
            (
                "description".into(),
                flag.description
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            ("type".into(), flag.feature_type.to_string()),
        ])
    } else {
        input.clone()
    };
    let content = html! {
        p.muted {
            "Project " a href="/projects" { (flag.project) } " · type " (flag.feature_type)
            " · created " (flag.created_at.format("%Y-%m-%d")) " by " (flag.created_by)
            @if flag.stale { " · " span.tag { "stale" } }
        }
        @if let Some(description) = &flag.description { p { (description) } }
        (error(errors, ""))
        section aria-labelledby="envs" {
            h2 id="envs" { "Environments" }
            @for environment in &environments {
                @let state_in = flag.environment(&environment.name);
                @let env_path = format!("{base}/environments/{}", super::encode(&environment.name));
                div.card {
                    h3 { (environment.name) " "
                        (toggle(ui, &format!("{env_path}/toggle"), &format!("{} in {}", flag.name, environment.name),
                            state_in.enabled, &base, can_edit))
                    }
                    @if state_in.strategies.is_empty() {
                        p.muted { "No strategies: turning the flag on adds a 100% rollout." }
                    }
                    ol {
                        @for strategy in &state_in.strategies {
                            li {
                                (describe_strategy(strategy, &snapshot))
                                @if can_edit {
                                    @if let Some(id) = &strategy.id {
                                        a href={ (env_path) "/strategies/" (super::encode(id)) } { "Edit" } " "
                                        (button_form(ui, &format!("{env_path}/strategies/{}/delete", super::encode(id)), "Delete", Some("Delete this strategy?")))
                                        @if state_in.strategies.len() > 1 {
                                            " "
                                            form.inline method="post" action={ (env_path) "/strategies/" (super::encode(id)) "/move" } {
                                                (csrf(ui))
                                                button.secondary type="submit" name="direction" value="up" aria-label="Evaluate earlier" { "↑" }
                                                " "
                                                button.secondary type="submit" name="direction" value="down" aria-label="Evaluate later" { "↓" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if can_edit {
                        p { a href={ (env_path) "/strategies/new" } { "Add strategy in " (environment.name) } }
                        details open[errors.of(&format!("variants.{}", environment.name)).is_some()] {
                            summary { "Flag variants in " (environment.name) " (" (state_in.variants.len()) ")" }
                            (variants_form(ui, &format!("{env_path}/variants"), &environment.name, &state_in.variants, errors))
                        }
                    } @else if !state_in.variants.is_empty() {
                        p { "Variants: " @for v in &state_in.variants { span.tag { (v.name) } } }
                    }
                }
            }
        }
        section aria-labelledby="metrics" {
            h2 id="metrics" { "Evaluations (last 48 hours)" }
            form.row method="get" action=(base) {
                div.field {
                    label for="metrics-env" { "Environment" }
                    select id="metrics-env" name="metrics" data-autosubmit {
                        @for environment in &environments {
                            option value=(environment.name) selected[environment.name == metrics_environment] { (environment.name) }
                        }
                    }
                }
                button.secondary type="submit" { "Show" }
            }
            (chart(&usage, &metrics_environment, since))
        }
        section aria-labelledby="tags" {
            h2 id="tags" { "Tags" }
            @if flag.tags.is_empty() { p.muted { "No tags." } }
            ul {
                @for tag in &flag.tags {
                    li { span.tag { (tag.tag_type) ":" (tag.value) }
                        @if can_edit {
                            form.inline method="post" action={ (base) "/tags" } {
                                (csrf(ui))
                                input type="hidden" name="action" value="remove";
                                input type="hidden" name="tag_type" value=(tag.tag_type);
                                input type="hidden" name="value" value=(tag.value);
                                button.secondary type="submit" aria-label={ "Remove tag " (tag.tag_type) ":" (tag.value) } { "Remove" }
                            }
                        }
                    }
                }
            }
            @if can_edit {
                form.row method="post" action={ (base) "/tags" } {
                    (csrf(ui))
                    input type="hidden" name="action" value="add";
                    (select_field("Tag type", "tag_type",
                        &snapshot.tag_types.keys().map(|k| (k.clone(), k.clone())).collect::<Vec<_>>(),
                        input.get("tag_type"), errors))
                    (text_field("Value", "value", input, errors, "text", true))
                    button type="submit" { "Add tag" }
                }
            }
        }
        section aria-labelledby="deps" {
            h2 id="deps" { "Dependencies" }
            @if flag.dependencies.is_empty() { p.muted { "This flag depends on no other flag." } }
            ul {
                @for dependency in &flag.dependencies {
                    li {
                        "Needs " strong { (dependency.feature) } " "
                        (if dependency.enabled == Some(false) { "to be off" } else { "to be on" })
                        @if let Some(variants) = &dependency.variants { " with variant " (variants.join(", ")) }
                        @if can_edit {
                            " "
                            form.inline method="post" action={ (base) "/dependencies" } {
                                (csrf(ui))
                                input type="hidden" name="action" value="remove";
                                input type="hidden" name="parent" value=(dependency.feature);
                                button.secondary type="submit" { "Remove" }
                            }
                        }
                    }
                }
            }
            @let children = features::children(&snapshot, name);
            @if !children.is_empty() { p { "Flags that depend on this one: " (children.join(", ")) } }
            @if can_edit && !live.is_empty() {
                form.row method="post" action={ (base) "/dependencies" } {
                    (csrf(ui))
                    input type="hidden" name="action" value="add";
                    (select_field("Parent flag", "parent",
                        &live.iter().map(|f| (f.name.to_string(), f.name.to_string())).collect::<Vec<_>>(),
                        input.get("parent"), errors))
                    (checkbox("Parent must be off instead of on", "parent_off", input.checked("parent_off")))
                    button type="submit" { "Add dependency" }
                }
            }
        }
        @if can_edit {
            section aria-labelledby="settings" {
                h2 id="settings" { "Settings" }
                form method="post" action={ (base) "/settings" } {
                    (csrf(ui))
                    (text_field("Description", "description", &settings, errors, "text", false))
                    (select_field("Type", "type", &type_options(), settings.get("type"), errors))
                    (checkbox("Stale", "stale", if input.0.is_empty() { flag.stale } else { input.checked("stale") }))
                    (checkbox("Impression data", "impression_data", if input.0.is_empty() { flag.impression_data } else { input.checked("impression_data") }))
                    button type="submit" { "Save settings" }
                }
                p { (button_form(ui, &format!("{base}/archive"), "Archive this flag", Some("Archive this flag? SDKs stop receiving it."))) }
            }
        }
        section aria-labelledby="history" {
            h2 id="history" { "History" }
            @if history.is_empty() { p.muted { "No changes recorded." } }
            ol {
                @for event in &history {
                    li {
                        strong { (event.event_type) }
                        @if let Some(environment) = &event.environment { " in " (environment) }
                        " by " (event.created_by) " at " (time(event.created_at_millis))
                        (change(event.pre_data.as_ref(), event.data.as_ref()))
                    }
                }
            }
        }
    };
    Ok(page(ui, &flag.name, Nav::Flags, content))
}

/// Yes/no evaluations per hour in one environment, as an inline SVG with a table for screen
/// readers.
fn chart(rows: &[crate::store::UsageRow], environment: &str, since: i64) -> Markup {
    const HOUR: i64 = 3_600_000;
    let start = since - since.rem_euclid(HOUR);
    let hours = 49usize;
    let mut yes = vec![0i64; hours];
    let mut no = vec![0i64; hours];
    for row in rows.iter().filter(|r| r.environment == environment) {
        let slot = (row.hour_start - start) / HOUR;
        if let Ok(slot) = usize::try_from(slot) {
            if slot < hours {
                yes[slot] += row.yes;
                no[slot] += row.no;
            }
        }
    }
    let total_yes: i64 = yes.iter().sum();
    let total_no: i64 = no.iter().sum();
    let max = yes
        .iter()
        .chain(no.iter())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let (width, height, pad) = (600.0_f64, 200.0_f64, 30.0_f64);
    let x = |i: usize| pad + (width - 2.0 * pad) * (i as f64) / ((hours - 1) as f64);
    let y = |v: i64| height - pad - (height - 2.0 * pad) * (v as f64) / (max as f64);
    let line = |values: &[i64]| -> String {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    html! {
        p.legend {
            span.yes { "■ Yes: " (total_yes) } " · " span.no { "■ No: " (total_no) }
            " in " (environment)
        }
        svg.chart viewBox={ "0 0 " (width) " " (height) } role="img"
            aria-label={ "Evaluations in " (environment) ": " (total_yes) " yes, " (total_no) " no" } {
            line x1=(pad) y1=(height - pad) x2=(width - pad) y2=(height - pad) stroke="#9aa3b2" {}
            line x1=(pad) y1=(pad) x2=(pad) y2=(height - pad) stroke="#9aa3b2" {}
            text x="2" y=(pad) font-size="10" { (max) }
            text x="2" y=(height - pad) font-size="10" { "0" }
            text x=(pad) y=(height - 8.0) font-size="10" { (time(start)) }
            text x=(width - pad) y=(height - 8.0) font-size="10" text-anchor="end" { "now" }
            polyline points=(line(&yes)) fill="none" stroke="#1f7a3d" stroke-width="2" {}
            polyline points=(line(&no)) fill="none" stroke="#b3261e" stroke-width="2" {}
        }
        details {
            summary { "Hourly numbers" }
            table {
                thead { tr { th scope="col" { "Hour" } th scope="col" { "Yes" } th scope="col" { "No" } } }
                tbody {
                    @for i in (0..hours).filter(|i| yes[*i] + no[*i] > 0) {
                        tr { td { (time(start + (i as i64) * HOUR)) } td { (yes[i]) } td { (no[i]) } }
                    }
                }
            }
        }
    }
}

fn variants_form(
    ui: &Ui,
    action: &str,
    environment: &str,
    variants: &[Variant],
    errors: &Errors,
) -> Markup {
    let key = format!("variants.{environment}");
    let rows: Vec<(String, String, String)> = variants
        .iter()
        .map(|v| {
            (
                v.name.clone(),
                v.payload
                    .as_ref()
                    .map(|p| p.payload_type.clone())
                    .unwrap_or_default(),
                v.payload
                    .as_ref()
                    .map(|p| p.value.clone())
                    .unwrap_or_default(),
            )
        })
        .chain(std::iter::once(Default::default()))
        .collect();
    html! {
        form method="post" action=(action) {
            (csrf(ui))
            (error(errors, &key))
            p.muted { "Weights are split evenly. Leave a name empty to remove that variant." }
            @for (i, (name, payload_type, payload)) in rows.iter().enumerate() {
                div.row {
                    div.field {
                        label for={ "v-" (environment) "-" (i) } { "Variant name" }
                        input id={ "v-" (environment) "-" (i) } type="text" name={ "v" (i) ".name" } value=(name);
                    }
                    div.field {
                        label for={ "vt-" (environment) "-" (i) } { "Payload type" }
                        select id={ "vt-" (environment) "-" (i) } name={ "v" (i) ".payload_type" } {
                            @for t in ["", "string", "json", "csv", "number"] {
                                option value=(t) selected[t == payload_type] { (if t.is_empty() { "none" } else { t }) }
                            }
                        }
                    }
                    div.field {
                        label for={ "vp-" (environment) "-" (i) } { "Payload" }
                        input id={ "vp-" (environment) "-" (i) } type="text" name={ "v" (i) ".payload" } value=(payload);
                    }
                }
            }
            input type="hidden" name="rows" value=(rows.len());
            button type="submit" { "Save variants" }
        }
    }
}

pub(super) fn variants_from(form: &Fields, prefix: &str) -> Vec<Variant> {
    let rows: usize = form
        .get("rows")
        .parse()
        .unwrap_or(0)
        .min(validate::MAX_VARIANTS + 1);
    (0..rows)
        .filter_map(|i| {
            let name = form.opt(&format!("{prefix}{i}.name"))?;
            let payload_type = form.opt(&format!("{prefix}{i}.payload_type"));
            Some(Variant {
                name,
                weight: 0,
                payload: payload_type.map(|payload_type| Payload {
                    payload_type,
                    value: form.get(&format!("{prefix}{i}.payload")).to_owned(),
                }),
                stickiness: Some("default".into()),
                weight_type: Some("variable".into()),
                overrides: vec![],
            })
        })
        .collect()
}

/// Re-renders the flag page with a refused form's input and errors.
async fn refuse(
    state: &AppState,
    ui: &Ui,
    project: &str,
    name: &str,
    input: &Fields,
    errors: Errors,
) -> Page {
    rejected(render_show(state, ui, project, name, "", input, &errors).await?)
}

pub async fn settings(
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
    posted: Posted,
) -> Page {
    let Posted { ui, form } = posted;
    let metadata = FeatureMetadata {
        name: None,
        feature_type: form.opt("type"),
        description: Some(form.opt("description")),
        stale: Some(form.checked("stale")),
        impression_data: Some(form.checked("impression_data")),
        archived: None,
        project: None,
    };
    match features::update_metadata(&state.core, &ui.actor(), &project, &name, metadata).await {
        Ok(_) => see_other(&flag_path(&project, &name)),
        Err(error) => {
            let errors = Errors::from_error(
                error,
                &[("description", "description"), ("type", "type")],
                "",
            )?;
            refuse(&state, &ui, &project, &name, &form, errors).await
        }
    }
}

pub async fn variants(
    State(state): State<AppState>,
    Path((project, name, environment)): Path<(String, String, String)>,
    posted: Posted,
) -> Page {
    let Posted { ui, form } = posted;
    let variants = variants_from(&form, "v");
    match features::set_environment_variants(
        &state.core,
        &ui.actor(),
        &project,
        &name,
        &environment,
        Edit::Replace(variants),
    )
    .await
    {
        Ok(_) => see_other(&flag_path(&project, &name)),
        Err(error) => {
            let key = format!("variants.{environment}");
            let mut errors = Errors::from_error(error, &[], "")?;
            errors
                .0
                .iter_mut()
                .for_each(|(field, _)| *field = key.clone());
            refuse(&state, &ui, &project, &name, &Fields::default(), errors).await
        }
    }
}

pub async fn tags(
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
    posted: Posted,
) -> Page {
    let Posted { ui, form } = posted;
    let tag = Tag {
        tag_type: form.get("tag_type").to_owned(),
        value: form.get("value").trim().to_owned(),
    };
    let (added, removed) = if form.get("action") == "remove" {
        (vec![], vec![tag])
    } else {
        (vec![tag], vec![])
    };
    // The project in the address must be the flag's.
    features::find(&*state.core.fresh().await?, &project, &name)?;
    match features::update_tags(&state.core, &ui.actor(), &name, added, removed).await {
        Ok(_) => see_other(&flag_path(&project, &name)),
        Err(error) => {
            let errors = Errors::from_error(
                error,
                &[("value", "value"), ("tag type", "tag_type")],
                "value",
            )?;
            refuse(&state, &ui, &project, &name, &form, errors).await
        }
    }
}

pub async fn dependencies(
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
    posted: Posted,
) -> Page {
    let Posted { ui, form } = posted;
    let parent = form.get("parent").to_owned();
    let result = if form.get("action") == "remove" {
        features::remove_dependency(&state.core, &ui.actor(), &project, &name, Some(&parent)).await
    } else {
        let dependency = Dependency {
            feature: parent,
            enabled: Some(!form.checked("parent_off")),
            variants: None,
        };
        features::add_dependency(&state.core, &ui.actor(), &project, &name, dependency).await
    };
    match result {
        Ok(()) => see_other(&flag_path(&project, &name)),
        Err(error) => {
            let mut errors = Errors::from_error(error, &[], "parent")?;
            errors
                .0
                .iter_mut()
                .for_each(|(field, _)| *field = "parent".into());
            refuse(&state, &ui, &project, &name, &form, errors).await
        }
    }
}

pub async fn archive(
    State(state): State<AppState>,
    Path((project, name)): Path<(String, String)>,
    posted: Posted,
) -> Page {
    match features::archive(&state.core, &posted.ui.actor(), Some(&project), &name).await {
        Ok(()) => see_other("/archive"),
        Err(error) => {
            let errors = Errors::from_error(error, &[], "")?;
            refuse(
                &state,
                &posted.ui,
                &project,
                &name,
                &Fields::default(),
                errors,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------- strategies
