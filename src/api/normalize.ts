/**
 * Reads the API's video, channel and search objects into the client's documented forms.
 *
 * movingimage's sources disagree on forms (facts 3.3): `/videos` objects carry epoch-ms dates,
 * `length` and `{id, name}` channels, while the search endpoint (and the PHP client's
 * `getVideos.json` fixture) carries ISO dates, `duration`, bare channel IDs and keyword texts;
 * IDs sometimes arrive as numeric strings. Each reader accepts both forms and returns one:
 * - `/videos` objects: dates as epoch ms, `length` in ms, numeric channel and keyword IDs;
 * - search documents: dates as ISO 8601, `duration` in ms, `channels: number[]`,
 *   `keywords: string[]`, numeric `videoManagerId`.
 * Unknown fields are kept as they came; a value in neither known form is left unchanged.
 */
import { VmproApiError } from './errors.js';
import type { Channel } from './types.js';
import type {
  SearchChannel,
  SearchVideo,
  VideoChannelRef,
  VideoKeywordRef,
  VideoListItem,
} from './types-video.js';

/**
 * Where an answer came from, for the error a malformed one raises.
 *
 * @example
 * ```ts
 * const origin: AnswerOrigin = { method: 'GET', path: '/v1/vms/319/videos', status: 200 }
 * ```
 */
export interface AnswerOrigin {
  method: string;
  /** Redacted path of the request. */
  path: string;
  status: number;
}

/** Date fields of the video object (epoch ms on `/videos`, ISO in search documents). */
const VIDEO_DATE_FIELDS = ['createdDate', 'modifiedDate', 'uploadDate', 'publicationDate', 'lastPlayedDate'];

/** ISO 8601 date-time, as the API writes it (`2017-09-07T13:20:19Z`, fractions and offsets too). */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;
const DIGITS = /^-?\d{1,16}$/;

function malformed(origin: AnswerOrigin, what: string): VmproApiError {
  return new VmproApiError(
    `VideoManager Pro API: ${origin.method} ${origin.path} answered ${origin.status} with ${what}.`,
    { status: origin.status, method: origin.method, path: origin.path },
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A date as epoch milliseconds: numbers stay, ISO 8601 strings and numeric strings are
 * converted, `null` stays `null`; anything else is returned unchanged.
 *
 * @example
 * ```ts
 * toEpochMs('2017-09-07T13:20:19Z') // 1504790419000
 * toEpochMs(1504790419000)          // 1504790419000
 * ```
 */
export function toEpochMs(value: unknown): unknown {
  if (typeof value === 'string') {
    if (DIGITS.test(value)) return Number(value);
    if (ISO_DATE_TIME.test(value)) {
      const ms = Date.parse(value);
      if (!Number.isNaN(ms)) return ms;
    }
  }
  return value;
}

/**
 * A date as an ISO 8601 string: ISO strings stay as sent, epoch milliseconds (numbers or numeric
 * strings) are converted to UTC ISO form; anything else is returned unchanged.
 *
 * @example
 * ```ts
 * toIsoDate(1504790419000)          // '2017-09-07T13:20:19.000Z'
 * toIsoDate('2017-09-07T13:20:19Z') // '2017-09-07T13:20:19Z'
 * ```
 */
export function toIsoDate(value: unknown): unknown {
  const ms =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && DIGITS.test(value)
        ? Number(value)
        : null;
  if (ms !== null && Number.isFinite(ms)) {
    const date = new Date(ms);
    if (!Number.isNaN(date.getTime())) return date.toISOString();
  }
  return value;
}

/**
 * An integer ID as a number: numbers stay, strings of digits are converted; anything else is
 * returned unchanged.
 *
 * @example
 * ```ts
 * toIntegerId('34003') // 34003
 * ```
 */
export function toIntegerId(value: unknown): unknown {
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return value;
}

/** A video ID as a string (some gateways send numbers for all-digit IDs). */
function toVideoId(value: unknown, origin: AnswerOrigin, what: string): string {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  throw malformed(origin, `${what} without a video id`);
}

function channelRef(value: unknown): VideoChannelRef | unknown {
  const id = toIntegerId(isRecord(value) ? value['id'] : value);
  if (typeof id !== 'number') return value;
  if (!isRecord(value)) return { id };
  return { ...value, id };
}

function keywordRef(value: unknown): VideoKeywordRef | unknown {
  if (typeof value === 'string') return { text: value };
  if (isRecord(value)) {
    const id = toIntegerId(value['id']);
    return id === undefined ? { ...value } : { ...value, id };
  }
  return value;
}

/**
 * A video of `GET …/videos` or `GET …/videos/{id}` in the `/videos` form: epoch-ms dates, `length`
 * in ms (from `duration` when only that came), channels as `{id, name?}`, keywords as
 * `{id?, text}`. Throws a `VmproApiError` for a body that is not a video object.
 *
 * @example
 * ```ts
 * normalizeVideo({ id: 'a', createdDate: '2017-09-07T13:20:19Z', duration: 4120, channels: [7] }, origin)
 * // { id: 'a', createdDate: 1504790419000, duration: 4120, length: 4120, channels: [{ id: 7 }] }
 * ```
 */
export function normalizeVideo(raw: unknown, origin: AnswerOrigin): VideoListItem {
  if (!isRecord(raw)) throw malformed(origin, 'a video that is not a JSON object');
  const video: Record<string, unknown> = { ...raw, id: toVideoId(raw['id'], origin, 'a video') };
  for (const field of VIDEO_DATE_FIELDS) {
    if (field in video) video[field] = toEpochMs(video[field]);
  }
  if (video['length'] === undefined && typeof video['duration'] === 'number')
    video['length'] = video['duration'];
  if (Array.isArray(video['channels'])) video['channels'] = video['channels'].map(channelRef);
  if (Array.isArray(video['keywords'])) video['keywords'] = video['keywords'].map(keywordRef);
  for (const field of ['ownershipGroupId', 'adConfigurationId']) {
    if (field in video) video[field] = toIntegerId(video[field]);
  }
  return video as VideoListItem;
}

/**
 * A video document of `POST /v1/vms/search` in the search form: ISO dates, `duration` in ms
 * (from `length` when only that came), `channels` as IDs, `keywords` as texts, numeric
 * `videoManagerId`. Throws a `VmproApiError` for a document that is not an object.
 *
 * @example
 * ```ts
 * normalizeSearchVideo({ videoManagerId: '319', id: 'a', createdDate: 1504790419000, channels: [{ id: 7, name: 'X' }] }, origin)
 * // { videoManagerId: 319, id: 'a', createdDate: '2017-09-07T13:20:19.000Z', channels: [7], keywords: [] }
 * ```
 */
export function normalizeSearchVideo(raw: unknown, origin: AnswerOrigin): SearchVideo {
  if (!isRecord(raw)) throw malformed(origin, 'a search result that is not a JSON object');
  const doc: Record<string, unknown> = {
    ...raw,
    id: toVideoId(raw['id'], origin, 'a search result'),
    videoManagerId: toIntegerId(raw['videoManagerId']),
  };
  for (const field of VIDEO_DATE_FIELDS) {
    if (field in doc) doc[field] = toIsoDate(doc[field]);
  }
  if (doc['duration'] === undefined && typeof doc['length'] === 'number') doc['duration'] = doc['length'];
  const channels = Array.isArray(raw['channels']) ? raw['channels'] : [];
  doc['channels'] = channels.map((entry) => toIntegerId(isRecord(entry) ? entry['id'] : entry));
  const keywords = Array.isArray(raw['keywords']) ? raw['keywords'] : [];
  doc['keywords'] = keywords.map((entry) =>
    isRecord(entry) && typeof entry['text'] === 'string' ? entry['text'] : entry,
  );
  return doc as SearchVideo;
}

/**
 * A channel document of `POST /v1/vms/search`: numeric `id`, `parentId` (`null` for the root or
 * when absent) and `videoManagerId`; `description` `null` when absent.
 *
 * @example
 * ```ts
 * normalizeSearchChannel({ videoManagerId: 319, id: '4450', parentId: '4396', name: 'iTraining' }, origin)
 * // { videoManagerId: 319, id: 4450, parentId: 4396, name: 'iTraining', description: null }
 * ```
 */
export function normalizeSearchChannel(raw: unknown, origin: AnswerOrigin): SearchChannel {
  if (!isRecord(raw)) throw malformed(origin, 'a search result that is not a JSON object');
  const id = toIntegerId(raw['id']);
  if (typeof id !== 'number') throw malformed(origin, 'a channel search result without a numeric id');
  return {
    ...raw,
    id,
    parentId: (toIntegerId(raw['parentId']) ?? null) as number | null,
    videoManagerId: toIntegerId(raw['videoManagerId']) as number,
    name: raw['name'] as string,
    description: (raw['description'] ?? null) as string | null,
  };
}

/**
 * A channel of `GET …/channels` with its subtree: numeric `id` and `parentId`,
 * `ownership.visibility` as a boolean (`"true"`/`"false"` strings are converted), children
 * normalised the same way. Throws a `VmproApiError` for a body that is not a channel object.
 *
 * @example
 * ```ts
 * normalizeChannel({ id: '1', name: 'Root', children: [{ id: 2, name: 'A', ownership: { visibility: 'true' } }] }, origin)
 * ```
 */
export function normalizeChannel(raw: unknown, origin: AnswerOrigin): Channel {
  if (!isRecord(raw)) throw malformed(origin, 'a channel that is not a JSON object');
  const id = toIntegerId(raw['id']);
  if (typeof id !== 'number') throw malformed(origin, 'a channel without a numeric id');
  const channel: Record<string, unknown> = { ...raw, id };
  if ('parentId' in channel) channel['parentId'] = toIntegerId(channel['parentId']);
  for (const field of ['createdDate', 'modifiedDate']) {
    if (field in channel) channel[field] = toEpochMs(channel[field]);
  }
  const ownership = raw['ownership'];
  if (isRecord(ownership)) {
    const visibility = ownership['visibility'];
    channel['ownership'] = {
      ...ownership,
      ...(visibility === 'true' || visibility === 'false' ? { visibility: visibility === 'true' } : {}),
      ...('ownerGroupId' in ownership ? { ownerGroupId: toIntegerId(ownership['ownerGroupId']) } : {}),
    };
  }
  if (Array.isArray(raw['children'])) {
    channel['children'] = raw['children'].map((child) => normalizeChannel(child, origin));
  }
  return channel as unknown as Channel;
}
