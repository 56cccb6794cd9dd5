//! Media in a story's text: an editor writes `<img data-media-id="12">` (inside a `<figure>` if
//! they like), and readers are served the image's renditions, size and alt text in their
//! language. The body is stored as written; the image is filled in when the page is made, so
//! a changed alt text or a new rendition shows without rewriting any story.

use std::collections::HashMap;
use std::sync::Arc;

use crate::db::DbConn;
use crate::error::AppResult;
use crate::media::Item;

const ATTRIBUTE: &str = "data-media-id=\"";

/// Each `<img>` tag of `body` that names a media item: the tag's byte range and the id.
fn tags(body: &str) -> Vec<(usize, usize, i64)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = body[from..].find("<img") {
        let start = from + at;
        let Some(len) = body[start..].find('>') else {
            break;
        };
        let end = start + len + 1;
        let tag = &body[start..end];
        if let Some(p) = tag.find(ATTRIBUTE) {
            let digits: String = tag[p + ATTRIBUTE.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(id) = digits.parse::<i64>() {
                found.push((start, end, id));
            }
        }
        from = end;
    }
    found
}

/// The media ids `body` shows, each once, in order.
pub fn references(body: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = Vec::new();
    for (_, _, id) in tags(body) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The value of attribute `name` in `tag`, as written (still escaped).
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    let len = tag[at..].find('"')?;
    Some(&tag[at..at + len])
}

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// `body` as readers of `chain[0]` are shown it: its media images filled in ([`expand`]).
pub fn show(conn: &mut DbConn, body: String, chain: &[String], base: &str) -> AppResult<String> {
    let ids = references(&body);
    if ids.is_empty() {
        return Ok(body);
    }
    let items = crate::media::items(conn, &ids)?;
    Ok(expand(&body, &items, chain, base))
}

/// `body` with every media image filled in for readers of `chain[0]`: `src` (the default
/// rendition), `srcset` (every WebP width), `sizes`, `width`, `height` and the alt text in
/// their language. An image whose item is gone is left out. URLs start with `base`.
pub fn expand(body: &str, items: &HashMap<i64, Arc<Item>>, chain: &[String], base: &str) -> String {
    let found = tags(body);
    if found.is_empty() {
        return body.to_owned();
    }
    let mut out = String::with_capacity(body.len() + found.len() * 600);
    let mut last = 0;
    for (start, end, id) in found {
        out.push_str(&body[last..start]);
        last = end;
        let Some(item) = items.get(&id) else {
            continue;
        };
        let mut shown = item.shown(chain, &Default::default());
        shown.rebase(base);
        if shown.url.is_empty() {
            continue;
        }
        let tag = &body[start..end];
        out.push_str("<img src=\"");
        escape(&shown.url, &mut out);
        out.push('"');
        let webp: Vec<String> = shown
            .renditions
            .iter()
            .filter(|r| r.mime == "image/webp")
            .map(|r| format!("{} {}w", r.url, r.width))
            .collect();
        if !webp.is_empty() {
            out.push_str(" srcset=\"");
            escape(&webp.join(", "), &mut out);
            out.push_str("\" sizes=\"(max-width: 1280px) 100vw, 1280px\"");
        }
        if let (Some(w), Some(h)) = (shown.width, shown.height) {
            out.push_str(&format!(" width=\"{w}\" height=\"{h}\""));
        }
        out.push_str(" alt=\"");
        if shown.alt.is_empty() {
            // The alt the editor wrote in the tag, already escaped.
            out.push_str(attribute(tag, "alt").unwrap_or(""));
        } else {
            escape(&shown.alt, &mut out);
        }
        out.push_str("\" loading=\"lazy\" decoding=\"async\" data-media-id=\"");
        out.push_str(&id.to_string());
        out.push_str("\">");
    }
    out.push_str(&body[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_media_an_article_shows() {
        let body = r#"<p>a</p><figure><img data-media-id="12" alt="x"><figcaption>c</figcaption></figure><img src="https://x.example/a.png"><img alt="" data-media-id="7"><img data-media-id="12">"#;
        assert_eq!(references(body), vec![12, 7]);
        let empty = HashMap::new();
        let out = expand(body, &empty, &["en".into()], "https://m.example");
        assert!(!out.contains("data-media-id"), "{out}");
        assert!(out.contains(r#"<img src="https://x.example/a.png">"#));
    }
}
