/**
 * The Redis store: sessions shared by every instance, with a coherent in-process read cache.
 */

import { createHash, randomBytes } from 'node:crypto';
import { configError, VmproError } from '../errors.js';
import { withTimeout } from '../internal/time.js';
import { type Logger, silentLogger } from '../logger.js';
import {
  describeError,
  evictBeyond,
  frozenCopy,
  keyTag,
  parseSessionRecord,
  storeUnavailable,
} from './record.js';
import { assertSecrets, sealJson, unsealJson } from './seal.js';
import type { SessionRecord, SessionStore, StoreLock } from './types.js';

/**
 * The Redis client the store needs, structurally: `ioredis` (5, 6) and `redis` (node-redis
 * 4–6) both fit as they are.
 * - ioredis: `call(command, ...args)`; node-redis: `sendCommand(args)` (connect it first).
 * - `duplicate()` (optional) opens the second connection the local cache listens on; without
 *   it the cache is off and every read goes to Redis.
 *
 * Do not configure the client with a key prefix (ioredis `keyPrefix`, node-redis
 * `keyPrefix`); use the store's `prefix`.
 */
export type RedisClientLike =
  | { call(command: string, ...args: string[]): Promise<unknown>; duplicate?(): unknown }
  | { sendCommand(args: string[]): Promise<unknown>; duplicate?(): unknown };

/** The Redis store; `localCacheActive` says whether reads may currently be served locally. */
export interface RedisSessionStore extends SessionStore {
  readonly kind: 'redis';
  /** True while the invalidation channel is proven to work (reads may skip Redis). */
  readonly localCacheActive: boolean;
}

/** Options of `redisStore`. */
export interface RedisStoreOptions {
  client: RedisClientLike;
  /** Prefix of every key and of the invalidation channel; default `'vmpro:'`. */
  prefix?: string | undefined;
  /** Keep an in-process, invalidated copy of records (default true). */
  localCache?: boolean | undefined;
  /** Records kept in the local cache; default 10 000 (least recently used evicted). */
  localCacheMaxEntries?: number | undefined;
  /** How often the invalidation channel is proven alive; default 5 000 ms. */
  heartbeatMs?: number | undefined;
  /** Each Redis command fails with `VMPRO_STORE_UNAVAILABLE` after this; default 2 000 ms. */
  commandTimeoutMs?: number | undefined;
  /**
   * Secrets that encrypt each record at rest (JWE, A256GCM; the first encrypts, all decrypt).
   * Optional: `createSessionManager` hands the store its own session `secrets`.
   */
  secrets?: string[] | undefined;
  logger?: Logger | undefined;
}

type Command = (args: string[]) => Promise<unknown>;

interface Script {
  source: string;
  /** What EVALSHA needs: the SHA-1 of the source. */
  sha: string;
}

const SEAL_PURPOSE = 'redis-session-record';

const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });

/** GET with the remaining TTL, in one round trip. */
const GET = script(`
local v = redis.call('GET', KEYS[1])
if not v then return false end
return {v, redis.call('PTTL', KEYS[1])}
`);

/**
 * KEYS: record, sub index, [sid index].
 * ARGV: json, ttl ms, hash, channel, invalidation message, [expected version].
 * Writes the record, indexes it (index TTL never shorter than the record's), publishes
 * `w:${version}:${hash}`.
 */
const WRITE = script(`
if ARGV[6] then
  local cur = redis.call('GET', KEYS[1])
  if not cur then return 0 end
  local ok, obj = pcall(cjson.decode, cur)
  if not ok or type(obj) ~= 'table' or obj['version'] ~= tonumber(ARGV[6]) then return 0 end
end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[3])
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`);

/** KEYS: record. ARGV: hash, channel, prefix. Deletes, unindexes, publishes `d:${hash}`. */
const DELETE = script(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, obj = pcall(cjson.decode, cur)
  if ok and type(obj) == 'table' then
    if type(obj['sid']) == 'string' then redis.call('SREM', ARGV[3] .. 'sid:' .. obj['sid'], ARGV[1]) end
    if type(obj['user']) == 'table' and type(obj['user']['sub']) == 'string' then
      redis.call('SREM', ARGV[3] .. 'sub:' .. obj['user']['sub'], ARGV[1])
    end
  end
  redis.call('DEL', KEYS[1])
end
redis.call('PUBLISH', ARGV[2], 'd:' .. ARGV[1])
return 1
`);

/** KEYS: index. ARGV: prefix. Live members; prunes the ones whose record expired. */
const MEMBERS = script(`
local alive = {}
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. 's:' .. m) == 1 then table.insert(alive, m) else redis.call('SREM', KEYS[1], m) end
end
return alive
`);

/** KEYS: lock. ARGV: owner token. Compare-and-delete. */
const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * `SET key <owner> NX PX ttl`: true when this call set it. A SET given up on (timed out) may
 * still run when Redis answers again — a frozen Redis works through its backlog, and ioredis
 * resends unanswered commands after a reconnect — and would then hold the key for `ttlMs` for
 * nobody. A compare-and-delete queued right behind it on the same connection undoes it, and is a
 * no-op when the SET never ran.
 */
export async function setOnce(
  command: Command,
  key: string,
  ttlMs: number,
  owner = randomBytes(16).toString('base64url'),
): Promise<boolean> {
  try {
    const reply = await command(['SET', key, owner, 'NX', 'PX', String(Math.max(1, Math.ceil(ttlMs)))]);
    return reply !== null && reply !== undefined;
  } catch (error) {
    command(['EVAL', RELEASE.source, '1', key, owner]).catch(() => {});
    throw error;
  }
}

/** One function that sends a command through either client. */
export function toRedisCommand(client: RedisClientLike): Command {
  if (typeof client === 'object' && client !== null) {
    if ('call' in client && typeof client.call === 'function') {
      return (args) => client.call(args[0]!, ...args.slice(1));
    }
    if ('sendCommand' in client && typeof client.sendCommand === 'function') {
      return (args) => client.sendCommand(args);
    }
  }
  throw configError(
    'client',
    'must be an ioredis client (with `call`) or a connected node-redis client (with `sendCommand`).',
  );
}

/** `promise`, or a rejection once Redis has not answered within `ms`. */
export const redisTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  withTimeout(promise, ms, () => new Error(`Redis did not answer within ${ms} ms`));

interface Listener {
  on(event: string, listener: (...args: never[]) => void): unknown;
  subscribe(...args: unknown[]): Promise<unknown>;
  connect?(): Promise<unknown>;
  destroy?(): unknown;
  disconnect?(): unknown;
}

function isListener(value: unknown): value is Listener {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.on === 'function' && typeof candidate.subscribe === 'function';
}

/** One read from Redis in flight: what happened to its key meanwhile decides whether it may be cached. */
interface Ticket {
  epoch: number;
  /** The key was deleted (or written with an unknown version) meanwhile. */
  stale: boolean;
  /** The highest version written meanwhile: an older read must not be cached. */
  minVersion: number;
}

/**
 * Keeps the local cache coherent with Redis.
 *
 * Every write and delete of any instance runs in a Lua script that also `PUBLISH`es on
 * `${prefix}inv` (`w:${version}:${hash}` for a write, `d:${hash}` for a delete); each instance
 * listens on a second connection (`duplicate()`) and drops its cached copy unless that copy
 * is already at least the written version (versions only grow: every write is a CAS on
 * version + 1). The cache is used only while the channel is proven to work:
 * a heartbeat publishes a probe through the command connection and waits for it to come back
 * on the listening one. Until the first probe returns, after any disconnect or reconnect of
 * the listener, and when a probe is late, the cache is emptied and bypassed. Reads racing an
 * invalidation are not cached (a ticket per read), so a stale record never outlives the
 * message that invalidates it.
 *
 * This works with both ioredis and node-redis (RESP2 and RESP3), unlike CLIENT TRACKING,
 * whose RESP2 REDIRECT mode needs client ids and per-client plumbing.
 */
class CoherentCache {
  private state: 'down' | 'up' = 'down';
  private epoch = 0;
  /** `used`: read since it last passed the old end (second-chance eviction, no map change per read). */
  private readonly entries = new Map<string, { record: SessionRecord; expiresAt: number; used: boolean }>();
  private readonly tickets = new Map<string, Set<Ticket>>();
  private listener: Listener | null = null;
  private expectedProbe: string | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly nonce = randomBytes(8).toString('base64url');
  private probeSeq = 0;

  constructor(
    private readonly client: RedisClientLike,
    private readonly command: Command,
    private readonly channel: string,
    private readonly maxEntries: number,
    private readonly heartbeatMs: number,
    private readonly log: Logger,
  ) {}

  get isUp(): boolean {
    return this.state === 'up';
  }

  start(): void {
    const duplicate = this.client.duplicate;
    if (typeof duplicate !== 'function') {
      this.log.warn('the Redis client has no duplicate(): the local session cache is off');
      return;
    }
    let listener: unknown;
    try {
      listener = duplicate.call(this.client);
    } catch (error) {
      this.log.warn(
        'could not open the invalidation connection: the local session cache is off',
        describeError(error),
      );
      return;
    }
    if (!isListener(listener)) {
      this.log.warn('the Redis client’s duplicate() cannot subscribe: the local session cache is off');
      return;
    }
    this.listener = listener;
    const ioredisStyle = 'call' in this.client;
    listener.on('error', (error: never) => {
      this.log.debug('invalidation connection error', describeError(error));
    });
    for (const event of ['close', 'end', 'reconnecting']) listener.on(event, () => this.markDown(event));
    let subscribed = false;
    listener.on('ready', () => {
      if (!subscribed) return;
      // After a reconnect. node-redis has resubscribed before 'ready'; ioredis may not have yet
      // (or is configured not to), and subscribing again is harmless. The probe proves it.
      if (ioredisStyle)
        listener.subscribe(this.channel).then(
          () => this.probe(),
          () => {},
        );
      else void this.probe();
    });
    if (ioredisStyle) {
      listener.on('message', (channel: never, message: never) => this.onMessage(channel, message));
    }
    void (async () => {
      try {
        if (!ioredisStyle && typeof listener.connect === 'function') await listener.connect();
        if (ioredisStyle) await listener.subscribe(this.channel);
        else
          await listener.subscribe(this.channel, (message: string, channel: string) =>
            this.onMessage(channel, message),
          );
        subscribed = true;
        await this.probe();
      } catch (error) {
        if (!this.closed) {
          this.log.warn(
            'could not subscribe to session invalidations yet; reads bypass the local cache',
            describeError(error),
          );
        }
      }
    })();
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    this.heartbeat = setTimeout(
      () => {
        void this.probe().finally(() => this.schedule());
      },
      this.state === 'up' ? this.heartbeatMs : Math.min(1000, this.heartbeatMs),
    );
    this.heartbeat.unref();
  }

  private async probe(): Promise<void> {
    if (this.closed || this.listener === null || this.expectedProbe !== null) return;
    const token = `probe:${this.nonce}:${++this.probeSeq}`;
    this.expectedProbe = token;
    this.probeTimer = setTimeout(() => {
      if (this.expectedProbe === token) {
        this.expectedProbe = null;
        this.markDown('heartbeat lost');
      }
    }, 2000);
    this.probeTimer.unref();
    try {
      await this.command(['PUBLISH', this.channel, token]);
    } catch {
      if (this.expectedProbe === token) {
        this.expectedProbe = null;
        if (this.probeTimer) clearTimeout(this.probeTimer);
      }
      this.markDown('heartbeat not sent');
    }
  }

  private onMessage(channel: string, message: string): void {
    if (channel !== this.channel || typeof message !== 'string') return;
    if (message.startsWith('probe:')) {
      if (message === this.expectedProbe) {
        this.expectedProbe = null;
        if (this.probeTimer) clearTimeout(this.probeTimer);
        this.markUp();
      }
      return;
    }
    if (message.startsWith('d:')) {
      this.invalidate(message.slice(2));
      return;
    }
    if (message.startsWith('w:')) {
      const colon = message.indexOf(':', 2);
      const version = Number(message.slice(2, colon));
      if (colon > 2 && Number.isInteger(version)) this.invalidate(message.slice(colon + 1), version);
    }
  }

  private markUp(): void {
    if (this.state === 'up' || this.closed) return;
    this.state = 'up';
    this.epoch++;
    this.log.debug('session invalidation channel up: local cache on');
  }

  private markDown(reason: string): void {
    if (this.state === 'up' && !this.closed) {
      this.log.warn('session invalidation channel lost: local cache off until it is back', { reason });
    }
    this.state = 'down';
    this.epoch++;
    this.entries.clear();
  }

  /** `version`: the key was written with this version; without it, deleted (or unknown). */
  invalidate(key: string, version?: number): void {
    const entry = this.entries.get(key);
    if (entry !== undefined && (version === undefined || entry.record.version < version))
      this.entries.delete(key);
    for (const ticket of this.tickets.get(key) ?? []) {
      if (version === undefined) ticket.stale = true;
      else ticket.minVersion = Math.max(ticket.minVersion, version);
    }
  }

  /** The cached record (deep-frozen, shared), if the cache is usable and holds a live one. */
  read(key: string): SessionRecord | undefined {
    if (this.state !== 'up') return undefined;
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    entry.used = true;
    return entry.record;
  }

  /** Call before reading from Redis; pass to `fill` afterwards. */
  ticket(key: string): Ticket | null {
    if (this.state !== 'up') return null;
    const ticket = { epoch: this.epoch, stale: false, minVersion: 0 };
    let set = this.tickets.get(key);
    if (set === undefined) {
      set = new Set();
      this.tickets.set(key, set);
    }
    set.add(ticket);
    return ticket;
  }

  /** After the read: caches a copy of `record` unless its key changed meanwhile. */
  done(key: string, ticket: Ticket | null, record: SessionRecord | null, ttlMs: number): void {
    if (ticket === null) return;
    const set = this.tickets.get(key);
    set?.delete(ticket);
    if (set?.size === 0) this.tickets.delete(key);
    if (record === null || ticket.stale || record.version < ticket.minVersion || ticket.epoch !== this.epoch)
      return;
    if (this.state !== 'up' || ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { record: frozenCopy(record), expiresAt: Date.now() + ttlMs, used: false });
    evictBeyond(this.entries, this.maxEntries, key);
  }

  close(): void {
    this.closed = true;
    this.markDown('closed');
    if (this.heartbeat) clearTimeout(this.heartbeat);
    if (this.probeTimer) clearTimeout(this.probeTimer);
    const listener = this.listener;
    this.listener = null;
    try {
      if (typeof listener?.destroy === 'function') listener.destroy();
      else if (typeof listener?.disconnect === 'function') listener.disconnect();
    } catch {
      // Closing anyway.
    }
  }
}

/**
 * Sessions in Redis, shared by every instance of the app; back-channel logout and logout on one
 * instance take effect on all at once.
 *
 * Keys: `${prefix}s:${hash}` (the record as JSON, expiring with the session),
 * `${prefix}sid:${sid}` and `${prefix}sub:${sub}` (sets of hashes for back-channel logout),
 * `${prefix}lock:${hash}` (the refresh lock: `SET NX PX` with an owner token, released by a
 * compare-and-delete script). Writes are compare-and-set on the record's version in a Lua
 * script. Single Redis or Sentinel; not Redis Cluster (the scripts touch several keys).
 *
 * Reads are served from a local cache kept coherent through a Pub/Sub channel (see
 * `CoherentCache` above): most authenticated requests need no round trip, yet a logout on one
 * instance is seen by the next request on every other instance. `get(key, { fresh: true })`
 * always asks Redis.
 *
 * Every command fails after `commandTimeoutMs` with `VMPRO_STORE_UNAVAILABLE` (the app answers
 * 503; nobody is logged out). `close()` closes the store's own listening connection, not your
 * client.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * const store = redisStore({ client: new Redis(process.env.REDIS_URL!) })
 * // or: import { createClient } from 'redis'
 * const store2 = redisStore({ client: await createClient({ url: process.env.REDIS_URL }).connect() })
 * ```
 */
export function redisStore(options: RedisStoreOptions): RedisSessionStore {
  if (typeof options !== 'object' || options === null) {
    throw new VmproError('VMPRO_CONFIG_INVALID', 'redisStore() needs { client }.');
  }
  const rawCommand = toRedisCommand(options.client);
  const prefix = options.prefix ?? 'vmpro:';
  if (typeof prefix !== 'string') throw configError('prefix', 'must be a string.');
  const timeoutMs = options.commandTimeoutMs ?? 2000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw configError('commandTimeoutMs', 'must be a positive number of milliseconds.');
  }
  const maxEntries = options.localCacheMaxEntries ?? 10_000;
  const heartbeatMs = options.heartbeatMs ?? 5000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1 || !Number.isFinite(heartbeatMs) || heartbeatMs < 10) {
    throw configError('localCacheMaxEntries', 'must be a positive integer and `heartbeatMs` at least 10.');
  }
  const log = options.logger ?? silentLogger;
  const channel = `${prefix}inv`;
  const command: Command = (args) => redisTimeout(rawCommand(args), timeoutMs);

  const runScript = async (s: Script, keys: string[], args: string[]): Promise<unknown> => {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await command(['EVALSHA', s.sha, ...tail]);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    }
    // Not in Redis's script cache yet (or flushed): EVAL runs it and caches it.
    return command(['EVAL', s.source, ...tail]);
  };

  /** Runs one operation; every failure is an outage (`VMPRO_STORE_UNAVAILABLE`). */
  const op = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw storeUnavailable(`Redis ${what}`, error);
    }
  };

  const cache =
    options.localCache === false
      ? null
      : new CoherentCache(options.client, command, channel, maxEntries, heartbeatMs, log);
  cache?.start();

  const recordKey = (key: string) => `${prefix}s:${key}`;
  const indexKeys = (record: SessionRecord) => {
    const keys = [`${prefix}sub:${record.user.sub}`];
    if (record.sid) keys.push(`${prefix}sid:${record.sid}`);
    return keys;
  };

  const remove = (key: string) => runScript(DELETE, [recordKey(key)], [key, channel, prefix]);

  // ---- records at rest: an envelope with what the scripts need in clear, the rest sealed ---------

  let secrets: string[] | undefined;
  const useSecrets = (next: string[]) => {
    assertSecrets(next);
    if (secrets !== undefined && secrets[0] !== next[0]) {
      throw new VmproError(
        'VMPRO_CONFIG_INVALID',
        'This redisStore() already encrypts with other secrets: give each session manager its own store, or the same secrets.',
      );
    }
    secrets = [...next];
  };
  if (options.secrets !== undefined) useSecrets(options.secrets);
  const sealingSecrets = (): string[] => {
    if (secrets === undefined) {
      throw new VmproError(
        'VMPRO_CONFIG_INVALID',
        'redisStore() encrypts the tokens it keeps and has no secrets: use it through createSessionManager (which passes its session secrets), or pass { secrets }.',
      );
    }
    return secrets;
  };

  /**
   * In Redis: `{ v, version, sid, user: { sub }, sealed }`. The Lua scripts read the version (for
   * compare-and-set) and the sid/sub (for the logout indexes); the tokens and claims are only in
   * `sealed`, which also names the key, so a record copied to another key does not open there.
   */
  const seal = async (key: string, record: SessionRecord, ttlMs: number): Promise<string> => {
    const sealed = await sealJson(
      sealingSecrets(),
      { key, record },
      { purpose: SEAL_PURPOSE, maxAgeSec: Math.ceil(ttlMs / 1000) + 60 },
    );
    return JSON.stringify({
      v: 1,
      version: record.version,
      sid: record.sid,
      user: { sub: record.user.sub },
      sealed,
    });
  };

  /** The record, or `null` when it cannot be read: not sealed, sealed for another key or with unknown secrets. */
  const open = async (key: string, json: string): Promise<SessionRecord | null> => {
    let envelope: { version?: unknown; sealed?: unknown };
    try {
      envelope = JSON.parse(json) as typeof envelope;
    } catch {
      return null;
    }
    if (typeof envelope?.sealed !== 'string') return null;
    const payload = await unsealJson<{ key?: unknown; record?: unknown }>(sealingSecrets(), envelope.sealed, {
      purpose: SEAL_PURPOSE,
    });
    if (payload === null || payload.key !== key) return null;
    const record = parseSessionRecord(payload.record);
    return record !== null && record.version === envelope.version ? record : null;
  };

  /** Writes a sealed record (seal it first, outside `op`: a missing secret is a config error, not an outage). */
  const write = async (
    key: string,
    record: SessionRecord,
    sealed: string,
    ttlMs: number,
    expectedVersion?: number,
  ) => {
    cache?.invalidate(key);
    const args = [sealed, String(Math.max(1, Math.ceil(ttlMs))), key, channel, `w:${record.version}:${key}`];
    if (expectedVersion !== undefined) args.push(String(expectedVersion));
    const written = await runScript(WRITE, [recordKey(key), ...indexKeys(record)], args);
    cache?.invalidate(key);
    return Number(written) === 1;
  };

  return {
    kind: 'redis',
    get localCacheActive() {
      return cache?.isUp ?? false;
    },
    async get(key, getOptions) {
      if (cache !== null && getOptions?.fresh !== true) {
        const cached = cache.read(key);
        if (cached !== undefined) return cached;
      }
      const ticket = cache?.ticket(key) ?? null;
      let reply: unknown;
      try {
        reply = await op('read', () => runScript(GET, [recordKey(key)], []));
      } catch (error) {
        cache?.done(key, ticket, null, 0);
        throw error;
      }
      if (!Array.isArray(reply) || reply.length !== 2) {
        cache?.done(key, ticket, null, 0);
        return null;
      }
      const record = await open(key, String(reply[0]));
      cache?.done(key, ticket, record, Number(reply[1]));
      if (record === null) {
        log.warn('unreadable session record in Redis; deleted', { session: keyTag(key) });
        await remove(key).catch((error: unknown) => {
          log.warn('could not delete an unreadable session record', {
            session: keyTag(key),
            ...describeError(error),
          });
        });
      }
      return record;
    },
    async create(key, record, ttlMs) {
      const sealed = await seal(key, record, ttlMs);
      await op('write', () => write(key, record, sealed, ttlMs));
    },
    async update(key, record, expectedVersion, ttlMs) {
      const sealed = await seal(key, record, ttlMs);
      return op('write', () => write(key, record, sealed, ttlMs, expectedVersion));
    },
    async delete(key) {
      cache?.invalidate(key);
      await op('delete', () => remove(key));
      cache?.invalidate(key);
    },
    async keysBySid(sid) {
      const reply = await op('index read', () => runScript(MEMBERS, [`${prefix}sid:${sid}`], [prefix]));
      return Array.isArray(reply) ? reply.map(String) : [];
    },
    async keysBySub(sub) {
      const reply = await op('index read', () => runScript(MEMBERS, [`${prefix}sub:${sub}`], [prefix]));
      return Array.isArray(reply) ? reply.map(String) : [];
    },
    async lock(key, ttlMs): Promise<StoreLock | null> {
      const lockKey = `${prefix}lock:${key}`;
      const owner = randomBytes(16).toString('base64url');
      if (!(await op('lock', () => setOnce(command, lockKey, ttlMs, owner)))) return null;
      return {
        async release() {
          await op('unlock', () => runScript(RELEASE, [lockKey], [owner]));
        },
      };
    },
    claim: (name, ttlMs) => op('claim', () => setOnce(command, `${prefix}claim:${name}`, ttlMs)),
    useSecrets,
    async close() {
      cache?.close();
    },
  };
}
