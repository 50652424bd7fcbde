/**
 * Logouts for the cookie store. A cookie session lives in the browser, so a logout cannot delete
 * it: every instance instead remembers "this session has ended" (a logout in the app) or
 * "sessions of this `sid` (or `sub`) created before this time have ended" (a back-channel logout),
 * and refuses such cookies, copies included. The list is either
 * this process's own (`memoryLogoutList`, the default) or shared by every instance through Redis
 * (`redisLogoutList`).
 */
import { createHash } from 'node:crypto';
import { configError, VmproError } from '../errors.js';
import { asLogger, type Logger } from '../logger.js';
import { describeError, storeUnavailable } from './record.js';
import { type RedisClientLike, redisTimeout, setOnce, toRedisCommand } from './redis-store.js';

/** Where the cookie store remembers back-channel logouts. */
export interface LogoutList {
  readonly kind: 'memory' | 'redis';
  /**
   * Remembers that the sessions of `name` (`session:…`, `sid:…` or `sub:…`) created at or before `at` (epoch
   * ms) have ended, for `ttlMs` (the absolute session timeout: no older session can exist).
   * Throws `VMPRO_STORE_UNAVAILABLE` when it could not be recorded.
   */
  add(name: string, at: number, ttlMs: number): Promise<void>;
  /**
   * When `name` was last logged out (epoch ms), from this process's copy: no I/O. Throws
   * `VMPRO_STORE_UNAVAILABLE` when that copy may be missing recent logouts (Redis unreachable
   * for longer than `maxStalenessMs`): a cookie is then neither accepted nor cleared.
   */
  endedAt(name: string): number | undefined;
  /**
   * Optional: records that the login transaction `name` was used, for `ttlMs`; `true` the first
   * time, `false` after (every instance, with Redis). Throws `VMPRO_STORE_UNAVAILABLE` when it
   * cannot tell. Without it a transaction is single-use within each process only.
   */
  claim?(name: string, ttlMs: number): Promise<boolean>;
  /** Resolves once the copy has been read (`undefined` when it has): call before `endedAt`. */
  ready?(): Promise<void> | undefined;
  close?(): Promise<void>;
}

const isLogoutList = (value: unknown): value is LogoutList =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as LogoutList).add === 'function' &&
  typeof (value as LogoutList).endedAt === 'function';

/** Checks a `logouts` option; `undefined` stays `undefined`. */
export function assertLogoutList(value: unknown): LogoutList | undefined {
  if (value === undefined || isLogoutList(value)) return value;
  throw configError('logouts', 'must be memoryLogoutList() or redisLogoutList({ client }).');
}

/** Remembers `name` → `at` in `entries`, keeping the later time and at most `max` entries. */
function remember(entries: Map<string, number>, name: string, at: number, max: number): void {
  const previous = entries.get(name);
  if (previous !== undefined && previous >= at) return;
  entries.delete(name);
  entries.set(name, at);
  // Oldest insertions first; a logout older than the absolute timeout can no longer match.
  for (const oldest of entries.keys()) {
    if (entries.size <= max) break;
    entries.delete(oldest);
  }
}

/** Options of `memoryLogoutList`. */
export interface MemoryLogoutListOptions {
  /**
   * Logouts remembered at most; default 10 000 (the oldest are forgotten first, and a copy of a
   * cookie they ended is accepted again until its absolute timeout).
   */
  maxEntries?: number | undefined;
}

/**
 * This process's own list: a back-channel logout is enforced by the instance that received it
 * only. The default of the cookie store; for several instances use `redisLogoutList`.
 */
export function memoryLogoutList(options: MemoryLogoutListOptions = {}): LogoutList {
  const max = options.maxEntries ?? 10_000;
  if (!Number.isInteger(max) || max < 1) {
    throw configError('maxEntries', 'must be a positive integer.');
  }
  const entries = new Map<string, { at: number; until: number }>();
  return {
    kind: 'memory',
    async add(name, at, ttlMs) {
      const previous = entries.get(name);
      entries.delete(name);
      entries.set(name, {
        at: Math.max(at, previous?.at ?? at),
        until: Math.max(Date.now() + ttlMs, previous?.until ?? 0),
      });
      // Oldest insertions first; past its ttl a logout can no longer match any session.
      for (const oldest of entries.keys()) {
        if (entries.size <= max) break;
        entries.delete(oldest);
      }
    },
    endedAt(name) {
      const entry = entries.get(name);
      if (entry === undefined) return undefined;
      if (entry.until > Date.now()) return entry.at;
      entries.delete(name);
      return undefined;
    },
  };
}

/** Options of `redisLogoutList`. */
export interface RedisLogoutListOptions {
  /**
   * ioredis or node-redis, single or cluster, as for `redisStore` (no key prefix configured on
   * the client).
   */
  client: RedisClientLike;
  /** Key prefix; default `'vmpro:'` (the list is the sorted set `<prefix>logouts`). */
  prefix?: string | undefined;
  /** How often each instance reads new logouts; default 1 000 ms (a logout takes effect everywhere within this). */
  pollMs?: number | undefined;
  /**
   * How old this instance's copy may get while Redis is unreachable before cookie sessions are
   * answered with 503 instead of being trusted; default 10 × `pollMs`, at least 5 000 ms.
   */
  maxStalenessMs?: number | undefined;
  /** Each Redis command fails after this; default 2 000 ms. */
  commandTimeoutMs?: number | undefined;
  logger?: Logger | undefined;
}

/**
 * How far back each poll reads again, for instances whose clocks run a little behind (a logout
 * stamped more than this before the newest one seen is only picked up by new instances).
 */
const OVERLAP_MS = 5 * 60_000;
const MAX_READ = 10_000;

/**
 * Records the logout (member: a hash of the name, score: its time), keeping the later time, and
 * drops logouts older than the session lifetime. KEYS: the set. ARGV: at, member, cutoff, ttl.
 */
const ADD = `
local old = redis.call('ZSCORE', KEYS[1], ARGV[2])
if (not old) or tonumber(old) < tonumber(ARGV[1]) then redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local ttl = tonumber(ARGV[4])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;

/**
 * The pairs of a `WITHSCORES` reply: flat (`[m1, s1, m2, s2]`, RESP2) or nested
 * (`[[m1, s1], …]`, RESP3 clients).
 */
function scoredMembers(reply: unknown[]): Array<[unknown, unknown]> {
  if (reply.every((item) => Array.isArray(item) && item.length === 2))
    return reply as Array<[unknown, unknown]>;
  const pairs: Array<[unknown, unknown]> = [];
  for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([reply[i], reply[i + 1]]);
  return pairs;
}

/** Names are stored hashed: the set holds no session or user ids in clear. */
const hashName = (name: string): string => createHash('sha256').update(name).digest('base64url').slice(0, 32);

/**
 * Back-channel logouts shared by every instance through Redis, for the cookie store. Each
 * instance keeps a copy in memory (so checking a cookie needs no round trip) and reads new
 * logouts every `pollMs`; a logout received by one instance is enforced by all of them within
 * that time (at once by the one that received it). While Redis cannot be read for longer than
 * `maxStalenessMs`, cookie sessions get 503 (never a logout, never a cleared cookie).
 *
 * On a Redis Cluster (an ioredis `Cluster` or node-redis `createCluster` client) it works as it
 * is: every command touches one key — the sorted set `<prefix>logouts` (one slot, read once per
 * `pollMs` by each instance) or one transaction marker `<prefix>claim:<hash>` — and the client
 * routes it. A node that is down makes cookie sessions answer 503 after `maxStalenessMs`, never
 * a logout.
 *
 * `close()` stops the polling (the session manager's `close()` calls it); it does not close
 * your client.
 *
 * @example
 * ```ts
 * import { Cluster, Redis } from 'ioredis'
 * const sessions = cookieStore({ logouts: redisLogoutList({ client: new Redis(process.env.REDIS_URL!) }) })
 * const onCluster = cookieStore({ logouts: redisLogoutList({ client: new Cluster([{ host: 'redis-1', port: 6379 }]) }) })
 * ```
 */
export function redisLogoutList(options: RedisLogoutListOptions): LogoutList {
  if (typeof options !== 'object' || options === null) {
    throw new VmproError('VMPRO_CONFIG_INVALID', 'redisLogoutList() needs { client }.');
  }
  const { command: raw } = toRedisCommand(options.client);
  const prefix = options.prefix ?? 'vmpro:';
  const pollMs = options.pollMs ?? 1000;
  const timeoutMs = options.commandTimeoutMs ?? 2000;
  const maxStalenessMs = options.maxStalenessMs ?? Math.max(5000, 10 * pollMs);
  if (typeof prefix !== 'string') throw configError('prefix', 'must be a string.');
  for (const [name, value, min] of [
    ['pollMs', pollMs, 10],
    ['commandTimeoutMs', timeoutMs, 1],
    ['maxStalenessMs', maxStalenessMs, pollMs],
  ] as const) {
    if (!Number.isFinite(value) || value < min) {
      throw new VmproError('VMPRO_CONFIG_INVALID', `\`${name}\` must be a number of milliseconds ≥ ${min}.`);
    }
  }
  const log = asLogger(options.logger);
  const key = `${prefix}logouts`;
  /** `route`: the key the command touches, for a cluster client to route by. */
  const command = (args: string[], route?: string) => redisTimeout(raw(args, route), timeoutMs);
  const times = new Map<string, number>();
  /** When the copy was last known complete (start of the last successful read); 0: never. */
  let freshAt = 0;
  /** The newest logout time read so far; the next poll reads from OVERLAP_MS before it. */
  let newest = 0;
  let failing = false;

  const read = async (): Promise<void> => {
    const started = Date.now();
    const from = freshAt === 0 ? '-inf' : String(newest - OVERLAP_MS);
    // Newest first, so that a list longer than MAX_READ loses its oldest logouts, not its newest.
    const reply = await command(
      ['ZREVRANGEBYSCORE', key, '+inf', from, 'WITHSCORES', 'LIMIT', '0', String(MAX_READ)],
      key,
    );
    if (!Array.isArray(reply)) throw new Error('unexpected reply to ZREVRANGEBYSCORE');
    // Remembered oldest first: the local copy forgets its oldest insertions when full.
    for (const [member, score] of scoredMembers(reply).reverse()) {
      const at = Number(score);
      if (!Number.isFinite(at)) continue;
      remember(times, String(member), at, MAX_READ);
      if (at > newest) newest = at;
    }
    freshAt = started;
    if (failing) log.info('back-channel logouts readable from Redis again');
    failing = false;
  };

  let running: Promise<void> | undefined;
  const poll = (): Promise<void> => {
    running ??= read()
      .catch((error: unknown) => {
        if (!failing) {
          log.warn('could not read back-channel logouts from Redis; cookie sessions get 503 if this lasts', {
            ...describeError(error),
            maxStalenessMs,
          });
        }
        failing = true;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  void poll();
  const timer = setInterval(() => {
    void poll();
  }, pollMs);
  timer.unref();

  return {
    kind: 'redis',
    async add(name, at, ttlMs) {
      const member = hashName(name);
      try {
        await command(
          [
            'EVAL',
            ADD,
            '1',
            key,
            String(Math.floor(at)),
            member,
            String(Math.floor(at - ttlMs)),
            String(Math.ceil(ttlMs)),
          ],
          key,
        );
      } catch (error) {
        throw storeUnavailable('write', error);
      }
      remember(times, member, at, MAX_READ);
    },
    async claim(name, ttlMs) {
      try {
        return await setOnce(command, `${prefix}claim:${hashName(name)}`, ttlMs);
      } catch (error) {
        throw storeUnavailable('write', error);
      }
    },
    endedAt(name) {
      if (Date.now() - freshAt > maxStalenessMs) {
        throw storeUnavailable(
          'read',
          new Error(
            freshAt === 0
              ? 'the back-channel logouts have not been read from Redis yet'
              : `the back-channel logouts were last read from Redis ${((Date.now() - freshAt) / 1000).toFixed(1)} s ago (allowed: ${maxStalenessMs} ms)`,
          ),
        );
      }
      return times.get(hashName(name));
    },
    ready() {
      // The first read (started at creation) is awaited once: a new instance does not answer
      // 503 for its first milliseconds, nor trust cookies before it has the list.
      return freshAt === 0 ? poll() : undefined;
    },
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
