//! Server configuration: one typed struct resolved from a TOML file, then the environment,
//! then command-line flags, each layer overriding the one before.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;
use url::Url;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default database.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://devauth.db";

/// One layer of settings; unset fields leave the lower layer's value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    /// Address to listen on.
    pub listen: Option<SocketAddr>,
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: Option<String>,
    /// Public base URL of the server.
    pub issuer: Option<String>,
    /// Device code lifetime in seconds.
    pub device_code_lifetime_secs: Option<u64>,
    /// Minimum polling interval in seconds.
    pub interval_secs: Option<u64>,
    /// Access token lifetime in seconds.
    pub access_token_lifetime_secs: Option<u64>,
    /// Refresh token lifetime in seconds.
    pub refresh_token_lifetime_secs: Option<u64>,
    /// Page session lifetime in seconds.
    pub session_lifetime_secs: Option<u64>,
    /// Whether device authorization responses carry `verification_uri_complete`.
    pub verification_uri_complete: Option<bool>,
}

impl ConfigLayer {
    /// Reads a TOML file. Unknown keys are rejected with the key named.
    pub fn from_file(path: &Path) -> Result<Self, anyhow::Error> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            anyhow::anyhow!("cannot read config file {}: {error}", path.display())
        })?;
        toml::from_str(&text)
            .map_err(|error| anyhow::anyhow!("invalid config file {}: {error}", path.display()))
    }

    /// Reads `DEVAUTH_LISTEN`, `DEVAUTH_DATABASE_URL` and `DEVAUTH_ISSUER`.
    pub fn from_env() -> Result<Self, anyhow::Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let listen = var("DEVAUTH_LISTEN")
            .map(|value| {
                value.parse().map_err(|_| {
                    anyhow::anyhow!("invalid DEVAUTH_LISTEN {value:?}: expected HOST:PORT")
                })
            })
            .transpose()?;
        Ok(Self {
            listen,
            database_url: var("DEVAUTH_DATABASE_URL"),
            issuer: var("DEVAUTH_ISSUER"),
            ..Self::default()
        })
    }

    /// Returns `self` with every field that `upper` sets replaced by `upper`'s value.
    pub fn overridden_by(self, upper: ConfigLayer) -> Self {
        Self {
            listen: upper.listen.or(self.listen),
            database_url: upper.database_url.or(self.database_url),
            issuer: upper.issuer.or(self.issuer),
            device_code_lifetime_secs: upper
                .device_code_lifetime_secs
                .or(self.device_code_lifetime_secs),
            interval_secs: upper.interval_secs.or(self.interval_secs),
            access_token_lifetime_secs: upper
                .access_token_lifetime_secs
                .or(self.access_token_lifetime_secs),
            refresh_token_lifetime_secs: upper
                .refresh_token_lifetime_secs
                .or(self.refresh_token_lifetime_secs),
            session_lifetime_secs: upper.session_lifetime_secs.or(self.session_lifetime_secs),
            verification_uri_complete: upper
                .verification_uri_complete
                .or(self.verification_uri_complete),
        }
    }
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    /// Public base URL, without a trailing slash; every advertised URL starts with it.
    pub issuer: String,
    /// Default device code lifetime in seconds (10 minutes).
    pub device_code_lifetime_secs: u64,
    /// Default minimum polling interval in seconds (5).
    pub interval_secs: u64,
    /// Default access token lifetime in seconds (1 hour).
    pub access_token_lifetime_secs: u64,
    /// Default refresh token lifetime in seconds (30 days).
    pub refresh_token_lifetime_secs: u64,
    /// Page session lifetime in seconds (12 hours).
    pub session_lifetime_secs: u64,
    /// Whether device authorization responses carry `verification_uri_complete`.
    pub verification_uri_complete: bool,
}

impl Config {
    /// Fills unset fields with defaults and checks the values.
    pub fn resolve(layer: ConfigLayer) -> Result<Self, anyhow::Error> {
        let listen = match layer.listen {
            Some(listen) => listen,
            None => DEFAULT_LISTEN.parse()?,
        };
        let issuer = layer.issuer.unwrap_or_else(|| format!("http://{listen}"));
        let parsed = Url::parse(&issuer)
            .map_err(|error| anyhow::anyhow!("invalid issuer {issuer:?}: {error}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            anyhow::bail!("invalid issuer {issuer:?}: expected an http or https URL");
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            anyhow::bail!("invalid issuer {issuer:?}: an issuer has no query or fragment");
        }

        let config = Self {
            listen,
            database_url: layer
                .database_url
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            issuer: issuer.trim_end_matches('/').to_owned(),
            device_code_lifetime_secs: layer.device_code_lifetime_secs.unwrap_or(600),
            interval_secs: layer.interval_secs.unwrap_or(5),
            access_token_lifetime_secs: layer.access_token_lifetime_secs.unwrap_or(3600),
            refresh_token_lifetime_secs: layer
                .refresh_token_lifetime_secs
                .unwrap_or(30 * 24 * 3600),
            session_lifetime_secs: layer.session_lifetime_secs.unwrap_or(12 * 3600),
            verification_uri_complete: layer.verification_uri_complete.unwrap_or(true),
        };
        for (name, value) in [
            (
                "device_code_lifetime_secs",
                config.device_code_lifetime_secs,
            ),
            ("interval_secs", config.interval_secs),
            (
                "access_token_lifetime_secs",
                config.access_token_lifetime_secs,
            ),
            (
                "refresh_token_lifetime_secs",
                config.refresh_token_lifetime_secs,
            ),
            ("session_lifetime_secs", config.session_lifetime_secs),
        ] {
            if value == 0 || value > 10 * 365 * 24 * 3600 {
                anyhow::bail!("invalid {name} {value}: expected 1 to 315360000 seconds");
            }
        }
        Ok(config)
    }

    /// Returns whether the issuer is `https`, which decides the `Secure` cookie attribute.
    pub fn issuer_is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// Returns whether the issuer is plain http on a host other than loopback, a setting fit
    /// only for development.
    pub fn issuer_is_insecure(&self) -> bool {
        let Ok(url) = Url::parse(&self.issuer) else {
            return false;
        };
        let loopback = match url.host() {
            Some(url::Host::Domain(domain)) => domain == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        url.scheme() == "http" && !loopback
    }

    /// Returns the issuer's origin (scheme, host and port), compared with a form's `Origin`.
    pub fn issuer_origin(&self) -> String {
        Url::parse(&self.issuer)
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_default()
    }

    /// Builds an absolute URL for a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_win() {
        let file: ConfigLayer =
            toml::from_str("listen = \"127.0.0.1:9000\"\ninterval_secs = 7").unwrap();
        let env = ConfigLayer {
            listen: Some("127.0.0.1:9001".parse().unwrap()),
            ..Default::default()
        };
        let config = Config::resolve(file.overridden_by(env)).unwrap();
        assert_eq!(config.listen.port(), 9001);
        assert_eq!(config.interval_secs, 7);
        assert_eq!(config.issuer, "http://127.0.0.1:9001");
    }

    #[test]
    fn unknown_key_is_named() {
        let error = toml::from_str::<ConfigLayer>("intervall_secs = 7").unwrap_err();
        assert!(error.to_string().contains("intervall_secs"), "{error}");
    }

    #[test]
    fn issuer_checks() {
        let with = |issuer: &str| ConfigLayer {
            issuer: Some(issuer.into()),
            ..Default::default()
        };
        assert!(Config::resolve(with("ftp://example.com")).is_err());
        assert!(Config::resolve(with("https://example.com/?x=1")).is_err());
        let proxied = Config::resolve(with("https://auth.example.com/")).unwrap();
        assert_eq!(proxied.issuer, "https://auth.example.com");
        assert!(proxied.issuer_is_https());
        assert!(!proxied.issuer_is_insecure());
        assert!(Config::resolve(with("http://auth.example.com"))
            .unwrap()
            .issuer_is_insecure());
        assert!(!Config::resolve(with("http://localhost:8080"))
            .unwrap()
            .issuer_is_insecure());
    }
}
