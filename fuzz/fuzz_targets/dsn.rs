//! DSN parsing on arbitrary text: never panics, and a parsed DSN never shows its password.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reshard_types::Dsn;

fuzz_target!(|text: &str| {
    if let Ok(dsn) = Dsn::parse(text) {
        let password = dsn.password();
        if password.len() >= 4 {
            let shown = format!("{dsn} {dsn:?}");
            // The password may legitimately equal some other part (user, host); only a password
            // that appears nowhere else must be absent from the rendering.
            let elsewhere = [dsn.user(), dsn.host(), dsn.database().unwrap_or("")]
                .iter()
                .any(|p| p.contains(password));
            assert!(
                elsewhere || !shown.contains(password),
                "password shown: {shown}"
            );
        }
    }
});
