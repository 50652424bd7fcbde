/**
 * The legacy search endpoint `POST /v1/vms/search` (facts 3.2, "Legacy search endpoint used by
 * PHP-CLIENT"): video and channel documents of one or more VideoManagers, filtered by a query in
 * (a subset of) Elasticsearch's query-string syntax, sorted and paged with `from`/`size`.
 *
 * The documents have the search form, not the `/videos` form: ISO `createdDate`, `duration`
 * instead of `length`, channel IDs, keyword texts and a `videoManagerId` on each.
 *
 * Defaults: videos sorted by `createdDate` descending, channels by `id` ascending; `size` 10
 * (Elasticsearch's default), at most 100; `from` 0.
 */
import type { Ctx, Handler } from '../context.js';
import { requireVm } from '../context.js';
import type { ChannelRecord, VideoManagerRecord, VideoRecord } from '../data.js';
import { badRequest } from '../errors.js';
import { Body, clip, json, readJsonObject } from '../http.js';
import { matches, parseSearchQuery, type SearchSchema } from '../query-string.js';
import type { Router } from '../router.js';

/**
 * Hits per page without `size` (Elasticsearch's default).
 *
 * @example
 * ```ts
 * expect(answer.result.length).toBeLessThanOrEqual(SEARCH_DEFAULT_SIZE)
 * ```
 */
export const SEARCH_DEFAULT_SIZE = 10;
/**
 * Larger `size`s are cut to this.
 *
 * @example
 * ```ts
 * expect(answer.result.length).toBeLessThanOrEqual(SEARCH_MAX_SIZE)
 * ```
 */
export const SEARCH_MAX_SIZE = 100;

/** ISO 8601 in the form the search documents use (`2017-09-07T13:20:19Z`, no fraction). */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface VideoHit {
  vm: VideoManagerRecord;
  video: VideoRecord;
}

interface ChannelHit {
  vm: VideoManagerRecord;
  channel: ChannelRecord;
}

function keywordTexts({ vm, video }: VideoHit): string[] {
  return video.keywordIds.flatMap((id) => {
    const keyword = vm.keywords.get(id);
    return keyword ? [keyword.text] : [];
  });
}

/**
 * A video as a search document.
 *
 * @example
 * ```ts
 * const doc = searchVideoJson({ vm, video }) // { videoManagerId, id, duration, createdDate: 'ISO', channels: [ids], … }
 * ```
 */
export function searchVideoJson(hit: VideoHit): Record<string, unknown> {
  const { vm, video } = hit;
  return {
    videoManagerId: vm.id,
    id: video.id,
    description: video.description,
    title: video.title,
    uploadFileName: video.uploadFileName,
    duration: video.length,
    createdDate: isoSeconds(video.createdDate),
    published: video.published,
    downloadable: video.downloadable,
    keywords: keywordTexts(hit),
    customMetadata: Object.fromEntries(
      Object.entries(video.customMetadata).map(([key, value]) => [
        key,
        Array.isArray(value) ? [...value] : value,
      ]),
    ),
    chapters: [],
    overlays: [],
    channels: [...video.channelIds],
  };
}

/**
 * A channel as a search document (flat, with `parentId`).
 *
 * @example
 * ```ts
 * const doc = searchChannelJson({ vm, channel }) // { videoManagerId, id, parentId, name, description, customMetadata }
 * ```
 */
export function searchChannelJson({ vm, channel }: ChannelHit): Record<string, unknown> {
  return {
    videoManagerId: vm.id,
    id: channel.id,
    parentId: channel.parentId,
    description: channel.description === '' ? null : channel.description,
    name: channel.name,
    customMetadata: {},
  };
}

const VIDEO_SCHEMA: SearchSchema<VideoHit> = {
  fields: {
    id: { kind: 'keyword', get: (hit) => hit.video.id },
    title: { kind: 'text', get: (hit) => hit.video.title },
    description: { kind: 'text', get: (hit) => hit.video.description },
    uploadFileName: { kind: 'text', get: (hit) => hit.video.uploadFileName },
    keywords: { kind: 'text', get: keywordTexts },
    published: { kind: 'boolean', get: (hit) => hit.video.published },
    downloadable: { kind: 'boolean', get: (hit) => hit.video.downloadable },
    channels: { kind: 'numbers', get: (hit) => hit.video.channelIds },
    videoManagerId: { kind: 'number', get: (hit) => hit.vm.id },
    duration: { kind: 'number', get: (hit) => hit.video.length },
  },
  defaults: ['title', 'description', 'uploadFileName', 'keywords'],
  customMetadata: (hit, key) => hit.video.customMetadata[key],
};

const CHANNEL_SCHEMA: SearchSchema<ChannelHit> = {
  fields: {
    id: { kind: 'number', get: (hit) => hit.channel.id },
    parentId: { kind: 'number', get: (hit) => hit.channel.parentId },
    videoManagerId: { kind: 'number', get: (hit) => hit.vm.id },
    name: { kind: 'text', get: (hit) => hit.channel.name },
    description: { kind: 'text', get: (hit) => hit.channel.description },
  },
  defaults: ['name', 'description'],
  customMetadata: () => undefined,
};

type SortKey<D> = (doc: D) => string | number | null;

const VIDEO_ORDER: Record<string, SortKey<VideoHit>> = {
  createdDate: (hit) => hit.video.createdDate,
  modifiedDate: (hit) => hit.video.modifiedDate,
  title: (hit) => hit.video.title.toLowerCase(),
  duration: (hit) => hit.video.length,
  id: (hit) => hit.video.id,
};
const CHANNEL_ORDER: Record<string, SortKey<ChannelHit>> = {
  id: (hit) => hit.channel.id,
  name: (hit) => hit.channel.name.toLowerCase(),
  parentId: (hit) => hit.channel.parentId,
};
/** snake_case names as the `/videos` list's `order_property` uses them (PHP-CLIENT passes those). */
const ORDER_ALIASES: Record<string, string> = {
  created_date: 'createdDate',
  modified_date: 'modifiedDate',
  length: 'duration',
  parent_id: 'parentId',
};

function sortBy<D>(docs: D[], key: SortKey<D>, direction: 'asc' | 'desc', tie: SortKey<D>): D[] {
  const sign = direction === 'asc' ? 1 : -1;
  const compare = (x: string | number | null, y: string | number | null) =>
    x === y ? 0 : x === null ? 1 : y === null ? -1 : x < y ? -1 : 1;
  return docs.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    if (x === null || y === null) return x === y ? compare(tie(a), tie(b)) : compare(x, y); // empty values last
    return compare(x, y) * sign || compare(tie(a), tie(b));
  });
}

function orderKey<D>(
  raw: string | null | undefined,
  table: Record<string, SortKey<D>>,
  fallback: string,
): SortKey<D> {
  const name = raw === undefined || raw === null || raw === '' ? fallback : (ORDER_ALIASES[raw] ?? raw);
  const key = table[name];
  if (!key) {
    throw badRequest(`orderBy must be one of ${Object.keys(table).join(', ')} (got "${clip(String(raw))}").`);
  }
  return key;
}

/** The VideoManagers of `videoManagerIds`, each checked like a `{vm}` path segment (`403`/`404`). */
function requireVms(ctx: Ctx, body: Body): VideoManagerRecord[] {
  const raw = body.raw('videoManagerIds');
  if (
    !Array.isArray(raw) ||
    raw.length === 0 ||
    raw.some(
      (id) =>
        !(typeof id === 'number' && Number.isSafeInteger(id)) &&
        !(typeof id === 'string' && /^\d+$/.test(id)),
    )
  ) {
    throw badRequest(
      'Field "videoManagerIds" must be a non-empty array of VideoManager IDs (whole numbers).',
    );
  }
  const ids = [...new Set(raw.map(Number))];
  return ids.map((id) => requireVm(ctx, String(id)));
}

/**
 * `POST /v1/vms/search` `{documentType, videoManagerIds, query, from?, size?, orderBy?, order?,
 * metaDataSetKey?}` → `{total, result}`.
 */
async function search(ctx: Ctx): Promise<Response> {
  const body = new Body(await readJsonObject(ctx.request));
  body.onlyKeys([
    'documentType',
    'videoManagerIds',
    'query',
    'from',
    'size',
    'orderBy',
    'order',
    'metaDataSetKey',
  ]);
  const documentType = body.string('documentType', { required: true });
  if (documentType !== 'video' && documentType !== 'channel') {
    throw badRequest(
      `Field "documentType" must be "video" or "channel" (got "${clip(String(documentType))}").`,
    );
  }
  const vms = requireVms(ctx, body);
  const query = body.nullableString('query') ?? '';
  const from = body.integer('from', { min: 0 }) ?? 0;
  const size = Math.min(body.integer('size', { min: 0 }) ?? SEARCH_DEFAULT_SIZE, SEARCH_MAX_SIZE);
  const orderBy = body.nullableString('orderBy');
  const rawOrder = body.nullableString('order');
  if (rawOrder !== undefined && rawOrder !== null && !/^(?:asc|desc)$/i.test(rawOrder)) {
    throw badRequest(`Field "order" must be "asc" or "desc" (got "${clip(rawOrder)}").`);
  }
  const metaDataSetKey = body.nullableString('metaDataSetKey');
  if (metaDataSetKey !== undefined && metaDataSetKey !== null) {
    for (const vm of vms) {
      if (!vm.metadataSets.some((set) => set.keyName === metaDataSetKey)) {
        throw badRequest(
          `metaDataSetKey "${clip(metaDataSetKey)}" is not a metadata set of VideoManager ${vm.id} (it has ${vm.metadataSets.map((set) => set.keyName).join(', ')}).`,
        );
      }
    }
  }
  const tree = parseSearchQuery(query);

  if (documentType === 'video') {
    const order = (rawOrder?.toLowerCase() ?? 'desc') as 'asc' | 'desc';
    const key = orderKey(orderBy, VIDEO_ORDER, 'createdDate');
    const docs = vms.flatMap((vm) =>
      [...vm.videos.values()].filter((video) => video.trashedDate === null).map((video) => ({ vm, video })),
    );
    const hits = sortBy(
      docs.filter((doc) => matches(tree, doc, VIDEO_SCHEMA, query)),
      key,
      order,
      (hit) => hit.video.id,
    );
    return json(200, { total: hits.length, result: hits.slice(from, from + size).map(searchVideoJson) });
  }
  const order = (rawOrder?.toLowerCase() ?? 'asc') as 'asc' | 'desc';
  const key = orderKey(orderBy, CHANNEL_ORDER, 'id');
  const docs = vms.flatMap((vm) => [...vm.channels.values()].map((channel) => ({ vm, channel })));
  const hits = sortBy(
    docs.filter((doc) => matches(tree, doc, CHANNEL_SCHEMA, query)),
    key,
    order,
    (hit) => hit.channel.id,
  );
  return json(200, { total: hits.length, result: hits.slice(from, from + size).map(searchChannelJson) });
}

/**
 * Adds `POST /v1/vms/search` to the routing table.
 *
 * @example
 * ```ts
 * searchRoutes(router)
 * ```
 */
export function searchRoutes(router: Router<Handler>): void {
  router.add('POST', '/v1/vms/search', search);
}
