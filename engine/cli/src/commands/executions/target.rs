//! Which execution a command names: a whole id, any unique prefix of one
//! (ids are long; the first digits are what people copy), or the newest
//! (`--last`, of one workflow or of all). A prefix is looked up where the
//! executions are, the embedded store or a server, through the list's own
//! keyset: ids are `UUIDv7`s and sort as text, so the ids with a prefix are
//! those just below the prefix's successor.

use std::sync::Arc;

use anyhow::bail;
use shutter_core::{ExecutionId, ListQuery, Store};
use shutter_server::views::ExecutionPage;

use super::task::list_path;
use crate::client::Client;

/// An execution as named on the command line, read but not looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    Id(ExecutionId),
    /// Lower-case hex digits and dashes, shorter than an id.
    Prefix(String),
    /// The newest execution, of this workflow when one is given.
    Newest(Option<String>),
}

/// Where a prefix or `--last` is looked up.
pub(super) enum Lookup<'a> {
    Store(&'a Arc<dyn Store>),
    Server(&'a Client),
}

impl Target {
    /// `id` as given, or `--last` (`Some("")`: of any workflow).
    pub(super) fn read(id: Option<String>, last: Option<String>) -> anyhow::Result<Self> {
        match (id, last) {
            (Some(_), Some(_)) => bail!("give an execution id or --last, not both"),
            (None, None) => bail!("give an execution id (or a unique prefix of one), or --last"),
            (None, Some(workflow)) => Ok(Self::Newest(Some(workflow).filter(|w| !w.is_empty()))),
            (Some(id), None) => {
                if let Ok(id) = id.parse() {
                    return Ok(Self::Id(id));
                }
                let prefix = id.to_ascii_lowercase();
                let digits = prefix.chars().filter(char::is_ascii_hexdigit).count();
                if digits == 0
                    || digits >= 32
                    || !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
                {
                    bail!("`{id}` is neither an execution id nor the start of one");
                }
                Ok(Self::Prefix(prefix))
            }
        }
    }

    /// The execution named, looked up where needed.
    pub(super) async fn resolve(self, lookup: &Lookup<'_>) -> anyhow::Result<ExecutionId> {
        match self {
            Self::Id(id) => Ok(id),
            Self::Newest(workflow) => {
                let query = ListQuery {
                    workflow: workflow.clone(),
                    limit: 1,
                    ..ListQuery::default()
                };
                match lookup.ids(&query).await?.first() {
                    Some(id) => Ok(*id),
                    None => match workflow {
                        Some(workflow) => bail!("no execution of workflow `{workflow}` here"),
                        None => bail!("no execution here"),
                    },
                }
            }
            Self::Prefix(prefix) => {
                let query = ListQuery {
                    before: successor(&prefix),
                    limit: 3,
                    ..ListQuery::default()
                };
                let found: Vec<ExecutionId> = lookup
                    .ids(&query)
                    .await?
                    .into_iter()
                    .filter(|id| id.to_string().starts_with(&prefix))
                    .collect();
                match found.as_slice() {
                    [] => bail!("no execution id starts with `{prefix}`"),
                    [one] => Ok(*one),
                    several => bail!(
                        "`{prefix}` starts several execution ids ({}{}): give more of the id",
                        several
                            .iter()
                            .take(2)
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                        if several.len() > 2 { ", ..." } else { "" }
                    ),
                }
            }
        }
    }
}

impl Lookup<'_> {
    /// The ids of the list's page for `query`, newest first.
    async fn ids(&self, query: &ListQuery) -> anyhow::Result<Vec<ExecutionId>> {
        Ok(match self {
            Self::Store(store) => store.list(query).await?.iter().map(|r| r.id).collect(),
            Self::Server(client) => {
                let page: ExecutionPage = client.get_as(&list_path(query)).await?;
                page.items
                    .iter()
                    .filter_map(|item| item.id.parse().ok())
                    .collect()
            }
        })
    }
}

/// The smallest id above every id that starts with `prefix` (its hex
/// digits plus one, the rest zeros); `None` when there is none (all `f`).
fn successor(prefix: &str) -> Option<ExecutionId> {
    let digits: String = prefix.chars().filter(char::is_ascii_hexdigit).collect();
    let shift = 4 * (32 - u32::try_from(digits.len()).ok()?);
    let value = u128::from_str_radix(&digits, 16).ok()?.checked_add(1)?;
    let next = value.checked_shl(shift)?;
    // `checked_shl` only refuses shifts past 127: a value that grew a digit
    // (`fff` + 1) overflowed the id.
    if shift > 0 && value >> (128 - shift) != 0 {
        return None;
    }
    format!("{next:032x}").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_id_a_prefix_or_the_newest() {
        let id = "0190a2b4-0000-7000-8000-00000000abcd";
        assert_eq!(
            Target::read(Some(id.to_owned()), None).ok(),
            Some(Target::Id(id.parse().expect("an id")))
        );
        assert_eq!(
            Target::read(Some("0190A2B4-00".to_owned()), None).ok(),
            Some(Target::Prefix("0190a2b4-00".to_owned()))
        );
        assert_eq!(
            Target::read(None, Some(String::new())).ok(),
            Some(Target::Newest(None))
        );
        assert_eq!(
            Target::read(None, Some("nightly".to_owned())).ok(),
            Some(Target::Newest(Some("nightly".to_owned())))
        );
        for bad in ["", "xyz", "0190a2b4;drop", "-"] {
            assert!(Target::read(Some(bad.to_owned()), None).is_err(), "{bad}");
        }
        assert!(Target::read(None, None).is_err());
        assert!(Target::read(Some("01".to_owned()), Some(String::new())).is_err());
    }

    #[test]
    fn a_prefix_ends_just_below_its_successor() {
        assert_eq!(
            successor("0190a2b4").map(|id| id.to_string()),
            Some("0190a2b5-0000-0000-0000-000000000000".to_owned())
        );
        assert_eq!(
            successor("0190a2b4-0f").map(|id| id.to_string()),
            Some("0190a2b4-1000-0000-0000-000000000000".to_owned())
        );
        assert_eq!(successor("ffff"), None, "no id is above every ffff… id");
    }
}
