//! Rate limits: waiting out primary and secondary limits, giving up when the wait is too long,
//! and never sending while the quota is known to be used up.

use crate::helpers::{blob, fast_options, reader, reader_with, small_org};
use portico_github::{FileRead, GithubError, ReaderOptions};
use portico_github_double::{Failure, GithubDouble};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_primary_rate_limit_makes_the_reader_wait_then_succeed() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    double.fail_next(
        1,
        Failure::RateLimited {
            reset_in: Duration::from_secs(1),
            retry_after: None,
        },
    );
    let started = Instant::now();
    let read = reader
        .read_file(&blob("svc", "catalog-info.yaml"), None)
        .await;
    let waited = started.elapsed();
    assert!(matches!(read, Ok(FileRead::Content { .. })), "{read:?}");
    assert!(waited >= Duration::from_millis(900), "waited {waited:?}");
    assert!(waited < Duration::from_secs(4), "waited {waited:?}");
    let stats = double.stats();
    assert_eq!((stats.total, stats.failures_injected), (2, 1));
    eprintln!(
        "primary limit: waited {} ms, {} requests",
        waited.as_millis(),
        stats.total
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    double.fail_next(
        1,
        Failure::SecondaryRateLimit {
            retry_after: Duration::from_secs(1),
        },
    );
    double.fail_next(1, Failure::TooManyRequests { retry_after: None });
    let started = Instant::now();
    assert!(matches!(
        reader
            .read_file(&blob("svc", "catalog-info.yaml"), None)
            .await,
        Ok(FileRead::Content { .. })
    ));
    assert!(started.elapsed() >= Duration::from_millis(1000));
    assert_eq!(double.stats().total, 3);
}

#[tokio::test]
async fn the_double_running_out_of_quota_is_waited_out() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    double.set_rate_limit(2, Duration::from_secs(2));
    let started = Instant::now();
    for path in ["catalog-info.yaml", "docs/catalog-info.yaml", "README.md"] {
        assert!(matches!(
            reader.read_file(&blob("svc", path), None).await,
            Ok(FileRead::Content { .. })
        ));
    }
    let stats = double.stats();
    assert!(started.elapsed() >= Duration::from_millis(500));
    // The reader learnt remaining=0 from the second answer and waited for the reset instead of
    // sending a request GitHub would refuse.
    assert_eq!(stats.with_status(403), 0, "{stats:?}");
    assert_eq!(stats.total, 3);
}

#[tokio::test]
async fn a_long_rate_limit_fails_fast_and_sends_nothing_more() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    double.fail_next(
        1,
        Failure::RateLimited {
            reset_in: Duration::from_secs(600),
            retry_after: None,
        },
    );
    let started = Instant::now();
    let url = blob("svc", "catalog-info.yaml");
    match reader.read_file(&url, None).await {
        Err(e @ GithubError::RateLimited { .. }) => {
            let after = e.retry_after().unwrap();
            assert!(after > Duration::from_secs(500), "{after:?}");
            assert!(e.is_retryable());
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    // Until the reset, nothing is sent at all.
    for _ in 0..5 {
        assert!(matches!(
            reader.read_file(&url, None).await,
            Err(GithubError::RateLimited { .. })
        ));
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(double.stats().total, 1);
    let quota = reader.quota().unwrap();
    assert_eq!(quota.remaining, 0);
}

#[tokio::test]
async fn concurrent_reads_share_one_pause() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader_with(
        &double,
        ReaderOptions {
            max_concurrency: 2,
            ..fast_options()
        },
    );
    double.fail_next(
        1,
        Failure::RateLimited {
            reset_in: Duration::from_secs(1),
            retry_after: Some(Duration::from_secs(1)),
        },
    );
    let paths = [
        "catalog-info.yaml",
        "docs/catalog-info.yaml",
        "services/a/catalog-info.yaml",
        "services/b/catalog-info.yml",
        "README.md",
        ".github/catalog-info.yaml",
    ];
    let reads = paths.iter().map(|p| {
        let reader = reader.clone();
        let url = blob("svc", p);
        tokio::spawn(async move { reader.read_file(&url, None).await })
    });
    for read in futures_util::future::join_all(reads).await {
        assert!(matches!(read.unwrap(), Ok(FileRead::Content { .. })));
    }
    let log = double.requests();
    let refused = log
        .iter()
        .find(|r| r.status == 403)
        .expect("one request was refused");
    // While the pause lasts nothing new is sent; at most the request already in flight lands.
    let during_pause = log
        .iter()
        .filter(|r| {
            r.received_at > refused.received_at
                && r.received_at < refused.received_at + Duration::from_millis(900)
        })
        .count();
    assert!(
        during_pause <= 1,
        "{during_pause} requests during the pause"
    );
    assert_eq!(log.len(), 7, "six reads and one retry");
}

#[tokio::test]
async fn rate_limit_endpoint_reports_the_quota_for_free() {
    let double = GithubDouble::start(small_org()).await.unwrap();
    let reader = reader(&double);
    reader
        .read_file(&blob("svc", "catalog-info.yaml"), None)
        .await
        .unwrap();
    let quota = reader.refresh_quota("github.com").await.unwrap().unwrap();
    assert_eq!((quota.limit, quota.remaining), (5000, 4999));
    assert_eq!(double.stats().quota_counted, 1);
}
