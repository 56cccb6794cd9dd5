//! Sends what the outbox holds. On every node one thread claims due deliveries and hands them
//! to a small pool of senders; each claim is a lease (`claimed_until`), so a delivery is sent
//! by one node at a time and one claimed by a node that died is taken up again when its lease
//! runs out. A node wakes its own claimer when it commits a change; others find the work
//! within `WEBHOOK_POLL_MS`. Each endpoint has at most a quarter of the senders
//! (`WEBHOOK_WORKERS`, 16 by default) in flight per node, so a slow receiver holds a quarter of
//! them, never all. Nothing here runs on the HTTP workers.
//!
//! A failed attempt is retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (times
//! `WEBHOOK_RETRY_SCALE`, with ±10% jitter), or after the receiver's `Retry-After` on 429 and
//! 503; then it is given up. 2xx is success; anything else, redirects included, is failure;
//! 410 disables the endpoint, and so do five days of failures.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::articles::projections::outbox::{self, DELIVERED, FAILED, PENDING};
use crate::audit::{self, Actor};
use crate::content::queries;
use crate::db::schema::published_translations as pt;
use crate::db::schema::{
    webhook_attempts as wa, webhook_deliveries as wd, webhook_endpoints as we, webhook_events as ev,
};
use crate::db::{now, specific, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};
use crate::http_client;
use crate::webhooks::{self, guard, Endpoint, CLOUDFLARE, PURGE};

/// Seconds to wait after each failed attempt; after the last, the delivery is given up.
const SCHEDULE: [f64; 7] = [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0];
/// How long a claim holds: longer than an attempt can take (`WEBHOOK_TIMEOUT_MS`, at most 60 s).
const LEASE: Duration = Duration::from_secs(90);
/// Deliveries of one endpoint in flight on one node at most, with `senders` senders: enough
/// that a prompt receiver keeps up with a newsroom publishing in bursts (each delivery also waits
/// for its turns at the database), few enough that a slow one leaves the others most of them.
fn per_endpoint(senders: usize) -> usize {
    (senders / 4).max(1)
}
/// Days of failures after which an endpoint is disabled.
const FAILING_DAYS: f64 = 5.0;
/// Bodies larger than this send a link to the item instead of the item.
const MAX_BODY: usize = 20 * 1024;
/// Surrogate keys per purge request: Fastly takes 256, Cloudflare 30.
const FASTLY_KEYS: usize = 256;
const CLOUDFLARE_TAGS: usize = 30;

/// One node's senders, and what they are doing.
pub struct Dispatcher {
    wake: Mutex<bool>,
    woken: Condvar,
    busy: Mutex<HashMap<i64, usize>>,
    started: OnceLock<()>,
}

impl Default for Dispatcher {
    fn default() -> Self {
        Dispatcher {
            wake: Mutex::new(false),
            woken: Condvar::new(),
            busy: Mutex::new(HashMap::new()),
            started: OnceLock::new(),
        }
    }
}

impl Dispatcher {
    /// Tells the claimer there may be work now.
    pub fn wake(&self) {
        *self.wake.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.woken.notify_one();
    }

    fn wait(&self, timeout: Duration) {
        let mut woken = self.wake.lock().unwrap_or_else(|p| p.into_inner());
        if !*woken {
            woken = self
                .woken
                .wait_timeout(woken, timeout)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *woken = false;
    }

    fn busy(&self) -> std::sync::MutexGuard<'_, HashMap<i64, usize>> {
        self.busy.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Starts this node's claimer, senders and recorder (once; later calls do nothing).
pub fn start(state: &Arc<AppState>) {
    if state.dispatcher.started.set(()).is_err() {
        return;
    }
    let senders = state.config.webhook_workers.max(1);
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    let (done, finished) = mpsc::channel::<Sent>();
    for i in 0..senders {
        let (state, rx, done) = (state.clone(), rx.clone(), done.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("newsdesk-webhook-{i}"))
            .spawn(move || loop {
                let job = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                    Ok(job) => job,
                    Err(_) => return,
                };
                let endpoint = job.endpoint.id;
                let started = Instant::now();
                let outcome = attempt(&state, &job);
                let took = started.elapsed();
                if let Some(n) = state.dispatcher.busy().get_mut(&endpoint) {
                    *n = n.saturating_sub(1);
                }
                if done.send(Sent { job, outcome, took }).is_err() {
                    return;
                }
                state.dispatcher.wake();
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a webhook sender");
        }
    }
    let recorder = state.clone();
    let spawned = std::thread::Builder::new()
        .name("newsdesk-webhook-records".into())
        .spawn(move || record_all(&recorder, &finished));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the webhook recorder");
    }
    let state = state.clone();
    let spawned = std::thread::Builder::new()
        .name("newsdesk-webhook-claims".into())
        .spawn(move || {
            let poll = Duration::from_millis(state.config.webhook_poll_ms);
            loop {
                state.dispatcher.wait(poll);
                match claim(&state, senders) {
                    Ok(jobs) => {
                        for job in jobs {
                            if tx.send(job).is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming webhook deliveries failed"),
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the webhook claimer");
    }
}

/// Attempts recorded in one transaction at most.
const RECORDS_AT_ONCE: usize = 256;

/// Records finished attempts as they come, those that finished meanwhile together: one
/// transaction (and, on SQLite, one turn of the single writer) for a burst, not one each. An
/// attempt not yet recorded when the node stops keeps its lease, and is sent again when the
/// lease runs out (receivers dedupe on `webhook-id`).
fn record_all(state: &Arc<AppState>, finished: &mpsc::Receiver<Sent>) {
    while let Ok(first) = finished.recv() {
        let mut batch = vec![first];
        while batch.len() < RECORDS_AT_ONCE {
            match finished.try_recv() {
                Ok(sent) => batch.push(sent),
                Err(_) => break,
            }
        }
        let st = state.clone();
        let recorded = state.db.run_blocking(move |c| {
            let together = c.transaction(|c| {
                batch
                    .iter()
                    .try_for_each(|s| record(&st, c, &s.job, &s.outcome, s.took))
            });
            if together.is_ok() {
                return Ok(());
            }
            // One record failed the rest: each on its own, so that only that one waits for its
            // lease to run out.
            for s in &batch {
                if let Err(e) = c.transaction(|c| record(&st, c, &s.job, &s.outcome, s.took)) {
                    tracing::warn!(error = %e, delivery = s.job.delivery_id,
                        "a webhook delivery could not be recorded");
                }
            }
            Ok(())
        });
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "webhook deliveries could not be recorded");
        }
    }
}

/// A finished attempt, to be recorded.
struct Sent {
    job: Job,
    outcome: Outcome,
    took: Duration,
}

/// A claimed delivery with everything sending it needs.
struct Job {
    delivery_id: i64,
    attempts: i32,
    endpoint: Endpoint,
    event: EventRow,
    /// What the attempt sends (nothing for a purge), or why it could not be made.
    body: Result<String, String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ev)]
struct EventRow {
    id: i64,
    event_id: String,
    kind: String,
    subject: String,
    surrogate_keys: String,
    payload: Option<String>,
    created_at: NaiveDateTime,
}

fn claim(state: &Arc<AppState>, senders: usize) -> AppResult<Vec<Job>> {
    let (free, full): (usize, Vec<i64>) = {
        let busy = state.dispatcher.busy();
        let in_flight: usize = busy.values().sum();
        let full = busy
            .iter()
            .filter(|(_, n)| **n >= per_endpoint(senders))
            .map(|(id, _)| *id)
            .collect();
        (senders.saturating_sub(in_flight), full)
    };
    if free == 0 {
        return Ok(Vec::new());
    }
    let st = state.clone();
    // Writes here are transactions: on SQLite they wait for their turn among the node's
    // writers ([`crate::db::WriteTurns`]) rather than for the lock to be found free.
    let rows = state.db.run_blocking(move |conn| {
        let rows: Vec<(i64, i32, Endpoint, EventRow)> = conn.transaction(|conn| {
            let at = now();
            let until = at + chrono::Duration::from_std(LEASE).unwrap_or_default();
            let ids = specific::claim_deliveries(conn, at, until, &full, free as i64)?;
            if ids.is_empty() {
                return Ok::<_, AppError>(Vec::new());
            }
            Ok(db_run!(conn, |c| wd::table
                .inner_join(we::table)
                .inner_join(ev::table)
                .filter(wd::id.eq_any(&ids))
                .select((
                    wd::id,
                    wd::attempts,
                    Endpoint::as_select(),
                    EventRow::as_select(),
                ))
                .load(c))?)
        })?;
        // Each event's body once, however many endpoints it goes to, in this same turn at the
        // database.
        let mut bodies: HashMap<i64, Result<String, String>> = HashMap::new();
        Ok(rows
            .into_iter()
            .map(|(delivery_id, attempts, endpoint, event)| {
                let body = if endpoint.kind == PURGE {
                    Ok(String::new())
                } else {
                    bodies
                        .entry(event.id)
                        .or_insert_with(|| {
                            payload(&st, conn, &event)
                                .map_err(|e| format!("the event's body could not be made: {e}"))
                        })
                        .clone()
                };
                (delivery_id, attempts, endpoint, event, body)
            })
            .collect::<Vec<_>>())
    })?;
    let mut busy = state.dispatcher.busy();
    let mut jobs = Vec::new();
    for (delivery_id, attempts, endpoint, event, body) in rows {
        let n = busy.entry(endpoint.id).or_insert(0);
        if *n >= per_endpoint(senders) {
            // Claimed beyond the endpoint's share: let it go for the next round.
            drop(
                state
                    .db
                    .run_blocking(move |c| c.transaction(|c| release(c, delivery_id))),
            );
            continue;
        }
        *n += 1;
        jobs.push(Job {
            delivery_id,
            attempts,
            endpoint,
            event,
            body,
        });
    }
    Ok(jobs)
}

fn release(conn: &mut DbConn, delivery_id: i64) -> AppResult<()> {
    db_run!(conn, |c| diesel::update(wd::table.find(delivery_id))
        .set(wd::claimed_until.eq(None::<NaiveDateTime>))
        .execute(c))?;
    Ok(())
}

/// The body of `event`: made once, at its first attempt, and kept (in a transaction of its own,
/// so that one that cannot be made fails only its own deliveries).
fn payload(state: &AppState, conn: &mut DbConn, event: &EventRow) -> AppResult<String> {
    if let Some(p) = &event.payload {
        return Ok(p.clone());
    }
    conn.transaction(|conn| make_payload(state, conn, event))
}

fn make_payload(state: &AppState, conn: &mut DbConn, event: &EventRow) -> AppResult<String> {
    let subject: Value = serde_json::from_str(&event.subject).unwrap_or(Value::Null);
    let data = match event.kind.as_str() {
        outbox::PUBLISHED | outbox::UPDATED => article_data(state, conn, &subject)?,
        outbox::PING => json!({ "message": "a test event from Newsdesk" }),
        _ => subject,
    };
    let body = json!({
        "type": event.kind,
        "timestamp": event.created_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string();
    // Another node may have made it first: the first one written is the one every attempt sends.
    db_run!(conn, |c| diesel::update(
        ev::table.find(event.id).filter(ev::payload.is_null())
    )
    .set(ev::payload.eq(&body))
    .execute(c))?;
    let kept: Option<String> = db_run!(conn, |c| ev::table
        .find(event.id)
        .select(ev::payload)
        .first(c))?;
    Ok(kept.unwrap_or(body))
}

/// A published translation as the Content API lists it, with its text; a link to its page when
/// that would make the body too large. A translation unpublished since the event is named only.
fn article_data(state: &AppState, conn: &mut DbConn, subject: &Value) -> AppResult<Value> {
    let Some(translation_id) = subject["translation_id"].as_i64() else {
        return Ok(subject.clone());
    };
    let full: Option<queries::Full> = db_run!(conn, |c| pt::table
        .find(translation_id)
        .select(queries::Full::as_select())
        .first(c)
        .optional())?;
    let Some(full) = full else {
        return Ok(subject.clone());
    };
    let chain = match state.reader_chain(conn, &full.listed.lang) {
        Ok(chain) => chain,
        Err(_) => return Ok(subject.clone()),
    };
    let d = queries::decorations(conn, &[full.listed.article_id], &chain)?;
    let item = d.item(
        &full.listed,
        &chain,
        &state.config.public_site_url,
        &state.media.base,
    )?;
    let href = format!(
        "{}/api/v1/articles/{}/{}",
        state.config.public_api_url, item.lang, item.slug
    );
    let mut data = serde_json::to_value(&item)
        .map_err(|e| AppError::Internal(format!("webhook item: {e}")))?;
    data["href"] = json!(href);
    data["body"] = json!(full.body);
    if data.to_string().len() > MAX_BODY {
        if let Value::Object(map) = &mut data {
            map.remove("body");
        }
    }
    Ok(data)
}

/// What sending one request came to.
struct Outcome {
    status: Option<u16>,
    retry_after: Option<u64>,
    body: Vec<u8>,
    error: Option<String>,
}

impl Outcome {
    /// An attempt that got no answer, for `error`.
    fn failed(error: String) -> Self {
        Outcome {
            status: None,
            retry_after: None,
            body: Vec::new(),
            error: Some(error),
        }
    }
}

fn send(state: &AppState, endpoint: &Endpoint, headers: &[(&str, String)], body: &[u8]) -> Outcome {
    let failed = Outcome::failed;
    let target = match guard::target(&endpoint.url, &state.config.webhook_allowed_hosts) {
        Ok(t) => t,
        Err(e) => return failed(format!("refused: the URL {e}")),
    };
    let addrs = match guard::resolve(&target) {
        Ok(a) => a,
        Err(e) => return failed(e),
    };
    let timeout = Duration::from_millis(state.config.webhook_timeout_ms);
    match http_client::post(&target, &addrs, headers, body, timeout) {
        Ok(answer) => Outcome {
            status: Some(answer.status),
            retry_after: answer.retry_after,
            error: (!(200..300).contains(&answer.status))
                .then(|| format!("the receiver answered {}", answer.status)),
            body: answer.body,
        },
        Err(e) => failed(e),
    }
}

/// One attempt of `job`: nothing here waits for the database.
fn attempt(state: &AppState, job: &Job) -> Outcome {
    let e = &job.endpoint;
    if e.kind == PURGE {
        return purge(state, job);
    }
    let body = match &job.body {
        Ok(body) => body,
        Err(e) => return Outcome::failed(e.clone()),
    };
    let at = now();
    let timestamp = at.and_utc().timestamp();
    let signature = webhooks::signature(
        &e.signing_secrets(at),
        &job.event.event_id,
        timestamp,
        body.as_bytes(),
    );
    let headers = [
        ("Content-Type", "application/json".to_owned()),
        ("webhook-id", job.event.event_id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ];
    send(state, e, &headers, body.as_bytes())
}

/// The surrogate keys of the event, in as many requests as the provider's limit asks.
fn purge(state: &AppState, job: &Job) -> Outcome {
    let e = &job.endpoint;
    let keys: Vec<String> = serde_json::from_str(&job.event.surrogate_keys).unwrap_or_default();
    let cloudflare = e.provider.as_deref() == Some(CLOUDFLARE);
    let per_request = if cloudflare {
        CLOUDFLARE_TAGS
    } else {
        FASTLY_KEYS
    };
    let mut last = Outcome {
        status: Some(204),
        retry_after: None,
        body: Vec::new(),
        error: None,
    };
    for batch in keys.chunks(per_request) {
        let (headers, body) = if cloudflare {
            (
                vec![
                    ("Content-Type", "application/json".to_owned()),
                    ("Authorization", format!("Bearer {}", e.secret)),
                ],
                json!({ "tags": batch }).to_string().into_bytes(),
            )
        } else {
            (
                vec![
                    ("Fastly-Key", e.secret.clone()),
                    ("Surrogate-Key", batch.join(" ")),
                ],
                Vec::new(),
            )
        };
        last = send(state, e, &headers, &body);
        if last.error.is_some() {
            break;
        }
    }
    last
}

/// The delay before attempt `attempts + 1` after a failure.
fn backoff(scale: f64, attempts: i32, retry_after: Option<u64>) -> Option<Duration> {
    let base = *SCHEDULE.get(usize::try_from(attempts - 1).ok()?)?;
    let jitter = rand::thread_rng().gen_range(0.9..1.1);
    let mut secs = base * scale * jitter;
    if let Some(asked) = retry_after {
        secs = secs.max(asked.min(86_400) as f64);
    }
    Some(Duration::from_secs_f64(secs))
}

fn record(
    state: &AppState,
    conn: &mut DbConn,
    job: &Job,
    outcome: &Outcome,
    took: Duration,
) -> AppResult<()> {
    let at = now();
    let number = job.attempts + 1;
    let shown = String::from_utf8_lossy(&outcome.body[..outcome.body.len().min(1024)]).into_owned();
    db_run!(conn, |c| diesel::insert_into(wa::table)
        .values((
            wa::delivery_id.eq(job.delivery_id),
            wa::endpoint_id.eq(job.endpoint.id),
            wa::attempt.eq(number),
            wa::at.eq(at),
            wa::duration_ms.eq(took.as_millis().min(i32::MAX as u128) as i32),
            wa::response_status.eq(outcome.status.map(i32::from)),
            wa::response_body.eq(Some(shown)),
            wa::error.eq(&outcome.error),
        ))
        .execute(c))?;
    let status = outcome.status.unwrap_or(0);
    let (state_after, next) = if outcome.error.is_none() {
        (DELIVERED, at)
    } else if status == 410 {
        (FAILED, at)
    } else {
        let retry_after = matches!(status, 429 | 503)
            .then_some(outcome.retry_after)
            .flatten();
        match backoff(state.config.webhook_retry_scale, number, retry_after) {
            Some(wait) => (
                PENDING,
                at + chrono::Duration::from_std(wait).unwrap_or_default(),
            ),
            None => (FAILED, at),
        }
    };
    db_run!(conn, |c| diesel::update(wd::table.find(job.delivery_id))
        .set((
            wd::status.eq(state_after),
            wd::attempts.eq(number),
            wd::next_attempt_at.eq(next),
            wd::claimed_until.eq(None::<NaiveDateTime>),
            wd::last_status.eq(outcome.status.map(i32::from)),
            wd::last_error.eq(&outcome.error),
            wd::updated_at.eq(at),
        ))
        .execute(c))?;
    let endpoint = job.endpoint.id;
    if outcome.error.is_none() {
        if job.endpoint.failing_since.is_some() {
            db_run!(conn, |c| diesel::update(we::table.find(endpoint))
                .set(we::failing_since.eq(None::<NaiveDateTime>))
                .execute(c))?;
        }
        return Ok(());
    }
    let reason = if status == 410 {
        Some("the receiver answered 410 Gone".to_owned())
    } else {
        let since: Option<NaiveDateTime> = db_run!(conn, |c| we::table
            .find(endpoint)
            .select(we::failing_since)
            .first(c))?;
        let since = since.unwrap_or(at);
        if since == at {
            db_run!(conn, |c| diesel::update(we::table.find(endpoint))
                .set(we::failing_since.eq(Some(at)))
                .execute(c))?;
        }
        let limit = FAILING_DAYS * 86_400.0 * state.config.webhook_retry_scale;
        ((at - since).num_milliseconds() as f64 / 1000.0 > limit)
            .then(|| "every delivery failed for five days".to_owned())
    };
    if let Some(reason) = reason {
        webhooks::disable(conn, endpoint, &reason)?;
        audit::record(
            conn,
            &Actor::system(),
            "webhook.disable",
            "webhook",
            &endpoint.to_string(),
            json!({ "reason": reason }),
        )?;
    }
    Ok(())
}

/// Forgets events older than `days` whose deliveries are all finished, with their deliveries
/// and attempts.
pub fn purge_log(conn: &mut DbConn, days: u32) -> AppResult<usize> {
    let before = now() - chrono::Duration::days(i64::from(days));
    let pending = wd::table
        .filter(wd::status.eq(PENDING))
        .select(wd::event_id);
    Ok(db_run!(conn, |c| diesel::delete(
        ev::table
            .filter(ev::created_at.lt(before))
            .filter(diesel::dsl::not(ev::id.eq_any(pending)))
    )
    .execute(c))?)
}
