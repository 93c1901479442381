//! The event log, applications, and what flags are built from: projects, environments,
//! segments, context fields and tag types. Each list page holds its create form and, per row,
//! an edit form and a delete button.

use axum::extract::{Path, RawQuery, State};
use maud::{html, Markup};

use super::layout::{
    button_form, change, checkbox, checkbox_id, csrf, error, page, text_field, text_field_id, time,
    Nav,
};
use super::strategy_editor::{constraint_fields, constraints_fieldset, constraints_from};
use super::{html as to_html, rejected, see_other, Errors, Fields, Page, Posted, Ui, UiError};
use crate::app::AppState;
use crate::auth::policy::Access;
use crate::domain::context_fields::{self, ContextFieldInput};
use crate::domain::environments::{self, EnvironmentInput};
use crate::domain::model::LegalValue;
use crate::domain::projects::{self, ProjectInput};
use crate::domain::segments::{self, SegmentInput};
use crate::domain::tag_types::{self, TagTypeInput};
use crate::error::ApiError;
use crate::snapshot::Snapshot;
use crate::store::EventQuery;

fn list_of(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------- events

const PAGE_SIZE: i64 = 50;

pub async fn events(State(state): State<AppState>, ui: Ui, RawQuery(raw): RawQuery) -> Page {
    let query = Fields::from_query(raw);
    let offset = query.get("offset").parse::<i64>().unwrap_or(0).max(0);
    let search = EventQuery {
        event_types: list_of(query.get("type")),
        projects: list_of(query.get("project")),
        feature_names: list_of(query.get("flag")),
        created_by: list_of(query.get("user")),
        offset,
        limit: PAGE_SIZE,
        ..EventQuery::default()
    };
    let (events, total) = state.core.store.events(&search).await?;
    let next = query
        .clone()
        .with("offset", &(offset + PAGE_SIZE).to_string());
    let next_query: Vec<String> = next
        .0
        .iter()
        .map(|(k, v)| format!("{}={}", super::encode(k), super::encode(v)))
        .collect();
    let content = html! {
        section {
            form.row method="get" action="/events" role="search" {
                (text_field("Event type", "type", &query, &Errors::none(), "text", false))
                (text_field("Project", "project", &query, &Errors::none(), "text", false))
                (text_field("Flag", "flag", &query, &Errors::none(), "text", false))
                (text_field("User", "user", &query, &Errors::none(), "text", false))
                button type="submit" { "Filter" }
            }
        }
        section {
            p.muted { (total) " events" @if offset > 0 { ", from number " (offset + 1) } }
            ol {
                @for event in &events {
                    li {
                        strong { (event.event_type) }
                        @if let Some(flag) = &event.feature_name { " · flag " (flag) }
                        @if let Some(project) = &event.project { " · project " (project) }
                        @if let Some(environment) = &event.environment { " · " (environment) }
                        br;
                        span.muted { "by " (event.created_by) " at " (time(event.created_at_millis)) }
                        (change(event.pre_data.as_ref(), event.data.as_ref()))
                    }
                }
            }
            @if offset + PAGE_SIZE < total {
                a href={ "/events?" (next_query.join("&")) } { "Older events" }
            }
        }
    };
    Ok(to_html(page(&ui, "Events", Nav::Events, content)))
}

// ---------------------------------------------------------------- applications

pub async fn applications(State(state): State<AppState>, ui: Ui) -> Page {
    let applications = state.core.store.applications().await?;
    let content = html! {
        section {
            @if applications.is_empty() {
                p.muted { "No SDK has registered or sent metrics yet." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Application" } th scope="col" { "Instance" } th scope="col" { "Environment" }
                        th scope="col" { "SDK" } th scope="col" { "First seen" } th scope="col" { "Last seen" }
                    } }
                    tbody {
                        @for app in &applications {
                            tr {
                                td { (app.app_name) } td { (app.instance_id) } td { (app.environment) }
                                td { (app.sdk_version.clone().unwrap_or_default()) }
                                td { (time(app.first_seen_at)) } td { (time(app.last_seen_at)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(to_html(page(
        &ui,
        "Applications",
        Nav::Applications,
        content,
    )))
}

/// Turns a refused change into a re-rendered list page: the error goes next to `field` of the
/// row (or the create form) that failed.
fn refused(error: ApiError, field: &str) -> Result<Errors, UiError> {
    let mut errors = Errors::from_error(error, &[], field)?;
    errors.0.iter_mut().for_each(|(f, _)| *f = field.to_owned());
    Ok(errors)
}

/// The edit form of a row, folded away.
fn edit_block(
    ui: &Ui,
    action: &str,
    label: &str,
    fields: Markup,
    errors: &Errors,
    key: &str,
) -> Markup {
    html! {
        details open[errors.of(key).is_some()] {
            summary { "Edit " (label) }
            form method="post" action=(action) {
                (csrf(ui))
                (error(errors, key))
                (fields)
                button type="submit" { "Save" }
            }
        }
    }
}

// ---------------------------------------------------------------- projects

fn render_projects(snapshot: &Snapshot, ui: &Ui, input: &Fields, errors: &Errors) -> Markup {
    let can_edit = ui.can(Access::Edit);
    let content = html! {
        section {
            table {
                thead { tr { th scope="col" { "Project" } th scope="col" { "Flags" } th scope="col" { "" } } }
                tbody {
                    @for project in snapshot.projects.values() {
                        @let p = &project.value;
                        @let key = format!("project-{}", p.id);
                        tr {
                            td { strong { (p.name) } " " span.muted { "(" (p.id) ")" }
                                @if let Some(d) = &p.description { br; (d) } }
                            td { a href={ "/?project=" (super::encode(&p.id)) } {
                                (snapshot.features.values().filter(|f| f.value.project == p.id && !f.value.archived).count()) } }
                            td {
                                @if can_edit {
                                    @let values = Fields(vec![("name".into(), p.name.clone()), ("description".into(), p.description.clone().unwrap_or_default())]);
                                    (edit_block(ui, &format!("/projects/{}/edit", super::encode(&p.id)), &p.name, html! {
                                        (text_field_id(&format!("{key}-name"), "Name", "name", &values, &Errors::none(), "text", true))
                                        (text_field_id(&format!("{key}-description"), "Description", "description", &values, &Errors::none(), "text", false))
                                    }, errors, &key))
                                    (button_form(ui, &format!("/projects/{}/delete", super::encode(&p.id)), "Delete", Some("Delete this project?")))
                                    (error(errors, &format!("delete-{key}")))
                                }
                            }
                        }
                    }
                }
            }
        }
        @if can_edit {
            section aria-labelledby="create" {
                h2 id="create" { "Create a project" }
                form method="post" action="/projects" {
                    (csrf(ui))
                    (error(errors, ""))
                    (text_field("Id (used in URLs and tokens)", "id", input, errors, "text", true))
                    (text_field("Name", "name", input, errors, "text", true))
                    (text_field("Description", "description", input, errors, "text", false))
                    button type="submit" { "Create project" }
                }
            }
        }
    };
    page(ui, "Projects", Nav::Projects, content)
}

pub async fn projects(State(state): State<AppState>, ui: Ui) -> Page {
    let snapshot = state.core.fresh().await?;
    Ok(to_html(render_projects(
        &snapshot,
        &ui,
        &Fields::default(),
        &Errors::none(),
    )))
}

async fn projects_refused(state: &AppState, ui: &Ui, form: &Fields, errors: Errors) -> Page {
    let snapshot = state.core.fresh().await?;
    rejected(render_projects(&snapshot, ui, form, &errors))
}

pub async fn project_create(State(state): State<AppState>, posted: Posted) -> Page {
    let Posted { ui, form } = posted;
    let input = ProjectInput {
        id: form.opt("id"),
        name: form.get("name").trim().to_owned(),
        description: form.opt("description"),
        mode: None,
        default_stickiness: None,
    };
    match projects::create(&state.core, &ui.actor(), input).await {
        Ok(_) => see_other("/projects"),
        Err(error) => {
            let errors = Errors::from_error(
                error,
                &[
                    ("id", "id"),
                    ("name", "name"),
                    ("description", "description"),
                ],
                "id",
            )?;
            projects_refused(&state, &ui, &form, errors).await
        }
    }
}

pub async fn project_update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Page {
    let Posted { ui, form } = posted;
    let input = ProjectInput {
        id: Some(id.clone()),
        name: form.get("name").trim().to_owned(),
        description: form.opt("description"),
        mode: None,
        default_stickiness: None,
    };
    match projects::update(&state.core, &ui.actor(), &id, input).await {
        Ok(_) => see_other("/projects"),
        Err(error) => {
            projects_refused(
                &state,
                &ui,
                &Fields::default(),
                refused(error, &format!("project-{id}"))?,
            )
            .await
        }
    }
}

pub async fn project_delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Page {
    match projects::delete(&state.core, &posted.ui.actor(), &id).await {
        Ok(()) => see_other("/projects"),
        Err(error) => {
            projects_refused(
                &state,
                &posted.ui,
                &Fields::default(),
                refused(error, &format!("delete-project-{id}"))?,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------- environments

fn render_environments(snapshot: &Snapshot, ui: &Ui, input: &Fields, errors: &Errors) -> Markup {
    let is_admin = ui.can(Access::Admin);
    let content = html! {
        section {
            table {
                thead { tr { th scope="col" { "Environment" } th scope="col" { "Type" } th scope="col" { "Enabled" } th scope="col" { "Order" } th scope="col" { "" } } }
                tbody {
                    @for e in snapshot.sorted_environments() {
                        @let key = format!("env-{}", e.name);
                        tr {
                            td { (e.name) @if e.protected { " " span.tag { "protected" } } }
                            td { (e.environment_type) }
                            td { (if e.enabled { "yes" } else { "no" }) }
                            td { (e.sort_order) }
                            td {
                                @if is_admin {
                                    @let values = Fields(vec![("type".into(), e.environment_type.clone()), ("sort_order".into(), e.sort_order.to_string())]);
                                    (edit_block(ui, &format!("/environments/{}/edit", super::encode(&e.name)), &e.name, html! {
                                        (text_field_id(&format!("{key}-type"), "Type", "type", &values, &Errors::none(), "text", true))
                                        (text_field_id(&format!("{key}-sort_order"), "Sort order", "sort_order", &values, &Errors::none(), "number", false))
                                        (checkbox_id(&format!("{key}-enabled"), "Enabled", "enabled", e.enabled))
                                    }, errors, &key))
                                    (button_form(ui, &format!("/environments/{}/delete", super::encode(&e.name)), "Delete", Some("Delete this environment and every flag's state in it?")))
                                    (error(errors, &format!("delete-{key}")))
                                }
                            }
                        }
                    }
                }
            }
        }
        @if is_admin {
            section aria-labelledby="create" {
                h2 id="create" { "Create an environment" }
                form method="post" action="/environments" {
                    (csrf(ui))
                    (error(errors, ""))
                    (text_field("Name", "name", input, errors, "text", true))
                    (text_field("Type (e.g. development, production)", "type", input, errors, "text", true))
                    (text_field("Sort order", "sort_order", input, errors, "number", false))
                    button type="submit" { "Create environment" }
                }
            }
        }
    };
    page(ui, "Environments", Nav::Environments, content)
}

pub async fn environments(State(state): State<AppState>, ui: Ui) -> Page {
    let snapshot = state.core.fresh().await?;
    Ok(to_html(render_environments(
        &snapshot,
        &ui,
        &Fields::default(),
        &Errors::none(),
    )))
}

async fn environments_refused(state: &AppState, ui: &Ui, form: &Fields, errors: Errors) -> Page {
    let snapshot = state.core.fresh().await?;
    rejected(render_environments(&snapshot, ui, form, &errors))
}

fn sort_order(form: &Fields, errors: &mut Errors, field: &str) -> Option<i64> {
    let text = form.opt("sort_order")?;
    match text.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(field, "The sort order must be a whole number.");
            None
        }
    }
}

pub async fn environment_create(State(state): State<AppState>, posted: Posted) -> Page {
    let Posted { ui, form } = posted;
    let mut errors = Errors::none();
    let input = EnvironmentInput {
        name: form.opt("name"),
        environment_type: form.get("type").trim().to_owned(),
        enabled: Some(true),
        sort_order: sort_order(&form, &mut errors, "sort_order"),
    };
    if !errors.is_empty() {
        return environments_refused(&state, &ui, &form, errors).await;
    }
    match environments::create(&state.core, &ui.actor(), input).await {
        Ok(_) => see_other("/environments"),
        Err(error) => {
            let errors = Errors::from_error(error, &[("name", "name"), ("type", "type")], "name")?;
            environments_refused(&state, &ui, &form, errors).await
        }
    }
}

pub async fn environment_update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> Page {
    let Posted { ui, form } = posted;
    let key = format!("env-{name}");
    let mut errors = Errors::none();
    let input = EnvironmentInput {
        name: Some(name.clone()),
        environment_type: form.get("type").trim().to_owned(),
        enabled: None,
        sort_order: sort_order(&form, &mut errors, &key),
    };
    if !errors.is_empty() {
        return environments_refused(&state, &ui, &Fields::default(), errors).await;
    }
    let result = async {
        environments::update(&state.core, &ui.actor(), &name, input).await?;
        environments::set_enabled(&state.core, &ui.actor(), &name, form.checked("enabled")).await
    }
    .await;
    match result {
        Ok(()) => see_other("/environments"),
        Err(error) => {
            environments_refused(&state, &ui, &Fields::default(), refused(error, &key)?).await
        }
    }
}

pub async fn environment_delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> Page {
    match environments::delete(&state.core, &posted.ui.actor(), &name).await {
        Ok(()) => see_other("/environments"),
        Err(error) => {
            environments_refused(
                &state,
                &posted.ui,
                &Fields::default(),
                refused(error, &format!("delete-env-{name}"))?,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------- segments

fn segment_fields(segment: &crate::domain::model::Segment) -> Fields {
    let mut fields = vec![
        ("name".to_string(), segment.name.clone()),
        (
            "description".to_string(),
            segment.description.clone().unwrap_or_default(),
        ),
        (
            "constraints".to_string(),
            segment.constraints.len().to_string(),
        ),
    ];
    constraint_fields(&segment.constraints, &mut fields);
    Fields(fields)
}

/// The segments page. `editing` is the segment whose refused edit is shown with its input.
fn render_segments(
    snapshot: &Snapshot,
    ui: &Ui,
    input: &Fields,
    errors: &Errors,
    editing: Option<i64>,
) -> Markup {
    let can_edit = ui.can(Access::Edit);
    let adding = input.get("action") == "add-constraint";
    let content = html! {
        section {
            @if snapshot.segments.is_empty() { p.muted { "No segments yet." } }
            @for segment in snapshot.segments.values() {
                @let s = &segment.value;
                @let (flags, _) = segments::usage(snapshot, s.id);
                div.card {
                    h2 { (s.name) }
                    @if let Some(d) = &s.description { p { (d) } }
                    p.muted { "Used by " (flags) " flag(s)." }
                    ul { @for c in &s.constraints { li { code { (c.context_name) " " (c.operator) " " (c.value.clone().unwrap_or_else(|| c.values.join(", "))) } } } }
                    @if can_edit {
                        @let own = editing == Some(s.id);
                        @let values = if own { input.clone() } else { segment_fields(s) };
                        @let none = Errors::none();
                        @let row_errors = if own { errors } else { &none };
                        details open[own] {
                            summary { "Edit " (s.name) }
                            form method="post" action={ "/segments/" (s.id) "/edit" } {
                                (csrf(ui))
                                (error(row_errors, ""))
                                (text_field_id(&format!("seg-{}-name", s.id), "Name", "name", &values, row_errors, "text", true))
                                (text_field_id(&format!("seg-{}-description", s.id), "Description", "description", &values, row_errors, "text", false))
                                (constraints_fieldset(snapshot, &format!("seg-{}-", s.id), &values, row_errors, own && adding))
                                button type="submit" name="action" value="save" { "Save segment" }
                    " " button.secondary type="submit" name="action" value="add-constraint" { "Add another constraint" }
                            }
                        }
                        (button_form(ui, &format!("/segments/{}/delete", s.id), "Delete", Some("Delete this segment?")))
                        (error(errors, &format!("delete-{}", s.id)))
                    }
                }
            }
        }
        @if can_edit {
            @let none = Errors::none();
            @let create_errors = if editing.is_none() { errors } else { &none };
            @let create_input = if editing.is_none() { input.clone() } else { Fields::default() };
            section aria-labelledby="create" {
                h2 id="create" { "Create a segment" }
                form method="post" action="/segments" {
                    (csrf(ui))
                    (error(create_errors, ""))
                    (text_field("Name", "name", &create_input, create_errors, "text", true))
                    (text_field("Description", "description", &create_input, create_errors, "text", false))
                    (constraints_fieldset(snapshot, "", &create_input, create_errors, editing.is_none() && adding))
                    button type="submit" name="action" value="save" { "Create segment" }
                    " " button.secondary type="submit" name="action" value="add-constraint" { "Add another constraint" }
                }
            }
        }
    };
    page(ui, "Segments", Nav::Segments, content)
}

pub async fn segments(State(state): State<AppState>, ui: Ui) -> Page {
    let snapshot = state.core.fresh().await?;
    Ok(to_html(render_segments(
        &snapshot,
        &ui,
        &Fields::default(),
        &Errors::none(),
        None,
    )))
}

async fn save_segment(state: &AppState, posted: Posted, id: Option<i64>) -> Page {
    let Posted { ui, form } = posted;
    let snapshot = state.core.fresh().await?;
    if form.get("action") == "add-constraint" {
        return Ok(to_html(render_segments(
            &snapshot,
            &ui,
            &form,
            &Errors::none(),
            id,
        )));
    }
    let mut errors = Errors::none();
    let constraints = constraints_from(&form, &mut errors);
    if !errors.is_empty() {
        return rejected(render_segments(&snapshot, &ui, &form, &errors, id));
    }
    let input = SegmentInput {
        name: form.get("name").trim().to_owned(),
        description: form.opt("description"),
        project: None,
        constraints,
    };
    let result = match id {
        Some(id) => segments::update(&state.core, &ui.actor(), id, input).await,
        None => segments::create(&state.core, &ui.actor(), input).await,
    };
    match result {
        Ok(_) => see_other("/segments"),
        Err(error) => {
            let errors = Errors::from_error(
                error,
                &[("name", "name"), ("description", "description")],
                "name",
            )?;
            let snapshot = state.core.fresh().await?;
            rejected(render_segments(&snapshot, &ui, &form, &errors, id))
        }
    }
}

pub async fn segment_create(State(state): State<AppState>, posted: Posted) -> Page {
    save_segment(&state, posted, None).await
}

pub async fn segment_update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Page {
    save_segment(&state, posted, Some(id)).await
}

pub async fn segment_delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Page {
    match segments::delete(&state.core, &posted.ui.actor(), id).await {
        Ok(()) => see_other("/segments"),
        Err(error) => {
            let errors = refused(error, &format!("delete-{id}"))?;
            let snapshot = state.core.fresh().await?;
            rejected(render_segments(
                &snapshot,
                &posted.ui,
                &Fields::default(),
                &errors,
                None,
            ))
        }
    }
}

// ---------------------------------------------------------------- context fields

fn render_context(snapshot: &Snapshot, ui: &Ui, input: &Fields, errors: &Errors) -> Markup {
    let can_edit = ui.can(Access::Edit);
    let content = html! {
        section {
            p.muted { "Built in: " (context_fields::BUILT_IN.join(", ")) }
            table {
                thead { tr { th scope="col" { "Field" } th scope="col" { "Legal values" } th scope="col" { "Stickiness" } th scope="col" { "" } } }
                tbody {
                    @for field in snapshot.context_fields.values() {
                        @let f = &field.value;
                        @let key = format!("context-{}", f.name);
                        @let legal = f.legal_values.iter().map(|v| v.value.clone()).collect::<Vec<_>>().join(", ");
                        tr {
                            td { strong { (f.name) } @if let Some(d) = &f.description { br; (d) } }
                            td { (legal) }
                            td { (if f.stickiness { "yes" } else { "no" }) }
                            td {
                                @if can_edit {
                                    @let values = Fields(vec![("description".into(), f.description.clone().unwrap_or_default()), ("legal_values".into(), legal.clone())]);
                                    (edit_block(ui, &format!("/context/{}/edit", super::encode(&f.name)), &f.name, html! {
                                        (text_field_id(&format!("{key}-description"), "Description", "description", &values, &Errors::none(), "text", false))
                                        (text_field_id(&format!("{key}-legal_values"), "Legal values (comma-separated)", "legal_values", &values, &Errors::none(), "text", false))
                                        (checkbox_id(&format!("{key}-stickiness"), "Usable for stickiness", "stickiness", f.stickiness))
                                    }, errors, &key))
                                    (button_form(ui, &format!("/context/{}/delete", super::encode(&f.name)), "Delete", Some("Delete this context field?")))
                                }
                            }
                        }
                    }
                }
            }
        }
        @if can_edit {
            section aria-labelledby="create" {
                h2 id="create" { "Create a context field" }
                form method="post" action="/context" {
                    (csrf(ui))
                    (error(errors, ""))
                    (text_field("Name", "name", input, errors, "text", true))
                    (text_field("Description", "description", input, errors, "text", false))
                    (text_field("Legal values (comma-separated)", "legal_values", input, errors, "text", false))
                    (checkbox("Usable for stickiness", "stickiness", input.checked("stickiness")))
                    button type="submit" { "Create context field" }
                }
            }
        }
    };
    page(ui, "Context fields", Nav::Context, content)
}

pub async fn context_fields(State(state): State<AppState>, ui: Ui) -> Page {
    let snapshot = state.core.fresh().await?;
    Ok(to_html(render_context(
        &snapshot,
        &ui,
        &Fields::default(),
        &Errors::none(),
    )))
}

fn context_input(form: &Fields, name: Option<String>) -> ContextFieldInput {
    ContextFieldInput {
        name,
        description: form.opt("description"),
        stickiness: Some(form.checked("stickiness")),
        sort_order: None,
        legal_values: list_of(form.get("legal_values"))
            .into_iter()
            .map(|value| LegalValue {
                value,
                description: None,
            })
            .collect(),
        project: None,
    }
}

async fn context_refused(state: &AppState, ui: &Ui, form: &Fields, errors: Errors) -> Page {
    let snapshot = state.core.fresh().await?;
    rejected(render_context(&snapshot, ui, form, &errors))
}

pub async fn context_create(State(state): State<AppState>, posted: Posted) -> Page {
    let Posted { ui, form } = posted;
    match context_fields::create(
        &state.core,
        &ui.actor(),
        context_input(&form, form.opt("name")),
    )
    .await
    {
        Ok(_) => see_other("/context"),
        Err(error) => {
            let errors = Errors::from_error(
                error,
                &[
                    ("name", "name"),
                    ("description", "description"),
                    ("legalValues", "legal_values"),
                ],
                "name",
            )?;
            context_refused(&state, &ui, &form, errors).await
        }
    }
}

pub async fn context_update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> Page {
    let Posted { ui, form } = posted;
    match context_fields::update(
        &state.core,
        &ui.actor(),
        &name,
        context_input(&form, Some(name.clone())),
    )
    .await
    {
        Ok(_) => see_other("/context"),
        Err(error) => {
            context_refused(
                &state,
                &ui,
                &Fields::default(),
                refused(error, &format!("context-{name}"))?,
            )
            .await
        }
    }
}

pub async fn context_delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> Page {
    context_fields::delete(&state.core, &posted.ui.actor(), &name).await?;
    see_other("/context")
}

// ---------------------------------------------------------------- tag types

fn render_tag_types(snapshot: &Snapshot, ui: &Ui, input: &Fields, errors: &Errors) -> Markup {
    let can_edit = ui.can(Access::Edit);
    let content = html! {
        section {
            table {
                thead { tr { th scope="col" { "Tag type" } th scope="col" { "Description" } th scope="col" { "" } } }
                tbody {
                    @for tag_type in snapshot.tag_types.values() {
                        @let t = &tag_type.value;
                        @let key = format!("tag-{}", t.name);
                        tr {
                            td { (t.name) }
                            td { (t.description.clone().unwrap_or_default()) }
                            td {
                                @if can_edit {
                                    @let values = Fields(vec![("description".into(), t.description.clone().unwrap_or_default())]);
                                    (edit_block(ui, &format!("/tags/{}/edit", super::encode(&t.name)), &t.name, html! {
                                        (text_field_id(&format!("{key}-description"), "Description", "description", &values, &Errors::none(), "text", false))
                                    }, errors, &key))
                                    (button_form(ui, &format!("/tags/{}/delete", super::encode(&t.name)), "Delete", Some("Delete this tag type?")))
                                }
                            }
                        }
                    }
                }
            }
        }
        @if can_edit {
            section aria-labelledby="create" {
                h2 id="create" { "Create a tag type" }
                form method="post" action="/tags" {
                    (csrf(ui))
                    (error(errors, ""))
                    (text_field("Name", "name", input, errors, "text", true))
                    (text_field("Description", "description", input, errors, "text", false))
                    button type="submit" { "Create tag type" }
                }
            }
        }
    };
    page(ui, "Tag types", Nav::Tags, content)
}

pub async fn tag_types(State(state): State<AppState>, ui: Ui) -> Page {
    let snapshot = state.core.fresh().await?;
    Ok(to_html(render_tag_types(
        &snapshot,
        &ui,
        &Fields::default(),
        &Errors::none(),
    )))
}

async fn tag_types_refused(state: &AppState, ui: &Ui, form: &Fields, errors: Errors) -> Page {
    let snapshot = state.core.fresh().await?;
    rejected(render_tag_types(&snapshot, ui, form, &errors))
}

pub async fn tag_type_create(State(state): State<AppState>, posted: Posted) -> Page {
    let Posted { ui, form } = posted;
    let input = TagTypeInput {
        name: form.opt("name"),
        description: form.opt("description"),
        icon: None,
        color: None,
    };
    match tag_types::create(&state.core, &ui.actor(), input).await {
        Ok(_) => see_other("/tags"),
        Err(error) => {
            let errors = Errors::from_error(
                error,
                &[("name", "name"), ("description", "description")],
                "name",
            )?;
            tag_types_refused(&state, &ui, &form, errors).await
        }
    }
}

pub async fn tag_type_update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> Page {
    let Posted { ui, form } = posted;
    let input = TagTypeInput {
        name: Some(name.clone()),
        description: form.opt("description"),
        icon: None,
        color: None,
    };
    match tag_types::update(&state.core, &ui.actor(), &name, input).await {
        Ok(_) => see_other("/tags"),
        Err(error) => {
            tag_types_refused(
                &state,
                &ui,
                &Fields::default(),
                refused(error, &format!("tag-{name}"))?,
            )
            .await
        }
    }
}

pub async fn tag_type_delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> Page {
    tag_types::delete(&state.core, &posted.ui.actor(), &name).await?;
    see_other("/tags")
}
