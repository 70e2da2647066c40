//! A manifest back to bytes: the exact fixed VHD (data, then footer), streamed one chunk at a
//! time, or any byte range of it (for HTTP Range reads).

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::store::{ChunkError, ChunkStore};
use crate::{CHUNK_SIZE, Manifest};

static ZEROS: [u8; CHUNK_SIZE as usize] = [0; CHUNK_SIZE as usize];

/// Writes the whole VHD to `out`, never holding more than one chunk.
pub async fn write_vhd<W: AsyncWrite + Unpin>(
    m: &Manifest,
    store: &dyn ChunkStore,
    out: &mut W,
) -> Result<(), ChunkError> {
    let io = |e: std::io::Error| ChunkError::Io(e.to_string());
    for (i, entry) in m.chunks.iter().enumerate() {
        let size = (m.virtual_size - i as u64 * CHUNK_SIZE).min(CHUNK_SIZE) as usize;
        match entry {
            None => out.write_all(&ZEROS[..size]).await.map_err(io)?,
            Some(id) => out.write_all(&store.get(*id).await?).await.map_err(io)?,
        }
    }
    out.write_all(&m.footer).await.map_err(io)?;
    out.flush().await.map_err(io)
}

/// The bytes `[start, start + len)` of the VHD (clamped to its length).
pub async fn read_range(m: &Manifest, store: &dyn ChunkStore, start: u64, len: u64) -> Result<Bytes, ChunkError> {
    let end = (start + len).min(m.file_len());
    // The pieces of the range; one piece (a range inside one chunk, as the access URLs' 1 MiB
    // frames are) is handed back without a copy.
    let mut parts: Vec<Bytes> = Vec::new();
    let mut pos = start;
    while pos < end {
        if pos >= m.virtual_size {
            let f = (pos - m.virtual_size) as usize;
            parts.push(Bytes::copy_from_slice(&m.footer[f..f + (end - pos) as usize]));
            break;
        }
        let i = (pos / CHUNK_SIZE) as usize;
        let offset = (pos % CHUNK_SIZE) as usize;
        let chunk_end = ((i as u64 + 1) * CHUNK_SIZE).min(m.virtual_size).min(end);
        let take = (chunk_end - pos) as usize;
        parts.push(match m.chunks[i] {
            None => Bytes::from_static(&ZEROS[..take]),
            Some(id) => store.get(id).await?.slice(offset..offset + take),
        });
        pos += take as u64;
    }
    Ok(match parts.len() {
        0 => Bytes::new(),
        1 => parts.pop().expect("one part"),
        _ => Bytes::from(parts.concat()),
    })
}
