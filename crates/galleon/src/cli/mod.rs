//! The CLI: `galleon login`, `group` and `sig` with az's argument names. Every command talks
//! to the server through `galleon_client` over the public ARM API, so it works against any
//! galleon. Output is JSON on stdout (`-o none` for nothing); errors are `(Code) message` on
//! stderr with a non-zero exit.

mod access;
mod args;
mod az_shape;
mod az_table;
mod disk;
mod events;
mod format;
mod generic_update;
mod group;
mod login;
mod operation;
mod profile;
mod progress;
mod provenance;
mod share;
mod sig;
mod target_regions;
mod transfer;
mod vm;
mod vm_create;

pub(crate) use args::{
    DiskCommand, EventCommand, GcCommand, GroupCommand, ImageCommand, KeysCommand, LoginArgs, NodeCommand,
    OperationCommand, Output, PrincipalCommand, RegionCommand, RoleCommand, SigCommand, SnapshotCommand,
    SubscriptionCommand, VmCommand,
};

use galleon_client::{Client, ClientError, Reply};
use hyper::Method;
use serde_json::Value;

/// What the commands share: the client, the subscription and how to print.
pub(crate) struct Session {
    client: Client,
    subscription: String,
    output: Output,
    query: Option<String>,
    /// The command as typed, without arguments (`sig image-version show`): az's table columns
    /// and output shape depend on it.
    command: String,
}

/// What every CLI command takes besides its own arguments.
pub(crate) struct Globals {
    pub output: Output,
    pub subscription: Option<String>,
    pub query: Option<String>,
    pub command: String,
}

// The api-versions the CLI speaks, one per resource provider.
use galleon_client::api_version::{COMPUTE, DISKS, IMAGES_AND_VMS, RESOURCES, ROLES};

impl Session {
    pub(crate) fn open(globals: Globals) -> anyhow::Result<Self> {
        // A bad query is a usage error before anything is sent.
        if let Some(q) = &globals.query {
            jmespath::compile(q).map_err(|e| anyhow::anyhow!("usage error: argument --query: {e}"))?;
        }
        let login = profile::load()?;
        let subscription = globals.subscription.unwrap_or_else(|| login.subscription_id.clone());
        Ok(Self {
            client: Client::new(login)?,
            subscription,
            output: globals.output,
            query: globals.query,
            command: globals.command,
        })
    }

    fn group_path(&self, group: &str) -> String {
        format!("/subscriptions/{}/resourceGroups/{group}", self.subscription)
    }

    /// An id as given, or the id of a resource of `kind` with that name in the resource group
    /// (az takes either).
    fn id_or_name(&self, group: &str, kind: &str, value: &str) -> String {
        if value.starts_with("/subscriptions/") {
            value.to_string()
        } else {
            format!("{}/providers/{kind}/{value}", self.group_path(group))
        }
    }

    fn gallery_path(&self, group: &str, gallery: &str) -> String {
        format!("{}/providers/Microsoft.Compute/galleries/{gallery}", self.group_path(group))
    }

    async fn get(&self, path: &str, api: &str) -> Result<Value, ClientError> {
        Ok(self.client.call(Method::GET, &format!("{path}?{api}"), None).await?.body)
    }

    /// Every page of a list.
    async fn list(&self, path: &str, api: &str) -> Result<Value, ClientError> {
        Ok(Value::Array(self.client.list(&format!("{path}?{api}")).await?))
    }

    /// A PUT/PATCH/DELETE that may be long-running: waits unless `no_wait`, then reads the
    /// resource back (nothing for a delete).
    async fn change(
        &self,
        method: Method,
        path: &str,
        api: &str,
        body: Option<&Value>,
        no_wait: bool,
    ) -> anyhow::Result<Value> {
        let delete = method == Method::DELETE;
        let reply: Reply = self.client.call(method, &format!("{path}?{api}"), body).await?;
        if no_wait {
            return Ok(started(&reply));
        }
        self.client.wait(&reply).await?;
        if delete { Ok(Value::Null) } else { Ok(self.get(path, api).await?) }
    }

    /// az's update: read the resource, change it, PUT it back (without what the server owns).
    async fn update(
        &self,
        path: &str,
        api: &str,
        no_wait: bool,
        change: impl FnOnce(&mut Value) -> anyhow::Result<()>,
    ) -> anyhow::Result<Value> {
        let resource = self.updated(path, api, change).await?;
        self.change(Method::PUT, path, api, Some(&resource), no_wait).await
    }

    /// The body of an update: the resource as read, changed, without read-only properties.
    async fn updated(
        &self,
        path: &str,
        api: &str,
        change: impl FnOnce(&mut Value) -> anyhow::Result<()>,
    ) -> anyhow::Result<Value> {
        let mut resource = self.get(path, api).await?;
        change(&mut resource)?;
        if let Some(map) = resource.as_object_mut() {
            for key in ["id", "name", "type"] {
                map.remove(key);
            }
        }
        if let Some(properties) = resource.get_mut("properties").and_then(Value::as_object_mut) {
            properties.remove("provisioningState");
            properties.remove("replicationStatus");
        }
        Ok(resource)
    }

    /// Polls a resource until `done` says so (az's `wait`).
    async fn wait_for(
        &self,
        path: &str,
        api: &str,
        timing: &args::WaitTiming,
        done: impl Fn(Option<&Value>) -> bool,
    ) -> anyhow::Result<()> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timing.timeout);
        loop {
            let found = match self.get(path, api).await {
                Ok(v) => Some(v),
                Err(ClientError::Arm { status: 404, .. }) => None,
                Err(e) => return Err(e.into()),
            };
            if done(found.as_ref()) {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                anyhow::bail!("(Timeout) The wait condition was not met in {} seconds.", timing.timeout);
            }
            tokio::time::sleep(std::time::Duration::from_secs(timing.interval.max(1))).await;
        }
    }

    fn print(&self, value: &Value) -> anyhow::Result<()> {
        // What az prints for the same object, so az's `--query` expressions work unchanged.
        let shaped = az_shape::az_shape(value);
        let value = &shaped;
        let queried;
        let value = match &self.query {
            Some(q) if !value.is_null() => {
                let expr = jmespath::compile(q)?;
                let found = expr.search(jmespath::Variable::from_serializable(value)?)?;
                queried = serde_json::to_value(&*found)?;
                &queried
            }
            _ => value,
        };
        let text = match self.output {
            Output::None => return Ok(()),
            _ if value.is_null() => return Ok(()),
            Output::Table => {
                // A --query replaces az's columns with the query's own, as in az.
                let transformed = if self.query.is_none() { az_table::rows(&self.command, value) } else { None };
                format::table(&transformed.unwrap_or_else(|| format::auto_rows(value)))
            }
            Output::Yaml => format::yaml(value),
            Output::Json | Output::Jsonc => serde_json::to_string_pretty(value)?,
            Output::Tsv => {
                let text = format::tsv(value);
                if text.is_empty() && value.as_array().is_some_and(Vec::is_empty) {
                    return Ok(());
                }
                text
            }
        };
        write_stdout(&text)
    }
}

/// Prints a command's output. A reader that went away (`galleon … | head`) ends the command
/// quietly, as it does for other Unix tools, instead of a panic.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => Ok(other?),
    }
}

/// What `--no-wait` prints: the operation to `galleon operation show|wait` later.
fn started(reply: &Reply) -> Value {
    match &reply.async_operation {
        Some(url) => serde_json::json!({ "operation": url, "status": "InProgress" }),
        None => Value::Null,
    }
}

/// A resource's `location`.
fn location_of(resource: &Value) -> anyhow::Result<String> {
    resource["location"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("the parent resource has no location"))
}

/// Runs `galleon login`.
pub(crate) async fn login(args: LoginArgs, output: Output) -> anyhow::Result<()> {
    login::run(args, output).await
}

/// Which resource command to run.
pub(crate) enum Resource {
    Group(GroupCommand),
    Disk(DiskCommand),
    Snapshot(SnapshotCommand),
    Image(ImageCommand),
    Vm(VmCommand),
    Sig(SigCommand),
    Operation(OperationCommand),
    Principal(PrincipalCommand),
    Subscription(SubscriptionCommand),
    Role(RoleCommand),
    Gc(GcCommand),
    Region(RegionCommand),
    Keys(KeysCommand),
    Node(NodeCommand),
    Event(args::EventCommand),
}

/// Runs a resource command.
pub(crate) async fn run(command: Resource, globals: Globals) -> anyhow::Result<()> {
    let s = Session::open(globals)?;
    match command {
        Resource::Group(c) => group::run(&s, c).await,
        Resource::Disk(c) => disk::disk(&s, c).await,
        Resource::Snapshot(c) => disk::snapshot(&s, c).await,
        Resource::Image(c) => disk::image(&s, c).await,
        Resource::Vm(c) => vm::run(&s, c).await,
        Resource::Sig(c) => sig::run(&s, c).await,
        Resource::Operation(c) => operation::run(&s, c).await,
        Resource::Principal(c) => access::principal(&s, c).await,
        Resource::Subscription(c) => access::subscription(&s, c).await,
        Resource::Role(c) => access::role(&s, c).await,
        Resource::Gc(c) => access::gc(&s, c).await,
        Resource::Region(c) => access::region(&s, c).await,
        Resource::Keys(c) => access::keys(&s, c).await,
        Resource::Node(c) => access::node(&s, c).await,
        Resource::Event(c) => events::run(&s, c).await,
    }
}
