//! The `Shutter-Signature` header: HMAC-SHA256 (RFC 2104) over
//! `"<timestamp>." + body`, Stripe-style (`t=<timestamp>,v1=<hex>`), so a
//! receiver can tell the body came from someone holding the secret, and
//! was not replayed long after.
//!
//! HMAC is written here on top of `sha2` 0.10: the `hmac` crate the
//! lockfile holds (0.13) needs `sha2` 0.11, a second copy of the hash.

use sha2::{Digest, Sha256};

/// SHA-256's block size in bytes: the key is padded (or hashed) to it.
const BLOCK: usize = 64;

/// HMAC-SHA256 of `message` under `key` (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        let hashed: [u8; 32] = Sha256::digest(key).into();
        block[..hashed.len()].copy_from_slice(&hashed);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|byte| byte ^ 0x36));
    inner.update(message);
    let inner: [u8; 32] = inner.finalize().into();
    let mut outer = Sha256::new();
    outer.update(block.map(|byte| byte ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

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

/// Whether `a` and `b` are equal, in a time that does not depend on where
/// they first differ (so timing does not reveal how much of a guess was
/// right).
fn same_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_of(key: &[u8], message: &[u8]) -> String {
        hex::encode(hmac_sha256(key, message))
    }

    #[test]
    fn rfc_4231_test_cases() {
        // Test case 1.
        assert_eq!(
            hex_of(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Test case 2: a key shorter than the output.
        assert_eq!(
            hex_of(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than a block is hashed first.
        assert_eq!(
            hex_of(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

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
