/**
 * The Redis store: sessions shared by every instance, with a coherent in-process read cache.
 */

import { createHash } from 'node:crypto';
import { configError, isVmproError, VmproError } from '../errors.js';
import { withTimeout } from '../internal/time.js';
import { type Logger, silentLogger } from '../logger.js';
import {
  CoherentCache,
  type InvalidationChannels,
  type InvalidationSink,
  type InvalidationTransport,
  readThrough,
  writtenMessage,
} from './coherent-cache.js';
import { describeError, keyTag, storeUnavailable } from './record.js';
import {
  discardUnreadable,
  ownerToken,
  type RecordWriteParts,
  recordSealer,
  recordWrites,
  sharedStoreSettings,
  takeLease,
  ttlText,
} from './store-kit.js';
import type { SessionRecord, SessionStore, StoreLock } from './types.js';

/**
 * The Redis client the store needs, structurally: `ioredis` (5, 6) and `redis` (node-redis
 * 4–6) both fit as they are, on a single Redis, Sentinel, or Redis Cluster.
 * - ioredis: `call(command, ...args)` — a `Redis` or a `Cluster` (recognised by `isCluster`);
 * - node-redis: `sendCommand(args)` (a connected `createClient()`), or a connected
 *   `createCluster()`, recognised by `getMasters()`, whose `sendCommand(firstKey, isReadonly, args)`
 *   is given each command's key so that the cluster routes it.
 * - `duplicate()` (optional) opens the connection the local cache listens on; without it the
 *   cache is off and every read goes to Redis.
 *
 * Do not configure the client with a key prefix (ioredis `keyPrefix`, node-redis
 * `keyPrefix`); use the store's `prefix`.
 *
 * @example
 * ```ts
 * import { Cluster, Redis } from 'ioredis'
 * import { createCluster } from 'redis'
 * const single: RedisClientLike = new Redis(process.env.REDIS_URL!)
 * const cluster: RedisClientLike = new Cluster([{ host: 'redis-1', port: 6379 }])
 * const nodeRedis: RedisClientLike = await createCluster({ rootNodes: [{ url: 'redis://redis-1:6379' }] }).connect()
 * ```
 */
export type RedisClientLike =
  | { call(command: string, ...args: string[]): Promise<unknown>; duplicate?(): unknown }
  | { sendCommand(args: string[]): Promise<unknown>; duplicate?(): unknown }
  | {
      sendCommand(
        firstKey: string | undefined,
        isReadonly: boolean | undefined,
        args: string[],
      ): Promise<unknown>;
      getMasters(): unknown;
      duplicate?(): unknown;
    };

/** The Redis store; `localCacheActive` says whether reads may currently be served locally. */
export interface RedisSessionStore extends SessionStore {
  readonly kind: 'redis';
  /** True while the invalidation channels are proven to work (reads may skip Redis). */
  readonly localCacheActive: boolean;
  /** True when the client is a cluster client (ioredis `Cluster`, node-redis `createCluster`). */
  readonly cluster: boolean;
}

/** Options of `redisStore`. */
export interface RedisStoreOptions {
  client: RedisClientLike;
  /**
   * Prefix of every key and channel; default `'vmpro:'`. No `{` or `}`: the store sets the hash
   * tags itself (see `redisKeyLayout`).
   */
  prefix?: string | undefined;
  /** Keep an in-process, invalidated copy of records (default true). */
  localCache?: boolean | undefined;
  /** Records kept in the local cache; default 10 000 (least recently used evicted). */
  localCacheMaxEntries?: number | undefined;
  /** How often the invalidation channels are proven alive; default 5 000 ms. */
  heartbeatMs?: number | undefined;
  /** Each Redis command fails with `VMPRO_STORE_UNAVAILABLE` after this; default 2 000 ms. */
  commandTimeoutMs?: number | undefined;
  /**
   * How invalidations reach the other instances. `'auto'` (default): on a cluster client,
   * sharded Pub/Sub (`SPUBLISH`/`SSUBSCRIBE`) when the server has it (Redis ≥ 7, asked with
   * `COMMAND INFO SPUBLISH`), classic Pub/Sub otherwise; on a single Redis, classic. Every
   * instance sharing the keys must end up with the same choice.
   */
  pubsub?: 'auto' | 'sharded' | 'classic' | undefined;
  /**
   * Secrets that encrypt each record at rest (JWE, A256GCM; the first encrypts, all decrypt).
   * Optional: `createSessionManager` hands the store its own session `secrets`.
   */
  secrets?: string[] | undefined;
  logger?: Logger | undefined;
}

/** Sends one command; `key` is the key (or sharded channel) it routes by on a cluster, if any. */
type Command = (args: string[], key?: string) => Promise<unknown>;

interface Script {
  source: string;
  /** What EVALSHA needs: the SHA-1 of the source. */
  sha: string;
}

const SEAL_PURPOSE = 'redis-session-record';

const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });

// ---- the key layout -----------------------------------------------------------------------------

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** CRC16-XMODEM, the checksum Redis Cluster hashes keys with. */
function crc16(text: string): number {
  let crc = 0;
  for (const byte of Buffer.from(text, 'utf8'))
    crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/**
 * The Redis Cluster slot of `key` (what `CLUSTER KEYSLOT` answers): CRC16 of the hash tag — the
 * text between the first `{` and the next `}`, when not empty — or of the whole key.
 *
 * @example
 * ```ts
 * keySlot('vmpro:{12.3}s:abc') === keySlot('vmpro:{12.3}lock:abc') // true: one tag, one slot
 * ```
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(key.slice(open + 1, close)) & 16383;
  }
  return crc16(key) & 16383;
}

/**
 * Sessions are spread over this many buckets, each a hash tag of its own: a session's record
 * and lock share its bucket's slot, and each bucket has one sharded invalidation channel in that
 * same slot. Fixed: changing it moves every session to another key.
 */
const BUCKETS = 32;
const SLOTS_PER_BUCKET = 16384 / BUCKETS;

/**
 * Bucket `b`'s hash tag: the first `b.k` (k = 0, 1, …) whose slot lies in the b-th 512-slot
 * range, so that the buckets sit evenly over the slot space and a cluster's primaries (which own
 * ranges of slots) get equal shares. Deterministic: every instance, every version, the same tags.
 */
const BUCKET_TAGS: readonly string[] = Array.from({ length: BUCKETS }, (_, bucket) => {
  for (let k = 0; ; k++) {
    const tag = `${bucket}.${k.toString(36)}`;
    if (Math.floor(keySlot(tag) / SLOTS_PER_BUCKET) === bucket) return tag;
  }
});

/** The bucket of a session key (CRC16 of the key: cheap, and evenly spread for hashes). */
const bucketOf = (key: string): number => crc16(key) % BUCKETS;

/**
 * Where the store keeps what, for one `prefix` (see `redisKeyLayout`).
 *
 * @example
 * ```ts
 * const { record, lock } = redisKeyLayout('vmpro:')
 * ```
 */
export interface RedisKeyLayout {
  /** The session record: `<prefix>{<bucket tag>}s:<key>`. */
  record(key: string): string;
  /** The session's refresh lock, in the record's slot: `<prefix>{<bucket tag>}lock:<key>`. */
  lock(key: string): string;
  /** The index of the sessions of a `sid` or `sub` (a sorted set, one key): `<prefix>ix:sid:<sid>`. */
  index(kind: 'sid' | 'sub', value: string): string;
  /** A single-use login transaction's marker (one key): `<prefix>claim:<name>`. */
  claim(name: string): string;
  /** The sharded invalidation channel of the session's bucket, in the record's slot: `<prefix>{<bucket tag>}inv`. */
  shardChannel(key: string): string;
  /** Every bucket's sharded channel (what each instance subscribes to, `BUCKETS` of them). */
  readonly shardChannels: readonly string[];
  /** The one classic Pub/Sub channel: `<prefix>inv`. */
  readonly classicChannel: string;
  /** Which of `shardChannels` belongs to the session. */
  bucket(key: string): number;
}

/**
 * The Redis key layout of `redisStore` (the same on a single Redis and on a cluster):
 *
 * | key | holds |
 * |---|---|
 * | `<prefix>{<tag>}s:<key>` | the session record (sealed JSON), expiring with the session |
 * | `<prefix>{<tag>}lock:<key>` | its refresh lock (`SET NX PX`, owner token) |
 * | `<prefix>ix:sid:<sid>`, `<prefix>ix:sub:<sub>` | sorted sets: session key → when its record expires at the latest |
 * | `<prefix>claim:<name>` | a used login transaction |
 * | channel `<prefix>{<tag>}inv` | sharded invalidations of the bucket (cluster, Redis ≥ 7) |
 * | channel `<prefix>inv` | classic invalidations (single Redis, or a cluster without sharded Pub/Sub) |
 *
 * `<tag>` is the session's bucket (one of 32, from the key's CRC16): every script touches one
 * slot — the record, the lock and the bucket's channel, which the write scripts publish to from
 * inside (an invalidation cannot be lost between a write and its message) — and each instance
 * subscribes to 32 sharded channels, not one per session. The `sid`/`sub` indexes are keys of
 * their own (in whatever slot); a back-channel logout reads the index, then checks and ends each
 * session with one call in that session's slot.
 *
 * @example
 * ```ts
 * const keys = redisKeyLayout('vmpro:')
 * keys.record(sessionKey) // 'vmpro:{0.13}s:…' — look a session up with redis-cli
 * ```
 */
export function redisKeyLayout(prefix = 'vmpro:'): RedisKeyLayout {
  const shardChannels = BUCKET_TAGS.map((tag) => `${prefix}{${tag}}inv`);
  return {
    record: (key) => `${prefix}{${BUCKET_TAGS[bucketOf(key)]}}s:${key}`,
    lock: (key) => `${prefix}{${BUCKET_TAGS[bucketOf(key)]}}lock:${key}`,
    index: (kind, value) => `${prefix}ix:${kind}:${value}`,
    claim: (name) => `${prefix}claim:${name}`,
    shardChannel: (key) => shardChannels[bucketOf(key)]!,
    shardChannels,
    classicChannel: `${prefix}inv`,
    bucket: bucketOf,
  };
}

// ---- the scripts (each touches the keys of one slot only) -------------------------------------------

/** GET with the remaining TTL, in one round trip. */
const GET = script(`
local v = redis.call('GET', KEYS[1])
if not v then return false end
return {v, redis.call('PTTL', KEYS[1])}
`);

/**
 * KEYS: record. ARGV: json, ttl ms, publish command, channel, invalidation message,
 * [expected version]. Writes the record (compare-and-set on the version when expected) and
 * publishes `w:${version}:${hash}` in the same step.
 */
const WRITE = script(`
if ARGV[6] then
  local cur = redis.call('GET', KEYS[1])
  if not cur then return 0 end
  local ok, obj = pcall(cjson.decode, cur)
  if not ok or type(obj) ~= 'table' or obj['version'] ~= tonumber(ARGV[6]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
redis.call(ARGV[3], ARGV[4], ARGV[5])
return 1
`);

/**
 * KEYS: record. ARGV: hash, publish command, channel. Deletes, publishes `d:${hash}`, and returns
 * the record's `{sid, sub}` (for unindexing, outside: the indexes live in other slots).
 */
const DELETE = script(`
local cur = redis.call('GET', KEYS[1])
local sid, sub = false, false
if cur then
  local ok, obj = pcall(cjson.decode, cur)
  if ok and type(obj) == 'table' then
    if type(obj['sid']) == 'string' then sid = obj['sid'] end
    if type(obj['user']) == 'table' and type(obj['user']['sub']) == 'string' then sub = obj['user']['sub'] end
  end
  redis.call('DEL', KEYS[1])
end
redis.call(ARGV[2], ARGV[3], 'd:' .. ARGV[1])
return {sid, sub}
`);

/** How much longer than its record an index entry (and the index) lives: clock skew between nodes. */
const INDEX_MARGIN_MS = 60_000;

/**
 * KEYS: index. ARGV: hash, ttl ms, margin ms. Adds (or extends) the entry: score = when the
 * record expires at the latest, by this node's clock; drops entries past their score; keeps the
 * index itself at least that long.
 */
const INDEX = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local life = tonumber(ARGV[2]) + tonumber(ARGV[3])
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not old) or tonumber(old) < now + life then redis.call('ZADD', KEYS[1], now + life, ARGV[1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
if redis.call('PTTL', KEYS[1]) < life then redis.call('PEXPIRE', KEYS[1], life) end
return 1
`);

/** KEYS: index. The entries whose records may still live (expired ones are dropped). */
const MEMBERS = script(`
local t = redis.call('TIME')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (tonumber(t[1]) * 1000))
return redis.call('ZRANGE', KEYS[1], 0, -1)
`);

/** KEYS: record. ARGV: 'sid' or 'sub', value. 1 when the record lives and has that sid/sub. */
const MATCHES = script(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, obj = pcall(cjson.decode, cur)
if not ok or type(obj) ~= 'table' then return 0 end
local v = obj['sid']
if ARGV[1] == 'sub' then
  if type(obj['user']) ~= 'table' then return 0 end
  v = obj['user']['sub']
end
if v == ARGV[2] then return 1 end
return 0
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
 *
 * @example
 * ```ts
 * const mine = await setOnce(toRedisCommand(client).command, 'vmpro:claim:tx', 60_000)
 * ```
 */
export async function setOnce(
  command: Command,
  key: string,
  ttlMs: number,
  owner = ownerToken(),
): Promise<boolean> {
  const taken = await takeLease(
    async (owner) => {
      const reply = await command(['SET', key, owner, 'NX', 'PX', ttlText(ttlMs)], key);
      return reply !== null && reply !== undefined;
    },
    (owner) => {
      command(['EVAL', RELEASE.source, '1', key, owner], key).catch(() => {});
    },
    owner,
  );
  return taken !== null;
}

/**
 * A client, recognised: how to send a command through it, and what it is.
 *
 * @example
 * ```ts
 * const { command, cluster, flavor } = toRedisCommand(client)
 * ```
 */
export interface RedisConnection {
  command: Command;
  /** A cluster client (ioredis `Cluster`, node-redis `createCluster`). */
  cluster: boolean;
  flavor: 'ioredis' | 'node-redis';
}

/**
 * Recognises the client (see `RedisClientLike`) and returns one function that sends a command
 * through it; throws `VMPRO_CONFIG_INVALID` for anything else.
 *
 * @example
 * ```ts
 * const { command, cluster } = toRedisCommand(new Redis(process.env.REDIS_URL!))
 * await command(['PING'])
 * ```
 */
export function toRedisCommand(client: RedisClientLike): RedisConnection {
  if (typeof client === 'object' && client !== null) {
    if ('call' in client && typeof client.call === 'function') {
      return {
        command: (args) => client.call(args[0]!, ...args.slice(1)),
        cluster: (client as { isCluster?: unknown }).isCluster === true,
        flavor: 'ioredis',
      };
    }
    if ('sendCommand' in client && typeof client.sendCommand === 'function') {
      if ('getMasters' in client && typeof client.getMasters === 'function') {
        const cluster = client as Extract<RedisClientLike, { getMasters(): unknown }>;
        return {
          command: (args, key) => cluster.sendCommand(key, false, args),
          cluster: true,
          flavor: 'node-redis',
        };
      }
      const single = client as Extract<RedisClientLike, { sendCommand(args: string[]): Promise<unknown> }>;
      return { command: (args) => single.sendCommand(args), cluster: false, flavor: 'node-redis' };
    }
  }
  throw configError(
    'client',
    'must be an ioredis client or Cluster (with `call`), or a connected node-redis client or cluster (with `sendCommand`).',
  );
}

/**
 * `promise`, or a rejection once Redis has not answered within `ms`.
 *
 * @example
 * ```ts
 * await redisTimeout(command(['PING']), 2000)
 * ```
 */
export const redisTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  withTimeout(promise, ms, () => new Error(`Redis did not answer within ${ms} ms`));

/** How invalidations travel: the publish command, the channels, and which channel a session's go to. */
interface PubSub {
  mode: 'sharded' | 'classic';
  publish: 'SPUBLISH' | 'PUBLISH';
  channels: readonly string[];
  /** Index in `channels` of the session's channel. */
  indexOf(key: string): number;
}

interface Listener {
  on(event: string, listener: (...args: never[]) => void): unknown;
  subscribe(...args: unknown[]): Promise<unknown>;
  /** ioredis (a `Cluster` needs `shardedSubscribers: true`, which the store asks `duplicate()` for). */
  ssubscribe?(...args: unknown[]): Promise<unknown>;
  /** node-redis. */
  sSubscribe?(...args: unknown[]): Promise<unknown>;
  connect?(): Promise<unknown>;
  destroy?(): unknown;
  disconnect?(): unknown;
}

function isListener(value: unknown): value is Listener {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.on === 'function' && typeof candidate.subscribe === 'function';
}

/**
 * Carries the local cache's invalidations over Redis Pub/Sub (the cache itself is
 * `CoherentCache`, in `coherent-cache.ts`).
 *
 * Every write and delete of any instance runs in a Lua script that also publishes the
 * invalidation on the session's channel: the one classic channel `${prefix}inv` (`PUBLISH`; on a
 * cluster Redis forwards it to every node), or, with sharded Pub/Sub, the `SPUBLISH` channel of
 * the session's bucket, which lives in the record's slot (a script may publish only there) and
 * reaches the subscribers of that shard only. Each instance listens on a second connection
 * (`duplicate()`; on a cluster one per primary, opened by the client) to every channel — 1
 * classic, or the 32 bucket channels — and the heartbeat's probes are published through the
 * command connection, one per channel.
 *
 * Any disconnect or reconnect of the listener turns every channel's cache off until its probe
 * comes back. A failed-over primary is covered the same way: the probe of each of its buckets
 * comes back only once the client has subscribed on the promoted replica.
 *
 * This works with both ioredis and node-redis (RESP2 and RESP3), unlike CLIENT TRACKING,
 * whose RESP2 REDIRECT mode needs client ids and per-client plumbing.
 */
class RedisInvalidations implements InvalidationTransport {
  private pubsub: PubSub | null = null;
  private channels: InvalidationChannels | null = null;
  private listener: Listener | null = null;
  private subscribed = false;
  private connected = false;
  private closed = false;
  private warnedSetup = false;
  /** node-redis calls one listener per channel; one function, so that subscribing again adds nothing. */
  private readonly nodeRedisListener = (message: string, channel: string) =>
    this.sink.receive(channel, message);

  constructor(
    private readonly sink: InvalidationSink,
    private readonly client: RedisClientLike,
    private readonly connection: RedisConnection,
    private readonly command: Command,
    private readonly resolvePubSub: () => Promise<PubSub>,
    private readonly log: Logger,
  ) {}

  /** Sets up what is missing (channels, listener, subscriptions). */
  async connect(): Promise<InvalidationChannels | null | 'off'> {
    if (this.closed) return null;
    if (this.listener === null && typeof this.client.duplicate !== 'function') {
      this.log.warn('the Redis client has no duplicate(): the local session cache is off');
      return 'off';
    }
    try {
      if (this.pubsub === null) {
        const pubsub = await this.resolvePubSub();
        if (this.closed) return null;
        this.pubsub = pubsub;
        this.channels = { names: pubsub.channels, channelOf: pubsub.indexOf };
      }
      if (this.listener === null && !this.openListener(this.pubsub)) return 'off';
      if (!this.subscribed) {
        await this.subscribe(this.listener!, this.pubsub);
        if (this.closed) return null;
        this.subscribed = true;
        this.warnedSetup = false;
      }
    } catch (error) {
      if (!this.closed && !this.warnedSetup) {
        this.warnedSetup = true;
        this.log.warn(
          'could not subscribe to session invalidations yet; reads bypass the local cache',
          describeError(error),
        );
      }
      return null;
    }
    return this.channels;
  }

  publish(channel: number, message: string): Promise<unknown> {
    const pubsub = this.pubsub!;
    const name = pubsub.channels[channel]!;
    return this.command([pubsub.publish, name, message], name);
  }

  /** Opens the listening connection; false (cache off for good, with a warning) when the client cannot. */
  private openListener(pubsub: PubSub): boolean {
    const sharded = pubsub.mode === 'sharded';
    let listener: unknown;
    try {
      // An ioredis Cluster subscribes to sharded channels on each primary only when asked to.
      listener =
        this.connection.flavor === 'ioredis' && this.connection.cluster && sharded
          ? (this.client.duplicate as (nodes: unknown[], options: object) => unknown).call(this.client, [], {
              shardedSubscribers: true,
            })
          : (this.client.duplicate as () => unknown).call(this.client);
    } catch (error) {
      this.log.warn(
        'could not open the invalidation connection: the local session cache is off',
        describeError(error),
      );
      return false;
    }
    const shardedMethod = this.connection.flavor === 'ioredis' ? 'ssubscribe' : 'sSubscribe';
    if (!isListener(listener) || (sharded && typeof listener[shardedMethod] !== 'function')) {
      this.log.warn(
        `the Redis client’s duplicate() cannot ${sharded ? 'subscribe to sharded channels' : 'subscribe'}: the local session cache is off`,
      );
      return false;
    }
    this.listener = listener;
    listener.on('error', (error: never) => {
      this.log.debug('invalidation connection error', describeError(error));
    });
    // '-node': an ioredis Cluster lost a node (its sharded subscriber there, say).
    for (const event of ['close', 'end', 'reconnecting', 'disconnect', '-node']) {
      listener.on(event, () => this.sink.lost(event));
    }
    listener.on('ready', () => {
      if (!this.subscribed) return;
      // After a reconnect. node-redis has resubscribed before 'ready'; ioredis may not have yet
      // (or is configured not to), and subscribing again is harmless. The probe proves it.
      if (this.connection.flavor === 'ioredis' && !this.connection.cluster)
        this.subscribe(listener, pubsub).then(
          () => this.sink.probe(),
          () => {},
        );
      else this.sink.probe();
    });
    if (this.connection.flavor === 'ioredis') {
      listener.on(sharded ? 'smessage' : 'message', (channel: never, message: never) =>
        this.sink.receive(channel, message),
      );
    }
    return true;
  }

  private async subscribe(listener: Listener, pubsub: PubSub): Promise<void> {
    const sharded = pubsub.mode === 'sharded';
    if (this.connection.flavor === 'ioredis') {
      // One SSUBSCRIBE per channel: they live in different slots.
      if (sharded) await Promise.all(pubsub.channels.map((channel) => listener.ssubscribe!(channel)));
      else await listener.subscribe(...pubsub.channels);
      return;
    }
    if (!this.connected && typeof listener.connect === 'function') {
      await listener.connect();
      this.connected = true;
    }
    if (sharded)
      await Promise.all(
        pubsub.channels.map((channel) => listener.sSubscribe!(channel, this.nodeRedisListener)),
      );
    else await listener.subscribe([...pubsub.channels], this.nodeRedisListener);
  }

  close(): void {
    this.closed = true;
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

/** Error replies that mean "this is a cluster node": the client given is not a cluster client. */
const CLUSTER_REPLY = /^(MOVED|ASK|CROSSSLOT|CLUSTERDOWN)\b/;

/**
 * Sessions in Redis, shared by every instance of the app; back-channel logout and logout on one
 * instance take effect on all at once. A single Redis, Sentinel, or a Redis Cluster: pass a
 * cluster client (ioredis `Cluster`, node-redis `createCluster`) and the store notices (by the
 * client's shape) and uses sharded Pub/Sub when the servers have it.
 *
 * Keys (`redisKeyLayout`): the record `${prefix}{<tag>}s:${hash}` (sealed JSON, expiring with
 * the session) and its refresh lock `${prefix}{<tag>}lock:${hash}` (`SET NX PX` with an owner
 * token, released by a compare-and-delete script) share the hash tag of the session's bucket, so
 * every script touches one slot; writes are compare-and-set on the record's version. The indexes
 * for back-channel logout, `${prefix}ix:sid:${sid}` and `${prefix}ix:sub:${sub}`, are sorted sets
 * of their own (session hash → latest expiry): an entry is added before its record is written
 * and removed after it is deleted, so a live record is always indexed; a logout reads the index
 * and then checks and deletes each session in that session's slot (one call per session).
 *
 * Reads are served from a local cache kept coherent through Pub/Sub (`CoherentCache`, see
 * `RedisInvalidations` above):
 * most authenticated requests need no round trip, yet a logout on one instance is seen by the
 * next request on every other instance. `get(key, { fresh: true })` always asks Redis.
 *
 * Every command fails after `commandTimeoutMs` with `VMPRO_STORE_UNAVAILABLE` (the app answers
 * 503; nobody is logged out) — also while a cluster node is down and until its replica has taken
 * over (the client follows MOVED/ASK and the new topology). `close()` closes the store's own
 * listening connection, not your client.
 *
 * @example
 * ```ts
 * import { Cluster, Redis } from 'ioredis'
 * const store = redisStore({ client: new Redis(process.env.REDIS_URL!) })
 * const onCluster = redisStore({ client: new Cluster([{ host: 'redis-1', port: 6379 }]) })
 * // or: import { createClient, createCluster } from 'redis'
 * const store2 = redisStore({ client: await createClient({ url: process.env.REDIS_URL }).connect() })
 * const store3 = redisStore({
 *   client: await createCluster({ rootNodes: [{ url: 'redis://redis-1:6379' }] }).connect(),
 * })
 * ```
 */
export function redisStore(options: RedisStoreOptions): RedisSessionStore {
  if (typeof options !== 'object' || options === null) {
    throw new VmproError('VMPRO_CONFIG_INVALID', 'redisStore() needs { client }.');
  }
  const connection = toRedisCommand(options.client);
  const prefix = options.prefix ?? 'vmpro:';
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw configError(
      'prefix',
      'must be a string without `{` or `}`',
      'the store adds its own Redis Cluster hash tags to the keys',
    );
  }
  const { commandTimeoutMs: timeoutMs, maxEntries, heartbeatMs } = sharedStoreSettings(options);
  const pubsubOption = options.pubsub ?? 'auto';
  if (!['auto', 'sharded', 'classic'].includes(pubsubOption)) {
    throw configError('pubsub', "must be 'auto', 'sharded' or 'classic'.");
  }
  const sealer = recordSealer('redisStore', SEAL_PURPOSE, options.secrets);
  const log = options.logger ?? silentLogger;
  const keys = redisKeyLayout(prefix);
  const command: Command = (args, key) => redisTimeout(connection.command(args, key), timeoutMs);

  const pubsubOf = (mode: 'sharded' | 'classic'): PubSub =>
    mode === 'sharded'
      ? { mode, publish: 'SPUBLISH', channels: keys.shardChannels, indexOf: keys.bucket }
      : { mode, publish: 'PUBLISH', channels: [keys.classicChannel], indexOf: () => 0 };
  let pubsub: PubSub | Promise<PubSub> | undefined =
    pubsubOption !== 'auto' ? pubsubOf(pubsubOption) : connection.cluster ? undefined : pubsubOf('classic');
  /** Asks a cluster once whether it has sharded Pub/Sub (asked again after a failed attempt). */
  const resolvePubSub = async (): Promise<PubSub> => {
    if (pubsub === undefined) {
      const asking = command(['COMMAND', 'INFO', 'SPUBLISH']).then((reply) => {
        const sharded = Array.isArray(reply) && reply[0] !== null && reply[0] !== undefined;
        const resolved = pubsubOf(sharded ? 'sharded' : 'classic');
        log.info(
          sharded
            ? `Redis Cluster: session invalidations on sharded Pub/Sub (${resolved.channels.length} channels)`
            : 'Redis Cluster without sharded Pub/Sub (Redis < 7): session invalidations on classic Pub/Sub',
        );
        pubsub = resolved;
        return resolved;
      });
      pubsub = asking;
      asking.catch(() => {
        if (pubsub === asking) pubsub = undefined;
      });
    }
    return pubsub;
  };

  const runScript = async (s: Script, scriptKeys: string[], args: string[]): Promise<unknown> => {
    const tail = [String(scriptKeys.length), ...scriptKeys, ...args];
    const route = scriptKeys[0];
    try {
      return await command(['EVALSHA', s.sha, ...tail], route);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    }
    // Not in this node's script cache yet (or flushed): EVAL runs it and caches it.
    return command(['EVAL', s.source, ...tail], route);
  };

  let hinted = false;
  /** Runs one operation; every failure is an outage (`VMPRO_STORE_UNAVAILABLE`). */
  const op = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if (isVmproError(error, 'VMPRO_CONFIG_INVALID')) throw error;
      if (!connection.cluster && !hinted && error instanceof Error && CLUSTER_REPLY.test(error.message)) {
        hinted = true;
        log.error(
          'the session Redis is a Redis Cluster, but the client given to redisStore() is not a cluster client: pass an ioredis `new Cluster([...])` or a node-redis `createCluster({ rootNodes })`',
        );
      }
      throw storeUnavailable(`Redis ${what}`, error);
    }
  };

  const cache =
    options.localCache === false
      ? null
      : new CoherentCache(
          { maxEntries, heartbeatMs, commandTimeoutMs: timeoutMs, log },
          (sink) => new RedisInvalidations(sink, options.client, connection, command, resolvePubSub, log),
        );
  cache?.start();

  const indexKeys = (sid: unknown, sub: unknown): string[] => {
    const list: string[] = [];
    if (typeof sub === 'string') list.push(keys.index('sub', sub));
    if (typeof sid === 'string') list.push(keys.index('sid', sid));
    return list;
  };

  /** Deletes the record (and publishes), then takes it out of its indexes. */
  const remove = async (key: string): Promise<void> => {
    const pubsub = await resolvePubSub();
    const channel = pubsub.channels[pubsub.indexOf(key)]!;
    const reply = await runScript(DELETE, [keys.record(key)], [key, pubsub.publish, channel]);
    const [sid, sub] = Array.isArray(reply) ? reply : [];
    // Best effort: an entry left behind only costs a check at the next logout, and expires.
    await Promise.all(
      indexKeys(sid, sub).map((index) =>
        command(['ZREM', index, key], index).catch((error: unknown) => {
          log.debug('could not unindex a deleted session; the entry expires by itself', {
            session: keyTag(key),
            ...describeError(error),
          });
        }),
      ),
    );
  };

  /** Keys of live sessions whose record has this sid/sub: the index, then one check per session. */
  const members = async (kind: 'sid' | 'sub', value: string): Promise<string[]> => {
    const index = keys.index(kind, value);
    const reply = await runScript(MEMBERS, [index], []);
    const candidates = Array.isArray(reply) ? reply.map(String) : [];
    // Never pruned here on a miss: the record may be being written right now (indexed first).
    const verdicts = await Promise.all(
      candidates.map((key) => runScript(MATCHES, [keys.record(key)], [kind, value])),
    );
    return candidates.filter((_, i) => Number(verdicts[i]) === 1);
  };

  // ---- records at rest: an envelope with what the scripts need in clear, the rest sealed ---------

  /**
   * In Redis: `{ v, version, sid, user: { sub }, sealed }`. The Lua scripts read the version (for
   * compare-and-set) and the sid/sub (for the logout indexes); the tokens and claims are only in
   * `sealed`, which also names the key, so a record copied to another key does not open there.
   */
  const seal = async (key: string, record: SessionRecord, ttlMs: number): Promise<string> =>
    JSON.stringify({
      v: 1,
      version: record.version,
      sid: record.sid,
      user: { sub: record.user.sub },
      sealed: await sealer.seal(key, record, ttlMs),
    });

  /** The record, or `null` when it cannot be read: not sealed, sealed for another key or with unknown secrets. */
  const open = async (key: string, json: string): Promise<SessionRecord | null> => {
    let envelope: { version?: unknown; sealed?: unknown };
    try {
      envelope = JSON.parse(json) as typeof envelope;
    } catch {
      return null;
    }
    return sealer.open(key, envelope?.sealed, envelope?.version);
  };

  /**
   * Writes a sealed record: its index entries first (each index is a key of its own, maybe on
   * another node), then the record and its invalidation in one script.
   */
  const write: RecordWriteParts['write'] = async (key, record, sealed, ttlMs, expectedVersion) => {
    const pubsub = await resolvePubSub();
    const ttl = ttlText(ttlMs);
    await Promise.all(
      indexKeys(record.sid, record.user.sub).map((index) =>
        runScript(INDEX, [index], [key, ttl, String(INDEX_MARGIN_MS)]),
      ),
    );
    const channel = pubsub.channels[pubsub.indexOf(key)]!;
    const args = [sealed, ttl, pubsub.publish, channel, writtenMessage(record.version, key)];
    if (expectedVersion !== undefined) args.push(String(expectedVersion));
    const written = await runScript(WRITE, [keys.record(key)], args);
    return Number(written) === 1;
  };

  return {
    kind: 'redis',
    cluster: connection.cluster,
    get localCacheActive() {
      return cache?.isUp ?? false;
    },
    get: (key, getOptions) =>
      readThrough(cache, key, getOptions?.fresh === true, async () => {
        const reply = await op('read', () => runScript(GET, [keys.record(key)], []));
        if (!Array.isArray(reply) || reply.length !== 2) return null;
        const record = await open(key, String(reply[0]));
        if (record === null) await discardUnreadable(log, 'Redis', key, () => remove(key));
        return { record, ttlMs: Number(reply[1]) };
      }),
    ...recordWrites({ cache, seal, op, write, remove }),
    keysBySid: (sid) => op('index read', () => members('sid', sid)),
    keysBySub: (sub) => op('index read', () => members('sub', sub)),
    async lock(key, ttlMs): Promise<StoreLock | null> {
      const lockKey = keys.lock(key);
      const owner = ownerToken();
      if (!(await op('lock', () => setOnce(command, lockKey, ttlMs, owner)))) return null;
      return {
        async release() {
          await op('unlock', () => runScript(RELEASE, [lockKey], [owner]));
        },
      };
    },
    claim: (name, ttlMs) => op('claim', () => setOnce(command, keys.claim(name), ttlMs)),
    useSecrets: sealer.adopt,
    async close() {
      cache?.close();
    },
  };
}
