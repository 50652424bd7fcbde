/**
 * Typed claims and access rules: who the user is (the ID token's claims, typed by the app
 * through module augmentation) and whether they may use a route (Keycloak roles, claim values,
 * or a predicate). Framework-neutral; every adapter's `requireLogin(rule)` uses these.
 */
import { configError } from '../errors.js';
import type { IdTokenClaims } from '../oidc/types.js';
import type { JsonValue, SessionRecord, SessionUser } from '../session/index.js';

/**
 * The claims of your login server's ID tokens, as your app reads them. Empty here: add yours by
 * module augmentation, once, and `req.vmpro.user()`, `afterLogin`'s `claims` and the guards'
 * predicates are typed accordingly in every adapter.
 *
 * @example
 * ```ts
 * // types/vmpro.d.ts (any file the compiler sees)
 * declare module 'vmpro-connect/http' {
 *   interface VmproClaims {
 *     tenant_id?: string;
 *     realm_access?: { roles: string[] };
 *   }
 * }
 * // then, in a route: (await req.vmpro.user())?.tenant_id is `string | undefined`
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: an interface for module augmentation
export interface VmproClaims {}

/** The ID token's claims: the standard ones, the ones you declared in {@link VmproClaims}, and any other as `unknown`. */
export type VmproIdTokenClaims = IdTokenClaims & VmproClaims;

/**
 * The signed-in user: the ID token's claims (kept current across refreshes) and the profile
 * the session stores (`sub`, `name`, `email`, `preferred_username`).
 *
 * @example
 * ```ts
 * const user = await req.vmpro.user();
 * if (user) console.log(user.sub, user.email, user.tenant_id);
 * ```
 */
export type VmproUser = SessionUser & { readonly [claim: string]: unknown } & VmproClaims;

/** The user of a session record: its ID token's claims, then its stored profile on top. */
export function userOf(record: SessionRecord): VmproUser {
  const claims = record.tokens.claims;
  return (claims === null ? { ...record.user } : { ...claims, ...record.user }) as VmproUser;
}

/**
 * A role to require: a string is a realm role (`realm_access.roles`) or a role of this app's
 * client (`resource_access[clientId].roles`); `{ client, role }` is a role of another client.
 */
export type RoleRequirement = string | { readonly client: string; readonly role: string };

/**
 * What a route requires beyond being signed in. Every part given must hold.
 *
 * @example
 * ```ts
 * vmpro.requireLogin({ role: 'portal-admin' });                        // a Keycloak role
 * vmpro.requireLogin({ role: ['editor', { client: 'cms', role: 'publisher' }] }); // any of these
 * vmpro.requireLogin({ claims: { email_verified: true } });            // claim values
 * vmpro.requireLogin({ claims: (user) => user.email?.endsWith('@example.com') === true });
 * ```
 */
export interface AccessRule {
  /** At least one of these roles (from the ID token and the access token's `realm_access`/`resource_access`). */
  role?: RoleRequirement | readonly RoleRequirement[] | undefined;
  /**
   * Claims of the user ({@link VmproUser}) that must have these values (a claim that is an array
   * must contain the value), or a predicate over the user and the session.
   */
  claims?:
    | Readonly<Record<string, JsonValue>>
    | ((user: VmproUser, session: SessionRecord) => boolean | Promise<boolean>)
    | undefined;
  /** The text of the `403` answer (default: says what is missing and what to do). */
  message?: string | undefined;
}

/** An {@link AccessRule}, checked once when the guard is made. */
export interface CheckedRule {
  readonly roles: readonly RoleRequirement[];
  readonly claims: AccessRule['claims'];
  readonly message: string | undefined;
}

/** Validates a rule (a guard is made at start-up: a mistake fails then, not on a request). */
export function checkRule(rule: AccessRule | undefined): CheckedRule {
  if (rule === undefined) return { roles: [], claims: undefined, message: undefined };
  if (typeof rule !== 'object' || rule === null)
    throw configError('requireLogin(rule)', 'must be an object like { role } or { claims }');
  const roles =
    rule.role === undefined ? [] : Array.isArray(rule.role) ? [...rule.role] : [rule.role as RoleRequirement];
  for (const role of roles) {
    const ok =
      (typeof role === 'string' && role !== '') ||
      (typeof role === 'object' &&
        role !== null &&
        typeof role.client === 'string' &&
        role.client !== '' &&
        typeof role.role === 'string' &&
        role.role !== '');
    if (!ok) throw configError('role', 'must be a role name or { client, role } (non-empty strings)');
  }
  if (rule.role !== undefined && roles.length === 0) throw configError('role', 'must name at least one role');
  const claims = rule.claims;
  if (
    claims !== undefined &&
    typeof claims !== 'function' &&
    (typeof claims !== 'object' || claims === null || Array.isArray(claims))
  ) {
    throw configError(
      'claims',
      'must be an object of claim values, or a function (user, session) => boolean',
    );
  }
  if (rule.message !== undefined && (typeof rule.message !== 'string' || rule.message === '')) {
    throw configError('message', 'must be a non-empty string');
  }
  return { roles, claims, message: rule.message };
}

/** The payload of a JWT access token (Keycloak's are), or `{}` for an opaque one. Not a validation: the token came straight from the token endpoint. */
function accessTokenClaims(accessToken: string): Record<string, unknown> {
  const parts = accessToken.split('.');
  if (parts.length !== 3 || !parts[1]) return {};
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

function rolesIn(source: Record<string, unknown> | null | undefined, client: string | null): string[] {
  const holder =
    client === null
      ? source?.['realm_access']
      : (source?.['resource_access'] as Record<string, unknown> | undefined)?.[client];
  const roles = (holder as { roles?: unknown } | undefined)?.roles;
  return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [];
}

/**
 * True when the session's user has `role` (see {@link RoleRequirement}), from the ID token's
 * claims or the access token's payload (Keycloak puts roles in the access token by default).
 *
 * @example
 * ```ts
 * const record = await req.vmpro.session();
 * if (record && hasRole(record, 'portal-admin', auth.options.clientId)) showAdminMenu();
 * ```
 */
export function hasRole(record: SessionRecord, role: RoleRequirement, clientId: string): boolean {
  const sources = [
    record.tokens.claims as Record<string, unknown> | null,
    accessTokenClaims(record.tokens.accessToken),
  ];
  const name = typeof role === 'string' ? role : role.role;
  const clients = typeof role === 'string' ? [null, clientId] : [role.client];
  return sources.some((source) => clients.some((client) => rolesIn(source, client).includes(name)));
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** True when the claim's value is `expected`, or is an array containing it. */
function claimMatches(actual: unknown, expected: JsonValue): boolean {
  if (deepEqual(actual, expected)) return true;
  return Array.isArray(actual) && actual.some((item) => deepEqual(item, expected));
}

/** `null` when the session satisfies `rule`, else what is missing for the `403` message (`''`: a predicate said no). */
export async function missingAccess(
  record: SessionRecord,
  rule: CheckedRule,
  clientId: string,
): Promise<string | null> {
  if (rule.roles.length > 0 && !rule.roles.some((role) => hasRole(record, role, clientId))) {
    const names = rule.roles.map((r) => (typeof r === 'string' ? r : `${r.client}:${r.role}`));
    return names.length === 1 ? `the role ${names[0]}` : `one of the roles ${names.join(', ')}`;
  }
  const claims = rule.claims;
  if (claims === undefined) return null;
  const user = userOf(record);
  if (typeof claims === 'function') return (await claims(user, record)) === true ? null : '';
  for (const [name, expected] of Object.entries(claims)) {
    if (!claimMatches(user[name], expected)) return `the claim ${name}`;
  }
  return null;
}
