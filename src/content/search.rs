//! Search results' snippets: where a query's words were found in a result's text, marked. The
//! index itself, and the backend-specific statements that read it, are in [`crate::db::search`].

use serde_json::value::RawValue;

use crate::db::search::terms;
use crate::db::DbConn;
use crate::error::AppResult;

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
            let lead = crate::articles::projections::cards::lead(&body);
            (id, marker.snippet(lead.as_bytes()))
        })
        .collect())
}

/// What a search marks in its results' snippets: the forms its words are looked for in, as it
/// is, Capitalised and in CAPITALS, each with its substring searcher, made once for all of a
/// page's results: a substring search for each form is much cheaper than comparing every
/// character of a result's text regardless of case.
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
    /// lead is kilobytes long and its snippet 200 characters. Text that is not UTF-8 is read
    /// with replacement characters.
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
