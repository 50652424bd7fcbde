/**
 * Tables and values as `vmpro` prints them for people: aligned columns that fit the terminal,
 * durations as h:mm:ss, dates, byte counts. Text from the API is cleaned of control characters
 * first, so that a title cannot move the cursor or change the terminal's colours.
 */
import type { TextSink } from './context.js';

/** One column of a {@link renderTable} table. */
export interface Column {
  header: string;
  /** The column that gives up width (truncated with …) when the table is wider than the terminal. */
  flex?: boolean;
  /** Numbers and durations read better right-aligned. */
  align?: 'left' | 'right';
}

/** The narrowest a flexible column gets before the table is allowed to overflow. */
export const MIN_FLEX_WIDTH = 12;
const GAP = '  ';

// C0 and C1 control characters (ESC, CR, BEL, CSI…): printed as they are they would let a title
// from the API redraw the screen.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g;

/** `text` on one line with control characters replaced by a space. */
export function clean(text: string): string {
  return text.replace(CONTROL, ' ');
}

/** Length in code points (what a terminal shows for most scripts). */
function width(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

/**
 * `text` cut to `max` code points, ending in `…` when it was longer.
 *
 * @example
 * ```ts
 * truncate('Product roadmap: Security', 12); // 'Product roa…'
 * ```
 */
export function truncate(text: string, max: number): string {
  if (max <= 0) return '';
  if (width(text) <= max) return text;
  return `${[...text]
    .slice(0, max - 1)
    .join('')
    .trimEnd()}…`;
}

function pad(text: string, size: number, align: 'left' | 'right' | undefined): string {
  const fill = ' '.repeat(Math.max(0, size - width(text)));
  return align === 'right' ? fill + text : text + fill;
}

/**
 * Lines of an aligned table (header first). With `maxWidth`, the flexible column shrinks (down
 * to {@link MIN_FLEX_WIDTH}) so that every line fits; its cells are truncated with `…`. Without
 * it (output is not a terminal) nothing is cut. Cells are {@link clean}ed.
 *
 * @example
 * ```ts
 * renderTable([{ header: 'ID' }, { header: 'TITLE', flex: true }], [['abc', 'A long title']], 12);
 * // ['ID   TITLE', 'abc  A long…']
 * ```
 */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  maxWidth?: number | undefined,
): string[] {
  const cells = rows.map((row) => columns.map((_, i) => clean(row[i] ?? '')));
  const widths = columns.map((column, i) =>
    Math.max(width(column.header), ...cells.map((row) => width(row[i]!))),
  );
  const flex = columns.findIndex((column) => column.flex);
  if (maxWidth !== undefined && flex >= 0) {
    const total = widths.reduce((sum, w) => sum + w, 0) + GAP.length * (columns.length - 1);
    if (total > maxWidth) {
      widths[flex] = Math.max(MIN_FLEX_WIDTH, widths[flex]! - (total - maxWidth));
    }
  }
  const line = (row: readonly string[]) =>
    columns
      .map((column, i) => pad(truncate(row[i]!, widths[i]!), widths[i]!, column.align))
      .join(GAP)
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)];
}

/**
 * The width tables must fit: the terminal's, or `undefined` (no limit) when the output is not
 * a terminal (a pipe or a file gets whole titles).
 */
export function terminalWidth(sink: TextSink): number | undefined {
  if (sink.isTTY !== true) return undefined;
  const columns = sink.columns;
  return typeof columns === 'number' && Number.isFinite(columns) && columns > 0 ? columns : 80;
}

/**
 * Milliseconds as `h:mm:ss` (`0:04:05`, `12:00:00`); `–` when unknown.
 *
 * @example
 * ```ts
 * hms(245_000); // '0:04:05'
 * ```
 */
export function hms(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return '–';
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

/** An API date (epoch ms, or an ISO string as search results have) as epoch ms; `undefined` when none. */
export function epochOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value !== '') {
    const at = Date.parse(value);
    return Number.isNaN(at) ? undefined : at;
  }
  return undefined;
}

/**
 * A date in local time as `YYYY-MM-DD`; `–` when unknown.
 *
 * @example
 * ```ts
 * localDate(Date.UTC(2025, 0, 31, 12)); // '2025-01-31' (in most time zones)
 * ```
 */
export function localDate(value: unknown): string {
  const at = epochOf(value);
  if (at === undefined) return '–';
  const d = new Date(at);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/**
 * A byte count as `512 B`, `1.5 KiB`, `12.3 MiB`, `240 MiB`, `1.1 GiB`.
 *
 * @example
 * ```ts
 * byteSize(3 * 1024 * 1024); // '3.0 MiB'
 * ```
 */
export function byteSize(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** `yes`, `no`, or `–` when unknown. */
export function yesNo(value: unknown): string {
  return value === true ? 'yes' : value === false ? 'no' : '–';
}
