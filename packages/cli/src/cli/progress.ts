/**
 * The upload progress display: on a terminal a bar redrawn in place (bytes, percent, rate); on
 * anything else one plain line, so that logs of scripts and CI jobs stay readable.
 */
import type { TextSink } from './context.js';
import { byteSize, clean, truncate } from './table.js';

/** What an upload reports to its display. */
export interface ProgressDisplay {
  /** `sent` of `total` bytes have been accepted by the upload server. */
  update(sent: number): void;
  /** The upload is complete: draws the final state and ends the line. */
  finish(): void;
  /** The upload stopped: ends the line where the bar stood, so the error starts on its own line. */
  abort(): void;
}

export interface ProgressOptions {
  /** What is uploaded (the file name). */
  label: string;
  total: number;
  /** Number of chunks, for the plain line. */
  chunks: number;
  /** Clock in epoch ms (the rate is measured with it). */
  now: () => number;
  /** `bar` on a terminal, `plain` elsewhere, `none` for `--json`. Default: from `sink.isTTY`. */
  mode?: 'bar' | 'plain' | 'none' | undefined;
}

/** Redraws of the bar are at least this far apart (the last one is always drawn). */
export const REDRAW_INTERVAL_MS = 100;
const ERASE_TO_END_OF_LINE = '\u001b[K';

/** The bar as text: `[████░░░░]`. */
export function bar(fraction: number, cells: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * cells);
  return `[${'█'.repeat(filled)}${'░'.repeat(cells - filled)}]`;
}

/**
 * One frame of the bar, fitted to `columns`: `talk.mp4 [████░░░░]   42 %  1.3 MiB / 3.0 MiB  2.1 MiB/s`.
 * On a narrow terminal the file name goes first, then the rate, then the bar.
 */
export function progressLine(
  label: string,
  sent: number,
  total: number,
  bytesPerSecond: number | undefined,
  columns: number,
): string {
  const fraction = total > 0 ? sent / total : 1;
  const percent = `${String(Math.floor(fraction * 100)).padStart(3)} %`;
  const amounts = `${byteSize(sent)} / ${byteSize(total)}`;
  const rate = bytesPerSecond === undefined ? '' : `  ${byteSize(bytesPerSecond)}/s`;
  // One column short of the width: writing the last column makes some terminals wrap.
  const width = columns - 1;
  const name = clean(label);
  const variants = [
    { name: true, rate: true, minCells: 10 },
    { name: false, rate: true, minCells: 10 },
    { name: false, rate: false, minCells: 5 },
  ];
  for (const variant of variants) {
    const numbers = `  ${percent}  ${amounts}${variant.rate ? rate : ''}`;
    let room = width - numbers.length - 2; // the bar's brackets
    let prefix = '';
    if (variant.name) {
      // The name gets at most a third of the room, so that the bar stays the larger part.
      const shown = truncate(name, Math.min(24, Math.floor((room - 1) / 3)));
      if ([...shown].length < 4) continue;
      prefix = `${shown} `;
      room -= [...prefix].length;
    }
    if (room < variant.minCells) continue;
    return `${prefix}${bar(fraction, Math.min(40, room))}${numbers}`;
  }
  const plain = `${percent}  ${amounts}`;
  return plain.length <= width ? plain : percent;
}

/**
 * The display for an upload to `sink` (stderr). On a terminal (`sink.isTTY`) it draws a bar at
 * once and redraws it in place with `\r` as chunks are accepted, at most every
 * {@link REDRAW_INTERVAL_MS}, always at 100 %, and ends with a newline; elsewhere it writes
 * one line saying what is uploaded, and nothing more.
 *
 * @example
 * ```ts
 * const display = uploadProgress(process.stderr, { label: 'talk.mp4', total: file.size, chunks: 3, now: Date.now });
 * await api.videos.upload(vmId, id, file, { onProgress: (sent) => display.update(sent) });
 * display.finish();
 * ```
 */
export function uploadProgress(sink: TextSink, options: ProgressOptions): ProgressDisplay {
  const mode = options.mode ?? (sink.isTTY === true ? 'bar' : 'plain');
  const { label, total, now } = options;
  if (mode === 'none') return { update() {}, finish() {}, abort() {} };
  if (mode === 'plain') {
    sink.write(
      `Uploading ${clean(label)} (${byteSize(total)}, ${options.chunks} chunk${options.chunks === 1 ? '' : 's'})…\n`,
    );
    return { update() {}, finish() {}, abort() {} };
  }

  const started = now();
  let sent = 0;
  let drawnSent = -1;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let open = true;
  const draw = () => {
    const at = now();
    const seconds = (at - started) / 1000;
    const rate = sent > 0 && seconds > 0 ? sent / seconds : undefined;
    const columns = typeof sink.columns === 'number' && sink.columns > 0 ? sink.columns : 80;
    sink.write(`\r${progressLine(label, sent, total, rate, columns)}${ERASE_TO_END_OF_LINE}`);
    drawnSent = sent;
    lastDraw = at;
  };
  draw();
  return {
    update(value) {
      if (!open) return;
      sent = Math.min(total, Math.max(sent, value));
      if (sent === total || now() - lastDraw >= REDRAW_INTERVAL_MS) draw();
    },
    finish() {
      if (!open) return;
      open = false;
      sent = total;
      if (drawnSent !== total) draw();
      sink.write('\n');
    },
    abort() {
      if (!open) return;
      open = false;
      sink.write('\n');
    },
  };
}
