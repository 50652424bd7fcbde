/**
 * The media methods against the emulator over real sockets: attachments, players, stills,
 * metadata sets, corporate-tube metadata, analytics, user info and embed codes, with their
 * `403`/`404` answers and injected faults.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../emulator/index.js';
import type { TokenSource } from '../token-source.js';
import { createVmproApiClient, type VmproApiClient } from './client.js';
import { VmproApiError } from './errors.js';
import { failure } from './failure.test-helper.js';

let emulator: RunningEmulator;
let api: VmproApiClient;
let idToken: string;
const VM = 1001;
/** Seeded in VM 1003, which the demo user cannot reach. */
const FOREIGN_VM = 1003;

async function passwordGrant(): Promise<{ access_token: string; id_token: string }> {
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
  if (!response.ok) throw new Error(`password grant refused (${response.status})`);
  return (await response.json()) as { access_token: string; id_token: string };
}

/** Fetches a token on first use and on every forced refresh, and counts the forced ones. */
function tokenSource(): TokenSource & { forced: number } {
  let current: string | undefined;
  const source = {
    forced: 0,
    async getAccessToken(options?: { forceRefresh?: boolean }) {
      if (options?.forceRefresh) source.forced += 1;
      if (current === undefined || options?.forceRefresh) current = (await passwordGrant()).access_token;
      return current;
    },
  };
  return source;
}

function client(options: Parameters<typeof createVmproApiClient>[0] | object = {}): VmproApiClient {
  return createVmproApiClient({
    baseUrl: emulator.apiBase,
    tokenSource: tokenSource(),
    sleep: async () => {},
    ...options,
  });
}

/** The first seeded video of VM 1001 (creation order): it has attachments and two stills. */
async function firstVideo(): Promise<string> {
  const page = await api.videos.list(VM, { limit: 1, order: 'asc', orderProperty: 'created_date' });
  return page.videos[0]!.id;
}

beforeAll(async () => {
  emulator = await startEmulator();
  api = client();
  idToken = (await passwordGrant()).id_token;
});

afterEach(() => {
  emulator.api.clearFaults();
});

afterAll(async () => {
  await emulator?.close();
});

describe('players and metadata sets', () => {
  it('vms.players lists player definitions with string IDs, usable for embed codes', async () => {
    const players = await api.vms.players(VM);
    expect(players.length).toBeGreaterThan(1);
    expect(players.every((player) => typeof player.id === 'string' && typeof player.name === 'string')).toBe(
      true,
    );
    expect(players.some((player) => player.active === false)).toBe(true);
  });

  it('vms.metadataSets lists the sets with one default', async () => {
    const sets = await api.vms.metadataSets(VM);
    expect(sets.map((set) => set.keyName)).toEqual(['en', 'en-AU', 'de']);
    expect(sets.filter((set) => set.isDefault)).toHaveLength(1);
    expect(sets.every((set) => Number.isInteger(set.id) && set.type === 'LOCALIZATION')).toBe(true);
  });

  it('vms.players of a VideoManager the user cannot reach is a 403 VmproApiError', async () => {
    const error = (await failure(api.vms.players(FOREIGN_VM))) as VmproApiError;
    expect(error).toBeInstanceOf(VmproApiError);
    expect(error.status).toBe(403);
  });
});

describe('attachments', () => {
  it('videos.attachments lists a video’s files with string IDs and download URLs', async () => {
    const files = await api.videos.attachments(VM, await firstVideo());
    expect(files.map((file) => file.type.name)).toEqual(['Slides', 'Handout']);
    for (const file of files) {
      expect(typeof file.data.id).toBe('string');
      expect(file.data.downloadUrl.startsWith(`${emulator.apiBase}/public/videos/`)).toBe(true);
      expect(file.data.fileSize).toBeGreaterThan(0);
    }
  });

  it('channels.attachments lists a channel’s files', async () => {
    const root = await api.channels.tree(VM);
    const [file] = await api.channels.attachments(VM, root.id);
    expect(file?.data.fileName).toBe('brand-guide.pdf');
  });

  it('channels.attachments of an unknown channel is a 404 VmproApiError', async () => {
    expect(((await failure(api.channels.attachments(VM, 999_999))) as VmproApiError).status).toBe(404);
  });

  it('videos.attachments is retried after a 503 and then succeeds', async () => {
    const id = await firstVideo();
    emulator.api.addFault({
      path: `/v1/vms/${VM}/videos/*/attachments`,
      kind: 'status',
      status: 503,
      times: 1,
    });
    expect(await api.videos.attachments(VM, id)).toHaveLength(2);
  });
});

describe('thumbnails', () => {
  it('creates a still at a timestamp, reads its URL and makes it the active one', async () => {
    const id = await firstVideo();
    const before = await api.thumbnails.list(VM, id);
    const stillId = await api.thumbnails.create(VM, id, 4_000);
    expect(before.map((still) => still.id)).not.toContain(stillId);
    const created = (await api.thumbnails.list(VM, id)).find((still) => still.id === stillId);
    expect(created?.active).toBe(false);
    const { downloadUrl } = await api.thumbnails.get(VM, id, stillId);
    expect(downloadUrl).toContain(`/thumbnails/${stillId}`);
    await api.thumbnails.activate(VM, id, stillId);
    const after = await api.thumbnails.list(VM, id);
    expect(after.filter((still) => still.active).map((still) => still.id)).toEqual([stillId]);
    expect((await api.videos.thumbnails(VM, id)).length).toBe(after.length);
  });

  it('a timestamp past the end of the video is a 400 VmproApiError', async () => {
    const error = (await failure(
      api.thumbnails.create(VM, await firstVideo(), 999_999_999),
    )) as VmproApiError;
    expect(error.status).toBe(400);
  });

  it('the URL of an unknown still is a 404 VmproApiError', async () => {
    expect(
      ((await failure(api.thumbnails.get(VM, await firstVideo(), 987_654))) as VmproApiError).status,
    ).toBe(404);
  });

  it('deactivating the active still is refused with 400', async () => {
    const id = await firstVideo();
    const active = (await api.thumbnails.list(VM, id)).find((still) => still.active)!;
    const error = (await failure(
      api.thumbnails.update(VM, id, active.id, { active: false }),
    )) as VmproApiError;
    expect(error.status).toBe(400);
  });
});

describe('corporate-tube metadata', () => {
  it('reads, patches and reads again: ISO uploadDate, string user IDs', async () => {
    const id = await api.videos.create(VM, { fileName: 'corporate.mp4' });
    const before = await api.metadata.getCorporateTube(VM, id);
    expect(before).toEqual({
      uploadDate: null,
      uploaderUserId: '80001',
      inChargeUserId: '80001',
      uploaderKeycloakUserId: expect.any(String),
      inChargeKeycloakUserId: expect.any(String),
    });
    await api.metadata.patchCorporateTube(VM, id, {
      uploadDate: new Date(Date.UTC(2024, 2, 11, 8, 15, 42)),
      inChargeUserId: 70977,
      inChargeKeycloakUserId: null,
    });
    expect(await api.metadata.getCorporateTube(VM, id)).toEqual({
      ...before,
      uploadDate: '2024-03-11T08:15:42Z',
      inChargeUserId: '70977',
      inChargeKeycloakUserId: null,
    });
  });

  it('corporate-tube metadata of an unknown video is a 404 VmproApiError', async () => {
    const error = (await failure(
      api.metadata.getCorporateTube(VM, 'doesNotExist00000000000'),
    )) as VmproApiError;
    expect(error.status).toBe(404);
  });
});

describe('analytics', () => {
  it('analytics.videos answers one page of plays for the period', async () => {
    const page = await api.analytics.videos(VM, {
      from: '2024-01-01',
      to: '2025-01-01T00:00:00Z',
      limit: 10,
    });
    expect(page).toMatchObject({ offset: 0, limit: 10 });
    expect(page.videos).toHaveLength(10);
    expect(
      page.videos.every((item) => Number.isInteger(item.plays) && typeof item.createdDate === 'string'),
    ).toBe(true);
  });

  it('analytics.iterateVideos yields every video of the VideoManager once, across pages', async () => {
    const { total } = await api.videos.list(VM, { limit: 1 });
    const ids: string[] = [];
    for await (const item of api.analytics.iterateVideos(VM, { to: new Date() }, { pageSize: 7 }))
      ids.push(item.id);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
  });

  it('the plays of a period given as epoch ms equal those of the same period given as ISO strings', async () => {
    const [a] = (
      await api.analytics.videos(VM, { from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 6, 1), limit: 1 })
    ).videos;
    const [b] = (
      await api.analytics.videos(VM, { from: '2024-01-01T00:00:00Z', to: '2024-07-01T00:00:00Z', limit: 1 })
    ).videos;
    expect(a?.plays).toBe(b?.plays);
  });

  it('analytics.videos of named videos answers only those', async () => {
    const id = await firstVideo();
    const page = await api.analytics.videos(VM, { videoIds: [id] });
    expect(page.videos.map((item) => item.id)).toEqual([id]);
  });

  it('a limit above 100 is refused before anything is sent', async () => {
    const before = emulator.api.counters().requests['GET /v1/vms/{vm}/analytics/videos'] ?? 0;
    const error = await failure(api.analytics.videos(VM, { limit: 500 }));
    expect(error).toMatchObject({ code: 'VMPRO_CONFIG_INVALID', field: 'limit' });
    expect(emulator.api.counters().requests['GET /v1/vms/{vm}/analytics/videos'] ?? 0).toBe(before);
  });

  it('refreshes the token once after 401 invalid_token and succeeds', async () => {
    const tokens = tokenSource();
    const local = client({ tokenSource: tokens });
    emulator.api.addFault({ path: '/v1/vms/*/analytics/videos', kind: 'invalid_token', times: 1 });
    expect((await local.analytics.videos(VM, { limit: 1 })).videos).toHaveLength(1);
    expect(tokens.forced).toBe(1);
  });

  it('analytics of a VideoManager the user cannot reach is a 403 VmproApiError', async () => {
    expect(((await failure(api.analytics.videos(FOREIGN_VM))) as VmproApiError).status).toBe(403);
  });
});

describe('user info', () => {
  it('vms.userInfo names the ID token’s user and their VideoManagers', async () => {
    expect(await api.vms.userInfo(idToken)).toEqual({
      email: 'dana.demo@example.com',
      fullName: 'Dana Demo',
      videoManagerIds: [1001, 1002],
    });
  });

  it('a tampered ID token is a 400 VmproApiError that shows neither token', async () => {
    const [header, payload] = idToken.split('.');
    const tampered = `${header}.${payload}.c2lnbmF0dXJl`;
    const error = (await failure(api.vms.userInfo(tampered))) as VmproApiError;
    expect(error.status).toBe(400);
    const text = `${error.message} ${error.apiMessage ?? ''} ${error.path}`;
    expect(text).not.toContain(payload);
  });
});

describe('embed codes', () => {
  it('sends the embed type under both names; the emulator answers that type', async () => {
    const id = await firstVideo();
    const [player] = await api.vms.players(VM);
    const html = await api.videos.embedCodes(VM, id, {
      playerDefinitionId: player!.id,
      embedType: 'html_code',
    });
    expect(html.embedCode).toMatch(/^<div id="mi-player-/);
    const link = await api.videos.embedCodes(VM, id, {
      playerDefinitionId: player!.id,
      embedType: 'share_url',
      channelId: 100,
      tokenLifetimeInSeconds: 600,
    });
    expect(link.embedCode).toMatch(/channel-id=100/);
  });

  it('an unknown player is a 404 VmproApiError', async () => {
    const error = (await failure(
      api.videos.embedCodes(VM, await firstVideo(), { playerDefinitionId: 'no-such-player' }),
    )) as VmproApiError;
    expect(error.status).toBe(404);
  });
});

// Last: it moves the emulator clock past the token lifetime.
describe('user info with an expired ID token', () => {
  it('is refused with 400, the access token being refreshed as needed', async () => {
    const fresh = (await passwordGrant()).id_token;
    emulator.advanceClock(301);
    const error = (await failure(api.vms.userInfo(fresh))) as VmproApiError;
    expect(error.status).toBe(400);
  });
});
