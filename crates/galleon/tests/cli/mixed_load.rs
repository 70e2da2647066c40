//! 32 clients against the real server over HTTPS for a minute (`GALLEON_LOAD_SECONDS` to
//! change it): PUT, PATCH, DELETE and GET of a few image definitions and imported disks, without
//! waiting for operations. Then nothing may be left in a transitional state, no answer may have
//! been a 5xx, every disk that exists reads back exactly the bytes it was imported from, and
//! every resource can still be deleted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use galleon_client::{Client, ClientError, Login};
use hyper::Method;
use serde_json::{Value, json};

use super::{Server, write_vhd};

const CLIENTS: usize = 32;
const NAMES: usize = 3;
const COMPUTE: &str = "api-version=2024-03-03";
const DISKS: &str = "api-version=2025-01-02";

/// What one worker saw: answers by status, and the 5xx among them.
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<u16, u64>,
    server_errors: Vec<String>,
}

/// A tiny deterministic generator per worker (xorshift).
struct Dice(u64);

impl Dice {
    fn roll(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn disk_body(source: &str) -> Value {
    json!({ "location": "eastus", "properties": { "osType": "Linux", "hyperVGeneration": "V2",
        "creationData": { "createOption": "Import", "sourceUri": source } } })
}

fn status_of(result: &Result<galleon_client::Reply, ClientError>) -> Result<u16, String> {
    match result {
        Ok(reply) => Ok(reply.status),
        Err(ClientError::Arm { status, code, message, .. }) => {
            if *status >= 500 {
                Err(format!("{status} {code}: {message}"))
            } else {
                Ok(*status)
            }
        }
        Err(e) => Err(e.to_string()),
    }
}

async fn worker(
    client: Arc<Client>,
    base: String,
    sources: Arc<Vec<String>>,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> Tally {
    let mut dice = Dice(seed | 1);
    let mut tally = Tally::default();
    while !stop.load(Ordering::Relaxed) {
        let n = dice.roll(NAMES);
        let definition = format!("{base}/galleries/gal/images/def{n}?{COMPUTE}");
        let disk = format!("{base}/disks/disk{n}?{DISKS}");
        let (method, url, body) = match dice.roll(8) {
            0 => (
                Method::PUT,
                definition,
                Some(json!({ "location": "eastus", "properties": { "osType": "Linux", "osState": "Generalized",
                    "hyperVGeneration": "V2", "description": format!("put by {seed}"),
                    "identifier": { "publisher": "p", "offer": "o", "sku": format!("s{n}") } } })),
            ),
            1 => (
                Method::PATCH,
                definition,
                Some(json!({ "properties": { "description": format!("patched by {seed}") } })),
            ),
            2 => (Method::DELETE, definition, None),
            3 => (Method::GET, definition, None),
            4 => (Method::PUT, disk, Some(disk_body(&sources[n]))),
            5 => (Method::GET, format!("{base}/disks?{DISKS}"), None),
            6 => (Method::DELETE, disk, None),
            _ => (Method::GET, disk, None),
        };
        let result = client.call(method.clone(), &url, body.as_ref()).await;
        match status_of(&result) {
            Ok(status) => *tally.statuses.entry(status).or_default() += 1,
            Err(e) => tally.server_errors.push(format!("{method} {url}: {e}")),
        }
    }
    tally
}

/// Waits until no resource under `list` is in a transitional state; returns the last listing.
async fn settled(client: &Client, list: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let items = client.call(Method::GET, list, None).await.unwrap().body["value"].as_array().cloned().unwrap();
        let moving: Vec<_> = items
            .iter()
            .filter(|r| !matches!(r["properties"]["provisioningState"].as_str(), Some("Succeeded" | "Failed")))
            .map(|r| format!("{} {}", r["name"], r["properties"]["provisioningState"]))
            .collect();
        if moving.is_empty() {
            return items;
        }
        assert!(Instant::now() < deadline, "left in a transitional state: {moving:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[test]
fn mixed_load_leaves_nothing_stuck_and_every_disk_intact() {
    let seconds: u64 = std::env::var("GALLEON_LOAD_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let server = Server::start();
    let imports = server.data().join("imports");
    // One source per name, each with its own bytes.
    let mut contents = Vec::new();
    let mut sources = Vec::new();
    for n in 0..NAMES {
        let size = (2 + n as u64) << 20;
        sources.push(write_vhd(&imports, &format!("disk{n}.vhd"), size));
        contents.push(std::fs::read(imports.join(format!("disk{n}.vhd"))).unwrap());
    }
    let login: Login = serde_json::from_slice(&std::fs::read(server.data().join("credentials.json")).unwrap()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async move {
        let client = Arc::new(Client::new(login.clone()).unwrap());
        let sub = format!("/subscriptions/{}", login.subscription_id);
        let group = format!("{sub}/resourceGroups/rg");
        client
            .call(Method::PUT, &format!("{group}?api-version=2022-09-01"), Some(&json!({ "location": "eastus" })))
            .await
            .unwrap();
        let base = format!("{group}/providers/Microsoft.Compute");
        let gallery = format!("{base}/galleries/gal?{COMPUTE}");
        let reply = client.call(Method::PUT, &gallery, Some(&json!({ "location": "eastus" }))).await.unwrap();
        client.wait(&reply).await.unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        let sources = Arc::new(sources);
        let workers: Vec<_> = (0..CLIENTS as u64)
            .map(|seed| {
                tokio::spawn(worker(client.clone(), base.clone(), sources.clone(), seed * 7919 + 1, stop.clone()))
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let mut total = Tally::default();
        for w in workers {
            let t = w.await.unwrap();
            for (status, count) in t.statuses {
                *total.statuses.entry(status).or_default() += count;
            }
            total.server_errors.extend(t.server_errors);
        }
        eprintln!("answers by status over {seconds} s: {:?}", total.statuses);
        assert!(total.server_errors.is_empty(), "5xx or broken answers: {:#?}", total.server_errors);
        assert!(total.statuses.get(&200).copied().unwrap_or(0) + total.statuses.get(&201).copied().unwrap_or(0) > 0);

        // Nothing stays Creating/Updating/Deleting.
        let definitions = settled(&client, &format!("{base}/galleries/gal/images?{COMPUTE}")).await;
        settled(&client, &format!("{base}/disks?{DISKS}")).await;

        // Each name written once more after the storm: the resources are still writable, and
        // every disk has content to check.
        for n in 0..NAMES {
            let body = disk_body(&sources[n]);
            let reply = client.call(Method::PUT, &format!("{base}/disks/disk{n}?{DISKS}"), Some(&body)).await.unwrap();
            client.wait(&reply).await.unwrap();
        }
        let disks = settled(&client, &format!("{base}/disks?{DISKS}")).await;
        assert_eq!(disks.len(), NAMES);

        // Every disk reads back its source exactly.
        for disk in &disks {
            let name = disk["name"].as_str().unwrap();
            assert_eq!(disk["properties"]["provisioningState"], "Succeeded", "{disk}");
            let n: usize = name.trim_start_matches("disk").parse().unwrap();
            let path = format!("{base}/disks/{name}");
            let reply = client
                .call(
                    Method::POST,
                    &format!("{path}/beginGetAccess?{DISKS}"),
                    Some(&json!({ "access": "Read", "durationInSeconds": 600 })),
                )
                .await
                .unwrap();
            let status = client.wait(&reply).await.unwrap();
            let url = status.output()["accessSAS"].as_str().unwrap().to_string();
            let (_, bytes) = client.blob(Method::GET, &url, &[], bytes::Bytes::new()).await.unwrap();
            assert!(bytes.as_ref() == contents[n].as_slice(), "{name}: content differs from its source");
            let reply = client.call(Method::POST, &format!("{path}/endGetAccess?{DISKS}"), None).await.unwrap();
            client.wait(&reply).await.unwrap();
        }

        // Every resource can be deleted, then the gallery.
        let mut deletions = Vec::new();
        for item in definitions.iter().chain(&disks) {
            let id = item["id"].as_str().unwrap();
            let version = if id.contains("/disks/") { DISKS } else { COMPUTE };
            deletions.push(client.call(Method::DELETE, &format!("{id}?{version}"), None).await.unwrap());
        }
        for reply in deletions {
            client.wait(&reply).await.unwrap();
        }
        let reply = client.call(Method::DELETE, &gallery, None).await.unwrap();
        client.wait(&reply).await.unwrap();
    });
}
