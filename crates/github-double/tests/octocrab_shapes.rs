//! The double's answers deserialize into octocrab's typed models: the shapes are GitHub's.

use octocrab::Octocrab;
use portico_github_double::{GithubDouble, OrgModel, RepoModel, TeamModel, UserModel};

const TOKEN: &str = "t0ken";

fn org() -> OrgModel {
    let mut org = OrgModel::new("acme")
        .token(TOKEN)
        .user(
            UserModel::new("alice")
                .name("Alice")
                .email("alice@example.com"),
        )
        .user(UserModel::new("bob"))
        .team(TeamModel::new("eng").name("Engineering"))
        .team(TeamModel::new("platform").parent("eng").member("alice"));
    for i in 0..5 {
        org = org.repo(
            RepoModel::new(format!("repo-{i}")).file("catalog-info.yaml", "kind: Component\n"),
        );
    }
    org
}

fn client(double: &GithubDouble) -> octocrab::Result<Octocrab> {
    Octocrab::builder()
        .base_uri(double.base_url.as_str())?
        .personal_token(TOKEN.to_string())
        .build()
}

#[tokio::test]
async fn typed_models_parse() {
    let double = GithubDouble::start(org()).await.unwrap();
    let octo = client(&double).unwrap();

    let repo = octo.repos("acme", "repo-1").get().await.unwrap();
    assert_eq!(repo.full_name.as_deref(), Some("acme/repo-1"));
    assert_eq!(repo.default_branch.as_deref(), Some("main"));
    assert_eq!(repo.owner.unwrap().login, "acme");

    let page = octo
        .orgs("acme")
        .list_repos()
        .per_page(2)
        .send()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.next.is_some());
    let all: Vec<octocrab::models::Repository> = octo.all_pages(page).await.unwrap();
    assert_eq!(all.len(), 5);

    let profile = octo.users("alice").profile().await.unwrap();
    assert_eq!(profile.name.as_deref(), Some("Alice"));
    let members = octo.orgs("acme").list_members().send().await.unwrap();
    assert_eq!(members.items.len(), 2);

    let teams = octo.teams("acme").list().send().await.unwrap();
    let platform = teams.items.iter().find(|t| t.slug == "platform").unwrap();
    assert_eq!(
        platform.parent.as_ref().map(|p| p.slug.as_str()),
        Some("eng")
    );
    let team_members = octo.teams("acme").members("platform").send().await.unwrap();
    assert_eq!(team_members.items[0].login, "alice");

    let mut content = octo
        .repos("acme", "repo-0")
        .get_content()
        .path("catalog-info.yaml")
        .r#ref("main")
        .send()
        .await
        .unwrap();
    let file = content.take_items().remove(0);
    assert_eq!(file.decoded_content().as_deref(), Some("kind: Component\n"));

    assert_eq!(octo.current().user().await.unwrap().login, "alice");
    let rate = octo.ratelimit().get().await.unwrap();
    assert_eq!(rate.resources.core.limit, 5000);

    match octo.repos("acme", "nope").get().await {
        Err(octocrab::Error::GitHub { source, .. }) => {
            assert_eq!(source.status_code.as_u16(), 404);
            assert_eq!(source.message, "Not Found");
        }
        other => panic!("expected a GitHub 404, got {other:?}"),
    }
    assert!(double.stats().total >= 12);
}
