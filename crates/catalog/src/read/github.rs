//! `url` targets on a configured GitHub host, read through the GitHub API (`portico-github`):
//! files with conditional requests (unchanged files cost no quota), globs expanded through the
//! tree API, relative targets kept inside the same repository and ref, and GitHub's failures
//! mapped to the catalog's read errors.

use super::{ReadError, ReadFile};
use futures_util::{stream, StreamExt, TryStreamExt};
use portico_github::{FileRead, GithubError, GithubReader, GithubUrl};

/// Files of one glob read at once; the reader bounds requests per host on its own too.
const GLOB_READ_CONCURRENCY: usize = 4;

/// Only `NotFound` says the file is gone; rate limits and 5xx are transient, so the engine
/// keeps what the location emitted before.
pub(crate) fn read_error(e: GithubError) -> ReadError {
    match e {
        GithubError::NotFound { message } => ReadError::NotFound(message),
        GithubError::Unauthorized { message } => ReadError::NotAllowed(message),
        e @ GithubError::RateLimited { .. } => ReadError::Transient(e.to_string()),
        GithubError::Transient { message } => ReadError::Transient(message),
        GithubError::Invalid { message } => ReadError::Invalid(message),
    }
}

fn has_glob(path: &str) -> bool {
    path.contains(['*', '?', '[', '{'])
}

/// Reads a file URL, or every file a glob URL matches (sorted by URL).
pub(crate) async fn read_target(
    reader: &GithubReader,
    target: &str,
) -> Result<Vec<ReadFile>, ReadError> {
    let url = GithubUrl::parse(target).map_err(read_error)?;
    if !has_glob(&url.path) {
        return Ok(vec![ReadFile {
            target: target.to_string(),
            content: read_text(reader, target).await?,
        }]);
    }
    let urls = reader.expand_glob(target).await.map_err(read_error)?;
    stream::iter(urls)
        .map(|url| async move {
            let content = read_text(reader, &url).await?;
            Ok::<_, ReadError>(ReadFile {
                target: url,
                content,
            })
        })
        .buffered(GLOB_READ_CONCURRENCY)
        .try_collect()
        .await
}

/// Reads one file as text. The reader's ETag cache makes the request conditional, so an
/// unchanged file answers from the cache after a free 304.
pub(crate) async fn read_text(reader: &GithubReader, target: &str) -> Result<String, ReadError> {
    match reader.read_file(target, None).await.map_err(read_error)? {
        FileRead::Content { text, .. } => Ok(text),
        // Only answered to a caller that passed an ETag; kept total for safety.
        FileRead::NotModified => Err(ReadError::Transient(format!(
            "Could not read {target}: GitHub answered 304 without a cached copy"
        ))),
    }
}

/// Resolves `target` against the GitHub file URL `base`, inside the same repository and ref:
/// `./x.yaml` and `../x.yaml` against the file's folder, `/x.yaml` against the repository
/// root (as Backstage's GitHub integration does). Absolute URLs stay as they are; a path that
/// climbs above the repository root is refused.
pub(crate) fn resolve_in_repository(base: &str, target: &str) -> Result<String, ReadError> {
    if let Ok(absolute) = url::Url::parse(target) {
        return Ok(absolute.to_string());
    }
    let base_url = GithubUrl::parse(base).map_err(read_error)?;
    let (relative, mut segments): (&str, Vec<&str>) = match target.strip_prefix('/') {
        Some(from_root) => (from_root, Vec::new()),
        None => {
            let mut folder: Vec<&str> =
                base_url.path.split('/').filter(|s| !s.is_empty()).collect();
            // The base names a file: its folder is where relative paths start.
            folder.pop();
            (target, folder)
        }
    };
    // A fragment or query has no meaning inside a repository path.
    let relative = relative.split(['#', '?']).next().unwrap_or_default();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err(ReadError::Invalid(format!(
                        "Cannot resolve '{target}' against {base}: it points outside the \
                         repository {}",
                        base_url.project_slug()
                    )));
                }
            }
            other => segments.push(other),
        }
    }
    if segments.is_empty() {
        return Err(ReadError::Invalid(format!(
            "Cannot resolve '{target}' against {base}: it names the repository root, not a file"
        )));
    }
    Ok(base_url.with_path(&segments.join("/")).blob_url())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const BASE: &str = "https://github.com/acme/svc/blob/main/dir/all.yaml";

    #[test]
    fn relative_targets_stay_in_the_repository() {
        let r = |t: &str| resolve_in_repository(BASE, t);
        assert_eq!(
            r("./x.yaml").unwrap(),
            "https://github.com/acme/svc/blob/main/dir/x.yaml"
        );
        assert_eq!(
            r("x.yaml").unwrap(),
            "https://github.com/acme/svc/blob/main/dir/x.yaml"
        );
        assert_eq!(
            r("../y/z.yaml").unwrap(),
            "https://github.com/acme/svc/blob/main/y/z.yaml"
        );
        assert_eq!(
            r("/root.yaml").unwrap(),
            "https://github.com/acme/svc/blob/main/root.yaml"
        );
        assert_eq!(
            r("./services/**/catalog-info.yaml").unwrap(),
            "https://github.com/acme/svc/blob/main/dir/services/**/catalog-info.yaml"
        );
        assert_eq!(
            r("https://github.com/other/repo/blob/dev/a.yaml").unwrap(),
            "https://github.com/other/repo/blob/dev/a.yaml"
        );
        assert!(matches!(r("../../x.yaml"), Err(ReadError::Invalid(_))));
        assert!(matches!(r("/"), Err(ReadError::Invalid(_))));
        let enterprise = "https://ghe.example.com:8443/team/app/tree/v1/a/b.yaml";
        assert_eq!(
            resolve_in_repository(enterprise, "./c.yaml").unwrap(),
            "https://ghe.example.com:8443/team/app/blob/v1/a/c.yaml"
        );
    }

    #[test]
    fn github_errors_map_to_read_errors() {
        let message = || "m".to_string();
        assert!(matches!(
            read_error(GithubError::NotFound { message: message() }),
            ReadError::NotFound(_)
        ));
        assert!(matches!(
            read_error(GithubError::Unauthorized { message: message() }),
            ReadError::NotAllowed(_)
        ));
        assert!(matches!(
            read_error(GithubError::RateLimited {
                retry_after: Duration::from_secs(5),
                message: message()
            }),
            ReadError::Transient(_)
        ));
        assert!(matches!(
            read_error(GithubError::Transient { message: message() }),
            ReadError::Transient(_)
        ));
        assert!(matches!(
            read_error(GithubError::Invalid { message: message() }),
            ReadError::Invalid(_)
        ));
    }

    #[tokio::test]
    async fn location_reader_sends_github_urls_through_the_api() {
        use crate::read::LocationReader;
        use portico_github::{GithubIntegrationConfig, ReaderOptions};
        use portico_github_double::{Failure, GithubDouble, OrgModel, RepoModel};
        let double = GithubDouble::start(
            OrgModel::new("acme").repo(
                RepoModel::new("svc")
                    .file("catalog-info.yaml", "kind: Component\n")
                    .file("services/a/catalog-info.yaml", "a\n")
                    .file("services/b/catalog-info.yaml", "b\n"),
            ),
        )
        .await
        .unwrap();
        let options = ReaderOptions {
            max_retries: 0,
            server_error_backoff: Duration::from_millis(1),
            ..ReaderOptions::default()
        };
        let github = GithubReader::with_options(
            &[GithubIntegrationConfig::new("github.com").with_api_base_url(&double.base_url)],
            options,
        )
        .unwrap();
        let reader = LocationReader::with_github(vec![], Some(github));
        let base = "https://github.com/acme/svc/blob/main";
        assert!(reader.check_url_allowed(&format!("{base}/x.yaml")).is_ok());
        assert!(reader
            .check_url_allowed("https://gitlab.com/a/b/x.yaml")
            .is_err());

        let files = reader
            .read_target("url", &format!("{base}/services/*/catalog-info.yaml"))
            .await
            .unwrap();
        let got: Vec<(&str, &str)> = files
            .iter()
            .map(|f| (f.target.as_str(), f.content.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "https://github.com/acme/svc/blob/main/services/a/catalog-info.yaml",
                    "a\n"
                ),
                (
                    "https://github.com/acme/svc/blob/main/services/b/catalog-info.yaml",
                    "b\n"
                ),
            ]
        );
        assert_eq!(
            reader
                .read_text("url", &format!("{base}/catalog-info.yaml"))
                .await
                .unwrap(),
            "kind: Component\n"
        );
        assert!(matches!(
            reader
                .read_text("url", &format!("{base}/missing.yaml"))
                .await,
            Err(ReadError::NotFound(_))
        ));
        double.fail_next(1, Failure::ServerError { status: 502 });
        assert!(matches!(
            reader
                .read_text("url", &format!("{base}/catalog-info.yaml"))
                .await,
            Err(ReadError::Transient(_))
        ));
        assert_eq!(
            reader
                .resolve_relative("url", &format!("{base}/a/all.yaml"), "../../x.yaml")
                .map_err(|e| e.error_name()),
            Err("InputError")
        );
        assert_eq!(
            reader
                .resolve_relative("url", "https://example.com/a/all.yaml", "../../x.yaml")
                .unwrap(),
            "https://example.com/x.yaml"
        );
    }
}
