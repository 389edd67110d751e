//! The shapes of the EC2 actions' parameters, read through serde
//! (`ctx.params::<T>()`): a value of the wrong type is an error naming the
//! parameter. An optional parameter that is null or an empty string counts
//! as not given (`shutter_core::params::optional`), so
//! `kms_key_id: ${{ inputs.kms_key }}` works when the input is empty.

use aws_sdk_ec2::types::Tag;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;
use shutter_core::catalog::ParamKind;
use shutter_core::{ParamType, action_params};

/// Where a step runs: its `region` and `endpoint_url`, every EC2 action's.
#[action_params]
#[derive(Debug, Deserialize)]
pub(crate) struct Located {
    /// AWS region, e.g. `eu-west-1`; default: the standard chain's
    /// (`AWS_REGION`, the profile's `region`, IMDS).
    pub region: Option<String>,
    /// Send requests here instead of AWS's endpoint (a VPC endpoint, an
    /// emulator); default: `AWS_ENDPOINT_URL_EC2`, `AWS_ENDPOINT_URL` or the
    /// profile's `endpoint_url`.
    pub endpoint_url: Option<String>,
}

/// Tags as a step writes them: a map of key to value, where numbers and
/// booleans stand for their text. Null or `""` is no tags.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tags(pub Vec<Tag>);

impl ParamKind for Tags {
    const KIND: ParamType = ParamType::Object;
}

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = match Json::deserialize(deserializer)? {
            Json::Null => return Ok(Self::default()),
            Json::String(text) if text.is_empty() => return Ok(Self::default()),
            Json::Object(map) => map,
            other => {
                return Err(D::Error::custom(format!(
                    "expected a map of tag keys to values, found {other}"
                )));
            }
        };
        map.into_iter()
            .map(|(key, value)| {
                let text = match value {
                    Json::String(text) => text,
                    Json::Number(_) | Json::Bool(_) => value.to_string(),
                    other => {
                        return Err(D::Error::custom(format!(
                            "tag `{key}` must be a string, found {other}"
                        )));
                    }
                };
                Ok(Tag::builder().key(key).value(text).build())
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// A positive whole number that fits an `i32` (AWS's page sizes).
pub(crate) fn page_size<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i32>, D::Error> {
    let size: Option<u64> = shutter_core::params::optional(deserializer)?;
    size.map(|n| {
        i32::try_from(n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| D::Error::custom(format!("expected a positive integer, found {n}")))
    })
    .transpose()
}
