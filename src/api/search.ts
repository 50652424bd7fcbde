/**
 * `api.search`: the legacy search endpoint `POST /v1/vms/search` (facts 3.2) that PHP-CLIENT's
 * `searchVideos`/`searchChannels` use — a query in Elasticsearch query-string syntax over video
 * or channel documents, paged with `from`/`size`. The PHP client marks it deprecated ("temporary
 * solution") and OAS-MD does not list it, so prefer `videos.list()` filters where they suffice.
 */
import { VmproError } from '../errors.js';
import { redactedPath, VmproApiError } from './errors.js';
import { type AnswerOrigin, normalizeSearchChannel, normalizeSearchVideo } from './normalize.js';
import { SearchQuery } from './search-query.js';
import type { VmproApiResponse } from './transport.js';
import type { VideoManagerId } from './types.js';
import type { SearchChannel, SearchPage, SearchVideo } from './types-video.js';

/**
 * Options of `search.videos()` / `search.channels()` (sent in the JSON body).
 *
 * @example
 * ```ts
 * const options: SearchOptions = { query: searchQuery().published(true), from: 0, size: 50, orderBy: 'title', order: 'asc' }
 * ```
 */
export interface SearchOptions {
  /**
   * A `searchQuery()` (values escaped for you) or a raw query-string text, sent as is; empty or
   * absent matches every document.
   */
  query?: SearchQuery | string | undefined;
  /** Index of the first hit (0-based). */
  from?: number | undefined;
  /** Hits per page (Elasticsearch's default is 10). */
  size?: number | undefined;
  /** Document field to sort by, e.g. `createdDate`, `title` (videos), `name` (channels). */
  orderBy?: string | undefined;
  order?: 'asc' | 'desc' | undefined;
  /** Key of the metadata set whose texts to search and return, e.g. `de`. */
  metaDataSetKey?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Overrides the client's timeout for this call, in ms. */
  timeoutMs?: number | undefined;
}

/**
 * Options of `search.iterateVideos()` / `iterateChannels()`.
 *
 * @example
 * ```ts
 * for await (const doc of api.search.iterateVideos(vmId, { query: 'published:true', pageSize: 50 })) use(doc)
 * ```
 */
export interface SearchIterateOptions extends Omit<SearchOptions, 'size'> {
  /** Hits per request (default 100). */
  pageSize?: number | undefined;
}

/**
 * `api.search`: the legacy search endpoint.
 *
 * @example
 * ```ts
 * const { total } = await api.search.videos(vmId, { query: searchQuery().channels([12]), size: 0 })
 * ```
 */
export interface SearchResource {
  /**
   * `POST /v1/vms/search` with `documentType: "video"`: one page of video documents and the
   * total number of hits. Documents are in the search form (ISO `createdDate`, `duration`,
   * channel IDs, keyword texts, `videoManagerId`). Not retried after 5xx (it is a POST).
   *
   * @example
   * ```ts
   * const query = searchQuery().field('title', 'launch').and().published(true)
   * const { total, result } = await api.search.videos(vmId, { query, size: 20, orderBy: 'createdDate', order: 'desc' })
   * ```
   */
  videos(vmId: VideoManagerId, options?: SearchOptions): Promise<SearchPage<SearchVideo>>;
  /**
   * `POST /v1/vms/search` with `documentType: "channel"`: one page of flat channel documents
   * (`parentId` instead of children).
   *
   * @example
   * ```ts
   * const { result } = await api.search.channels(vmId, { query: searchQuery().field('name', 'Events') })
   * ```
   */
  channels(vmId: VideoManagerId, options?: SearchOptions): Promise<SearchPage<SearchChannel>>;
  /**
   * Every video hit, page by page (`from` advances by what came back, until `total`).
   *
   * @example
   * ```ts
   * const ids: string[] = []
   * for await (const doc of api.search.iterateVideos(vmId, { query: searchQuery().channels([12]) })) ids.push(doc.id)
   * ```
   */
  iterateVideos(vmId: VideoManagerId, options?: SearchIterateOptions): AsyncIterableIterator<SearchVideo>;
  /**
   * Every channel hit, page by page.
   *
   * @example
   * ```ts
   * for await (const channel of api.search.iterateChannels(vmId)) console.log(channel.id, channel.name)
   * ```
   */
  iterateChannels(vmId: VideoManagerId, options?: SearchIterateOptions): AsyncIterableIterator<SearchChannel>;
}

/**
 * How the search resource sends a request (the client's `send`).
 *
 * @example
 * ```ts
 * const search = createSearchResource((method, path, options) => api.send(method, path, options))
 * ```
 */
export type SearchSend = (
  method: string,
  path: string,
  options: { json: unknown; signal?: AbortSignal | undefined; timeoutMs?: number | undefined },
) => Promise<VmproApiResponse<unknown>>;

const SEARCH_PATH = '/v1/vms/search';
const DEFAULT_SEARCH_PAGE_SIZE = 100;

function invalid(field: string, message: string): VmproError {
  return new VmproError('VMPRO_CONFIG_INVALID', message, { field });
}

function videoManagerNumber(vmId: VideoManagerId): number {
  const value = typeof vmId === 'string' && /^\d{1,15}$/.test(vmId) ? Number(vmId) : vmId;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(
      'vmId',
      `vmId must be a VideoManager ID (a whole number ≥ 1), got ${JSON.stringify(String(vmId))}.`,
    );
  }
  return value;
}

function count(name: string, value: number | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < min) {
    throw invalid(name, `${name} must be a whole number ≥ ${min}, got ${String(value)}.`);
  }
  return value;
}

/**
 * The JSON body of a search request, as PHP-CLIENT's SearchEndpointTrait builds it; absent
 * options are left out.
 *
 * @example
 * ```ts
 * searchBody('video', 319, { query: 'published:true', size: 10 })
 * // { documentType: 'video', videoManagerIds: [319], query: 'published:true', size: 10 }
 * ```
 */
export function searchBody(
  documentType: 'video' | 'channel',
  vmId: VideoManagerId,
  options: Omit<SearchOptions, 'signal' | 'timeoutMs'> = {},
): Record<string, unknown> {
  const { query, from, size, orderBy, order, metaDataSetKey } = options;
  if (query !== undefined && typeof query !== 'string' && !(query instanceof SearchQuery)) {
    throw invalid('query', 'query must be a searchQuery() or a query-string text.');
  }
  if (order !== undefined && order !== 'asc' && order !== 'desc') {
    throw invalid('order', `order must be "asc" or "desc", got ${JSON.stringify(String(order))}.`);
  }
  for (const [name, value] of [
    ['orderBy', orderBy],
    ['metaDataSetKey', metaDataSetKey],
  ] as const) {
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw invalid(name, `${name} must be a non-empty string.`);
    }
  }
  const body: Record<string, unknown> = {
    documentType,
    videoManagerIds: [videoManagerNumber(vmId)],
    query: query === undefined ? '' : String(query),
  };
  const fromValue = count('from', from, 0);
  const sizeValue = count('size', size, 0);
  if (fromValue !== undefined) body['from'] = fromValue;
  if (sizeValue !== undefined) body['size'] = sizeValue;
  if (orderBy !== undefined) body['orderBy'] = orderBy;
  if (order !== undefined) body['order'] = order;
  if (metaDataSetKey !== undefined) body['metaDataSetKey'] = metaDataSetKey;
  return body;
}

function readPage<T>(
  response: VmproApiResponse<unknown>,
  read: (raw: unknown, origin: AnswerOrigin) => T,
): SearchPage<T> {
  const origin: AnswerOrigin = { method: 'POST', path: redactedPath(response.url), status: response.status };
  const data = response.data as { total?: unknown; result?: unknown } | null | undefined;
  if (typeof data !== 'object' || data === null || !Array.isArray(data.result)) {
    // PHP-CLIENT throws "Invalid response from search endpoint" for the same case.
    throw normalizeError(origin, 'a body that is not a search answer ({total, result})');
  }
  const result = data.result.map((raw) => read(raw, origin));
  const total = typeof data.total === 'number' ? data.total : Number(data.total);
  return { total: Number.isSafeInteger(total) && total >= 0 ? total : result.length, result };
}

function normalizeError(origin: AnswerOrigin, what: string): VmproApiError {
  return new VmproApiError(
    `VideoManager Pro API: ${origin.method} ${origin.path} answered ${origin.status} with ${what}.`,
    { status: origin.status, method: origin.method, path: origin.path },
  );
}

/**
 * Builds `api.search` over the client's `send`.
 *
 * @example
 * ```ts
 * const search = createSearchResource(send)
 * const { total } = await search.videos(319, { query: 'published:true', size: 0 })
 * ```
 */
export function createSearchResource(send: SearchSend): SearchResource {
  async function page<T>(
    documentType: 'video' | 'channel',
    vmId: VideoManagerId,
    options: SearchOptions,
    read: (raw: unknown, origin: AnswerOrigin) => T,
  ): Promise<SearchPage<T>> {
    const { signal, timeoutMs, ...rest } = options;
    const response = await send('POST', SEARCH_PATH, {
      json: searchBody(documentType, vmId, rest),
      signal,
      timeoutMs,
    });
    return readPage(response, read);
  }

  async function* iterate<T>(
    documentType: 'video' | 'channel',
    vmId: VideoManagerId,
    options: SearchIterateOptions,
    read: (raw: unknown, origin: AnswerOrigin) => T,
  ): AsyncGenerator<T, void, undefined> {
    const { pageSize = DEFAULT_SEARCH_PAGE_SIZE, from = 0, ...rest } = options;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1)
      throw invalid('pageSize', 'pageSize must be a positive integer.');
    let offset = count('from', from, 0) ?? 0;
    // Build the body once up front so a bad option fails before the first request.
    searchBody(documentType, vmId, rest);
    for (;;) {
      const current = await page(documentType, vmId, { ...rest, from: offset, size: pageSize }, read);
      if (current.result.length === 0) return;
      yield* current.result;
      // Advance by what came back: the server may cap `size` below the page size asked for.
      offset += current.result.length;
      if (offset >= current.total) return;
    }
  }

  return Object.freeze({
    videos: (vmId: VideoManagerId, options: SearchOptions = {}) =>
      page('video', vmId, options, normalizeSearchVideo),
    channels: (vmId: VideoManagerId, options: SearchOptions = {}) =>
      page('channel', vmId, options, normalizeSearchChannel),
    iterateVideos: (vmId: VideoManagerId, options: SearchIterateOptions = {}) =>
      iterate('video', vmId, options, normalizeSearchVideo),
    iterateChannels: (vmId: VideoManagerId, options: SearchIterateOptions = {}) =>
      iterate('channel', vmId, options, normalizeSearchChannel),
  });
}
