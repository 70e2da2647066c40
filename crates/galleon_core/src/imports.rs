//! Where imports may read from: the configured allow-list, checked on parsed URLs and on the
//! file actually opened, never on strings.
//!
//! - `file://` sources are opened without blocking (a FIFO cannot stall the job), and what was
//!   opened is checked: its real path (as the kernel names the open descriptor, so a symlink or
//!   a swapped directory cannot point elsewhere) must lie inside an allowed directory, and it
//!   must be a regular file.
//! - `http(s)://` sources are compared by scheme, host, effective port and whole path segments;
//!   user information in a URL is refused outright (`http://allowed@other/`).

use std::fs::File;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// An allowed import source, ready to read.
pub(crate) enum ImportSource {
    /// A local regular file, already opened (what was checked is what is read).
    File(File),
    /// An http(s) URL, fetched by the configured `Fetcher`.
    Url(String),
}

/// A parsed http(s) URL or allow-list entry.
#[derive(Debug, PartialEq, Eq)]
struct HttpUrl {
    https: bool,
    host: String,
    port: u16,
    /// Decoded path segments.
    segments: Vec<String>,
    /// The entry's path ended with `/` (a directory prefix).
    dir: bool,
}

/// Parses `http(s)://host[:port]/path[?query]`; refuses user information, `..` and `.` segments
/// and encoded slashes, which a server might resolve outside the allowed prefix.
fn parse_http(url: &str) -> Result<HttpUrl, String> {
    let (https, rest) = if let Some(rest) = strip_prefix_ci(url, "https://") {
        (true, rest)
    } else if let Some(rest) = strip_prefix_ci(url, "http://") {
        (false, rest)
    } else {
        return Err("not an http(s) URL".into());
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err("URLs with user information (user@host) are not allowed".into());
    }
    // `[v6]:port`, `host:port`, or a bare host.
    let (host, port) = match authority.strip_prefix('[').and_then(|a| a.split_once(']')) {
        Some((v6, rest)) => (v6, rest.strip_prefix(':')),
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| format!("the port '{p}' is not a number"))?,
        None => {
            if https {
                443
            } else {
                80
            }
        }
    };
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    let path = tail.split(['?', '#']).next().unwrap_or_default();
    let mut segments = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        if raw.to_ascii_lowercase().contains("%2f") || raw.contains('\\') {
            return Err("the URL's path may not contain encoded slashes".into());
        }
        let seg = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| "the URL's path is not valid percent-encoded UTF-8")?;
        if seg == ".." || seg == "." {
            return Err("the URL's path may not contain '.' or '..' segments".into());
        }
        segments.push(seg.into_owned());
    }
    Ok(HttpUrl { https, host: host.to_ascii_lowercase(), port, segments, dir: path.ends_with('/') || path.is_empty() })
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s.is_char_boundary(prefix.len()) && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

/// Whether `url` lies under the allow-list entry `entry` (both http(s)).
fn http_allowed(entry: &HttpUrl, url: &HttpUrl) -> bool {
    if entry.https != url.https || entry.host != url.host || entry.port != url.port {
        return false;
    }
    if !url.segments.starts_with(&entry.segments) {
        return false;
    }
    // An entry without a trailing slash names one object (or a directory named exactly so).
    entry.dir || url.segments.len() >= entry.segments.len()
}

/// The directory an allow-list `file://` entry names, resolved (symlinks in the configured
/// path itself are the operator's choice).
fn allowed_dir(entry: &str) -> Option<PathBuf> {
    let path = Path::new(strip_prefix_ci(entry, "file://")?);
    std::fs::canonicalize(path).ok().or_else(|| std::path::absolute(path).ok())
}

/// Checks `uri` against `allow` and, for a file, opens it; the error is a message for the caller.
pub(crate) fn open_allowed(uri: &str, allow: &[String], http_supported: bool) -> Result<ImportSource, String> {
    // The allow-list is not repeated to the caller: its directories are the server's own paths
    // (the operator sees the list when the server starts).
    let refused = || {
        format!(
            "Importing from '{}' is not allowed: the source is not in this server's import allow-list.",
            redact(uri)
        )
    };
    if let Some(path) = strip_prefix_ci(uri, "file://") {
        let path = Path::new(path);
        if !path.is_absolute() || path.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(format!("The import path '{}' must be absolute and may not contain '..'.", path.display()));
        }
        let dirs: Vec<PathBuf> = allow.iter().filter_map(|a| allowed_dir(a)).collect();
        if dirs.is_empty() {
            return Err(refused());
        }
        return open_file(path, &dirs).map(ImportSource::File).map_err(|e| match e {
            OpenRefusal::Outside => refused(),
            OpenRefusal::Other(m) => m,
        });
    }
    let url = parse_http(uri).map_err(|e| {
        if uri.contains("://") && !uri.to_ascii_lowercase().starts_with("http") {
            format!(
                "Importing from '{}' is not supported: galleon imports file://, http:// and https:// URLs.",
                redact(uri)
            )
        } else {
            format!("The import URL '{}' is refused: {e}.", redact(uri))
        }
    })?;
    let entries = allow.iter().filter_map(|a| parse_http(a).ok());
    if !entries.into_iter().any(|e| http_allowed(&e, &url)) {
        return Err(refused());
    }
    if !http_supported {
        return Err(format!("Importing from '{}' is not supported by this server.", redact(uri)));
    }
    Ok(ImportSource::Url(uri.to_string()))
}

/// A URL as it may appear in a message: without its query (a SAS token is a secret).
pub(crate) fn redact(uri: &str) -> String {
    uri.split('?').next().unwrap_or_default().to_string()
}

enum OpenRefusal {
    Outside,
    Other(String),
}

fn inside(path: &Path, dirs: &[PathBuf]) -> bool {
    dirs.iter().any(|d| path.starts_with(d) && path != d)
}

fn open_file(path: &Path, dirs: &[PathBuf]) -> Result<File, OpenRefusal> {
    let not_regular = |what: &str| {
        OpenRefusal::Other(format!("The import source '{}' is {what}, not a regular file.", path.display()))
    };
    // Before opening: the resolved path must be inside, and a regular file (opening a device or
    // FIFO can itself have effects or block).
    let real = std::fs::canonicalize(path)
        .map_err(|e| OpenRefusal::Other(format!("The import source '{}' cannot be read: {e}.", path.display())))?;
    if !inside(&real, dirs) {
        return Err(OpenRefusal::Outside);
    }
    let meta = std::fs::metadata(&real)
        .map_err(|e| OpenRefusal::Other(format!("The import source '{}' cannot be read: {e}.", path.display())))?;
    let kind = meta.file_type();
    if kind.is_fifo() {
        return Err(not_regular("a FIFO"));
    }
    if kind.is_block_device() || kind.is_char_device() {
        return Err(not_regular("a device"));
    }
    if !kind.is_file() {
        return Err(not_regular("not a file"));
    }
    // Then open without blocking and check what was opened: the path may have changed since.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32 | rustix::fs::OFlags::NOCTTY.bits() as i32)
        .open(&real)
        .map_err(|e| OpenRefusal::Other(format!("The import source '{}' cannot be read: {e}.", path.display())))?;
    let opened = std::fs::read_link(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&file)))
        .map_err(|e| OpenRefusal::Other(format!("The import source '{}' cannot be checked: {e}.", path.display())))?;
    if !inside(&opened, dirs) {
        return Err(OpenRefusal::Outside);
    }
    if !file.metadata().map_err(|e| OpenRefusal::Other(e.to_string()))?.file_type().is_file() {
        return Err(not_regular("not a file"));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entry: &str, url: &str) -> bool {
        http_allowed(&parse_http(entry).unwrap(), &parse_http(url).unwrap())
    }

    #[test]
    fn http_entries_compare_parsed_parts() {
        let e = "http://127.0.0.1:10000/devstoreaccount1/";
        assert!(allowed(e, "http://127.0.0.1:10000/devstoreaccount1/c/disk.vhd?sv=x&sig=y"));
        assert!(allowed(e, "HTTP://127.0.0.1:10000/devstoreaccount1/c/disk.vhd"));
        assert!(!allowed(e, "http://127.0.0.1:10001/devstoreaccount1/c/disk.vhd"), "another port");
        assert!(!allowed(e, "https://127.0.0.1:10000/devstoreaccount1/c/disk.vhd"), "another scheme");
        assert!(!allowed(e, "http://127.0.0.1:10000/devstoreaccount12/c.vhd"), "whole segments");
        assert!(!allowed("http://store.example", "http://store.example.evil.test/x"), "a longer host name");
        assert!(allowed("http://store.example", "http://store.example:80/x"), "the default port");
        assert!(!allowed("http://store.example/a", "http://store.example/ab"));
        assert!(allowed("http://store.example/a", "http://store.example/a/b"));
        assert!(parse_http("http://127.0.0.1:10000@evil.test/devstoreaccount1/x").is_err(), "userinfo");
        assert!(parse_http("http://allowed@127.0.0.1:10000/devstoreaccount1/x").is_err(), "userinfo");
        assert!(parse_http("http://h/devstoreaccount1/../secret").is_err());
        assert!(parse_http("http://h/devstoreaccount1/%2e%2e/secret").is_err());
        assert!(parse_http("http://h/devstoreaccount1%2f..%2fsecret").is_err());
    }

    #[test]
    fn files_are_checked_where_they_really_are() {
        let root = tempfile::tempdir().unwrap();
        let imports = root.path().join("imports");
        std::fs::create_dir_all(&imports).unwrap();
        let outside = root.path().join("secret");
        std::fs::write(&outside, b"secret").unwrap();
        std::fs::write(imports.join("ok.img"), b"data").unwrap();
        std::os::unix::fs::symlink(&outside, imports.join("link.img")).unwrap();
        std::os::unix::fs::symlink(root.path(), imports.join("up")).unwrap();
        std::os::unix::fs::symlink(imports.join("ok.img"), imports.join("inner.img")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            imports.join("fifo"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let allow = vec![format!("file://{}/", imports.display())];
        let open = |name: &str| open_allowed(&format!("file://{}", imports.join(name).display()), &allow, false);
        assert!(matches!(open("ok.img"), Ok(ImportSource::File(_))));
        assert!(matches!(open("inner.img"), Ok(ImportSource::File(_))), "a symlink that stays inside");
        assert!(open("link.img").err().unwrap().contains("is not allowed"));
        assert!(open("up/secret").err().unwrap().contains("is not allowed"));
        assert!(open("fifo").err().unwrap().contains("FIFO"));
        assert!(open("").is_err(), "the directory itself");
        let dev = open_allowed("file:///dev/zero", &allow, false).err().unwrap();
        assert!(dev.contains("is not allowed"), "{dev}");
        // A prefix that is not a whole path component allows nothing more.
        let sibling = root.path().join("imports2");
        std::fs::create_dir_all(&sibling).unwrap();
        std::fs::write(sibling.join("x.img"), b"x").unwrap();
        let allow_no_slash = vec![format!("file://{}", imports.display())];
        let r = open_allowed(&format!("file://{}", sibling.join("x.img").display()), &allow_no_slash, false);
        assert!(r.err().unwrap().contains("is not allowed"));
        // An allowed http URL still needs a fetcher.
        let http = vec!["http://127.0.0.1:10000/devstoreaccount1/".to_string()];
        assert!(matches!(
            open_allowed("http://127.0.0.1:10000/devstoreaccount1/a", &http, true),
            Ok(ImportSource::Url(_))
        ));
        assert!(open_allowed("http://127.0.0.1:10000/devstoreaccount1/a", &http, false).is_err());
        assert!(open_allowed("ftp://127.0.0.1/x", &http, true).err().unwrap().contains("not supported"));
    }
}
