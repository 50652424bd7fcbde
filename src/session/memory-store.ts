/** The default store: a bounded in-process map. One process only. */
import { VmproError } from '../errors.js';
import { evictBeyond, frozenCopy } from './record.js';
import type { SessionRecord, SessionStore, StoreLock } from './types.js';

const MAX_CLAIMS = 100_000;

interface Entry {
  record: SessionRecord;
  expiresAt: number;
  /** Read since it was last moved to the young end (second-chance eviction). */
  used: boolean;
}

/** Options of `memoryStore`. */
export interface MemoryStoreOptions {
  /** Default 10 000; beyond it a least recently used session is evicted (that user logs in again). */
  maxEntries?: number | undefined;
  /** How often expired sessions and locks are swept; default 60 000 ms (the timer does not keep the process alive). */
  sweepIntervalMs?: number | undefined;
  now?: () => number;
}

function addToIndex(index: Map<string, Set<string>>, name: string | null | undefined, key: string): void {
  if (!name) return;
  let keys = index.get(name);
  if (keys === undefined) {
    keys = new Set();
    index.set(name, keys);
  }
  keys.add(key);
}

function removeFromIndex(
  index: Map<string, Set<string>>,
  name: string | null | undefined,
  key: string,
): void {
  if (!name) return;
  const keys = index.get(name);
  if (keys === undefined) return;
  keys.delete(key);
  if (keys.size === 0) index.delete(name);
}

function positiveInteger(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new VmproError(
      'VMPRO_CONFIG_INVALID',
      `\`${field}\` must be a positive integer (got ${String(value)}).`,
    );
  }
  return value;
}

/**
 * Sessions in this process's memory: bounded (least recently used evicted), expired entries
 * swept on an unref'd timer, records stored as deep copies (in and out). Same compare-and-set and lock
 * semantics as the Redis store, so the refresher behaves identically — but sessions are lost on
 * restart and not shared between processes: use `redisStore` for several instances.
 *
 * @example
 * ```ts
 * const sessions = createSessionManager({ store: memoryStore({ maxEntries: 50_000 }), secrets, secure, refresh })
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): SessionStore {
  const maxEntries = positiveInteger(options.maxEntries, 10_000, 'maxEntries');
  const sweepIntervalMs = positiveInteger(options.sweepIntervalMs, 60_000, 'sweepIntervalMs');
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const bySid = new Map<string, Set<string>>();
  const bySub = new Map<string, Set<string>>();
  const locks = new Map<string, { owner: object; expiresAt: number }>();
  /** Used login transactions → until when they stay recorded. */
  const claims = new Map<string, number>();

  const remove = (key: string): void => {
    const entry = entries.get(key);
    if (entry === undefined) return;
    entries.delete(key);
    removeFromIndex(bySid, entry.record.sid, key);
    removeFromIndex(bySub, entry.record.user.sub, key);
  };

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now()) {
      remove(key);
      return undefined;
    }
    // Approximately least recently used: a read only marks the entry (no map change per read);
    // eviction gives marked entries a second chance.
    entry.used = true;
    return entry;
  };

  const put = (key: string, record: SessionRecord, ttlMs: number): void => {
    remove(key);
    const copy = frozenCopy(record);
    entries.set(key, { record: copy, expiresAt: now() + ttlMs, used: false });
    addToIndex(bySid, copy.sid, key);
    addToIndex(bySub, copy.user.sub, key);
    for (const [oldest, entry] of evictBeyond(entries, maxEntries, key)) {
      removeFromIndex(bySid, entry.record.sid, oldest);
      removeFromIndex(bySub, entry.record.user.sub, oldest);
    }
  };

  const liveKeys = (keys: Set<string> | undefined): string[] =>
    keys === undefined ? [] : [...keys].filter((key) => live(key) !== undefined);

  const sweep = (): void => {
    const t = now();
    for (const [key, entry] of entries) if (entry.expiresAt <= t) remove(key);
    for (const [key, lock] of locks) if (lock.expiresAt <= t) locks.delete(key);
    for (const [name, until] of claims) if (until <= t) claims.delete(name);
  };
  const timer = setInterval(sweep, sweepIntervalMs);
  timer.unref();

  return {
    kind: 'memory',
    async get(key) {
      const entry = live(key);
      // Frozen at write: shared by every reader, never copied per read.
      return entry === undefined ? null : entry.record;
    },
    async create(key, record, ttlMs) {
      put(key, record, ttlMs);
    },
    async update(key, record, expectedVersion, ttlMs) {
      const entry = live(key);
      if (entry === undefined || entry.record.version !== expectedVersion) return false;
      put(key, record, ttlMs);
      return true;
    },
    async delete(key) {
      remove(key);
    },
    async keysBySid(sid) {
      return liveKeys(bySid.get(sid));
    },
    async keysBySub(sub) {
      return liveKeys(bySub.get(sub));
    },
    async lock(key, ttlMs): Promise<StoreLock | null> {
      const held = locks.get(key);
      if (held !== undefined && held.expiresAt > now()) return null;
      const owner = {};
      locks.set(key, { owner, expiresAt: now() + ttlMs });
      return {
        async release() {
          if (locks.get(key)?.owner === owner) locks.delete(key);
        },
      };
    },
    async claim(name, ttlMs) {
      const until = claims.get(name);
      if (until !== undefined && until > now()) return false;
      claims.delete(name);
      claims.set(name, now() + ttlMs);
      // Bounded like the sessions; a forgotten claim only matters for a transaction whose code the
      // login server has already taken (codes are single-use there too).
      if (claims.size > MAX_CLAIMS) claims.delete(claims.keys().next().value as string);
      return true;
    },
    async close() {
      clearInterval(timer);
    },
  };
}
