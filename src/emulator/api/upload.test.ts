import { describe, expect, it } from 'vitest';
import { type ApiPrincipal, createVmproApi, DEMO_USERS } from './index.js';

const ORIGIN = 'http://127.0.0.1:4010';
const [demo] = DEMO_USERS;
const HOUR = 3_600_000;

/** An API over a test clock, a demo token, and a freshly created video to upload into. */
async function setup(fileName = 'talk.mp4', autoPublish = true) {
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
  const created = await call('POST', '/v1/vms/1001/videos', { fileName, title: 'Talk', autoPublish });
  const videoPath = new URL(created.headers.get('location')!).pathname;
  const uploadUrl = async () => {
    const response = await call('GET', `${videoPath}/url`);
    expect(response.status).toBe(200);
    return response.headers.get('location')!;
  };
  /** POSTs one chunk to an upload URL, without any bearer token (the URL carries its own). */
  const sendChunk = async (
    url: string,
    chunk: { total?: string | number; current?: string | number; bytes?: number; type?: string | null } = {},
  ) => {
    const headers: Record<string, string> = {};
    if (chunk.type !== null) headers['content-type'] = chunk.type ?? 'application/octet-stream';
    if (chunk.total !== undefined) headers['mi24-upload-total-chunks'] = String(chunk.total);
    if (chunk.current !== undefined) headers['mi24-upload-current-chunk'] = String(chunk.current);
    const response = await api.handle(
      new Request(url, { method: 'POST', headers, body: new Uint8Array(chunk.bytes ?? 1000) }),
    );
    if (!response) throw new Error('handle() returned null for the upload URL');
    return response;
  };
  const video = async () => (await call('GET', `${videoPath}?ignore_publication_state=true`)).json();
  return {
    api,
    call,
    videoPath,
    uploadUrl,
    sendChunk,
    video,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

describe('GET /v1/vms/{vm}/videos/{videoId}/url', () => {
  it('answers the upload URL in the Location header, shaped like asset-in with a tilde token', async () => {
    const { uploadUrl, videoPath } = await setup();
    const url = new URL(await uploadUrl());
    const id = videoPath.split('/').pop();
    expect(url.origin).toBe(ORIGIN);
    expect(url.pathname).toBe(`/asset-in/chunks/vms/1001/videos/${id}`);
    expect(url.searchParams.get('bucketId')).toBeTruthy();
    expect(url.searchParams.get('fileId')).toMatch(/^[0-9a-f]+$/);
    expect(url.searchParams.get('userId')).toBe(demo.sub);
    expect(url.search).toMatch(/__token__=\d+~[0-9a-f]{64}$/);
  });

  it('puts the expiry 4 hours ahead on the emulator clock', async () => {
    const { uploadUrl, now } = await setup();
    const token = new URL(await uploadUrl()).searchParams.get('__token__')!;
    expect(Number(token.split('~')[0])).toBe(Math.floor((now() + 4 * HOUR) / 1000));
  });

  it('needs a bearer token and an existing video', async () => {
    const { api, call, videoPath } = await setup();
    const anonymous = await api.handle(new Request(`${ORIGIN}${videoPath}/url`));
    expect(anonymous?.status).toBe(401);
    expect((await call('GET', '/v1/vms/1001/videos/noSuchVideo/url')).status).toBe(404);
  });
});

describe('the chunk receiver', () => {
  it('takes every chunk with 201 and marks the video uploaded after the last one', async () => {
    const { uploadUrl, sendChunk, video, now } = await setup();
    const url = await uploadUrl();
    const first = await sendChunk(url, { total: 3, current: 1, bytes: 2_000_000 });
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ chunk: 1, totalChunks: 3, receivedChunks: 1, complete: false });
    expect((await sendChunk(url, { total: 3, current: 3, bytes: 500_000 })).status).toBe(201);
    expect((await video()).uploadDate).toBeNull();
    const last = await sendChunk(url, { total: 3, current: 2, bytes: 2_000_000 });
    expect(await last.json()).toEqual({ chunk: 2, totalChunks: 3, receivedChunks: 3, complete: true });
    expect(await video()).toMatchObject({ uploadDate: now(), length: 36_000, thumbnail: expect.any(String) });
  });

  it('transcodes by the emulator clock and publishes an autoPublish video once 360p is ready', async () => {
    const { call, videoPath, uploadUrl, sendChunk, video, advance } = await setup();
    await sendChunk(await uploadUrl(), { total: 1, current: 1 });
    const status = async () =>
      (await (await call('GET', `${videoPath}/transcoding-status`)).json()).map(
        (entry: { transcodingCompleted: boolean }) => entry.transcodingCompleted,
      );
    expect(await status()).toEqual([false, false, false]);
    expect(await video()).toMatchObject({ published: false, allFormatsAvailable: false });
    advance(5_000);
    expect(await status()).toEqual([true, false, false]);
    expect(await video()).toMatchObject({ published: true, allFormatsAvailable: false });
    advance(10_000);
    expect(await status()).toEqual([true, true, true]);
    expect(await video()).toMatchObject({ allFormatsAvailable: true });
  });

  it('leaves a video without autoPublish unpublished', async () => {
    const { uploadUrl, sendChunk, video, advance } = await setup('talk.mp4', false);
    await sendChunk(await uploadUrl(), { total: 1, current: 1 });
    advance(60_000);
    expect(await video()).toMatchObject({ published: false, allFormatsAvailable: true });
  });

  it('has no transcoding status before the upload', async () => {
    const { call, videoPath } = await setup();
    expect(await (await call('GET', `${videoPath}/transcoding-status`)).json()).toEqual([]);
  });

  it('transcodes an audio file into one audio rendition', async () => {
    const { call, videoPath, uploadUrl, sendChunk, video, advance } = await setup('podcast.mp3');
    await sendChunk(await uploadUrl(), { total: 1, current: 1 });
    advance(5_000);
    expect(await video()).toMatchObject({ audioOnly: true, allFormatsAvailable: true });
    const status = await (await call('GET', `${videoPath}/transcoding-status`)).json();
    expect(status).toEqual([
      { quality: 'audio', profileKey: 'mp3_128k', fileExtension: 'mp3', transcodingCompleted: true },
    ]);
  });

  it('takes a chunk again (a retry) without counting it twice', async () => {
    const { uploadUrl, sendChunk } = await setup();
    const url = await uploadUrl();
    await sendChunk(url, { total: 2, current: 1 });
    const again = await (await sendChunk(url, { total: 2, current: 1 })).json();
    expect(again).toMatchObject({ receivedChunks: 1, complete: false });
  });

  it.each([
    ['no Mi24-Upload-Total-Chunks', { current: 1 }, /Mi24-Upload-Total-Chunks header is missing/],
    ['no Mi24-Upload-Current-Chunk', { total: 1 }, /Mi24-Upload-Current-Chunk header is missing/],
    ['a chunk number of 0', { total: 2, current: 0 }, /at least 1/],
    ['a chunk number above the total', { total: 2, current: 3 }, /larger than/],
    ['a non-numeric total', { total: 'two', current: 1 }, /whole number/],
    ['another content type', { total: 1, current: 1, type: 'video/mp4' }, /application\/octet-stream/],
    ['no content type', { total: 1, current: 1, type: null }, /application\/octet-stream/],
    ['an empty body', { total: 1, current: 1, bytes: 0 }, /empty/],
  ])('answers 400 for %s', async (_, chunk, message) => {
    const { uploadUrl, sendChunk, video } = await setup();
    const response = await sendChunk(await uploadUrl(), chunk);
    expect(response.status).toBe(400);
    expect((await response.json()).message).toMatch(message);
    expect((await video()).uploadDate).toBeNull();
  });

  it('answers 400 when the total number of chunks changes within one upload', async () => {
    const { uploadUrl, sendChunk } = await setup();
    const url = await uploadUrl();
    await sendChunk(url, { total: 3, current: 1 });
    const response = await sendChunk(url, { total: 4, current: 2 });
    expect(response.status).toBe(400);
    expect((await response.json()).message).toMatch(/changed from 3 to 4/);
  });

  it('takes chunks until just before the 4-hour expiry, and answers 403 from then on', async () => {
    const { uploadUrl, sendChunk, advance } = await setup();
    const url = await uploadUrl();
    advance(4 * HOUR - 1000);
    expect((await sendChunk(url, { total: 2, current: 1 })).status).toBe(201);
    advance(1000);
    const expired = await sendChunk(url, { total: 2, current: 2 });
    expect(expired.status).toBe(403);
    expect((await expired.json()).message).toMatch(/expired/);
  });

  it('continues the same upload with a fresh URL after the old one expired', async () => {
    const { uploadUrl, sendChunk, advance } = await setup();
    const first = await uploadUrl();
    await sendChunk(first, { total: 2, current: 1 });
    advance(5 * HOUR);
    const second = await uploadUrl();
    expect(new URL(second).searchParams.get('fileId')).toBe(new URL(first).searchParams.get('fileId'));
    expect(await (await sendChunk(second, { total: 2, current: 2 })).json()).toMatchObject({
      complete: true,
    });
  });

  it('answers 403 for an altered or missing token', async () => {
    const { uploadUrl, sendChunk } = await setup();
    const url = new URL(await uploadUrl());
    const [expiry] = url.searchParams.get('__token__')!.split('~');
    const later = String(Number(expiry) + 3600);
    const forged = url.href.replace(/__token__=\d+~/, `__token__=${later}~`);
    expect((await sendChunk(forged, { total: 1, current: 1 })).status).toBe(403);
    const otherUser = url.href.replace(/userId=[^&]+/, 'userId=someone-else');
    expect((await sendChunk(otherUser, { total: 1, current: 1 })).status).toBe(403);
    const bare = url.href.replace(/&__token__=.*$/, '');
    expect((await sendChunk(bare, { total: 1, current: 1 })).status).toBe(403);
  });

  it('answers 404 once the video is in the trash', async () => {
    const { call, videoPath, uploadUrl, sendChunk } = await setup();
    const url = await uploadUrl();
    await call('DELETE', videoPath);
    expect((await sendChunk(url, { total: 1, current: 1 })).status).toBe(404);
  });

  it('takes POST only', async () => {
    const { api, uploadUrl } = await setup();
    const response = await api.handle(new Request(await uploadUrl(), { method: 'PUT', body: 'x' }));
    expect(response?.status).toBe(405);
    expect(response?.headers.get('allow')).toBe('POST');
  });

  it('counts chunk requests under the receiver template', async () => {
    const { api, uploadUrl, sendChunk } = await setup();
    await sendChunk(await uploadUrl(), { total: 2, current: 1 });
    expect(api.counters().requests['POST /asset-in/chunks/vms/{vm}/videos/{videoId}']).toBe(1);
  });
});
