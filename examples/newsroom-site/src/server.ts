// The reference newsroom site: every page rendered on the server from the public Content API,
// through the typed client and nothing else.
//
//   NEWSDESK_URL         where this server reaches Newsdesk (default http://127.0.0.1:8080)
//   NEWSDESK_PUBLIC_URL  where readers' browsers reach it, for images, the view beacon, prompt
//                        events and live updates (default: NEWSDESK_URL). Newsdesk must allow
//                        this site's origin in CORS_ORIGINS.
//   PORT                 where the site listens (default 3000)

import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { newsdesk } from "@newsdesk/client";

import { Html } from "./html.js";
import { articlePage, homePage, notFoundPage, searchPage, tagPage, type Site } from "./pages.js";

const apiUrl = (process.env["NEWSDESK_URL"] ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
const publicApiUrl = (process.env["NEWSDESK_PUBLIC_URL"] ?? apiUrl).replace(/\/+$/, "");
const port = Number(process.env["PORT"] ?? 3000);

const api = newsdesk({ baseUrl: apiUrl, headers: { "user-agent": "newsroom-site/0.1" } });
const publicDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "public");

const ASSETS: Record<string, string> = {
  "site.css": "text/css; charset=utf-8",
  "print.css": "text/css; charset=utf-8",
  "site.js": "text/javascript; charset=utf-8",
};

/** The languages, fetched once a minute: they rarely change. */
let languages: { at: number; site: Site } | undefined;
async function site(): Promise<Site> {
  if (languages && Date.now() - languages.at < 60_000) return languages.site;
  const { data, error } = await api.GET("/api/v1/languages");
  if (!data) throw new Error(`languages: ${JSON.stringify(error)}`);
  const list = [...data.items].sort((a, b) => a.position - b.position);
  const fallback = list.find((l) => l.is_default) ?? list[0];
  if (!fallback) throw new Error("Newsdesk has no languages");
  const s: Site = { languages: list, defaultLang: fallback.code, publicApiUrl };
  languages = { at: Date.now(), site: s };
  return s;
}

class Answer {
  constructor(
    readonly status: number,
    readonly body: Html | string,
    readonly headers: Record<string, string> = {},
  ) {}
}

const redirect = (location: string, status = 301) => new Answer(status, "", { location });

function contentSecurityPolicy(): string {
  const apiOrigin = new URL(publicApiUrl).origin;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' ${apiOrigin} data:`,
    `connect-src 'self' ${apiOrigin}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

async function route(url: URL): Promise<Answer> {
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "assets" && parts.length === 2) {
    const name = parts[1] ?? "";
    const type = ASSETS[name];
    if (!type) return new Answer(404, "not found", { "content-type": "text/plain" });
    const body = await readFile(join(publicDir, name), "utf8");
    return new Answer(200, body, { "content-type": type, "cache-control": "public, max-age=300" });
  }
  const s = await site();
  if (parts.length === 0) return redirect(`/${s.defaultLang}/`, 302);
  if (parts[0] === "preview" && parts.length === 2) {
    return preview(s, parts[1] ?? "");
  }
  const lang = parts[0] ?? "";
  if (!s.languages.some((l) => l.code === lang)) return new Answer(404, notFoundPage(s, s.defaultLang));
  if (parts.length === 1) return home(s, lang);
  if (parts.length === 2 && parts[1] === "search") return search(s, lang, url.searchParams.get("q") ?? "");
  if (parts.length === 3 && parts[1] === "tags") return tag(s, lang, parts[2] ?? "");
  if (parts.length === 2) return article(s, lang, parts[1] ?? "");
  return new Answer(404, notFoundPage(s, lang));
}

async function home(s: Site, lang: string): Promise<Answer> {
  const [top, latest, mostRead] = await Promise.all([
    api.GET("/api/v1/articles", { params: { query: { lang, featured: true, limit: 5 } } }),
    api.GET("/api/v1/articles", { params: { query: { lang, limit: 20 } } }),
    api.GET("/api/v1/articles/most-read", { params: { query: { lang, limit: 6 } } }),
  ]);
  if (!latest.data) throw new Error(JSON.stringify(latest.error));
  return new Answer(
    200,
    homePage(s, lang, top.data?.items ?? [], latest.data, mostRead.data?.items ?? []),
  );
}

async function article(s: Site, lang: string, slug: string): Promise<Answer> {
  const { data, response } = await api.GET("/api/v1/articles/{lang}/{slug}", {
    params: {
      path: { lang, slug },
      query: { include: "related,most_read,live_entries,donation_prompt" },
    },
    redirect: "manual",
  });
  if (response.status === 301) {
    // The story lives at another slug: follow it on this site's addresses.
    const moved = response.headers.get("location") ?? "";
    const m = /\/api\/v1\/articles\/([^/?]+)\/([^/?]+)/.exec(moved);
    return m ? redirect(`/${m[1]}/${m[2]}`) : new Answer(404, notFoundPage(s, lang));
  }
  if (!data) return new Answer(404, notFoundPage(s, lang));
  const header = await api.GET("/api/v1/donation-prompts/resolve", {
    params: { query: { lang, placement: "header", article: slug } },
  });
  return new Answer(200, articlePage(s, data, header.data ?? null, { preview: false }));
}

async function preview(s: Site, token: string): Promise<Answer> {
  const { data, response } = await api.GET("/api/v1/preview/{token}", {
    params: { path: { token }, query: { include: "related,most_read,live_entries,donation_prompt" } },
  });
  const privately = {
    "cache-control": "private, no-store",
    "x-robots-tag": "noindex",
    "referrer-policy": "no-referrer",
  };
  if (!data) {
    const status = response.status === 401 ? 401 : 404;
    return new Answer(status, notFoundPage(s, s.defaultLang, "This preview link is invalid or has expired."), privately);
  }
  return new Answer(200, articlePage(s, data, null, { preview: true }), privately);
}

async function tag(s: Site, lang: string, slug: string): Promise<Answer> {
  const { data } = await api.GET("/api/v1/tags/{slug}/articles", {
    params: { path: { slug }, query: { lang, limit: 20 } },
  });
  if (!data) return new Answer(404, notFoundPage(s, lang));
  return new Answer(200, tagPage(s, lang, data));
}

async function search(s: Site, lang: string, q: string): Promise<Answer> {
  if (!q.trim()) return new Answer(200, searchPage(s, lang, q, []));
  const { data } = await api.GET("/api/v1/articles", {
    params: { query: { lang, q, limit: 20 } },
  });
  return new Answer(200, searchPage(s, lang, q, data?.items ?? []));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let answer: Answer;
  try {
    if (req.method !== "GET" && req.method !== "HEAD") {
      answer = new Answer(405, "method not allowed", { allow: "GET, HEAD", "content-type": "text/plain" });
    } else {
      answer = await route(new URL(req.url ?? "/", "http://site.invalid"));
    }
  } catch (e) {
    console.error("page failed:", e);
    answer = new Answer(502, "Newsdesk did not answer as expected; try again shortly.", {
      "content-type": "text/plain; charset=utf-8",
    });
  }
  const headers: Record<string, string> = {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": contentSecurityPolicy(),
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    ...answer.headers,
  };
  res.writeHead(answer.status, headers);
  res.end(req.method === "HEAD" ? undefined : String(answer.body));
}

createServer((req, res) => {
  void handle(req, res);
}).listen(port, () => {
  console.log(`newsroom site on http://localhost:${port}, reading ${apiUrl}`);
});
