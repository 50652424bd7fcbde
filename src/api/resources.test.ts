import { describe, expect, it } from 'vitest';
import { isVmproError } from '../errors.js';
import { createVmproApiClient, type VmproApiClient } from './client.js';
import { VmproApiError } from './errors.js';
import { type Answer, empty, json, scriptFetch } from './fake-fetch.test-helper.js';
import { fixedToken } from './fixed-token.js';

const BASE = 'https://api.example.test';

function client(...answers: Answer[]) {
  const script = scriptFetch(...answers);
  const api = createVmproApiClient({ baseUrl: BASE, tokenSource: fixedToken('t0k3n'), fetch: script.fetch });
  return { api, calls: script.calls };
}

interface Case {
  name: string;
  call: (api: VmproApiClient) => Promise<unknown>;
  answer: Response;
  method: string;
  /** Path and query as sent. */
  target: string;
  body?: unknown;
  result: unknown;
}

const video = { id: 'v1', title: 'One', createdDate: 1_700_000_000_000, length: 600_000 };

const cases: Case[] = [
  {
    name: 'vms.list',
    call: (api) => api.vms.list(),
    answer: json(200, [{ id: 319, name: 'Main' }]),
    method: 'GET',
    target: '/v1/vms',
    result: [{ id: 319, name: 'Main' }],
  },
  {
    name: 'vms.players',
    call: (api) => api.vms.players(319),
    answer: json(200, [{ id: 'p1', name: 'Default', active: true }]),
    method: 'GET',
    target: '/v1/vms/319/players',
    result: [{ id: 'p1', name: 'Default', active: true }],
  },
  {
    name: 'videos.list with every filter',
    call: (api) =>
      api.videos.list(319, {
        offset: 10,
        limit: 5,
        order: 'asc',
        orderProperty: 'created_date',
        channelId: [1, 2],
        includeSubChannels: true,
        publicationState: 'not_published',
        audioOnly: false,
        archivedState: 'NOT_ARCHIVED',
        searchTerm: ['cats', 'dogs'],
        searchInField: 'title',
        exactString: true,
        includeCustomMetadata: true,
        customMetadataField: ['genre', 'rating'],
        includeKeywords: true,
        includeChannelAssignments: false,
        includeOwner: true,
        locale: 'de',
      }),
    answer: json(200, { total: 11, videos: [video] }),
    method: 'GET',
    target:
      '/v1/vms/319/videos?offset=10&limit=5&order=asc&order_property=created_date&channel_id=1&channel_id=2' +
      '&include_sub_channels=true&publication_state=not_published&audio_only=false&archivedState=NOT_ARCHIVED' +
      '&search_term=cats&search_term=dogs&search_in_field=title&exact_string=true&include_custom_metadata=true' +
      '&custom_metadata_field=genre&custom_metadata_field=rating&include_keywords=true' +
      '&include_channel_assignments=false&include_owner=true&locale=de',
    result: { total: 11, videos: [video] },
  },
  {
    name: 'videos.list without filters',
    call: (api) => api.videos.list(319),
    answer: json(200, { total: 0, videos: [] }),
    method: 'GET',
    target: '/v1/vms/319/videos',
    result: { total: 0, videos: [] },
  },
  {
    name: 'videos.get (custom metadata fields comma-separated)',
    call: (api) =>
      api.videos.get(319, 'v1', {
        includeCustomMetadata: true,
        customMetadataField: ['genre', 'rating'],
        includeKeywords: true,
        includeChannelAssignments: true,
        includeOwner: false,
        ignorePublicationState: true,
        metadataSetId: 4,
      }),
    answer: json(200, video),
    method: 'GET',
    target:
      '/v1/vms/319/videos/v1?include_custom_metadata=true&include_keywords=true&include_channel_assignments=true' +
      '&include_owner=false&ignore_publication_state=true&metadata_set_id=4&custom_metadata_field=genre%2Crating',
    result: video,
  },
  {
    name: 'videos.create returns the id from Location',
    call: (api) =>
      api.videos.create(319, {
        fileName: 'talk.mp4',
        title: 'Talk',
        keywords: ['a'],
        channel: 5,
        autoPublish: true,
      }),
    answer: empty(201, { location: `${BASE}/v1/vms/319/videos/1wGJbtN7QPwkAkd8_VcgKH` }),
    method: 'POST',
    target: '/v1/vms/319/videos',
    body: { fileName: 'talk.mp4', title: 'Talk', keywords: ['a'], channel: 5, autoPublish: true },
    result: '1wGJbtN7QPwkAkd8_VcgKH',
  },
  {
    name: 'videos.update',
    call: (api) =>
      api.videos.update(319, 'v1', { title: 'New', scheduledTrashDate: null }, { metadataSetId: 2 }),
    answer: empty(204),
    method: 'PATCH',
    target: '/v1/vms/319/videos/v1?metadata_set_id=2',
    body: { title: 'New', scheduledTrashDate: null },
    result: undefined,
  },
  {
    name: 'videos.delete',
    call: (api) => api.videos.delete(319, 'v1'),
    answer: empty(204),
    method: 'DELETE',
    target: '/v1/vms/319/videos/v1',
    result: undefined,
  },
  {
    name: 'videos.downloadUrls',
    call: (api) => api.videos.downloadUrls(319, 'v1', { fileNameTemplate: '%{QUALITY}.%{FILE_EXTENSION}' }),
    answer: json(200, [{ quality: '720p', profileKey: 'mp4-720', fileExtension: 'mp4', url: 'https://d/x' }]),
    method: 'GET',
    target:
      '/v1/vms/319/videos/v1/download-urls?download_file_name_template=%25%7BQUALITY%7D.%25%7BFILE_EXTENSION%7D',
    result: [{ quality: '720p', profileKey: 'mp4-720', fileExtension: 'mp4', url: 'https://d/x' }],
  },
  {
    name: 'videos.embedCodes (embed type under both names, channelId camelCase on the wire)',
    call: (api) =>
      api.videos.embedCodes(319, 'v1', {
        playerDefinitionId: 'p1',
        embedType: 'iframe',
        channelId: 5,
        tokenLifetimeInSeconds: 600,
      }),
    answer: json(200, { embedCode: '<iframe></iframe>' }),
    method: 'GET',
    target:
      '/v1/vms/319/videos/v1/embed-codes?player_definition_id=p1&embedType=iframe&embed_type=iframe&channelId=5&token_lifetime_in_seconds=600',
    result: { embedCode: '<iframe></iframe>' },
  },
  {
    name: 'videos.transcodingStatus',
    call: (api) => api.videos.transcodingStatus(319, 'v1'),
    answer: json(200, [
      { quality: '360p', profileKey: 'mp4-360', fileExtension: 'mp4', transcodingCompleted: true },
    ]),
    method: 'GET',
    target: '/v1/vms/319/videos/v1/transcoding-status',
    result: [{ quality: '360p', profileKey: 'mp4-360', fileExtension: 'mp4', transcodingCompleted: true }],
  },
  {
    name: 'videos.thumbnails',
    call: (api) => api.videos.thumbnails(319, 'v1'),
    answer: json(200, [{ id: 1, active: true, items: [] }]),
    method: 'GET',
    target: '/v1/vms/319/videos/v1/thumbnails',
    result: [{ id: 1, active: true, items: [] }],
  },
  {
    name: 'videos.uploadUrl reads Location',
    call: (api) => api.videos.uploadUrl(319, 'v1'),
    answer: empty(201, { location: 'https://asset-in.example.test/chunks/vms/319/videos/v1?__token__=1~ab' }),
    method: 'GET',
    target: '/v1/vms/319/videos/v1/url',
    result: 'https://asset-in.example.test/chunks/vms/319/videos/v1?__token__=1~ab',
  },
  {
    name: 'channels.tree',
    call: (api) => api.channels.tree(319, { locale: 'en', videoId: 'v1' }),
    answer: json(200, { id: 1, name: 'root', children: [{ id: 2, name: 'A', children: [] }] }),
    method: 'GET',
    target: '/v1/vms/319/channels?locale=en&videoId=v1',
    result: { id: 1, name: 'root', children: [{ id: 2, name: 'A', children: [] }] },
  },
  {
    name: 'channels.create returns the numeric id from Location',
    call: (api) => api.channels.create(319, { name: 'News', parentId: 1 }),
    answer: empty(201, { location: '/v1/vms/319/channels/42' }),
    method: 'POST',
    target: '/v1/vms/319/channels',
    body: { name: 'News', parentId: 1 },
    result: 42,
  },
  {
    name: 'channels.addVideo',
    call: (api) => api.channels.addVideo(319, { channelId: 42, videoId: 'v1' }),
    answer: empty(200),
    method: 'POST',
    target: '/v1/vms/319/channels/42/videos/v1',
    result: undefined,
  },
  {
    name: 'channels.removeVideo',
    call: (api) => api.channels.removeVideo(319, { channelId: 42, videoId: 'v1' }),
    answer: empty(200),
    method: 'DELETE',
    target: '/v1/vms/319/channels/42/videos/v1',
    result: undefined,
  },
  {
    name: 'keywords.list',
    call: (api) => api.keywords.list(319, 'v1'),
    answer: json(200, [{ id: 7, text: 'cats' }]),
    method: 'GET',
    target: '/v1/vms/319/videos/v1/keywords',
    result: [{ id: 7, text: 'cats' }],
  },
  {
    name: 'keywords.add',
    call: (api) => api.keywords.add(319, 'v1', 'cats', { metadataSetId: 2 }),
    answer: json(200, { id: 7, text: 'cats' }),
    method: 'POST',
    target: '/v1/vms/319/videos/v1/keywords?metadata_set_id=2',
    body: { text: 'cats' },
    result: { id: 7, text: 'cats' },
  },
  {
    name: 'keywords.add tolerates 201 with Location and no body',
    call: (api) => api.keywords.add(319, 'v1', 'dogs'),
    answer: empty(201, { location: '/v1/vms/319/videos/v1/keywords/8' }),
    method: 'POST',
    target: '/v1/vms/319/videos/v1/keywords',
    body: { text: 'dogs' },
    result: { id: 8, text: 'dogs' },
  },
  {
    name: 'keywords.remove',
    call: (api) => api.keywords.remove(319, 'v1', 7),
    answer: empty(204),
    method: 'DELETE',
    target: '/v1/vms/319/videos/v1/keywords/7',
    result: undefined,
  },
  {
    name: 'keywords.find',
    call: (api) => api.keywords.find(319, { searchstring: 'ca', type: 'VIDEO' }),
    answer: json(200, [{ id: 7, text: 'cats' }]),
    method: 'GET',
    target: '/v1/vms/319/keyword/find?searchstring=ca&type=VIDEO',
    result: [{ id: 7, text: 'cats' }],
  },
  {
    name: 'metadata.get',
    call: (api) => api.metadata.get(319, 'v1'),
    answer: json(200, { genre: 'news' }),
    method: 'GET',
    target: '/v1/vms/319/videos/v1/metadata',
    result: { genre: 'news' },
  },
  {
    name: 'metadata.patch',
    call: (api) => api.metadata.patch(319, 'v1', { genre: null, rating: '5' }, { metadataSetId: 3 }),
    answer: empty(204),
    method: 'PATCH',
    target: '/v1/vms/319/videos/v1/metadata?metadata_set_id=3',
    body: { genre: null, rating: '5' },
    result: undefined,
  },
];

describe('resource methods', () => {
  it.each(cases)('$name sends $method $target', async (c) => {
    const { api, calls } = client(c.answer);
    expect(await c.call(api)).toEqual(c.result);
    expect(calls).toHaveLength(1);
    const [sent] = calls;
    expect(sent?.method).toBe(c.method);
    expect((sent?.url.pathname ?? '') + (sent?.url.search ?? '')).toBe(c.target);
    if (c.body === undefined) {
      expect(sent?.body).toBeUndefined();
    } else {
      expect(JSON.parse(sent?.body ?? 'null')).toEqual(c.body);
      expect(sent?.headers.get('content-type')).toBe('application/json');
    }
  });

  it('escapes IDs in the path', async () => {
    const { api, calls } = client(json(200, video));
    await api.videos.get(319, 'a/b?c');
    expect(calls[0]?.url.pathname).toBe('/v1/vms/319/videos/a%2Fb%3Fc');
  });

  it('refuses "." and ".." as IDs, which would change the path', async () => {
    const { api, calls } = client(json(200, video));
    await expect(api.videos.get(319, '..')).rejects.toSatisfy((e) => isVmproError(e, 'VMPRO_CONFIG_INVALID'));
    expect(calls).toHaveLength(0);
  });

  it('videos.create fails clearly when the API sends no Location', async () => {
    const { api } = client(empty(201));
    const error = await api.videos.create(319, { fileName: 'a.mp4' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VmproApiError);
    expect((error as Error).message).toMatch(/without a Location header/);
  });

  it('videos.embedCodes needs a playerDefinitionId', async () => {
    const { api } = client();
    await expect(api.videos.embedCodes(319, 'v1', { playerDefinitionId: '' })).rejects.toThrow(
      /playerDefinitionId/,
    );
  });

  it('vms.list accepts a list wrapped in an object', async () => {
    const { api } = client(json(200, { videoManagerList: [{ id: 1, name: 'A' }] }));
    expect(await api.vms.list()).toEqual([{ id: 1, name: 'A' }]);
  });
});

describe('paging', () => {
  const page = (ids: string[], total: number) => json(200, { total, videos: ids.map((id) => ({ id })) });

  it('iterate() walks every page with offset/limit and stops at total', async () => {
    const { api, calls } = client(page(['a', 'b'], 5), page(['c', 'd'], 5), page(['e'], 5));
    const ids: string[] = [];
    for await (const v of api.videos.iterate(319, { publicationState: 'all' }, { pageSize: 2 }))
      ids.push(v.id);
    expect(ids).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(calls.map((c) => c.url.search)).toEqual([
      '?publication_state=all&offset=0&limit=2',
      '?publication_state=all&offset=2&limit=2',
      '?publication_state=all&offset=4&limit=2',
    ]);
  });

  it('iteratePages() yields each page with its offset, starting at filters.offset', async () => {
    const { api } = client(page(['c', 'd'], 5), page(['e'], 5));
    const pages: { offset: number; ids: string[] }[] = [];
    for await (const p of api.videos.iteratePages(319, { offset: 2, limit: 2 })) {
      pages.push({ offset: p.offset, ids: p.videos.map((v) => v.id) });
    }
    expect(pages).toEqual([
      { offset: 2, ids: ['c', 'd'] },
      { offset: 4, ids: ['e'] },
    ]);
  });

  it('advances by what came back when the API caps the page size', async () => {
    const { api, calls } = client(page(['a'], 2), page(['b'], 2));
    const ids: string[] = [];
    for await (const v of api.videos.iterate(319, {}, { pageSize: 100 })) ids.push(v.id);
    expect(ids).toEqual(['a', 'b']);
    expect(calls[1]?.url.searchParams.get('offset')).toBe('1');
  });

  it('stops at an empty page even when total promises more', async () => {
    const { api, calls } = client(page(['a'], 10), page([], 10));
    const ids: string[] = [];
    for await (const v of api.videos.iterate(319)) ids.push(v.id);
    expect(ids).toEqual(['a']);
    expect(calls).toHaveLength(2);
  });

  it('sends nothing more when the caller stops early', async () => {
    const { api, calls } = client(page(['a', 'b'], 4), page(['c', 'd'], 4));
    for await (const v of api.videos.iterate(319, {}, { pageSize: 2 })) {
      if (v.id === 'a') break;
    }
    expect(calls).toHaveLength(1);
  });
});
