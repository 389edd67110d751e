//! `notify:`: each receiver is a URL or a sink of the config file, its
//! events are known ones, and the secret that signs for it is one the
//! workflow declares.

use shutter_core::notify::NotifyEvent;

use super::Checker;
use crate::diagnostic::Diagnostic;
use crate::model::{Notify, NotifyTo};
use crate::path::YamlPath;
use crate::raw::{RawNotify, RawNotifyEvent};

impl Checker<'_> {
    pub(super) fn notify(
        &mut self,
        raw: &[RawNotify],
        secrets: &[String],
        path: &YamlPath,
    ) -> Vec<Notify> {
        raw.iter()
            .enumerate()
            .filter_map(|(index, entry)| self.receiver(entry, secrets, &path.index(index)))
            .collect()
    }

    fn receiver(&mut self, raw: &RawNotify, secrets: &[String], path: &YamlPath) -> Option<Notify> {
        let to = match (&raw.url, &raw.sink) {
            (Some(url), None) => {
                if let Err(why) = check_url(url) {
                    self.error(
                        Diagnostic::error("notify", format!("`{url}` {why}"))
                            .at(&path.key("url"))
                            .with_help("e.g. `url: https://hooks.example.com/shutter`"),
                    );
                    return None;
                }
                NotifyTo::Url(url.clone())
            }
            (None, Some(sink)) if !sink.trim().is_empty() => NotifyTo::Sink(sink.clone()),
            (Some(_), Some(_)) => {
                self.error(
                    Diagnostic::error("notify", "give `url` or `sink`, not both")
                        .at(&path.key("sink")),
                );
                return None;
            }
            (None, _) => {
                self.error(
                    Diagnostic::error("notify", "a receiver needs a `url` or a `sink`")
                        .at(path)
                        .with_help("`sink` names a receiver of the config file's `notify.sinks`"),
                );
                return None;
            }
        };
        let events = match &raw.events {
            None => NotifyEvent::ENDINGS.to_vec(),
            Some(events) if events.is_empty() => {
                self.error(
                    Diagnostic::error(
                        "notify",
                        "`events` is empty: this receiver would be told nothing",
                    )
                    .at(&path.key("events")),
                );
                return None;
            }
            Some(events) => {
                let mut chosen: Vec<NotifyEvent> = Vec::new();
                for event in events.iter().copied().map(event_of) {
                    if !chosen.contains(&event) {
                        chosen.push(event);
                    }
                }
                chosen
            }
        };
        if let Some(secret) = &raw.secret
            && !secrets.contains(secret)
        {
            self.error(
                Diagnostic::error(
                    "notify",
                    format!("`{secret}` is not one of the workflow's secrets"),
                )
                .at(&path.key("secret"))
                .with_help(format!(
                    "list it under `secrets: [{secret}]`; its value comes from SHUTTER_SECRET_{}",
                    secret.to_uppercase()
                )),
            );
            return None;
        }
        Some(Notify {
            to,
            events,
            secret: raw.secret.clone(),
        })
    }
}

fn event_of(raw: RawNotifyEvent) -> NotifyEvent {
    match raw {
        RawNotifyEvent::Started => NotifyEvent::Started,
        RawNotifyEvent::Succeeded => NotifyEvent::Succeeded,
        RawNotifyEvent::SucceededWithErrors => NotifyEvent::SucceededWithErrors,
        RawNotifyEvent::Failed => NotifyEvent::Failed,
        RawNotifyEvent::Canceled => NotifyEvent::Canceled,
        RawNotifyEvent::StepFailed => NotifyEvent::StepFailed,
    }
}

/// Why `url` cannot be a receiver: it must be a plain `http(s)://host...`,
/// with no expression (a receiver is fixed when the workflow is written)
/// and no credentials (sign with `secret` instead).
fn check_url(url: &str) -> Result<(), &'static str> {
    if url.contains("${{") {
        return Err("holds an expression: a receiver's URL is written as is");
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("is not an http:// or https:// URL")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err("names no host");
    }
    if authority.contains('@') {
        return Err("carries credentials: give a `secret` to sign with instead");
    }
    if url.chars().any(char::is_whitespace) {
        return Err("contains spaces");
    }
    Ok(())
}
