//! What the double serves: one organization with repositories (files per branch), users and
//! teams. Built by hand with the small builder API, or from the corpus of real catalog files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The `pushed_at` of repositories nobody changed since the model was built.
const INITIAL_PUSHED_AT: &str = "2026-01-01T00:00:00Z";

/// One organization and everything in it.
#[derive(Debug, Clone)]
pub struct OrgModel {
    pub login: String,
    pub id: u64,
    /// Repositories by name.
    pub repos: BTreeMap<String, RepoModel>,
    /// Every user the double knows (`/users/{login}`), by login.
    pub users: BTreeMap<String, UserModel>,
    /// Logins of the organization's members (`/orgs/{org}/members`).
    pub members: BTreeSet<String>,
    /// Teams by slug.
    pub teams: BTreeMap<String, TeamModel>,
    /// When set, every request must carry `Authorization: Bearer <token>` (or `token <token>`).
    pub token: Option<String>,
    /// The login `GET /user` answers for a valid token.
    pub authenticated_user: Option<String>,
    /// The web base used in `html_url`s, e.g. `https://github.com`.
    pub web_base_url: String,
}

/// One repository. Files are kept per branch as bytes, by path without a leading slash.
#[derive(Debug, Clone)]
pub struct RepoModel {
    pub name: String,
    pub id: u64,
    pub default_branch: String,
    /// `public`, `private` or `internal`.
    pub visibility: String,
    pub archived: bool,
    pub fork: bool,
    pub topics: Vec<String>,
    pub description: Option<String>,
    pub created_at: String,
    pub pushed_at: String,
    pub branches: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// For corpus repositories: the `(owner, repo)` the files were copied from.
    pub corpus_source: Option<(String, String)>,
}

/// A GitHub App: its public key (GitHub keeps only that half), and where it is installed.
#[derive(Debug, Clone)]
pub struct AppModel {
    pub id: u64,
    pub slug: String,
    /// The PEM of the public key app JWTs must be signed for (RS256).
    pub public_key_pem: String,
    pub installations: Vec<InstallationModel>,
    /// How long minted installation tokens live (GitHub: one hour).
    pub token_lifetime: std::time::Duration,
}

/// One installation of an app on an account (an organization or a user).
#[derive(Debug, Clone)]
pub struct InstallationModel {
    pub id: u64,
    /// The account's login.
    pub account: String,
    /// `Organization` or `User`.
    pub target_type: String,
    /// A suspended installation lists, but mints no tokens (403).
    pub suspended: bool,
}

impl AppModel {
    pub fn new(id: u64, public_key_pem: impl Into<String>) -> Self {
        Self {
            id,
            slug: format!("app-{id}"),
            public_key_pem: public_key_pem.into(),
            installations: Vec::new(),
            token_lifetime: std::time::Duration::from_secs(3600),
        }
    }

    /// Installs the app on an organization.
    pub fn installed_on_org(mut self, login: &str) -> Self {
        self.installations
            .push(InstallationModel::new(self.id, login, "Organization"));
        self
    }

    /// Installs the app on a user account.
    pub fn installed_on_user(mut self, login: &str) -> Self {
        self.installations
            .push(InstallationModel::new(self.id, login, "User"));
        self
    }

    pub fn token_lifetime(mut self, lifetime: std::time::Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }
}

impl InstallationModel {
    pub fn new(app_id: u64, account: &str, target_type: &str) -> Self {
        Self {
            id: id_from(&format!("{app_id}/{account}")),
            account: account.to_string(),
            target_type: target_type.to_string(),
            suspended: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct UserModel {
    pub login: String,
    pub id: u64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub bio: Option<String>,
    pub company: Option<String>,
    pub location: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TeamModel {
    pub slug: String,
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    /// The parent team's slug.
    pub parent: Option<String>,
    /// Member logins.
    pub members: Vec<String>,
}

/// Small stable ids from names, so JSON answers do not depend on insertion order.
fn id_from(name: &str) -> u64 {
    name.bytes().fold(1_469_598_103u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1_099_511_628_211)
    }) % 900_000_000
        + 1_000
}

impl OrgModel {
    pub fn new(login: impl Into<String>) -> Self {
        let login = login.into();
        Self {
            id: id_from(&login),
            login,
            repos: BTreeMap::new(),
            users: BTreeMap::new(),
            members: BTreeSet::new(),
            teams: BTreeMap::new(),
            token: None,
            authenticated_user: None,
            web_base_url: "https://github.com".to_string(),
        }
    }

    pub fn repo(mut self, repo: RepoModel) -> Self {
        self.repos.insert(repo.name.clone(), repo);
        self
    }

    /// Adds a user who is a member of the organization.
    pub fn user(mut self, user: UserModel) -> Self {
        self.members.insert(user.login.clone());
        self.users.insert(user.login.clone(), user);
        self
    }

    pub fn team(mut self, team: TeamModel) -> Self {
        self.teams.insert(team.slug.clone(), team);
        self
    }

    /// Requires this token on every request.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    pub fn web_base_url(mut self, url: impl Into<String>) -> Self {
        self.web_base_url = url.into();
        self
    }

    /// An organization holding every repository of the corpus (`<corpus_dir>/github/<owner>/
    /// <repo>/…`), each with its files on `main`. A repository is named as in the corpus, or
    /// `<owner>-<repo>` where two owners share a repository name.
    pub fn from_corpus(corpus_dir: impl AsRef<Path>, org_name: &str) -> std::io::Result<Self> {
        let root = corpus_dir.as_ref().join("github");
        let mut sources: Vec<(String, String)> = Vec::new();
        for owner in sorted_dirs(&root)? {
            for repo in sorted_dirs(&root.join(&owner))? {
                sources.push((owner.clone(), repo));
            }
        }
        let mut name_counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, repo) in &sources {
            *name_counts.entry(repo.as_str()).or_default() += 1;
        }
        let mut model = OrgModel::new(org_name);
        for (owner, repo) in &sources {
            let name = if name_counts.get(repo.as_str()).copied().unwrap_or(0) > 1 {
                format!("{owner}-{repo}")
            } else {
                repo.clone()
            };
            let mut files = BTreeMap::new();
            collect_files(&root.join(owner).join(repo), "", &mut files)?;
            let mut model_repo = RepoModel::new(&name)
                .description(format!("Catalog files from {owner}/{repo}"))
                .topics(&["backstage", "corpus"]);
            model_repo.branches.insert("main".to_string(), files);
            model_repo.corpus_source = Some((owner.clone(), repo.clone()));
            model = model.repo(model_repo);
        }
        Ok(model)
    }

    /// The login `GET /user` answers: the configured one, else the first member.
    pub(crate) fn viewer(&self) -> Option<&UserModel> {
        match &self.authenticated_user {
            Some(login) => self.users.get(login),
            None => self
                .members
                .iter()
                .next()
                .and_then(|login| self.users.get(login)),
        }
    }
}

fn sorted_dirs(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

fn collect_files(
    dir: &Path,
    prefix: &str,
    files: &mut BTreeMap<String, Vec<u8>>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_files(&entry.path(), &path, files)?;
        } else if kind.is_file() {
            files.insert(path, std::fs::read(entry.path())?);
        }
    }
    Ok(())
}

impl RepoModel {
    /// A public repository with an empty `main` branch.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        let mut branches = BTreeMap::new();
        branches.insert("main".to_string(), BTreeMap::new());
        Self {
            id: id_from(&name),
            name,
            default_branch: "main".to_string(),
            visibility: "public".to_string(),
            archived: false,
            fork: false,
            topics: Vec::new(),
            description: None,
            created_at: INITIAL_PUSHED_AT.to_string(),
            pushed_at: INITIAL_PUSHED_AT.to_string(),
            branches,
            corpus_source: None,
        }
    }

    /// Adds a file on the default branch.
    pub fn file(mut self, path: &str, content: impl Into<Vec<u8>>) -> Self {
        let branch = self.default_branch.clone();
        self.branches
            .entry(branch)
            .or_default()
            .insert(path.trim_start_matches('/').to_string(), content.into());
        self
    }

    /// Adds a file on another branch (created if needed).
    pub fn file_on(mut self, branch: &str, path: &str, content: impl Into<Vec<u8>>) -> Self {
        self.branches
            .entry(branch.to_string())
            .or_default()
            .insert(path.trim_start_matches('/').to_string(), content.into());
        self
    }

    /// Renames the default branch (moving its files).
    pub fn default_branch(mut self, branch: &str) -> Self {
        if let Some(files) = self.branches.remove(&self.default_branch) {
            self.branches.insert(branch.to_string(), files);
        }
        self.default_branch = branch.to_string();
        self
    }

    pub fn visibility(mut self, visibility: &str) -> Self {
        self.visibility = visibility.to_string();
        self
    }

    pub fn archived(mut self, archived: bool) -> Self {
        self.archived = archived;
        self
    }

    pub fn fork(mut self, fork: bool) -> Self {
        self.fork = fork;
        self
    }

    pub fn topics(mut self, topics: &[&str]) -> Self {
        self.topics = topics.iter().map(|t| t.to_string()).collect();
        self
    }

    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// An empty repository: no branches at all (GitHub answers 409 for its trees).
    pub fn empty(mut self) -> Self {
        self.branches.clear();
        self
    }
}

impl UserModel {
    pub fn new(login: impl Into<String>) -> Self {
        let login = login.into();
        Self {
            id: id_from(&login),
            login,
            name: None,
            email: None,
            bio: None,
            company: None,
            location: None,
        }
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    pub fn bio(mut self, bio: impl Into<String>) -> Self {
        self.bio = Some(bio.into());
        self
    }
}

impl TeamModel {
    pub fn new(slug: impl Into<String>) -> Self {
        let slug = slug.into();
        Self {
            id: id_from(&slug),
            name: slug.clone(),
            slug,
            description: None,
            parent: None,
            members: Vec::new(),
        }
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    pub fn parent(mut self, parent: impl Into<String>) -> Self {
        self.parent = Some(parent.into());
        self
    }

    pub fn member(mut self, login: impl Into<String>) -> Self {
        self.members.push(login.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder() {
        let org = OrgModel::new("acme")
            .repo(
                RepoModel::new("svc")
                    .file("/catalog-info.yaml", "kind: Component")
                    .file_on("dev", "x.yaml", "x")
                    .default_branch("trunk"),
            )
            .user(UserModel::new("alice").name("Alice"))
            .team(TeamModel::new("platform").member("alice"))
            .token("t");
        let svc = &org.repos["svc"];
        assert_eq!(svc.default_branch, "trunk");
        assert!(svc.branches["trunk"].contains_key("catalog-info.yaml"));
        assert!(svc.branches["dev"].contains_key("x.yaml"));
        assert!(org.members.contains("alice"));
        assert_eq!(org.viewer().map(|u| u.login.as_str()), Some("alice"));
        assert_ne!(id_from("a"), id_from("b"));
    }
}
