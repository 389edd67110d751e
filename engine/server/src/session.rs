//! The console's session cookie: what a browser holds after signing in
//! with a token, so that no token ever travels in a URL or sits where a
//! page's script can read it.
//!
//! The cookie is stateless: `<role>.<expires>.<mac>`, the MAC being
//! HMAC-SHA256 keyed with the token the operator signed in with. Every
//! node sharing the tokens accepts it (no session table to share behind
//! a load balancer), it ends on its own after [`LIFETIME`], and changing
//! the token ends every session made with the old one.

use axum::http::{HeaderMap, header};

use crate::auth::{Access, Token};

/// The cookie's name.
pub(crate) const COOKIE: &str = "shutter_session";

/// How long a session lasts, in seconds: a working day.
pub(crate) const LIFETIME: i64 = 12 * 60 * 60;

/// What a session may do: what the token it was made with may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Made with the API token: reads, starts, cancels, retries.
    Client,
    /// Made with the admin token: also registers workflows.
    Admin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Admin => "admin",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "client" => Some(Self::Client),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    fn token(self, access: &Access) -> Option<&Token> {
        match self {
            Self::Client => access.token.as_ref(),
            Self::Admin => access.admin_token.as_ref(),
        }
    }
}

/// Which role `presented` (a token typed into the sign-in form) opens, if
/// any: the admin token first, as it opens everything.
pub(crate) fn role_of_token(access: &Access, presented: &str) -> Option<Role> {
    let presented = presented.trim();
    [Role::Admin, Role::Client].into_iter().find(|role| {
        role.token(access)
            .is_some_and(|token| token.matches(presented))
    })
}

/// The cookie's value for `role`, valid until `expires` (Unix seconds).
pub(crate) fn value(access: &Access, role: Role, expires: i64) -> Option<String> {
    let token = role.token(access)?;
    Some(format!(
        "{}.{expires}.{}",
        role.as_str(),
        hex::encode(mac(token, role, expires))
    ))
}

/// The `Set-Cookie` header that signs `role` in at `now`: `HttpOnly` (no
/// script reads it), `SameSite=Strict` (no other site's page sends it).
pub(crate) fn set_cookie(access: &Access, role: Role, now: i64) -> Option<String> {
    let value = value(access, role, now + LIFETIME)?;
    Some(format!(
        "{COOKIE}={value}; Path=/; Max-Age={LIFETIME}; HttpOnly; SameSite=Strict"
    ))
}

/// The `Set-Cookie` header that signs out.
pub(crate) fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
}

/// The role of the session the request's cookie carries, if it holds a
/// valid, unexpired one.
pub(crate) fn role(headers: &HeaderMap, access: &Access, now: i64) -> Option<Role> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .find_map(|value| verify(access, value, now))
}

/// The role `value` was made for, if it is a session of a configured
/// token that has not expired.
fn verify(access: &Access, value: &str, now: i64) -> Option<Role> {
    let mut parts = value.splitn(3, '.');
    let role = Role::parse(parts.next()?)?;
    let expires: i64 = parts.next()?.parse().ok()?;
    let given = hex::decode(parts.next()?).ok()?;
    if expires <= now || expires > now + LIFETIME {
        return None;
    }
    let token = role.token(access)?;
    shutter_core::mac::same_in_constant_time(&given, &mac(token, role, expires)).then_some(role)
}

fn mac(token: &Token, role: Role, expires: i64) -> [u8; 32] {
    let message = format!("shutter-console-session:{}:{expires}", role.as_str());
    shutter_core::mac::hmac_sha256(token.secret().as_bytes(), message.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const NOW: i64 = 1_800_000_000;

    fn access() -> Access {
        Access {
            token: Token::new("client-t0ken"),
            admin_token: Token::new("admin-t0ken"),
            allow_anonymous_admin: false,
        }
    }

    fn with_cookie(line: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(line).unwrap());
        headers
    }

    #[test]
    fn a_session_opens_what_its_token_opens() {
        let access = access();
        assert_eq!(role_of_token(&access, "admin-t0ken\n"), Some(Role::Admin));
        assert_eq!(role_of_token(&access, "client-t0ken"), Some(Role::Client));
        assert_eq!(role_of_token(&access, "client-t0ke"), None);
        let client = value(&access, Role::Client, NOW + 60).unwrap();
        let line = format!("theme=dark; {COOKIE}={client}; other=1");
        assert_eq!(role(&with_cookie(&line), &access, NOW), Some(Role::Client));
        let admin = value(&access, Role::Admin, NOW + 60).unwrap();
        assert_eq!(
            role(&with_cookie(&format!("{COOKIE}={admin}")), &access, NOW),
            Some(Role::Admin)
        );
    }

    #[test]
    fn forged_expired_or_foreign_sessions_open_nothing() {
        let access = access();
        let client = value(&access, Role::Client, NOW + 60).unwrap();
        // Its role changed: the MAC no longer matches.
        let promoted = client.replacen("client", "admin", 1);
        // Its end moved later.
        let (_, rest) = client.split_once('.').unwrap();
        let (_, mac) = rest.split_once('.').unwrap();
        let extended = format!("client.{}.{mac}", NOW + 600);
        let expired = value(&access, Role::Client, NOW - 1).unwrap();
        let too_long = value(&access, Role::Client, NOW + LIFETIME + 60).unwrap();
        // Made with another token (another server's, or before a rotation).
        let other = Access {
            token: Token::new("another"),
            ..access.clone()
        };
        let foreign = value(&other, Role::Client, NOW + 60).unwrap();
        for bad in [
            promoted.as_str(),
            extended.as_str(),
            expired.as_str(),
            too_long.as_str(),
            foreign.as_str(),
            "",
            "client",
            "client.x.y",
            "root.1.00",
        ] {
            let line = format!("{COOKIE}={bad}");
            assert_eq!(role(&with_cookie(&line), &access, NOW), None, "{bad}");
        }
    }

    #[test]
    fn without_the_token_there_is_no_session() {
        let open = Access::default();
        assert_eq!(value(&open, Role::Client, NOW + 60), None);
        assert_eq!(role_of_token(&open, ""), None);
    }

    #[test]
    fn the_cookie_is_out_of_reach_of_scripts_and_other_sites() {
        let line = set_cookie(&access(), Role::Client, NOW).unwrap();
        assert!(line.starts_with(&format!("{COOKIE}=client.{}.", NOW + LIFETIME)));
        assert!(line.contains("HttpOnly"), "{line}");
        assert!(line.contains("SameSite=Strict"), "{line}");
        assert!(clear_cookie().contains("Max-Age=0"));
    }
}
