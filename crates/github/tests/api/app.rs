//! GitHub App credentials: installation tokens minted with an app JWT, cached, renewed,
//! limited to allowed owners, with the integration's token as the fallback.

use crate::helpers::{blob, fast_options, small_org, TOKEN};
use portico_github::config::GithubAppConfig;
use portico_github::{
    FileRead, GithubError, GithubIntegrationConfig, GithubProviderConfig, GithubReader,
};
use portico_github_double::{keys, AppModel, GithubDouble, OrgModel, RepoModel};

const APP_ID: u64 = 4242;

#[expect(
    clippy::unwrap_used,
    reason = "test helper: a broken fixture should fail the test"
)]
fn app_config(private_key: &str, allowed: Option<&[&str]>) -> GithubAppConfig {
    serde_json::from_value(serde_json::json!({
        "appId": APP_ID,
        "privateKey": private_key,
        "clientId": "Iv1.portico",
        "clientSecret": "secret",
        "allowedInstallationOwners": allowed,
    }))
    .unwrap()
}

#[expect(
    clippy::unwrap_used,
    reason = "test helper: a broken fixture should fail the test"
)]
fn app_reader(double: &GithubDouble, token: Option<&str>, app: GithubAppConfig) -> GithubReader {
    let mut integration =
        GithubIntegrationConfig::new("github.com").with_api_base_url(&double.base_url);
    if let Some(token) = token {
        integration = integration.with_token(token);
    }
    integration.apps.push(app);
    GithubReader::with_options(&[integration], fast_options()).unwrap()
}

#[expect(
    clippy::unwrap_used,
    reason = "test helper: a broken fixture should fail the test"
)]
async fn double_with_app() -> GithubDouble {
    let double = GithubDouble::start(small_org()).await.unwrap();
    double.add_app(
        AppModel::new(APP_ID, keys::APP_PUBLIC_KEY_PEM)
            .installed_on_org("acme")
            .installed_on_user("octocat"),
    );
    double
}

/// (app requests, token mints, other requests, other requests with an installation token)
fn credential_use(double: &GithubDouble) -> (usize, usize, usize, usize) {
    let log = double.requests();
    let app: Vec<_> = log.iter().filter(|r| r.path.starts_with("/app/")).collect();
    let mints = app.iter().filter(|r| r.method == "POST").count();
    let other: Vec<_> = log
        .iter()
        .filter(|r| !r.path.starts_with("/app/"))
        .collect();
    let with_installation_token = other
        .iter()
        .filter(|r| {
            r.credential
                .as_deref()
                .is_some_and(|c| c.starts_with("ghs_"))
        })
        .count();
    (app.len(), mints, other.len(), with_installation_token)
}

#[tokio::test]
async fn an_app_alone_reads_and_discovers_with_one_cached_installation_token() {
    let double = double_with_app().await;
    let reader = app_reader(&double, None, app_config(keys::APP_PRIVATE_KEY_PEM, None));

    let FileRead::Content { text, .. } = reader
        .read_file(&blob("svc", "catalog-info.yaml"), None)
        .await
        .unwrap()
    else {
        panic!("expected content")
    };
    assert!(text.contains("name: svc"));
    let found = reader
        .discover(&GithubProviderConfig::new("p", "acme"))
        .await
        .unwrap();
    assert!(found.len() >= 3, "{found:?}");
    let (app, mints, other, with_token) = credential_use(&double);
    assert_eq!(
        (app, mints),
        (2, 1),
        "one listing and one mint for every request"
    );
    assert_eq!(
        with_token, other,
        "every read carried the installation token"
    );

    // A token GitHub no longer accepts is replaced once, and the read succeeds.
    double.expire_installation_tokens();
    double.reset_stats();
    assert!(reader
        .read_file(
            &blob("lib", "catalog-info.yaml").replace("/main/", "/trunk/"),
            None
        )
        .await
        .is_ok());
    let (app, mints, _, _) = credential_use(&double);
    assert_eq!((app, mints), (1, 1), "the installation list stayed cached");
    assert_eq!(double.stats().with_status(401), 1);
}

#[tokio::test]
async fn other_owners_and_disallowed_owners_use_the_token() {
    let double = double_with_app().await;
    double.add_org(OrgModel::new("beta").repo(RepoModel::new("b").file("catalog-info.yaml", "x")));
    let reader = app_reader(
        &double,
        Some(TOKEN),
        app_config(keys::APP_PRIVATE_KEY_PEM, None),
    );
    // Not installed on beta: the token reads it.
    assert!(reader
        .read_file(
            "https://github.com/beta/b/blob/main/catalog-info.yaml",
            None
        )
        .await
        .is_ok());
    let log = double.requests();
    let read = log
        .iter()
        .find(|r| r.path.starts_with("/repos/beta"))
        .unwrap();
    assert_eq!(read.credential.as_deref(), Some(TOKEN));

    // allowedInstallationOwners leaves acme out: no app request at all.
    let double = double_with_app().await;
    let reader = app_reader(
        &double,
        Some(TOKEN),
        app_config(keys::APP_PRIVATE_KEY_PEM, Some(&["someone-else"])),
    );
    assert!(reader
        .read_file(&blob("svc", "catalog-info.yaml"), None)
        .await
        .is_ok());
    let (app, _, other, with_installation_token) = credential_use(&double);
    assert_eq!((app, other, with_installation_token), (0, 1, 0));
}

#[tokio::test]
async fn a_wrong_private_key_is_an_error_naming_the_app() {
    let double = double_with_app().await;
    let reader = app_reader(&double, None, app_config(keys::WRONG_PRIVATE_KEY_PEM, None));
    let err = reader
        .read_file(&blob("svc", "catalog-info.yaml"), None)
        .await
        .unwrap_err();
    let GithubError::Unauthorized { message } = &err else {
        panic!("expected Unauthorized, got {err:?}")
    };
    assert!(
        message.contains(&format!("GitHub App {APP_ID}")),
        "{message}"
    );
    assert!(message.contains("401"), "{message}");
    let err = reader
        .discover(&GithubProviderConfig::new("p", "acme"))
        .await
        .unwrap_err();
    assert!(matches!(err, GithubError::Unauthorized { .. }), "{err:?}");
    assert_eq!(
        credential_use(&double).2,
        0,
        "nothing was read without credentials"
    );
}

#[tokio::test]
async fn installed_organizations_leave_user_accounts_out() {
    let double = double_with_app().await;
    double.with_app(APP_ID, |a| {
        a.installations
            .push(portico_github_double::InstallationModel::new(
                APP_ID,
                "beta",
                "Organization",
            ))
    });
    let reader = app_reader(&double, None, app_config(keys::APP_PRIVATE_KEY_PEM, None));
    assert_eq!(
        reader
            .installed_organizations("github.com", None)
            .await
            .unwrap(),
        ["acme", "beta"]
    );
    assert_eq!(
        reader
            .installed_organizations("github.com", Some(APP_ID))
            .await
            .unwrap(),
        ["acme", "beta"]
    );
    let err = reader
        .installed_organizations("github.com", Some(1))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no GitHub App with appId 1"),
        "{err}"
    );
    let tokens_only = GithubReader::with_options(
        &[GithubIntegrationConfig::new("github.com").with_api_base_url(&double.base_url)],
        fast_options(),
    )
    .unwrap();
    let err = tokens_only
        .installed_organizations("github.com", None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("has no GitHub App"), "{err}");
}
