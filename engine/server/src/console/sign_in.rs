//! Signing in to the console with a token, and out again. The token is
//! typed into a form and posted (never put in a URL); what comes back is
//! the session cookie (`crate::session`), which scripts cannot read and
//! other sites cannot send.

use axum::Extension;
use axum::extract::{Form, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::HOME;
use super::escape::escape;
use super::page::{Section, document, respond};
use crate::auth::Access;
use crate::session;

#[derive(Debug, Deserialize)]
pub(crate) struct Next {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignIn {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: Option<String>,
}

/// `GET /ui/sign-in`: the form.
pub(crate) async fn form(
    Extension(access): Extension<Access>,
    Query(query): Query<Next>,
) -> Response {
    let next = target(query.next.as_deref());
    page(&access, next, None, StatusCode::OK)
}

/// `POST /ui/sign-in`: a token that opens the console sets the cookie and
/// goes on to the page asked for; any other is told so, with no hint of
/// which part was wrong.
pub(crate) async fn submit(
    Extension(access): Extension<Access>,
    Form(form): Form<SignIn>,
) -> Response {
    let next = target(form.next.as_deref());
    let now = chrono::Utc::now().timestamp();
    let cookie = session::role_of_token(&access, &form.token)
        .and_then(|role| session::set_cookie(&access, role, now));
    match cookie {
        Some(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to(next)).into_response(),
        None => page(
            &access,
            next,
            Some("That token does not open this server."),
            StatusCode::UNAUTHORIZED,
        ),
    }
}

/// `POST /ui/sign-out`: the cookie is dropped.
pub(crate) async fn sign_out() -> Response {
    (
        [(header::SET_COOKIE, session::clear_cookie())],
        Redirect::to("/ui/sign-in"),
    )
        .into_response()
}

/// Where to go after signing in: a console page of this server, or home
/// (never another site: `//evil.example` and `/\evil` are not pages here).
fn target(next: Option<&str>) -> &str {
    match next {
        Some(next)
            if next.starts_with("/ui/")
                && !next.contains("//")
                && !next.contains('\\')
                && !next.starts_with("/ui/sign-")
                && next
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'<') =>
        {
            next
        }
        _ => HOME,
    }
}

fn page(access: &Access, next: &str, problem: Option<&str>, status: StatusCode) -> Response {
    let open = access.token.is_none() && access.admin_token.is_none();
    let body = if open {
        format!(
            r#"<section class="sign-in">
<h1>Sign in</h1>
<p>This server has no token configured: the console is open to whoever can reach it. <a href="{home}">Go to the executions</a>.</p>
</section>"#,
            home = escape(HOME)
        )
    } else {
        let problem = problem.map_or(String::new(), |problem| {
            format!(r#"<p class="problem" role="alert">{}</p>"#, escape(problem))
        });
        format!(
            r#"<section class="sign-in">
<h1>Sign in</h1>
<p>Paste the server's API token (or its admin token). It is sent once, in this form's body; the browser then keeps a session cookie for twelve hours.</p>
{problem}
<form method="post" action="/ui/sign-in">
<input type="hidden" name="next" value="{next}">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
</section>"#,
            next = escape(next)
        )
    };
    let mut response = respond(document("Sign in", Section::Executions, &body));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pages_of_this_console_are_gone_on_to() {
        assert_eq!(target(Some("/ui/executions/0193")), "/ui/executions/0193");
        for away in [
            "https://evil.example/",
            "//evil.example/ui/",
            "/ui//evil.example",
            "/ui/\\evil",
            "/ui/sign-in",
            "/ui/x\"onload=",
            "/api",
        ] {
            assert_eq!(target(Some(away)), HOME, "{away}");
        }
        assert_eq!(target(None), HOME);
    }
}
