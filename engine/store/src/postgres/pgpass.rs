//! The password of a connection string that has none, from the password
//! file libpq reads: `$PGPASSFILE`, else `~/.pgpass`. Lines are
//! `host:port:database:user:password`, `*` matching anything, `\` escaping
//! `:` and `\`. As libpq does, a file others may read is ignored.

use std::path::{Path, PathBuf};

/// The password for `host:port/database` as `user`, if a line gives one.
pub(super) fn lookup(host: &str, port: u16, database: &str, user: &str) -> Option<String> {
    let path = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".pgpass")))?;
    from_file(&path, host, port, database, user)
}

fn from_file(path: &Path, host: &str, port: u16, database: &str, user: &str) -> Option<String> {
    if !private(path) {
        tracing::warn!(
            "ignoring the password file {}: others may read it (chmod 600 it)",
            path.display()
        );
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let port = port.to_string();
    let wanted = [host, port.as_str(), database, user];
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .map(fields)
        .find(|fields| {
            fields.len() == 5
                && fields[..4]
                    .iter()
                    .zip(wanted)
                    .all(|(field, want)| field == "*" || field == want)
        })
        .map(|fields| fields[4].clone())
}

fn private(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|meta| meta.permissions().mode() & 0o077 == 0)
}

/// A line's fields, split at unescaped `:`.
fn fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next()
                    && let Some(field) = fields.last_mut()
                {
                    field.push(next);
                }
            }
            ':' => fields.push(String::new()),
            other => {
                if let Some(field) = fields.last_mut() {
                    field.push(other);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn file(text: &str, mode: u32) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        file
    }

    #[test]
    fn the_first_matching_line_gives_the_password_with_wildcards_and_escapes() {
        let pass = file(
            "# comment\nother:5432:*:shutter:wrong\ndb.internal:5432:backups:shutter:s3cr\\:et\n*:*:*:*:fallback\n",
            0o600,
        );
        let look = |host, port, db, user| from_file(pass.path(), host, port, db, user);
        assert_eq!(
            look("db.internal", 5432, "backups", "shutter").as_deref(),
            Some("s3cr:et")
        );
        assert_eq!(
            look("db.internal", 5433, "backups", "shutter").as_deref(),
            Some("fallback")
        );
        assert_eq!(
            look("other", 5432, "x", "shutter").as_deref(),
            Some("wrong")
        );
    }

    #[test]
    fn a_file_others_may_read_is_ignored() {
        let pass = file("*:*:*:*:pw\n", 0o644);
        assert_eq!(from_file(pass.path(), "h", 5432, "d", "u"), None);
    }
}
