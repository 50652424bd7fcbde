import { describe, expect, it } from 'vitest';
import { type ApiPrincipal, createVmproApi, DEMO_USERS } from './index.js';

const ORIGIN = 'http://127.0.0.1:4010';
const [demo] = DEMO_USERS;

interface ChannelJson {
  id: number;
  name: string;
  parentId: number | null;
  children: ChannelJson[];
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
  const call = async (method: string, path: string, json?: unknown) => {
    const headers: Record<string, string> = { authorization: 'Bearer demo-token' };
    if (json !== undefined) headers['content-type'] = 'application/json';
    const body = json === undefined ? undefined : JSON.stringify(json);
    const response = await api.handle(
      new Request(`${ORIGIN}${path}`, { method, headers, ...(body !== undefined && { body }) }),
    );
    if (!response) throw new Error(`handle() returned null for ${path}`);
    return response;
  };
  const tree = async (): Promise<ChannelJson> => (await call('GET', '/v1/vms/1001/channels')).json();
  /** A published, not archived video of VM 1001 with keywords and custom metadata. */
  const video = async (): Promise<{ id: string; [key: string]: unknown }> => {
    const page = await (
      await call(
        'GET',
        '/v1/vms/1001/videos?limit=100&publication_state=published&archivedState=NOT_ARCHIVED&audio_only=false&include_keywords=true&include_custom_metadata=true&include_channel_assignments=true&order=asc',
      )
    ).json();
    return page.videos.find((each: { customMetadata: object }) => 'languages' in each.customMetadata);
  };
  return {
    api,
    call,
    tree,
    video,
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const names = (channels: ChannelJson[]) => channels.map((channel) => channel.name);

describe('GET /v1/vms/{vm}/channels', () => {
  it('answers one root channel with children and grandchildren nested, in creation order', async () => {
    const { tree } = setup();
    const root = await tree();
    expect(root).toMatchObject({ id: 100, name: 'Demo Marketing', parentId: null });
    expect(names(root.children)).toEqual(['Product Launches', 'Events', 'Customer Stories']);
    const events = root.children.find((channel) => channel.name === 'Events')!;
    expect(events.children.map((channel) => [channel.name, channel.parentId])).toEqual([
      ['Webinars', events.id],
      ['Trade Fairs', events.id],
    ]);
    expect(events.children[0]).toMatchObject({ createdDate: expect.any(Number), children: [] });
  });

  it('lists the channels a video is in with ?videoId=', async () => {
    const { call, video } = setup();
    const chosen = await video();
    const channels = await (await call('GET', `/v1/vms/1001/channels?videoId=${chosen.id}`)).json();
    expect(channels.map((channel: ChannelJson) => ({ id: channel.id, name: channel.name }))).toEqual(
      chosen['channels'],
    );
  });
});

describe('POST /v1/vms/{vm}/channels', () => {
  it('creates a channel: 201 with its URL in Location, and it shows under its parent', async () => {
    const { call, tree } = setup();
    const response = await call('POST', '/v1/vms/1001/channels', { name: 'Podcasts', parentId: 102 });
    expect(response.status).toBe(201);
    const location = response.headers.get('location')!;
    expect(location).toMatch(/^http:\/\/127\.0\.0\.1:4010\/v1\/vms\/1001\/channels\/\d+$/);
    const id = Number(location.split('/').pop());
    const stories = (await tree()).children.find((channel) => channel.id === 102)!;
    expect(stories.children.at(-1)).toMatchObject({ id, name: 'Podcasts', parentId: 102 });
  });

  it('answers 404 for a parent that does not exist and 400 without a name', async () => {
    const { call } = setup();
    expect((await call('POST', '/v1/vms/1001/channels', { name: 'X', parentId: 999999 })).status).toBe(404);
    expect((await call('POST', '/v1/vms/1001/channels', { parentId: 100 })).status).toBe(400);
  });

  it('answers 400 ENTRY_ALREADY_EXISTS for a second sub-channel of the same name', async () => {
    const { call } = setup();
    const response = await call('POST', '/v1/vms/1001/channels', { name: 'Events', parentId: 100 });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'ENTRY_ALREADY_EXISTS' });
  });
});

describe('PATCH and DELETE /v1/vms/{vm}/channels/{channelId}', () => {
  it('renames a channel: 200 with the channel', async () => {
    const { call } = setup();
    const response = await call('PATCH', '/v1/vms/1001/channels/113', { name: 'Online events' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 113, name: 'Online events', parentId: 101 });
  });

  it('refuses to delete the root channel (code 1001)', async () => {
    const { call } = setup();
    const response = await call('DELETE', '/v1/vms/1001/channels/100');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 1001 });
  });

  it('refuses to delete a channel with sub-channels (code 1002)', async () => {
    const { call } = setup();
    const response = await call('DELETE', '/v1/vms/1001/channels/101');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 1002 });
  });

  it('deletes a leaf channel: 200, gone from the tree', async () => {
    const { call, tree } = setup();
    expect((await call('DELETE', '/v1/vms/1001/channels/114')).status).toBe(200);
    const stories = (await tree()).children.find((channel) => channel.id === 102)!;
    expect(stories.children).toEqual([]);
    expect((await call('GET', '/v1/vms/1001/videos?channel_id=114')).status).toBe(404);
  });

  it('answers 400 for a non-numeric channel id', async () => {
    const { call } = setup();
    expect((await call('DELETE', '/v1/vms/1001/channels/events')).status).toBe(400);
  });
});

describe('a video in a channel', () => {
  it('adds a video to a channel and removes it again, 200 each', async () => {
    const { call, video } = setup();
    const chosen = await video();
    const inChannel = async () =>
      (await (await call('GET', '/v1/vms/1001/videos?channel_id=111&limit=100')).json()).videos.some(
        (each: { id: string }) => each.id === chosen.id,
      );
    expect(await inChannel()).toBe(false);
    expect((await call('POST', `/v1/vms/1001/channels/111/videos/${chosen.id}`)).status).toBe(200);
    expect(await inChannel()).toBe(true);
    expect((await call('DELETE', `/v1/vms/1001/channels/111/videos/${chosen.id}`)).status).toBe(200);
    expect(await inChannel()).toBe(false);
  });

  it('answers 404 when removing a video that is not in the channel', async () => {
    const { call, video } = setup();
    const chosen = await video();
    expect((await call('DELETE', `/v1/vms/1001/channels/111/videos/${chosen.id}`)).status).toBe(404);
  });
});

describe('thumbnails', () => {
  it('lists the stills of a video with their sizes; one is active', async () => {
    const { call, video } = setup();
    const chosen = await video();
    const stills = await (await call('GET', `/v1/vms/1001/videos/${chosen.id}/thumbnails`)).json();
    expect(stills.filter((still: { active: boolean }) => still.active)).toHaveLength(1);
    expect(stills[0]).toMatchObject({
      id: expect.any(Number),
      items: expect.arrayContaining([
        { quality: '288p', url: expect.any(String), dimension: { width: 512, height: 288 } },
      ]),
    });
  });

  it('creates a still from a frame (201 + Location) and makes it the thumbnail', async () => {
    const { call, video } = setup();
    const chosen = await video();
    const created = await call('POST', `/v1/vms/1001/videos/${chosen.id}/thumbnails?timestamp=1000`);
    expect(created.status).toBe(201);
    const location = created.headers.get('location')!;
    expect(location).toMatch(new RegExp(`/v1/vms/1001/videos/${chosen.id}/thumbnails/\\d+$`));
    const stillId = location.split('/').pop();
    const updated = await call('PATCH', `/v1/vms/1001/videos/${chosen.id}/thumbnails/${stillId}`, {
      active: true,
    });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({ id: Number(stillId), active: true });
    const after = await (await call('GET', `/v1/vms/1001/videos/${chosen.id}`)).json();
    expect(after.thumbnail).toContain(`/thumbnails/${stillId}?`);
  });

  it('answers 400 for a timestamp past the end of the video', async () => {
    const { call, video } = setup();
    const chosen = await video();
    expect(
      (await call('POST', `/v1/vms/1001/videos/${chosen.id}/thumbnails?timestamp=999999999`)).status,
    ).toBe(400);
  });

  it('gives the download URL of a still and deletes it (200)', async () => {
    const { call, video } = setup();
    const chosen = await video();
    const [still] = await (await call('GET', `/v1/vms/1001/videos/${chosen.id}/thumbnails`)).json();
    const url = await (
      await call('GET', `/v1/vms/1001/videos/${chosen.id}/thumbnails/${still.id}/url`)
    ).json();
    expect(url.downloadUrl).toMatch(/^http:\/\/127\.0\.0\.1:4010\/.+quality=720p$/);
    expect((await call('DELETE', `/v1/vms/1001/videos/${chosen.id}/thumbnails/${still.id}`)).status).toBe(
      200,
    );
    expect((await call('GET', `/v1/vms/1001/videos/${chosen.id}/thumbnails/${still.id}/url`)).status).toBe(
      404,
    );
  });

  it('lists the active still of every video', async () => {
    const { call } = setup();
    const all = await (await call('GET', '/v1/vms/1001/videos/thumbnails')).json();
    expect(all).toHaveLength(60);
    expect(all[0]).toMatchObject({ videoId: expect.any(String), stills: expect.any(Array) });
  });
});

describe('keywords', () => {
  it('lists, adds and removes the keywords of a video', async () => {
    const { call, video } = setup();
    const chosen = await video();
    const base = `/v1/vms/1001/videos/${chosen.id}/keywords`;
    expect(await (await call('GET', base)).json()).toEqual(chosen['keywords']);
    const added = await call('POST', base, { text: 'fresh' });
    expect(added.status).toBe(200);
    const keyword = await added.json();
    expect(keyword).toEqual({ id: expect.any(Number), text: 'fresh' });
    expect(await (await call('GET', base)).json()).toContainEqual(keyword);
    expect((await call('DELETE', `${base}/${keyword.id}`)).status).toBe(204);
    expect(await (await call('GET', base)).json()).not.toContainEqual(keyword);
  });

  it('answers 400 ENTRY_ALREADY_EXISTS for a keyword the video has', async () => {
    const { call, video } = setup();
    const chosen = await video();
    const [first] = chosen['keywords'] as { text: string }[];
    const response = await call('POST', `/v1/vms/1001/videos/${chosen.id}/keywords`, { text: first!.text });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'ENTRY_ALREADY_EXISTS' });
  });

  it('answers 404 when removing a keyword the video does not have', async () => {
    const { call, video } = setup();
    const chosen = await video();
    expect((await call('DELETE', `/v1/vms/1001/videos/${chosen.id}/keywords/999999`)).status).toBe(404);
  });
});

describe('custom metadata', () => {
  it('answers the values of a video', async () => {
    const { call, video } = setup();
    const chosen = await video();
    expect(await (await call('GET', `/v1/vms/1001/videos/${chosen.id}/metadata`)).json()).toEqual(
      chosen['customMetadata'],
    );
  });

  it('sets values (204) and deletes one with null', async () => {
    const { call, video } = setup();
    const chosen = await video();
    const base = `/v1/vms/1001/videos/${chosen.id}/metadata`;
    const response = await call('PATCH', base, {
      department: 'Support',
      languages: ['German', 'French'],
      reviewDate: '2026-01-31T08:00:00.000Z',
      internalNote: null,
    });
    expect(response.status).toBe(204);
    const after = await (await call('GET', base)).json();
    expect(after).toMatchObject({
      department: 'Support',
      languages: ['German', 'French'],
      reviewDate: '2026-01-31T08:00:00.000Z',
    });
    expect(after).not.toHaveProperty('internalNote');
  });

  it('answers 400 INVALID_SELECT_OPTION for a value that is not an option, and changes nothing', async () => {
    const { call, video } = setup();
    const chosen = await video();
    const base = `/v1/vms/1001/videos/${chosen.id}/metadata`;
    const response = await call('PATCH', base, { internalNote: 'changed', department: 'Space' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'INVALID_SELECT_OPTION' });
    expect(await (await call('GET', base)).json()).toEqual(chosen['customMetadata']);
  });

  it.each([
    ['a date in another form', { reviewDate: '31.01.2026' }],
    ['a field that is not editable', { legacyId: 'LEG-1' }],
    ['a field that does not exist', { colour: 'red' }],
    ['a field of channels', { channelTopic: 'x' }],
  ])('answers 400 for %s', async (_, body) => {
    const { call, video } = setup();
    const chosen = await video();
    expect((await call('PATCH', `/v1/vms/1001/videos/${chosen.id}/metadata`, body)).status).toBe(400);
  });

  it('removes one multi-select value by option id (204)', async () => {
    const { call, video } = setup();
    const chosen = await video();
    const fields = await (await call('GET', '/v1/vms/1001/custom-metadata-fields')).json();
    const languages = fields.find((field: { keyName: string }) => field.keyName === 'languages');
    const english = languages.options.find((option: { name: string }) => option.name === 'English');
    const base = `/v1/vms/1001/videos/${chosen.id}/metadata`;
    await call('PATCH', base, { languages: ['English', 'German'] });
    expect((await call('DELETE', `${base}/option/${english.id}`)).status).toBe(204);
    expect((await (await call('GET', base)).json()).languages).toEqual(['German']);
    expect((await call('DELETE', `${base}/option/${english.id}`)).status).toBe(404);
  });
});
