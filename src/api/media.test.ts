/**
 * The media methods with an injected fetch: the exact request each one sends, the forms of
 * answer each one accepts and what it returns, and the typed errors for bad input and bad
 * answers.
 */
import { describe, expect, it } from 'vitest';
import { isVmproError } from '../errors.js';
import { createVmproApiClient, type VmproApiClient } from './client.js';
import { VmproApiError } from './errors.js';
import { failure } from './failure.test-helper.js';
import { type Answer, empty, json, scriptFetch } from './fake-fetch.test-helper.js';
import { fixedToken } from './fixed-token.js';
import { toIsoDateTime } from './media.js';

const BASE = 'https://api.example.test';
/** Shaped like a JWT; never to appear in an error or a log line. */
const ID_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtdXNlciJ9.c2lnbmF0dXJlLXNlY3JldA';

function client(...answers: Answer[]) {
  const script = scriptFetch(...answers);
  const lines: string[] = [];
  const record = (message: string, fields?: Record<string, unknown>) =>
    void lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
  const api = createVmproApiClient({
    baseUrl: BASE,
    tokenSource: fixedToken('t0k3n'),
    fetch: script.fetch,
    retry: 0,
    logger: { debug: record, info: record, warn: record, error: record },
  });
  return { api, calls: script.calls, lines };
}

const attachment = {
  type: { id: 'T1', name: 'Slides', allowedFileTypes: ['pdf'] },
  data: { id: 'A1', fileName: 's.pdf', downloadUrl: 'https://d/s.pdf', fileSize: 100 },
};

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

const cases: Case[] = [
  {
    name: 'videos.attachments',
    call: (api) => api.videos.attachments(319, 'v1'),
    answer: json(200, [attachment]),
    method: 'GET',
    target: '/v1/vms/319/videos/v1/attachments',
    result: [attachment],
  },
  {
    name: 'channels.attachments',
    call: (api) => api.channels.attachments(319, 101),
    answer: json(200, [attachment]),
    method: 'GET',
    target: '/v1/vms/319/channels/101/attachments',
    result: [attachment],
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
    name: 'vms.metadataSets',
    call: (api) => api.vms.metadataSets(319),
    answer: json(200, [{ id: 1044, keyName: 'en-US', type: 'LOCALIZATION', isDefault: true }]),
    method: 'GET',
    target: '/v1/vms/319/metadata-sets',
    result: [{ id: 1044, keyName: 'en-US', type: 'LOCALIZATION', isDefault: true }],
  },
  {
    name: 'thumbnails.list',
    call: (api) => api.thumbnails.list(319, 'v1'),
    answer: json(200, [{ id: 7, active: true, items: [] }]),
    method: 'GET',
    target: '/v1/vms/319/videos/v1/thumbnails',
    result: [{ id: 7, active: true, items: [] }],
  },
  {
    name: 'thumbnails.create (timestamp in ms, ID from Location)',
    call: (api) => api.thumbnails.create(319, 'v1', 12_500),
    answer: empty(201, { location: `${BASE}/v1/vms/319/videos/v1/thumbnails/4711` }),
    method: 'POST',
    target: '/v1/vms/319/videos/v1/thumbnails?timestamp=12500',
    result: 4711,
  },
  {
    name: 'thumbnails.get (the /url endpoint)',
    call: (api) => api.thumbnails.get(319, 'v1', 4711),
    answer: json(200, { downloadUrl: 'https://i/x.jpg' }),
    method: 'GET',
    target: '/v1/vms/319/videos/v1/thumbnails/4711/url',
    result: { id: 4711, downloadUrl: 'https://i/x.jpg' },
  },
  {
    name: 'thumbnails.update',
    call: (api) => api.thumbnails.update(319, 'v1', '4711', { active: true }),
    answer: json(200, { id: 4711, active: true, items: [] }),
    method: 'PATCH',
    target: '/v1/vms/319/videos/v1/thumbnails/4711',
    body: { active: true },
    result: undefined,
  },
  {
    name: 'thumbnails.activate',
    call: (api) => api.thumbnails.activate(319, 'v1', 4711),
    answer: empty(200),
    method: 'PATCH',
    target: '/v1/vms/319/videos/v1/thumbnails/4711',
    body: { active: true },
    result: undefined,
  },
  {
    name: 'metadata.getCorporateTube',
    call: (api) => api.metadata.getCorporateTube(319, 'v1'),
    answer: json(200, {
      uploadDate: '2023-06-05T14:26:23Z',
      uploaderUserId: '80076',
      inChargeUserId: '80076',
      uploaderKeycloakUserId: 'b296c90e',
      inChargeKeycloakUserId: 'b296c90e',
    }),
    method: 'GET',
    target: '/v1/vms/319/videos/v1/metadata/corporate-tube',
    result: {
      uploadDate: '2023-06-05T14:26:23Z',
      uploaderUserId: '80076',
      inChargeUserId: '80076',
      uploaderKeycloakUserId: 'b296c90e',
      inChargeKeycloakUserId: 'b296c90e',
    },
  },
  {
    name: 'metadata.patchCorporateTube (ISO uploadDate, string user IDs, null clears)',
    call: (api) =>
      api.metadata.patchCorporateTube(319, 'v1', {
        uploadDate: Date.UTC(2023, 5, 5, 14, 26, 23),
        uploaderUserId: 80076,
        inChargeUserId: '80077',
        inChargeKeycloakUserId: null,
      }),
    answer: empty(200),
    method: 'PATCH',
    target: '/v1/vms/319/videos/v1/metadata/corporate-tube',
    body: {
      uploadDate: '2023-06-05T14:26:23Z',
      uploaderUserId: '80076',
      inChargeUserId: '80077',
      inChargeKeycloakUserId: null,
    },
    result: undefined,
  },
  {
    name: 'analytics.videos with every parameter (camelCase keys, videoIds repeated, ISO period)',
    call: (api) =>
      api.analytics.videos(319, {
        limit: 50,
        offset: 100,
        videoIds: ['a1', 'b2'],
        from: '2025-01-01T00:00:00Z',
        to: new Date(Date.UTC(2025, 0, 31, 23, 59, 59)),
      }),
    answer: json(200, { videos: [{ id: 'a1', plays: 3 }] }),
    method: 'GET',
    target:
      '/v1/vms/319/analytics/videos?limit=50&offset=100&videoIds=a1&videoIds=b2' +
      '&analyticsStartDateTime=2025-01-01T00%3A00%3A00Z&analyticsEndDateTime=2025-01-31T23%3A59%3A59Z',
    result: { videos: [{ id: 'a1', plays: 3 }], offset: 100, limit: 50 },
  },
  {
    name: 'analytics.videos with no query (limit 100, offset 0)',
    call: (api) => api.analytics.videos(319),
    answer: json(200, []),
    method: 'GET',
    target: '/v1/vms/319/analytics/videos?limit=100&offset=0',
    result: { videos: [], offset: 0, limit: 100 },
  },
  {
    name: 'vms.userInfo (the ID token in the JSON body only)',
    call: (api) => api.vms.userInfo(ID_TOKEN),
    answer: json(200, { email: 'j@example.com', fullName: 'J', videoManagerIds: [319] }),
    method: 'POST',
    target: '/v1/vms/corp-tube-admin/user-info',
    body: { jwt_id_token: ID_TOKEN },
    result: { email: 'j@example.com', fullName: 'J', videoManagerIds: [319] },
  },
  {
    name: 'videos.embedCodes (player_definition_id, embedType and embed_type, channelId, token lifetime)',
    call: (api) =>
      api.videos.embedCodes(319, 'v1', {
        playerDefinitionId: 'p1',
        embedType: 'html_code',
        channelId: '5',
        tokenLifetimeInSeconds: 600,
      }),
    answer: json(200, { embedCode: '<div></div>', other: 1 }),
    method: 'GET',
    target:
      '/v1/vms/319/videos/v1/embed-codes?player_definition_id=p1&embedType=html_code&embed_type=html_code&channelId=5&token_lifetime_in_seconds=600',
    result: { embedCode: '<div></div>', other: 1 },
  },
  {
    name: 'videos.embedCodes with only the player (the API picks the type)',
    call: (api) => api.videos.embedCodes(319, 'v1', { playerDefinitionId: 'p1' }),
    answer: json(200, { embedCode: '<iframe></iframe>' }),
    method: 'GET',
    target: '/v1/vms/319/videos/v1/embed-codes?player_definition_id=p1',
    result: { embedCode: '<iframe></iframe>' },
  },
];

describe('the request each media method sends', () => {
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
});

describe('answers in the forms the sources disagree on', () => {
  const one = async <T>(answer: unknown, call: (api: VmproApiClient) => Promise<T>): Promise<T> =>
    call(client(json(200, answer)).api);

  it('keeps a string attachment ID as it is', async () => {
    const [first] = await one([attachment], (api) => api.videos.attachments(319, 'v1'));
    expect(first).toMatchObject({ data: { id: 'A1' }, type: { id: 'T1' } });
  });

  it('turns a numeric attachment ID and type ID into strings', async () => {
    const numeric = { type: { id: 3, name: 'Slides' }, data: { ...attachment.data, id: 42 } };
    const [first] = await one([numeric], (api) => api.videos.attachments(319, 'v1'));
    expect(first).toMatchObject({ data: { id: '42' }, type: { id: '3' } });
  });

  it('reads an attachment type without allowedFileTypes (PHP-CLIENT fixture form)', async () => {
    const bare = { type: { id: 'T1', name: 'thumbnail' }, data: attachment.data };
    const [first] = (await one([bare], (api) => api.channels.attachments(319, 1))) as { type: object }[];
    expect(first?.type).toEqual({ id: 'T1', name: 'thumbnail' });
  });

  it('turns a fileSize sent as a string into a number', async () => {
    const sized = { ...attachment, data: { ...attachment.data, fileSize: '227174' } };
    const [first] = await one([sized], (api) => api.videos.attachments(319, 'v1'));
    expect(first?.data.fileSize).toBe(227174);
  });

  it('turns a numeric player ID into a string', async () => {
    expect(await one([{ id: 12, name: 'P' }], (api) => api.vms.players(319))).toEqual([
      { id: '12', name: 'P' },
    ]);
  });

  it('turns a metadata set ID sent as a string into a number', async () => {
    const [set] = await one([{ id: '1044', keyName: 'de', type: 'LOCALIZATION', isDefault: false }], (api) =>
      api.vms.metadataSets(319),
    );
    expect(set).toEqual({ id: 1044, keyName: 'de', type: 'LOCALIZATION', isDefault: false });
  });

  it('turns a still ID sent as a string into a number, in both list methods', async () => {
    const answer = [{ id: '7', active: true, items: [] }];
    expect((await one(answer, (api) => api.thumbnails.list(319, 'v1')))[0]?.id).toBe(7);
    expect((await one(answer, (api) => api.videos.thumbnails(319, 'v1')))[0]?.id).toBe(7);
  });

  it('keeps an ISO uploadDate of corporate-tube metadata as sent', async () => {
    const meta = await one({ uploadDate: '2023-06-05T14:26:23+02:00' }, (api) =>
      api.metadata.getCorporateTube(319, 'v1'),
    );
    expect(meta.uploadDate).toBe('2023-06-05T14:26:23+02:00');
  });

  it('turns an epoch-ms uploadDate of corporate-tube metadata into ISO 8601', async () => {
    const meta = await one({ uploadDate: Date.UTC(2023, 5, 5, 14, 26, 23) }, (api) =>
      api.metadata.getCorporateTube(319, 'v1'),
    );
    expect(meta.uploadDate).toBe('2023-06-05T14:26:23Z');
  });

  it('turns numeric corporate-tube user IDs into strings and absent fields into null', async () => {
    const meta = await one({ uploaderUserId: 80076 }, (api) => api.metadata.getCorporateTube(319, 'v1'));
    expect(meta).toEqual({
      uploadDate: null,
      uploaderUserId: '80076',
      inChargeUserId: null,
      uploaderKeycloakUserId: null,
      inChargeKeycloakUserId: null,
    });
  });

  it('reads analytics sent as a bare list', async () => {
    const page = await one([{ id: 'a', plays: 1 }], (api) => api.analytics.videos(319));
    expect(page.videos).toEqual([{ id: 'a', plays: 1 }]);
    expect(page).not.toHaveProperty('total');
  });

  it('reads analytics sent as {videos, total} and keeps the total', async () => {
    const page = await one({ videos: [{ id: 'a', plays: 1 }], total: 5 }, (api) => api.analytics.videos(319));
    expect(page.total).toBe(5);
  });

  it('turns epoch-ms analytics dates into ISO 8601 and keeps ISO ones', async () => {
    const [item] = (
      await one(
        {
          videos: [
            { id: 'a', plays: 1, createdDate: 1_681_219_038_755, modifiedDate: '2023-04-11T13:17:18.755Z' },
          ],
        },
        (api) => api.analytics.videos(319),
      )
    ).videos;
    expect(item?.createdDate).toBe('2023-04-11T13:17:18.755Z');
    expect(item?.modifiedDate).toBe('2023-04-11T13:17:18.755Z');
  });

  it('turns analytics plays and channel IDs sent as strings into numbers', async () => {
    const [item] = (
      await one({ videos: [{ id: 'a', plays: '12', channels: [{ id: '101', name: 'Events' }] }] }, (api) =>
        api.analytics.videos(319),
      )
    ).videos;
    expect(item).toMatchObject({ plays: 12, channels: [{ id: 101, name: 'Events' }] });
  });

  it('turns VideoManager IDs of user info sent as strings into numbers', async () => {
    const info = await one({ email: 'e@x', fullName: 'F', videoManagerIds: ['319', 1044] }, (api) =>
      api.vms.userInfo(ID_TOKEN),
    );
    expect(info.videoManagerIds).toEqual([319, 1044]);
  });

  it('accepts the embed code as a bare text body', async () => {
    const { api } = client(new Response('<iframe></iframe>', { headers: { 'content-type': 'text/html' } }));
    expect(await api.videos.embedCodes(319, 'v1', { playerDefinitionId: 'p1' })).toEqual({
      embedCode: '<iframe></iframe>',
    });
  });
});

describe('the analytics period, in each form it is accepted in', () => {
  const sentPeriod = async (from: Date | string | number) => {
    const { api, calls } = client(json(200, []));
    await api.analytics.videos(319, { from });
    return calls[0]?.url.searchParams.get('analyticsStartDateTime');
  };

  it('sends a Date as ISO 8601 UTC', async () => {
    expect(await sentPeriod(new Date(Date.UTC(2025, 1, 3, 4, 5, 6, 789)))).toBe('2025-02-03T04:05:06.789Z');
  });

  it('sends an ISO string with an offset as the same instant in UTC', async () => {
    expect(await sentPeriod('2025-02-03T05:05:06+01:00')).toBe('2025-02-03T04:05:06Z');
  });

  it('sends a date alone as midnight UTC', async () => {
    expect(await sentPeriod('2025-02-03')).toBe('2025-02-03T00:00:00Z');
  });

  it('sends epoch milliseconds as ISO 8601', async () => {
    expect(await sentPeriod(Date.UTC(2025, 1, 3))).toBe('2025-02-03T00:00:00Z');
  });

  it('sends epoch milliseconds given as a string of digits as ISO 8601', async () => {
    expect(await sentPeriod(String(Date.UTC(2025, 1, 3)))).toBe('2025-02-03T00:00:00Z');
  });

  it('reads a date-time without an offset as UTC, whatever the local zone', () => {
    expect(toIsoDateTime('from', '2025-02-03T04:05')).toBe('2025-02-03T04:05:00Z');
  });
});

describe('analytics.iterateVideos', () => {
  const items = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({ id: `v${from + i}`, plays: 1 }));

  it('pages on with the offset of what came back and stops after a short page', async () => {
    const { api, calls } = client(json(200, { videos: items(0, 2) }), json(200, { videos: items(2, 1) }));
    const ids: string[] = [];
    for await (const item of api.analytics.iterateVideos(319, { from: '2025-01-01' }, { pageSize: 2 })) {
      ids.push(item.id);
    }
    expect(ids).toEqual(['v0', 'v1', 'v2']);
    expect(calls.map((c) => [c.url.searchParams.get('offset'), c.url.searchParams.get('limit')])).toEqual([
      ['0', '2'],
      ['2', '2'],
    ]);
    expect(
      calls.every((c) => c.url.searchParams.get('analyticsStartDateTime') === '2025-01-01T00:00:00Z'),
    ).toBe(true);
  });

  it('stops at the total when the API sends one', async () => {
    const { api, calls } = client(json(200, { videos: items(0, 2), total: 2 }));
    const ids: string[] = [];
    for await (const item of api.analytics.iterateVideos(319, {}, { pageSize: 2 })) ids.push(item.id);
    expect(ids).toEqual(['v0', 'v1']);
    expect(calls).toHaveLength(1);
  });

  it('stops at an empty page', async () => {
    const { api, calls } = client(json(200, items(0, 2)), json(200, []));
    const ids: string[] = [];
    for await (const item of api.analytics.iterateVideos(319, {}, { pageSize: 2 })) ids.push(item.id);
    expect(ids).toEqual(['v0', 'v1']);
    expect(calls).toHaveLength(2);
  });

  it('refuses a page size above 100 before sending anything', async () => {
    const { api, calls } = client();
    const error = await failure(api.analytics.iterateVideos(319, {}, { pageSize: 101 }).next());
    expect(error).toMatchObject({ code: 'VMPRO_CONFIG_INVALID', field: 'pageSize' });
    expect(calls).toHaveLength(0);
  });
});

describe('bad input is a typed error and sends nothing', () => {
  const refused = async (call: (api: VmproApiClient) => Promise<unknown>, field: string) => {
    const { api, calls } = client();
    const error = await failure(call(api));
    expect(error.code).toBe('VMPRO_CONFIG_INVALID');
    expect(error.field).toBe(field);
    expect(calls).toHaveLength(0);
    return error;
  };

  it('an analytics limit above 100', async () => {
    await refused((api) => api.analytics.videos(319, { limit: 101 }), 'limit');
  });

  it('an analytics limit of 0', async () => {
    await refused((api) => api.analytics.videos(319, { limit: 0 }), 'limit');
  });

  it('an analytics limit that is not whole', async () => {
    await refused((api) => api.analytics.videos(319, { limit: 1.5 }), 'limit');
  });

  it('a negative analytics offset', async () => {
    await refused((api) => api.analytics.videos(319, { offset: -1 }), 'offset');
  });

  it('more than 100 videoIds', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => `v${i}`);
    const error = await refused((api) => api.analytics.videos(319, { videoIds: ids }), 'videoIds');
    expect(error.message).toMatch(/at most 100/);
  });

  it('an empty video ID among the videoIds', async () => {
    await refused((api) => api.analytics.videos(319, { videoIds: ['a', ''] }), 'videoIds');
  });

  it('a period start that is not a date', async () => {
    await refused((api) => api.analytics.videos(319, { from: 'last tuesday' }), 'from');
  });

  it('an invalid Date as the period end', async () => {
    await refused((api) => api.analytics.videos(319, { to: new Date(Number.NaN) }), 'to');
  });

  it('a period that starts after it ends', async () => {
    await refused((api) => api.analytics.videos(319, { from: '2025-02-01', to: '2025-01-01' }), 'from');
  });

  it('a negative thumbnail timestamp', async () => {
    await refused((api) => api.thumbnails.create(319, 'v1', -1), 'timestampMs');
  });

  it('a thumbnail timestamp that is not whole milliseconds', async () => {
    await refused((api) => api.thumbnails.create(319, 'v1', 1.5), 'timestampMs');
  });

  it('a still ID that is not a number', async () => {
    await refused((api) => api.thumbnails.get(319, 'v1', 'abc'), 'stillId');
  });

  it('a thumbnail update without a boolean active', async () => {
    await refused(
      (api) => api.thumbnails.update(319, 'v1', 1, { active: 'yes' } as unknown as { active: boolean }),
      'active',
    );
  });

  it('embed codes without a player definition', async () => {
    await refused(
      (api) => api.videos.embedCodes(319, 'v1', { playerDefinitionId: '' }),
      'playerDefinitionId',
    );
  });

  it('embed codes with a token lifetime of 0 seconds', async () => {
    await refused(
      (api) => api.videos.embedCodes(319, 'v1', { playerDefinitionId: 'p', tokenLifetimeInSeconds: 0 }),
      'tokenLifetimeInSeconds',
    );
  });

  it('embed codes with a channel ID that is not a number', async () => {
    await refused(
      (api) => api.videos.embedCodes(319, 'v1', { playerDefinitionId: 'p', channelId: 'events' }),
      'channelId',
    );
  });

  it('a corporate-tube patch that changes nothing', async () => {
    await refused((api) => api.metadata.patchCorporateTube(319, 'v1', {}), 'patch');
  });

  it('a corporate-tube patch with an unknown field', async () => {
    await refused(
      (api) => api.metadata.patchCorporateTube(319, 'v1', { owner: 'x' } as Record<string, string>),
      'patch',
    );
  });

  it('a corporate-tube uploadDate that is not a date', async () => {
    await refused((api) => api.metadata.patchCorporateTube(319, 'v1', { uploadDate: 'soon' }), 'uploadDate');
  });

  it('user info without an ID token', async () => {
    await refused((api) => api.vms.userInfo(''), 'idToken');
  });

  it('user info with something that is not a JWT, without showing it', async () => {
    const error = await refused((api) => api.vms.userInfo('opaque-refresh-token-value'), 'idToken');
    expect(error.message).not.toContain('opaque-refresh-token-value');
  });
});

describe('API errors and malformed answers', () => {
  it('a 403 is a VmproApiError with the access hint', async () => {
    const { api } = client(json(403, { message: 'You have no access to VideoManager 319.' }));
    const error = (await failure(api.videos.attachments(319, 'v1'))) as VmproApiError;
    expect(error).toBeInstanceOf(VmproApiError);
    expect(error.status).toBe(403);
    expect(error.apiMessage).toBe('You have no access to VideoManager 319.');
    expect(error.hint).toMatch(/no access/);
  });

  it('a 404 is a VmproApiError with status 404', async () => {
    const { api } = client(json(404, { message: 'Video v1 does not exist.' }));
    const error = (await failure(api.metadata.getCorporateTube(319, 'v1'))) as VmproApiError;
    expect(error.status).toBe(404);
    expect(error.path).toBe('/v1/vms/319/videos/v1/metadata/corporate-tube');
  });

  it('an attachment list that is not a list names the endpoint', async () => {
    const { api } = client(json(200, { attachments: [] }));
    const error = await failure(api.videos.attachments(319, 'v1'));
    expect(error).toBeInstanceOf(VmproApiError);
    expect(error.message).toBe(
      'VideoManager Pro API: GET /v1/vms/319/videos/v1/attachments answered 200 with a body that is not a list of attachments.',
    );
  });

  it('an attachment without a download URL is an error, not a half-filled object', async () => {
    const broken = { type: attachment.type, data: { id: 'A1', fileName: 'x', fileSize: 1 } };
    const { api } = client(json(200, [broken]));
    expect((await failure(api.videos.attachments(319, 'v1'))).message).toMatch(
      /without fileName and downloadUrl/,
    );
  });

  it('an analytics answer in neither known form is an error', async () => {
    const { api } = client(json(200, { items: [] }));
    expect((await failure(api.analytics.videos(319))).message).toMatch(/neither a list nor \{videos/);
  });

  it('a thumbnail create without a Location is an error naming the still', async () => {
    const { api } = client(empty(201));
    expect((await failure(api.thumbnails.create(319, 'v1', 0))).message).toMatch(/new still's ID is unknown/);
  });

  it('a thumbnail URL answer without downloadUrl is an error', async () => {
    const { api } = client(json(200, { url: 'x' }));
    expect((await failure(api.thumbnails.get(319, 'v1', 1))).message).toMatch(/without a downloadUrl/);
  });

  it('user info that fails PHP-CLIENT’s checks is an error that does not show the ID token', async () => {
    const { api, lines } = client(json(200, { email: 'e@x', videoManagerIds: [] }));
    const error = await failure(api.vms.userInfo(ID_TOKEN));
    expect(error).toBeInstanceOf(VmproApiError);
    expect(error.message).toMatch(/without a string email and fullName/);
    expect(`${error.message} ${JSON.stringify({ ...error })}`).not.toContain(ID_TOKEN);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(ID_TOKEN);
  });

  it('a refused user-info request does not show the ID token in the error or the log', async () => {
    const { api, lines } = client(json(400, { message: 'jwt_id_token is not valid' }));
    const error = (await failure(api.vms.userInfo(ID_TOKEN))) as VmproApiError;
    expect(error.status).toBe(400);
    expect(`${error.message} ${error.path} ${error.apiMessage}`).not.toContain(ID_TOKEN);
    expect(lines.join('\n')).not.toContain(ID_TOKEN);
  });

  it('is recognised as a VmproError across copies', async () => {
    const { api } = client(json(404, {}));
    expect(isVmproError(await failure(api.thumbnails.list(319, 'v1')), 'VMPRO_API_ERROR')).toBe(true);
  });
});
