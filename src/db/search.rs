//! The search index over published translations, in any of the newsroom's scripts: the one file
//! that holds search's backend-specific statements. On SQLite, two FTS5 indexes with the
//! `unicode61` tokenizer over one table of documents: titles alone, and titles with bodies. On
//! PostgreSQL, `tsvector`s of the title's words and of the whole text's (found here, as a
//! query's words are), each with a GIN index, stored out of the table's rows (migration 17): a
//! search reads the row of every match to keep the newest, and small rows stay in memory; and
//! a list of the words it has held (`search_words`, migration 18), for searches as you type.
//! The change pipeline writes it ([`put`], [`remove`]); the Content API reads it ([`search`]).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};

use super::{Bind, DbConn, Kept};
use crate::error::AppResult;

/// A translation as the index holds it: its title and subtitle, and the plain text of its body.
pub struct Document {
    pub id: i64,
    pub lang: String,
    pub title: String,
    pub text: String,
}

/// Indexes `docs` in place of whatever the index held for them. Call in the transaction that
/// publishes or changes them. On PostgreSQL one statement indexes them all (a seeded archive
/// or a story's five languages cost one round trip, not one each).
pub fn put(conn: &mut DbConn, docs: &[Document]) -> AppResult<()> {
    if docs.is_empty() {
        return Ok(());
    }
    match conn {
        DbConn::Sqlite(c) => {
            // The triggers on `search_documents` keep both FTS5 indexes in step.
            for doc in docs {
                diesel::sql_query("DELETE FROM search_documents WHERE id = ?")
                    .bind::<BigInt, _>(doc.id)
                    .execute(&mut **c)?;
                diesel::sql_query(
                    "INSERT INTO search_documents (id, title, body) VALUES (?, ?, ?)",
                )
                .bind::<BigInt, _>(doc.id)
                .bind::<Text, _>(&doc.title)
                .bind::<Text, _>(&doc.text)
                .execute(&mut **c)?;
            }
        }
        DbConn::Postgres(c) => {
            // The words are found here, as a query's are ([`terms`]), and handed over as the
            // lexemes they are: what is indexed and what is looked for are cut alike, and
            // PostgreSQL parses no text (its parser took most of a publication's time).
            let title: Vec<String> = docs.iter().map(|d| lexemes(&d.title)).collect();
            let whole: Vec<String> = docs
                .iter()
                .map(|d| lexemes(&format!("{} {}", d.title, d.text)))
                .collect();
            diesel::sql_query(
                "INSERT INTO search_index (translation_id, lang, title, document) \
                 SELECT d.id, d.lang, array_to_tsvector(string_to_array(d.title, ' ')), \
                        array_to_tsvector(string_to_array(d.whole, ' ')) \
                 FROM unnest($1, $2, $3, $4) AS d(id, lang, title, whole) \
                 ON CONFLICT (translation_id) DO UPDATE \
                 SET lang = EXCLUDED.lang, title = EXCLUDED.title, document = EXCLUDED.document",
            )
            .bind::<Array<BigInt>, _>(docs.iter().map(|d| d.id).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(docs.iter().map(|d| d.lang.as_str()).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(title)
            .bind::<Array<Text>, _>(&whole)
            .execute(&mut **c)?;
            // The words that a search may complete to ([`completions`]).
            let known = || {
                whole
                    .iter()
                    .flat_map(|w| w.split(' '))
                    .filter(|w| prefix_ok(w))
            };
            let gathered = WORDS_LATER.with_borrow_mut(|later| {
                let Some(later) = later else {
                    return false;
                };
                for word in known() {
                    if !later.contains(word) {
                        later.insert(word.to_owned());
                    }
                }
                true
            });
            if !gathered {
                let sorted: BTreeSet<&str> = known().collect();
                list_words(c, sorted.into_iter().collect())?;
            }
        }
    }
    Ok(())
}

/// Adds `words` to PostgreSQL's list of the index's words, in one order whoever writes them:
/// two publications adding the same new words wait for each other, never on each other; the
/// words already listed (nearly all) are only looked up.
fn list_words(c: &mut PgConnection, words: Vec<&str>) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO search_words (word) SELECT w FROM unnest($1::text[]) AS w \
         WHERE NOT EXISTS (SELECT 1 FROM search_words s WHERE s.word = w) \
         ON CONFLICT (word) DO NOTHING",
    )
    .bind::<Array<Text>, _>(words)
    .execute(c)
    .map(|_| ())
}

thread_local! {
    /// The words [`put`] lists later, on a thread that loads an archive ([`WordsLater`]).
    static WORDS_LATER: RefCell<Option<HashSet<String>>> = const { RefCell::new(None) };
}

/// While it lives, the words [`put`] would add to PostgreSQL's list on this thread are gathered
/// instead, and [`WordsLater::finish`] hands them over: a bulk load lists them once at its end
/// ([`list_gathered`]), where each batch would look up tens of thousands of words again, and
/// two writers adding the same new words would wait on each other's batches.
///
/// A load that stops before it lists them leaves words out of the list, so that a search could
/// fail to complete to them: use it only in a load into an empty index, which
/// [`crate::db::specific::prepare_bulk_load`] marks by dropping its GIN indexes, and whose words
/// `migrate` lists from the index when it finds them missing.
pub struct WordsLater(std::marker::PhantomData<*const ()>);

impl WordsLater {
    pub fn start() -> Self {
        WORDS_LATER.with_borrow_mut(|later| *later = Some(HashSet::new()));
        WordsLater(std::marker::PhantomData)
    }

    /// The words gathered.
    pub fn finish(self) -> HashSet<String> {
        WORDS_LATER
            .with_borrow_mut(Option::take)
            .unwrap_or_default()
    }
}

impl Drop for WordsLater {
    fn drop(&mut self) {
        WORDS_LATER.with_borrow_mut(|later| *later = None);
    }
}

/// Lists the words that [`WordsLater`] gathered, in pieces of a statement each.
pub fn list_gathered(conn: &mut DbConn, words: &HashSet<String>) -> AppResult<()> {
    if let DbConn::Postgres(c) = conn {
        let mut all: Vec<&str> = words.iter().map(String::as_str).collect();
        all.sort_unstable();
        for piece in all.chunks(50_000) {
            list_words(c, piece.to_vec())?;
        }
    }
    Ok(())
}

/// Takes these translations out of the index (unpublished or deleted).
pub fn remove(conn: &mut DbConn, ids: &[i64]) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    match conn {
        DbConn::Sqlite(c) => {
            for id in ids {
                diesel::sql_query("DELETE FROM search_documents WHERE id = ?")
                    .bind::<BigInt, _>(id)
                    .execute(&mut **c)?;
            }
        }
        DbConn::Postgres(c) => {
            diesel::sql_query("DELETE FROM search_index WHERE translation_id = ANY($1)")
                .bind::<Array<BigInt>, _>(ids)
                .execute(&mut **c)?;
        }
    };
    Ok(())
}

/// The last word of a query also matches as a prefix (search as you type), once it has three
/// letters: shorter prefixes match most of an archive and rank nothing.
fn prefix_ok(word: &str) -> bool {
    word.chars().count() >= 3
}

/// The words of a text: runs of letters and digits in any script, lowercased.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// The words of a query.
pub fn terms(q: &str) -> Vec<String> {
    words(q).take(16).collect()
}

/// PostgreSQL keeps no lexeme of 2 KB or more.
const MAX_LEXEME: usize = 2046;

/// The distinct words of `text`, space-separated (no word holds a space), as PostgreSQL's
/// index takes them.
fn lexemes(text: &str) -> String {
    let mut all: Vec<String> = words(text).filter(|w| w.len() <= MAX_LEXEME).collect();
    all.sort_unstable();
    all.dedup();
    all.join(" ")
}

#[derive(QueryableByName)]
struct Hit {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// How many of the newest matches a search considers, in titles and anywhere. Ranking every
/// match of a common word costs time in proportion to the archive; a newsroom's readers look
/// for recent stories, and the newest matches hold them.
const CANDIDATES: usize = 200;

/// Translation ids in `lang` matching every word of `q`, best first, at most `need` of them
/// (and at most [`CANDIDATES`]).
///
/// Matches of the words as typed come first; only when there are fewer than `need` does the
/// last word also match as a prefix (search as you type: `делегаци` finds `делегация`), and
/// those matches follow. Within each, stories with the words in the title come first, then
/// the rest, newest first. Only published translations are in the index.
pub fn search(conn: &mut DbConn, lang: &str, q: &str, need: usize) -> AppResult<Vec<i64>> {
    let words = terms(q);
    let need = need.min(CANDIDATES);
    if words.is_empty() || need == 0 {
        return Ok(Vec::new());
    }
    let mut found = ranked(conn, lang, &words, &Last::AsTyped, need)?;
    let last = &words[words.len() - 1];
    if found.len() < need && prefix_ok(last) {
        if let Some(last) = completions(conn, last)? {
            let exact: std::collections::HashSet<i64> = found.iter().copied().collect();
            let more = ranked(conn, lang, &words, &last, need)?;
            found.extend(more.into_iter().filter(|id| !exact.contains(id)));
            found.truncate(need);
        }
    }
    Ok(found)
}

/// How a query's last word is matched.
enum Last {
    /// As typed.
    AsTyped,
    /// As a prefix, expanded by the index.
    Prefix,
    /// As any of these words of the index, which are every word it holds that begins with the
    /// one typed.
    AnyOf(Vec<String>),
}

/// More words than this beginning with what a reader typed, and the index expands the prefix
/// itself.
const MAX_COMPLETIONS: usize = 64;

/// How the last word matches as a prefix, or `None` when no word in the index begins with it
/// but the word itself, so that a prefix finds nothing the word as typed did not.
///
/// Both indexes answer a prefix by reading the entries of every word that begins with it
/// (FTS5 reads every such word's whole list of documents before it returns the first match),
/// which costs as much as the rest of a search. So the words are looked up in a list of the
/// index's words, and the query names them: the index then reads each list only as far as the
/// page needs, and in most searches there is no other word at all. SQLite's list is its FTS5
/// index's vocabulary (`search_text_terms`), PostgreSQL's the table `search_words` that [`put`]
/// keeps. FTS5's vocabulary holds words as its tokenizer folds them; a word it would fold
/// differently from how it was typed (a Latin letter with a diacritic: `ü` is kept as `u`) is
/// left to FTS5. PostgreSQL's index holds the words as [`terms`] cuts them.
fn completions(conn: &mut DbConn, word: &str) -> AppResult<Option<Last>> {
    let upto = format!("{word}{}", char::MAX);
    let limit = MAX_COMPLETIONS as i64 + 1;
    let terms: Vec<Term> = match conn {
        DbConn::Sqlite(c) => {
            if !folds_as_typed(word) {
                return Ok(Some(Last::Prefix));
            }
            Kept {
                sql: &[
                    "SELECT term FROM search_text_terms WHERE term >= ",
                    " AND term < ",
                    " ORDER BY term LIMIT ",
                    "",
                ],
                binds: vec![Bind::Text(word), Bind::Text(&upto), Bind::Int(limit)],
            }
            .load(&mut **c)?
        }
        DbConn::Postgres(c) => diesel::sql_query(
            "SELECT word AS term FROM search_words \
             WHERE word >= $1 COLLATE \"C\" AND word < $2 COLLATE \"C\" ORDER BY word LIMIT $3",
        )
        .bind::<Text, _>(word)
        .bind::<Text, _>(&upto)
        .bind::<BigInt, _>(limit)
        .load(&mut **c)?,
    };
    let terms: Vec<String> = terms.into_iter().map(|t| t.term).collect();
    Ok(if terms.len() > MAX_COMPLETIONS {
        Some(Last::Prefix)
    } else if terms.iter().all(|t| t == word) {
        None
    } else {
        Some(Last::AnyOf(terms))
    })
}

#[derive(QueryableByName)]
struct Term {
    #[diesel(sql_type = Text)]
    term: String,
}

/// Whether the tokenizer keeps a lowercase word as it is: digits and the letters of the
/// newsroom's scripts without diacritics (ASCII, Cyrillic, Armenian, Georgian), which it
/// neither folds further nor strips.
fn folds_as_typed(word: &str) -> bool {
    word.chars().all(|c| {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || matches!(c, '\u{0400}'..='\u{04FF}' | '\u{0530}'..='\u{058F}' | '\u{10D0}'..='\u{10FF}')
                && !c.is_uppercase()
    })
}

/// The first `need` matches in `lang`: the newest `need` with the words in the title, then
/// the newest others. Every title match is also a match anywhere, so the newest `need` of each
/// always hold the first `need` of both together; titles that fill the page need no more.
fn ranked(
    conn: &mut DbConn,
    lang: &str,
    words: &[String],
    last: &Last,
    need: usize,
) -> AppResult<Vec<i64>> {
    let in_title = matches(conn, lang, words, last, Scope::Titles, need as i64)?;
    let anywhere = if in_title.len() == need {
        Vec::new()
    } else {
        matches(conn, lang, words, last, Scope::Everything, need as i64)?
    };
    let mut seen = std::collections::HashSet::new();
    Ok(in_title
        .into_iter()
        .chain(anywhere)
        .filter(|id| seen.insert(*id))
        .take(need)
        .collect())
}

/// The parts of the statement for the newest matches in a language of the FTS5 index `$index`
/// (its parameters: the language, the match expression, the limit), fixed at compile time so
/// that diesel keeps it prepared.
macro_rules! newest_in_language {
    ($index:literal) => {
        &[
            concat!(
                "SELECT s.rowid AS id FROM ",
                $index,
                " s JOIN translations t INDEXED BY translations_published_id \
                 ON t.id = s.rowid AND t.status = 'published' AND t.lang = "
            ),
            concat!(" WHERE ", $index, " MATCH "),
            " ORDER BY s.rowid DESC LIMIT ",
            "",
        ]
    };
}

/// Where a search looks for the words.
#[derive(Clone, Copy)]
enum Scope {
    Titles,
    Everything,
}

/// The newest `limit` matches of `words` in `lang`, within `scope`, the last word matched as
/// `last` says.
fn matches(
    conn: &mut DbConn,
    lang: &str,
    words: &[String],
    last: &Last,
    scope: Scope,
    limit: i64,
) -> AppResult<Vec<i64>> {
    let ids = |hits: Vec<Hit>| hits.into_iter().map(|h| h.id).collect::<Vec<i64>>();
    Ok(match conn {
        DbConn::Sqlite(c) => {
            let expr = fts5_expression(words, last);
            if expr.is_empty() {
                return Ok(Vec::new());
            }
            // One index holds every language: a match is kept if it is published in `lang`,
            // which the (id, language) index of published translations answers without
            // reading a translation row (they carry bodies).
            let sql: &'static [&'static str] = match scope {
                Scope::Titles => newest_in_language!("search_titles"),
                Scope::Everything => newest_in_language!("search_text"),
            };
            ids(Kept {
                sql,
                binds: vec![Bind::Text(lang), Bind::Text(&expr), Bind::Int(limit)],
            }
            .load::<Hit>(&mut **c)
            .or_else(unsplit_phrase)?)
        }
        DbConn::Postgres(c) => {
            // Quoted lexemes: nothing a reader types is read as an operator.
            let lexeme = |w: &str| format!("'{}'", w.replace(['\'', '\\'], ""));
            let mut parts: Vec<String> =
                words[..words.len() - 1].iter().map(|w| lexeme(w)).collect();
            let typed = &words[words.len() - 1];
            parts.push(match last {
                Last::AsTyped => lexeme(typed),
                Last::Prefix => format!("{}:*", lexeme(typed)),
                Last::AnyOf(all) => format!(
                    "({})",
                    all.iter()
                        .map(|w| lexeme(w))
                        .collect::<Vec<_>>()
                        .join(" | ")
                ),
            });
            let expr = parts.join(" & ");
            let sql = match scope {
                Scope::Titles => {
                    "SELECT translation_id AS id FROM search_index \
                     WHERE title @@ $1::tsquery AND lang = $2 \
                     ORDER BY translation_id DESC LIMIT $3"
                }
                Scope::Everything => {
                    "SELECT translation_id AS id FROM search_index \
                     WHERE document @@ $1::tsquery AND lang = $2 \
                     ORDER BY translation_id DESC LIMIT $3"
                }
            };
            ids(diesel::sql_query(sql)
                .bind::<Text, _>(&expr)
                .bind::<Text, _>(lang)
                .bind::<BigInt, _>(limit)
                .load::<Hit>(&mut **c)?)
        }
    })
}

/// An FTS5 query for documents holding every word, each quoted, so that FTS5 reads no operator
/// in what a reader typed; the last word matched as `last` says.
///
/// The indexes keep no positions, so FTS5 refuses a quoted word that its tokenizer cuts in
/// two (a phrase). Its tokenizer keeps letters, digits and marks together; the letters Rust
/// also counts as alphanumeric but FTS5 does not are the enclosed ones (Ⓐ, 🄰), so a word is
/// cut at those here too.
fn fts5_expression(words: &[String], last: &Last) -> String {
    let enclosed = |c: char| matches!(c, '\u{2460}'..='\u{24FF}' | '\u{1F100}'..='\u{1F1FF}');
    let quoted = |w: &str| format!("\"{}\"", w.replace('"', ""));
    let mut parts = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let is_last = i + 1 == words.len();
        if let (true, Last::AnyOf(all)) = (is_last, last) {
            // Words of the index, which its tokenizer never cuts.
            let any: Vec<String> = all.iter().map(|w| quoted(w)).collect();
            parts.push(format!("({})", any.join(" OR ")));
            continue;
        }
        let pieces: Vec<&str> = w.split(enclosed).filter(|p| !p.is_empty()).collect();
        for (j, piece) in pieces.iter().enumerate() {
            let star = if is_last && j + 1 == pieces.len() && matches!(last, Last::Prefix) {
                "*"
            } else {
                ""
            };
            parts.push(format!("{}{star}", quoted(piece)));
        }
    }
    parts.join(" AND ")
}

/// Should FTS5 still meet a word its tokenizer cuts in two, the word cannot be in the index as
/// typed: no document matches, rather than a failed request.
fn unsplit_phrase(e: diesel::result::Error) -> QueryResult<Vec<Hit>> {
    match &e {
        diesel::result::Error::DatabaseError(_, info)
            if info.message().contains("phrase queries are not supported") =>
        {
            Ok(Vec::new())
        }
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexemes_are_the_words_a_query_is_cut_into() {
        let text = "Tbilisi, TBILISI! e-mail 3.14 — თბილისი Ереван";
        assert_eq!(
            lexemes(text),
            "14 3 e mail tbilisi ереван თბილისი",
            "distinct, lowercased, sorted, split where a query is"
        );
        for word in terms("E-mail 3.14 ЕРЕВАН") {
            assert!(lexemes(text).split(' ').any(|l| l == word), "{word}");
        }
        assert_eq!(lexemes(" ,;- "), "", "no empty lexeme");
        let long = "a".repeat(MAX_LEXEME + 1);
        assert_eq!(
            lexemes(&format!("{long} b")),
            "b",
            "too long for PostgreSQL"
        );
    }
}
