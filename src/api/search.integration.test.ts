/**
 * Search, count, video details and the channel/keyword methods against the emulator over real
 * sockets (127.0.0.1, port 0), with a token from the emulator's login server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { anonymousToken } from '../../test/support/tokens.js';
import { type RunningEmulator, startEmulator } from '../emulator/index.js';
import { createVmproApiClient, type VmproApiClient } from './client.js';
import { VmproApiError } from './errors.js';
import { failure } from './failure.test-helper.js';
import { fixedToken } from './fixed-token.js';
import { searchQuery } from './search-query.js';

let emulator: RunningEmulator;
let api: VmproApiClient;
/** The demo user's first VideoManager (60 seeded videos, 9 channels). */
const VM = 1001;

beforeAll(async () => {
  emulator = await startEmulator();
  api = createVmproApiClient({
    baseUrl: emulator.apiBase,
    tokenSource: fixedToken(await anonymousToken(emulator.issuer)),
    timeoutMs: 10_000,
  });
});

afterEach(() => {
  emulator.api.clearFaults();
});

afterAll(async () => {
  await emulator?.close();
});

describe('search.videos over a socket', () => {
  it('filters with a built query: every hit matches, and the count is the filtered one', async () => {
    const all = await api.search.videos(VM, { size: 0 });
    const page = await api.search.videos(VM, {
      query: searchQuery().field('title', 'webinar').and().published(true),
      size: 100,
    });
    expect(page.total).toBeGreaterThan(0);
    expect(page.total).toBeLessThan(all.total);
    for (const doc of page.result) {
      expect(doc.title?.toLowerCase()).toContain('webinar');
      expect(doc.published).toBe(true);
      expect(doc.videoManagerId).toBe(VM);
      expect(typeof doc.createdDate).toBe('string');
    }
  });

  it('channels([a, b]) finds the videos of either channel', async () => {
    const page = await api.search.videos(VM, { query: searchQuery().channels([101, 113]), size: 100 });
    expect(page.total).toBeGreaterThan(0);
    expect(page.result.every((doc) => doc.channels.includes(101) || doc.channels.includes(113))).toBe(true);
  });

  it('finds a title full of reserved characters by exact value, and nothing else', async () => {
    const title = 'Q&A: C++ (part 1/2) "live" <now> [draft] ~50% AND more?*';
    const id = await api.videos.create(VM, { fileName: 'tricky.mp4', title });
    const page = await api.search.videos(VM, { query: searchQuery().field('title', title), size: 100 });
    expect(page.result.map((doc) => doc.id)).toEqual([id]);
    const oneWord = await api.search.videos(VM, { query: searchQuery().field('title', 'C++'), size: 100 });
    expect(oneWord.result.map((doc) => doc.id)).toEqual([id]);
  });

  it('accepts a raw query string', async () => {
    const page = await api.search.videos(VM, {
      query: 'published:false OR title:"Customer story"',
      size: 100,
    });
    expect(page.total).toBeGreaterThan(0);
  });

  it('sorts by orderBy/order', async () => {
    const page = await api.search.videos(VM, { orderBy: 'title', order: 'asc', size: 30 });
    const titles = page.result.map((doc) => (doc.title ?? '').toLowerCase());
    expect(titles).toEqual([...titles].sort());
  });

  it('iterateVideos yields every hit exactly once across pages', async () => {
    const query = searchQuery().published(true);
    const { total } = await api.search.videos(VM, { query, size: 0 });
    const searches = () => emulator.api.counters().requests['POST /v1/vms/search'] ?? 0;
    const before = searches();
    const ids: string[] = [];
    for await (const doc of api.search.iterateVideos(VM, { query, pageSize: 7 })) ids.push(doc.id);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    expect(searches() - before).toBe(Math.ceil(total / 7));
  });

  it('is a 403 VmproApiError for a VideoManager the user cannot reach', async () => {
    const error = (await failure(api.search.videos(1003))) as VmproApiError;
    expect(error).toBeInstanceOf(VmproApiError);
    expect(error.status).toBe(403);
    expect(error.hint).toMatch(/no access/);
  });

  it('is a 400 VmproApiError naming the place for a malformed raw query', async () => {
    const error = (await failure(api.search.videos(VM, { query: '(title:a' }))) as VmproApiError;
    expect(error.status).toBe(400);
    expect(error.apiMessage).toMatch(/malformed at character/);
  });

  it('reports an injected 503 without retrying the POST', async () => {
    emulator.api.addFault({ method: 'POST', path: '/v1/vms/search', kind: 'status', status: 503, times: 1 });
    const error = (await failure(api.search.videos(VM))) as VmproApiError;
    expect(error.status).toBe(503);
    expect(error.retryable).toBe(true);
    expect((await api.search.videos(VM, { size: 1 })).result).toHaveLength(1);
  });
});

describe('search.channels over a socket', () => {
  it('finds channels by name, flat with parentId', async () => {
    const page = await api.search.channels(VM, { query: searchQuery().phrase('name', 'Trade Fairs') });
    expect(page.result).toEqual([
      expect.objectContaining({ id: 112, parentId: 101, name: 'Trade Fairs', videoManagerId: VM }),
    ]);
  });

  it('iterateChannels yields the whole tree’s channels', async () => {
    const ids: number[] = [];
    for await (const channel of api.search.iterateChannels(VM, { pageSize: 4 })) ids.push(channel.id);
    const tree = await api.channels.tree(VM);
    const treeIds = (c: { id: number; children?: unknown[] | undefined }): number[] => [
      c.id,
      ...(c.children ?? []).flatMap((child) => treeIds(child as typeof c)),
    ];
    expect([...ids].sort()).toEqual(treeIds(tree).sort());
  });
});

describe('videos over a socket', () => {
  it('count() equals list().total for the same filters, and counts fewer with a filter', async () => {
    const filters = { publicationState: 'published' as const, channelId: [101], includeSubChannels: true };
    const count = await api.videos.count(VM, filters);
    expect(count).toBe((await api.videos.list(VM, { ...filters, limit: 1 })).total);
    expect(count).toBeLessThan(await api.videos.count(VM));
    expect(count).toBeGreaterThan(0);
  });

  it('list({ videoId }) returns just those videos', async () => {
    const { videos } = await api.videos.list(VM, { limit: 2 });
    const ids = videos.map((video) => video.id);
    const page = await api.videos.list(VM, { videoId: ids });
    expect(page.total).toBe(2);
    expect(page.videos.map((video) => video.id).sort()).toEqual([...ids].sort());
  });

  it('list({ metadataSetKey }) takes a known key; an unknown one is a 404', async () => {
    expect((await api.videos.list(VM, { metadataSetKey: 'de', limit: 1 })).videos).toHaveLength(1);
    const error = (await failure(api.videos.list(VM, { metadataSetKey: 'xx' }))) as VmproApiError;
    expect(error.status).toBe(404);
  });

  it('get() returns details with stills (with dimensions), keywords, channels and epoch-ms dates', async () => {
    const [first] = (await api.videos.list(VM, { limit: 1, publicationState: 'published' })).videos;
    const video = await api.videos.get(VM, first!.id, {
      includeKeywords: true,
      includeChannelAssignments: true,
      includeCustomMetadata: true,
      relatedVideosChannelId: 101,
    });
    expect(typeof video.createdDate).toBe('number');
    expect(video.stills?.[0]?.dimension).toEqual({ width: expect.any(Number), height: expect.any(Number) });
    expect(video.keywords?.every((k) => typeof k.id === 'number' && typeof k.text === 'string')).toBe(true);
    expect(video.channels?.every((c) => typeof c.id === 'number' && typeof c.name === 'string')).toBe(true);
    expect(typeof video.customMetadata).toBe('object');
  });

  it('get({ relatedVideosChannelId }) with a channel that does not exist is a 404', async () => {
    const [first] = (await api.videos.list(VM, { limit: 1, publicationState: 'published' })).videos;
    const error = (await failure(
      api.videos.get(VM, first!.id, { relatedVideosChannelId: 999_999 }),
    )) as VmproApiError;
    expect(error.status).toBe(404);
  });

  it('create() leaves out empty values and takes a string owner group', async () => {
    const id = await api.videos.create(VM, {
      fileName: 'empty-values.mp4',
      title: '',
      description: null,
      keywords: [],
      group: '27',
      autoPublish: false,
    });
    const video = await api.videos.get(VM, id, { ignorePublicationState: true, includeKeywords: true });
    expect(video.title).toBe('empty-values'); // the emulator's default when no title is sent
    expect(video.ownershipGroupId).toBe(27);
    expect(video.keywords).toEqual([]);
  });
});

describe('channels and keywords over a socket', () => {
  it('channels.get finds a grandchild of the root; an unknown ID is a 404', async () => {
    const channel = await api.channels.get(VM, 110);
    expect(channel).toMatchObject({ id: 110, name: 'Launch 2024', parentId: 103 });
    const error = (await failure(api.channels.get(VM, 424_242))) as VmproApiError;
    expect(error).toBeInstanceOf(VmproApiError);
    expect(error.status).toBe(404);
  });

  it('channels.addVideo / removeVideo with { channelId, videoId }', async () => {
    const videoId = await api.videos.create(VM, { fileName: 'link.mp4' });
    await api.channels.addVideo(VM, { channelId: 112, videoId });
    const inIt = await api.videos.get(VM, videoId, {
      ignorePublicationState: true,
      includeChannelAssignments: true,
    });
    expect(inIt.channels?.map((c) => c.id)).toContain(112);
    await api.channels.removeVideo(VM, { channelId: 112, videoId });
    const out = await api.videos.get(VM, videoId, {
      ignorePublicationState: true,
      includeChannelAssignments: true,
    });
    expect(out.channels?.map((c) => c.id) ?? []).not.toContain(112);
  });

  it('keywords.replace leaves exactly the new texts', async () => {
    const videoId = await api.videos.create(VM, { fileName: 'kw-replace.mp4', keywords: ['old-a', 'old-b'] });
    const added = await api.keywords.replace(VM, videoId, ['new-a', 'new-b', 'new-a']);
    expect(added.map((k) => k.text)).toEqual(['new-a', 'new-b']);
    expect((await api.keywords.list(VM, videoId)).map((k) => k.text).sort()).toEqual(['new-a', 'new-b']);
  });

  it('keywords.replace stopped by a failure leaves a partial state that a second call completes', async () => {
    const videoId = await api.videos.create(VM, { fileName: 'kw-partial.mp4', keywords: ['old-a', 'old-b'] });
    emulator.api.addFault({
      method: 'POST',
      path: '/v1/vms/*/videos/*/keywords',
      kind: 'status',
      status: 503,
      times: 1,
    });
    const error = (await failure(api.keywords.replace(VM, videoId, ['new-a']))) as VmproApiError;
    expect(error.status).toBe(503);
    expect(await api.keywords.list(VM, videoId)).toEqual([]); // old ones deleted, new one not added
    await api.keywords.replace(VM, videoId, ['new-a']);
    expect((await api.keywords.list(VM, videoId)).map((k) => k.text)).toEqual(['new-a']);
  });
});
