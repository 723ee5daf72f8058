//! `portico bench-github`: starts the GitHub double (loopback only) with a generated
//! organization of N repositories, runs a full discovery and ingest through the real server,
//! and reports the wall time, GitHub requests on the first pass and on an unchanged second pass,
//! and the seconds from a webhook push of one changed file until the API serves the new version.
//! Figures, not assertions.

use crate::app::AppState;
use crate::config::Config;
use portico_config::LoadedConfig;
use portico_github_double::{GithubDouble, OrgModel, RepoModel, RequestStats};
use serde_json::json;
use std::net::TcpListener;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const ORG: &str = "bench";
const PROVIDER: &str = "bench";
const SECRET: &str = "bench-webhook-secret";
/// How long the webhook measurement waits for the new version before giving up.
const PUSH_DEADLINE: Duration = Duration::from_secs(60);

#[derive(Debug, clap::Args)]
pub struct BenchGithubArgs {
    /// Repositories in the generated organization, each with a catalog-info.yaml.
    #[arg(long, default_value_t = 1000)]
    pub repos: usize,
    /// `sqlite` or `postgres`.
    #[arg(long, default_value = "sqlite")]
    pub backend: String,
    /// Admin URL of a PostgreSQL server where a scratch database is created (and dropped).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_url: String,
}

fn catalog_file(i: usize, description: &str) -> String {
    let mut file = format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: service-{i}\n  \
         description: {description}\n  tags: [bench]\nspec:\n  type: service\n  \
         lifecycle: production\n  owner: team-{}\n",
        i % 25
    );
    // Every fourth repository also describes an API, in a second document.
    if i.is_multiple_of(4) {
        file.push_str(&format!(
            "  providesApis: [service-{i}-api]\n---\napiVersion: backstage.io/v1alpha1\n\
             kind: API\nmetadata:\n  name: service-{i}-api\nspec:\n  type: openapi\n  \
             lifecycle: production\n  owner: team-{}\n  definition: 'openapi: 3.0.0'\n",
            i % 25
        ));
    }
    file
}

/// An organization of `n` repositories with one catalog file each.
pub fn generate_org(n: usize) -> OrgModel {
    (0..n).fold(OrgModel::new(ORG), |org, i| {
        org.repo(
            RepoModel::new(format!("service-{i}"))
                .topics(&["backstage"])
                .file("catalog-info.yaml", catalog_file(i, "generated"))
                .file("README.md", format!("# service-{i}\n")),
        )
    })
}

fn describe(stats: &RequestStats) -> String {
    format!(
        "{} requests: {} counted against the quota, {} answered 304 Not Modified",
        stats.total, stats.quota_counted, stats.not_modified
    )
}

pub async fn run(args: BenchGithubArgs) -> anyhow::Result<()> {
    let n = args.repos.max(1);
    let double = GithubDouble::start(generate_org(n)).await?;
    // GitHub's 5,000 per hour, or enough for two passes of a very large organization.
    let limit = (3 * n as u64 + 100).max(5000);
    double.set_rate_limit(limit, Duration::from_secs(3600));
    let scratch =
        std::env::temp_dir().join(format!("portico-bench-github-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&scratch)?;
    let (database, pg_cleanup) = match args.backend.as_str() {
        "sqlite" => (
            json!({"client": "better-sqlite3", "connection": scratch.join("bench.db").display().to_string()}),
            None,
        ),
        "postgres" => {
            let (name, url) =
                portico_store::create_scratch_database(&args.postgres_url, "portico_bench")?;
            (json!({"client": "pg", "connection": url}), Some(name))
        }
        other => anyhow::bail!("unknown backend {other}: use sqlite or postgres"),
    };
    // Backstage's own keys, as a deployment would write them.
    let loaded = LoadedConfig::from_value(json!({
        "backend": {
            "database": database,
            "listen": {"host": "127.0.0.1", "port": 0},
            // The benchmark's clients send no tokens.
            "auth": {"dangerouslyDisableDefaultAuthPolicy": true},
        },
        "integrations": {"github": [{"host": "github.com", "apiBaseUrl": double.base_url, "token": "bench-token"}]},
        "catalog": {
            "processingInterval": {"hours": 1},
            "providers": {"github": {PROVIDER: {"organization": ORG, "catalogPath": "/catalog-info.yaml"}}},
        },
        "portico": {"github": {"webhookSecret": SECRET}},
    }));
    let config = Config::from_loaded(&loaded)?;
    let result = measure(config, &double, n, limit).await;
    if let Some(name) = pg_cleanup {
        portico_store::drop_scratch_database(&args.postgres_url, &name)?;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

async fn measure(
    config: Config,
    double: &GithubDouble,
    n: usize,
    limit: u64,
) -> anyhow::Result<()> {
    let backend = match &config.database {
        portico_store::DbTarget::Sqlite(_) => "sqlite",
        portico_store::DbTarget::Postgres(_) => "postgres",
    };
    let state = AppState::build(config).await?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let running = crate::server::start(state, listener, false).await?;
    let state = running.state.clone();
    let handle = running.server.handle();
    actix_web::rt::spawn(running.server);
    let base = format!("http://127.0.0.1:{}", running.port);
    let engine = state.catalog.engine().clone();
    let github = state.github.clone();
    println!("portico bench-github: {n} repositories on the GitHub double, backend {backend}, quota {limit}/h");

    // First pass: discovery, then every Location read and its entities served.
    double.reset_stats();
    let started = Instant::now();
    let run = github.run_discovery(PROVIDER).await?;
    let discovered = started.elapsed();
    engine.run_until_idle().await?;
    let first_pass = started.elapsed();
    let first = double.stats();
    let (entities, _, _) = state.catalog.backlog().await?;
    println!(
        "first pass: {:.2} s wall ({:.2} s discovery of {} locations, {:.2} s reading and \
         processing), {entities} entities",
        first_pass.as_secs_f64(),
        discovered.as_secs_f64(),
        run.locations,
        (first_pass - discovered).as_secs_f64()
    );
    println!("first pass GitHub: {}", describe(&first));

    // Second pass, nothing changed: discovery again and every Location re-read.
    double.reset_stats();
    let started = Instant::now();
    github.run_discovery(PROVIDER).await?;
    github.refresh_provider_locations(PROVIDER).await?;
    engine.run_until_idle().await?;
    let second_pass = started.elapsed();
    let second = double.stats();
    println!(
        "second pass (unchanged): {:.2} s wall",
        second_pass.as_secs_f64()
    );
    println!("second pass GitHub: {}", describe(&second));

    // A webhook push of one changed file, with the processing loop running as in `serve`.
    let cancel = CancellationToken::new();
    tokio::spawn(engine.clone().run(cancel.clone()));
    let client = reqwest::Client::new();
    let i = n / 2;
    let changed = format!("changed by a push at {}", uuid::Uuid::new_v4());
    double.put_file(
        &format!("service-{i}"),
        "catalog-info.yaml",
        catalog_file(i, &changed),
    );
    let body = json!({
        "ref": "refs/heads/main", "before": "a", "after": "b", "created": false, "deleted": false,
        "repository": {"name": format!("service-{i}"), "full_name": format!("{ORG}/service-{i}"),
                       "html_url": format!("https://github.com/{ORG}/service-{i}"), "default_branch": "main"},
        "commits": [{"id": "b", "added": [], "removed": [], "modified": ["catalog-info.yaml"]}]
    })
    .to_string();
    let signature = portico_github::signature_header(SECRET, body.as_bytes());
    double.reset_stats();
    let pushed = Instant::now();
    let response = client
        .post(format!("{base}/api/events/http/github"))
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", uuid::Uuid::new_v4().to_string())
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await?;
    let accepted = pushed.elapsed();
    anyhow::ensure!(
        response.status().as_u16() == 202,
        "the webhook answered {}",
        response.status()
    );
    let url = format!("{base}/api/catalog/entities/by-name/component/default/service-{i}");
    let served = loop {
        let entity: serde_json::Value = client.get(&url).send().await?.json().await?;
        if entity["metadata"]["description"] == changed.as_str() {
            break pushed.elapsed();
        }
        anyhow::ensure!(
            pushed.elapsed() < PUSH_DEADLINE,
            "the pushed change was not served within {} s",
            PUSH_DEADLINE.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let push_stats = double.stats();
    println!(
        "webhook push of one changed file: accepted (202) in {:.1} ms, new version served after \
         {:.3} s; GitHub: {}",
        accepted.as_secs_f64() * 1000.0,
        served.as_secs_f64(),
        describe(&push_stats)
    );
    let quota: serde_json::Value = client
        .get(format!("{base}/api/catalog/portico/github/rate-limit"))
        .send()
        .await?
        .json()
        .await?;
    println!("quota left: {}", quota["hosts"][0]["remaining"]);
    cancel.cancel();
    handle.stop(false).await;
    Ok(())
}
