//! TCP and TLS connections for HTTP/1.1: the one connector galleon's outgoing HTTP uses (the
//! CLI's ARM client, imports from http(s) URLs, webhooks).

use std::sync::Arc;

use hyper::Uri;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::net::TcpStream;

use crate::ClientError;

/// Opens HTTP/1.1 connections, with TLS for `https://` (WebPKI roots, plus a CA file if given).
#[derive(Clone)]
pub struct Connector {
    tls: tokio_rustls::TlsConnector,
}

impl Connector {
    /// Trusts the WebPKI roots and the PEM certificates of `ca_file`.
    pub fn new(ca_file: Option<&str>) -> Result<Self, ClientError> {
        let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        if let Some(ca) = ca_file {
            for cert in CertificateDer::pem_file_iter(ca).map_err(|e| ClientError::Transport(format!("{ca}: {e}")))? {
                roots
                    .add(cert.map_err(|e| ClientError::Transport(format!("{ca}: {e}")))?)
                    .map_err(ClientError::transport)?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(ClientError::transport)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self { tls: tokio_rustls::TlsConnector::from(Arc::new(config)) })
    }

    /// A new connection to `uri`'s host (TLS unless the scheme is `http`); its driver runs on
    /// its own task.
    pub async fn connect<B>(&self, uri: &Uri) -> Result<SendRequest<B>, ClientError>
    where
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let host = uri.host().ok_or_else(|| ClientError::transport("the URL has no host"))?;
        let https = uri.scheme_str() != Some("http");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| ClientError::Transport(format!("connecting to {host}:{port}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        if https {
            let name = ServerName::try_from(host.to_string()).map_err(ClientError::transport)?;
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| ClientError::Transport(format!("TLS with {host}: {e}")))?;
            let (send, conn) = http1::handshake(TokioIo::new(tls)).await.map_err(ClientError::transport)?;
            tokio::spawn(conn);
            Ok(send)
        } else {
            let (send, conn) = http1::handshake(TokioIo::new(tcp)).await.map_err(ClientError::transport)?;
            tokio::spawn(conn);
            Ok(send)
        }
    }
}
