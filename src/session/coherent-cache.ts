/**
 * The local read cache of the shared stores (Redis, PostgreSQL), written once: coherent through
 * invalidation messages, trusted only while a heartbeat proves the channel delivers them. Each
 * store injects its transport (Pub/Sub, LISTEN/NOTIFY) as an {@link InvalidationTransport}.
 */

import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import { evictBeyond, frozenCopy } from './record.js';
import type { SessionRecord } from './types.js';

/**
 * A heartbeat probe not back within this (or the command timeout, if shorter) turns its channel's
 * cache off.
 */
export const PROBE_DEADLINE_MS = 2000;

/**
 * The invalidation of a write, as every instance expects it: `w:${version}:${key}`.
 *
 * @example
 * ```ts
 * await publish(channel, writtenMessage(record.version, key))
 * ```
 */
export const writtenMessage = (version: number, key: string): string => `w:${version}:${key}`;

/**
 * The invalidation of a delete: `d:${key}`.
 *
 * @example
 * ```ts
 * await publish(channel, deletedMessage(key))
 * ```
 */
export const deletedMessage = (key: string): string => `d:${key}`;

/**
 * The channels a transport carries invalidations on, once it listens on them.
 *
 * @example
 * ```ts
 * const channels: InvalidationChannels = { names: ['vmpro:inv'], channelOf: () => 0 }
 * ```
 */
export interface InvalidationChannels {
  /** Every channel, by index (one, or a cluster's 32 buckets). */
  readonly names: readonly string[];
  /** Index in `names` of the channel a session's invalidations travel on. */
  channelOf(key: string): number;
}

/**
 * What a transport tells its cache (handed to the transport's factory).
 *
 * @example
 * ```ts
 * connection.on('end', () => sink.lost('invalidation connection end'))
 * ```
 */
export interface InvalidationSink {
  /** A message arrived on the listening connection (invalidations and probes alike). */
  receive(channelName: string, message: string): void;
  /** The listening connection broke or is reconnecting: every channel is unproven, every copy dropped. */
  lost(reason: string): void;
  /** Prove the channels again now (say, after the listener reconnected and resubscribed). */
  probe(): void;
}

/**
 * How one store's invalidations travel: everything the cache needs from Redis Pub/Sub or
 * PostgreSQL LISTEN/NOTIFY, and nothing else.
 *
 * @example
 * ```ts
 * const transport: InvalidationTransport = {
 *   connect: async () => ({ names: ['inv'], channelOf: () => 0 }),
 *   publish: (channel, message) => bus.publish('inv', message),
 *   close: () => bus.unsubscribe(),
 * }
 * ```
 */
export interface InvalidationTransport {
  /**
   * Called at every heartbeat before the probes: sets up what is missing (the listening
   * connection, its subscriptions). Resolves to the channels once a probe sent now would be
   * heard, `null` while not yet (tried again at the next heartbeat), `'off'` when never (the
   * cache stays off for good; the transport says why in the log). Should not reject; a
   * rejection counts as `null`.
   */
  connect(): Promise<InvalidationChannels | null | 'off'>;
  /** Sends `message` on channel `channel` through the command path, not the listening connection. */
  publish(channel: number, message: string): Promise<unknown>;
  /** The probes of these channels did not come back in time (a transport may replace its listener). */
  probesLate?(channels: readonly number[]): void;
  /** Closes the listening connection (never the app's own client or pool). */
  close(): void;
}

/**
 * Options of {@link CoherentCache}.
 *
 * @example
 * ```ts
 * const options: CoherentCacheOptions = { maxEntries: 10_000, heartbeatMs: 5000, commandTimeoutMs: 2000, log }
 * ```
 */
export interface CoherentCacheOptions {
  /** Records kept; beyond it the least recently used go (second chance). */
  maxEntries: number;
  /** How often the channels are proven alive (every second while they are not). */
  heartbeatMs: number;
  /** The store's command timeout: a probe's deadline is the shorter of it and {@link PROBE_DEADLINE_MS}. */
  commandTimeoutMs: number;
  log: Logger;
}

/** One read in flight: what happened to its key meanwhile decides whether it may be cached. */
export interface ReadTicket {
  readonly epoch: number;
  /** The key was deleted (or written with an unknown version) meanwhile. */
  stale: boolean;
  /** The highest version written meanwhile: an older read must not be cached. */
  minVersion: number;
  readonly channel: number;
}

interface Entry {
  record: SessionRecord;
  expiresAt: number;
  /** Read since it last passed the old end (second-chance eviction, no map change per read). */
  used: boolean;
  channel: number;
}

/**
 * An in-process copy of session records, kept coherent with a shared store.
 *
 * Every write and delete of any instance sends an invalidation in the same step as the change
 * (`w:${version}:${key}` for a write, `d:${key}` for a delete, on the session's channel), and
 * every instance drops its copy unless that copy is already at least the written version
 * (versions only grow: every write is a compare-and-set on version + 1).
 *
 * A channel's sessions are served from the cache only while that channel is proven to work: a
 * heartbeat sends a probe on every channel through the command path and waits for it to come back
 * on the listening connection. Until a channel's first probe returns, when its probe is late
 * (deadline: the shorter of 2 s and the command timeout) or could not be sent, its sessions'
 * copies are dropped and reads go to the store; when the listening connection breaks, every
 * channel's. Probes go out every `heartbeatMs` while all is well, every second otherwise (at most
 * `heartbeatMs`). So a change made elsewhere goes unseen for at most `heartbeatMs` + the probe's
 * deadline after the channel stops delivering.
 *
 * A read racing an invalidation is not cached: each read takes a ticket that invalidations of its
 * key mark, and a heartbeat state change (any channel up or down) voids every ticket out.
 *
 * @example
 * ```ts
 * const cache = new CoherentCache({ maxEntries: 10_000, heartbeatMs: 5000, commandTimeoutMs: 2000, log },
 *   (sink) => new MyTransport(sink))
 * cache.start()
 * const record = await readThrough(cache, key, false, () => loadFromStore(key))
 * ```
 */
export class CoherentCache {
  private epoch = 0;
  private readonly entries = new Map<string, Entry>();
  private readonly tickets = new Map<string, Set<ReadTicket>>();
  private readonly transport: InvalidationTransport;
  private channels: InvalidationChannels | null = null;
  private channelIndex = new Map<string, number>();
  /** Per channel: proven to deliver. */
  private up: boolean[] = [];
  private upCount = 0;
  /** The probes of the running heartbeat round, by channel index. */
  private round: Map<number, string> | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly nonce = randomBytes(8).toString('base64url');
  private probeSeq = 0;
  private readonly maxEntries: number;
  private readonly heartbeatMs: number;
  private readonly probeDeadlineMs: number;
  private readonly log: Logger;

  constructor(options: CoherentCacheOptions, transport: (sink: InvalidationSink) => InvalidationTransport) {
    this.maxEntries = options.maxEntries;
    this.heartbeatMs = options.heartbeatMs;
    this.probeDeadlineMs = Math.min(PROBE_DEADLINE_MS, options.commandTimeoutMs);
    this.log = options.log;
    this.transport = transport({
      receive: (channelName, message) => this.receive(channelName, message),
      lost: (reason) => this.markDown(reason),
      probe: () => void this.probe(),
    });
  }

  /** True while every channel is proven to deliver (reads may skip the store). */
  get isUp(): boolean {
    return this.up.length > 0 && this.upCount === this.up.length;
  }

  /** Starts the heartbeat (the first tick at once). */
  start(): void {
    void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    let off = false;
    try {
      const channels = await this.transport.connect().catch(() => null);
      if (channels === 'off') off = true;
      else if (channels !== null && !this.closed) {
        this.adopt(channels);
        await this.probe();
      }
    } finally {
      if (!this.closed && !off) {
        this.heartbeat = setTimeout(
          () => void this.tick(),
          this.isUp ? this.heartbeatMs : Math.min(1000, this.heartbeatMs),
        );
        this.heartbeat.unref();
      }
    }
  }

  /** The transport's channels, the first time it has them (they never change afterwards). */
  private adopt(channels: InvalidationChannels): void {
    if (this.channels !== null) return;
    this.channels = channels;
    this.up = channels.names.map(() => false);
    this.upCount = 0;
    this.channelIndex = new Map(channels.names.map((name, i) => [name, i]));
  }

  /** One probe per channel; a channel whose probe is not back by the deadline has its cache turned off. */
  private async probe(): Promise<void> {
    const channels = this.channels;
    if (this.closed || channels === null || this.round !== null) return;
    const round = new Map<number, string>();
    this.round = round;
    this.probeTimer = setTimeout(() => {
      if (this.round !== round) return;
      this.round = null;
      const late = [...round.keys()];
      for (const channel of late) this.markDown('heartbeat lost', channel);
      this.transport.probesLate?.(late);
    }, this.probeDeadlineMs);
    this.probeTimer.unref();
    const tokens = channels.names.map(() => `probe:${this.nonce}:${++this.probeSeq}`);
    for (const [channel, token] of tokens.entries()) round.set(channel, token);
    await Promise.all(
      tokens.map(async (token, channel) => {
        try {
          await this.transport.publish(channel, token);
        } catch {
          if (round.get(channel) === token) {
            this.settle(round, channel);
            this.markDown('heartbeat not sent', channel);
          }
        }
      }),
    );
  }

  /** The channel's probe of `round` is answered (or failed); the round ends with its last one. */
  private settle(round: Map<number, string>, channel: number): void {
    round.delete(channel);
    if (round.size === 0 && this.round === round) {
      this.round = null;
      if (this.probeTimer) clearTimeout(this.probeTimer);
    }
  }

  private receive(channelName: string, message: string): void {
    const channel = this.channelIndex.get(channelName);
    if (channel === undefined || typeof message !== 'string') return;
    if (message.startsWith('probe:')) {
      const round = this.round;
      if (round !== null && round.get(channel) === message) {
        this.settle(round, channel);
        this.markUp(channel);
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

  private markUp(channel: number): void {
    if (this.up[channel] !== false || this.closed) return;
    this.up[channel] = true;
    this.upCount++;
    this.epoch++;
    if (this.isUp) {
      this.log.debug(
        this.up.length === 1
          ? 'session invalidation channel up: local cache on'
          : 'session invalidation channels up: local cache on',
      );
    }
  }

  /** Turns the cache of one channel's sessions off (every channel's without `channel`). */
  private markDown(reason: string, channel?: number): void {
    const wasUp = channel === undefined ? this.upCount > 0 : this.up[channel] === true;
    if (wasUp && !this.closed) {
      this.log.warn('session invalidation channel lost: local cache off until it is back', {
        reason,
        ...(channel === undefined || this.up.length === 1 ? {} : { channel: this.channels?.names[channel] }),
      });
    }
    this.epoch++;
    if (channel === undefined) {
      this.up.fill(false);
      this.upCount = 0;
      this.entries.clear();
      return;
    }
    if (this.up[channel] === true) {
      this.up[channel] = false;
      this.upCount--;
    }
    for (const [key, entry] of this.entries) if (entry.channel === channel) this.entries.delete(key);
  }

  /**
   * Drops the copy of `key` (and marks the reads of it in flight): `version`, the key was written
   * with this version (a copy at least that new stays); without it, deleted (or unknown).
   */
  invalidate(key: string, version?: number): void {
    const entry = this.entries.get(key);
    if (entry !== undefined && (version === undefined || entry.record.version < version))
      this.entries.delete(key);
    for (const ticket of this.tickets.get(key) ?? []) {
      if (version === undefined) ticket.stale = true;
      else ticket.minVersion = Math.max(ticket.minVersion, version);
    }
  }

  /** The cached record (deep-frozen, shared), if its channel is proven and it holds a live one. */
  read(key: string): SessionRecord | undefined {
    if (this.upCount === 0) return undefined;
    const entry = this.entries.get(key);
    if (entry === undefined || this.up[entry.channel] !== true) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    entry.used = true;
    return entry.record;
  }

  /** Call before reading `key` from the store; pass to `done` afterwards. `null`: do not cache this read. */
  ticket(key: string): ReadTicket | null {
    if (this.upCount === 0 || this.channels === null) return null;
    const channel = this.channels.channelOf(key);
    if (this.up[channel] !== true) return null;
    const ticket: ReadTicket = { epoch: this.epoch, stale: false, minVersion: 0, channel };
    let set = this.tickets.get(key);
    if (set === undefined) {
      set = new Set();
      this.tickets.set(key, set);
    }
    set.add(ticket);
    return ticket;
  }

  /** After the read: caches a copy of `record` for `ttlMs` unless its key changed meanwhile. */
  done(key: string, ticket: ReadTicket | null, record: SessionRecord | null, ttlMs: number): void {
    if (ticket === null) return;
    const set = this.tickets.get(key);
    set?.delete(ticket);
    if (set?.size === 0) this.tickets.delete(key);
    if (record === null || ticket.stale || record.version < ticket.minVersion || ticket.epoch !== this.epoch)
      return;
    if (this.up[ticket.channel] !== true || !(ttlMs > 0)) return;
    this.entries.delete(key);
    this.entries.set(key, {
      record: frozenCopy(record),
      expiresAt: Date.now() + ttlMs,
      used: false,
      channel: ticket.channel,
    });
    evictBeyond(this.entries, this.maxEntries, key);
  }

  /** Empties the cache for good, stops the heartbeat and closes the transport. */
  close(): void {
    this.closed = true;
    this.markDown('closed');
    if (this.heartbeat) clearTimeout(this.heartbeat);
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.transport.close();
  }
}

/**
 * What a store's read found: the record (`null` when it is there but cannot be read) and how
 * long it lives, or `null` for no record at all.
 *
 * @example
 * ```ts
 * const found: StoreRead = { record, ttlMs: Number(reply[1]) }
 * ```
 */
export type StoreRead = { record: SessionRecord | null; ttlMs: number } | null;

/**
 * A read through the cache: the trusted copy when there is one (unless `fresh`), otherwise
 * `load()`, whose record is cached unless an invalidation of the key, or a change of the
 * heartbeat state, happened while it was in flight. `cache` `null`: the cache is off.
 *
 * @example
 * ```ts
 * const record = await readThrough(cache, key, options?.fresh === true, async () => {
 *   const row = await selectRow(key)
 *   return row === undefined ? null : { record: await open(key, row), ttlMs: row.ttlMs }
 * })
 * ```
 */
export async function readThrough(
  cache: CoherentCache | null,
  key: string,
  fresh: boolean,
  load: () => Promise<StoreRead>,
): Promise<SessionRecord | null> {
  if (cache === null) return (await load())?.record ?? null;
  if (!fresh) {
    const cached = cache.read(key);
    if (cached !== undefined) return cached;
  }
  const ticket = cache.ticket(key);
  let found: StoreRead = null;
  try {
    found = await load();
  } finally {
    cache.done(key, ticket, found?.record ?? null, found?.ttlMs ?? 0);
  }
  return found?.record ?? null;
}
