import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../logger.js';
import {
  CoherentCache,
  type CoherentCacheOptions,
  deletedMessage,
  type InvalidationChannels,
  type InvalidationSink,
  type InvalidationTransport,
  PROBE_DEADLINE_MS,
  readThrough,
  writtenMessage,
} from './coherent-cache.js';
import { makeRecord } from './test-support.js';
import type { SessionRecord } from './types.js';

/**
 * An in-process transport: what is published on a channel comes back to the cache's listener
 * (on a later microtask, as from a socket), unless that channel is muted. `deliver` is another
 * instance's invalidation arriving.
 */
class Loopback implements InvalidationTransport {
  readonly channels: InvalidationChannels;
  readonly muted = new Set<number>();
  readonly published: string[] = [];
  answer: 'ready' | 'not yet' | 'off' = 'ready';
  failPublish = false;
  connects = 0;
  closed = false;

  constructor(
    readonly sink: InvalidationSink,
    names: string[],
  ) {
    // Sessions whose key starts with "1" travel on channel 1 (when there is one), others on 0.
    this.channels = { names, channelOf: (key) => (names.length > 1 && key.startsWith('1') ? 1 : 0) };
  }

  async connect() {
    this.connects++;
    if (this.answer === 'off') return 'off' as const;
    return this.answer === 'ready' ? this.channels : null;
  }

  async publish(channel: number, message: string) {
    if (this.failPublish) throw new Error('connection refused');
    this.published.push(message);
    if (!this.muted.has(channel))
      queueMicrotask(() => this.sink.receive(this.channels.names[channel]!, message));
  }

  deliver(channel: number, message: string) {
    this.sink.receive(this.channels.names[channel]!, message);
  }

  close() {
    this.closed = true;
  }
}

const HEARTBEAT_MS = 5000;
const options = (overrides: Partial<CoherentCacheOptions> = {}): CoherentCacheOptions => ({
  maxEntries: 100,
  heartbeatMs: HEARTBEAT_MS,
  commandTimeoutMs: 2000,
  log: silentLogger,
  ...overrides,
});

/** Lets pending promises and due timers run (the fake clock does not move). */
const settle = () => vi.advanceTimersByTimeAsync(0);
const later = (ms: number) => vi.advanceTimersByTimeAsync(ms);

function openCache(
  channelNames = ['inv'],
  overrides: Partial<CoherentCacheOptions> = {},
  before: (transport: Loopback) => void = () => {},
) {
  let transport!: Loopback;
  const cache = new CoherentCache(options(overrides), (sink) => {
    transport = new Loopback(sink, channelNames);
    before(transport);
    return transport;
  });
  cache.start();
  return { cache, transport };
}

/** Reads `key` through the cache, the store answering `record`. */
const readFromStore = (cache: CoherentCache, key: string, record: SessionRecord | null) =>
  readThrough(cache, key, false, async () => (record === null ? null : { record, ttlMs: 60_000 }));

/**
 * A read of `key` whose answer, `record`, is on its way: the store has answered, the reply has
 * not arrived yet. `answer()` lets it arrive.
 */
function readInFlight(cache: CoherentCache, key: string, record: SessionRecord) {
  let answer!: () => void;
  const answered = new Promise<void>((resolve) => {
    answer = resolve;
  });
  const reading = readThrough(cache, key, false, async () => {
    await answered;
    return { record, ttlMs: 60_000 };
  });
  return { reading, answer };
}

describe('CoherentCache', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('trusts nothing until the first probe has come back', async () => {
    const { cache, transport } = openCache(['inv'], {}, (t) => t.muted.add(0));
    await settle();
    expect(transport.published).toHaveLength(1); // the probe went out…
    expect(cache.isUp).toBe(false); // …and is not back
    await readFromStore(cache, 'k', makeRecord(Date.now()));
    expect(cache.read('k')).toBeUndefined();
    cache.close();
  });

  it('serves a read from memory once the channel is proven, as a frozen copy', async () => {
    const { cache } = openCache();
    await settle();
    expect(cache.isUp).toBe(true);
    const record = makeRecord(Date.now());
    await readFromStore(cache, 'k', record);
    const cached = cache.read('k');
    expect(cached).toEqual(record);
    expect(Object.isFrozen(cached)).toBe(true);
    cache.close();
  });

  it('stops trusting its copies once a heartbeat probe is late: by heartbeatMs + the probe deadline', async () => {
    const { cache, transport } = openCache();
    await settle();
    await readFromStore(cache, 'k', makeRecord(Date.now()));
    transport.muted.add(0); // the channel stops delivering just after a probe came back
    await later(HEARTBEAT_MS - 1);
    expect(cache.read('k')).toBeDefined(); // no probe due yet: nothing to notice
    await later(1 + PROBE_DEADLINE_MS);
    expect(cache.isUp).toBe(false);
    expect(cache.read('k')).toBeUndefined();
    transport.muted.clear(); // back (at the next heartbeat): the copy made before the gap is gone for good
    await later(HEARTBEAT_MS);
    expect(cache.isUp).toBe(true);
    expect(cache.read('k')).toBeUndefined();
    cache.close();
  });

  it('gives a probe the command timeout as its deadline when that is shorter than 2 s', async () => {
    const { cache, transport } = openCache(['inv'], { commandTimeoutMs: 300 });
    await settle();
    transport.muted.add(0);
    await later(HEARTBEAT_MS + 300);
    expect(cache.isUp).toBe(false);
    cache.close();
  });

  it('turns off at once when a probe cannot be sent', async () => {
    const { cache, transport } = openCache();
    await settle();
    await readFromStore(cache, 'k', makeRecord(Date.now()));
    transport.failPublish = true;
    await later(HEARTBEAT_MS);
    expect(cache.isUp).toBe(false);
    expect(cache.read('k')).toBeUndefined();
    cache.close();
  });

  it('drops every copy, on every channel, when the listening connection is lost', async () => {
    const { cache, transport } = openCache(['inv:0', 'inv:1']);
    await settle();
    expect(cache.isUp).toBe(true);
    await readFromStore(cache, '0-a', makeRecord(Date.now()));
    await readFromStore(cache, '1-b', makeRecord(Date.now()));
    transport.sink.lost('end');
    expect(cache.isUp).toBe(false);
    expect(cache.read('0-a')).toBeUndefined();
    expect(cache.read('1-b')).toBeUndefined();
    await later(HEARTBEAT_MS); // proven again by the next probes, but the copies do not come back
    expect(cache.isUp).toBe(true);
    expect(cache.read('0-a')).toBeUndefined();
    expect(cache.read('1-b')).toBeUndefined();
    cache.close();
  });

  it('with several channels, a late probe turns off only that channel’s sessions', async () => {
    const { cache, transport } = openCache(['inv:0', 'inv:1']);
    await settle();
    await readFromStore(cache, '0-a', makeRecord(Date.now()));
    await readFromStore(cache, '1-b', makeRecord(Date.now()));
    transport.muted.add(1);
    await later(HEARTBEAT_MS + PROBE_DEADLINE_MS);
    expect(cache.isUp).toBe(false); // not every channel is proven…
    expect(cache.read('1-b')).toBeUndefined();
    expect(cache.read('0-a')).toBeDefined(); // …but channel 0 still is
    await readFromStore(cache, '1-c', makeRecord(Date.now()));
    expect(cache.read('1-c')).toBeUndefined(); // and channel 1's reads are not cached meanwhile
    cache.close();
  });

  it('drops a copy on an invalidation: a delete, or a write of a newer version', async () => {
    const { cache, transport } = openCache();
    await settle();
    await readFromStore(cache, 'gone', makeRecord(Date.now()));
    await readFromStore(cache, 'newer', makeRecord(Date.now(), { version: 3 }));
    transport.deliver(0, deletedMessage('gone'));
    transport.deliver(0, writtenMessage(4, 'newer'));
    expect(cache.read('gone')).toBeUndefined();
    expect(cache.read('newer')).toBeUndefined();
    cache.close();
  });

  it('keeps a copy that is already at the written version (its own write, heard back)', async () => {
    const { cache, transport } = openCache();
    await settle();
    await readFromStore(cache, 'k', makeRecord(Date.now(), { version: 3 }));
    transport.deliver(0, writtenMessage(3, 'k'));
    expect(cache.read('k')?.version).toBe(3);
    cache.close();
  });

  it('does not cache a read during which its key was deleted', async () => {
    const { cache, transport } = openCache();
    await settle();
    const { reading, answer } = readInFlight(cache, 'k', makeRecord(Date.now(), { version: 1 }));
    transport.deliver(0, deletedMessage('k'));
    answer();
    expect((await reading)?.version).toBe(1); // the caller gets what the store said…
    expect(cache.read('k')).toBeUndefined(); // …but it is not kept
    cache.close();
  });

  it('does not cache a read during which a newer version was written', async () => {
    const { cache, transport } = openCache();
    await settle();
    const { reading, answer } = readInFlight(cache, 'k', makeRecord(Date.now(), { version: 1 }));
    transport.deliver(0, writtenMessage(2, 'k'));
    answer();
    await reading;
    expect(cache.read('k')).toBeUndefined();
    cache.close();
  });

  it('does not cache a read during which the channel went down and came back (messages may be lost)', async () => {
    const { cache, transport } = openCache();
    await settle();
    const { reading, answer } = readInFlight(cache, 'k', makeRecord(Date.now()));
    transport.sink.lost('reconnecting');
    transport.sink.probe(); // reconnected: the transport asks for proof at once
    await settle();
    expect(cache.isUp).toBe(true);
    answer();
    await reading;
    expect(cache.read('k')).toBeUndefined();
    cache.close();
  });

  it('reads the store, not the copy, when asked for a fresh read (and keeps the fresh one)', async () => {
    const { cache } = openCache();
    await settle();
    await readFromStore(cache, 'k', makeRecord(Date.now(), { version: 1 }));
    const fresh = await readThrough(cache, 'k', true, async () => ({
      record: makeRecord(Date.now(), { version: 2 }),
      ttlMs: 60_000,
    }));
    expect(fresh?.version).toBe(2);
    expect(cache.read('k')?.version).toBe(2);
    cache.close();
  });

  it('forgets a copy when its record’s lifetime ends', async () => {
    const { cache } = openCache();
    await settle();
    await readThrough(cache, 'k', false, async () => ({ record: makeRecord(Date.now()), ttlMs: 800 }));
    expect(cache.read('k')).toBeDefined();
    await later(800);
    expect(cache.read('k')).toBeUndefined();
    cache.close();
  });

  it('keeps at most maxEntries records, evicting one not read since it was cached', async () => {
    const { cache } = openCache(['inv'], { maxEntries: 2 });
    await settle();
    await readFromStore(cache, 'a', makeRecord(Date.now()));
    await readFromStore(cache, 'b', makeRecord(Date.now()));
    cache.read('a'); // a was used: b is the one to go
    await readFromStore(cache, 'c', makeRecord(Date.now()));
    expect(cache.read('a')).toBeDefined();
    expect(cache.read('b')).toBeUndefined();
    expect(cache.read('c')).toBeDefined();
    cache.close();
  });

  it('keeps asking the transport every second until it listens, then probes', async () => {
    const { cache, transport } = openCache(['inv'], {}, (t) => {
      t.answer = 'not yet';
    });
    await settle();
    expect(transport.connects).toBe(1);
    expect(transport.published).toHaveLength(0);
    await later(1000);
    expect(transport.connects).toBe(2);
    transport.answer = 'ready';
    await later(1000);
    expect(cache.isUp).toBe(true);
    cache.close();
  });

  it('stays off for good, and stops asking, when the transport says it never will listen', async () => {
    const { cache, transport } = openCache(['inv'], {}, (t) => {
      t.answer = 'off';
    });
    await later(10_000);
    expect(transport.connects).toBe(1);
    expect(cache.isUp).toBe(false);
    cache.close();
  });

  it('close() empties the cache, stops the heartbeat and closes the transport', async () => {
    const { cache, transport } = openCache();
    await settle();
    await readFromStore(cache, 'k', makeRecord(Date.now()));
    cache.close();
    expect(transport.closed).toBe(true);
    expect(cache.isUp).toBe(false);
    expect(cache.read('k')).toBeUndefined();
    const sent = transport.published.length;
    await later(3 * HEARTBEAT_MS);
    expect(transport.published).toHaveLength(sent);
  });
});
