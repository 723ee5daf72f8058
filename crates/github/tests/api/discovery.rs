//! Discovery: the hand-made org's filters, and the corpus org (148 real repositories, two pages)
//! with single paths, validated paths and globs; then reading what was found.

use crate::helpers::{corpus_dir, reader, small_org};
use portico_github::{FileRead, GithubError, GithubProviderConfig};
use portico_github_double::{Failure, GithubDouble, OrgModel};
use std::collections::BTreeSet;

fn urls(found: &[portico_github::DiscoveredLocation]) -> Vec<&str> {
    found.iter().map(|l| l.url.as_str()).collect()
}

#[tokio::test]
async fn discovery_applies_backstage_filters() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    let provider = GithubProviderConfig::new("default", "acme");
    let found = reader.discover(&provider).await.unwrap();
    // Archived repositories are left out; forks and private ones are in. REST, unlike
    // Backstage's GraphQL, names a default branch for an empty repository too: its location
    // is emitted (presence optional) and reads as not found.
    assert_eq!(
        urls(&found),
        [
            "https://github.com/acme/empty/blob/main/catalog-info.yaml",
            "https://github.com/acme/forked/blob/main/catalog-info.yaml",
            "https://github.com/acme/lib/blob/trunk/catalog-info.yaml",
            "https://github.com/acme/no-catalog/blob/main/catalog-info.yaml",
            "https://github.com/acme/secret/blob/main/catalog-info.yaml",
            "https://github.com/acme/svc/blob/main/catalog-info.yaml",
        ]
    );
    assert_eq!(found[5].repo_full_name, "acme/svc");
    assert!(found[5].pushed_at.is_some());
    assert_eq!(double.stats().total, 1, "one page, no file checks");

    let mut validated = provider.clone();
    validated.validate_locations_exist = true;
    validated.filters.allow_forks = false;
    validated.filters.topic.exclude = Some(vec!["legacy".into()]);
    let found = reader.discover(&validated).await.unwrap();
    assert_eq!(
        urls(&found),
        [
            "https://github.com/acme/lib/blob/trunk/catalog-info.yaml",
            "https://github.com/acme/svc/blob/main/catalog-info.yaml",
        ]
    );

    let mut branch = provider.clone();
    branch.filters.branch = Some("develop".into());
    branch.filters.repository = Some("s.c".into());
    branch.validate_locations_exist = true;
    let found = reader.discover(&branch).await.unwrap();
    assert_eq!(
        urls(&found),
        ["https://github.com/acme/svc/blob/develop/catalog-info.yaml"]
    );

    let mut private = provider.clone();
    private.filters.visibility = Some(vec!["private".into()]);
    assert_eq!(
        urls(&reader.discover(&private).await.unwrap()),
        ["https://github.com/acme/secret/blob/main/catalog-info.yaml"]
    );
}

#[tokio::test]
async fn discovery_with_a_glob_lists_trees_and_memoises_by_pushed_at() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    let mut provider = GithubProviderConfig::new("default", "acme");
    provider.catalog_path = "/**/catalog-info.{yaml,yml}".into();
    provider.filters.allow_forks = false;
    let found = reader.discover(&provider).await.unwrap();
    assert_eq!(
        urls(&found),
        [
            "https://github.com/acme/lib/blob/trunk/catalog-info.yaml",
            "https://github.com/acme/secret/blob/main/catalog-info.yaml",
            "https://github.com/acme/svc/blob/main/catalog-info.yaml",
            "https://github.com/acme/svc/blob/main/docs/catalog-info.yaml",
            "https://github.com/acme/svc/blob/main/services/a/catalog-info.yaml",
            "https://github.com/acme/svc/blob/main/services/b/catalog-info.yml",
        ]
    );
    let first = double.stats();
    // One tree per matching repository; the empty one answers 409 and has no files.
    assert_eq!(first.with_prefix("/repos/"), 5);
    assert_eq!(first.with_status(409), 1);

    // Nothing pushed: the listing is a 304 and no tree is asked for again.
    double.reset_stats();
    assert_eq!(reader.discover(&provider).await.unwrap(), found);
    let second = double.stats();
    assert_eq!(
        (second.total, second.not_modified, second.quota_counted),
        (1, 1, 0)
    );

    // A push to one repository: only its tree is read again.
    double.put_file("svc", "new/catalog-info.yaml", "kind: Component\n");
    double.reset_stats();
    let third = reader.discover(&provider).await.unwrap();
    assert_eq!(third.len(), found.len() + 1);
    let stats = double.stats();
    assert_eq!(stats.with_prefix("/repos/"), 1, "{stats:?}");
    assert_eq!(stats.to_path("/repos/acme/svc/git/trees/main"), 1);
}

#[tokio::test]
async fn a_failing_repository_fails_the_whole_run() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    let mut provider = GithubProviderConfig::new("default", "acme");
    provider.catalog_path = "**/catalog-info.yaml".into();
    double.fail_next_on("/repos/acme/svc/", 10, Failure::ServerError { status: 500 });
    match reader.discover(&provider).await {
        Err(GithubError::Transient { message }) => assert!(message.contains("acme"), "{message}"),
        other => panic!("expected Transient, got {other:?}"),
    }
    double.clear_failures();
    double.fail_next_on(
        "/orgs/",
        1,
        Failure::RateLimited {
            reset_in: std::time::Duration::from_secs(900),
            retry_after: None,
        },
    );
    assert!(matches!(
        reader.discover(&provider).await,
        Err(GithubError::RateLimited { .. })
    ));
    // An organization the server does not know.
    let other = GithubDouble::start(small_org()).await.unwrap();
    let unknown = GithubProviderConfig::new("default", "nobody");
    assert!(matches!(
        crate::helpers::reader(&other).discover(&unknown).await,
        Err(GithubError::NotFound { .. })
    ));
}

/// Every `(repo name, path)` of the corpus org whose path matches `keep`.
fn corpus_files(model: &OrgModel, keep: impl Fn(&str) -> bool) -> BTreeSet<(String, String)> {
    model
        .repos
        .values()
        .flat_map(|r| {
            r.branches["main"]
                .keys()
                .filter(|p| keep(p))
                .map(|p| (r.name.clone(), p.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn discovery_of_the_corpus_org_finds_every_catalog_file() {
    let Some(corpus) = corpus_dir() else { return };
    let model = OrgModel::from_corpus(&corpus, "corpus").unwrap();
    assert_eq!(model.repos.len(), 148);
    let expected_root = corpus_files(&model, |p| p == "catalog-info.yaml");
    let double = GithubDouble::start(model.clone()).await.unwrap();
    let reader = reader(&double);

    // A single path, checked for existence.
    let mut provider = GithubProviderConfig::new("default", "corpus");
    provider.validate_locations_exist = true;
    let found = reader.discover(&provider).await.unwrap();
    let got: BTreeSet<(String, String)> = found
        .iter()
        .map(|l| {
            (
                l.repo_full_name.trim_start_matches("corpus/").to_string(),
                "catalog-info.yaml".to_string(),
            )
        })
        .collect();
    assert_eq!(got, expected_root);
    let stats = double.stats();
    assert_eq!(
        stats.to_path("/orgs/corpus/repos"),
        2,
        "148 repositories on two pages"
    );
    assert_eq!(
        stats.with_prefix("/repos/"),
        148,
        "one existence check per repository"
    );
    eprintln!(
        "corpus discovery (validated): {} repos, {} locations, {} requests ({} quota)",
        148,
        found.len(),
        stats.total,
        stats.quota_counted
    );

    // Reading every discovered file costs nothing more: discovery's check filled the cache.
    double.reset_stats();
    for location in &found {
        let read = reader.read_file(&location.url, None).await.unwrap();
        assert!(matches!(read, FileRead::Content { .. }), "{}", location.url);
    }
    let reads = double.stats();
    assert_eq!(reads.total as usize, found.len());
    assert_eq!(reads.not_modified as usize, found.len(), "all 304s");
    assert_eq!(reads.quota_counted, 0);
    eprintln!(
        "corpus reads after discovery: {} requests, {} were 304, {} counted against quota",
        reads.total, reads.not_modified, reads.quota_counted
    );

    // A second discovery run: listing pages are 304s, no file is checked again.
    double.reset_stats();
    assert_eq!(reader.discover(&provider).await.unwrap(), found);
    let again = double.stats();
    assert_eq!(
        (again.total, again.not_modified, again.quota_counted),
        (2, 2, 0)
    );
}

#[tokio::test]
async fn glob_discovery_of_the_corpus_org_matches_the_files_on_disk() {
    let Some(corpus) = corpus_dir() else { return };
    let model = OrgModel::from_corpus(&corpus, "corpus").unwrap();
    // What minimatch's `**/catalog-info.yaml` matches: no hidden directories on the way.
    let expected = corpus_files(&model, |p| {
        p.rsplit('/').next() == Some("catalog-info.yaml")
            && !p.split('/').any(|s| s.starts_with('.'))
    });
    let double = GithubDouble::start(model).await.unwrap();
    let reader = reader(&double);
    let mut provider = GithubProviderConfig::new("default", "corpus");
    provider.catalog_path = "/**/catalog-info.yaml".into();
    let found = reader.discover(&provider).await.unwrap();
    let got: BTreeSet<(String, String)> = found
        .iter()
        .map(|l| {
            let url = portico_github::GithubUrl::parse(&l.url).unwrap();
            (url.repo, url.path)
        })
        .collect();
    assert_eq!(got, expected);
    assert!(found.len() > 100, "{}", found.len());
    let stats = double.stats();
    assert_eq!(stats.with_prefix("/repos/"), 148, "one tree per repository");
    eprintln!(
        "corpus glob discovery: {} files in {} requests",
        found.len(),
        stats.total
    );

    // Every file found is readable, odd names included, and a second pass is all 304s.
    double.reset_stats();
    let mut etags = Vec::new();
    for location in &found {
        match reader.read_file(&location.url, None).await.unwrap() {
            FileRead::Content { etag, .. } => etags.push(etag),
            FileRead::NotModified => panic!("no ETag was passed"),
        }
    }
    for (location, etag) in found.iter().zip(&etags) {
        assert_eq!(
            reader
                .read_file(&location.url, etag.as_deref())
                .await
                .unwrap(),
            FileRead::NotModified
        );
    }
    let stats = double.stats();
    assert_eq!(stats.total as usize, 2 * found.len());
    assert_eq!(stats.quota_counted as usize, found.len());
    assert_eq!(stats.not_modified as usize, found.len());
    eprintln!(
        "corpus glob reads: {} first reads, {} re-reads answered 304",
        found.len(),
        stats.not_modified
    );
}
