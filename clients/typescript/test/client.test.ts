// The client against a running Newsdesk: sign in, write a story, publish it, read it back as a
// reader would. `NEWSDESK_URL`, `NEWSDESK_EMAIL` and `NEWSDESK_PASSWORD` name the server and an
// editor's (or admin's) account; `.ci/frontend` starts one.
import assert from "node:assert/strict";
import { test } from "node:test";

import { isProblem, newsdesk, signIn } from "../src/index.js";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run against a Newsdesk (see .ci/frontend)`);
  return value;
}

const baseUrl = env("NEWSDESK_URL");

test("an editor writes and publishes a story, and a reader reads it back", async () => {
  const { client } = await signIn({ baseUrl }, env("NEWSDESK_EMAIL"), env("NEWSDESK_PASSWORD"));
  const title = `Client check ${Date.now()}`;
  const created = await client.POST("/api/v1/admin/articles", {
    body: {
      type: "news",
      tags: ["georgia-russia"],
      translation: { lang: "en", title, body: "<p>Written through the TypeScript client.</p>" },
    },
  });
  assert.equal(created.response.status, 201, JSON.stringify(created.error));
  const story = created.data;
  assert.ok(story);

  const read = await client.GET("/api/v1/admin/articles/{id}/translations/{lang}", {
    params: { path: { id: story.id, lang: "en" } },
  });
  assert.ok(read.data, JSON.stringify(read.error));
  const etag = read.response.headers.get("etag");
  assert.ok(etag);
  assert.equal(read.data.status, "draft");

  const published = await client.POST("/api/v1/admin/articles/{id}/translations/{lang}/transitions", {
    params: { path: { id: story.id, lang: "en" }, header: { "If-Match": etag } },
    body: { status: "published" },
  });
  assert.equal(published.response.status, 200, JSON.stringify(published.error));

  const reader = newsdesk({ baseUrl });
  const page = await reader.GET("/api/v1/articles/{lang}/{slug}", {
    params: { path: { lang: "en", slug: read.data.slug }, query: { include: "most_read" } },
  });
  assert.ok(page.data, JSON.stringify(page.error));
  assert.equal(page.data.title, title);
  assert.equal(page.data.served_lang, "en");
  assert.equal(page.data.type, "news");
  assert.deepEqual(
    page.data.tags.map((t) => t.slug),
    ["georgia-russia"],
  );
  assert.ok(Array.isArray(page.data.most_read));

  const list = await reader.GET("/api/v1/articles", { params: { query: { lang: "en", limit: 5 } } });
  assert.ok(list.data);
  assert.equal(list.data.items[0]?.title, title);
});

test("errors arrive as typed problems", async () => {
  const reader = newsdesk({ baseUrl });
  const missing = await reader.GET("/api/v1/articles/{lang}/{slug}", {
    params: { path: { lang: "en", slug: "no-such-story-anywhere" } },
  });
  assert.equal(missing.response.status, 404);
  assert.ok(isProblem(missing.error));
  assert.equal(missing.error.status, 404);

  await assert.rejects(signIn({ baseUrl }, "nobody@newsroom.example", "wrong password"), /signing in failed/);
});
