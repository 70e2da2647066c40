//! http(s) import sources: an HTTP/1.1 client that downloads an object by 4 MiB ranges over one
//! kept-alive connection into a sparse local file (all-zero ranges are not written). Memory is
//! one range, whatever the image size. Page blobs in Azure Storage and Azurite answer ranged
//! GETs with a SAS in the query, so no storage SDK is needed.
//!
//! Every fetch is bounded in time: connecting, each wait for the next bytes (a server that
//! accepts and never answers), and the whole download, so a stalled source fails its import
//! with a reason instead of holding a job slot forever.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use galleon_core::content::Fetcher;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode, Uri};

const RANGE: u64 = 4 << 20;

/// How long a fetch may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FetchTimeouts {
    /// To connect (TCP and TLS).
    pub connect: Duration,
    /// Between two pieces of a response (headers or body bytes).
    pub idle: Duration,
    /// For the whole download.
    pub total: Duration,
}

/// Fetches with plain HTTP or TLS (WebPKI roots), through galleon_client's connector.
pub(crate) struct HttpFetcher {
    connector: galleon_client::Connector,
    timeouts: FetchTimeouts,
}

/// `what` within `limit`, or an error saying which limit ran out.
async fn within<T>(
    limit: Duration,
    what: &str,
    f: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(limit, f)
        .await
        .unwrap_or_else(|_| Err(format!("{what} timed out after {} s", limit.as_secs_f64())))
}

impl HttpFetcher {
    pub(crate) fn new(timeouts: FetchTimeouts) -> Self {
        let connector = galleon_client::Connector::new(None).expect("the WebPKI roots load");
        Self { connector, timeouts }
    }

    async fn connect<B>(&self, uri: &Uri) -> Result<SendRequest<B>, String>
    where
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        within(self.timeouts.connect, "connecting", async {
            self.connector.connect(uri).await.map_err(|e| e.to_string())
        })
        .await
    }

    async fn fetch_now(&self, url: &str, dest: &Path) -> Result<u64, String> {
        let idle = self.timeouts.idle;
        let uri: Uri = url.parse().map_err(|e| format!("{e}"))?;
        let mut send = self.connect(&uri).await?;
        let (total, first) = get_range(&mut send, &uri, 0, RANGE - 1, idle).await?;
        let total = total.unwrap_or(first.len() as u64);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(dest)
            .map_err(|e| e.to_string())?;
        file.set_len(total).map_err(|e| e.to_string())?;
        let write = |offset: u64, data: &Bytes| -> Result<(), String> {
            if !galleon_blob::is_zero(data) {
                file.write_all_at(data, offset).map_err(|e| e.to_string())?;
            }
            Ok(())
        };
        write(0, &first)?;
        let mut pos = first.len() as u64;
        while pos < total {
            let end = (pos + RANGE).min(total) - 1;
            let (_, chunk) = match get_range(&mut send, &uri, pos, end, idle).await {
                Ok(r) => r,
                // One reconnect per failure: servers may close idle keep-alive connections.
                Err(_) => {
                    send = self.connect(&uri).await?;
                    get_range(&mut send, &uri, pos, end, idle).await?
                }
            };
            if chunk.is_empty() || chunk.len() as u64 > end + 1 - pos {
                return Err(format!("the server answered {} bytes for range {pos}-{end}", chunk.len()));
            }
            write(pos, &chunk)?;
            pos += chunk.len() as u64;
        }
        Ok(total)
    }
}

/// `bytes a-b/TOTAL` → TOTAL.
fn total_of(content_range: Option<&str>) -> Option<u64> {
    content_range?.rsplit('/').next()?.trim().parse().ok()
}

async fn get_range(
    send: &mut SendRequest<Empty<Bytes>>,
    uri: &Uri,
    start: u64,
    end: u64,
    idle: Duration,
) -> Result<(Option<u64>, Bytes), String> {
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    let req = Request::get(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header("host", authority)
        .header("range", format!("bytes={start}-{end}"))
        .header("x-ms-range", format!("bytes={start}-{end}"))
        .header("x-ms-version", "2021-08-06")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let resp =
        within(idle, "waiting for the response", async { send.send_request(req).await.map_err(|e| e.to_string()) })
            .await?;
    let status = resp.status();
    let total = total_of(resp.headers().get("content-range").and_then(|v| v.to_str().ok()));
    // Body frames one by one, each within the idle limit (a range is at most 4 MiB).
    let mut body = resp.into_body();
    let mut buf = bytes::BytesMut::new();
    loop {
        let frame =
            within(idle, "reading the response", async { body.frame().await.transpose().map_err(|e| e.to_string()) })
                .await?;
        match frame {
            None => break,
            Some(f) => {
                if let Ok(data) = f.into_data() {
                    if buf.len() + data.len() > RANGE as usize + 1024 * 1024 {
                        return Err("the server sent more than the range asked for".into());
                    }
                    buf.extend_from_slice(&data);
                }
            }
        }
    }
    let body = buf.freeze();
    if status != StatusCode::PARTIAL_CONTENT && status != StatusCode::OK {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)])));
    }
    Ok((total, body))
}

#[async_trait::async_trait]
impl Fetcher for HttpFetcher {
    async fn fetch(&self, url: &str, dest: &Path) -> Result<u64, String> {
        within(self.timeouts.total, "the download", self.fetch_now(url, dest)).await
    }
}

/// Webhooks for event subscriptions: one POST per delivery, on its own connection, within the
/// fetch timeouts.
#[async_trait::async_trait]
impl galleon_core::events::WebhookSender for HttpFetcher {
    async fn post(&self, url: &str, headers: &[(String, String)], body: Vec<u8>) -> Result<u16, String> {
        let uri: Uri = url.parse().map_err(|e| format!("{e}"))?;
        let mut send = self.connect::<http_body_util::Full<Bytes>>(&uri).await?;
        let host = uri.authority().map(|a| a.as_str().to_string()).unwrap_or_default();
        let mut req = Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header("host", host)
            .header("user-agent", concat!("galleon/", env!("CARGO_PKG_VERSION")));
        for (name, value) in headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let req = req.body(http_body_util::Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
        let answer = within(self.timeouts.idle, "waiting for the endpoint", async {
            send.send_request(req).await.map_err(|e| e.to_string())
        })
        .await?;
        Ok(answer.status().as_u16())
    }
}

#[cfg(test)]
mod tests {
    use super::total_of;

    #[test]
    fn reads_the_total_from_content_range() {
        assert_eq!(total_of(Some("bytes 0-4194303/1073742336")), Some(1_073_742_336));
        assert_eq!(total_of(Some("garbage")), None);
        assert_eq!(total_of(None), None);
    }
}
