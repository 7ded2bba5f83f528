//! Endpoint discovery from authorization server metadata (RFC 8414, and OpenID Connect
//! Discovery 1.0, whose document also carries `device_authorization_endpoint`).

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{sanitize_text, Error};
use crate::http::{HttpRequest, HttpTransport, Method};
use crate::response::{content_type, parse_fields, string_field};

/// The endpoints the client talks to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    /// The issuer from the metadata, when the endpoints were discovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The device authorization endpoint (RFC 8628 section 3.1).
    pub device_authorization_endpoint: Url,
    /// The token endpoint, for polling and refresh.
    pub token_endpoint: Url,
    /// The revocation endpoint (RFC 7009).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<Url>,
    /// The endpoint that returns who a bearer token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<Url>,
}

impl Endpoints {
    /// Creates endpoints from explicit URLs, for servers without metadata.
    pub fn new(device_authorization_endpoint: &str, token_endpoint: &str) -> Result<Self, Error> {
        Ok(Self {
            issuer: None,
            device_authorization_endpoint: parse_url(device_authorization_endpoint)?,
            token_endpoint: parse_url(token_endpoint)?,
            revocation_endpoint: None,
            userinfo_endpoint: None,
        })
    }

    /// Returns GitHub's device flow endpoints. GitHub publishes no device metadata, returns
    /// errors with status 200 and sends form bodies unless asked for JSON; the client handles
    /// all three. Its user endpoint is `https://api.github.com/user`.
    pub fn github() -> Self {
        // These literals are valid URLs, checked by a unit test.
        Self {
            issuer: Some("https://github.com".into()),
            device_authorization_endpoint: Url::parse("https://github.com/login/device/code")
                .expect("valid literal URL"),
            token_endpoint: Url::parse("https://github.com/login/oauth/access_token")
                .expect("valid literal URL"),
            revocation_endpoint: None,
            userinfo_endpoint: Some(
                Url::parse("https://api.github.com/user").expect("valid literal URL"),
            ),
        }
    }

    /// Fetches the server's metadata and returns its endpoints.
    ///
    /// Tries, in order, the RFC 8414 location (`/.well-known/oauth-authorization-server`
    /// inserted before the issuer's path), the OpenID Connect location
    /// (`/.well-known/openid-configuration` appended to the issuer), and for an issuer with a
    /// path the RFC 8414 name appended too, as some servers publish it there. A connection
    /// failure stops at once, because the other locations are on the same host.
    pub async fn discover(transport: &dyn HttpTransport, issuer: &str) -> Result<Self, Error> {
        let issuer_url = parse_url(issuer)?;
        let mut last_reason = String::from("no location tried");
        for location in metadata_locations(&issuer_url) {
            let request = HttpRequest {
                method: Method::Get,
                url: location.clone(),
                headers: vec![("accept".into(), "application/json".into())],
                form: None,
            };
            let response = transport
                .send(request)
                .await
                .map_err(|error| Error::Transport {
                    url: location.to_string(),
                    message: error.0,
                })?;
            if response.status != 200 {
                last_reason = format!("{location} returned HTTP {}", response.status);
                tracing::debug!(%location, status = response.status, "no metadata here");
                continue;
            }
            let Some(fields) = parse_fields(&response) else {
                let kind = content_type(&response).unwrap_or_else(|| "no Content-Type".into());
                last_reason = format!("{location} returned a body that is not JSON ({kind})");
                continue;
            };
            return Self::from_metadata(&fields, &location);
        }
        Err(Error::Discovery {
            issuer: issuer.to_owned(),
            reason: last_reason,
        })
    }

    fn from_metadata(fields: &crate::response::Fields, location: &Url) -> Result<Self, Error> {
        let required = |name: &'static str| -> Result<Url, Error> {
            let value = string_field(fields, name).ok_or_else(|| Error::InvalidResponse {
                url: location.to_string(),
                reason: format!("the metadata has no {name}"),
            })?;
            parse_url(value)
        };
        let optional = |name: &str| -> Result<Option<Url>, Error> {
            string_field(fields, name).map(parse_url).transpose()
        };

        // NOTE: the metadata's issuer is not compared with the URL it was fetched for (RFC 8414
        // section 3.3), because devauthd's issuer may name a proxy in front of the address the
        // CLI reaches.
        Ok(Self {
            issuer: string_field(fields, "issuer").map(sanitize_text),
            device_authorization_endpoint: required("device_authorization_endpoint")?,
            token_endpoint: required("token_endpoint")?,
            revocation_endpoint: optional("revocation_endpoint")?,
            userinfo_endpoint: optional("userinfo_endpoint")?,
        })
    }
}

/// Returns the metadata URLs to try for an issuer, in order.
fn metadata_locations(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let mut base = issuer.clone();
    base.set_query(None);
    base.set_fragment(None);

    let with_path = |new_path: String| {
        let mut url = base.clone();
        url.set_path(&new_path);
        url
    };
    let mut locations = vec![
        with_path(format!("/.well-known/oauth-authorization-server{path}")),
        with_path(format!("{path}/.well-known/openid-configuration")),
    ];
    if !path.is_empty() {
        locations.push(with_path(format!(
            "{path}/.well-known/oauth-authorization-server"
        )));
    }
    locations
}

/// Parses an absolute http or https URL.
pub(crate) fn parse_url(value: &str) -> Result<Url, Error> {
    let invalid = |reason: String| Error::InvalidUrl {
        value: sanitize_text(value),
        reason,
    };
    let url = Url::parse(value).map_err(|error| invalid(error.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(invalid("the scheme must be http or https".into()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_locations_for_bare_host() {
        let urls = metadata_locations(&Url::parse("http://127.0.0.1:8080").unwrap());
        let urls: Vec<&str> = urls.iter().map(Url::as_str).collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:8080/.well-known/oauth-authorization-server",
                "http://127.0.0.1:8080/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn metadata_locations_for_issuer_with_path() {
        let urls = metadata_locations(&Url::parse("https://idp.test/realms/dev/").unwrap());
        let urls: Vec<&str> = urls.iter().map(Url::as_str).collect();
        assert_eq!(
            urls,
            [
                "https://idp.test/.well-known/oauth-authorization-server/realms/dev",
                "https://idp.test/realms/dev/.well-known/openid-configuration",
                "https://idp.test/realms/dev/.well-known/oauth-authorization-server",
            ]
        );
    }

    #[test]
    fn github_preset_has_device_and_token_endpoints() {
        let endpoints = Endpoints::github();
        assert_eq!(endpoints.token_endpoint.host_str(), Some("github.com"));
        assert!(endpoints.revocation_endpoint.is_none());
    }

    #[test]
    fn parse_url_rejects_other_schemes() {
        assert!(parse_url("file:///etc/passwd").is_err());
        assert!(parse_url("not a url").is_err());
    }
}
