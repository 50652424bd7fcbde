/**
 * Account-level routes: the VideoManager list, players, metadata sets, custom metadata fields,
 * the keyword catalogue, and the legacy (pre-OIDC) login endpoints of facts 2.7.
 */
import { randomBytes } from 'node:crypto';
import type { Ctx, Handler } from '../context.js';
import { callerOf, reachableVms, requireVm } from '../context.js';
import { DEMO_USERS } from '../contract.js';
import { ApiError, notFound } from '../errors.js';
import { Body, json, parseInteger, readJsonObject } from '../http.js';
import type { Router } from '../router.js';

/** Legacy access tokens live 5 minutes, refresh tokens 1 hour (DOC-OLDAUTH). */
export const LEGACY_ACCESS_TTL_MS = 300_000;
export const LEGACY_REFRESH_TTL_MS = 3_600_000;

/** `GET /v1/vms`: `[{id, name, uuid}]` of the VideoManagers the caller can reach. */
function listVms(ctx: Ctx): Response {
  const caller = callerOf(ctx);
  // A legacy token is valid for one VideoManager but still lists every reachable one.
  const vms = reachableVms(ctx.state.data, caller.sub);
  return json(
    200,
    vms.map((vm) => ({ id: vm.id, name: vm.name, uuid: vm.uuid })),
  );
}

function listPlayers(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  return json(
    200,
    vm.players.map((player) => ({ ...player })),
  );
}

function listMetadataSets(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  return json(
    200,
    vm.metadataSets.map((set) => ({ ...set })),
  );
}

/** `?entityType=VIDEO|CHANNEL` narrows the list (MOODLE2 sends `VIDEO`). */
function listCustomMetadataFields(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const entityType = ctx.query.string('entityType')?.toUpperCase();
  const fields = vm.customFields.filter(
    (field) => entityType === undefined || field.entityType === entityType,
  );
  return json(
    200,
    fields.map((field) => ({ ...field, options: field.options.map((option) => ({ ...option })) })),
  );
}

/** `GET /v1/vms/{vm}/keyword/find?searchstring=&type=`: the VideoManager's keywords. */
function findKeywords(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const search = ctx.query.string('searchstring')?.toLowerCase() ?? '';
  const type = ctx.query.string('type');
  const found = [...vm.keywords.values()].filter(
    (keyword) =>
      keyword.text.toLowerCase().includes(search) &&
      (type === undefined || keyword.type.toLowerCase() === type.toLowerCase()),
  );
  return json(
    200,
    found.map((keyword) => ({ ...keyword })),
  );
}

function issueLegacyTokens(ctx: Ctx, sub: string, videoManagerId: number | null) {
  const accessToken = randomBytes(32).toString('base64url');
  const refreshToken = randomBytes(32).toString('base64url');
  ctx.state.legacyTokens.set(accessToken, {
    kind: 'access',
    sub,
    videoManagerId,
    expiresAt: ctx.now + LEGACY_ACCESS_TTL_MS,
  });
  ctx.state.legacyTokens.set(refreshToken, {
    kind: 'refresh',
    sub,
    videoManagerId,
    expiresAt: ctx.now + LEGACY_REFRESH_TTL_MS,
  });
  return { accessToken, refreshToken };
}

/**
 * `POST /v1/vms/auth/login` `{username, password}` → `{accessToken, refreshToken,
 * videoManagerList, validForVideoManager}`. The token works for the first reachable
 * VideoManager only. `validForVideoManager` is a string, as in the doc example (VMP-SDK's Java
 * model has an integer).
 */
async function legacyLogin(ctx: Ctx): Promise<Response> {
  const body = new Body(await readJsonObject(ctx.request));
  const username = body.string('username', { required: true });
  const password = body.string('password', { required: true });
  const user = DEMO_USERS.find(
    (candidate) => candidate.username === username && candidate.password === password,
  );
  if (!user) throw new ApiError(401, 'Login failed: unknown user name or wrong password.');
  const vms = reachableVms(ctx.state.data, user.sub);
  const first = vms[0]?.id ?? null;
  return json(200, {
    ...issueLegacyTokens(ctx, user.sub, first),
    videoManagerList: vms.map((vm) => ({ id: vm.id, name: vm.name })),
    validForVideoManager: first === null ? null : String(first),
  });
}

/** `POST /v1/vms/auth/refresh/{vm}` `{refreshToken}` → `{accessToken, refreshToken}` for that VideoManager. */
async function legacyRefresh(ctx: Ctx): Promise<Response> {
  const body = new Body(await readJsonObject(ctx.request));
  const refreshToken = body.string('refreshToken', { required: true, nonEmpty: true })!;
  const stored = ctx.state.legacyTokens.get(refreshToken);
  if (stored?.kind !== 'refresh' || stored.expiresAt <= ctx.now) {
    throw new ApiError(401, 'The refresh token is unknown or has expired; log in again.');
  }
  const id = parseInteger(ctx.params['vm'] ?? '', 'The videoManagerId in the path', { min: 1 });
  const vm = ctx.state.data.vms.get(id);
  if (!vm) throw notFound(`VideoManager ${id} does not exist.`);
  if (!vm.members.includes(stored.sub)) throw new ApiError(403, `You have no access to VideoManager ${id}.`);
  return json(200, issueLegacyTokens(ctx, stored.sub, id));
}

/** Routes that are reached without a bearer token. */
export const LEGACY_AUTH_TEMPLATES = ['/v1/vms/auth/login', '/v1/vms/auth/refresh/{vm}'];

export function accountRoutes(router: Router<Handler>): void {
  router
    .add('GET', '/v1/vms', listVms)
    .add('GET', '/v1/vms/{vm}/players', listPlayers)
    .add('GET', '/v1/vms/{vm}/metadata-sets', listMetadataSets)
    .add('GET', '/v1/vms/{vm}/custom-metadata-fields', listCustomMetadataFields)
    .add('GET', '/v1/vms/{vm}/keyword/find', findKeywords)
    .add('POST', '/v1/vms/auth/login', legacyLogin)
    .add('POST', '/v1/vms/auth/refresh/{vm}', legacyRefresh);
}
