//! The shell every console page shares (head, top bar, the notice line
//! the script writes to) and the headers it is sent with.
//!
//! The Content-Security-Policy allows scripts and styles from this server
//! only, and no inline ones: a value that slipped past escaping still
//! could not run. So pages carry no `style=` and no `<script>` body;
//! colours are classes, behaviour is `console.js` reading `data-`
//! attributes.

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use super::assets;
use super::badge;
use super::escape::escape;

/// The policy of every page (the brief's, plus `base-uri` and
/// `form-action`, which no page needs beyond its own origin).
pub(crate) const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Which top-level section a page belongs to (marked in the top bar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Executions,
    Workflows,
    Backups,
    Nodes,
}

/// A whole document: `title` (text, escaped here) and `main` (HTML the
/// caller built, every value in it escaped already).
pub(crate) fn document(title: &str, section: Section, main: &str) -> String {
    let current = |s: Section| {
        if s == section {
            r#" aria-current="page""#
        } else {
            ""
        }
    };
    let version = assets::fingerprint();
    format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Shutter</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/assets/console.css?v={version}">
<script src="/ui/assets/console.js?v={version}" defer></script>
</head>
<body data-state-icons="{icons}">
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/ui/executions">Shutter</a>
<nav aria-label="Sections"><a href="/ui/executions"{executions}>Executions</a> <a href="/ui/workflows"{workflows}>Workflows</a> <a href="/ui/backups"{backups}>Backups</a> <a href="/ui/nodes"{nodes}>Nodes</a></nav>
<form class="sign-out" method="post" action="/ui/sign-out"><button type="submit">Sign out</button></form>
</header>
<p id="notice" class="notice" role="status" aria-live="polite" hidden></p>
<main id="main">
{main}
</main>
</body>
</html>
"##,
        title = escape(title),
        version = escape(version),
        icons = escape(&badge::icons_json()),
        executions = current(Section::Executions),
        workflows = current(Section::Workflows),
        backups = current(Section::Backups),
        nodes = current(Section::Nodes),
    )
}

/// A page as a response, with the headers that keep it from being framed,
/// sniffed or cached by a shared cache.
pub(crate) fn respond(html: String) -> Response {
    (
        [
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "same-origin"),
            (header::CACHE_CONTROL, "no-cache, private"),
        ],
        Html(html),
    )
        .into_response()
}
