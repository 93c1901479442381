//! The strategy editor: adding, changing, moving and removing a flag's strategies in one
//! environment, with its constraints (shared with the segment editor).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use flagpole_eval::wire::{CompactString, Constraint, Operator, Strategy};
use maud::{html, Markup};

use super::flags::{flag_path, variants_from};
use super::layout::{checkbox, checkbox_id, csrf, error, page, select_field, text_field, Nav};
use super::{html as to_html, rejected, see_other, Errors, Fields, Page, Posted, Ui, UiError};
use crate::app::AppState;
use crate::domain::features::{self, Edit};
use crate::domain::{context_fields, strategies, validate};
use crate::error::ApiError;
use crate::snapshot::Snapshot;

const STRATEGY_TYPES: [(&str, &str); 5] = [
    ("flexibleRollout", "Gradual rollout"),
    ("default", "Standard (on for everyone)"),
    ("userWithId", "User IDs"),
    ("remoteAddress", "IP addresses"),
    ("applicationHostname", "Hostnames"),
];

/// The form's fields for an existing strategy.
fn strategy_fields(strategy: &Strategy) -> Fields {
    let mut fields = vec![
        ("strategy".to_string(), strategy.name.to_string()),
        (
            "title".to_string(),
            strategy.title.clone().unwrap_or_default(),
        ),
    ];
    if strategy.disabled == Some(true) {
        fields.push(("disabled".into(), "on".into()));
    }
    let mut other = Vec::new();
    for (key, value) in &strategy.parameters {
        match key.as_str() {
            "rollout" | "stickiness" | "groupId" if strategy.name == "flexibleRollout" => {
                fields.push((key.to_string(), value.to_string()))
            }
            _ => other.push(format!("{key}={value}")),
        }
    }
    fields.push(("parameters".into(), other.join("\n")));
    constraint_fields(&strategy.constraints, &mut fields);
    fields.push(("constraints".into(), strategy.constraints.len().to_string()));
    for id in &strategy.segments {
        fields.push(("segment".into(), id.to_string()));
    }
    for (i, v) in strategy.variants.iter().enumerate() {
        fields.push((format!("sv{i}.name"), v.name.clone()));
        if let Some(p) = &v.payload {
            fields.push((format!("sv{i}.payload_type"), p.payload_type.clone()));
            fields.push((format!("sv{i}.payload"), p.value.clone()));
        }
    }
    fields.push(("rows".into(), strategy.variants.len().to_string()));
    Fields(fields)
}

/// Writes constraints as the form rows `constraints_from` reads back (`c{i}.*`).
pub(super) fn constraint_fields(constraints: &[Constraint], fields: &mut Vec<(String, String)>) {
    for (i, c) in constraints.iter().enumerate() {
        fields.push((format!("c{i}.context"), c.context_name.to_string()));
        fields.push((format!("c{i}.operator"), c.operator.as_str().to_owned()));
        fields.push((format!("c{i}.values"), c.values.join("\n")));
        fields.push((format!("c{i}.value"), c.value.clone().unwrap_or_default()));
        if c.case_insensitive {
            fields.push((format!("c{i}.ci"), "on".into()));
        }
        if c.inverted {
            fields.push((format!("c{i}.inverted"), "on".into()));
        }
    }
}

/// Reads the constraint rows of a form (`c{i}.*`); problems go next to their row.
pub(super) fn constraints_from(form: &Fields, errors: &mut Errors) -> Vec<Constraint> {
    let rows: usize = form
        .get("constraints")
        .parse()
        .unwrap_or(0)
        .min(validate::MAX_CONSTRAINTS + 1);
    let mut constraints = Vec::new();
    for i in 0..rows {
        let field = |suffix: &str| format!("c{i}.{suffix}");
        if form.checked(&field("remove")) {
            continue;
        }
        let Some(context_name) = form.opt(&field("context")) else {
            continue;
        };
        let operator = Operator::parse(form.get(&field("operator")));
        let values: Vec<CompactString> = form
            .get(&field("values"))
            .split(['\n', ','])
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(CompactString::from)
            .collect();
        let constraint = Constraint {
            context_name: context_name.into(),
            values: if operator.uses_single_value() {
                vec![]
            } else {
                values
            },
            value: if operator.uses_single_value() {
                form.opt(&field("value"))
            } else {
                None
            },
            operator,
            case_insensitive: form.checked(&field("ci")),
            inverted: form.checked(&field("inverted")),
        };
        if let Err(error) = validate::constraint(&constraint) {
            let target = if constraint.operator.uses_single_value() {
                field("value")
            } else {
                field("values")
            };
            errors.add(&target, error.describe());
        } else if !constraint.operator.uses_single_value() && constraint.values.is_empty() {
            errors.add(&field("values"), "Give at least one value.");
        }
        constraints.push(constraint);
    }
    constraints
}

/// Reads a strategy from the form; constraint problems are reported next to their row.
fn strategy_from(form: &Fields) -> Result<Strategy, Errors> {
    let mut errors = Errors::none();
    let name = form
        .opt("strategy")
        .unwrap_or_else(|| "flexibleRollout".into());
    let mut parameters = BTreeMap::new();
    if name == "flexibleRollout" {
        for key in ["rollout", "stickiness", "groupId"] {
            if let Some(value) = form.opt(key) {
                parameters.insert(key.to_string(), value);
            }
        }
    }
    for line in form
        .get("parameters")
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        match line.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                parameters.insert(key.trim().to_owned(), value.trim().to_owned());
            }
            _ => errors.add(
                "parameters",
                format!("\"{}\" is not of the form name=value", line.trim()),
            ),
        }
    }
    let constraints = constraints_from(form, &mut errors);
    let mut segments = Vec::new();
    for id in form.all("segment") {
        match id.parse::<i64>() {
            Ok(id) => segments.push(id),
            Err(_) => errors.add("segments", "Unknown segment."),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Strategy {
        id: None,
        name: name.into(),
        title: form.opt("title"),
        constraints,
        parameters: parameters
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect(),
        variants: variants_from(form, "sv"),
        segments,
        disabled: Some(form.checked("disabled")),
        sort_order: None,
    })
}

/// The constraint rows of a form (strategies and segments), one blank row more on request.
pub(super) fn constraints_fieldset(
    snapshot: &Snapshot,
    id_prefix: &str,
    input: &Fields,
    errors: &Errors,
    extra: bool,
) -> Markup {
    let rows: usize = input
        .get("constraints")
        .parse()
        .unwrap_or(0)
        .min(validate::MAX_CONSTRAINTS);
    let rows = if extra || rows == 0 { rows + 1 } else { rows };
    let mut context_names: Vec<String> = context_fields::BUILT_IN
        .iter()
        .map(|s| s.to_string())
        .collect();
    context_names.extend(snapshot.context_fields.keys().cloned());
    context_names.sort();
    context_names.dedup();
    let operators: Vec<(String, String)> = Operator::KNOWN
        .iter()
        .map(|o| (o.as_str().to_owned(), o.as_str().to_owned()))
        .collect();
    html! {
    fieldset {
        legend { "Constraints (all must match)" }
        datalist id="context-names" { @for n in &context_names { option value=(n) {} } }
        input type="hidden" name="constraints" value=(rows);
        @for i in 0..rows {
            @let f = |s: &str| format!("c{i}.{s}");
            div.constraint {
                div.row {
                    div.field {
                        label for={ (id_prefix) "c" (i) "-context" } { "Context field" }
                        input id={ (id_prefix) "c" (i) "-context" } type="text" list="context-names" name=(f("context")) value=(input.get(&f("context")));
                    }
                    div.field {
                        label for={ (id_prefix) "c" (i) "-operator" } { "Operator" }
                        select id={ (id_prefix) "c" (i) "-operator" } name=(f("operator")) {
                            @for (value, label) in &operators {
                                option value=(value) selected[value.as_str() == input.get(&f("operator"))] { (label) }
                            }
                        }
                    }
                }
                div.field {
                    label for={ (id_prefix) "c" (i) "-values" } { "Values, one a line (IN, NOT_IN, STR_*, IN_CIDR)" }
                    textarea id={ (id_prefix) "c" (i) "-values" } name=(f("values")) aria-describedby=[errors.of(&f("values")).map(|_| format!("error-{}", f("values")))] { (input.get(&f("values"))) }
                    (error(errors, &f("values")))
                }
                div.field {
                    label for={ (id_prefix) "c" (i) "-value" } { "Value (NUM_*, DATE_*, SEMVER_*, REGEX)" }
                    input id={ (id_prefix) "c" (i) "-value" } type="text" name=(f("value")) value=(input.get(&f("value")));
                    (error(errors, &f("value")))
                }
                div.row {
                    (checkbox_id(&format!("{id_prefix}c{i}-ci"), "Case-insensitive", &f("ci"), input.checked(&f("ci"))))
                    (checkbox_id(&format!("{id_prefix}c{i}-inverted"), "Inverted (NOT)", &f("inverted"), input.checked(&f("inverted"))))
                    (checkbox_id(&format!("{id_prefix}c{i}-remove"), "Remove this constraint", &f("remove"), false))
                }
            }
        }
    }
    }
}

fn strategy_form(
    ui: &Ui,
    snapshot: &Snapshot,
    action: &str,
    back: &str,
    input: &Fields,
    errors: &Errors,
) -> Markup {
    // "Add another constraint" / "Add a variant" re-render the form with one more row.
    let extra_constraint = input.get("action") == "add-constraint";
    let extra_variant = input.get("action") == "add-variant";
    let strategy_name = if input.get("strategy").is_empty() {
        "flexibleRollout"
    } else {
        input.get("strategy")
    };
    let variant_rows: usize = input
        .get("rows")
        .parse()
        .unwrap_or(0)
        .min(validate::MAX_VARIANTS);
    let variant_rows = if extra_variant {
        variant_rows + 1
    } else {
        variant_rows
    };
    let selected_segments = input.all("segment");
    let defaults = |name: &str, default: &str| -> String {
        if input.get(name).is_empty() {
            default.to_owned()
        } else {
            input.get(name).to_owned()
        }
    };
    let rollout_fields = Fields(vec![
        ("rollout".into(), defaults("rollout", "100")),
        ("stickiness".into(), defaults("stickiness", "default")),
        ("groupId".into(), input.get("groupId").to_owned()),
        ("title".into(), input.get("title").to_owned()),
    ]);
    html! {
        form method="post" action=(action) {
            (csrf(ui))
            (error(errors, ""))
            (select_field("Strategy", "strategy",
                &STRATEGY_TYPES.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>(),
                strategy_name, errors))
            (text_field("Title (optional)", "title", &rollout_fields, errors, "text", false))
            fieldset {
                legend { "Gradual rollout" }
                (text_field("Rollout percentage (0–100)", "rollout", &rollout_fields, errors, "number", false))
                (text_field("Stickiness", "stickiness", &rollout_fields, errors, "text", false))
                (text_field("Group id (defaults to the flag name)", "groupId", &rollout_fields, errors, "text", false))
            }
            div.field {
                label for="f-parameters" { "Other parameters, one name=value a line (e.g. userIds=alice,bob)" }
                textarea id="f-parameters" name="parameters" { (input.get("parameters")) }
                (error(errors, "parameters"))
            }
            (checkbox("Disabled (kept but not evaluated)", "disabled", input.checked("disabled")))
            (constraints_fieldset(snapshot, "", input, errors, extra_constraint))
            fieldset {
                legend { "Segments" }
                @if snapshot.segments.is_empty() { p.muted { "No segments defined." } }
                @for segment in snapshot.segments.values() {
                    @let id = segment.value.id.to_string();
                    div.check {
                        input id={ "seg-" (id) } type="checkbox" name="segment" value=(id) checked[selected_segments.contains(&id)];
                        label for={ "seg-" (id) } { (segment.value.name) }
                    }
                }
                (error(errors, "segments"))
            }
            fieldset {
                legend { "Strategy variants (weights split evenly)" }
                input type="hidden" name="rows" value=(variant_rows);
                @for i in 0..variant_rows {
                    @let f = |s: &str| format!("sv{i}.{s}");
                    div.row {
                        div.field {
                            label for={ "sv" (i) "-name" } { "Variant name" }
                            input id={ "sv" (i) "-name" } type="text" name=(f("name")) value=(input.get(&f("name")));
                        }
                        div.field {
                            label for={ "sv" (i) "-type" } { "Payload type" }
                            select id={ "sv" (i) "-type" } name=(f("payload_type")) {
                                @for t in ["", "string", "json", "csv", "number"] {
                                    option value=(t) selected[t == input.get(&f("payload_type"))] { (if t.is_empty() { "none" } else { t }) }
                                }
                            }
                        }
                        div.field {
                            label for={ "sv" (i) "-payload" } { "Payload" }
                            input id={ "sv" (i) "-payload" } type="text" name=(f("payload")) value=(input.get(&f("payload")));
                        }
                    }
                }
            }
            div.row {
                // Save comes first among the form's buttons: Enter in a field presses the first.
                button type="submit" name="action" value="save" { "Save strategy" }
                button.secondary type="submit" name="action" value="add-constraint" { "Add another constraint" }
                button.secondary type="submit" name="action" value="add-variant" { "Add a variant" }
                a href=(back) { "Cancel" }
            }
        }
    }
}

/// Which strategy a form is about: a new one when `id` is `None`.
struct Place<'a> {
    project: &'a str,
    name: &'a str,
    environment: &'a str,
    id: Option<&'a str>,
}

async fn strategy_page(
    state: &AppState,
    ui: &Ui,
    at: &Place<'_>,
    input: &Fields,
    errors: &Errors,
) -> Result<Markup, UiError> {
    let Place {
        project,
        name,
        environment,
        id,
    } = *at;
    let snapshot = state.core.fresh().await?;
    features::find(&snapshot, project, name)?;
    crate::domain::environments::find(&snapshot, environment)?;
    let base = flag_path(project, name);
    let action = match id {
        Some(id) => format!(
            "{base}/environments/{}/strategies/{}",
            super::encode(environment),
            super::encode(id)
        ),
        None => format!(
            "{base}/environments/{}/strategies",
            super::encode(environment)
        ),
    };
    let form = strategy_form(ui, &snapshot, &action, &base, input, errors);
    let title = if id.is_some() {
        "Edit strategy"
    } else {
        "Add strategy"
    };
    Ok(page(
        ui,
        &format!("{title}: {name} in {environment}"),
        Nav::Flags,
        html! { p { a href=(base) { "Back to " (name) } } section { (form) } },
    ))
}

pub async fn strategy_new(
    State(state): State<AppState>,
    Path((project, name, environment)): Path<(String, String, String)>,
    ui: Ui,
) -> Page {
    Ok(to_html(
        strategy_page(
            &state,
            &ui,
            &Place {
                project: &project,
                name: &name,
                environment: &environment,
                id: None,
            },
            &Fields::default(),
            &Errors::none(),
        )
        .await?,
    ))
}

pub async fn strategy_edit(
    State(state): State<AppState>,
    Path((project, name, environment, id)): Path<(String, String, String, String)>,
    ui: Ui,
) -> Page {
    let strategy = strategies::get(&state.core, &project, &name, &environment, &id).await?;
    Ok(to_html(
        strategy_page(
            &state,
            &ui,
            &Place {
                project: &project,
                name: &name,
                environment: &environment,
                id: Some(&id),
            },
            &strategy_fields(&strategy),
            &Errors::none(),
        )
        .await?,
    ))
}

async fn save_strategy(
    state: &AppState,
    posted: Posted,
    project: &str,
    name: &str,
    environment: &str,
    id: Option<&str>,
) -> Page {
    let Posted { ui, form } = posted;
    if form.get("action") != "save" {
        // "Add another constraint" / "Add a variant": the same form with one more row.
        return Ok(to_html(
            strategy_page(
                state,
                &ui,
                &Place {
                    project,
                    name,
                    environment,
                    id,
                },
                &form,
                &Errors::none(),
            )
            .await?,
        ));
    }
    let strategy = match strategy_from(&form) {
        Ok(strategy) => strategy,
        Err(errors) => {
            return rejected(
                strategy_page(
                    state,
                    &ui,
                    &Place {
                        project,
                        name,
                        environment,
                        id,
                    },
                    &form,
                    &errors,
                )
                .await?,
            )
        }
    };
    let result = match id {
        Some(id) => strategies::update(
            &state.core,
            &ui.actor(),
            project,
            name,
            environment,
            id,
            Edit::Replace(strategy),
        )
        .await
        .map(|_| ()),
        None => strategies::add(
            &state.core,
            &ui.actor(),
            project,
            name,
            environment,
            strategy,
        )
        .await
        .map(|_| ()),
    };
    match result {
        Ok(()) => see_other(&flag_path(project, name)),
        Err(error) => {
            let errors = Errors::from_error(
                error,
                &[("rollout", "rollout"), ("parameters", "parameters")],
                "",
            )?;
            rejected(
                strategy_page(
                    state,
                    &ui,
                    &Place {
                        project,
                        name,
                        environment,
                        id,
                    },
                    &form,
                    &errors,
                )
                .await?,
            )
        }
    }
}

pub async fn strategy_add(
    State(state): State<AppState>,
    Path((project, name, environment)): Path<(String, String, String)>,
    posted: Posted,
) -> Page {
    save_strategy(&state, posted, &project, &name, &environment, None).await
}

pub async fn strategy_update(
    State(state): State<AppState>,
    Path((project, name, environment, id)): Path<(String, String, String, String)>,
    posted: Posted,
) -> Page {
    save_strategy(&state, posted, &project, &name, &environment, Some(&id)).await
}

pub async fn strategy_delete(
    State(state): State<AppState>,
    Path((project, name, environment, id)): Path<(String, String, String, String)>,
    posted: Posted,
) -> Page {
    strategies::delete(
        &state.core,
        &posted.ui.actor(),
        &project,
        &name,
        &environment,
        &id,
    )
    .await?;
    see_other(&flag_path(&project, &name))
}

/// Moves a strategy one place earlier or later: the order in which SDKs evaluate them.
pub async fn strategy_move(
    State(state): State<AppState>,
    Path((project, name, environment, id)): Path<(String, String, String, String)>,
    posted: Posted,
) -> Page {
    let snapshot = state.core.fresh().await?;
    let flag = features::find(&snapshot, &project, &name)?;
    let mut ids: Vec<String> = flag
        .value
        .environment(&environment)
        .strategies
        .iter()
        .filter_map(|s| s.id.as_ref().map(ToString::to_string))
        .collect();
    let Some(position) = ids.iter().position(|s| *s == id) else {
        return Err(UiError(ApiError::not_found(format!(
            "Could not find strategy with id {id}"
        ))));
    };
    let target = match posted.form.get("direction") {
        "up" => position.checked_sub(1),
        _ => Some(position + 1).filter(|p| *p < ids.len()),
    };
    if let Some(target) = target {
        ids.swap(position, target);
        let orders = ids.into_iter().zip(0..).collect();
        strategies::set_sort_order(
            &state.core,
            &posted.ui.actor(),
            &project,
            &name,
            &environment,
            orders,
        )
        .await?;
    }
    see_other(&flag_path(&project, &name))
}

// ---------------------------------------------------------------- archive
