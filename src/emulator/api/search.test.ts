/**
 * The emulated legacy search endpoint `POST /v1/vms/search`, and the video-route parameters added
 * with it (`video_id`, `metadata_set_key`, `related_videos_channel_id`, a string `group`).
 */
import { describe, expect, it } from 'vitest';
import { type ApiPrincipal, createVmproApi, DEMO_USERS } from './index.js';

const ORIGIN = 'http://127.0.0.1:4010';
const [demo] = DEMO_USERS;

interface SearchAnswer {
  total: number;
  result: Record<string, unknown>[];
}

function setup() {
  const tokens = new Map<string, ApiPrincipal>([
    ['demo-token', { sub: demo.sub, preferred_username: 'demo', exp: 4_000_000_000 }],
  ]);
  const api = createVmproApi({
    verifyAccessToken: async (token) => tokens.get(token) ?? null,
    origin: () => ORIGIN,
    issuer: () => `${ORIGIN}/auth/realms/platform`,
    now: () => Date.UTC(2025, 5, 2, 12, 0, 0),
  });
  const call = async (method: string, path: string, json?: unknown, token = 'demo-token') => {
    const headers: Record<string, string> = {};
    if (token) headers['authorization'] = `Bearer ${token}`;
    if (json !== undefined) headers['content-type'] = 'application/json';
    const response = await api.handle(
      new Request(`${ORIGIN}${path}`, {
        method,
        headers,
        ...(json !== undefined && { body: JSON.stringify(json) }),
      }),
    );
    if (!response) throw new Error(`handle() returned null for ${path}`);
    return response;
  };
  const search = async (body: Record<string, unknown>): Promise<SearchAnswer> => {
    const response = await call('POST', '/v1/vms/search', { videoManagerIds: [1001], ...body });
    expect(response.status).toBe(200);
    return (await response.json()) as SearchAnswer;
  };
  const everything = (body: Record<string, unknown>) => search({ documentType: 'video', size: 100, ...body });
  return { api, call, search, everything };
}

describe('POST /v1/vms/search for videos', () => {
  it('answers {total, result} with documents in the search form', async () => {
    const { search } = setup();
    const answer = await search({ documentType: 'video', query: '' });
    expect(answer.total).toBe(60);
    expect(answer.result[0]).toMatchObject({
      videoManagerId: 1001,
      id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      duration: expect.any(Number),
      createdDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      channels: expect.arrayContaining([expect.any(Number)]),
      chapters: [],
      overlays: [],
    });
    expect(answer.result[0]).not.toHaveProperty('length');
    expect((answer.result[0]!['keywords'] as unknown[]).every((k) => typeof k === 'string')).toBe(true);
  });

  it('pages with from and size (10 by default), and never repeats a hit', async () => {
    const { search } = setup();
    expect((await search({ documentType: 'video' })).result).toHaveLength(10);
    const ids: unknown[] = [];
    for (let from = 0; from < 60; from += 25) {
      ids.push(...(await search({ documentType: 'video', from, size: 25 })).result.map((doc) => doc['id']));
    }
    expect(ids).toHaveLength(60);
    expect(new Set(ids).size).toBe(60);
  });

  it('cuts size to 100', async () => {
    const { search } = setup();
    expect((await search({ documentType: 'video', size: 1000 })).result).toHaveLength(60);
  });

  it('filters published:true and published:false into two halves of the whole', async () => {
    const { everything } = setup();
    const yes = await everything({ query: 'published:true' });
    const no = await everything({ query: 'published:false' });
    expect(yes.result.every((doc) => doc['published'] === true)).toBe(true);
    expect(no.result.every((doc) => doc['published'] === false)).toBe(true);
    expect(yes.total + no.total).toBe(60);
    expect(no.total).toBeGreaterThan(0);
  });

  it('channels:1,2 keeps videos in either channel', async () => {
    const { everything } = setup();
    const one = await everything({ query: 'channels:101' });
    const two = await everything({ query: 'channels:113' });
    const both = await everything({ query: 'channels:101,113' });
    expect(one.total).toBeGreaterThan(0);
    expect(
      both.result.every((doc) => (doc['channels'] as number[]).some((id) => id === 101 || id === 113)),
    ).toBe(true);
    const union = new Set([...one.result, ...two.result].map((doc) => doc['id']));
    expect(both.total).toBe(union.size);
  });

  it('AND, OR, NOT and parentheses combine as boolean logic', async () => {
    const { everything } = setup();
    const a = new Set((await everything({ query: 'title:webinar' })).result.map((d) => d['id']));
    const b = new Set((await everything({ query: 'published:true' })).result.map((d) => d['id']));
    const and = (await everything({ query: 'title:webinar AND published:true' })).result.map((d) => d['id']);
    const not = (await everything({ query: 'title:webinar AND NOT published:true' })).result.map(
      (d) => d['id'],
    );
    const grouped = await everything({
      query: '(title:webinar OR title:"trade fair") AND NOT published:false',
    });
    expect(a.size).toBeGreaterThan(1);
    expect(and.sort()).toEqual([...a].filter((id) => b.has(id)).sort());
    expect(not.sort()).toEqual([...a].filter((id) => !b.has(id)).sort());
    expect(
      grouped.result.every(
        (doc) => /webinar|trade fair/i.test(String(doc['title'])) && doc['published'] === true,
      ),
    ).toBe(true);
  });

  it('matches a quoted phrase only in that order', async () => {
    const { everything } = setup();
    const phrase = await everything({ query: 'title:"Customer story"' });
    const reversed = await everything({ query: 'title:"story Customer"' });
    expect(phrase.total).toBeGreaterThan(0);
    expect(reversed.total).toBe(0);
  });

  it('reads escaped characters as themselves', async () => {
    const { everything } = setup();
    // Seeded titles look like "Company overview: Onboarding"; the colon must be escaped.
    const answer = await everything({ query: 'title:overview\\:' });
    expect(answer.total).toBeGreaterThan(0);
    expect(answer.result.every((doc) => String(doc['title']).includes('overview:'))).toBe(true);
  });

  it('finds one video by id, and a bare word in any text field', async () => {
    const { everything } = setup();
    const [first] = (await everything({})).result;
    const byId = await everything({ query: `id:${String(first!['id']).replace(/-/g, '\\-')}` });
    expect(byId.result.map((doc) => doc['id'])).toEqual([first!['id']]);
    expect((await everything({ query: 'licence' })).total).toBe(0); // only in custom metadata
    expect((await everything({ query: 'customMetadata.internalNote:licence' })).total).toBeGreaterThan(0);
  });

  it('sorts by orderBy and order, snake_case names too', async () => {
    const { everything } = setup();
    const titles = (await everything({ orderBy: 'title', order: 'asc' })).result.map((d) =>
      String(d['title']).toLowerCase(),
    );
    expect(titles).toEqual([...titles].sort());
    const dates = (await everything({ orderBy: 'created_date', order: 'desc' })).result.map((d) =>
      String(d['createdDate']),
    );
    expect(dates).toEqual([...dates].sort().reverse());
  });

  it('leaves out videos in the trash', async () => {
    const { call, everything } = setup();
    const [first] = (await everything({})).result;
    expect((await call('DELETE', `/v1/vms/1001/videos/${String(first!['id'])}`)).status).toBe(204);
    const after = await everything({});
    expect(after.total).toBe(59);
    expect(after.result.map((doc) => doc['id'])).not.toContain(first!['id']);
  });
});

describe('POST /v1/vms/search for channels', () => {
  it('answers flat channel documents with parentId and a null description for the root', async () => {
    const { search } = setup();
    const answer = await search({ documentType: 'channel', size: 100 });
    expect(answer.total).toBe(9);
    expect(answer.result.find((doc) => doc['id'] === 100)).toEqual({
      videoManagerId: 1001,
      id: 100,
      parentId: null,
      description: null,
      name: 'Demo Marketing',
      customMetadata: {},
    });
  });

  it('filters by parentId and name', async () => {
    const { search } = setup();
    const children = await search({ documentType: 'channel', query: 'parentId:103', size: 100 });
    expect(children.result.map((doc) => doc['id']).sort()).toEqual([110, 111]);
    const named = await search({ documentType: 'channel', query: 'name:"Trade Fairs"' });
    expect(named.result.map((doc) => doc['id'])).toEqual([112]);
  });
});

describe('POST /v1/vms/search refuses what it cannot answer', () => {
  const cases: [string, Record<string, unknown>, number, RegExp][] = [
    ['an unclosed parenthesis', { documentType: 'video', query: '(title:a' }, 400, /not closed/],
    ['an unclosed quote', { documentType: 'video', query: 'title:"a' }, 400, /not closed/],
    ['a dangling AND', { documentType: 'video', query: 'title:a AND' }, 400, /ends where a term/],
    ['a field without a value', { documentType: 'video', query: 'title: AND x' }, 400, /has no value/],
    ['range syntax', { documentType: 'video', query: 'duration:[1 TO 5]' }, 400, /special meaning/],
    [
      'a non-number for channels',
      { documentType: 'video', query: 'channels:abc' },
      400,
      /not a comma-separated/,
    ],
    ['an unknown documentType', { documentType: 'playlist' }, 400, /documentType/],
    ['an unknown orderBy', { documentType: 'video', orderBy: 'colour' }, 400, /orderBy must be one of/],
    ['an unknown order', { documentType: 'video', order: 'up' }, 400, /"asc" or "desc"/],
    ['an unknown body field', { documentType: 'video', limit: 5 }, 400, /Unknown field/],
    ['an unknown metaDataSetKey', { documentType: 'video', metaDataSetKey: 'fr' }, 400, /not a metadata set/],
    ['no VideoManager', { documentType: 'video', videoManagerIds: [] }, 400, /videoManagerIds/],
    ['a VideoManager the token lacks', { documentType: 'video', videoManagerIds: [1003] }, 403, /no access/],
    [
      'a VideoManager that does not exist',
      { documentType: 'video', videoManagerIds: [4242] },
      404,
      /does not exist/,
    ],
  ];
  it.each(cases)('%s → %i', async (_name, body, status, message) => {
    const { call } = setup();
    const response = await call('POST', '/v1/vms/search', { videoManagerIds: [1001], ...body });
    expect(response.status).toBe(status);
    expect(((await response.json()) as { message: string }).message).toMatch(message);
  });

  it('needs a bearer token like every /v1 route', async () => {
    const { call } = setup();
    const response = await call(
      'POST',
      '/v1/vms/search',
      { documentType: 'video', videoManagerIds: [1001] },
      '',
    );
    expect(response.status).toBe(401);
  });

  it('answers an injected fault instead of searching', async () => {
    const { api, call } = setup();
    api.addFault({ method: 'POST', path: '/v1/vms/search', kind: 'status', status: 503, times: 1 });
    const body = { documentType: 'video', videoManagerIds: [1001] };
    expect((await call('POST', '/v1/vms/search', body)).status).toBe(503);
    expect((await call('POST', '/v1/vms/search', body)).status).toBe(200);
    expect(api.counters().requests['POST /v1/vms/search']).toBe(2);
  });
});

describe('video routes: video_id, metadata_set_key, related_videos_channel_id, group', () => {
  it('video_id keeps only the named videos (repeatable)', async () => {
    const { call } = setup();
    const all = (await (await call('GET', '/v1/vms/1001/videos?limit=3')).json()) as {
      videos: { id: string }[];
    };
    const [a, b] = all.videos;
    const response = await call('GET', `/v1/vms/1001/videos?video_id=${a!.id}&video_id=${b!.id}`);
    const page = (await response.json()) as { total: number; videos: { id: string }[] };
    expect(page.total).toBe(2);
    expect(page.videos.map((v) => v.id).sort()).toEqual([a!.id, b!.id].sort());
  });

  it('metadata_set_key takes a known key and answers 404 for another', async () => {
    const { call } = setup();
    expect((await call('GET', '/v1/vms/1001/videos?metadata_set_key=de')).status).toBe(200);
    expect((await call('GET', '/v1/vms/1001/videos?metadata_set_key=xx')).status).toBe(404);
  });

  it('related_videos_channel_id takes a channel of the VideoManager and answers 404 for another', async () => {
    const { call } = setup();
    const page = (await (
      await call('GET', '/v1/vms/1001/videos?limit=1&publication_state=published')
    ).json()) as {
      videos: { id: string }[];
    };
    const id = page.videos[0]!.id;
    expect((await call('GET', `/v1/vms/1001/videos/${id}?related_videos_channel_id=101`)).status).toBe(200);
    expect((await call('GET', `/v1/vms/1001/videos/${id}?related_videos_channel_id=999`)).status).toBe(404);
  });

  it('create takes the owner group as a string, as PHP-CLIENT sends it', async () => {
    const { call } = setup();
    const response = await call('POST', '/v1/vms/1001/videos', { fileName: 'g.mp4', group: '27' });
    expect(response.status).toBe(201);
    const id = response.headers.get('location')!.split('/').at(-1);
    const video = (await (
      await call('GET', `/v1/vms/1001/videos/${id}?ignore_publication_state=true`)
    ).json()) as {
      ownershipGroupId: number;
    };
    expect(video.ownershipGroupId).toBe(27);
    expect((await call('POST', '/v1/vms/1001/videos', { fileName: 'g.mp4', group: 'staff' })).status).toBe(
      400,
    );
  });
});
