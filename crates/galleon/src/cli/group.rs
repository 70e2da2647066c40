//! `galleon group create|show|list|delete`.

use hyper::Method;
use serde_json::json;

use super::args::GroupCommand;
use super::{RESOURCES, Session};

pub(super) async fn run(s: &Session, command: GroupCommand) -> anyhow::Result<()> {
    let value = match command {
        GroupCommand::Create { name, location } => {
            let body = json!({ "location": location });
            s.change(Method::PUT, &s.group_path(&name), RESOURCES, Some(&body), false).await?
        }
        GroupCommand::Show { name } => s.get(&s.group_path(&name), RESOURCES).await?,
        GroupCommand::List => s.list(&format!("/subscriptions/{}/resourcegroups", s.subscription), RESOURCES).await?,
        GroupCommand::Delete { name, yes: _, no_wait } => {
            s.change(Method::DELETE, &s.group_path(&name), RESOURCES, None, no_wait).await?
        }
    };
    s.print(&value)
}
