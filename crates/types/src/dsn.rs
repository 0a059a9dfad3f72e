//! Data source names: `mysql://user:password@host:port/database`.
//!
//! A [`Dsn`] is parsed once, up front, before anything connects; every later error about a server
//! names it through its `Display`, which shows the password as `***`. `Debug` does the same, so a
//! `Dsn` inside any other type's `Debug` output cannot leak it either. The password is reachable
//! only through [`Dsn::password`], whose one caller hands it to the driver.

use std::fmt;
use std::str::FromStr;

use url::Url;

/// The port a DSN without one connects to: MySQL's and MariaDB's default.
pub const DEFAULT_PORT: u16 = 3306;

/// Where a server is and how to log in to it. See the module docs for how it keeps its password.
#[derive(Clone, PartialEq, Eq)]
pub struct Dsn {
    user: String,
    password: String,
    host: String,
    port: u16,
    database: Option<String>,
}

/// A DSN that cannot be used. Its text shows the DSN with the password replaced by `***`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DSN '{redacted}': {problem}; expected mysql://user:password@host:port/database")]
pub struct DsnError {
    /// The DSN as given, password replaced by `***`.
    pub redacted: String,
    /// What is wrong with it.
    pub problem: String,
}

impl Dsn {
    /// Parses `mysql://user[:password]@host[:port][/database]`.
    ///
    /// User, password and database are percent-decoded, so a password may hold any character
    /// (`p%40ss` is `p@ss`). The scheme may also be `mariadb`. Query strings are refused rather
    /// than ignored: an option the user believes is in force must not be silently dropped.
    pub fn parse(text: &str) -> Result<Dsn, DsnError> {
        let fail = |problem: &str| DsnError {
            redacted: redact(text),
            problem: problem.to_owned(),
        };
        if !text.contains("://") {
            return Err(fail("it is not a URL"));
        }
        let url = Url::parse(text).map_err(|e| fail(&e.to_string()))?;
        if !matches!(url.scheme(), "mysql" | "mariadb") {
            return Err(fail(&format!("unsupported scheme '{}'", url.scheme())));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(fail("it names no host")),
        };
        let user = decode(url.username()).ok_or_else(|| fail("the user is not valid UTF-8"))?;
        if user.is_empty() {
            return Err(fail("it names no user"));
        }
        let password = decode(url.password().unwrap_or(""))
            .ok_or_else(|| fail("the password is not valid UTF-8"))?;
        let port = match url.port() {
            Some(0) => return Err(fail("port 0 is not a port")),
            Some(p) => p,
            None => DEFAULT_PORT,
        };
        let path = url.path().strip_prefix('/').unwrap_or(url.path());
        let database = match path {
            "" => None,
            p if p.contains('/') => return Err(fail("the path must be a single database name")),
            p => Some(decode(p).ok_or_else(|| fail("the database name is not valid UTF-8"))?),
        };
        if url.query().is_some() {
            return Err(fail("options after '?' are not supported"));
        }
        if url.fragment().is_some() {
            return Err(fail(
                "a '#' fragment is not allowed (percent-encode '#' as %23)",
            ));
        }
        Ok(Dsn {
            user,
            password,
            host,
            port,
            database,
        })
    }

    /// The user to log in as.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The same DSN with `password` (a DSN that gives none gets it from elsewhere: an environment
    /// variable, a file).
    pub fn with_password(&self, password: &str) -> Dsn {
        Dsn {
            password: password.to_owned(),
            ..self.clone()
        }
    }

    /// The password, for handing to the driver. Never format it into a message.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Host name or IP address (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database the DSN names, if any.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The same server and login with another database.
    pub fn with_database(&self, database: Option<&str>) -> Dsn {
        Dsn {
            database: database.map(str::to_owned),
            ..self.clone()
        }
    }

    /// `host:port`, the short name of the server in messages and tables.
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = if self.password.is_empty() { "" } else { ":***" };
        write!(
            f,
            "mysql://{}{}@{}/{}",
            self.user,
            secret,
            self.server(),
            self.database().unwrap_or("")
        )
    }
}

impl fmt::Debug for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dsn({self})")
    }
}

impl FromStr for Dsn {
    type Err = DsnError;
    fn from_str(s: &str) -> Result<Dsn, DsnError> {
        Dsn::parse(s)
    }
}

/// Percent-decodes `s`; `None` when the result is not UTF-8.
fn decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// The DSN text with whatever could be a password replaced by `***`: everything between the
/// first `:` of the user-info part and the last `@`. Used on text that failed to parse, so it
/// assumes nothing else about its shape.
fn redact(text: &str) -> String {
    let start = text.find("://").map_or(0, |i| i + 3);
    let Some(at) = text.rfind('@').filter(|&at| at >= start) else {
        return text.to_owned();
    };
    match text[start..at].find(':') {
        Some(colon) => format!("{}:***{}", &text[..start + colon], &text[at..]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests;
