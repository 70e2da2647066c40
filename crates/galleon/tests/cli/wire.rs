//! What crosses the socket when a request is refused for its size or before its body is read:
//! an ARM error body over HTTP/1.1 and HTTP/2, and `Connection: close` whenever the server will
//! not read the rest of a request, so keep-alive clients never write into a closing connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use super::Server;

/// One HTTP/1.1 response as read off the socket.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn closes(&self) -> bool {
        self.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    fn code(&self) -> String {
        let body: Value = serde_json::from_slice(&self.body).unwrap_or(Value::Null);
        body["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

/// A keep-alive HTTP/1.1 connection to the server.
struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream.set_nodelay(true).unwrap();
        Self { reader: BufReader::new(stream) }
    }

    /// Writes a request (head lines without the final blank line, then `body`) and reads the
    /// answer; `None` when the connection ended before a status line.
    fn exchange(&mut self, head: &str, body: &[u8]) -> Option<Answer> {
        let mut bytes = format!("{head}\r\nhost: 127.0.0.1\r\n\r\n").into_bytes();
        bytes.extend_from_slice(body);
        self.reader.get_mut().write_all(&bytes).ok()?;
        self.read_answer()
    }

    /// As Python's `http.client` sends: the head in one write, the body a moment later.
    fn exchange_split(&mut self, head: &str, body: &[u8]) -> Option<Answer> {
        let stream = self.reader.get_mut();
        stream.write_all(format!("{head}\r\nhost: 127.0.0.1\r\n\r\n").as_bytes()).ok()?;
        std::thread::sleep(Duration::from_millis(2));
        stream.write_all(body).ok()?;
        self.read_answer()
    }

    fn read_answer(&mut self) -> Option<Answer> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let status = line.split_whitespace().nth(1)?.parse().ok()?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).ok()?;
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            let (name, value) = trimmed.split_once(':')?;
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        let mut answer = Answer { status, headers, body: Vec::new() };
        let length: usize = answer.header("content-length").map_or(0, |v| v.parse().unwrap());
        answer.body.resize(length, 0);
        self.reader.read_exact(&mut answer.body).ok()?;
        Some(answer)
    }

    /// True when the server has closed the connection (reads end without data).
    fn closed_by_server(&mut self) -> bool {
        self.reader.get_ref().set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        self.reader.read_to_end(&mut Vec::new()).is_ok()
    }
}

fn port_of(server: &Server) -> u16 {
    let creds: Value = serde_json::from_slice(&std::fs::read(server.data().join("credentials.json")).unwrap()).unwrap();
    creds["endpoint"].as_str().unwrap().rsplit(':').next().unwrap().trim_end_matches('/').parse().unwrap()
}

/// A bearer token for the admin principal, fetched over the wire.
fn token(server: &Server, port: u16) -> String {
    let creds: Value = serde_json::from_slice(&std::fs::read(server.data().join("credentials.json")).unwrap()).unwrap();
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fmanagement.core.windows.net%2F%2F.default",
        creds["clientId"].as_str().unwrap(),
        creds["clientSecret"].as_str().unwrap().replace('+', "%2B").replace('/', "%2F").replace('=', "%3D"),
    );
    let head = format!(
        "POST /{}/oauth2/v2.0/token HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}",
        creds["tenantId"].as_str().unwrap(),
        form.len()
    );
    let answer = Conn::open(port).exchange(&head, form.as_bytes()).unwrap();
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let body: Value = serde_json::from_slice(&answer.body).unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

fn gallery_url(server: &Server) -> String {
    let creds: Value = serde_json::from_slice(&std::fs::read(server.data().join("credentials.json")).unwrap()).unwrap();
    format!(
        "/subscriptions/{}/resourceGroups/rg/providers/Microsoft.Compute/galleries/wire?api-version=2024-03-03",
        creds["subscriptionId"].as_str().unwrap()
    )
}

#[test]
fn oversize_requests_get_arm_errors_over_http1_and_end_the_connection() {
    let server = Server::start_with(&["--insecure-http"]);
    let port = port_of(&server);
    let token = token(&server, port);
    let auth = format!("authorization: Bearer {token}");

    let long = format!("GET /subscriptions?api-version=2022-12-01&pad={} HTTP/1.1", "a".repeat(20 * 1024));
    let answer = Conn::open(port).exchange(&long, b"").unwrap();
    assert_eq!((answer.status, answer.code().as_str()), (414, "RequestUriTooLong"));
    assert!(answer.closes());

    let padded = format!("GET /subscriptions?api-version=2022-12-01 HTTP/1.1\r\nx-pad: {}", "b".repeat(70 * 1024));
    let answer = Conn::open(port).exchange(&padded, b"").unwrap();
    assert_eq!((answer.status, answer.code().as_str()), (431, "RequestHeaderFieldsTooLarge"));

    // A 2 MiB body announced, 64 KiB of it sent: refused unread, and the connection ends.
    let url = gallery_url(&server);
    let mut conn = Conn::open(port);
    let head = format!("PUT {url} HTTP/1.1\r\n{auth}\r\ncontent-type: application/json\r\ncontent-length: {}", 2 << 20);
    let answer = conn.exchange(&head, &vec![b' '; 64 * 1024]).unwrap();
    assert_eq!((answer.status, answer.code().as_str()), (413, "RequestEntityTooLarge"));
    assert!(answer.closes(), "a refused, unread body ends the connection: {:?}", answer.headers);
    assert!(conn.closed_by_server());

    // A body read to the end keeps the connection for the next request.
    let mut conn = Conn::open(port);
    let bad = b"{\"location\":";
    let head = format!("PUT {url} HTTP/1.1\r\n{auth}\r\ncontent-length: {}", bad.len());
    let answer = conn.exchange(&head, bad).unwrap();
    assert_eq!((answer.status, answer.code().as_str()), (400, "InvalidRequestContent"));
    assert!(!answer.closes());
    let answer = conn.exchange(&format!("GET {url} HTTP/1.1\r\n{auth}"), b"").unwrap();
    assert_eq!(answer.status, 404, "the same connection answers the next request");
}

/// A client that reuses its connection unless told `Connection: close` sends PUTs refused
/// before their body is read (no token), head and body in separate writes, between ordinary
/// GETs: every request gets its answer, and the connection is kept (the small rest is drained).
#[test]
fn keep_alive_clients_never_write_into_a_closing_connection() {
    let server = Server::start_with(&["--insecure-http"]);
    let port = port_of(&server);
    let url = gallery_url(&server);
    let body = vec![b' '; 4096];
    let put = format!("PUT {url} HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: {}", body.len());
    let get = "GET /subscriptions?api-version=2022-12-01 HTTP/1.1".to_string();
    let (mut conn, mut failures, mut reconnects) = (Conn::open(port), 0, 0);
    for i in 0..300 {
        let answer = if i % 2 == 0 { conn.exchange_split(&put, &body) } else { conn.exchange(&get, b"") };
        match answer {
            Some(answer) => {
                assert_eq!(answer.status, 401);
                assert!(!answer.code().is_empty(), "an ARM error body");
                if answer.closes() {
                    conn = Conn::open(port);
                    reconnects += 1;
                }
            }
            None => {
                failures += 1;
                conn = Conn::open(port);
            }
        }
    }
    assert_eq!((failures, reconnects), (0, 0), "requests lost, connections closed");
}

/// The same limits over HTTP/2 (prior knowledge, cleartext): a status and an ARM body reach
/// the client instead of a reset stream.
#[test]
fn oversize_requests_get_arm_errors_over_http2() {
    use http_body_util::{BodyExt, Empty};

    let server = Server::start_with(&["--insecure-http"]);
    let port = port_of(&server);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(tcp),
        )
        .await
        .unwrap();
        tokio::spawn(conn);
        let base = format!("http://127.0.0.1:{port}/subscriptions?api-version=2022-12-01");
        let cases = [
            (format!("{base}&pad={}", "a".repeat(20 * 1024)), String::new(), 414, "RequestUriTooLong"),
            (base.clone(), "c".repeat(70 * 1024), 431, "RequestHeaderFieldsTooLarge"),
        ];
        for (uri, pad, status, code) in cases {
            let mut req = hyper::Request::get(uri.as_str());
            if !pad.is_empty() {
                req = req.header("x-pad", pad);
            }
            let resp = sender.send_request(req.body(Empty::<bytes::Bytes>::new()).unwrap()).await.unwrap();
            assert_eq!(resp.status().as_u16(), status);
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            let body: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["error"]["code"], code);
        }
    });
}
