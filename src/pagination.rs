//! List conventions shared by every resource: `limit` (default 20, at most 100) and an opaque
//! `cursor` naming where the previous page ended.

use chrono::NaiveDateTime;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{AppError, AppResult};

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// The query of a list paged by id: `limit` and the `cursor` a previous page returned.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// A page size that is known to be in range.
#[derive(Debug, Clone, Copy)]
pub struct Limit(i64);

impl Limit {
    pub fn parse(raw: Option<i64>) -> AppResult<Limit> {
        match raw {
            None => Ok(Limit(DEFAULT_LIMIT)),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(Limit(n)),
            Some(_) => Err(AppError::bad_parameter(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            )),
        }
    }

    /// The page size.
    pub fn size(self) -> usize {
        self.0 as usize
    }

    /// Rows to fetch: one more than a page, to learn whether another page follows.
    pub fn fetch(self) -> i64 {
        self.0 + 1
    }

    /// Cuts the extra row off and returns the key the next page starts after, if any.
    pub fn split<T, K>(self, mut rows: Vec<T>, key: impl Fn(&T) -> K) -> (Vec<T>, Option<K>) {
        if rows.len() as i64 > self.0 {
            rows.truncate(self.0 as usize);
            let next = rows.last().map(key);
            (rows, next)
        } else {
            (rows, None)
        }
    }
}

/// A cursor over rows ordered by a numeric id. Opaque to clients: its form may change.
pub struct IdCursor;

impl IdCursor {
    const PREFIX: &'static str = "i1.";

    pub fn encode(id: i64) -> String {
        format!("{}{}", Self::PREFIX, hex::encode(id.to_be_bytes()))
    }

    pub fn parse(raw: Option<&str>) -> AppResult<Option<i64>> {
        let Some(raw) = raw else { return Ok(None) };
        let bad = || AppError::bad_parameter("cursor", "is not a cursor this list returned");
        let bytes = raw
            .strip_prefix(Self::PREFIX)
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(bad)?;
        let bytes: [u8; 8] = bytes.try_into().map_err(|_| bad())?;
        Ok(Some(i64::from_be_bytes(bytes)))
    }
}

/// A position in the change feed partners follow: the last change read, as (sequence, row).
/// Opaque to partners; a cursor of any other list is refused.
pub struct ChangeCursor;

impl ChangeCursor {
    const PREFIX: &'static str = "c1.";

    pub fn encode((seq, id): (i64, i64)) -> String {
        let mut bytes = seq.to_be_bytes().to_vec();
        bytes.extend(id.to_be_bytes());
        format!("{}{}", Self::PREFIX, hex::encode(bytes))
    }

    /// The position `raw` names, read from the query parameter `field`; the start when absent.
    pub fn parse(raw: Option<&str>, field: &str) -> AppResult<(i64, i64)> {
        let Some(raw) = raw else { return Ok((0, 0)) };
        let bad = || {
            AppError::bad_parameter(
                field,
                "is not a cursor of this feed: pass the `next` of an earlier page, or leave it out to start from the beginning",
            )
        };
        let bytes = raw
            .strip_prefix(Self::PREFIX)
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(bad)?;
        let bytes: [u8; 16] = bytes.try_into().map_err(|_| bad())?;
        let (seq, id) = bytes.split_at(8);
        let seq = i64::from_be_bytes(seq.try_into().map_err(|_| bad())?);
        let id = i64::from_be_bytes(id.try_into().map_err(|_| bad())?);
        if seq < 0 || id < 0 {
            return Err(bad());
        }
        Ok((seq, id))
    }
}

/// A cursor that names a number the client may see anyway: a revision's version, a result's
/// position in a search. Each list has its own prefix, so a cursor is never read against another
/// list. Opaque to clients all the same.
pub struct NumberCursor {
    prefix: &'static str,
}

/// Revisions of a translation, continued below a version.
pub const REVISIONS: NumberCursor = NumberCursor { prefix: "r1." };
/// Search results, continued from a position.
pub const SEARCH_RESULTS: NumberCursor = NumberCursor { prefix: "s1." };

impl NumberCursor {
    pub fn encode(&self, n: i64) -> String {
        format!("{}{n}", self.prefix)
    }

    /// The number, if `raw` is a cursor of this list and the number is in `range`.
    pub fn parse(&self, raw: Option<&str>, range: std::ops::Range<i64>) -> AppResult<Option<i64>> {
        let Some(raw) = raw else { return Ok(None) };
        raw.strip_prefix(self.prefix)
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| AppError::bad_parameter("cursor", "is not a cursor this list returned"))
    }
}

/// The lists paged with [`KeyCursor`]: the Admin API's stories, by update or creation time.
pub const ADMIN_STORIES: &str = "a1.";
/// The Content API's lists of published stories, by publication time. New publications land
/// before the first page, so a reader paging on never sees an item twice or misses one.
pub const PUBLISHED: &str = "p1.";

/// Where a page ordered by a time and then an id ended (keyset pagination). Its encoded form
/// names the list it belongs to (`list`, a short prefix) and the sort order (`order`), so a
/// cursor is never read against another list or order. Opaque to clients.
#[derive(Debug, Clone, Copy)]
pub struct KeyCursor {
    pub at: NaiveDateTime,
    pub id: i64,
}

impl KeyCursor {
    pub fn encode(self, list: &str, order: u8) -> String {
        let mut bytes = vec![order];
        bytes.extend(self.at.and_utc().timestamp_micros().to_be_bytes());
        bytes.extend(self.id.to_be_bytes());
        format!("{list}{}", hex::encode(bytes))
    }

    pub fn parse(raw: Option<&str>, list: &str, order: u8) -> AppResult<Option<KeyCursor>> {
        let Some(raw) = raw else { return Ok(None) };
        let bad = || AppError::bad_parameter("cursor", "is not a cursor this list returned");
        let bytes = raw
            .strip_prefix(list)
            .and_then(|h| hex::decode(h).ok())
            .filter(|b| b.len() == 17)
            .ok_or_else(bad)?;
        if bytes[0] != order {
            return Err(AppError::bad_parameter(
                "cursor",
                "was made for another sort order",
            ));
        }
        let micros = i64::from_be_bytes(bytes[1..9].try_into().map_err(|_| bad())?);
        let id = i64::from_be_bytes(bytes[9..17].try_into().map_err(|_| bad())?);
        let at = chrono::DateTime::from_timestamp_micros(micros)
            .map(|t| t.naive_utc())
            .filter(|t| crate::dates::accepted(*t))
            .ok_or_else(bad)?;
        Ok(Some(KeyCursor { at, id }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(
            IdCursor::parse(Some(&IdCursor::encode(42))).unwrap(),
            Some(42)
        );
        assert!(IdCursor::parse(Some("42")).is_err());
        let at = (7, 1234);
        assert_eq!(
            ChangeCursor::parse(Some(&ChangeCursor::encode(at)), "since").unwrap(),
            at
        );
        assert_eq!(ChangeCursor::parse(None, "since").unwrap(), (0, 0));
        let foreign = IdCursor::encode(7);
        assert!(ChangeCursor::parse(Some(&foreign), "since").is_err());
        assert!(ChangeCursor::parse(Some("c1.00"), "since").is_err());
        assert!(IdCursor::parse(Some("i1.zz")).is_err());
        assert!(Limit::parse(Some(0)).is_err());
        assert!(Limit::parse(Some(101)).is_err());
        let (page, next) = Limit::parse(Some(2)).unwrap().split(vec![1, 2, 3], |n| *n);
        assert_eq!((page, next), (vec![1, 2], Some(2)));
    }
}
