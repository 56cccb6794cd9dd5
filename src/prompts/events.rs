//! What readers did with prompts: impressions, clicks and dismissals, counted in memory by the
//! event beacon and added to the database in batches with the article views (see
//! [`crate::tally`]).

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{donation_prompt_events as ev, donation_prompts};
use crate::db::{Database, DbConn};
use crate::db_run;
use crate::error::AppResult;
use crate::prompts::{Placement, PromptRow, PromptStatus};
use crate::ratelimit::PerAddress;
use crate::tally::{Count, Tally};

/// What a reader did with a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum EventKind {
    Impression,
    Click,
    Dismiss,
}

impl EventKind {
    pub fn parse(raw: &str) -> Option<EventKind> {
        match raw {
            "impression" => Some(EventKind::Impression),
            "click" => Some(EventKind::Click),
            "dismiss" => Some(EventKind::Dismiss),
            _ => None,
        }
    }

    fn slot(self) -> usize {
        match self {
            EventKind::Impression => 0,
            EventKind::Click => 1,
            EventKind::Dismiss => 2,
        }
    }
}

/// Impressions, clicks and dismissals.
type Counts = [i64; 3];
type Pending = HashMap<(i64, String, NaiveDate), Counts>;

impl Count for Counts {
    fn merge(&mut self, more: Self) {
        for (kept, more) in self.iter_mut().zip(more) {
            *kept += more;
        }
    }

    fn total(&self) -> i64 {
        self.iter().sum()
    }
}

/// Events counted and not yet written, and each client address's events this minute.
#[derive(Default)]
pub struct EventCounter {
    pending: Tally<(i64, String, NaiveDate), Counts>,
    per_address: PerAddress,
}

impl EventCounter {
    /// Counts one event from `addr` against its budget of `per_minute`; 429 past it. The
    /// budget is per node: behind a balancer of N nodes an address gets up to N times it.
    pub fn admit(&self, addr: &str, per_minute: u32) -> AppResult<()> {
        self.per_address.admit(
            addr,
            per_minute,
            "too many prompt events from this address; try again later",
        )
    }

    /// Writes what has been counted; returns how many events. On failure they are kept for
    /// the next try.
    pub async fn flush(&self, db: &Database) -> AppResult<usize> {
        self.pending.flush(db, write).await
    }

    /// Counts one event for prompt `id` in `lang` today.
    pub fn count(&self, id: i64, lang: &str, kind: EventKind) {
        let day = Utc::now().date_naive();
        self.pending
            .add((id, lang.to_owned(), day), Counts::default, |n| {
                n[kind.slot()] += 1
            });
    }
}

/// Adds `counts` to the stored ones. Events of prompts deleted since they were counted go with
/// them. Call in a transaction.
fn write(conn: &mut DbConn, counts: &Pending) -> AppResult<()> {
    let mut ids: Vec<i64> = counts.keys().map(|(id, _, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let existing: std::collections::HashSet<i64> = db_run!(conn, |c| donation_prompts::table
        .filter(donation_prompts::id.eq_any(&ids))
        .select(donation_prompts::id)
        .load::<i64>(c))?
    .into_iter()
    .collect();
    for ((id, lang, day), [impressions, clicks, dismissals]) in counts {
        if !existing.contains(id) {
            continue;
        }
        let row = (
            ev::prompt_id.eq(*id),
            ev::lang.eq(lang),
            ev::day.eq(*day),
            ev::impressions.eq(*impressions),
            ev::clicks.eq(*clicks),
            ev::dismissals.eq(*dismissals),
        );
        db_run!(conn, |c| diesel::insert_into(ev::table)
            .values(row)
            .on_conflict((ev::prompt_id, ev::day, ev::lang))
            .do_update()
            .set((
                ev::impressions.eq(ev::impressions + excluded(ev::impressions)),
                ev::clicks.eq(ev::clicks + excluded(ev::clicks)),
                ev::dismissals.eq(ev::dismissals + excluded(ev::dismissals)),
            ))
            .execute(c))?;
        // A click or a dismissal follows an impression of the same prompt: a day's never
        // outnumber its impressions, whatever clients send (a click-through rate stays ≤ 100%).
        let (lang, day) = (lang.clone(), *day);
        let row = || {
            ev::table
                .filter(ev::prompt_id.eq(*id))
                .filter(ev::lang.eq(lang.clone()))
                .filter(ev::day.eq(day))
        };
        db_run!(conn, |c| diesel::update(
            row().filter(ev::clicks.gt(ev::impressions))
        )
        .set(ev::clicks.eq(ev::impressions))
        .execute(c))?;
        db_run!(conn, |c| diesel::update(
            row().filter(ev::dismissals.gt(ev::impressions))
        )
        .set(ev::dismissals.eq(ev::impressions))
        .execute(c))?;
    }
    Ok(())
}

/// Adds counts directly (the demo's history): (prompt, language, day, counts).
pub fn add(conn: &mut DbConn, rows: &[(i64, &str, NaiveDate, Counts)]) -> AppResult<()> {
    let counts = rows
        .iter()
        .map(|(id, lang, day, n)| ((*id, (*lang).to_owned(), *day), *n))
        .collect();
    write(conn, &counts)
}

/// Impressions, clicks and dismissals, and clicks per impression.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct EventTotals {
    pub impressions: i64,
    pub clicks: i64,
    pub dismissals: i64,
    /// Clicks per impression, 0 to 1; 0 with no impressions.
    #[schema(example = 0.031)]
    pub click_through_rate: f64,
}

impl EventTotals {
    pub fn add(&mut self, impressions: i64, clicks: i64, dismissals: i64) {
        self.impressions += impressions;
        self.clicks += clicks;
        self.dismissals += dismissals;
        self.click_through_rate = if self.impressions > 0 {
            self.clicks as f64 / self.impressions as f64
        } else {
            0.0
        };
    }
}

/// One stored row: prompt, language, day, impressions, clicks, dismissals.
pub type EventRow = (i64, String, NaiveDate, i64, i64, i64);

/// One day of a prompt's counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayStats {
    pub day: NaiveDate,
    pub totals: EventTotals,
    /// By language code; languages with no events that day are left out.
    pub by_language: BTreeMap<String, EventTotals>,
}

/// A prompt's counts over a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromptStats {
    pub id: i64,
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub totals: EventTotals,
    pub by_language: BTreeMap<String, EventTotals>,
    /// Every day of the period, oldest first.
    pub days: Vec<DayStats>,
}

/// One prompt in a comparison.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComparedPrompt {
    pub id: i64,
    pub name: String,
    pub status: PromptStatus,
    pub placement: Placement,
    pub totals: EventTotals,
    pub by_language: BTreeMap<String, EventTotals>,
}

/// Prompts side by side over a period, best click-through rate first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromptComparison {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub items: Vec<ComparedPrompt>,
    /// For each language, the prompt with the best click-through rate among those with
    /// impressions in it.
    pub best_by_language: BTreeMap<String, i64>,
}

/// A prompt's counts from `from` to `to`, with every day of the period.
pub fn report(
    conn: &mut DbConn,
    prompt: &PromptRow,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<PromptStats> {
    let rows = load(conn, Some(prompt.id), from, to)?;
    let mut totals = EventTotals::default();
    let mut by_language: BTreeMap<String, EventTotals> = BTreeMap::new();
    let mut days: Vec<DayStats> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|day| DayStats {
            day,
            totals: EventTotals::default(),
            by_language: BTreeMap::new(),
        })
        .collect();
    for (_, lang, day, i, cl, d) in rows {
        totals.add(i, cl, d);
        by_language.entry(lang.clone()).or_default().add(i, cl, d);
        let index = (day - from).num_days() as usize;
        if let Some(slot) = days.get_mut(index) {
            slot.totals.add(i, cl, d);
            slot.by_language.entry(lang).or_default().add(i, cl, d);
        }
    }
    Ok(PromptStats {
        id: prompt.id,
        name: prompt.name.clone(),
        from,
        to,
        totals,
        by_language,
        days,
    })
}

/// `prompts` side by side over the period (counting only `lang` when given): best
/// click-through rate first, then most impressions; and the best prompt in each language.
pub fn compare(
    conn: &mut DbConn,
    prompts: Vec<PromptRow>,
    lang: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<PromptComparison> {
    let counts = load(conn, None, from, to)?;
    let mut items: Vec<ComparedPrompt> = prompts
        .into_iter()
        .map(|r| ComparedPrompt {
            id: r.id,
            status: PromptStatus::from_db(&r.status),
            placement: Placement::parse(&r.placement).unwrap_or(Placement::ArticleEnd),
            name: r.name,
            totals: EventTotals::default(),
            by_language: BTreeMap::new(),
        })
        .collect();
    for (id, l, _, i, cl, d) in counts {
        if lang.is_some_and(|want| want != l) {
            continue;
        }
        if let Some(item) = items.iter_mut().find(|p| p.id == id) {
            item.totals.add(i, cl, d);
            item.by_language.entry(l).or_default().add(i, cl, d);
        }
    }
    items.sort_by(|a, b| {
        b.totals
            .click_through_rate
            .total_cmp(&a.totals.click_through_rate)
            .then(b.totals.impressions.cmp(&a.totals.impressions))
            .then(b.id.cmp(&a.id))
    });
    let mut best_by_language: BTreeMap<String, (f64, i64, i64)> = BTreeMap::new();
    for item in &items {
        for (l, t) in &item.by_language {
            if t.impressions == 0 {
                continue;
            }
            let candidate = (t.click_through_rate, t.impressions, item.id);
            let best = best_by_language.entry(l.clone()).or_insert(candidate);
            if (candidate.0, candidate.1) > (best.0, best.1) {
                *best = candidate;
            }
        }
    }
    Ok(PromptComparison {
        from,
        to,
        items,
        best_by_language: best_by_language
            .into_iter()
            .map(|(l, (_, _, id))| (l, id))
            .collect(),
    })
}

/// Stored counts from `from` to `to` (inclusive), of one prompt or of all.
pub fn load(
    conn: &mut DbConn,
    prompt: Option<i64>,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<EventRow>> {
    Ok(db_run!(conn, |c| {
        let mut q = ev::table
            .filter(ev::day.ge(from))
            .filter(ev::day.le(to))
            .select((
                ev::prompt_id,
                ev::lang,
                ev::day,
                ev::impressions,
                ev::clicks,
                ev::dismissals,
            ))
            .into_boxed();
        if let Some(id) = prompt {
            q = q.filter(ev::prompt_id.eq(id));
        }
        q.order((ev::day, ev::lang, ev::prompt_id)).load(c)
    })?)
}
