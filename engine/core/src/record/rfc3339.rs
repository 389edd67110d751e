//! Timestamps serialized exactly as chrono serializes them (RFC 3339 in
//! UTC, `Z`, the fraction in 0, 3, 6 or 9 digits as the value needs), but
//! written into a buffer and handed over as one string. chrono's own goes
//! through serde's `collect_str`, a character at a time through serde_json's
//! escaping adapter: 7% of the SQLite writer thread's samples in a fan of
//! 2,000 steps, which every append waits for (issue 19). Used on the
//! records the writer serializes on every write (step, try, execution);
//! reading is chrono's. A year outside 0..=9999 or a leap second is left
//! to chrono.

use serde::Serializer;

use super::Timestamp;
use chrono::{Datelike, Timelike};

/// Longest text written here: `2026-12-03T16:47:31.123456789Z`.
const LONGEST: usize = 30;

pub(crate) fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buffer = [0u8; LONGEST];
    match write(at, &mut buffer) {
        Some(text) => serializer.serialize_str(text),
        None => serde::Serialize::serialize(at, serializer),
    }
}

/// [`serialize`] for an optional timestamp (`null` when absent, as serde).
pub(crate) mod option {
    use super::{Serializer, Timestamp};

    pub(crate) fn serialize<S: Serializer>(
        at: &Option<Timestamp>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => serializer.serialize_some(&Fast(at)),
            None => serializer.serialize_none(),
        }
    }

    struct Fast<'a>(&'a Timestamp);

    impl serde::Serialize for Fast<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            super::serialize(self.0, serializer)
        }
    }
}

/// The text of `at` in `buffer`, or `None` where chrono must write it.
fn write<'b>(at: &Timestamp, buffer: &'b mut [u8; LONGEST]) -> Option<&'b str> {
    let year = u32::try_from(at.year()).ok().filter(|year| *year <= 9999)?;
    let nano = at.nanosecond();
    if nano >= 1_000_000_000 {
        return None;
    }
    let fraction = if nano == 0 {
        None
    } else if nano.is_multiple_of(1_000_000) {
        Some((nano / 1_000_000, 3))
    } else if nano.is_multiple_of(1_000) {
        Some((nano / 1_000, 6))
    } else {
        Some((nano, 9))
    };
    let mut len = 0;
    // `separator` (if any), then `value` in `width` digits.
    let mut put = |separator: Option<u8>, value: u32, width: usize| {
        if let Some(separator) = separator {
            buffer[len] = separator;
            len += 1;
        }
        let mut value = value;
        for slot in buffer[len..len + width].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        len += width;
    };
    put(None, year, 4);
    put(Some(b'-'), at.month(), 2);
    put(Some(b'-'), at.day(), 2);
    put(Some(b'T'), at.hour(), 2);
    put(Some(b':'), at.minute(), 2);
    put(Some(b':'), at.second(), 2);
    if let Some((digits, width)) = fraction {
        put(Some(b'.'), digits, width);
    }
    buffer[len] = b'Z';
    std::str::from_utf8(&buffer[..=len]).ok()
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate, TimeZone, Utc};

    use super::*;

    /// What chrono's own serialization writes.
    fn chrono_text(at: &Timestamp) -> String {
        serde_json::to_string(at).expect("serializes")
    }

    fn ours(at: &Timestamp) -> String {
        let mut out = Vec::new();
        serialize(at, &mut serde_json::Serializer::new(&mut out)).expect("serializes");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn writes_what_chrono_writes() {
        let mut cases: Vec<Timestamp> = vec![
            Utc::now(),
            DateTime::UNIX_EPOCH,
            Utc.with_ymd_and_hms(2026, 12, 3, 16, 47, 31).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            // Outside what is written here: left to chrono.
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
            NaiveDate::from_ymd_opt(2016, 12, 31)
                .and_then(|day| day.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
                .expect("a leap second")
                .and_utc(),
        ];
        // Every width of fraction, and values spread over the years.
        let mut state: u64 = 0x5eed;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let seconds = (state >> 33) as i64 % 253_402_300_800; // up to 9999
            let nanos = match state % 4 {
                0 => 0,
                1 => (state >> 7) as u32 % 1_000 * 1_000_000,
                2 => (state >> 7) as u32 % 1_000_000 * 1_000,
                _ => (state >> 7) as u32 % 1_000_000_000,
            };
            cases.push(DateTime::from_timestamp(seconds, nanos).expect("in range"));
        }
        for at in &cases {
            assert_eq!(ours(at), chrono_text(at), "{at:?}");
        }
    }

    #[test]
    fn an_absent_time_is_null_and_a_present_one_reads_back() {
        #[derive(serde::Serialize)]
        struct Row {
            #[serde(serialize_with = "option::serialize")]
            at: Option<Timestamp>,
        }
        let none = serde_json::to_string(&Row { at: None }).expect("serializes");
        assert_eq!(none, r#"{"at":null}"#);
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 16, 47, 31).unwrap()
            + chrono::Duration::microseconds(123_456);
        let some = serde_json::to_string(&Row { at: Some(at) }).expect("serializes");
        assert_eq!(some, r#"{"at":"2026-12-03T16:47:31.123456Z"}"#);
        let read: serde_json::Value = serde_json::from_str(&some).expect("JSON");
        let back: Timestamp = serde_json::from_value(read["at"].clone()).expect("a time");
        assert_eq!(back, at);
    }
}
