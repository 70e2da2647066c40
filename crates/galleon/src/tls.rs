//! TLS: on first start a local CA and a server certificate signed by it are written to
//! `DATA_DIR/tls/` (keys 0600); clients trust `ca.crt`. An operator's certificate and key can be
//! given instead.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::files::{private_dir, write_private};

/// Where the generated files live.
pub(crate) struct TlsFiles {
    pub ca_cert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn names_for(listen_host: &str) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    if !names.iter().any(|n| n == listen_host)
        && !listen_host.is_empty()
        && listen_host != "0.0.0.0"
        && listen_host != "::"
    {
        names.push(listen_host.to_string());
    }
    names
}

/// Makes sure a CA and a server certificate exist under `dir/tls`; returns their paths.
pub(crate) fn ensure_generated(dir: &Path, listen_host: &str) -> anyhow::Result<TlsFiles> {
    let tls = dir.join("tls");
    private_dir(&tls)?;
    let files = TlsFiles { ca_cert: tls.join("ca.crt"), cert: tls.join("server.crt"), key: tls.join("server.key") };
    let ca_key_path = tls.join("ca.key");
    if files.ca_cert.exists() && files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    // The CA's parameters are rebuilt identically each time: with the same key they give the same
    // subject and key identifier, so a new server certificate chains to the CA clients already trust.
    let (ca_params, ca_key) = if files.ca_cert.exists() && ca_key_path.exists() {
        (ca_params()?, KeyPair::from_pem(&std::fs::read_to_string(&ca_key_path)?)?)
    } else {
        let params = ca_params()?;
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        write_private(&ca_key_path, key.serialize_pem().as_bytes())?;
        std::fs::write(&files.ca_cert, cert.pem())?;
        (params, key)
    };
    let issuer = Issuer::new(ca_params, ca_key);
    let mut leaf = CertificateParams::new(names_for(listen_host))?;
    leaf.distinguished_name.push(DnType::CommonName, "galleon");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(825);
    let leaf_key = KeyPair::generate()?;
    let cert = leaf.signed_by(&leaf_key, &issuer)?;
    write_private(&files.key, leaf_key.serialize_pem().as_bytes())?;
    std::fs::write(&files.cert, cert.pem())?;
    Ok(files)
}

fn ca_params() -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "galleon local CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(3650);
    Ok(params)
}

/// A rustls server config for a PEM chain and key, offering HTTP/2 and HTTP/1.1.
pub(crate) fn server_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
