/**
 * Attachments, player definitions, stills (thumbnails), metadata sets, corporate-tube metadata,
 * video analytics, user info and embed codes of the VideoManager Pro API (facts 3.2, 4.1).
 *
 * Where movingimage's sources disagree on a form, the client accepts each one and returns one:
 * - IDs: attachment, attachment-type and player IDs as strings; still and metadata-set IDs,
 *   VideoManager IDs in user info, channel and group IDs as numbers (numeric strings converted);
 * - dates: ISO 8601 in corporate-tube metadata and analytics (epoch ms converted);
 * - analytics pages: a bare list or `{videos: […]}` (PHP-CLIENT's `getPlays.json`), `total` kept
 *   when sent.
 * An answer that fits no known form is a `VmproApiError` naming the endpoint, never a silent
 * `undefined`.
 */
import { configError } from '../errors.js';
import type { CallOptions, RequestOptions } from './client.js';
import { redactedPath, VmproApiError } from './errors.js';
import { toQuery } from './query.js';
import type { VmproApiResponse } from './transport.js';
import type { EmbedCodeOptions, EmbedCodes, Thumbnail, VideoId, VideoManagerId } from './types.js';
import type {
  Attachment,
  CorporateTubeMetadata,
  CorporateTubeMetadataPatch,
  DateInput,
  MetadataSet,
  Player,
  ThumbnailUrl,
  UserInfo,
  VideoAnalytics,
  VideoAnalyticsPage,
  VideoAnalyticsQuery,
} from './types-media.js';

/** The API's documented maximum of items per analytics page and of `videoIds` per request. */
export const ANALYTICS_MAX_LIMIT = 100;

/** Player definitions and metadata sets of a VideoManager, and user info for an ID token. */
export interface VmsMediaMethods {
  /**
   * `GET /v1/vms/{vm}/players`: player definitions, for `videos.embedCodes()`.
   *
   * @example
   * ```ts
   * const [player] = await api.vms.players(vmId)
   * ```
   */
  players(vmId: VideoManagerId, options?: CallOptions): Promise<Player[]>;
  /**
   * `GET /v1/vms/{vm}/metadata-sets`: the VideoManager's metadata sets (languages).
   *
   * @example
   * ```ts
   * const defaultSet = (await api.vms.metadataSets(vmId)).find((set) => set.isDefault)
   * ```
   */
  metadataSets(vmId: VideoManagerId, options?: CallOptions): Promise<MetadataSet[]>;
  /**
   * `POST /v1/vms/corp-tube-admin/user-info` with `{jwt_id_token}`: who the ID token belongs to
   * and which VideoManagers they can reach. The ID token goes in the body only; it is never
   * logged and never part of an error message.
   *
   * @example
   * ```ts
   * const { email, fullName, videoManagerIds } = await api.vms.userInfo(session.idToken)
   * ```
   */
  userInfo(idToken: string, options?: CallOptions): Promise<UserInfo>;
}

/** Attachments and embed codes of a video. */
export interface VideosMediaMethods {
  /**
   * `GET …/videos/{id}/attachments`.
   *
   * @example
   * ```ts
   * const urls = (await api.videos.attachments(vmId, videoId)).map((a) => a.data.downloadUrl)
   * ```
   */
  attachments(vmId: VideoManagerId, videoId: VideoId, options?: CallOptions): Promise<Attachment[]>;
  /**
   * `GET …/videos/{id}/embed-codes`: `player_definition_id` (required), the embed type under both
   * names the sources use (`embedType` in movingimage's OpenAPI document, `embed_type` in its PHP
   * client), `channelId` and `token_lifetime_in_seconds`.
   *
   * @example
   * ```ts
   * const [player] = await api.vms.players(vmId)
   * const { embedCode } = await api.videos.embedCodes(vmId, videoId, { playerDefinitionId: player.id, embedType: 'iframe' })
   * ```
   */
  embedCodes(
    vmId: VideoManagerId,
    videoId: VideoId,
    options: EmbedCodeOptions & CallOptions,
  ): Promise<EmbedCodes>;
  /**
   * `GET …/videos/{id}/thumbnails` (same as `thumbnails.list()`).
   *
   * @example
   * ```ts
   * const active = (await api.videos.thumbnails(vmId, videoId)).find((still) => still.active)
   * ```
   */
  thumbnails(vmId: VideoManagerId, videoId: VideoId, options?: CallOptions): Promise<Thumbnail[]>;
}

/** Attachments of a channel. */
export interface ChannelsMediaMethods {
  /**
   * `GET /v1/vms/{vm}/channels/{channelId}/attachments`.
   *
   * @example
   * ```ts
   * const files = await api.channels.attachments(vmId, 101)
   * ```
   */
  attachments(vmId: VideoManagerId, channelId: number | string, options?: CallOptions): Promise<Attachment[]>;
}

/** Corporate-tube metadata of a video. */
export interface MetadataMediaMethods {
  /**
   * `GET …/videos/{id}/metadata/corporate-tube`.
   *
   * @example
   * ```ts
   * const { inChargeUserId } = await api.metadata.getCorporateTube(vmId, videoId)
   * ```
   */
  getCorporateTube(
    vmId: VideoManagerId,
    videoId: VideoId,
    options?: CallOptions,
  ): Promise<CorporateTubeMetadata>;
  /**
   * `PATCH …/videos/{id}/metadata/corporate-tube` (the API answers `200`). `uploadDate` is sent
   * as ISO 8601; user IDs as strings; `null` clears a field.
   *
   * @example
   * ```ts
   * await api.metadata.patchCorporateTube(vmId, videoId, { inChargeUserId: '80076' })
   * ```
   */
  patchCorporateTube(
    vmId: VideoManagerId,
    videoId: VideoId,
    patch: CorporateTubeMetadataPatch,
    options?: CallOptions,
  ): Promise<void>;
}

/** `api.thumbnails`: the stills of a video. */
export interface ThumbnailsResource {
  /**
   * `GET …/videos/{id}/thumbnails`: every still with its qualities; one is `active`.
   *
   * @example
   * ```ts
   * const stills = await api.thumbnails.list(vmId, videoId)
   * ```
   */
  list(vmId: VideoManagerId, videoId: VideoId, options?: CallOptions): Promise<Thumbnail[]>;
  /**
   * `POST …/videos/{id}/thumbnails?timestamp=<ms>`: a new still from the frame at `timestampMs`;
   * resolves to its ID (from the `Location` header). It is not active until `activate()`.
   *
   * @example
   * ```ts
   * const stillId = await api.thumbnails.create(vmId, videoId, 12_500)
   * await api.thumbnails.activate(vmId, videoId, stillId)
   * ```
   */
  create(vmId: VideoManagerId, videoId: VideoId, timestampMs: number, options?: CallOptions): Promise<number>;
  /**
   * `GET …/videos/{id}/thumbnails/{stillId}/url`: the still's download URL.
   *
   * @example
   * ```ts
   * const { downloadUrl } = await api.thumbnails.get(vmId, videoId, stillId)
   * ```
   */
  get(
    vmId: VideoManagerId,
    videoId: VideoId,
    stillId: number | string,
    options?: CallOptions,
  ): Promise<ThumbnailUrl>;
  /**
   * `PATCH …/videos/{id}/thumbnails/{stillId}` with `{active}`.
   *
   * @example
   * ```ts
   * await api.thumbnails.update(vmId, videoId, stillId, { active: true })
   * ```
   */
  update(
    vmId: VideoManagerId,
    videoId: VideoId,
    stillId: number | string,
    patch: { active: boolean },
    options?: CallOptions,
  ): Promise<void>;
  /**
   * Makes this still the video's thumbnail: `update(…, { active: true })`.
   *
   * @example
   * ```ts
   * await api.thumbnails.activate(vmId, videoId, stillId)
   * ```
   */
  activate(
    vmId: VideoManagerId,
    videoId: VideoId,
    stillId: number | string,
    options?: CallOptions,
  ): Promise<void>;
}

/** Options of `analytics.iterateVideos()`. */
export interface AnalyticsIterateOptions extends CallOptions {
  /** Items per request, 1–100 (default: `query.limit`, else 100). */
  pageSize?: number | undefined;
}

/** `api.analytics`: plays of videos over a period. */
export interface AnalyticsResource {
  /**
   * `GET /v1/vms/{vm}/analytics/videos`: one page (`limit` ≤ 100, default 100; `offset`;
   * at most 100 `videoIds`; the period as ISO 8601 `analyticsStartDateTime` /
   * `analyticsEndDateTime`). Limits are checked before sending (`VMPRO_CONFIG_INVALID`).
   *
   * @example
   * ```ts
   * const { videos } = await api.analytics.videos(vmId, { from: Date.now() - 7 * 86_400_000, to: Date.now() })
   * ```
   */
  videos(
    vmId: VideoManagerId,
    query?: VideoAnalyticsQuery,
    options?: CallOptions,
  ): Promise<VideoAnalyticsPage>;
  /**
   * Every item of the period, page by page (`offset` += items received) until a short page, an
   * empty page, or `total` when the API sends one.
   *
   * @example
   * ```ts
   * let plays = 0
   * for await (const item of api.analytics.iterateVideos(vmId, { from: '2025-01-01' })) plays += item.plays
   * ```
   */
  iterateVideos(
    vmId: VideoManagerId,
    query?: VideoAnalyticsQuery,
    options?: AnalyticsIterateOptions,
  ): AsyncIterableIterator<VideoAnalytics>;
}

/** What the media resources need from the client that creates them. */
export interface MediaContext {
  send<T>(method: string, path: string, options?: RequestOptions): Promise<VmproApiResponse<T>>;
  /** `/v1/vms/{vm}`, with the ID checked. */
  vmPath(vmId: VideoManagerId): string;
  /** `/v1/vms/{vm}/videos/{videoId}`, with both IDs checked. */
  videoPath(vmId: VideoManagerId, videoId: VideoId): string;
  /** One checked, encoded path segment. */
  segment(name: string, value: string | number): string;
  /** The last path segment of the answer's `Location` header. */
  idFromLocation(response: VmproApiResponse<unknown>, method: string, what: string): string;
  /** `id` as a safe integer, or a `VmproApiError` naming the answer. */
  numericId(id: string, response: VmproApiResponse<unknown>, method: string, what: string): number;
}

/** The media methods, grouped by the resource they extend. */
export interface MediaResources {
  vms: VmsMediaMethods;
  videos: VideosMediaMethods;
  channels: ChannelsMediaMethods;
  metadata: MetadataMediaMethods;
  thumbnails: ThumbnailsResource;
  analytics: AnalyticsResource;
}

// ---------------------------------------------------------------------------------------------
// Reading answers
// ---------------------------------------------------------------------------------------------

/** Where an answer came from, for the error a malformed one raises. */
interface Origin {
  method: string;
  path: string;
  status: number;
}

function originOf(response: VmproApiResponse<unknown>, method: string): Origin {
  return { method, path: redactedPath(response.url), status: response.status };
}

function malformed(origin: Origin, what: string): VmproApiError {
  return new VmproApiError(
    `VideoManager Pro API: ${origin.method} ${origin.path} answered ${origin.status} with ${what}.`,
    { status: origin.status, method: origin.method, path: origin.path },
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const NUMERIC = /^-?\d{1,16}(?:\.\d+)?$/;

/** A string ID: strings stay, finite numbers become strings; anything else is `undefined`. */
function stringId(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** A number: numbers stay, numeric strings are converted; anything else is `undefined`. */
function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && NUMERIC.test(value.trim())) return Number(value.trim());
  return undefined;
}

/** An integer ID: safe integers and numeric strings of one. */
function integerId(value: unknown): number | undefined {
  const number = numberOf(value);
  return number !== undefined && Number.isSafeInteger(number) ? number : undefined;
}

/** ISO 8601 without `.000` when the milliseconds are zero (`2025-01-01T00:00:00Z`). */
function isoOf(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** An ISO date from the API: strings stay as sent, epoch ms (number or digits) are converted. */
function isoFromAnswer(value: unknown): string | null | undefined {
  if (value === null) return null;
  if (typeof value === 'string' && !/^\d+$/.test(value)) return value;
  const ms = numberOf(value);
  if (ms === undefined || !Number.isFinite(new Date(ms).getTime())) return undefined;
  return isoOf(ms);
}

function listOf(data: unknown, origin: Origin, what: string): unknown[] {
  if (Array.isArray(data)) return data;
  throw malformed(origin, `a body that is not a list of ${what}`);
}

/**
 * Reads one attachment: `data.id` and `type.id` as strings, `fileSize` as a number;
 * `allowedFileTypes` is optional (PHP-CLIENT's fixture has none).
 */
export function readAttachment(value: unknown, origin: Origin): Attachment {
  const bad = (why: string) => malformed(origin, `an attachment ${why}`);
  if (!isRecord(value) || !isRecord(value['type']) || !isRecord(value['data'])) {
    throw bad('that is not {type, data}');
  }
  const type = value['type'];
  const data = value['data'];
  const typeId = stringId(type['id']);
  const id = stringId(data['id']);
  const fileSize = numberOf(data['fileSize']);
  if (typeId === undefined || typeof type['name'] !== 'string') throw bad('type without id and name');
  if (id === undefined) throw bad('without a data.id');
  if (typeof data['fileName'] !== 'string' || typeof data['downloadUrl'] !== 'string') {
    throw bad(`${id} without fileName and downloadUrl`);
  }
  if (fileSize === undefined) throw bad(`${id} without a numeric fileSize`);
  const allowed = type['allowedFileTypes'];
  if (allowed !== undefined && allowed !== null) {
    if (!Array.isArray(allowed) || !allowed.every((each) => typeof each === 'string')) {
      throw bad(`type ${typeId} whose allowedFileTypes is not a list of strings`);
    }
  }
  return {
    ...value,
    type: {
      ...type,
      id: typeId,
      name: type['name'],
      ...(Array.isArray(allowed) ? { allowedFileTypes: [...(allowed as string[])] } : {}),
    },
    data: { ...data, id, fileName: data['fileName'], downloadUrl: data['downloadUrl'], fileSize },
  } as Attachment;
}

/** Reads one player definition: `id` as a string, `active` when boolean. */
export function readPlayer(value: unknown, origin: Origin): Player {
  const id = isRecord(value) ? stringId(value['id']) : undefined;
  if (!isRecord(value) || id === undefined || typeof value['name'] !== 'string') {
    throw malformed(origin, 'a player definition without id and name');
  }
  const { active, ...rest } = value;
  return {
    ...rest,
    id,
    name: value['name'],
    ...(typeof active === 'boolean' ? { active } : {}),
  } as Player;
}

/** Reads one metadata set: numeric `id`, `isDefault` as a boolean. */
export function readMetadataSet(value: unknown, origin: Origin): MetadataSet {
  const id = isRecord(value) ? integerId(value['id']) : undefined;
  if (!isRecord(value) || id === undefined || typeof value['keyName'] !== 'string') {
    throw malformed(origin, 'a metadata set without a numeric id and a keyName');
  }
  const type = typeof value['type'] === 'string' ? value['type'] : 'LOCALIZATION';
  const isDefault = value['isDefault'] === true || value['isDefault'] === 'true';
  return { ...value, id, keyName: value['keyName'], type, isDefault } as MetadataSet;
}

/** Reads one still view (`StillViewDTO`): numeric `id`, boolean `active`, `items` list. */
export function readThumbnail(value: unknown, origin: Origin): Thumbnail {
  const id = isRecord(value) ? integerId(value['id']) : undefined;
  if (!isRecord(value) || id === undefined) throw malformed(origin, 'a still without a numeric id');
  const items = value['items'];
  if (items !== undefined && !Array.isArray(items)) {
    throw malformed(origin, `still ${id} whose items are not a list`);
  }
  return {
    ...value,
    id,
    active: value['active'] === true || value['active'] === 'true',
    items: Array.isArray(items) ? items : [],
  } as Thumbnail;
}

const CORPORATE_TUBE_FIELDS = [
  'uploaderUserId',
  'inChargeUserId',
  'uploaderKeycloakUserId',
  'inChargeKeycloakUserId',
] as const;

/** Reads corporate-tube metadata: ISO `uploadDate`, string user IDs, `null` for absent fields. */
export function readCorporateTube(value: unknown, origin: Origin): CorporateTubeMetadata {
  if (!isRecord(value)) throw malformed(origin, 'a body that is not a corporate-tube metadata object');
  const uploadDate = isoFromAnswer(value['uploadDate'] ?? null);
  if (uploadDate === undefined)
    throw malformed(origin, 'an uploadDate that is neither ISO 8601 nor epoch ms');
  const result: Record<string, unknown> = { ...value, uploadDate };
  for (const field of CORPORATE_TUBE_FIELDS) {
    const raw = value[field] ?? null;
    const id = raw === null ? null : stringId(raw);
    if (id === undefined) throw malformed(origin, `a ${field} that is neither a string nor a number`);
    result[field] = id;
  }
  return result as unknown as CorporateTubeMetadata;
}

/** Reads `[{id, name}]` references with numeric IDs (analytics `channels` and `groups`). */
function readRefs(value: unknown, origin: Origin, what: string): { id: number; name: string }[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw malformed(origin, `analytics ${what} that are not a list`);
  return value.map((each) => {
    const id = isRecord(each) ? integerId(each['id']) : undefined;
    if (!isRecord(each) || id === undefined) throw malformed(origin, `an analytics ${what} entry without id`);
    return { ...each, id, name: typeof each['name'] === 'string' ? each['name'] : '' };
  });
}

/** Reads one `VideoAnalyticsDTO`: numeric `plays`, ISO dates, numeric channel and group IDs. */
export function readVideoAnalytics(value: unknown, origin: Origin): VideoAnalytics {
  const id = isRecord(value) ? stringId(value['id']) : undefined;
  if (!isRecord(value) || id === undefined) throw malformed(origin, 'an analytics item without a video id');
  const plays = numberOf(value['plays'] ?? 0);
  if (plays === undefined) throw malformed(origin, `analytics of video ${id} whose plays are not a number`);
  const result: Record<string, unknown> = { ...value, id, plays };
  if (value['views'] !== undefined) {
    const views = numberOf(value['views']);
    if (views === undefined) throw malformed(origin, `analytics of video ${id} whose views are not a number`);
    result['views'] = views;
  }
  for (const field of ['createdDate', 'modifiedDate'] as const) {
    if (value[field] === undefined || value[field] === null) continue;
    const iso = isoFromAnswer(value[field]);
    if (iso === undefined || iso === null)
      throw malformed(origin, `analytics of video ${id} with a bad ${field}`);
    result[field] = iso;
  }
  if (value['duration'] !== undefined && value['duration'] !== null) {
    const duration = numberOf(value['duration']);
    if (duration === undefined) throw malformed(origin, `analytics of video ${id} with a bad duration`);
    result['duration'] = duration;
  }
  const channels = readRefs(value['channels'], origin, 'channels');
  const groups = readRefs(value['groups'], origin, 'groups');
  if (channels !== undefined) result['channels'] = channels;
  if (groups !== undefined) result['groups'] = groups;
  return result as VideoAnalytics;
}

/** Reads an analytics page: a bare list or `{videos, total?}`. */
export function readAnalyticsPage(
  data: unknown,
  origin: Origin,
): { videos: VideoAnalytics[]; total?: number } {
  const list = Array.isArray(data) ? data : isRecord(data) ? data['videos'] : undefined;
  if (!Array.isArray(list)) throw malformed(origin, 'a body that is neither a list nor {videos: […]}');
  const videos = list.map((each) => readVideoAnalytics(each, origin));
  const total = isRecord(data) ? integerId(data['total']) : undefined;
  return total === undefined ? { videos } : { videos, total };
}

/** Reads user info the way PHP-CLIENT validates it: string `email` and `fullName`, a list of IDs. */
export function readUserInfo(value: unknown, origin: Origin): UserInfo {
  if (!isRecord(value) || typeof value['email'] !== 'string' || typeof value['fullName'] !== 'string') {
    throw malformed(origin, 'user info without a string email and fullName');
  }
  const ids = value['videoManagerIds'] ?? [];
  if (!Array.isArray(ids)) throw malformed(origin, 'user info whose videoManagerIds are not a list');
  const videoManagerIds = ids.map((each) => {
    const id = integerId(each);
    if (id === undefined) throw malformed(origin, 'user info with a videoManagerId that is not a number');
    return id;
  });
  return { ...value, email: value['email'], fullName: value['fullName'], videoManagerIds } as UserInfo;
}

// ---------------------------------------------------------------------------------------------
// Checking arguments
// ---------------------------------------------------------------------------------------------

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A date argument as the API's ISO 8601 (UTC, `…Z`): a `Date`, an ISO string (a date alone is
 * midnight UTC), or epoch ms as a number or a string of digits. Anything else is
 * `VMPRO_CONFIG_INVALID` naming `field`.
 *
 * @example
 * ```ts
 * toIsoDateTime('from', 1735689600000)        // '2025-01-01T00:00:00Z'
 * toIsoDateTime('from', '2025-01-01T01:00:00+01:00') // '2025-01-01T00:00:00Z'
 * ```
 */
export function toIsoDateTime(field: string, value: DateInput): string {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && /^\d{1,16}$/.test(value.trim())) ms = Number(value.trim());
  else if (typeof value === 'string' && ISO_DATE.test(value.trim())) {
    const text = value.trim();
    // A date-time without an offset would be read in the local zone; the API's times are UTC.
    ms = Date.parse(/T[^Z+-]*$/.test(text) ? `${text}Z` : text);
  } else {
    throw configError(
      field,
      'is not a date',
      'pass a Date, an ISO 8601 string such as 2025-01-31T12:00:00Z, or epoch milliseconds',
    );
  }
  if (!Number.isFinite(ms) || !Number.isFinite(new Date(ms).getTime())) {
    throw configError(field, 'is not a valid date', 'check the year, month, day and time');
  }
  return isoOf(ms);
}

function checkInteger(field: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw configError(field, `must be a whole number from ${min} to ${max}, got ${String(value)}`);
  }
}

interface AnalyticsRequest {
  limit: number;
  offset: number;
  query: string;
}

/** Checks an analytics query and builds its query string; errors name the field. */
function analyticsRequest(query: VideoAnalyticsQuery): AnalyticsRequest {
  if (typeof query !== 'object' || query === null) {
    throw configError('query', 'must be an object', 'pass e.g. { from, to, limit }');
  }
  checkInteger('limit', query.limit, 1, ANALYTICS_MAX_LIMIT);
  checkInteger('offset', query.offset, 0, Number.MAX_SAFE_INTEGER);
  const limit = query.limit ?? ANALYTICS_MAX_LIMIT;
  const offset = query.offset ?? 0;
  const ids =
    query.videoIds === undefined
      ? []
      : typeof query.videoIds === 'string'
        ? [query.videoIds]
        : query.videoIds;
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id === '')) {
    throw configError('videoIds', 'must be a video ID or a list of video IDs (non-empty strings)');
  }
  if (ids.length > ANALYTICS_MAX_LIMIT) {
    throw configError(
      'videoIds',
      `has ${ids.length} IDs; the API takes at most ${ANALYTICS_MAX_LIMIT} per request`,
      `split them into groups of ${ANALYTICS_MAX_LIMIT}`,
    );
  }
  const from = query.from === undefined ? undefined : toIsoDateTime('from', query.from);
  const to = query.to === undefined ? undefined : toIsoDateTime('to', query.to);
  if (from !== undefined && to !== undefined && Date.parse(from) > Date.parse(to)) {
    throw configError('from', `(${from}) is after \`to\` (${to})`, 'swap them');
  }
  return {
    limit,
    offset,
    query: toQuery(
      { limit, offset, videoIds: ids, analyticsStartDateTime: from, analyticsEndDateTime: to },
      {
        videoIds: 'videoIds',
        analyticsStartDateTime: 'analyticsStartDateTime',
        analyticsEndDateTime: 'analyticsEndDateTime',
      },
    ),
  };
}

function userIdOf(field: string, value: string | number | null): string | null {
  if (value === null) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string') return value;
  throw configError(field, 'must be a string, a whole number or null');
}

/** The JSON body of a corporate-tube PATCH: ISO `uploadDate`, string user IDs. */
function corporateTubeBody(patch: CorporateTubeMetadataPatch): Record<string, string | null> {
  if (typeof patch !== 'object' || patch === null) {
    throw configError('patch', 'must be an object', 'pass e.g. { inChargeUserId: "80076" }');
  }
  const known = ['uploadDate', ...CORPORATE_TUBE_FIELDS];
  const unknown = Object.keys(patch).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw configError('patch', `has unknown field(s) ${unknown.join(', ')}`, `use ${known.join(', ')}`);
  }
  const body: Record<string, string | null> = {};
  if (patch.uploadDate !== undefined) {
    body['uploadDate'] = patch.uploadDate === null ? null : toIsoDateTime('uploadDate', patch.uploadDate);
  }
  for (const field of CORPORATE_TUBE_FIELDS) {
    const value = patch[field];
    if (value !== undefined) body[field] = userIdOf(field, value);
  }
  if (Object.keys(body).length === 0) {
    throw configError('patch', 'changes nothing', `set at least one of ${known.join(', ')}`);
  }
  return body;
}

/** The query of `GET …/embed-codes`, in this order; the embed type goes under both names. */
function embedQuery(options: EmbedCodeOptions): string {
  if (typeof options !== 'object' || options === null) {
    throw configError('playerDefinitionId', 'is required', 'see vms.players()');
  }
  const player = stringId(options.playerDefinitionId);
  if (player === undefined) {
    throw configError('playerDefinitionId', 'is required', 'videos.embedCodes needs one; see vms.players()');
  }
  const { embedType, channelId, tokenLifetimeInSeconds } = options;
  if (embedType !== undefined && (typeof embedType !== 'string' || embedType === '')) {
    throw configError(
      'embedType',
      'must be a non-empty string such as iframe, html_code, link_url or share_url',
    );
  }
  const channel = channelId === undefined ? undefined : integerId(channelId);
  if (channelId !== undefined && (channel === undefined || channel < 0)) {
    throw configError('channelId', `must be a channel ID (a whole number), got ${String(channelId)}`);
  }
  checkInteger('tokenLifetimeInSeconds', tokenLifetimeInSeconds, 1, 31_536_000);
  return toQuery(
    {
      playerDefinitionId: player,
      // OAS-MD names it `embedType`, PHP-CLIENT sends `embed_type`; an API that reads one ignores
      // the other (PHP-CLIENT's extra key has worked for years), so both are sent.
      embedType,
      embed_type: embedType,
      channelId: channel,
      tokenLifetimeInSeconds,
    },
    { embedType: 'embedType', channelId: 'channelId' },
  );
}

function checkIdToken(idToken: unknown): asserts idToken is string {
  // The message never shows the value: it is a credential.
  if (typeof idToken !== 'string' || idToken.trim() === '') {
    throw configError(
      'idToken',
      'is required',
      'pass the ID token (a JWT) of the login, e.g. tokens.idToken',
    );
  }
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(idToken.trim())) {
    throw configError(
      'idToken',
      'is not a JWT (three base64url parts separated by dots)',
      'pass the id_token of the token response, not the access or refresh token',
    );
  }
}

function call(options: CallOptions | undefined): CallOptions {
  return { signal: options?.signal, timeoutMs: options?.timeoutMs };
}

// ---------------------------------------------------------------------------------------------
// The resources
// ---------------------------------------------------------------------------------------------

/**
 * Builds the media methods over a client's `send`. Used by `createVmproApiClient()`; exported
 * for clients built on another transport.
 *
 * @example
 * ```ts
 * const media = createMediaResources({ send, vmPath, videoPath, segment, idFromLocation, numericId })
 * const players = await media.vms.players(319)
 * ```
 */
export function createMediaResources(ctx: MediaContext): MediaResources {
  const { send, vmPath, videoPath, segment } = ctx;

  async function getList<T>(
    path: string,
    options: CallOptions | undefined,
    what: string,
    read: (value: unknown, origin: Origin) => T,
  ): Promise<T[]> {
    const response = await send<unknown>('GET', path, call(options));
    const origin = originOf(response, 'GET');
    return listOf(response.data, origin, what).map((each) => read(each, origin));
  }

  const stillPath = (vmId: VideoManagerId, videoId: VideoId, stillId: number | string) => {
    const id = integerId(stillId);
    if (id === undefined || id < 0)
      throw configError('stillId', `must be a still ID (a whole number), got ${String(stillId)}`);
    return `${videoPath(vmId, videoId)}/thumbnails/${segment('stillId', id)}`;
  };

  const listThumbnails = (vmId: VideoManagerId, videoId: VideoId, options?: CallOptions) =>
    getList(`${videoPath(vmId, videoId)}/thumbnails`, options, 'stills', readThumbnail);

  async function updateThumbnail(
    vmId: VideoManagerId,
    videoId: VideoId,
    stillId: number | string,
    patch: { active: boolean },
    options?: CallOptions,
  ): Promise<void> {
    if (typeof patch?.active !== 'boolean') {
      throw configError(
        'active',
        'must be true or false',
        'pass { active: true } to make the still the thumbnail',
      );
    }
    await send('PATCH', stillPath(vmId, videoId, stillId), {
      ...call(options),
      json: { active: patch.active },
    });
  }

  async function analyticsPage(
    vmId: VideoManagerId,
    query: VideoAnalyticsQuery = {},
    options?: CallOptions,
  ): Promise<VideoAnalyticsPage> {
    const request = analyticsRequest(query);
    const response = await send<unknown>('GET', `${vmPath(vmId)}/analytics/videos`, {
      ...call(options),
      query: request.query,
    });
    const page = readAnalyticsPage(response.data, originOf(response, 'GET'));
    return { ...page, offset: request.offset, limit: request.limit };
  }

  async function* iterateAnalytics(
    vmId: VideoManagerId,
    query: VideoAnalyticsQuery = {},
    options: AnalyticsIterateOptions = {},
  ): AsyncGenerator<VideoAnalytics, void, undefined> {
    const pageSize = options.pageSize ?? query.limit ?? ANALYTICS_MAX_LIMIT;
    checkInteger('pageSize', pageSize, 1, ANALYTICS_MAX_LIMIT);
    let offset = query.offset ?? 0;
    for (;;) {
      const page = await analyticsPage(vmId, { ...query, offset, limit: pageSize }, call(options));
      if (page.videos.length === 0) return;
      yield* page.videos;
      offset += page.videos.length;
      if (page.total !== undefined && offset >= page.total) return;
      // Without a total, a short page is the last one.
      if (page.total === undefined && page.videos.length < pageSize) return;
    }
  }

  return {
    vms: Object.freeze({
      players: (vmId: VideoManagerId, options?: CallOptions) =>
        getList(`${vmPath(vmId)}/players`, options, 'player definitions', readPlayer),
      metadataSets: (vmId: VideoManagerId, options?: CallOptions) =>
        getList(`${vmPath(vmId)}/metadata-sets`, options, 'metadata sets', readMetadataSet),
      async userInfo(idToken: string, options?: CallOptions): Promise<UserInfo> {
        checkIdToken(idToken);
        const response = await send<unknown>('POST', '/v1/vms/corp-tube-admin/user-info', {
          ...call(options),
          json: { jwt_id_token: idToken.trim() },
        });
        return readUserInfo(response.data, originOf(response, 'POST'));
      },
    }),
    videos: Object.freeze({
      attachments: (vmId: VideoManagerId, videoId: VideoId, options?: CallOptions) =>
        getList(`${videoPath(vmId, videoId)}/attachments`, options, 'attachments', readAttachment),
      async embedCodes(
        vmId: VideoManagerId,
        videoId: VideoId,
        options: EmbedCodeOptions & CallOptions,
      ): Promise<EmbedCodes> {
        const query = embedQuery(options);
        const response = await send<unknown>('GET', `${videoPath(vmId, videoId)}/embed-codes`, {
          ...call(options),
          query,
        });
        const data = response.data;
        // Tolerated: the code as a bare text body.
        if (typeof data === 'string' && data !== '') return { embedCode: data };
        if (!isRecord(data) || (data['embedCode'] !== undefined && typeof data['embedCode'] !== 'string')) {
          throw malformed(originOf(response, 'GET'), 'a body that is not an embed-code object {embedCode}');
        }
        return data as EmbedCodes;
      },
      thumbnails: listThumbnails,
    }),
    channels: Object.freeze({
      attachments: (vmId: VideoManagerId, channelId: number | string, options?: CallOptions) =>
        getList(
          `${vmPath(vmId)}/channels/${segment('channelId', channelId)}/attachments`,
          options,
          'attachments',
          readAttachment,
        ),
    }),
    metadata: Object.freeze({
      async getCorporateTube(vmId: VideoManagerId, videoId: VideoId, options?: CallOptions) {
        const response = await send<unknown>(
          'GET',
          `${videoPath(vmId, videoId)}/metadata/corporate-tube`,
          call(options),
        );
        return readCorporateTube(response.data, originOf(response, 'GET'));
      },
      async patchCorporateTube(
        vmId: VideoManagerId,
        videoId: VideoId,
        patch: CorporateTubeMetadataPatch,
        options?: CallOptions,
      ): Promise<void> {
        const json = corporateTubeBody(patch);
        await send('PATCH', `${videoPath(vmId, videoId)}/metadata/corporate-tube`, {
          ...call(options),
          json,
        });
      },
    }),
    thumbnails: Object.freeze({
      list: listThumbnails,
      async create(
        vmId: VideoManagerId,
        videoId: VideoId,
        timestampMs: number,
        options?: CallOptions,
      ): Promise<number> {
        if (typeof timestampMs !== 'number' || !Number.isSafeInteger(timestampMs) || timestampMs < 0) {
          throw configError(
            'timestampMs',
            `must be a whole number of milliseconds ≥ 0, got ${String(timestampMs)}`,
            'pass the position in the video, e.g. 12500 for 12.5 s',
          );
        }
        const response = await send('POST', `${videoPath(vmId, videoId)}/thumbnails`, {
          ...call(options),
          query: toQuery({ timestamp: timestampMs }),
        });
        return ctx.numericId(ctx.idFromLocation(response, 'POST', 'still'), response, 'POST', 'still');
      },
      async get(
        vmId: VideoManagerId,
        videoId: VideoId,
        stillId: number | string,
        options?: CallOptions,
      ): Promise<ThumbnailUrl> {
        const path = `${stillPath(vmId, videoId, stillId)}/url`;
        const response = await send<unknown>('GET', path, call(options));
        const data = response.data;
        if (!isRecord(data) || typeof data['downloadUrl'] !== 'string' || data['downloadUrl'] === '') {
          throw malformed(originOf(response, 'GET'), 'a body without a downloadUrl');
        }
        return { id: integerId(stillId)!, downloadUrl: data['downloadUrl'] };
      },
      update: updateThumbnail,
      activate: (vmId: VideoManagerId, videoId: VideoId, stillId: number | string, options?: CallOptions) =>
        updateThumbnail(vmId, videoId, stillId, { active: true }, options),
    }),
    analytics: Object.freeze({
      videos: analyticsPage,
      iterateVideos: iterateAnalytics,
    }),
  };
}
