//! The CLI: `galleon login`, `group` and `sig` with az's argument names. Every command talks
//! to the server through `galleon_client` over the public ARM API, so it works against any
//! galleon. Output is JSON on stdout (`-o none` for nothing); errors are `(Code) message` on
//! stderr with a non-zero exit.

mod args;
mod disk;
mod group;
mod login;
mod profile;
mod sig;
mod target_regions;

pub(crate) use args::{DiskCommand, GroupCommand, ImageCommand, LoginArgs, Output, SigCommand};

use galleon_client::{Client, ClientError, Reply};
use hyper::Method;
use serde_json::Value;

/// What the commands share: the client, the subscription and how to print.
pub(crate) struct Session {
    client: Client,
    subscription: String,
    output: Output,
}

const COMPUTE: &str = "api-version=2024-03-03";
const RESOURCES: &str = "api-version=2022-09-01";

impl Session {
    pub(crate) fn open(output: Output, subscription: Option<String>) -> anyhow::Result<Self> {
        let login = profile::load()?;
        let subscription = subscription.unwrap_or_else(|| login.subscription_id.clone());
        Ok(Self { client: Client::new(login)?, subscription, output })
    }

    fn group_path(&self, group: &str) -> String {
        format!("/subscriptions/{}/resourceGroups/{group}", self.subscription)
    }

    fn gallery_path(&self, group: &str, gallery: &str) -> String {
        format!("{}/providers/Microsoft.Compute/galleries/{gallery}", self.group_path(group))
    }

    async fn get(&self, path: &str, api: &str) -> Result<Value, ClientError> {
        Ok(self.client.call(Method::GET, &format!("{path}?{api}"), None).await?.body)
    }

    /// Every page of a list.
    async fn list(&self, path: &str, api: &str) -> Result<Value, ClientError> {
        let mut items = Vec::new();
        let mut next = Some(format!("{path}?{api}"));
        while let Some(url) = next.take() {
            let page = self.client.call(Method::GET, &url, None).await?.body;
            items.extend(page["value"].as_array().cloned().unwrap_or_default());
            next = page["nextLink"].as_str().map(str::to_string);
        }
        Ok(Value::Array(items))
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
            return Ok(Value::Null);
        }
        self.client.wait(&reply, |_| {}).await?;
        if delete { Ok(Value::Null) } else { Ok(self.get(path, api).await?) }
    }

    fn print(&self, value: &Value) -> anyhow::Result<()> {
        match self.output {
            Output::None => Ok(()),
            _ if value.is_null() => Ok(()),
            Output::Json | Output::Jsonc => {
                println!("{}", serde_json::to_string_pretty(value)?);
                Ok(())
            }
            Output::Tsv => {
                let rows = value.as_array().cloned().unwrap_or_else(|| vec![value.clone()]);
                for row in rows {
                    let cells: Vec<String> = match row {
                        Value::Object(map) => {
                            map.values().filter(|v| !v.is_object() && !v.is_array()).map(scalar).collect()
                        }
                        other => vec![scalar(&other)],
                    };
                    println!("{}", cells.join("\t"));
                }
                Ok(())
            }
        }
    }
}

/// A resource's `location`.
fn location_of(resource: &Value) -> anyhow::Result<String> {
    resource["location"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("the parent resource has no location"))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Runs `galleon login`.
pub(crate) async fn login(args: LoginArgs, output: Output) -> anyhow::Result<()> {
    login::run(args, output).await
}

/// Runs a `galleon group …` command.
pub(crate) async fn group(command: GroupCommand, output: Output, subscription: Option<String>) -> anyhow::Result<()> {
    group::run(&Session::open(output, subscription)?, command).await
}

/// Runs a `galleon sig …` command.
pub(crate) async fn sig(command: SigCommand, output: Output, subscription: Option<String>) -> anyhow::Result<()> {
    sig::run(&Session::open(output, subscription)?, command).await
}

/// Runs a `galleon disk …` command.
pub(crate) async fn disk(command: DiskCommand, output: Output, subscription: Option<String>) -> anyhow::Result<()> {
    disk::disk(&Session::open(output, subscription)?, command).await
}

/// Runs a `galleon image …` command.
pub(crate) async fn image(command: ImageCommand, output: Output, subscription: Option<String>) -> anyhow::Result<()> {
    disk::image(&Session::open(output, subscription)?, command).await
}
