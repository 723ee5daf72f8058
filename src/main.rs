//! The `portico` command: serve, validate, migrate, bench.

use clap::{Parser, Subcommand};
use portico::config::Config;
use std::net::TcpListener;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "portico",
    version,
    about = "A developer-portal backend speaking Backstage's catalog API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server (HTTP API and processing loop).
    Serve {
        /// Config files, merged in order (later wins). Default: config/default.yaml.
        #[arg(long = "config", short = 'c')]
        config: Vec<PathBuf>,
    },
    /// Validates catalog files as the server would; exits non-zero on any error.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Applies database migrations and exits.
    Migrate {
        #[arg(long = "config", short = 'c')]
        config: Vec<PathBuf>,
    },
    /// Measures ingest and query speed on a synthetic catalog.
    Bench(portico::bench::BenchArgs),
    /// Measures GitHub discovery, ingest, quota use and webhook latency against a local
    /// GitHub double.
    BenchGithub(portico::bench_github::BenchGithubArgs),
}

fn config_files(given: Vec<PathBuf>) -> Vec<PathBuf> {
    if given.is_empty() {
        vec![PathBuf::from("config/default.yaml")]
    } else {
        given
    }
}

fn main() -> anyhow::Result<()> {
    limit_malloc_arenas();
    portico::telemetry::init();
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { files } => {
            let ok = portico::validate::validate_files(&files, &mut std::io::stdout())?;
            std::process::exit(if ok { 0 } else { 1 });
        }
        Command::Serve { config } => {
            let config = Config::load(&config_files(config))?;
            actix_web::rt::System::new().block_on(serve(config))
        }
        Command::Bench(args) => actix_web::rt::System::new().block_on(portico::bench::run(args)),
        Command::BenchGithub(args) => {
            actix_web::rt::System::new().block_on(portico::bench_github::run(args))
        }
        Command::Migrate { config } => {
            let config = Config::load(&config_files(config))?;
            let db = portico_store::Db::connect(&config.database)?;
            let applied = portico_store::run_migrations(&db)?;
            println!("applied {} migration(s)", applied.len());
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let address = format!("{}:{}", config.listen_host, config.listen_port);
    let listener = TcpListener::bind(&address)
        .map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))?;
    let state = portico::app::AppState::build(config).await?;
    let running = portico::server::start(state, listener, true).await?;
    tracing::info!(
        port = running.port,
        "Portico is listening on http://{address}"
    );
    let result = running.server.await;
    running.cancel.cancel();
    Ok(result?)
}

/// glibc gives each thread that allocates its own arena and seldom returns their free memory;
/// the many blocking-pool threads of database work then hold far more memory than they use.
/// Two arenas keep the peak resident size down (an explicit `MALLOC_ARENA_MAX` still wins).
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; called before any other thread
        // exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
