//! The background job that makes a media item's renditions after its upload has been answered:
//! every width in every format and the social card, written to the store, then listed on the
//! item in one transaction that goes through the change pipeline (so the pages that show the
//! item are made afresh). One thread per node, started on the first job; an item left
//! `processing` by a node that stopped is taken up again when a node starts
//! ([`resume`]). Renditions are named by what they are, so two nodes making the same one
//! write the same bytes to the same key.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use diesel::prelude::*;

use crate::articles::changes::{self, Change};
use crate::db::schema::media;
use crate::db::{now, Database};
use crate::db_run;
use crate::error::{AppError, AppResult};
use crate::media::process::{self, Bounds, Permit, Rendition};
use crate::media::sniff::Kind;
use crate::media::store::{self, Store};
use crate::media::{MediaRow, FAILED, PROCESSING, READY};

/// This node's rendition job.
pub struct Jobs {
    db: Database,
    store: Arc<Store>,
    bounds: Bounds,
    queue: OnceLock<Mutex<mpsc::Sender<i64>>>,
}

impl Jobs {
    pub fn new(db: Database, store: Arc<Store>, bounds: Bounds) -> Jobs {
        Jobs {
            db,
            store,
            bounds,
            queue: OnceLock::new(),
        }
    }

    /// Makes what item `id` lacks, soon, on this node's job thread.
    pub fn enqueue(&self, id: i64) {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel::<i64>();
            let (db, store, bounds) = (self.db.clone(), self.store.clone(), self.bounds);
            std::thread::Builder::new()
                .name("media-renditions".into())
                .spawn(move || {
                    for id in rx {
                        if let Err(e) = make(&db, &store, bounds, id) {
                            tracing::error!(media = id, error = %e, "making renditions failed");
                        }
                    }
                })
                .expect("a thread for the media job");
            Mutex::new(tx)
        });
        let sent = queue.lock().unwrap_or_else(|e| e.into_inner()).send(id);
        if sent.is_err() {
            tracing::error!(media = id, "the media job has stopped");
        }
    }
}

/// Queues every item still `processing`: those whose node stopped before finishing them.
pub fn resume(db: &Database, jobs: &Jobs) -> AppResult<usize> {
    let mut conn = db.get()?;
    let ids: Vec<i64> = db_run!(&mut conn, |c| media::table
        .filter(media::status.eq(PROCESSING))
        .order(media::id)
        .select(media::id)
        .load(c))?;
    for id in &ids {
        jobs.enqueue(*id);
    }
    Ok(ids.len())
}

/// Makes every rendition item `id` lacks and lists them on it.
pub fn make(db: &Database, store: &Store, bounds: Bounds, id: i64) -> AppResult<()> {
    let row: Option<MediaRow> = {
        let mut conn = db.get()?;
        db_run!(&mut conn, |c| media::table
            .find(id)
            .select(MediaRow::as_select())
            .first(c)
            .optional())?
    };
    // Deleted since it was queued, or finished by another node.
    let Some(row) = row.filter(|r| r.status == PROCESSING) else {
        return Ok(());
    };
    let made = render(store, bounds, &row);
    db.transaction_blocking(move |c| {
        {
            let current: Option<MediaRow> = db_run!(c, |c| media::table
                .find(id)
                .select(MediaRow::as_select())
                .first(c)
                .optional())?;
            let Some(current) = current else {
                return Ok(());
            };
            let (status, problem, renditions) = match &made {
                Ok(list) => {
                    // Keep what the item lists now (a focal point moved meanwhile adds its own
                    // social card on the next run), add what was made.
                    let mut all = current.renditions();
                    for r in list {
                        if !all.iter().any(|a| a.name == r.name) {
                            all.push(r.clone());
                        }
                    }
                    let social = process::social_name(current.focal());
                    let done = all.iter().any(|r| r.name == social);
                    (if done { READY } else { PROCESSING }, None, all)
                }
                Err(e) => (FAILED, Some(e.to_string()), current.renditions()),
            };
            let again = status == PROCESSING;
            db_run!(c, |c| diesel::update(media::table.find(id))
                .set((
                    media::status.eq(status),
                    media::problem.eq(&problem),
                    media::renditions.eq(serde_json::to_string(&renditions)?),
                    media::updated_at.eq(now()),
                ))
                .execute(c))?;
            changes::changed(c, Change::Media(id))?;
            if again {
                tracing::info!(
                    media = id,
                    "the focal point moved while renditions were made"
                );
            }
            AppResult::Ok(())
        }
    })?;
    Ok(())
}

/// Decodes the original and writes every rendition the item lacks; returns what it wrote.
fn render(store: &Store, bounds: Bounds, row: &MediaRow) -> AppResult<Vec<Rendition>> {
    let kind = Kind::from_name(&row.kind)
        .ok_or_else(|| AppError::Internal(format!("media {} has type {}", row.id, row.kind)))?;
    let original = store.get(&store::original_key(&row.hash))?.ok_or_else(|| {
        AppError::Internal(format!("the original of media {} is missing", row.id))
    })?;
    let _permit = Permit::take();
    let decoded = process::decode(&original, kind, bounds)?;
    drop(original);
    let have: Vec<String> = row.renditions().into_iter().map(|r| r.name).collect();
    let mut made = Vec::new();
    let mut keep = |m: process::Made| -> AppResult<()> {
        store.put(
            &store::rendition_key(&row.hash, &m.rendition.name),
            &m.data,
            &m.rendition.mime,
        )?;
        made.push(m.rendition);
        Ok(())
    };
    process::all(&decoded, &have, &mut keep)?;
    let social = process::social_name(row.focal());
    if !have.contains(&social) {
        keep(process::social(&decoded, row.focal())?)?;
    }
    Ok(made)
}
