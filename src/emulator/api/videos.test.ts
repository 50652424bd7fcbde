import { describe, expect, it } from 'vitest';
import { type ApiPrincipal, createVmproApi, DEMO_USERS } from './index.js';

const ORIGIN = 'http://127.0.0.1:4010';
const [demo] = DEMO_USERS;

interface VideoJson {
  id: string;
  title: string;
  published: boolean;
  audioOnly: boolean;
  createdDate: number;
  modifiedDate: number;
  length: number;
  [key: string]: unknown;
}

/** An API over a test clock, with a demo user's token already minted. */
function setup() {
  let now = Date.UTC(2025, 5, 2, 12, 0, 0);
  const tokens = new Map<string, ApiPrincipal>([
    ['demo-token', { sub: demo.sub, preferred_username: 'demo', exp: 4_000_000_000 }],
  ]);
  const api = createVmproApi({
    verifyAccessToken: async (token) => tokens.get(token) ?? null,
    origin: () => ORIGIN,
    issuer: () => `${ORIGIN}/auth/realms/platform`,
    now: () => now,
  });
  const call = async (
    method: string,
    path: string,
    init: { json?: unknown; headers?: Record<string, string>; body?: string } = {},
  ) => {
    const headers: Record<string, string> = { authorization: 'Bearer demo-token', ...init.headers };
    let body = init.body;
    if (init.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(init.json);
    }
    const response = await api.handle(
      new Request(`${ORIGIN}${path}`, { method, headers, ...(body !== undefined && { body }) }),
    );
    if (!response) throw new Error(`handle() returned null for ${path}`);
    return response;
  };
  const list = async (query = '', vm = 1001): Promise<{ total: number; videos: VideoJson[] }> => {
    const response = await call('GET', `/v1/vms/${vm}/videos${query}`);
    expect(response.status).toBe(200);
    return response.json();
  };
  const all = (query = '') => list(`?limit=100${query ? `&${query}` : ''}`);
  return {
    api,
    call,
    list,
    all,
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('GET /v1/vms/{vm}/videos', () => {
  it('answers {total, videos} with the first 50 of the 60 seeded videos by default', async () => {
    const { list } = setup();
    const page = await list();
    expect(page.total).toBe(60);
    expect(page.videos).toHaveLength(50);
  });

  it('describes each video with a 22-character id, epoch-ms dates and a length in ms', async () => {
    const { list } = setup();
    const [video] = (await list()).videos;
    expect(video).toMatchObject({
      id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      title: expect.any(String),
      createdDate: expect.any(Number),
      modifiedDate: expect.any(Number),
      uploadDate: expect.any(Number),
      length: expect.any(Number),
      published: expect.any(Boolean),
      allFormatsAvailable: true,
      thumbnail: expect.stringMatching(/^\/\/127\.0\.0\.1:4010\//),
      stills: expect.arrayContaining([
        { quality: '720p', url: expect.any(String), dimension: { width: 1280, height: 720 } },
      ]),
    });
    expect(video!.createdDate).toBeGreaterThan(Date.UTC(2023, 0, 1));
    expect(video!.length % 1000).toBe(0);
  });

  it('pages with offset and limit while total stays the count of all matches', async () => {
    const { list } = setup();
    const first = await list('?offset=0&limit=25');
    const second = await list('?offset=25&limit=25');
    const third = await list('?offset=50&limit=25');
    expect([first.total, second.total, third.total]).toEqual([60, 60, 60]);
    expect(third.videos).toHaveLength(10);
    const ids = [...first.videos, ...second.videos, ...third.videos].map((video) => video.id);
    expect(new Set(ids).size).toBe(60);
  });

  it('answers an empty page past the end', async () => {
    const { list } = setup();
    expect(await list('?offset=60')).toEqual({ total: 60, videos: [] });
  });

  it('cuts limit to 100', async () => {
    const { call, list } = setup();
    for (let i = 0; i < 45; i++) {
      await call('POST', '/v1/vms/1001/videos', { json: { fileName: `extra-${i}.mp4` } });
    }
    const page = await list('?limit=500');
    expect(page.total).toBe(105);
    expect(page.videos).toHaveLength(100);
  });

  it.each([
    ['?offset=-1', /offset/],
    ['?limit=ten', /limit/],
    ['?limit=10&limit=20', /limit.*2 times/],
    ['?order=sideways', /order/],
    ['?order_property=colour', /order_property/],
    ['?publication_state=maybe', /publication_state/],
    ['?channel_id=abc', /channel_id/],
    ['?search_term=x&search_in_field=nope', /search_in_field/],
  ])('answers 400 with a message for %s', async (query, message) => {
    const { call } = setup();
    const response = await call('GET', `/v1/vms/1001/videos${query}`);
    expect(response.status).toBe(400);
    expect((await response.json()).message).toMatch(message);
  });

  it.each(['TRUE', '1', 'yes', ''])('accepts booleans only as "true"/"false", not "%s"', async (value) => {
    const { call } = setup();
    const response = await call('GET', `/v1/vms/1001/videos?include_keywords=${value}`);
    expect(response.status).toBe(400);
    expect((await response.json()).message).toMatch(/"true" or "false"/);
  });

  it('sorts by created_date, newest first, by default', async () => {
    const { all } = setup();
    const dates = (await all()).videos.map((video) => video.createdDate);
    expect(dates).toEqual([...dates].sort((a, b) => b - a));
  });

  it('sorts by another property in ascending order', async () => {
    const { all } = setup();
    const titles = (await all('order_property=title&order=asc')).videos.map((video) =>
      video.title.toLowerCase(),
    );
    expect(titles).toEqual([...titles].sort());
  });

  it('filters by one channel', async () => {
    const { all } = setup();
    const page = await all('channel_id=113&include_channel_assignments=true');
    expect(page.total).toBeGreaterThan(0);
    for (const video of page.videos) expect(video['channels']).toContainEqual({ id: 113, name: 'Webinars' });
  });

  it('takes several channels as a repeated channel_id key', async () => {
    const { all } = setup();
    const one = (await all('channel_id=113')).total;
    const other = (await all('channel_id=112')).total;
    const both = await all('channel_id=113&channel_id=112');
    expect(both.total).toBe(one + other);
  });

  it('includes videos of sub-channels and their children with include_sub_channels=true', async () => {
    const { all } = setup();
    const direct = (await all('channel_id=101')).total;
    const tree = (await all('channel_id=101&include_sub_channels=true')).total;
    const children = (await all('channel_id=113&channel_id=112')).total;
    expect(tree).toBe(direct + children);
    expect((await all('channel_id=100&include_sub_channels=true')).total).toBe(60);
  });

  it('answers 404 for a channel that does not exist', async () => {
    const { call } = setup();
    expect((await call('GET', '/v1/vms/1001/videos?channel_id=999999')).status).toBe(404);
  });

  it('filters by publication state', async () => {
    const { all } = setup();
    const published = await all('publication_state=published');
    const unpublished = await all('publication_state=not_published');
    expect(published.total + unpublished.total).toBe(60);
    expect(unpublished.total).toBeGreaterThan(0);
    expect(published.videos.every((video) => video.published)).toBe(true);
    expect(unpublished.videos.every((video) => !video.published)).toBe(true);
  });

  it('filters audio-only and archived videos', async () => {
    const { all } = setup();
    const audio = await all('audio_only=true');
    expect(audio.total).toBe(5);
    expect(audio.videos.every((video) => video.audioOnly)).toBe(true);
    expect((await all('archivedState=ARCHIVED')).total).toBe(3);
    expect((await all('archivedState=NOT_ARCHIVED')).total).toBe(57);
  });

  it('searches title, description, keywords and file name case-insensitively', async () => {
    const { all } = setup();
    const page = await all('search_term=WEBINAR');
    expect(page.total).toBeGreaterThan(0);
    expect((await all('search_term=zebra-crossing')).total).toBe(0);
  });

  it('searches one field with search_in_field', async () => {
    const { all } = setup();
    const page = await all('search_term=teaser&search_in_field=keywords&include_keywords=true');
    expect(page.total).toBeGreaterThan(0);
    for (const video of page.videos) {
      expect(video['keywords']).toContainEqual({ id: expect.any(Number), text: 'teaser' });
    }
    const byMetadata = await all('search_term=Sales&search_in_field=department&include_custom_metadata=true');
    expect(byMetadata.total).toBeGreaterThan(0);
    for (const video of byMetadata.videos)
      expect(video['customMetadata']).toMatchObject({ department: 'Sales' });
  });

  it('matches a phrase as a whole with exact_string=true', async () => {
    const { all } = setup();
    expect((await all('search_term=highlights%20event&search_in_field=title')).total).toBeGreaterThan(0);
    expect((await all('search_term=highlights%20event&search_in_field=title&exact_string=true')).total).toBe(
      0,
    );
    expect(
      (await all('search_term=event%20highlights&search_in_field=title&exact_string=true')).total,
    ).toBeGreaterThan(0);
  });

  it('requires every repeated search_term to match', async () => {
    const { all } = setup();
    const webinars = (await all('search_term=webinar&search_in_field=title')).total;
    const both = (await all('search_term=webinar&search_term=security&search_in_field=title')).total;
    expect(both).toBeGreaterThan(0);
    expect(both).toBeLessThan(webinars);
  });

  it('leaves out keywords, custom metadata, channels and owner unless asked for', async () => {
    const { list } = setup();
    const [plain] = (await list('?limit=1')).videos;
    for (const field of ['keywords', 'customMetadata', 'channels', 'owner'])
      expect(plain).not.toHaveProperty(field);
    const [full] = (
      await list(
        '?limit=1&include_keywords=true&include_custom_metadata=true&include_channel_assignments=true&include_owner=true',
      )
    ).videos;
    expect(full).toMatchObject({
      keywords: expect.any(Array),
      customMetadata: expect.any(Object),
      channels: expect.any(Array),
      owner: expect.stringContaining('@'),
    });
  });

  it('narrows custom metadata to the fields named with repeated custom_metadata_field', async () => {
    const { all } = setup();
    const page = await all(
      'include_custom_metadata=true&custom_metadata_field=department&custom_metadata_field=languages',
    );
    const keys = new Set(page.videos.flatMap((video) => Object.keys(video['customMetadata'] as object)));
    expect([...keys].sort()).toEqual(['department', 'languages']);
  });

  it('has a few videos in the second VideoManager', async () => {
    const { list } = setup();
    expect((await list('', 1002)).total).toBe(5);
  });

  it('seeds the same data in every instance', async () => {
    const a = await setup().all('include_keywords=true&include_custom_metadata=true');
    const b = await setup().all('include_keywords=true&include_custom_metadata=true');
    expect(a).toEqual(b);
  });
});

describe('GET /v1/vms/{vm}/videos/videoIds', () => {
  it('lists every video id', async () => {
    const { call } = setup();
    const ids = await (await call('GET', '/v1/vms/1001/videos/videoIds')).json();
    expect(ids).toHaveLength(60);
    expect(ids.every((id: unknown) => typeof id === 'string')).toBe(true);
  });
});

describe('GET /v1/vms/{vm}/videos/{videoId}', () => {
  it('answers a published video', async () => {
    const { all, call } = setup();
    const [video] = (await all('publication_state=published')).videos;
    const response = await call('GET', `/v1/vms/1001/videos/${video!.id}?include_keywords=true`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      id: video!.id,
      title: video!.title,
      keywords: expect.any(Array),
    });
  });

  it('answers an unpublished video only with ignore_publication_state=true', async () => {
    const { all, call } = setup();
    const [video] = (await all('publication_state=not_published')).videos;
    const hidden = await call('GET', `/v1/vms/1001/videos/${video!.id}`);
    expect(hidden.status).toBe(404);
    expect((await hidden.json()).message).toMatch(/ignore_publication_state=true/);
    expect((await call('GET', `/v1/vms/1001/videos/${video!.id}?ignore_publication_state=true`)).status).toBe(
      200,
    );
  });

  it('answers 404 for an unknown id and 400 for an id with forbidden characters', async () => {
    const { call } = setup();
    expect((await call('GET', '/v1/vms/1001/videos/doesNotExist123')).status).toBe(404);
    expect((await call('GET', '/v1/vms/1001/videos/bad%20id')).status).toBe(400);
  });

  it('answers 404 for an unknown metadata_set_id', async () => {
    const { all, call } = setup();
    const [video] = (await all('publication_state=published')).videos;
    expect((await call('GET', `/v1/vms/1001/videos/${video!.id}?metadata_set_id=12`)).status).toBe(404);
    expect((await call('GET', `/v1/vms/1001/videos/${video!.id}?metadata_set_id=10013`)).status).toBe(200);
  });
});

describe('POST /v1/vms/{vm}/videos', () => {
  it('creates a video: 201 with the new video URL in Location', async () => {
    const { call, now } = setup();
    const response = await call('POST', '/v1/vms/1001/videos', {
      json: {
        fileName: 'keynote.mp4',
        title: 'Keynote',
        description: 'Opening talk',
        keywords: ['keynote'],
        channel: 110,
      },
    });
    expect(response.status).toBe(201);
    const location = response.headers.get('location')!;
    expect(location).toMatch(/^http:\/\/127\.0\.0\.1:4010\/v1\/vms\/1001\/videos\/[A-Za-z0-9_-]{22}$/);
    const created = await (
      await call(
        'GET',
        `${new URL(location).pathname}?ignore_publication_state=true&include_keywords=true&include_channel_assignments=true`,
      )
    ).json();
    expect(created).toMatchObject({
      title: 'Keynote',
      description: 'Opening talk',
      published: false,
      uploadFileName: 'keynote.mp4',
      createdDate: now(),
      uploadDate: null,
      allFormatsAvailable: false,
      keywords: [{ id: expect.any(Number), text: 'keynote' }],
      channels: [{ id: 110, name: 'Launch 2024' }],
    });
  });

  it('adds the new video to the list', async () => {
    const { call, list } = setup();
    await call('POST', '/v1/vms/1001/videos', { json: { fileName: 'a.mov' } });
    expect((await list()).total).toBe(61);
  });

  it('answers 400 without a fileName', async () => {
    const { call } = setup();
    const response = await call('POST', '/v1/vms/1001/videos', { json: { title: 'No file' } });
    expect(response.status).toBe(400);
    expect((await response.json()).message).toMatch(/fileName/);
  });

  it('answers 415 for a file type movingimage does not take', async () => {
    const { call } = setup();
    const response = await call('POST', '/v1/vms/1001/videos', { json: { fileName: 'slides.pdf' } });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ code: 'VIDEO_UPLOAD_UNSUPPORTED_MIME_TYPE' });
  });

  it('answers 404 "entity not found" for a channel that does not exist', async () => {
    const { call } = setup();
    const response = await call('POST', '/v1/vms/1001/videos', {
      json: { fileName: 'a.mp4', channel: 424242 },
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'entity not found' });
  });

  it.each([
    ['a field of the wrong type', { json: { fileName: 'a.mp4', autoPublish: 'yes' } }, /autoPublish/],
    ['an unknown field', { json: { fileName: 'a.mp4', colour: 'red' } }, /colour/],
    ['a JSON array', { json: [{ fileName: 'a.mp4' }] }, /JSON object/],
    [
      'malformed JSON',
      { body: '{"fileName":', headers: { 'content-type': 'application/json' } },
      /not valid JSON/,
    ],
    [
      'a form body',
      { body: 'fileName=a.mp4', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      /Content-Type/,
    ],
  ])('answers 400 for %s', async (_, init, message) => {
    const { call, list } = setup();
    const response = await call('POST', '/v1/vms/1001/videos', init);
    expect(response.status).toBe(400);
    expect((await response.json()).message).toMatch(message);
    expect((await list()).total).toBe(60);
  });
});

describe('PATCH /v1/vms/{vm}/videos/{videoId}', () => {
  const published = async (s: ReturnType<typeof setup>) =>
    (await s.all('publication_state=published&archivedState=NOT_ARCHIVED')).videos[0]!;

  it('updates the given fields: 204, and the video shows them', async () => {
    const s = setup();
    const video = await published(s);
    s.advance(1000);
    const response = await s.call('PATCH', `/v1/vms/1001/videos/${video.id}`, {
      json: { title: 'New title', downloadable: false, scheduledTrashDate: '2030-01-01T00:00:00Z' },
    });
    expect(response.status).toBe(204);
    const after = await (await s.call('GET', `/v1/vms/1001/videos/${video.id}`)).json();
    expect(after).toMatchObject({
      title: 'New title',
      downloadable: false,
      scheduledTrashDate: '2030-01-01T00:00:00Z',
      modifiedDate: s.now(),
      description: video['description'],
    });
  });

  it('changes nothing when one field is invalid', async () => {
    const s = setup();
    const video = await published(s);
    const response = await s.call('PATCH', `/v1/vms/1001/videos/${video.id}`, {
      json: { title: 'Changed', published: 'no' },
    });
    expect(response.status).toBe(400);
    expect((await (await s.call('GET', `/v1/vms/1001/videos/${video.id}`)).json()).title).toBe(video.title);
  });

  it('answers 400 for a scheduledTrashDate that is not ISO 8601', async () => {
    const s = setup();
    const video = await published(s);
    const response = await s.call('PATCH', `/v1/vms/1001/videos/${video.id}`, {
      json: { scheduledTrashDate: 'tomorrow' },
    });
    expect(response.status).toBe(400);
  });

  it('refuses to change an archived video', async () => {
    const s = setup();
    const [video] = (await s.all('archivedState=ARCHIVED')).videos;
    const response = await s.call('PATCH', `/v1/vms/1001/videos/${video!.id}`, { json: { title: 'x' } });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'VIDEO_IS_ARCHIVED_CAN_NOT_BE_MODIFIED' });
  });

  it('publishes a video and stamps its publication date', async () => {
    const s = setup();
    const [video] = (await s.all('publication_state=not_published&archivedState=NOT_ARCHIVED')).videos;
    await s.call('PATCH', `/v1/vms/1001/videos/${video!.id}`, { json: { published: true } });
    const after = await (await s.call('GET', `/v1/vms/1001/videos/${video!.id}`)).json();
    expect(after).toMatchObject({ published: true, publicationDate: s.now() });
  });
});

describe('DELETE /v1/vms/{vm}/videos/{videoId}', () => {
  it('moves the video to the trash: 204, gone from the list and from GET, listed in the trash', async () => {
    const { call, all, list } = setup();
    const [video] = (await all('publication_state=published')).videos;
    expect((await call('DELETE', `/v1/vms/1001/videos/${video!.id}`)).status).toBe(204);
    expect((await call('GET', `/v1/vms/1001/videos/${video!.id}`)).status).toBe(404);
    expect((await list()).total).toBe(59);
    const trash = await (await call('GET', '/v1/vms/1001/trash/videos')).json();
    expect(trash).toMatchObject({ total: 1, videos: [{ id: video!.id, deleted: true }] });
  });

  it('answers 404 the second time', async () => {
    const { call, all } = setup();
    const [video] = (await all()).videos;
    await call('DELETE', `/v1/vms/1001/videos/${video!.id}`);
    expect((await call('DELETE', `/v1/vms/1001/videos/${video!.id}`)).status).toBe(404);
  });
});

describe('download URLs, embed codes and transcoding status', () => {
  const firstVideo = async (s: ReturnType<typeof setup>) => (await s.all('audio_only=false')).videos[0]!;

  it('lists a download URL per rendition with size and md5', async () => {
    const s = setup();
    const video = await firstVideo(s);
    const urls = await (await s.call('GET', `/v1/vms/1001/videos/${video.id}/download-urls`)).json();
    expect(urls.map((entry: { quality: string }) => entry.quality)).toEqual(['360p', '720p', '1080p']);
    expect(urls[0]).toEqual({
      quality: '360p',
      profileKey: 'h264_360p',
      fileExtension: 'mp4',
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:4010\/asset-out\/.+__token__=\d+~[0-9a-f]{64}$/),
      fileSize: expect.any(Number),
      md5: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });

  it('names download files after download_file_name_template', async () => {
    const s = setup();
    const video = await firstVideo(s);
    const template = encodeURIComponent('clip-%{QUALITY}-%{PROFILE_KEY}.%{FILE_EXTENSION}');
    const urls = await (
      await s.call(
        'GET',
        `/v1/vms/1001/videos/${video.id}/download-urls?download_file_name_template=${template}`,
      )
    ).json();
    expect(new URL(urls[1].url).searchParams.get('filename')).toBe('clip-720p-h264_720p.mp4');
  });

  it('answers an iframe embed code for a player', async () => {
    const s = setup();
    const video = await firstVideo(s);
    const [player] = await (await s.call('GET', '/v1/vms/1001/players')).json();
    const response = await s.call(
      'GET',
      `/v1/vms/1001/videos/${video.id}/embed-codes?player_definition_id=${player.id}`,
    );
    expect(response.status).toBe(200);
    const { embedCode } = await response.json();
    expect(embedCode).toMatch(/^<iframe src="[^"]*video-id=[^"]*"/);
    const link = await (
      await s.call(
        'GET',
        `/v1/vms/1001/videos/${video.id}/embed-codes?player_definition_id=${player.id}&embedType=link_url`,
      )
    ).json();
    expect(link.embedCode).toMatch(/^http:\/\/127\.0\.0\.1:4010\//);
  });

  it('answers 400 without player_definition_id, 404 for an unknown player, 400 for an unknown embedType', async () => {
    const s = setup();
    const video = await firstVideo(s);
    const base = `/v1/vms/1001/videos/${video.id}/embed-codes`;
    expect((await s.call('GET', base)).status).toBe(400);
    expect((await s.call('GET', `${base}?player_definition_id=nope`)).status).toBe(404);
    const [player] = await (await s.call('GET', '/v1/vms/1001/players')).json();
    expect((await s.call('GET', `${base}?player_definition_id=${player.id}&embedType=hologram`)).status).toBe(
      400,
    );
  });

  it('reports every rendition of a seeded video as transcoded', async () => {
    const s = setup();
    const video = await firstVideo(s);
    const status = await (await s.call('GET', `/v1/vms/1001/videos/${video.id}/transcoding-status`)).json();
    expect(status).toEqual([
      { quality: '360p', profileKey: 'h264_360p', fileExtension: 'mp4', transcodingCompleted: true },
      { quality: '720p', profileKey: 'h264_720p', fileExtension: 'mp4', transcodingCompleted: true },
      { quality: '1080p', profileKey: 'h264_1080p', fileExtension: 'mp4', transcodingCompleted: true },
    ]);
  });
});
