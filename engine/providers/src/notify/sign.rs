//! The `Shutter-Signature` header: HMAC-SHA256 (RFC 2104) over
//! `"<timestamp>." + body`, Stripe-style (`t=<timestamp>,v1=<hex>`), so a
//! receiver can tell the body came from someone holding the secret, and
//! was not replayed long after.

use shutter_core::mac::{hmac_sha256, same_in_constant_time};

/// The `Shutter-Signature` header for `body` sent at `timestamp` (Unix
/// seconds): `t=<timestamp>,v1=<lowercase hex HMAC-SHA256>`.
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let mac = hmac_sha256(secret.as_bytes(), &signed_payload(&timestamp, body));
    format!("t={timestamp},v1={}", hex::encode(mac))
}

/// Checks a `Shutter-Signature` header as a receiver would: one `t=` and
/// one or more `v1=` parts (a sender rotating its secret may send one per
/// secret), in any order; the timestamp at most `tolerance_secs` from
/// `now`, so a captured request cannot be replayed later; and a `v1=` that
/// matches, compared in constant time.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), String> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        match key.trim() {
            "t" => timestamp = Some(value.trim()),
            "v1" => signatures.push(value.trim()),
            _ => {}
        }
    }
    let Some(timestamp_text) = timestamp else {
        return Err("no t= in the Shutter-Signature header".to_owned());
    };
    let timestamp: i64 = timestamp_text.parse().map_err(|_| {
        format!("the t= of the Shutter-Signature header is not a number: {timestamp_text}")
    })?;
    if signatures.is_empty() {
        return Err("no v1= in the Shutter-Signature header".to_owned());
    }
    let drift = now.abs_diff(timestamp);
    let allowed = u64::try_from(tolerance_secs).unwrap_or(0);
    if drift > allowed {
        return Err(if timestamp <= now {
            format!("the signature is {drift} s old, more than the {allowed} s allowed")
        } else {
            format!("the signature is dated {drift} s ahead, more than the {allowed} s allowed")
        });
    }
    let expected = hmac_sha256(secret.as_bytes(), &signed_payload(timestamp_text, body));
    let matches = signatures.iter().any(|given| {
        hex::decode(given).is_ok_and(|given| same_in_constant_time(&given, &expected))
    });
    if matches {
        Ok(())
    } else {
        Err("the signature does not match".to_owned())
    }
}

/// What is signed: the timestamp as written in the header, a dot, the raw
/// body.
fn signed_payload(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(timestamp.len() + 1 + body.len());
    payload.extend_from_slice(timestamp.as_bytes());
    payload.push(b'.');
    payload.extend_from_slice(body);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"event":"failed"}"#;
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_signed_body_verifies() {
        let header = signature_header("s3cret", NOW, BODY);
        assert!(header.starts_with(&format!("t={NOW},v1=")), "{header}");
        assert_eq!(header.len(), format!("t={NOW},v1=").len() + 64);
        assert_eq!(verify("s3cret", &header, BODY, NOW + 10, 300), Ok(()));
    }

    #[test]
    fn parts_in_any_order_and_several_v1_are_accepted() {
        let header = signature_header("s3cret", NOW, BODY);
        let (t, v1) = header.split_once(',').unwrap();
        let reordered = format!("v1={},{v1}, {t}", "00".repeat(32));
        assert_eq!(verify("s3cret", &reordered, BODY, NOW, 300), Ok(()));
    }

    #[test]
    fn a_changed_body_is_rejected() {
        let header = signature_header("s3cret", NOW, BODY);
        assert_eq!(
            verify("s3cret", &header, br#"{"event":"succeeded"}"#, NOW, 300),
            Err("the signature does not match".to_owned())
        );
    }

    #[test]
    fn a_wrong_secret_is_rejected() {
        let header = signature_header("s3cret", NOW, BODY);
        assert_eq!(
            verify("other", &header, BODY, NOW, 300),
            Err("the signature does not match".to_owned())
        );
    }

    #[test]
    fn an_old_or_future_timestamp_is_rejected() {
        let header = signature_header("s3cret", NOW, BODY);
        assert_eq!(
            verify("s3cret", &header, BODY, NOW + 400, 300),
            Err("the signature is 400 s old, more than the 300 s allowed".to_owned())
        );
        let ahead = verify("s3cret", &header, BODY, NOW - 400, 300).unwrap_err();
        assert!(ahead.contains("400 s ahead"), "{ahead}");
    }

    #[test]
    fn a_header_without_its_parts_is_rejected() {
        let header = signature_header("s3cret", NOW, BODY);
        let (t, v1) = header.split_once(',').unwrap();
        assert_eq!(
            verify("s3cret", t, BODY, NOW, 300),
            Err("no v1= in the Shutter-Signature header".to_owned())
        );
        assert_eq!(
            verify("s3cret", v1, BODY, NOW, 300),
            Err("no t= in the Shutter-Signature header".to_owned())
        );
        assert!(
            verify("s3cret", &format!("t=soon,{v1}"), BODY, NOW, 300)
                .unwrap_err()
                .contains("not a number")
        );
    }
}
