//! The archive page: archived flags, revived or deleted for good.

use axum::extract::{Path, State};
use maud::html;

use super::layout::{button_form, page, Nav};
use super::{html as to_html, see_other, Page, Posted, Ui};
use crate::app::AppState;
use crate::auth::policy::Access;
use crate::domain::features::{self};
use crate::domain::model::Feature;

pub async fn archived(State(state): State<AppState>, ui: Ui) -> Page {
    let snapshot = state.core.fresh().await?;
    let can_edit = ui.can(Access::Edit);
    let flags: Vec<&Feature> = snapshot
        .features
        .values()
        .map(|f| f.value.as_ref())
        .filter(|f| f.archived)
        .collect();
    let content = html! {
        section {
            @if flags.is_empty() { p.muted { "No archived flags." } } @else {
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Project" } th scope="col" { "Archived" } th scope="col" { "Actions" } } }
                    tbody {
                        @for flag in &flags {
                            tr {
                                td { (flag.name) } td { (flag.project) }
                                td { (flag.archived_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()) }
                                td {
                                    @if can_edit {
                                        (button_form(&ui, &format!("/archive/{}/revive", super::encode(&flag.name)), "Revive", None)) " "
                                        (button_form(&ui, &format!("/archive/{}/delete", super::encode(&flag.name)), "Delete for good", Some("Delete this flag for good?")))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(to_html(page(&ui, "Archive", Nav::Archive, content)))
}

pub async fn revive(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> Page {
    features::revive(&state.core, &posted.ui.actor(), &name).await?;
    see_other("/archive")
}

pub async fn delete_archived(
    State(state): State<AppState>,
    Path(name): Path<String>,
    posted: Posted,
) -> Page {
    features::delete_archived(&state.core, &posted.ui.actor(), &name).await?;
    see_other("/archive")
}
