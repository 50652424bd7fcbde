/**
 * The emulated API's attachments, corporate-tube metadata, video analytics, user info and the
 * two names of the embed type, as a fetch handler over a test clock.
 */
import { describe, expect, it } from 'vitest';
import { type ApiPrincipal, createVmproApi, DEMO_USERS, type VmproApiOptions } from './index.js';
import { PLAYS_REFERENCE_DATE } from './routes/analytics.js';

const ORIGIN = 'http://127.0.0.1:4010';
const [demo] = DEMO_USERS;
/** A JWT-shaped ID token the test verifier knows; the other one it refuses. */
const GOOD_ID_TOKEN = 'aGVhZGVy.cGF5bG9hZA.c2ln';
const BAD_ID_TOKEN = 'aGVhZGVy.Zm9yZ2Vk.c2ln';
const NOW = Date.UTC(2025, 5, 2, 12, 0, 0);
const DAY = 86_400_000;

interface VideoJson {
  id: string;
  uploadDate: number;
  archived?: boolean;
  [key: string]: unknown;
}

function setup(options: Partial<VmproApiOptions> = {}) {
  const tokens = new Map<string, ApiPrincipal>([
    ['demo-token', { sub: demo.sub, preferred_username: 'demo', exp: 4_000_000_000 }],
  ]);
  const api = createVmproApi({
    verifyAccessToken: async (token) => tokens.get(token) ?? null,
    verifyIdToken: async (token) => (token === GOOD_ID_TOKEN ? { sub: demo.sub, email: demo.email } : null),
    origin: () => ORIGIN,
    issuer: () => `${ORIGIN}/auth/realms/platform`,
    now: () => NOW,
    ...options,
  });
  const call = async (method: string, path: string, json?: unknown, headers: Record<string, string> = {}) => {
    const all: Record<string, string> = { authorization: 'Bearer demo-token', ...headers };
    if (json !== undefined) all['content-type'] = 'application/json';
    const body = json === undefined ? undefined : JSON.stringify(json);
    const response = await api.handle(
      new Request(`${ORIGIN}${path}`, { method, headers: all, ...(body !== undefined && { body }) }),
    );
    if (!response) throw new Error(`handle() returned null for ${path}`);
    return response;
  };
  /** The seeded videos of VM 1001 in creation order (index = seed sequence). */
  const videos = async (): Promise<VideoJson[]> =>
    (await (await call('GET', '/v1/vms/1001/videos?limit=100&order=asc&order_property=created_date')).json())
      .videos;
  return { api, call, videos };
}

describe('GET …/videos/{videoId}/attachments', () => {
  it('answers [{type: {id, name, allowedFileTypes}, data: {id, fileName, downloadUrl, fileSize}}] with string IDs', async () => {
    const { call, videos } = setup();
    const [first] = await videos();
    const response = await call('GET', `/v1/vms/1001/videos/${first!.id}/attachments`);
    expect(response.status).toBe(200);
    const files = await response.json();
    expect(files.map((file: { type: { name: string } }) => file.type.name)).toEqual(['Slides', 'Handout']);
    const [slides] = files;
    expect(slides).toEqual({
      type: { id: expect.any(String), name: 'Slides', allowedFileTypes: ['pdf', 'pptx'] },
      data: {
        id: expect.stringMatching(/^[\w-]{22}$/),
        fileName: expect.stringMatching(/-slides\.pdf$/),
        downloadUrl: `${ORIGIN}/public/videos/${first!.id}/attachments/Slides/${slides.data.fileName}`,
        fileSize: expect.any(Number),
      },
    });
  });

  it('answers the same attachments on every fresh seed', async () => {
    const a = setup();
    const b = setup();
    const [first] = await a.videos();
    const path = `/v1/vms/1001/videos/${first!.id}/attachments`;
    expect(await (await a.call('GET', path)).json()).toEqual(await (await b.call('GET', path)).json());
  });

  it('answers [] for a video without attachments', async () => {
    const { call, videos } = setup();
    const third = (await videos())[2]!;
    expect(await (await call('GET', `/v1/vms/1001/videos/${third.id}/attachments`)).json()).toEqual([]);
  });

  it('answers [] for a video created through the API', async () => {
    const { call } = setup();
    const created = await call('POST', '/v1/vms/1001/videos', { fileName: 'new.mp4' });
    const id = created.headers.get('location')!.split('/').pop();
    expect(await (await call('GET', `/v1/vms/1001/videos/${id}/attachments`)).json()).toEqual([]);
  });

  it('answers 404 for an unknown video and 403 for a VideoManager the user cannot reach', async () => {
    const { call } = setup();
    expect((await call('GET', '/v1/vms/1001/videos/doesNotExist00000000000/attachments')).status).toBe(404);
    expect((await call('GET', '/v1/vms/1003/videos/doesNotExist00000000000/attachments')).status).toBe(403);
  });
});

describe('GET …/channels/{channelId}/attachments', () => {
  it('answers the root channel’s brand guide with a channel download URL', async () => {
    const { call } = setup();
    const [file] = await (await call('GET', '/v1/vms/1001/channels/100/attachments')).json();
    expect(file).toMatchObject({
      type: { name: 'Handout' },
      data: {
        fileName: 'brand-guide.pdf',
        downloadUrl: `${ORIGIN}/public/channels/100/attachments/Handout/brand-guide.pdf`,
      },
    });
  });

  it('answers 404 for an unknown channel and 400 for a channel ID that is not a number', async () => {
    const { call } = setup();
    expect((await call('GET', '/v1/vms/1001/channels/999999/attachments')).status).toBe(404);
    expect((await call('GET', '/v1/vms/1001/channels/events/attachments')).status).toBe(400);
  });
});

describe('GET and PATCH …/videos/{videoId}/metadata/corporate-tube', () => {
  const path = (id: string) => `/v1/vms/1001/videos/${id}/metadata/corporate-tube`;

  it('answers the five fields, taken from the upload until someone sets them', async () => {
    const { call, videos } = setup();
    const [first] = await videos();
    expect(await (await call('GET', path(first!.id))).json()).toEqual({
      uploadDate: new Date(first!.uploadDate).toISOString().replace('.000Z', 'Z'),
      uploaderUserId: '80001',
      inChargeUserId: '80001',
      uploaderKeycloakUserId: demo.sub,
      inChargeKeycloakUserId: demo.sub,
    });
  });

  it('answers a seeded person in charge other than the uploader', async () => {
    const { call, videos } = setup();
    const third = (await videos())[2]!;
    expect(await (await call('GET', path(third.id))).json()).toMatchObject({
      inChargeUserId: '80002',
      inChargeKeycloakUserId: null,
    });
  });

  it('changes only the fields sent: 200 without a body, then GET shows them', async () => {
    const { call, videos } = setup();
    const [first] = await videos();
    const response = await call('PATCH', path(first!.id), { inChargeUserId: '90001', uploadDate: null });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
    expect(await (await call('GET', path(first!.id))).json()).toMatchObject({
      inChargeUserId: '90001',
      uploadDate: null,
      uploaderUserId: '80001',
    });
  });

  it('takes an uploadDate with an offset, as PHP-CLIENT sends it, and answers it in UTC', async () => {
    const { call, videos } = setup();
    const [first] = await videos();
    await call('PATCH', path(first!.id), { uploadDate: '2023-06-05T16:26:23+02:00' });
    expect((await (await call('GET', path(first!.id))).json()).uploadDate).toBe('2023-06-05T14:26:23Z');
  });

  it('stores a user ID sent as a number as its string', async () => {
    const { call, videos } = setup();
    const [first] = await videos();
    await call('PATCH', path(first!.id), { uploaderUserId: 80076 });
    expect((await (await call('GET', path(first!.id))).json()).uploaderUserId).toBe('80076');
  });

  it('answers 400 for an unknown field, a bad date, or a body that is not JSON, and changes nothing', async () => {
    const { call, videos } = setup();
    const [first] = await videos();
    const before = await (await call('GET', path(first!.id))).json();
    expect((await call('PATCH', path(first!.id), { owner: 'x' })).status).toBe(400);
    expect(
      (await call('PATCH', path(first!.id), { uploadDate: '05.06.2023', inChargeUserId: 'x' })).status,
    ).toBe(400);
    expect((await call('PATCH', path(first!.id), { inChargeUserId: true })).status).toBe(400);
    expect((await call('PATCH', path(first!.id), undefined, { 'content-type': 'text/plain' })).status).toBe(
      400,
    );
    expect(await (await call('GET', path(first!.id))).json()).toEqual(before);
  });

  it('answers 400 VIDEO_IS_ARCHIVED_CAN_NOT_BE_MODIFIED for an archived video', async () => {
    const { call, videos } = setup();
    const archived = (await videos())[10]!;
    const response = await call('PATCH', path(archived.id), { inChargeUserId: '1' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'VIDEO_IS_ARCHIVED_CAN_NOT_BE_MODIFIED' });
  });

  it('answers 404 for an unknown video', async () => {
    const { call } = setup();
    expect((await call('GET', path('doesNotExist00000000000'))).status).toBe(404);
  });
});

describe('GET /v1/vms/{vm}/analytics/videos', () => {
  interface Item {
    id: string;
    plays: number;
    [key: string]: unknown;
  }
  const page = async (call: ReturnType<typeof setup>['call'], query: string): Promise<Item[]> => {
    const response = await call('GET', `/v1/vms/1001/analytics/videos?${query}`);
    expect(response.status).toBe(200);
    return (await response.json()).videos;
  };
  const playsOf = async (call: ReturnType<typeof setup>['call'], id: string, from: number, to: number) => {
    const start = new Date(from).toISOString();
    const end = new Date(to).toISOString();
    const [item] = await page(
      call,
      `videoIds=${id}&analyticsStartDateTime=${start}&analyticsEndDateTime=${end}`,
    );
    return item!.plays;
  };

  it('answers {videos: [VideoAnalyticsDTO]} with ISO dates and duration in ms, like PHP-CLIENT’s getPlays.json', async () => {
    const { call, videos } = setup();
    const [first] = await videos();
    const [item] = await page(call, 'limit=1');
    expect(item).toEqual({
      id: first!.id,
      title: first!['title'],
      description: first!['description'],
      createdDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      modifiedDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      duration: first!['length'],
      uploadedFile: first!['uploadFileName'],
      published: first!['published'],
      channels: [{ id: expect.any(Number), name: expect.any(String) }],
      groups: [{ id: 7001, name: 'Demo Marketing owners' }],
      metadata: expect.any(Object),
      plays: expect.any(Number),
    });
  });

  it('pages with offset and limit in creation order, each video once', async () => {
    const { call, videos } = setup();
    const all = await videos();
    const first = await page(call, 'limit=25&offset=0');
    const second = await page(call, 'limit=25&offset=25');
    const third = await page(call, 'limit=25&offset=50');
    expect([...first, ...second, ...third].map((item) => item.id)).toEqual(all.map((video) => video.id));
    expect(third).toHaveLength(all.length - 50);
  });

  it('answers every video, up to 100, when no limit is given', async () => {
    const { call } = setup();
    const response = await call('GET', '/v1/vms/1001/analytics/videos');
    expect((await response.json()).videos).toHaveLength(60);
  });

  it('answers only the videos named in repeated videoIds, leaving unknown IDs out', async () => {
    const { call, videos } = setup();
    const [a, , b] = await videos();
    const items = await page(call, `videoIds=${b!.id}&videoIds=${a!.id}&videoIds=unknownVideo0000000000`);
    expect(items.map((item) => item.id).sort()).toEqual([a!.id, b!.id].sort());
  });

  it('counts the plays of two adjacent periods to the plays of both', async () => {
    const { call, videos } = setup();
    const [first] = await videos();
    const start = Date.UTC(2024, 0, 1);
    const middle = Date.UTC(2024, 6, 1);
    const end = Date.UTC(2025, 0, 1);
    const whole = await playsOf(call, first!.id, start, end);
    expect(whole).toBeGreaterThan(0);
    expect(
      (await playsOf(call, first!.id, start, middle)) + (await playsOf(call, first!.id, middle, end)),
    ).toBe(whole);
  });

  it('counts no plays before the upload and none after the emulator’s now', async () => {
    const { call, videos } = setup();
    const [first] = await videos();
    expect(await playsOf(call, first!.id, first!.uploadDate - 30 * DAY, first!.uploadDate)).toBe(0);
    expect(await playsOf(call, first!.id, NOW, NOW + 365 * DAY)).toBe(0);
  });

  it('spreads a video’s seeded lifetime plays from its upload to the reference date', async () => {
    const { call, videos } = setup();
    const [first] = await videos();
    const lifetime = (first as unknown as { plays: number }).plays;
    const plays = await playsOf(call, first!.id, 0, PLAYS_REFERENCE_DATE);
    expect(Math.abs(plays - lifetime)).toBeLessThanOrEqual(1);
  });

  it('answers 400 for a limit above 100 or of 0', async () => {
    const { call } = setup();
    expect((await call('GET', '/v1/vms/1001/analytics/videos?limit=101')).status).toBe(400);
    expect((await call('GET', '/v1/vms/1001/analytics/videos?limit=0')).status).toBe(400);
  });

  it('answers 400 for more than 100 videoIds', async () => {
    const { call } = setup();
    const query = Array.from({ length: 101 }, (_, i) => `videoIds=v${i}`).join('&');
    const response = await call('GET', `/v1/vms/1001/analytics/videos?${query}`);
    expect(response.status).toBe(400);
    expect((await response.json()).message).toMatch(/at most 100/);
  });

  it('answers 400 for a period bound that is not ISO 8601, and for a start after the end', async () => {
    const { call } = setup();
    expect(
      (await call('GET', '/v1/vms/1001/analytics/videos?analyticsStartDateTime=1735689600000')).status,
    ).toBe(400);
    expect(
      (
        await call(
          'GET',
          '/v1/vms/1001/analytics/videos?analyticsStartDateTime=2025-02-01T00:00:00Z&analyticsEndDateTime=2025-01-01T00:00:00Z',
        )
      ).status,
    ).toBe(400);
  });

  it('answers 403 for a VideoManager the user cannot reach and 404 for one that does not exist', async () => {
    const { call } = setup();
    expect((await call('GET', '/v1/vms/1003/analytics/videos')).status).toBe(403);
    expect((await call('GET', '/v1/vms/999/analytics/videos')).status).toBe(404);
  });

  it('answers an injected fault instead, and counts the request under its template', async () => {
    const { api, call } = setup();
    api.addFault({
      path: '/v1/vms/*/analytics/videos',
      kind: 'status',
      status: 503,
      retryAfter: 1,
      times: 1,
    });
    const response = await call('GET', '/v1/vms/1001/analytics/videos');
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect((await call('GET', '/v1/vms/1001/analytics/videos')).status).toBe(200);
    expect(api.counters().requests['GET /v1/vms/{vm}/analytics/videos']).toBe(2);
  });
});

describe('POST /v1/vms/corp-tube-admin/user-info', () => {
  const path = '/v1/vms/corp-tube-admin/user-info';

  it('answers the user of the ID token: e-mail, full name and reachable VideoManagers', async () => {
    const { call } = setup();
    const response = await call('POST', path, { jwt_id_token: GOOD_ID_TOKEN });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      email: demo.email,
      fullName: demo.name,
      videoManagerIds: [1001, 1002],
    });
  });

  it('answers 400 for an ID token it cannot verify, without echoing it', async () => {
    const { call } = setup();
    const response = await call('POST', path, { jwt_id_token: BAD_ID_TOKEN });
    expect(response.status).toBe(400);
    expect(await response.text()).not.toContain(BAD_ID_TOKEN);
  });

  it('answers 400 without jwt_id_token, or with other fields', async () => {
    const { call } = setup();
    expect((await call('POST', path, {})).status).toBe(400);
    expect((await call('POST', path, { jwt_id_token: GOOD_ID_TOKEN, idToken: 'x' })).status).toBe(400);
  });

  it('answers 401 without a bearer token', async () => {
    const { api } = setup();
    const response = await api.handle(
      new Request(`${ORIGIN}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jwt_id_token: GOOD_ID_TOKEN }),
      }),
    );
    expect(response?.status).toBe(401);
  });

  it('answers 405 to GET', async () => {
    const { call } = setup();
    const response = await call('GET', path);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('answers 501 when the API runs without a login server to verify ID tokens', async () => {
    const { call } = setup({ verifyIdToken: undefined });
    expect((await call('POST', path, { jwt_id_token: GOOD_ID_TOKEN })).status).toBe(501);
  });
});

describe('GET …/embed-codes: embedType and embed_type', () => {
  const embed = async (query: string) => {
    const { call, videos } = setup();
    const [first] = await videos();
    const [player] = await (await call('GET', '/v1/vms/1001/players')).json();
    return call(
      'GET',
      `/v1/vms/1001/videos/${first!.id}/embed-codes?player_definition_id=${player.id}&${query}`,
    );
  };

  it('takes both names when they agree', async () => {
    const response = await embed('embedType=link_url&embed_type=link_url');
    expect(response.status).toBe(200);
    expect((await response.json()).embedCode).toMatch(/^http:\/\/127\.0\.0\.1:4010\//);
  });

  it('takes embed_type alone, with PHP-CLIENT’s "html"', async () => {
    const response = await embed('embed_type=html');
    expect((await response.json()).embedCode).toMatch(/^<div id="mi-player-/);
  });

  it('answers 400 when the two names disagree', async () => {
    const response = await embed('embedType=iframe&embed_type=link_url');
    expect(response.status).toBe(400);
    expect((await response.json()).message).toMatch(/disagree/);
  });

  it('answers 400 for an unknown type under embed_type too', async () => {
    expect((await embed('embed_type=hologram')).status).toBe(400);
  });
});
