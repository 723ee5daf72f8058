//! GitHub web URLs: `https://HOST/OWNER/REPO/(blob|tree|edit|raw)/REF/PATH`, on github.com and
//! Enterprise hosts alike, and the URLs and API paths derived from them.

use crate::error::GithubError;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

/// What URL parsers escape in a path (WHATWG's path percent-encode set): enough for names such
/// as `${{ values.name }}.yaml`, while ordinary paths stay readable.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'%')
    .add(b'/');

/// Everything but unreserved characters: for API paths and query values.
const STRICT: &AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The part of a GitHub URL after the repository name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlKind {
    Blob,
    Tree,
    Edit,
    Raw,
}

impl UrlKind {
    fn as_str(self) -> &'static str {
        match self {
            UrlKind::Blob => "blob",
            UrlKind::Tree => "tree",
            UrlKind::Edit => "edit",
            UrlKind::Raw => "raw",
        }
    }
}

/// A parsed file or folder URL. `path` is decoded and has no leading slash (empty = repo root).
/// The ref is the first segment after `blob`/`tree`, as in Backstage: branch names with slashes
/// cannot be told apart from folders in a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubUrl {
    pub scheme: String,
    /// The host as written in the URL, with a port if it has one.
    pub host: String,
    pub owner: String,
    pub repo: String,
    pub kind: UrlKind,
    pub git_ref: String,
    pub path: String,
}

impl GithubUrl {
    /// Parses `https://HOST/OWNER/REPO/blob/REF/PATH` (or `tree`, `edit`, `raw`). Query strings and
    /// fragments are ignored.
    pub fn parse(url: &str) -> Result<Self, GithubError> {
        let parsed = url::Url::parse(url)
            .map_err(|e| GithubError::invalid(format!("Invalid GitHub URL '{url}': {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(GithubError::invalid(format!(
                "Invalid GitHub URL '{url}': only http and https URLs are supported"
            )));
        }
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => {
                return Err(GithubError::invalid(format!(
                    "Invalid GitHub URL '{url}': no host"
                )))
            }
        };
        let segments: Vec<String> = parsed
            .path_segments()
            .map(|s| s.map(decode).collect())
            .unwrap_or_default();
        let [owner, repo, kind, git_ref, rest @ ..] = segments.as_slice() else {
            return Err(GithubError::invalid(format!(
                "Invalid GitHub URL '{url}': expected https://HOST/OWNER/REPO/blob/REF/PATH"
            )));
        };
        let kind = match kind.as_str() {
            "blob" => UrlKind::Blob,
            "tree" => UrlKind::Tree,
            "edit" => UrlKind::Edit,
            "raw" => UrlKind::Raw,
            other => {
                return Err(GithubError::invalid(format!(
                    "Invalid GitHub URL '{url}': expected blob or tree after the repository, \
                     found '{other}'"
                )))
            }
        };
        if owner.is_empty() || repo.is_empty() || git_ref.is_empty() {
            return Err(GithubError::invalid(format!(
                "Invalid GitHub URL '{url}': owner, repository and ref are required"
            )));
        }
        let path = rest
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("/");
        Ok(Self {
            scheme: parsed.scheme().to_string(),
            host,
            owner: owner.clone(),
            repo: repo.clone(),
            kind,
            git_ref: git_ref.clone(),
            path,
        })
    }

    /// Builds a blob URL from its parts (`path` relative to the repository root).
    pub fn blob(host: &str, owner: &str, repo: &str, git_ref: &str, path: &str) -> Self {
        Self {
            scheme: "https".to_string(),
            host: host.to_string(),
            owner: owner.to_string(),
            repo: repo.to_string(),
            kind: UrlKind::Blob,
            git_ref: git_ref.to_string(),
            path: path.trim_start_matches('/').to_string(),
        }
    }

    /// `OWNER/REPO`, the value of `github.com/project-slug`.
    pub fn project_slug(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    /// `https://HOST/OWNER/REPO`.
    pub fn repo_url(&self) -> String {
        format!(
            "{}://{}/{}/{}",
            self.scheme,
            self.host,
            encode_segment(&self.owner),
            encode_segment(&self.repo)
        )
    }

    /// The same location with another path (relative to the repository root).
    pub fn with_path(&self, path: &str) -> Self {
        Self {
            path: path.trim_start_matches('/').to_string(),
            ..self.clone()
        }
    }

    fn with_kind(&self, kind: UrlKind) -> String {
        let mut url = format!(
            "{}/{}/{}",
            self.repo_url(),
            kind.as_str(),
            encode_segment(&self.git_ref)
        );
        for segment in self.path.split('/').filter(|s| !s.is_empty()) {
            url.push('/');
            url.push_str(&encode_segment(segment));
        }
        url
    }

    /// `…/blob/REF/PATH`: the file's view URL (`backstage.io/view-url`).
    pub fn blob_url(&self) -> String {
        self.with_kind(UrlKind::Blob)
    }

    /// `…/tree/REF/PATH`.
    pub fn tree_url(&self) -> String {
        self.with_kind(UrlKind::Tree)
    }

    /// `…/edit/REF/PATH` (`backstage.io/edit-url`).
    pub fn edit_url(&self) -> String {
        self.with_kind(UrlKind::Edit)
    }

    /// `url:https://HOST/OWNER/REPO/tree/REF/` (`backstage.io/source-location`): the ref's root.
    pub fn source_location(&self) -> String {
        format!(
            "url:{}/tree/{}/",
            self.repo_url(),
            encode_segment(&self.git_ref)
        )
    }

    /// `/repos/OWNER/REPO/contents/PATH?ref=REF`, relative to the API base URL.
    pub fn contents_api_path(&self) -> String {
        let path: Vec<String> = self
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(encode_strict)
            .collect();
        format!(
            "/repos/{}/{}/contents/{}?ref={}",
            encode_strict(&self.owner),
            encode_strict(&self.repo),
            path.join("/"),
            encode_strict(&self.git_ref)
        )
    }

    /// `/repos/OWNER/REPO/git/trees/REF?recursive=1`, relative to the API base URL.
    pub fn tree_api_path(&self) -> String {
        tree_api_path(&self.owner, &self.repo, &self.git_ref)
    }
}

impl std::fmt::Display for GithubUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.with_kind(self.kind))
    }
}

pub(crate) fn tree_api_path(owner: &str, repo: &str, git_ref: &str) -> String {
    // Branch names may hold slashes; the trees endpoint takes them as they are.
    let git_ref: Vec<String> = git_ref.split('/').map(encode_strict).collect();
    format!(
        "/repos/{}/{}/git/trees/{}?recursive=1",
        encode_strict(owner),
        encode_strict(repo),
        git_ref.join("/")
    )
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

pub(crate) fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, PATH_SEGMENT).to_string()
}

pub(crate) fn encode_strict(value: &str) -> String {
    utf8_percent_encode(value, STRICT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_blob_and_tree_urls() {
        let u = GithubUrl::parse("https://github.com/acme/svc/blob/main/dir/catalog-info.yaml")
            .unwrap();
        assert_eq!(
            (
                u.host.as_str(),
                u.owner.as_str(),
                u.repo.as_str(),
                u.git_ref.as_str()
            ),
            ("github.com", "acme", "svc", "main")
        );
        assert_eq!(u.kind, UrlKind::Blob);
        assert_eq!(u.path, "dir/catalog-info.yaml");
        assert_eq!(u.project_slug(), "acme/svc");

        let t = GithubUrl::parse("https://github.com/acme/svc/tree/v1.2/").unwrap();
        assert_eq!((t.kind, t.path.as_str()), (UrlKind::Tree, ""));
        assert_eq!(t.git_ref, "v1.2");
    }

    #[test]
    fn enterprise_hosts_and_ports() {
        let u = GithubUrl::parse("https://ghe.example.com:8443/team/app/blob/dev/a.yaml?x=1#L3")
            .unwrap();
        assert_eq!(u.host, "ghe.example.com:8443");
        assert_eq!(u.path, "a.yaml");
        assert_eq!(
            u.blob_url(),
            "https://ghe.example.com:8443/team/app/blob/dev/a.yaml"
        );
    }

    #[test]
    fn derived_urls() {
        let u = GithubUrl::parse("https://github.com/acme/svc/blob/main/docs/catalog-info.yaml")
            .unwrap();
        assert_eq!(
            u.edit_url(),
            "https://github.com/acme/svc/edit/main/docs/catalog-info.yaml"
        );
        assert_eq!(
            u.tree_url(),
            "https://github.com/acme/svc/tree/main/docs/catalog-info.yaml"
        );
        assert_eq!(
            u.source_location(),
            "url:https://github.com/acme/svc/tree/main/"
        );
        assert_eq!(u.repo_url(), "https://github.com/acme/svc");
        assert_eq!(
            u.contents_api_path(),
            "/repos/acme/svc/contents/docs/catalog-info.yaml?ref=main"
        );
        assert_eq!(
            u.tree_api_path(),
            "/repos/acme/svc/git/trees/main?recursive=1"
        );
        assert_eq!(u.to_string(), u.blob_url());
    }

    #[test]
    fn odd_paths_round_trip() {
        let u = GithubUrl::blob(
            "github.com",
            "o",
            "r",
            "main",
            "/sk/${{ values.name }}.yaml",
        );
        let url = u.blob_url();
        assert_eq!(
            url,
            "https://github.com/o/r/blob/main/sk/$%7B%7B%20values.name%20%7D%7D.yaml"
        );
        let back = GithubUrl::parse(&url).unwrap();
        assert_eq!(back.path, "sk/${{ values.name }}.yaml");
        assert_eq!(
            back.contents_api_path(),
            "/repos/o/r/contents/sk/%24%7B%7B%20values.name%20%7D%7D.yaml?ref=main"
        );
        let spaced = GithubUrl::parse("https://github.com/o/r/blob/main/a%20b/c.yaml").unwrap();
        assert_eq!(spaced.path, "a b/c.yaml");
    }

    #[test]
    fn refuses_what_is_not_a_file_url() {
        for bad in [
            "https://github.com/acme/svc",
            "https://github.com/acme/svc/pulls/1",
            "ftp://github.com/a/b/blob/main/x",
            "not a url",
            "https://github.com/acme/svc/blob/",
        ] {
            assert!(GithubUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
