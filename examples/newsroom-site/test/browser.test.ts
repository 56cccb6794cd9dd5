// The reference site and the API docs page in a real browser (Debian's Chromium driven by
// Playwright), against a Newsdesk serving its demo and this site in front of it.
//
//   SITE_URL            the site (default http://localhost:3000)
//   NEWSDESK_URL        Newsdesk (default http://127.0.0.1:8080)
//   NEWSDESK_EMAIL, NEWSDESK_PASSWORD   an admin, to read the prompt's statistics
//   CHROMIUM            the browser (default /usr/bin/chromium)
//   TEST_OUTPUT         where screenshots go (default test-output/)
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, test } from "node:test";

import { newsdesk, signIn } from "@newsdesk/client";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

const siteUrl = (process.env["SITE_URL"] ?? "http://localhost:3000").replace(/\/+$/, "");
const apiUrl = (process.env["NEWSDESK_URL"] ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
const output = process.env["TEST_OUTPUT"] ?? "test-output";
const SEED_EN = "georgia-and-russia-agree-to-reopen-talks-on-the-mountain-crossing";

let browser: Browser;
let context: BrowserContext;

before(async () => {
  await mkdir(output, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env["CHROMIUM"] ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  // A reader's browser: headless Chromium says so in its User-Agent, and Newsdesk does not count
  // robots' views.
  context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    userAgent:
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36",
  });
});

after(async () => {
  await browser?.close();
});

/** Opens `url`, recording every request the page makes and every error it logs. */
async function open(url: string): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  const response = await page.goto(url, { waitUntil: "networkidle" });
  assert.equal(response?.status(), 200, `${url} answered ${response?.status()}`);
  return { page, requests, errors };
}

/** Views of a story in "Most read". Lists are cached for 30 seconds by the query; each call asks
 * for another length, so that it reads what was counted since. */
let asked = 0;
async function mostReadViews(lang: string, slug: string, period: "1d" | "30d"): Promise<number> {
  const reader = newsdesk({ baseUrl: apiUrl });
  asked += 1;
  const { data } = await reader.GET("/api/v1/articles/most-read", {
    params: { query: { lang, period, limit: 100 - (asked % 90) } },
  });
  return data?.items.find((i) => i.slug === slug)?.views ?? 0;
}

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test("the API docs page lists the operations and asks nothing of another origin", async () => {
  const { page, requests, errors } = await open(`${apiUrl}/api/v1/docs`);
  await page.waitForSelector(".opblock");
  const operations = await page.locator(".opblock").count();
  assert.ok(operations > 50, `only ${operations} operations listed`);
  assert.ok(await page.getByText("/api/v1/articles/{lang}/{slug}", { exact: true }).first().isVisible());
  const origin = new URL(apiUrl).origin;
  const elsewhere = requests.filter((u) => !u.startsWith(origin) && !u.startsWith("data:"));
  assert.deepEqual(elsewhere, []);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the seed article renders in English with picture, caption, switcher, most read and prompts", async () => {
  const { page, errors } = await open(`${siteUrl}/en/${SEED_EN}`);
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.match(await page.locator("h1").innerText(), /Georgia and Russia agree to reopen talks/);
  assert.equal(await page.locator(".kicker").first().innerText(), "GEORGIA–RUSSIA");
  // The picture: responsive, loaded, captioned in English.
  const img = page.locator("figure.featured img");
  assert.ok((await img.getAttribute("srcset"))?.includes("w640"));
  await until("the picture to load", async () => (await img.evaluate((i: HTMLImageElement) => i.naturalWidth)) > 0);
  assert.match(await page.locator("figure.featured figcaption").innerText(), /Freight traffic waits at the mountain crossing/);
  // The switcher: native names, the story's own slug in each language, greyed where untranslated.
  assert.equal(await page.locator(".switcher a[hreflang=ru]").innerText(), "Русский");
  assert.equal(await page.locator(".switcher a[hreflang=ka]").innerText(), "ქართული");
  assert.equal(await page.locator(".switcher .untranslated[lang=hy]").count(), 1);
  assert.equal(await page.locator("head link[rel=alternate][hreflang]").count(), 4);
  assert.ok(await page.locator("head link[rel=canonical]").count());
  assert.ok(await page.locator("head meta[property='og:image']").count());
  assert.equal(await page.locator("head link[type='application/rss+xml']").count(), 2);
  // Most read (six), the header and end-of-article prompts, share links, tags.
  assert.equal(await page.locator(".most-read li").count(), 6);
  assert.equal(await page.locator(".prompt-header").count(), 1);
  assert.equal(await page.locator(".prompt-article_end").count(), 1);
  for (const share of ["messenger", "vk", "email", "copy", "print"]) {
    assert.equal(await page.locator(`.share .share-${share}`).count(), 1, share);
  }
  assert.ok(await page.locator(".story-tags a").count());
  assert.deepEqual(errors, []);
  await page.screenshot({ path: `${output}/article-en.png`, fullPage: true });
  await page.screenshot({ path: `${output}/article-en-top.jpg`, type: "jpeg", quality: 80 });
  await page.close();
});

test("the switcher leads to the Russian and Georgian pages, in their scripts", async () => {
  const { page } = await open(`${siteUrl}/en/${SEED_EN}`);
  await Promise.all([page.waitForURL(/\/ru\//), page.locator(".switcher a[hreflang=ru]").click()]);
  assert.equal(await page.getAttribute("html", "lang"), "ru");
  assert.match(await page.locator("h1").innerText(), /[А-Яа-яЁё]{4,}/);
  assert.match(await page.locator("figure.featured figcaption").innerText(), /Грузовой транспорт/);
  await page.screenshot({ path: `${output}/article-ru.png`, fullPage: true });
  await Promise.all([page.waitForURL(/\/ka\//), page.locator(".switcher a[hreflang=ka]").click()]);
  assert.equal(await page.getAttribute("html", "lang"), "ka");
  assert.match(await page.locator("h1").innerText(), /[\u10D0-\u10FF]{4,}/);
  assert.match(await page.locator("figure.featured figcaption").innerText(), /[\u10D0-\u10FF]{4,}/);
  assert.equal(await page.locator(".most-read h2").innerText(), "ყველაზე კითხვადი");
  await page.screenshot({ path: `${output}/article-ka.png`, fullPage: true });
  await page.close();
});

test("reading an article counts a view in Most read", async () => {
  // The Armenian story, read by nobody yet in this run.
  const reader = newsdesk({ baseUrl: apiUrl });
  const { data } = await reader.GET("/api/v1/articles", { params: { query: { lang: "hy", limit: 1 } } });
  const story = data?.items[0];
  assert.ok(story, "an Armenian story in the demo");
  const before = await mostReadViews("hy", story.slug, "1d");
  // A reader of their own: Newsdesk counts one view per reader and story in a window.
  const own = await browser.newContext({
    userAgent: `Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36 reader-${Date.now()}`,
  });
  const page = await own.newPage();
  await page.goto(`${siteUrl}/hy/${story.slug}`, { waitUntil: "networkidle" });
  await until("the view to be counted", async () => (await mostReadViews("hy", story.slug, "1d")) > before);
  await own.close();
});

test("a click on the prompt is counted in the prompt's statistics", async () => {
  const email = process.env["NEWSDESK_EMAIL"];
  const password = process.env["NEWSDESK_PASSWORD"];
  assert.ok(email && password, "NEWSDESK_EMAIL and NEWSDESK_PASSWORD name an admin");
  const { client } = await signIn({ baseUrl: apiUrl }, email, password);
  const { page } = await open(`${siteUrl}/en/${SEED_EN}`);
  const prompt = page.locator(".prompt-article_end");
  const id = Number(await prompt.getAttribute("data-prompt-id"));
  const clicks = async () => {
    const { data } = await client.GET("/api/v1/admin/donation-prompts/{id}/stats", {
      params: { path: { id } },
    });
    return (data?.totals.clicks ?? 0) as number;
  };
  const before = await clicks();
  await prompt.scrollIntoViewIfNeeded();
  await until("the impression", async () => (await prompt.getAttribute("data-impression")) === "sent");
  await Promise.all([
    page.waitForURL(/\/support/).catch(() => undefined),
    prompt.locator("[data-prompt-click]").click(),
  ]);
  await until("the click to be counted", async () => (await clicks()) > before);
  await page.close();
});

test("search finds the Georgian story, with the words marked", async () => {
  const { page } = await open(`${siteUrl}/ka/search?q=${encodeURIComponent("მოლაპარაკებები")}`);
  const results = page.locator(".search-results .card");
  assert.ok((await results.count()) >= 1);
  assert.match(await results.first().locator("h3").innerText(), /საქართველო და რუსეთი/);
  assert.ok(await results.first().locator(".snippet mark").count());
  await page.close();
});

test("the home page, a tag page and a preview render", async () => {
  const home = await open(`${siteUrl}/en/`);
  assert.ok(await home.page.locator(".top-stories .card").count());
  await Promise.all([
    home.page.waitForURL(/\/tags\//),
    home.page.locator(".card .kicker").first().click(),
  ]);
  assert.ok(await home.page.locator(".tag-page .card").count());
  await home.page.close();

  const email = process.env["NEWSDESK_EMAIL"] ?? "";
  const password = process.env["NEWSDESK_PASSWORD"] ?? "";
  const { client } = await signIn({ baseUrl: apiUrl }, email, password);
  const made = await client.POST("/api/v1/admin/articles", {
    body: { type: "news", tags: [], translation: { lang: "en", title: "A draft seen before it is published", body: "<p>Not yet.</p>" } },
  });
  assert.ok(made.data);
  const link = await client.POST("/api/v1/admin/articles/{id}/translations/{lang}/preview", {
    params: { path: { id: made.data.id, lang: "en" } },
    body: {},
  });
  assert.ok(link.data);
  const preview = await open(`${siteUrl}/preview/${link.data.token}`);
  assert.match(await preview.page.locator(".preview-banner").innerText(), /draft/);
  assert.equal(await preview.page.locator("h1").innerText(), "A draft seen before it is published");
  assert.equal(await preview.page.locator("meta[name=robots]").getAttribute("content"), "noindex");
  await preview.page.close();
});

test("a live story's page shows a new entry without being reloaded", async () => {
  const { client } = await signIn(
    { baseUrl: apiUrl },
    process.env["NEWSDESK_EMAIL"] ?? "",
    process.env["NEWSDESK_PASSWORD"] ?? "",
  );
  const reader = newsdesk({ baseUrl: apiUrl });
  const { data } = await reader.GET("/api/v1/articles", {
    params: { query: { lang: "en", type: "live", limit: 1 } },
  });
  const live = data?.items[0];
  assert.ok(live, "a live story in the demo");
  const { page } = await open(`${siteUrl}/en/${live.slug}`);
  const before = await page.locator("[data-live-entries] .entry").count();
  const text = `Ministers leave the talks at ${Date.now()}`;
  const added = await client.POST("/api/v1/admin/articles/{id}/translations/{lang}/entries", {
    params: { path: { id: live.id, lang: "en" } },
    body: { body: `<p>${text}</p>` },
  });
  assert.equal(added.response.status, 201, JSON.stringify(added.error));
  await page.getByText(text).waitFor({ timeout: 25_000 });
  assert.equal(await page.locator("[data-live-entries] .entry").count(), before + 1);
  await page.close();
});
