//! Org import (Backstage's `GithubOrgEntityProvider`, over REST): members become `User`
//! entities, teams become `Group` entities of type `team`, with Backstage's default transformers'
//! names, annotations, hierarchy and memberships.

use crate::error::GithubError;
use crate::reader::GithubReader;
use crate::url::encode_strict;
use futures_util::{stream, StreamExt, TryStreamExt};
use serde_json::{json, Map, Value};

pub const ANNOTATION_GITHUB_USER_LOGIN: &str = "github.com/user-login";
pub const ANNOTATION_GITHUB_USER_ID: &str = "github.com/user-id";
pub const ANNOTATION_GITHUB_TEAM_SLUG: &str = "github.com/team-slug";
const ANNOTATION_LOCATION: &str = "backstage.io/managed-by-location";
const ANNOTATION_ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";
const ANNOTATION_EDIT_URL: &str = "backstage.io/edit-url";

impl GithubReader {
    /// Reads `org`'s members (`/orgs/{org}/members`, then `/users/{login}` for each profile) and
    /// teams (`/orgs/{org}/teams` and each team's members) from the GitHub instance whose web URL
    /// is `github_url` (e.g. `https://github.com`), and returns the `User` entities followed by
    /// the `Group` entities, as JSON.
    ///
    /// REST lists a team's members including those of its child teams, where Backstage's GraphQL
    /// query asks for immediate members only; `spec.members` can therefore be larger.
    pub async fn import_org(&self, github_url: &str, org: &str) -> Result<Vec<Value>, GithubError> {
        let parsed = url::Url::parse(github_url)
            .map_err(|e| GithubError::invalid(format!("Invalid githubUrl '{github_url}': {e}")))?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => {
                return Err(GithubError::invalid(format!(
                    "Invalid githubUrl '{github_url}': no host"
                )))
            }
        };
        let web_base = format!("{}://{host}", parsed.scheme());
        let client = self.client_for(&host)?;
        let context = format!("Could not import the GitHub organization {org}");
        let org_path = encode_strict(org);
        let concurrency = self.options().max_concurrency.max(1);

        let members = client
            .get_all_pages(Some(org), &format!("/orgs/{org_path}/members?per_page=100"))
            .await
            .map_err(|e| e.context(&context))?;
        let logins: Vec<String> = members
            .iter()
            .filter_map(|m| m["login"].as_str().map(str::to_string))
            .collect();
        // Owned items: a stream over borrowed ones would make the future not `Send`.
        let profiles: Vec<Option<Value>> = stream::iter(logins.clone())
            .map(|login: String| {
                let client = client.clone();
                let org = org.to_string();
                async move {
                    // The org's credentials: an app installed there can read its members.
                    match client
                        .get_json(Some(&org), &format!("/users/{}", encode_strict(&login)))
                        .await
                    {
                        Ok(user) => Ok(Some(user)),
                        // Left the org or was deleted between the two calls.
                        Err(GithubError::NotFound { .. }) => Ok(None),
                        Err(e) => Err(e),
                    }
                }
            })
            .buffered(concurrency)
            .try_collect()
            .await
            .map_err(|e| e.context(&context))?;
        let mut users: Vec<Value> = profiles.iter().flatten().map(user_entity).collect();

        let teams = client
            .get_all_pages(Some(org), &format!("/orgs/{org_path}/teams?per_page=100"))
            .await
            .map_err(|e| e.context(&context))?;
        let mut groups: Vec<Value> = stream::iter(teams.clone())
            .map(|team: Value| {
                let client = client.clone();
                let org_path = org_path.clone();
                let org = org.to_string();
                let web_base = web_base.clone();
                async move {
                    let slug = team["slug"].as_str().unwrap_or_default();
                    let team_members = client
                        .get_all_pages(
                            Some(&org),
                            &format!(
                                "/orgs/{org_path}/teams/{}/members?per_page=100&role=all",
                                encode_strict(slug)
                            ),
                        )
                        .await?;
                    let logins: Vec<String> = team_members
                        .iter()
                        .filter_map(|m| m["login"].as_str().map(str::to_string))
                        .collect();
                    Ok::<_, GithubError>(team_entity(&team, &org, &web_base, &logins))
                }
            })
            .buffered(concurrency)
            .try_collect()
            .await
            .map_err(|e| e.context(&context))?;

        build_org_hierarchy(&mut groups);
        assign_groups_to_users(&mut users, &groups);
        let mut entities: Vec<Value> = Vec::with_capacity(users.len() + groups.len());
        for user in users {
            let login = user_login(&user);
            entities.push(with_location(user, &format!("url:{web_base}/{login}")));
        }
        for group in groups {
            let slug = group["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            entities.push(with_location(
                group,
                &format!("url:{web_base}/orgs/{org}/teams/{slug}"),
            ));
        }
        tracing::info!(github.org = %org, users = logins.len(), teams = teams.len(),
            "Read GitHub organization");
        Ok(entities)
    }
}

fn non_empty(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

fn user_login(user: &Value) -> String {
    user["metadata"]["annotations"][ANNOTATION_GITHUB_USER_LOGIN]
        .as_str()
        .or(user["metadata"]["name"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Backstage's `defaultUserTransformer`, from a REST `/users/{login}` answer.
pub(crate) fn user_entity(user: &Value) -> Value {
    let login = user["login"].as_str().unwrap_or_default();
    let mut annotations = Map::new();
    annotations.insert(ANNOTATION_GITHUB_USER_LOGIN.into(), json!(login));
    // Backstage's GraphQL `id` is REST's `node_id`.
    if let Some(id) = non_empty(&user["node_id"]) {
        annotations.insert(ANNOTATION_GITHUB_USER_ID.into(), json!(id));
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(login));
    metadata.insert("annotations".into(), Value::Object(annotations));
    if let Some(bio) = non_empty(&user["bio"]) {
        metadata.insert("description".into(), json!(bio));
    }
    let mut profile = Map::new();
    if let Some(name) = non_empty(&user["name"]) {
        profile.insert("displayName".into(), json!(name));
    }
    if let Some(email) = non_empty(&user["email"]) {
        profile.insert("email".into(), json!(email));
    }
    if let Some(avatar) = non_empty(&user["avatar_url"]) {
        profile.insert("picture".into(), json!(avatar));
    }
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "User",
        "metadata": metadata,
        "spec": { "profile": profile, "memberOf": [] }
    })
}

/// Backstage's `defaultOrganizationTeamTransformer`, from a REST team and its members' logins.
pub(crate) fn team_entity(team: &Value, org: &str, web_base: &str, members: &[String]) -> Value {
    let slug = team["slug"].as_str().unwrap_or_default();
    let mut annotations = Map::new();
    annotations.insert(
        ANNOTATION_GITHUB_TEAM_SLUG.into(),
        json!(format!("{org}/{slug}")),
    );
    // GraphQL's `editTeamUrl` is the team page plus `/edit`.
    let team_page = non_empty(&team["html_url"])
        .map(str::to_string)
        .unwrap_or_else(|| format!("{web_base}/orgs/{org}/teams/{slug}"));
    annotations.insert(
        ANNOTATION_EDIT_URL.into(),
        json!(format!("{team_page}/edit")),
    );
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(slug));
    metadata.insert("annotations".into(), Value::Object(annotations));
    if let Some(description) = non_empty(&team["description"]) {
        metadata.insert("description".into(), json!(description));
    }
    let mut profile = Map::new();
    if let Some(name) = non_empty(&team["name"]) {
        profile.insert("displayName".into(), json!(name));
    }
    let mut spec = Map::new();
    spec.insert("type".into(), json!("team"));
    spec.insert("profile".into(), Value::Object(profile));
    spec.insert("children".into(), json!([]));
    if let Some(parent) = non_empty(&team["parent"]["slug"]) {
        spec.insert("parent".into(), json!(parent));
    }
    spec.insert("members".into(), json!(members));
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": metadata,
        "spec": spec
    })
}

/// Backstage's `buildOrgHierarchy`: each parent lists its children; a child listed by a parent
/// gets that parent when it has none.
pub(crate) fn build_org_hierarchy(groups: &mut [Value]) {
    let names: Vec<String> = groups
        .iter()
        .map(|g| {
            g["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let index = |name: &str| names.iter().position(|n| n == name);
    for i in 0..groups.len() {
        let Some(parent) = groups[i]["spec"]["parent"].as_str().map(str::to_string) else {
            continue;
        };
        if let Some(p) = index(&parent) {
            if let Some(children) = groups[p]["spec"]["children"].as_array_mut() {
                let child = json!(names[i]);
                if !children.contains(&child) {
                    children.push(child);
                }
            }
        }
    }
    for i in 0..groups.len() {
        let children: Vec<String> = groups[i]["spec"]["children"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for child in children {
            if let Some(c) = index(&child) {
                if groups[c]["spec"]["parent"].is_null() {
                    if let Some(spec) = groups[c]["spec"].as_object_mut() {
                        spec.insert("parent".into(), json!(names[i]));
                    }
                }
            }
        }
    }
}

/// Backstage's `assignGroupsToUsers`: every user listed in a group's `members` gets the group
/// in `memberOf`.
pub(crate) fn assign_groups_to_users(users: &mut [Value], groups: &[Value]) {
    for group in groups {
        let Some(name) = group["metadata"]["name"].as_str() else {
            continue;
        };
        let members = group["spec"]["members"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for member in members.iter().filter_map(|m| m.as_str()) {
            // Members are user refs: `login`, `user:login` or `user:default/login`.
            let login = member
                .strip_prefix("user:")
                .unwrap_or(member)
                .trim_start_matches("default/");
            let Some(user) = users.iter_mut().find(|u| u["metadata"]["name"] == login) else {
                continue;
            };
            if let Some(member_of) = user["spec"]["memberOf"].as_array_mut() {
                if !member_of.iter().any(|g| g == name) {
                    member_of.push(json!(name));
                }
            }
        }
    }
}

/// Backstage's `withLocations`: the location annotations go first, the entity's own after.
fn with_location(mut entity: Value, location: &str) -> Value {
    let mut annotations = Map::new();
    annotations.insert(ANNOTATION_LOCATION.into(), json!(location));
    annotations.insert(ANNOTATION_ORIGIN_LOCATION.into(), json!(location));
    if let Some(own) = entity["metadata"]["annotations"].as_object() {
        for (k, v) in own {
            annotations.insert(k.clone(), v.clone());
        }
    }
    if let Some(metadata) = entity["metadata"].as_object_mut() {
        metadata.insert("annotations".into(), Value::Object(annotations));
    }
    entity
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_follow_the_default_transformer() {
        let user = user_entity(&json!({
            "login": "octocat", "node_id": "MDQ6VXNlcjE=", "name": "The Octocat",
            "email": "octocat@example.com", "bio": "", "avatar_url": "https://avatars/u/1"
        }));
        assert_eq!(
            user,
            json!({
                "apiVersion": "backstage.io/v1alpha1", "kind": "User",
                "metadata": { "name": "octocat", "annotations": {
                    "github.com/user-login": "octocat", "github.com/user-id": "MDQ6VXNlcjE=" } },
                "spec": { "profile": { "displayName": "The Octocat",
                    "email": "octocat@example.com", "picture": "https://avatars/u/1" },
                    "memberOf": [] }
            })
        );
        let bare = user_entity(&json!({"login": "ghost", "name": null, "email": null}));
        assert_eq!(bare["spec"]["profile"], json!({}));
        assert!(bare["metadata"].get("description").is_none());
    }

    #[test]
    fn teams_follow_the_default_transformer() {
        let team = team_entity(
            &json!({
                "slug": "platform", "name": "Platform", "description": "Builds the platform",
                "html_url": "https://github.com/orgs/acme/teams/platform",
                "parent": {"slug": "engineering"}
            }),
            "acme",
            "https://github.com",
            &["alice".to_string()],
        );
        assert_eq!(
            team,
            json!({
                "apiVersion": "backstage.io/v1alpha1", "kind": "Group",
                "metadata": { "name": "platform", "annotations": {
                    "github.com/team-slug": "acme/platform",
                    "backstage.io/edit-url": "https://github.com/orgs/acme/teams/platform/edit" },
                    "description": "Builds the platform" },
                "spec": { "type": "team", "profile": { "displayName": "Platform" },
                    "children": [], "parent": "engineering", "members": ["alice"] }
            })
        );
    }

    #[test]
    fn hierarchy_and_memberships() {
        let web = "https://github.com";
        let mut groups = vec![
            team_entity(&json!({"slug": "eng"}), "acme", web, &["bob".into()]),
            team_entity(
                &json!({"slug": "platform", "parent": {"slug": "eng"}}),
                "acme",
                web,
                &["alice".into(), "bob".into()],
            ),
            team_entity(
                &json!({"slug": "orphan", "parent": {"slug": "gone"}}),
                "acme",
                web,
                &[],
            ),
        ];
        build_org_hierarchy(&mut groups);
        assert_eq!(groups[0]["spec"]["children"], json!(["platform"]));
        assert_eq!(groups[1]["spec"]["parent"], json!("eng"));
        assert_eq!(groups[2]["spec"]["parent"], json!("gone"));
        let mut users = vec![
            user_entity(&json!({"login": "alice"})),
            user_entity(&json!({"login": "bob"})),
        ];
        assign_groups_to_users(&mut users, &groups);
        assert_eq!(users[0]["spec"]["memberOf"], json!(["platform"]));
        assert_eq!(users[1]["spec"]["memberOf"], json!(["eng", "platform"]));
        let located = with_location(users.remove(0), "url:https://github.com/alice");
        let keys: Vec<&String> = located["metadata"]["annotations"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(
            keys,
            [
                "backstage.io/managed-by-location",
                "backstage.io/managed-by-origin-location",
                "github.com/user-login"
            ]
        );
    }
}
