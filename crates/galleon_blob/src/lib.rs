//! Disk content, the way Azure stores it and galleon keeps it (design §5).
//!
//! A disk is a fixed VHD: `virtual size` bytes of data (a whole number of MiB) followed by a
//! 512-byte footer ([`vhd`]). galleon cuts the data into 1 MiB chunks, names each by its BLAKE3
//! hash ([`ChunkId`]), records all-zero chunks as holes that are never stored, and keeps the list
//! as a [`Manifest`] whose own hash is the disk's digest. Chunks live in a [`store::ChunkStore`]
//! (one per region store); identical chunks are stored once, so snapshots, images, versions and
//! disks made from one another share them.
//!
//! [`ingest`] turns a raw image or fixed VHD into chunks and a manifest, reading sparsely (holes in
//! the source file are skipped with SEEK_DATA/SEEK_HOLE, never read) on long-lived worker threads
//! with reused buffers; [`export`] streams the exact bytes back. This crate knows nothing of HTTP
//! or SQL.

pub mod aligned;
mod chunk_id;
pub mod export;
pub mod ingest;
pub mod manifest;
pub mod staged;
pub mod store;
pub mod vhd;
mod zero;

pub use chunk_id::ChunkId;
pub use manifest::Manifest;
pub use zero::is_zero;

/// Chunk size: 1 MiB (design §5 gives the measurements behind the choice).
pub const CHUNK_SIZE: u64 = 1 << 20;

/// One MiB, the unit Azure requires disk sizes in.
pub const MIB: u64 = 1 << 20;
