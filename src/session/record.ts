/** Session ids, store keys and record validation (internal). */
import { createHash, randomBytes } from 'node:crypto';
import { isVmproError, VmproError } from '../errors.js';
import type { SessionRecord } from './types.js';

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A new session id: 256 bits from the CSPRNG, base64url (43 characters). */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** True when `value` looks like an id this package issued (saves a store round trip for junk). */
export function isWellFormedSessionId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/**
 * The store key of a session id: its SHA-256, base64url, so a store dump yields no usable
 * cookie. A plain hash (not an HMAC with a secret) so that rotating the secrets does not log
 * everybody out; the id's 256 bits make it irreversible. Not memoised: a cache of it would keep
 * raw session ids — bearer credentials — in memory to save one hash.
 */
export function sessionKey(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

export function keyTag(key: string): string {
  return key.slice(0, 10);
}

function isRecordObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isFiniteNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);
const isNullableString = (value: unknown) => value === null || typeof value === 'string';
const isNullableNumber = (value: unknown) => value === null || isFiniteNumber(value);

/** The record when `value` has the shape of a `SessionRecord` (from a store or a cookie), else `null`. */
export function parseSessionRecord(value: unknown): SessionRecord | null {
  if (!isRecordObject(value)) return null;
  if (value.v !== 1 || typeof value.id !== 'string' || !Number.isInteger(value.version)) return null;
  if (!isFiniteNumber(value.createdAt) || !isFiniteNumber(value.lastSeenAt)) return null;
  if (!isFiniteNumber(value.absoluteExpiresAt) || !isNullableString(value.sid)) return null;
  const user = value.user;
  if (!isRecordObject(user) || typeof user.sub !== 'string') return null;
  const tokens = value.tokens;
  if (!isRecordObject(tokens) || typeof tokens.accessToken !== 'string' || tokens.tokenType !== 'Bearer')
    return null;
  if (!isNullableNumber(tokens.accessTokenExpiresAt) || !isNullableString(tokens.refreshToken)) return null;
  if (!isNullableNumber(tokens.refreshTokenExpiresAt) || !isNullableString(tokens.idToken)) return null;
  if (!isFiniteNumber(tokens.receivedAt)) return null;
  if (tokens.claims !== null && !isRecordObject(tokens.claims)) return null;
  if (!isNullableString(tokens.scope) || !isNullableString(tokens.sessionState)) return null;
  return value as unknown as SessionRecord;
}

/**
 * Second-chance eviction for the in-process record maps (the memory store, Redis's local cache):
 * a read only sets `used` (the map is not reordered on every request); beyond `max` entries the
 * oldest unmarked entry goes, and marked ones move to the young end, unmarked. `keep` (the key
 * just written) is never the one evicted. Returns the evicted keys with their entries.
 */
export function evictBeyond<E extends { used: boolean }>(
  entries: Map<string, E>,
  max: number,
  keep: string,
): Array<[string, E]> {
  const evicted: Array<[string, E]> = [];
  while (entries.size > max) {
    const [oldest, entry] = entries.entries().next().value as [string, E];
    entries.delete(oldest);
    if (entry.used || oldest === keep) {
      entry.used = false;
      entries.set(oldest, entry);
    } else {
      evicted.push([oldest, entry]);
    }
  }
  return evicted;
}

/**
 * A deep-frozen copy of a JSON-safe value: what stores keep, so that what they hand out can be
 * shared by every reader without copying on each read (the hot path of every request).
 */
export function frozenCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Object.isFrozen(value)) return value;
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy)) as T;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = frozenCopy((value as Record<string, unknown>)[key]);
  return Object.freeze(copy) as T;
}

/** The error every store throws when it cannot be reached. */
export function storeUnavailable(what: string, cause?: unknown): VmproError {
  return new VmproError(
    'VMPRO_STORE_UNAVAILABLE',
    `The session store is unavailable (${what}). Sessions are kept; retry in a moment. ` +
      'If this persists, check that the store (e.g. Redis) is running and reachable.',
    { cause, retryable: true, retryAfter: 1 },
  );
}

/** Runs a store call; anything but a `VmproError` becomes `VMPRO_STORE_UNAVAILABLE`. */
export async function storeCall<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isVmproError(error)) throw error;
    throw storeUnavailable(what, error);
  }
}

/** A short description of an error for logs (code and class, never a message that may echo input). */
export function describeError(error: unknown): Record<string, unknown> {
  if (isVmproError(error)) return { code: error.code };
  if (error instanceof Error) return { error: error.name };
  return { error: typeof error };
}
