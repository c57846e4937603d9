//! `shinny-service [--config FILE]`: starts the service.

use shinny_service::{start, AppState, Config};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc: validation allocates many small short-lived blocks (JSON
/// trees, FHIRPath collections), where it takes a fraction of the system
/// allocator's time. The engine library itself leaves the choice to the
/// program that links it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: shinny-service [--config FILE]\n\
Without --config: 127.0.0.1:8080, SQLite in ./shinny.db, the SHIN-NY context\n\
from $FHIR_PACKAGE_CACHE or ~/.fhir/packages. Environment overrides:\n\
SHINNY_LISTEN, SHINNY_MODE, SHINNY_STORAGE, SHINNY_SQLITE_PATH, SHINNY_PG_URL,\n\
SHINNY_POLICY, SHINNY_MAX_BODY_BYTES, SHINNY_MAX_CONCURRENT, SHINNY_MAX_QUEUED,\n\
SHINNY_BODY_READ_TIMEOUT,\n\
SHINNY_API_KEY (quickstart tenant), RUST_LOG (log filter), SHINNY_LOG_JSON=1.";

fn main() -> ExitCode {
    let mut config_path: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" | "-c" => match args.next() {
                Some(p) => config_path = Some(p.into()),
                None => {
                    eprintln!("--config needs a file\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    init_logging();
    let config = match Config::load(config_path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("shinny-service: {e}");
            return ExitCode::from(2);
        }
    };
    let state = match AppState::from_config(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("shinny-service: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("shinny-service: {e}");
            return ExitCode::from(2);
        }
    };
    rt.block_on(async move {
        let server = match start(state).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("shinny-service: cannot listen: {e}");
                return ExitCode::from(2);
            }
        };
        match server.run_until(shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("shinny-service: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Ctrl-C or SIGTERM (what container runtimes send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if std::env::var("SHINNY_LOG_JSON").is_ok_and(|v| v == "1") {
        builder.json().init();
    } else {
        builder.init();
    }
}
