//! `galleon`: a self-hosted Azure Compute Gallery. `galleon serve` runs the server; later
//! subcommands are the CLI. This binary is the only place that names concrete backends.

mod backup;
mod bootstrap;
mod cli;
mod config;
mod db;
mod fetch;
mod files;
mod log_sink;
mod serve;
mod stores;
mod tls;

use clap::{Parser, Subcommand};
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// mimalloc instead of glibc malloc: request handling allocates many small, short-lived
/// objects; bench/arm_get.sh measured image-version GETs at 18.4k/s with glibc and 25.6k/s with
/// mimalloc on this project's 2-core machine.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "galleon", version, about = "A self-hosted Azure Compute Gallery that speaks ARM.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Output format of CLI commands.
    #[arg(long, short = 'o', global = true, value_enum, default_value = "json")]
    output: cli::Output,
    /// The subscription CLI commands act in (default: the profile's).
    #[arg(long, global = true)]
    subscription: Option<String>,
    /// A JMESPath query applied to CLI output (as az's --query).
    #[arg(long, global = true)]
    query: Option<String>,
    /// How log lines on stderr are written: `text` for people, `json` (one object per line) for
    /// log collectors.
    #[arg(long, global = true, value_enum, default_value = "text", env = "GALLEON_LOG_FORMAT")]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (HTTPS ARM API on 127.0.0.1:8443 by default).
    Serve(config::ServeArgs),
    /// Prepare a data directory (and a shared database) without serving: tenant, keys, admin.
    Init(config::ServeArgs),
    /// Log in to a galleon server (a local data directory's credentials, or a URL and a principal).
    Login(cli::LoginArgs),
    /// Manage resource groups.
    #[command(subcommand)]
    Group(cli::GroupCommand),
    /// Manage managed disks.
    #[command(subcommand)]
    Disk(cli::DiskCommand),
    /// Manage snapshots.
    #[command(subcommand)]
    Snapshot(cli::SnapshotCommand),
    /// Manage managed images.
    #[command(subcommand)]
    Image(cli::ImageCommand),
    /// Manage virtual machines (records that own disks; galleon does not run guests).
    #[command(subcommand)]
    Vm(cli::VmCommand),
    /// Manage service principals (owners only).
    #[command(subcommand)]
    Principal(cli::PrincipalCommand),
    /// Manage subscriptions.
    #[command(subcommand)]
    Subscription(cli::SubscriptionCommand),
    /// Manage role assignments.
    #[command(subcommand)]
    Role(cli::RoleCommand),
    /// Collect garbage in the region stores now (tenant owners only).
    #[command(subcommand)]
    Gc(cli::GcCommand),
    /// The regions served and their stores: list, show what each holds, scrub (tenant owners only).
    #[command(subcommand)]
    Region(cli::RegionCommand),
    /// Rotate the keys access tokens are signed with (tenant owners only).
    #[command(subcommand)]
    Keys(cli::KeysCommand),
    /// List the nodes serving from this database (tenant owners only).
    #[command(subcommand)]
    Node(cli::NodeCommand),
    /// Webhook subscriptions that receive CloudEvents about image versions (galleon only).
    #[command(subcommand)]
    Event(cli::EventCommand),
    /// Follow long-running operations started with --no-wait.
    #[command(subcommand)]
    Operation(cli::OperationCommand),
    /// Manage galleries, image definitions and image versions (az sig's arguments).
    #[command(subcommand)]
    Sig(cli::SigCommand),
    /// Move metadata between databases (one node's SQLite into a shared PostgreSQL).
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Back up a data directory while its server runs: metadata snapshot, credentials, and
    /// every chunk (incrementally: a second backup copies only new chunks).
    Backup(backup::BackupArgs),
    /// Restore a backup into a new data directory, checking every chunk's digest.
    Restore(backup::RestoreArgs),
}

fn main() -> anyhow::Result<()> {
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // The command's words without its arguments (`sig image-version show`).
    let mut words = Vec::new();
    let mut at = &matches;
    while let Some((name, sub)) = at.subcommand() {
        words.push(name);
        at = sub;
    }
    // A server's log lines (one per request) go through log_sink: a request never waits on
    // stderr, and lines reach it in batches. Colours only for a person at a terminal, never in
    // a log file.
    let (writer, _flush_logs) = if matches!(cli.command, Command::Serve(_)) {
        let (sink, flusher) = log_sink::to(std::io::stderr(), log_sink::WINDOW)?;
        (BoxMakeWriter::new(sink), Some(flusher))
    } else {
        (BoxMakeWriter::new(std::io::stderr), None)
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).with_current_span(true).with_span_list(false).init(),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let globals =
        cli::Globals { output: cli.output, subscription: cli.subscription, query: cli.query, command: words.join(" ") };
    let resource = match cli.command {
        Command::Serve(args) => return runtime.block_on(serve::run(config::Settings::resolve(args)?)),
        Command::Db(c) => return runtime.block_on(db::run(c)),
        Command::Backup(args) => return runtime.block_on(backup::backup(args)),
        Command::Restore(args) => return runtime.block_on(backup::restore(args)),
        Command::Init(args) => return runtime.block_on(serve::init(config::Settings::resolve(args)?)),
        Command::Login(args) => return finish(runtime.block_on(cli::login(args, globals.output))),
        Command::Group(c) => cli::Resource::Group(c),
        Command::Disk(c) => cli::Resource::Disk(c),
        Command::Snapshot(c) => cli::Resource::Snapshot(c),
        Command::Image(c) => cli::Resource::Image(c),
        Command::Vm(c) => cli::Resource::Vm(c),
        Command::Sig(c) => cli::Resource::Sig(c),
        Command::Operation(c) => cli::Resource::Operation(c),
        Command::Principal(c) => cli::Resource::Principal(c),
        Command::Subscription(c) => cli::Resource::Subscription(c),
        Command::Role(c) => cli::Resource::Role(c),
        Command::Gc(c) => cli::Resource::Gc(c),
        Command::Region(c) => cli::Resource::Region(c),
        Command::Keys(c) => cli::Resource::Keys(c),
        Command::Node(c) => cli::Resource::Node(c),
        Command::Event(c) => cli::Resource::Event(c),
    };
    finish(runtime.block_on(cli::run(resource, globals)))
}

/// Ends a CLI command as az does: the error on stderr (`(Code) message` for ARM errors), exit 1,
/// or 2 for usage errors.
fn finish(result: anyhow::Result<()>) -> anyhow::Result<()> {
    if let Err(e) = result {
        eprintln!("ERROR: {e:#}");
        std::process::exit(if e.to_string().starts_with("usage error") { 2 } else { 1 });
    }
    Ok(())
}
