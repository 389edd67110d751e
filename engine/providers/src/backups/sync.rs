//! `backups.sync`: one reconcile over every place a deployment backs up to
//! (AWS regions, vCenters, OpenStack clouds), each by its provider's own
//! reconcile (`aws.ec2.sync_backups`, `vsphere.sync_backups`,
//! `openstack.image.sync_backups`). A place that fails does not stop the
//! others: what they found is recorded, and the step then fails naming
//! the places that did.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, ActionError, LogLevel};
use shutter_core::{action_outputs, action_params};

use std::sync::Arc;

use shutter_core::config::ConfigSource;

use super::places::{self, Places};
use crate::delegates::Delegates;

/// What a sync runs with: the provider reconciles, and Shutter's config
/// file for the places it lists when a step names none.
#[derive(Clone)]
pub(super) struct Reconcilers {
    pub(super) delegates: Delegates,
    pub(super) config: Arc<dyn ConfigSource>,
}

/// Brings the backup catalog in line with every place named: each AWS
/// region (snapshots and AMIs carrying Shutter's tag), each vCenter (VM
/// snapshots carrying its key), each OpenStack cloud (Glance images
/// carrying it). Found ones are cataloged (a lost catalog is rebuilt),
/// vanished ones marked `missing`. Deletes nothing; schedule it. A place
/// that fails does not stop the others; the step fails afterwards, naming it.
/// With no place named, the places listed under `backups.sync` in
/// Shutter's config file.
#[action_params("backups.sync")]
#[derive(Debug, Deserialize)]
pub(super) struct SyncAll {
    /// AWS regions to reconcile, e.g. `[us-east-1, us-west-2]`.
    #[serde(default)]
    aws_regions: Vec<String>,
    /// An EC2 endpoint instead of AWS's (an emulator such as moto).
    aws_endpoint_url: Option<String>,
    /// vCenters: names of connections in Shutter's config, or `default`
    /// for govc's `GOVC_*` variables.
    #[serde(default)]
    vcenters: Vec<String>,
    /// OpenStack clouds: clouds.yaml entries.
    #[serde(default)]
    clouds: Vec<String>,
    /// How long a fresh EBS snapshot may take to show in EC2's lists.
    #[param(default = "10m")]
    aws_grace: String,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Synced {
    /// One per place: `{provider, place, found, error}`.
    #[output(ty = Array)]
    places: Vec<Json>,
    /// Artifacts found carrying Shutter's marks, over every place.
    found: u64,
}

/// One place to reconcile: its provider's action and parameters.
struct Place {
    provider: &'static str,
    name: String,
    action: &'static str,
    params: Map<String, Json>,
}

impl SyncAll {
    /// The places the step names, else those the config file lists.
    fn named(&self, config: &dyn ConfigSource) -> Result<Places, ActionError> {
        let named = Places {
            aws_regions: self.aws_regions.clone(),
            aws_endpoint_url: self.aws_endpoint_url.clone(),
            vcenters: self.vcenters.clone(),
            clouds: self.clouds.clone(),
        };
        if !named.is_empty() {
            return Ok(named);
        }
        let mut listed = places::configured(config).map_err(ActionError::fatal)?;
        if named.aws_endpoint_url.is_some() {
            listed.aws_endpoint_url = named.aws_endpoint_url;
        }
        Ok(listed)
    }

    fn places(&self, named: &Places) -> Vec<Place> {
        let mut places = Vec::new();
        for region in &named.aws_regions {
            let mut params = Map::new();
            params.insert("region".into(), json!(region));
            params.insert("grace".into(), json!(self.aws_grace));
            if let Some(endpoint) = &named.aws_endpoint_url {
                params.insert("endpoint_url".into(), json!(endpoint));
            }
            places.push(Place {
                provider: "aws",
                name: region.clone(),
                action: "aws.ec2.sync_backups",
                params,
            });
        }
        for vcenter in &named.vcenters {
            let mut params = Map::new();
            if vcenter != "default" {
                params.insert("vcenter".into(), json!(vcenter));
            }
            places.push(Place {
                provider: "vsphere",
                name: vcenter.clone(),
                action: "vsphere.sync_backups",
                params,
            });
        }
        for cloud in &named.clouds {
            let mut params = Map::new();
            params.insert("cloud".into(), json!(cloud));
            places.push(Place {
                provider: "openstack",
                name: cloud.clone(),
                action: "openstack.image.sync_backups",
                params,
            });
        }
        places
    }
}

impl Run<Reconcilers> for SyncAll {
    type Outputs = Synced;

    async fn run(self, ctx: &ActionContext, with: &Reconcilers) -> Outcome<Synced> {
        let named = self.named(with.config.as_ref())?;
        let places = self.places(&named);
        let delegates = &with.delegates;
        let mut done = Vec::new();
        let mut failed: Vec<(String, ActionError)> = Vec::new();
        let mut total = 0;
        for place in places {
            let result = delegates
                .run(ctx, place.action, Json::Object(place.params))
                .await;
            let (found, error) = match result {
                Ok(outputs) => {
                    // Each reconcile counts what it found in its own words.
                    let found = ["snapshots", "images"]
                        .iter()
                        .filter_map(|key| outputs.get(*key).and_then(Json::as_u64))
                        .sum::<u64>();
                    total += found;
                    (Some(found), None)
                }
                Err(ActionError::Canceled) => return Err(ActionError::Canceled),
                Err(err) => {
                    let report = err.report();
                    ctx.log(
                        LogLevel::Warn,
                        format!("{} {}: {report}", place.provider, place.name),
                    );
                    failed.push((format!("{} {}", place.provider, place.name), err));
                    (None, Some(report))
                }
            };
            done.push(json!({
                "provider": place.provider,
                "place": place.name,
                "found": found,
                "error": error,
            }));
        }
        if !failed.is_empty() {
            let names: Vec<&str> = failed.iter().map(|(name, _)| name.as_str()).collect();
            let others = if failed.len() < done.len() {
                " (the others were)"
            } else {
                ""
            };
            let message = format!(
                "{} of {} places could not be reconciled: {}{others}",
                failed.len(),
                done.len(),
                names.join(", ")
            );
            // Worth another try when every failure is.
            let retryable = failed
                .iter()
                .all(|(_, err)| matches!(err, ActionError::Retryable { .. }));
            return Err(if retryable {
                ActionError::retryable(message)
            } else {
                ActionError::fatal(message)
            });
        }
        Ok(Synced {
            places: done,
            found: total,
        })
    }
}
