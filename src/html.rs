//! Article and live-entry bodies: HTML sanitized on write under an allow-list that suits news,
//! and the plain text derived from it (excerpt, word count, reading time).
//!
//! Sanitizing on write, not on read, means every client (web, apps, partners) receives the same
//! safe markup and none of them has to be trusted to clean it.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use ammonia::{Builder, UrlRelative};

/// Words a reader gets through per minute, for reading time.
const WORDS_PER_MINUTE: usize = 200;
/// Characters of a derived excerpt, before the ellipsis.
const EXCERPT_CHARS: usize = 240;

const TAGS: &[&str] = &[
    "p",
    "br",
    "hr",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "em",
    "strong",
    "b",
    "i",
    "u",
    "s",
    "sub",
    "sup",
    "small",
    "mark",
    "abbr",
    "cite",
    "q",
    "time",
    "code",
    "pre",
    "span",
    "ul",
    "ol",
    "li",
    "blockquote",
    "figure",
    "figcaption",
    "img",
    "table",
    "caption",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "iframe",
];

/// Whether an attribute's URL is `http(s)://…` (in any case) or starts with `/` (a path, or
/// `//host/…` on the page's own scheme).
fn web_or_local(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://") || value.starts_with('/')
}

/// The sanitizer, configured once at start-up with the hosts whose embeds are allowed.
pub struct Sanitizer {
    builder: Builder<'static>,
}

impl Sanitizer {
    pub fn new(embed_hosts: &[String]) -> Self {
        let mut attributes: HashMap<&'static str, HashSet<&'static str>> = HashMap::new();
        let mut allow = |tag: &'static str, attrs: &[&'static str]| {
            attributes.insert(tag, attrs.iter().copied().collect());
        };
        allow("a", &["href", "title", "hreflang"]);
        allow(
            "img",
            &[
                "src",
                "alt",
                "title",
                "width",
                "height",
                "loading",
                "data-media-id",
            ],
        );
        allow(
            "iframe",
            &["src", "title", "width", "height", "allowfullscreen"],
        );
        allow("blockquote", &["cite"]);
        allow("q", &["cite"]);
        allow("abbr", &["title"]);
        allow("time", &["datetime"]);
        allow("th", &["scope", "colspan", "rowspan"]);
        allow("td", &["colspan", "rowspan"]);
        allow("ol", &["start", "reversed"]);
        let mut classes: HashMap<&'static str, HashSet<&'static str>> = HashMap::new();
        // The markers social networks put on a quoted post, so a frontend can render the embed.
        classes.insert(
            "blockquote",
            [
                "twitter-tweet",
                "instagram-media",
                "tiktok-embed",
                "pullquote",
            ]
            .into(),
        );
        classes.insert("figure", ["embed", "image", "table"].into());
        let hosts: HashSet<String> = embed_hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
        let mut builder = Builder::default();
        builder
            .tags(TAGS.iter().copied().collect())
            .clean_content_tags(["script", "style", "svg", "math", "template"].into())
            .generic_attributes(["lang", "dir"].into())
            .tag_attributes(attributes)
            .allowed_classes(classes)
            .url_schemes(["http", "https", "mailto", "tel"].into())
            .url_relative(UrlRelative::PassThrough)
            .link_rel(Some("noopener noreferrer"))
            .strip_comments(true)
            .set_tag_attribute_value(
                "iframe",
                "sandbox",
                "allow-scripts allow-same-origin allow-popups allow-presentation",
            )
            .set_tag_attribute_value(
                "iframe",
                "referrerpolicy",
                "strict-origin-when-cross-origin",
            )
            .set_tag_attribute_value("iframe", "loading", "lazy")
            .attribute_filter(move |element, attribute, value| {
                match (element, attribute) {
                    // An embed keeps its source only when it is https on an allowed host.
                    ("iframe", "src") => embed_host(value)
                        .filter(|host| hosts.contains(host))
                        .map(|_| Cow::Borrowed(value)),
                    // Images load over the network, never from inline data a filter can't see.
                    // A quotation's source is a URL too, though ammonia does not check it as
                    // one: only the web's schemes, or a path on this site.
                    ("img", "src") | ("blockquote" | "q", "cite") => {
                        web_or_local(value).then_some(Cow::Borrowed(value))
                    }
                    _ => Some(Cow::Borrowed(value)),
                }
            });
        // ammonia checks its configuration on first use, by panicking: do that use now, at
        // start-up, rather than in a request.
        builder.clean("");
        Sanitizer { builder }
    }

    /// The safe form of `html`, without control characters (ESC, NUL …; line breaks and tabs
    /// stay), which no other text field accepts either.
    pub fn clean(&self, html: &str) -> String {
        let printable = |c: char| !c.is_control() || matches!(c, '\n' | '\r' | '\t');
        if html.chars().all(printable) {
            return self.builder.clean(html).to_string();
        }
        let stripped: String = html.chars().filter(|c| printable(*c)).collect();
        self.builder.clean(&stripped).to_string()
    }
}

/// The lowercase host of an `https://` URL.
fn embed_host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('@') {
        return None;
    }
    let host = authority.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Elements that flow inside a line; every other tag separates words.
const INLINE: &[&str] = &[
    "a", "em", "strong", "b", "i", "u", "s", "sub", "sup", "small", "mark", "abbr", "cite", "q",
    "time", "code", "span",
];

/// The text of sanitized HTML, whitespace collapsed and entities decoded.
pub fn text_of(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let tag = &rest[open + 1..];
        // Find the end of the tag, skipping `>` inside quoted attribute values.
        let mut quote = None;
        let mut end = tag.len();
        for (i, c) in tag.char_indices() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '>') => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let name: String = tag[..end]
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if !INLINE.contains(&name.as_str()) {
            text.push(' ');
        }
        rest = tag.get(end + 1..).unwrap_or("");
    }
    text.push_str(rest);
    let decoded = decode_entities(&text);
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let entity = after.find(';').filter(|&i| i <= 10).map(|i| &after[1..i]);
        let decoded = entity.and_then(|e| match e {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => {
                let num = e.strip_prefix('#')?;
                let code = match num.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => num.parse().ok()?,
                };
                char::from_u32(code)
            }
        });
        match (decoded, entity) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = &after[e.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// At most the first `max` bytes of `text`, cut at a character boundary.
pub fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The first sentences of `text`, cut at a word boundary with an ellipsis when shortened.
pub fn excerpt(text: &str) -> String {
    // Plain text, like every text field but bodies: what the body showed as text (an escaped
    // `&lt;img …&gt;`) must not become markup here.
    if text.chars().count() <= EXCERPT_CHARS {
        return crate::text::without_markup(text);
    }
    let cut: String = text.chars().take(EXCERPT_CHARS).collect();
    let at_word = cut.rfind(' ').map_or(cut.as_str(), |i| &cut[..i]);
    crate::text::without_markup(&format!(
        "{}…",
        at_word.trim_end_matches([',', ';', ':', ' '])
    ))
}

pub fn word_count(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// Minutes to read `words`, at least one.
pub fn reading_minutes(words: usize) -> usize {
    words.div_ceil(WORDS_PER_MINUTE).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_separates_blocks_and_decodes_entities() {
        let html = r#"<h2>Talks</h2><p>Tbilisi &amp; <a href="/x" title="a>b">Moscow</a> met.</p><p>Again&nbsp;today &#1090;&#x44b;</p>"#;
        assert_eq!(text_of(html), "Talks Tbilisi & Moscow met. Again today ты");
        assert_eq!(word_count("Talks — Tbilisi & Moscow"), 3);
        assert_eq!(reading_minutes(0), 1);
        assert_eq!(reading_minutes(401), 3);
    }

    #[test]
    fn excerpts_cut_at_a_word() {
        let long = "word ".repeat(100);
        let e = excerpt(long.trim());
        assert!(e.ends_with("word…"), "{e}");
        assert!(e.chars().count() <= EXCERPT_CHARS + 1);
        assert_eq!(excerpt("Short."), "Short.");
    }

    #[test]
    fn embeds_survive_only_from_allowed_hosts_over_https() {
        let s = Sanitizer::new(&["www.youtube.com".to_owned()]);
        let ok = s.clean(r#"<iframe src="https://www.youtube.com/embed/x"></iframe>"#);
        assert!(
            ok.contains(r#"src="https://www.youtube.com/embed/x""#),
            "{ok}"
        );
        assert!(ok.contains("sandbox="), "{ok}");
        for bad in [
            "https://evil.example/embed",
            "http://www.youtube.com/embed/x",
            "https://www.youtube.com.evil.example/x",
            "https://user@www.youtube.com/x",
        ] {
            let out = s.clean(&format!(r#"<iframe src="{bad}"></iframe>"#));
            assert!(!out.contains("src="), "{bad} kept: {out}");
        }
    }

    #[test]
    fn quotation_sources_keep_only_web_urls() {
        let s = Sanitizer::new(&[]);
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
        ] {
            for tag in ["blockquote", "q"] {
                let out = s.clean(&format!(r#"<{tag} cite="{bad}">x</{tag}>"#));
                assert!(!out.contains("cite="), "{tag} kept {bad}: {out}");
            }
        }
        let ok = s.clean(r#"<blockquote cite="https://ok.example/source">x</blockquote>"#);
        assert!(ok.contains(r#"cite="https://ok.example/source""#), "{ok}");
    }

    #[test]
    fn control_characters_do_not_survive() {
        let s = Sanitizer::new(&[]);
        let out = s.clean("<p>Esc\u{1b}[31mape, nul\u{0} and del\u{7f}</p>\n<p>two\tlines</p>");
        assert_eq!(out, "<p>Esc[31mape, nul and del</p>\n<p>two\tlines</p>");
    }
}
