#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! The image actions against the real Glance peer without auth: create,
//! streamed upload, wait, verify, download, list with pagination, delete,
//! adoption by idempotency key, and Glance's HTML errors as clear messages.

mod common;

use std::collections::BTreeMap;

use common::{data_file, fatal, glance_cloud, sha512_hex, unique, upload_params};
use serde_json::{Value as Json, json};
use shutter_core::{ActionError, Secrets};

#[tokio::test]
async fn create_upload_wait_verify_download_delete() {
    let _serial = common::serial().await;
    let clouds = glance_cloud();
    let name = unique("roundtrip");
    let created = clouds
        .ok("openstack.image.create", json!({"cloud": "glance", "name": name, "properties": {"purpose": "test", "generation": 3}})).await;
    assert_eq!(created["status"], "queued");
    assert_eq!(created["adopted"], false);
    let id = created["id"].as_str().unwrap().to_owned();

    // several 1 MiB chunks and a partial one
    let source = clouds.path("disk.raw");
    let data = data_file(&source, (5 << 20) / 2 + 123);
    let uploaded = clouds.upload("glance", &id, &source).await;
    assert_eq!(uploaded["sha512"], sha512_hex(&data));
    assert_eq!(uploaded["size"], data.len());
    assert_eq!(uploaded["md5"].as_str().unwrap().len(), 32);

    let waited = clouds.wait_image("glance", &id, "200ms").await;
    assert_eq!(waited["status"], "active");
    assert_eq!(waited["sha512"], uploaded["sha512"]);
    assert_eq!(waited["checksum"], uploaded["md5"]);
    assert_eq!(waited["image"]["purpose"], "test");
    assert_eq!(waited["image"]["generation"], "3");

    let verified = clouds
        .ok("openstack.image.verify", json!({"cloud": "glance", "image_id": id, "sha512": uploaded["sha512"], "size": data.len(), "md5": uploaded["md5"]})).await;
    assert_eq!(verified["size"], data.len());
    let wrong = clouds
        .err(
            "openstack.image.verify",
            json!({"cloud": "glance", "image_id": id, "sha512": sha512_hex(b"other")}),
        )
        .await;
    assert!(fatal(&wrong).contains("sha512 mismatch"), "{wrong:?}");
    let wrong_size = clouds
        .err(
            "openstack.image.verify",
            json!({"cloud": "glance", "image_id": id, "sha512": uploaded["sha512"], "size": 1}),
        )
        .await;
    assert!(
        fatal(&wrong_size).contains("size mismatch"),
        "{wrong_size:?}"
    );

    let target = clouds.path("out/copy.raw");
    let downloaded = clouds
        .ok(
            "openstack.image.download",
            json!({"cloud": "glance", "image_id": id, "path": target.display().to_string()}),
        )
        .await;
    assert_eq!(downloaded["sha512"], uploaded["sha512"]);
    assert_eq!(std::fs::read(&target).unwrap(), data);
    assert!(!clouds.path("out/copy.raw.part").exists());

    let got = clouds.get_image("glance", &id).await;
    assert_eq!(got["name"], name.as_str());

    // Cataloged elsewhere: the cloud named is not where the entry says.
    let elsewhere = clouds
        .err(
            "openstack.image.delete",
            json!({"cloud": "glance", "image_id": id, "location_key": "openstack:https://keystone.example/v3/p1/RegionTwo"}),
        )
        .await;
    assert!(
        fatal(&elsewhere).contains("is cataloged at openstack:https://keystone.example/v3/p1/RegionTwo, but cloud `glance` is")
            && fatal(&elsewhere).ends_with("nothing deleted"),
        "{elsewhere:?}"
    );
    clouds.get_image("glance", &id).await;

    let deleted = clouds.delete_image("glance", &id).await;
    assert_eq!(deleted["deleted"], true);
    let again = clouds.delete_image("glance", &id).await;
    assert_eq!(again["deleted"], false);
    let strict = clouds
        .err(
            "openstack.image.delete",
            json!({"cloud": "glance", "image_id": id, "missing_ok": false}),
        )
        .await;
    assert!(fatal(&strict).contains("404 not found"));
    let gone = clouds
        .err(
            "openstack.image.get",
            json!({"cloud": "glance", "image_id": id}),
        )
        .await;
    assert!(
        fatal(&gone).contains(&format!(
            "get image {id} on cloud `glance`: 404 not found: No image found with ID {id}"
        )),
        "{gone:?}"
    );
}

#[tokio::test]
async fn the_same_idempotency_key_adopts_instead_of_creating_twice() {
    let _serial = common::serial().await;
    let clouds = glance_cloud();
    let key = unique("shutter:crash-test");
    let params = json!({"cloud": "glance", "name": unique("adopt")});
    let first = clouds
        .run_keyed("openstack.image.create", params.clone(), &key)
        .await
        .unwrap();
    // the step "crashed" before recording its outputs: the re-run has the same key
    let second = clouds
        .run_keyed("openstack.image.create", params, &key)
        .await
        .unwrap();
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["adopted"], true);
    let listed = clouds
        .ok(
            "openstack.image.list",
            json!({"cloud": "glance", "filters": {"shutter_idempotency_key": key}}),
        )
        .await;
    assert_eq!(listed["count"], 1);

    // an upload that completed before a crash is adopted on the re-run...
    let id = first["id"].as_str().unwrap();
    let source = clouds.path("a.raw");
    data_file(&source, 4096);
    let upload = upload_params("glance", id, &source);
    let once = clouds.ok("openstack.image.upload", upload.clone()).await;
    let twice = clouds.ok("openstack.image.upload", upload).await;
    assert_eq!(
        (twice["adopted"].clone(), twice["sha512"].clone()),
        (json!(true), once["sha512"].clone())
    );
    // ...but other data for an active image is a conflict
    let other = clouds.path("b.raw");
    std::fs::write(&other, b"different bytes").unwrap();
    let upload = upload_params("glance", id, &other);
    let err = clouds.err("openstack.image.upload", upload).await;
    assert!(
        fatal(&err).contains("409 conflict") && fatal(&err).contains("already active"),
        "{err:?}"
    );
    clouds.delete_image("glance", id).await;
}

#[tokio::test]
async fn list_follows_next_across_pages() {
    let _serial = common::serial().await;
    let clouds = glance_cloud();
    let batch = unique("batch");
    let mut ids = Vec::new();
    for n in 0..3 {
        let created = clouds
            .ok("openstack.image.create", json!({"cloud": "glance", "name": format!("{batch}-{n}"), "properties": {"test_batch": batch}})).await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let all = clouds
        .ok(
            "openstack.image.list",
            json!({"cloud": "glance", "filters": {"test_batch": batch}, "page_size": 1}),
        )
        .await;
    assert_eq!(all["count"], 3);
    let mut listed: Vec<String> = all["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    ids.sort();
    assert_eq!(listed, ids);
    let capped = clouds
        .ok(
            "openstack.image.list",
            json!({"cloud": "glance", "filters": {"test_batch": batch}, "page_size": 1, "max": 2}),
        )
        .await;
    assert_eq!(capped["count"], 2);
    let by_name = clouds
        .ok(
            "openstack.image.list",
            json!({"cloud": "glance", "filters": {"name": format!("{batch}-1")}}),
        )
        .await;
    assert_eq!(
        by_name["images"][0]["id"],
        json!(
            ids.iter()
                .find(|id| **id == by_name["images"][0]["id"])
                .unwrap()
        )
    );
    assert_eq!(by_name["count"], 1);
    for id in ids {
        clouds.delete_image("glance", &id).await;
    }
}

#[tokio::test]
async fn glance_html_errors_become_one_clear_line() {
    let _serial = common::serial().await;
    let clouds = glance_cloud();
    let created = clouds
        .ok(
            "openstack.image.create",
            json!({"cloud": "glance", "name": unique("badformat"), "disk_format": "qcow2"}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let source = clouds.path("not-qcow2.raw");
    data_file(&source, 70_000);
    let upload = upload_params("glance", id, &source);
    let err = clouds.err("openstack.image.upload", upload).await;
    let message = fatal(&err);
    assert!(
        message.starts_with(&format!(
            "upload to image {id} on cloud `glance`: 415 unsupported media type"
        )),
        "{message}"
    );
    assert!(
        !message.contains('<') && !message.contains('\n'),
        "{message}"
    );
    clouds.delete_image("glance", id).await;
}

#[tokio::test]
async fn bad_sources_and_images_without_data_fail_clearly() {
    let _serial = common::serial().await;
    let clouds = glance_cloud();
    let peer = shutter_testpeers::peer("glance");
    let base = peer.var("OS_IMAGE_URL").unwrap().to_owned();
    let id = clouds.new_image("glance", "no-data").await;

    let missing_secret = clouds
        .err("openstack.image.upload", json!({"cloud": "glance", "image_id": id, "source": "https://vcenter.invalid/folder/x-flat.vmdk", "source_user": "u", "source_password_secret": "vc_password"})).await;
    assert!(
        fatal(&missing_secret).contains("secret `vc_password`, which is not granted"),
        "{missing_secret:?}"
    );
    let mut ctx = common::context(
        json!({"cloud": "glance", "image_id": id, "source": format!("{base}/v2/images/{}/file", uuid_zero()), "source_headers": {"X-Auth-Token": "token"}}),
    );
    ctx.secrets = Secrets::new(BTreeMap::from([("token".to_owned(), "t0ken".to_owned())]));
    let not_found = common::run_ctx(&clouds.provider, "openstack.image.upload", &ctx)
        .await
        .unwrap_err();
    assert!(
        fatal(&not_found).starts_with("source http://")
            && fatal(&not_found).contains("404 not found"),
        "{not_found:?}"
    );
    let no_file = clouds
        .err(
            "openstack.image.upload",
            json!({"cloud": "glance", "image_id": id, "source": "file:///nonexistent/disk.raw"}),
        )
        .await;
    assert!(
        fatal(&no_file).starts_with("source /nonexistent/disk.raw: No such file"),
        "{no_file:?}"
    );

    // waiting for an image that never gets data gives up, retryably
    let err = clouds
        .err("openstack.image.wait", json!({"cloud": "glance", "image_id": id, "interval": "100ms", "wait_timeout": "300ms"})).await;
    assert!(
        matches!(&err, ActionError::Retryable { message: m, .. } if m.contains("still not done after")),
        "{err:?}"
    );
    let download = clouds
        .err("openstack.image.download", json!({"cloud": "glance", "image_id": id, "path": clouds.path("x").display().to_string()})).await;
    assert!(fatal(&download).contains("is queued, not active"));
    clouds.delete_image("glance", &id).await;
}

fn uuid_zero() -> &'static str {
    "00000000-0000-0000-0000-000000000000"
}

#[tokio::test]
async fn an_unknown_cloud_names_the_known_ones() {
    let _serial = common::serial().await;
    let clouds = glance_cloud();
    let err = clouds
        .err("openstack.image.list", json!({"cloud": "prod"}))
        .await;
    assert!(
        fatal(&err).contains("cloud `prod` not found") && fatal(&err).contains("defines: glance"),
        "{err:?}"
    );
    let _: Json = clouds.ok("openstack.image.list", json!({"max": 1})).await;
}
