//! `/executions`: list, read (with ETag and long poll), events, logs, cancel.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shutter_core::record::Change;
use shutter_core::{ExecutionId, ExecutionRecord, ExecutionState, ListQuery, Page};
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::{cut_to_page, execution_id, if_none_match, page_size, since, wait};
use crate::state::AppState;
use crate::views::{EventPage, ExecutionDetail, ExecutionPage, ExecutionSummary, LogLine, LogPage};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Only executions of this workflow.
    pub(crate) workflow: Option<String>,
    /// Only executions in this state (`queued`, `running`, `succeeded`, `succeeded_with_errors`, `failed`, `canceled`).
    pub(crate) state: Option<String>,
    /// Only executions created at or after this time (RFC 3339).
    pub(crate) since: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub(crate) limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub(crate) cursor: Option<String>,
    /// With `If-None-Match`: hold the request until the page differs from
    /// the one held, at most this long (`30s`; capped by the server).
    pub(crate) wait: Option<String>,
}

/// Lists executions, newest first, a page at a time. The cursor is the last
/// execution seen, so executions started meanwhile never shift a page.
/// `?wait=` with `If-None-Match` holds the request until the page differs
/// from the one the client holds (a new execution, a change of one shown),
/// at most that long, then answers 304 if it still does not.
#[utoipa::path(get, path = "/executions", params(ListParams), tag = "executions", operation_id = "listExecutions",
    responses((status = 200, body = ExecutionPage), (status = 304), (status = 400, body = crate::views::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let wait = wait(params.wait.as_deref(), state.0.max_wait)?;
    let (query, limit) = params.to_query()?;
    let known = if_none_match(&headers);
    let deadline = tokio::time::Instant::now() + wait.unwrap_or_default();
    // Subscribed before the first read: a change in between still wakes.
    let mut changes = state.0.feed.subscribe_all();
    loop {
        changes.borrow_and_update();
        let body = list_page(&state, &query, limit).await?;
        let tag = crate::etag::of_body(&body);
        let held = known.iter().any(|known| *known == tag || known == "*");
        if !held {
            let mut response = (
                [(header::CONTENT_TYPE, "application/json")],
                axum::body::Body::from(body),
            )
                .into_response();
            set_etag(&mut response, &tag);
            return Ok(response);
        }
        if wait.is_none() {
            return Ok(not_modified(&tag));
        }
        tokio::select! {
            changed = tokio::time::timeout_at(deadline, changes.changed()) => {
                if !matches!(changed, Ok(Ok(()))) {
                    return Ok(not_modified(&tag));
                }
            }
            () = state.0.stopping.cancelled() => return Ok(not_modified(&tag)),
        }
        // Many changes a second must not mean as many reads per waiting
        // client: read again at most every `RELIST_EVERY`.
        tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + RELIST_EVERY)).await;
    }
}

/// How often a long poll of the list reads it again while executions change.
const RELIST_EVERY: Duration = Duration::from_millis(200);

impl ListParams {
    /// The store's query, one more than a page long (to know whether an
    /// older page exists), and the page size.
    pub(crate) fn to_query(&self) -> Result<(ListQuery, usize), ApiError> {
        let limit = page_size(self.limit)?;
        let given = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        let query = ListQuery {
            workflow: given(&self.workflow),
            state: given(&self.state)
                .map(|s| {
                    ExecutionState::parse(&s)
                        .ok_or_else(|| ApiError::bad_request(format!("unknown state `{s}`")))
                })
                .transpose()?,
            since: since(given(&self.since))?,
            before: given(&self.cursor)
                .map(|c| {
                    c.parse::<ExecutionId>()
                        .map_err(|_| ApiError::bad_request(format!("`{c}` is not a cursor")))
                })
                .transpose()?,
            limit: limit + 1,
        };
        Ok((query, limit))
    }
}

/// One page of the list as the JSON body it is sent as.
async fn list_page(state: &AppState, query: &ListQuery, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut records = state.store().list(query).await?;
    let next_cursor = cut_to_page(&mut records, limit, |r| r.id.to_string());
    let page = ExecutionPage {
        items: records.iter().map(ExecutionSummary::from).collect(),
        next_cursor,
    };
    serde_json::to_vec(&page).map_err(|err| ApiError::internal(format!("encoding a page: {err}")))
}

fn not_modified(tag: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    set_etag(&mut response, tag);
    response
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct WaitParams {
    /// Hold the request until the execution changes, at most this long
    /// (`30s`; capped by the server). With `If-None-Match`, until it no
    /// longer matches.
    wait: Option<String>,
}

/// The entity tag of an execution at a sequence number.
fn etag(seq: u64) -> String {
    format!("\"v{seq}\"")
}

/// An execution with every step. `ETag` changes with every change;
/// `If-None-Match` answers 304; `?wait=` long-polls.
#[utoipa::path(get, path = "/executions/{id}", params(("id" = String, Path), WaitParams), tag = "executions", operation_id = "getExecution",
    responses((status = 200, body = ExecutionDetail), (status = 304), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<WaitParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = execution_id(&id)?;
    let wait = wait(params.wait.as_deref(), state.0.max_wait)?;
    let known = if_none_match(&headers);
    let record = match wait {
        Some(wait) => {
            wait_for_change(&state, id, wait, |record| {
                known.is_empty() || known.contains(&etag(record.last_seq))
            })
            .await?
        }
        None => current(&state, id).await?,
    };
    if known.contains(&etag(record.last_seq)) || known.iter().any(|tag| tag == "*") {
        return Ok(not_modified(&etag(record.last_seq)));
    }
    let snapshot = state.execution(id).await?;
    let tag = etag(snapshot.execution.last_seq);
    let mut response = Json(ExecutionDetail::from(&snapshot)).into_response();
    set_etag(&mut response, &tag);
    Ok(response)
}

async fn current(state: &AppState, id: ExecutionId) -> Result<ExecutionRecord, ApiError> {
    state
        .store()
        .get(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("execution {id}")))
}

/// Reads the execution, and while `unchanged(first read)` holds for what
/// is read and the execution can still change, waits for its next change
/// (at most `wait`). The feed is subscribed before the first read, so a
/// change between the read and the wait is not missed.
async fn wait_for_change(
    state: &AppState,
    id: ExecutionId,
    wait: Duration,
    waiting: impl Fn(&ExecutionRecord) -> bool,
) -> Result<ExecutionRecord, ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut changes = state.0.feed.subscribe(id);
    let first = current(state, id).await?;
    if !waiting(&first) || first.state.is_terminal() {
        return Ok(first);
    }
    let baseline = first.last_seq;
    loop {
        tokio::select! {
            changed = tokio::time::timeout_at(deadline, changes.changed()) => {
                if changed.is_err() {
                    return current(state, id).await;
                }
            }
            () = state.0.stopping.cancelled() => return current(state, id).await,
        }
        let record = current(state, id).await?;
        if record.last_seq != baseline || record.state.is_terminal() {
            return Ok(record);
        }
    }
}

fn set_etag(response: &mut Response, tag: &str) {
    if let Ok(value) = HeaderValue::from_str(tag) {
        response.headers_mut().insert(header::ETAG, value);
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventParams {
    /// Only events after this sequence number (default 0: from the start).
    after: Option<u64>,
    /// At most this many, 1 to 1000 (default 100).
    limit: Option<usize>,
    /// Hold the request until there is an event after `after`, at most this long.
    wait: Option<String>,
}

/// The execution's event log, oldest first.
#[utoipa::path(get, path = "/executions/{id}/events", params(("id" = String, Path), EventParams), tag = "executions", operation_id = "listExecutionEvents",
    responses((status = 200, body = EventPage), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<EventParams>,
) -> Result<Json<EventPage>, ApiError> {
    let id = execution_id(&id)?;
    let after = params.after.unwrap_or(0);
    let limit = params.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1 to 1000"));
    }
    let record = match wait(params.wait.as_deref(), state.0.max_wait)? {
        Some(wait) => wait_for_change(&state, id, wait, |r| r.last_seq <= after).await?,
        None => current(&state, id).await?,
    };
    let events = state.store().events(id, Page::new(after, limit)).await?;
    let last_seq = events.last().map_or(after, |event| event.seq);
    Ok(Json(EventPage {
        finished: record.state.is_terminal() && last_seq >= record.last_seq,
        events,
        last_seq,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LogParams {
    /// Only lines after this sequence number (`seq` of the last line read).
    after: Option<u64>,
    /// At most this many lines, 1 to 5000 (default 1000).
    limit: Option<usize>,
}

/// The log lines of one step (every item of a `for_each` step when given
/// the step id; one item when given `id[N]`), oldest first, a page at a time.
#[utoipa::path(get, path = "/executions/{id}/steps/{step}/logs", params(("id" = String, Path), ("step" = String, Path), LogParams), tag = "executions", operation_id = "listStepLogs",
    responses((status = 200, body = LogPage), (status = 400, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn logs(
    State(state): State<AppState>,
    Path((id, step)): Path<(String, String)>,
    Query(params): Query<LogParams>,
) -> Result<Json<LogPage>, ApiError> {
    let id = execution_id(&id)?;
    let limit = params.limit.unwrap_or(1000);
    if !(1..=5000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1 to 5000"));
    }
    let snapshot = state.execution(id).await?;
    let known = snapshot
        .steps
        .iter()
        .any(|s| s.key.step == step || s.key.to_string() == step);
    if !known {
        return Err(ApiError::not_found(format_args!(
            "step `{step}` of execution {id}"
        )));
    }
    let events = state
        .store()
        .logs(id, &step, Page::new(params.after.unwrap_or(0), limit))
        .await?;
    let full = events.len() == limit;
    let lines: Vec<LogLine> = events
        .into_iter()
        .filter_map(|event| match event.change {
            Change::Log {
                key,
                attempt,
                level,
                message,
                at,
            } => Some(LogLine {
                seq: event.seq,
                step: key.to_string(),
                attempt,
                level: serde_json::to_value(level)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                message,
                at,
            }),
            _ => None,
        })
        .collect();
    let next_after = if full {
        lines.last().map(|l| l.seq)
    } else {
        None
    };
    Ok(Json(LogPage { lines, next_after }))
}

/// Cancels a running execution: steps stop, `finally` steps still run.
/// Whichever node runs it cancels it: asked here, the request is kept in
/// the store and passed on.
#[utoipa::path(post, path = "/executions/{id}/cancel", params(("id" = String, Path)), tag = "executions", operation_id = "cancelExecution",
    responses((status = 202, body = ExecutionSummary), (status = 404, body = crate::views::ErrorBody),
              (status = 409, body = crate::views::ErrorBody)))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = execution_id(&id)?;
    let record = current(&state, id).await?;
    if record.state.is_terminal() {
        return Err(already_finished(&record));
    }
    // Kept in the store even when it runs here: if this node stops before
    // the cancel is recorded, the node that takes the execution over
    // still cancels it.
    let here = state.runner().cancel(id);
    if !state.engine().request_cancel(id).await? && !here {
        return Err(already_finished(&current(&state, id).await?));
    }
    Ok((StatusCode::ACCEPTED, Json(ExecutionSummary::from(&record))).into_response())
}

fn already_finished(record: &ExecutionRecord) -> ApiError {
    ApiError::conflict(
        "already_finished",
        format!(
            "execution {} already ended ({})",
            record.id,
            record.state.as_str()
        ),
    )
}

/// What a retry may say (the body may also be empty).
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetryRequest {
    /// Run again from this step: it, everything downstream of it, every
    /// `finally` step and the steps they name in `rerun_with`. Without it,
    /// from the steps that did not succeed.
    from: Option<String>,
}

/// Runs an execution again: a failed, canceled or `succeeded_with_errors`
/// one from the steps that did not succeed, or any ended one `from` a
/// step; what is not run again keeps its results (its outputs feed the
/// steps that run). `finally` steps and `rerun_with` partners run again.
#[utoipa::path(post, path = "/executions/{id}/retry", params(("id" = String, Path)), tag = "executions", operation_id = "retryExecution",
    request_body(content = Option<RetryRequest>, description = "Optional: `{\"from\": \"STEP\"}`"),
    responses((status = 202, body = ExecutionSummary), (status = 400, body = crate::views::ErrorBody),
              (status = 404, body = crate::views::ErrorBody), (status = 409, body = crate::views::ErrorBody)))]
pub(crate) async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let id = execution_id(&id)?;
    let request: RetryRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RetryRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|err| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                format!("the retry body must be {{\"from\": \"STEP\"}} or empty: {err}"),
            )
        })?
    };
    let (plan, claim) = state.engine().retry(id, request.from.as_deref()).await?;
    let record = current(&state, id).await?;
    state.runner().launch(claim, plan);
    Ok((StatusCode::ACCEPTED, Json(ExecutionSummary::from(&record))).into_response())
}
