//! Guest stderr as log lines.

use shutter_core::LogLevel;

/// Each non-empty line of `bytes` (lossy UTF-8), as an `info` line; a
/// `warn:`/`error:`/`debug:` prefix picks the level.
pub(crate) fn stderr_lines(bytes: &[u8]) -> Vec<(LogLevel, String)> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let lower = line.to_ascii_lowercase();
            let level = if lower.starts_with("error") {
                LogLevel::Error
            } else if lower.starts_with("warn") {
                LogLevel::Warn
            } else if lower.starts_with("debug") {
                LogLevel::Debug
            } else {
                LogLevel::Info
            };
            (level, line.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_and_reads_levels() {
        let lines = stderr_lines(b"starting\nwarn: slow disk\n\nerror: gave up\n");
        assert_eq!(
            lines,
            vec![
                (LogLevel::Info, "starting".to_owned()),
                (LogLevel::Warn, "warn: slow disk".to_owned()),
                (LogLevel::Error, "error: gave up".to_owned()),
            ]
        );
    }
}
