//! `portico bench`: generates a synthetic organisation, ingests it through the normal
//! processing path, and measures the catalog API over real HTTP. Figures, not assertions.

use crate::app::AppState;
use crate::config::Config;
use portico_catalog::ConfiguredLocation;
use portico_store::{create_scratch_database, drop_scratch_database, DbTarget};
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// How many entities to generate.
    #[arg(long, default_value_t = 10_000)]
    pub entities: usize,
    /// `sqlite` or `postgres`.
    #[arg(long, default_value = "sqlite")]
    pub backend: String,
    /// Admin URL of a PostgreSQL server where a scratch database is created (and dropped).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_url: String,
    /// Requests per latency measurement.
    #[arg(long, default_value_t = 300)]
    pub samples: usize,
    /// Seconds of the 32-client mixed load.
    #[arg(long, default_value_t = 10)]
    pub load_seconds: u64,
    /// Keep the scratch folder (generated catalog and SQLite file), or the PostgreSQL
    /// database, and print where it is.
    #[arg(long)]
    pub keep: bool,
}

/// Writes the synthetic catalog: entity files of 50 documents each and one Location listing
/// them. Every reference resolves. Returns the Location file and the entity count.
pub fn generate_catalog(dir: &Path, n: usize) -> anyhow::Result<(PathBuf, Vec<String>)> {
    std::fs::create_dir_all(dir)?;
    let groups = (n / 100).max(2);
    let users = (n / 20).max(2);
    let domains = (n / 1000).max(1);
    let systems = (n / 100).max(1);
    let rest = n.saturating_sub(groups + users + domains + systems);
    let apis = rest / 4;
    let resources = rest / 8;
    let components = rest - apis - resources;
    let mut docs = Vec::with_capacity(n);
    for g in 0..groups {
        let parent = if g > 0 {
            format!("\n  parent: group-{}", (g - 1) / 4)
        } else {
            String::new()
        };
        docs.push(format!("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: group-{g}\nspec:\n  type: team\n  children: []{parent}\n"));
    }
    for u in 0..users {
        docs.push(format!("apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: user-{u}\nspec:\n  profile:\n    displayName: User Number {u}\n  memberOf: [group-{}]\n", u % groups));
    }
    for d in 0..domains {
        docs.push(format!("apiVersion: backstage.io/v1alpha1\nkind: Domain\nmetadata:\n  name: domain-{d}\nspec:\n  owner: group-{}\n", d % groups));
    }
    for s in 0..systems {
        docs.push(format!("apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: system-{s}\nspec:\n  owner: group-{}\n  domain: domain-{}\n", s % groups, s % domains));
    }
    for a in 0..apis {
        docs.push(format!("apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: api-{a}\n  tags: [{}]\nspec:\n  type: openapi\n  lifecycle: production\n  owner: group-{}\n  system: system-{}\n  definition: 'openapi: 3.0.0'\n", tag(a), a % groups, a % systems));
    }
    for r in 0..resources {
        docs.push(format!("apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: resource-{r}\nspec:\n  type: database\n  owner: group-{}\n  system: system-{}\n", r % groups, r % systems));
    }
    for c in 0..components {
        let api = if apis > 0 {
            format!(
                "\n  providesApis: [api-{}]\n  consumesApis: [api-{}]",
                c % apis,
                (c + 7) % apis
            )
        } else {
            String::new()
        };
        let db = if resources > 0 {
            format!("\n  dependsOn: [resource:resource-{}]", c % resources)
        } else {
            String::new()
        };
        docs.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: component-{c}\n  title: Component number {c}\n  description: Synthetic service {c} of the benchmark organisation\n  tags: [{}, {}]\nspec:\n  type: {}\n  lifecycle: {}\n  owner: group-{}\n  system: system-{}{api}{db}\n",
            tag(c), tag(c + 3),
            ["service", "website", "library"][c % 3],
            ["production", "experimental", "deprecated"][c % 3],
            c % groups, c % systems
        ));
    }
    let mut targets = String::new();
    for (i, chunk) in docs.chunks(50).enumerate() {
        let name = format!("entities-{i}.yaml");
        std::fs::write(dir.join(&name), chunk.join("---\n"))?;
        let _ = writeln!(targets, "    - ./{name}");
    }
    let location = dir.join("all.yaml");
    std::fs::write(&location, format!("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: bench\nspec:\n  targets:\n{targets}"))?;
    let owners = (0..groups).map(|g| format!("group-{g}")).collect();
    Ok((location, owners))
}

fn tag(i: usize) -> &'static str {
    [
        "java",
        "go",
        "rust",
        "python",
        "typescript",
        "kotlin",
        "data",
        "frontend",
    ][i % 8]
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn latency(
    client: &reqwest::Client,
    samples: usize,
    mut url: impl FnMut(usize) -> String,
) -> anyhow::Result<(f64, f64)> {
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let u = url(i);
        let start = Instant::now();
        let res = client.get(&u).send().await?;
        anyhow::ensure!(res.status().is_success(), "{u}: {}", res.status());
        res.bytes().await?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok((percentile(&times, 0.5), percentile(&times, 0.95)))
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let scratch = std::env::temp_dir().join(format!("portico-bench-{}", uuid::Uuid::new_v4()));
    let (location, owners) = generate_catalog(&scratch.join("catalog"), args.entities)?;
    let (database, pg_cleanup) = match args.backend.as_str() {
        "sqlite" => (
            DbTarget::Sqlite(scratch.join("bench.db").display().to_string()),
            None,
        ),
        "postgres" => {
            let (name, url) = create_scratch_database(&args.postgres_url, "portico_bench")?;
            (DbTarget::Postgres(url), Some(name))
        }
        other => anyhow::bail!("unknown backend {other}: use sqlite or postgres"),
    };
    let config = Config {
        catalog_locations: vec![ConfiguredLocation {
            location_type: "file".into(),
            target: location.display().to_string(),
        }],
        // The benchmark measures the catalog; its clients send no tokens.
        backend_auth: portico_auth::config::BackendAuthConfig {
            dangerously_disable_default_auth_policy: true,
            ..Default::default()
        },
        ..Config::loopback(database)
    };
    let result = measure(config, &args, &owners).await;
    if let Some(name) = pg_cleanup {
        if args.keep {
            println!("kept the PostgreSQL database {name}");
        } else {
            drop_scratch_database(&args.postgres_url, &name)?;
        }
    }
    if args.keep {
        println!("kept the scratch folder {}", scratch.display());
    } else {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    result
}

async fn measure(config: Config, args: &BenchArgs, owners: &[String]) -> anyhow::Result<()> {
    let backend = args.backend.clone();
    let n = args.entities;
    let state = AppState::build(config).await?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let started = Instant::now();
    let running = crate::server::start(state, listener, false).await?;
    let state = running.state.clone();
    let handle = running.server.handle();
    actix_web::rt::spawn(running.server);
    state.catalog.engine().run_until_idle().await?;
    let ingest = started.elapsed();
    let rss_after_ingest = peak_rss_mb();
    let (total, _, _) = state.catalog.backlog().await?;
    let base = format!("http://127.0.0.1:{}/api/catalog", running.port);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;

    println!(
        "portico bench: {n} entities requested, {total} in the processing state, backend {backend}"
    );
    println!(
        "ingest: {:.2} s, {:.0} entities/s (processing + stitching, until every entity is served)",
        ingest.as_secs_f64(),
        total as f64 / ingest.as_secs_f64()
    );
    let comps = (n / 2).max(1);
    let s = args.samples;
    let (p50, p95) = latency(&client, s, |i| {
        format!(
            "{base}/entities/by-name/component/default/component-{}",
            (i * 7919) % comps
        )
    })
    .await?;
    println!("by-name: p50 {p50:.2} ms, p95 {p95:.2} ms");
    let (p50, p95) = latency(&client, s, |i| {
        format!(
            "{base}/entities?filter=kind=component,spec.owner={}",
            owners[i % owners.len()]
        )
    })
    .await?;
    println!("filtered list (kind=component,spec.owner=…): p50 {p50:.2} ms, p95 {p95:.2} ms");
    let (p50, p95) = latency(&client, s, |i| format!("{base}/entities/by-query?fullTextFilterTerm=number%20{}&fullTextFilterFields=metadata.title&limit=50", (i * 31) % comps)).await?;
    println!("by-query full text, 50-item page: p50 {p50:.2} ms, p95 {p95:.2} ms");
    let (p50, p95) = latency(&client, s, |_| {
        format!(
            "{base}/entities/by-query?filter=kind=component&orderField=metadata.name,asc&limit=50"
        )
    })
    .await?;
    println!("by-query 50-item page ordered by name: p50 {p50:.2} ms, p95 {p95:.2} ms");
    let (p50, p95) = latency(&client, s, |_| {
        format!("{base}/entity-facets?facet=kind&facet=spec.type&facet=metadata.tags")
    })
    .await?;
    println!("facets (kind, spec.type, metadata.tags): p50 {p50:.2} ms, p95 {p95:.2} ms");
    // Counted as it streams: buffering 100 MB here would count in the server's RSS.
    let start = Instant::now();
    let mut response = client.get(format!("{base}/entities")).send().await?;
    let mut bytes = 0usize;
    while let Some(chunk) = response.chunk().await? {
        bytes += chunk.len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "unfiltered /entities: {:.0} ms for {:.1} MB ({:.0} MB/s)",
        secs * 1000.0,
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs
    );

    let deadline = Instant::now() + Duration::from_secs(args.load_seconds);
    let mut workers = Vec::new();
    for w in 0..32usize {
        let client = client.clone();
        let base = base.clone();
        let owners = owners.to_vec();
        workers.push(tokio::spawn(async move {
            let mut done = 0u64;
            let mut i = w;
            while Instant::now() < deadline {
                let url = match i % 4 {
                    0 => format!(
                        "{base}/entities/by-name/component/default/component-{}",
                        (i * 7919) % comps
                    ),
                    1 => format!(
                        "{base}/entities?filter=kind=component,spec.owner={}",
                        owners[i % owners.len()]
                    ),
                    2 => format!("{base}/entities/by-query?filter=kind=component&limit=20"),
                    _ => format!("{base}/entity-facets?facet=spec.lifecycle"),
                };
                if let Ok(r) = client.get(url).send().await {
                    let _ = r.bytes().await;
                    done += 1;
                }
                i += 32;
            }
            done
        }));
    }
    let mut requests = 0;
    for w in workers {
        requests += w.await.unwrap_or(0);
    }
    println!(
        "mixed read load, 32 clients: {:.0} requests/s",
        requests as f64 / args.load_seconds as f64
    );
    println!(
        "peak RSS: {:.0} MB (server and benchmark client in one process; {:.0} MB at the end of ingest)",
        peak_rss_mb(),
        rss_after_ingest
    );
    handle.stop(false).await;
    Ok(())
}
