//! Full-text search over published translations, in any of the newsroom's scripts: FTS5 with
//! the `unicode61` tokenizer on SQLite, a `simple` `tsvector` with a GIN index on PostgreSQL.
//! This file is the one place that knows the difference; callers see [`sync`], [`search`] and
//! [`snippet`].

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

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

/// Translation ids in `lang` matching every word of `q` (the last also as a prefix): those
/// with the words in the title first, then the rest, newest first within each, among the
/// newest [`CANDIDATES`] matches of each kind; `limit` of them after skipping `offset`. Only
/// published translations are in the index.
pub fn search(
    conn: &mut DbConn,
    lang: &str,
    q: &str,
    offset: i64,
    limit: i64,
) -> AppResult<Vec<i64>> {
    let words = terms(q);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let last = words.len() - 1;
    let (in_title, anywhere): (Vec<Hit>, Vec<Hit>) = match conn {
        DbConn::Sqlite(c) => {
            // Each word quoted, so FTS5 reads no operator in what a reader typed.
            let phrase = words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let quoted = format!("\"{}\"", w.replace('"', ""));
                    if i == last && prefix_ok(w) {
                        format!("{quoted}*")
                    } else {
                        quoted
                    }
                })
                .collect::<Vec<_>>()
                .join(" AND ");
            let sql = "SELECT rowid AS id FROM search_index WHERE search_index MATCH ? \
                       ORDER BY rowid DESC LIMIT ?";
            let mut run = |expr: String| {
                diesel::sql_query(sql)
                    .bind::<Text, _>(expr)
                    .bind::<BigInt, _>(CANDIDATES)
                    .load::<Hit>(&mut **c)
            };
            (
                run(format!("{{title}} : ({phrase})"))?,
                run(format!("{{title body}} : ({phrase})"))?,
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
                        let prefix = if i == last && prefix_ok(w) { "*" } else { "" };
                        if prefix.is_empty() && weight.is_empty() {
                            lexeme
                        } else {
                            format!("{lexeme}:{prefix}{weight}")
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
                    .bind::<BigInt, _>(CANDIDATES)
                    .load::<Hit>(&mut **c)
            };
            (run(query("A"))?, run(query(""))?)
        }
    };
    let mut seen = std::collections::HashSet::new();
    let ordered: Vec<i64> = in_title
        .into_iter()
        .chain(anywhere)
        .map(|h| h.id)
        .filter(|id| seen.insert(*id))
        .collect();
    // FTS5 holds every language in one index: keep this language's.
    let in_lang = in_language(conn, &ordered, lang)?;
    Ok(ordered
        .into_iter()
        .filter(|id| in_lang.contains(id))
        .skip(offset.max(0) as usize)
        .take(limit.max(0) as usize)
        .collect())
}

/// Which of these translations are published in `lang`. On SQLite the query names the index on
/// (id, language) of published translations, so it never reads the rows, which carry bodies.
fn in_language(
    conn: &mut DbConn,
    ids: &[i64],
    lang: &str,
) -> AppResult<std::collections::HashSet<i64>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT id FROM translations INDEXED BY translations_published_id \
             WHERE status = 'published' AND lang = ? AND id IN (SELECT value FROM json_each(?))",
        )
        .bind::<Text, _>(lang)
        .bind::<Text, _>(crate::content::queries::json_ids(ids))
        .load::<Hit>(&mut **c)?
        .into_iter()
        .map(|h| h.id)
        .collect(),
        DbConn::Postgres(c) => {
            use crate::db::schema::published_translations as pt;
            pt::table
                .filter(pt::id.eq_any(ids))
                .filter(pt::lang.eq(lang))
                .select(pt::id)
                .load::<i64>(&mut **c)?
                .into_iter()
                .collect()
        }
    })
}

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
/// in `<mark>`; the text is escaped, so the snippet is safe HTML. Words are compared without
/// regard to case, one character at a time where a word could start: lowercasing whole bodies
/// was most of a search's own work.
pub fn snippet(text: &str, q: &str) -> String {
    const WIDTH: usize = 200;
    const BEFORE: usize = 60;
    let words: Vec<Word> = terms(q).iter().map(|w| Word::new(w)).collect();
    let first = text
        .char_indices()
        .find(|&(i, _)| word_at(text, i, &words).is_some())
        .map(|(i, _)| i);
    let start = first.map_or(0, |at| {
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
    while i < end {
        match word_at(text, i, &words).filter(|len| i + len <= end) {
            Some(len) => {
                out.push_str("<mark>");
                escape_into(&mut out, &text[i..i + len]);
                out.push_str("</mark>");
                i += len;
            }
            None => {
                let len = text[i..].chars().next().map_or(1, char::len_utf8);
                escape_into(&mut out, &text[i..i + len]);
                i += len;
            }
        }
    }
    if end < text.len() {
        out.push('…');
    }
    out
}

/// A query word, lowercase, with the forms its first letter can take in a text.
struct Word {
    lower: String,
    starts: Vec<char>,
}

impl Word {
    fn new(lower: &str) -> Word {
        let first = lower.chars().next().unwrap_or(' ');
        let mut starts: Vec<char> = std::iter::once(first).chain(first.to_uppercase()).collect();
        starts.dedup();
        Word {
            lower: lower.to_owned(),
            starts,
        }
    }

    /// The bytes of `text` this word matches at its start, case aside.
    fn matches(&self, text: &str) -> Option<usize> {
        let mut wanted = self.lower.chars().peekable();
        for (i, c) in text.char_indices() {
            for l in c.to_lowercase() {
                if wanted.next() != Some(l) {
                    return None;
                }
            }
            if wanted.peek().is_none() {
                return Some(i + c.len_utf8());
            }
        }
        None
    }
}

/// The length of the longest query word starting at byte `i` of `text` at the start of a word.
fn word_at(text: &str, i: usize, words: &[Word]) -> Option<usize> {
    let c = text[i..].chars().next()?;
    if !words.iter().any(|w| w.starts.contains(&c)) {
        return None;
    }
    if text[..i]
        .chars()
        .next_back()
        .is_some_and(char::is_alphanumeric)
    {
        return None;
    }
    words.iter().filter_map(|w| w.matches(&text[i..])).max()
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
        assert_eq!(snippet("Грузия", "грузия"), "<mark>Грузия</mark>");
        assert_eq!(snippet("ΣΟΦΙΑ", "σοφια"), "<mark>ΣΟΦΙΑ</mark>");
        assert_eq!(
            terms("  \"Georgia\" OR -Russia* "),
            vec!["georgia", "or", "russia"]
        );
        assert_eq!(terms("საქართველო, რუსეთი"), vec!["საქართველო", "რუსეთი"]);
    }
}
