//! Shared setup: the corpus location, a small hand-made org, and readers pointed at a double.

use portico_github::{GithubIntegrationConfig, GithubReader, ReaderOptions};
use portico_github_double::{GithubDouble, OrgModel, RepoModel, TeamModel, UserModel};
use std::path::PathBuf;
use std::time::Duration;

pub const TOKEN: &str = "ghp_test_token";

/// The shared corpus beside the repository; `None` (after a loud SKIP) when it is missing,
/// except under CI, where a missing corpus is a failure.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ));
    if dir.join("github").is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the corpus is missing at {}", dir.display());
    }
    eprintln!(
        "\n*** SKIP: corpus not found at {}; corpus tests did not run ***\n",
        dir.display()
    );
    None
}

/// Short waits, so rate-limit and retry tests take about a second.
pub fn fast_options() -> ReaderOptions {
    ReaderOptions {
        max_rate_limit_wait: Duration::from_secs(5),
        server_error_backoff: Duration::from_millis(10),
        rate_limit_backoff: Duration::from_millis(100),
        // Generous: the corpus tests build big trees in a debug build on a busy machine.
        request_timeout: Duration::from_secs(30),
        ..ReaderOptions::default()
    }
}

pub fn integration(
    double: &GithubDouble,
    host: &str,
    token: Option<&str>,
) -> GithubIntegrationConfig {
    let config = GithubIntegrationConfig::new(host).with_api_base_url(&double.base_url);
    match token {
        Some(t) => config.with_token(t),
        None => config,
    }
}

pub fn reader(double: &GithubDouble) -> GithubReader {
    reader_with(double, fast_options())
}

#[expect(
    clippy::expect_used,
    reason = "test helper: a reader that cannot be built should fail the test"
)]
pub fn reader_with(double: &GithubDouble, options: ReaderOptions) -> GithubReader {
    GithubReader::with_options(&[integration(double, "github.com", Some(TOKEN))], options)
        .expect("reader")
}

pub const CATALOG_INFO: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\nspec:\n  type: service\n  lifecycle: production\n  owner: platform\n";

/// A small org: a few repositories with catalog files, users and nested teams.
pub fn small_org() -> OrgModel {
    OrgModel::new("acme")
        .token(TOKEN)
        .repo(
            RepoModel::new("svc")
                .topics(&["backstage"])
                .file("catalog-info.yaml", CATALOG_INFO)
                .file("docs/catalog-info.yaml", "kind: System\n")
                .file("services/a/catalog-info.yaml", "kind: Component\n")
                .file("services/b/catalog-info.yml", "kind: Component\n")
                .file(".github/catalog-info.yaml", "hidden\n")
                .file(
                    "skeleton/${{ values.name }}.yaml",
                    "name: ${{ values.name }}\n",
                )
                .file("README.md", "# svc\n")
                .file_on(
                    "develop",
                    "catalog-info.yaml",
                    "kind: Component # develop\n",
                ),
        )
        .repo(
            RepoModel::new("lib")
                .default_branch("trunk")
                .file("catalog-info.yaml", "kind: Component\n"),
        )
        .repo(RepoModel::new("no-catalog").file("README.md", "nothing\n"))
        .repo(
            RepoModel::new("old")
                .archived(true)
                .file("catalog-info.yaml", "kind: Component\n"),
        )
        .repo(
            RepoModel::new("forked")
                .fork(true)
                .file("catalog-info.yaml", "kind: Component\n"),
        )
        .repo(
            RepoModel::new("secret")
                .visibility("private")
                .topics(&["legacy"])
                .file("catalog-info.yaml", "kind: Component\n"),
        )
        .repo(RepoModel::new("empty").empty())
        .user(
            UserModel::new("alice")
                .name("Alice Liddell")
                .email("alice@example.com")
                .bio("Platform lead"),
        )
        .user(UserModel::new("bob").name("Bob"))
        .user(UserModel::new("carol"))
        .team(
            TeamModel::new("engineering")
                .name("Engineering")
                .description("Everyone who builds")
                .member("carol"),
        )
        .team(
            TeamModel::new("platform")
                .name("Platform")
                .parent("engineering")
                .member("alice")
                .member("bob"),
        )
        .team(
            TeamModel::new("sre")
                .name("SRE")
                .parent("platform")
                .member("bob"),
        )
}

pub fn blob(repo: &str, path: &str) -> String {
    format!("https://github.com/acme/{repo}/blob/main/{path}")
}
