import { VmproError } from '../errors.js';
import { DEFAULT_API_BASE, isLoopbackHost } from '../internal/url.js';
import { asLogger, type FieldsFirstLogger, type Logger } from '../logger.js';
import type { TokenSource } from '../token-source.js';
import { redactedPath, VmproApiError } from './errors.js';
import {
  type AnalyticsResource,
  type ChannelsMediaMethods,
  createMediaResources,
  type MetadataMediaMethods,
  type ThumbnailsResource,
  type VideosMediaMethods,
  type VmsMediaMethods,
} from './media.js';
import { type AnswerOrigin, normalizeChannel, normalizeVideo } from './normalize.js';
import { type QueryInput, toQuery } from './query.js';
import { defaultSleep } from './retry.js';
import { createSearchResource, type SearchResource } from './search.js';
import {
  type Hooks,
  MAX_TIMER_MS,
  type RequestBody,
  type ResolvedRetry,
  type RetryOptions,
  Transport,
  type TransportConfig,
  type VmproApiResponse,
} from './transport.js';
import type {
  Channel,
  ChannelCreateRequest,
  CustomMetadata,
  DownloadUrl,
  Keyword,
  TranscodingStatus,
  VideoCreateRequest,
  VideoGetOptions,
  VideoId,
  VideoListFilters,
  VideoManager,
  VideoManagerId,
  VideoManagerKeyword,
  VideoPage,
  VideoPageAt,
  VideoUpdate,
} from './types.js';
import type { Player } from './types-media.js';
import type { VideoDetails, VideoListItem } from './types-video.js';
import { type UploadOptions, type UploadResult, type UploadSource, uploadChunks } from './upload.js';

/** Options of `createVmproApiClient()`. */
export interface VmproApiClientOptions {
  /**
   * The API origin (and optional path prefix). Default `https://api.video-cdn.net`. Plain
   * `http://` only on loopback hosts (the emulator). The token is sent nowhere else.
   */
  baseUrl?: string | URL | undefined;
  /** Where the bearer token comes from: `fixedToken()`, a session or a service account. */
  tokenSource: TokenSource;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch | undefined;
  /**
   * Deadline of each attempt in ms, from sending to the last byte of the body: a server that
   * sends its answer slowly cannot hold a call longer (default 30 000).
   */
  timeoutMs?: number | undefined;
  /** Retry policy, or the number of retries (default 2, GET/HEAD only). */
  retry?: RetryOptions | number | undefined;
  hooks?: Hooks | undefined;
  /** Gets method, path, status, duration and attempt of each exchange; never headers. */
  logger?: Logger | FieldsFirstLogger | undefined;
  /** `User-Agent` header (default `vmpro-connect`); `false` sends none of ours. */
  userAgent?: string | false | undefined;
  /** How the client waits between retries; for tests (default: `setTimeout`, abortable). */
  sleep?: (ms: number, signal?: AbortSignal | undefined) => Promise<void>;
  /** Clock in epoch ms, for `Retry-After` dates; for tests (default `Date.now`). */
  now?: () => number;
  /** Source of back-off jitter in [0, 1); for tests (default `Math.random`). */
  random?: () => number;
}

/** Options every resource method takes. */
export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Overrides the client's timeout for this call, in ms. */
  timeoutMs?: number | undefined;
}

/** Options of the low-level `request()`. */
export interface RequestOptions extends CallOptions {
  /** Query parameters: camelCase keys are sent snake_case (see `toQuery`), or a ready string. */
  query?: QueryInput | URLSearchParams | string | undefined;
  /** A JSON body (sets `Content-Type: application/json`). */
  json?: unknown | undefined;
  /** Any other body. Streams are sent once: no retry, no refresh-and-retry. */
  body?: RequestBody | undefined;
  headers?: HeadersInit | undefined;
}

/** `api.vms`; `players`, `metadataSets` and `userInfo` are described in `media.ts`. */
export interface VmsResource extends VmsMediaMethods {
  /** `GET /v1/vms`: the VideoManagers the user can reach. */
  list(options?: CallOptions): Promise<VideoManager[]>;
}

/**
 * A player definition of `vms.players()`.
 *
 * @deprecated Use `Player`.
 * @example
 * ```ts
 * const [player]: PlayerDefinition[] = await api.vms.players(vmId)
 * ```
 */
export type PlayerDefinition = Player;

export interface IterateOptions extends CallOptions {
  /** Videos per request (default: `filters.limit`, else 100). */
  pageSize?: number | undefined;
}

/** `api.videos`; `attachments`, `embedCodes` and `thumbnails` are described in `media.ts`. */
export interface VideosResource extends VideosMediaMethods {
  /** `GET /v1/vms/{vm}/videos`: one page of videos and the total count. */
  list(vmId: VideoManagerId, filters?: VideoListFilters, options?: CallOptions): Promise<VideoPage>;
  /**
   * Every video matching `filters`, page by page (`offset`/`limit`) until `total` is reached.
   * `filters.offset` is where it starts.
   *
   * @example
   * ```ts
   * const titles: (string | undefined)[] = []
   * for await (const video of api.videos.iterate(vmId, { publicationState: 'published' })) titles.push(video.title)
   * ```
   */
  iterate(
    vmId: VideoManagerId,
    filters?: VideoListFilters,
    options?: IterateOptions,
  ): AsyncIterableIterator<VideoListItem>;
  /** Like `iterate()`, one page at a time. */
  iteratePages(
    vmId: VideoManagerId,
    filters?: VideoListFilters,
    options?: IterateOptions,
  ): AsyncIterableIterator<VideoPageAt>;
  /**
   * How many videos match `filters`: `GET /v1/vms/{vm}/videos` with `limit=0`, reading `total`
   * (as PHP-CLIENT's `getCount`). `offset` and `limit` in `filters` are ignored.
   *
   * @example
   * ```ts
   * const unpublished = await api.videos.count(vmId, { publicationState: 'not_published', channelId: 12 })
   * ```
   */
  count(vmId: VideoManagerId, filters?: VideoListFilters, options?: CallOptions): Promise<number>;
  /**
   * `GET /v1/vms/{vm}/videos/{id}`: the video's details (dates as epoch ms, see `VideoDetails`).
   * An unpublished video is a `404` unless `ignorePublicationState` is set.
   *
   * @example
   * ```ts
   * const video = await api.videos.get(vmId, videoId, { includeKeywords: true, relatedVideosChannelId: 12 })
   * ```
   */
  get(vmId: VideoManagerId, videoId: VideoId, options?: VideoGetOptions & CallOptions): Promise<VideoDetails>;
  /**
   * `POST /v1/vms/{vm}/videos`: creates the video entity; returns its ID (from `Location`).
   * Empty values (`undefined`, `null`, `''`, `[]`) are left out of the body; `false` and `0` are
   * sent.
   *
   * @example
   * ```ts
   * const id = await api.videos.create(vmId, { fileName: 'talk.mp4', title: 'Talk', group: '27', autoPublish: false })
   * ```
   */
  create(vmId: VideoManagerId, video: VideoCreateRequest, options?: CallOptions): Promise<VideoId>;
  /** `PATCH /v1/vms/{vm}/videos/{id}`. */
  update(
    vmId: VideoManagerId,
    videoId: VideoId,
    patch: VideoUpdate,
    options?: { metadataSetId?: number } & CallOptions,
  ): Promise<void>;
  /** `DELETE /v1/vms/{vm}/videos/{id}`: moves the video to the trash. */
  delete(vmId: VideoManagerId, videoId: VideoId, options?: CallOptions): Promise<void>;
  /** `GET …/videos/{id}/download-urls`. */
  downloadUrls(
    vmId: VideoManagerId,
    videoId: VideoId,
    options?: { fileNameTemplate?: string } & CallOptions,
  ): Promise<DownloadUrl[]>;
  /** `GET …/videos/{id}/transcoding-status`. */
  transcodingStatus(
    vmId: VideoManagerId,
    videoId: VideoId,
    options?: CallOptions,
  ): Promise<TranscodingStatus[]>;
  /** `GET …/videos/{id}/url`: the upload URL (valid 4 hours), from the `Location` header. */
  uploadUrl(vmId: VideoManagerId, videoId: VideoId, options?: CallOptions): Promise<string>;
  /**
   * Uploads the file of a created video in chunks to its upload URL (the bearer token is not
   * sent there: the URL carries its own token).
   *
   * @example
   * ```ts
   * const id = await api.videos.create(vmId, { fileName: 'talk.mp4', title: 'Talk' })
   * await api.videos.upload(vmId, id, await fs.openAsBlob('talk.mp4'), { onProgress: (s, t) => log(s / t) })
   * ```
   */
  upload(
    vmId: VideoManagerId,
    videoId: VideoId,
    source: UploadSource,
    options?: UploadOptions,
  ): Promise<UploadResult>;
}

/** `api.channels`; `attachments` is described in `media.ts`. */
export interface ChannelsResource extends ChannelsMediaMethods {
  /** `GET /v1/vms/{vm}/channels`: the root channel with its `children` (unsorted). */
  tree(
    vmId: VideoManagerId,
    options?: { locale?: string; videoId?: VideoId } & CallOptions,
  ): Promise<Channel>;
  /** `POST /v1/vms/{vm}/channels`; returns the new channel's ID (from `Location`). */
  create(vmId: VideoManagerId, channel: ChannelCreateRequest, options?: CallOptions): Promise<number>;
  /**
   * One channel, found by ID in the tree of `GET /v1/vms/{vm}/channels` (with its subtree), as
   * PHP-CLIENT's `getChannel`. A channel that is not in the tree is a `VmproApiError` with
   * status `404`.
   *
   * @example
   * ```ts
   * const events = await api.channels.get(vmId, 101)
   * console.log(events.name, events.children?.length)
   * ```
   */
  get(vmId: VideoManagerId, channelId: number, options?: { locale?: string } & CallOptions): Promise<Channel>;
  /**
   * `POST /v1/vms/{vm}/channels/{channelId}/videos/{videoId}`: puts a video in a channel.
   *
   * @example
   * ```ts
   * await api.channels.addVideo(vmId, { channelId: 12, videoId })
   * ```
   */
  addVideo(vmId: VideoManagerId, link: ChannelVideoLink, options?: CallOptions): Promise<void>;
  /**
   * `DELETE /v1/vms/{vm}/channels/{channelId}/videos/{videoId}`: takes a video out of a channel.
   *
   * @example
   * ```ts
   * await api.channels.removeVideo(vmId, { channelId: 12, videoId })
   * ```
   */
  removeVideo(vmId: VideoManagerId, link: ChannelVideoLink, options?: CallOptions): Promise<void>;
}

/**
 * A video and a channel, named so that the two IDs cannot be swapped unnoticed.
 *
 * @example
 * ```ts
 * await api.channels.addVideo(vmId, { channelId: 12, videoId: '1wGJbtN7QPwkAkd8_VcgKH' })
 * ```
 */
export interface ChannelVideoLink {
  channelId: number;
  videoId: VideoId;
}

export interface KeywordsResource {
  /** `GET …/videos/{id}/keywords`. */
  list(vmId: VideoManagerId, videoId: VideoId, options?: CallOptions): Promise<Keyword[]>;
  /** `POST …/videos/{id}/keywords` with `{ text }`. */
  add(
    vmId: VideoManagerId,
    videoId: VideoId,
    text: string,
    options?: { metadataSetId?: number } & CallOptions,
  ): Promise<Keyword>;
  /** `DELETE …/videos/{id}/keywords/{keywordId}`. */
  remove(
    vmId: VideoManagerId,
    videoId: VideoId,
    keywordId: number,
    options?: { metadataSetId?: number } & CallOptions,
  ): Promise<void>;
  /**
   * Makes `texts` the video's keywords: lists the current ones, deletes each, then adds each new
   * text (trimmed, empty and repeated texts dropped), as PHP-CLIENT's `updateKeywords`. Returns
   * the keywords added.
   *
   * **Not atomic**: the API has no replace-all call, so this is 1 + old + new requests. When one
   * fails, its error is thrown at once and nothing is undone: the video keeps the old keywords
   * not yet deleted and the new ones already added. Calling `replace()` again with the same
   * texts finishes the job.
   *
   * @example
   * ```ts
   * await api.keywords.replace(vmId, videoId, ['launch', 'product'])
   * ```
   */
  replace(
    vmId: VideoManagerId,
    videoId: VideoId,
    texts: readonly string[],
    options?: { metadataSetId?: number } & CallOptions,
  ): Promise<Keyword[]>;
  /** `GET /v1/vms/{vm}/keyword/find`: keywords of the whole VideoManager. */
  find(
    vmId: VideoManagerId,
    options?: { searchstring?: string; type?: string } & CallOptions,
  ): Promise<VideoManagerKeyword[]>;
}

/** `api.metadata`; the corporate-tube methods are described in `media.ts`. */
export interface MetadataResource extends MetadataMediaMethods {
  /** `GET …/videos/{id}/metadata`: custom metadata, field name → value. */
  get(vmId: VideoManagerId, videoId: VideoId, options?: CallOptions): Promise<CustomMetadata>;
  /** `PATCH …/videos/{id}/metadata`: `null` deletes a value. */
  patch(
    vmId: VideoManagerId,
    videoId: VideoId,
    values: CustomMetadata,
    options?: { metadataSetId?: number } & CallOptions,
  ): Promise<void>;
}

/** A typed VideoManager Pro API client. Frozen; `extend()` makes a new one. */
export interface VmproApiClient {
  /** The configured base URL, without a trailing slash. */
  readonly baseUrl: string;
  readonly vms: VmsResource;
  readonly videos: VideosResource;
  readonly channels: ChannelsResource;
  readonly keywords: KeywordsResource;
  readonly metadata: MetadataResource;
  /** The stills (thumbnails) of a video: list, create at a timestamp, get the URL, activate. */
  readonly thumbnails: ThumbnailsResource;
  /** Plays of videos over a period (`GET /v1/vms/{vm}/analytics/videos`). */
  readonly analytics: AnalyticsResource;
  /** The legacy search endpoint `POST /v1/vms/search` (see `SearchResource`). */
  readonly search: SearchResource;
  /**
   * Any API call: `path` is relative to the base URL (an absolute URL outside it is refused
   * with `VMPRO_CONFIG_INVALID`). Returns the parsed JSON body (`undefined` when empty).
   *
   * @example
   * ```ts
   * const usage = await api.request<Record<string, unknown>>('GET', `/v1/vms/${vmId}/usage`)
   * ```
   */
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<T>;
  /** Like `request()`, with the status and headers too. */
  send<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<VmproApiResponse<T>>;
  /** A new client with these options on top (hooks are appended, retry options merged). */
  extend(options: Partial<VmproApiClientOptions>): VmproApiClient;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_PAGE_SIZE = 100;

function invalid(message: string): VmproError {
  return new VmproError('VMPRO_CONFIG_INVALID', message);
}

function parseBaseUrl(value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`baseUrl is not an absolute URL: ${JSON.stringify(String(value))}.`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw invalid(
      `baseUrl must use https (plain http only on a loopback host such as 127.0.0.1), got ${url.protocol}//${url.host}.`,
    );
  }
  if (url.username !== '' || url.password !== '')
    throw invalid('baseUrl must not contain a user name or password.');
  if (url.search !== '' || url.hash !== '') throw invalid('baseUrl must not have a query or a fragment.');
  return url;
}

function positive(
  name: string,
  value: number | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
    throw invalid(`${name} must be a number between 0 and ${max}, got ${String(value)}.`);
  }
  return value;
}

function resolveRetry(retry: RetryOptions | number | undefined): ResolvedRetry {
  const options: RetryOptions = typeof retry === 'number' ? { limit: retry } : (retry ?? {});
  const limit = positive('retry.limit', options.limit, 2, 100);
  if (!Number.isInteger(limit)) throw invalid(`retry.limit must be an integer, got ${limit}.`);
  const methods = options.methods ?? ['GET', 'HEAD'];
  if (!Array.isArray(methods) || methods.some((m) => typeof m !== 'string' || !/^[A-Za-z]+$/.test(m))) {
    throw invalid('retry.methods must be a list of HTTP method names.');
  }
  const statusCodes = options.statusCodes ?? [429, 502, 503, 504];
  if (!Array.isArray(statusCodes) || statusCodes.some((s) => !Number.isInteger(s) || s < 400 || s > 599)) {
    throw invalid('retry.statusCodes must be a list of HTTP error statuses (400–599).');
  }
  return {
    limit,
    methods: new Set(methods.map((m) => m.toUpperCase())),
    statusCodes: new Set(statusCodes),
    budgetMs: positive('retry.maxRetryAfterSec', options.maxRetryAfterSec, 60, MAX_TIMER_MS / 1000) * 1000,
    backoffLimitMs: positive('retry.backoffLimitMs', options.backoffLimitMs, 10_000, MAX_TIMER_MS),
  };
}

function functions<T>(name: string, list: readonly T[] | undefined): T[] {
  if (list === undefined) return [];
  if (!Array.isArray(list) || list.some((f) => typeof f !== 'function')) {
    throw invalid(`hooks.${name} must be a list of functions.`);
  }
  return [...list];
}

function resolveConfig(options: VmproApiClientOptions): TransportConfig {
  if (typeof options !== 'object' || options === null)
    throw invalid('createVmproApiClient needs an options object.');
  const { tokenSource } = options;
  if (typeof tokenSource?.getAccessToken !== 'function') {
    throw invalid(
      'tokenSource is required: pass fixedToken(token), a session or a service-account token source.',
    );
  }
  const base = parseBaseUrl(options.baseUrl ?? DEFAULT_API_BASE);
  const basePath = base.pathname.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw invalid('fetch must be a function (no global fetch was found).');
  const timeoutMs = positive('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS, MAX_TIMER_MS);
  if (timeoutMs === 0) throw invalid('timeoutMs must be more than 0.');
  const userAgent = options.userAgent === undefined ? 'vmpro-connect' : options.userAgent;
  if (userAgent !== false && (typeof userAgent !== 'string' || /[\r\n]/.test(userAgent))) {
    throw invalid('userAgent must be a one-line string, or false.');
  }
  const hooks = options.hooks ?? {};
  for (const name of ['sleep', 'now', 'random'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function')
      throw invalid(`${name} must be a function.`);
  }
  // pino and bunyan as they are (fields first), winston and console too.
  const logger = asLogger(options.logger);
  return {
    base,
    baseHref: base.origin + basePath,
    basePath,
    tokenSource,
    // Called unbound: some fetch implementations need `this` to be the global object.
    fetch: (input, init) => fetchImpl(input, init),
    timeoutMs,
    retry: resolveRetry(options.retry),
    hooks: {
      beforeRequest: functions('beforeRequest', hooks.beforeRequest),
      afterResponse: functions('afterResponse', hooks.afterResponse),
      beforeRetry: functions('beforeRetry', hooks.beforeRetry),
    },
    logger,
    userAgent: userAgent === false ? undefined : userAgent,
    sleep: options.sleep ?? defaultSleep,
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
  };
}

function segment(name: string, value: string | number): string {
  const text = String(value);
  if (
    text === '' ||
    text === '.' ||
    text === '..' ||
    (typeof value === 'number' && !Number.isSafeInteger(value))
  ) {
    throw invalid(`${name} is not a valid ID: ${JSON.stringify(text)}.`);
  }
  return encodeURIComponent(text);
}

function call(options: CallOptions | undefined): CallOptions {
  return { signal: options?.signal, timeoutMs: options?.timeoutMs };
}

/** The last path segment of the `Location` header of a create answer: the new resource's ID. */
function idFromLocation(response: VmproApiResponse<unknown>, method: string, what: string): string {
  const location = response.headers.get('location');
  const path = redactedPath(response.url);
  if (location === null || location.trim() === '') {
    throw new VmproApiError(
      `VideoManager Pro API: ${method} ${path} answered ${response.status} without a Location header, so the new ${what}'s ID is unknown.`,
      { status: response.status, method, path },
    );
  }
  const target = new URL(location.trim(), response.url);
  const last = target.pathname
    .split('/')
    .filter((part) => part !== '')
    .at(-1);
  if (last === undefined) {
    throw new VmproApiError(
      `VideoManager Pro API: ${method} ${path} answered with a Location header that names no ${what} ID.`,
      { status: response.status, method, path },
    );
  }
  return decodeURIComponent(last);
}

function answerOrigin(method: string, response: VmproApiResponse<unknown>): AnswerOrigin {
  return { method, path: redactedPath(response.url), status: response.status };
}

/** `body` without `undefined`, `null`, `''` and `[]` values (PHP-CLIENT's `buildJsonParameters`, keeping `0`). */
function withoutEmptyValues(body: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(body).filter(
      ([, value]) =>
        value !== undefined &&
        value !== null &&
        value !== '' &&
        !(Array.isArray(value) && value.length === 0),
    ),
  );
}

/** The channel with `id` in the tree under `root` (depth first), or `undefined`. */
function findChannel(root: Channel, id: number): Channel | undefined {
  if (root.id === id) return root;
  for (const child of root.children ?? []) {
    const found = findChannel(child, id);
    if (found) return found;
  }
  return undefined;
}

function numericId(id: string, response: VmproApiResponse<unknown>, method: string, what: string): number {
  const value = Number(id);
  if (!/^\d+$/.test(id) || !Number.isSafeInteger(value)) {
    const path = redactedPath(response.url);
    throw new VmproApiError(
      `VideoManager Pro API: ${method} ${path} answered with a Location whose last segment is not a numeric ${what} ID.`,
      { status: response.status, method, path },
    );
  }
  return value;
}

function unexpected(method: string, path: string, status: number, what: string): VmproApiError {
  return new VmproApiError(`VideoManager Pro API: ${method} ${path} answered ${status} with ${what}.`, {
    status,
    method,
    path,
  });
}

function mergeOptions(a: VmproApiClientOptions, b: Partial<VmproApiClientOptions>): VmproApiClientOptions {
  const retryOf = (r: RetryOptions | number | undefined): RetryOptions =>
    typeof r === 'number' ? { limit: r } : (r ?? {});
  const hooksA = a.hooks ?? {};
  const hooksB = b.hooks ?? {};
  return {
    ...a,
    ...b,
    tokenSource: b.tokenSource ?? a.tokenSource,
    retry: { ...retryOf(a.retry), ...retryOf(b.retry) },
    hooks: {
      beforeRequest: [...(hooksA.beforeRequest ?? []), ...(hooksB.beforeRequest ?? [])],
      afterResponse: [...(hooksA.afterResponse ?? []), ...(hooksB.afterResponse ?? [])],
      beforeRetry: [...(hooksA.beforeRetry ?? []), ...(hooksB.beforeRetry ?? [])],
    },
  };
}

/**
 * Creates a typed VideoManager Pro API client. It validates the options now (errors name the
 * field) and returns a frozen object.
 *
 * Each call gets a bearer token from `tokenSource`; after a `401` (`invalid_token`, or no
 * reason given) it forces one refresh and retries once; `GET`/`HEAD` are retried after 429,
 * 502, 503, 504 and network errors (honouring `Retry-After`, at most 2 retries and 60 s of
 * waiting); every attempt has a timeout; the token goes to the base URL's origin only, also
 * across redirects.
 *
 * @example
 * ```ts
 * const api = createVmproApiClient({ tokenSource: fixedToken(accessToken) })
 * const [vm] = await api.vms.list()
 * const ids: VideoId[] = []
 * for await (const video of api.videos.iterate(vm.id)) ids.push(video.id)
 * ```
 */
export function createVmproApiClient(options: VmproApiClientOptions): VmproApiClient {
  const transport = new Transport(resolveConfig(options));
  const own: VmproApiClientOptions = { ...options };

  function send<T>(method: string, path: string, opts: RequestOptions = {}): Promise<VmproApiResponse<T>> {
    const url = transport.resolve(path);
    const { query } = opts;
    if (query !== undefined && query !== null) {
      const text =
        typeof query === 'string'
          ? query.replace(/^\?/, '')
          : query instanceof URLSearchParams
            ? query.toString()
            : toQuery(query);
      if (text !== '') {
        url.search = url.search === '' ? text : `${url.search.slice(1)}&${text}`;
      }
    }
    return transport.exchange<T>({
      method,
      url,
      auth: true,
      service: 'VideoManager Pro API',
      headers: opts.headers,
      json: opts.json,
      body: opts.body,
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
    });
  }

  async function request<T>(method: string, path: string, options?: RequestOptions): Promise<T> {
    return (await send<T>(method, path, options)).data;
  }

  const vmPath = (vmId: VideoManagerId) => `/v1/vms/${segment('vmId', vmId)}`;
  const videoPath = (vmId: VideoManagerId, videoId: VideoId) =>
    `${vmPath(vmId)}/videos/${segment('videoId', videoId)}`;

  async function listVideos(
    vmId: VideoManagerId,
    filters: VideoListFilters = {},
    options?: CallOptions,
  ): Promise<VideoPage> {
    const path = `${vmPath(vmId)}/videos`;
    const response = await send<unknown>('GET', path, {
      ...call(options),
      query: toQuery(filters as QueryInput, { archivedState: 'archivedState' }),
    });
    const data = response.data;
    const origin = answerOrigin('GET', response);
    const read = (items: unknown[]) => items.map((item) => normalizeVideo(item, origin));
    // Tolerated: a bare array (no total), as some gateways and older fixtures answer.
    if (Array.isArray(data)) return { total: data.length, videos: read(data) };
    if (typeof data === 'object' && data !== null && Array.isArray((data as VideoPage).videos)) {
      const page = data as { total?: unknown; videos: unknown[] };
      const videos = read(page.videos);
      return { total: typeof page.total === 'number' ? page.total : videos.length, videos };
    }
    throw unexpected('GET', origin.path, response.status, 'a body that is not a video list');
  }

  async function countVideos(
    vmId: VideoManagerId,
    filters: VideoListFilters = {},
    options?: CallOptions,
  ): Promise<number> {
    const path = `${vmPath(vmId)}/videos`;
    const { offset: _offset, limit: _limit, ...rest } = filters;
    const response = await send<unknown>('GET', path, {
      ...call(options),
      query: toQuery({ ...rest, limit: 0 } as QueryInput, { archivedState: 'archivedState' }),
    });
    const total = (response.data as { total?: unknown } | null)?.total;
    if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 0) {
      throw unexpected('GET', redactedPath(response.url), response.status, 'a body without a numeric total');
    }
    return total;
  }

  async function* iteratePages(
    vmId: VideoManagerId,
    filters: VideoListFilters = {},
    options: IterateOptions = {},
  ): AsyncGenerator<VideoPageAt, void, undefined> {
    const pageSize = options.pageSize ?? filters.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1)
      throw invalid('pageSize must be a positive integer.');
    let offset = filters.offset ?? 0;
    for (;;) {
      const page = await listVideos(vmId, { ...filters, offset, limit: pageSize }, call(options));
      if (page.videos.length === 0) return;
      yield { ...page, offset };
      // Advance by what came back: the API may cap `limit` below the page size asked for.
      offset += page.videos.length;
      if (offset >= page.total) return;
    }
  }

  async function* iterateVideos(
    vmId: VideoManagerId,
    filters?: VideoListFilters,
    options?: IterateOptions,
  ): AsyncGenerator<VideoListItem, void, undefined> {
    for await (const page of iteratePages(vmId, filters, options)) yield* page.videos;
  }

  async function uploadUrl(vmId: VideoManagerId, videoId: VideoId, options?: CallOptions): Promise<string> {
    const response = await send<unknown>('GET', `${videoPath(vmId, videoId)}/url`, call(options));
    const location = response.headers.get('location');
    if (location === null || location.trim() === '') {
      throw unexpected(
        'GET',
        redactedPath(response.url),
        response.status,
        'no Location header (the upload URL)',
      );
    }
    return new URL(location.trim(), response.url).href;
  }

  const media = createMediaResources({ send, vmPath, videoPath, segment, idFromLocation, numericId });

  const vms: VmsResource = Object.freeze({
    async list(options?: CallOptions): Promise<VideoManager[]> {
      const response = await send<unknown>('GET', '/v1/vms', call(options));
      const data = response.data;
      if (Array.isArray(data)) return data as VideoManager[];
      // OAS-MD types this body only as "object": accept one wrapping list property.
      if (typeof data === 'object' && data !== null) {
        const lists = Object.values(data).filter(Array.isArray);
        if (lists.length === 1) return lists[0] as VideoManager[];
      }
      throw unexpected('GET', '/v1/vms', response.status, 'a body that is not a list of VideoManagers');
    },
    ...media.vms,
  });

  const videos: VideosResource = Object.freeze({
    list: listVideos,
    iterate: iterateVideos,
    iteratePages,
    count: countVideos,
    async get(
      vmId: VideoManagerId,
      videoId: VideoId,
      options: VideoGetOptions & CallOptions = {},
    ): Promise<VideoDetails> {
      const { signal, timeoutMs, customMetadataField, ...rest } = options;
      const fields =
        typeof customMetadataField === 'string' ? customMetadataField : customMetadataField?.join(',');
      const response = await send<unknown>('GET', videoPath(vmId, videoId), {
        signal,
        timeoutMs,
        query: toQuery({ ...rest, customMetadataField: fields }),
      });
      return normalizeVideo(response.data, answerOrigin('GET', response));
    },
    async create(vmId: VideoManagerId, video: VideoCreateRequest, options?: CallOptions): Promise<VideoId> {
      if (typeof video?.fileName !== 'string' || video.fileName === '') {
        throw invalid('videos.create needs a fileName (its suffix, e.g. .mp4, sets the MIME type).');
      }
      const group = video.group;
      if (group !== undefined && group !== null && typeof group !== 'number' && typeof group !== 'string') {
        throw invalid('videos.create: group must be an owner group ID (a number or a string).');
      }
      const response = await send('POST', `${vmPath(vmId)}/videos`, {
        ...call(options),
        json: withoutEmptyValues(video),
      });
      return idFromLocation(response, 'POST', 'video');
    },
    async update(
      vmId: VideoManagerId,
      videoId: VideoId,
      patch: VideoUpdate,
      options: { metadataSetId?: number } & CallOptions = {},
    ): Promise<void> {
      await send('PATCH', videoPath(vmId, videoId), {
        ...call(options),
        json: patch,
        query: toQuery({ metadataSetId: options.metadataSetId }),
      });
    },
    async delete(vmId: VideoManagerId, videoId: VideoId, options?: CallOptions): Promise<void> {
      await send('DELETE', videoPath(vmId, videoId), call(options));
    },
    downloadUrls: async (
      vmId: VideoManagerId,
      videoId: VideoId,
      options: { fileNameTemplate?: string } & CallOptions = {},
    ) =>
      request<DownloadUrl[]>('GET', `${videoPath(vmId, videoId)}/download-urls`, {
        ...call(options),
        query: toQuery({ downloadFileNameTemplate: options.fileNameTemplate }),
      }),
    transcodingStatus: async (vmId: VideoManagerId, videoId: VideoId, options?: CallOptions) =>
      request<TranscodingStatus[]>('GET', `${videoPath(vmId, videoId)}/transcoding-status`, call(options)),
    ...media.videos,
    uploadUrl,
    async upload(vmId: VideoManagerId, videoId: VideoId, source: UploadSource, options: UploadOptions = {}) {
      // Validate the IDs now, not after the file has been read.
      videoPath(vmId, videoId);
      return uploadChunks(transport, source, options, () =>
        uploadUrl(vmId, videoId, { signal: options.signal }),
      );
    },
  });

  async function channelTree(
    vmId: VideoManagerId,
    options: { locale?: string | undefined; videoId?: VideoId | undefined } & CallOptions,
  ): Promise<{ root: Channel; origin: AnswerOrigin }> {
    const response = await send<unknown>('GET', `${vmPath(vmId)}/channels`, {
      ...call(options),
      query: toQuery({ locale: options.locale, videoId: options.videoId }, { videoId: 'videoId' }),
    });
    const origin = answerOrigin('GET', response);
    return { root: normalizeChannel(response.data, origin), origin };
  }

  const linkPath = (vmId: VideoManagerId, link: ChannelVideoLink, what: string) => {
    if (typeof link !== 'object' || link === null || Array.isArray(link)) {
      throw invalid(`channels.${what} takes { channelId, videoId } as its second argument.`);
    }
    return `${vmPath(vmId)}/channels/${segment('channelId', link.channelId)}/videos/${segment('videoId', link.videoId)}`;
  };

  const channels: ChannelsResource = Object.freeze({
    ...media.channels,
    tree: async (vmId: VideoManagerId, options: { locale?: string; videoId?: VideoId } & CallOptions = {}) =>
      (await channelTree(vmId, options)).root,
    async get(
      vmId: VideoManagerId,
      channelId: number,
      options: { locale?: string } & CallOptions = {},
    ): Promise<Channel> {
      segment('channelId', channelId);
      const { root, origin } = await channelTree(vmId, { ...call(options), locale: options.locale });
      const found = findChannel(root, channelId);
      if (found === undefined) {
        throw new VmproApiError(
          `VideoManager Pro API: channel ${channelId} is not in the channel tree of VideoManager ${vmId} (${origin.method} ${origin.path}).`,
          {
            status: 404,
            method: origin.method,
            path: origin.path,
            hint: 'check the channel ID: channels.tree() lists the channels this user can see',
          },
        );
      }
      return found;
    },
    async create(
      vmId: VideoManagerId,
      channel: ChannelCreateRequest,
      options?: CallOptions,
    ): Promise<number> {
      if (typeof channel?.name !== 'string' || channel.name === '')
        throw invalid('channels.create needs a name.');
      const response = await send('POST', `${vmPath(vmId)}/channels`, { ...call(options), json: channel });
      return numericId(idFromLocation(response, 'POST', 'channel'), response, 'POST', 'channel');
    },
    async addVideo(vmId: VideoManagerId, link: ChannelVideoLink, options?: CallOptions) {
      await send('POST', linkPath(vmId, link, 'addVideo'), call(options));
    },
    async removeVideo(vmId: VideoManagerId, link: ChannelVideoLink, options?: CallOptions) {
      await send('DELETE', linkPath(vmId, link, 'removeVideo'), call(options));
    },
  });

  const keywords: KeywordsResource = Object.freeze({
    list: async (vmId: VideoManagerId, videoId: VideoId, options?: CallOptions) =>
      request<Keyword[]>('GET', `${videoPath(vmId, videoId)}/keywords`, call(options)),
    async replace(
      vmId: VideoManagerId,
      videoId: VideoId,
      texts: readonly string[],
      options: { metadataSetId?: number } & CallOptions = {},
    ): Promise<Keyword[]> {
      if (!Array.isArray(texts) || texts.some((text) => typeof text !== 'string')) {
        throw invalid('keywords.replace needs a list of keyword texts.');
      }
      videoPath(vmId, videoId);
      const wanted = [...new Set(texts.map((text) => text.trim()).filter((text) => text !== ''))];
      const current = await keywords.list(vmId, videoId, call(options));
      if (!Array.isArray(current)) {
        throw invalid(
          'keywords.replace: the API answered the keyword list with something that is not a list.',
        );
      }
      for (const keyword of current) await keywords.remove(vmId, videoId, keyword.id, options);
      const added: Keyword[] = [];
      for (const text of wanted) added.push(await keywords.add(vmId, videoId, text, options));
      return added;
    },
    async add(
      vmId: VideoManagerId,
      videoId: VideoId,
      text: string,
      options: { metadataSetId?: number } & CallOptions = {},
    ): Promise<Keyword> {
      if (typeof text !== 'string' || text.trim() === '')
        throw invalid('keywords.add needs a non-empty text.');
      const response = await send<unknown>('POST', `${videoPath(vmId, videoId)}/keywords`, {
        ...call(options),
        json: { text },
        query: toQuery({ metadataSetId: options.metadataSetId }),
      });
      const data = response.data;
      if (typeof data === 'object' && data !== null && 'id' in data) return data as Keyword;
      // Tolerated: 201 with the new keyword's URL in Location and no body.
      const id = idFromLocation(response, 'POST', 'keyword');
      return { id: numericId(id, response, 'POST', 'keyword'), text };
    },
    async remove(
      vmId: VideoManagerId,
      videoId: VideoId,
      keywordId: number,
      options: { metadataSetId?: number } & CallOptions = {},
    ): Promise<void> {
      await send('DELETE', `${videoPath(vmId, videoId)}/keywords/${segment('keywordId', keywordId)}`, {
        ...call(options),
        query: toQuery({ metadataSetId: options.metadataSetId }),
      });
    },
    find: async (
      vmId: VideoManagerId,
      options: { searchstring?: string; type?: string } & CallOptions = {},
    ) =>
      request<VideoManagerKeyword[]>('GET', `${vmPath(vmId)}/keyword/find`, {
        ...call(options),
        query: toQuery({ searchstring: options.searchstring, type: options.type }),
      }),
  });

  const metadata: MetadataResource = Object.freeze({
    ...media.metadata,
    get: async (vmId: VideoManagerId, videoId: VideoId, options?: CallOptions) =>
      request<CustomMetadata>('GET', `${videoPath(vmId, videoId)}/metadata`, call(options)),
    async patch(
      vmId: VideoManagerId,
      videoId: VideoId,
      values: CustomMetadata,
      options: { metadataSetId?: number } & CallOptions = {},
    ): Promise<void> {
      await send('PATCH', `${videoPath(vmId, videoId)}/metadata`, {
        ...call(options),
        json: values,
        query: toQuery({ metadataSetId: options.metadataSetId }),
      });
    },
  });

  return Object.freeze({
    baseUrl: transport.config.baseHref,
    vms,
    videos,
    channels,
    keywords,
    metadata,
    thumbnails: media.thumbnails,
    analytics: media.analytics,
    search: createSearchResource((method, path, options) => send<unknown>(method, path, options)),
    request,
    send,
    extend: (more: Partial<VmproApiClientOptions>) => createVmproApiClient(mergeOptions(own, more)),
  });
}
