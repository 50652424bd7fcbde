import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryStore } from './memory-store.js';
import { clock, makeRecord } from './test-support.js';
import type { SessionStore } from './types.js';

const stores: SessionStore[] = [];
function open(options: Parameters<typeof memoryStore>[0] = {}) {
  const store = memoryStore(options);
  stores.push(store);
  return store;
}
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close?.()));
  vi.useRealTimers();
});

describe('memoryStore', () => {
  it('returns what was created, and null for an unknown key', async () => {
    const c = clock();
    const store = open({ now: c.now });
    const record = makeRecord(c.now());
    await store.create('k1', record, 60_000);
    expect(await store.get('k1')).toEqual(record);
    expect(await store.get('k2')).toBeNull();
  });

  it('updates only when the expected version matches (compare-and-set)', async () => {
    const c = clock();
    const store = open({ now: c.now });
    await store.create('k', makeRecord(c.now(), { version: 1 }), 60_000);
    expect(await store.update('k', makeRecord(c.now(), { version: 2, sid: 'b' }), 1, 60_000)).toBe(true);
    expect(await store.update('k', makeRecord(c.now(), { version: 3, sid: 'c' }), 1, 60_000)).toBe(false);
    expect((await store.get('k'))?.sid).toBe('b');
  });

  it('refuses to update a record that is gone', async () => {
    const store = open();
    expect(await store.update('gone', makeRecord(Date.now(), { version: 2 }), 1, 60_000)).toBe(false);
    expect(await store.get('gone')).toBeNull();
  });

  it('forgets a record after its TTL', async () => {
    const c = clock();
    const store = open({ now: c.now });
    await store.create('k', makeRecord(c.now()), 1000);
    c.advance(999);
    expect(await store.get('k')).not.toBeNull();
    c.advance(1);
    expect(await store.get('k')).toBeNull();
  });

  it('keeps its own copy: a record handed in can change, one handed out is read-only', async () => {
    const store = open();
    const record = makeRecord(Date.now());
    await store.create('k', record, 60_000);
    record.user.name = 'changed after create';
    const read = await store.get('k');
    expect(() => {
      read!.tokens.accessToken = 'changed after get';
    }).toThrow(TypeError);
    const again = await store.get('k');
    expect(again?.user.name).toBe('Dana Demo');
    expect(again?.tokens.accessToken).not.toBe('changed after get');
  });

  it('evicts the least recently used record beyond maxEntries', async () => {
    const store = open({ maxEntries: 2 });
    await store.create('a', makeRecord(Date.now()), 60_000);
    await store.create('b', makeRecord(Date.now()), 60_000);
    await store.get('a'); // a is now more recent than b
    await store.create('c', makeRecord(Date.now()), 60_000);
    expect(await store.get('a')).not.toBeNull();
    expect(await store.get('b')).toBeNull();
    expect(await store.get('c')).not.toBeNull();
  });

  it('never evicts the record it is writing, even when every other one was read since', async () => {
    const store = open({ maxEntries: 2 });
    await store.create('a', makeRecord(Date.now()), 60_000);
    await store.create('b', makeRecord(Date.now()), 60_000);
    await store.get('a');
    await store.get('b');
    await store.create('c', makeRecord(Date.now()), 60_000);
    expect(await store.get('c')).not.toBeNull();
    expect([await store.get('a'), await store.get('b')].filter((r) => r !== null)).toHaveLength(1);
  });

  it('sweeps expired records on its timer, so they do not take the place of live ones', async () => {
    vi.useFakeTimers();
    const c = clock();
    const store = open({ now: c.now, sweepIntervalMs: 1000, maxEntries: 2 });
    await store.create('live', makeRecord(c.now()), 60_000);
    await store.create('short', makeRecord(c.now()), 500);
    c.advance(600);
    vi.advanceTimersByTime(1000);
    // Without the sweep the expired record would still count, and this would evict 'live'.
    await store.create('new', makeRecord(c.now()), 60_000);
    expect(await store.get('live')).not.toBeNull();
    expect(await store.get('new')).not.toBeNull();
  });

  it('indexes sessions by sid and by sub, and unindexes on delete', async () => {
    const store = open();
    await store.create('a', makeRecord(Date.now(), { sid: 's1', user: { sub: 'u1' } }), 60_000);
    await store.create('b', makeRecord(Date.now(), { sid: 's2', user: { sub: 'u1' } }), 60_000);
    expect(await store.keysBySid('s1')).toEqual(['a']);
    expect((await store.keysBySub('u1')).sort()).toEqual(['a', 'b']);
    await store.delete('a');
    expect(await store.keysBySid('s1')).toEqual([]);
    expect(await store.keysBySub('u1')).toEqual(['b']);
  });

  it('moves a session between sid indexes when an update changes its sid', async () => {
    const store = open();
    await store.create('a', makeRecord(Date.now(), { sid: null }), 60_000);
    await store.update('a', makeRecord(Date.now(), { sid: 's9', version: 2 }), 1, 60_000);
    expect(await store.keysBySid('s9')).toEqual(['a']);
  });

  it('grants a lock to one holder at a time until it is released', async () => {
    const store = open();
    const first = await store.lock('k', 10_000);
    expect(first).not.toBeNull();
    expect(await store.lock('k', 10_000)).toBeNull();
    await first!.release();
    expect(await store.lock('k', 10_000)).not.toBeNull();
  });

  it('lets a lock expire, and a stale holder cannot release the new holder’s lock', async () => {
    const c = clock();
    const store = open({ now: c.now });
    const stale = await store.lock('k', 1000);
    c.advance(1000);
    const fresh = await store.lock('k', 1000);
    expect(fresh).not.toBeNull();
    await stale!.release();
    expect(await store.lock('k', 1000)).toBeNull();
  });
});
