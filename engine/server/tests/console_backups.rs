#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! The console's backups page, in process: the catalog's entries with
//! their states and restore tests, a source's link to all its backups and
//! the summary of it, the links to the executions that made and tested
//! them, what a cloud says reaching the page only escaped, and the API's
//! checks of the filters.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use shutter_core::{
    BackupKind, BackupSource, Change, Claim, ExecutionId, ExecutionState, Holder, Location,
    NewBackup, NewExecution, Owner, StepKey, Store,
};
use shutter_store::MemoryStore;
use support::{Answer, TestServer, server, server_on_store};

/// The page's HTML, checked to be a page with the console's headers.
fn html(answer: &Answer) -> &str {
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    assert_eq!(answer.header("content-type"), "text/html; charset=utf-8");
    let policy = answer.header("content-security-policy");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert_eq!(answer.header("x-content-type-options"), "nosniff");
    answer.body.as_str().unwrap()
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + seconds, 0).unwrap()
}

/// How `at(seconds)` is written in a `<time datetime>`.
fn datetime(seconds: i64) -> String {
    at(seconds).to_rfc3339_opts(SecondsFormat::Secs, true)
}

const VOLUME_REF: &str = "aws:123456789012:eu-west-1/volume/vol-1";

/// A place in the AWS account of these tests.
fn aws(region: &str) -> Location {
    Location::Aws {
        account: "123456789012".into(),
        region: region.into(),
    }
}

/// A backup's source: a `kind` (`volume`, `vm`) by its `id`, with its
/// lasting `uuid` and where it is (when not where the backup is), if given.
fn source(
    kind: &str,
    id: &str,
    uuid: Option<&str>,
    location: Option<Location>,
) -> Option<BackupSource> {
    Some(BackupSource {
        kind: kind.into(),
        id: id.into(),
        uuid: uuid.map(str::to_owned),
        location,
    })
}

/// An EBS snapshot of `vol-1` (in eu-west-1) kept in `region`: a copy in
/// another region is still a backup of the same volume.
fn ebs_snapshot(region: &str, id: &str) -> NewBackup {
    let mut artifact = NewBackup::new(BackupKind::EbsSnapshot, aws(region), id);
    artifact.source = source("volume", "vol-1", None, Some(aws("eu-west-1")));
    artifact.created_at = Some(at(1));
    artifact.size_bytes = Some(8 << 30);
    artifact
}

fn vsphere_snapshot() -> NewBackup {
    let vcenter = Location::Vsphere {
        vcenter: "vc-1".into(),
    };
    let mut artifact = NewBackup::new(BackupKind::VsphereSnapshot, vcenter, "snapshot-7");
    artifact.source = source("vm", "vm-42", Some("5012-abcd"), None);
    artifact
}

/// A Glance image whose every text a cloud (or a user) chose is markup.
fn hostile_image() -> NewBackup {
    let mut artifact = NewBackup::new(
        BackupKind::GlanceImage,
        Location::Openstack {
            auth_url: "http://keystone.example:5000/v3".into(),
            project: "p1".into(),
            region: None,
        },
        r#"<script>alert("native")</script>"#,
    );
    let id = r#""><script>alert("source")</script>"#;
    artifact.source = source("server", id, None, None);
    artifact
        .tags
        .insert("name".into(), r#"<script>alert("tag")</script>"#.into());
    artifact.tags.insert(
        "description".into(),
        r#"'><img src=x onerror=alert(1)>"#.into(),
    );
    artifact
}

/// A finished execution that made `changes` (catalog changes, as its
/// steps would have reported them); its id.
async fn execution(store: &Arc<dyn Store>, workflow: &str, changes: Vec<Change>) -> ExecutionId {
    let id = ExecutionId::new();
    let new = NewExecution {
        id,
        workflow: workflow.to_owned(),
        plan_hash: "h".into(),
        source: "version: 1".into(),
        source_path: None,
        inputs: serde_json::json!({}),
        steps: vec!["snap".into(), "test".into()],
        created_at: at(0),
        idempotency_key: None,
        concurrency: None,
    };
    let holder = Holder::new(Owner::this_process(), Duration::from_secs(60));
    store.create(new, &holder).await.unwrap();
    let claim = Claim::created(id);
    store.append(claim, changes).await.unwrap();
    let done = Change::ExecutionFinished {
        state: ExecutionState::Succeeded,
        outputs: None,
        error: None,
        at: at(30),
    };
    store.append(claim, vec![done]).await.unwrap();
    id
}

fn recorded(step: &str, backup: NewBackup, second: i64) -> Change {
    Change::BackupRecorded {
        key: StepKey::step(step),
        backup: Box::new(backup),
        at: at(second),
    }
}

/// A catalog and a server on it: `vol-1` backed up in two regions (the
/// first tested, passed), `vm-42` once in a vCenter, and a hostile image.
struct Catalog {
    api: TestServer,
    made: ExecutionId,
    tester: ExecutionId,
}

async fn catalog() -> Catalog {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let first = ebs_snapshot("eu-west-1", "snap-0a1");
    let made = execution(
        &store,
        "nightly",
        vec![
            recorded("snap", first.clone(), 1),
            recorded("snap", ebs_snapshot("us-east-1", "snap-0b2"), 2),
            recorded("snap", vsphere_snapshot(), 3),
            recorded("snap", hostile_image(), 4),
        ],
    )
    .await;
    let test = Change::BackupTested {
        key: StepKey::step("test"),
        backup: first.reference(),
        passed: true,
        detail: "restored and booted".into(),
        at: at(5),
    };
    let tester = execution(&store, "restore-test", vec![test]).await;
    Catalog {
        api: server_on_store(store),
        made,
        tester,
    }
}

#[tokio::test]
async fn the_page_lists_the_catalog_with_states_tests_and_who_made_them() {
    let Catalog { api, made, tester } = catalog().await;
    let page = api.get("/ui/backups").await;
    let body = html(&page);
    assert!(body.contains("<h1>Backups</h1>"), "{body}");
    // The script reads the table again, never the form.
    let live = body
        .find(r#"<div id="live" data-refresh-every="15">"#)
        .expect("a live region");
    assert!(
        body.find("</form>").is_some_and(|form| form < live),
        "{body}"
    );
    assert_eq!(body.matches("<tr data-backup-id=").count(), 4, "{body}");
    assert_eq!(
        body.matches(r#"data-state="available""#).count(),
        4,
        "{body}"
    );
    // The state is a word too, not only a colour.
    assert!(body.contains(r#"<span class="label">available</span>"#));
    assert!(!body.contains("style="), "the CSP forbids inline styles");
    assert!(body.contains("8.0 GiB"), "{body}");
    assert!(body.contains("<td>EBS snapshot</td>") && body.contains("<td>vSphere snapshot</td>"));
    // Newest first: the image was recorded last.
    let image = body.find("<td>Glance image</td>").unwrap();
    let vm = body.find("<td>vSphere snapshot</td>").unwrap();
    assert!(image < vm, "newest first");
    // Made by: the execution and its step.
    assert!(
        body.contains(&format!(
            r#"<a href="/ui/executions/{made}" title="{made}">"#
        )),
        "{body}"
    );
    assert!(body.contains(&format!(r#"href="/ui/executions/{made}#step-snap""#)));
    // The one restore test: passed, linked to the execution that ran it.
    assert!(
        body.contains(r#"<span class="label">passed</span>"#),
        "{body}"
    );
    assert!(body.contains(r#"title="restored and booted""#), "{body}");
    assert!(
        body.contains(&format!(r#"<a href="/ui/executions/{tester}""#)),
        "{body}"
    );
    assert_eq!(
        body.matches(r#"<span class="muted">never</span>"#).count(),
        3,
        "the others were never tested: {body}"
    );

    // Filtered by provider: only the vCenter's.
    let vsphere = api.get("/ui/backups?provider=vsphere").await;
    let body = html(&vsphere);
    assert_eq!(body.matches("<tr data-backup-id=").count(), 1, "{body}");
    assert!(body.contains("snapshot-7"));
    assert!(
        body.contains(r#"<option value="vsphere" selected>"#),
        "{body}"
    );

    // Keyset paging: the newest, then a link to what is older.
    let first = api.get("/ui/backups?limit=1").await;
    let body = html(&first);
    assert_eq!(body.matches("<tr data-backup-id=").count(), 1, "{body}");
    let older = body
        .split(r#"<a href="/ui/backups?limit=1&amp;cursor="#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no older link: {body}"))
        .to_owned();
    let second = api
        .get(&format!("/ui/backups?limit=1&cursor={older}"))
        .await;
    let body = html(&second);
    assert!(body.contains("<td>vSphere snapshot</td>"), "{body}");
    assert!(body.contains(r#"<a href="/ui/backups?limit=1">Newest</a>"#));
}

#[tokio::test]
async fn a_source_links_to_all_its_backups_and_says_how_it_stands() {
    let Catalog { api, .. } = catalog().await;
    let all = api.get("/ui/backups").await;
    let body = html(&all);
    // Both snapshots of vol-1, the copy too, link to the same filter.
    let link = "/ui/backups?source=aws%3A123456789012%3Aeu-west-1%2Fvolume%2Fvol-1";
    assert_eq!(
        body.matches(&format!(r#"<a href="{link}""#)).count(),
        2,
        "{body}"
    );
    // A VM by its lasting uuid.
    assert!(
        body.contains(r#"<a href="/ui/backups?source=5012-abcd""#),
        "{body}"
    );

    let volume = api.get(link).await;
    let body = html(&volume);
    assert_eq!(body.matches("<tr data-backup-id=").count(), 2, "{body}");
    assert!(body.contains("snap-0a1") && body.contains("snap-0b2"));
    assert!(!body.contains("snapshot-7"), "another source's: {body}");
    assert!(
        body.contains(&format!("Backups of <code>{VOLUME_REF}</code>")),
        "{body}"
    );
    assert!(body.contains("<dd>2 of 2 shown</dd>"), "{body}");
    assert!(
        body.contains(&format!(r#"<dd><time datetime="{}">"#, datetime(1))),
        "the newest backup's time: {body}"
    );
    assert!(
        body.contains(&format!(
            r#"<dt>Last restore test passed</dt><dd><time datetime="{}">"#,
            datetime(5)
        )),
        "{body}"
    );
    // The filter is in the form, to be changed.
    assert!(
        body.contains(&format!(r#"name="source" value="{VOLUME_REF}""#)),
        "{body}"
    );

    let vm = api.get("/ui/backups?source=5012-abcd").await;
    let body = html(&vm);
    assert_eq!(body.matches("<tr data-backup-id=").count(), 1, "{body}");
    assert!(body.contains("<dd>1 of 1 shown</dd>"), "{body}");
    assert!(body.contains("<dd>no restore test passed</dd>"), "{body}");
}

#[tokio::test]
async fn what_a_cloud_says_reaches_the_page_only_escaped() {
    let Catalog { api, .. } = catalog().await;
    let page = api.get("/ui/backups?provider=openstack").await;
    let body = html(&page);
    assert_eq!(body.matches("<tr data-backup-id=").count(), 1, "{body}");
    for text in ["native", "source", "tag"] {
        assert!(
            body.contains(&format!(
                "&lt;script&gt;alert(&quot;{text}&quot;)&lt;/script&gt;"
            )),
            "{text}: {body}"
        );
    }
    assert!(!body.contains("<script>alert"), "{body}");
    assert!(!body.contains("<img"), "{body}");
    assert!(
        body.contains("&#39;&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "{body}"
    );
    // The one script of the page is the console's own file.
    assert_eq!(body.matches("<script").count(), 1, "{body}");
}

#[tokio::test]
async fn a_bad_filter_is_a_page_that_names_the_problem() {
    let api = server(None);
    for (query, says) in [
        ("provider=gcp", "unknown provider `gcp`"),
        ("state=gone", "unknown state `gone`"),
        ("kind=tape", "unknown kind `tape`"),
        ("limit=0", "limit must be 1 to 500"),
    ] {
        let answer = api.get(&format!("/ui/backups?{query}")).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            answer.header("content-type").starts_with("text/html"),
            "{query}"
        );
        let body = answer.body.as_str().unwrap();
        assert!(body.contains(says), "{query}: {body}");
    }
    // An empty catalog is a page that says so.
    let empty = api.get("/ui/backups").await;
    assert!(html(&empty).contains("No backup matches."));
}

#[tokio::test]
async fn with_a_token_the_page_asks_for_it_first() {
    let api = server(Some("console-t0ken"));
    api.assert_see_other(
        "/ui/backups?provider=aws",
        "/ui/sign-in?next=/ui/backups%3Fprovider%3Daws",
    )
    .await;
}
