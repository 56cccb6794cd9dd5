//! The few statements written differently for each backend, each behind one function beside
//! its twin: an index SQLite's planner must be told to use, one statement text that SQLite
//! keeps prepared whatever the number of ids, a row lock only PostgreSQL needs, and the
//! maintenance after a bulk load. Search's statements are in [`super::search`].

use diesel::prelude::*;

use super::schema::published_translations as pt;
use super::schema::{articles, item_cards, languages};
use super::{json_ids, Bind, DbConn, Kept};
use crate::error::AppResult;

/// Locks these stories' rows until the transaction ends, so that two writers rewriting what
/// derives from one story (its item cards) take turns and the second sees the first's change.
/// SQLite's `BEGIN IMMEDIATE` already admits one writer at a time.
pub fn lock_articles(conn: &mut DbConn, ids: &[i64]) -> AppResult<()> {
    if let DbConn::Postgres(c) = conn {
        articles::table
            .filter(articles::id.eq_any(ids))
            .order(articles::id)
            .select(articles::id)
            .for_update()
            .load::<i64>(&mut **c)?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct StoryId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    article_id: i64,
}

/// Up to `limit` stories with a published translation, by id, after `after`. On SQLite the
/// query names the covering index on published (story, language, slug): its planner would
/// otherwise take the unique (story, language) index and read every row, body and all. The
/// index's condition is the view's: `status = 'published'`.
pub fn published_stories_after(conn: &mut DbConn, after: i64, limit: i64) -> AppResult<Vec<i64>> {
    Ok(match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT DISTINCT article_id FROM translations \
             INDEXED BY translations_published_article \
             WHERE status = 'published' AND article_id > ? ORDER BY article_id LIMIT ?",
        )
        .bind::<diesel::sql_types::BigInt, _>(after)
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .load::<StoryId>(&mut **c)?
        .into_iter()
        .map(|s| s.article_id)
        .collect(),
        DbConn::Postgres(c) => pt::table
            .filter(pt::article_id.gt(after))
            .select(pt::article_id)
            .distinct()
            .order(pt::article_id)
            .limit(limit)
            .load(&mut **c)?,
    })
}

#[derive(QueryableByName)]
struct CardRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    translation_id: i64,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    packed: Vec<u8>,
}

/// The packed item cards of these translations, as (translation, card), in no order.
pub fn item_cards(conn: &mut DbConn, ids: &[i64]) -> AppResult<Vec<(i64, Vec<u8>)>> {
    Ok(match conn {
        // One statement text whatever the number of results, which diesel keeps prepared:
        // with one bound parameter per id it prepared the read anew for every page.
        DbConn::Sqlite(c) => {
            let ids = json_ids(ids);
            Kept {
                sql: &[
                    "SELECT translation_id, packed FROM item_cards \
                     WHERE translation_id IN (SELECT value FROM json_each(",
                    "))",
                ],
                binds: vec![Bind::Text(&ids)],
            }
            .load::<CardRow>(&mut **c)?
            .into_iter()
            .map(|r| (r.translation_id, r.packed))
            .collect()
        }
        DbConn::Postgres(c) => item_cards::table
            .filter(item_cards::translation_id.eq_any(ids))
            .select((item_cards::translation_id, item_cards::packed))
            .load(&mut **c)?,
    })
}

/// Published translations of these stories in enabled languages: (story, language, slug),
/// in language-switcher order. On SQLite the query names the index on (story, language,
/// slug): its planner would otherwise take the unique index on (story, language) and read
/// every row, body and all.
pub fn alternates(conn: &mut DbConn, ids: &[i64]) -> AppResult<Vec<(i64, String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(match conn {
        // One statement text whatever the number of stories, which diesel keeps prepared.
        DbConn::Sqlite(c) => {
            let ids = json_ids(ids);
            Kept {
                sql: &[
                    "SELECT t.article_id AS story, t.lang, t.slug \
                     FROM translations AS t INDEXED BY translations_published_article \
                     JOIN languages AS l ON l.code = t.lang \
                     WHERE t.status = 'published' AND l.enabled \
                     AND t.article_id IN (SELECT value FROM json_each(",
                    ")) ORDER BY t.article_id, l.position, l.code",
                ],
                binds: vec![Bind::Text(&ids)],
            }
            .load::<AlternateRow>(&mut **c)?
            .into_iter()
            .map(|a| (a.story, a.lang, a.slug))
            .collect()
        }
        DbConn::Postgres(c) => pt::table
            .inner_join(languages::table.on(languages::code.eq(pt::lang)))
            .filter(pt::article_id.eq_any(ids))
            .filter(languages::enabled.eq(true))
            .order((pt::article_id, languages::position, languages::code))
            .select((pt::article_id, pt::lang, pt::slug))
            .load(&mut **c)?,
    })
}

#[derive(QueryableByName)]
struct AlternateRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    story: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    lang: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    slug: String,
}

/// The search index's GIN indexes, as migrations 3 and 9 make them: dropped while a bulk load
/// fills an empty index, then built at once.
const SEARCH_INDEXES: &str = "CREATE INDEX IF NOT EXISTS search_index_document \
     ON search_index USING GIN (document); \
     CREATE INDEX IF NOT EXISTS search_index_title ON search_index USING GIN (title);";

/// Every word of three letters or more in the search index, into the list that searches
/// complete the last word from (migration 18 fills it so; [`super::search::put`] keeps it).
const SEARCH_WORDS: &str = "INSERT INTO search_words (word) \
     SELECT word FROM ts_stat('SELECT document FROM search_index') \
     WHERE char_length(word) >= 3 ORDER BY word ON CONFLICT (word) DO NOTHING";

/// How a bulk load was readied, for [`finish_bulk_load`].
#[must_use = "pass it to finish_bulk_load"]
pub struct BulkLoad {
    indexes_dropped: bool,
}

impl BulkLoad {
    /// Whether the load fills an empty PostgreSQL search index, whose GIN indexes were dropped:
    /// should it stop half-way, `migrate` rebuilds them and lists the index's words, so the
    /// load may list its words once at its end ([`super::search::WordsLater`]).
    pub fn fills_empty_index(&self) -> bool {
        self.indexes_dropped
    }
}

/// Readies the connection that will write a bulk load. On PostgreSQL, when the search index is
/// empty (a new archive), its GIN indexes are dropped and built once after the load: building
/// one from sorted entries costs a fraction of merging them in batch after batch.
///
/// Should the load stop before [`finish_bulk_load`] (a crash), the next `migrate` (or a node's
/// start) builds what is missing ([`restore_postgres_search_indexes`]); searches meanwhile
/// read the table instead.
pub fn prepare_bulk_load(conn: &mut DbConn) -> AppResult<BulkLoad> {
    let mut indexes_dropped = false;
    if let DbConn::Postgres(c) = conn {
        let indexed: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "EXISTS (SELECT 1 FROM search_index)",
        ))
        .get_result(&mut **c)?;
        if !indexed {
            diesel::sql_query("DROP INDEX IF EXISTS search_index_document, search_index_title")
                .execute(&mut **c)?;
            indexes_dropped = true;
        }
    }
    Ok(BulkLoad { indexes_dropped })
}

/// Readies a connection that writes a bulk load: on PostgreSQL, new search-index entries
/// gather in a larger pending list before they are merged into the GIN indexes (merging many
/// at once costs less), for this connection's session only.
pub fn ready_bulk_writer(conn: &mut DbConn) -> AppResult<()> {
    if let DbConn::Postgres(c) = conn {
        diesel::sql_query("SET gin_pending_list_limit = '64MB'").execute(&mut **c)?;
    }
    Ok(())
}

/// Builds what [`prepare_bulk_load`] dropped.
pub fn finish_bulk_load(conn: &mut DbConn, load: BulkLoad) -> AppResult<()> {
    if let (true, DbConn::Postgres(c)) = (load.indexes_dropped, conn) {
        build_search_indexes(c)?;
    }
    Ok(())
}

/// Where a bulk load stopped half-way, builds the search index's GIN indexes and lists the
/// words of what it loaded; nothing when the indexes exist. On SQLite the search indexes are
/// tables and never missing.
pub(super) fn restore_postgres_search_indexes(c: &mut PgConnection) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    let present: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
        "(SELECT count(*) = 2 FROM pg_indexes WHERE schemaname = current_schema() \
          AND indexname IN ('search_index_document', 'search_index_title'))",
    ))
    .get_result(c)?;
    if present {
        return Ok(());
    }
    build_search_indexes(c)?;
    c.batch_execute(SEARCH_WORDS)
}

fn build_search_indexes(c: &mut PgConnection) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    // More memory than the default 64 MB: the build sorts the entries of every document.
    c.batch_execute("SET maintenance_work_mem = '512MB'")?;
    c.batch_execute(SEARCH_INDEXES)?;
    c.batch_execute("RESET maintenance_work_mem")
}

/// After a bulk load: fresh statistics, so the planners see the archive as it now is; on
/// SQLite the search indexes are merged into one segment each, as a quiet night would.
pub fn optimize_after_bulk_load(conn: &mut DbConn) -> AppResult<()> {
    match conn {
        DbConn::Sqlite(c) => {
            diesel::connection::SimpleConnection::batch_execute(
                &mut **c,
                "INSERT INTO search_titles(search_titles) VALUES('optimize'); \
                 INSERT INTO search_text(search_text) VALUES('optimize');",
            )?;
            diesel::sql_query("ANALYZE").execute(&mut **c)?
        }
        // VACUUM too: until the visibility map is set, PostgreSQL cannot answer from an index
        // alone, and counting a common tag's stories read the whole table.
        DbConn::Postgres(c) => diesel::sql_query("VACUUM ANALYZE").execute(&mut **c)?,
    };
    Ok(())
}

/// Writes a consistent copy of a SQLite database to the new file `path` while it serves: one
/// read transaction sees the database as of one commit, and writers go on meanwhile (WAL).
/// PostgreSQL has its own tools for that (`pg_dump`), which the README names.
pub fn backup(conn: &mut DbConn, path: &str) -> AppResult<()> {
    match conn {
        DbConn::Sqlite(c) => {
            diesel::sql_query("VACUUM INTO ?")
                .bind::<diesel::sql_types::Text, _>(path)
                .execute(&mut **c)?;
            Ok(())
        }
        DbConn::Postgres(_) => Err(crate::error::AppError::bad_request(
            "a PostgreSQL database is backed up with pg_dump (see the README)",
        )),
    }
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Claims up to `limit` due webhook deliveries until `until` (a lease), skipping those of the
/// endpoints in `skip`; returns their ids. On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets nodes
/// claim side by side without waiting on each other; SQLite runs one writer at a time. Either
/// way no delivery is claimed twice while its lease holds.
pub fn claim_deliveries(
    conn: &mut DbConn,
    now: chrono::NaiveDateTime,
    until: chrono::NaiveDateTime,
    skip: &[i64],
    limit: i64,
) -> AppResult<Vec<i64>> {
    use diesel::sql_types::{BigInt, Text, Timestamp};
    let skip = json_ids(skip);
    let rows: Vec<Claimed> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "UPDATE webhook_deliveries SET claimed_until = ? WHERE id IN ( \
             SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? \
             AND (claimed_until IS NULL OR claimed_until < ?) \
             AND endpoint_id NOT IN (SELECT value FROM json_each(?)) \
             ORDER BY next_attempt_at, id LIMIT ?) RETURNING id",
        )
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(&skip)
        .bind::<BigInt, _>(limit)
        .load(&mut **c)?,
        DbConn::Postgres(c) => diesel::sql_query(
            "UPDATE webhook_deliveries SET claimed_until = $1 WHERE id IN ( \
             SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $2 \
             AND (claimed_until IS NULL OR claimed_until < $2) \
             AND endpoint_id NOT IN (SELECT jsonb_array_elements_text($3::jsonb)::bigint) \
             ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING id",
        )
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(&skip)
        .bind::<BigInt, _>(limit)
        .load(&mut **c)?,
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The channel every node listens on for changes (PostgreSQL).
pub const CHANGES_CHANNEL: &str = "newsdesk_changes";

/// On PostgreSQL, tells every listening node that content version `version` of this schema
/// exists, once the transaction commits (a rolled-back one tells nobody). SQLite's nodes share
/// one file and poll it.
pub fn notify_change(conn: &mut DbConn, version: i64, stale: &[String]) -> AppResult<()> {
    if let DbConn::Postgres(c) = conn {
        // A payload is at most 8,000 bytes: past that, nodes read the keys from the table.
        let keys = stale.join(" ");
        let keys = if keys.len() > NOTIFY_KEYS_MAX {
            "?"
        } else {
            keys.as_str()
        };
        diesel::sql_query(format!(
            "SELECT pg_notify('{CHANGES_CHANNEL}', current_schema() || ' ' || $1::text || ' ' || $2)"
        ))
        .bind::<diesel::sql_types::BigInt, _>(version)
        .bind::<diesel::sql_types::Text, _>(keys)
        .execute(c)?;
    }
    Ok(())
}

/// The longest list of keys a notification carries; beyond, it says `?` (read the table).
const NOTIFY_KEYS_MAX: usize = 7_000;

/// Follows the content versions other nodes announce on PostgreSQL ([`notify_change`]):
/// connects on its own to `url`, listens, and hands each version of its own schema to
/// `seen` with the surrogate keys it made stale (`None` when they were too many to send),
/// within a few milliseconds of its commit. Returns when `more` says so; reconnects after an
/// error (the version poll covers the gap). Runs on a thread of its own.
pub fn follow_changes(url: &str, seen: impl Fn(i64, Option<&[String]>), more: impl Fn() -> bool) {
    use diesel::pg::PgConnection;
    let mut backoff = std::time::Duration::from_millis(100);
    while more() {
        super::postgres_tls_without_exit_handler();
        let connected = PgConnection::establish(url)
            .map_err(|e| e.to_string())
            .and_then(|mut c| {
                listen(&mut c)
                    .map(|schema| (c, schema))
                    .map_err(|e| e.to_string())
            });
        fn listen(c: &mut PgConnection) -> QueryResult<String> {
            diesel::sql_query(format!("LISTEN {CHANGES_CHANNEL}")).execute(c)?;
            #[derive(QueryableByName)]
            struct Schema {
                #[diesel(sql_type = diesel::sql_types::Text)]
                name: String,
            }
            let schema: Schema =
                diesel::sql_query("SELECT current_schema() AS name").get_result(c)?;
            Ok(schema.name)
        }
        let (mut conn, schema) = match connected {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for changes; the version poll stands in");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(std::time::Duration::from_secs(10));
                continue;
            }
        };
        backoff = std::time::Duration::from_millis(100);
        'listening: while more() {
            for notification in conn.notifications_iter() {
                match notification {
                    Ok(n) => {
                        let ours = n
                            .payload
                            .strip_prefix(schema.as_str())
                            .and_then(|rest| rest.strip_prefix(' '));
                        let mut parts = ours.unwrap_or_default().split(' ');
                        if let Some(version) = parts.next().and_then(|v| v.parse::<i64>().ok()) {
                            let stale: Vec<String> =
                                parts.filter(|k| !k.is_empty()).map(str::to_owned).collect();
                            let known = !stale.iter().any(|k| k == "?");
                            seen(version, known.then_some(stale.as_slice()));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the change notifications; reconnecting");
                        break 'listening;
                    }
                }
            }
            // The connection's socket is not exposed: look for what arrived every few ms, a
            // non-blocking read that costs next to nothing.
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
