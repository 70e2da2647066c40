//! `galleon disk upload` and `download`: disk bytes through the access URLs Azure's disk API
//! grants (`beginGetAccess`), 4 MiB pages at a time, all-zero pages skipped, with a progress line,
//! resumable after an interruption, and checked against the disk's digest at the end.

use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use bytes::Bytes;
use futures_util::StreamExt;
use galleon_api_types::disk::DiskResource;
use galleon_blob::aligned::{ALIGN, direct_flag, page_buffers, write_direct};
use galleon_blob::vhd::{self, FOOTER_LEN};
use galleon_blob::{CHUNK_SIZE, ChunkId, Manifest, is_zero};
use hyper::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::progress::Progress;
use super::{DISKS, Session};

const PAGE: u64 = galleon_blob::aligned::PAGE_WRITE as u64;

/// Page writes an upload keeps in flight.
const IN_FLIGHT: usize = 8;

/// The file an upload reads, and the same file opened with O_DIRECT where the filesystem allows.
struct Source {
    file: std::fs::File,
    direct: Option<std::fs::File>,
}

/// The page of an upload at `offset` — file bytes, or the footer's last bytes past the data —
/// with the ids of the 1 MiB chunks it holds (`None` for zeros), so the digest needs no second
/// pass over the file.
async fn read_page(
    source: std::sync::Arc<Source>,
    offset: u64,
    virtual_size: u64,
    upload_size: u64,
    footer: &[u8],
) -> anyhow::Result<(Bytes, Vec<Option<ChunkId>>)> {
    if offset >= virtual_size {
        let len = upload_size - offset;
        return Ok((Bytes::copy_from_slice(&footer[(FOOTER_LEN as u64 - len) as usize..]), vec![]));
    }
    let len = PAGE.min(virtual_size - offset);
    tokio::task::spawn_blocking(move || {
        let mut buf = page_buffers().take();
        let page = &mut buf.as_mut_slice()[..len as usize];
        match &source.direct {
            Some(direct) if len.is_multiple_of(ALIGN as u64) => direct.read_exact_at(page, offset)?,
            _ => source.file.read_exact_at(page, offset)?,
        }
        let chunks = Manifest::entries_of(page);
        Ok((page_buffers().share(buf, len as usize), chunks))
    })
    .await?
}

/// Writes a downloaded page at `offset`: whole 4 KiB blocks with O_DIRECT from a warm aligned
/// buffer (no page cache to fill, and nothing left to write back at the end), the rest normally.
/// Reading into fresh memory through the page cache was most of a transfer's CPU time.
fn write_page(file: &std::fs::File, direct: Option<&std::fs::File>, offset: u64, page: &[u8]) -> std::io::Result<()> {
    match direct {
        Some(direct) if offset.is_multiple_of(ALIGN as u64) && page.len().is_multiple_of(ALIGN) => {
            write_direct(direct, page_buffers(), page, offset)
        }
        _ => file.write_all_at(page, offset),
    }
}

/// The Storage API version the transfers send.
const STORAGE_VERSION: &str = "2021-08-06";

/// The `[start, end)` ranges of a `?comp=pagelist` answer
/// (`<PageRange><Start>0</Start><End>511</End></PageRange>…`, ends inclusive).
fn page_ranges(xml: &[u8]) -> Vec<(u64, u64)> {
    let xml = String::from_utf8_lossy(xml);
    let field = |s: &str, tag: &str| -> Option<u64> {
        let open = format!("<{tag}>");
        let from = s.find(&open)? + open.len();
        s[from..].split('<').next()?.trim().parse().ok()
    };
    xml.split("<PageRange>")
        .skip(1)
        .filter_map(|range| Some((field(range, "Start")?, field(range, "End")? + 1)))
        .collect()
}

/// What is left behind to resume a transfer: the access URL and how far it got.
#[derive(Serialize, Deserialize)]
struct Journal {
    disk: String,
    file: String,
    file_len: u64,
    url: String,
    done: u64,
}

fn journal_path(kind: &str, disk: &str) -> anyhow::Result<PathBuf> {
    let dir = super::profile::dir()?.join("transfers");
    crate::files::private_dir(&dir)?;
    Ok(dir.join(format!("{kind}-{}.json", ChunkId::of(disk.to_ascii_lowercase().as_bytes()).to_hex())))
}

fn read_journal(path: &Path) -> Option<Journal> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn save_journal(path: &Path, journal: &Journal) -> anyhow::Result<()> {
    Ok(crate::files::write_private(path, &serde_json::to_vec(journal)?)?)
}

/// The digest galleon gives a fixed VHD's content (chunk hashes, holes for zeros, the footer).
fn digest_of(file: &std::fs::File, virtual_size: u64, footer: Vec<u8>) -> anyhow::Result<String> {
    let mut chunks = Vec::new();
    let mut buf = vec![0u8; CHUNK_SIZE as usize];
    for i in 0..Manifest::chunk_count(virtual_size) {
        file.read_exact_at(&mut buf, i as u64 * CHUNK_SIZE)?;
        chunks.extend(Manifest::entries_of(&buf));
    }
    Ok(Manifest { virtual_size, footer, chunks }.digest())
}

/// Waits for a transfer's pages, which complete in order as `(start, end, chunk entries, bytes
/// moved)`: places their chunk entries in the table of a disk of `virtual_size` bytes (pages not
/// transferred are holes), moves the progress line, and saves the journal after every 64 MiB
/// moved so a resume starts after pages that landed (each save is an fsync: holes, which move
/// nothing, do not count). Returns the chunk table.
async fn land(
    pages: impl futures_util::Stream<Item = anyhow::Result<(u64, u64, Vec<Option<ChunkId>>, u64)>>,
    virtual_size: u64,
    progress: &mut Progress,
    journal: &mut Journal,
    journal_at: &Path,
) -> anyhow::Result<Vec<Option<ChunkId>>> {
    let mut pages = std::pin::pin!(pages);
    let mut chunks = vec![None; Manifest::chunk_count(virtual_size)];
    let mut unsaved = 0;
    while let Some(done) = pages.next().await {
        let (start, end, page_chunks, moved) = done?;
        let first = (start / CHUNK_SIZE) as usize;
        for (i, entry) in page_chunks.into_iter().enumerate() {
            if let Some(slot) = chunks.get_mut(first + i) {
                *slot = entry;
            }
        }
        progress.set(end);
        unsaved += moved;
        if unsaved >= JOURNAL_EVERY {
            journal.done = end;
            save_journal(journal_at, journal)?;
            unsaved = 0;
        }
    }
    Ok(chunks)
}

/// Bytes moved between saves of a transfer's journal.
const JOURNAL_EVERY: u64 = 64 << 20;

/// Begins access and returns the URL (from the operation's output).
async fn grant(s: &Session, disk: &str, access: &str) -> anyhow::Result<String> {
    let body = json!({ "access": access, "durationInSeconds": 86400 });
    let reply = s.client.call(Method::POST, &format!("{disk}/beginGetAccess?{DISKS}"), Some(&body)).await?;
    let status = s.client.wait(&reply).await?;
    status.output()["accessSAS"].as_str().map(str::to_string).context("no accessSAS in the operation")
}

async fn revoke(s: &Session, disk: &str) -> anyhow::Result<()> {
    let reply = s.client.call(Method::POST, &format!("{disk}/endGetAccess?{DISKS}"), None).await?;
    s.client.wait(&reply).await?;
    Ok(())
}

/// Options of `galleon disk upload`.
pub(super) struct Upload {
    pub group: String,
    pub name: String,
    pub file: PathBuf,
    pub os_type: Option<String>,
    pub hyper_v_generation: Option<String>,
    pub location: Option<String>,
}

pub(super) async fn upload(s: &Session, u: Upload) -> anyhow::Result<Value> {
    let file = std::fs::File::open(&u.file).with_context(|| format!("opening {}", u.file.display()))?;
    let file_len = file.metadata()?.len();
    // A fixed VHD goes as it is; a raw image gets galleon's footer after its data.
    let mut tail = [0u8; FOOTER_LEN];
    let is_vhd = file_len >= FOOTER_LEN as u64
        && file.read_exact_at(&mut tail, file_len - FOOTER_LEN as u64).is_ok()
        && vhd::parse(&tail, file_len).is_ok();
    let (virtual_size, footer) = if is_vhd {
        (file_len - FOOTER_LEN as u64, tail.to_vec())
    } else if file_len > 0 && file_len.is_multiple_of(CHUNK_SIZE) {
        (file_len, vhd::build(file_len).to_vec())
    } else {
        anyhow::bail!(
            "usage error: {} is neither a fixed VHD nor a raw image of whole MiB ({file_len} bytes)",
            u.file.display()
        );
    };
    let upload_size = virtual_size + FOOTER_LEN as u64;
    let disk = s.compute_path(&u.group, "disks", &u.name);
    let journal_at = journal_path("upload", &disk)?;
    let file_name = std::path::absolute(&u.file)?.display().to_string();
    let existing = s.client.get::<DiskResource>(&format!("{disk}?{DISKS}")).await.ok();
    let state = existing.and_then(|d| d.properties?.disk_state);
    let resumable = read_journal(&journal_at).filter(|j| j.file == file_name && j.file_len == file_len);
    let (url, start) = match (state.as_deref(), resumable) {
        (Some("ActiveUpload"), Some(j)) => {
            eprintln!("Resuming the upload at {} MiB", j.done >> 20);
            (j.url, j.done)
        }
        (Some("ActiveUpload"), None) => anyhow::bail!(
            "The disk '{}' has an upload in progress that this machine did not start; end it with endGetAccess or delete the disk.",
            u.name
        ),
        (Some("ReadyToUpload"), _) => (grant(s, &disk, "Write").await?, 0),
        (Some(other), _) => anyhow::bail!("The disk '{}' exists and is {other}, not waiting for an upload.", u.name),
        (None, _) => {
            let mut properties =
                json!({ "creationData": { "createOption": "Upload", "uploadSizeBytes": upload_size } });
            if let Some(os) = &u.os_type {
                properties["osType"] = json!(os);
            }
            if let Some(generation) = &u.hyper_v_generation {
                properties["hyperVGeneration"] = json!(generation);
            }
            let location = s.location_or_group(u.location.clone(), &u.group).await?;
            let body = json!({ "location": location, "properties": properties });
            s.change(Method::PUT, &disk, DISKS, Some(&body), false).await?;
            (grant(s, &disk, "Write").await?, 0)
        }
    };
    let mut journal = Journal { disk: disk.clone(), file: file_name, file_len, url: url.clone(), done: start };
    save_journal(&journal_at, &journal)?;
    let mut progress = Progress::new(format!("Uploading {}", u.name), upload_size, start);
    // Pages go out IN_FLIGHT at a time (reading, encrypting, sending and the server's writes
    // overlap), and complete in order, so the journal's offset only covers pages that landed.
    // Holes of a sparse image are neither read nor sent.
    let extents = galleon_blob::ingest::data_extents(&file, virtual_size);
    let direct = galleon_blob::ingest::reopen_direct(&file);
    let source = std::sync::Arc::new(Source { file, direct });
    // Only pages that hold data (and the footer's) go into the pipeline: holes would take its
    // slots and leave it one page deep in a sparse image.
    let in_data = |offset: u64| {
        let end = offset + PAGE.min(virtual_size - offset);
        extents.iter().any(|&(a, b)| a < end && b > offset)
    };
    // The footer is a page of its own: the last data page ends at the virtual size, which need not
    // be a whole number of pages.
    let footer_page = (start <= virtual_size).then_some(virtual_size);
    let data_pages = (start..virtual_size).step_by(PAGE as usize).filter(|&o| in_data(o));
    let offsets: Vec<u64> = data_pages.chain(footer_page).collect();
    let pages = futures_util::stream::iter(offsets)
        .map(|offset| {
            let (source, url, footer) = (source.clone(), url.clone(), &footer);
            async move {
                let (page, chunks) = read_page(source, offset, virtual_size, upload_size, footer).await?;
                let len = page.len() as u64;
                let mut sent = 0;
                if !is_zero(&page) {
                    sent = len;
                    let headers = [
                        ("x-ms-page-write", "update".to_string()),
                        ("x-ms-range", format!("bytes={offset}-{}", offset + len - 1)),
                        ("x-ms-version", STORAGE_VERSION.to_string()),
                        ("x-ms-blob-type", "PageBlob".to_string()),
                    ];
                    s.client.blob(Method::PUT, &format!("{url}&comp=page"), &headers, page).await?;
                }
                anyhow::Ok((offset, offset + len, chunks, sent))
            }
        })
        .buffered(IN_FLIGHT);
    let chunks = land(pages, virtual_size, &mut progress, &mut journal, &journal_at).await?;
    progress.set(upload_size);
    progress.finish();
    revoke(s, &disk).await?;
    let _ = std::fs::remove_file(&journal_at);
    let uploaded = s.get(&disk, DISKS).await?;
    // A resumed upload did not read the pages sent before; hash the file then.
    let expected = if start == 0 {
        Manifest { virtual_size, footer, chunks }.digest()
    } else {
        digest_of(&source.file, virtual_size, footer)?
    };
    check_digest(&uploaded, &expected)?;
    Ok(uploaded)
}

fn check_digest(disk: &Value, expected: &str) -> anyhow::Result<()> {
    let digest = disk["properties"]["digest"].as_str().unwrap_or_default();
    if digest != expected {
        anyhow::bail!("(DigestMismatch) The disk's digest is {digest}; the local file's is {expected}.");
    }
    Ok(())
}

pub(super) async fn download(s: &Session, group: &str, name: &str, path: &Path, verify: bool) -> anyhow::Result<Value> {
    let kinds = [("disks", DISKS), ("snapshots", DISKS)];
    let resource = s.resolve(group, name, &kinds).await?;
    let shown = s.get(&resource, DISKS).await?;
    let part = path.with_extension("part");
    let journal_at = journal_path("download", &resource)?;
    let part_name = std::path::absolute(&part)?.display().to_string();
    let resumable = read_journal(&journal_at).filter(|j| j.file == part_name && part.exists());
    let resumed = resumable.is_some();
    let (mut url, start) = match resumable {
        Some(j) => {
            eprintln!("Resuming the download at {} MiB", j.done >> 20);
            (j.url, j.done)
        }
        None => (grant(s, &resource, "Read").await?, 0),
    };
    // The URL serves the disk as a fixed VHD; HEAD gives its length. A resumed download whose
    // URL has expired or was revoked gets a new one; the bytes already here stay.
    let headers = match s.client.blob(Method::HEAD, &url, &[], Bytes::new()).await {
        Ok((headers, _)) => headers,
        Err(_) if resumed => {
            url = grant(s, &resource, "Read").await?;
            s.client.blob(Method::HEAD, &url, &[], Bytes::new()).await?.0
        }
        Err(e) => return Err(e.into()),
    };
    let total: u64 = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .filter(|len| *len > FOOTER_LEN as u64)
        .context("the access URL did not give the disk's length")?;
    let file = std::fs::OpenOptions::new().create(true).read(true).write(true).truncate(false).open(&part)?;
    file.set_len(total)?;
    let mut journal =
        Journal { disk: resource.clone(), file: part_name, file_len: total, url: url.clone(), done: start };
    save_journal(&journal_at, &journal)?;
    let mut progress = Progress::new(format!("Downloading {name}"), total, start);
    let virtual_size = total - FOOTER_LEN as u64;
    // Ranges are fetched IN_FLIGHT at a time and complete in order (the journal's offset only
    // covers bytes written); each page is written and its chunks hashed where it arrives.
    // Only the ranges that hold data are fetched (the page list, as the Storage SDKs ask for it);
    // the rest of the file stays holes. Without a page list, everything is fetched.
    let pagelist = s
        .client
        .blob(Method::GET, &format!("{url}&comp=pagelist"), &[("x-ms-version", STORAGE_VERSION.into())], Bytes::new())
        .await;
    let data = pagelist.ok().map(|(_, xml)| page_ranges(&xml)).unwrap_or_else(|| vec![(0, total)]);
    let data = &data;
    let direct = std::fs::OpenOptions::new().write(true).custom_flags(direct_flag()).open(&part).ok();
    let (file, direct) = (std::sync::Arc::new(file), std::sync::Arc::new(direct));
    // Pages without data stay out of the pipeline (they would take its slots).
    let in_data = |offset: u64| data.iter().any(|&(a, b)| a < (offset + PAGE).min(total) && b > offset);
    let offsets: Vec<u64> = (start..total).step_by(PAGE as usize).filter(|&o| in_data(o)).collect();
    let pages = futures_util::stream::iter(offsets)
        .map(|offset| {
            let (file, direct, url) = (file.clone(), direct.clone(), url.clone());
            async move {
                let end = (offset + PAGE).min(total) - 1;
                let headers =
                    [("x-ms-range", format!("bytes={offset}-{end}")), ("x-ms-version", STORAGE_VERSION.to_string())];
                let (_, page) = s.client.blob(Method::GET, &url, &headers, Bytes::new()).await?;
                if page.len() as u64 != end - offset + 1 {
                    anyhow::bail!("the server sent {} bytes for the range {offset}-{end}", page.len());
                }
                let chunks = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<Option<ChunkId>>> {
                    // Zero pages stay holes in the file.
                    if !is_zero(&page) {
                        write_page(&file, direct.as_ref().as_ref(), offset, &page)?;
                    }
                    let data = &page[..(virtual_size.saturating_sub(offset).min(page.len() as u64)) as usize];
                    Ok(Manifest::entries_of(data))
                })
                .await??;
                anyhow::Ok((offset, end + 1, chunks, end + 1 - offset))
            }
        })
        .buffered(IN_FLIGHT);
    let chunks = land(pages, virtual_size, &mut progress, &mut journal, &journal_at).await?;
    progress.set(total);
    progress.finish();
    file.sync_all()?;
    revoke(s, &resource).await?;
    let mut footer = vec![0u8; FOOTER_LEN];
    file.read_exact_at(&mut footer, virtual_size)?;
    // A resumed download did not see the bytes fetched before; hash the file then.
    let digest = if start == 0 {
        Manifest { virtual_size, footer, chunks }.digest()
    } else {
        digest_of(&std::fs::File::open(&part)?, virtual_size, footer)?
    };
    check_digest(&shown, &digest)?;
    // An image that does not verify stays in its `.part` file.
    let verified = if verify { super::provenance::check_download(s, &shown, &digest).await? } else { Value::Null };
    std::fs::rename(&part, path)?;
    let _ = std::fs::remove_file(&journal_at);
    Ok(verified)
}
