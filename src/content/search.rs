//! Full-text search over published translations, in any of the newsroom's scripts: FTS5 with
//! the `unicode61` tokenizer on SQLite, a `simple` `tsvector` with a GIN index on PostgreSQL.
//! This file is the one place that knows the difference; callers see [`sync`], [`search`] and
//! [`snippet`].

use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::Sqlite;

use crate::articles::translations::Translation;
use crate::articles::Status;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::html;

/// Keeps the index in step with one translation: indexed while published, absent otherwise.
/// Call in the transaction that changes it.
pub fn sync(conn: &mut DbConn, t: &Translation) -> AppResult<()> {
    let published = t.status == Status::Published.as_str();
    let body = if published {
        html::text_of(&t.body)
    } else {
        String::new()
    };
    let title = format!("{} {}", t.title, t.subtitle);
    match conn {
        DbConn::Sqlite(c) => {
            diesel::sql_query("DELETE FROM search_index WHERE rowid = ?")
                .bind::<BigInt, _>(t.id)
                .execute(&mut **c)?;
            if published {
                diesel::sql_query(
                    "INSERT INTO search_index (rowid, title, body, lang) VALUES (?, ?, ?, ?)",
                )
                .bind::<BigInt, _>(t.id)
                .bind::<Text, _>(&title)
                .bind::<Text, _>(&body)
                .bind::<Text, _>(&t.lang)
                .execute(&mut **c)?;
            }
        }
        DbConn::Postgres(c) => {
            if published {
                diesel::sql_query(
                    "INSERT INTO search_index (translation_id, lang, document) \
                     VALUES ($1, $2, setweight(to_tsvector('simple', $3), 'A') || setweight(to_tsvector('simple', $4), 'B')) \
                     ON CONFLICT (translation_id) DO UPDATE SET lang = EXCLUDED.lang, document = EXCLUDED.document",
                )
                .bind::<BigInt, _>(t.id)
                .bind::<Text, _>(&t.lang)
                .bind::<Text, _>(&title)
                .bind::<Text, _>(&body)
                .execute(&mut **c)?;
            } else {
                diesel::sql_query("DELETE FROM search_index WHERE translation_id = $1")
                    .bind::<BigInt, _>(t.id)
                    .execute(&mut **c)?;
            }
        }
    }
    Ok(())
}

/// Removes a translation from the index (it is being deleted).
pub fn remove(conn: &mut DbConn, translation_id: i64) -> AppResult<()> {
    match conn {
        DbConn::Sqlite(c) => diesel::sql_query("DELETE FROM search_index WHERE rowid = ?")
            .bind::<BigInt, _>(translation_id)
            .execute(&mut **c)?,
        DbConn::Postgres(c) => {
            diesel::sql_query("DELETE FROM search_index WHERE translation_id = $1")
                .bind::<BigInt, _>(translation_id)
                .execute(&mut **c)?
        }
    };
    Ok(())
}

/// The last word of a query also matches as a prefix (search as you type), once it has three
/// letters: shorter prefixes match most of an archive and rank nothing.
fn prefix_ok(word: &str) -> bool {
    word.chars().count() >= 3
}

/// The words of a query: runs of letters and digits in any script, lowercased.
pub fn terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .take(16)
        .collect()
}

#[derive(QueryableByName)]
struct Hit {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// How many of the newest matches a search considers, in titles and anywhere. Ranking every
/// match of a common word costs time in proportion to the archive; a newsroom's readers look
/// for recent stories, and the newest matches hold them.
const CANDIDATES: i64 = 200;

/// Translation ids in `lang` matching every word of `q`, best first, at most `need` of them.
///
/// Matches of the words as typed come first; only when there are fewer than `need` does the
/// last word also match as a prefix (search as you type: `делегаци` finds `делегация`), and
/// those matches follow. Within each, stories with the words in the title come first, then
/// the rest, newest first, among the newest [`CANDIDATES`] matches of each kind. Only
/// published translations are in the index.
pub fn search(conn: &mut DbConn, lang: &str, q: &str, need: usize) -> AppResult<Vec<i64>> {
    let words = terms(q);
    if words.is_empty() || need == 0 {
        return Ok(Vec::new());
    }
    let mut found = ranked(conn, lang, &words, false, need)?;
    if found.len() < need && words.last().is_some_and(|w| prefix_ok(w)) {
        let exact: std::collections::HashSet<i64> = found.iter().copied().collect();
        let more = ranked(conn, lang, &words, true, need)?;
        found.extend(more.into_iter().filter(|id| !exact.contains(id)));
        found.truncate(need);
    }
    Ok(found)
}

/// The first `need` matches in `lang`: title matches, then the rest. The index is asked for a
/// few times `need`, and for all [`CANDIDATES`] only when that falls short.
fn ranked(
    conn: &mut DbConn,
    lang: &str,
    words: &[String],
    prefix: bool,
    need: usize,
) -> AppResult<Vec<i64>> {
    let mut limit = (need as i64 * 3).clamp(30, CANDIDATES);
    loop {
        let (in_title, anywhere) = matches(conn, lang, words, prefix, limit)?;
        let cut_short = in_title.len() as i64 == limit || anywhere.len() as i64 == limit;
        let mut seen = std::collections::HashSet::new();
        let ordered: Vec<i64> = in_title
            .into_iter()
            .chain(anywhere)
            .filter(|id| seen.insert(*id))
            .collect();
        let found = in_language(conn, &ordered, lang, need)?;
        if found.len() >= need || !cut_short || limit == CANDIDATES {
            return Ok(found);
        }
        limit = CANDIDATES;
    }
}

/// The newest `limit` matches of `words` in titles, and anywhere; with `prefix`, the last
/// word (of three letters or more) also matches as a prefix. On PostgreSQL, in `lang` only.
fn matches(
    conn: &mut DbConn,
    lang: &str,
    words: &[String],
    prefix: bool,
    limit: i64,
) -> AppResult<(Vec<i64>, Vec<i64>)> {
    let last = words.len() - 1;
    let as_prefix = |i: usize, w: &str| prefix && i == last && prefix_ok(w);
    let ids = |hits: Vec<Hit>| hits.into_iter().map(|h| h.id).collect::<Vec<i64>>();
    Ok(match conn {
        DbConn::Sqlite(c) => {
            // Each word quoted, so FTS5 reads no operator in what a reader typed.
            let phrase = words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let quoted = format!("\"{}\"", w.replace('"', ""));
                    if as_prefix(i, w) {
                        format!("{quoted}*")
                    } else {
                        quoted
                    }
                })
                .collect::<Vec<_>>()
                .join(" AND ");
            let mut run = |expr: String| {
                Kept {
                    sql: &[
                        "SELECT rowid AS id FROM search_index WHERE search_index MATCH ",
                        " ORDER BY rowid DESC LIMIT ",
                        "",
                    ],
                    binds: vec![Bind::Text(&expr), Bind::Int(limit)],
                }
                .load::<Hit>(&mut **c)
            };
            (
                ids(run(format!("{{title}} : ({phrase})"))?),
                ids(run(format!("{{title body}} : ({phrase})"))?),
            )
        }
        DbConn::Postgres(c) => {
            // Quoted lexemes: nothing a reader types is read as an operator. Weight A is the
            // title (see `sync`).
            let query = |weight: &str| {
                words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        let lexeme = format!("'{}'", w.replace(['\'', '\\'], ""));
                        let star = if as_prefix(i, w) { "*" } else { "" };
                        if star.is_empty() && weight.is_empty() {
                            lexeme
                        } else {
                            format!("{lexeme}:{star}{weight}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" & ")
            };
            let sql = "SELECT translation_id AS id FROM search_index \
                       WHERE document @@ to_tsquery('simple', $1) AND lang = $2 \
                       ORDER BY translation_id DESC LIMIT $3";
            let mut run = |expr: String| {
                diesel::sql_query(sql)
                    .bind::<Text, _>(expr)
                    .bind::<Text, _>(lang)
                    .bind::<BigInt, _>(limit)
                    .load::<Hit>(&mut **c)
            };
            (ids(run(query("A"))?), ids(run(query(""))?))
        }
    })
}

/// The first `need` of `ids` (in order) that are published in `lang`. SQLite holds every
/// language in one index, so its candidates are checked, a few times `need` at a time, against
/// the index on (id, language) of published translations, never the rows, which carry bodies.
/// PostgreSQL's matches are in `lang` already.
fn in_language(conn: &mut DbConn, ids: &[i64], lang: &str, need: usize) -> AppResult<Vec<i64>> {
    let DbConn::Sqlite(c) = conn else {
        return Ok(ids.iter().copied().take(need).collect());
    };
    let mut found = Vec::with_capacity(need);
    for chunk in ids.chunks((need * 2).max(40)) {
        let ids = crate::content::queries::json_ids(chunk);
        let here: std::collections::HashSet<i64> = Kept {
            sql: &[
                "SELECT id FROM translations INDEXED BY translations_published_id \
                 WHERE status = 'published' AND lang = ",
                " AND id IN (SELECT value FROM json_each(",
                "))",
            ],
            binds: vec![Bind::Text(lang), Bind::Text(&ids)],
        }
        .load::<Hit>(&mut **c)?
        .into_iter()
        .map(|h| h.id)
        .collect();
        found.extend(chunk.iter().copied().filter(|id| here.contains(id)));
        if found.len() >= need {
            found.truncate(need);
            break;
        }
    }
    Ok(found)
}

/// A SQLite statement whose text never changes, with its parameters between the parts of its
/// text. diesel prepares a raw `sql_query` anew on every call; a statement like this one it
/// keeps prepared per connection, which spares a search the parsing of its FTS5 queries (a
/// tenth of a search's time).
struct Kept<'a> {
    sql: &'static [&'static str],
    binds: Vec<Bind<'a>>,
}

enum Bind<'a> {
    Text(&'a str),
    Int(i64),
}

impl QueryFragment<Sqlite> for Kept<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        for (i, part) in self.sql.iter().enumerate() {
            out.push_sql(part);
            match self.binds.get(i) {
                Some(Bind::Text(text)) => out.push_bind_param::<Text, str>(text)?,
                Some(Bind::Int(n)) => out.push_bind_param::<BigInt, i64>(n)?,
                None => {}
            }
        }
        Ok(())
    }
}

impl QueryId for Kept<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Kept<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl RunQueryDsl<SqliteConnection> for Kept<'_> {}

/// A highlighted snippet of each of `ids` for the query `q`: where its words were found in
/// the first part of the body, with `<mark>` around them, as safe HTML. (FTS5's own snippet()
/// costs milliseconds a document on a large archive: it reads every position of a common
/// word's long doclist.)
pub fn snippets(
    conn: &mut DbConn,
    q: &str,
    ids: &[i64],
) -> AppResult<std::collections::HashMap<i64, String>> {
    if terms(q).is_empty() || ids.is_empty() {
        return Ok(Default::default());
    }
    let bodies = crate::content::queries::bodies(conn, ids)?;
    Ok(bodies
        .into_iter()
        .map(|(id, body)| (id, snippet(&crate::content::cards::lead(&body), q)))
        .collect())
}

/// About 200 characters of `text` around the first query word, with every query word wrapped
/// in `<mark>`; the text is escaped, so the snippet is safe HTML. A word is found as written
/// in lowercase, Capitalised or in CAPITALS, at the start of a word of the text: a substring
/// search for each form, where comparing every character regardless of case was a tenth of a
/// search's time.
pub fn snippet(text: &str, q: &str) -> String {
    const WIDTH: usize = 200;
    const BEFORE: usize = 60;
    let found = occurrences(text, &terms(q));
    let start = found.first().map_or(0, |&(at, _)| {
        text[..at]
            .char_indices()
            .rev()
            .nth(BEFORE - 1)
            .map_or(0, |(i, _)| i)
    });
    let end = text[start..]
        .char_indices()
        .nth(WIDTH)
        .map_or(text.len(), |(i, _)| start + i);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut i = start;
    for &(from, to) in found
        .iter()
        .filter(|(from, to)| *from >= start && *to <= end)
    {
        escape_into(&mut out, &text[i..from]);
        out.push_str("<mark>");
        escape_into(&mut out, &text[from..to]);
        out.push_str("</mark>");
        i = to;
    }
    escape_into(&mut out, &text[i..end]);
    if end < text.len() {
        out.push('…');
    }
    out
}

/// Where the query words (lowercase) occur in `text` at the start of a word, as byte ranges in
/// order, the longest where two start together, none overlapping.
fn occurrences(text: &str, words: &[String]) -> Vec<(usize, usize)> {
    let mut forms: Vec<String> = Vec::with_capacity(words.len() * 3);
    for w in words {
        let mut chars = w.chars();
        let capitalised: String = chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default();
        forms.extend([w.clone(), capitalised, w.to_uppercase()]);
    }
    forms.sort();
    forms.dedup();
    let mut found: Vec<(usize, usize)> = forms
        .iter()
        .filter(|f| !f.is_empty())
        .flat_map(|f| text.match_indices(f.as_str()))
        .filter(|(at, _)| {
            !text[..*at]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
        })
        .map(|(at, form)| (at, at + form.len()))
        .collect();
    found.sort_by_key(|&(from, to)| (from, std::cmp::Reverse(to)));
    let mut kept: Vec<(usize, usize)> = Vec::with_capacity(found.len());
    for hit in found {
        if kept.last().is_none_or(|last| hit.0 >= last.1) {
            kept.push(hit);
        }
    }
    kept
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_mark_the_words_and_escape_the_rest() {
        let text = "Before <b> the talks, Tbilisi and Moscow met. ТБИЛИСИ встреча.";
        let s = snippet(text, "tbilisi тбилиси");
        assert!(s.contains("<mark>Tbilisi</mark>"), "{s}");
        assert!(s.contains("<mark>ТБИЛИСИ</mark>"), "{s}");
        assert!(s.contains("&lt;b&gt;"), "{s}");
        // Only whole-word starts are marked, and the window centres on the first one.
        let long = format!(
            "{} Parliament met; parliamentary {}",
            "word ".repeat(100),
            "x ".repeat(200)
        );
        let s = snippet(&long, "parliament");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<mark>Parliament</mark> met"), "{s}");
        assert!(s.contains("<mark>parliament</mark>ary"), "{s}");
        // The earliest of the words, whichever the query names first; a word inside another
        // is no start.
        let text = format!(
            "{} subparliament {} Moscow {} Parliament",
            "a ".repeat(200),
            "b ".repeat(200),
            "c ".repeat(200)
        );
        let s = snippet(&text, "parliament moscow");
        assert!(s.contains("<mark>Moscow</mark>"), "{s}");
        assert!(
            !s.contains("<mark>Parliament") && !s.contains("sub<mark>"),
            "{s}"
        );
        assert_eq!(
            snippet("In Tbilisi", "tbilis tbilisi"),
            "In <mark>Tbilisi</mark>",
            "the longer of two words starting together"
        );
        assert_eq!(snippet("Грузия", "грузия"), "<mark>Грузия</mark>");
        assert_eq!(snippet("ΣΟΦΙΑ", "σοφια"), "<mark>ΣΟΦΙΑ</mark>");
        assert_eq!(
            terms("  \"Georgia\" OR -Russia* "),
            vec!["georgia", "or", "russia"]
        );
        assert_eq!(terms("საქართველო, რუსეთი"), vec!["საქართველო", "რუსეთი"]);
    }
}
