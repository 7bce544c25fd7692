//! `modelyard-server`: the REST API of DESIGN.md §9 and the web dashboard, on the facade.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use modelyard::Modelyard;
use modelyard_server::config::{Args, Command, Role};
use modelyard_server::{AppState, app, bench_hello_app, health_app, logs, serve};
use tokio::net::TcpListener;

/// mimalloc: each request allocates dozens of small blocks (headers, JSON, records) on two
/// runtime threads; glibc's allocator cost about a tenth of a request's CPU in the load test.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process. mimalloc asks the kernel for them on its
/// arenas, and with the kernel's default `max_ptes_none` khugepaged then makes a whole 2 MiB
/// page resident around a few live blocks, more of them the longer the server runs: in the
/// 10-minute soak the server stayed about 70 MiB lower without them (docs/SECURITY.md). The
/// training benchmarks run on the system allocator, which never asks for them.
#[cfg(target_os = "linux")]
fn no_transparent_huge_pages() -> std::io::Result<()> {
    Ok(rustix::thread::disable_transparent_huge_pages(true)?)
}

#[cfg(not(target_os = "linux"))]
fn no_transparent_huge_pages() -> std::io::Result<()> {
    Ok(())
}

fn main() -> ExitCode {
    let started = Instant::now();
    let huge_pages = no_transparent_huge_pages();
    let args = Args::parse();
    let _logs = match logs::init(args.log_json, args.log_dir.as_deref(), args.log_retention_days) {
        Ok(logs) => logs,
        Err(err) => {
            eprintln!("modelyard-server: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(err) = huge_pages {
        tracing::warn!(%err, "transparent huge pages could not be turned off");
    }
    // A bounded blocking pool: tokio's default of 512 grows by a thread for each blocking call
    // under way in a burst of slow disk work, and keeps them all while the load lasts (idle
    // threads take turns), each with its allocator pages.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(usize::from(args.blocking_threads))
        .build();
    let outcome = match runtime {
        Ok(runtime) => runtime.block_on(run(args, started)),
        Err(err) => Err(err.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(%err, "modelyard-server failed");
            eprintln!("modelyard-server: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args, started: Instant) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(command) = args.command.clone() {
        return backup_or_restore(&args, command).await;
    }
    let config = args.facade_config()?;
    if config.jwt_secret.is_none() {
        tracing::warn!(
            "MODELYARD_JWT_SECRET is not set: using a development secret kept in the data \
             directory (jwt-secret); set the variable in production"
        );
    }
    if config.trainer.is_none() && args.role != Role::Api {
        tracing::warn!("this build has no trainer: runs are queued but not trained here");
    }
    let settings = args.settings(&config);
    let yard = Modelyard::open(config).await?;
    let state = AppState::new(yard.clone(), settings);
    let router = match args.role {
        Role::Worker => health_app(state.clone()),
        Role::Api | Role::All => app(state.clone()),
    };
    let listener = TcpListener::bind(args.bind).await?;
    let address = listener.local_addr()?;
    if let Some(bench) = args.bench_hello {
        let bench_listener = TcpListener::bind(bench).await?;
        println!("bench hello route on http://{}", bench_listener.local_addr()?);
        tokio::spawn(async move { axum::serve(bench_listener, bench_hello_app()).await });
    }
    println!("modelyard-server listening on http://{address}");
    tracing::info!(%address, role = ?args.role, startup_ms = started.elapsed().as_millis(), "ready");
    serve(listener, router, state, shutdown_signal()).await?;
    tracing::info!("stopping workers: running trainings checkpoint and return to the queue");
    yard.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// `backup` and `restore`: open the store without training workers, copy, print the counts.
async fn backup_or_restore(
    args: &Args,
    command: Command,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = args.facade_config()?;
    config.trainer = None;
    let yard = Modelyard::open(config).await?;
    let started = Instant::now();
    let (verb, summary) = match &command {
        Command::Backup { out, user: None } => ("backed up", yard.export(out).await?),
        Command::Backup { out, user: Some(email) } => {
            ("backed up", yard.export_account(email, out).await?)
        }
        Command::Restore { from } => ("restored", yard.import(from).await?),
    };
    println!(
        "{verb} {} accounts, {} datasets, {} models, {} runs ({} epochs), {} notifications, \
         {} files ({} bytes) in {:.1} s{}",
        summary.users,
        summary.datasets,
        summary.models,
        summary.runs,
        summary.epochs,
        summary.notifications,
        summary.blobs,
        summary.blob_bytes,
        started.elapsed().as_secs_f64(),
        match summary.skipped {
            0 => String::new(),
            n => format!("; {n} records left out, their files deleted while backing up"),
        }
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            futures::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => futures::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = futures::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested");
}
