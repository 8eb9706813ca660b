//! The one paging helper: the four vendors page lists either by offset and limit (Tencent `offset`/`limit`,
//! Huawei `offset`/`limit`) or by page number and size (Alibaba Kafka `CurrentPage`/`PageSize`, RocketMQ
//! `currentPage`/`pageSize`). Each vendor parses the numbers with its own messages, describes its
//! parameters once in an [`OffsetParams`] or [`PageParams`], and gets the same [`Window`] to cut its list with.

use std::fmt;

/// Offset-and-limit paging: the parameter names and the limit's bounds and default.
#[derive(Debug, Clone, Copy)]
pub struct OffsetParams {
    /// The offset parameter's name (`offset`); the offset is 0 or more, default 0.
    pub offset: &'static str,
    /// The limit parameter's name (`limit`).
    pub limit: &'static str,
    /// Smallest limit accepted (1 for every vendor so far).
    pub min_limit: usize,
    /// Largest limit accepted.
    pub max_limit: usize,
    /// The limit when the parameter is omitted.
    pub default_limit: usize,
}

/// Page-number paging: pages count from 1, the size has bounds and a default.
#[derive(Debug, Clone, Copy)]
pub struct PageParams {
    /// The page-number parameter's name (`CurrentPage`, `currentPage`); default 1.
    pub page: &'static str,
    /// The page-size parameter's name (`PageSize`, `pageSize`).
    pub size: &'static str,
    pub min_size: usize,
    pub max_size: usize,
    pub default_size: usize,
}

/// A parameter outside its documented range; the message names the parameter as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagingError {
    pub parameter: &'static str,
    pub value: i64,
    pub min: u64,
    pub max: u64,
}

impl fmt::Display for PagingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} must lie in {}..={}, not {}", self.parameter, self.min, self.max, self.value)
    }
}

impl std::error::Error for PagingError {}

/// Which items a request asks for: skip `offset`, take at most `limit`. `page` is the 1-based page number
/// for page-number paging (echoed in answers such as RocketMQ's `currentPage`), else the page the offset
/// falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: usize,
    pub limit: usize,
    pub page: usize,
}

/// One page of a list and the size of the whole list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many items the whole (filtered) list has.
    pub total: usize,
}

fn in_range(parameter: &'static str, value: Option<i64>, min: u64, max: u64, default: u64) -> Result<u64, PagingError> {
    match value {
        None => Ok(default),
        Some(v) if v >= 0 && (v as u64) >= min && (v as u64) <= max => Ok(v as u64),
        Some(v) => Err(PagingError { parameter, value: v, min, max }),
    }
}

impl Window {
    /// Offset-and-limit paging from the parsed parameters (None: omitted). The offset may be any
    /// non-negative number up to `u32::MAX`; past the end the page is empty.
    pub fn by_offset(params: &OffsetParams, offset: Option<i64>, limit: Option<i64>) -> Result<Window, PagingError> {
        let offset = in_range(params.offset, offset, 0, u64::from(u32::MAX), 0)? as usize;
        let limit = in_range(
            params.limit,
            limit,
            params.min_limit as u64,
            params.max_limit as u64,
            params.default_limit as u64,
        )? as usize;
        Ok(Window { offset, limit, page: offset / limit.max(1) + 1 })
    }

    /// Page-number paging from the parsed parameters (None: omitted); pages count from 1.
    pub fn by_page(params: &PageParams, page: Option<i64>, size: Option<i64>) -> Result<Window, PagingError> {
        let page = in_range(params.page, page, 1, u64::from(u32::MAX), 1)? as usize;
        let limit =
            in_range(params.size, size, params.min_size as u64, params.max_size as u64, params.default_size as u64)?
                as usize;
        Ok(Window { offset: (page - 1).saturating_mul(limit), limit, page })
    }

    /// Cuts one page out of `items`, counting them all (one pass; only the page's items are kept).
    pub fn page<T>(&self, items: impl IntoIterator<Item = T>) -> Page<T> {
        let mut total = 0;
        let mut kept = Vec::with_capacity(self.limit.min(1024));
        for item in items {
            if total >= self.offset && kept.len() < self.limit {
                kept.push(item);
            }
            total += 1;
        }
        Page { items: kept, total }
    }

    /// The page's items without counting the rest (when the total is known otherwise).
    pub fn slice<I: IntoIterator>(&self, items: I) -> std::iter::Take<std::iter::Skip<I::IntoIter>> {
        items.into_iter().skip(self.offset).take(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENCENT: OffsetParams =
        OffsetParams { offset: "offset", limit: "limit", min_limit: 1, max_limit: 20, default_limit: 10 };
    const ALIBABA: PageParams =
        PageParams { page: "CurrentPage", size: "PageSize", min_size: 1, max_size: 10_000, default_size: 10_000 };

    #[test]
    fn offset_paging_defaults_bounds_and_names() {
        assert_eq!(Window::by_offset(&TENCENT, None, None), Ok(Window { offset: 0, limit: 10, page: 1 }));
        assert_eq!(Window::by_offset(&TENCENT, Some(40), Some(20)), Ok(Window { offset: 40, limit: 20, page: 3 }));
        let e = Window::by_offset(&TENCENT, Some(0), Some(21)).unwrap_err();
        assert_eq!(e.to_string(), "limit must lie in 1..=20, not 21");
        assert_eq!(Window::by_offset(&TENCENT, None, Some(0)).unwrap_err().parameter, "limit");
        assert_eq!(Window::by_offset(&TENCENT, Some(-1), None).unwrap_err().parameter, "offset");
        assert_eq!(Window::by_offset(&TENCENT, Some(i64::MIN), None).unwrap_err().value, i64::MIN);
        assert!(Window::by_offset(&TENCENT, Some(i64::from(u32::MAX) + 1), None).is_err());
    }

    #[test]
    fn page_paging_counts_from_one() {
        assert_eq!(Window::by_page(&ALIBABA, None, None), Ok(Window { offset: 0, limit: 10_000, page: 1 }));
        assert_eq!(Window::by_page(&ALIBABA, Some(3), Some(5)), Ok(Window { offset: 10, limit: 5, page: 3 }));
        assert_eq!(Window::by_page(&ALIBABA, Some(0), None).unwrap_err().parameter, "CurrentPage");
        assert_eq!(Window::by_page(&ALIBABA, None, Some(10_001)).unwrap_err().parameter, "PageSize");
        // The largest page number does not overflow the offset.
        let w = Window::by_page(&ALIBABA, Some(i64::from(u32::MAX)), Some(10_000)).unwrap();
        assert!(w.page(0..10).items.is_empty());
    }

    #[test]
    fn a_page_counts_everything_and_keeps_only_its_items() {
        let w = Window::by_page(&ALIBABA, Some(2), Some(3)).unwrap();
        assert_eq!(w.page(1..=8), Page { items: vec![4, 5, 6], total: 8 });
        assert_eq!(w.page(1..=4), Page { items: vec![4], total: 4 });
        assert_eq!(w.page(1..=2), Page { items: vec![], total: 2 });
        assert_eq!(w.slice(vec!['a', 'b', 'c', 'd', 'e', 'f', 'g']).collect::<String>(), "def");
    }
}
