//! Sitemaps for search engines: an index, a sitemap per language and page (stories in the
//! order they were written, so a page's contents stay put as stories are added) with every
//! translation's `hreflang` alternates, and a Google News sitemap per language. Every
//! location is on the newsroom's site (`PUBLIC_SITE_URL`), which serves `/sitemap.xml` and
//! `/sitemaps/…` from here.

use std::collections::HashMap;

use chrono::{NaiveDateTime, Utc};
use diesel::dsl::{count_star, max};
use diesel::prelude::*;

use crate::config::Config;
use crate::content::queries::canonical_url;
use crate::db::schema::published_translations as pt;
use crate::db::{specific, DbConn};
use crate::db_run;
use crate::error::{AppError, AppResult};
use crate::feeds::xml::{element, push_text, rfc3339};
use crate::languages::Language;

/// Stories a Google News sitemap holds at most, and how recent they must be.
const NEWS_MAX: i64 = 1000;
const NEWS_HOURS: i64 = 48;

/// What `/sitemaps/{name}.xml` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sitemap {
    /// Page `n` (from 1) of a language's stories.
    Page { lang: String, n: i64 },
    /// A language's Google News sitemap.
    News { lang: String },
}

impl Sitemap {
    /// From `en-1` or `news-en`; 404 for anything else.
    pub fn parse(name: &str) -> AppResult<Sitemap> {
        let missing = || AppError::NotFound(format!("no sitemap `{}`", name.escape_debug()));
        if let Some(lang) = name.strip_prefix("news-") {
            return Ok(Sitemap::News {
                lang: lang.to_owned(),
            });
        }
        let (lang, n) = name.rsplit_once('-').ok_or_else(missing)?;
        let n: i64 = n.parse().map_err(|_| missing())?;
        if n < 1 {
            return Err(missing());
        }
        Ok(Sitemap::Page {
            lang: lang.to_owned(),
            n,
        })
    }
}

const XML_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// The index of every sitemap: each enabled language's pages and news sitemap.
pub fn index(
    conn: &mut DbConn,
    config: &Config,
    languages: &[Language],
) -> AppResult<(String, Option<NaiveDateTime>)> {
    let stats: HashMap<String, (i64, Option<NaiveDateTime>)> = db_run!(conn, |c| pt::table
        .group_by(pt::lang)
        .select((pt::lang, count_star(), max(pt::updated_at)))
        .load::<(String, i64, Option<NaiveDateTime>)>(c))?
    .into_iter()
    .map(|(lang, n, at)| (lang, (n, at)))
    .collect();
    let site = &config.public_site_url;
    let per_page = config.sitemap_urls as i64;
    let mut out = String::from(XML_HEAD);
    out.push_str("<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    let mut newest = None;
    for language in languages {
        let (count, at) = stats.get(&language.code).copied().unwrap_or((0, None));
        newest = newest.max(at);
        let pages = ((count + per_page - 1) / per_page).max(1);
        for n in 1..=pages {
            out.push_str("<sitemap>\n");
            element(
                &mut out,
                "loc",
                &format!("{site}/sitemaps/{}-{n}.xml", language.code),
            );
            if let Some(at) = at {
                element(&mut out, "lastmod", &rfc3339(at.and_utc()));
            }
            out.push_str("</sitemap>\n");
        }
        out.push_str("<sitemap>\n");
        element(
            &mut out,
            "loc",
            &format!("{site}/sitemaps/news-{}.xml", language.code),
        );
        out.push_str("</sitemap>\n");
    }
    out.push_str("</sitemapindex>\n");
    Ok((out, newest))
}

/// Page `n` (from 1) of `lang`'s stories, gzipped: 404 past the last page (the first page of a
/// language without stories is empty). Written straight into the compressor, a few thousand
/// stories at a time, so that a 50,000-URL page never stands whole in memory.
pub fn page(
    conn: &mut DbConn,
    config: &Config,
    languages: &[Language],
    lang: &str,
    n: i64,
) -> AppResult<(Vec<u8>, Option<NaiveDateTime>)> {
    use std::io::Write;
    let per_page = config.sitemap_urls as i64;
    let lang_owned = lang.to_owned();
    let rows: Vec<(i64, String, NaiveDateTime)> = db_run!(conn, |c| pt::table
        .filter(pt::lang.eq(&lang_owned))
        // A language has one translation of a story: the order of stories is the order of the
        // index of published translations by language and story, read without a sort.
        .order(pt::article_id)
        .offset((n - 1) * per_page)
        .limit(per_page)
        .select((pt::article_id, pt::slug, pt::updated_at))
        .load(c))?;
    if rows.is_empty() && n > 1 {
        return Err(AppError::NotFound(format!(
            "`{lang}` has no sitemap page {n}"
        )));
    }
    let failed = |e: std::io::Error| AppError::Internal(format!("sitemap: {e}"));
    let default = languages
        .iter()
        .find(|l| l.is_default)
        .map(|l| l.code.as_str());
    // The text is compressed on a thread of its own, a piece behind the one being written (and
    // the next piece's alternates read): a 50,000-URL page is built on two cores.
    let (pieces, compress) = std::sync::mpsc::sync_channel::<String>(1);
    let capacity = rows.len() * 64;
    std::thread::scope(|scope| {
        let compressor = scope.spawn(move || {
            let mut gz = flate2::write::GzEncoder::new(
                Vec::with_capacity(capacity),
                flate2::Compression::fast(),
            );
            for piece in compress {
                gz.write_all(piece.as_bytes())?;
            }
            gz.finish()
        });
        let written = write_urls(conn, &rows, &config.public_site_url, lang, default, pieces);
        let gzip = compressor
            .join()
            .map_err(|_| AppError::Internal("sitemap: the compressor panicked".into()))?
            .map_err(failed)?;
        Ok((gzip, written?))
    })
}

/// The `<urlset>` of `rows` (stories in `lang`), written into `pieces` a few thousand stories
/// at a time, each with its alternates; the newest `lastmod`. Stops early when the receiver
/// has (its error is then the answer); the receiver's loop ends when `pieces` is dropped here.
fn write_urls(
    conn: &mut DbConn,
    rows: &[(i64, String, NaiveDateTime)],
    site: &str,
    lang: &str,
    default: Option<&str>,
    pieces: std::sync::mpsc::SyncSender<String>,
) -> AppResult<Option<NaiveDateTime>> {
    let mut out = String::with_capacity(1024 * 1024);
    out.push_str(XML_HEAD);
    out.push_str(
        "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" \
         xmlns:xhtml=\"http://www.w3.org/1999/xhtml\">\n",
    );
    let mut newest = None;
    for chunk in rows.chunks(5_000) {
        let stories: Vec<i64> = chunk.iter().map(|r| r.0).collect();
        let mut alternates: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        for (story, alt_lang, slug) in specific::alternates(conn, &stories)? {
            alternates.entry(story).or_default().push((alt_lang, slug));
        }
        for (story, slug, updated) in chunk {
            newest = newest.max(Some(*updated));
            out.push_str("<url>\n");
            element(&mut out, "loc", &canonical_url(site, lang, slug));
            element(&mut out, "lastmod", &rfc3339(updated.and_utc()));
            let alts = alternates.get(story).map_or(&[][..], Vec::as_slice);
            for (alt_lang, alt_slug) in alts {
                hreflang(&mut out, alt_lang, &canonical_url(site, alt_lang, alt_slug));
            }
            if let Some((d, d_slug)) = alts.iter().find(|(l, _)| Some(l.as_str()) == default) {
                hreflang(&mut out, "x-default", &canonical_url(site, d, d_slug));
            }
            out.push_str("</url>\n");
        }
        let full = std::mem::replace(&mut out, String::with_capacity(1024 * 1024));
        if pieces.send(full).is_err() {
            return Ok(newest);
        }
    }
    out.push_str("</urlset>\n");
    // Refused only by a compressor that has stopped, with its error.
    let _ = pieces.send(out);
    Ok(newest)
}

fn hreflang(out: &mut String, lang: &str, href: &str) {
    out.push_str("<xhtml:link rel=\"alternate\" hreflang=\"");
    push_text(out, lang);
    out.push_str("\" href=\"");
    push_text(out, href);
    out.push_str("\"/>\n");
}

/// `lang`'s Google News sitemap: what was published in the last 48 hours, newest first.
pub fn news(conn: &mut DbConn, config: &Config, lang: &str) -> AppResult<String> {
    let since = Utc::now().naive_utc() - chrono::Duration::hours(NEWS_HOURS);
    let lang_owned = lang.to_owned();
    let rows: Vec<(String, String, NaiveDateTime)> = db_run!(conn, |c| pt::table
        .filter(pt::lang.eq(&lang_owned))
        .filter(pt::published_at.gt(since))
        .order((pt::published_at.desc(), pt::id.desc()))
        .limit(NEWS_MAX)
        .select((pt::slug, pt::title, pt::published_at))
        .load(c))?;
    let site = &config.public_site_url;
    let mut out = String::from(XML_HEAD);
    out.push_str(
        "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" \
         xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\">\n",
    );
    for (slug, title, published) in &rows {
        out.push_str("<url>\n");
        element(&mut out, "loc", &canonical_url(site, lang, slug));
        out.push_str("<news:news>\n<news:publication>\n");
        element(&mut out, "news:name", &config.newsroom_name);
        element(&mut out, "news:language", lang);
        out.push_str("</news:publication>\n");
        element(
            &mut out,
            "news:publication_date",
            &rfc3339(published.and_utc()),
        );
        element(&mut out, "news:title", title);
        out.push_str("</news:news>\n</url>\n");
    }
    out.push_str("</urlset>\n");
    Ok(out)
}
