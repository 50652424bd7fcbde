/**
 * What the shared stores (Redis, PostgreSQL) have in common besides their local cache
 * (`coherent-cache.ts`): the options they both take, records sealed at rest and bound to where
 * they are kept, and leases (locks, claims) that a timed-out attempt cannot leave behind.
 */

import { randomBytes } from 'node:crypto';
import { configError, VmproError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describeError, keyTag, parseSessionRecord } from './record.js';
import { assertSecrets, sealJson, unsealJson } from './seal.js';
import type { SessionRecord, SessionStore } from './types.js';

/**
 * The options both shared stores take, as given by the app (see `RedisStoreOptions`).
 *
 * @example
 * ```ts
 * const given: SharedStoreOptions = { commandTimeoutMs: 1500, heartbeatMs: 1000 }
 * ```
 */
export interface SharedStoreOptions {
  commandTimeoutMs?: number | undefined;
  localCacheMaxEntries?: number | undefined;
  heartbeatMs?: number | undefined;
}

/**
 * Those options checked, with their defaults.
 *
 * @example
 * ```ts
 * const { commandTimeoutMs, maxEntries, heartbeatMs } = sharedStoreSettings(options)
 * ```
 */
export interface SharedStoreSettings {
  /** Default 2 000 ms. */
  commandTimeoutMs: number;
  /** `localCacheMaxEntries`, default 10 000. */
  maxEntries: number;
  /** Default 5 000 ms. */
  heartbeatMs: number;
}

/**
 * Checks `commandTimeoutMs`, `localCacheMaxEntries` and `heartbeatMs` (in that order) and
 * applies their defaults; throws `VMPRO_CONFIG_INVALID` naming the field.
 *
 * @example
 * ```ts
 * sharedStoreSettings({ heartbeatMs: 5 }) // throws: `heartbeatMs` must be at least 10 milliseconds
 * ```
 */
export function sharedStoreSettings(options: SharedStoreOptions): SharedStoreSettings {
  const commandTimeoutMs = options.commandTimeoutMs ?? 2000;
  if (!Number.isFinite(commandTimeoutMs) || commandTimeoutMs <= 0) {
    throw configError('commandTimeoutMs', 'must be a positive number of milliseconds');
  }
  const maxEntries = options.localCacheMaxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw configError('localCacheMaxEntries', 'must be a positive integer');
  }
  const heartbeatMs = options.heartbeatMs ?? 5000;
  if (!Number.isFinite(heartbeatMs) || heartbeatMs < 10) {
    throw configError('heartbeatMs', 'must be at least 10 milliseconds');
  }
  return { commandTimeoutMs, maxEntries, heartbeatMs };
}

/**
 * Seals and opens one store's records (see {@link recordSealer}).
 *
 * @example
 * ```ts
 * const sealed = await sealer.seal(key, record, ttlMs)
 * const again = await sealer.open(key, sealed, record.version)
 * ```
 */
export interface RecordSealer {
  /** Takes the session secrets (the store's `useSecrets`); a second, different set is refused. */
  adopt(secrets: string[]): void;
  /** `record` sealed (JWE, A256GCM) and bound to `boundTo`, for a lifetime of `ttlMs` (+ 1 min). */
  seal(boundTo: string, record: SessionRecord, ttlMs: number): Promise<string>;
  /**
   * The record, or `null` when it cannot be trusted: not a seal, sealed for another place, with
   * unknown secrets, or whose version is not `version` (the one kept in clear beside it).
   */
  open(boundTo: string, sealed: unknown, version: unknown): Promise<SessionRecord | null>;
}

/**
 * The session secrets of one store and what it does with them: records are encrypted at rest
 * under a key derived for `purpose`, and each names the place it is kept (`boundTo`: the key, and
 * whatever else tells stores apart), so a record copied elsewhere does not open there.
 * Without secrets, sealing and opening throw `VMPRO_CONFIG_INVALID` naming `createSessionManager`.
 *
 * @example
 * ```ts
 * const sealer = recordSealer('redisStore', 'redis-session-record', options.secrets)
 * ```
 */
export function recordSealer(
  store: 'redisStore' | 'postgresStore',
  purpose: string,
  initial?: string[],
): RecordSealer {
  let secrets: string[] | undefined;
  const adopt = (next: string[]) => {
    assertSecrets(next);
    if (secrets !== undefined && secrets[0] !== next[0]) {
      throw new VmproError(
        'VMPRO_CONFIG_INVALID',
        `This ${store}() already encrypts with other secrets: give each session manager its own store, or the same secrets.`,
      );
    }
    secrets = [...next];
  };
  if (initial !== undefined) adopt(initial);
  const current = (): string[] => {
    if (secrets === undefined) {
      throw new VmproError(
        'VMPRO_CONFIG_INVALID',
        `${store}() encrypts the tokens it keeps and has no secrets: use it through createSessionManager (which passes its session secrets), or pass { secrets }.`,
      );
    }
    return secrets;
  };
  return {
    adopt,
    seal: (boundTo, record, ttlMs) =>
      sealJson(current(), { key: boundTo, record }, { purpose, maxAgeSec: Math.ceil(ttlMs / 1000) + 60 }),
    async open(boundTo, sealed, version) {
      if (typeof sealed !== 'string') return null;
      const payload = await unsealJson<{ key?: unknown; record?: unknown }>(current(), sealed, { purpose });
      if (payload === null || payload.key !== boundTo) return null;
      const record = parseSessionRecord(payload.record);
      return record !== null && record.version === version ? record : null;
    },
  };
}

/**
 * Logs a record that did not open, and deletes it (a failed delete is logged too: the next read
 * tries again).
 *
 * @example
 * ```ts
 * if (record === null) await discardUnreadable(log, 'Redis', key, () => remove(key))
 * ```
 */
export async function discardUnreadable(
  log: Logger,
  where: string,
  key: string,
  remove: () => Promise<unknown>,
): Promise<void> {
  log.warn(`unreadable session record in ${where} (tampered, or sealed with unknown secrets); deleted`, {
    session: keyTag(key),
  });
  await remove().catch((error: unknown) => {
    log.warn('could not delete an unreadable session record', {
      session: keyTag(key),
      ...describeError(error),
    });
  });
}

/**
 * A random owner token for a lease: only its holder's compare-and-delete removes it.
 *
 * @example
 * ```ts
 * const owner = ownerToken()
 * ```
 */
export const ownerToken = (): string => randomBytes(16).toString('base64url');

/**
 * Takes a lease (a lock, a claim) with an owner token: the token when `take` got it, `null` when
 * someone else holds it. A take given up on (timed out) may still happen when the store answers
 * again, and would then hold the lease for nobody: `undo(owner)` — a compare-and-delete on the
 * owner token, a no-op when the take never ran — is started before the error is rethrown. How
 * the undo makes sure it runs after the late take is the store's business.
 *
 * @example
 * ```ts
 * const owner = await takeLease(
 *   async (owner) => (await command(['SET', key, owner, 'NX', 'PX', '60000'])) !== null,
 *   (owner) => void compareAndDelete(key, owner),
 * )
 * ```
 */
export async function takeLease(
  take: (owner: string) => Promise<boolean>,
  undo: (owner: string) => void,
  owner: string = ownerToken(),
): Promise<string | null> {
  try {
    return (await take(owner)) ? owner : null;
  } catch (error) {
    undo(owner);
    throw error;
  }
}

/**
 * A lifetime as the stores send it: whole milliseconds, at least 1.
 *
 * @example
 * ```ts
 * ttlText(59_999.2) // '60000'
 * ```
 */
export const ttlText = (ttlMs: number): string => String(Math.max(1, Math.ceil(ttlMs)));

/**
 * What {@link recordWrites} builds a store's writes from.
 *
 * @example
 * ```ts
 * const parts: RecordWriteParts = { cache, seal, op, write, remove }
 * ```
 */
export interface RecordWriteParts {
  /** The local cache, `null` when off. */
  cache: { invalidate(key: string): void } | null;
  /** The record as kept at rest (sealed). */
  seal(key: string, record: SessionRecord, ttlMs: number): Promise<string>;
  /** Runs one store operation; a failure becomes `VMPRO_STORE_UNAVAILABLE`. */
  op<T>(what: string, run: () => Promise<T>): Promise<T>;
  /** Writes (compare-and-set on the version when `expectedVersion` is given) and sends the invalidation; false when the CAS failed. */
  write(
    key: string,
    record: SessionRecord,
    sealed: string,
    ttlMs: number,
    expectedVersion?: number,
  ): Promise<boolean>;
  /** Deletes and sends the invalidation. */
  remove(key: string): Promise<unknown>;
}

/**
 * `create`, `update` and `delete` of a shared store: the record is sealed first, outside `op` (a
 * missing secret is a config error, not an outage), and the local copy is dropped before the
 * change (no read here serves the old record meanwhile) and again after it (a read that raced
 * the change is not kept).
 *
 * @example
 * ```ts
 * return { ...recordWrites({ cache, seal, op, write, remove }), get, lock }
 * ```
 */
export function recordWrites(parts: RecordWriteParts): Pick<SessionStore, 'create' | 'update' | 'delete'> {
  const { cache, seal, op, write, remove } = parts;
  const bracketed = async <T>(key: string, change: () => Promise<T>): Promise<T> => {
    cache?.invalidate(key);
    const result = await change();
    cache?.invalidate(key);
    return result;
  };
  return {
    async create(key, record, ttlMs) {
      const sealed = await seal(key, record, ttlMs);
      await op('write', () => bracketed(key, () => write(key, record, sealed, ttlMs)));
    },
    async update(key, record, expectedVersion, ttlMs) {
      const sealed = await seal(key, record, ttlMs);
      return op('write', () => bracketed(key, () => write(key, record, sealed, ttlMs, expectedVersion)));
    },
    delete: (key) => op('delete', () => bracketed(key, () => remove(key))).then(() => undefined),
  };
}
