//! The `newsdesk` command: serve the API, apply migrations, print the OpenAPI document, manage
//! accounts.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use actix_web::HttpServer;
use clap::{Parser, Subcommand};

use newsdesk::app::{build_app, AppState};
use newsdesk::auth::password::Password;
use newsdesk::auth::Role;
use newsdesk::config::{Config, LogFormat};
use newsdesk::db::Database;
use newsdesk::users::{self, parse_display_name, Email};

#[derive(Parser)]
#[command(
    name = "newsdesk",
    version,
    about = "A headless CMS for multilingual newsrooms"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve {
        /// On an empty database, create demo content and an admin account.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Add a generated archive of published stories, for benchmarks.
    Seed {
        /// How many stories.
        #[arg(long)]
        stories: usize,
        /// In how many of the five newsroom languages each story is published.
        #[arg(long, default_value_t = 5)]
        languages: usize,
        /// Seeds the generator; the same seed gives the same archive.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write a consistent copy of the SQLite database to FILE, while it serves.
    Backup {
        /// A file that does not exist yet.
        file: std::path::PathBuf,
    },
    /// Manage editor accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage partner sites.
    Partner {
        #[command(subcommand)]
        command: PartnerCommand,
    },
}

#[derive(Subcommand)]
enum PartnerCommand {
    /// Let a partner site in, with every language and tag; prints its key, once.
    Create {
        #[arg(long)]
        name: String,
        /// Whom to contact about the partner's use.
        #[arg(long)]
        email: String,
        /// Requests a minute, per node.
        #[arg(long, default_value_t = 120)]
        requests_per_minute: i32,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from a prompt, or from stdin when piped.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// contributor, author, editor or admin.
        #[arg(long)]
        role: String,
    },
}

fn seed_archive(config: Config, stories: usize, languages: usize, seed: u64) -> Result<(), String> {
    let state = AppState::init(config)?;
    let unusable = state
        .hasher
        .hash(&newsdesk::auth::random_token(32))
        .map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let done = newsdesk::tools::seed::run(&state.db, stories, languages, seed, &unusable)
        .map_err(|e| e.to_string())?;
    println!(
        "Seeded {} stories, {} published translations, in {:.1} s.",
        done.stories,
        done.translations,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        print!("{}", newsdesk::openapi::spec_json());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("newsdesk: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&config);
    let result = match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => serve(config, demo),
        Command::Migrate => migrate(&config),
        Command::Seed {
            stories,
            languages,
            seed,
        } => seed_archive(config, stories, languages, seed),
        Command::Backup { file } => backup(&config, &file),
        Command::User {
            command: UserCommand::Create { email, name, role },
        } => create_user(config, &email, &name, &role),
        Command::Partner {
            command:
                PartnerCommand::Create {
                    name,
                    email,
                    requests_per_minute,
                },
        } => create_partner(config, &name, &email, requests_per_minute),
        Command::Openapi => unreachable!("handled above"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("newsdesk: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(config: &Config) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    // The HTTP parser reports every malformed request (a NUL in a header, an oversized head) at
    // ERROR: anyone could flood the log with them. They are logged at WARN instead.
    let filter =
        tracing_subscriber::EnvFilter::try_new(format!("{},{PARSER}=off", config.log_filter))
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("info,{PARSER}=off")));
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let fmt = match config.log_format {
        LogFormat::Json => fmt.json().boxed(),
        LogFormat::Text => fmt.boxed(),
    };
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(
            MalformedRequests
                .with_filter(Targets::new().with_target(PARSER, tracing::Level::ERROR)),
        )
        .init();
}

/// Where actix's HTTP/1 parser logs the requests it refuses.
const PARSER: &str = "actix_http::h1::dispatcher";

/// Logs what the HTTP parser refused at WARN, under Newsdesk's own target.
struct MalformedRequests;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for MalformedRequests {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        tracing::warn!(target: "newsdesk::http", reason = %message.0, "refused a malformed request");
    }
}

fn backup(config: &Config, file: &std::path::Path) -> Result<(), String> {
    if file.exists() {
        return Err(format!(
            "{} exists already; name a new file",
            file.display()
        ));
    }
    let path = file
        .to_str()
        .ok_or("the backup file's name must be UTF-8")?;
    let db = Database::connect(&config.database_url, 1)?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    newsdesk::db::specific::backup(&mut conn, path).map_err(|e| e.to_string())?;
    println!("wrote a copy of the database to {path}");
    Ok(())
}

fn migrate(config: &Config) -> Result<(), String> {
    let db = Database::connect(&config.database_url, 1)?;
    let applied = db.migrate()?;
    let carded =
        newsdesk::articles::projections::cards::backfill(&db).map_err(|e| e.to_string())?;
    println!("applied {applied} migration(s), wrote item cards of {carded} stories; the database is current");
    Ok(())
}

fn create_user(config: Config, email: &str, name: &str, role: &str) -> Result<(), String> {
    let role = Role::parse(role).ok_or("--role must be contributor, author, editor or admin")?;
    let email = Email::parse(email, "email").map_err(|_| "--email is not an email address")?;
    let name = parse_display_name(name, "name")
        .map_err(|_| "--name must be 1 to 100 printable characters")?;
    let password = read_password()?;
    let password = Password::parse(password, "password").map_err(|e| match e {
        newsdesk::error::AppError::Validation(f) => format!("password {}", f[0].message),
        other => other.to_string(),
    })?;
    let state = AppState::init(config)?;
    let hash = state
        .hasher
        .hash(password.as_str())
        .map_err(|e| e.to_string())?;
    let mut conn = state.db.get().map_err(|e| e.to_string())?;
    let user = users::insert(&mut conn, &email, &name, role, &hash).map_err(|e| e.to_string())?;
    println!("created {} ({}) with id {}", user.email, user.role, user.id);
    Ok(())
}

fn create_partner(config: Config, name: &str, email: &str, rate: i32) -> Result<(), String> {
    use newsdesk::articles::changes::{changed, Change};
    use newsdesk::partners::{self, Fields, NewKey};
    let email = Email::parse(email, "email").map_err(|_| "--email is not an email address")?;
    let name = newsdesk::text::short_name(name, "name")
        .map_err(|_| "--name must be 1 to 100 printable characters, without markup")?;
    if !(1..=1_000_000).contains(&rate) {
        return Err("--requests-per-minute must be between 1 and 1000000".into());
    }
    let state = AppState::init(config)?;
    let key = NewKey::generate();
    let fields = Fields {
        name,
        contact_email: email.as_str().to_owned(),
        languages: Vec::new(),
        tag_ids: Vec::new(),
        requests_per_minute: rate,
        expires_at: None,
    };
    let mut conn = state.db.get().map_err(|e| e.to_string())?;
    let partner = conn
        .transaction(|c| {
            let partner = partners::insert(c, &fields, &key)?;
            newsdesk::audit::record(
                c,
                &newsdesk::audit::Actor::system(),
                "partner.create",
                "partner",
                &partner.id.to_string(),
                serde_json::json!({ "name": partner.name, "key_prefix": key.prefix }),
            )?;
            changed(c, Change::Partner(partner.id))?;
            Ok::<_, newsdesk::error::AppError>(partner)
        })
        .map_err(|e| e.to_string())?;
    eprintln!(
        "created partner {} ({}); its key, shown only this once:",
        partner.id, partner.name
    );
    println!("{}", key.key);
    Ok(())
}

/// Never from an argument: arguments show up in `ps` and shell history.
fn read_password() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Password again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the passwords differ".into());
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// glibc gives threads that allocate at the same time arenas of their own, up to eight per
/// core, and keeps what is freed in each for reuse by that arena alone, so memory freed by one
/// thread sits idle while another allocates afresh. A node's threads (HTTP workers, database
/// threads) share four arenas instead, and large buffers (a page of search results) go back to
/// the system when freed. Runs before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    extern "C" {
        fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
    }
    const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
    const M_ARENA_MAX: std::ffi::c_int = -8;
    // SAFETY: mallopt only changes allocator settings; it is called before other threads exist.
    unsafe {
        mallopt(M_ARENA_MAX, 4);
        mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

/// Ctrl-C (SIGINT) and SIGTERM, listened for from the moment this returns: both stop the
/// server gracefully. The future ends with the name of the one that came.
#[cfg(unix)]
fn shutdown_signals() -> Result<impl std::future::Future<Output = &'static str>, String> {
    use actix_web::rt::signal::unix::{signal, SignalKind};
    let listen = |kind| signal(kind).map_err(|e| format!("cannot listen for signals: {e}"));
    let (mut interrupt, mut terminate) = (
        listen(SignalKind::interrupt())?,
        listen(SignalKind::terminate())?,
    );
    Ok(async move {
        let interrupt = Box::pin(async move {
            interrupt.recv().await;
            "SIGINT"
        });
        let terminate = Box::pin(async move {
            terminate.recv().await;
            "SIGTERM"
        });
        futures_util::future::select(interrupt, terminate)
            .await
            .factor_first()
            .0
    })
}

#[cfg(not(unix))]
fn shutdown_signals() -> Result<impl std::future::Future<Output = &'static str>, String> {
    Ok(async {
        let _ = actix_web::rt::signal::ctrl_c().await;
        "Ctrl-C"
    })
}

#[actix_web::main]
async fn serve(config: Config, demo: bool) -> Result<(), String> {
    let bind = config.bind;
    let workers = config.workers;
    let state = AppState::init(config)?;
    let app_state = state.clone();
    // Database work runs on the database's own threads (src/db/queue.rs). Each worker's
    // blocking threads hash passwords, which is CPU work and memory-hungry, and answer the
    // readiness check: one per worker.
    let blocking = 1;
    // Bound before anything is announced: a port in use fails here, before a demo admin's
    // password is printed by a server that would not serve.
    let server = HttpServer::new(move || build_app(app_state.clone()))
        .workers(workers)
        .worker_max_blocking_threads(blocking)
        .shutdown_timeout(30)
        .disable_signals()
        .bind(bind)
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    if demo {
        match newsdesk::tools::demo::seed(&state).map_err(|e| e.to_string())? {
            Some(admin) => {
                println!();
                println!("  Demo content created. Sign in as the demo admin (shown only this once):");
                println!("    email:    {}", admin.email);
                println!("    password: {}", admin.password);
                println!();
                println!("  A partner key for the change feed (also shown only this once):");
                println!("    partner key: {}", admin.partner_key);
                println!();
            }
            None => println!(
                "The database already has content, so the demo was not added. To sign in, create an admin:\n  newsdesk user create --email you@example.org --name 'Your Name' --role admin"
            ),
        }
    }
    newsdesk::app::spawn_background_tasks(&state);
    let server = server.run();
    let handle = server.handle();
    let stop = shutdown_signals()?;
    actix_web::rt::spawn(async move {
        let signal = stop.await;
        tracing::info!(
            signal,
            "stopping: finishing requests in flight (30 s at most)"
        );
        eprintln!("Newsdesk received {signal}: finishing requests in flight, then stopping.");
        handle.stop(true).await;
    });
    tracing::info!(%bind, backend = ?state.db.backend(), "Newsdesk listening");
    println!("Newsdesk is listening on http://{bind}");
    let served = server.await.map_err(|e| e.to_string());
    // Requests have finished: write what they counted, so a clean shutdown loses none.
    for (what, result) in state.write_counts().await {
        match result {
            Ok(n) if n > 0 => tracing::info!(count = n, "wrote counted {what} at shutdown"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "could not write counted {what} at shutdown"),
        }
    }
    served
}
