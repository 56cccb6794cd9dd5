//! Text for XML documents: escaped, and without what XML 1.0 cannot carry.

use chrono::{DateTime, SecondsFormat, Utc};

/// Whether XML 1.0 may carry `c`, and it means something to a reader: no control characters
/// but tab and line breaks (C1 controls are allowed by XML and shown by nobody), no
/// non-characters.
fn carried(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => true,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}' => false,
        _ => true,
    }
}

/// `raw` escaped for element text and attribute values alike.
pub fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + raw.len() / 8);
    push_text(&mut out, raw);
    out
}

/// Appends `raw`, escaped, to `out`.
pub fn push_text(out: &mut String, raw: &str) {
    // Most text in a sitemap (addresses, times) needs nothing: copied whole.
    let plain = raw
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && !matches!(b, b'&' | b'<' | b'>' | b'"' | b'\''));
    if plain {
        out.push_str(raw);
        return;
    }
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if carried(c) => out.push(c),
            _ => {}
        }
    }
}

/// `<name>text</name>`, escaped.
pub fn element(out: &mut String, name: &str, raw: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    push_text(out, raw);
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

/// A time as RFC 3339 (Atom, sitemaps, JSON Feed).
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A time as RFC 822 (RSS).
pub fn rfc822(at: DateTime<Utc>) -> String {
    at.to_rfc2822()
}

/// JSON text without what XML cannot carry either, for JSON Feed (whose readers often turn it
/// into XML or HTML).
pub fn clean(raw: &str) -> String {
    raw.chars().filter(|c| carried(*c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_entities_cdata_ends_and_control_characters_are_made_safe() {
        assert_eq!(
            text("a < b & \"c\" 'd' ]]> \u{0}\u{8}\u{1b}e\tf\u{85}"),
            "a &lt; b &amp; &quot;c&quot; &apos;d&apos; ]]&gt; e\tf"
        );
        assert_eq!(text("თბილისი Երևան"), "თბილისი Երևան");
    }
}
