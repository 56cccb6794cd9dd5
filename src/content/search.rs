//! Full-text search over published translations, in any of the newsroom's scripts. On SQLite,
//! two FTS5 indexes with the `unicode61` tokenizer over one table of documents: titles alone,
//! and titles with bodies. On PostgreSQL, `simple` `tsvector`s of the title and of the whole
//! text, each with a GIN index. This file is the one place that knows the difference; callers
//! see [`sync`], [`search`] and [`Marker`].

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::value::RawValue;

use crate::articles::translations::Translation;
use crate::articles::Status;
use crate::db::{Bind, DbConn, Kept};
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
            // The triggers on `search_documents` keep both FTS5 indexes in step.
            diesel::sql_query("DELETE FROM search_documents WHERE id = ?")
                .bind::<BigInt, _>(t.id)
                .execute(&mut **c)?;
            if published {
                diesel::sql_query(
                    "INSERT INTO search_documents (id, title, body) VALUES (?, ?, ?)",
                )
                .bind::<BigInt, _>(t.id)
                .bind::<Text, _>(&title)
                .bind::<Text, _>(&body)
                .execute(&mut **c)?;
            }
        }
        DbConn::Postgres(c) => {
            if published {
                diesel::sql_query(
                    "INSERT INTO search_index (translation_id, lang, title, document) \
                     VALUES ($1, $2, to_tsvector('simple', $3), \
                             setweight(to_tsvector('simple', $3), 'A') || setweight(to_tsvector('simple', $4), 'B')) \
                     ON CONFLICT (translation_id) DO UPDATE \
                     SET lang = EXCLUDED.lang, title = EXCLUDED.title, document = EXCLUDED.document",
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
        DbConn::Sqlite(c) => diesel::sql_query("DELETE FROM search_documents WHERE id = ?")
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
/// FTS5 answers a prefix by reading the whole list of documents of every word that begins
/// with it before it can return the first match: 4.5 ms for a word in 21,000 documents, in a
/// search that otherwise takes well under one. So on SQLite the words are looked up in the
/// index's vocabulary (`search_text_terms`), and the query names them: FTS5 then reads each
/// list only as far as the page needs, and in most searches there is no other word at all.
/// The vocabulary holds words as the tokenizer folds them; a word it would fold differently
/// from how it was typed (a Latin letter with a diacritic: `ü` is kept as `u`) is left to FTS5.
/// PostgreSQL's GIN index answers a prefix without that cost.
fn completions(conn: &mut DbConn, word: &str) -> AppResult<Option<Last>> {
    let DbConn::Sqlite(c) = conn else {
        return Ok(Some(Last::Prefix));
    };
    if !folds_as_typed(word) {
        return Ok(Some(Last::Prefix));
    }
    let upto = format!("{word}{}", char::MAX);
    let limit = MAX_COMPLETIONS as i64 + 1;
    let terms: Vec<String> = Kept {
        sql: &[
            "SELECT term FROM search_text_terms WHERE term >= ",
            " AND term < ",
            " ORDER BY term LIMIT ",
            "",
        ],
        binds: vec![Bind::Text(word), Bind::Text(&upto), Bind::Int(limit)],
    }
    .load::<Term>(&mut **c)?
    .into_iter()
    .map(|t| t.term)
    .collect();
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
                     WHERE title @@ to_tsquery('simple', $1) AND lang = $2 \
                     ORDER BY translation_id DESC LIMIT $3"
                }
                Scope::Everything => {
                    "SELECT translation_id AS id FROM search_index \
                     WHERE document @@ to_tsquery('simple', $1) AND lang = $2 \
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

/// A highlighted snippet of each of `ids` for the query `q`: where its words were found in
/// the first part of the body, with `<mark>` around them, as safe HTML. (FTS5's own snippet()
/// costs milliseconds a document on a large archive: it reads every position of a common
/// word's long doclist.)
pub fn snippets(
    conn: &mut DbConn,
    q: &str,
    ids: &[i64],
) -> AppResult<std::collections::HashMap<i64, String>> {
    let marker = Marker::new(q);
    if marker.forms.is_empty() || ids.is_empty() {
        return Ok(Default::default());
    }
    let bodies = crate::content::queries::bodies(conn, ids)?;
    Ok(bodies
        .into_iter()
        .map(|(id, body)| {
            let lead = crate::content::cards::lead(&body);
            (id, marker.snippet(lead.as_bytes()))
        })
        .collect())
}

/// What a search marks in its results' snippets: the forms its words are looked for in, as it
/// is, Capitalised and in CAPITALS, each with its substring searcher, made once for all of a
/// page's results. Substring searches for each form, where comparing every character
/// regardless of case was a tenth of a search's time.
pub struct Marker {
    forms: Vec<memchr::memmem::Finder<'static>>,
}

impl Marker {
    pub fn new(q: &str) -> Self {
        let mut forms: Vec<String> = Vec::new();
        for w in terms(q) {
            let mut chars = w.chars();
            let capitalised: String = chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            let capitals = w.to_uppercase();
            forms.extend([w, capitalised, capitals]);
        }
        forms.retain(|f| !f.is_empty());
        forms.sort();
        forms.dedup();
        Marker {
            forms: forms
                .iter()
                .map(|f| memchr::memmem::Finder::new(f.as_bytes()).into_owned())
                .collect(),
        }
    }

    /// About 200 characters of `text` around the first query word, with every query word
    /// wrapped in `<mark>`; the text is escaped, so the snippet is safe HTML. A word is found
    /// as written in lowercase, Capitalised or in CAPITALS, at the start of a word of the text.
    ///
    /// `text` is UTF-8 as the database stores it, and only the window is decoded: a result's
    /// lead is kilobytes long and its snippet 200 characters, and decoding every lead was a
    /// twentieth of a search. Text that is not UTF-8 is read with replacement characters.
    pub fn snippet(&self, text: &[u8]) -> String {
        self.cut(text, false)
    }

    /// [`Marker::snippet`] as the JSON string a response holds, escaped for HTML and for JSON
    /// in one pass over the text (a page of results in Georgian carries ten kilobytes of
    /// snippets), and copied into the response as it stands.
    pub fn snippet_json(&self, text: &[u8]) -> serde_json::Result<Box<RawValue>> {
        RawValue::from_string(self.cut(text, true))
    }

    /// The snippet, as HTML, or with `json` as a JSON string of that HTML.
    fn cut(&self, text: &[u8], json: bool) -> String {
        const WIDTH: usize = 200;
        const BEFORE: usize = 60;
        let first = self
            .forms
            .iter()
            .filter_map(|f| word_starts(text, f, 0, text.len()).next())
            .min();
        let start = first.map_or(0, |at| chars_back(text, at, BEFORE));
        let end = chars_forward(text, start, WIDTH);
        let Ok(window) = std::str::from_utf8(&text[start..end]) else {
            // Never from the database, which only holds what Newsdesk wrote; made valid
            // first, so that every offset falls between characters.
            return self.cut(String::from_utf8_lossy(text).as_bytes(), json);
        };
        // The words found, in the window's offsets. A match of UTF-8 in UTF-8 begins and
        // ends between characters, so slicing the window there cannot fail.
        let part = |from: usize, to: usize| window.get(from - start..to - start).unwrap_or("");
        let mut out = String::with_capacity(end - start + 64);
        if json {
            out.push('"');
        }
        if start > 0 {
            out.push('…');
        }
        let mut i = start;
        for (from, to) in self.occurrences(text, start, end) {
            escape_into(&mut out, part(i, from), json);
            out.push_str("<mark>");
            escape_into(&mut out, part(from, to), json);
            out.push_str("</mark>");
            i = to;
        }
        escape_into(&mut out, part(i, end), json);
        if end < text.len() {
            out.push('…');
        }
        if json {
            out.push('"');
        }
        out
    }

    /// Where the forms occur within `text[from..to]` at the start of a word, as byte ranges in
    /// order, the longest where two start together, none overlapping.
    fn occurrences(&self, text: &[u8], from: usize, to: usize) -> Vec<(usize, usize)> {
        let mut found: Vec<(usize, usize)> = self
            .forms
            .iter()
            .flat_map(|f| word_starts(text, f, from, to).map(|at| (at, at + f.needle().len())))
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
}

/// Whether `b` starts a character in UTF-8 (is not a continuation byte).
fn starts_char(b: u8) -> bool {
    b & 0xC0 != 0x80
}

/// The character of UTF-8 `text` that ends where `at` begins.
fn char_before(text: &[u8], at: usize) -> Option<char> {
    let from = (at.saturating_sub(4)..at)
        .rev()
        .find(|&i| starts_char(text[i]))?;
    std::str::from_utf8(&text[from..at]).ok()?.chars().next()
}

/// Where the character `n` characters before `at` starts, or 0.
fn chars_back(text: &[u8], at: usize, n: usize) -> usize {
    (0..at)
        .rev()
        .filter(|&i| starts_char(text[i]))
        .nth(n - 1)
        .unwrap_or(0)
}

/// Where the character `n` characters after the one at `from` starts, or the end.
fn chars_forward(text: &[u8], from: usize, n: usize) -> usize {
    (from..text.len())
        .filter(|&i| starts_char(text[i]))
        .nth(n)
        .unwrap_or(text.len())
}

/// Where `form` stands in `text[from..to]` at the start of a word, as byte offsets in `text`.
/// (A match of valid UTF-8 in valid UTF-8 starts on a character boundary.)
fn word_starts<'a>(
    text: &'a [u8],
    form: &'a memchr::memmem::Finder<'static>,
    from: usize,
    to: usize,
) -> impl Iterator<Item = usize> + 'a {
    form.find_iter(&text[from..to])
        .map(move |i| from + i)
        .filter(move |&at| !char_before(text, at).is_some_and(char::is_alphanumeric))
}

/// Appends `text` to `out` as HTML text, and with `json` as the inside of a JSON string of
/// it, escaped as serde_json escapes (a test compares the two). The bytes escaped are ASCII,
/// which never occurs inside a multi-byte character, so the text is copied in runs between
/// them.
fn escape_into(out: &mut String, text: &str, json: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut unicode = *b"\\u0000";
    let mut copied = 0;
    for (i, b) in text.bytes().enumerate() {
        let escaped = match b {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'"' => "&quot;",
            b'\\' if json => "\\\\",
            0x08 if json => "\\b",
            b'\t' if json => "\\t",
            b'\n' if json => "\\n",
            0x0C if json => "\\f",
            b'\r' if json => "\\r",
            0x00..=0x1F if json => {
                unicode[4] = HEX[usize::from(b >> 4)];
                unicode[5] = HEX[usize::from(b & 0xF)];
                std::str::from_utf8(&unicode).unwrap_or_default()
            }
            _ => continue,
        };
        out.push_str(&text[copied..i]);
        out.push_str(escaped);
        copied = i + 1;
    }
    out.push_str(&text[copied..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snippet(text: &str, q: &str) -> String {
        Marker::new(q).snippet(text.as_bytes())
    }

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

    #[test]
    fn snippets_as_json_are_the_snippets_serde_json_would_write() {
        let texts = [
            "In Tbilisi \"quotes\" and a back\\slash, <b>tags</b> & amps",
            "lines\nand\ttabs\r, a bell \u{7} and \u{1f}, \u{8}\u{c} \u{7f}",
            "თბილისი და \"ერევანი\"\n",
            &format!("{} Tbilisi\\ {}", "a\tb ".repeat(80), "c\"d ".repeat(80)),
        ];
        for text in texts {
            let marker = Marker::new("tbilisi თბილისი and");
            assert_eq!(
                marker.snippet_json(text.as_bytes()).unwrap().get(),
                serde_json::to_string(&marker.snippet(text.as_bytes())).unwrap(),
                "{text:?}"
            );
        }
        let broken = [b"x\\\"".as_slice(), &[0xFF], b"\ny"].concat();
        let marker = Marker::new("y");
        assert_eq!(
            marker.snippet_json(&broken).unwrap().get(),
            serde_json::to_string(&marker.snippet(&broken)).unwrap()
        );
    }

    #[test]
    fn snippets_are_cut_between_characters_of_any_script_and_survive_broken_bytes() {
        let marker = Marker::new("თბილისი");
        // Three bytes a letter: the window must start and end between letters.
        let text = format!("{} თბილისი {}", "ა".repeat(300), "ბ".repeat(300));
        let s = marker.snippet(text.as_bytes());
        assert_eq!(
            s,
            format!(
                "…{} <mark>თბილისი</mark> {}…",
                "ა".repeat(59),
                "ბ".repeat(132)
            )
        );
        // A word that follows a letter of another script is inside a word, not at its start.
        assert_eq!(marker.snippet("xთბილისი".as_bytes()), "xთბილისი");
        // Bytes that are not UTF-8 are read with replacement characters, never a panic.
        let mut broken = b"Before \xE1\x83 ".to_vec();
        broken.extend_from_slice("თბილისი <b>".as_bytes());
        assert_eq!(
            marker.snippet(&broken),
            "Before \u{FFFD} <mark>თბილისი</mark> &lt;b&gt;"
        );
        assert_eq!(marker.snippet(&[0xFF, b'a']), "\u{FFFD}a");
    }
}
