#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! The vSphere actions against the real vcsim (govmomi's simulator):
//! sessions, VM lookup, the snapshot life cycle, restores (revert, clone,
//! destroy), faults and TLS.
//!
//! vcsim is shared by every test of the run: tests never reset it, and
//! each snapshot test works on a VM no other test snapshots. The restore
//! tests make VMs of their own to snapshot and clone (see `own_vm`).

mod support;

use serde_json::{Value as Json, json};
use shutter_core::{ActionError, BackupKind, BackupState, Location, NewBackup, RecordingSink};
use shutter_vmware::vsphere::client::Client;
use shutter_vmware::vsphere::connection::ConnectionConfig;
use shutter_vmware::vsphere::session::SessionCache;
use support::{fatal, run_fatal, run_in, run_keyed, run_ok, run_recorded};

#[tokio::test]
async fn login_reads_the_vcenter_instance_uuid() {
    let config = own::connection();
    let client = Client::connect(config).await.unwrap();
    assert_eq!(client.vcenter().len(), 36, "{}", client.vcenter());
    assert!(client.service().full_name.contains("vCenter"));
    assert!(
        client
            .session_cookie()
            .unwrap()
            .starts_with("vmware_soap_session=")
    );
    let vm = run_ok(
        &SessionCache::new(),
        "vsphere.vm.get",
        json!({"vm": "DC0_H0_VM0"}),
    )
    .await;
    assert_eq!(vm["vcenter"], client.vcenter());
    client.logout().await.unwrap();
}

#[tokio::test]
async fn a_vm_is_found_by_name_moref_inventory_path_and_instance_uuid() {
    let sessions = SessionCache::new();
    let by_name = run_ok(&sessions, "vsphere.vm.get", json!({"vm": "DC0_H0_VM0"})).await;
    let moref = by_name["moref"].as_str().unwrap();
    assert!(moref.starts_with("vm-"), "{moref}");
    assert_eq!(by_name["power_state"], "poweredOn");
    assert_eq!(by_name["datacenter"], "DC0");
    let uuid = by_name["instance_uuid"].as_str().unwrap();
    for selector in [
        json!(moref),
        json!(uuid),
        json!("DC0/vm/DC0_H0_VM0"),
        by_name["vm"].clone(),
    ] {
        let found = run_ok(&sessions, "vsphere.vm.get", json!({"vm": selector})).await;
        assert_eq!(found["moref"], moref, "selector {selector}");
        assert_eq!(found["name"], "DC0_H0_VM0");
    }
    let disk = &by_name["disks"][0];
    assert_eq!(disk["datastore"], "LocalDS_0");
    assert_eq!(disk["path"], "DC0_H0_VM0/disk1.vmdk");
    let url = disk["url"].as_str().unwrap();
    assert!(
        url.ends_with("/folder/DC0_H0_VM0/disk1.vmdk?dcPath=DC0&dsName=LocalDS_0"),
        "{url}"
    );
}

#[tokio::test]
async fn a_bad_moref_is_a_fatal_managed_object_not_found() {
    let message = run_fatal(
        &SessionCache::new(),
        "vsphere.vm.get",
        json!({"vm": "vm-999999"}),
    )
    .await;
    assert!(
        message.starts_with("looking up vm vm-999999 on vcenter "),
        "{message}"
    );
    assert!(message.contains("ManagedObjectNotFound"), "{message}");
    assert!(message.contains("vm-999999"), "{message}");
    let message = run_fatal(
        &SessionCache::new(),
        "vsphere.vm.get",
        json!({"vm": "no-such-vm"}),
    )
    .await;
    assert!(message.contains("no vm named `no-such-vm`"), "{message}");
}

#[tokio::test]
async fn a_reference_from_another_vcenter_is_refused() {
    let message = run_fatal(
        &SessionCache::new(),
        "vsphere.vm.get",
        json!({"vm": {"vcenter": "00000000-0000-0000-0000-000000000000", "moref": "vm-1"}}),
    )
    .await;
    assert!(
        message.contains(
            "names vcenter 00000000-0000-0000-0000-000000000000, which no known connection is (govc's GOVC_URL is "
        ),
        "{message}"
    );
}

#[tokio::test]
async fn snapshot_life_cycle_with_adoption() {
    let sessions = SessionCache::new();
    let vm = "DC0_H0_VM1";
    let key = format!("shutter:{}:snap", std::process::id());
    let params = json!({"vm": vm, "name": "Backup", "description": "Temporary Snapshot for Backup", "quiesce": true});
    let got = run_ok(&sessions, "vsphere.vm.get", json!({"vm": vm})).await;
    let (created, sink) =
        run_recorded(&sessions, "vsphere.snapshot.create", params.clone(), &key).await;
    let created = created.unwrap();
    assert_eq!(created["adopted"], false);
    let entry = cataloged(&sink, &created, &got);
    assert_eq!(created["quiesced"], true);
    assert_eq!(created["consistency"], "quiesced");
    assert_eq!(created["name"], params["name"], "the name as given");
    let snapshot = created["snapshot"].clone();
    assert_eq!(snapshot["vcenter"], created["vcenter"]);
    assert!(snapshot["moref"].as_str().unwrap().starts_with("snapshot-"));
    assert_eq!(created["disks"][0]["datastore"], "LocalDS_0");

    // The snapshot tree shows it, quiesced.
    let listed = run_ok(&sessions, "vsphere.snapshot.list", json!({"vm": vm})).await;
    let mine = find(&listed, &snapshot["moref"]).unwrap();
    assert_eq!(mine["quiesced"], true);
    assert_eq!(named(&listed, &created["name"]), 1);

    // A second try of the same step adopts it instead of making another.
    let again = run_keyed(&sessions, "vsphere.snapshot.create", params.clone(), &key)
        .await
        .unwrap();
    assert_eq!(again["adopted"], true);
    assert_eq!(again["snapshot"], snapshot);
    let listed = run_ok(&sessions, "vsphere.snapshot.list", json!({"vm": vm})).await;
    assert_eq!(
        named(&listed, &created["name"]),
        1,
        "no second snapshot: {listed}"
    );

    // Another step (another key) gets its own.
    let other = run_keyed(
        &sessions,
        "vsphere.snapshot.create",
        params,
        &format!("{key}-other"),
    )
    .await
    .unwrap();
    assert_ne!(other["snapshot"], snapshot);

    let (removed, sink) = run_recorded(
        &sessions,
        "vsphere.snapshot.remove",
        json!({"snapshot": snapshot}),
        &format!("{key}-remove"),
    )
    .await;
    assert_eq!(removed.unwrap()["removed"], true);
    assert_eq!(
        sink.backup_marks(),
        vec![(entry.reference(), BackupState::Deleted)],
        "the catalog hears it is gone"
    );
    let listed = run_ok(&sessions, "vsphere.snapshot.list", json!({"vm": vm})).await;
    assert!(find(&listed, &snapshot["moref"]).is_none(), "{listed}");
    // Removing again (a retried cleanup step) succeeds and says so.
    let again = run_on_snapshot(&sessions, "vsphere.snapshot.remove", &snapshot).await;
    assert_eq!(again["removed"], false);
    let uri = other["uri"].as_str().unwrap();
    let removed = run_on_snapshot(&sessions, "vsphere.snapshot.remove", &json!(uri)).await;
    assert_eq!(removed["removed"], true);
}

/// The one catalog entry a create recorded, checked against the snapshot
/// made (`created`) and the VM (`got`, from `vsphere.vm.get`).
fn cataloged(sink: &RecordingSink, created: &Json, got: &Json) -> NewBackup {
    let recorded = sink.backups();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let entry = recorded.into_iter().next().unwrap();
    assert_eq!(entry.kind, BackupKind::VsphereSnapshot);
    let vcenter = created["vcenter"].as_str().unwrap().to_owned();
    assert_eq!(
        entry.location,
        Location::Vsphere { vcenter },
        "placed by the vCenter's instanceUuid"
    );
    assert_eq!(entry.native_id, created["id"].as_str().unwrap());
    let source = entry.source.as_ref().unwrap();
    assert_eq!(source.kind, "vm");
    assert_eq!(source.id, got["moref"].as_str().unwrap(), "the VM's moRef");
    assert_eq!(
        source.uuid.as_deref(),
        got["instance_uuid"].as_str(),
        "and its own instanceUuid, which outlives the moRef"
    );
    assert!(entry.size_bytes.is_some_and(|b| b > 0), "{entry:?}");
    assert!(entry.created_at.is_some());
    assert_eq!(entry.tags["consistency"], "quiesced");
    entry
}

/// How many snapshots carry this name (other test binaries may snapshot
/// the same vcsim, so the total count is not ours to assert).
fn named(listed: &Json, name: &Json) -> usize {
    listed["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| &s["name"] == name)
        .count()
}

fn find<'a>(listed: &'a Json, moref: &Json) -> Option<&'a Json> {
    listed["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| &s["snapshot"]["moref"] == moref)
}

#[tokio::test]
async fn the_disk_url_streams_with_the_session_cookie() {
    let sessions = SessionCache::new();
    let vm = run_ok(&sessions, "vsphere.vm.get", json!({"vm": "DC0_C0_RP0_VM0"})).await;
    let config = own::connection();
    let client = sessions.client(&config).await.unwrap();
    let url = vm["disks"][0]["url"].as_str().unwrap();
    let response = client
        .http()
        .get(url)
        .header("Cookie", client.session_cookie().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{url}");
}

#[tokio::test]
async fn an_expired_session_is_replaced_once() {
    let sessions = SessionCache::new();
    let moref = vm_moref(&sessions).await;
    let config = own::connection();
    let client = sessions.client(&config).await.unwrap();
    let first = client.session_cookie().unwrap();

    // Log the session out behind the client's back, as an idle timeout would.
    logout_behind_its_back(&client, &config, &first).await;
    // By moRef: the property collector reports the expired session per
    // object (missingSet), not as a fault.
    let vm = run_ok(&sessions, "vsphere.vm.get", json!({"vm": moref})).await;
    assert_eq!(vm["name"], "DC0_H0_VM0");
    let second = client.session_cookie().unwrap();
    assert_ne!(second, first, "a new session replaced the expired one");

    // By name: CreateContainerView answers with a NotAuthenticated fault.
    logout_behind_its_back(&client, &config, &second).await;
    let snapshots = run_ok(
        &sessions,
        "vsphere.snapshot.list",
        json!({"vm": "DC0_H0_VM0"}),
    )
    .await;
    assert!(snapshots["count"].is_u64());
    assert_ne!(client.session_cookie().unwrap(), second);
}

async fn vm_moref(sessions: &SessionCache) -> String {
    let vm = run_ok(sessions, "vsphere.vm.get", json!({"vm": "DC0_H0_VM0"})).await;
    vm["moref"].as_str().unwrap().to_owned()
}

async fn logout_behind_its_back(client: &Client, config: &ConnectionConfig, cookie: &str) {
    let logout = concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">"#,
        r#"<soapenv:Body><Logout xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this></Logout></soapenv:Body></soapenv:Envelope>"#
    );
    let answer = client
        .http()
        .post(config.url.clone())
        .header("Content-Type", "text/xml")
        .header("Cookie", cookie)
        .body(logout)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn a_self_signed_certificate_is_refused_unless_insecure() {
    let peer = shutter_testpeers::peer("vcsim");
    let vcenter = |insecure: bool| json!({"url": peer.url, "username": "user", "password_secret": "vc", "insecure": insecure});
    let message = fatal(
        support::run_with_secret(
            &SessionCache::new(),
            "vsphere.vm.get",
            json!({"vm": "DC0_H0_VM0", "vcenter": vcenter(false)}),
            ("vc", "pass"),
        )
        .await,
    );
    assert!(
        message.starts_with("tls: the certificate of https://127.0.0.1:"),
        "{message}"
    );
    assert!(message.contains("insecure: true"), "{message}");
    let insecure = support::run_with_secret(
        &SessionCache::new(),
        "vsphere.vm.get",
        json!({"vm": "DC0_H0_VM0", "vcenter": vcenter(true)}),
        ("vc", "pass"),
    )
    .await
    .unwrap();
    assert_eq!(insecure["name"], "DC0_H0_VM0");
}

#[tokio::test]
async fn the_plain_api_serves_other_actions() {
    use shutter_vmware::vsphere::snapshot::{
        SnapshotSpec, create_snapshot, list_snapshots, remove_snapshot,
    };
    use shutter_vmware::vsphere::vm::{VmTarget, find_vm};

    let config = own::connection();
    let client = SessionCache::new().client(&config).await.unwrap();
    let target = VmTarget::parse(&json!(format!("vsphere://{}/vm-66", client.vcenter()))).unwrap();
    let vm = find_vm(&client, &target).await.unwrap();
    let spec = SnapshotSpec {
        name: "dispatcher".into(),
        quiesce: true,
        idempotency_key: Some(format!("plain-{}", std::process::id())),
        ..SnapshotSpec::default()
    };
    let created = create_snapshot(&client, &vm, &spec, &()).await.unwrap();
    assert_eq!(created.info.consistency(), "quiesced");
    assert_eq!(created.info.snapshot.vm, "vm-66");
    let listed = list_snapshots(&client, &vm).await.unwrap();
    assert!(listed.iter().any(|s| s.snapshot == created.info.snapshot));
    let removed = remove_snapshot(&client, &created.info.snapshot, false, true, &())
        .await
        .unwrap();
    assert!(removed.removed);
}

#[tokio::test]
async fn a_task_that_never_ends_is_given_up_at_its_deadline() {
    use shutter_vmware::vsphere::error::VsphereError;
    use shutter_vmware::vsphere::moref::MoRef;
    use shutter_vmware::vsphere::properties::retrieve;
    use shutter_vmware::vsphere::task::{Observer, wait_for_task};

    /// Watches with a short deadline.
    struct Impatient;
    impl Observer for Impatient {
        fn task_deadline(&self) -> std::time::Duration {
            std::time::Duration::from_millis(300)
        }
    }

    let config = own::connection();
    let client = SessionCache::new().client(&config).await.unwrap();
    // vcsim runs its tasks to the end within the call that starts them;
    // tests/peers/vcsim/main.go makes one that is never run (it stays
    // `queued`, as a real task behind a busy host).
    let held = shutter_testpeers::peer("vcsim")
        .var("SHUTTER_VCSIM_HELD_TASK")
        .expect("the vcsim peer names a held task")
        .to_owned();
    let task = MoRef::new("Task", &held);
    let started = std::time::Instant::now();
    let err = wait_for_task(&client, &task, "waiting forever", &Impatient)
        .await
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let VsphereError::Unavailable(message) = &err else {
        panic!("a deadline is retryable, got {err:?}");
    };
    assert!(
        message.starts_with("waiting forever: still not done after 300ms")
            && message.contains("asked to cancel"),
        "{message}"
    );
    // vcsim 0.24 has no CancelTask (it answers MethodNotFound): asking is
    // best effort, and the wait ends the same either way. The task is as
    // vCenter says, untouched.
    let info = retrieve(&client, &task, &["info"]).await.unwrap();
    assert_eq!(info.get("info").unwrap().text_of("state"), Some("queued"));
}

/// The engine's environment with Shutter's config naming vcsim `sim`,
/// its password in a variable, and no govc variables at all.
fn named_sim_env(dir: &std::path::Path) -> shutter_vmware::Env {
    let peer = shutter_testpeers::peer("vcsim");
    let var = |name: &str| peer.var(name).unwrap().to_owned();
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "vcenters:\n  sim:\n    url: {}\n    username: {}\n    password_env: SIM_PASSWORD\n    insecure: true\n",
            peer.url,
            var("GOVC_USERNAME")
        ),
    )
    .unwrap();
    support::env_with_config(&[
        ("SHUTTER_CONFIG", &config.display().to_string()),
        ("SIM_PASSWORD", &var("GOVC_PASSWORD")),
    ])
}

/// vcsim reached only through Shutter's config, as `sim` (see
/// [`named_sim_env`]).
struct NamedSim {
    env: shutter_vmware::Env,
    sessions: SessionCache,
    /// Holds the config file.
    _dir: tempfile::TempDir,
}

impl NamedSim {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            env: named_sim_env(dir.path()),
            sessions: SessionCache::new(),
            _dir: dir,
        }
    }

    async fn run(&self, action: &str, params: Json) -> Result<Json, ActionError> {
        run_in(self.env.clone(), &self.sessions, action, params, |_| {}).await
    }

    /// `vsphere.vm.get`, which must succeed: its outputs.
    async fn get(&self, params: Json) -> Json {
        self.run("vsphere.vm.get", params).await.unwrap()
    }

    /// `vsphere.vm.get`, which must fail: its message.
    async fn refused(&self, params: Json) -> String {
        self.run("vsphere.vm.get", params)
            .await
            .unwrap_err()
            .to_string()
    }
}

#[tokio::test]
async fn a_reference_by_instance_uuid_finds_the_named_connection_that_is_that_vcenter() {
    let sim = NamedSim::new();
    let vm = sim.get(json!({"vm": "DC0_H0_VM0", "vcenter": "sim"})).await;
    let uuid = vm["vm"]["vcenter"].as_str().unwrap().to_owned();
    let moref = vm["moref"].as_str().unwrap();
    // What a backup catalog entry carries: the vCenter's instanceUuid
    // alone. No govc variables here: only the config's `sim` can be it.
    let found = sim
        .get(json!({"vm": format!("vsphere://{uuid}/{moref}")}))
        .await;
    assert_eq!(found["moref"], moref);
    assert_eq!(found["vm"]["connection"], "sim", "{found:#}");
    // Another vCenter's: no connection is it, and each says what it is.
    let other = sim
        .refused(json!({"vm": {"vcenter": "00000000-0000-0000-0000-000000000000", "moref": moref}}))
        .await;
    assert!(
        other.contains(&format!(
            "names vcenter 00000000-0000-0000-0000-000000000000, which no known connection is (`sim` is {uuid})"
        )),
        "{other}"
    );
}

#[tokio::test]
async fn a_named_connection_from_shutters_config_is_used_and_carried_on() {
    let sim = NamedSim::new();
    let vm = sim.get(json!({"vm": "DC0_H0_VM0", "vcenter": "sim"})).await;
    assert_eq!(vm["vm"]["connection"], "sim", "{vm:#}");
    let moref = vm["moref"].as_str().unwrap();
    // A reference naming the connection needs no `vcenter` parameter.
    let by_uri = sim
        .get(json!({"vm": format!("vsphere://sim/{moref}")}))
        .await;
    assert_eq!(by_uri["name"], "DC0_H0_VM0");
    let by_ref = sim.get(json!({"vm": vm["vm"].clone()})).await;
    assert_eq!(by_ref["moref"], moref);

    let created = sim
        .run(
            "vsphere.snapshot.create",
            json!({"vm": format!("vsphere://sim/{moref}"), "name": "named-connection"}),
        )
        .await
        .unwrap();
    assert_eq!(created["snapshot"]["connection"], "sim", "{created:#}");
    let removed = sim
        .run(
            "vsphere.snapshot.remove",
            json!({"snapshot": created["snapshot"].clone()}),
        )
        .await
        .unwrap();
    assert_eq!(removed["removed"], true, "{removed:#}");
    // what snapshot.delete passes for vsphere://sim/vm-N: the name as `vcenter`
    let again = sim
        .run(
            "vsphere.snapshot.remove",
            json!({"snapshot": {"vcenter": "sim", "vm": moref, "moref": created["id"].clone()}}),
        )
        .await
        .unwrap();
    assert_eq!(again["removed"], false, "already gone: {again:#}");

    let unknown = sim
        .refused(json!({"vm": "DC0_H0_VM0", "vcenter": "simm"}))
        .await;
    assert!(unknown.contains("did you mean `sim`"), "{unknown}");
    let elsewhere = sim.refused(json!({"vm": "vsphere://prod/vm-1"})).await;
    assert!(elsewhere.contains("config.yaml"), "{elsewhere}");
    let no_govc = sim.refused(json!({"vm": "DC0_H0_VM0"})).await;
    assert!(no_govc.contains("GOVC_URL"), "{no_govc}");
}

// vcsim (govmomi 0.24) runs the clone API flow (a task that makes a new VM
// in the folder and returns its moRef) but builds the clone from the
// source's current devices: it ignores the snapshot's disk contents,
// `spec.snapshot` and `diskMoveType`, so these tests check the flow, the
// folder, adoption and cleanup, never what a clone's disks hold. It also
// drops `spec.config.annotation` and `spec.powerOn`, which the action sets
// again after the clone (as it would for a clone a crashed try left off).

/// A throwaway VM of the test's own, with one disk (the fixture the
/// providers' tests share: vcsim's clones share their source's disks, so a
/// clone test must never clone a stock VM).
async fn own_vm(name: &str) -> Json {
    json!(own::vm_with_disk(name).await)
}

#[path = "../../providers/tests/support/vcsim.rs"]
mod own;

/// Snapshots `vm` under its own key; the `snapshot` reference.
async fn snapshot_of(sessions: &SessionCache, vm: &Json, name: &str, key: &str) -> Json {
    let created = run_keyed(
        sessions,
        "vsphere.snapshot.create",
        json!({"vm": vm, "name": name}),
        key,
    )
    .await
    .unwrap();
    assert_eq!(created["adopted"], false, "{created:#}");
    created["snapshot"].clone()
}

/// A VM of the test's own (`shutter-TEST-source-PID`) and a snapshot of it
/// named `source`: the test's step key, the VM and the snapshot.
async fn snapshotted_vm(sessions: &SessionCache, test: &str) -> (String, Json, Json) {
    let pid = std::process::id();
    let key = format!("shutter:{pid}:{test}");
    let vm = own_vm(&format!("shutter-{test}-source-{pid}")).await;
    let snapshot = snapshot_of(sessions, &vm, "source", &format!("{key}-source")).await;
    (key, vm, snapshot)
}

async fn destroy(sessions: &SessionCache, vm: &Json) {
    let destroyed = run_ok(sessions, "vsphere.vm.destroy", json!({"vm": vm})).await;
    assert_eq!(destroyed["destroyed"], true, "{destroyed:#}");
}

/// Runs `action` (`vsphere.snapshot.remove`, `.revert`) with `snapshot`
/// as its only parameter; it must succeed: its outputs.
async fn run_on_snapshot(sessions: &SessionCache, action: &str, snapshot: &Json) -> Json {
    run_ok(sessions, action, json!({"snapshot": snapshot})).await
}

/// The moRef of `vm`'s current snapshot, or null.
async fn current_snapshot(sessions: &SessionCache, vm: &Json) -> Json {
    run_ok(sessions, "vsphere.vm.get", json!({"vm": vm})).await["current_snapshot"].clone()
}

#[tokio::test]
async fn revert_makes_the_snapshot_current_again() {
    let sessions = SessionCache::new();
    let pid = std::process::id();
    let key = format!("shutter:{pid}:revert");
    let vm = own_vm(&format!("shutter-revert-{pid}")).await;
    let first = snapshot_of(&sessions, &vm, "first", &format!("{key}-first")).await;
    let second = snapshot_of(&sessions, &vm, "second", &format!("{key}-second")).await;
    assert_eq!(current_snapshot(&sessions, &vm).await, second["moref"]);

    let reverted = run_on_snapshot(&sessions, "vsphere.snapshot.revert", &first).await;
    assert_eq!(reverted["snapshot"], first);
    assert_eq!(reverted["vm"], vm);
    assert_eq!(reverted["power_state"], "poweredOff");
    assert_eq!(current_snapshot(&sessions, &vm).await, first["moref"]);
    let listed = run_ok(&sessions, "vsphere.snapshot.list", json!({"vm": vm})).await;
    assert_eq!(find(&listed, &first["moref"]).unwrap()["current"], true);
    assert_eq!(find(&listed, &second["moref"]).unwrap()["current"], false);

    // Again, by URI, as a retried step would: the same VM.
    let uri = format!(
        "vsphere://{}/{}/{}",
        first["vcenter"].as_str().unwrap(),
        first["vm"].as_str().unwrap(),
        first["moref"].as_str().unwrap()
    );
    let again = run_ok(
        &sessions,
        "vsphere.snapshot.revert",
        json!({"snapshot": uri, "suppress_power_on": true}),
    )
    .await;
    assert_eq!(again["vm"], vm);
    assert_eq!(current_snapshot(&sessions, &vm).await, first["moref"]);

    // A snapshot that is gone is named in the error; nothing is reverted.
    let removed = run_on_snapshot(&sessions, "vsphere.snapshot.remove", &second).await;
    assert_eq!(removed["removed"], true);
    let message = run_fatal(
        &sessions,
        "vsphere.snapshot.revert",
        json!({"snapshot": second}),
    )
    .await;
    assert!(
        message.contains(&format!(
            "snapshot {} is no longer in the snapshot tree",
            second["moref"].as_str().unwrap()
        )),
        "{message}"
    );
    assert_eq!(current_snapshot(&sessions, &vm).await, first["moref"]);
    // Nor is a clone made from it.
    let message = fatal(
        run_keyed(
            &sessions,
            "vsphere.vm.clone",
            json!({"snapshot": second, "name": format!("shutter-gone-{pid}")}),
            &format!("{key}-gone"),
        )
        .await,
    );
    assert!(
        message.contains("is no longer in the snapshot tree"),
        "{message}"
    );
    destroy(&sessions, &vm).await;
}

#[tokio::test]
async fn a_clone_from_a_snapshot_is_adopted_by_a_retry_then_destroyed() {
    let sessions = SessionCache::new();
    let pid = std::process::id();
    let (key, source_vm, source) = snapshotted_vm(&sessions, "clone").await;
    let name = format!("shutter-clone-{pid}");
    let params = json!({"snapshot": source, "name": name, "folder": "DC0/vm", "power_on": true});
    let (cloned, sink) = run_recorded(&sessions, "vsphere.vm.clone", params.clone(), &key).await;
    let cloned = cloned.unwrap();
    assert_eq!(cloned["adopted"], false, "{cloned:#}");
    assert_eq!(cloned["linked"], true);
    assert_eq!(cloned["snapshot"], source);
    assert_eq!(cloned["power_state"], "poweredOn");
    assert!(sink.backups().is_empty(), "a clone is no backup");
    let vm = cloned["vm"].clone();
    assert_eq!(vm["name"], name.as_str());
    assert_eq!(vm["vcenter"], source["vcenter"]);
    assert!(vm["instance_uuid"].is_string(), "{vm}");
    let moref = vm["moref"].as_str().unwrap().to_owned();
    assert!(moref.starts_with("vm-"), "{moref}");
    assert_ne!(json!(moref), source_vm, "a new VM");
    // In the folder asked for, and reachable through its reference.
    let in_folder = run_ok(
        &sessions,
        "vsphere.vm.get",
        json!({"vm": format!("DC0/vm/{name}")}),
    )
    .await;
    assert_eq!(in_folder["moref"], moref.as_str());
    let by_ref = run_ok(&sessions, "vsphere.vm.get", json!({"vm": vm})).await;
    assert_eq!(by_ref["power_state"], "poweredOn");

    // A second try of the same step adopts the clone.
    let (again, sink) = run_recorded(&sessions, "vsphere.vm.clone", params, &key).await;
    let again = again.unwrap();
    assert_eq!(again["adopted"], true, "{again:#}");
    assert_eq!(again["vm"]["moref"], moref.as_str());
    let logs = sink.log_messages();
    assert!(
        logs.iter()
            .any(|m| m.contains(&format!("adopted clone {moref}"))),
        "{logs:?}"
    );
    // Still one VM of that name (a lookup by name would be ambiguous).
    let by_name = run_ok(&sessions, "vsphere.vm.get", json!({"vm": name})).await;
    assert_eq!(by_name["moref"], moref.as_str());

    // Destroying powers it off first; a second destroy finds it gone.
    let destroyed = run_ok(&sessions, "vsphere.vm.destroy", json!({"vm": vm})).await;
    assert_eq!(destroyed["destroyed"], true, "{destroyed:#}");
    assert_eq!(destroyed["vm"], moref.as_str());
    let message = run_fatal(&sessions, "vsphere.vm.get", json!({"vm": moref})).await;
    assert!(message.contains("ManagedObjectNotFound"), "{message}");
    let again = run_ok(&sessions, "vsphere.vm.destroy", json!({"vm": vm})).await;
    assert_eq!(again["destroyed"], false, "{again:#}");
    assert_eq!(again["vm"], moref.as_str());
    let by_name = run_ok(&sessions, "vsphere.vm.destroy", json!({"vm": name})).await;
    assert_eq!(by_name["destroyed"], false);
    assert!(by_name["vm"].is_null(), "{by_name:#}");
    destroy(&sessions, &source_vm).await;
}

#[tokio::test]
async fn a_clone_never_takes_over_a_vm_it_did_not_make() {
    let sessions = SessionCache::new();
    let pid = std::process::id();
    let (key, source_vm, source) = snapshotted_vm(&sessions, "taken").await;

    // A stock VM, in the source's own folder (the default one).
    let message = fatal(
        run_keyed(
            &sessions,
            "vsphere.vm.clone",
            json!({"snapshot": source, "name": "DC0_H0_VM0"}),
            &key,
        )
        .await,
    );
    assert!(
        message.contains("the name `DC0_H0_VM0` is taken"),
        "{message}"
    );
    assert!(message.contains("was not made by Shutter"), "{message}");
    // Untouched, and still the only VM of its name.
    let stock = run_ok(&sessions, "vsphere.vm.get", json!({"vm": "DC0_H0_VM0"})).await;
    assert_eq!(stock["power_state"], "poweredOn");

    // A clone another step made is not this step's to adopt either.
    let name = format!("shutter-taken-{pid}");
    let other = run_keyed(
        &sessions,
        "vsphere.vm.clone",
        json!({"snapshot": source, "name": name, "linked": false}),
        &format!("{key}-other"),
    )
    .await
    .unwrap();
    assert_eq!(other["linked"], false);
    assert_eq!(other["adopted"], false);
    assert_eq!(other["power_state"], "poweredOff");
    let message = fatal(
        run_keyed(
            &sessions,
            "vsphere.vm.clone",
            json!({"snapshot": source, "name": name}),
            &key,
        )
        .await,
    );
    assert!(message.contains("another idempotency key"), "{message}");

    destroy(&sessions, &other["vm"]).await;
    destroy(&sessions, &source_vm).await;
}

#[tokio::test]
async fn destroy_refuses_a_vm_shutter_did_not_make() {
    let sessions = SessionCache::new();
    let message = run_fatal(&sessions, "vsphere.vm.destroy", json!({"vm": "DC0_H0_VM0"})).await;
    assert!(message.contains("refused"), "{message}");
    assert!(message.contains("`shutter-idempotency-key:`"), "{message}");
    assert!(message.contains("only_made_by_shutter"), "{message}");
    // Refused before anything was done to it: still there, still on.
    let stock = run_ok(&sessions, "vsphere.vm.get", json!({"vm": "DC0_H0_VM0"})).await;
    assert_eq!(stock["power_state"], "poweredOn");
}
