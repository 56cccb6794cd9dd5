//! `newsdesk seed`: a newsroom's archive for benchmarks. Stories published over the past year
//! in up to five languages, with bodies of 3–8 KB, 5–10 tags each (a few tags much more common
//! than the rest, as in a real archive), bylines and an initial revision, written in large
//! batches. Deterministic for a given `--seed`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::articles::changes::Change;
use crate::articles::translations::Translation;
use crate::articles::Status;
use crate::auth::Role;
use crate::db::schema::{
    article_bylines, article_tags, articles, revisions, translation_slugs, translations,
};
use crate::db::search::WordsLater;
use crate::db::{now, Database, DbConn};
use crate::db_run;
use crate::error::AppResult;
use crate::html;
use crate::languages;
use crate::slug::Slug;
use crate::tags::{self, NameInput};
use crate::users::{self, Email};

const TAGS: usize = 200;
const JOURNALISTS: usize = 20;
const BATCH: usize = 200;
const PROMPTS: usize = 24;

/// Words to write with, per language. Only their shapes matter: scripts, lengths, spaces.
fn words(lang: &str) -> &'static [&'static str] {
    match lang {
        "ru" => &[
            "правительство",
            "заявило",
            "переговоры",
            "граница",
            "министр",
            "встреча",
            "регион",
            "экономика",
            "выборы",
            "парламент",
            "город",
            "жители",
            "дорога",
            "цены",
            "закон",
            "решение",
            "страна",
            "соседи",
            "торговля",
            "энергия",
            "школа",
            "больница",
            "суд",
            "президент",
            "оппозиция",
            "бюджет",
            "реформа",
            "доклад",
            "эксперты",
            "неделя",
            "сегодня",
            "вчера",
            "новый",
            "важный",
            "местный",
            "общий",
            "проект",
            "власти",
        ],
        "ka" => &[
            "მთავრობა",
            "განაცხადა",
            "მოლაპარაკება",
            "საზღვარი",
            "მინისტრი",
            "შეხვედრა",
            "რეგიონი",
            "ეკონომიკა",
            "არჩევნები",
            "პარლამენტი",
            "ქალაქი",
            "მოსახლეობა",
            "გზა",
            "ფასები",
            "კანონი",
            "გადაწყვეტილება",
            "ქვეყანა",
            "მეზობლები",
            "ვაჭრობა",
            "ენერგია",
            "სკოლა",
            "საავადმყოფო",
            "სასამართლო",
            "პრეზიდენტი",
            "ოპოზიცია",
            "ბიუჯეტი",
            "რეფორმა",
            "მოხსენება",
            "ექსპერტები",
            "კვირა",
            "დღეს",
            "გუშინ",
            "ახალი",
        ],
        "hy" => &[
            "կառավարությունը",
            "հայտարարեց",
            "բանակցություններ",
            "սահման",
            "նախարար",
            "հանդիպում",
            "տարածաշրջան",
            "տնտեսություն",
            "ընտրություններ",
            "խորհրդարան",
            "քաղաք",
            "բնակիչներ",
            "ճանապարհ",
            "գներ",
            "օրենք",
            "որոշում",
            "երկիր",
            "հարևաններ",
            "առևտուր",
            "էներգիա",
            "դպրոց",
            "հիվանդանոց",
            "դատարան",
            "նախագահ",
            "ընդդիմություն",
            "բյուջե",
            "բարեփոխում",
            "զեկույց",
            "փորձագետներ",
            "շաբաթ",
            "այսօր",
            "երեկ",
            "նոր",
        ],
        "az" => &[
            "hökumət",
            "bildirdi",
            "danışıqlar",
            "sərhəd",
            "nazir",
            "görüş",
            "region",
            "iqtisadiyyat",
            "seçkilər",
            "parlament",
            "şəhər",
            "sakinlər",
            "yol",
            "qiymətlər",
            "qanun",
            "qərar",
            "ölkə",
            "qonşular",
            "ticarət",
            "enerji",
            "məktəb",
            "xəstəxana",
            "məhkəmə",
            "prezident",
            "müxalifət",
            "büdcə",
            "islahat",
            "hesabat",
            "ekspertlər",
            "həftə",
            "bu gün",
            "dünən",
        ],
        _ => &[
            "government",
            "said",
            "talks",
            "border",
            "minister",
            "meeting",
            "region",
            "economy",
            "election",
            "parliament",
            "city",
            "residents",
            "road",
            "prices",
            "law",
            "decision",
            "country",
            "neighbours",
            "trade",
            "energy",
            "school",
            "hospital",
            "court",
            "president",
            "opposition",
            "budget",
            "reform",
            "report",
            "experts",
            "week",
            "today",
            "yesterday",
            "new",
            "important",
            "local",
            "shared",
            "project",
            "authorities",
            "agreement",
            "crossing",
        ],
    }
}

/// Letters each language's made-up words are built from: consonants, then vowels.
fn letters(lang: &str) -> (&'static str, &'static str) {
    match lang {
        "ru" => ("бвгджзклмнпрстфхцчш", "аеиоуыяю"),
        "ka" => ("ბგდვზთკლმნპრსტფქღყშჩცძწჭხჯჰ", "აეიოუ"),
        "hy" => ("բգդզթժլխծկհձղճմյնշչպջռսվտրցփքֆ", "աեէըիոօ"),
        "az" => ("bcçdfgğhxjkqlmnprsştvyz", "aeəiıoöuü"),
        _ => ("bcdfghklmnprstvwz", "aeiou"),
    }
}

/// A newsroom language's vocabulary: its common words, then tens of thousands of made-up
/// words in its script, drawn with a long tail as words are in real text, so that search
/// meets both words in every story and words in a few.
struct Vocabulary {
    words: std::collections::HashMap<String, Vec<String>>,
}

impl Vocabulary {
    const MADE_UP: usize = 30_000;

    fn new(langs: &[String]) -> Self {
        let mut words = std::collections::HashMap::new();
        for lang in langs {
            let mut rng = StdRng::seed_from_u64(lang.bytes().map(u64::from).sum());
            let (consonants, vowels) = letters(lang);
            let consonants: Vec<char> = consonants.chars().collect();
            let vowels: Vec<char> = vowels.chars().collect();
            let mut list: Vec<String> = self::words(lang).iter().map(|w| (*w).to_owned()).collect();
            let mut seen: std::collections::HashSet<String> = list.iter().cloned().collect();
            while list.len() < Self::MADE_UP {
                let mut w = String::new();
                for _ in 0..rng.gen_range(2..=4) {
                    w.push(consonants[rng.gen_range(0..consonants.len())]);
                    w.push(vowels[rng.gen_range(0..vowels.len())]);
                    if rng.gen_bool(0.3) {
                        w.push(consonants[rng.gen_range(0..consonants.len())]);
                    }
                }
                if seen.insert(w.clone()) {
                    list.push(w);
                }
            }
            words.insert(lang.clone(), list);
        }
        Vocabulary { words }
    }

    fn word<'a>(&'a self, rng: &mut StdRng, lang: &str) -> &'a str {
        let list = &self.words[lang];
        let u: f64 = rng.gen();
        &list[((u.powi(4)) * list.len() as f64) as usize % list.len()]
    }

    fn sentence(&self, rng: &mut StdRng, lang: &str, min: usize, max: usize) -> String {
        let n = rng.gen_range(min..=max);
        let mut s = String::new();
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(self.word(rng, lang));
        }
        let mut chars = s.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
            None => s,
        }
    }
}

/// An HTML body of `3..=8` KB of paragraphs.
fn body(vocab: &Vocabulary, rng: &mut StdRng, lang: &str) -> String {
    let target = rng.gen_range(3 * 1024..=8 * 1024);
    let mut html = String::with_capacity(target + 512);
    while html.len() < target {
        html.push_str("<p>");
        for _ in 0..rng.gen_range(3..7) {
            html.push_str(&vocab.sentence(rng, lang, 8, 16));
            html.push_str(". ");
        }
        html.push_str("</p>");
        if rng.gen_bool(0.15) {
            html.push_str("<h2>");
            html.push_str(&vocab.sentence(rng, lang, 3, 6));
            html.push_str("</h2>");
        }
    }
    html
}

/// A readable slug that no other seeded story in the language has.
fn unique_slug(title: &str, seed: u64, index: usize) -> String {
    let base = Slug::from_text(title).map_or_else(|| "story".to_owned(), Slug::into_string);
    let base = base[..base.len().min(64)].trim_end_matches('-');
    format!("{base}-{seed}-{index}")
}

/// Tag `i` of `n`, skewed: low numbers are drawn far more often.
fn skewed_tag(rng: &mut StdRng, n: usize) -> usize {
    let x: f64 = rng.gen();
    ((x * x * x) * n as f64) as usize % n
}

/// How far a seeding has come, told on standard error every few seconds whatever the log
/// filter: a large archive takes minutes, and a silent command looks stuck.
struct Progress {
    done: usize,
    written: usize,
    told: Instant,
}

impl Progress {
    fn add(&mut self, stories: usize, translations: usize, of: usize) {
        self.done += stories;
        self.written += translations;
        if self.told.elapsed() >= std::time::Duration::from_secs(3) || self.done == of {
            eprintln!(
                "seeding: {} of {of} stories ({}%), {} published translations",
                self.done,
                self.done * 100 / of,
                self.written
            );
            self.told = Instant::now();
        }
    }
}

/// What was created.
pub struct Seeded {
    pub stories: usize,
    pub translations: usize,
}

/// Adds `stories` published stories in the first `languages` of the five newsroom languages.
pub fn run(
    db: &Database,
    stories: usize,
    language_count: usize,
    seed: u64,
    password_hash: &str,
) -> AppResult<Seeded> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut conn = db.get()?;
    let langs: Vec<String> = conn.transaction(|c| {
        if languages::list(c, false)?.is_empty() {
            for language in languages::demo_languages() {
                languages::insert(c, language)?;
            }
        }
        Ok::<_, crate::error::AppError>(
            languages::list(c, true)?
                .into_iter()
                .map(|l| l.code)
                .take(language_count.clamp(1, 5))
                .collect(),
        )
    })?;
    let vocab = Vocabulary::new(&langs);
    let (tag_ids, journalists) =
        conn.transaction(|c| setup(c, &vocab, &mut rng, &langs, seed, password_hash))?;
    let load = crate::db::specific::prepare_bulk_load(&mut conn)?;
    let started = now();
    let batches = stories.div_ceil(BATCH);
    let next = AtomicUsize::new(0);
    let progress = Mutex::new(Progress {
        done: 0,
        written: 0,
        told: Instant::now(),
    });
    let ids = (&tag_ids[..], &journalists[..]);
    let words = Mutex::new(std::collections::HashSet::new());
    // On PostgreSQL two writers: while one waits for the database, the other writes its text.
    // SQLite takes one writer at a time.
    let writers = if matches!(conn, DbConn::Postgres(_)) {
        2
    } else {
        1
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|_| {
                scope.spawn(|| -> AppResult<()> {
                    let mut c = db.get()?;
                    crate::db::specific::ready_bulk_writer(&mut c)?;
                    let later = load.fills_empty_index().then(WordsLater::start);
                    loop {
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        if b >= batches {
                            if let Some(later) = later {
                                words
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .extend(later.finish());
                            }
                            return Ok(());
                        }
                        let offset = b * BATCH;
                        let n = BATCH.min(stories - offset);
                        // Each batch draws from its own generator: the same archive for a
                        // seed, whichever writer takes the batch.
                        let mut rng = StdRng::seed_from_u64(seed ^ ((b as u64 + 1) << 20));
                        let written = c.transaction(|c| {
                            batch(c, &vocab, &mut rng, &langs, ids, started, seed, offset, n)
                        });
                        let written = match written {
                            Ok(w) => w,
                            Err(e) => {
                                // The other writer stops at its next batch.
                                next.store(batches, Ordering::Relaxed);
                                return Err(e);
                            }
                        };
                        progress
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .add(n, written, stories);
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<AppResult<Vec<()>>>()
    })?;
    let written = progress
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .written;
    eprintln!("seeding: indexing for search and updating the database's statistics");
    let words = words.into_inner().unwrap_or_else(|p| p.into_inner());
    crate::db::search::list_gathered(&mut conn, &words)?;
    crate::db::specific::finish_bulk_load(&mut conn, load)?;
    crate::db::specific::optimize_after_bulk_load(&mut conn)?;
    Ok(Seeded {
        stories,
        translations: written,
    })
}

fn setup(
    c: &mut DbConn,
    vocab: &Vocabulary,
    rng: &mut StdRng,
    langs: &[String],
    seed: u64,
    password_hash: &str,
) -> AppResult<(Vec<i64>, Vec<i64>)> {
    let mut tag_ids = Vec::with_capacity(TAGS);
    for i in 0..TAGS {
        let slug = Slug::parse(&format!("seed-{seed}-tag-{i}"), "slug")?;
        let tag = match tags::find_by_slug(c, slug.as_str())? {
            Some(t) => t,
            None => {
                let names: Vec<NameInput> = langs
                    .iter()
                    .map(|l| NameInput {
                        lang: l.clone(),
                        name: format!("{} {i}", vocab.sentence(rng, l, 1, 2)),
                        description: String::new(),
                    })
                    .collect();
                let kind = ["topic", "country", "section"][i % 3];
                tags::insert(c, Some(slug), kind, &names)?
            }
        };
        tag_ids.push(tag.id);
    }
    seed_prompts(c, vocab, rng, langs, seed)?;
    let mut journalists = Vec::with_capacity(JOURNALISTS);
    for i in 0..JOURNALISTS {
        let email = Email::parse(&format!("seed{seed}.journalist{i}@newsdesk.local"), "email")?;
        let user = match users::find_by_email(c, &email)? {
            Some(u) => u,
            None => users::insert(
                c,
                &email,
                &format!("Journalist {i}"),
                Role::Author,
                password_hash,
            )?,
        };
        journalists.push(user.id);
    }
    Ok((tag_ids, journalists))
}

/// Donation prompts in every placement and language, some targeting the commonest tags, some
/// excluding one, with different weights; once per seed.
fn seed_prompts(
    c: &mut DbConn,
    vocab: &Vocabulary,
    rng: &mut StdRng,
    langs: &[String],
    seed: u64,
) -> AppResult<()> {
    use crate::db::schema::donation_prompts;
    use crate::prompts::{self, Draft, Placement, PromptStatus, PromptText};
    let prefix = format!("Seed {seed} prompt");
    let existing: i64 = db_run!(c, |c| donation_prompts::table
        .filter(donation_prompts::name.like(format!("{prefix}%")))
        .count()
        .get_result(c))?;
    if existing > 0 {
        return Ok(());
    }
    for i in 0..PROMPTS {
        let tag = |n: usize| format!("seed-{seed}-tag-{n}");
        let draft = Draft {
            name: format!("{prefix} {i}"),
            status: PromptStatus::Active,
            placement: Placement::ALL[i % Placement::ALL.len()],
            languages: Vec::new(),
            article_types: Vec::new(),
            starts_at: None,
            ends_at: None,
            priority: if i % 5 == 4 { 1 } else { 0 },
            weight: rng.gen_range(50..=300),
            hints: r#"{"dismiss_days":7}"#.to_owned(),
            tags: if i % 3 == 1 {
                vec![tag(i % 4), tag(4 + i % 4)]
            } else {
                Vec::new()
            },
            excluded_tags: if i % 4 == 3 {
                vec![tag(10 + i)]
            } else {
                Vec::new()
            },
            texts: langs
                .iter()
                .map(|l| PromptText {
                    prompt_id: 0,
                    lang: l.clone(),
                    headline: vocab.sentence(rng, l, 3, 6),
                    body: format!("<p>{}</p>", vocab.sentence(rng, l, 15, 30)),
                    button_label: vocab.sentence(rng, l, 1, 2),
                    target_url: format!("https://donate.newsdesk.local/{l}?campaign={i}"),
                })
                .collect(),
        };
        let (tag_ids, excluded) = draft.check(c)?;
        prompts::insert(c, &draft, (&tag_ids, &excluded), None)?;
    }
    Ok(())
}

#[derive(Insertable)]
#[diesel(table_name = translations)]
struct Row<'a> {
    article_id: i64,
    lang: &'a str,
    slug: String,
    title: String,
    subtitle: String,
    body: String,
    excerpt: String,
    excerpt_auto: bool,
    seo_title: String,
    seo_description: String,
    word_count: i32,
    reading_minutes: i32,
    status: &'a str,
    published_at: NaiveDateTime,
    version: i32,
    content_version: i32,
    created_by: Option<i64>,
    updated_by: Option<i64>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[allow(clippy::too_many_arguments)]
fn batch(
    c: &mut DbConn,
    vocab: &Vocabulary,
    rng: &mut StdRng,
    langs: &[String],
    (tag_ids, journalists): (&[i64], &[i64]),
    started: NaiveDateTime,
    seed: u64,
    offset: usize,
    n: usize,
) -> AppResult<usize> {
    let kinds = [
        "news", "news", "news", "news", "news", "news", "analysis", "opinion", "live", "digest",
    ];
    let mut new_articles = Vec::with_capacity(n);
    let mut plans = Vec::with_capacity(n);
    for _ in 0..n {
        let published = started - Duration::seconds(rng.gen_range(0..365 * 24 * 3600));
        let mut story_tags: Vec<i64> = Vec::new();
        let wanted = rng.gen_range(5..=10);
        while story_tags.len() < wanted {
            let t = tag_ids[skewed_tag(rng, tag_ids.len())];
            if !story_tags.contains(&t) {
                story_tags.push(t);
            }
        }
        let author = journalists[rng.gen_range(0..journalists.len())];
        new_articles.push((
            articles::kind.eq(kinds[rng.gen_range(0..kinds.len())]),
            articles::primary_tag_id.eq(Some(story_tags[0])),
            articles::syndicate.eq(rng.gen_bool(0.5)),
            articles::featured.eq(rng.gen_bool(0.02)),
            articles::created_by.eq(Some(author)),
            articles::created_at.eq(published),
            articles::updated_at.eq(published),
            articles::facts_updated_at.eq(published),
        ));
        plans.push((published, story_tags, author));
    }
    let article_ids: Vec<i64> = db_run!(c, |c| diesel::insert_into(articles::table)
        .values(&new_articles)
        .returning(articles::id)
        .get_results(c))?;
    let mut tag_rows = Vec::new();
    let mut byline_rows = Vec::new();
    let mut rows = Vec::with_capacity(n * langs.len());
    for (i, (article, (published, story_tags, author))) in
        article_ids.iter().zip(&plans).enumerate()
    {
        for (pos, tag) in story_tags.iter().enumerate() {
            tag_rows.push((
                article_tags::article_id.eq(*article),
                article_tags::tag_id.eq(*tag),
                article_tags::position.eq(pos as i32),
            ));
        }
        byline_rows.push((
            article_bylines::article_id.eq(*article),
            article_bylines::user_id.eq(*author),
            article_bylines::position.eq(0),
        ));
        for lang in langs {
            let title = vocab.sentence(rng, lang, 6, 10);
            let html = body(vocab, rng, lang);
            let text = html::text_of(&html);
            let count = html::word_count(&text);
            rows.push(Row {
                article_id: *article,
                lang,
                slug: unique_slug(&title, seed, offset + i),
                subtitle: vocab.sentence(rng, lang, 10, 18),
                excerpt: html::excerpt(&text),
                excerpt_auto: true,
                seo_title: String::new(),
                seo_description: String::new(),
                word_count: count as i32,
                reading_minutes: html::reading_minutes(count) as i32,
                status: Status::Published.as_str(),
                published_at: *published,
                version: 1,
                content_version: 1,
                created_by: Some(*author),
                updated_by: Some(*author),
                created_at: *published,
                updated_at: *published,
                title,
                body: html,
            });
        }
    }
    db_run!(c, |c| {
        diesel::insert_into(article_tags::table)
            .values(&tag_rows)
            .execute(c)?;
        diesel::insert_into(article_bylines::table)
            .values(&byline_rows)
            .execute(c)
    })?;
    let mut all: Vec<Translation> = Vec::with_capacity(rows.len());
    // Chunks keep each statement well under SQLite's limit on bound parameters.
    for chunk in rows.chunks(500) {
        let saved: Vec<Translation> = db_run!(c, |c| diesel::insert_into(translations::table)
            .values(chunk)
            .returning(Translation::as_returning())
            .get_results(c))?;
        let slugs: Vec<_> = saved
            .iter()
            .map(|t| {
                (
                    translation_slugs::lang.eq(t.lang.clone()),
                    translation_slugs::slug.eq(t.slug.clone()),
                    translation_slugs::translation_id.eq(t.id),
                    translation_slugs::created_at.eq(t.created_at),
                )
            })
            .collect();
        let revs: Vec<_> = saved
            .iter()
            .map(|t| {
                (
                    revisions::translation_id.eq(t.id),
                    revisions::version.eq(1),
                    revisions::action.eq("import"),
                    revisions::status.eq(t.status.clone()),
                    revisions::slug.eq(t.slug.clone()),
                    revisions::title.eq(t.title.clone()),
                    revisions::subtitle.eq(t.subtitle.clone()),
                    revisions::body.eq(t.body.clone()),
                    revisions::excerpt.eq(t.excerpt.clone()),
                    revisions::seo_title.eq(String::new()),
                    revisions::seo_description.eq(String::new()),
                    revisions::saved_by.eq(t.created_by),
                    revisions::saved_at.eq(t.created_at),
                )
            })
            .collect();
        db_run!(c, |c| {
            diesel::insert_into(translation_slugs::table)
                .values(&slugs)
                .execute(c)?;
            diesel::insert_into(revisions::table)
                .values(&revs)
                .execute(c)
        })?;
        all.extend(saved);
    }
    // The change pipeline once for the batch, last: what it writes is shared by every writer
    // (the content version), so the other writer waits here for as short a time as can be.
    crate::articles::changes::changed(c, Change::Translations(&all))?;
    Ok(all.len())
}
