//! Passwords that never show in the process's arguments.
//!
//! A password in a DSN on the command line is readable by every user of the host (`ps`,
//! `/proc/<pid>/cmdline`). reshard therefore takes passwords from elsewhere too, preferred in this
//! order: the TOML topology file's DSNs; `--source-password-file` / `--target-password-file`; the
//! environment variables `RESHARD_SOURCE_PASSWORD` / `RESHARD_TARGET_PASSWORD`. Each fills in
//! the DSNs of its role that give no password. And where a password does come on the command line,
//! [`hide_in_arguments`] overwrites it in the process's argument memory right after parsing, as the
//! `mysql` client does (it was visible for the few milliseconds before that).

use std::path::Path;

use crate::Failure;

/// Environment variable with the password of source DSNs that give none.
pub(crate) const SOURCE_PASSWORD_ENV: &str = "RESHARD_SOURCE_PASSWORD";
/// Environment variable with the password of target DSNs that give none.
pub(crate) const TARGET_PASSWORD_ENV: &str = "RESHARD_TARGET_PASSWORD";

/// The password for DSNs of one role that give none: the file's first line, else the
/// environment variable, else none.
pub(crate) fn role_password(file: Option<&Path>, env: &str) -> Result<Option<String>, Failure> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::BadInput(format!(
                "cannot read the password file {}: {e}",
                path.display()
            ))
        })?;
        let line = text.lines().next().unwrap_or_default();
        return Ok(Some(line.to_owned()));
    }
    Ok(std::env::var(env).ok().filter(|p| !p.is_empty()))
}

/// The byte ranges of passwords in one argument: after `://`, the text between the first `:` and
/// the last `@` of the part before the next `/` (`mysql://user:PASSWORD@host/db`, also inside
/// `--source=...`).
fn password_spans(arg: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&arg[from..], b"://") {
        let start = from + at + 3;
        let end = arg[start..]
            .iter()
            .position(|&b| b == b'/' || b == 0)
            .map_or(arg.len(), |p| start + p);
        let authority = &arg[start..end];
        if let Some(last_at) = authority.iter().rposition(|&b| b == b'@')
            && let Some(colon) = authority[..last_at].iter().position(|&b| b == b':')
            && colon + 1 < last_at
        {
            spans.push(start + colon + 1..start + last_at);
        }
        from = end;
    }
    spans
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Overwrites every DSN password in this process's command line (what `ps` and
/// `/proc/<pid>/cmdline` show) with `x`s. Linux only; elsewhere, and if `/proc` cannot say where the
/// arguments are, nothing is done (and the log says so at debug level).
pub(crate) fn hide_in_arguments() {
    #[cfg(target_os = "linux")]
    if let Err(why) = hide_linux() {
        tracing::debug!("passwords in the arguments could not be hidden: {why}");
    }
}

#[cfg(target_os = "linux")]
fn hide_linux() -> Result<(), String> {
    // Fields 48 and 49 of /proc/self/stat (after the command name in parentheses, which may hold
    // spaces) are where the kernel keeps the argument strings: arg_start and arg_end.
    let stat = std::fs::read_to_string("/proc/self/stat").map_err(|e| e.to_string())?;
    let after_name = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or("no command name in /proc/self/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `fields[0]` is field 3 (the state).
    let field = |n: usize| -> Result<usize, String> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("field {n} of /proc/self/stat is missing"))
    };
    let (start, end) = (field(48)?, field(49)?);
    if start == 0 || end <= start {
        return Err(String::from("no argument area"));
    }
    // The area is this process's own memory; /proc/self/mem reads and writes it without any
    // unsafe code (the kernel checks the range).
    use std::os::unix::fs::FileExt;
    let mem = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/proc/self/mem")
        .map_err(|e| e.to_string())?;
    let mut area = vec![0u8; end - start];
    mem.read_exact_at(&mut area, start as u64)
        .map_err(|e| e.to_string())?;
    for span in password_spans(&area) {
        let hidden = vec![b'x'; span.len()];
        mem.write_all_at(&hidden, (start + span.start) as u64)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::password_spans;

    #[test]
    fn passwords_are_found_in_dsns_and_nowhere_else() {
        let args = b"reshard\0move\0--source\0mysql://app:s3cr%40t@db1:3306/shop\0--target=mariadb://u:p@h/d\0mysql://nopass@h/d\0--tables\0a:b@c\0";
        let found: Vec<&[u8]> = password_spans(args).into_iter().map(|r| &args[r]).collect();
        assert_eq!(found, [&b"s3cr%40t"[..], &b"p"[..]]);
    }

    #[test]
    fn a_password_holding_an_at_sign_is_hidden_whole() {
        let arg = b"mysql://app:p@ss@db1/shop";
        let spans = password_spans(arg);
        assert_eq!(spans.len(), 1);
        assert_eq!(&arg[spans[0].clone()], b"p@ss");
    }
}
