//! `galleon principal`, `galleon subscription`, `galleon role assignment` and `galleon gc`: who may do what,
//! through galleon's own principal API and ARM's role assignments.

use hyper::Method;
use serde_json::{Value, json};

use super::args::{
    AssignmentCommand, GcCommand, KeysCommand, NodeCommand, PrincipalCommand, RegionCommand, RoleCommand,
    SubscriptionCommand,
};
use super::progress::Progress;
use super::{RESOURCES, ROLES, Session};

pub(super) async fn gc(s: &Session, command: GcCommand) -> anyhow::Result<()> {
    let grace_seconds = match command {
        GcCommand::Run { grace_seconds } => grace_seconds,
        GcCommand::Status => return s.print(&s.client.call(Method::GET, "/galleon/gc", None).await?.body),
    };
    let path = format!("/galleon/gc?graceSeconds={grace_seconds}");
    let accepted = s.client.call(Method::POST, &path, None).await?;
    let status = s.client.wait(&accepted).await?;
    s.print(&status.output()["value"])
}

pub(super) async fn region(s: &Session, command: RegionCommand) -> anyhow::Result<()> {
    // A region name is a path segment: anything but letters and digits is refused here.
    let encode = |r: &str| -> anyhow::Result<String> {
        anyhow::ensure!(
            !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == ' '),
            "usage error: '{r}' is not a region name"
        );
        Ok(r.replace(' ', "").to_ascii_lowercase())
    };
    // One row per store, its region beside it (a table shows every column).
    let rows = |regions: &[Value]| -> Value {
        let stores = regions.iter().flat_map(|r| {
            r["stores"].as_array().cloned().unwrap_or_default().into_iter().map(move |mut store| {
                store["region"] = r["name"].clone();
                store
            })
        });
        Value::Array(stores.collect())
    };
    match command {
        RegionCommand::List => {
            let listed = s.client.call(Method::GET, "/galleon/regions", None).await?.body;
            s.print(&rows(listed["value"].as_array().map(Vec::as_slice).unwrap_or_default()))
        }
        RegionCommand::Show { region } => {
            let shown = s.client.call(Method::GET, &format!("/galleon/regions/{}", encode(&region)?), None).await?.body;
            s.print(&rows(std::slice::from_ref(&shown)))
        }
        RegionCommand::Scrub { region } => {
            let path = format!("/galleon/regions/{}/scrub", encode(&region)?);
            let accepted = s.client.call(Method::POST, &path, None).await?;
            // While it runs, a progress line per store (on a terminal) from the scrub's progress.
            let mut progress: Option<(String, Progress)> = None;
            let watch = async {
                loop {
                    if let Ok(p) = s.client.call(Method::GET, &path, None).await
                        && let Some(store) = p.body["store"].as_str()
                    {
                        let label = format!("Scrubbing {store}");
                        let chunks = p.body["chunks"].as_u64().unwrap_or(0);
                        match &mut progress {
                            Some((current, line)) if *current == store => {}
                            Some((current, line)) => {
                                line.restart(label, chunks);
                                *current = store.to_string();
                            }
                            None => progress = Some((store.to_string(), Progress::counting(label, chunks, "chunks"))),
                        }
                        if let Some((_, line)) = &mut progress {
                            let finished = p.body["done"] == true;
                            line.set(if finished { chunks } else { p.body["checked"].as_u64().unwrap_or(0) });
                        }
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
            };
            let status = tokio::select! {
                status = s.client.wait(&accepted) => status?,
                never = watch => never,
            };
            if let Some((_, mut line)) = progress {
                line.complete();
                line.finish();
            }
            s.print(&status.output()["value"])
        }
    }
}

pub(super) async fn keys(s: &Session, command: KeysCommand) -> anyhow::Result<()> {
    let KeysCommand::Rotate = command;
    s.print(&s.client.call(Method::POST, "/galleon/keys/rotate", None).await?.body)
}

pub(super) async fn node(s: &Session, command: NodeCommand) -> anyhow::Result<()> {
    let NodeCommand::List = command;
    s.print(&s.client.call(Method::GET, "/galleon/nodes", None).await?.body["value"])
}

pub(super) async fn principal(s: &Session, command: PrincipalCommand) -> anyhow::Result<()> {
    let value = match command {
        PrincipalCommand::Create { display_name } => {
            let body = json!({ "displayName": display_name });
            s.client.call(Method::POST, "/galleon/principals", Some(&body)).await?.body
        }
        PrincipalCommand::List => s.client.call(Method::GET, "/galleon/principals", None).await?.body["value"].clone(),
        PrincipalCommand::ResetSecret { client_id } => {
            s.client.call(Method::POST, &format!("/galleon/principals/{client_id}/resetSecret"), None).await?.body
        }
        PrincipalCommand::Delete { client_id } => {
            s.client.call(Method::DELETE, &format!("/galleon/principals/{client_id}"), None).await?;
            Value::Null
        }
    };
    s.print(&value)
}

pub(super) async fn subscription(s: &Session, command: SubscriptionCommand) -> anyhow::Result<()> {
    let value = match command {
        SubscriptionCommand::Create { display_name } => {
            let body = json!({ "displayName": display_name });
            s.client.call(Method::POST, "/galleon/subscriptions", Some(&body)).await?.body
        }
        SubscriptionCommand::List => s.list("/subscriptions", RESOURCES).await?,
    };
    s.print(&value)
}

/// A client id becomes its principal's object id (when the caller may list principals);
/// anything else is taken as an object id.
async fn object_id(s: &Session, assignee: &str) -> anyhow::Result<String> {
    let principals = s.client.call(Method::GET, "/galleon/principals", None).await.map(|r| r.body).unwrap_or_default();
    let found = principals["value"].as_array().into_iter().flatten().find(|p| {
        p["clientId"].as_str().is_some_and(|c| c.eq_ignore_ascii_case(assignee))
            || p["displayName"].as_str() == Some(assignee)
    });
    Ok(found.and_then(|p| p["objectId"].as_str()).unwrap_or(assignee).to_string())
}

pub(super) async fn role(s: &Session, RoleCommand::Assignment(command): RoleCommand) -> anyhow::Result<()> {
    let value = match command {
        AssignmentCommand::Create { assignee, assignee_object_id, assignee_principal_type, role, scope } => {
            let principal = match (assignee, assignee_object_id) {
                (_, Some(oid)) => oid,
                (Some(assignee), None) => object_id(s, &assignee).await?,
                (None, None) => anyhow::bail!("usage error: --assignee or --assignee-object-id is required"),
            };
            let scope = scope.trim_end_matches('/');
            let definition = if role.starts_with('/') {
                role
            } else {
                format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role}", s.subscription)
            };
            let body = json!({ "properties": {
                "roleDefinitionId": definition,
                "principalId": principal,
                "principalType": assignee_principal_type.unwrap_or_else(|| "ServicePrincipal".into()),
            } });
            let name = uuid::Uuid::new_v4();
            let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?{ROLES}");
            s.client.call(Method::PUT, &path, Some(&body)).await?.body
        }
        AssignmentCommand::List { scope, assignee } => {
            let scope = scope.unwrap_or_else(|| format!("/subscriptions/{}", s.subscription));
            let all = s
                .list(
                    &format!("{}/providers/Microsoft.Authorization/roleAssignments", scope.trim_end_matches('/')),
                    ROLES,
                )
                .await?;
            match assignee {
                None => all,
                Some(assignee) => {
                    let oid = object_id(s, &assignee).await?;
                    let mine =
                        all.as_array().into_iter().flatten().filter(|a| a["properties"]["principalId"] == oid.as_str());
                    Value::Array(mine.cloned().collect())
                }
            }
        }
        AssignmentCommand::Delete { ids } => {
            for id in ids {
                s.client.call(Method::DELETE, &format!("{id}?{ROLES}"), None).await?;
            }
            Value::Null
        }
    };
    s.print(&value)
}
