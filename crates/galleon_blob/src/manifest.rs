//! A disk's content: its virtual size, its footer, and one entry per 1 MiB chunk, either a
//! [`ChunkId`] or a hole (all zeros, never stored). The manifest's own hash is the disk's digest.

use crate::vhd::FOOTER_LEN;
use crate::{CHUNK_SIZE, ChunkId};

/// What a disk holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Data bytes (a whole number of MiB).
    pub virtual_size: u64,
    /// The 512-byte fixed-VHD footer served after the data.
    pub footer: Vec<u8>,
    /// One entry per chunk of [`CHUNK_SIZE`] bytes; `None` is a hole.
    pub chunks: Vec<Option<ChunkId>>,
}

/// A manifest that cannot be decoded.
#[derive(Debug, thiserror::Error)]
#[error("malformed manifest: {0}")]
pub struct ManifestError(&'static str);

const MAGIC: &[u8; 8] = b"GLNMAN01";

impl Manifest {
    /// The entries of consecutive chunks of `data` (which starts on a chunk boundary): each
    /// chunk's id, or `None` for an all-zero chunk (a hole), as ingest records them.
    pub fn entries_of(data: &[u8]) -> Vec<Option<ChunkId>> {
        data.chunks(CHUNK_SIZE as usize).map(|c| (!crate::is_zero(c)).then(|| ChunkId::of(c))).collect()
    }

    /// Length of the disk as a fixed VHD file.
    pub fn file_len(&self) -> u64 {
        self.virtual_size + FOOTER_LEN as u64
    }

    /// The chunk entry count a disk of `virtual_size` bytes has.
    pub fn chunk_count(virtual_size: u64) -> usize {
        virtual_size.div_ceil(CHUNK_SIZE) as usize
    }

    /// The distinct chunks it references.
    pub fn referenced(&self) -> Vec<ChunkId> {
        let mut ids: Vec<ChunkId> = self.chunks.iter().flatten().copied().collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The byte ranges `[start, end)` of the VHD file that hold data, merged where they touch:
    /// every chunk that is not a hole, and the footer. A page blob's page list.
    pub fn data_ranges(&self) -> Vec<(u64, u64)> {
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        let chunk_ranges = self.chunks.iter().enumerate().filter(|(_, c)| c.is_some()).map(|(i, _)| {
            let start = i as u64 * CHUNK_SIZE;
            (start, (start + CHUNK_SIZE).min(self.virtual_size))
        });
        for (start, end) in chunk_ranges.chain([(self.virtual_size, self.file_len())]) {
            match ranges.last_mut() {
                Some(last) if last.1 == start => last.1 = end,
                _ => ranges.push((start, end)),
            }
        }
        ranges
    }

    /// Size in whole GiB, rounded up, as ARM's `diskSizeGB`/`sizeInGB` report it.
    pub fn size_gb(&self) -> u64 {
        self.virtual_size.div_ceil(1 << 30)
    }

    /// A stable binary encoding: magic, size, footer, then per chunk a 0 byte (hole) or 1 and the id.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + FOOTER_LEN + self.chunks.len() * 33);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.virtual_size.to_be_bytes());
        out.extend_from_slice(&(self.chunks.len() as u64).to_be_bytes());
        out.extend_from_slice(&self.footer);
        for c in &self.chunks {
            match c {
                None => out.push(0),
                Some(id) => {
                    out.push(1);
                    out.extend_from_slice(&id.0);
                }
            }
        }
        out
    }

    /// Decodes [`Manifest::encode`]'s output.
    pub fn decode(bytes: &[u8]) -> Result<Self, ManifestError> {
        let header = 24 + FOOTER_LEN;
        if bytes.len() < header || &bytes[..8] != MAGIC {
            return Err(ManifestError("bad header"));
        }
        let virtual_size = u64::from_be_bytes(bytes[8..16].try_into().expect("8 bytes"));
        let count = u64::from_be_bytes(bytes[16..24].try_into().expect("8 bytes")) as usize;
        if count != Self::chunk_count(virtual_size) {
            return Err(ManifestError("chunk count does not match the size"));
        }
        let footer = bytes[24..header].to_vec();
        let mut chunks = Vec::with_capacity(count);
        let mut rest = &bytes[header..];
        for _ in 0..count {
            match rest.first() {
                Some(0) => {
                    chunks.push(None);
                    rest = &rest[1..];
                }
                Some(1) if rest.len() >= 33 => {
                    chunks.push(Some(ChunkId(rest[1..33].try_into().expect("32 bytes"))));
                    rest = &rest[33..];
                }
                _ => return Err(ManifestError("truncated chunk list")),
            }
        }
        if !rest.is_empty() {
            return Err(ManifestError("trailing bytes"));
        }
        Ok(Self { virtual_size, footer, chunks })
    }

    /// The disk's digest: BLAKE3 of the encoding, in hex.
    pub fn digest(&self) -> String {
        blake3::hash(&self.encode()).to_hex().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_digest_is_stable() {
        let m = Manifest {
            virtual_size: 3 * CHUNK_SIZE,
            footer: crate::vhd::build(3 * CHUNK_SIZE).to_vec(),
            chunks: vec![Some(ChunkId::of(b"a")), None, Some(ChunkId::of(b"a"))],
        };
        let back = Manifest::decode(&m.encode()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.digest(), m.digest());
        assert_eq!(m.referenced().len(), 1);
        assert_eq!(m.size_gb(), 1);
        let mut other = m.clone();
        other.chunks[1] = Some(ChunkId::of(b"b"));
        assert_ne!(other.digest(), m.digest());
        assert!(Manifest::decode(&m.encode()[..100]).is_err());
    }
}

#[cfg(test)]
mod data_range_tests {
    use super::*;

    #[test]
    fn data_ranges_merge_chunks_and_the_footer() {
        let id = Some(ChunkId::of(b"x"));
        let m = Manifest { virtual_size: 4 * CHUNK_SIZE, footer: vec![0; 512], chunks: vec![id, id, None, id] };
        assert_eq!(m.data_ranges(), vec![(0, 2 * CHUNK_SIZE), (3 * CHUNK_SIZE, 4 * CHUNK_SIZE + 512)]);
        let empty = Manifest { virtual_size: CHUNK_SIZE, footer: vec![0; 512], chunks: vec![None] };
        assert_eq!(empty.data_ranges(), vec![(CHUNK_SIZE, CHUNK_SIZE + 512)]);
    }
}
