//! Glob expansion through the tree API.

use crate::helpers::{blob, reader, small_org};
use portico_github::GithubError;
use portico_github_double::GithubDouble;

#[tokio::test]
async fn globs_expand_to_sorted_blob_urls() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    let all = reader
        .expand_glob("https://github.com/acme/svc/blob/main/**/catalog-info.yaml")
        .await
        .unwrap();
    assert_eq!(
        all,
        [
            blob("svc", "catalog-info.yaml"),
            blob("svc", "docs/catalog-info.yaml"),
            blob("svc", "services/a/catalog-info.yaml"),
        ]
    );
    let one_level = reader
        .expand_glob("https://github.com/acme/svc/tree/main/services/*/catalog-info.{yaml,yml}")
        .await
        .unwrap();
    assert_eq!(
        one_level,
        [
            blob("svc", "services/a/catalog-info.yaml"),
            blob("svc", "services/b/catalog-info.yml"),
        ]
    );
    let odd = reader
        .expand_glob("https://github.com/acme/svc/blob/main/skeleton/*.yaml")
        .await
        .unwrap();
    assert_eq!(
        odd,
        ["https://github.com/acme/svc/blob/main/skeleton/$%7B%7B%20values.name%20%7D%7D.yaml"]
    );
    let stats = double.stats();
    assert_eq!(stats.to_path("/repos/acme/svc/git/trees/main"), 3);
    assert_eq!(stats.not_modified, 2, "the tree is asked for conditionally");
    assert_eq!(stats.quota_counted, 1);

    // No glob: the URL as it is, without a request.
    assert_eq!(
        reader.expand_glob(&blob("svc", "README.md")).await.unwrap(),
        [blob("svc", "README.md")]
    );
    assert_eq!(double.stats().total, 3);
    assert!(matches!(
        reader
            .expand_glob("https://github.com/acme/svc/blob/nope/**/*.yaml")
            .await,
        Err(GithubError::NotFound { .. })
    ));
}
