//! `galleon event subscription create|list|show|delete|test|dead-letters`: webhook
//! subscriptions through galleon's `Galleon.Events/eventSubscriptions` surface.

use hyper::Method;
use serde_json::{Value, json};

use super::Session;
use super::args::{EventCommand, EventSubscriptionCommand, EventTarget};

use galleon_client::api_version::COMPUTE as API;

fn scope(s: &Session, group: Option<&str>, gallery: Option<&str>) -> String {
    match (group, gallery) {
        (Some(g), Some(r)) => s.gallery_path(g, r),
        _ => format!("/subscriptions/{}", s.subscription),
    }
}

fn path(s: &Session, t: &EventTarget) -> String {
    let base = scope(s, t.resource_group.as_deref(), t.gallery_name.as_deref());
    format!("{base}/providers/Galleon.Events/eventSubscriptions/{}", t.name)
}

pub(super) async fn run(s: &Session, command: EventCommand) -> anyhow::Result<()> {
    let EventCommand::Subscription(command) = command;
    let value = match command {
        EventSubscriptionCommand::Create { target, endpoint, included_event_types, secret } => {
            let mut properties = json!({ "destination": { "endpointType": "WebHook", "endpointUrl": endpoint } });
            if !included_event_types.is_empty() {
                properties["filter"] = json!({ "includedEventTypes": included_event_types });
            }
            if let Some(secret) = secret {
                properties["secret"] = json!(secret);
            }
            let body = json!({ "properties": properties });
            s.client.call(Method::PUT, &format!("{}?{API}", path(s, &target)), Some(&body)).await?.body
        }
        EventSubscriptionCommand::List { resource_group, gallery_name } => {
            let base = scope(s, resource_group.as_deref(), gallery_name.as_deref());
            let url = format!("{base}/providers/Galleon.Events/eventSubscriptions?{API}");
            s.client.call(Method::GET, &url, None).await?.body["value"].clone()
        }
        EventSubscriptionCommand::Show { target } => {
            s.client.call(Method::GET, &format!("{}?{API}", path(s, &target)), None).await?.body
        }
        EventSubscriptionCommand::Delete { target } => {
            s.client.call(Method::DELETE, &format!("{}?{API}", path(s, &target)), None).await?;
            Value::Null
        }
        EventSubscriptionCommand::Test { target } => {
            s.client.call(Method::POST, &format!("{}/test?{API}", path(s, &target)), None).await?.body
        }
        EventSubscriptionCommand::DeadLetters { target } => {
            let url = format!("{}/deadLetters?{API}", path(s, &target));
            s.client.call(Method::GET, &url, None).await?.body["value"].clone()
        }
    };
    s.print(&value)
}
