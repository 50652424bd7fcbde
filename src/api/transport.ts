import { isVmproError, VmproError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import type { TokenSource } from '../token-source.js';
import { hintFor, RETRYABLE_STATUSES, redactedPath, VmproApiError } from './errors.js';
import { backoffDelay, parseRetryAfter } from './retry.js';

/** Where a hook is called, for logging and metrics. */
export interface HookContext {
  /** Upper-case method. */
  readonly method: string;
  /** Path and query of the first URL of the call, secret-looking query values redacted. */
  readonly path: string;
  /** 1-based: the first send is attempt 1, a retry is attempt 2… */
  readonly attempt: number;
  /** Aborts when the caller aborts or the attempt times out. */
  readonly signal: AbortSignal;
}

/**
 * Called before each attempt with the Request about to be sent. **The Request carries the real
 * `Authorization` header**: never log its headers. Return a Request to send that one instead
 * (it must stay on the API origin), or a Response to answer without sending.
 */
export type BeforeRequestHook = (
  request: Request,
  context: HookContext,
  // biome-ignore lint/suspicious/noConfusingVoidType: a hook that only logs returns nothing.
) => Request | Response | undefined | void | Promise<Request | Response | undefined | void>;

/** Called with each final response (after redirects); return a Response to replace it. */
export type AfterResponseHook = (
  request: Request,
  response: Response,
  context: HookContext,
  // biome-ignore lint/suspicious/noConfusingVoidType: a hook that only logs returns nothing.
) => Response | undefined | void | Promise<Response | undefined | void>;

/** What `beforeRetry` hooks learn about a retry the client is about to make. */
export interface RetryState {
  readonly request: Request;
  /** Why the last attempt failed. */
  readonly error: VmproError;
  /** The attempt that is about to be made (2 for the first retry). */
  readonly attempt: number;
  /** `refresh`: after a 401, with a freshly refreshed token; `status`: 429/5xx; `network`. */
  readonly reason: 'refresh' | 'status' | 'network';
  /** How long the client waits before the retry. */
  readonly delayMs: number;
}

export type BeforeRetryHook = (state: RetryState) => void | Promise<void>;

/** Hooks in the style of ky, for logging, metrics and tracing headers. */
export interface Hooks {
  beforeRequest?: readonly BeforeRequestHook[] | undefined;
  afterResponse?: readonly AfterResponseHook[] | undefined;
  beforeRetry?: readonly BeforeRetryHook[] | undefined;
}

/** When and how often a failed call is sent again. */
export interface RetryOptions {
  /** Retries after the first attempt (default 2). */
  limit?: number | undefined;
  /** Methods that are retried after 429/5xx/network errors (default `['GET', 'HEAD']`). */
  methods?: readonly string[] | undefined;
  /** Statuses that are retried (default `[429, 502, 503, 504]`). */
  statusCodes?: readonly number[] | undefined;
  /**
   * The longest the client waits, in total, for the retries of one call, in seconds (default
   * 60). A `Retry-After` that does not fit gives up at once with an error whose `retryAfter`
   * says when to try again.
   */
  maxRetryAfterSec?: number | undefined;
  /** Cap of one back-off wait when the API sent no `Retry-After`, in ms (default 10 000). */
  backoffLimitMs?: number | undefined;
}

export interface ResolvedRetry {
  limit: number;
  methods: ReadonlySet<string>;
  statusCodes: ReadonlySet<number>;
  budgetMs: number;
  backoffLimitMs: number;
}

export interface TransportConfig {
  base: URL;
  /** `base.href` without a trailing slash. */
  baseHref: string;
  basePath: string;
  tokenSource: TokenSource;
  fetch: typeof fetch;
  timeoutMs: number;
  retry: ResolvedRetry;
  hooks: {
    beforeRequest: BeforeRequestHook[];
    afterResponse: AfterResponseHook[];
    beforeRetry: BeforeRetryHook[];
  };
  logger: Logger;
  userAgent: string | undefined;
  sleep: (ms: number, signal?: AbortSignal | undefined) => Promise<void>;
  now: () => number;
  random: () => number;
}

/** A body `request()` accepts. Streams and async iterables are sent once and never replayed. */
export type RequestBody = BodyInit | AsyncIterable<Uint8Array>;

export interface ExchangeRequest {
  method: string;
  url: URL;
  /** Send the bearer token (API calls) or not (the upload host). */
  auth: boolean;
  /** Used in error messages: `VideoManager Pro API` or `VideoManager Pro upload server`. */
  service: string;
  headers?: HeadersInit | undefined;
  json?: unknown | undefined;
  body?: RequestBody | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  /** Turns retries after 429/5xx/network errors off (the upload retries chunks itself). */
  noRetry?: boolean | undefined;
  /** Hint for 401/403 answers instead of the API's (the upload host's expired URL). */
  hints?: Partial<Record<number, string>> | undefined;
}

/** A successful answer: status, headers and the parsed body. */
export interface VmproApiResponse<T> {
  status: number;
  headers: Headers;
  /** Parsed JSON, the text when the body is not JSON, `undefined` when empty. */
  data: T;
  /** The URL that answered (after redirects). */
  url: URL;
}

interface PreparedBody {
  init: BodyInit | undefined;
  replayable: boolean;
  contentType: string | undefined;
}

/** The headers a call's Request starts with, by lower-case name. */
type HeaderRecord = Record<string, string>;

function headerRecord(from?: Headers): HeaderRecord {
  // No prototype: a header named "__proto__" must stay a header.
  const record: HeaderRecord = Object.create(null);
  from?.forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

/** The longest delay `setTimeout` takes; a longer one would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const ERROR_BODY_LIMIT = 64 * 1024;

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function iterableToStream(iterable: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = iterable[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}

const NO_BODY: PreparedBody = Object.freeze({ init: undefined, replayable: true, contentType: undefined });

function prepareBody(request: ExchangeRequest): PreparedBody {
  if (request.json !== undefined) {
    if (request.body !== undefined) {
      throw new VmproError('VMPRO_CONFIG_INVALID', 'Pass either `json` or `body` to request(), not both.');
    }
    return { init: JSON.stringify(request.json), replayable: true, contentType: 'application/json' };
  }
  const body = request.body;
  if (body === undefined || body === null) return NO_BODY;
  if (body instanceof ReadableStream) return { init: body, replayable: false, contentType: undefined };
  if (
    typeof body !== 'string' &&
    !(body instanceof Blob) &&
    isAsyncIterable(body) &&
    !ArrayBuffer.isView(body)
  ) {
    return { init: iterableToStream(body), replayable: false, contentType: undefined };
  }
  // Strings, Blobs, buffers, URLSearchParams and FormData can be sent again as they are.
  return { init: body as BodyInit, replayable: true, contentType: undefined };
}

/** `error="…"` of a `WWW-Authenticate: Bearer …` header, if any. */
function bearerError(header: string): string | undefined {
  const match = /\berror\s*=\s*(?:"([^"]*)"|([^\s,]+))/i.exec(header);
  return match ? (match[1] ?? match[2]) : undefined;
}

/**
 * Whether a 401 is worth one forced refresh: the token was refused as `invalid_token`, or the
 * API gave no reason at all (no header, or a Bearer challenge without `error`, as proxies and
 * the HTML error pages do). Other errors (`invalid_request`…) would fail again.
 */
function refreshHelps(headers: Headers): boolean {
  const header = headers.get('www-authenticate');
  if (header === null || header.trim() === '') return true;
  const error = bearerError(header);
  return error === undefined || error.toLowerCase() === 'invalid_token';
}

/**
 * What `Headers` or `Request` refuse (a header value with a line break, a forbidden method) is
 * the caller's mistake, not the network's. Their message may quote a header value, so only the
 * cause keeps it.
 */
function invalidRequest(method: string, url: URL, cause: unknown): VmproError {
  return new VmproError(
    'VMPRO_CONFIG_INVALID',
    `Could not make the request ${method} ${redactedPath(url)}: a header, the method or the body is not valid (see the error's cause).`,
    { cause },
  );
}

/** The Request of one send: redirects are followed by hand; the signal is the attempt's deadline. */
function newRequest(
  url: URL,
  method: string,
  headers: HeadersInit,
  body: BodyInit | null | undefined,
  signal: AbortSignal,
): Request {
  try {
    // `duplex` is required for a stream body and harmless for any other.
    return new Request(url, {
      method,
      headers,
      body,
      signal,
      redirect: 'manual',
      duplex: 'half',
    } as RequestInit);
  } catch (error) {
    throw invalidRequest(method, url, error);
  }
}

function abortedError(signal: AbortSignal, method: string, path: string): VmproError {
  return new VmproError('VMPRO_ABORTED', `The call ${method} ${path} was aborted by the caller.`, {
    cause: signal.reason,
  });
}

const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function describeCause(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  if (cause instanceof Error && cause.message) return cause.message;
  if (error instanceof Error && error.message) return error.message;
  return 'network error';
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

async function readLimited(response: Response, limit: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= limit) {
      await reader.cancel();
      break;
    }
  }
  const bytes = new Uint8Array(Math.min(size, limit));
  let at = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - at);
    bytes.set(part, at);
    at += part.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** The outcome of one attempt: a response whose body has been read. */
interface Settled {
  status: number;
  headers: Headers;
  url: URL;
  /** The bearer token went to the URL that answered. */
  tokenSent: boolean;
  /** Success: parsed body. Failure: the error to throw. */
  data: unknown;
  error: VmproApiError | undefined;
  /** The Request as the hooks left it. */
  request: Request;
}

/**
 * Sends one call: bearer from the token source, redirects followed by hand (the token goes to
 * the API origin only), one forced refresh after a 401, retries of safe methods, a timeout
 * per attempt, and typed errors.
 */
export class Transport {
  readonly config: TransportConfig;
  private checkedToken: string | undefined;

  constructor(config: TransportConfig) {
    this.config = config;
  }

  /**
   * Resolves a path (or an absolute URL) against the base URL and refuses anything outside
   * it: the token must never leave the configured API.
   */
  resolve(path: string): URL {
    const { base, baseHref, basePath } = this.config;
    let url: URL;
    try {
      url =
        /^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('//')
          ? new URL(path, base)
          : new URL(baseHref + (path.startsWith('/') ? path : `/${path}`));
    } catch {
      throw new VmproError(
        'VMPRO_CONFIG_INVALID',
        `The path ${JSON.stringify(path)} does not make a valid URL.`,
      );
    }
    const inside =
      url.origin === base.origin &&
      (basePath === '' || url.pathname === basePath || url.pathname.startsWith(`${basePath}/`));
    if (!inside || url.username !== '' || url.password !== '') {
      throw new VmproError(
        'VMPRO_CONFIG_INVALID',
        `Refusing to send the access token to ${url.origin}${redactedPath(url)}: it is outside the configured API base URL ${baseHref}. Pass a path such as "/v1/vms", or create a client with that base URL.`,
      );
    }
    return url;
  }

  async exchange<T>(request: ExchangeRequest): Promise<VmproApiResponse<T>> {
    const { config } = this;
    const method = request.method.toUpperCase();
    const path = redactedPath(request.url);
    const signal = request.signal;
    if (signal?.aborted) throw abortedError(signal, method, path);
    const { timeoutMs } = request;
    if (
      timeoutMs !== undefined &&
      (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > MAX_TIMER_MS)
    ) {
      throw new VmproError(
        'VMPRO_CONFIG_INVALID',
        `timeoutMs must be a number of ms between 1 and ${MAX_TIMER_MS}, got ${String(timeoutMs)}.`,
      );
    }

    const body = prepareBody(request);
    const retry = config.retry;
    const mayRetry = request.noRetry !== true && retry.methods.has(method) && body.replayable;
    let attempt = 0;
    let retries = 0;
    let waitedMs = 0;
    let refreshed = false;
    let forceRefresh = false;

    for (;;) {
      attempt += 1;
      const token = request.auth ? await this.token(forceRefresh, signal, method, path) : undefined;
      forceRefresh = false;
      let settled: Settled;
      try {
        settled = await this.attempt(request, method, path, body, token, attempt, refreshed);
      } catch (error) {
        // Network failures only: timeouts, aborts, hooks and config errors are final.
        if (!isVmproError(error, 'VMPRO_UPSTREAM_UNAVAILABLE') || !mayRetry || retries >= retry.limit)
          throw error;
        const delayMs = backoffDelay(retries, retry.backoffLimitMs, config.random);
        if (waitedMs + delayMs > retry.budgetMs) throw error;
        await this.beforeRetry(request, method, path, error, attempt + 1, 'network', delayMs);
        await this.wait(delayMs, signal, method, path);
        waitedMs += delayMs;
        retries += 1;
        continue;
      }
      const { error } = settled;
      if (error === undefined) {
        return {
          status: settled.status,
          headers: settled.headers,
          data: settled.data as T,
          url: settled.url,
        };
      }

      if (settled.status === 401 && settled.tokenSent && !refreshed && refreshHelps(settled.headers)) {
        if (!body.replayable) throw error;
        refreshed = true;
        forceRefresh = true;
        await this.beforeRetry(request, method, path, error, attempt + 1, 'refresh', 0, settled.request);
        continue;
      }

      if (config.retry.statusCodes.has(settled.status) && mayRetry && retries < retry.limit) {
        const retryAfterMs = parseRetryAfter(settled.headers.get('retry-after'), config.now());
        const delayMs = retryAfterMs ?? backoffDelay(retries, retry.backoffLimitMs, config.random);
        if (waitedMs + delayMs > retry.budgetMs) {
          throw retryAfterMs === undefined ? error : this.beyondBudget(error, retryAfterMs);
        }
        await this.beforeRetry(request, method, path, error, attempt + 1, 'status', delayMs, settled.request);
        await this.wait(delayMs, signal, method, path);
        waitedMs += delayMs;
        retries += 1;
        continue;
      }
      throw error;
    }
  }

  /** The error for a `Retry-After` longer than the client is willing to wait. */
  private beyondBudget(error: VmproApiError, retryAfterMs: number): VmproApiError {
    const seconds = Math.ceil(retryAfterMs / 1000);
    const budget = Math.round(this.config.retry.budgetMs / 1000);
    return new VmproApiError(
      `${error.message} It asked to be retried after ${seconds} s, longer than this client waits (retry.maxRetryAfterSec = ${budget}): retry after ${seconds} s.`,
      {
        status: error.status,
        method: error.method,
        path: error.path,
        apiMessage: error.apiMessage,
        apiCode: error.apiCode,
        hint: error.hint,
      },
      { retryable: true, retryAfter: seconds, cause: error.cause },
    );
  }

  private async token(
    forceRefresh: boolean,
    signal: AbortSignal | undefined,
    method: string,
    path: string,
  ): Promise<string> {
    let token: unknown;
    try {
      token = await this.config.tokenSource.getAccessToken(
        forceRefresh ? { forceRefresh: true, signal } : { signal },
      );
    } catch (error) {
      // The token source's own errors (VMPRO_REFRESH_EXPIRED…) reach the caller unchanged.
      if (signal?.aborted) throw abortedError(signal, method, path);
      throw error;
    }
    // The same token arrives again and again: check each new one once.
    if (typeof token === 'string' && token === this.checkedToken) return token;
    if (typeof token !== 'string' || !BEARER_TOKEN.test(token)) {
      throw new VmproError(
        'VMPRO_CONFIG_INVALID',
        typeof token === 'string' && /^bearer\s/i.test(token)
          ? 'The token source returned a value starting with "Bearer "; return the bare access token.'
          : 'The token source returned no usable access token (empty, not a string, or with characters a bearer token cannot contain).',
      );
    }
    this.checkedToken = token;
    return token;
  }

  private async wait(
    ms: number,
    signal: AbortSignal | undefined,
    method: string,
    path: string,
  ): Promise<void> {
    try {
      await this.config.sleep(ms, signal);
    } catch (error) {
      if (signal?.aborted) throw abortedError(signal, method, path);
      throw error;
    }
    if (signal?.aborted) throw abortedError(signal, method, path);
  }

  private async beforeRetry(
    request: ExchangeRequest,
    method: string,
    path: string,
    error: VmproError,
    attempt: number,
    reason: RetryState['reason'],
    delayMs: number,
    sent?: Request,
  ): Promise<void> {
    this.config.logger.warn('vmpro api retry', { method, path, attempt, reason, delayMs, code: error.code });
    const hooks = this.config.hooks.beforeRetry;
    if (hooks.length === 0) return;
    const state: RetryState = {
      request: sent ?? new Request(request.url, { method }),
      error,
      attempt,
      reason,
      delayMs,
    };
    for (const hook of hooks) await hook(state);
  }

  private baseHeaders(
    request: ExchangeRequest,
    method: string,
    body: PreparedBody,
    token: string | undefined,
  ): HeaderRecord {
    let headers: HeaderRecord;
    try {
      headers = request.headers === undefined ? headerRecord() : headerRecord(new Headers(request.headers));
    } catch (error) {
      throw invalidRequest(method, request.url, error);
    }
    if (request.auth && headers['accept'] === undefined) headers['accept'] = 'application/json';
    if (body.contentType !== undefined && headers['content-type'] === undefined) {
      headers['content-type'] = body.contentType;
    }
    if (this.config.userAgent !== undefined && headers['user-agent'] === undefined) {
      headers['user-agent'] = this.config.userAgent;
    }
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    else delete headers['authorization'];
    return headers;
  }

  /**
   * One attempt: hooks, the send with its redirects, and reading the body, before one deadline
   * that starts with the attempt. A server that sends its answer a byte at a time cannot stretch
   * the call past `timeoutMs`.
   *
   * The deadline is an AbortController of the attempt's own, aborted by its timer or by the
   * caller's signal. Both links are undone when the attempt ends: `AbortSignal.any()` would keep
   * every attempt's signal attached to a long-lived caller signal (nodejs/node#55351), and
   * `AbortSignal.timeout()` cannot be cleared.
   */
  private async attempt(
    request: ExchangeRequest,
    method: string,
    path: string,
    body: PreparedBody,
    token: string | undefined,
    attempt: number,
    refreshed: boolean,
  ): Promise<Settled> {
    const { config } = this;
    const callerSignal = request.signal;
    // It may have aborted while the token source was working; a listener added now would never fire.
    if (callerSignal?.aborted) throw abortedError(callerSignal, method, path);
    const timeoutMs = request.timeoutMs ?? config.timeoutMs;
    const deadline = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort(new DOMException(`No answer within ${timeoutMs} ms.`, 'TimeoutError'));
    }, timeoutMs);
    // A call in flight is kept alive by its socket, not by this timer.
    timer.unref?.();
    const onCallerAbort = () => deadline.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    const signal = deadline.signal;
    const hooks = config.hooks;
    const logging = config.logger !== silentLogger;
    const started = logging ? performance.now() : 0;
    let status: number | undefined;

    /** What a failed send or read becomes: aborted, timed out, or the API unreachable. */
    const failure = (error: unknown): VmproError => {
      if (callerSignal?.aborted) return abortedError(callerSignal, method, path);
      if (timedOut) {
        return new VmproError(
          'VMPRO_UPSTREAM_TIMEOUT',
          `The ${request.service} did not answer ${method} ${path} within ${timeoutMs} ms. It may be overloaded: retry later, or raise timeoutMs.`,
          { retryable: true, cause: error },
        );
      }
      if (isVmproError(error)) return error;
      return new VmproError(
        'VMPRO_UPSTREAM_UNAVAILABLE',
        `Could not reach the ${request.service} for ${method} ${path} (${describeCause(error)}). Check the network and the base URL; retry later.`,
        { retryable: true, cause: error },
      );
    };

    try {
      const context: HookContext = { method, path, attempt, signal };
      const ours = newRequest(
        request.url,
        method,
        this.baseHeaders(request, method, body, token),
        body.init,
        signal,
      );
      let sent: Request = ours;
      let response: Response | undefined;
      for (const hook of hooks.beforeRequest) {
        const result = await hook(sent, context);
        if (isResponseLike(result)) {
          response = result;
          break;
        }
        if (isRequestLike(result)) sent = result;
      }

      let url = request.url;
      let init: BodyInit | null | undefined = body.init;
      let replayable = body.replayable;
      let tokenSent = token !== undefined;
      if (response === undefined) {
        let outgoing = ours;
        if (sent !== ours) {
          url = new URL(sent.url);
          if (request.auth && url.origin !== config.base.origin) {
            throw new VmproError(
              'VMPRO_CONFIG_INVALID',
              `A beforeRequest hook sent the request to ${url.origin}, outside the configured API origin ${config.base.origin}; the access token must not go there.`,
            );
          }
          // A Request the hook built: sent as it says, under this attempt's deadline and with
          // redirects followed by hand. Its body can only be sent once.
          init = sent.body;
          replayable = sent.body === null;
          outgoing = newRequest(url, sent.method, sent.headers, init, signal);
        }
        try {
          const result = await this.send(outgoing, url, init, replayable, token, signal, request);
          response = result.response;
          url = result.url;
          tokenSent = result.tokenSent;
        } catch (error) {
          throw failure(error);
        }
      }
      for (const hook of hooks.afterResponse) {
        const replaced = await hook(sent, response, context);
        if (isResponseLike(replaced)) response = replaced;
      }
      status = response.status;

      let data: unknown;
      let error: VmproApiError | undefined;
      try {
        if (response.ok) data = await this.readSuccess(response, method, request, url, token);
        else error = await this.readError(response, method, request, url, token, refreshed, replayable);
      } catch (caught) {
        throw failure(caught);
      }
      return { status, headers: response.headers, url, tokenSent, data, error, request: sent };
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
      if (logging)
        config.logger.debug('vmpro api', {
          method,
          path,
          status,
          durationMs: Math.round((performance.now() - started) * 10) / 10,
          attempt,
        });
    }
  }

  /**
   * Sends `first` and follows the redirects it gets by hand, so that the token stays on the API
   * origin. `firstBody` is what `first` was made with, for a redirect that sends it again.
   */
  private async send(
    first: Request,
    firstUrl: URL,
    firstBody: BodyInit | null | undefined,
    replayable: boolean,
    token: string | undefined,
    signal: AbortSignal,
    request: ExchangeRequest,
  ): Promise<{ response: Response; url: URL; tokenSent: boolean }> {
    const origin = this.config.base.origin;
    let current = first;
    let url = firstUrl;
    let body = firstBody;
    for (let redirects = 0; ; redirects += 1) {
      const response = await this.config.fetch(current);
      const method = current.method;
      if (response.type === 'opaqueredirect') {
        throw new VmproError(
          'VMPRO_UNSUPPORTED',
          `The ${request.service} redirected ${method} ${redactedPath(url)}, and this runtime hides redirect targets; the client cannot follow it safely.`,
        );
      }
      const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
      if (location === null) return { response, url, tokenSent: current.headers.has('authorization') };

      await response.body?.cancel().catch(() => {});
      const next = new URL(location, url);
      const problem =
        redirects >= MAX_REDIRECTS
          ? `more than ${MAX_REDIRECTS} redirects`
          : next.protocol !== 'https:' && next.protocol !== 'http:'
            ? `a redirect to a ${next.protocol} URL`
            : next.protocol === 'http:' && url.protocol === 'https:'
              ? 'a redirect from https to plain http'
              : undefined;
      if (problem !== undefined) {
        throw new VmproApiError(
          `The ${request.service} answered ${method} ${redactedPath(firstUrl)} with ${problem}; the client stopped there.`,
          { status: response.status, method, path: redactedPath(firstUrl) },
        );
      }
      const headers = new Headers(current.headers);
      let nextMethod = method;
      const keepsMethod = response.status === 307 || response.status === 308;
      if (!keepsMethod && (response.status === 303 ? method !== 'HEAD' : method === 'POST')) {
        nextMethod = 'GET';
        body = undefined;
        headers.delete('content-type');
        headers.delete('content-length');
      } else if (body !== undefined && body !== null && !replayable) {
        throw new VmproApiError(
          `The ${request.service} redirected ${method} ${redactedPath(firstUrl)} (status ${response.status}), but its body is a stream that cannot be sent twice. Pass a Blob or a buffer instead.`,
          { status: response.status, method, path: redactedPath(firstUrl) },
        );
      }
      if (next.origin === origin && token !== undefined) {
        headers.set('authorization', `Bearer ${token}`);
      } else {
        // Another origin never gets the token (RFC 9700 §4.9 counterfeit resource server).
        headers.delete('authorization');
        headers.delete('proxy-authorization');
        headers.delete('cookie');
      }
      current = newRequest(next, nextMethod, headers, body, signal);
      url = next;
    }
  }

  private async readSuccess(
    response: Response,
    method: string,
    request: ExchangeRequest,
    url: URL,
    token: string | undefined,
  ): Promise<unknown> {
    if (method === 'HEAD' || response.status === 204 || response.status === 205) {
      await response.body?.cancel().catch(() => {});
      return undefined;
    }
    const text = await response.text();
    if (text === '') return undefined;
    const type = response.headers.get('content-type') ?? '';
    if (type === '' || /[/+]json\b/i.test(type)) {
      try {
        return JSON.parse(text);
      } catch (cause) {
        if (type === '') return text;
        throw new VmproApiError(
          `The ${request.service} answered ${method} ${redactedPath(url)} with status ${response.status} and a body that is not valid JSON.`,
          { status: response.status, method, path: redactedPath(url) },
          { cause: scrubbed(cause, token) },
        );
      }
    }
    return text;
  }

  private async readError(
    response: Response,
    method: string,
    request: ExchangeRequest,
    url: URL,
    token: string | undefined,
    refreshed: boolean,
    replayable: boolean,
  ): Promise<VmproApiError> {
    const status = response.status;
    const path = redactedPath(url);
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.config.now());
    const retryAfter = retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000);
    const text = await readLimited(response, ERROR_BODY_LIMIT);
    const type = (response.headers.get('content-type') ?? '').toLowerCase();
    let apiMessage: string | undefined;
    let apiCode: string | number | undefined;
    let html = false;
    if (type.includes('text/html') || /^\s*<(?:!doctype|html|head|body|title)\b/i.test(text)) {
      html = true;
    } else if (text !== '') {
      try {
        const parsed: unknown = JSON.parse(text);
        if (typeof parsed === 'object' && parsed !== null) {
          const record = parsed as Record<string, unknown>;
          const message = record['message'] ?? record['error_description'] ?? record['error'];
          if (typeof message === 'string') apiMessage = message;
          const code = record['code'] ?? record['errorCode'];
          if (typeof code === 'string' || typeof code === 'number') apiCode = code;
        }
      } catch {
        if (type.startsWith('text/plain')) apiMessage = text;
      }
    }
    if (apiMessage !== undefined) apiMessage = oneLine(scrub(apiMessage, token), 300);

    let hint = request.hints?.[status] ?? hintFor(status, retryAfter);
    if (status === 401 && request.auth) {
      const header = response.headers.get('www-authenticate');
      if (header !== null && !refreshHelps(response.headers)) {
        hint = `the API refused the request's authentication (${oneLine(scrub(bearerError(header) ?? header, token), 80)})`;
      } else if (!refreshed && !replayable) {
        hint =
          'the access token was refused; the request body is a stream, so the call was not retried with a refreshed token';
      }
    }
    const what = html
      ? `answered with an HTML error page (status ${status})`
      : `answered ${status}${response.statusText ? ` ${response.statusText}` : ''}${apiMessage !== undefined ? `: "${apiMessage}"` : ''}${apiCode !== undefined ? ` (code ${apiCode})` : ''}`;
    return new VmproApiError(
      `${request.service}: ${method} ${path} ${what}.${hint === undefined ? '' : ` Likely cause: ${hint}.`}`,
      { status, method, path, apiMessage, apiCode, hint },
      { retryable: RETRYABLE_STATUSES.has(status), retryAfter },
    );
  }
}

function scrub(text: string, token: string | undefined): string {
  return token === undefined || token === '' ? text : text.split(token).join('[REDACTED]');
}

function scrubbed(error: unknown, token: string | undefined): unknown {
  return error instanceof Error && token !== undefined && error.message.includes(token)
    ? new Error(scrub(error.message, token))
    : error;
}

/**
 * Duck-typed checks: some servers (e.g. @hono/node-server) replace the global Request/Response
 * classes, so objects from `fetch` or from user hooks need not be instances of the global ones.
 */
function isResponseLike(value: unknown): value is Response {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Response).status === 'number' &&
    typeof (value as Response).headers?.get === 'function' &&
    typeof (value as Request).method !== 'string'
  );
}

function isRequestLike(value: unknown): value is Request {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Request).method === 'string' &&
    typeof (value as Request).url === 'string' &&
    typeof (value as Request).headers?.get === 'function'
  );
}
