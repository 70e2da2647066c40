//! The fixed-VHD footer: 512 bytes at the end of the file, big-endian fields, a one's-complement
//! checksum (byte layout in `reference/disk-and-perf.md` §4). Azure accepts only fixed VHDs whose
//! virtual size is a whole number of MiB, so those are the rules checked here.

use crate::MIB;

/// Footer length.
pub const FOOTER_LEN: usize = 512;
const COOKIE: &[u8; 8] = b"conectix";
const DISK_TYPE_FIXED: u32 = 2;

/// Why a file is not an acceptable disk image. Each says what is wrong, for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Shorter than a footer, or shorter than the footer says.
    #[error("the file is truncated: {0}")]
    Truncated(String),
    /// The last 512 bytes carry the VHD cookie but their checksum does not match.
    #[error("the VHD footer checksum is wrong (stored {stored:#010x}, computed {computed:#010x})")]
    BadChecksum {
        /// What the footer says.
        stored: u32,
        /// What the bytes add up to.
        computed: u32,
    },
    /// Dynamic (3) or differencing (4) VHDs; Azure needs fixed ones.
    #[error(
        "the VHD is {0}; only fixed VHDs are accepted (convert with: qemu-img convert -O vpc -o subformat=fixed,force_size=on)"
    )]
    NotFixed(&'static str),
    /// The virtual size is not a whole number of MiB.
    #[error(
        "the virtual size {0} bytes is not a whole number of MiB (resize the raw image to the next MiB, then convert with force_size=on)"
    )]
    NotMibAligned(u64),
    /// The file length is not the footer's size plus 512 bytes.
    #[error("the file is {len} bytes but its VHD footer says {size} bytes of data plus a 512-byte footer")]
    SizeMismatch {
        /// File length.
        len: u64,
        /// Footer current size.
        size: u64,
    },
    /// A raw image with no data at all.
    #[error("the image is empty")]
    Empty,
}

/// The footer fields galleon reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// Virtual size in bytes (`current size`).
    pub current_size: u64,
    /// Disk type (2 = fixed).
    pub disk_type: u32,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The one's complement of the byte sum of the footer, checksum field excluded.
pub fn checksum(footer: &[u8; FOOTER_LEN]) -> u32 {
    let sum: u32 = footer.iter().enumerate().filter(|(i, _)| !(64..68).contains(i)).map(|(_, b)| u32::from(*b)).sum();
    !sum
}

/// Whether these 512 bytes start with the VHD cookie.
pub fn has_cookie(footer: &[u8; FOOTER_LEN]) -> bool {
    &footer[..8] == COOKIE
}

/// Validates the footer of a file of `file_len` bytes as an Azure-acceptable fixed VHD.
pub fn parse(footer: &[u8; FOOTER_LEN], file_len: u64) -> Result<Footer, FormatError> {
    let stored = be32(footer, 64);
    let computed = checksum(footer);
    if stored != computed {
        return Err(FormatError::BadChecksum { stored, computed });
    }
    let disk_type = be32(footer, 60);
    match disk_type {
        DISK_TYPE_FIXED => {}
        3 => return Err(FormatError::NotFixed("dynamic")),
        4 => return Err(FormatError::NotFixed("differencing")),
        _ => return Err(FormatError::NotFixed("of an unknown type")),
    }
    let current_size = be64(footer, 48);
    if current_size + FOOTER_LEN as u64 != file_len {
        return Err(if file_len < current_size + FOOTER_LEN as u64 {
            FormatError::Truncated(format!("{file_len} bytes, the footer says {} bytes", current_size + 512))
        } else {
            FormatError::SizeMismatch { len: file_len, size: current_size }
        });
    }
    if current_size == 0 || !current_size.is_multiple_of(MIB) {
        return Err(FormatError::NotMibAligned(current_size));
    }
    Ok(Footer { current_size, disk_type })
}

/// A fixed-VHD footer for `size` bytes of data, as galleon writes for raw images.
pub fn build(size: u64) -> [u8; FOOTER_LEN] {
    let mut f = [0u8; FOOTER_LEN];
    f[..8].copy_from_slice(COOKIE);
    f[8..12].copy_from_slice(&2u32.to_be_bytes()); // features: reserved bit
    f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes()); // format version 1.0
    f[16..24].copy_from_slice(&u64::MAX.to_be_bytes()); // data offset: none (fixed)
    // Timestamp 0 (the VHD epoch) and an id derived from the size: the same raw image always
    // gets the same footer, so importing it twice gives the same digest.
    f[24..28].copy_from_slice(&0u32.to_be_bytes());
    f[28..32].copy_from_slice(b"glln");
    f[32..36].copy_from_slice(&0x0001_0000u32.to_be_bytes());
    f[36..40].copy_from_slice(b"Wi2k");
    f[40..48].copy_from_slice(&size.to_be_bytes());
    f[48..56].copy_from_slice(&size.to_be_bytes());
    // The "maximum geometry" that tells readers to trust current size (as qemu's force_size does).
    f[56..58].copy_from_slice(&65535u16.to_be_bytes());
    f[58] = 16;
    f[59] = 255;
    f[60..64].copy_from_slice(&DISK_TYPE_FIXED.to_be_bytes());
    let id = blake3::hash(&size.to_be_bytes());
    f[68..84].copy_from_slice(&id.as_bytes()[..16]);
    let sum = checksum(&f);
    f[64..68].copy_from_slice(&sum.to_be_bytes());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_footers_parse() {
        let f = build(64 * MIB);
        assert!(has_cookie(&f));
        assert_eq!(parse(&f, 64 * MIB + 512).unwrap(), Footer { current_size: 64 * MIB, disk_type: 2 });
    }

    #[test]
    fn each_problem_is_named() {
        let mut f = build(8 * MIB);
        f[100] ^= 1;
        assert!(matches!(parse(&f, 8 * MIB + 512), Err(FormatError::BadChecksum { .. })));

        let with_type = |t: u32, size: u64| {
            let mut f = build(size);
            f[60..64].copy_from_slice(&t.to_be_bytes());
            let sum = checksum(&f);
            f[64..68].copy_from_slice(&sum.to_be_bytes());
            f
        };
        assert_eq!(parse(&with_type(3, MIB), MIB + 512), Err(FormatError::NotFixed("dynamic")));
        assert_eq!(parse(&with_type(4, MIB), MIB + 512), Err(FormatError::NotFixed("differencing")));
        let odd = MIB + 4096;
        assert_eq!(parse(&build(odd), odd + 512), Err(FormatError::NotMibAligned(odd)));
        assert!(matches!(parse(&build(2 * MIB), MIB + 512), Err(FormatError::Truncated(_))));
        assert!(matches!(parse(&build(MIB), 3 * MIB), Err(FormatError::SizeMismatch { .. })));
    }

    #[test]
    fn checksum_matches_the_documented_rule() {
        // Sum of all bytes but 64..68, one's complement, 32 bits.
        let f = build(10 * MIB);
        let manual = !(f[..64].iter().chain(&f[68..]).map(|b| u32::from(*b)).sum::<u32>());
        assert_eq!(u32::from_be_bytes(f[64..68].try_into().unwrap()), manual);
    }
}
