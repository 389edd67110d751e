//! The OpenAPI document, generated from the route annotations and views.
//! Every route of `routes::router` is listed here, each operation with an
//! `operation_id` of its own: `engine/server/tests/api.rs` checks that the
//! two agree, and the end-to-end `tests/api.rs` validates the document with
//! openapi-spec-validator.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::routes::{backups, executions, nodes, system, vro, workflows};
use crate::views;

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Shutter", description = "Start, poll, wait for and cancel workflow executions; find the backups they made."),
    paths(
        workflows::register, workflows::list, workflows::get, workflows::start, workflows::plan,
        executions::list, executions::get, executions::events, executions::logs, executions::cancel, executions::retry,
        backups::list, backups::get,
        vro::start, vro::get, vro::get_at_location, vro::get_state, vro::cancel,
        nodes::get, system::healthz, system::metrics, system::openapi,
    ),
    components(schemas(
        views::ExecutionSummary, views::ExecutionDetail, views::NotificationView, views::PendingNotificationView, views::StepView, views::AttemptView,
        views::ProgressView, views::ExecutionPage, views::EventPage, views::LogLine, views::LogPage,
        views::WorkflowSummary, views::WorkflowList, views::WorkflowDetail, views::GraphView,
        views::NodeView, views::EdgeView, views::StartRequest, views::ErrorBody, views::ErrorDetail,
        views::BackupView, views::BackupSourceView, views::RestoreTestView, views::BackupPage,
        vro::VroStartRequest, vro::VroExecution, vro::VroState, crate::vro::VroParameter,
        system::Health, executions::RetryRequest,
        nodes::NodesView, nodes::ThisNodeView, nodes::NodeView, nodes::HeldExecutionView, nodes::PoolView, nodes::PoolStepView,
        shutter_runtime::DryRun, shutter_runtime::StepPlan, shutter_runtime::Call, shutter_runtime::Forecast,
    )),
    tags(
        (name = "workflows", description = "Register workflows and start their executions."),
        (name = "executions", description = "Read, wait for, cancel and retry executions."),
        (name = "backups", description = "The backup catalog."),
        (name = "vro", description = "vRealize Orchestrator-shaped aliases: clients written for vRO's REST API start and poll executions unchanged."),
        (name = "system", description = "Health, metrics, the nodes and limit pools, and this document: `/healthz` and `/openapi.json` need no token."),
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub(crate) struct ApiDoc;

/// The bearer scheme every route needs when a token is configured, but
/// the public ones (`auth::PUBLIC`), which need none.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        for path in crate::auth::PUBLIC {
            if let Some(get) = openapi
                .paths
                .paths
                .get_mut(path)
                .and_then(|item| item.get.as_mut())
            {
                // An empty list, not an empty requirement: no token at all.
                get.security = Some(Vec::new());
            }
        }
    }
}
