//! Webhook subscriptions end to end: a loopback HTTP receiver gets the CloudEvents of a
//! version's life in order, signed with HMAC-SHA256 of the secret, after a refused first
//! delivery is retried; an endpoint that never answers ends in the dead letters.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Server, write_vhd};

/// One request the receiver took: its signature header and body, and the status it answered.
struct Received {
    signature: String,
    body: Vec<u8>,
    status: u16,
}

/// An HTTP/1.1 receiver on a loopback port that refuses its first request (500).
fn receiver() -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut length, mut signature) = (0usize, String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("x-galleon-signature:") {
                    signature = line["x-galleon-signature:".len()..].trim().to_string();
                }
            }
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).unwrap();
            let mut log = log.lock().unwrap();
            let status = if log.is_empty() { 500 } else { 200 };
            log.push(Received { signature, body, status });
            let mut stream = stream;
            let _ = write!(stream, "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (port, got)
}

/// The events delivered (answered 200) once `done` holds of them, or after a minute.
fn delivered_until(received: &Mutex<Vec<Received>>, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events: Vec<Value> = received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.status == 200)
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        if done(&events) || Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn hmac_ok(secret: &str, signature: &str, body: &[u8]) -> bool {
    let (Some(t), Some(v1)) =
        (signature.split(',').next().and_then(|p| p.strip_prefix("t=")), signature.split("v1=").nth(1))
    else {
        return false;
    };
    let tag: Vec<u8> =
        (0..v1.len()).step_by(2).filter_map(|i| u8::from_str_radix(v1.get(i..i + 2)?, 16).ok()).collect();
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(body);
    ring::hmac::verify(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes()), &signed, &tag).is_ok()
}

#[test]
fn a_webhook_gets_a_versions_events_in_order_signed_and_retried() {
    // The end-of-life check runs on the collection schedule: every second here.
    let server = Server::start_with(&["--gc-interval-seconds", "1"]);
    server.login_with_group("westcentralus");
    server.gallery_with_definition("def");
    let url = write_vhd(&server.data().join("imports"), "os.vhd", 3 << 20);
    let disk = ["disk", "create", "-g", "rg", "-n", "os", "--source", &url, "--os-type", "Linux"];
    server.ok(&[&disk[..], &["--hyper-v-generation", "V2", "-o", "none"]].concat());
    let (port, received) = receiver();
    let got = received.clone();
    let secret = "0123456789abcdef-webhook";
    let endpoint = format!("http://127.0.0.1:{port}/hook");
    let create = ["event", "subscription", "create", "-n", "hooks", "-g", "rg", "-r", "gal", "--endpoint", &endpoint];
    let made = server.ok(&[&create[..], &["--secret", secret]].concat());
    // Printed as az prints resources (properties lifted); the secret by the create only.
    assert_eq!(made["secret"], secret, "{made}");
    let shown = server.ok(&["event", "subscription", "show", "-n", "hooks", "-g", "rg", "-r", "gal"]);
    assert!(shown["secret"].is_null() && shown["endpointUrl"].is_null(), "{shown}");
    assert_eq!(shown["destination"]["endpointUrl"], endpoint.as_str());
    // Refused as the issue's adversary would try: user info, plain http elsewhere.
    let bad =
        server.galleon(&["event", "subscription", "create", "-n", "bad", "--endpoint", "http://u:p@example.org/"]);
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("user information"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    let disk_id = server.ok(&["disk", "show", "-g", "rg", "-n", "os", "--query", "id"]);
    let disk_id = disk_id.as_str().unwrap();
    let version = |name: &str, extra: &[&str]| {
        let create = ["sig", "image-version", "create", "-g", "rg", "-r", "gal", "-i", "def", "-e", name];
        server.ok(&[&create[..], &["--os-snapshot", disk_id], extra, &["-o", "none"]].concat());
    };
    version("1.0.0", &["--target-regions", "westcentralus", "eastus"]);

    // created, two regions replicated, completed: delivered in that order, the first after a retry.
    let delivered =
        delivered_until(&received, |events| events.iter().any(|e| e["type"] == "galleon.imageVersion.completed"));
    let types: Vec<&str> = delivered.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "galleon.imageVersion.created",
            "galleon.imageVersion.regionReplicated",
            "galleon.imageVersion.regionReplicated",
            "galleon.imageVersion.completed"
        ]
    );
    let got = got.lock().unwrap();
    assert_eq!(got[0].status, 500);
    assert_eq!(got[0].body, got[1].body, "the refused delivery was retried as it was");
    for r in got.iter() {
        assert!(hmac_ok(secret, &r.signature, &r.body), "signature {}", r.signature);
        assert!(!hmac_ok("another secret, same length", &r.signature, &r.body));
    }
    let first = &delivered[0];
    assert_eq!(first["specversion"], "1.0");
    assert!(first["subject"].as_str().unwrap().ends_with("/versions/1.0.0"), "{first}");
    assert!(first["source"].as_str().unwrap().ends_with("/galleries/gal"), "{first}");
    drop(got);

    // Later in the version's life: a second version reaches its end of life (a few seconds from
    // now), and the first is deleted.
    let eol = (time::OffsetDateTime::now_utc() + time::Duration::seconds(4))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    version("1.0.1", &["--end-of-life-date", &eol]);
    server.ok(&["sig", "image-version", "delete", "-g", "rg", "-r", "gal", "-i", "def", "-e", "1.0.0"]);
    let wanted = |events: &[Value], kind: &str, version: &str| {
        events.iter().any(|e| e["type"] == kind && e["subject"].as_str().unwrap_or_default().ends_with(version))
    };
    let later = delivered_until(&received, |events| {
        wanted(events, "galleon.imageVersion.deleted", "/1.0.0")
            && wanted(events, "galleon.imageVersion.endOfLifeReached", "/1.0.1")
    });
    assert!(wanted(&later, "galleon.imageVersion.deleted", "/1.0.0"), "{later:?}");
    let eol_events: Vec<&Value> =
        later.iter().filter(|e| e["type"] == "galleon.imageVersion.endOfLifeReached").collect();
    assert_eq!(eol_events.len(), 1, "once: {eol_events:?}");
    assert!(eol_events[0]["subject"].as_str().unwrap().ends_with("/1.0.1"), "{eol_events:?}");

    // An endpoint that never answers: after every retry, the test event is a dead letter.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead = format!("http://127.0.0.1:{closed}/gone");
    server.ok(&["event", "subscription", "create", "-n", "gone", "--endpoint", &dead, "-o", "none"]);
    let sent = server.ok(&["event", "subscription", "test", "-n", "gone"]);
    assert_eq!(sent["type"], "galleon.test");
    let deadline = Instant::now() + Duration::from_secs(60);
    let letters = loop {
        let letters = server.ok(&["event", "subscription", "dead-letters", "-n", "gone"]);
        if letters.as_array().is_some_and(|l| !l.is_empty()) || Instant::now() > deadline {
            break letters;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(letters[0]["event"]["id"], sent["id"], "{letters}");
    assert_eq!(letters[0]["attempts"], 5, "{letters}");
    assert!(letters[0]["lastError"].as_str().unwrap().contains("connect"), "{letters}");
    let listed = server.ok(&["event", "subscription", "list"]);
    assert_eq!(listed[0]["deadLetters"], 1, "{listed}");
    server.ok(&["event", "subscription", "delete", "-n", "gone"]);
    assert_eq!(server.ok(&["event", "subscription", "list"]), serde_json::json!([]));
}
