//! Reading files: conditional requests, error mapping, retries and timeouts, odd paths.

use crate::helpers::{
    blob, fast_options, integration, reader, reader_with, small_org, CATALOG_INFO, TOKEN,
};
use portico_github::{FileRead, GithubError, GithubReader};
use portico_github_double::{Failure, GithubDouble};
use std::time::Duration;

#[tokio::test]
async fn a_second_read_with_the_etag_is_not_modified() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    let url = blob("svc", "catalog-info.yaml");

    let FileRead::Content { text, etag } = reader.read_file(&url, None).await.unwrap() else {
        panic!("expected content")
    };
    assert_eq!(text, CATALOG_INFO);
    let etag = etag.expect("GitHub sends an ETag");

    assert_eq!(
        reader.read_file(&url, Some(&etag)).await.unwrap(),
        FileRead::NotModified
    );
    let stats = double.stats();
    assert_eq!(stats.total, 2);
    assert_eq!(stats.not_modified, 1, "the second read was a 304");
    assert_eq!(stats.quota_counted, 1, "a 304 costs no quota");
    assert_eq!(
        stats.to_path("/repos/acme/svc/contents/catalog-info.yaml"),
        2
    );
    let quota = reader.quota().expect("quota from the headers");
    assert_eq!((quota.limit, quota.remaining), (5000, 4999));
}

#[tokio::test]
async fn callers_without_an_etag_still_get_conditional_requests() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    let url = blob("svc", "catalog-info.yaml");
    for _ in 0..3 {
        let FileRead::Content { text, .. } = reader.read_file(&url, None).await.unwrap() else {
            panic!("a caller without an ETag always gets the text")
        };
        assert_eq!(text, CATALOG_INFO);
    }
    let stats = double.stats();
    assert_eq!(
        (stats.total, stats.conditional, stats.not_modified),
        (3, 2, 2)
    );
    assert_eq!(stats.quota_counted, 1);

    // A change is seen at once: the conditional request answers 200.
    double.put_file("svc", "catalog-info.yaml", "kind: Changed\n");
    let FileRead::Content { text, .. } = reader.read_file(&url, None).await.unwrap() else {
        panic!("expected content")
    };
    assert_eq!(text, "kind: Changed\n");
}

#[tokio::test]
async fn a_changed_file_answers_content_for_an_old_etag() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    let url = blob("svc", "catalog-info.yaml");
    let FileRead::Content {
        etag: Some(old), ..
    } = reader.read_file(&url, None).await.unwrap()
    else {
        panic!("expected content with an ETag")
    };
    double.put_file("svc", "catalog-info.yaml", "kind: Changed\n");
    match reader.read_file(&url, Some(&old)).await.unwrap() {
        FileRead::Content { text, etag } => {
            assert_eq!(text, "kind: Changed\n");
            assert_ne!(etag.as_deref(), Some(old.as_str()));
        }
        FileRead::NotModified => panic!("the file changed"),
    }
}

#[tokio::test]
async fn branches_tree_urls_and_odd_paths() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    let text = |r: FileRead| match r {
        FileRead::Content { text, .. } => text,
        FileRead::NotModified => panic!("expected content"),
    };
    let develop = "https://github.com/acme/svc/blob/develop/catalog-info.yaml";
    assert_eq!(
        text(reader.read_file(develop, None).await.unwrap()),
        "kind: Component # develop\n"
    );
    let tree = "https://github.com/acme/svc/tree/main/docs/catalog-info.yaml";
    assert_eq!(
        text(reader.read_file(tree, None).await.unwrap()),
        "kind: System\n"
    );
    let odd = "https://github.com/acme/svc/blob/main/skeleton/$%7B%7B%20values.name%20%7D%7D.yaml";
    assert_eq!(
        text(reader.read_file(odd, None).await.unwrap()),
        "name: ${{ values.name }}\n"
    );
    let trunk = "https://github.com/acme/lib/blob/trunk/catalog-info.yaml";
    assert_eq!(
        text(reader.read_file(trunk, None).await.unwrap()),
        "kind: Component\n"
    );
}

#[tokio::test]
async fn missing_things_are_not_found() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    for url in [
        blob("svc", "nope.yaml"),
        blob("no-such-repo", "catalog-info.yaml"),
        "https://github.com/acme/svc/blob/no-branch/catalog-info.yaml".to_string(),
        blob("empty", "catalog-info.yaml"),
        "https://github.com/other-org/svc/blob/main/catalog-info.yaml".to_string(),
    ] {
        match reader.read_file(&url, None).await {
            Err(GithubError::NotFound { message }) => {
                assert!(message.contains(&url), "{message}")
            }
            other => panic!("{url}: expected NotFound, got {other:?}"),
        }
    }
    assert_eq!(double.stats().total, 5, "a 404 is not retried");
}

#[tokio::test]
async fn directories_and_foreign_hosts_are_invalid() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    assert!(matches!(
        reader.read_file(&blob("svc", "docs"), None).await,
        Err(GithubError::Invalid { .. })
    ));
    assert!(matches!(
        reader.read_file("https://github.com/acme/svc", None).await,
        Err(GithubError::Invalid { .. })
    ));
    assert!(matches!(
        reader
            .read_file("https://gitlab.example.com/a/b/blob/main/c.yaml", None)
            .await,
        Err(GithubError::Invalid { .. })
    ));
}

#[tokio::test]
async fn bad_credentials_are_unauthorized() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let wrong = GithubReader::with_options(
        &[integration(&double, "github.com", Some("wrong-token"))],
        fast_options(),
    )
    .unwrap();
    let url = blob("svc", "catalog-info.yaml");
    assert!(matches!(
        wrong.read_file(&url, None).await,
        Err(GithubError::Unauthorized { .. })
    ));
    let anonymous =
        GithubReader::with_options(&[integration(&double, "github.com", None)], fast_options())
            .unwrap();
    assert!(matches!(
        anonymous.read_file(&url, None).await,
        Err(GithubError::Unauthorized { .. })
    ));
    // A token that goes bad between two reads.
    let right = reader(&double);
    double.fail_next(1, Failure::BadCredentials);
    assert!(matches!(
        right.read_file(&url, None).await,
        Err(GithubError::Unauthorized { .. })
    ));
    assert_eq!(double.stats().total, 3, "a 401 is not retried");
    assert!(right.read_file(&url, None).await.is_ok());
}

#[tokio::test]
async fn server_errors_are_retried_then_transient() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    let url = blob("svc", "catalog-info.yaml");
    double.fail_next(2, Failure::ServerError { status: 502 });
    assert!(matches!(
        reader.read_file(&url, None).await,
        Ok(FileRead::Content { .. })
    ));
    assert_eq!(double.stats().total, 3);

    double.reset_stats();
    double.fail_next(10, Failure::ServerError { status: 500 });
    match reader.read_file(&url, Some("\"stale\"")).await {
        Err(e @ GithubError::Transient { .. }) => assert!(e.is_retryable()),
        other => panic!("expected Transient, got {other:?}"),
    }
    assert_eq!(
        double.stats().total,
        4,
        "one try and max_retries (3) retries"
    );
    double.clear_failures();
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let options = portico_github::ReaderOptions {
        request_timeout: Duration::from_millis(300),
        ..fast_options()
    };
    let reader = reader_with(&double, options);
    double.fail_next(1, Failure::Delay(Duration::from_secs(3)));
    let started = std::time::Instant::now();
    assert!(matches!(
        reader
            .read_file(&blob("svc", "catalog-info.yaml"), None)
            .await,
        Ok(FileRead::Content { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(double.stats().total, 2);
}

#[tokio::test]
async fn enterprise_hosts_use_their_own_integration() {
    let double = GithubDouble::start(small_org().web_base_url("https://ghe.example.com"))
        .await
        .unwrap();
    let reader = GithubReader::with_options(
        &[integration(&double, "ghe.example.com", Some(TOKEN))],
        fast_options(),
    )
    .unwrap();
    let url = "https://ghe.example.com/acme/svc/blob/main/catalog-info.yaml";
    assert!(reader.handles(url));
    assert!(matches!(
        reader.read_file(url, None).await,
        Ok(FileRead::Content { .. })
    ));
    assert!(reader.quota_for_host("ghe.example.com").is_some());
    assert!(
        reader.quota_for_host("github.com").is_none(),
        "github.com was never called"
    );
}
