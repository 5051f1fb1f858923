//! `RedisUrl` and `Secret`: the only holders of passwords and keys. Their `Debug` and
//! `Display` never show them; only `expose` hands them to the client that needs them.

use std::fmt;

/// A Redis URL (`redis://` or `rediss://`). Its password is only ever handed to the client.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(url::Url);

impl RedisUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text.trim())
            // `url`'s messages quote no input, so they cannot leak a password.
            .map_err(|error| format!("not a URL ({error})"))?;
        if !matches!(url.scheme(), "redis" | "rediss") {
            return Err(format!(
                "scheme must be redis:// or rediss://, not {}://",
                url.scheme()
            ));
        }
        if url.host_str().unwrap_or_default().is_empty() {
            return Err("the URL names no host".into());
        }
        let db = url.path().trim_start_matches('/');
        if !db.is_empty() && db.parse::<u32>().is_err() {
            return Err("the path must be a database number, e.g. redis://host:6379/0".into());
        }
        Ok(Self(url))
    }

    /// The URL with its password, for the Redis client only.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    pub fn has_password(&self) -> bool {
        self.0.password().is_some()
    }

    /// `host:port` of this URL (6379 when no port is given).
    pub fn address(&self) -> String {
        format!(
            "{}:{}",
            self.0.host_str().unwrap_or_default(),
            self.0.port().unwrap_or(6379)
        )
    }

    /// The same credentials, database and scheme at another address (a Sentinel master).
    pub fn with_address(&self, host: &str, port: u16) -> Self {
        let mut url = self.0.clone();
        // Hosts from Sentinel are IPs or names; both are valid in a redis:// URL.
        let _ = url.set_host(Some(host));
        let _ = url.set_port(Some(port));
        Self(url)
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.clone();
        if shown.password().is_some() {
            // set_password only fails for URLs that cannot have one, which a redis:// URL can.
            let _ = shown.set_password(Some("***"));
        }
        f.write_str(shown.as_str())
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

/// A secret (the JWT signing key). Only `expose` hands it out; `Debug` shows no part of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
