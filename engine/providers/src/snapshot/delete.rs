//! `snapshot.delete`: undoes a `snapshot` with the provider's delete
//! (`aws.ec2.delete_snapshot`, `openstack.image.delete`,
//! `vsphere.snapshot.remove`). A snapshot already gone counts as deleted,
//! as it does for those actions, so it is safe as a compensation.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, ActionError};
use shutter_core::{action_outputs, action_params};

use super::target::{Provider, Target};
use crate::delegates::Delegates;

/// The `snapshot` parameter, checked.
#[derive(Debug)]
struct Made {
    target: Target,
    id: String,
    ids: Vec<String>,
    options: Map<String, Json>,
}

impl Made {
    fn parse(value: &Json) -> Result<Self, ActionError> {
        let bad = |why: &str| ActionError::fatal(format!("parameter `snapshot`: {why}"));
        let map = value
            .as_object()
            .ok_or_else(|| bad("must be the `snapshot` output of a snapshot step"))?;
        let target = map
            .get("target")
            .and_then(Json::as_str)
            .ok_or_else(|| bad("has no `target`"))?;
        let target = Target::parse(target)?;
        if let Some(provider) = map.get("provider").and_then(Json::as_str)
            && Provider::from_name(provider) != Some(target.provider())
        {
            return Err(bad(&format!(
                "says provider `{provider}` but its target is {target}"
            )));
        }
        let mut ids: Vec<String> = match map.get("ids") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| bad("`ids` must be a list of strings"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(bad("`ids` must be a list of strings")),
        };
        let id = match map.get("id").and_then(Json::as_str) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => ids.first().cloned().ok_or_else(|| bad("has no `id`"))?,
        };
        if !ids.contains(&id) {
            ids.insert(0, id.clone());
        }
        // The whole output of `snapshot` keeps its options in its `snapshot` reference.
        let options = map
            .get("options")
            .or_else(|| map.get("snapshot").and_then(|inner| inner.get("options")))
            .and_then(Json::as_object)
            .cloned()
            .unwrap_or_default();
        Ok(Self {
            target,
            id,
            ids,
            options,
        })
    }
}

/// Deletes what `snapshot` made, with the provider's own action
/// (`aws.ec2.delete_snapshot`, `openstack.image.delete`,
/// `vsphere.snapshot.remove`).
/// A snapshot already gone counts as deleted, so it is safe as a compensation.
#[action_params("snapshot.delete")]
#[derive(Debug, Deserialize)]
pub(super) struct DeleteSnapshot {
    /// The `snapshot` output of `snapshot` (`{provider, id, ids, target,
    /// options}`), or the whole output, or at least `{id, target}`.
    #[param(ty = Object)]
    snapshot: Json,
    /// Passed through to the provider's action, over the snapshot's own
    /// `options` (e.g. `{missing_ok: false}`, `{remove_children: true}`).
    options: Option<Map<String, Json>>,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Deleted {
    /// False when it was already gone.
    deleted: bool,
    /// aws, openstack or vsphere.
    provider: &'static str,
    /// The snapshot.
    id: String,
    /// Every snapshot deleted or found gone.
    ids: Vec<String>,
    /// What it was a snapshot of.
    target: String,
    /// The provider action's own outputs, unchanged.
    #[output(ty = Object)]
    details: Json,
}

/// Deletes what a `snapshot` step made, through its provider.
impl Run<Delegates> for DeleteSnapshot {
    type Outputs = Deleted;

    async fn run(self, ctx: &ActionContext, delegates: &Delegates) -> Outcome<Deleted> {
        let made = Made::parse(&self.snapshot)?;
        let mut options = made.options.clone();
        options.extend(self.options.unwrap_or_default());
        let mut asked = Map::new();
        let (action, deleted_key) = match &made.target {
            Target::AwsVolume { region, .. } | Target::AwsInstance { region, .. } => {
                asked.insert("snapshot_ids".to_owned(), json!(made.ids));
                asked.insert("region".to_owned(), json!(region));
                ("aws.ec2.delete_snapshot", "deleted")
            }
            Target::OpenStack { cloud, .. } => {
                asked.insert("cloud".to_owned(), json!(cloud));
                asked.insert("image_id".to_owned(), json!(made.id));
                ("openstack.image.delete", "deleted")
            }
            Target::Vsphere { vcenter, vm } => {
                let reference = json!({"vcenter": vcenter, "vm": vm, "moref": made.id});
                asked.insert("snapshot".to_owned(), reference);
                ("vsphere.snapshot.remove", "removed")
            }
        };
        let details = delegates.run_with(ctx, action, asked, &options).await?;
        let deleted = match details.get(deleted_key) {
            Some(Json::Bool(deleted)) => *deleted,
            // aws lists what it deleted and what was already gone.
            Some(Json::Array(deleted)) => !deleted.is_empty(),
            _ => false,
        };
        Ok(Deleted {
            deleted,
            provider: made.target.provider().name(),
            target: made.target.to_string(),
            id: made.id,
            ids: made.ids,
            details,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_the_whole_output_or_the_least_all_read_the_same() {
        let reference = json!({"provider": "aws", "id": "snap-1", "ids": ["snap-1", "snap-2"], "target": "aws://us-east-1/i-0abc", "options": {"endpoint_url": "http://x"}});
        let whole = json!({"id": "snap-1", "ids": ["snap-1", "snap-2"], "provider": "aws", "target": "aws://us-east-1/i-0abc", "snapshot": reference.clone(), "details": {}});
        for value in [reference, whole] {
            let made = Made::parse(&value).unwrap();
            assert_eq!(made.ids, ["snap-1", "snap-2"]);
            assert_eq!(made.options["endpoint_url"], "http://x");
        }
        let least =
            Made::parse(&json!({"id": "image-1", "target": "openstack://lab/web-01"})).unwrap();
        assert_eq!(
            (least.id.as_str(), least.ids.as_slice()),
            ("image-1", ["image-1".to_owned()].as_slice())
        );
    }

    #[test]
    fn a_reference_that_contradicts_itself_or_lacks_an_id_is_refused() {
        let err = Made::parse(
            &json!({"provider": "vsphere", "id": "snap-1", "target": "aws://us-east-1/vol-1"}),
        )
        .unwrap_err();
        assert!(
            matches!(&err, ActionError::Fatal { message: m, .. } if m.contains("says provider `vsphere`")),
            "{err:?}"
        );
        let err = Made::parse(&json!({"target": "vsphere://vc/vm-1"})).unwrap_err();
        assert!(
            matches!(&err, ActionError::Fatal { message: m, .. } if m.contains("has no `id`")),
            "{err:?}"
        );
        let err = Made::parse(&json!({"id": "x", "target": "ftp://a/b"})).unwrap_err();
        assert!(
            matches!(&err, ActionError::Fatal { message: m, .. } if m.contains("unknown scheme `ftp`")),
            "{err:?}"
        );
        assert!(Made::parse(&json!("aws://us-east-1/vol-1")).is_err());
    }
}
