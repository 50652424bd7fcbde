/**
 * Where movingimage's sources disagree on a form (facts 3.3), the client accepts both and hands
 * out one: one test for each form it accepts, seen through the client methods.
 */
import { describe, expect, it } from 'vitest';
import { createVmproApiClient } from './client.js';
import { isVmproApiError } from './errors.js';
import { failure } from './failure.test-helper.js';
import { json, scriptFetch } from './fake-fetch.test-helper.js';
import { fixedToken } from './fixed-token.js';

function api(body: unknown) {
  const script = scriptFetch(json(200, body));
  return createVmproApiClient({
    baseUrl: 'https://api.example.test',
    tokenSource: fixedToken('t'),
    fetch: script.fetch,
  });
}

const ISO = '2017-09-07T13:20:19Z';
const MS = Date.parse(ISO);

describe('videos (/videos form: epoch-ms dates, length, numeric IDs)', () => {
  it('keeps epoch-ms dates as they are', async () => {
    const video = await api({ id: 'a', createdDate: MS, uploadDate: null }).videos.get(1, 'a');
    expect(video.createdDate).toBe(MS);
    expect(video.uploadDate).toBeNull();
  });

  it('converts ISO 8601 dates to epoch ms', async () => {
    const video = await api({
      id: 'a',
      createdDate: ISO,
      modifiedDate: '2017-09-07T15:20:19+02:00',
    }).videos.get(1, 'a');
    expect(video.createdDate).toBe(MS);
    expect(video.modifiedDate).toBe(MS);
  });

  it('takes length from duration when only duration is sent, keeping duration', async () => {
    const { videos } = await api({ total: 1, videos: [{ id: 'a', duration: 4120 }] }).videos.list(1);
    expect(videos[0]).toMatchObject({ length: 4120, duration: 4120 });
  });

  it('keeps length when it is sent', async () => {
    const video = await api({ id: 'a', length: 600_000 }).videos.get(1, 'a');
    expect(video.length).toBe(600_000);
  });

  it('reads {id, name} channels with numeric-string IDs as numbers', async () => {
    const video = await api({ id: 'a', channels: [{ id: '34003', name: 'X' }] }).videos.get(1, 'a');
    expect(video.channels).toEqual([{ id: 34003, name: 'X' }]);
  });

  it('reads bare channel IDs (search-style items) as {id}', async () => {
    const video = await api({ id: 'a', channels: [34003, '4396'] }).videos.get(1, 'a');
    expect(video.channels).toEqual([{ id: 34003 }, { id: 4396 }]);
  });

  it('reads keyword texts (search-style items) as {text}', async () => {
    const video = await api({ id: 'a', keywords: ['k1', { id: '5', text: 'k2' }] }).videos.get(1, 'a');
    expect(video.keywords).toEqual([{ text: 'k1' }, { id: 5, text: 'k2' }]);
  });

  it('reads a numeric video ID as a string', async () => {
    const video = await api({ id: 12345 }).videos.get(1, '12345');
    expect(video.id).toBe('12345');
  });

  it('keeps fields it does not know', async () => {
    const video = await api({ id: 'a', chapters: [{ t: 1 }], videoManagerId: 319 }).videos.get(1, 'a');
    expect(video['chapters']).toEqual([{ t: 1 }]);
    expect(video['videoManagerId']).toBe(319);
  });

  it('refuses a video without an id with a VmproApiError', async () => {
    const error = await failure(api({ total: 1, videos: [{ title: 'no id' }] }).videos.list(1));
    expect(isVmproApiError(error)).toBe(true);
    expect(error.message).toMatch(/a video without a video id/);
  });
});

describe('search documents (search form: ISO dates, duration, ID lists)', () => {
  const search = (doc: Record<string, unknown>) =>
    api({ total: 1, result: [{ videoManagerId: 319, id: 'a', ...doc }] }).search.videos(319);

  it('keeps ISO dates as they are', async () => {
    expect((await search({ createdDate: ISO })).result[0]?.createdDate).toBe(ISO);
  });

  it('converts epoch-ms dates to ISO 8601', async () => {
    expect((await search({ createdDate: MS })).result[0]?.createdDate).toBe('2017-09-07T13:20:19.000Z');
  });

  it('takes duration from length when only length is sent', async () => {
    expect((await search({ length: 4120 })).result[0]?.duration).toBe(4120);
  });

  it('reads channel objects and numeric strings as channel IDs', async () => {
    expect((await search({ channels: [{ id: 7, name: 'X' }, '8'] })).result[0]?.channels).toEqual([7, 8]);
  });

  it('reads keyword objects as keyword texts', async () => {
    expect((await search({ keywords: [{ id: 1, text: 'k' }, 'j'] })).result[0]?.keywords).toEqual(['k', 'j']);
  });

  it('reads a numeric-string videoManagerId as a number', async () => {
    const page = await api({ total: 1, result: [{ videoManagerId: '319', id: 'a' }] }).search.videos(319);
    expect(page.result[0]?.videoManagerId).toBe(319);
  });
});

describe('channels', () => {
  it('keeps a null description', async () => {
    expect((await api({ id: 1, name: 'R', description: null }).channels.tree(1)).description).toBeNull();
  });

  it('keeps a boolean ownership.visibility', async () => {
    const root = await api({
      id: 1,
      name: 'R',
      ownership: { ownerGroupId: 2, visibility: false },
    }).channels.tree(1);
    expect(root.ownership).toEqual({ ownerGroupId: 2, visibility: false });
  });

  it('reads "true"/"false" visibility strings as booleans, through the whole tree', async () => {
    const root = await api({
      id: '1',
      name: 'R',
      children: [{ id: '2', parentId: '1', name: 'C', ownership: { visibility: 'true' } }],
    }).channels.tree(1);
    expect(root.id).toBe(1);
    expect(root.children?.[0]).toMatchObject({ id: 2, parentId: 1, ownership: { visibility: true } });
  });

  it('reads ISO channel dates as epoch ms', async () => {
    expect((await api({ id: 1, name: 'R', createdDate: ISO }).channels.tree(1)).createdDate).toBe(MS);
  });
});
