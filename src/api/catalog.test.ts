/**
 * The videos, channels and keywords methods changed or added after comparing with the official
 * PHP client, with an injected fetch: exact request keys, bodies and the answers' normalisation.
 */
import { describe, expect, it } from 'vitest';
import { isVmproError } from '../errors.js';
import { createVmproApiClient } from './client.js';
import { isVmproApiError } from './errors.js';
import { failure } from './failure.test-helper.js';
import { type Answer, empty, json, networkError, scriptFetch } from './fake-fetch.test-helper.js';
import { fixedToken } from './fixed-token.js';

const BASE = 'https://api.example.test';

function client(...answers: Answer[]) {
  const script = scriptFetch(...answers);
  const api = createVmproApiClient({
    baseUrl: BASE,
    tokenSource: fixedToken('t0k3n'),
    fetch: script.fetch,
    retry: 0,
  });
  return { api, calls: script.calls };
}

const target = (call: { url: URL } | undefined) => (call?.url.pathname ?? '') + (call?.url.search ?? '');

describe('videos.list filters from the PHP client', () => {
  it('sends videoId as repeated video_id and metadataSetKey as metadata_set_key', async () => {
    const { api, calls } = client(json(200, { total: 0, videos: [] }));
    await api.videos.list(319, { videoId: ['a', 'b'], metadataSetKey: 'de' });
    expect(target(calls[0])).toBe('/v1/vms/319/videos?video_id=a&video_id=b&metadata_set_key=de');
  });
});

describe('videos.count', () => {
  it('asks for limit=0 with the filters and returns total', async () => {
    const { api, calls } = client(json(200, { total: 42, videos: [] }));
    expect(
      await api.videos.count(319, { channelId: [1, 2], publicationState: 'published', archivedState: 'ALL' }),
    ).toBe(42);
    expect(target(calls[0])).toBe(
      '/v1/vms/319/videos?channel_id=1&channel_id=2&publication_state=published&archivedState=ALL&limit=0',
    );
  });

  it('ignores offset and limit in the filters', async () => {
    const { api, calls } = client(json(200, { total: 3, videos: [] }));
    await api.videos.count(319, { offset: 10, limit: 5 });
    expect(target(calls[0])).toBe('/v1/vms/319/videos?limit=0');
  });

  it('fails with a VmproApiError when the answer has no numeric total', async () => {
    const { api } = client(json(200, { videos: [] }));
    const error = await failure(api.videos.count(319));
    expect(isVmproApiError(error)).toBe(true);
    expect(error.message).toMatch(/without a numeric total/);
  });
});

describe('videos.get', () => {
  it('sends relatedVideosChannelId as related_videos_channel_id', async () => {
    const { api, calls } = client(json(200, { id: 'v1' }));
    await api.videos.get(319, 'v1', { relatedVideosChannelId: 12 });
    expect(target(calls[0])).toBe('/v1/vms/319/videos/v1?related_videos_channel_id=12');
  });
});

describe('videos.create', () => {
  it('leaves out undefined, null, empty strings and empty lists, but sends false and 0', async () => {
    const { api, calls } = client(empty(201, { location: `${BASE}/v1/vms/319/videos/new1` }));
    await api.videos.create(319, {
      fileName: 'a.mp4',
      title: '',
      description: null,
      keywords: [],
      channel: 0,
      group: undefined,
      autoPublish: false,
    });
    expect(JSON.parse(calls[0]?.body ?? 'null')).toEqual({
      fileName: 'a.mp4',
      channel: 0,
      autoPublish: false,
    });
  });

  it('sends a string owner group as it is', async () => {
    const { api, calls } = client(empty(201, { location: `${BASE}/v1/vms/319/videos/new2` }));
    await api.videos.create(319, { fileName: 'a.mp4', group: '27', keywords: ['x'] });
    expect(JSON.parse(calls[0]?.body ?? 'null')).toEqual({ fileName: 'a.mp4', group: '27', keywords: ['x'] });
  });
});

const tree = {
  id: 1,
  name: 'Root',
  parentId: null,
  children: [
    {
      id: 2,
      name: 'A',
      parentId: 1,
      children: [{ id: 4, name: 'A1', parentId: 2, description: null, children: [] }],
    },
    { id: 3, name: 'B', parentId: 1, children: [] },
  ],
};

describe('channels.get', () => {
  it('finds a nested channel by ID in the tree, with its subtree', async () => {
    const { api, calls } = client(json(200, tree));
    expect(await api.channels.get(319, 4, { locale: 'de' })).toEqual({
      id: 4,
      name: 'A1',
      parentId: 2,
      description: null,
      children: [],
    });
    expect(target(calls[0])).toBe('/v1/vms/319/channels?locale=de');
  });

  it('returns the root itself for its own ID', async () => {
    const { api } = client(json(200, tree));
    expect((await api.channels.get(319, 1)).name).toBe('Root');
  });

  it('is a VmproApiError with status 404 when the channel is not in the tree', async () => {
    const { api } = client(json(200, tree));
    const error = await failure(api.channels.get(319, 99));
    expect(isVmproApiError(error) && error.status === 404).toBe(true);
    expect(error.message).toMatch(/channel 99 is not in the channel tree of VideoManager 319/);
  });
});

describe('channels.addVideo / removeVideo take { channelId, videoId }', () => {
  it('puts the named IDs in their places of the path', async () => {
    const { api, calls } = client(empty(200), empty(200));
    await api.channels.addVideo(319, { videoId: 'v1', channelId: 42 });
    await api.channels.removeVideo(319, { channelId: 42, videoId: 'v1' });
    expect(calls.map((call) => `${call.method} ${target(call)}`)).toEqual([
      'POST /v1/vms/319/channels/42/videos/v1',
      'DELETE /v1/vms/319/channels/42/videos/v1',
    ]);
  });

  it('refuses the old positional form with a clear error and sends nothing', async () => {
    const { api, calls } = client();
    const old = api.channels.addVideo as unknown as (
      vm: number,
      channel: number,
      video: string,
    ) => Promise<void>;
    const error = await failure(old(319, 42, 'v1'));
    expect(isVmproError(error, 'VMPRO_CONFIG_INVALID')).toBe(true);
    expect(error.message).toMatch(/\{ channelId, videoId \}/);
    expect(calls).toHaveLength(0);
  });
});

describe('keywords.replace', () => {
  it('lists, deletes each old keyword, then adds each new text once (trimmed, empties dropped)', async () => {
    const { api, calls } = client(
      json(200, [
        { id: 7, text: 'old1' },
        { id: 8, text: 'old2' },
      ]),
      empty(204),
      empty(204),
      json(200, { id: 9, text: 'new' }),
      json(200, { id: 10, text: 'other' }),
    );
    const added = await api.keywords.replace(319, 'v1', [' new ', 'other', '', 'new'], { metadataSetId: 3 });
    expect(added).toEqual([
      { id: 9, text: 'new' },
      { id: 10, text: 'other' },
    ]);
    expect(calls.map((call) => `${call.method} ${target(call)} ${call.body ?? ''}`.trim())).toEqual([
      'GET /v1/vms/319/videos/v1/keywords',
      'DELETE /v1/vms/319/videos/v1/keywords/7?metadata_set_id=3',
      'DELETE /v1/vms/319/videos/v1/keywords/8?metadata_set_id=3',
      'POST /v1/vms/319/videos/v1/keywords?metadata_set_id=3 {"text":"new"}',
      'POST /v1/vms/319/videos/v1/keywords?metadata_set_id=3 {"text":"other"}',
    ]);
  });

  it('stops at the first failure and throws its error, leaving the rest undone (not atomic)', async () => {
    const { api, calls } = client(
      json(200, [
        { id: 7, text: 'old1' },
        { id: 8, text: 'old2' },
      ]),
      empty(204),
      json(503, { message: 'down' }),
    );
    const error = await failure(api.keywords.replace(319, 'v1', ['new']));
    expect(isVmproApiError(error) && error.status === 503).toBe(true);
    expect(calls).toHaveLength(3);
  });

  it('refuses a list with a non-string before sending anything', async () => {
    const { api, calls } = client(networkError());
    const error = await failure(api.keywords.replace(319, 'v1', ['ok', 5 as unknown as string]));
    expect(isVmproError(error, 'VMPRO_CONFIG_INVALID')).toBe(true);
    expect(calls).toHaveLength(0);
  });
});
