/** `vmpro videos list|get|upload`: the videos of a VideoManager, with the stored login. */
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  DEFAULT_CHUNK_SIZE,
  type VideoDetails,
  type VideoListFilters,
  type VideoListItem,
  type VideoPage,
  VmproApiError,
} from 'vmpro-connect/api';
import { type CliContext, clock, say } from '../context.js';
import { CliFailure, describeError, exitCodeOf, guard, UsageError } from '../errors.js';
import { localTime } from '../format.js';
import { uploadProgress } from '../progress.js';
import { byteSize, clean, hms, localDate, renderTable, terminalWidth, yesNo } from '../table.js';
import { apiClient, chooseVm, vmLabel } from '../vm.js';

/** `word` as a shell would need it typed (quoted when it has spaces or special characters). */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${clean(word).replace(/'/g, `'\\''`)}'`;
}

/** Videos `vmpro videos list` shows without `--limit` or `--all`. */
export const DEFAULT_LIST_LIMIT = 20;
/** The API's largest page. */
const MAX_PAGE_SIZE = 100;

export interface VideosListOptions {
  vm?: number | undefined;
  /** Only videos in these channels. */
  channel?: number[] | undefined;
  /** Only videos whose title, description, keywords or file name match. */
  search?: string | undefined;
  /** How many videos to show (default {@link DEFAULT_LIST_LIMIT}). */
  limit?: number | undefined;
  /** Every matching video, page by page. */
  all?: boolean | undefined;
  /** Print `{"total", "videos"}` as the API answers it. */
  json?: boolean | undefined;
}

/** The columns of a video table: id, title, duration, published, created. */
export function videoRows(videos: readonly VideoListItem[]): string[][] {
  return videos.map((video) => [
    video.id,
    video.title ?? '',
    hms(video.length),
    yesNo(video.published),
    localDate(video.createdDate),
  ]);
}

/** Prints videos as a table fitted to the terminal. */
export function printVideoTable(rows: readonly (readonly string[])[], ctx: CliContext): void {
  const lines = renderTable(
    [
      { header: 'ID' },
      { header: 'TITLE', flex: true },
      { header: 'DURATION', align: 'right' },
      { header: 'PUBLISHED' },
      { header: 'CREATED' },
    ],
    rows,
    terminalWidth(ctx.stdout),
  );
  say(ctx.stdout, ...lines);
}

/**
 * Lists the videos of a VideoManager, newest first: a table (id, title, duration, published,
 * created) for people, or with `json` one document `{"total", "videos"}`. Returns the exit code.
 *
 * @example
 * ```ts
 * await videosList({ vm: 1001, search: 'launch', limit: 5 }, { env: process.env, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export function videosList(options: VideosListOptions, ctx: CliContext): Promise<number> {
  return guard(ctx, async () => {
    if (options.all && options.limit !== undefined) {
      throw new UsageError('--all and --limit exclude each other: --all lists every video', 'videos list');
    }
    const api = await apiClient(ctx);
    const vm = await chooseVm(api, options.vm, 'videos list', ctx);
    const filters: VideoListFilters = {
      ...(options.channel !== undefined && options.channel.length > 0 && { channelId: options.channel }),
      ...(options.search !== undefined && options.search.trim() !== '' && { searchTerm: options.search }),
    };
    const limit = options.all ? Number.POSITIVE_INFINITY : (options.limit ?? DEFAULT_LIST_LIMIT);
    const page: VideoPage = { total: 0, videos: [] };
    const pages = api.videos.iteratePages(vm.id, filters, {
      pageSize: Math.min(limit, MAX_PAGE_SIZE),
      signal: ctx.signal,
    });
    for await (const each of pages) {
      page.total = each.total;
      page.videos.push(...each.videos.slice(0, limit - page.videos.length));
      if (page.videos.length >= limit) break;
    }

    if (options.json) {
      say(ctx.stdout, JSON.stringify(page, null, 2));
      return 0;
    }
    const matching = options.search ? ` matching ${JSON.stringify(clean(options.search))}` : '';
    const inChannels = filters.channelId
      ? ` in channel${options.channel!.length === 1 ? '' : 's'} ${options.channel!.join(', ')}`
      : '';
    if (page.videos.length === 0) {
      say(ctx.stdout, `No videos${inChannels}${matching} in ${vmLabel(vm)}.`);
      return 0;
    }
    printVideoTable(videoRows(page.videos), ctx);
    const shown = page.videos.length;
    const more =
      shown < page.total
        ? ` Show more with --limit ${Math.min(page.total, Math.max(shown * 5, MAX_PAGE_SIZE))} or --all.`
        : '';
    say(
      ctx.stdout,
      '',
      `${shown} of ${page.total} video${page.total === 1 ? '' : 's'}${inChannels}${matching} in ${vmLabel(vm)}, newest first.${more}`,
    );
    return 0;
  });
}

export interface VideosGetOptions {
  vm?: number | undefined;
  /** Print the video as the API answers it. */
  json?: boolean | undefined;
}

/** A 404 for a video ID, with the fix. */
function videoNotFound(error: VmproApiError, videoId: string, vm: { id: number }): CliFailure {
  return new CliFailure(
    ...describeError(error),
    `Fix: check the video ID "${clean(videoId)}" and the VideoManager (${vm.id}); \`vmpro videos list --vm ${vm.id}\` shows the IDs.`,
  ).withExitCode(exitCodeOf(error));
}

/**
 * Shows one video (published or not): title, duration, dates, counts, channels, keywords, owner
 * and description, or with `json` the video object as the API answers it. Returns the exit code.
 *
 * @example
 * ```ts
 * await videosGet('1wGJbtN7QPwkAkd8_VcgKH', { vm: 1001, json: true }, { env: process.env, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export function videosGet(videoId: string, options: VideosGetOptions, ctx: CliContext): Promise<number> {
  return guard(ctx, async () => {
    const api = await apiClient(ctx);
    const vm = await chooseVm(api, options.vm, `videos get ${shellWord(videoId)}`, ctx);
    let video: VideoDetails;
    try {
      video = await api.videos.get(vm.id, videoId, {
        includeKeywords: true,
        includeChannelAssignments: true,
        ignorePublicationState: true,
        signal: ctx.signal,
      });
    } catch (error) {
      if (error instanceof VmproApiError && error.status === 404) throw videoNotFound(error, videoId, vm);
      throw error;
    }
    if (options.json) {
      say(ctx.stdout, JSON.stringify(video, null, 2));
      return 0;
    }
    const when = (value: number | null | undefined) =>
      typeof value === 'number' ? localTime(value) : undefined;
    const count = (value: number | undefined) => (typeof value === 'number' ? String(value) : '–');
    const rows: [string, string | undefined][] = [
      ['id', video.id],
      ['duration', hms(video.length)],
      ['published', yesNo(video.published)],
      ['created', when(video.createdDate)],
      ['uploaded', when(video.uploadDate)],
      ['modified', when(video.modifiedDate)],
      ['published at', when(video.publicationDate)],
      ['views / plays', `${count(video.views)} / ${count(video.plays)}`],
      [
        'channels',
        video.channels?.map((c) => (c.name ? `${c.name} (${c.id})` : String(c.id))).join(', ') || undefined,
      ],
      ['keywords', video.keywords?.map((k) => k.text).join(', ') || undefined],
      ['owner', video.owner ?? undefined],
      ['file', video.uploadFileName ?? undefined],
      ['description', video.description || undefined],
    ];
    say(ctx.stdout, clean(video.title ?? '(no title)'));
    for (const [label, value] of rows) {
      if (value !== undefined) say(ctx.stdout, `  ${`${label}:`.padEnd(15)} ${clean(value)}`);
    }
    return 0;
  });
}

export interface VideosUploadOptions {
  vm?: number | undefined;
  /** Title of the new video (default: the file name without its suffix). */
  title?: string | undefined;
  /** Channel to put the video in. */
  channel?: number | undefined;
  /** Chunk size in MiB (default 4). */
  chunkSize?: number | undefined;
  /** Print `{"videoManagerId", "id", "fileName", …}` and no progress. */
  json?: boolean | undefined;
}

async function readableFile(file: string): Promise<number> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new UsageError(`${file} is not a file`, 'videos upload');
    size = info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' ? `there is no file ${file}` : `cannot read ${file} (${code ?? String(error)})`,
      'videos upload',
    );
  }
  if (size === 0) throw new UsageError(`${file} is empty; there is nothing to upload`, 'videos upload');
  return size;
}

/**
 * Creates a video and uploads the file into it in chunks. On a terminal (stderr) it draws a
 * progress bar; elsewhere it writes one line; with `json` it draws nothing and prints
 * `{"videoManagerId", "id", "fileName", "title", "channel", "bytes", "chunks"}`. When the
 * upload fails after the video was created, the message names the video and how to delete it.
 * Returns the exit code.
 *
 * @example
 * ```ts
 * await videosUpload('talk.mp4', { vm: 1001, title: 'Talk' }, { env: process.env, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export function videosUpload(file: string, options: VideosUploadOptions, ctx: CliContext): Promise<number> {
  return guard(ctx, async () => {
    const size = await readableFile(file);
    const fileName = basename(file);
    const api = await apiClient(ctx);
    const vm = await chooseVm(api, options.vm, `videos upload ${shellWord(file)}`, ctx);
    const id = await api.videos.create(
      vm.id,
      {
        fileName,
        ...(options.title !== undefined && { title: options.title }),
        ...(options.channel !== undefined && { channel: options.channel }),
      },
      { signal: ctx.signal },
    );

    const chunkSize = options.chunkSize === undefined ? DEFAULT_CHUNK_SIZE : options.chunkSize * 1024 * 1024;
    const chunks = Math.ceil(size / chunkSize);
    const now = () => clock(ctx);
    const display = uploadProgress(ctx.stderr, {
      label: fileName,
      total: size,
      chunks,
      now,
      ...(options.json && { mode: 'none' as const }),
    });
    const started = now();
    let result: { chunks: number; bytes: number };
    try {
      result = await api.videos.upload(vm.id, id, await openAsBlob(file), {
        chunkSize,
        onProgress: (sent) => display.update(sent),
        signal: ctx.signal,
      });
    } catch (error) {
      display.abort();
      throw new CliFailure(
        ...describeError(error),
        `The video ${id} was created in ${vmLabel(vm)}, but its file did not arrive completely.`,
        `Fix: run the upload again (it makes a new video), and delete this one: vmpro api DELETE /v1/vms/${vm.id}/videos/${id}`,
      ).withExitCode(exitCodeOf(error));
    }
    display.finish();
    const seconds = (now() - started) / 1000;

    if (options.json) {
      const printed = {
        videoManagerId: vm.id,
        id,
        fileName,
        title: options.title ?? null,
        channel: options.channel ?? null,
        bytes: result.bytes,
        chunks: result.chunks,
      };
      say(ctx.stdout, JSON.stringify(printed, null, 2));
      return 0;
    }
    const rate = seconds > 0 ? `, ${byteSize(result.bytes / seconds)}/s` : '';
    say(
      ctx.stdout,
      `Uploaded ${clean(fileName)} (${byteSize(result.bytes)} in ${result.chunks} chunk${result.chunks === 1 ? '' : 's'}${rate}) as video ${id} in ${vmLabel(vm)}.`,
      `It is transcoded now; see it with: vmpro videos get ${id} --vm ${vm.id}`,
    );
    return 0;
  });
}
