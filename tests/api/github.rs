//! GitHub end to end: the GitHub double on a loopback port stands in for api.github.com
//! (`integrations.github[].apiBaseUrl`); discovery, reads, webhooks, rate limits and org
//! import go through the real server on SQLite and PostgreSQL.

use crate::helpers::{test_config, TestApp};
use crate::on_both_backends;
use portico::config::Config;
use portico_catalog::github::{GithubProviderError, GithubSettings};
use portico_github::config::GithubAppConfig;
use portico_github::{
    signature_header, GithubIntegrationConfig, GithubOrgProviderConfig, GithubProviderConfig,
    GithubUrl, ReaderOptions,
};
use portico_github_double::{
    keys, AppModel, Failure, GithubDouble, OrgModel, RepoModel, TeamModel, UserModel,
};
use portico_model::{parse_yaml_documents, prepare_entity, validate_entity, EntityRef};
use portico_test_support::TestDb;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

const TOKEN: &str = "ghp_portico_test";
const SECRET: &str = "webhook-secret";

/// The shared corpus beside the repository; `None` (after a loud SKIP) when it is missing,
/// except under CI, where a missing corpus is a failure.
fn corpus_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"));
    if dir.join("github").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the corpus is missing at {}",
        dir.display()
    );
    eprintln!(
        "\n*** SKIP: corpus not found at {}; the corpus GitHub tests did not run ***\n",
        dir.display()
    );
    None
}

/// A server whose github.com integration points at the double, with the given providers.
fn github_config(
    db: &TestDb,
    double: &GithubDouble,
    providers: Vec<GithubProviderConfig>,
    org_providers: Vec<GithubOrgProviderConfig>,
) -> Config {
    let mut config = test_config(db, vec![], vec![]);
    config.github = GithubSettings {
        integrations: vec![
            GithubIntegrationConfig::new("github.com")
                .with_api_base_url(&double.base_url)
                .with_token(TOKEN),
            // An Enterprise host, served by the same double.
            GithubIntegrationConfig::new("ghe.example.com")
                .with_api_base_url(&double.base_url)
                .with_token(TOKEN),
        ],
        providers,
        org_providers,
        webhook_secret: Some(SECRET.to_string().into()),
        reader_options: ReaderOptions {
            max_rate_limit_wait: Duration::from_secs(5),
            server_error_backoff: Duration::from_millis(10),
            rate_limit_backoff: Duration::from_millis(100),
            ..ReaderOptions::default()
        },
    };
    config
}

fn component(name: &str, description: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  \
         description: {description}\nspec:\n  type: service\n  lifecycle: production\n  \
         owner: platform\n"
    )
}

/// A small organization: two repositories with a catalog file, one without, one archived.
fn acme() -> OrgModel {
    OrgModel::new("acme")
        .token(TOKEN)
        .repo(RepoModel::new("svc").file("catalog-info.yaml", component("svc", "v1")))
        .repo(RepoModel::new("lib").file("catalog-info.yaml", component("lib", "v1")))
        .repo(RepoModel::new("docs").file("README.md", "# docs\n"))
        .repo(
            RepoModel::new("old")
                .archived(true)
                .file("catalog-info.yaml", component("old", "v1")),
        )
}

fn acme_provider() -> GithubProviderConfig {
    GithubProviderConfig::new("acme", "acme")
}

fn blob(repo: &str, path: &str) -> String {
    format!("https://github.com/acme/{repo}/blob/main/{path}")
}

async fn entity(app: &TestApp, kind: &str, name: &str) -> Option<Value> {
    let (status, body) = app
        .get(&format!(
            "/api/catalog/entities/by-name/{kind}/default/{name}"
        ))
        .await;
    (status == 200).then_some(body)
}

/// The processing errors reported on the entities whose ref starts with `prefix`.
async fn errors_of(app: &TestApp, prefix: &str) -> Vec<String> {
    let (status, body) = app.get("/api/catalog/portico/processing-errors").await;
    assert_eq!(status, 200, "{body}");
    body.get("items")
        .unwrap_or(&body)
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entityRef"].as_str().unwrap().starts_with(prefix))
        .flat_map(|e| e["errors"].as_array().cloned().unwrap_or_default())
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The Location entity ref discovery and registration give a `url` target.
fn location_ref(target: &str) -> String {
    format!(
        "location:default/{}",
        portico_catalog::processing::generated_location_name("url", target)
    )
}

fn location_name(target: &str) -> String {
    portico_catalog::processing::generated_location_name("url", target)
}

fn push_payload(repo: &str, modified: &[&str], added: &[&str], removed: &[&str]) -> Vec<u8> {
    json!({
        "ref": "refs/heads/main",
        "before": "1111111", "after": "2222222", "created": false, "deleted": false,
        "repository": {
            "name": repo, "full_name": format!("acme/{repo}"),
            "html_url": format!("https://github.com/acme/{repo}"),
            "default_branch": "main", "master_branch": "main"
        },
        "commits": [{"id": "2222222", "added": added, "modified": modified, "removed": removed}],
        "head_commit": {"id": "2222222", "added": added, "modified": modified, "removed": removed}
    })
    .to_string()
    .into_bytes()
}

/// POSTs a webhook delivery as GitHub would, with `signature` as `X-Hub-Signature-256`.
async fn deliver(
    app: &TestApp,
    event: &str,
    body: Vec<u8>,
    signature: Option<String>,
) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url("/api/events/http/github"))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", uuid::Uuid::new_v4().to_string());
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    let res = request.body(body).send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn discover(app: &TestApp, id: &str) -> usize {
    let run = app.state.github.run_discovery(id).await.expect("discovery");
    app.process().await;
    run.locations
}

/// Schedules every discovered Location and processes: a pass over the whole org.
async fn reprocess_provider(app: &TestApp, id: &str) {
    app.state
        .github
        .refresh_provider_locations(id)
        .await
        .expect("refresh");
    app.process().await;
}

/// Every entity due for processing now: a full processing pass.
async fn make_everything_due(app: &TestApp) {
    use diesel::RunQueryDsl;
    app.state
        .catalog
        .db()
        .write(|conn| {
            portico_store::with_conn!(conn, c => diesel::sql_query(
                "UPDATE refresh_state SET next_update_at = 0").execute(*c))?;
            Ok::<_, portico_catalog::CatalogError>(())
        })
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// The corpus organization

/// `(file URL, Component refs)` for every corpus file that `**/catalog-info.yaml` matches, with
/// the valid Components it holds that need no placeholder read, and whether a document of it is
/// broken (does not parse or is not a valid entity).
struct CorpusFile {
    url: String,
    components: Vec<String>,
    broken: bool,
}

fn corpus_catalog_files(model: &OrgModel) -> Vec<CorpusFile> {
    let mut files = Vec::new();
    for repo in model.repos.values() {
        for (path, bytes) in &repo.branches["main"] {
            let hidden = path.split('/').any(|s| s.starts_with('.'));
            if hidden || path.rsplit('/').next() != Some("catalog-info.yaml") {
                continue;
            }
            let text = String::from_utf8_lossy(bytes);
            let mut components = Vec::new();
            let mut broken = false;
            for doc in parse_yaml_documents(&text) {
                let Ok(mut value) = doc.value else {
                    broken = true;
                    continue;
                };
                prepare_entity(&mut value);
                let Ok(r) = EntityRef::of_entity(&value) else {
                    broken = true;
                    continue;
                };
                if !validate_entity(&value).is_empty() {
                    broken = true;
                    continue;
                }
                let placeholder = ["$text", "$json", "$yaml"]
                    .iter()
                    .any(|p| value.to_string().contains(&format!("\"{p}\"")));
                if r.kind.eq_ignore_ascii_case("component") && !placeholder {
                    components.push(r.to_string());
                }
            }
            files.push(CorpusFile {
                url: GithubUrl::blob("github.com", "corpus", &repo.name, "main", path).blob_url(),
                components,
                broken,
            });
        }
    }
    files
}

async fn discovery_ingests_the_corpus_org(db: TestDb) {
    let Some(corpus) = corpus_dir() else { return };
    let model = OrgModel::from_corpus(&corpus, "corpus").unwrap();
    let expected = corpus_catalog_files(&model);
    let double = GithubDouble::start(model).await.unwrap();
    let mut provider = GithubProviderConfig::new("corpus", "corpus");
    provider.catalog_path = "/**/catalog-info.yaml".into();
    let config = github_config(&db, &double, vec![provider], vec![]);
    let app = TestApp::spawn(db, config).await;

    let started = std::time::Instant::now();
    let locations = discover(&app, "corpus").await;
    let first = double.stats();
    assert_eq!(locations, expected.len(), "one Location per catalog file");
    assert_eq!(
        first.with_prefix("/orgs/corpus/repos"),
        2,
        "148 repositories, 2 pages"
    );

    // Every valid Component of the discovered files is served.
    let (_, all) = app.get("/api/catalog/entities?filter=kind=component").await;
    let served: BTreeSet<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "component:{}/{}",
                e["metadata"]["namespace"].as_str().unwrap_or("default"),
                e["metadata"]["name"].as_str().unwrap()
            )
            .to_lowercase()
        })
        .collect();
    let wanted: BTreeSet<String> = expected
        .iter()
        .flat_map(|f| f.components.iter().map(|c| c.to_lowercase()))
        .collect();
    let missing: Vec<&String> = wanted.difference(&served).collect();
    assert!(missing.is_empty(), "not served: {missing:?}");
    assert!(wanted.len() > 100, "{} components", wanted.len());

    // Broken files are errors on their Locations, naming the file; nothing crashed.
    let errors = errors_of(&app, "location:").await;
    let broken: Vec<&CorpusFile> = expected.iter().filter(|f| f.broken).collect();
    assert!(!broken.is_empty());
    for file in &broken {
        assert!(
            errors.iter().any(|e| e.contains(&file.url)),
            "no error names {}",
            file.url
        );
    }
    eprintln!(
        "corpus discovery: {} locations, {} components served ({} expected), {} broken files, \
         {} GitHub requests ({} counted against the quota), {:.1} s",
        locations,
        served.len(),
        wanted.len(),
        broken.len(),
        first.total,
        first.quota_counted,
        started.elapsed().as_secs_f64()
    );

    // A second pass with nothing changed: discovery, then every entity processed again (the
    // Locations nested in the corpus files too). The listing and every file are conditional
    // requests answered 304, and no tree is listed again. Only reads of files that do not
    // exist (targets of Location files pointing outside the corpus) still cost quota: GitHub
    // sends no ETag with a 404.
    double.reset_stats();
    let served_before = app.get("/api/catalog/entities").await.1;
    assert_eq!(discover(&app, "corpus").await, locations);
    make_everything_due(&app).await;
    app.process().await;
    let second = double.stats();
    assert_eq!(second.with_status(200), 0, "{second:?}");
    assert_eq!(second.to_path("/orgs/corpus/repos"), 2);
    assert_eq!(
        second.quota_counted,
        second.with_status(404),
        "only missing files cost quota: {second:?}"
    );
    assert!(second.not_modified >= expected.len() as u64, "{second:?}");
    assert_eq!(app.get("/api/catalog/entities").await.1, served_before);
    eprintln!(
        "corpus second pass: {} requests, {} answered 304, {} counted against the quota (all \
         404s of files that do not exist)",
        second.total, second.not_modified, second.quota_counted
    );
    app.stop().await;
}
on_both_backends!(discovery_ingests_the_corpus_org);

// ---------------------------------------------------------------------------------------------
// A small organization

async fn an_unchanged_second_pass_costs_no_quota(db: TestDb) {
    let double = GithubDouble::start(acme()).await.unwrap();
    // With the existence check, discovery emits only the files that exist, and checks a
    // repository again only when it was pushed to.
    let mut provider = acme_provider();
    provider.validate_locations_exist = true;
    let config = github_config(&db, &double, vec![provider], vec![]);
    let app = TestApp::spawn(db, config).await;
    assert_eq!(discover(&app, "acme").await, 2);
    assert_eq!(app.names_of_kind("component").await, ["lib", "svc"]);
    let first = double.stats();
    assert_eq!(
        first.quota_counted, 4,
        "one listing, three checks: {first:?}"
    );
    assert_eq!(
        first.not_modified, 2,
        "the reads after the checks: {first:?}"
    );

    // Nothing changed: the listing and both reads are 304s, free of quota.
    double.reset_stats();
    assert_eq!(discover(&app, "acme").await, 2);
    reprocess_provider(&app, "acme").await;
    let second = double.stats();
    assert_eq!(second.quota_counted, 0, "{second:?}");
    assert_eq!((second.total, second.not_modified), (3, 3), "{second:?}");
    assert_eq!(second.to_path("/orgs/acme/repos"), 1);

    let (status, quota) = app.get("/api/catalog/portico/github/rate-limit").await;
    assert_eq!(status, 200, "{quota}");
    assert_eq!(quota["hosts"][0]["host"], "github.com");
    assert_eq!(quota["hosts"][0]["limit"], 5000);
    assert_eq!(quota["hosts"][0]["remaining"], 4996, "{quota}");
    app.stop().await;
}
on_both_backends!(an_unchanged_second_pass_costs_no_quota);

async fn a_signed_push_refreshes_the_changed_location(db: TestDb) {
    let double = GithubDouble::start(acme()).await.unwrap();
    let config = github_config(&db, &double, vec![acme_provider()], vec![]);
    let app = TestApp::spawn(db, config).await;
    discover(&app, "acme").await;
    double.put_file("svc", "catalog-info.yaml", component("svc", "v2"));
    let body = push_payload("svc", &["catalog-info.yaml", "src/main.rs"], &[], &[]);

    // Refused without reading the body: a bad signature, a missing one, a signature of
    // another body.
    for signature in [
        Some(signature_header("not-the-secret", &body)),
        None,
        Some(signature_header(SECRET, b"{}")),
    ] {
        let (status, error) = deliver(&app, "push", body.clone(), signature).await;
        assert_eq!(status, 401, "{error}");
        assert_eq!(error["error"]["name"], "AuthenticationError");
        assert_eq!(error["response"]["statusCode"], 401);
        assert_eq!(error["request"]["method"], "POST");
    }
    app.process().await;
    let svc = entity(&app, "component", "svc").await.unwrap();
    assert_eq!(svc["metadata"]["description"], "v1");

    // Signed: only the Location that reads the changed file is refreshed.
    double.reset_stats();
    let signature = signature_header(SECRET, &body);
    let (status, accepted) = deliver(&app, "push", body, Some(signature)).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["refreshedLocations"], 1);
    app.process().await;
    let svc = entity(&app, "component", "svc").await.unwrap();
    assert_eq!(svc["metadata"]["description"], "v2");
    let stats = double.stats();
    assert_eq!(stats.total, 1, "one read of the changed file: {stats:?}");
    assert_eq!(
        stats.to_path("/repos/acme/svc/contents/catalog-info.yaml"),
        1
    );

    // A push to another branch, or of other files, refreshes nothing.
    let mut other_branch: Value =
        serde_json::from_slice(&push_payload("svc", &["catalog-info.yaml"], &[], &[])).unwrap();
    other_branch["ref"] = json!("refs/heads/feature");
    let other_branch = other_branch.to_string().into_bytes();
    let signature = signature_header(SECRET, &other_branch);
    let (status, accepted) = deliver(&app, "push", other_branch, Some(signature)).await;
    assert_eq!((status, &accepted["refreshedLocations"]), (202, &json!(0)));
    let readme = push_payload("lib", &["README.md"], &[], &[]);
    let signature = signature_header(SECRET, &readme);
    let (_, accepted) = deliver(&app, "push", readme, Some(signature)).await;
    assert_eq!(accepted["refreshedLocations"], 0);

    // A ping, and events nobody handles, are accepted and ignored.
    let ping = br#"{"zen":"Keep it logically awesome."}"#.to_vec();
    let signature = signature_header(SECRET, &ping);
    assert_eq!(deliver(&app, "ping", ping, Some(signature)).await.0, 202);
    app.stop().await;
}
on_both_backends!(a_signed_push_refreshes_the_changed_location);

async fn a_deleted_repository_goes_away_after_discovery(db: TestDb) {
    let double = GithubDouble::start(acme()).await.unwrap();
    let config = github_config(&db, &double, vec![acme_provider()], vec![]);
    let app = TestApp::spawn(db, config).await;
    discover(&app, "acme").await;
    assert_eq!(app.names_of_kind("component").await, ["lib", "svc"]);

    // The next scheduled discovery drops the repository's Location and what it emitted.
    assert!(double.delete_repo("lib"));
    discover(&app, "acme").await;
    assert_eq!(app.names_of_kind("component").await, ["svc"]);
    let lib_location = location_name(&blob("lib", "catalog-info.yaml"));
    assert!(entity(&app, "location", &lib_location).await.is_none());

    // A `repository` event starts discovery at once.
    assert!(double.delete_repo("svc"));
    let body = json!({
        "action": "deleted",
        "repository": {"name": "svc", "full_name": "acme/svc", "default_branch": "main"},
        "organization": {"login": "acme"}
    })
    .to_string()
    .into_bytes();
    let signature = signature_header(SECRET, &body);
    let (status, accepted) = deliver(&app, "repository", body, Some(signature)).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["discovery"], json!(["acme"]));
    app.state.github.wait_for_triggered_runs().await;
    app.process().await;
    assert!(app.names_of_kind("component").await.is_empty());

    // A new repository appears on the next run.
    double.add_repo(RepoModel::new("new").file("catalog-info.yaml", component("new", "v1")));
    discover(&app, "acme").await;
    assert_eq!(app.names_of_kind("component").await, ["new"]);
    app.stop().await;
}
on_both_backends!(a_deleted_repository_goes_away_after_discovery);

async fn rate_limits_and_outages_delay_and_delete_nothing(db: TestDb) {
    let double = GithubDouble::start(acme()).await.unwrap();
    let config = github_config(&db, &double, vec![acme_provider()], vec![]);
    let app = TestApp::spawn(db, config).await;
    discover(&app, "acme").await;
    let svc_location = location_ref(&blob("svc", "catalog-info.yaml"));

    // A failed listing applies no mutation: the Locations and their entities stay.
    double.fail_next_on(
        "/orgs/acme/repos",
        1,
        Failure::SecondaryRateLimit {
            retry_after: Duration::from_secs(900),
        },
    );
    let failed = app.state.github.run_discovery("acme").await;
    assert!(
        matches!(&failed, Err(GithubProviderError::Github(e)) if e.is_retryable()),
        "{failed:?}"
    );
    double.fail_next_on("/orgs/acme/repos", 10, Failure::ServerError { status: 502 });
    assert!(app.state.github.run_discovery("acme").await.is_err());
    double.clear_failures();
    app.process().await;
    assert_eq!(app.names_of_kind("component").await, ["lib", "svc"]);

    // A file that cannot be re-read (5xx after the retries) keeps its entities and reports
    // the failure on its Location.
    double.put_file("svc", "catalog-info.yaml", component("svc", "v2"));
    double.fail_next_on(
        "/repos/acme/svc/contents",
        10,
        Failure::ServerError { status: 503 },
    );
    reprocess_provider(&app, "acme").await;
    double.clear_failures();
    let svc = entity(&app, "component", "svc").await.unwrap();
    assert_eq!(svc["metadata"]["description"], "v1");
    let errors = errors_of(&app, &svc_location).await;
    assert!(errors.iter().any(|e| e.contains("503")), "{errors:?}");

    // A short primary rate limit is waited out: the read succeeds, the error clears.
    double.fail_next_on(
        "/repos/acme/svc/contents",
        1,
        Failure::RateLimited {
            reset_in: Duration::from_secs(1),
            retry_after: None,
        },
    );
    reprocess_provider(&app, "acme").await;
    let svc = entity(&app, "component", "svc").await.unwrap();
    assert_eq!(svc["metadata"]["description"], "v2");
    assert!(errors_of(&app, &svc_location).await.is_empty());

    // A long one is not waited out: the read fails as transient and nothing is removed.
    double.put_file("svc", "catalog-info.yaml", component("svc", "v3"));
    double.fail_next_on(
        "/repos/acme/svc/contents",
        1,
        Failure::RateLimited {
            reset_in: Duration::from_secs(900),
            retry_after: None,
        },
    );
    reprocess_provider(&app, "acme").await;
    assert_eq!(app.names_of_kind("component").await, ["lib", "svc"]);
    let svc = entity(&app, "component", "svc").await.unwrap();
    assert_eq!(svc["metadata"]["description"], "v2");
    let errors = errors_of(&app, &svc_location).await;
    assert!(
        errors.iter().any(|e| e.contains("retry after")),
        "{errors:?}"
    );
    app.stop().await;
}
on_both_backends!(rate_limits_and_outages_delay_and_delete_nothing);

async fn org_import_yields_users_and_groups(db: TestDb) {
    let org = acme()
        .user(
            UserModel::new("alice")
                .name("Alice Liddell")
                .email("alice@example.com"),
        )
        .user(UserModel::new("bob").name("Bob"))
        .user(UserModel::new("carol"))
        .team(
            TeamModel::new("engineering")
                .name("Engineering")
                .member("carol"),
        )
        .team(
            TeamModel::new("platform")
                .name("Platform")
                .parent("engineering")
                .member("alice")
                .member("bob"),
        );
    let double = GithubDouble::start(org).await.unwrap();
    let org_provider = GithubOrgProviderConfig {
        id: "acme-org".into(),
        github_url: "https://github.com".into(),
        orgs: vec!["acme".into()],
        schedule: None,
    };
    let config = github_config(&db, &double, vec![], vec![org_provider]);
    let app = TestApp::spawn(db, config).await;
    let run = app.state.github.run_org_import("acme-org").await.unwrap();
    assert_eq!((run.users, run.groups), (3, 2));
    app.process().await;
    assert_eq!(app.names_of_kind("user").await, ["alice", "bob", "carol"]);
    assert_eq!(
        app.names_of_kind("group").await,
        ["engineering", "platform"]
    );

    let relations = |e: &Value| -> BTreeSet<String> {
        e["relations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r["type"].as_str().unwrap(),
                    r["targetRef"].as_str().unwrap()
                )
            })
            .collect()
    };
    let alice = entity(&app, "user", "alice").await.unwrap();
    assert_eq!(alice["spec"]["profile"]["email"], "alice@example.com");
    assert_eq!(
        alice["metadata"]["annotations"]["github.com/user-login"],
        "alice"
    );
    assert!(
        relations(&alice).contains("memberOf group:default/platform"),
        "{alice}"
    );
    let platform = entity(&app, "group", "platform").await.unwrap();
    let platform_relations = relations(&platform);
    for expected in [
        "hasMember user:default/alice",
        "hasMember user:default/bob",
        "childOf group:default/engineering",
    ] {
        assert!(
            platform_relations.contains(expected),
            "{expected}: {platform_relations:?}"
        );
    }
    let engineering = entity(&app, "group", "engineering").await.unwrap();
    assert!(relations(&engineering).contains("parentOf group:default/platform"));
    assert_eq!(
        engineering["metadata"]["annotations"]["github.com/team-slug"],
        "acme/engineering"
    );

    // A member who leaves disappears on the next run; a failed run changes nothing.
    double.with_model(|m| {
        m.members.remove("carol");
        if let Some(team) = m.teams.get_mut("engineering") {
            team.members.clear();
        }
    });
    double.fail_next_on("/orgs/acme/teams", 10, Failure::ServerError { status: 500 });
    assert!(app.state.github.run_org_import("acme-org").await.is_err());
    double.clear_failures();
    app.process().await;
    assert_eq!(app.names_of_kind("user").await, ["alice", "bob", "carol"]);
    app.state.github.run_org_import("acme-org").await.unwrap();
    app.process().await;
    assert_eq!(app.names_of_kind("user").await, ["alice", "bob"]);
    app.stop().await;
}
on_both_backends!(org_import_yields_users_and_groups);

/// A repository whose Location file lists targets relative to itself, to the repository root,
/// and a glob.
fn platform_repo() -> RepoModel {
    RepoModel::new("platform")
        .file(
            "catalog/all.yaml",
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: platform\n\
             spec:\n  targets:\n    - ./components/a.yaml\n    - ../services/b.yaml\n    \
             - /root.yaml\n    - ./more/*.yaml\n",
        )
        .file("catalog/components/a.yaml", component("a", "v1"))
        .file("services/b.yaml", component("b", "v1"))
        .file("root.yaml", component("c", "v1"))
        .file("catalog/more/d.yaml", component("d", "v1"))
        .file("catalog/more/e.yaml", component("e", "v1"))
}

async fn a_registered_github_url_is_read_through_the_api(db: TestDb) {
    let double = GithubDouble::start(acme().repo(platform_repo()))
        .await
        .unwrap();
    let config = github_config(&db, &double, vec![], vec![]);
    let app = TestApp::spawn(db, config).await;
    let target = blob("platform", "catalog/all.yaml");

    // The GitHub host needs no backend.reading.allow entry; other hosts still do.
    app.register_url_location(&target).await;
    let (status, refused) = app
        .post(
            "/api/catalog/locations",
            &json!({"type": "url", "target": "https://gitlab.example.com/a/b/-/raw/main/c.yaml"}),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    app.process().await;
    assert_eq!(
        app.names_of_kind("component").await,
        ["a", "b", "c", "d", "e"]
    );
    let a = entity(&app, "component", "a").await.unwrap();
    let annotations = &a["metadata"]["annotations"];
    let a_url = blob("platform", "catalog/components/a.yaml");
    assert_eq!(
        annotations["backstage.io/managed-by-location"],
        format!("url:{a_url}")
    );
    assert_eq!(
        annotations["backstage.io/managed-by-origin-location"],
        format!("url:{target}")
    );
    assert_eq!(
        annotations["backstage.io/edit-url"],
        "https://github.com/acme/platform/edit/main/catalog/components/a.yaml"
    );
    assert_eq!(
        annotations["backstage.io/source-location"],
        "url:https://github.com/acme/platform/tree/main/catalog/components/"
    );
    assert_eq!(annotations["github.com/project-slug"], "acme/platform");
    let stats = double.stats();
    assert_eq!(stats.to_path("/repos/acme/platform/contents/root.yaml"), 1);
    assert_eq!(stats.to_path("/repos/acme/platform/git/trees/main"), 1);

    // A push of a file a nested Location reads refreshes that Location.
    double.put_file("platform", "services/b.yaml", component("b", "v2"));
    let body = push_payload("platform", &["services/b.yaml"], &[], &[]);
    let signature = signature_header(SECRET, &body);
    let (status, accepted) = deliver(&app, "push", body, Some(signature)).await;
    assert_eq!(
        (status, &accepted["refreshedLocations"]),
        (202, &json!(1)),
        "{accepted}"
    );
    app.process().await;
    let b = entity(&app, "component", "b").await.unwrap();
    assert_eq!(b["metadata"]["description"], "v2");

    // Malformed YAML is an error on the Location; the rest still ingests, nothing is lost.
    double.put_file("platform", "catalog/more/e.yaml", "kind: [unclosed\n");
    let body = push_payload("platform", &["catalog/more/e.yaml"], &[], &[]);
    let signature = signature_header(SECRET, &body);
    assert_eq!(deliver(&app, "push", body, Some(signature)).await.0, 202);
    app.process().await;
    assert_eq!(
        app.names_of_kind("component").await,
        ["a", "b", "c", "d", "e"]
    );
    let errors = errors_of(&app, "location:").await;
    assert!(
        errors
            .iter()
            .any(|e| e.contains("catalog/more/e.yaml") && e.contains("YAML")),
        "{errors:?}"
    );

    // A wrong token is NotAllowed on the Location, never a deletion.
    double.set_token(Some("another-token"));
    app.state
        .catalog
        .refresh(&portico_catalog::parse_full_ref(&location_ref(&target)).unwrap())
        .await
        .unwrap();
    app.process().await;
    double.set_token(Some(TOKEN));
    assert_eq!(
        app.names_of_kind("component").await,
        ["a", "b", "c", "d", "e"]
    );
    let errors = errors_of(&app, "location:").await;
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("NotAllowedError") && e.contains("401")),
        "{errors:?}"
    );

    // A repository that does not exist is a NotFoundError on its Location.
    let missing = "https://github.com/acme/nope/blob/main/catalog-info.yaml";
    app.register_url_location(missing).await;
    app.process().await;
    let errors = errors_of(&app, &location_ref(missing)).await;
    assert!(
        errors.iter().any(|e| e.starts_with("NotFoundError")),
        "{errors:?}"
    );

    // The Enterprise form: the same URL shape on the configured host, read through its API.
    let enterprise = "https://ghe.example.com/acme/svc/blob/main/catalog-info.yaml";
    app.register_url_location(enterprise).await;
    app.process().await;
    let svc = entity(&app, "component", "svc").await.unwrap();
    assert_eq!(
        svc["metadata"]["annotations"]["backstage.io/edit-url"],
        "https://ghe.example.com/acme/svc/edit/main/catalog-info.yaml"
    );
    app.stop().await;
}
on_both_backends!(a_registered_github_url_is_read_through_the_api);

#[actix_web::test]
async fn repositories_without_the_file_cost_a_404_per_pass() {
    // Backstage's default: a Location per repository, file or not (presence optional).
    let db = TestDb::sqlite();
    let double = GithubDouble::start(acme()).await.unwrap();
    let config = github_config(&db, &double, vec![acme_provider()], vec![]);
    let app = TestApp::spawn(db, config).await;
    assert_eq!(
        discover(&app, "acme").await,
        3,
        "svc, lib and docs; not the archived one"
    );
    assert_eq!(app.names_of_kind("component").await, ["lib", "svc"]);
    // A repository without the file is not an error.
    assert!(errors_of(&app, "location:").await.is_empty());
    double.reset_stats();
    discover(&app, "acme").await;
    reprocess_provider(&app, "acme").await;
    let second = double.stats();
    assert_eq!(second.not_modified, 3, "listing and two files: {second:?}");
    assert_eq!(second.with_status(404), 1, "docs: {second:?}");
    assert_eq!(second.quota_counted, 1);
    app.stop().await;
}

#[actix_web::test]
async fn a_glob_provider_discovers_added_files_on_push() {
    let db = TestDb::sqlite();
    let double = GithubDouble::start(acme().repo(platform_repo()))
        .await
        .unwrap();
    let mut provider = GithubProviderConfig::new("glob", "acme");
    provider.catalog_path = "/**/catalog-info.yaml".into();
    let config = github_config(&db, &double, vec![provider], vec![]);
    let app = TestApp::spawn(db, config).await;
    assert_eq!(discover(&app, "glob").await, 2);

    double.put_file("platform", "x/catalog-info.yaml", component("x", "v1"));
    let body = push_payload("platform", &[], &["x/catalog-info.yaml"], &[]);
    let signature = signature_header(SECRET, &body);
    let (status, accepted) = deliver(&app, "push", body, Some(signature)).await;
    assert_eq!(status, 202);
    assert_eq!(accepted["discovery"], json!(["glob"]));
    app.state.github.wait_for_triggered_runs().await;
    app.process().await;
    assert_eq!(app.names_of_kind("component").await, ["lib", "svc", "x"]);
    app.stop().await;
}

#[actix_web::test]
async fn without_a_secret_every_event_is_refused() {
    let db = TestDb::sqlite();
    let double = GithubDouble::start(acme()).await.unwrap();
    let mut config = github_config(&db, &double, vec![], vec![]);
    config.github.webhook_secret = None;
    let app = TestApp::spawn(db, config).await;
    let body = push_payload("svc", &["catalog-info.yaml"], &[], &[]);
    let signature = signature_header("", &body);
    let (status, error) = deliver(&app, "push", body, Some(signature)).await;
    assert_eq!(status, 401, "{error}");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("webhook secret"));
    app.stop().await;
}

const APP_ID: u64 = 4242;

/// A server whose github.com integration has a GitHub App (with `private_key`) and no token.
fn app_only_config(
    db: &TestDb,
    double: &GithubDouble,
    private_key: &str,
    providers: Vec<GithubProviderConfig>,
    org_providers: Vec<GithubOrgProviderConfig>,
) -> Config {
    let mut config = github_config(db, double, providers, org_providers);
    let app: GithubAppConfig =
        serde_json::from_value(json!({"appId": APP_ID, "privateKey": private_key})).unwrap();
    let mut integration =
        GithubIntegrationConfig::new("github.com").with_api_base_url(&double.base_url);
    integration.apps.push(app);
    config.github.integrations = vec![integration];
    config
}

/// Every request the double saw outside `/app/`, and how many carried an installation token.
fn installation_token_use(double: &GithubDouble) -> (usize, usize) {
    let log = double.requests();
    let reads: Vec<_> = log
        .iter()
        .filter(|r| !r.path.starts_with("/app/"))
        .collect();
    let with_token = reads
        .iter()
        .filter(|r| {
            r.credential
                .as_deref()
                .is_some_and(|c| c.starts_with("ghs_"))
        })
        .count();
    (reads.len(), with_token)
}

async fn an_app_alone_discovers_and_reads_url_locations(db: TestDb) {
    // The double still requires TOKEN, which the server does not have: only installation
    // tokens get in.
    let double = GithubDouble::start(acme().repo(platform_repo()))
        .await
        .unwrap();
    double.add_app(AppModel::new(APP_ID, keys::APP_PUBLIC_KEY_PEM).installed_on_org("acme"));
    let config = app_only_config(
        &db,
        &double,
        keys::APP_PRIVATE_KEY_PEM,
        vec![acme_provider()],
        vec![],
    );
    let app = TestApp::spawn(db, config).await;
    assert_eq!(
        discover(&app, "acme").await,
        4,
        "svc, lib, docs and platform (optional locations)"
    );
    let target = blob("platform", "catalog/all.yaml");
    app.register_url_location(&target).await;
    app.process().await;
    assert_eq!(
        app.names_of_kind("component").await,
        ["a", "b", "c", "d", "e", "lib", "svc"]
    );
    assert!(errors_of(&app, "").await.is_empty());
    let (reads, with_token) = installation_token_use(&double);
    assert!(reads > 5);
    assert_eq!(
        with_token, reads,
        "every read carried the installation token"
    );
    let stats = double.stats();
    assert_eq!(stats.to_path("/app/installations"), 1);
    let mints = double
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/access_tokens"))
        .count();
    assert_eq!(mints, 1, "the token is cached");
    app.stop().await;
}
on_both_backends!(an_app_alone_discovers_and_reads_url_locations);

async fn a_wrong_app_key_is_a_processing_error(db: TestDb) {
    let double = GithubDouble::start(acme()).await.unwrap();
    double.add_app(AppModel::new(APP_ID, keys::APP_PUBLIC_KEY_PEM).installed_on_org("acme"));
    let config = app_only_config(
        &db,
        &double,
        keys::WRONG_PRIVATE_KEY_PEM,
        vec![acme_provider()],
        vec![],
    );
    let app = TestApp::spawn(db, config).await;
    let refused = app.state.github.run_discovery("acme").await.unwrap_err();
    assert!(
        matches!(
            &refused,
            GithubProviderError::Github(portico_github::GithubError::Unauthorized { .. })
        ),
        "{refused:?}"
    );
    let target = blob("svc", "catalog-info.yaml");
    app.register_url_location(&target).await;
    app.process().await;
    let errors = errors_of(&app, &location_ref(&target)).await;
    assert!(
        errors.iter().any(|e| e.starts_with("NotAllowedError")
            && e.contains(&format!("GitHub App {APP_ID}"))
            && e.contains("JSON web token")),
        "{errors:?}"
    );
    assert!(app.names_of_kind("component").await.is_empty());
    let (status, _) = app.get("/api/catalog/entities").await;
    assert_eq!(status, 200, "the server still answers");
    app.stop().await;
}
on_both_backends!(a_wrong_app_key_is_a_processing_error);

async fn without_orgs_every_installed_organization_is_imported(db: TestDb) {
    let acme = acme()
        .user(UserModel::new("alice"))
        .team(TeamModel::new("platform").member("alice"));
    let double = GithubDouble::start(acme).await.unwrap();
    double.add_org(
        OrgModel::new("beta")
            .repo(RepoModel::new("web").file("catalog-info.yaml", component("web", "v1")))
            .user(UserModel::new("bob"))
            .team(TeamModel::new("frontend").member("bob")),
    );
    double.add_app(
        AppModel::new(APP_ID, keys::APP_PUBLIC_KEY_PEM)
            .installed_on_org("acme")
            .installed_on_org("beta")
            .installed_on_user("octocat"),
    );
    let org_provider = GithubOrgProviderConfig {
        id: "all".into(),
        github_url: "https://github.com".into(),
        orgs: vec![],
        schedule: None,
    };
    // Discovery through `app` instead of `organization`: every installed organization.
    let mut by_app = GithubProviderConfig::new("by-app", "unused");
    by_app.organization = None;
    by_app.app = Some(APP_ID);
    let config = app_only_config(
        &db,
        &double,
        keys::APP_PRIVATE_KEY_PEM,
        vec![by_app],
        vec![org_provider],
    );
    let app = TestApp::spawn(db, config).await;
    let run = app.state.github.run_org_import("all").await.unwrap();
    assert_eq!((run.users, run.groups), (2, 2));
    assert_eq!(
        discover(&app, "by-app").await,
        4,
        "acme's svc, lib and docs, and beta's web"
    );
    app.process().await;
    assert_eq!(app.names_of_kind("user").await, ["alice", "bob"]);
    assert_eq!(app.names_of_kind("group").await, ["frontend", "platform"]);
    assert_eq!(app.names_of_kind("component").await, ["lib", "svc", "web"]);
    let stats = double.stats();
    assert_eq!(
        stats.with_prefix("/orgs/octocat"),
        0,
        "user installations are left out"
    );
    app.stop().await;
}
on_both_backends!(without_orgs_every_installed_organization_is_imported);

async fn leases_give_each_scheduled_run_to_one_claimant(db: TestDb) {
    use portico_catalog::store::leases::{
        register_task, release, task_lease, trigger_task, try_claim, Claim,
    };
    db.db
        .write(|c| {
            register_task(c, "t", "{}", Some(1_000))?;
            // A replica starting later keeps the earlier due time.
            register_task(c, "t", "{\"v\":2}", Some(5_000))?;
            assert_eq!(
                try_claim(c, "t", "a", 999, 100)?,
                Claim::NotClaimed {
                    next_run_start_at: Some(1_000),
                    lease_expires_at: None
                }
            );
            assert_eq!(
                try_claim(c, "t", "a", 1_000, 100)?,
                Claim::Claimed {
                    ticket: "a".into(),
                    scheduled_at: 1_000
                }
            );
            // While a's lease holds, nobody else runs the period...
            assert_eq!(
                try_claim(c, "t", "b", 1_050, 100)?,
                Claim::NotClaimed {
                    next_run_start_at: Some(1_000),
                    lease_expires_at: Some(1_100)
                }
            );
            // ...and when a dies, its lease lapses and b takes the period over.
            assert_eq!(
                try_claim(c, "t", "b", 1_101, 100)?,
                Claim::Claimed {
                    ticket: "b".into(),
                    scheduled_at: 1_000
                }
            );
            assert!(
                !release(c, "t", "a", Some(2_000), 1_150, None)?,
                "a lost it"
            );
            assert!(release(c, "t", "b", Some(2_000), 1_200, Some("boom"))?);
            let row = task_lease(c, "t")?.unwrap();
            assert_eq!(row.settings, "{\"v\":2}");
            assert_eq!(row.next_run_start_at, Some(2_000));
            assert_eq!(row.current_run_ticket, None);
            assert_eq!(row.last_run_error.as_deref(), Some("boom"));
            assert!(matches!(
                try_claim(c, "t", "c", 1_300, 100)?,
                Claim::NotClaimed { .. }
            ));
            // A manual trigger makes an idle task due now.
            assert!(trigger_task(c, "t", 1_300)?);
            assert!(matches!(
                try_claim(c, "t", "c", 1_300, 100)?,
                Claim::Claimed { .. }
            ));
            assert!(!trigger_task(c, "t", 1_350)?, "not while it runs");
            // Manual tasks (no due time) are never claimed.
            register_task(c, "manual", "{}", None)?;
            assert!(matches!(
                try_claim(c, "manual", "d", i64::MAX, 100)?,
                Claim::NotClaimed {
                    next_run_start_at: None,
                    ..
                }
            ));
            Ok::<_, portico_catalog::CatalogError>(())
        })
        .await
        .unwrap();
}
on_both_backends!(leases_give_each_scheduled_run_to_one_claimant);

/// Two replicas on one PostgreSQL database, both running the provider's schedule: each period
/// is claimed by one of them only, and the GitHub double sees one listing per period.
#[actix_web::test]
async fn two_replicas_run_each_scheduled_discovery_once() {
    let Some(db) = TestDb::postgres() else { return };
    let double = GithubDouble::start(acme()).await.unwrap();
    let mut provider = acme_provider();
    provider.schedule = Some(
        serde_json::from_value(json!({"frequency": {"milliseconds": 300},
                                      "timeout": {"seconds": 60}}))
        .unwrap(),
    );
    let config = github_config(&db, &double, vec![provider], vec![]);
    let target = db.target.clone();
    let a = TestApp::spawn(db, config.clone()).await;
    let mut config_b = config;
    config_b.database = target;
    let b = TestApp::spawn(TestDb::postgres().unwrap(), config_b).await;

    let cancel = tokio_util::sync::CancellationToken::new();
    let mut loops = a.state.github.spawn_schedules(cancel.clone());
    loops.extend(b.state.github.spawn_schedules(cancel.clone()));
    let listings = || double.stats().to_path("/orgs/acme/repos");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while listings() < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "the schedule did not repeat"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cancel.cancel();
    for schedule_loop in loops {
        schedule_loop.await.unwrap();
    }
    let runs: Vec<_> = a
        .state
        .github
        .scheduled_runs()
        .into_iter()
        .chain(b.state.github.scheduled_runs())
        .collect();
    let periods: BTreeSet<i64> = runs.iter().map(|r| r.scheduled_at).collect();
    assert_eq!(periods.len(), runs.len(), "a period ran twice: {runs:?}");
    assert_eq!(
        listings(),
        runs.len() as u64,
        "one organization listing per claimed period"
    );
    let errors = errors_of(&a, "").await;
    assert!(errors.is_empty(), "{errors:?}");
    a.stop().await;
    b.stop().await;
}
