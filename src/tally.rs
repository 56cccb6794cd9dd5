//! Counts readers' beacons add to (article views, donation prompt events): kept in memory, so
//! a beacon costs no database write, and added to the database in batches every
//! `VIEW_FLUSH_MS` and at a clean shutdown. A crash loses at most one batch interval.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use crate::db::{Database, DbConn};
use crate::error::AppResult;

/// A count that batches of the same key add up in.
pub trait Count: Clone + Send + Sync + 'static {
    fn merge(&mut self, more: Self);
    /// How many beacons it stands for.
    fn total(&self) -> i64;
}

/// Counts waiting to be written, by key.
pub struct Tally<K, V> {
    pending: Mutex<HashMap<K, V>>,
}

impl<K, V> Default for Tally<K, V> {
    fn default() -> Self {
        Tally {
            pending: Mutex::new(HashMap::new()),
        }
    }
}

impl<K, V> Tally<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Count,
{
    /// Counts into `key`'s count, made with `new` when it has none yet.
    pub fn add(&self, key: K, new: impl FnOnce() -> V, bump: impl FnOnce(&mut V)) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        bump(pending.entry(key).or_insert_with(new));
    }

    fn take(&self) -> HashMap<K, V> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts counts that could not be written back, to be tried again.
    fn restore(&self, counts: HashMap<K, V>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for (key, count) in counts {
            match pending.get_mut(&key) {
                Some(kept) => kept.merge(count),
                None => {
                    pending.insert(key, count);
                }
            }
        }
    }

    /// Adds what has been counted to the database with `write`, in one transaction, and
    /// returns how many beacons that was. On failure the counts are kept for the next try.
    pub async fn flush(
        &self,
        db: &Database,
        write: fn(&mut DbConn, &HashMap<K, V>) -> AppResult<()>,
    ) -> AppResult<usize> {
        let counts = self.take();
        if counts.is_empty() {
            return Ok(0);
        }
        let total: i64 = counts.values().map(Count::total).sum();
        let counts = Arc::new(counts);
        let to_write = counts.clone();
        match db.transaction(move |c| write(c, &to_write)).await {
            Ok(()) => Ok(total as usize),
            Err(e) => {
                self.restore(Arc::try_unwrap(counts).unwrap_or_else(|a| (*a).clone()));
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[derive(Clone)]
    struct N(i64);

    impl Count for N {
        fn merge(&mut self, more: Self) {
            self.0 += more.0;
        }

        fn total(&self) -> i64 {
            self.0
        }
    }

    fn fails(_: &mut DbConn, _: &HashMap<u8, N>) -> AppResult<()> {
        Err(AppError::Unavailable("the database is down".into()))
    }

    fn succeeds(_: &mut DbConn, counts: &HashMap<u8, N>) -> AppResult<()> {
        assert_eq!(counts[&1].0, 3, "kept counts and later ones add up");
        Ok(())
    }

    #[actix_web::test]
    async fn counts_a_failed_write_could_not_store_are_kept_for_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("tally.db").display().to_string();
        let db = Database::connect(&url, 2).unwrap();
        let tally: Tally<u8, N> = Tally::default();
        tally.add(1, || N(0), |n| n.0 += 2);
        assert!(tally.flush(&db, fails).await.is_err());
        tally.add(1, || N(0), |n| n.0 += 1);
        assert_eq!(tally.flush(&db, succeeds).await.unwrap(), 3);
        assert_eq!(tally.flush(&db, succeeds).await.unwrap(), 0, "nothing left");
    }
}
