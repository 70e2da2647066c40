//! Paged listing.

/// Which page of a list to return.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Resume after this key (the `$skiptoken` of the previous page).
    pub after: Option<String>,
    /// Page size; `None` for the default.
    pub top: Option<usize>,
}

/// Default and maximum page sizes.
pub const DEFAULT_PAGE: usize = 100;
/// Largest page a caller may ask for.
pub const MAX_PAGE: usize = 1000;

impl PageRequest {
    pub(crate) fn size(&self) -> usize {
        self.top.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
    }
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// Items in key order.
    pub items: Vec<T>,
    /// The key to resume after, when more items follow.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `size + 1` keyed rows: one extra row tells that more follow.
    pub(crate) fn from_rows(mut rows: Vec<(String, T)>, size: usize) -> Self {
        let more = rows.len() > size;
        rows.truncate(size);
        let next = if more { rows.last().map(|(k, _)| k.clone()) } else { None };
        Self { items: rows.into_iter().map(|(_, v)| v).collect(), next }
    }
}
