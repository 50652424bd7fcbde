/**
 * `vmpro videos list|get|upload` and `vmpro channels` against a real emulator over sockets, with
 * a real password login: human output (tables fitted to the terminal) and `--json`, choosing the
 * VideoManager, the upload progress bar on a (fake) terminal and its absence elsewhere, errors.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Channel, VideoPage } from 'vmpro-connect/api';
import { DEMO_USERS, type RunningEmulator, startEmulator } from 'vmpro-connect/emulator';
import { api } from './commands/api.js';
import { channels } from './commands/channels.js';
import { login } from './commands/login.js';
import { DEFAULT_LIST_LIMIT, videosGet, videosList, videosUpload } from './commands/videos.js';
import type { CliContext, TextSink } from './context.js';
import { runCli } from './program.js';
import { hms } from './table.js';

/** The emulator's seeded outsider: a member of VideoManager 1003 ("Other Company") only. */
const SOLO = {
  username: 'solo',
  password: 'solo',
  sub: '9d8c7b6a-5f4e-4d3c-8b2a-192837465564',
  name: 'Sam Solo',
  email: 'sam.solo@example.com',
};

interface Captured {
  ctx: CliContext;
  out: () => string;
  err: () => string;
}

/** A sink that collects what is written; a terminal of `columns` when given. */
function sink(columns?: number): TextSink & { text: string } {
  const s = {
    text: '',
    write(chunk: string) {
      s.text += chunk;
    },
    ...(columns !== undefined && { isTTY: true, columns }),
  };
  return s;
}

let emulator: RunningEmulator;
let home: string;

function run(
  options: { env?: Record<string, string>; stdoutColumns?: number; stderrColumns?: number } = {},
): Captured {
  const stdout = sink(options.stdoutColumns);
  const stderr = sink(options.stderrColumns);
  return {
    ctx: {
      env: { VMPRO_HOME: home, VMPRO_API_BASE: emulator.apiBase, ...options.env },
      stdout,
      stderr,
    },
    out: () => stdout.text,
    err: () => stderr.text,
  };
}

async function signIn(username = 'demo'): Promise<void> {
  const user = [...DEMO_USERS, SOLO].find((u) => u.username === username)!;
  const c = run({ env: { VMPRO_PASSWORD: user.password } });
  expect(await login({ password: true, username }, c.ctx)).toBe(0);
}

/** What `vmpro api GET <path>` prints, parsed: the API's own answer to compare with. */
async function apiAnswer<T>(path: string, query: string[] = []): Promise<T> {
  const c = run();
  expect(await api('GET', path, { query }, c.ctx)).toBe(0);
  return JSON.parse(c.out()) as T;
}

/** The table's data lines (between the header and the blank line before the summary). */
function tableRows(out: string): string[] {
  const lines = out.split('\n');
  const end = lines.indexOf('');
  return lines.slice(1, end);
}

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, users: [...DEMO_USERS, SOLO] });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  emulator.reset();
  home = await mkdtemp(join(tmpdir(), 'vmpro-videos-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('choosing the VideoManager', () => {
  it('with several and no --vm, lists them and says how to choose (--vm or VMPRO_VM), exit 2', async () => {
    await signIn('demo');
    const c = run();
    expect(await videosList({}, c.ctx)).toBe(2);
    expect(c.out()).toBe('');
    expect(c.err()).toContain('Your login can reach 2 VideoManagers');
    expect(c.err()).toMatch(/^ {2}1001 {2}Demo Marketing$/m);
    expect(c.err()).toMatch(/^ {2}1002 {2}Demo Training$/m);
    expect(c.err()).toContain('`vmpro videos list --vm 1001`');
    expect(c.err()).toContain('VMPRO_VM=1001');
  });

  it('with exactly one, uses it without being told', async () => {
    await signIn('solo');
    const c = run();
    expect(await videosList({}, c.ctx)).toBe(0);
    expect(c.out()).toContain('in VideoManager 1003 (Other Company)');
    expect(tableRows(c.out())).toHaveLength(2);
  });

  it('VMPRO_VM picks it when --vm is not given, and --vm wins over it', async () => {
    await signIn('demo');
    const fromEnv = run({ env: { VMPRO_VM: '1002' } });
    expect(await videosList({ json: true }, fromEnv.ctx)).toBe(0);
    expect((JSON.parse(fromEnv.out()) as VideoPage).total).toBe(5);
    const flag = run({ env: { VMPRO_VM: '1002' } });
    expect(await videosList({ vm: 1001, json: true }, flag.ctx)).toBe(0);
    expect((JSON.parse(flag.out()) as VideoPage).total).toBe(60);
  });

  it('a VMPRO_VM that is not an ID is a usage error naming it, exit 2', async () => {
    await signIn('demo');
    const c = run({ env: { VMPRO_VM: 'marketing' } });
    expect(await videosList({}, c.ctx)).toBe(2);
    expect(c.err()).toContain('VMPRO_VM="marketing" is not a VideoManager ID');
  });

  it('an account without VideoManagers is told so, with the likely cause and fix, exit 1', async () => {
    await signIn('novms');
    const c = run();
    expect(await channels({}, c.ctx)).toBe(1);
    expect(c.err()).toContain('Your login can reach no VideoManager');
    expect(c.err()).toContain('Likely cause:');
    expect(c.err()).toContain('Fix:');
  });

  it("a VideoManager the user cannot reach gets the API's 403 explained, exit 1", async () => {
    await signIn('demo');
    const c = run();
    expect(await videosList({ vm: 1003 }, c.ctx)).toBe(1);
    expect(c.err()).toContain('The API answered HTTP 403');
    expect(c.err()).toContain('no access to VideoManager 1003');
  });

  it('without a login, says to run vmpro login, exit 3', async () => {
    const c = run();
    expect(await videosList({ vm: 1001 }, c.ctx)).toBe(3);
    expect(c.err()).toContain('Run `vmpro login` first.');
  });
});

describe('vmpro videos list', () => {
  beforeEach(async () => {
    await signIn('demo');
  });

  it("--json prints the API's page {total, videos} as one document", async () => {
    const c = run();
    expect(await videosList({ vm: 1001, json: true }, c.ctx)).toBe(0);
    const printed = JSON.parse(c.out()) as VideoPage;
    const direct = await apiAnswer<VideoPage>('/v1/vms/1001/videos', [`limit=${DEFAULT_LIST_LIMIT}`]);
    expect(printed).toEqual(direct);
    expect(printed.videos).toHaveLength(20);
    expect(c.err()).toBe('');
  });

  it('prints a table of id, title, duration (h:mm:ss), published and created, newest first, and a summary', async () => {
    const c = run();
    expect(await videosList({ vm: 1001 }, c.ctx)).toBe(0);
    const json = run();
    await videosList({ vm: 1001, json: true }, json.ctx);
    const { videos } = JSON.parse(json.out()) as VideoPage;

    expect(c.out().split('\n')[0]).toMatch(/^ID {2,}TITLE {2,}DURATION {2}PUBLISHED {2}CREATED$/);
    const rows = tableRows(c.out());
    expect(rows).toHaveLength(20);
    rows.forEach((row, i) => {
      const video = videos[i]!;
      expect(row.startsWith(`${video.id}  `)).toBe(true);
      expect(row).toContain(video.title!);
      expect(row).toContain(`  ${hms(video.length)}  `);
      expect(row).toMatch(new RegExp(`  ${video.published ? 'yes' : 'no '} {2,}\\d{4}-\\d\\d-\\d\\d$`));
    });
    expect(c.out()).toContain(
      '20 of 60 videos in VideoManager 1001, newest first. Show more with --limit 60 or --all.',
    );
  });

  it('fits the table to a narrow terminal, cutting titles with …', async () => {
    const c = run({ stdoutColumns: 70 });
    expect(await videosList({ vm: 1001 }, c.ctx)).toBe(0);
    const lines = [c.out().split('\n')[0]!, ...tableRows(c.out())];
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(70);
    expect(lines.some((line) => line.includes('…'))).toBe(true);
    // The other columns stay whole.
    for (const row of tableRows(c.out()))
      expect(row).toMatch(/ \d+:\d\d:\d\d {2}(yes|no ) {2,}\d{4}-\d\d-\d\d$/);
  });

  it('does not cut titles when the output is not a terminal (a pipe gets whole titles)', async () => {
    const c = run();
    expect(await videosList({ vm: 1001 }, c.ctx)).toBe(0);
    expect(c.out()).not.toContain('…');
  });

  it('--limit sets how many videos are shown', async () => {
    const c = run();
    expect(await videosList({ vm: 1001, limit: 7 }, c.ctx)).toBe(0);
    expect(tableRows(c.out())).toHaveLength(7);
    expect(c.out()).toContain('7 of 60 videos');
  });

  it('--all fetches every video page by page', async () => {
    const c = run();
    expect(await videosList({ vm: 1001, all: true, json: true }, c.ctx)).toBe(0);
    const page = JSON.parse(c.out()) as VideoPage;
    expect(page.total).toBe(60);
    expect(new Set(page.videos.map((v) => v.id)).size).toBe(60);
  });

  it('--all together with --limit is a usage error, exit 2', async () => {
    const c = run();
    expect(await videosList({ vm: 1001, all: true, limit: 5 }, c.ctx)).toBe(2);
    expect(c.err()).toContain('--all and --limit exclude each other');
  });

  it('--channel (repeated) lists only the videos of those channels', async () => {
    const c = run();
    expect(await videosList({ vm: 1001, channel: [110, 111], all: true, json: true }, c.ctx)).toBe(0);
    const page = JSON.parse(c.out()) as VideoPage;
    const direct = await apiAnswer<VideoPage>('/v1/vms/1001/videos', [
      'channel_id=110',
      'channel_id=111',
      'limit=100',
    ]);
    expect(page.total).toBe(direct.total);
    expect(page.total).toBeLessThan(60);
    expect(page.videos.map((v) => v.id)).toEqual(direct.videos.map((v) => v.id));
  });

  it('--search lists only the videos the API finds for the term, and says what was searched', async () => {
    const c = run();
    expect(await videosList({ vm: 1001, search: 'Webinar' }, c.ctx)).toBe(0);
    const direct = await apiAnswer<VideoPage>('/v1/vms/1001/videos', ['search_term=Webinar', 'limit=20']);
    expect(direct.total).toBeGreaterThan(0);
    expect(direct.total).toBeLessThan(60);
    expect(tableRows(c.out()).map((row) => row.split(' ')[0])).toEqual(direct.videos.map((v) => v.id));
    expect(c.out()).toContain(
      `${direct.videos.length} of ${direct.total} videos matching "Webinar" in VideoManager 1001`,
    );
  });

  it('a search that matches nothing says so', async () => {
    const c = run();
    expect(await videosList({ vm: 1001, search: 'no-such-video-anywhere' }, c.ctx)).toBe(0);
    expect(c.out()).toBe('No videos matching "no-such-video-anywhere" in VideoManager 1001.\n');
  });

  it('prints titles with control characters harmlessly (no escape sequence reaches the terminal)', async () => {
    const file = join(home, 'evil.mp4');
    await writeFile(file, Buffer.alloc(1000, 1));
    const up = run();
    expect(
      await videosUpload(file, { vm: 1001, title: 'Red\u001b[31m alert\u0007', json: true }, up.ctx),
    ).toBe(0);
    const c = run();
    expect(await videosList({ vm: 1001, search: 'alert' }, c.ctx)).toBe(0);
    expect(c.out()).toContain('Red [31m alert');
    expect(c.out()).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });
});

describe('vmpro videos get', () => {
  beforeEach(async () => {
    await signIn('demo');
  });

  async function someVideo(published: boolean) {
    const { videos } = await apiAnswer<VideoPage>('/v1/vms/1001/videos', ['limit=20']);
    return videos.find((v) => v.published === published)!;
  }

  it('shows the title, duration, dates, channels and keywords of a video', async () => {
    const video = await someVideo(true);
    const c = run();
    expect(await videosGet(video.id, { vm: 1001 }, c.ctx)).toBe(0);
    const lines = c.out().split('\n');
    expect(lines[0]).toBe(video.title);
    expect(c.out()).toMatch(new RegExp(`^ {2}id: +${video.id}$`, 'm'));
    expect(c.out()).toMatch(new RegExp(`^ {2}duration: +${hms(video.length)}$`, 'm'));
    expect(c.out()).toMatch(/^ {2}published: +yes$/m);
    expect(c.out()).toMatch(/^ {2}created: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/m);
    expect(c.out()).toMatch(/^ {2}channels: +[^(]+ \(\d+\)/m);
    expect(c.out()).toMatch(/^ {2}keywords: +\S/m);
  });

  it('--json prints the video object as the API answers it, with channels and keywords', async () => {
    const video = await someVideo(true);
    const c = run();
    expect(await videosGet(video.id, { vm: 1001, json: true }, c.ctx)).toBe(0);
    const printed = JSON.parse(c.out()) as { id: string; channels: unknown[]; keywords: unknown[] };
    const direct = await apiAnswer<unknown>(`/v1/vms/1001/videos/${video.id}`, [
      'include_keywords=true',
      'include_channel_assignments=true',
      'ignore_publication_state=true',
    ]);
    expect(printed).toEqual(direct);
    expect(printed.channels.length).toBeGreaterThan(0);
  });

  it('shows unpublished videos too', async () => {
    const video = await someVideo(false);
    const c = run();
    expect(await videosGet(video.id, { vm: 1001 }, c.ctx)).toBe(0);
    expect(c.out()).toMatch(/^ {2}published: +no$/m);
  });

  it('an unknown ID is explained with the fix (where to find IDs), exit 1', async () => {
    const c = run();
    expect(await videosGet('doesNotExist123', { vm: 1001 }, c.ctx)).toBe(1);
    expect(c.out()).toBe('');
    expect(c.err()).toContain('The API answered HTTP 404');
    expect(c.err()).toContain('`vmpro videos list --vm 1001` shows the IDs');
  });
});

describe('vmpro videos upload', () => {
  const MiB = 1024 * 1024;
  let file: string;
  beforeEach(async () => {
    await signIn('demo');
    file = join(home, 'clip.mp4');
    await writeFile(file, Buffer.alloc(2.5 * MiB, 7));
  });
  const chunkRequests = () =>
    emulator.counters().api.requests['POST /asset-in/chunks/vms/{vm}/videos/{videoId}'] ?? 0;
  const creations = () => emulator.counters().api.requests['POST /v1/vms/{vm}/videos'] ?? 0;

  it('on a terminal, draws a progress bar on stderr, redrawn in place up to 100 %, ending with a newline', async () => {
    const c = run({ stderrColumns: 80 });
    expect(await videosUpload(file, { vm: 1001, title: 'Clip', chunkSize: 1 }, c.ctx)).toBe(0);
    const err = c.err();
    expect(err.endsWith('\n')).toBe(true);
    expect(err.split('\n')).toHaveLength(2); // one line, redrawn
    const frames = err.slice(0, -1).split('\r').filter(Boolean);
    expect(frames[0]).toMatch(/^clip\.mp4 \[░+\] {4}0 % {2}0 B \/ 2\.5 MiB\u001b\[K$/);
    const last = frames.at(-1)!;
    expect(last).toMatch(
      /^clip\.mp4 \[█+\] {2}100 % {2}2\.5 MiB \/ 2\.5 MiB {2}[\d.]+ (B|KiB|MiB|GiB)\/s\u001b\[K$/,
    );
    const percents = frames.map((f) => Number(/(\d+) %/.exec(f)![1]));
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    for (const frame of frames) expect([...frame.replace('\u001b[K', '')].length).toBeLessThan(80);
    expect(chunkRequests()).toBe(3);
    expect(c.out()).toMatch(
      /^Uploaded clip\.mp4 \(2\.5 MiB in 3 chunks, .+\/s\) as video [\w-]+ in VideoManager 1001\.$/m,
    );
  });

  it('the uploaded video exists with its title and the whole file', async () => {
    const c = run();
    expect(await videosUpload(file, { vm: 1001, title: 'Quarterly talk', json: true }, c.ctx)).toBe(0);
    const { id } = JSON.parse(c.out()) as { id: string };
    const get = run();
    expect(await videosGet(id, { vm: 1001, json: true }, get.ctx)).toBe(0);
    const video = JSON.parse(get.out()) as {
      title: string;
      uploadFileName: string;
      uploadDate: number | null;
    };
    expect(video.title).toBe('Quarterly talk');
    expect(video.uploadFileName).toBe('clip.mp4');
    expect(video.uploadDate).not.toBeNull();
  });

  it('not on a terminal, writes one plain line and no bar (no \\r, no escape sequences)', async () => {
    const c = run();
    expect(await videosUpload(file, { vm: 1001, chunkSize: 1 }, c.ctx)).toBe(0);
    expect(c.err()).toBe('Uploading clip.mp4 (2.5 MiB, 3 chunks)…\n');
    expect(c.out()).not.toMatch(/[\r\u001b]/);
    expect(c.out()).toContain('in 3 chunks');
  });

  it("--json draws no bar even on a terminal and prints the new video's ID, bytes and chunks", async () => {
    const c = run({ stderrColumns: 80, stdoutColumns: 80 });
    expect(await videosUpload(file, { vm: 1001, channel: 103, json: true }, c.ctx)).toBe(0);
    expect(c.err()).toBe('');
    const printed = JSON.parse(c.out()) as Record<string, unknown>;
    expect(printed).toMatchObject({
      videoManagerId: 1001,
      fileName: 'clip.mp4',
      title: null,
      channel: 103,
      bytes: 2.5 * MiB,
      chunks: 1,
    });
    expect(printed['id']).toMatch(/^[\w-]+$/);
  });

  it('a file that does not exist is a usage error, and no video is created, exit 2', async () => {
    const before = creations();
    const c = run();
    expect(await videosUpload(join(home, 'missing.mp4'), { vm: 1001 }, c.ctx)).toBe(2);
    expect(c.err()).toContain('there is no file');
    expect(creations()).toBe(before);
  });

  it('an empty file is a usage error, exit 2', async () => {
    const empty = join(home, 'empty.mp4');
    await writeFile(empty, '');
    const c = run();
    expect(await videosUpload(empty, { vm: 1001 }, c.ctx)).toBe(2);
    expect(c.err()).toContain('is empty');
  });

  it("a file type movingimage does not take gets the API's message, exit 1", async () => {
    const text = join(home, 'notes.txt');
    await writeFile(text, 'hello');
    const c = run();
    expect(await videosUpload(text, { vm: 1001 }, c.ctx)).toBe(1);
    expect(c.err()).toMatch(/^The API answered HTTP 4\d\d to POST \/v1\/vms\/1001\/videos\.$/m);
    expect(c.err()).toMatch(/Unsupported upload file type/);
  });

  it("when the upload server refuses the file, ends the bar's line and names the created video and how to delete it", async () => {
    emulator.api.addFault({ method: 'POST', path: '/asset-in/**', kind: 'status', status: 400 });
    const c = run({ stderrColumns: 80 });
    expect(await videosUpload(file, { vm: 1001, chunkSize: 1 }, c.ctx)).toBe(1);
    const [barLine, ...message] = c.err().split('\n');
    expect(barLine).toMatch(/^\rclip\.mp4 \[░+\] {4}0 %/);
    expect(message.join('\n')).toMatch(
      /The video ([\w-]+) was created in VideoManager 1001, but its file did not arrive completely\./,
    );
    expect(message.join('\n')).toMatch(/vmpro api DELETE \/v1\/vms\/1001\/videos\/[\w-]+/);
    expect(c.out()).toBe('');
  });
});

describe('vmpro channels', () => {
  beforeEach(async () => {
    await signIn('demo');
  });

  it('prints the tree: IDs, names, sub-channels indented below their parent, sorted by name', async () => {
    const c = run();
    expect(await channels({ vm: 1001 }, c.ctx)).toBe(0);
    expect(c.out()).toBe(
      [
        'ID   CHANNEL',
        '100  Demo Marketing',
        '102  ├─ Customer Stories',
        '114  │  └─ Interviews',
        '101  ├─ Events',
        '112  │  ├─ Trade Fairs',
        '113  │  └─ Webinars',
        '103  └─ Product Launches',
        '111     ├─ Launch 2023',
        '110     └─ Launch 2024',
        '',
        '9 channels in VideoManager 1001. Videos of one: vmpro videos list --vm 1001 --channel 102',
        '',
      ].join('\n'),
    );
  });

  it('--json prints the tree as the API answers it', async () => {
    const c = run();
    expect(await channels({ vm: 1002, json: true }, c.ctx)).toBe(0);
    const printed = JSON.parse(c.out()) as Channel;
    expect(printed).toEqual(await apiAnswer<Channel>('/v1/vms/1002/channels'));
    expect(printed.children?.map((child) => child.name).sort()).toEqual(['Compliance', 'Onboarding']);
  });

  it('answers 503 from the API with exit 4 (try again later)', async () => {
    emulator.api.addFault({ method: 'GET', path: '/v1/vms/*/channels', kind: 'status', status: 503 });
    const c = run();
    expect(await channels({ vm: 1001 }, c.ctx)).toBe(4);
    expect(c.err()).toContain('The API answered HTTP 503');
  });
});

describe('the commands through the command line (commander wiring)', () => {
  beforeEach(async () => {
    await signIn('demo');
  });

  it('vmpro videos alone lists the videos', async () => {
    const c = run({ env: { VMPRO_VM: '1002' } });
    expect(await runCli(['videos'], c.ctx)).toBe(0);
    expect(tableRows(c.out())).toHaveLength(5);
  });

  it('vmpro videos list takes --vm, repeated and comma-separated --channel, --limit and --json', async () => {
    const c = run();
    const args = [
      'videos',
      'list',
      '--vm',
      '1001',
      '--channel',
      '110',
      '--channel',
      '111,112',
      '--limit',
      '3',
      '--json',
    ];
    expect(await runCli(args, c.ctx)).toBe(0);
    const page = JSON.parse(c.out()) as VideoPage;
    const direct = await apiAnswer<VideoPage>('/v1/vms/1001/videos', [
      'channel_id=110',
      'channel_id=111',
      'channel_id=112',
      'limit=3',
    ]);
    expect(page).toEqual(direct);
  });

  it('a --vm that is not a number is a usage error, exit 2', async () => {
    const c = run();
    expect(await runCli(['channels', '--vm', 'marketing'], c.ctx)).toBe(2);
    expect(c.err()).toContain('Expected a whole number');
  });

  it('vmpro videos get without an ID is a usage error, exit 2', async () => {
    const c = run();
    expect(await runCli(['videos', 'get'], c.ctx)).toBe(2);
    expect(c.err()).toContain("missing required argument 'videoId'");
  });
});

describe('help', () => {
  it('vmpro --help lists the VideoManager commands and completion, with examples', async () => {
    const c = run();
    expect(await runCli(['--help'], c.ctx)).toBe(0);
    for (const command of ['videos', 'channels', 'search', 'completion']) {
      expect(c.out()).toMatch(new RegExp(`^ {2}${command}\\b.* {2}\\S`, 'm'));
    }
    expect(c.out()).toContain('vmpro videos list --vm 1001 --search launch');
    expect(c.out()).toContain('source <(vmpro completion bash)');
  });

  it.each([
    ['videos'],
    ['videos', 'list'],
    ['videos', 'get'],
    ['videos', 'upload'],
    ['channels'],
    ['search'],
    ['completion'],
  ])('vmpro %s %s --help says what it does, with an example', async (...command) => {
    const c = run();
    expect(await runCli([...command, '--help'], c.ctx)).toBe(0);
    expect(c.out()).toContain(`Usage: vmpro ${command.join(' ')}`);
    expect(c.out()).toMatch(/Examples:\n {2}vmpro \S|Examples:\n {2}\S+=|Examples:\n {2}source /);
    expect(c.out()).toMatch(new RegExp(`^ {2}(id=\\$\\()?vmpro ${command.join(' ')}\\b`, 'm'));
  });

  it('each option that picks a VideoManager names VMPRO_VM', async () => {
    for (const command of [
      ['videos', 'list'],
      ['videos', 'get'],
      ['videos', 'upload'],
      ['channels'],
      ['search'],
    ]) {
      const c = run();
      expect(await runCli([...command, '--help'], c.ctx)).toBe(0);
      expect(c.out()).toMatch(/--vm <id> +VideoManager ID, e\.g\. 319 \(env VMPRO_VM/);
    }
  });
});

describe('vmpro search', () => {
  interface Hits<T> {
    total: number;
    result: T[];
  }
  interface SearchVideoDoc {
    id: string;
    title: string;
    duration: number;
    published: boolean;
    createdDate: string;
  }

  beforeEach(async () => {
    await signIn('demo');
  });

  /** The search endpoint's own answer, straight over HTTP with the stored login's token. */
  async function searchDirect<T>(body: Record<string, unknown>): Promise<Hits<T>> {
    const token = run();
    expect(await runCli(['token'], token.ctx)).toBe(0);
    const res = await fetch(`${emulator.apiBase}/v1/vms/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.out().trim()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ videoManagerIds: [1001], ...body }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Hits<T>;
  }

  it("--json prints the API's {total, result} for a video query", async () => {
    const c = run();
    expect(await runCli(['search', 'title:launch AND published:true', '--vm', '1001', '--json'], c.ctx)).toBe(
      0,
    );
    const printed = JSON.parse(c.out()) as Hits<SearchVideoDoc>;
    const direct = await searchDirect<SearchVideoDoc>({
      documentType: 'video',
      query: 'title:launch AND published:true',
      from: 0,
      size: 20,
    });
    expect(printed.total).toBe(direct.total);
    expect(printed.result.map((v) => v.id)).toEqual(direct.result.map((v) => v.id));
    expect(printed.total).toBeGreaterThan(0);
    for (const video of printed.result) expect(video.published).toBe(true);
  });

  it('prints the hits as a video table with h:mm:ss durations and a summary', async () => {
    const c = run();
    expect(await runCli(['search', 'launch', '--vm', '1001', '--limit', '4'], c.ctx)).toBe(0);
    const json = run();
    await runCli(['search', 'launch', '--vm', '1001', '--limit', '4', '--json'], json.ctx);
    const { total, result } = JSON.parse(json.out()) as Hits<SearchVideoDoc>;
    expect(c.out().split('\n')[0]).toMatch(/^ID {2,}TITLE {2,}DURATION {2}PUBLISHED {2}CREATED$/);
    const rows = tableRows(c.out());
    expect(rows).toHaveLength(4);
    rows.forEach((row, i) => {
      expect(row.startsWith(`${result[i]!.id}  `)).toBe(true);
      expect(row).toContain(`  ${hms(result[i]!.duration)}  `);
    });
    expect(c.out()).toContain(
      `4 of ${total} videos matching "launch" in VideoManager 1001. Show more with --limit`,
    );
  });

  it('--limit beyond one page of the API (100 hits) pages on with from/size', async () => {
    // 60 seeded videos + 45 new ones: 105 in VideoManager 1001.
    for (let i = 0; i < 45; i++) {
      const c = run();
      const data = JSON.stringify({ title: `Extra ${i}`, fileName: `extra-${i}.mp4` });
      expect(await api('POST', '/v1/vms/1001/videos', { data }, c.ctx)).toBe(0);
    }
    const searches = () => emulator.counters().api.requests['POST /v1/vms/search'] ?? 0;
    const before = searches();
    const c = run();
    expect(
      await runCli(
        ['search', 'published:true OR published:false', '--vm', '1001', '--limit', '103', '--json'],
        c.ctx,
      ),
    ).toBe(0);
    const printed = JSON.parse(c.out()) as Hits<SearchVideoDoc>;
    expect(printed.total).toBe(105);
    expect(printed.result).toHaveLength(103);
    expect(new Set(printed.result.map((v) => v.id)).size).toBe(103);
    expect(searches() - before).toBe(2);
  });

  it('--channels searches channels and prints id, name and parent', async () => {
    const c = run();
    expect(await runCli(['search', 'Events', '--channels', '--vm', '1001'], c.ctx)).toBe(0);
    expect(c.out()).toMatch(/^ID {3}NAME {4}PARENT$/m);
    expect(c.out()).toMatch(/^101 {2}Events {2}100$/m);
    expect(c.out()).toContain('1 of 1 channel matching "Events" in VideoManager 1001.');
  });

  it('a query that matches nothing says so', async () => {
    const c = run();
    expect(await runCli(['search', 'title:nothingmatchesthis', '--vm', '1001'], c.ctx)).toBe(0);
    expect(c.out()).toBe('No videos matching "title:nothingmatchesthis" in VideoManager 1001.\n');
  });

  it("a malformed query gets the API's message and what to fix, exit 1", async () => {
    const c = run();
    expect(await runCli(['search', 'title:(', '--vm', '1001'], c.ctx)).toBe(1);
    expect(c.err()).toContain('The API answered HTTP 400 to POST /v1/vms/search');
    expect(c.err()).toContain('Fix: check the query');
  });

  it('an empty query is a usage error, exit 2', async () => {
    const c = run();
    expect(await runCli(['search', ' ', '--vm', '1001'], c.ctx)).toBe(2);
    expect(c.err()).toContain('the query is empty');
  });

  it('with several VideoManagers and no --vm, says how to choose with this search', async () => {
    const c = run();
    expect(await runCli(['search', 'launch'], c.ctx)).toBe(2);
    expect(c.err()).toContain('`vmpro search "launch" --vm 1001`');
  });
});

describe('the vmpro binary (spawned, output to a pipe)', { timeout: 90_000 }, () => {
  it('videos list prints whole titles and no escape sequences; completion bash prints the script', async () => {
    await signIn('demo');
    const { execFile } = await import('node:child_process');
    const bin = new URL('../../bin/vmpro.js', import.meta.url).pathname;
    const spawnVmpro = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const env: NodeJS.ProcessEnv = { ...process.env, VMPRO_HOME: home, VMPRO_API_BASE: emulator.apiBase };
        delete env['VMPRO_VM'];
        execFile(
          process.execPath,
          [bin, ...args],
          { cwd: home, env, timeout: 60_000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
        );
      });
    const list = await spawnVmpro(['videos', 'list', '--vm', '1002']);
    expect(list.code).toBe(0);
    expect(tableRows(list.stdout)).toHaveLength(5);
    expect(list.stdout).not.toMatch(/[\u001b\r…]/);
    const completion = await spawnVmpro(['completion', 'bash']);
    expect(completion.code).toBe(0);
    expect(completion.stdout).toContain('complete -o default -F _vmpro vmpro');
  });
});
