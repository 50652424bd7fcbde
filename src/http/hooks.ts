/**
 * The after-login hook: the app sees who signed in before the session exists, may store custom
 * data with it, and may refuse the sign-in.
 */
import type { VmproApiClient } from '../api/index.js';
import { configError, VmproError } from '../errors.js';
import type { JsonValue, SessionUser } from '../session/index.js';
import type { RoleRequirement, VmproIdTokenClaims } from './claims.js';

/**
 * What `afterLogin` receives. No raw token: the token set's metadata, a role check, and an API
 * client that calls the VideoManager Pro API as the user (the token goes to the API origin only).
 */
export interface AfterLoginContext {
  /** The validated ID token's claims, typed by your {@link VmproClaims} augmentation. */
  readonly claims: VmproIdTokenClaims;
  /** The profile the session will store. */
  readonly user: SessionUser;
  readonly tokens: {
    readonly scope: string | null;
    /** Epoch ms, or `null` when the login server did not say. */
    readonly accessTokenExpiresAt: number | null;
    readonly refreshTokenExpiresAt: number | null;
    readonly hasRefreshToken: boolean;
  };
  /** True when the user has `role` (a realm role or one of this client's; `{ client, role }` for another client's). */
  hasRole(role: RoleRequirement): boolean;
  /** The VideoManager Pro API as the user who is signing in. */
  readonly api: VmproApiClient;
  /** The callback request. */
  readonly request: Request;
  /** Where the user goes after signing in (a same-origin path). */
  readonly returnTo: string;
}

/** What `afterLogin` may return: custom data to store with the session, or nothing. */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook that only checks (no `return`) returns void
export type AfterLoginResult = { data?: Record<string, JsonValue> | undefined } | undefined | void;

/**
 * Runs after the code exchange and before the session is created. Return `{ data }` to store
 * JSON with the session (read it as `(await vmpro.session())?.data`); throw
 * {@link loginRefused} to refuse the sign-in with a `403` page (no session is created, the
 * refresh token is revoked). Any other error is a `500` with the details in the log.
 *
 * @example
 * ```ts
 * afterLogin: async ({ claims, api }) => {
 *   const vms = await api.vms.list();
 *   if (vms.length === 0) throw loginRefused('Your account has no VideoManager. Ask your administrator for access.');
 *   return { data: { tenant: String(claims.tenant_id ?? 'default'), videoManagers: vms.map((vm) => vm.id) } };
 * }
 * ```
 */
export type AfterLoginHook = (context: AfterLoginContext) => AfterLoginResult | Promise<AfterLoginResult>;

/**
 * The error `afterLogin` throws to refuse a sign-in: the user sees a `403` page with `message`
 * (write it for them: what is wrong and whom to ask).
 *
 * @example
 * ```ts
 * throw loginRefused('This portal is for employees of Example Inc. only.');
 * ```
 */
export function loginRefused(message: string): VmproError {
  if (typeof message !== 'string' || message === '') {
    throw configError('loginRefused(message)', 'needs a message for the user');
  }
  return new VmproError('VMPRO_LOGIN_REFUSED', message);
}

const MAX_DEPTH = 32;

function isJson(value: unknown, depth: number): value is JsonValue {
  if (depth > MAX_DEPTH) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isJson(item, depth + 1));
  if (typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(value).every((item) => isJson(item, depth + 1));
}

/** The data of an `afterLogin` result, checked to be JSON (it is stored as JSON by every store). */
export function afterLoginData(result: unknown): Record<string, JsonValue> | undefined {
  if (result === undefined || result === null) return undefined;
  if (typeof result !== 'object' || Array.isArray(result)) {
    throw configError('afterLogin', 'must return { data } or nothing');
  }
  const data = (result as { data?: unknown }).data;
  if (data === undefined) return undefined;
  if (typeof data !== 'object' || data === null || Array.isArray(data) || !isJson(data, 0)) {
    throw configError(
      'afterLogin',
      'returned data that is not a plain JSON object (functions, class instances, Dates, NaN or deeper than 32 levels)',
      'return plain objects, arrays, strings, finite numbers, booleans and null; convert Dates with toISOString()',
    );
  }
  return data as Record<string, JsonValue>;
}
