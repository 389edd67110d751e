//! The `VMware` workflows end to end through `shutter run`: vSphere (vcsim)
//! into the real Glance, a vRO workflow (the fake: vRO has no simulator),
//! and one snapshot on each cloud in one execution.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value as Json, json};
use shutter_testpeers::nova;
use shutter_testpeers::{Peer, peer};
use shutter_tests::{repo_root, shutter_bin};

#[path = "../engine/vmware/tests/support/vro_fake.rs"]
#[allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    reason = "the vRO fake is shared with the vmware crate's tests"
)]
mod vro_fake;

/// A temporary home for one test: store, clouds.yaml, environment.
struct Lab {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Lab {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            env: Vec::new(),
        }
    }

    fn with_peer(mut self, peer: &Peer) -> Self {
        self.env.extend(peer.env.iter().cloned());
        self
    }

    fn with_clouds(mut self, yaml: &str) -> Self {
        let path = self.dir.path().join("clouds.yaml");
        std::fs::write(&path, yaml).expect("writable");
        self.env.push((
            "OS_CLIENT_CONFIG_FILE".to_owned(),
            path.display().to_string(),
        ));
        self
    }

    /// Shutter's config file naming the vcsim peer `lab`, its password in
    /// a variable of the engine's environment (and no `GOVC_*` at all).
    fn with_vcsim_connection(mut self, vcsim: &Peer) -> Self {
        let path = self.dir.path().join("shutter.yaml");
        let username = vcsim.var("GOVC_USERNAME").expect("vcsim's user");
        let yaml = format!(
            "vcenters:\n  lab:\n    url: {}\n    username: {username}\n    password_env: LAB_VCENTER_PASSWORD\n    insecure: true\n",
            vcsim.url
        );
        std::fs::write(&path, yaml).expect("writable");
        self.env
            .push(("SHUTTER_CONFIG".to_owned(), path.display().to_string()));
        self.env.push((
            "LAB_VCENTER_PASSWORD".to_owned(),
            vcsim
                .var("GOVC_PASSWORD")
                .expect("vcsim's password")
                .to_owned(),
        ));
        self
    }

    fn shutter(&self, args: &[&str]) -> Output {
        let mut command = Command::new(shutter_bin());
        command
            .args(args)
            .current_dir(repo_root())
            .env("SHUTTER_DB", self.db())
            .env("NO_COLOR", "1")
            .env_remove("OS_CLOUD")
            .env_remove("GOVC_URL")
            .env_remove("SHUTTER_CONFIG");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command.output().expect("shutter runs")
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("vmware.db")
    }

    /// Runs a shipped workflow; the recorded execution with its steps.
    fn run(&self, workflow: &str, inputs: &Json) -> (Output, Json) {
        let file = self.dir.path().join("inputs.json");
        std::fs::write(&file, inputs.to_string()).expect("writable");
        let run = self.shutter(&[
            "run",
            &format!("workflows/{workflow}.yaml"),
            "--inputs",
            &file.display().to_string(),
        ]);
        let list = self.shutter(&["executions", "list", "--json"]);
        let records: Json = serde_json::from_slice(&list.stdout).expect("json");
        let id = records[0]["id"].as_str().expect("an execution").to_owned();
        let show = self.shutter(&["executions", "show", &id, "--json"]);
        (run, serde_json::from_slice(&show.stdout).expect("json"))
    }
}

fn step<'a>(execution: &'a Json, key: &str) -> &'a Json {
    execution["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no step {key}"))
}

fn glance_clouds(glance: &Peer) -> (String, String) {
    let url = glance.var("OS_IMAGE_URL").expect("glance's url").to_owned();
    let clouds =
        format!("clouds:\n  backup:\n    auth_type: none\n    image_endpoint_override: {url}\n");
    (url, clouds)
}

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

fn images_of(glance_url: &str, property: &str, value: &str) -> Vec<Json> {
    let listed: Json = block_on(async {
        reqwest::get(format!("{glance_url}/v2/images?{property}={value}"))
            .await
            .expect("glance answers")
            .json()
            .await
            .expect("json")
    });
    listed["images"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_quiesced_vsphere_snapshot_is_streamed_into_glance_and_removed() {
    let vcsim = peer("vcsim");
    let glance = peer("glance");
    let _turn = shutter_testpeers::glance_turn();
    let (glance_url, clouds) = glance_clouds(&glance);
    let lab = Lab::new().with_peer(&vcsim).with_clouds(&clouds);
    let vm = "DC0_C0_RP0_VM0";
    let (run, execution) = lab.run(
        "vsphere-to-glance-backup",
        &json!({"vm": vm, "verify_tls": false}),
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        execution["execution"]["outputs"]["consistency"], "quiesced",
        "{execution:#}"
    );
    assert_eq!(step(&execution, "remove_snapshot")["state"], "succeeded");
    let moref = step(&execution, "snapshot")["outputs"]["vm"]
        .as_str()
        .expect("the VM's moRef")
        .to_owned();
    let images = images_of(&glance_url, "shutter_backup_of", &moref);
    let image = images
        .iter()
        .find(|i| i["id"] == execution["execution"]["outputs"]["image_id"])
        .unwrap_or_else(|| panic!("the image is in glance: {images:?}"));
    assert_eq!(image["status"], "active");
    assert_eq!(image["shutter_consistency"], "quiesced");

    // The catalog: the snapshot (removed: `deleted`) and the image, linked
    // to it and so to the VM, both found by the VM's moRef.
    let snapshot = &step(&execution, "snapshot")["outputs"];
    let vcenter = snapshot["vcenter"].as_str().expect("the vCenter's uuid");
    let listed = lab.shutter(&["backups", "list", "--source", &moref, "--json"]);
    let entries: Json = serde_json::from_slice(&listed.stdout).expect("json");
    let entries = entries.as_array().expect("a list");
    assert_eq!(entries.len(), 2, "{entries:#?}");
    let of_kind = |kind: &str| {
        entries
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("a {kind}: {entries:#?}"))
    };
    let (snapshot_entry, image_entry) = (of_kind("vsphere_snapshot"), of_kind("glance_image"));
    assert_eq!(snapshot_entry["state"], "deleted", "removed in `finally`");
    assert_eq!(snapshot_entry["where"]["vcenter"], vcenter);
    assert_eq!(image_entry["state"], "available");
    assert_eq!(image_entry["native_id"], image["id"]);
    assert_eq!(image_entry["where"]["provider"], "openstack");
    assert_eq!(
        image_entry["derived_from"],
        format!(
            "vsphere:{vcenter}/{}",
            snapshot["id"].as_str().expect("moRef")
        )
        .as_str()
    );
    let vm_ref = format!("vsphere:{vcenter}/vm/{moref}");
    assert_eq!(
        image_entry["source"]["ref"],
        vm_ref.as_str(),
        "of the VM, where it is"
    );
    assert_eq!(snapshot_entry["source"]["ref"], vm_ref.as_str());
}

/// Runs `yaml` (written into the lab) on the store `db`; the output.
fn run_yaml(lab: &Lab, name: &str, yaml: &str, db: &std::path::Path) -> Output {
    let file = lab.dir.path().join(format!("{name}.yaml"));
    std::fs::write(&file, yaml).expect("writable");
    let db = db.display().to_string();
    let run = lab.shutter(&["run", &file.display().to_string(), "--db", &db]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    run
}

#[test]
fn a_vsphere_snapshot_removed_behind_shutters_back_is_missing_after_a_sync() {
    let vcsim = peer("vcsim");
    let lab = Lab::new().with_peer(&vcsim);
    let vm = "DC0_C0_RP0_VM1";
    let create = format!(
        "version: 1\nname: snap\nsteps:\n  snap:\n    uses: vsphere.snapshot.create\n    with: {{vm: {vm}, name: sync-test}}\noutputs:\n  uri: ${{{{ steps.snap.outputs.uri }}}}\n"
    );
    run_yaml(&lab, "snap", &create, &lab.db());
    let listed = lab.shutter(&["backups", "list", "--json"]);
    let entries: Json = serde_json::from_slice(&listed.stdout).expect("json");
    let ours = entries[0].clone();
    assert_eq!(ours["kind"], "vsphere_snapshot", "{entries:#}");
    assert_eq!(ours["state"], "available");
    let moref = ours["native_id"].as_str().expect("a moRef").to_owned();
    let vcenter = ours["where"]["vcenter"]
        .as_str()
        .expect("a vCenter")
        .to_owned();
    let vm_moref = ours["source"]["id"].as_str().expect("a VM").to_owned();

    // Removed through another store: this catalog does not hear of it.
    let remove = format!(
        "version: 1\nname: remove\nsteps:\n  remove:\n    uses: vsphere.snapshot.remove\n    with: {{snapshot: \"vsphere://{vcenter}/{vm_moref}/{moref}\"}}\n"
    );
    run_yaml(
        &lab,
        "remove",
        &remove,
        &lab.dir.path().join("elsewhere.db"),
    );
    let sync = "version: 1\nname: sync\nsteps:\n  sync:\n    uses: vsphere.sync_backups\n";
    run_yaml(&lab, "sync", sync, &lab.db());
    let listed = lab.shutter(&["backups", "list", "--state", "missing", "--json"]);
    let missing: Json = serde_json::from_slice(&listed.stdout).expect("json");
    let missing = missing.as_array().expect("a list");
    assert_eq!(missing.len(), 1, "{missing:#?}");
    assert_eq!(missing[0]["id"], ours["id"], "the same entry");
    assert!(
        missing[0]["last_seen_at"].is_string(),
        "when it was last seen"
    );
}

#[test]
fn when_the_upload_fails_the_snapshot_is_still_removed() {
    let vcsim = peer("vcsim");
    let glance = peer("glance");
    let _turn = shutter_testpeers::glance_turn();
    let (glance_url, clouds) = glance_clouds(&glance);
    let lab = Lab::new().with_peer(&vcsim).with_clouds(&clouds);
    // vcsim's certificate is self-signed: verifying it fails the upload.
    let (run, execution) = lab.run(
        "vsphere-to-glance-backup",
        &json!({"vm": "DC0_C0_RP0_VM1", "verify_tls": true}),
    );
    assert!(!run.status.success());
    assert_eq!(execution["execution"]["state"], "failed");
    let upload = step(&execution, "upload");
    assert_eq!(upload["state"], "failed");
    // an untrusted certificate is not retried: it would not become trusted
    assert_eq!(
        upload["attempts"].as_array().map(Vec::len),
        Some(1),
        "{upload:#}"
    );
    assert!(
        upload["error"]
            .as_str()
            .is_some_and(|e| e.contains("TLS certificate is not trusted")),
        "{upload:#}"
    );
    assert_eq!(
        step(&execution, "remove_snapshot")["state"],
        "succeeded",
        "{execution:#}"
    );
    assert_eq!(step(&execution, "image")["state"], "compensated");
    let image = step(&execution, "image")["outputs"]["id"]
        .as_str()
        .expect("an image id")
        .to_owned();
    let status = block_on(async {
        reqwest::get(format!("{glance_url}/v2/images/{image}"))
            .await
            .expect("glance answers")
            .status()
    });
    assert_eq!(status, 404, "the half-made image was deleted");
}

/// The vRO fake on its own thread; its base URL.
fn vro() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        block_on(async move {
            tx.send(vro_fake::start().await).expect("the test waits");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("the vRO fake starts")
}

#[test]
fn a_vro_workflow_is_started_waited_for_and_its_outputs_mapped() {
    let url = vro();
    let mut lab = Lab::new();
    lab.env.push((
        "SHUTTER_SECRET_VRO_PASSWORD".to_owned(),
        vro_fake::PASSWORD.to_owned(),
    ));
    let inputs = |workflow: &str| {
        json!({"vro_url": url, "username": vro_fake::USER, "workflow": workflow,
               "parameters": {"vmName": "web-01", "count": 2}, "poll_interval": "100ms"})
    };
    let (run, execution) = lab.run("vro-run-workflow", &inputs("echo"));
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        execution["execution"]["outputs"]["state"], "completed",
        "{execution:#}"
    );
    assert!(
        execution["execution"]["outputs"]["outputs"]
            .to_string()
            .contains("web-01"),
        "{execution:#}"
    );
    let (run, execution) = lab.run("vro-run-workflow", &inputs("fails"));
    assert!(!run.status.success());
    let error = step(&execution, "wait")["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!error.is_empty(), "{execution:#}");
}

#[test]
fn one_execution_snapshots_a_target_on_each_cloud() {
    let moto = peer("moto");
    let vcsim = peer("vcsim");
    let glance = peer("glance");
    let _turn = shutter_testpeers::glance_turn();
    let image_url = glance.var("OS_IMAGE_URL").expect("glance's url").to_owned();
    let compute = nova::start(&image_url);
    let region = "ca-central-1";
    let volume = crate::aws::ec2(
        &moto,
        region,
        &[
            ("Action", "CreateVolume"),
            ("AvailabilityZone", "ca-central-1a"),
            ("Size", "4"),
        ],
    );
    let volume = shutter_testpeers::moto::first(&volume, "volumeId");
    let clouds = format!(
        "clouds:\n  lab:\n    auth_type: none\n    image_endpoint_override: {image_url}\n    compute_endpoint_override: {compute}\n"
    );
    // vSphere through a named connection of Shutter's config: the target
    // names it, the workflow carries no vCenter credentials.
    let lab = Lab::new()
        .with_peer(&moto)
        .with_vcsim_connection(&vcsim)
        .with_clouds(&clouds);
    let server = format!("app-{}", std::process::id());
    let (run, execution) = lab.run(
        "cross-cloud-snapshot",
        &json!({
            "aws_target": format!("aws://{region}/{volume}"),
            "openstack_target": format!("openstack://lab/{server}"),
            "vsphere_target": "vsphere://lab/vm-57",
            "aws_options": {"endpoint_url": moto.url},
        }),
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for (key, provider, consistency) in [
        ("aws", "aws", "crash"),
        ("openstack", "openstack", "crash"),
        ("vsphere", "vsphere", "quiesced"),
    ] {
        let outputs = &step(&execution, key)["outputs"];
        assert_eq!(outputs["provider"], provider, "{outputs}");
        assert_eq!(outputs["consistency"], consistency, "{outputs}");
        assert!(
            outputs["id"].as_str().is_some_and(|id| !id.is_empty()),
            "{outputs}"
        );
    }
    let vsphere = &step(&execution, "vsphere")["outputs"];
    assert_eq!(vsphere["target"], "vsphere://lab/vm-57", "{vsphere}");
    assert_eq!(
        vsphere["details"]["snapshot"]["connection"], "lab",
        "{vsphere}"
    );
}

// The providers' tests make VMs of their own the same way (vcsim's clones
// share their source's disks: never clone a stock VM).
#[path = "../engine/providers/tests/support/vcsim.rs"]
mod own_vm;

/// `workflow` (YAML text) run once on the lab's store: its outputs.
fn run_text(lab: &Lab, name: &str, workflow: &str) -> Json {
    let file = lab.dir.path().join(format!("{name}.yaml"));
    std::fs::write(&file, workflow).expect("writable");
    let run = lab.shutter(&["run", &file.display().to_string()]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).expect("the outputs as json")
}

#[test]
fn the_restore_workflow_clones_a_vm_from_its_newest_cataloged_snapshot() {
    let vcsim = peer("vcsim");
    let lab = Lab::new().with_peer(&vcsim);
    let source = format!("restore-source-{}", std::process::id());
    let vm = block_on(own_vm::vm_with_disk(&source));
    let backup = format!(
        "version: 1\nname: backup\nsteps:\n  snap:\n    uses: vsphere.snapshot.create\n    with: {{vm: {vm}, name: nightly}}\noutputs:\n  id: ${{{{ steps.snap.outputs.id }}}}\n"
    );
    run_text(&lab, "older", &backup);
    let newest = run_text(&lab, "newer", &backup);
    let clone_name = format!("restored-{source}");
    let (run, execution) = lab.run(
        "restore-vsphere-vm",
        &json!({"vm": vm, "name": clone_name, "folder": "DC0/vm"}),
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let outputs = &execution["execution"]["outputs"];
    assert_eq!(outputs["snapshot"], newest["id"], "the newest: {outputs}");
    let clone = outputs["clone"].as_str().expect("a clone");
    assert!(clone.starts_with("vm-") && clone != vm, "{outputs}");
    assert_eq!(step(&execution, "none")["state"], "skipped");
    // The clone is Shutter's: it goes, and the source VM with it.
    for (name, target) in [("drop-clone", clone), ("drop-source", vm.as_str())] {
        let destroy = format!(
            "version: 1\nname: {name}\nsteps:\n  destroy:\n    uses: vsphere.vm.destroy\n    with: {{vm: {target}}}\noutputs:\n  destroyed: ${{{{ steps.destroy.outputs.destroyed }}}}\n"
        );
        let out = run_text(&lab, name, &destroy);
        assert_eq!(out["destroyed"], true, "{name}: {out}");
    }
}
