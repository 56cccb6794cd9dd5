/**
 * A typed client for the Newsdesk API: the types are generated from `openapi/openapi.json` by
 * openapi-typescript (`npm run generate`), the requests made by openapi-fetch.
 *
 *     const api = newsdesk({ baseUrl: "http://127.0.0.1:8080" });
 *     const { data, error } = await api.GET("/api/v1/articles/{lang}/{slug}", {
 *       params: { path: { lang: "en", slug } },
 *     });
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };
/** A schema of the API by name: `Schema<"ArticleDetail">`. */
export type Schema<Name extends keyof components["schemas"]> = components["schemas"][Name];
/** The RFC 9457 problem every error answers with. */
export type Problem = Schema<"Problem">;

export interface Options {
  /** Where Newsdesk answers, without a trailing slash: `http://127.0.0.1:8080`. */
  baseUrl: string;
  /**
   * Credentials sent as `Authorization: Bearer …`: an editor's access token for the Admin API
   * (or a function that returns the current one), or a partner key (`ndp_…`) for syndication.
   * The Content API needs none.
   */
  token?: string | (() => string | undefined);
  /** Another `fetch`, for tests or a runtime without a global one. */
  fetch?: typeof globalThis.fetch;
  /** Headers sent with every request, such as `User-Agent` on a server. */
  headers?: Record<string, string>;
}

export type NewsdeskClient = Client<paths>;

/** A client for one Newsdesk. */
export function newsdesk(options: Options): NewsdeskClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
  });
  const { token } = options;
  if (token !== undefined) {
    const bearer: Middleware = {
      onRequest({ request }) {
        const value = typeof token === "function" ? token() : token;
        if (value && !request.headers.has("authorization")) {
          request.headers.set("authorization", `Bearer ${value}`);
        }
        return request;
      },
    };
    client.use(bearer);
  }
  return client;
}

/** Whether a value is a Newsdesk problem body. */
export function isProblem(value: unknown): value is Problem {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v["type"] === "string" && typeof v["status"] === "number";
}

/**
 * Signs in and returns a client that sends the access token, with the sign-in answer. The token
 * lasts `expires_in` seconds; sign in again (or use `/api/v1/auth/refresh`) when it expires.
 */
export async function signIn(
  options: Omit<Options, "token">,
  email: string,
  password: string,
): Promise<{ client: NewsdeskClient; session: Schema<"TokenResponse"> }> {
  const anonymous = newsdesk(options);
  const { data, error, response } = await anonymous.POST("/api/v1/auth/login", {
    body: { email, password },
  });
  if (!data) {
    const detail = isProblem(error) ? error.detail : `HTTP ${response.status}`;
    throw new Error(`signing in failed: ${detail}`);
  }
  return { client: newsdesk({ ...options, token: data.access_token }), session: data };
}
