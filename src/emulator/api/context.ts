/**
 * What every route handler of the emulated API gets, and the look-ups most of them start with
 * (VideoManager with its `403`/`404`, video, channel).
 */
import { type ApiIdentity, DEMO_USERS } from './contract.js';
import type { ApiData, ChannelRecord, VideoManagerRecord, VideoRecord } from './data.js';
import { settle } from './data.js';
import { ApiError, notFound } from './errors.js';
import { parseInteger, type Query } from './http.js';

/** The authenticated caller of a `/v1/**` request. */
export interface Caller {
  sub: string;
  preferredUsername: string | undefined;
  /** Epoch seconds. */
  exp: number;
  /** Set for legacy (`/v1/vms/auth/login`) tokens, which are valid for one VideoManager only. */
  legacyVideoManagerId?: number | null | undefined;
}

/** A legacy token issued by `POST /v1/vms/auth/login` or `…/auth/refresh/{vm}`. */
export interface LegacyToken {
  kind: 'access' | 'refresh';
  sub: string;
  videoManagerId: number | null;
  /** Epoch ms (emulator clock). */
  expiresAt: number;
}

/** State of one API instance besides the demo data. */
export interface ApiState {
  data: ApiData;
  legacyTokens: Map<string, LegacyToken>;
  /** Signs upload URLs (`__token__`); random per instance. */
  uploadKey: Uint8Array;
}

export interface Ctx {
  request: Request;
  url: URL;
  params: Record<string, string>;
  query: Query;
  /** `null` outside `/v1/**` and on the legacy login endpoints. */
  caller: Caller | null;
  state: ApiState;
  now: number;
  origin: string;
  issuer: string;
  /** Verifies an ID token of the login server (user info); absent when the API runs alone. */
  verifyIdToken?: ((token: string) => Promise<ApiIdentity | null>) | undefined;
}

export type Handler = (ctx: Ctx) => Response | Promise<Response>;

/** The caller; only `null` on routes that skip the bearer check. */
export function callerOf(ctx: Ctx): Caller {
  if (!ctx.caller) throw new ApiError(401, 'This request needs an access token.');
  return ctx.caller;
}

/** The caller's e-mail address (demo users) or user name, for `owner` and `uploader`. */
export function callerEmail(caller: Caller): string {
  return DEMO_USERS.find((user) => user.sub === caller.sub)?.email ?? caller.preferredUsername ?? caller.sub;
}

/** The VideoManagers a user can reach, in id order. */
export function reachableVms(data: ApiData, sub: string): VideoManagerRecord[] {
  return [...data.vms.values()].filter((vm) => vm.members.includes(sub)).sort((a, b) => a.id - b.id);
}

/**
 * The VideoManager of the `{vm}` path segment: `400` when not a number, `404` when unknown,
 * `403` when the caller cannot reach it (or holds a legacy token for another one).
 */
export function requireVm(ctx: Ctx, raw = ctx.params['vm']): VideoManagerRecord {
  const caller = callerOf(ctx);
  const id = parseInteger(raw ?? '', 'The videoManagerId in the path', { min: 1 });
  const vm = ctx.state.data.vms.get(id);
  if (!vm) throw notFound(`VideoManager ${id} does not exist.`);
  if (!vm.members.includes(caller.sub)) {
    throw new ApiError(
      403,
      `You have no access to VideoManager ${id}. GET /v1/vms lists the ones you can reach.`,
    );
  }
  if (caller.legacyVideoManagerId !== undefined && caller.legacyVideoManagerId !== id) {
    throw new ApiError(
      403,
      `This legacy access token is valid for VideoManager ${caller.legacyVideoManagerId ?? 'none'} only; ` +
        `get one for ${id} with POST /v1/vms/auth/refresh/${id}.`,
    );
  }
  for (const video of vm.videos.values()) settle(video, ctx.now);
  return vm;
}

/** The video of the `{videoId}` path segment; `404` when unknown or in the trash. */
export function requireVideo(ctx: Ctx, vm: VideoManagerRecord, raw = ctx.params['videoId']): VideoRecord {
  const id = raw ?? '';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    throw new ApiError(
      400,
      'The videoId in the path must be 1–64 URL-safe characters (A–Z, a–z, 0–9, "-", "_").',
      {
        code: 'INVALID_INPUT',
      },
    );
  }
  const video = vm.videos.get(id);
  if (!video || video.trashedDate !== null)
    throw notFound(`Video ${id} does not exist in VideoManager ${vm.id}.`);
  return video;
}

/** The channel of `raw` (a path segment or number); `404` when unknown. */
export function requireChannel(
  vm: VideoManagerRecord,
  raw: string | number | undefined,
  what = 'channelId',
): ChannelRecord {
  const id = typeof raw === 'number' ? raw : parseInteger(raw ?? '', `The ${what}`, { min: 0 });
  const channel = vm.channels.get(id);
  if (!channel) throw notFound(`Channel ${id} does not exist in VideoManager ${vm.id}.`);
  return channel;
}

/** Archived videos cannot be changed (OAS-MD `VIDEO_IS_ARCHIVED_CAN_NOT_BE_MODIFIED`). */
export function requireNotArchived(video: VideoRecord): void {
  if (video.archived) {
    throw new ApiError(400, `Video ${video.id} is archived and cannot be modified.`, {
      code: 'VIDEO_IS_ARCHIVED_CAN_NOT_BE_MODIFIED',
    });
  }
}

/** `Location` header value for a path on the API origin. */
export function locationOf(ctx: Ctx, path: string): string {
  return `${ctx.origin}${path}`;
}
