/**
 * `POST /v1/vms/corp-tube-admin/user-info` with `{jwt_id_token}` (PHP-CLIENT `getUserInfo`): the
 * user an ID token of the login server names → `{email, fullName, videoManagerIds}`. The bearer
 * check applies as on every `/v1/**` route. The ID token is never echoed in an answer.
 */
import type { Ctx, Handler } from '../context.js';
import { reachableVms } from '../context.js';
import { DEMO_USERS } from '../contract.js';
import { ApiError, badRequest } from '../errors.js';
import { Body, json, readJsonObject } from '../http.js';
import type { Router } from '../router.js';

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

async function userInfo(ctx: Ctx): Promise<Response> {
  const body = new Body(await readJsonObject(ctx.request));
  body.onlyKeys(['jwt_id_token']);
  const token = body.string('jwt_id_token', { required: true, nonEmpty: true })!.trim();
  if (!ctx.verifyIdToken) {
    throw new ApiError(501, 'This emulated API has no login server to check ID tokens against.');
  }
  const identity = JWT.test(token) ? await ctx.verifyIdToken(token).catch(() => null) : null;
  if (identity === null) {
    throw badRequest(
      'Field "jwt_id_token" is not a valid ID token of this login server, or it has expired; ' +
        'send the id_token of a current login.',
    );
  }
  const user = DEMO_USERS.find((candidate) => candidate.sub === identity.sub);
  return json(200, {
    email: user?.email ?? identity.email ?? '',
    fullName: user?.name ?? identity.name ?? '',
    videoManagerIds: reachableVms(ctx.state.data, identity.sub).map((vm) => vm.id),
  });
}

export function userInfoRoutes(router: Router<Handler>): void {
  router.add('POST', '/v1/vms/corp-tube-admin/user-info', userInfo);
}
