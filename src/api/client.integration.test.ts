/**
 * The API client against the emulator over real sockets: every resource method, and the
 * refresh, retry, timeout and error rules with injected faults.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { anonymousToken } from '../../test/support/tokens.js';
import { type RunningEmulator, startEmulator } from '../emulator/index.js';
import type { TokenSource } from '../token-source.js';
import { createVmproApiClient, type VmproApiClient, type VmproApiClientOptions } from './client.js';
import { VmproApiError } from './errors.js';
import { failure } from './failure.test-helper.js';
import { fixedToken } from './fixed-token.js';
import type { Video } from './types.js';

let emulator: RunningEmulator;

/** Fetches a token on first use and on every forced refresh, and counts both. */
function passwordGrantSource(): TokenSource & { grants: number; forced: number } {
  let current: string | undefined;
  const source = {
    grants: 0,
    forced: 0,
    async getAccessToken(options?: { forceRefresh?: boolean; signal?: AbortSignal }) {
      if (options?.forceRefresh) source.forced += 1;
      if (current === undefined || options?.forceRefresh) {
        current = await anonymousToken(emulator.issuer, options?.signal);
        source.grants += 1;
      }
      return current;
    },
  };
  return source;
}

function client(options: Partial<VmproApiClientOptions> = {}): VmproApiClient {
  return createVmproApiClient({ baseUrl: emulator.apiBase, tokenSource: passwordGrantSource(), ...options });
}

/** Waits recorded instead of slept: Retry-After is checked without slowing the suite. */
function noWait(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

let api: VmproApiClient;
let vmId: number;

beforeAll(async () => {
  emulator = await startEmulator();
  api = client();
  const vms = await api.vms.list();
  vmId = vms[0]!.id;
});

afterEach(() => {
  emulator.api.clearFaults();
});

afterAll(async () => {
  await emulator?.close();
});

describe('resources over a socket', () => {
  it('vms.list returns the demo user’s VideoManagers', async () => {
    const vms = await api.vms.list();
    expect(vms.length).toBeGreaterThan(0);
    for (const vm of vms) {
      expect(typeof vm.id).toBe('number');
      expect(typeof vm.name).toBe('string');
    }
  });

  it('vms.players lists player definitions', async () => {
    const players = await api.vms.players(vmId);
    expect(players.length).toBeGreaterThan(0);
    expect(typeof players[0]?.id).toBe('string');
  });

  it('videos.list pages with offset and limit, and reports the total', async () => {
    const first = await api.videos.list(vmId, { limit: 3, order: 'asc', orderProperty: 'created_date' });
    const second = await api.videos.list(vmId, {
      limit: 3,
      offset: 3,
      order: 'asc',
      orderProperty: 'created_date',
    });
    expect(first.videos).toHaveLength(3);
    expect(first.total).toBeGreaterThan(6);
    expect(second.total).toBe(first.total);
    expect(second.videos.map((v) => v.id)).not.toContain(first.videos[0]?.id);
    const video = first.videos[0] as Video;
    expect(typeof video.createdDate).toBe('number');
    expect(typeof video.length).toBe('number');
  });

  it('videos.list applies filters sent in snake_case', async () => {
    const published = await api.videos.list(vmId, { publicationState: 'published', limit: 100 });
    expect(published.videos.every((v) => v.published === true)).toBe(true);
    const tree = await api.channels.tree(vmId);
    const channel = tree.children?.[0];
    expect(channel).toBeDefined();
    const inChannel = await api.videos.list(vmId, {
      channelId: [channel!.id],
      includeSubChannels: true,
      includeChannelAssignments: true,
      limit: 100,
    });
    expect(inChannel.total).toBeLessThan((await api.videos.list(vmId, { limit: 1 })).total);
  });

  it('videos.iterate yields every video exactly once, across pages', async () => {
    const { total } = await api.videos.list(vmId, { limit: 1 });
    const ids: string[] = [];
    for await (const video of api.videos.iterate(vmId, {}, { pageSize: 7 })) ids.push(video.id);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
  });

  it('videos.iteratePages yields pages with their offsets', async () => {
    const offsets: number[] = [];
    for await (const page of api.videos.iteratePages(vmId, { limit: 25 })) offsets.push(page.offset);
    expect(offsets.slice(0, 2)).toEqual([0, 25]);
  });

  it('videos.get includes keywords and channel assignments when asked', async () => {
    const [first] = (await api.videos.list(vmId, { limit: 1, publicationState: 'published' })).videos;
    const video = await api.videos.get(vmId, first!.id, {
      includeKeywords: true,
      includeChannelAssignments: true,
    });
    expect(video.id).toBe(first!.id);
    expect(Array.isArray(video.keywords)).toBe(true);
    expect(Array.isArray(video.channels)).toBe(true);
  });

  it('create, update, get and delete a video', async () => {
    const id = await api.videos.create(vmId, { fileName: 'integration.mp4', title: 'Integration' });
    expect(id).toMatch(/^[\w-]+$/);
    await api.videos.update(vmId, id, { title: 'Renamed', description: 'by the test' });
    const video = await api.videos.get(vmId, id, { ignorePublicationState: true });
    expect(video.title).toBe('Renamed');
    await api.videos.delete(vmId, id);
    const error = await failure(api.videos.get(vmId, id, { ignorePublicationState: true }));
    expect(error).toBeInstanceOf(VmproApiError);
    expect((error as VmproApiError).status).toBe(404);
  });

  it('uploads a file in chunks to the upload URL, reporting progress', async () => {
    const id = await api.videos.create(vmId, { fileName: 'upload.mp4', title: 'Upload' });
    const url = await api.videos.uploadUrl(vmId, id);
    expect(url).toContain('__token__=');
    const progress: number[] = [];
    const file = new Uint8Array(10 * 1024).fill(7);
    const result = await api.videos.upload(vmId, id, new Blob([file]), {
      chunkSize: 4096,
      onProgress: (sent) => progress.push(sent),
    });
    expect(result).toEqual({ chunks: 3, bytes: 10 * 1024 });
    expect(progress).toEqual([4096, 8192, 10240]);
    const video = await api.videos.get(vmId, id, { ignorePublicationState: true });
    expect(typeof video.uploadDate).toBe('number');
    const counters = emulator.api.counters().requests;
    expect(Object.keys(counters).some((key) => key.startsWith('POST /asset-in/'))).toBe(true);
  });

  it('uploads a stream', async () => {
    const id = await api.videos.create(vmId, { fileName: 'stream.mp4' });
    const stream = new Blob([new Uint8Array(5000).fill(1)]).stream();
    expect(await api.videos.upload(vmId, id, stream, { chunkSize: 2048, size: 5000 })).toEqual({
      chunks: 3,
      bytes: 5000,
    });
  });

  it('reads download URLs, embed codes, transcoding status and thumbnails', async () => {
    const [video] = (await api.videos.list(vmId, { limit: 1, publicationState: 'published' })).videos;
    const id = video!.id;
    const downloads = await api.videos.downloadUrls(vmId, id);
    expect(downloads[0]).toMatchObject({ quality: expect.any(String), url: expect.any(String) });
    const [player] = await api.vms.players(vmId);
    const embed = await api.videos.embedCodes(vmId, id, {
      playerDefinitionId: player!.id,
      embedType: 'iframe',
    });
    expect(typeof embed.embedCode).toBe('string');
    const status = await api.videos.transcodingStatus(vmId, id);
    expect(status[0]).toMatchObject({ transcodingCompleted: expect.any(Boolean) });
    const thumbnails = await api.videos.thumbnails(vmId, id);
    expect(thumbnails[0]).toMatchObject({ id: expect.any(Number), active: expect.any(Boolean) });
  });

  it('adds, lists and removes keywords', async () => {
    const id = await api.videos.create(vmId, { fileName: 'kw.mp4' });
    const added = await api.keywords.add(vmId, id, 'integration-kw');
    expect(added.text).toBe('integration-kw');
    expect((await api.keywords.list(vmId, id)).map((k) => k.text)).toContain('integration-kw');
    await api.keywords.remove(vmId, id, added.id);
    expect((await api.keywords.list(vmId, id)).map((k) => k.text)).not.toContain('integration-kw');
  });

  it('reads and patches custom metadata', async () => {
    const id = await api.videos.create(vmId, { fileName: 'meta.mp4' });
    await api.metadata.patch(vmId, id, { internalNote: 'checked' });
    expect(await api.metadata.get(vmId, id)).toMatchObject({ internalNote: 'checked' });
    await api.metadata.patch(vmId, id, { internalNote: null });
    expect(await api.metadata.get(vmId, id)).not.toHaveProperty('internalNote');
  });

  it('reads the channel tree, creates a channel and moves a video in and out', async () => {
    const root = await api.channels.tree(vmId);
    expect(Array.isArray(root.children)).toBe(true);
    const channelId = await api.channels.create(vmId, { name: 'Integration channel', parentId: root.id });
    expect(Number.isInteger(channelId)).toBe(true);
    const videoId = await api.videos.create(vmId, { fileName: 'ch.mp4' });
    await api.channels.addVideo(vmId, { channelId, videoId });
    let video = await api.videos.get(vmId, videoId, {
      ignorePublicationState: true,
      includeChannelAssignments: true,
    });
    expect(video.channels?.map((c) => c.id)).toContain(channelId);
    await api.channels.removeVideo(vmId, { channelId, videoId });
    video = await api.videos.get(vmId, videoId, {
      ignorePublicationState: true,
      includeChannelAssignments: true,
    });
    expect(video.channels?.map((c) => c.id) ?? []).not.toContain(channelId);
  });

  it('finds keywords of the VideoManager', async () => {
    const found = await api.keywords.find(vmId);
    expect(Array.isArray(found)).toBe(true);
  });
});

describe('send() over a socket', () => {
  it('hands each caller its own URL: changing one changes no later call', async () => {
    const first = await api.send('GET', '/v1/vms');
    expect(first.url.pathname).toBe('/v1/vms');
    first.url.pathname = '/v1/elsewhere';
    first.url.host = 'attacker.example';
    const second = await api.send('GET', '/v1/vms');
    expect(second.status).toBe(200);
    expect(second.url.href).toBe(`${emulator.apiBase}/v1/vms`);
    expect((await api.vms.list()).length).toBeGreaterThan(0);
  });
});

describe('refresh, retries, timeouts and errors over a socket', () => {
  it('refreshes the token once after 401 invalid_token and succeeds', async () => {
    const tokens = passwordGrantSource();
    const local = client({ tokenSource: tokens });
    emulator.api.addFault({ path: '/v1/vms', kind: 'invalid_token', times: 1 });
    expect((await local.vms.list()).length).toBeGreaterThan(0);
    expect(tokens.forced).toBe(1);
    expect(tokens.grants).toBe(2);
  });

  it('gives up with a hint when the refreshed token is refused too', async () => {
    const tokens = passwordGrantSource();
    const local = client({ tokenSource: tokens });
    emulator.api.addFault({ path: '/v1/vms', kind: 'invalid_token', times: 5 });
    const error = (await failure(local.vms.list())) as VmproApiError;
    expect(error.status).toBe(401);
    expect(error.hint).toMatch(/refused twice/);
    expect(tokens.forced).toBe(1);
  });

  it('retries a GET after 503 with Retry-After', async () => {
    const waits = noWait();
    const local = client({ sleep: waits.sleep });
    emulator.api.addFault({ path: '/v1/vms', kind: 'status', status: 503, retryAfter: 2, times: 2 });
    expect((await local.vms.list()).length).toBeGreaterThan(0);
    expect(waits.waits).toEqual([2000, 2000]);
  });

  it('does not retry a POST after 503', async () => {
    const local = client({ sleep: noWait().sleep });
    emulator.api.addFault({
      method: 'POST',
      path: '/v1/vms/*/videos',
      kind: 'status',
      status: 503,
      times: 2,
    });
    const error = (await failure(local.videos.create(vmId, { fileName: 'x.mp4' }))) as VmproApiError;
    expect(error.status).toBe(503);
    expect(error.retryable).toBe(true);
    emulator.api.clearFaults();
  });

  it('retries a GET after the connection is reset', async () => {
    const local = client({ sleep: noWait().sleep });
    emulator.api.addFault({ path: '/v1/vms', kind: 'reset', times: 1 });
    expect((await local.vms.list()).length).toBeGreaterThan(0);
  });

  it('times out a slow answer', async () => {
    const local = client({ timeoutMs: 100, retry: 0 });
    emulator.api.addFault({ path: '/v1/vms', kind: 'delay', delayMs: 3000, times: 1 });
    const error = await failure(local.vms.list());
    expect(error.code).toBe('VMPRO_UPSTREAM_TIMEOUT');
  });

  it('turns an HTML error page into a VmproApiError', async () => {
    const local = client({ retry: 0 });
    emulator.api.addFault({ path: '/v1/vms', kind: 'html', status: 502, times: 1 });
    const error = (await failure(local.vms.list())) as VmproApiError;
    expect(error.status).toBe(502);
    expect(error.message).toContain('answered with an HTML error page (status 502)');
  });

  it('reads the API’s JSON error message', async () => {
    const error = (await failure(api.videos.get(vmId, 'does-not-exist-000000'))) as VmproApiError;
    expect(error.status).toBe(404);
    expect(error.apiMessage).toBeTruthy();
  });

  it('sends a failed upload chunk again', async () => {
    const id = await api.videos.create(vmId, { fileName: 'retry.mp4' });
    const local = client({ sleep: noWait().sleep });
    emulator.api.addFault({ path: '/asset-in/**', kind: 'status', status: 503, times: 1 });
    expect(await local.videos.upload(vmId, id, new Uint8Array(3000).fill(2), { chunkSize: 1024 })).toEqual({
      chunks: 3,
      bytes: 3000,
    });
  });

  it('tries a token the API does not know exactly twice, then fails with the 401 hint', async () => {
    const local = createVmproApiClient({ baseUrl: emulator.apiBase, tokenSource: fixedToken('not.a.token') });
    const before = emulator.api.counters().unauthorized;
    const error = (await failure(local.vms.list())) as VmproApiError;
    expect(error.status).toBe(401);
    expect(error.hint).toMatch(/refused twice/);
    expect(error.message).not.toContain('not.a.token');
    expect(emulator.api.counters().unauthorized - before).toBe(2);
  });
});

describe('rate limit over a socket', () => {
  let limited: RunningEmulator;
  afterAll(async () => {
    await limited?.close();
  });

  it('reports 429 with Retry-After and the rate-limit hint once retries cannot help', async () => {
    limited = await startEmulator({ rateLimitPerMinute: 2 });
    const token = await anonymousToken(limited.issuer);
    const waits = noWait();
    const local = createVmproApiClient({
      baseUrl: limited.apiBase,
      tokenSource: fixedToken(token),
      sleep: waits.sleep,
    });
    await local.vms.list();
    await local.vms.list();
    const error = (await failure(local.vms.list())) as VmproApiError;
    expect(error.status).toBe(429);
    expect(error.retryAfter).toBeGreaterThan(0);
    expect(error.hint).toMatch(/100 requests per minute/);
    // About 60 s fits the 60 s budget once; the second wait would not, so the client gives up.
    expect(waits.waits).toHaveLength(1);
    expect(error.message).toMatch(/retry after \d+ s/);
  });
});
