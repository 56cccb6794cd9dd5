//! The one range of times the API accepts, valid on both backends: years 1 to 9999. SQLite
//! would store almost any date, PostgreSQL refuses what lies outside its own range, and date
//! arithmetic on the extremes of chrono's range overflows; a time outside this range is refused
//! where it enters, naming the field.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};

use crate::error::{AppError, AppResult};

const EARLIEST_YEAR: i32 = 1;
const LATEST_YEAR: i32 = 9999;

fn in_range(year: i32) -> bool {
    (EARLIEST_YEAR..=LATEST_YEAR).contains(&year)
}

fn out_of_range() -> String {
    format!("must be a time between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
}

/// A time a query parameter named `field` gave: 400 outside the range.
pub fn query_time(field: &str, at: Option<DateTime<Utc>>) -> AppResult<Option<NaiveDateTime>> {
    match at {
        Some(t) if !in_range(t.naive_utc().year()) => {
            Err(AppError::bad_parameter(field, out_of_range()))
        }
        other => Ok(other.map(|t| t.naive_utc())),
    }
}

/// A day a query parameter named `field` gave: 400 outside the range.
pub fn query_date(field: &str, day: Option<NaiveDate>) -> AppResult<Option<NaiveDate>> {
    match day {
        Some(d) if !in_range(d.year()) => Err(AppError::bad_parameter(field, out_of_range())),
        other => Ok(other),
    }
}

/// A time a request body's field `field` gave: 422 outside the range.
pub fn body_time(field: &str, at: DateTime<Utc>) -> AppResult<NaiveDateTime> {
    if in_range(at.naive_utc().year()) {
        Ok(at.naive_utc())
    } else {
        Err(AppError::invalid(field, out_of_range()))
    }
}

/// Whether a stored or decoded time (a cursor's) lies in the range.
pub fn accepted(at: NaiveDateTime) -> bool {
    in_range(at.year())
}

/// The days a report covers, from its `from` and `to` query parameters: `to` defaults to today
/// and `from` to 29 days before it; at most `max_days` days. 400 naming the parameter otherwise.
pub fn report_period(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    max_days: i64,
) -> AppResult<(NaiveDate, NaiveDate)> {
    let from = query_date("from", from)?;
    let to = query_date("to", to)?.unwrap_or_else(|| Utc::now().date_naive());
    let from = from.unwrap_or(to - chrono::Duration::days(29));
    if from > to {
        return Err(AppError::bad_parameter("from", "must not be after `to`"));
    }
    if (to - from).num_days() >= max_days {
        return Err(AppError::bad_parameter(
            "to",
            format!("a report covers at most {max_days} days"),
        ));
    }
    Ok((from, to))
}
