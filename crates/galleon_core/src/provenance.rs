//! Signed provenance (a galleon extension): when a version's build succeeds, a statement of
//! its manifest digests and provenance (source ids with their digests, who created it, when,
//! galleon's version) is signed with its gallery's Ed25519 key as a compact JWS. The public
//! keys are published without credentials at `/.well-known/galleon/provenance-keys`, so anyone
//! holding a version's JWS can check it. Verification re-reads every chunk of every replica in
//! every region (each read re-hashes it) and checks the signature and the digests.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use galleon_blob::store::{ChunkError, ChunkStore};
use galleon_blob::{ChunkId, Manifest};
use galleon_model::image_version::ImageVersion;
use galleon_model::{GalleryRef, VersionRef};
use galleon_store::{Batch, Doc, Expect, Kind, typed};
use ring::signature::Ed25519KeyPair;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::jobs::{Job, JobError, finished};
use crate::jws;
use crate::retention::DefinitionName;
use crate::{Core, CoreError, CoreResult, Operation, OperationInfo};

/// The `typ` of provenance JWSs and the statement's `type`.
pub const STATEMENT_TYPE: &str = "galleon.imageVersionProvenance/v1";
const KEYS: &str = "provenance-key/subscriptions/";

/// A gallery's signing key (PKCS#8, base64), created when it first signs.
#[derive(Serialize, Deserialize)]
struct GalleryKey {
    pkcs8: String,
}

impl GalleryKey {
    fn pair(&self) -> CoreResult<Ed25519KeyPair> {
        let pkcs8 = B64.decode(&self.pkcs8).map_err(unreadable_key)?;
        Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(unreadable_key)
    }
}

/// One disk of the version: its LUN (none for the OS disk) and manifest digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedDisk {
    pub lun: Option<i32>,
    pub digest: String,
}

/// A source the version was made from and the digests taken from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedSource {
    pub id: String,
    pub digests: Vec<String>,
}

/// What is signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    #[serde(rename = "type")]
    pub kind: String,
    /// The version's resource id.
    pub version: String,
    pub disks: Vec<SignedDisk>,
    pub sources: Vec<SignedSource>,
    /// The object id of the principal that created the version.
    pub created_by: Option<String>,
    pub created_at: String,
    pub galleon_version: String,
}

/// A version's signed provenance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub jws: String,
    pub key_id: String,
    pub statement: Statement,
}

fn unreadable_key(e: impl std::fmt::Display) -> CoreError {
    CoreError::Unavailable(format!("a gallery's provenance key is unreadable: {e}"))
}

fn key_doc_key(g: &GalleryRef) -> String {
    format!("provenance-key{}", g.key())
}

fn provenance_key(r: &VersionRef) -> String {
    format!("provenance{}", r.key())
}

/// The version an id names.
fn version_ref(id: &str) -> Option<VersionRef> {
    let p = galleon_model::resource_id::ResourceId::parse(id)?;
    let [(_, g), (_, i), (_, v)] = p.segments.as_slice() else { return None };
    Some(galleon_model::GroupRef::new(&p.subscription, &p.resource_group).gallery(g).image(i).version(v))
}

/// The statement of `v` as it is now.
fn statement(id: &str, v: &ImageVersion, created_at: time::OffsetDateTime) -> Statement {
    let s = &v.storage;
    let mut disks = Vec::new();
    let mut sources: Vec<SignedSource> = Vec::new();
    let mut add_source = |id: Option<String>, digest: &Option<String>| {
        if let (Some(id), Some(d)) = (id, digest) {
            match sources.iter_mut().find(|x| x.id == id) {
                Some(x) => x.digests.push(d.clone()),
                None => sources.push(SignedSource { id, digests: vec![d.clone()] }),
            }
        }
    };
    let artifact = s.source_id.clone().or_else(|| s.virtual_machine_id.clone());
    let all = s.os_disk.iter().map(|d| (None, d)).chain(s.data_disks.iter().map(|d| (Some(d.lun), &d.disk)));
    for (lun, d) in all {
        if let Some(digest) = &d.digest {
            disks.push(SignedDisk { lun, digest: digest.clone() });
        }
        let own = d.source.as_ref().and_then(|src| src.uri.clone().or_else(|| src.id.clone()));
        add_source(own.or_else(|| artifact.clone()), &d.digest);
    }
    Statement {
        kind: STATEMENT_TYPE.into(),
        version: id.to_string(),
        disks,
        sources,
        created_by: v.created_by.clone(),
        created_at: crate::rfc3339(created_at),
        galleon_version: env!("CARGO_PKG_VERSION").into(),
    }
}

impl Core {
    /// The gallery's signing key, made (once, whichever node gets there first) when missing.
    async fn gallery_key(&self, g: &GalleryRef) -> CoreResult<Ed25519KeyPair> {
        let key = key_doc_key(g);
        loop {
            if let Some(found) = typed::get::<GalleryKey>(self.store(), Kind::Setting, &key).await? {
                return found.value.pair();
            }
            let pkcs8 = crate::auth::generate_signing_key();
            let doc = typed::doc(Kind::Setting, &key, None, &GalleryKey { pkcs8: B64.encode(&pkcs8) });
            match self.store().apply(Batch::new().put(doc, Expect::Absent)).await {
                Ok(()) | Err(galleon_store::StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The signed provenance document of a version (by id) that has just been built, to be
    /// written in the batch that marks it Succeeded. An existing statement for the same content
    /// is kept.
    pub(crate) async fn provenance_doc(
        &self,
        id: &str,
        v: &ImageVersion,
        created_at: time::OffsetDateTime,
    ) -> CoreResult<Option<Doc>> {
        let Some(r) = version_ref(id) else { return Ok(None) };
        let r = &r;
        let fresh = statement(&r.id(), v, created_at);
        if fresh.disks.is_empty() {
            return Ok(None);
        }
        if let Some(old) = typed::get::<Provenance>(self.store(), Kind::Setting, &provenance_key(r)).await?
            && old.value.statement.disks == fresh.disks
        {
            return Ok(None);
        }
        let pair = self.gallery_key(&r.image.gallery).await?;
        let key_id = jws::kid_of(&jws::public_key(&pair));
        let payload = serde_json::to_vec(&fresh).expect("a statement encodes");
        let signed = Provenance { jws: jws::sign(&pair, &key_id, STATEMENT_TYPE, &payload), key_id, statement: fresh };
        Ok(Some(typed::doc(Kind::Setting, &provenance_key(r), None, &signed)))
    }

    /// A version's signed provenance.
    pub async fn version_provenance(&self, r: &VersionRef) -> CoreResult<Provenance> {
        self.require_group(&r.image.gallery.group).await?;
        let version = self.load::<ImageVersion>(Kind::Version, &r.key()).await?;
        let found = typed::get::<Provenance>(self.store(), Kind::Setting, &provenance_key(r)).await?;
        match (version, found) {
            (Some(_), Some(p)) => Ok(p.value),
            (Some(_), None) => Err(CoreError::Conflict {
                code: "NotSigned",
                message: format!(
                    "The image version '{}' has no signed provenance yet (it is signed when its build succeeds).",
                    r.version
                ),
            }),
            (None, _) => Err(crate::versions::not_found(r)),
        }
    }

    /// Every gallery's public provenance key as a JWKS (no gallery names: key ids only).
    pub async fn provenance_jwks(&self) -> CoreResult<serde_json::Value> {
        let mut keys = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = typed::list::<GalleryKey>(self.store(), Kind::Setting, KEYS, after.as_deref(), 500).await?;
            let full = page.len() == 500;
            after = page.last().map(|(k, _)| k.clone());
            for (_, k) in page {
                let pk = jws::public_key(&k.value.pair()?);
                keys.push(jws::jwk(&jws::kid_of(&pk), &pk));
            }
            if !full {
                return Ok(json!({ "keys": keys }));
            }
        }
    }

    /// Queues a verification of a version (a durable operation; its output is the report).
    pub async fn start_verify(&self, r: &VersionRef) -> CoreResult<OperationInfo> {
        self.version_provenance(r).await?;
        let job = Job::VerifyVersion { definition: DefinitionName::of(&r.image), version: r.version.clone() };
        let op = self.new_operation(&r.image.gallery.group.subscription, "global", &r.key(), &job);
        self.store().apply(Batch::new().operation(op.clone())).await?;
        self.wake.notify_one();
        Ok(op.into())
    }

    /// Checks the signature and the digests, then re-reads (re-hashing) every chunk of every
    /// replica in every region the version has completed in.
    pub(crate) async fn job_verify_version(
        &self,
        op: Operation,
        definition: &DefinitionName,
        version: &str,
    ) -> Result<(), JobError> {
        let r = definition.image().version(version);
        let fail = |e: CoreError| match e {
            CoreError::NotFound { .. } | CoreError::Conflict { .. } => JobError::Fail("NotFound".into(), e.to_string()),
            e => JobError::Retry(e.to_string()),
        };
        let provenance = self.version_provenance(&r).await.map_err(fail)?;
        let version = self.load::<ImageVersion>(Kind::Version, &r.key()).await.map_err(fail)?.ok_or_else(|| {
            JobError::Fail("NotFound".into(), format!("The image version '{}' was deleted.", r.version))
        })?;
        let pair = self.gallery_key(&r.image.gallery).await.map_err(fail)?;
        let signature_valid = jws::verify(&provenance.jws, |kid| {
            let pk = jws::public_key(&pair);
            (jws::kid_of(&pk) == kid).then_some(pk)
        })
        .ok()
        .and_then(|payload| serde_json::from_slice::<Statement>(&payload).ok())
        .is_some_and(|signed| signed == provenance.statement);
        let current = statement(&r.id(), &version.value.properties, time::OffsetDateTime::UNIX_EPOCH);
        let digests_match = current.disks == provenance.statement.disks;
        let mut regions = Vec::new();
        let mut all_good = signature_valid && digests_match;
        for status in &version.value.properties.replication {
            if status.state != galleon_model::states::ReplicationState::Completed {
                continue;
            }
            let Some(target) =
                version.value.properties.publishing.target_regions.iter().find(|t| t.name == status.region)
            else {
                continue;
            };
            let stores = self.replica_stores(target).map_err(|e| JobError::Retry(e.to_string()))?;
            for store in stores {
                let (chunks, bad) = check_replica(&store.store, &provenance.statement.disks).await?;
                all_good &= bad.is_empty();
                regions.push(json!({
                    "region": galleon_model::region::display_name(&status.region),
                    "store": store.name,
                    "chunks": chunks,
                    "bad": bad,
                }));
            }
        }
        let mut op = op;
        op.result = Some(json!({
            "verified": all_good,
            "signatureValid": signature_valid,
            "digestsMatch": digests_match,
            "keyId": provenance.key_id,
            "statement": provenance.statement,
            "replicas": regions,
        }));
        self.store().apply(Batch::new().operation(finished(op, None))).await?;
        Ok(())
    }
}

/// Reads every chunk of the disks' manifests from one replica store (each read re-hashes);
/// returns how many were read and what was missing or corrupt.
async fn check_replica(store: &Arc<dyn ChunkStore>, disks: &[SignedDisk]) -> Result<(usize, Vec<String>), JobError> {
    use futures_util::StreamExt;
    let mut bad = Vec::new();
    let mut count = 0;
    for disk in disks {
        let Ok(id) = crate::content_error::parse_digest(&disk.digest) else {
            bad.push(format!("manifest {}: not a digest", disk.digest));
            continue;
        };
        let manifest = match store.get(id).await {
            Ok(bytes) => match Manifest::decode(&bytes) {
                Ok(m) => m,
                Err(e) => {
                    bad.push(format!("manifest {}: {e}", disk.digest));
                    continue;
                }
            },
            Err(e) => {
                bad.push(describe(id, &e).ok_or_else(|| JobError::Retry(e.to_string()))?);
                continue;
            }
        };
        count += 1;
        let reads = manifest.referenced().into_iter().map(|c| {
            let store = store.clone();
            async move { (c, store.get(c).await.map(|_| ())) }
        });
        let mut reads = futures_util::stream::iter(reads).buffer_unordered(4);
        while let Some((c, result)) = reads.next().await {
            count += 1;
            if let Err(e) = result {
                bad.push(describe(c, &e).ok_or_else(|| JobError::Retry(e.to_string()))?);
            }
        }
    }
    Ok((count, bad))
}

/// A missing or corrupt chunk in words; `None` for a fault that may pass (retried).
fn describe(id: ChunkId, e: &ChunkError) -> Option<String> {
    match e {
        ChunkError::NotFound(_) => Some(format!("chunk {id}: missing")),
        ChunkError::Corrupt { .. } => Some(format!("chunk {id}: corrupt ({e})")),
        _ => None,
    }
}
