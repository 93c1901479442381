//! Unleash's export/import endpoints (`/api/admin/features-batch/*`).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::api::ApiJson;
use crate::app::AppState;
use crate::auth::AdminAuth;
use crate::domain::batch::{self, ExportQuery, ImportRequest, ValidationResult};
use crate::error::ApiResult;

#[utoipa::path(
    post,
    path = "/features-batch/export",
    tag = "Import and export",
    summary = "Export flags in Unleash's export format",
    request_body = ExportQuery,
    responses(
        (status = 200, description = "The export; with `downloadFile`, as an attachment", body = crate::domain::batch::ExportResult),
        (status = 404, description = "The environment or project does not exist", body = crate::api::schema::ErrorBody),
    )
)]
/// `POST /api/admin/features-batch/export`: the selected flags of one environment, as JSON or,
/// with `downloadFile`, as a file to save.
pub async fn export(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(query): ApiJson<ExportQuery>,
) -> ApiResult<Response> {
    let result = batch::export_recorded(&state.core, &auth.actor, &query).await?;
    let mut response = Json(result).into_response();
    if query.download_file == Some(true) {
        let name = format!(
            "attachment; filename=\"export-{}.json\"",
            chrono::Utc::now().format("%Y-%m-%d")
        );
        if let Ok(value) = HeaderValue::from_str(&name) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

#[utoipa::path(
    post,
    path = "/features-batch/validate",
    tag = "Import and export",
    summary = "Check what an import would do, without doing it",
    request_body = ImportRequest,
    responses(
        (status = 200, description = "Errors that would stop the import, and warnings", body = ValidationResult),
    )
)]
/// `POST /api/admin/features-batch/validate`: what an import would do, without doing it.
pub async fn validate(
    _: AdminAuth,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ImportRequest>,
) -> ApiResult<Json<ValidationResult>> {
    let snapshot = state.core.fresh().await?;
    Ok(Json(batch::validate_import(&snapshot, &request)))
}

#[utoipa::path(
    post,
    path = "/features-batch/import",
    tag = "Import and export",
    summary = "Import flags in Unleash's export format into one project and environment",
    request_body = ImportRequest,
    responses(
        (status = 200, description = "Imported, in one change"),
        (status = 404, description = "The project or environment does not exist", body = crate::api::schema::ErrorBody),
    )
)]
/// `POST /api/admin/features-batch/import`: all of the file or, on any problem, nothing.
pub async fn import(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ImportRequest>,
) -> ApiResult<()> {
    batch::import(&state.core, &auth.actor, &request).await
}
