/**
 * Fixtures of the media endpoints, shaped like the real API's answers (facts 3.2 and 4.1;
 * written for this project in the forms of PHP-CLIENT's getAttachments, getChannelAttachments,
 * getPlayers, getMetaDataSets, getCorporateTubeMetadata, getThumbnail, getPlays and getUserInfo):
 * the client reads each one, and the emulator, over a real socket, answers with the same keys
 * and values of the same JSON types.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../emulator/index.js';
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

/**
 * The JSON shape of a value: keys (sorted) and JSON types, arrays by their first item. Free-form
 * objects (custom `metadata`) count as "object".
 */
function shape(value: unknown, key = ''): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])];
  if (typeof value === 'object') {
    if (key === 'metadata') return 'object';
    const record = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((name) => [name, shape(record[name], name)]),
    );
  }
  return typeof value;
}

describe('the client reads the media fixtures', () => {
  it('getAttachments: string IDs, allowed file types, numeric file size', async () => {
    const body = fixture('getAttachments');
    expect(await clientAnswering(body).videos.attachments(319, 'v1')).toEqual(body);
  });

  it('getChannelAttachments: a numeric-looking string ID stays a string', async () => {
    const body = fixture('getChannelAttachments');
    const [first] = await clientAnswering(body).channels.attachments(319, 101);
    expect(first?.data.id).toBe('11');
    expect([first]).toEqual(body);
  });

  it('getPlayers: {id: string, name, active}', async () => {
    const body = fixture('getPlayers');
    expect(await clientAnswering(body).vms.players(319)).toEqual(body);
  });

  it('getMetaDataSets: {id, keyName, type, isDefault}', async () => {
    const body = fixture('getMetaDataSets');
    expect(await clientAnswering(body).vms.metadataSets(319)).toEqual(body);
  });

  it('getCorporateTubeMetadata: ISO uploadDate and string user IDs as they are', async () => {
    const body = fixture('getCorporateTubeMetadata');
    expect(await clientAnswering(body).metadata.getCorporateTube(319, 'v1')).toEqual(body);
  });

  it('getThumbnails: still views with their qualities', async () => {
    const body = fixture('getThumbnails');
    expect(await clientAnswering(body).thumbnails.list(319, 'v1')).toEqual(body);
  });

  it('getThumbnailUrl: the downloadUrl with the still’s ID', async () => {
    const body = fixture('getThumbnailUrl') as { downloadUrl: string };
    expect(await clientAnswering(body).thumbnails.get(319, 'v1', 4711)).toEqual({
      id: 4711,
      downloadUrl: body.downloadUrl,
    });
  });

  it('getVideoAnalytics: {videos: […]} items with plays, ISO dates and references', async () => {
    const body = fixture('getVideoAnalytics') as { videos: Json[] };
    const page = await clientAnswering(body).analytics.videos(319, { limit: 10 });
    expect(page).toEqual({ videos: body.videos, offset: 0, limit: 10 });
  });

  it('getUserInfo: {email, fullName, videoManagerIds}', async () => {
    const body = fixture('getUserInfo');
    expect(await clientAnswering(body).vms.userInfo('aGVhZA.Ym9keQ.c2ln')).toEqual(body);
  });

  it('getEmbedCode: {embedCode}', async () => {
    const body = fixture('getEmbedCode');
    expect(await clientAnswering(body).videos.embedCodes(319, 'v1', { playerDefinitionId: 'p' })).toEqual(
      body,
    );
  });
});

describe('the emulator answers in the shape of each fixture (over a socket)', () => {
  let emulator: RunningEmulator;
  let accessToken: string;
  let idToken: string;
  let videoId: string;
  const get = async (path: string) => {
    const response = await fetch(`${emulator.apiBase}${path}`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(response.status).toBe(200);
    return response.json();
  };

  beforeAll(async () => {
    emulator = await startEmulator();
    const response = await fetch(`${emulator.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: 'anonymous',
        username: 'demo',
        password: 'demo',
        scope: 'openid',
      }),
    });
    const tokens = (await response.json()) as { access_token: string; id_token: string };
    accessToken = tokens.access_token;
    idToken = tokens.id_token;
    const page = await get('/v1/vms/1001/videos?limit=1&order=asc&order_property=created_date');
    videoId = page.videos[0].id;
  });

  afterAll(async () => {
    await emulator?.close();
  });

  it('getAttachments', async () => {
    expect(shape(await get(`/v1/vms/1001/videos/${videoId}/attachments`))).toEqual(
      shape(fixture('getAttachments')),
    );
  });

  it('getChannelAttachments', async () => {
    expect(shape(await get('/v1/vms/1001/channels/100/attachments'))).toEqual(
      shape(fixture('getChannelAttachments')),
    );
  });

  it('getPlayers', async () => {
    expect(shape(await get('/v1/vms/1001/players'))).toEqual(shape(fixture('getPlayers')));
  });

  it('getMetaDataSets', async () => {
    expect(shape(await get('/v1/vms/1001/metadata-sets'))).toEqual(shape(fixture('getMetaDataSets')));
  });

  it('getCorporateTubeMetadata', async () => {
    expect(shape(await get(`/v1/vms/1001/videos/${videoId}/metadata/corporate-tube`))).toEqual(
      shape(fixture('getCorporateTubeMetadata')),
    );
  });

  it('getThumbnails and getThumbnailUrl', async () => {
    const stills = await get(`/v1/vms/1001/videos/${videoId}/thumbnails`);
    expect(shape(stills)).toEqual(shape(fixture('getThumbnails')));
    expect(shape(await get(`/v1/vms/1001/videos/${videoId}/thumbnails/${stills[0].id}/url`))).toEqual(
      shape(fixture('getThumbnailUrl')),
    );
  });

  it('getVideoAnalytics', async () => {
    expect(shape(await get('/v1/vms/1001/analytics/videos?limit=1'))).toEqual(
      shape(fixture('getVideoAnalytics')),
    );
  });

  it('getUserInfo', async () => {
    const response = await fetch(`${emulator.apiBase}/v1/vms/corp-tube-admin/user-info`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jwt_id_token: idToken }),
    });
    expect(response.status).toBe(200);
    expect(shape(await response.json())).toEqual(shape(fixture('getUserInfo')));
  });

  it('getEmbedCode', async () => {
    const [player] = await get('/v1/vms/1001/players');
    expect(
      shape(await get(`/v1/vms/1001/videos/${videoId}/embed-codes?player_definition_id=${player.id}`)),
    ).toEqual(shape(fixture('getEmbedCode')));
  });
});
