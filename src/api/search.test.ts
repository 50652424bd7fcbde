/**
 * `api.search` with an injected fetch: the exact JSON body of each request (the keys of
 * PHP-CLIENT's SearchEndpointTrait), paging of the iterators, and reading the answers.
 */
import { describe, expect, it } from 'vitest';
import { isVmproError } from '../errors.js';
import { createVmproApiClient } from './client.js';
import { VmproApiError } from './errors.js';
import { failure } from './failure.test-helper.js';
import { type Answer, json, scriptFetch } from './fake-fetch.test-helper.js';
import { fixedToken } from './fixed-token.js';
import { searchQuery } from './search-query.js';

const BASE = 'https://api.example.test';

function client(...answers: Answer[]) {
  const script = scriptFetch(...answers);
  const api = createVmproApiClient({ baseUrl: BASE, tokenSource: fixedToken('t0k3n'), fetch: script.fetch });
  return { api, calls: script.calls, remaining: script.remaining };
}

const doc = (id: string) => ({
  videoManagerId: 319,
  id,
  createdDate: '2017-09-07T13:20:19Z',
  channels: [],
  keywords: [],
});
const bodyOf = (call: { body: string | undefined }) =>
  JSON.parse(call.body ?? 'null') as Record<string, unknown>;

describe('search.videos', () => {
  it('POSTs /v1/vms/search with documentType, videoManagerIds, the built query and every option', async () => {
    const { api, calls } = client(json(200, { total: 1, result: [doc('a')] }));
    const query = searchQuery().field('title', 'foo').and().channels([1, 2]).and().published(true);
    await api.search.videos(319, {
      query,
      from: 20,
      size: 10,
      orderBy: 'createdDate',
      order: 'desc',
      metaDataSetKey: 'de',
    });
    expect(calls[0]?.method).toBe('POST');
    expect(calls[0]?.url.pathname).toBe('/v1/vms/search');
    expect(calls[0]?.url.search).toBe('');
    expect(calls[0]?.headers.get('content-type')).toBe('application/json');
    expect(bodyOf(calls[0]!)).toEqual({
      documentType: 'video',
      videoManagerIds: [319],
      query: 'title:foo AND channels:1,2 AND published:true',
      from: 20,
      size: 10,
      orderBy: 'createdDate',
      order: 'desc',
      metaDataSetKey: 'de',
    });
  });

  it('sends a raw query string as it is, and an empty query when none is given', async () => {
    const { api, calls } = client(json(200, { total: 0, result: [] }), json(200, { total: 0, result: [] }));
    await api.search.videos('319', { query: 'channels:7 OR title:x*' });
    await api.search.videos(319);
    expect(bodyOf(calls[0]!)).toEqual({
      documentType: 'video',
      videoManagerIds: [319],
      query: 'channels:7 OR title:x*',
    });
    expect(bodyOf(calls[1]!)).toEqual({ documentType: 'video', videoManagerIds: [319], query: '' });
  });

  it('returns {total, result} in the search form, converting other forms', async () => {
    const { api } = client(
      json(200, {
        total: '2',
        result: [
          {
            videoManagerId: '319',
            id: 'a',
            createdDate: 1504790419000,
            length: 4120,
            channels: [{ id: 7, name: 'X' }],
            keywords: [{ id: 1, text: 'k' }],
          },
          doc('b'),
        ],
      }),
    );
    const page = await api.search.videos(319);
    expect(page.total).toBe(2);
    expect(page.result[0]).toMatchObject({
      videoManagerId: 319,
      id: 'a',
      createdDate: '2017-09-07T13:20:19.000Z',
      duration: 4120,
      channels: [7],
      keywords: ['k'],
    });
    expect(page.result[1]).toEqual(doc('b'));
  });

  it('fails with a VmproApiError when the answer is not {total, result}', async () => {
    const { api } = client(json(200, { videos: [] }));
    const error = await failure(api.search.videos(319));
    expect(error).toBeInstanceOf(VmproApiError);
    expect(error.message).toMatch(
      /POST \/v1\/vms\/search answered 200 with a body that is not a search answer/,
    );
  });

  it('refuses bad options before sending anything', async () => {
    const { api, calls } = client();
    for (const bad of [
      api.search.videos('abc'),
      api.search.videos(319, { size: -1 }),
      api.search.videos(319, { from: 1.5 }),
      api.search.videos(319, { order: 'up' as 'asc' }),
      api.search.videos(319, { query: 42 as unknown as string }),
      api.search.videos(319, { orderBy: '' }),
    ]) {
      expect(isVmproError(await bad.catch((e: unknown) => e), 'VMPRO_CONFIG_INVALID')).toBe(true);
    }
    expect(calls).toHaveLength(0);
  });
});

describe('search.channels', () => {
  it('POSTs documentType "channel" and reads flat channel documents', async () => {
    const { api, calls } = client(
      json(200, {
        total: 1,
        result: [{ videoManagerId: 319, id: '4450', parentId: '4396', name: 'iTraining' }],
      }),
    );
    const page = await api.search.channels(319, { query: searchQuery().field('name', 'iTraining'), size: 5 });
    expect(bodyOf(calls[0]!)).toEqual({
      documentType: 'channel',
      videoManagerIds: [319],
      query: 'name:iTraining',
      size: 5,
    });
    expect(page.result).toEqual([
      { videoManagerId: 319, id: 4450, parentId: 4396, name: 'iTraining', description: null },
    ]);
  });
});

describe('search iterators', () => {
  const page = (ids: string[], total: number) => json(200, { total, result: ids.map(doc) });

  it('iterateVideos pages with from/size until total and yields every hit once', async () => {
    const { api, calls } = client(page(['a', 'b'], 5), page(['c', 'd'], 5), page(['e'], 5));
    const ids: string[] = [];
    for await (const hit of api.search.iterateVideos(319, { query: 'published:true', pageSize: 2 }))
      ids.push(hit.id);
    expect(ids).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(calls.map((call) => [bodyOf(call)['from'], bodyOf(call)['size']])).toEqual([
      [0, 2],
      [2, 2],
      [4, 2],
    ]);
    expect(calls.every((call) => bodyOf(call)['query'] === 'published:true')).toBe(true);
  });

  it('advances by what came back when the server caps size, and starts at from', async () => {
    const { api, calls } = client(page(['c'], 3), page(['d'], 3));
    const ids: string[] = [];
    for await (const hit of api.search.iterateVideos(319, { from: 1, pageSize: 50 })) ids.push(hit.id);
    expect(ids).toEqual(['c', 'd']);
    expect(calls.map((call) => bodyOf(call)['from'])).toEqual([1, 2]);
  });

  it('stops at an empty page even when total promises more', async () => {
    const { api, calls } = client(page(['a'], 10), page([], 10));
    const ids: string[] = [];
    for await (const hit of api.search.iterateVideos(319)) ids.push(hit.id);
    expect(ids).toEqual(['a']);
    expect(calls).toHaveLength(2);
  });

  it('iterateChannels sends documentType "channel" and sends nothing more once the caller stops', async () => {
    const { api, calls, remaining } = client(
      json(200, {
        total: 4,
        result: [
          { videoManagerId: 1, id: 1, parentId: null, name: 'r' },
          { videoManagerId: 1, id: 2, parentId: 1, name: 'c' },
        ],
      }),
      json(200, { total: 4, result: [] }),
    );
    for await (const channel of api.search.iterateChannels(1, { pageSize: 2 })) {
      if (channel.id === 1) break;
    }
    expect(calls).toHaveLength(1);
    expect(remaining()).toBe(1);
    expect(bodyOf(calls[0]!)['documentType']).toBe('channel');
  });
});
