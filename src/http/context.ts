/**
 * The per-request context: the session (loaded once, lazily), fresh tokens, and a VideoManager
 * Pro API client that refreshes them as needed.
 */
import { createVmproApiClient, type VmproApiClient } from '../api/index.js';
import { configError, VmproError } from '../errors.js';
import type { TokenSet } from '../oidc/types.js';
import type { CookieJar, SessionRecord } from '../session/index.js';
import type { TokenSource } from '../token-source.js';
import { userOf, type VmproUser } from './claims.js';
import { createCookieJar } from './cookies.js';
import type { HandlerDeps, RequestLike } from './kit.js';

/** Receives each `Set-Cookie` value a handler produces, as soon as it is produced. */
export type SetCookieSink = (setCookie: string) => void;

/**
 * Everything about the current request's login: the session (loaded once, lazily), fresh tokens
 * and a VideoManager Pro API client that refreshes them as needed.
 */
export interface VmproContext {
  /**
   * The session, or `null` when the user is not logged in. Loaded once per request. Custom data
   * from `afterLogin` is its `data`.
   */
  session(): Promise<SessionRecord | null>;
  /**
   * The logged-in user — the ID token's claims (typed by your `VmproClaims` augmentation) and
   * the stored profile — or `null`.
   */
  user(): Promise<VmproUser | null>;
  /** The session, or a `VMPRO_NOT_AUTHENTICATED` error. */
  requireSession(): Promise<SessionRecord>;
  /** Tokens with a valid access token, refreshed once per session when needed. */
  tokens(options?: {
    forceRefresh?: boolean | undefined;
    signal?: AbortSignal | undefined;
  }): Promise<TokenSet>;
  /** A token source over this request's session, for your own API clients. */
  readonly tokenSource: TokenSource;
  /** The VideoManager Pro API as the logged-in user (created on first use). */
  readonly api: VmproApiClient;
  /**
   * `fetch` to the VideoManager Pro API with the user's bearer token. `path` is relative to the
   * API origin (`/v1/vms`); the token is never sent anywhere else.
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/** Makes the context of each request; `fetch` is the one the app configured (for the API too). */
export function contextFactory(
  deps: HandlerDeps,
  fetchImpl: typeof fetch | undefined,
): (request: RequestLike, sink: SetCookieSink) => VmproContext {
  const { options, sessions, logger } = deps;

  /**
   * A class, so that a request allocates one small object (this runs on every request; closures
   * per request showed up as garbage-collection time in profiles).
   */
  class RequestContext implements VmproContext {
    #jar: CookieJar | undefined;
    #loaded: Promise<SessionRecord | null> | undefined;
    /** The session as last refreshed in this request (`session()` keeps answering the loaded one). */
    #current: SessionRecord | undefined;
    #api: VmproApiClient | undefined;
    #tokenSource: TokenSource | undefined;
    readonly #request: RequestLike;
    readonly #sink: SetCookieSink;

    constructor(request: RequestLike, sink: SetCookieSink) {
      this.#request = request;
      this.#sink = sink;
    }

    #cookies(): CookieJar {
      this.#jar ??= createCookieJar(this.#request.headers.get('cookie'), this.#sink);
      return this.#jar;
    }

    session(): Promise<SessionRecord | null> {
      this.#loaded ??= sessions.load(this.#cookies());
      return this.#loaded;
    }

    async user(): Promise<VmproUser | null> {
      const record = await this.session();
      return record === null ? null : userOf(record);
    }

    async requireSession(): Promise<SessionRecord> {
      const record = await this.session();
      if (!record)
        throw new VmproError('VMPRO_NOT_AUTHENTICATED', 'Not signed in, or the sign-in has ended.');
      return record;
    }

    async tokens(opts?: {
      forceRefresh?: boolean | undefined;
      signal?: AbortSignal | undefined;
    }): Promise<TokenSet> {
      const record = this.#current ?? (await this.requireSession());
      this.#current = await sessions.freshSession(this.#cookies(), record, opts);
      return this.#current.tokens;
    }

    get tokenSource(): TokenSource {
      this.#tokenSource ??= { getAccessToken: async (opts) => (await this.tokens(opts)).accessToken };
      return this.#tokenSource;
    }

    get api(): VmproApiClient {
      // Inside a web request, wait little for the API: one retry, and a Retry-After of more
      // than 3 s goes back to the browser as a 503 with that Retry-After.
      this.#api ??= createVmproApiClient({
        baseUrl: options.apiBase,
        tokenSource: this.tokenSource,
        fetch: fetchImpl,
        logger,
        retry: { limit: 1, maxRetryAfterSec: 3 },
      });
      return this.#api;
    }

    async fetch(path: string, init?: RequestInit): Promise<Response> {
      if (!path.startsWith('/') || path.startsWith('//')) {
        throw configError('path', 'of context.fetch must be a path on the API origin, like /v1/vms');
      }
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${await this.tokenSource.getAccessToken()}`);
      return (fetchImpl ?? fetch)(new URL(path, options.apiBase), { ...init, headers, redirect: 'manual' });
    }
  }

  return (request, sink) => new RequestContext(request, sink);
}
