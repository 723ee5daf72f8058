//! HTTP(S) reads, only from hosts listed in `backend.reading.allow`. Anything else — loopback
//! and private addresses included, unless listed explicitly — is refused, so registering a
//! location cannot be used to make the server fetch arbitrary addresses.

use super::ReadError;
use std::time::Duration;

/// One `backend.reading.allow` entry: `host` may carry a port (`example.com:8080`) or start
/// with `*.` for subdomains; `paths`, when given, are allowed path prefixes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct AllowedHost {
    pub host: String,
    #[serde(default)]
    pub paths: Option<Vec<String>>,
}

impl AllowedHost {
    fn allows(&self, url: &url::Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let pattern = self.host.to_ascii_lowercase();
        let (pattern_host, pattern_port) = match pattern.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => {
                (h.to_string(), p.parse::<u16>().ok())
            }
            _ => (pattern.clone(), None),
        };
        let host_ok = match pattern_host.strip_prefix("*.") {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => host == pattern_host,
        };
        let port_ok = match pattern_port {
            Some(p) => url.port_or_known_default() == Some(p),
            None => url.port().is_none(),
        };
        let path_ok = match &self.paths {
            Some(paths) => paths.iter().any(|p| url.path().starts_with(p.as_str())),
            None => true,
        };
        host_ok && port_ok && path_ok
    }
}

pub(crate) fn check_allowed(allow: &[AllowedHost], target: &str) -> Result<url::Url, ReadError> {
    let url = url::Url::parse(target)
        .map_err(|e| ReadError::Invalid(format!("Invalid URL '{target}': {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ReadError::NotAllowed(format!(
            "Reading from '{target}' is not allowed: only http and https URLs can be read"
        )));
    }
    if allow.iter().any(|a| a.allows(&url)) {
        Ok(url)
    } else {
        Err(ReadError::NotAllowed(format!(
            "Reading from '{target}' is not allowed. You may need to configure an integration \
             for the target host, or add it to the configured list of allowed hosts at \
             'backend.reading.allow'"
        )))
    }
}

pub(crate) fn build_client() -> reqwest::Client {
    reqwest::Client::builder()
        // Redirects could lead off the allow-list; they are refused rather than followed.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

pub(crate) async fn read_url(
    client: &reqwest::Client,
    allow: &[AllowedHost],
    target: &str,
) -> Result<String, ReadError> {
    let url = check_allowed(allow, target)?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| ReadError::Transient(format!("Could not read {target}: {e}")))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(ReadError::NotFound(format!(
            "Could not read {target}, 404 Not Found"
        )));
    }
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(ReadError::Transient(format!(
            "Could not read {target}, {status}"
        )));
    }
    if !status.is_success() {
        return Err(ReadError::Invalid(format!(
            "Could not read {target}, {status}"
        )));
    }
    response
        .text()
        .await
        .map_err(|e| ReadError::Transient(format!("Could not read {target}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(host: &str) -> Vec<AllowedHost> {
        vec![AllowedHost {
            host: host.to_string(),
            paths: None,
        }]
    }

    #[test]
    fn only_listed_hosts_are_allowed() {
        assert!(check_allowed(&allow("example.com"), "https://example.com/a.yaml").is_ok());
        assert!(check_allowed(&allow("example.com"), "https://evil.com/a.yaml").is_err());
        assert!(check_allowed(&allow("example.com"), "http://127.0.0.1/a.yaml").is_err());
        assert!(check_allowed(&allow("example.com"), "http://169.254.169.254/latest").is_err());
        assert!(check_allowed(&allow("example.com"), "file:///etc/passwd").is_err());
        assert!(check_allowed(&[], "https://example.com/a.yaml").is_err());
    }

    #[test]
    fn ports_and_wildcards() {
        assert!(check_allowed(&allow("localhost:8080"), "http://localhost:8080/a").is_ok());
        assert!(check_allowed(&allow("localhost:8080"), "http://localhost:9090/a").is_err());
        assert!(check_allowed(&allow("example.com"), "https://example.com:444/a").is_err());
        assert!(check_allowed(&allow("*.example.com"), "https://raw.example.com/a").is_ok());
        assert!(check_allowed(&allow("*.example.com"), "https://example.com.evil.org/a").is_err());
    }

    #[test]
    fn paths_restrict_prefixes() {
        let a = vec![AllowedHost {
            host: "example.com".into(),
            paths: Some(vec!["/ok/".into()]),
        }];
        assert!(check_allowed(&a, "https://example.com/ok/x.yaml").is_ok());
        assert!(check_allowed(&a, "https://example.com/no/x.yaml").is_err());
    }
}
