/**
 * The upload flow (facts 3.4): `GET …/videos/{videoId}/url` hands out a signed upload URL (in
 * the `Location` header) for an `asset-in`-like chunk receiver on the same origin, which takes
 * `POST`s of raw chunks with `Mi24-Upload-Total-Chunks` / `Mi24-Upload-Current-Chunk` headers.
 * When every chunk has arrived the video counts as uploaded and "transcodes" by the emulator clock.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Ctx, Handler } from '../context.js';
import { callerOf, requireNotArchived, requireVideo, requireVm } from '../context.js';
import type { UploadState, VideoRecord } from '../data.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { countBytes, empty, json, parseInteger } from '../http.js';
import type { Router } from '../router.js';

/** The `__token__` of an upload URL is valid this long (emulator clock). */
export const UPLOAD_URL_TTL_MS = 4 * 3_600_000;
/** Larger chunks get `413` (movingimage recommends 2–10 MB). */
export const MAX_CHUNK_BYTES = 100 * 1024 * 1024;
/** Most chunks one upload may have. */
export const MAX_CHUNKS = 10_000;
export const UPLOAD_PATH_PREFIX = '/asset-in/chunks/vms/';

function sign(key: Uint8Array, parts: (string | number)[]): string {
  return createHmac('sha256', key).update(parts.join('\n')).digest('hex');
}

/**
 * `GET /v1/vms/{vm}/videos/{videoId}/url` → `200` with the upload URL in `Location` (OAS-MD;
 * DOC-UPURL says `201`). Shape:
 * `{origin}/asset-in/chunks/vms/{vm}/videos/{id}?bucketId=…&fileId=…&userId=…&__token__=<expiry>~<hex>`.
 * Asking again before the upload completes continues the same upload with a fresh token.
 */
function uploadUrl(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  const caller = callerOf(ctx);
  requireNotArchived(video);
  if (video.upload === null || video.upload.complete) {
    video.upload = {
      fileId: randomBytes(12).toString('hex'),
      totalChunks: null,
      chunks: new Map(),
      complete: false,
    };
  }
  const expires = Math.floor((ctx.now + UPLOAD_URL_TTL_MS) / 1000);
  const bucketId = `vm-${vm.id}`;
  const { fileId } = video.upload;
  const token = `${expires}~${sign(ctx.state.uploadKey, [vm.id, video.id, bucketId, fileId, caller.sub, expires])}`;
  // Built by hand: URLSearchParams would escape the "~" that the real URLs carry literally.
  const url =
    `${ctx.origin}${UPLOAD_PATH_PREFIX}${vm.id}/videos/${video.id}` +
    `?bucketId=${bucketId}&fileId=${fileId}&userId=${encodeURIComponent(caller.sub)}&__token__=${token}`;
  return empty(200, { location: url });
}

function requireValidToken(ctx: Ctx, vmId: number, videoId: string) {
  const params = ctx.url.searchParams;
  const token = params.get('__token__');
  const bucketId = params.get('bucketId') ?? '';
  const fileId = params.get('fileId') ?? '';
  const userId = params.get('userId') ?? '';
  const match = token === null ? null : /^(\d{1,12})~([0-9a-f]{64})$/.exec(token);
  if (!match) {
    throw new ApiError(
      403,
      'The upload URL has no valid __token__; get one from GET …/videos/{videoId}/url.',
    );
  }
  const expires = Number(match[1]);
  const expected = Buffer.from(
    sign(ctx.state.uploadKey, [vmId, videoId, bucketId, fileId, userId, expires]),
    'hex',
  );
  if (!timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'))) {
    throw new ApiError(
      403,
      'The upload URL was altered or is not for this video; use the URL exactly as issued.',
    );
  }
  if (ctx.now >= expires * 1000) {
    throw new ApiError(
      403,
      'The upload URL has expired (they last 4 hours); get a new one from GET …/videos/{videoId}/url.',
    );
  }
  return { fileId };
}

function chunkHeader(request: Request, name: string, max: number): number {
  const value = request.headers.get(name);
  if (value === null) throw badRequest(`The ${name} header is missing.`);
  return parseInteger(value.trim(), `The ${name} header`, { min: 1, max });
}

function complete(ctx: Ctx, video: VideoRecord, upload: UploadState): void {
  const bytes = [...upload.chunks.values()].reduce((sum, each) => sum + each, 0);
  upload.complete = true;
  if (video.uploadedAt !== null) video.generation += 1;
  video.uploadedAt = ctx.now;
  video.uploadDate = ctx.now;
  video.modifiedDate = ctx.now;
  // A made-up duration from the size (1 Mbit/s), at least one second.
  video.length = Math.max(1000, Math.round(bytes / 125 / 1000) * 1000);
  if (video.stills.length === 0) {
    video.stills.push({
      id: ctx.state.data.next.still++,
      active: true,
      timestamp: Math.floor(video.length / 3),
    });
  }
}

/**
 * `POST /asset-in/chunks/vms/{vm}/videos/{videoId}?…&__token__=…` with `Content-Type:
 * application/octet-stream`, `Mi24-Upload-Total-Chunks: N`, `Mi24-Upload-Current-Chunk: i`
 * (1-based) → `201` per chunk (the current DOC-UPLOAD page). Re-sending a chunk replaces it.
 */
async function receiveChunk(ctx: Ctx): Promise<Response> {
  const vmId = parseInteger(ctx.params['vm'] ?? '', 'The videoManagerId in the path', { min: 1 });
  const videoId = ctx.params['videoId'] ?? '';
  const { fileId } = requireValidToken(ctx, vmId, videoId);
  const vm = ctx.state.data.vms.get(vmId);
  const video = vm?.videos.get(videoId);
  if (!vm || !video || video.trashedDate !== null) throw notFound(`Video ${videoId} no longer exists.`);
  const upload = video.upload;
  if (upload === null || upload.fileId !== fileId) {
    throw new ApiError(409, 'This upload URL belongs to an earlier upload of the video; get a new one.');
  }
  const request = ctx.request;
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/octet-stream') {
    throw badRequest(
      `Send each chunk with "Content-Type: application/octet-stream" (got ${type ? `"${type}"` : 'none'}).`,
    );
  }
  const total = chunkHeader(request, 'Mi24-Upload-Total-Chunks', MAX_CHUNKS);
  const current = chunkHeader(request, 'Mi24-Upload-Current-Chunk', MAX_CHUNKS);
  if (current > total) {
    throw badRequest(
      `Mi24-Upload-Current-Chunk (${current}) is larger than Mi24-Upload-Total-Chunks (${total}); chunks count from 1.`,
    );
  }
  if (upload.totalChunks !== null && upload.totalChunks !== total) {
    throw badRequest(
      `Mi24-Upload-Total-Chunks changed from ${upload.totalChunks} to ${total} within one upload.`,
    );
  }
  const bytes = await countBytes(request, MAX_CHUNK_BYTES);
  if (bytes === 0) throw badRequest(`Chunk ${current} is empty; send its bytes as the request body.`);
  if (!upload.complete) {
    upload.totalChunks = total;
    upload.chunks.set(current, bytes);
    if (upload.chunks.size === total) complete(ctx, video, upload);
  }
  return json(201, {
    chunk: current,
    totalChunks: total,
    receivedChunks: upload.chunks.size,
    complete: upload.complete,
  });
}

export function uploadRoutes(router: Router<Handler>): void {
  router
    .add('GET', '/v1/vms/{vm}/videos/{videoId}/url', uploadUrl)
    .add('POST', '/asset-in/chunks/vms/{vm}/videos/{videoId}', receiveChunk);
}
