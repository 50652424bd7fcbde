/** `vmpro search "<query>"`: movingimage's search endpoint, for videos or channels. */
import { type SearchChannel, type SearchPage, type SearchVideo, VmproApiError } from 'vmpro-connect/api';
import { type CliContext, say } from '../context.js';
import { CliFailure, describeError, exitCodeOf, guard, UsageError } from '../errors.js';
import { clean, hms, localDate, renderTable, terminalWidth, yesNo } from '../table.js';
import { apiClient, chooseVm, vmLabel } from '../vm.js';
import { printVideoTable } from './videos.js';

/** Results `vmpro search` shows without `--limit`. */
export const DEFAULT_SEARCH_LIMIT = 20;

export interface SearchOptions {
  vm?: number | undefined;
  /** Search channels instead of videos. */
  channels?: boolean | undefined;
  /** How many results to show (default {@link DEFAULT_SEARCH_LIMIT}). */
  limit?: number | undefined;
  /** Print the API's `{"total", "result"}`. */
  json?: boolean | undefined;
}

/** The API's largest search page (from + size pages through the rest). */
const MAX_SEARCH_PAGE = 100;

/**
 * Up to `limit` hits, page by page (`from` advances by what came back), and the total number
 * of hits.
 */
async function collectHits<T>(
  limit: number,
  page: (from: number, size: number) => Promise<SearchPage<T>>,
): Promise<SearchPage<T>> {
  const collected: SearchPage<T> = { total: 0, result: [] };
  while (collected.result.length < limit) {
    const next = await page(
      collected.result.length,
      Math.min(limit - collected.result.length, MAX_SEARCH_PAGE),
    );
    collected.total = next.total;
    collected.result.push(...next.result.slice(0, limit - collected.result.length));
    if (next.result.length === 0 || collected.result.length >= next.total) break;
  }
  return collected;
}

/**
 * Searches the videos (or with `channels` the channels) of a VideoManager with movingimage's
 * query-string syntax, and prints a table or with `json` the API's `{"total", "result"}`.
 * Returns the exit code.
 *
 * @example
 * ```ts
 * await search('title:launch AND published:true', { vm: 1001 }, { env: process.env, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export function search(query: string, options: SearchOptions, ctx: CliContext): Promise<number> {
  return guard(ctx, async () => {
    if (query.trim() === '') {
      throw new UsageError('the query is empty; e.g. vmpro search "title:launch"', 'search');
    }
    const api = await apiClient(ctx);
    const vm = await chooseVm(api, options.vm, `search ${JSON.stringify(query)}`, ctx);
    const limit = options.limit ?? DEFAULT_SEARCH_LIMIT;
    const kind = options.channels ? 'channel' : 'video';
    const call = (from: number, size: number) => ({ query, from, size, signal: ctx.signal });
    let page: SearchPage<SearchVideo | SearchChannel>;
    try {
      page = options.channels
        ? await collectHits(limit, (from, size) => api.search.channels(vm.id, call(from, size)))
        : await collectHits(limit, (from, size) => api.search.videos(vm.id, call(from, size)));
    } catch (error) {
      if (error instanceof VmproApiError && error.status === 400) {
        throw new CliFailure(
          ...describeError(error),
          'Fix: check the query: words, field:value, AND / OR / NOT, "quoted phrases"; see `vmpro search --help`.',
        ).withExitCode(exitCodeOf(error));
      }
      throw error;
    }

    if (options.json) {
      say(ctx.stdout, JSON.stringify(page, null, 2));
      return 0;
    }
    const what = (n: number) =>
      `${kind}${n === 1 ? '' : 's'} matching ${JSON.stringify(clean(query))} in ${vmLabel(vm)}`;
    if (page.result.length === 0) {
      say(ctx.stdout, `No ${what(0)}.`);
      return 0;
    }
    if (options.channels) {
      const rows = (page.result as SearchChannel[]).map((c) => [
        String(c.id),
        c.name,
        c.parentId === null ? '(root)' : String(c.parentId),
      ]);
      say(
        ctx.stdout,
        ...renderTable(
          [{ header: 'ID' }, { header: 'NAME', flex: true }, { header: 'PARENT' }],
          rows,
          terminalWidth(ctx.stdout),
        ),
      );
    } else {
      const rows = (page.result as SearchVideo[]).map((v) => [
        v.id,
        v.title ?? '',
        hms(v.duration),
        yesNo(v.published),
        localDate(v.createdDate),
      ]);
      printVideoTable(rows, ctx);
    }
    const shown = page.result.length;
    const more = shown < page.total ? ` Show more with --limit ${Math.min(page.total, 10_000)}.` : '';
    say(ctx.stdout, '', `${shown} of ${page.total} ${what(page.total)}.${more}`);
    return 0;
  });
}
