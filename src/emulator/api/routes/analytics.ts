/**
 * `GET /v1/vms/{vm}/analytics/videos` (facts 3.2): plays of a VideoManager's videos over a period.
 *
 * Query: `limit` (1–100, default 100), `offset`, `videoIds` (repeated, at most 100; IDs the
 * VideoManager does not have are left out), `analyticsStartDateTime` and
 * `analyticsEndDateTime` (ISO 8601; default: since the upload, until now). The answer has the
 * shape of PHP-CLIENT's `getPlays.json` fixture: `{videos: [VideoAnalyticsDTO]}`, in creation
 * order, with ISO dates and `duration` in ms.
 *
 * The plays are made up but consistent: each video is played at a steady daily rate since its
 * upload (its lifetime `plays` spread up to `PLAYS_REFERENCE_DATE`), nothing before the upload or
 * after the emulator's now, so the plays of two adjacent periods add up to those of both.
 */
import type { Ctx, Handler } from '../context.js';
import { requireVm } from '../context.js';
import type { VideoManagerRecord, VideoRecord } from '../data.js';
import { badRequest } from '../errors.js';
import { clip, json } from '../http.js';
import { isoSeconds } from '../media-seed.js';
import type { Router } from '../router.js';

export const ANALYTICS_MAX = 100;
const DAY = 86_400_000;
/** The seeded lifetime `plays` of a video are the plays from its upload until this date. */
export const PLAYS_REFERENCE_DATE = Date.UTC(2025, 0, 1);

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

function dateTime(ctx: Ctx, name: string): number | undefined {
  const value = ctx.query.string(name);
  if (value === undefined) return undefined;
  const ms = ISO_DATE_TIME.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw badRequest(
      `Query parameter "${name}" must be an ISO 8601 date-time such as 2025-01-31T00:00:00Z (got "${clip(value)}").`,
    );
  }
  return ms;
}

/** Plays of `video` from its upload until `t` (epoch ms), at its steady daily rate. */
function playsUntil(video: VideoRecord, t: number): number {
  const start = video.uploadedAt ?? video.createdDate;
  if (video.plays <= 0 || t <= start) return 0;
  const perDay = video.plays / Math.max(1, (PLAYS_REFERENCE_DATE - start) / DAY);
  return Math.floor((perDay * (t - start)) / DAY);
}

/** Plays of `video` in `[from, to]`, never after `now`. */
export function playsBetween(video: VideoRecord, from: number, to: number, now: number): number {
  const end = Math.min(to, now);
  if (end <= from) return 0;
  return playsUntil(video, end) - playsUntil(video, from);
}

function analyticsJson(vm: VideoManagerRecord, video: VideoRecord, plays: number) {
  return {
    id: video.id,
    title: video.title,
    description: video.description,
    createdDate: isoSeconds(video.createdDate),
    modifiedDate: isoSeconds(video.modifiedDate),
    duration: video.length,
    uploadedFile: video.uploadFileName,
    published: video.published,
    channels: video.channelIds.flatMap((id) => {
      const channel = vm.channels.get(id);
      return channel ? [{ id: channel.id, name: channel.name }] : [];
    }),
    groups:
      video.ownershipGroupId === null ? [] : [{ id: video.ownershipGroupId, name: `${vm.name} owners` }],
    metadata: structuredClone(video.customMetadata),
    plays,
  };
}

/** `GET /v1/vms/{vm}/analytics/videos` → `{videos: [VideoAnalyticsDTO]}`. */
function videoAnalytics(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const q = ctx.query;
  const limit = q.integer('limit', { min: 1, max: ANALYTICS_MAX }) ?? ANALYTICS_MAX;
  const offset = q.integer('offset', { min: 0 }) ?? 0;
  const ids = q.strings('videoIds');
  if (ids.length > ANALYTICS_MAX) {
    throw badRequest(
      `Query parameter "videoIds" was given ${ids.length} times; at most ${ANALYTICS_MAX} are allowed.`,
    );
  }
  for (const id of ids) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
      throw badRequest(`Query parameter "videoIds" has "${clip(id)}", which is not a video ID.`);
    }
  }
  const from = dateTime(ctx, 'analyticsStartDateTime') ?? 0;
  const to = dateTime(ctx, 'analyticsEndDateTime') ?? ctx.now;
  if (from > to) {
    throw badRequest('analyticsStartDateTime is after analyticsEndDateTime; swap them.');
  }
  const wanted = ids.length === 0 ? null : new Set(ids);
  const videos = [...vm.videos.values()].filter(
    (video) => video.trashedDate === null && (wanted === null || wanted.has(video.id)),
  );
  return json(200, {
    videos: videos
      .slice(offset, offset + limit)
      .map((video) => analyticsJson(vm, video, playsBetween(video, from, to, ctx.now))),
  });
}

export function analyticsRoutes(router: Router<Handler>): void {
  router.add('GET', '/v1/vms/{vm}/analytics/videos', videoAnalytics);
}
