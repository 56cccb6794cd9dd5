// The site's pages: plain server-rendered HTML from the Content API's answers.

import type { Schema } from "@newsdesk/client";

import { html, trusted, type Html } from "./html.js";

type Language = Schema<"PublicLanguage">;
type Item = Schema<"ArticleItem">;
type Detail = Schema<"ArticleDetail">;
type Prompt = Schema<"PublicPrompt">;
type Image = Schema<"ShownImage">;

export interface Site {
  languages: Language[];
  defaultLang: string;
  /** Where readers' browsers reach Newsdesk. */
  publicApiUrl: string;
}

/** The site's own words, per language (English where a word is missing). */
const WORDS = {
  en: {
    top: "Top stories", latest: "Latest", mostRead: "Most read", related: "Related stories",
    tags: "Tags", share: "Share", copy: "Copy link", copied: "Link copied", print: "Print",
    search: "Search", results: "Results for", none: "Nothing found.", notFound: "Page not found",
    by: "By", live: "Live", preview: "Preview: this is not published yet", dismiss: "Not now",
    readingTime: "min read", notTranslated: "not translated",
  },
  ru: {
    top: "Главное", latest: "Последние новости", mostRead: "Самое читаемое", related: "По теме",
    tags: "Теги", share: "Поделиться", copy: "Скопировать ссылку", copied: "Ссылка скопирована",
    print: "Печать", search: "Поиск", results: "Результаты по запросу", none: "Ничего не найдено.",
    notFound: "Страница не найдена", by: "Автор:", live: "Онлайн",
    preview: "Предпросмотр: материал ещё не опубликован", dismiss: "Не сейчас",
    readingTime: "мин чтения", notTranslated: "нет перевода",
  },
  ka: {
    top: "მთავარი ამბები", latest: "უახლესი", mostRead: "ყველაზე კითხვადი", related: "მსგავსი ამბები",
    tags: "თეგები", share: "გაზიარება", copy: "ბმულის კოპირება", copied: "ბმული დაკოპირდა",
    print: "ბეჭდვა", search: "ძიება", results: "შედეგები:", none: "ვერაფერი მოიძებნა.",
    notFound: "გვერდი ვერ მოიძებნა", by: "ავტორი:", live: "პირდაპირ",
    preview: "წინასწარი ნახვა: ჯერ არ გამოქვეყნებულა", dismiss: "ახლა არა",
    readingTime: "წთ საკითხავი", notTranslated: "არ არის თარგმნილი",
  },
  hy: {
    top: "Գլխավոր", latest: "Վերջին", mostRead: "Ամենաընթերցված", related: "Առնչվող",
    tags: "Պիտակներ", share: "Կիսվել", copy: "Պատճենել հղումը", copied: "Հղումը պատճենված է",
    print: "Տպել", search: "Որոնում", results: "Արդյունքներ՝", none: "Ոչինչ չի գտնվել։",
    notFound: "Էջը չի գտնվել", by: "Հեղինակ՝", live: "Ուղիղ",
    preview: "Նախադիտում. դեռ հրապարակված չէ", dismiss: "Ոչ հիմա",
    readingTime: "րոպե", notTranslated: "թարգմանված չէ",
  },
  az: {
    top: "Əsas xəbərlər", latest: "Son xəbərlər", mostRead: "Ən çox oxunan", related: "Oxşar xəbərlər",
    tags: "Teqlər", share: "Paylaş", copy: "Linki kopyala", copied: "Link kopyalandı", print: "Çap et",
    search: "Axtarış", results: "Nəticələr:", none: "Heç nə tapılmadı.", notFound: "Səhifə tapılmadı",
    by: "Müəllif:", live: "Canlı", preview: "İlkin baxış: hələ dərc olunmayıb", dismiss: "İndi yox",
    readingTime: "dəq oxu", notTranslated: "tərcümə olunmayıb",
  },
};
type Words = (typeof WORDS)["en"];

function words(lang: string): Words {
  return (WORDS as Record<string, Words>)[lang] ?? WORDS.en;
}

function direction(s: Site, lang: string): "ltr" | "rtl" {
  return s.languages.find((l) => l.code === lang)?.direction === "rtl" ? "rtl" : "ltr";
}

function date(lang: string, iso: string): string {
  try {
    return new Intl.DateTimeFormat(lang, { dateStyle: "long", timeStyle: "short", timeZone: "UTC" }).format(
      new Date(iso),
    );
  } catch {
    return iso.slice(0, 10);
  }
}

const articleHref = (lang: string, slug: string) => `/${lang}/${encodeURIComponent(slug)}`;
const tagHref = (lang: string, slug: string) => `/${lang}/tags/${encodeURIComponent(slug)}`;

interface Head {
  title: string;
  description?: string;
  canonical?: string;
  alternates?: { lang: string; href: string }[];
  feeds?: Schema<"FeedLink">[];
  og?: Record<string, string>;
  noindex?: boolean;
}

function layout(s: Site, lang: string, head: Head, main: Html, extra: { switcher?: Html; banner?: Html; body?: Record<string, string> } = {}): Html {
  const w = words(lang);
  const dataAttrs = Object.entries({ api: s.publicApiUrl, lang, ...(extra.body ?? {}) })
    .map(([k, v]) => html` data-${k}="${v}"`);
  return html`<!DOCTYPE html>
<html lang="${lang}" dir="${direction(s, lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${head.title}</title>
${head.description ? html`<meta name="description" content="${head.description}">` : ""}
${head.noindex ? html`<meta name="robots" content="noindex">` : ""}
${head.canonical ? html`<link rel="canonical" href="${head.canonical}">` : ""}
${(head.alternates ?? []).map((a) => html`<link rel="alternate" hreflang="${a.lang}" href="${a.href}">\n`)}
${(head.feeds ?? []).map((f) => html`<link rel="alternate" type="${f.type}" title="${f.title}" href="${f.href}">\n`)}
${Object.entries(head.og ?? {}).map(([k, v]) => html`<meta property="${k}" content="${v}">\n`)}
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/site.css">
<link rel="stylesheet" href="/assets/print.css" media="print">
<script src="/assets/site.js" defer></script>
</head>
<body${dataAttrs}>
${extra.banner ?? ""}
<header class="masthead">
  <div class="masthead-row">
    <a class="brand" href="/${lang}/">Newsroom</a>
    <form class="search" action="/${lang}/search" method="get" role="search">
      <input type="search" name="q" placeholder="${w.search}" aria-label="${w.search}">
    </form>
  </div>
  ${extra.switcher ?? languageBar(s, lang)}
</header>
<main>
${main}
</main>
<footer class="site-footer"><p>Rendered from the Newsdesk Content API.</p></footer>
</body>
</html>`;
}

/** The language bar of pages that are not a story: each language's home. */
function languageBar(s: Site, current: string): Html {
  return html`<nav class="languages" aria-label="Languages"><ul>${s.languages.map(
    (l) => html`<li><a href="/${l.code}/" lang="${l.code}"${l.code === current ? html` aria-current="page"` : ""}>${l.native_name}</a></li>`,
  )}</ul></nav>`;
}

/** The story's switcher: its own slug in each language, greyed where it is not translated. */
function switcher(s: Site, d: Detail, preview: boolean): Html {
  const w = words(d.lang);
  return html`<nav class="languages switcher" aria-label="Languages"><ul>${s.languages.map((l) => {
    const t = d.translations.find((x) => x.lang === l.code);
    if (l.code === d.lang) {
      return html`<li><span class="current" lang="${l.code}" aria-current="page">${l.native_name}</span></li>`;
    }
    if (!t || preview) {
      return html`<li><span class="untranslated" lang="${l.code}" aria-disabled="true" title="${w.notTranslated}">${l.native_name}</span></li>`;
    }
    return html`<li><a href="${articleHref(l.code, t.slug)}" lang="${l.code}" hreflang="${l.code}">${l.native_name}</a></li>`;
  })}</ul></nav>`;
}

function picture(img: Image, sizes: string, eager: boolean): Html {
  const byType = (type: string) =>
    img.renditions
      .filter((r) => r.type === type)
      .sort((a, b) => a.width - b.width)
      .map((r) => `${r.url} ${r.width}w`)
      .join(", ");
  const webp = byType("image/webp");
  const fallbackType = img.renditions.some((r) => r.type === "image/jpeg") ? "image/jpeg" : "image/png";
  const fallback = byType(fallbackType);
  return html`<picture>
${webp ? html`<source type="image/webp" srcset="${webp}" sizes="${sizes}">` : ""}
<img src="${img.url}"${fallback ? html` srcset="${fallback}" sizes="${sizes}"` : ""} alt="${img.alt}"${img.width ? html` width="${img.width}" height="${img.height ?? ""}"` : ""} ${eager ? html`fetchpriority="high"` : html`loading="lazy"`} decoding="async">
</picture>`;
}

function card(item: Item, opts: { snippet?: boolean; views?: number } = {}): Html {
  return html`<article class="card">
${item.image ? html`<a class="card-image" href="${articleHref(item.lang, item.slug)}" tabindex="-1">${picture(item.image, "(min-width: 60em) 20em, 100vw", false)}</a>` : ""}
<div class="card-text">
${item.primary_tag ? html`<a class="kicker" href="${tagHref(item.lang, item.primary_tag.slug)}">${item.primary_tag.name}</a>` : ""}
<h3><a href="${articleHref(item.lang, item.slug)}">${item.type === "live" ? html`<span class="live-badge">${words(item.lang).live}</span> ` : ""}${item.title}</a></h3>
${opts.snippet && item.snippet ? html`<p class="snippet">${trusted(item.snippet)}</p>` : html`<p class="excerpt">${item.excerpt}</p>`}
<p class="meta"><time datetime="${item.published_at}">${date(item.lang, item.published_at)}</time></p>
</div>
</article>`;
}

function mostReadList(lang: string, items: { title: string; slug: string; lang: string }[]): Html {
  const w = words(lang);
  return html`<section class="most-read" aria-labelledby="most-read-title">
<h2 id="most-read-title">${w.mostRead}</h2>
<ol>${items.map((i) => html`<li><a href="${articleHref(i.lang, i.slug)}">${i.title}</a></li>`)}</ol>
</section>`;
}

/** A donation prompt, with what the browser needs to report its events. */
function prompt(p: Prompt, where: string, lang: string): Html {
  const w = words(lang);
  const dismissDays = typeof p.hints["dismiss_days"] === "number" ? String(p.hints["dismiss_days"]) : "7";
  return html`<aside class="prompt prompt-${where}" lang="${p.lang}" data-prompt-id="${p.id}" data-prompt-lang="${p.lang}" data-dismiss-days="${dismissDays}" aria-label="${p.headline}">
<p class="prompt-headline">${p.headline}</p>
${where === "article_end" ? html`<div class="prompt-body">${trusted(p.body)}</div>` : ""}
<p class="prompt-actions"><a class="prompt-button" href="${p.target_url}" data-prompt-click>${p.button_label}</a>
<button type="button" class="prompt-dismiss" data-prompt-dismiss>${w.dismiss}</button></p>
</aside>`;
}

function shareLinks(lang: string, url: string, title: string): Html {
  const w = words(lang);
  const u = encodeURIComponent(url);
  const t = encodeURIComponent(title);
  return html`<nav class="share" aria-label="${w.share}"><ul>
<li><a class="share-messenger" href="fb-messenger://share/?link=${u}">Messenger</a></li>
<li><a class="share-vk" href="https://vk.com/share.php?url=${u}&amp;title=${t}" target="_blank" rel="noopener noreferrer">VK</a></li>
<li><a class="share-email" href="mailto:?subject=${t}&amp;body=${u}">Email</a></li>
<li><button type="button" class="share-copy" data-copy="${url}" data-copied="${w.copied}">${w.copy}</button></li>
<li><button type="button" class="share-print" data-print>${w.print}</button></li>
</ul></nav>`;
}

export function articlePage(s: Site, d: Detail, headerPrompt: Prompt | null, opts: { preview: boolean }): Html {
  const w = words(d.lang);
  const alternates = d.translations.map((t) => ({
    lang: t.lang,
    href: d.url.replace(/\/[^/]+\/[^/]+$/, `/${t.lang}/${encodeURIComponent(t.slug)}`),
  }));
  const defaultAlt = alternates.find((a) => a.lang === s.defaultLang);
  if (defaultAlt) alternates.push({ lang: "x-default", href: defaultAlt.href });
  const og: Record<string, string> = {
    "og:type": "article",
    "og:title": d.seo_title || d.title,
    "og:description": d.seo_description || d.excerpt,
    "og:url": d.url,
    "og:locale": d.lang,
    "article:published_time": d.published_at,
  };
  if (d.image?.social_image) og["og:image"] = d.image.social_image;
  const live = d.type === "live";
  const main = html`<article class="story${live ? " story-live" : ""}">
<header class="story-header">
${d.primary_tag ? html`<a class="kicker" href="${tagHref(d.lang, d.primary_tag.slug)}">${d.primary_tag.name}</a>` : ""}
<h1>${live ? html`<span class="live-badge">${w.live}</span> ` : ""}${d.title}</h1>
${d.subtitle ? html`<p class="subtitle">${d.subtitle}</p>` : ""}
<p class="byline">${d.bylines.length ? html`${w.by} ${d.bylines.map((b) => b.display_name).join(", ")} · ` : ""}<time datetime="${d.published_at}">${date(d.lang, d.published_at)}</time> · ${d.reading_minutes} ${w.readingTime}</p>
${shareLinks(d.lang, d.url, d.title)}
</header>
${d.image ? html`<figure class="featured">${picture(d.image, "(min-width: 48em) 46em, 100vw", true)}
<figcaption>${d.image.caption ? html`<span class="caption">${d.image.caption}</span>` : ""}${d.image.credit ? html` <span class="credit">${d.image.credit}</span>` : ""}</figcaption></figure>` : ""}
<div class="story-body">${trusted(d.body)}</div>
${live ? html`<section class="live-entries" aria-live="polite" data-live-entries>
${(d.live_entries ?? []).map((e) => html`<article class="entry${e.pinned ? " pinned" : ""}" data-entry-id="${e.id}"><p class="meta"><time datetime="${e.created_at}">${date(d.lang, e.created_at)}</time></p>${trusted(e.body)}</article>`)}
</section>` : ""}
${d.tags.length ? html`<nav class="story-tags" aria-label="${w.tags}"><ul>${d.tags.map((t) => html`<li><a href="${tagHref(d.lang, t.slug)}">${t.name}</a></li>`)}</ul></nav>` : ""}
${d.donation_prompt ? prompt(d.donation_prompt, "article_end", d.lang) : ""}
${d.related && d.related.length ? html`<section class="related"><h2>${w.related}</h2><div class="cards">${d.related.map((i) => card(i))}</div></section>` : ""}
</article>
<aside class="sidebar">${mostReadList(d.lang, d.most_read ?? [])}</aside>`;
  return layout(
    s,
    d.lang,
    {
      title: d.seo_title || d.title,
      description: d.seo_description || d.excerpt,
      canonical: opts.preview ? undefined : d.url,
      alternates: opts.preview ? [] : alternates,
      feeds: d.feeds,
      og: opts.preview ? {} : og,
      noindex: opts.preview,
    },
    main,
    {
      switcher: html`${headerPrompt ? prompt(headerPrompt, "header", d.lang) : ""}${switcher(s, d, opts.preview)}`,
      banner: opts.preview ? html`<p class="preview-banner" role="status">${w.preview}${d.status ? html` (${d.status})` : ""}</p>` : undefined,
      body: opts.preview
        ? { preview: "true" }
        : { slug: d.slug, live: live ? "true" : "false" },
    },
  );
}

export function homePage(
  s: Site,
  lang: string,
  top: Item[],
  latest: Schema<"PublishedArticleList">,
  mostRead: { title: string; slug: string; lang: string }[],
): Html {
  const w = words(lang);
  const topIds = new Set(top.map((i) => i.id));
  const main = html`<section class="top-stories"><h1>${w.top}</h1><div class="cards">${top.map((i) => card(i))}</div></section>
<section class="latest"><h2>${w.latest}</h2><div class="cards">${latest.items.filter((i) => !topIds.has(i.id)).map((i) => card(i))}</div></section>
<aside class="sidebar">${mostReadList(lang, mostRead)}</aside>`;
  return layout(s, lang, { title: `Newsroom — ${w.top}`, feeds: latest.feeds }, main);
}

export function tagPage(s: Site, lang: string, page: Schema<"TagPage">): Html {
  const main = html`<section class="tag-page"><h1>${page.tag.name}</h1>
${page.tag.description ? html`<p class="tag-description">${page.tag.description}</p>` : ""}
<div class="cards">${page.items.map((i) => card(i))}</div></section>`;
  return layout(s, lang, { title: page.tag.name, feeds: page.feeds }, main);
}

export function searchPage(s: Site, lang: string, q: string, items: Item[]): Html {
  const w = words(lang);
  const main = html`<section class="search-results"><h1>${q ? html`${w.results} “${q}”` : w.search}</h1>
<form action="/${lang}/search" method="get" role="search"><input type="search" name="q" value="${q}" aria-label="${w.search}"> <button type="submit">${w.search}</button></form>
${q && !items.length ? html`<p>${w.none}</p>` : ""}
<div class="cards">${items.map((i) => card(i, { snippet: true }))}</div></section>`;
  return layout(s, lang, { title: `${w.search}: ${q}`, noindex: true }, main);
}

export function notFoundPage(s: Site, lang: string, message?: string): Html {
  const w = words(lang);
  return layout(s, lang, { title: w.notFound, noindex: true }, html`<h1>${w.notFound}</h1>${message ? html`<p>${message}</p>` : ""}`);
}
