import { describe, expect, it } from 'vitest';
import { isVmproError } from '../errors.js';
import { createVmproApiClient } from './client.js';
import type { VmproApiError } from './errors.js';
import { failure } from './failure.test-helper.js';
import { type Answer, empty, networkError, recordingSleep, scriptFetch } from './fake-fetch.test-helper.js';
import { fixedToken } from './fixed-token.js';

const BASE = 'https://api.example.test';
const UPLOAD =
  'https://asset-in.example.test/chunks/vms/319/videos/v1?bucketId=b&fileId=f&__token__=1700000000~c0ffee';
const TOKEN = 'bearer-secret-token';
const bytes = new TextEncoder().encode('0123456789');

function client(...answers: Answer[]) {
  const script = scriptFetch(...answers);
  const sleep = recordingSleep();
  const api = createVmproApiClient({
    baseUrl: BASE,
    tokenSource: fixedToken(TOKEN),
    fetch: script.fetch,
    sleep: sleep.sleep,
    random: () => 0,
  });
  return { api, calls: script.calls, waits: sleep.waits };
}

const uploadUrl = (url = UPLOAD) => empty(201, { location: url });
const accepted = () => empty(201);

describe('videos.upload', () => {
  it('asks for the upload URL, then POSTs the chunks with the Mi24-Upload headers and no bearer token', async () => {
    const { api, calls } = client(uploadUrl(), accepted(), accepted(), accepted());
    expect(await api.videos.upload(319, 'v1', bytes, { chunkSize: 4 })).toEqual({ chunks: 3, bytes: 10 });

    expect(calls[0]?.method).toBe('GET');
    expect(calls[0]?.url.pathname).toBe('/v1/vms/319/videos/v1/url');
    const chunks = calls.slice(1);
    expect(chunks.map((c) => c.method)).toEqual(['POST', 'POST', 'POST']);
    expect(chunks.map((c) => c.url.href)).toEqual([UPLOAD, UPLOAD, UPLOAD]);
    expect(chunks.map((c) => c.body)).toEqual(['0123', '4567', '89']);
    expect(chunks.map((c) => c.headers.get('mi24-upload-current-chunk'))).toEqual(['1', '2', '3']);
    for (const c of chunks) {
      expect(c.headers.get('mi24-upload-total-chunks')).toBe('3');
      expect(c.headers.get('content-type')).toBe('application/octet-stream');
      expect(c.headers.has('authorization')).toBe(false);
    }
  });

  it('reports progress after each accepted chunk', async () => {
    const progress: [number, number][] = [];
    const { api } = client(uploadUrl(), accepted(), empty(202), empty(200));
    await api.videos.upload(319, 'v1', bytes, {
      chunkSize: 4,
      onProgress: (sent, total) => progress.push([sent, total]),
    });
    expect(progress).toEqual([
      [4, 10],
      [8, 10],
      [10, 10],
    ]);
  });

  it('sends a failed chunk again, and only that chunk', async () => {
    const { api, calls, waits } = client(
      uploadUrl(),
      accepted(),
      empty(503),
      networkError(),
      accepted(),
      accepted(),
    );
    await api.videos.upload(319, 'v1', bytes, { chunkSize: 4 });
    expect(calls.slice(1).map((c) => c.headers.get('mi24-upload-current-chunk'))).toEqual([
      '1',
      '2',
      '2',
      '2',
      '3',
    ]);
    expect(calls.slice(1).map((c) => c.body)).toEqual(['0123', '4567', '4567', '4567', '89']);
    expect(waits).toHaveLength(2);
  });

  it('gives up on a chunk after chunkRetries, naming the chunk', async () => {
    const { api, calls } = client(uploadUrl(), empty(503), empty(503));
    const error = (await failure(
      api.videos.upload(319, 'v1', bytes, { chunkSize: 4, chunkRetries: 1 }),
    )) as VmproApiError;
    expect(error.status).toBe(503);
    expect(error.message).toContain('chunk 1 of 3');
    expect(calls).toHaveLength(3);
  });

  it('does not retry a chunk the upload server refused as bad (4xx)', async () => {
    const { api, calls } = client(uploadUrl(), empty(415));
    const error = (await failure(api.videos.upload(319, 'v1', bytes, { chunkSize: 4 }))) as VmproApiError;
    expect(error.status).toBe(415);
    expect(calls).toHaveLength(2);
  });

  it('never shows the upload URL’s __token__ in an error', async () => {
    const { api } = client(uploadUrl(), empty(400));
    const error = (await failure(api.videos.upload(319, 'v1', bytes, { chunkSize: 4 }))) as VmproApiError;
    expect(error.path).toContain('__token__=REDACTED');
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain('c0ffee');
  });

  it('asks for a fresh upload URL once when the upload server refuses the old one', async () => {
    const fresh = UPLOAD.replace('c0ffee', 'beef');
    const { api, calls } = client(
      uploadUrl(),
      empty(403),
      uploadUrl(fresh),
      accepted(),
      accepted(),
      accepted(),
    );
    await api.videos.upload(319, 'v1', bytes, { chunkSize: 4 });
    expect(calls.map((c) => `${c.method} ${c.url.searchParams.get('__token__') ?? c.url.pathname}`)).toEqual([
      'GET /v1/vms/319/videos/v1/url',
      'POST 1700000000~c0ffee',
      'GET /v1/vms/319/videos/v1/url',
      'POST 1700000000~beef',
      'POST 1700000000~beef',
      'POST 1700000000~beef',
    ]);
  });

  it('uses a given upload URL without asking the API', async () => {
    const { api, calls } = client(accepted());
    await api.videos.upload(319, 'v1', bytes, { uploadUrl: UPLOAD });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.bytes).toEqual(bytes);
  });

  it('uploads a ReadableStream in chunks of exactly chunkSize', async () => {
    const { api, calls } = client(uploadUrl(), accepted(), accepted(), accepted());
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const piece of ['012', '3456', '7', '89']) controller.enqueue(new TextEncoder().encode(piece));
        controller.close();
      },
    });
    await api.videos.upload(319, 'v1', stream, { chunkSize: 4, size: 10 });
    expect(calls.slice(1).map((c) => c.body)).toEqual(['0123', '4567', '89']);
  });

  it('uploads an async iterable and a Blob', async () => {
    async function* pieces() {
      yield new TextEncoder().encode('01234');
      yield new TextEncoder().encode('56789');
    }
    const first = client(uploadUrl(), accepted(), accepted());
    await first.api.videos.upload(319, 'v1', pieces(), { chunkSize: 6, size: 10 });
    expect(first.calls.slice(1).map((c) => c.body)).toEqual(['012345', '6789']);

    const second = client(uploadUrl(), accepted(), accepted());
    await second.api.videos.upload(319, 'v1', new Blob([bytes]), { chunkSize: 6 });
    expect(second.calls.slice(1).map((c) => c.body)).toEqual(['012345', '6789']);
  });

  it('needs the size of a stream, and checks it', async () => {
    const one = client(uploadUrl());
    const error = await failure(one.api.videos.upload(319, 'v1', new Blob([bytes]).stream()));
    expect(error.code).toBe('VMPRO_CONFIG_INVALID');
    expect(error.message).toMatch(/size/);

    const two = client(uploadUrl(), accepted(), accepted(), accepted());
    const short = await failure(
      two.api.videos.upload(319, 'v1', new Blob([bytes]).stream(), { chunkSize: 4, size: 12 }),
    );
    expect(short.message).toMatch(/ended after 10 bytes/);
  });

  it('refuses an empty file', async () => {
    const { api, calls } = client(uploadUrl());
    const error = await failure(api.videos.upload(319, 'v1', new Uint8Array(0)));
    expect(error.code).toBe('VMPRO_CONFIG_INVALID');
    expect(calls).toHaveLength(0);
  });

  it('refuses a plain-http upload URL on a public host', async () => {
    const { api, calls } = client(uploadUrl('http://asset-in.example.test/chunks?__token__=x'));
    const error = await failure(api.videos.upload(319, 'v1', bytes));
    expect(isVmproError(error, 'VMPRO_CONFIG_INVALID')).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    const { api, calls } = client(uploadUrl(), accepted(), accepted(), accepted());
    const error = await failure(
      api.videos.upload(319, 'v1', bytes, {
        chunkSize: 4,
        signal: controller.signal,
        onProgress: () => controller.abort(),
      }),
    );
    expect(error.code).toBe('VMPRO_ABORTED');
    expect(calls).toHaveLength(2);
  });
});
