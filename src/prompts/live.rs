//! The prompts readers can be shown, held in memory per cache generation, so that choosing one
//! for a page costs no database read. Every prompt change moves the content version (through
//! the audit log), which starts a new generation on every node within `CONTENT_FRESHNESS_MS`;
//! windows opening and closing are checked against the clock on every request.

use std::sync::Arc;

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::cache::{Generational, GenerationalMap};
use crate::db::schema::{article_tags, articles, donation_prompts, published_translations, tags};
use crate::db::{now, DbConn};
use crate::db_run;
use crate::error::AppResult;
use crate::languages::{self, Language};
use crate::prompts::{
    complete, in_window, split_list, Placement, PromptRow, PromptStatus, PromptText,
};

/// An active prompt, ready to be matched against a page.
#[derive(Debug)]
pub struct LivePrompt {
    pub id: i64,
    pub placement: Placement,
    pub languages: Vec<String>,
    pub article_types: Vec<String>,
    pub tags: Vec<String>,
    pub excluded_tags: Vec<String>,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub priority: i32,
    pub weight: i32,
    pub hints: serde_json::Value,
    pub texts: Vec<PromptText>,
}

impl LivePrompt {
    /// Its text in the first language of `chain` that has one, else in any.
    pub fn text_for(&self, chain: &[String]) -> Option<&PromptText> {
        chain
            .iter()
            .find_map(|l| self.texts.iter().find(|t| &t.lang == l))
            .or_else(|| self.texts.first())
    }

    /// Whether a reader of `lang` could be shown the prompt at `at`: what an event about it
    /// must be, to be counted.
    pub fn shown_to(&self, lang: &str, at: NaiveDateTime) -> bool {
        in_window(self.starts_at, self.ends_at, at)
            && (self.languages.is_empty() || self.languages.iter().any(|l| l == lang))
    }

    fn matches(&self, page: &Page, at: NaiveDateTime) -> bool {
        self.placement == page.placement
            && in_window(self.starts_at, self.ends_at, at)
            && (self.languages.is_empty() || self.languages.iter().any(|l| l == page.lang))
            && (self.article_types.is_empty()
                || page
                    .article_type
                    .is_some_and(|k| self.article_types.iter().any(|t| t == k)))
            && (self.tags.is_empty() || self.tags.iter().any(|t| page.tags.contains(t)))
            && !self.excluded_tags.iter().any(|t| page.tags.contains(t))
    }
}

/// What a prompt is chosen for: a placement on a page in a language, about a story with these
/// tags and this type (or about none).
#[derive(Debug)]
pub struct Page<'a> {
    pub lang: &'a str,
    pub placement: Placement,
    pub tags: &'a [String],
    pub article_type: Option<&'a str>,
}

/// The active prompts and the enabled languages, as read in one cache generation.
#[derive(Debug)]
pub struct LiveSet {
    pub prompts: Vec<LivePrompt>,
    languages: Vec<Language>,
}

impl LiveSet {
    pub fn load(conn: &mut DbConn) -> AppResult<LiveSet> {
        let rows: Vec<PromptRow> = db_run!(conn, |c| donation_prompts::table
            .filter(donation_prompts::status.eq(PromptStatus::Active.as_str()))
            .select(PromptRow::as_select())
            .order(donation_prompts::id)
            .load(c))?;
        let prompts = complete(conn, rows)?
            .into_iter()
            .map(|p| LivePrompt {
                id: p.row.id,
                placement: Placement::parse(&p.row.placement).unwrap_or(Placement::ArticleEnd),
                languages: split_list(&p.row.languages),
                article_types: split_list(&p.row.article_types),
                tags: p.tags,
                excluded_tags: p.excluded_tags,
                starts_at: p.row.starts_at,
                ends_at: p.row.ends_at,
                priority: p.row.priority,
                weight: p.row.weight,
                hints: serde_json::from_str(&p.row.hints).unwrap_or_default(),
                texts: p.texts,
            })
            .collect();
        Ok(LiveSet {
            prompts,
            languages: languages::list(conn, true)?,
        })
    }

    /// The fallback chain of `lang` (any case: `EN` is `en`); `None` when it is not an enabled
    /// language.
    pub fn chain(&self, lang: &str) -> Option<Vec<String>> {
        languages::chain(&self.languages, lang)
    }

    pub fn find(&self, id: i64) -> Option<&LivePrompt> {
        self.prompts.iter().find(|p| p.id == id)
    }

    /// The prompts eligible for `page` at `at`: highest priority first, then heaviest.
    pub fn eligible(&self, page: &Page, at: NaiveDateTime) -> Vec<&LivePrompt> {
        let mut out: Vec<&LivePrompt> = self
            .prompts
            .iter()
            .filter(|p| p.matches(page, at))
            .collect();
        out.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then(b.weight.cmp(&a.weight))
                .then(a.id.cmp(&b.id))
        });
        out
    }

    /// The next moment after `at` when a prompt's window opens or closes: until then, what
    /// is eligible stays as it is.
    pub fn next_change(&self, at: NaiveDateTime) -> Option<NaiveDateTime> {
        self.prompts
            .iter()
            .flat_map(|p| [p.starts_at, p.ends_at])
            .flatten()
            .filter(|t| *t > at)
            .min()
    }
}

/// Picks one of `eligible` (ordered as [`LiveSet::eligible`] orders them): among those of the
/// highest priority, in proportion to their weights. The same `seed` picks the same prompt for
/// as long as the candidates are the same, and a prompt joining or leaving only moves the seeds
/// it wins or loses (weighted rendezvous hashing).
pub fn pick<'a>(eligible: &[&'a LivePrompt], seed: &str) -> Option<&'a LivePrompt> {
    let top = eligible.first()?.priority;
    eligible
        .iter()
        .take_while(|p| p.priority == top)
        .map(|p| (score(seed, p.id, p.weight), *p))
        .min_by(|(a, pa), (b, pb)| a.total_cmp(b).then(pa.id.cmp(&pb.id)))
        .map(|(_, p)| p)
}

/// `-ln(u) / weight` for a uniform `u` in (0, 1] drawn from (`seed`, `id`): the smallest score
/// wins, and a prompt wins with probability weight / total weight.
fn score(seed: &str, id: i64, weight: i32) -> f64 {
    let h = stable_hash(seed.as_bytes(), id);
    let u = ((h >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    -u.ln() / f64::from(weight.max(1))
}

/// FNV-1a over the bytes and the id, finished with SplitMix64's mixer: the same on every node
/// and every build, so a reader keeps their prompt across nodes and upgrades.
fn stable_hash(bytes: &[u8], id: i64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes.iter().chain(id.to_le_bytes().iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A published story's type and tags, which targeting looks at.
#[derive(Debug, Clone)]
pub struct StoryContext {
    pub translation_id: i64,
    pub article_type: String,
    pub tags: Vec<String>,
}

impl StoryContext {
    /// The story published in `lang` under `slug`, if there is one.
    pub fn load(conn: &mut DbConn, lang: &str, slug: &str) -> AppResult<Option<StoryContext>> {
        use published_translations as pt;
        let found: Option<(i64, i64, String)> = db_run!(conn, |c| pt::table
            .inner_join(articles::table.on(articles::id.eq(pt::article_id)))
            .filter(pt::lang.eq(lang))
            .filter(pt::slug.eq(slug))
            .select((pt::id, pt::article_id, articles::kind))
            .first(c)
            .optional())?;
        let Some((translation_id, article_id, article_type)) = found else {
            return Ok(None);
        };
        let tags: Vec<String> = db_run!(conn, |c| article_tags::table
            .inner_join(tags::table)
            .filter(article_tags::article_id.eq(article_id))
            .select(tags::slug)
            .load(c))?;
        Ok(Some(StoryContext {
            translation_id,
            article_type,
            tags,
        }))
    }
}

/// Story contexts kept at most per generation; beyond, the memory starts afresh.
const MAX_STORIES: usize = 20_000;

/// This node's live prompts and the story contexts read for them, for one cache generation.
pub struct LiveCache {
    set: Generational<LiveSet>,
    /// By (language, slug); `None` when no story is published there.
    stories: GenerationalMap<(String, String), Option<Arc<StoryContext>>>,
}

impl Default for LiveCache {
    fn default() -> Self {
        LiveCache {
            set: Generational::default(),
            stories: GenerationalMap::new(MAX_STORIES),
        }
    }
}

impl LiveCache {
    /// The live set of `generation`, if it has been read.
    pub fn set(&self, generation: u64) -> Option<Arc<LiveSet>> {
        self.set.peek(generation)
    }

    /// The live set of `generation`: the one kept, or one read now.
    pub fn set_or_load(&self, conn: &mut DbConn, generation: u64) -> AppResult<Arc<LiveSet>> {
        self.set.get(generation, || LiveSet::load(conn))
    }

    /// `Some(None)` when the story is known not to be published in `lang` under `slug`.
    pub fn story(
        &self,
        generation: u64,
        lang: &str,
        slug: &str,
    ) -> Option<Option<Arc<StoryContext>>> {
        self.stories
            .get(generation, &(lang.to_owned(), slug.to_owned()))
    }

    pub fn keep_story(
        &self,
        generation: u64,
        lang: &str,
        slug: &str,
        story: Option<Arc<StoryContext>>,
    ) {
        self.stories
            .put(generation, (lang.to_owned(), slug.to_owned()), story);
    }
}

/// A prompt as readers see it, in one language.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicPrompt {
    pub id: i64,
    pub placement: Placement,
    /// The language of the text: the one asked for, or one from its fallback chain.
    #[schema(example = "ka")]
    pub lang: String,
    /// Plain text: frontends escape it; it never holds markup.
    pub headline: String,
    /// Sanitized HTML.
    pub body: String,
    /// Plain text: frontends escape it; it never holds markup.
    pub button_label: String,
    pub target_url: String,
    /// Show prompts of the highest priority first.
    pub priority: i32,
    /// Rotate between prompts of the same priority in proportion to their weights.
    pub weight: i32,
    #[schema(value_type = Object)]
    pub hints: serde_json::Value,
    /// When it stops being shown, if it does.
    pub ends_at: Option<DateTime<Utc>>,
    /// Where to send `impression`, `click` and `dismiss` events.
    #[schema(example = "/api/v1/donation-prompts/3/events")]
    pub events_url: String,
}

impl PublicPrompt {
    pub fn new(p: &LivePrompt, chain: &[String]) -> Option<PublicPrompt> {
        let text = p.text_for(chain)?;
        Some(PublicPrompt {
            id: p.id,
            placement: p.placement,
            lang: text.lang.clone(),
            headline: text.headline.clone(),
            body: text.body.clone(),
            button_label: text.button_label.clone(),
            target_url: text.target_url.clone(),
            priority: p.priority,
            weight: p.weight,
            hints: p.hints.clone(),
            ends_at: p.ends_at.map(|t| t.and_utc()),
            events_url: format!("/api/v1/donation-prompts/{}/events", p.id),
        })
    }
}

/// How long what is eligible now stays so: until the next window opens or closes.
pub fn stays_for(set: &LiveSet, at: NaiveDateTime) -> Option<Duration> {
    set.next_change(at).map(|t| {
        (t - at)
            .to_std()
            .unwrap_or_default()
            .max(Duration::from_millis(1))
    })
}

/// The prompt resolved for an article page, for the article endpoint's
/// `include=donation_prompt`: rotated by story, so readers of different stories see
/// different prompts. Also returns how long the choice holds.
pub fn for_article(
    conn: &mut DbConn,
    live: &LiveCache,
    generation: u64,
    chain: &[String],
    placement: Placement,
    story: &StoryContext,
) -> AppResult<(Option<PublicPrompt>, Option<Duration>)> {
    let set = live.set_or_load(conn, generation)?;
    let at = now();
    let page = Page {
        lang: &chain[0],
        placement,
        tags: &story.tags,
        article_type: Some(&story.article_type),
    };
    let eligible = set.eligible(&page, at);
    let chosen = pick(&eligible, &format!("article-{}", story.translation_id))
        .and_then(|p| PublicPrompt::new(p, chain));
    Ok((chosen, stays_for(&set, at)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(id: i64, priority: i32, weight: i32) -> LivePrompt {
        LivePrompt {
            id,
            placement: Placement::ArticleEnd,
            languages: Vec::new(),
            article_types: Vec::new(),
            tags: Vec::new(),
            excluded_tags: Vec::new(),
            starts_at: None,
            ends_at: None,
            priority,
            weight,
            hints: serde_json::Value::Null,
            texts: Vec::new(),
        }
    }

    #[test]
    fn rotation_follows_weights_and_is_stable_per_seed() {
        let (a, b) = (prompt(1, 0, 3), prompt(2, 0, 1));
        let eligible = [&a, &b];
        let wins = (0..20_000)
            .filter(|i| pick(&eligible, &format!("visitor-{i}")).unwrap().id == 1)
            .count();
        // 3:1 → 75%; the tolerance is far outside what 20,000 draws wander.
        assert!((14_400..=15_600).contains(&wins), "{wins}");
        for i in 0..100 {
            let seed = format!("v{i}");
            assert_eq!(
                pick(&eligible, &seed).unwrap().id,
                pick(&eligible, &seed).unwrap().id
            );
        }
    }

    #[test]
    fn a_prompt_joining_only_takes_the_seeds_it_wins() {
        let (a, b, c) = (prompt(1, 0, 1), prompt(2, 0, 1), prompt(3, 0, 1));
        for i in 0..2_000 {
            let seed = format!("v{i}");
            let before = pick(&[&a, &b], &seed).unwrap().id;
            let after = pick(&[&a, &b, &c], &seed).unwrap().id;
            assert!(after == before || after == 3);
        }
    }

    #[test]
    fn higher_priority_wins_whatever_the_weights() {
        let (low, high) = (prompt(1, 0, 1000), prompt(2, 5, 1));
        for i in 0..100 {
            assert_eq!(pick(&[&high, &low], &format!("{i}")).unwrap().id, 2);
        }
    }
}
