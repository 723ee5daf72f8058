//! GitHub's JSON shapes for the model's objects, field names as the REST v3 API spells them.

use crate::model::{OrgModel, RepoModel, TeamModel, UserModel};
use base64::Engine;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

/// Git's blob id: SHA-1 of `blob <len>\0<bytes>`.
pub(crate) fn git_blob_sha(content: &[u8]) -> String {
    let mut hasher = Sha1::new();
    hasher.update(format!("blob {}\0", content.len()).as_bytes());
    hasher.update(content);
    hex::encode(hasher.finalize())
}

/// A stand-in object id for trees and commits: SHA-1 of a description of the content.
pub(crate) fn object_sha(parts: &[&[u8]]) -> String {
    let mut hasher = Sha1::new();
    for p in parts {
        hasher.update(p);
        hasher.update(b"\0");
    }
    hex::encode(hasher.finalize())
}

/// The raw-content base for a web base (`https://github.com` → its raw host; Enterprise →
/// `<web>/raw`), as in `download_url`.
fn raw_base(web: &str) -> String {
    if web == "https://github.com" {
        "https://raw.githubusercontent.com".to_string()
    } else {
        format!("{web}/raw")
    }
}

pub(crate) fn simple_user(api: &str, web: &str, user: &UserModel) -> Value {
    let login = &user.login;
    json!({
        "login": login,
        "id": user.id,
        "node_id": node_id("U", user.id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", user.id),
        "gravatar_id": "",
        "url": format!("{api}/users/{login}"),
        "html_url": format!("{web}/{login}"),
        "followers_url": format!("{api}/users/{login}/followers"),
        "following_url": format!("{api}/users/{login}/following{{/other_user}}"),
        "gists_url": format!("{api}/users/{login}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/users/{login}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/users/{login}/subscriptions"),
        "organizations_url": format!("{api}/users/{login}/orgs"),
        "repos_url": format!("{api}/users/{login}/repos"),
        "events_url": format!("{api}/users/{login}/events{{/privacy}}"),
        "received_events_url": format!("{api}/users/{login}/received_events"),
        "type": "User",
        "user_view_type": "public",
        "site_admin": false
    })
}

pub(crate) fn full_user(api: &str, web: &str, user: &UserModel) -> Value {
    let mut v = simple_user(api, web, user);
    if let Some(obj) = v.as_object_mut() {
        for (k, val) in [
            ("name", json!(user.name)),
            ("company", json!(user.company)),
            ("blog", json!("")),
            ("location", json!(user.location)),
            ("email", json!(user.email)),
            ("hireable", Value::Null),
            ("bio", json!(user.bio)),
            ("twitter_username", Value::Null),
            ("public_repos", json!(0)),
            ("public_gists", json!(0)),
            ("followers", json!(0)),
            ("following", json!(0)),
            ("created_at", json!("2020-01-01T00:00:00Z")),
            ("updated_at", json!("2026-01-01T00:00:00Z")),
        ] {
            obj.insert(k.to_string(), val);
        }
    }
    v
}

fn node_id(prefix: &str, id: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("0{prefix}_{id}"))
}

pub(crate) fn org_owner(api: &str, web: &str, org: &OrgModel) -> Value {
    let login = &org.login;
    json!({
        "login": login,
        "id": org.id,
        "node_id": node_id("O", org.id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", org.id),
        "url": format!("{api}/orgs/{login}"),
        "html_url": format!("{web}/{login}"),
        "followers_url": format!("{api}/users/{login}/followers"),
        "following_url": format!("{api}/users/{login}/following{{/other_user}}"),
        "gists_url": format!("{api}/users/{login}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/users/{login}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/users/{login}/subscriptions"),
        "organizations_url": format!("{api}/users/{login}/orgs"),
        "repos_url": format!("{api}/orgs/{login}/repos"),
        "events_url": format!("{api}/orgs/{login}/events"),
        "received_events_url": format!("{api}/users/{login}/received_events"),
        "gravatar_id": "",
        "type": "Organization",
        "site_admin": false
    })
}

pub(crate) fn organization(api: &str, web: &str, org: &OrgModel) -> Value {
    let mut v = org_owner(api, web, org);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("name".into(), json!(org.login));
        obj.insert("public_repos".into(), json!(org.repos.len()));
        obj.insert(
            "members_url".into(),
            json!(format!("{api}/orgs/{}/members{{/member}}", org.login)),
        );
    }
    v
}

pub(crate) fn repository(api: &str, web: &str, org: &OrgModel, repo: &RepoModel) -> Value {
    let full_name = format!("{}/{}", org.login, repo.name);
    let size: usize = repo
        .branches
        .get(&repo.default_branch)
        .map(|files| files.values().map(Vec::len).sum::<usize>() / 1024)
        .unwrap_or(0);
    json!({
        "id": repo.id,
        "node_id": node_id("R", repo.id),
        "name": repo.name,
        "full_name": full_name,
        "private": repo.visibility != "public",
        "owner": org_owner(api, web, org),
        "html_url": format!("{web}/{full_name}"),
        "description": repo.description,
        "fork": repo.fork,
        "url": format!("{api}/repos/{full_name}"),
        "contents_url": format!("{api}/repos/{full_name}/contents/{{+path}}"),
        "trees_url": format!("{api}/repos/{full_name}/git/trees{{/sha}}"),
        "created_at": repo.created_at,
        "updated_at": repo.pushed_at,
        "pushed_at": repo.pushed_at,
        "git_url": format!("git://{}/{full_name}.git", web.trim_start_matches("https://").trim_start_matches("http://")),
        "clone_url": format!("{web}/{full_name}.git"),
        "homepage": Value::Null,
        "size": size,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": Value::Null,
        "has_issues": true,
        "has_wiki": false,
        "forks_count": 0,
        "archived": repo.archived,
        "disabled": false,
        "open_issues_count": 0,
        "license": Value::Null,
        "allow_forking": true,
        "is_template": false,
        "topics": repo.topics,
        "visibility": repo.visibility,
        "forks": 0,
        "open_issues": 0,
        "watchers": 0,
        "default_branch": repo.default_branch,
        "permissions": { "admin": false, "maintain": false, "push": false, "triage": false, "pull": true }
    })
}

/// The contents API's description of one file or directory entry.
pub(crate) struct ContentRef<'a> {
    pub api: &'a str,
    pub web: &'a str,
    pub full_name: &'a str,
    pub git_ref: &'a str,
}

impl ContentRef<'_> {
    fn links(&self, path: &str, kind: &str, sha: &str) -> (String, String, String, Value) {
        let (api, full_name, git_ref) = (self.api, self.full_name, self.git_ref);
        let url = format!("{api}/repos/{full_name}/contents/{path}?ref={git_ref}");
        let git = if kind == "dir" {
            format!("{api}/repos/{full_name}/git/trees/{sha}")
        } else {
            format!("{api}/repos/{full_name}/git/blobs/{sha}")
        };
        let view = if kind == "dir" { "tree" } else { "blob" };
        let html = format!("{}/{full_name}/{view}/{git_ref}/{path}", self.web);
        let links = json!({ "self": url, "git": git, "html": html });
        (url, git, html, links)
    }

    pub(crate) fn file_entry(&self, path: &str, content: &[u8]) -> Value {
        let sha = git_blob_sha(content);
        let (url, git, html, links) = self.links(path, "file", &sha);
        json!({
            "name": path.rsplit('/').next().unwrap_or(path),
            "path": path,
            "sha": sha,
            "size": content.len(),
            "url": url,
            "html_url": html,
            "git_url": git,
            "download_url": format!("{}/{}/{}/{path}", raw_base(self.web), self.full_name, self.git_ref),
            "type": "file",
            "_links": links
        })
    }

    pub(crate) fn file_with_content(&self, path: &str, content: &[u8]) -> Value {
        let mut v = self.file_entry(path, content);
        // GitHub wraps base64 at 60 characters per line.
        let encoded = base64::engine::general_purpose::STANDARD.encode(content);
        let wrapped: Vec<&str> = encoded
            .as_bytes()
            .chunks(60)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("content".into(), json!(format!("{}\n", wrapped.join("\n"))));
            obj.insert("encoding".into(), json!("base64"));
        }
        v
    }

    pub(crate) fn dir_entry(&self, path: &str, sha: &str) -> Value {
        let (url, git, html, links) = self.links(path, "dir", sha);
        json!({
            "name": path.rsplit('/').next().unwrap_or(path),
            "path": path,
            "sha": sha,
            "size": 0,
            "url": url,
            "html_url": html,
            "git_url": git,
            "download_url": Value::Null,
            "type": "dir",
            "_links": links
        })
    }
}

pub(crate) fn team(api: &str, web: &str, org: &OrgModel, team: &TeamModel) -> Value {
    let parent = team
        .parent
        .as_deref()
        .and_then(|p| org.teams.get(p))
        .map(|p| team_simple(api, web, org, p))
        .unwrap_or(Value::Null);
    let mut v = team_simple(api, web, org, team);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("parent".into(), parent);
    }
    v
}

fn team_simple(api: &str, web: &str, org: &OrgModel, team: &TeamModel) -> Value {
    let (login, slug) = (&org.login, &team.slug);
    json!({
        "id": team.id,
        "node_id": node_id("T", team.id),
        "url": format!("{api}/organizations/{}/team/{}", org.id, team.id),
        "html_url": format!("{web}/orgs/{login}/teams/{slug}"),
        "name": team.name,
        "slug": slug,
        "description": team.description,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": format!("{api}/organizations/{}/team/{}/members{{/member}}", org.id, team.id),
        "repositories_url": format!("{api}/organizations/{}/team/{}/repos", org.id, team.id)
    })
}

pub(crate) fn not_found_body() -> Value {
    json!({
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest",
        "status": "404"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_sha_matches_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_sha(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }

    #[test]
    fn file_content_is_wrapped_base64() {
        let r = ContentRef {
            api: "http://x",
            web: "https://github.com",
            full_name: "o/r",
            git_ref: "main",
        };
        let content = vec![b'a'; 100];
        let v = r.file_with_content("dir/a.txt", &content);
        assert_eq!(v["name"], "a.txt");
        assert_eq!(v["encoding"], "base64");
        let text = v["content"].as_str().unwrap();
        assert!(text.lines().all(|l| l.len() <= 60));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(text.replace('\n', ""))
            .unwrap();
        assert_eq!(decoded, content);
        assert_eq!(
            v["download_url"],
            "https://raw.githubusercontent.com/o/r/main/dir/a.txt"
        );
    }
}
