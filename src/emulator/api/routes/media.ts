/**
 * A video's stills (thumbnails), keywords and custom metadata (facts 3.2).
 */
import type { Ctx, Handler } from '../context.js';
import { locationOf, requireNotArchived, requireVideo, requireVm } from '../context.js';
import type { CustomFieldRecord, StillRecord, VideoManagerRecord, VideoRecord } from '../data.js';
import { keywordFor } from '../data.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { Body, empty, json, parseInteger, readJsonObject } from '../http.js';
import type { Router } from '../router.js';
import { stillItems, stillView } from '../serialize.js';
import { checkMetadataSet } from './videos.js';

function requireStill(ctx: Ctx, video: VideoRecord): StillRecord {
  const id = parseInteger(ctx.params['stillId'] ?? '', 'The stillId in the path', { min: 0 });
  const still = video.stills.find((candidate) => candidate.id === id);
  if (!still) throw notFound(`Still ${id} does not exist for video ${video.id}.`);
  return still;
}

/** `GET …/videos/{videoId}/thumbnails` → `[StillViewDTO{id, active, items}]`. */
function listThumbnails(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  return json(
    200,
    video.stills.map((still) => stillView(ctx.origin, video, still)),
  );
}

/** `GET /v1/vms/{vm}/videos/thumbnails` → `[{videoId, stills}]` (the active still of each video). */
function listAllThumbnails(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  return json(
    200,
    [...vm.videos.values()]
      .filter((video) => video.trashedDate === null)
      .map((video) => {
        const active = video.stills.find((still) => still.active);
        return { videoId: video.id, stills: active ? stillItems(ctx.origin, video, active) : [] };
      }),
  );
}

/** `POST …/thumbnails?timestamp=<ms>` → `201`, `Location: …/thumbnails/{id}`; a still from that frame. */
function createThumbnail(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  requireNotArchived(video);
  if (video.uploadedAt === null) {
    throw badRequest(`Video ${video.id} has no media yet; upload it before taking stills from it.`);
  }
  const timestamp = ctx.query.integer('timestamp', { min: 0, max: video.length });
  if (timestamp === undefined) throw badRequest('timestamp (ms into the video) is required.');
  const still: StillRecord = { id: ctx.state.data.next.still++, active: false, timestamp };
  video.stills.push(still);
  video.modifiedDate = ctx.now;
  return empty(201, {
    location: locationOf(ctx, `/v1/vms/${vm.id}/videos/${video.id}/thumbnails/${still.id}`),
  });
}

/** `PATCH …/thumbnails/{stillId}` `{active: true}` → `200` with the still; makes it the video's thumbnail. */
async function updateThumbnail(ctx: Ctx): Promise<Response> {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  const still = requireStill(ctx, video);
  const body = new Body(await readJsonObject(ctx.request));
  body.onlyKeys(['active']);
  requireNotArchived(video);
  const active = body.boolean('active');
  if (active === false && still.active) {
    throw badRequest('A video always has an active still; activate another one instead.');
  }
  if (active === true) {
    for (const each of video.stills) each.active = each === still;
    video.modifiedDate = ctx.now;
  }
  return json(200, stillView(ctx.origin, video, still));
}

/** `GET …/thumbnails/{stillId}/url` → `{downloadUrl}` (the 720p image). */
function thumbnailUrl(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  const still = requireStill(ctx, video);
  const largest = stillItems(ctx.origin, video, still).at(-1)!;
  return json(200, { downloadUrl: `${new URL(ctx.origin).protocol}${largest.url}` });
}

/** `DELETE …/thumbnails/{stillId}` → `200`. Deleting the active still activates the first one left. */
function deleteThumbnail(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  const still = requireStill(ctx, video);
  requireNotArchived(video);
  video.stills = video.stills.filter((each) => each !== still);
  if (still.active && video.stills[0]) video.stills[0].active = true;
  video.modifiedDate = ctx.now;
  return empty(200);
}

function keywordsOf(vm: VideoManagerRecord, video: VideoRecord) {
  return video.keywordIds.flatMap((id) => {
    const keyword = vm.keywords.get(id);
    return keyword ? [{ id: keyword.id, text: keyword.text }] : [];
  });
}

/** `GET …/videos/{videoId}/keywords` → `[{id, text}]`. */
function listKeywords(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  return json(200, keywordsOf(vm, requireVideo(ctx, vm)));
}

/** `POST …/videos/{videoId}/keywords` `{text}` → `200 {id, text}`; `400 ENTRY_ALREADY_EXISTS` when the video has it. */
async function addKeyword(ctx: Ctx): Promise<Response> {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  checkMetadataSet(ctx, vm);
  const body = new Body(await readJsonObject(ctx.request));
  body.onlyKeys(['text']);
  const text = body.string('text', { required: true, nonEmpty: true })!.trim();
  requireNotArchived(video);
  const keyword = keywordFor(ctx.state.data, vm, text, ctx.now);
  if (video.keywordIds.includes(keyword.id)) {
    throw new ApiError(400, `Video ${video.id} already has the keyword "${text}".`, {
      code: 'ENTRY_ALREADY_EXISTS',
    });
  }
  video.keywordIds.push(keyword.id);
  video.modifiedDate = ctx.now;
  return json(200, { id: keyword.id, text: keyword.text });
}

/** `DELETE …/videos/{videoId}/keywords/{keywordId}` → `204`. */
function removeKeyword(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  checkMetadataSet(ctx, vm);
  const id = parseInteger(ctx.params['keywordId'] ?? '', 'The keywordId in the path', { min: 0 });
  if (!video.keywordIds.includes(id)) throw notFound(`Video ${video.id} has no keyword ${id}.`);
  requireNotArchived(video);
  video.keywordIds = video.keywordIds.filter((each) => each !== id);
  video.modifiedDate = ctx.now;
  return empty(204);
}

/** `GET …/videos/{videoId}/metadata` → `{fieldKey: value}` (values set on the video only). */
function getMetadata(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  checkMetadataSet(ctx, vm);
  return json(200, structuredClone(video.customMetadata));
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

function checkedValue(field: CustomFieldRecord, value: unknown): string | string[] {
  const options = field.options.map((option) => option.name);
  const invalidOption = (got: string) =>
    new ApiError(400, `"${got}" is not an option of ${field.keyName}; options: ${options.join(', ')}.`, {
      code: 'INVALID_SELECT_OPTION',
    });
  switch (field.type) {
    case 'TEXT':
      if (typeof value !== 'string') throw badRequest(`${field.keyName} takes a string.`);
      return value;
    case 'SELECT':
      if (typeof value !== 'string') throw badRequest(`${field.keyName} takes one option name as a string.`);
      if (!options.includes(value)) throw invalidOption(value);
      return value;
    case 'MULTI_SELECT': {
      const values = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(values) || !values.every((each) => typeof each === 'string')) {
        throw badRequest(`${field.keyName} takes an array of option names.`);
      }
      for (const each of values) if (!options.includes(each)) throw invalidOption(each);
      return [...new Set(values)];
    }
    case 'DATE_TIME':
      if (typeof value !== 'string' || !DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
        throw badRequest(`${field.keyName} takes a date-time in the form yyyy-mm-ddThh:mm:ss[.sss]Z.`);
      }
      return value;
  }
}

/**
 * `PATCH …/videos/{videoId}/metadata` `{fieldKey: value|null}` → `204`. `null` deletes a value
 * (all values of a MULTI_SELECT); SELECT values must be options; all or nothing.
 */
async function updateMetadata(ctx: Ctx): Promise<Response> {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  checkMetadataSet(ctx, vm);
  const body = new Body(await readJsonObject(ctx.request));
  const changes: [string, string | string[] | null][] = body.keys().map((key) => {
    const field = vm.customFields.find(
      (candidate) => candidate.entityType === 'VIDEO' && candidate.keyName === key,
    );
    if (!field)
      throw badRequest(`"${key}" is not a custom metadata field of videos in VideoManager ${vm.id}.`);
    if (!field.editable) throw badRequest(`The custom metadata field "${key}" cannot be edited.`);
    const value = body.raw(key);
    return [key, value === null ? null : checkedValue(field, value)];
  });
  requireNotArchived(video);
  for (const [key, value] of changes) {
    if (value === null) delete video.customMetadata[key];
    else video.customMetadata[key] = value;
  }
  video.modifiedDate = ctx.now;
  return empty(204);
}

/** `DELETE …/videos/{videoId}/metadata/option/{optionId}` → `204`; removes one MULTI_SELECT value. */
function removeMetadataOption(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  const optionId = parseInteger(ctx.params['optionId'] ?? '', 'The optionId in the path', { min: 0 });
  for (const field of vm.customFields) {
    const option = field.options.find((candidate) => candidate.id === optionId);
    if (field.type !== 'MULTI_SELECT' || !option) continue;
    const values = video.customMetadata[field.keyName];
    if (!Array.isArray(values) || !values.includes(option.name)) break;
    requireNotArchived(video);
    const left = values.filter((value) => value !== option.name);
    if (left.length === 0) delete video.customMetadata[field.keyName];
    else video.customMetadata[field.keyName] = left;
    video.modifiedDate = ctx.now;
    return empty(204);
  }
  throw notFound(`Video ${video.id} has no multi-select value with option id ${optionId}.`);
}

export function mediaRoutes(router: Router<Handler>): void {
  router
    .add('GET', '/v1/vms/{vm}/videos/thumbnails', listAllThumbnails)
    .add('GET', '/v1/vms/{vm}/videos/{videoId}/thumbnails', listThumbnails)
    .add('POST', '/v1/vms/{vm}/videos/{videoId}/thumbnails', createThumbnail)
    .add('PATCH', '/v1/vms/{vm}/videos/{videoId}/thumbnails/{stillId}', updateThumbnail)
    .add('DELETE', '/v1/vms/{vm}/videos/{videoId}/thumbnails/{stillId}', deleteThumbnail)
    .add('GET', '/v1/vms/{vm}/videos/{videoId}/thumbnails/{stillId}/url', thumbnailUrl)
    .add('GET', '/v1/vms/{vm}/videos/{videoId}/keywords', listKeywords)
    .add('POST', '/v1/vms/{vm}/videos/{videoId}/keywords', addKeyword)
    .add('DELETE', '/v1/vms/{vm}/videos/{videoId}/keywords/{keywordId}', removeKeyword)
    .add('GET', '/v1/vms/{vm}/videos/{videoId}/metadata', getMetadata)
    .add('PATCH', '/v1/vms/{vm}/videos/{videoId}/metadata', updateMetadata)
    .add('DELETE', '/v1/vms/{vm}/videos/{videoId}/metadata/option/{optionId}', removeMetadataOption);
}
