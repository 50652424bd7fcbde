/**
 * Corporate-tube metadata of a video (facts 3.2, PHP-CLIENT `get/updateCorporateTubeMetadata`):
 * `{uploadDate, uploaderUserId, inChargeUserId, uploaderKeycloakUserId, inChargeKeycloakUserId}`,
 * `uploadDate` in ISO 8601. `PATCH` takes any subset (`null` clears a field) and answers `200`.
 */
import type { Ctx, Handler } from '../context.js';
import { requireNotArchived, requireVideo, requireVm } from '../context.js';
import { badRequest } from '../errors.js';
import { Body, empty, json, readJsonObject } from '../http.js';
import { type CorporateTubeRecord, corporateTubeOf, isoSeconds } from '../media-seed.js';
import type { Router } from '../router.js';

const USER_FIELDS = [
  'uploaderUserId',
  'inChargeUserId',
  'uploaderKeycloakUserId',
  'inChargeKeycloakUserId',
] as const;

/** ISO 8601 date-time with `Z` or an offset (PHP-CLIENT sends `2023-06-05T14:26:23+00:00`). */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})$/;

/** `GET …/videos/{videoId}/metadata/corporate-tube`. */
function getCorporateTube(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  return json(200, { ...corporateTubeOf(video) });
}

/** A user ID field: a string, a number (stored as its string, as a JSON mapper would) or `null`. */
function userId(body: Body, name: string): string | null | undefined {
  const value = body.raw(name);
  if (value === undefined || value === null) return value as null | undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value !== 'string' || value.trim() === '' || value.length > 255) {
    throw badRequest(`Field "${name}" must be a non-empty string of at most 255 characters, or null.`);
  }
  return value;
}

/** `PATCH …/videos/{videoId}/metadata/corporate-tube` → `200`, no body. */
async function patchCorporateTube(ctx: Ctx): Promise<Response> {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  const body = new Body(await readJsonObject(ctx.request));
  body.onlyKeys(['uploadDate', ...USER_FIELDS]);
  const next: CorporateTubeRecord = { ...corporateTubeOf(video) };
  if (body.has('uploadDate')) {
    const raw = body.raw('uploadDate');
    if (raw === null) next.uploadDate = null;
    else if (typeof raw === 'string' && ISO_DATE_TIME.test(raw) && !Number.isNaN(Date.parse(raw))) {
      next.uploadDate = isoSeconds(Date.parse(raw));
    } else {
      throw badRequest(
        'Field "uploadDate" must be an ISO 8601 date-time such as 2023-06-05T14:26:23Z (or +00:00), or null.',
      );
    }
  }
  for (const field of USER_FIELDS) {
    const value = userId(body, field);
    if (value !== undefined) next[field] = value;
  }
  requireNotArchived(video);
  video.corporateTube = next;
  video.modifiedDate = ctx.now;
  return empty(200);
}

export function corporateTubeRoutes(router: Router<Handler>): void {
  router
    .add('GET', '/v1/vms/{vm}/videos/{videoId}/metadata/corporate-tube', getCorporateTube)
    .add('PATCH', '/v1/vms/{vm}/videos/{videoId}/metadata/corporate-tube', patchCorporateTube);
}
