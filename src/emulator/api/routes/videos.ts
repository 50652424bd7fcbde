/**
 * Video routes (facts 3.2, 3.3): the list with its filters and paging, one video, create (201 +
 * `Location`), partial update (204), delete to the trash (204), the trash, all video ids,
 * download URLs, embed codes and transcoding status.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Ctx, Handler } from '../context.js';
import {
  callerEmail,
  callerOf,
  locationOf,
  requireChannel,
  requireNotArchived,
  requireVideo,
  requireVm,
} from '../context.js';
import type { VideoManagerRecord, VideoRecord } from '../data.js';
import {
  AUDIO_SUFFIXES,
  channelAndDescendants,
  keywordFor,
  profilesOf,
  readyAt,
  UPLOAD_SUFFIXES,
  videoIdFor,
} from '../data.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { Body, clip, empty, json, type Query, readJsonObject } from '../http.js';
import type { Router } from '../router.js';
import { NO_INCLUDES, type VideoIncludes, videoJson } from '../serialize.js';

/** Page size when `limit` is absent (VMP-SDK's assumption; the API documents none). */
export const DEFAULT_LIMIT = 50;
/** Larger `limit`s are cut to this (the only documented maximum, on the analytics list). */
export const MAX_LIMIT = 100;

type SortKey = (video: VideoRecord) => number | string | null;

const ORDER_PROPERTIES: Record<string, SortKey> = {
  created_date: (video) => video.createdDate,
  modified_date: (video) => video.modifiedDate,
  upload_date: (video) => video.uploadDate,
  publication_date: (video) => video.publicationDate,
  last_played_date: (video) => video.lastPlayedDate,
  title: (video) => video.title.toLowerCase(),
  length: (video) => video.length,
  plays: (video) => video.plays,
  views: (video) => video.views,
};
const ORDER_PROPERTY_NAMES = Object.keys(ORDER_PROPERTIES);

/** The `include_*` parameters; `custom_metadata_field` may repeat and may hold a comma list. */
export function readIncludes(query: Query): VideoIncludes {
  return {
    customMetadata: query.boolean('include_custom_metadata', false),
    customMetadataFields: query
      .strings('custom_metadata_field')
      .flatMap((value) => value.split(','))
      .map((value) => value.trim())
      .filter((value) => value !== ''),
    keywords: query.boolean('include_keywords', false),
    channels: query.boolean('include_channel_assignments', false),
    owner: query.boolean('include_owner', false),
  };
}

/** Checks `metadata_set_id` when given. The emulator keeps one set of texts per video. */
export function checkMetadataSet(ctx: Ctx, vm: VideoManagerRecord): void {
  const id = ctx.query.integer('metadata_set_id', { min: 0 });
  if (id !== undefined && !vm.metadataSets.some((set) => set.id === id)) {
    throw notFound(
      `Metadata set ${id} does not exist in VideoManager ${vm.id}; GET …/metadata-sets lists them.`,
    );
  }
}

/**
 * Checks `metadata_set_key` when given (PHP-CLIENT's `setMetadataSetKey`): `404` for a key that is
 * not a metadata set of the VideoManager. The emulator keeps one set of texts per video.
 */
function checkMetadataSetKey(ctx: Ctx, vm: VideoManagerRecord): void {
  const key = ctx.query.string('metadata_set_key');
  if (key !== undefined && !vm.metadataSets.some((set) => set.keyName === key)) {
    throw notFound(
      `Metadata set "${clip(key)}" does not exist in VideoManager ${vm.id}; GET …/metadata-sets lists them.`,
    );
  }
}

function sortVideos(videos: VideoRecord[], property: string, direction: 'asc' | 'desc'): VideoRecord[] {
  const key = ORDER_PROPERTIES[property]!;
  const sign = direction === 'asc' ? 1 : -1;
  return videos.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    if (x === null && y !== null) return 1; // empty values last, either direction
    if (y === null && x !== null) return -1;
    if (x !== null && y !== null && x !== y) return (x < y ? -1 : 1) * sign;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

function page<T>(items: T[], offset: number, limit: number): T[] {
  return items.slice(offset, offset + limit);
}

/** Texts a search looks at: one field, or title, description, keywords and the original file name. */
function haystacks(vm: VideoManagerRecord, video: VideoRecord, field: string | undefined): string[] {
  const keywords = () => video.keywordIds.map((id) => vm.keywords.get(id)?.text ?? '');
  switch (field) {
    case undefined:
      return [video.title, video.description, video.uploadFileName ?? '', ...keywords()];
    case 'title':
      return [video.title];
    case 'description':
      return [video.description];
    case 'keywords':
      return keywords();
    default: {
      const value = video.customMetadata[field];
      return value === undefined ? [] : Array.isArray(value) ? value : [value];
    }
  }
}

/**
 * Every `search_term` must match (case-insensitive). With `exact_string=true` a term matches as
 * one phrase; otherwise each of its words must appear somewhere in the searched texts.
 */
function matchesSearch(texts: string[], terms: string[], exact: boolean): boolean {
  const lower = texts.map((text) => text.toLowerCase());
  return terms.every((term) => {
    const needles = exact ? [term.trim().toLowerCase()] : term.toLowerCase().split(/\s+/).filter(Boolean);
    return needles.every((needle) => lower.some((text) => text.includes(needle)));
  });
}

/** `GET /v1/vms/{vm}/videos` → `{total, videos}`. */
function listVideos(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const q = ctx.query;
  const offset = q.integer('offset', { min: 0 }) ?? 0;
  const limit = Math.min(q.integer('limit', { min: 0 }) ?? DEFAULT_LIMIT, MAX_LIMIT);
  const order = q.oneOf('order', ['asc', 'desc'], 'desc');
  const orderProperty = q.oneOf('order_property', ORDER_PROPERTY_NAMES, 'created_date');
  const channelIds = q.integers('channel_id', { min: 0 });
  const includeSubChannels = q.boolean('include_sub_channels', false);
  const publicationState = q.oneOf('publication_state', ['published', 'not_published', 'all'], 'all');
  const audioOnly = q.string('audio_only') === undefined ? undefined : q.boolean('audio_only', false);
  const archivedState = q.oneOf('archivedState', ['ARCHIVED', 'NOT_ARCHIVED', 'ALL'], 'ALL');
  const terms = q.strings('search_term').filter((term) => term.trim() !== '');
  const searchInField = q.string('search_in_field');
  const exact = q.boolean('exact_string', false);
  const includes = readIncludes(q);
  q.string('locale'); // accepted; falls back to the default metadata set, the only one with texts here
  const videoIds = q.strings('video_id');
  checkMetadataSetKey(ctx, vm);
  if (
    searchInField !== undefined &&
    !['title', 'description', 'keywords'].includes(searchInField) &&
    !vm.customFields.some((field) => field.entityType === 'VIDEO' && field.keyName === searchInField)
  ) {
    throw badRequest(
      `search_in_field must be title, description, keywords or a custom metadata field key (got "${clip(searchInField)}").`,
    );
  }
  let channels: Set<number> | null = null;
  if (channelIds.length > 0) {
    channels = new Set();
    for (const id of channelIds) {
      requireChannel(vm, id, 'channel_id');
      const ids = includeSubChannels ? channelAndDescendants(vm, id) : [id];
      for (const each of ids) channels.add(each);
    }
  }
  const found = [...vm.videos.values()].filter(
    (video) =>
      video.trashedDate === null &&
      (videoIds.length === 0 || videoIds.includes(video.id)) &&
      (channels === null || video.channelIds.some((id) => channels.has(id))) &&
      (publicationState === 'all' || video.published === (publicationState === 'published')) &&
      (audioOnly === undefined || video.audioOnly === audioOnly) &&
      (archivedState === 'ALL' || video.archived === (archivedState === 'ARCHIVED')) &&
      (terms.length === 0 || matchesSearch(haystacks(vm, video, searchInField), terms, exact)),
  );
  const sorted = sortVideos(found, orderProperty, order);
  return json(200, {
    total: sorted.length,
    videos: page(sorted, offset, limit).map((video) => videoJson(vm, video, includes, ctx.origin, ctx.now)),
  });
}

/** `GET /v1/vms/{vm}/videos/videoIds` → every video id (not the trash). */
function listVideoIds(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  return json(
    200,
    [...vm.videos.values()].filter((video) => video.trashedDate === null).map((video) => video.id),
  );
}

/**
 * `GET /v1/vms/{vm}/videos/{videoId}`. Unpublished videos need `ignore_publication_state=true`,
 * as OAS-MD documents that parameter ("returns unpublished videos too").
 */
function getVideo(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  const includes = readIncludes(ctx.query);
  const ignorePublicationState = ctx.query.boolean('ignore_publication_state', false);
  checkMetadataSet(ctx, vm);
  // Which related videos the player shows; the answer does not list them, so only the channel is checked.
  const related = ctx.query.integer('related_videos_channel_id', { min: 0 });
  if (related !== undefined) requireChannel(vm, related, 'related_videos_channel_id');
  if (!video.published && !ignorePublicationState) {
    throw notFound(
      `Video ${video.id} is not published. Add ignore_publication_state=true to read unpublished videos.`,
    );
  }
  return json(200, videoJson(vm, video, includes, ctx.origin, ctx.now));
}

/** `POST /v1/vms/{vm}/videos` (`VideoUploadRequestDTO`) → `201`, `Location: …/videos/{newId}`. */
async function createVideo(ctx: Ctx): Promise<Response> {
  const vm = requireVm(ctx);
  const caller = callerOf(ctx);
  const body = new Body(await readJsonObject(ctx.request));
  body.onlyKeys(['fileName', 'title', 'description', 'keywords', 'channel', 'group', 'autoPublish']);
  const fileName = body.string('fileName', { required: true, nonEmpty: true })!.trim();
  if (/[/\\\0]/.test(fileName) || fileName.length > 255) {
    throw badRequest(
      'fileName must be a plain file name (no path, at most 255 characters).',
      'INVALID_FILE_NAME',
    );
  }
  const suffix = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase();
  if (suffix === undefined || !(UPLOAD_SUFFIXES as readonly string[]).includes(suffix)) {
    throw new ApiError(
      415,
      `Unsupported upload file type "${clip(fileName)}": the name must end in one of ${UPLOAD_SUFFIXES.join(', ')}.`,
      { code: 'VIDEO_UPLOAD_UNSUPPORTED_MIME_TYPE' },
    );
  }
  const title = body.string('title') ?? fileName.replace(/\.[^.]+$/, '');
  const description = body.string('description') ?? '';
  const keywords = body.strings('keywords') ?? [];
  const channelId = body.integer('channel', { min: 0 });
  // PHP-CLIENT sends the owner group as a string; a number is taken too.
  const rawGroup = body.raw('group');
  const group =
    typeof rawGroup === 'string' && /^\d{1,15}$/.test(rawGroup)
      ? Number(rawGroup)
      : body.integer('group', { min: 0 });
  const autoPublish = body.boolean('autoPublish') ?? false;
  if (channelId !== undefined && !vm.channels.has(channelId)) throw notFound('entity not found');
  const data = ctx.state.data;
  const email = callerEmail(caller);
  const video: VideoRecord = {
    id: videoIdFor(vm.id, data.next.video++),
    title,
    description,
    createdDate: ctx.now,
    modifiedDate: ctx.now,
    uploadDate: null,
    length: 0,
    generation: 0,
    plays: 0,
    views: 0,
    published: false,
    autoPublish,
    audioOnly: AUDIO_SUFFIXES.includes(suffix),
    downloadable: true,
    archived: false,
    trashedDate: null,
    vrContentType: null,
    customMetadata: {},
    keywordIds: [
      ...new Set(
        keywords
          .map((text) => text.trim())
          .filter(Boolean)
          .map((text) => keywordFor(data, vm, text, ctx.now).id),
      ),
    ],
    stills: [],
    channelIds: channelId === undefined ? [] : [channelId],
    scheduledTrashDate: null,
    scheduledArchiveDate: null,
    ownershipGroupId: group ?? null,
    adConfigurationId: null,
    relatedVideosChannelId: null,
    securityPolicyId: null,
    accessProfileId: null,
    owner: email,
    substituteOwners: [],
    uploader: email,
    publicationDate: null,
    lastPlayedDate: null,
    sourceLanguage: null,
    uploadFileName: fileName,
    uploadedAt: null,
    upload: null,
  };
  vm.videos.set(video.id, video);
  return empty(201, { location: locationOf(ctx, `/v1/vms/${vm.id}/videos/${video.id}`) });
}

/** Fields of the video object that a client may send back unchanged; they are ignored. */
const READ_ONLY_FIELDS = [
  'id',
  'thumbnail',
  'createdDate',
  'modifiedDate',
  'uploadDate',
  'length',
  'generation',
  'plays',
  'views',
  'allFormatsAvailable',
  'audioOnly',
  'deleted',
  'customMetadata',
  'keywords',
  'stills',
  'channels',
  'ownershipGroupId',
  'uploader',
  'publicationDate',
  'lastPlayedDate',
  'uploadFileName',
];
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function isoDateOrNull(body: Body, name: string): string | null | undefined {
  const value = body.nullableString(name);
  if (value === undefined || value === null) return value;
  if (!ISO_DATE.test(value) || Number.isNaN(Date.parse(value))) {
    throw badRequest(`Field "${name}" must be an ISO 8601 date-time such as 2026-12-31T23:00:00Z, or null.`);
  }
  return value;
}

/** An id, or `0` to unlink (`null` is taken the same way). */
function linkId(body: Body, name: string): number | null | undefined {
  if (body.raw(name) === null) return null;
  const value = body.integer(name, { min: 0 });
  return value === undefined ? undefined : value === 0 ? null : value;
}

/** `PATCH /v1/vms/{vm}/videos/{videoId}` with a partial video → `204`. All or nothing. */
async function updateVideo(ctx: Ctx): Promise<Response> {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  checkMetadataSet(ctx, vm);
  const body = new Body(await readJsonObject(ctx.request));
  body.onlyKeys([
    ...READ_ONLY_FIELDS,
    'title',
    'description',
    'published',
    'downloadable',
    'autoPublish',
    'vrContentType',
    'relatedVideosChannelId',
    'adConfigurationId',
    'securityPolicyId',
    'accessProfileId',
    'scheduledTrashDate',
    'scheduledArchiveDate',
    'owner',
    'substituteOwners',
    'sourceLanguage',
    'retentionPolicyId',
    'chunksFullyUploaded',
  ]);
  requireNotArchived(video);
  const title = body.string('title', { nonEmpty: true });
  const description = body.string('description');
  const published = body.boolean('published');
  const downloadable = body.boolean('downloadable');
  const autoPublish = body.boolean('autoPublish');
  const vrContentType = body.nullableString('vrContentType');
  const relatedVideosChannelId = linkId(body, 'relatedVideosChannelId');
  const adConfigurationId = linkId(body, 'adConfigurationId');
  const securityPolicyId = linkId(body, 'securityPolicyId');
  const accessProfileId = linkId(body, 'accessProfileId');
  const scheduledTrashDate = isoDateOrNull(body, 'scheduledTrashDate');
  const scheduledArchiveDate = isoDateOrNull(body, 'scheduledArchiveDate');
  const owner = body.string('owner', { nonEmpty: true });
  const substituteOwners = body.strings('substituteOwners');
  const sourceLanguage = body.nullableString('sourceLanguage');
  linkId(body, 'retentionPolicyId'); // checked, not kept
  body.boolean('chunksFullyUploaded'); // checked, not kept: the upload receiver decides
  if (typeof relatedVideosChannelId === 'number')
    requireChannel(vm, relatedVideosChannelId, 'relatedVideosChannelId');

  if (title !== undefined) video.title = title;
  if (description !== undefined) video.description = description;
  if (published !== undefined) {
    if (published && !video.published) video.publicationDate = ctx.now;
    video.published = published;
  }
  if (downloadable !== undefined) video.downloadable = downloadable;
  if (autoPublish !== undefined) video.autoPublish = autoPublish;
  if (vrContentType !== undefined) video.vrContentType = vrContentType;
  if (relatedVideosChannelId !== undefined) video.relatedVideosChannelId = relatedVideosChannelId;
  if (adConfigurationId !== undefined) video.adConfigurationId = adConfigurationId;
  if (securityPolicyId !== undefined) video.securityPolicyId = securityPolicyId;
  if (accessProfileId !== undefined) video.accessProfileId = accessProfileId;
  if (scheduledTrashDate !== undefined) video.scheduledTrashDate = scheduledTrashDate;
  if (scheduledArchiveDate !== undefined) video.scheduledArchiveDate = scheduledArchiveDate;
  if (owner !== undefined) video.owner = owner;
  if (substituteOwners !== undefined) video.substituteOwners = [...substituteOwners];
  if (sourceLanguage !== undefined) video.sourceLanguage = sourceLanguage;
  video.modifiedDate = ctx.now;
  return empty(204);
}

/** `DELETE /v1/vms/{vm}/videos/{videoId}` → `204`; the video goes to the trash. */
function deleteVideo(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  video.trashedDate = ctx.now;
  video.modifiedDate = ctx.now;
  return empty(204);
}

/** `GET /v1/vms/{vm}/trash/videos` → `{total, videos}` (the shape is not documented; same as the list). */
function listTrash(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const q = ctx.query;
  const offset = q.integer('offset', { min: 0 }) ?? 0;
  const limit = Math.min(q.integer('limit', { min: 0 }) ?? DEFAULT_LIMIT, MAX_LIMIT);
  const order = q.oneOf('order', ['asc', 'desc'], 'desc');
  const orderProperty = q.oneOf('order_property', ORDER_PROPERTY_NAMES, 'created_date');
  const trashed = sortVideos(
    [...vm.videos.values()].filter((video) => video.trashedDate !== null),
    orderProperty,
    order,
  );
  return json(200, {
    total: trashed.length,
    videos: page(trashed, offset, limit).map((video) =>
      videoJson(vm, video, NO_INCLUDES, ctx.origin, ctx.now),
    ),
  });
}

/** Download links carry a token valid 10 minutes (DOC-DYN). */
const DOWNLOAD_TOKEN_TTL_MS = 10 * 60_000;

/** `GET …/videos/{videoId}/download-urls` → `[{quality, profileKey, fileExtension, url, fileSize, md5}]`. */
function downloadUrls(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  const template = ctx.query.string('download_file_name_template');
  const expires = Math.floor((ctx.now + DOWNLOAD_TOKEN_TTL_MS) / 1000);
  const ready = profilesOf(video).filter((_, index) => {
    const at = readyAt(video, index);
    return at !== null && ctx.now >= at;
  });
  return json(
    200,
    ready.map((profile) => {
      const base = (video.uploadFileName ?? video.id).replace(/\.[^.]+$/, '');
      const fileName = (template ?? `${base}-%{QUALITY}.%{FILE_EXTENSION}`)
        .replaceAll('%{QUALITY}', profile.quality)
        .replaceAll('%{PROFILE_KEY}', profile.profileKey)
        .replaceAll('%{FILE_EXTENSION}', profile.fileExtension);
      const path = `/asset-out/vms/${vm.id}/videos/${video.id}/${profile.profileKey}.${profile.fileExtension}`;
      const hmac = createHmac('sha256', ctx.state.uploadKey).update(`${path}:${expires}`).digest('hex');
      const url = `${ctx.origin}${path}?filename=${encodeURIComponent(fileName)}&__token__=${expires}~${hmac}`;
      return {
        quality: profile.quality,
        profileKey: profile.profileKey,
        fileExtension: profile.fileExtension,
        url,
        fileSize: Math.round((video.length / 1000) * profile.kbps * 125),
        md5: createHash('md5').update(`${video.id}:${video.generation}:${profile.profileKey}`).digest('hex'),
      };
    }),
  );
}

const EMBED_TYPES = [
  'iframe',
  'html_code',
  'link_url',
  'share_url',
  'link_preview_url',
  'watch_url',
] as const;

/**
 * `GET …/videos/{videoId}/embed-codes?player_definition_id=…&embedType=…` → `{embedCode}`.
 * OAS-MD names the parameter `embedType`; PHP-CLIENT sends `embed_type=html`. Either or both are
 * taken (a client that cannot tell which one the API reads sends both); both must then agree.
 */
function embedCodes(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  const q = ctx.query;
  const playerId = q.string('player_definition_id');
  if (playerId === undefined || playerId === '') {
    throw badRequest('player_definition_id is required; GET /v1/vms/{vm}/players lists the players.');
  }
  const player = vm.players.find((candidate) => candidate.id === playerId);
  if (!player) throw notFound(`Player ${clip(playerId)} does not exist in VideoManager ${vm.id}.`);
  const camel = q.string('embedType');
  const snake = q.string('embed_type');
  const canonical = (value: string) => (value.toLowerCase() === 'html' ? 'html_code' : value.toLowerCase());
  if (camel !== undefined && snake !== undefined && canonical(camel) !== canonical(snake)) {
    throw badRequest(
      `embedType ("${clip(camel)}") and embed_type ("${clip(snake)}") disagree; send one type.`,
    );
  }
  const rawType = camel ?? snake ?? 'iframe';
  const normalized = canonical(rawType);
  const embedType = EMBED_TYPES.find((type) => type === normalized);
  if (!embedType)
    throw badRequest(`embedType must be one of ${EMBED_TYPES.join(', ')} (got "${clip(rawType)}").`);
  const channelId = q.integer('channelId', { min: 0 });
  if (channelId !== undefined) requireChannel(vm, channelId, 'channelId');
  q.integer('token_lifetime_in_seconds', { min: 1 }); // the demo VideoManagers are not token-protected
  const params = new URLSearchParams({ 'video-id': video.id, 'player-id': player.id });
  if (channelId !== undefined) params.set('channel-id', String(channelId));
  const url = `${ctx.origin}/e/video?${params}`;
  const escaped = url.replaceAll('&', '&amp;');
  const embedCode =
    embedType === 'iframe'
      ? `<iframe src="${escaped}" width="640" height="360" allowfullscreen frameborder="0" allow="autoplay; fullscreen"></iframe>`
      : embedType === 'html_code'
        ? `<div id="mi-player-${video.id}"></div><script src="${ctx.origin}/e/player.js" data-src="${escaped}"></script>`
        : url;
  return json(200, { embedCode });
}

/** `GET …/videos/{videoId}/transcoding-status` → `[{quality, profileKey, fileExtension, transcodingCompleted}]`. */
function transcodingStatus(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  if (video.uploadedAt === null) return json(200, []);
  return json(
    200,
    profilesOf(video).map((profile, index) => ({
      quality: profile.quality,
      profileKey: profile.profileKey,
      fileExtension: profile.fileExtension,
      transcodingCompleted: ctx.now >= (readyAt(video, index) ?? Number.POSITIVE_INFINITY),
    })),
  );
}

export function videoRoutes(router: Router<Handler>): void {
  router
    .add('GET', '/v1/vms/{vm}/videos', listVideos)
    .add('POST', '/v1/vms/{vm}/videos', createVideo)
    .add('GET', '/v1/vms/{vm}/videos/videoIds', listVideoIds)
    .add('GET', '/v1/vms/{vm}/videos/{videoId}', getVideo)
    .add('PATCH', '/v1/vms/{vm}/videos/{videoId}', updateVideo)
    .add('DELETE', '/v1/vms/{vm}/videos/{videoId}', deleteVideo)
    .add('GET', '/v1/vms/{vm}/trash/videos', listTrash)
    .add('GET', '/v1/vms/{vm}/videos/{videoId}/download-urls', downloadUrls)
    .add('GET', '/v1/vms/{vm}/videos/{videoId}/embed-codes', embedCodes)
    .add('GET', '/v1/vms/{vm}/videos/{videoId}/transcoding-status', transcodingStatus);
}
