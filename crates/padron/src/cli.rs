//! Command-line definition and the database-backed commands.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use padron_api::ratelimit::Quota;
use padron_api::{AppState, auth};
use padron_domain::ValidationLevel;
use padron_store::{ConnectOptions, Environment, Store};

/// Padron: a self-hosted identity registry for fintech platforms.
#[derive(Debug, Parser)]
#[command(name = "padron", version, about)]
pub struct Cli {
    /// Database URL: sqlite://FILE (created if missing) or postgres://USER@HOST/DB.
    #[arg(
        long,
        global = true,
        env = "PADRON_DATABASE_URL",
        default_value = "sqlite://padron.db"
    )]
    pub database: String,
    /// Maximum database connections per process.
    #[arg(
        long,
        global = true,
        env = "PADRON_DB_MAX_CONNECTIONS",
        default_value_t = 8
    )]
    pub db_max_connections: u32,
    /// Statement timeout in milliseconds (PostgreSQL), busy timeout (SQLite).
    #[arg(
        long,
        global = true,
        env = "PADRON_DB_STATEMENT_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub db_statement_timeout_ms: u64,
    /// Log format: text or json.
    #[arg(long, global = true, env = "PADRON_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage clients and their credentials.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Validate a document number, phone or email offline.
    Validate(crate::validate::ValidateArgs),
}

/// `padron serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PADRON_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Per-API-key limit in sandbox: RATE (requests per second) or RATE/BURST; unset = no limit.
    #[arg(long, env = "PADRON_RATE_LIMIT_SANDBOX", value_parser = parse_quota)]
    pub rate_limit_sandbox: Option<Quota>,
    /// Per-API-key limit in production: RATE or RATE/BURST; unset = no limit.
    #[arg(long, env = "PADRON_RATE_LIMIT_PRODUCTION", value_parser = parse_quota)]
    pub rate_limit_production: Option<Quota>,
    /// Seconds an API-key lookup is reused before the database is asked again (0: always ask).
    #[arg(long, env = "PADRON_AUTH_CACHE_SECS", default_value_t = 5)]
    pub auth_cache_secs: u64,
    /// Longest wait for requests in flight at shutdown, in seconds.
    #[arg(long, env = "PADRON_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
}

fn parse_quota(raw: &str) -> Result<Quota, String> {
    Quota::parse(raw)
        .ok_or_else(|| format!("{raw:?} is not RATE or RATE/BURST (requests per second, burst)"))
}

/// An environment on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EnvArg {
    /// The sandbox.
    Sandbox,
    /// Production.
    Production,
}

impl From<EnvArg> for Environment {
    fn from(e: EnvArg) -> Self {
        match e {
            EnvArg::Sandbox => Environment::Sandbox,
            EnvArg::Production => Environment::Production,
        }
    }
}

/// A validation level on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LevelArg {
    /// Shape only.
    Structural,
    /// Shape, check digits and phone metadata.
    Strict,
}

impl From<LevelArg> for ValidationLevel {
    fn from(l: LevelArg) -> Self {
        match l {
            LevelArg::Structural => ValidationLevel::Structural,
            LevelArg::Strict => ValidationLevel::Strict,
        }
    }
}

/// `padron client …`.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create a client; prints its id and, per environment, an API key and a client secret (once).
    Create {
        /// Display name.
        #[arg(long, env = "PADRON_CLIENT_NAME")]
        name: String,
        /// Print exactly one JSON object.
        #[arg(long, env = "PADRON_OUTPUT_JSON")]
        json: bool,
    },
    /// List clients.
    List {
        /// Print JSON lines.
        #[arg(long, env = "PADRON_OUTPUT_JSON")]
        json: bool,
    },
    /// Replace the client secret of one environment; prints the new secret once.
    RotateSecret {
        /// Client id.
        #[arg(long, env = "PADRON_CLIENT_ID")]
        client: String,
        /// Environment.
        #[arg(long, value_enum, env = "PADRON_ENV")]
        env: EnvArg,
    },
    /// Set the validation level of one client environment.
    Configure {
        /// Client id.
        #[arg(long, env = "PADRON_CLIENT_ID")]
        client: String,
        /// Environment.
        #[arg(long, value_enum, env = "PADRON_ENV")]
        env: EnvArg,
        /// structural or strict.
        #[arg(long, value_enum, env = "PADRON_VALIDATION_LEVEL")]
        validation: LevelArg,
    },
}

/// The database URL with any password replaced, for messages.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    // The last '@' ends the user information: a password may itself contain '@'.
    let base = match base
        .split_once("://")
        .and_then(|(scheme, rest)| Some((scheme, rest.rsplit_once('@')?)))
    {
        Some((scheme, (userinfo, host))) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => base.to_owned(),
        },
        None => base.to_owned(),
    };
    match query {
        None => base,
        Some(query) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_owned(),
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
    }
}

async fn open_store(cli: &Cli, migrate: bool) -> anyhow::Result<Arc<dyn Store>> {
    let options = ConnectOptions {
        max_connections: cli.db_max_connections,
        migrate,
        statement_timeout: Duration::from_millis(cli.db_statement_timeout_ms),
    };
    padron_store::connect(&cli.database, &options)
        .await
        // The store's errors never carry the URL; the message names it with the password masked.
        .with_context(|| format!("failed to open the database {}", redact_url(&cli.database)))
}

/// Runs a database-backed command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Serve(args) => serve(&cli, args).await?,
        Command::Migrate => {
            open_store(&cli, true).await?;
            println!("migrations applied to {}", redact_url(&cli.database));
        }
        Command::Client(cmd) => client(&cli, cmd).await?,
        // main() runs it before starting a runtime; here for completeness of the dispatch.
        Command::Validate(v) => return Ok(crate::validate::run(v)),
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(cli: &Cli, args: &ServeArgs) -> anyhow::Result<()> {
    let store = open_store(cli, true).await?;
    let state = AppState::new(store.clone())
        .await
        .context("failed to load token signing keys")?
        .with_rate_limits(args.rate_limit_sandbox, args.rate_limit_production)
        .with_auth_cache(Duration::from_secs(args.auth_cache_secs));
    let app = padron_api::router(state);
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("failed to listen on {}", args.listen))?;
    let addr = listener
        .local_addr()
        .context("failed to read the listening address")?;
    println!(
        "padron listening on http://{addr} ({} database)",
        store.backend()
    );
    tokio::spawn(purge_idempotency_keys(store.clone()));
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing requests in flight");
        let _ = stop_tx.send(());
    });
    let mut stop_rx = stop_rx;
    tokio::select! {
        result = server => result.context("server failed")?,
        // Requests still running after the grace period are abandoned.
        _ = async { let _ = stop_rx.changed().await; tokio::time::sleep(grace).await } => {
            tracing::warn!("grace period over; exiting with requests still in flight");
        }
    }
    store.close().await;
    Ok(())
}

/// Deletes expired idempotency keys every ten minutes (each process does; the deletes are
/// idempotent, so several processes on one database need no coordination).
async fn purge_idempotency_keys(store: Arc<dyn Store>) {
    let mut every = tokio::time::interval(Duration::from_secs(600));
    loop {
        every.tick().await;
        match store.purge_idempotency(auth::now_micros()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired idempotency keys deleted"),
            Err(err) => {
                tracing::warn!(error = %padron_api::error::describe(&err), "failed to purge expired idempotency keys")
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn client(cli: &Cli, cmd: &ClientCommand) -> anyhow::Result<()> {
    let store = open_store(cli, true).await?;
    match cmd {
        ClientCommand::Create { name, json } => {
            let name = name.trim();
            if name.is_empty() {
                bail!("--name must not be empty");
            }
            let created = auth::create_client(store.as_ref(), name, auth::now_micros())
                .await
                .context("failed to create the client")?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string(&created).context("failed to encode the client")?
                );
            } else {
                println!("clientId: {}", created.client_id);
                for (env, creds) in [
                    ("sandbox", &created.sandbox),
                    ("production", &created.production),
                ] {
                    println!("{env}:");
                    println!("  apiKey:       {}", creds.api_key);
                    println!("  clientSecret: {}", creds.client_secret);
                }
                println!(
                    "Keep these now: they are stored only as hashes and cannot be shown again."
                );
            }
        }
        ClientCommand::List { json } => {
            for c in store
                .list_clients()
                .await
                .context("failed to list clients")?
            {
                let created = padron_api::wire::timestamp(c.created_at);
                if *json {
                    let line =
                        serde_json::json!({"clientId": c.id, "name": c.name, "createdAt": created});
                    println!("{line}");
                } else {
                    println!("{}\t{}\t{}", c.id, created, c.name);
                }
            }
        }
        ClientCommand::RotateSecret { client, env } => {
            let env = Environment::from(*env);
            let secret = auth::new_client_secret(env);
            store
                .rotate_secret(client, env, &auth::hash_secret(&secret), auth::now_micros())
                .await
                .with_context(|| {
                    format!(
                        "failed to rotate the {} secret of client {client}",
                        env.as_str()
                    )
                })?;
            println!("clientSecret: {secret}");
            println!("Tokens already issued stay valid until they expire.");
        }
        ClientCommand::Configure {
            client,
            env,
            validation,
        } => {
            let env = Environment::from(*env);
            let level = ValidationLevel::from(*validation);
            store
                .set_validation_level(client, env, Some(level))
                .await
                .with_context(|| format!("failed to configure client {client}"))?;
            println!(
                "client {client} {}: validation {}",
                env.as_str(),
                level.as_str()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redact_url_hides_only_the_password() {
        assert_eq!(
            redact_url("postgres://padron:s3cret@db:5432/p"),
            "postgres://padron:***@db:5432/p"
        );
        assert_eq!(
            redact_url("postgres://padron@db/p"),
            "postgres://padron@db/p"
        );
        assert_eq!(redact_url("sqlite://padron.db"), "sqlite://padron.db");
        assert_eq!(
            redact_url("postgres://u:p@ss@db/p"),
            "postgres://u:***@db/p"
        );
        assert_eq!(
            redact_url("postgres://db/p?user=u&password=s3cret&sslmode=require"),
            "postgres://db/p?user=u&password=***&sslmode=require"
        );
    }
}
