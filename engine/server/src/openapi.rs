//! The OpenAPI document, generated from the route annotations and views.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::routes::{backups, executions, workflows};
use crate::views;

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Shutter", description = "Start, poll, wait for and cancel workflow executions; find the backups they made."),
    paths(
        workflows::register, workflows::list, workflows::get, workflows::start,
        executions::list, executions::get, executions::events, executions::logs, executions::cancel, executions::retry,
        backups::list, backups::get,
    ),
    components(schemas(
        views::ExecutionSummary, views::ExecutionDetail, views::StepView, views::AttemptView,
        views::ProgressView, views::ExecutionPage, views::EventPage, views::LogLine, views::LogPage,
        views::WorkflowSummary, views::WorkflowList, views::WorkflowDetail, views::GraphView,
        views::NodeView, views::EdgeView, views::StartRequest, views::ErrorBody, views::ErrorDetail,
        views::BackupView, views::BackupSourceView, views::RestoreTestView, views::BackupPage,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub(crate) struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
