//! Target references: `aws://REGION/vol-...`, `aws://REGION/i-...`,
//! `openstack://CLOUD/SERVER_ID`, `vsphere://VCENTER/vm-42`.
//!
//! A reference is checked in full before any provider is called, so a typo
//! fails the step at once with what was expected instead of as some
//! provider's 404 later.

use std::fmt;

use shutter_core::ActionError;

/// The cloud a target lives in; its name is the `provider` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    Aws,
    OpenStack,
    Vsphere,
}

impl Provider {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::OpenStack => "openstack",
            Self::Vsphere => "vsphere",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "aws" => Some(Self::Aws),
            "openstack" => Some(Self::OpenStack),
            "vsphere" => Some(Self::Vsphere),
            _ => None,
        }
    }
}

/// What a snapshot is taken of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// One EBS volume.
    AwsVolume { region: String, volume_id: String },
    /// Every EBS volume of an instance, at one instant.
    AwsInstance { region: String, instance_id: String },
    /// A Nova server, snapshotted into its cloud's Glance.
    OpenStack { cloud: String, server_id: String },
    /// A VM; `vcenter` is the vCenter's instanceUuid, as vSphere outputs
    /// name it, or the name of a connection in Shutter's config.
    Vsphere { vcenter: String, vm: String },
}

const EXPECTED: &str = "expected aws://REGION/vol-ID, aws://REGION/i-ID, openstack://CLOUD/SERVER_ID or vsphere://VCENTER/vm-N";

impl Target {
    pub(crate) fn parse(text: &str) -> Result<Self, ActionError> {
        let bad = |why: &str| ActionError::fatal(format!("snapshot target `{text}`: {why}"));
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| bad(&format!("not a reference; {EXPECTED}")))?;
        let provider = Provider::from_name(scheme)
            .ok_or_else(|| bad(&format!("unknown scheme `{scheme}`; {EXPECTED}")))?;
        if let Some(c) = rest
            .chars()
            .find(|c| c.is_whitespace() || matches!(c, '?' | '#' | '@'))
        {
            return Err(bad(&format!(
                "`{c}` has no place in a reference; {EXPECTED}"
            )));
        }
        let parts: Vec<&str> = rest.split('/').collect();
        let [place, resource] = parts.as_slice() else {
            return Err(bad(&format!(
                "needs exactly two parts after `{scheme}://`; {EXPECTED}"
            )));
        };
        let (place, resource) = ((*place).to_owned(), (*resource).to_owned());
        match provider {
            Provider::Aws => {
                if !is_region(&place) {
                    return Err(bad(&format!(
                        "`{place}` is not an aws region (e.g. us-east-1)"
                    )));
                }
                if is_aws_id(&resource, "vol-") {
                    Ok(Self::AwsVolume {
                        region: place,
                        volume_id: resource,
                    })
                } else if is_aws_id(&resource, "i-") {
                    Ok(Self::AwsInstance {
                        region: place,
                        instance_id: resource,
                    })
                } else {
                    Err(bad(&format!(
                        "`{resource}` is neither a volume (vol-...) nor an instance (i-...)"
                    )))
                }
            }
            Provider::OpenStack => {
                if place.is_empty() || resource.is_empty() {
                    return Err(bad(
                        "needs a clouds.yaml entry and a server id: openstack://CLOUD/SERVER_ID",
                    ));
                }
                Ok(Self::OpenStack {
                    cloud: place,
                    server_id: resource,
                })
            }
            Provider::Vsphere => {
                if place.is_empty() {
                    return Err(bad(
                        "needs a vCenter: vsphere://VCENTER/vm-N (its instanceUuid, or a connection named in Shutter's config)",
                    ));
                }
                if !is_vm_moref(&resource) {
                    return Err(bad(&format!("`{resource}` is not a VM moRef (vm-N)")));
                }
                Ok(Self::Vsphere {
                    vcenter: place,
                    vm: resource,
                })
            }
        }
    }

    pub(crate) fn provider(&self) -> Provider {
        match self {
            Self::AwsVolume { .. } | Self::AwsInstance { .. } => Provider::Aws,
            Self::OpenStack { .. } => Provider::OpenStack,
            Self::Vsphere { .. } => Provider::Vsphere,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AwsVolume { region, volume_id } => write!(f, "aws://{region}/{volume_id}"),
            Self::AwsInstance {
                region,
                instance_id,
            } => write!(f, "aws://{region}/{instance_id}"),
            Self::OpenStack { cloud, server_id } => write!(f, "openstack://{cloud}/{server_id}"),
            Self::Vsphere { vcenter, vm } => write!(f, "vsphere://{vcenter}/{vm}"),
        }
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`: lowercase words and digits.
fn is_region(text: &str) -> bool {
    !text.is_empty()
        && text.contains('-')
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// `vol-0abc...`, `i-0abc...`: the prefix and hex digits.
fn is_aws_id(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix)
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_vm_moref(text: &str) -> bool {
    text.strip_prefix("vm-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fatal(text: &str) -> String {
        match Target::parse(text) {
            Err(ActionError::Fatal { message, .. }) => message,
            other => panic!("{text}: expected a fatal error, got {other:?}"),
        }
    }

    #[test]
    fn each_kind_of_reference_parses_and_prints_back() {
        let cases = [
            (
                "aws://us-east-1/vol-0abc12",
                Target::AwsVolume {
                    region: "us-east-1".into(),
                    volume_id: "vol-0abc12".into(),
                },
            ),
            (
                "aws://eu-west-2/i-0123456789abcdef0",
                Target::AwsInstance {
                    region: "eu-west-2".into(),
                    instance_id: "i-0123456789abcdef0".into(),
                },
            ),
            (
                "openstack://production/5f1c0f8e-93ab-4c1e-9a52-0a6d1e9a2b11",
                Target::OpenStack {
                    cloud: "production".into(),
                    server_id: "5f1c0f8e-93ab-4c1e-9a52-0a6d1e9a2b11".into(),
                },
            ),
            (
                "vsphere://dbed6e0c-bd88-4ef6-b594-21283e1c677f/vm-42",
                Target::Vsphere {
                    vcenter: "dbed6e0c-bd88-4ef6-b594-21283e1c677f".into(),
                    vm: "vm-42".into(),
                },
            ),
        ];
        for (text, want) in cases {
            let got = Target::parse(text).unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string(), text);
        }
        assert_eq!(
            Target::parse("aws://us-east-1/i-1").unwrap().provider(),
            Provider::Aws
        );
    }

    #[test]
    fn an_unknown_scheme_names_the_scheme_and_the_forms() {
        let message = fatal("gcp://europe-west1/disk-1");
        assert!(message.contains("unknown scheme `gcp`"), "{message}");
        assert!(message.contains("aws://REGION/vol-ID"), "{message}");
        assert!(fatal("vol-0abc").contains("not a reference"));
        assert!(fatal("AWS://us-east-1/vol-1").contains("unknown scheme `AWS`"));
    }

    #[test]
    fn malformed_references_say_what_is_wrong() {
        for (text, expect) in [
            ("aws://us-east-1/snap-0abc", "neither a volume"),
            ("aws://us-east-1/vol-", "neither a volume"),
            ("aws://us-east-1/vol-xyz", "neither a volume"),
            ("aws://US-EAST-1/vol-1", "not an aws region"),
            ("aws:///vol-1", "not an aws region"),
            ("aws://us-east-1", "exactly two parts"),
            ("aws://us-east-1/vol-1/extra", "exactly two parts"),
            ("aws://us-east-1/vol-1?x=1", "`?` has no place"),
            ("openstack://lab/", "clouds.yaml entry and a server id"),
            ("openstack:///web-01", "clouds.yaml entry and a server id"),
            ("openstack://lab/web 01", "` ` has no place"),
            ("vsphere://vc/web-01", "not a VM moRef"),
            ("vsphere://vc/vm-", "not a VM moRef"),
            ("vsphere:///vm-42", "instanceUuid"),
            ("vsphere://user@vc/vm-42", "`@` has no place"),
        ] {
            let message = fatal(text);
            assert!(message.contains(expect), "{text}: {message}");
            assert!(
                message.starts_with(&format!("snapshot target `{text}`")),
                "{message}"
            );
        }
    }
}
