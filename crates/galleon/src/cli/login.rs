//! `galleon login`: from a local server's `credentials.json`, or a URL and a service
//! principal's credentials. Checks the login by fetching a token, then saves the profile.

use std::path::PathBuf;

use anyhow::Context;
use galleon_client::{Client, Login};
use hyper::Method;
use serde_json::json;

use super::args::LoginArgs;

pub(super) async fn run(args: LoginArgs, output: super::Output) -> anyhow::Result<()> {
    let mut login = match args.server {
        Some(server) => Login {
            endpoint: server,
            tenant_id: args.tenant.unwrap_or_default(),
            client_id: args.client_id.unwrap_or_default(),
            client_secret: args.client_secret.unwrap_or_default(),
            subscription_id: String::new(),
            ca_file: None,
        },
        None => {
            let dir = args.data_dir.unwrap_or_else(|| PathBuf::from("galleon-data"));
            let path = dir.join("credentials.json");
            let bytes = std::fs::read(&path)
                .with_context(|| format!("reading {} (is this a galleon data directory?)", path.display()))?;
            serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?
        }
    };
    if let Some(ca) = args.ca_file {
        login.ca_file = Some(std::path::absolute(&ca)?.display().to_string());
    }
    let client = Client::new(login.clone())?;
    client.authenticate().await?;
    let subscriptions = client
        .call(Method::GET, &format!("/subscriptions?{}", galleon_client::api_version::RESOURCES), None)
        .await?
        .body;
    let ids: Vec<&str> =
        subscriptions["value"].as_array().into_iter().flatten().filter_map(|s| s["subscriptionId"].as_str()).collect();
    login.subscription_id = match args.subscription {
        Some(wanted) if ids.contains(&wanted.as_str()) => wanted,
        Some(wanted) => {
            anyhow::bail!("The subscription '{wanted}' does not exist or this principal has no role in it.")
        }
        None if ids.contains(&login.subscription_id.as_str()) => login.subscription_id,
        None => ids.first().map(|s| s.to_string()).context("This principal has no role in any subscription.")?,
    };
    let path = super::profile::save(&login)?;
    eprintln!("Logged in to {} as {}; profile saved in {}", login.endpoint, login.client_id, path.display());
    let subscription = json!({ "environmentName": "galleon", "id": login.subscription_id, "isDefault": true,
        "tenantId": login.tenant_id, "user": { "name": login.client_id, "type": "servicePrincipal" } });
    if output != super::Output::None {
        println!("{}", serde_json::to_string_pretty(&json!([subscription]))?);
    }
    Ok(())
}
