/**
 * Fixtures shaped like the real API's answers (facts 3.2, 3.3 and the legacy search endpoint;
 * written for this project, in the forms of PHP-CLIENT's getVideo, getVideos, searchVideos and
 * searchChannels fixtures): the client reads each one, and the emulator answers in the same
 * shape (the same keys, with values of the same JSON types).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ApiPrincipal, createVmproApi, DEMO_USERS } from '../emulator/api/index.js';
import { createVmproApiClient } from './client.js';
import { json, scriptFetch } from './fake-fetch.test-helper.js';
import { fixedToken } from './fixed-token.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function fixture(name: string): Json {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as Json;
}

function clientAnswering(body: unknown) {
  const script = scriptFetch(json(200, body));
  return createVmproApiClient({
    baseUrl: 'https://api.example.test',
    tokenSource: fixedToken('t'),
    fetch: script.fetch,
  });
}

describe('the client reads the fixtures', () => {
  it('getVideo: epoch-ms dates, {id, name} channels, stills with dimensions, unknown fields kept', async () => {
    const body = fixture('getVideo') as Record<string, Json>;
    const video = await clientAnswering(body).videos.get(319, String(body['id']));
    expect(video).toEqual(body);
    expect(video.stills?.[0]?.dimension).toEqual({ width: 160, height: 90 });
    expect(video.corporateTubeMetadata).toMatchObject({ uploaderUserId: '12' });
  });

  it('getVideos: the /videos items as they are, the search-style item converted', async () => {
    const body = fixture('getVideos') as { total: number; videos: Record<string, Json>[] };
    const page = await clientAnswering(body).videos.list(319);
    expect(page.total).toBe(3);
    expect(page.videos[0]).toEqual(body.videos[0]);
    expect(page.videos[2]).toMatchObject({
      id: '9aBc3DeF5gHi7JkL_Mn0pQ',
      createdDate: Date.parse('2017-09-07T13:20:19Z'),
      length: 4120,
      channels: [{ id: 34003 }, { id: 4396 }],
      keywords: [{ text: 'keyword 1' }, { text: 'keyword 2' }],
      videoManagerId: 319,
    });
  });

  it('searchVideos: documents unchanged (they are in the search form already)', async () => {
    const body = fixture('searchVideos') as { total: number; result: Json[] };
    const page = await clientAnswering(body).search.videos(319);
    expect(page).toEqual(body);
  });

  it('searchChannels: documents unchanged, null descriptions kept', async () => {
    const body = fixture('searchChannels') as { total: number; result: Json[] };
    const page = await clientAnswering(body).search.channels(319);
    expect(page).toEqual(body);
    expect(page.result[0]?.description).toBeNull();
  });

  it('getChannels: the root with nested children, boolean visibility, channels.get finds a grandchild', async () => {
    const body = fixture('getChannels');
    expect(await clientAnswering(body).channels.tree(319)).toEqual(body);
    expect((await clientAnswering(body).channels.get(319, 110)).name).toBe('Launch 2024');
  });
});

// ---------------------------------------------------------------------------------------------

/** JSON type of a value; `null` is its own type. */
function typeOf(value: Json | undefined): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Paths whose keys are data, not shape (custom metadata field names). */
const DATA_BAGS = new Set(['customMetadata']);

/**
 * Differences in shape between `expected` (a fixture) and `actual` (the emulator): keys present in
 * one only, and values of another JSON type. `null` on either side matches any type where the
 * field is nullable (`nullable` holds the key names), since one example cannot show both.
 */
function shapeDifferences(
  expected: Json,
  actual: Json | undefined,
  nullable: Set<string>,
  path = '$',
): string[] {
  const key = path
    .split('.')
    .at(-1)!
    .replace(/\[\d*\]$/, '');
  const [e, a] = [typeOf(expected), typeOf(actual)];
  if ((e === 'null' || a === 'null') && nullable.has(key) && a !== 'missing') return [];
  if (e !== a) return [`${path}: fixture has ${e}, emulator has ${a}`];
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length === 0 || actual.length === 0) return [];
    return actual.flatMap((item, index) =>
      shapeDifferences(expected[0]!, item, nullable, `${path}[${index}]`),
    );
  }
  if (e === 'object' && !DATA_BAGS.has(key)) {
    const ex = expected as Record<string, Json>;
    const ac = actual as Record<string, Json>;
    const keys = new Set([...Object.keys(ex), ...Object.keys(ac)]);
    return [...keys].flatMap((name) =>
      name in ex
        ? shapeDifferences(ex[name]!, ac[name], nullable, `${path}.${name}`)
        : [`${path}.${name}: only the emulator has it`],
    );
  }
  return [];
}

/** Nullable fields of the video object (types.ts / types-video.ts). */
const VIDEO_NULLABLE = new Set([
  'thumbnail',
  'uploadDate',
  'publicationDate',
  'lastPlayedDate',
  'length',
  'vrContentType',
  'scheduledTrashDate',
  'ownershipGroupId',
  'adConfigurationId',
  'owner',
  'uploader',
  'sourceLanguage',
  'uploadFileName',
]);
const CHANNEL_NULLABLE = new Set(['description', 'parentId', 'ownerGroupId']);

function emulator() {
  const [demo] = DEMO_USERS;
  const api = createVmproApi({
    verifyAccessToken: async (token) =>
      token === 'demo-token' ? ({ sub: demo.sub, exp: 4_000_000_000 } satisfies ApiPrincipal) : null,
    origin: () => 'http://127.0.0.1:4010',
    issuer: () => 'http://127.0.0.1:4010/auth/realms/platform',
    now: () => Date.UTC(2025, 5, 2),
  });
  return async (method: string, path: string, body?: unknown): Promise<Json> => {
    const response = await api.handle(
      new Request(`http://127.0.0.1:4010${path}`, {
        method,
        headers: {
          authorization: 'Bearer demo-token',
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      }),
    );
    expect(response?.status).toBe(200);
    return (await response!.json()) as Json;
  };
}

describe('the emulator answers in the fixtures’ shape', () => {
  it('GET /videos/{id} with every include ≈ getVideo.json', async () => {
    const call = emulator();
    const page = (await call('GET', '/v1/vms/1001/videos?limit=1&publication_state=published')) as {
      videos: { id: string }[];
    };
    const video = await call(
      'GET',
      `/v1/vms/1001/videos/${page.videos[0]!.id}?include_custom_metadata=true&include_keywords=true&include_channel_assignments=true&include_owner=true`,
    );
    const expected = fixture('getVideo') as Record<string, Json>;
    const actual = video as Record<string, Json>;
    // corporateTubeMetadata is only in the answer when the video has some (none of the seeded ones).
    const { corporateTubeMetadata: _omitted, ...expectedWithout } = expected;
    const compared = 'corporateTubeMetadata' in actual ? expected : expectedWithout;
    expect(shapeDifferences(compared, actual, VIDEO_NULLABLE)).toEqual([]);
  });

  it('GET /videos with keywords and channel assignments ≈ the /videos items of getVideos.json', async () => {
    const call = emulator();
    const actual = (await call(
      'GET',
      '/v1/vms/1001/videos?limit=20&include_keywords=true&include_channel_assignments=true',
    )) as Json;
    const expected = fixture('getVideos') as { total: number; videos: Json[] };
    // The fixture's third item has the search form, as PHP-CLIENT's fixture does; the emulator answers
    // /videos in the /videos form only, so it is compared with the first item.
    expect(
      shapeDifferences({ total: expected.total, videos: [expected.videos[0]!] }, actual, VIDEO_NULLABLE),
    ).toEqual([]);
  });

  it('POST /search for videos ≈ searchVideos.json', async () => {
    const call = emulator();
    const actual = await call('POST', '/v1/vms/search', {
      documentType: 'video',
      videoManagerIds: [1001],
      size: 20,
    });
    expect(shapeDifferences(fixture('searchVideos'), actual, VIDEO_NULLABLE)).toEqual([]);
  });

  it('POST /search for channels ≈ searchChannels.json', async () => {
    const call = emulator();
    const actual = await call('POST', '/v1/vms/search', {
      documentType: 'channel',
      videoManagerIds: [1001],
      size: 20,
    });
    expect(shapeDifferences(fixture('searchChannels'), actual, CHANNEL_NULLABLE)).toEqual([]);
  });

  it('GET /channels ≈ getChannels.json', async () => {
    const call = emulator();
    expect(
      shapeDifferences(fixture('getChannels'), await call('GET', '/v1/vms/1001/channels'), CHANNEL_NULLABLE),
    ).toEqual([]);
  });

  it('the shape check itself reports a missing key, an extra key and a changed type', () => {
    expect(shapeDifferences({ a: 1, b: 'x' }, { a: '1', c: true }, new Set())).toEqual([
      '$.a: fixture has number, emulator has string',
      '$.b: fixture has string, emulator has missing',
      '$.c: only the emulator has it',
    ]);
  });
});
