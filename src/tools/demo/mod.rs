//! Demo content for `newsdesk serve --demo`: on an empty database, the five languages of the
//! newsroom Newsdesk is built for, an admin account whose password is printed once, a few
//! journalists, tags, and stories in every language and workflow state, a live one included.

mod pictures;
mod stories;

use chrono::Duration;

use crate::app::AppState;
use crate::articles::changes::{self, Change};
use crate::articles::translations::{self, Row, Source, Text};
use crate::articles::{self, entries, Image, Status, StoryFields};
use crate::audit::Actor;
use crate::auth::Role;
use crate::db::{now, DbConn};
use crate::error::AppResult;
use crate::html::Sanitizer;
use crate::languages;
use crate::media::handlers::{MediaFields, MediaTextInput};
use crate::media::{FocalPoint, Library};
use crate::partners::{self, Fields, NewKey};
use crate::prompts::{self, Draft, PromptStatus, PromptText};
use crate::slug::Slug;
use crate::tags::{self, NameInput};
use crate::users::{self, Email};

pub const DEMO_ADMIN_EMAIL: &str = "admin@newsdesk.local";

/// The credentials of the admin account the demo created, and the key of its partner.
pub struct DemoAdmin {
    pub email: String,
    pub password: String,
    /// A partner key for the change feed: every language and tag, 600 requests a minute.
    pub partner_key: String,
}

/// Seeds the demo content unless the database already has users or languages. Returns the
/// admin's credentials when it created them.
pub fn seed(state: &AppState) -> AppResult<Option<DemoAdmin>> {
    let password = crate::auth::random_token(12);
    let hash = state.hasher.hash(&password)?;
    // Journalists sign in only after an admin sets their password.
    let unusable = state.hasher.hash(&crate::auth::random_token(32))?;
    let mut conn = state.db.get()?;
    let mut pictures = Vec::new();
    let seeded = conn.transaction(|c| {
        if users::count(c)? > 0 || !languages::list(c, false)?.is_empty() {
            return AppResult::Ok(None);
        }
        for language in languages::demo_languages() {
            languages::insert(c, language)?;
        }
        let email = Email::parse(DEMO_ADMIN_EMAIL, "email")?;
        let admin = users::insert(c, &email, "Demo Admin", Role::Admin, &hash)?;
        let mut journalists = Vec::new();
        for (email, name, role) in stories::JOURNALISTS {
            let email = Email::parse(email, "email")?;
            journalists.push(users::insert(c, &email, name, role, &unusable)?.id);
        }
        pictures = seed_stories(c, &state.sanitizer, &state.media, admin.id, &journalists)?;
        seed_prompts(c, &state.sanitizer, &state.config.public_site_url, admin.id)?;
        let key = NewKey::generate();
        let partner = Fields {
            name: "Demo partner".into(),
            contact_email: "partner@newsdesk.local".into(),
            languages: Vec::new(),
            tag_ids: Vec::new(),
            requests_per_minute: 600,
            expires_at: None,
        };
        partners::insert(c, &partner, &key)?;
        Ok(Some(DemoAdmin {
            email: DEMO_ADMIN_EMAIL.to_owned(),
            password,
            partner_key: key.key,
        }))
    })?;
    for id in pictures {
        state.media.jobs.enqueue(id);
    }
    Ok(seeded)
}

/// Draws a story's picture and adds it to the media library, with its texts in every language.
fn add_picture(
    c: &mut DbConn,
    library: &Library,
    picture: &stories::DemoPicture,
    admin: i64,
) -> AppResult<i64> {
    let bytes = pictures::draw(&picture.scene);
    let fields = MediaFields {
        credit: Some("Newsdesk demo illustration".into()),
        licence: Some("CC0-1.0".into()),
        focal_point: Some(FocalPoint {
            x: picture.focal.0,
            y: picture.focal.1,
        }),
        translations: Some(
            picture
                .texts
                .iter()
                .map(|(lang, alt, caption)| {
                    (
                        (*lang).to_owned(),
                        Some(MediaTextInput {
                            alt: (*alt).to_owned(),
                            caption: (*caption).to_owned(),
                            credit: String::new(),
                        }),
                    )
                })
                .collect(),
        ),
    };
    let actor = Actor::system();
    crate::media::handlers::add_own(c, library, &bytes, fields, admin, &actor)
}

/// Returns the media items it made, whose renditions are to be made once it has committed.
fn seed_stories(
    c: &mut DbConn,
    sanitizer: &Sanitizer,
    library: &Library,
    admin: i64,
    journalists: &[i64],
) -> AppResult<Vec<i64>> {
    let mut pictures = Vec::new();
    for tag in stories::TAGS {
        let names: Vec<NameInput> = tag
            .names
            .iter()
            .map(|(lang, name)| NameInput {
                lang: (*lang).to_owned(),
                name: (*name).to_owned(),
                description: String::new(),
            })
            .collect();
        tags::insert(c, Some(Slug::parse(tag.slug, "slug")?), tag.kind, &names)?;
    }
    let mut published = Vec::new();
    let mut written = Vec::new();
    for story in stories::STORIES {
        let slugs: Vec<String> = story.tags.iter().map(|t| (*t).to_owned()).collect();
        let author = journalists.get(story.byline).copied().unwrap_or(admin);
        let fields = StoryFields {
            kind: Some(story.kind),
            tags: Some(tags::resolve_slugs(c, &slugs, "tags")?),
            bylines: Some(vec![author]),
            image: match &story.image {
                Some(picture) => {
                    let id = add_picture(c, library, picture, admin)?;
                    pictures.push(id);
                    Some(Some(Image {
                        media_id: Some(id),
                        url: None,
                        alt: String::new(),
                        credit: String::new(),
                        captions: Default::default(),
                    }))
                }
                None => None,
            },
            featured: Some(story.featured),
            syndicate: Some(true),
            ..StoryFields::default()
        };
        let article = articles::insert(c, fields, author)?;
        let published_at = now() - Duration::hours(story.hours_ago);
        for text in story.texts {
            let source = match text.from {
                Some(lang) => translations::find(c, article.id, lang)?.map(|s| Source {
                    translation_id: s.id,
                    version: s.content_version,
                }),
                None => None,
            };
            let slug = translations::choose_slug(c, text.lang, None, text.title, None)?;
            let body = Text {
                title: text.title.to_owned(),
                subtitle: text.subtitle.to_owned(),
                body: sanitizer.clean(text.body),
                ..Text::default()
            };
            let t = translations::insert(c, article.id, text.lang, slug, body, source, author)?;
            if text.status != Status::Draft {
                let mut row = Row::of(&t);
                row.status = text.status.as_str().to_owned();
                if text.status == Status::Published {
                    row.published_at = Some(published_at);
                }
                let action = format!("transition:{}", text.status.as_str());
                let saved = translations::write(c, &t, t.version, row, &action, Some(admin))?;
                if text.status == Status::Published {
                    published.push((saved.id, saved.lang.clone()));
                }
                written.push(saved);
            } else {
                written.push(t);
            }
        }
        for (lang, bodies) in story.entries {
            if let Some(t) = translations::find(c, article.id, lang)? {
                for body in *bodies {
                    entries::insert(c, t.id, &sanitizer.clean(body), false, author)?;
                }
            }
        }
    }
    // Through the change pipeline, as any write: item cards, the search index, the change feed.
    changes::changed(c, Change::Translations(&written))?;
    // Readers for "Most read": a different number of views for each story over three days.
    let today = chrono::Utc::now().date_naive();
    let mut views = Vec::new();
    for (i, (id, lang)) in published.into_iter().enumerate() {
        for day in 0..3 {
            let n = 40 + ((i as i64 * 37 + day * 11) % 120);
            views.push((id, lang.clone(), today - Duration::days(day), n));
        }
    }
    crate::content::views::add(c, &views)?;
    Ok(pictures)
}

/// The "Support Us" prompts, with a week of readers' impressions, clicks and dismissals.
fn seed_prompts(c: &mut DbConn, sanitizer: &Sanitizer, site: &str, admin: i64) -> AppResult<()> {
    let today = chrono::Utc::now().date_naive();
    let mut counts = Vec::new();
    for (n, p) in stories::PROMPTS.iter().enumerate() {
        let draft = Draft {
            name: p.name.to_owned(),
            status: PromptStatus::Active,
            placement: p.placement,
            languages: Vec::new(),
            article_types: Vec::new(),
            starts_at: None,
            ends_at: None,
            priority: p.priority,
            weight: 100,
            hints: r#"{"dismiss_days":7}"#.to_owned(),
            tags: p.tags.iter().map(|t| (*t).to_owned()).collect(),
            excluded_tags: Vec::new(),
            texts: p
                .texts
                .iter()
                .map(|(lang, headline, body, button)| PromptText {
                    prompt_id: 0,
                    lang: (*lang).to_owned(),
                    headline: (*headline).to_owned(),
                    body: sanitizer.clean(body),
                    button_label: (*button).to_owned(),
                    target_url: format!("{}/support?lang={lang}", site.trim_end_matches('/')),
                })
                .collect(),
        };
        let (tag_ids, excluded) = draft.check(c)?;
        let prompt = prompts::insert(c, &draft, (&tag_ids, &excluded), Some(admin))?;
        for (l, (lang, ..)) in p.texts.iter().enumerate() {
            for day in 0..7 {
                let impressions = 300 + ((n as i64 * 53 + l as i64 * 31 + day * 17) % 400);
                let clicks = impressions * (2 + (l as i64 + n as i64) % 4) / 100;
                let dismissals = impressions / 10;
                counts.push((
                    prompt.row.id,
                    *lang,
                    today - Duration::days(day),
                    [impressions, clicks, dismissals],
                ));
            }
        }
    }
    prompts::events::add(c, &counts)
}
