/**
 * The upload progress display and the table helpers, on their own: what a terminal and a pipe
 * receive, frame by frame, with a clock the test moves.
 */
import { describe, expect, it } from 'vitest';
import { progressLine, REDRAW_INTERVAL_MS, uploadProgress } from './progress.js';
import { byteSize, hms, localDate, MIN_FLEX_WIDTH, renderTable, terminalWidth, truncate } from './table.js';

function fakeTerminal(columns: number) {
  const sink = { text: '', isTTY: true, columns, write: (s: string) => (sink.text += s) };
  return sink;
}

const MiB = 1024 * 1024;

describe('the progress bar on a terminal', () => {
  it('draws 0 % at once, redraws in place with \\r, reaches 100 % and ends with a newline', () => {
    const tty = fakeTerminal(80);
    let now = 1_000;
    const display = uploadProgress(tty, { label: 'talk.mp4', total: 4 * MiB, chunks: 4, now: () => now });
    for (let chunk = 1; chunk <= 4; chunk++) {
      now += 500;
      display.update(chunk * MiB);
    }
    display.finish();
    const frames = tty.text.slice(0, -1).split('\r').filter(Boolean);
    expect(tty.text.startsWith('\r')).toBe(true);
    expect(tty.text.endsWith('\n')).toBe(true);
    expect(tty.text.split('\n')).toHaveLength(2);
    expect(frames.map((f) => /(\d+) %/.exec(f)![1])).toEqual(['0', '25', '50', '75', '100']);
    // 4 MiB in 2 s.
    expect(frames.at(-1)).toContain('100 %  4.0 MiB / 4.0 MiB  2.0 MiB/s');
  });

  it('redraws at most every 100 ms, but always draws 100 %', () => {
    const tty = fakeTerminal(80);
    let now = 0;
    const display = uploadProgress(tty, { label: 'a.mp4', total: 100, chunks: 100, now: () => now });
    for (let sent = 1; sent <= 100; sent++) {
      now += 10;
      display.update(sent);
    }
    display.finish();
    const frames = tty.text.split('\r').filter(Boolean);
    // 0 %, then one frame per 100 ms over 1 s, the last of them at 100 %.
    expect(frames.length).toBe(1 + (100 * 10) / REDRAW_INTERVAL_MS);
    expect(frames.at(-1)).toMatch(/100 %.*\n$/);
  });

  it('finish() draws 100 % even when the last update was not seen', () => {
    const tty = fakeTerminal(80);
    const display = uploadProgress(tty, { label: 'a.mp4', total: 10, chunks: 1, now: () => 0 });
    display.finish();
    expect(tty.text).toMatch(/100 % {2}10 B \/ 10 B\u001b\[K\n$/);
  });

  it('abort() ends the line where the bar stood, and later calls write nothing', () => {
    const tty = fakeTerminal(80);
    let now = 0;
    const display = uploadProgress(tty, { label: 'a.mp4', total: 10, chunks: 2, now: () => now });
    now = 500;
    display.update(5);
    display.abort();
    const written = tty.text;
    expect(written).toMatch(/ 50 % .*\n$/);
    display.update(10);
    display.finish();
    expect(tty.text).toBe(written);
  });

  it('fits narrow terminals: the file name shortens and goes first, then the rate, then the bar', () => {
    const line = (columns: number) =>
      progressLine('a-very-long-file-name-of-a-recording.mp4', 3 * MiB, 10 * MiB, 2 * MiB, columns);
    for (const columns of [120, 80, 60, 50, 40, 30, 20]) {
      expect([...line(columns)].length).toBeLessThan(columns);
      expect(line(columns)).toContain('30 %');
    }
    expect(line(120)).toBe(
      `a-very-long-file-name-o… [${'█'.repeat(12)}${'░'.repeat(28)}]   30 %  3.0 MiB / 10.0 MiB  2.0 MiB/s`,
    );
    expect(line(60)).toMatch(/^a-ver… \[█+░+\] {3}30 %.*2\.0 MiB\/s$/);
    expect(line(50)).toMatch(/^\[█+░+\] {3}30 % {2}3\.0 MiB \/ 10\.0 MiB$/);
    expect(line(40)).toMatch(/^\[█+░+\] {3}30 % {2}3\.0 MiB \/ 10\.0 MiB$/);
    expect(line(30)).toBe(' 30 %  3.0 MiB / 10.0 MiB');
    expect(line(20)).toBe(' 30 %');
  });
});

describe('the progress display elsewhere', () => {
  it('not on a terminal: one plain line, no \\r and no escape sequences', () => {
    const pipe = { text: '', write: (s: string) => (pipe.text += s) };
    let now = 0;
    const display = uploadProgress(pipe, { label: 'talk.mp4', total: 3 * MiB, chunks: 3, now: () => now });
    for (let chunk = 1; chunk <= 3; chunk++) {
      now += 1000;
      display.update(chunk * MiB);
    }
    display.finish();
    expect(pipe.text).toBe('Uploading talk.mp4 (3.0 MiB, 3 chunks)…\n');
  });

  it("mode 'none' (for --json) writes nothing, even to a terminal", () => {
    const tty = fakeTerminal(80);
    const display = uploadProgress(tty, { label: 'a.mp4', total: 10, chunks: 1, now: () => 0, mode: 'none' });
    display.update(10);
    display.finish();
    expect(tty.text).toBe('');
  });
});

describe('tables and values', () => {
  it('aligns columns and shrinks only the flexible one to fit, cutting with …', () => {
    const lines = renderTable(
      [{ header: 'ID' }, { header: 'TITLE', flex: true }, { header: 'DURATION', align: 'right' }],
      [
        ['a1', 'A title that is much too long for the terminal', '0:01:02'],
        ['b2', 'Short', '12:00:00'],
      ],
      40,
    );
    expect(lines).toEqual([
      `ID  ${'TITLE'.padEnd(26)}  DURATION`,
      `a1  ${'A title that is much too…'.padEnd(26)}   0:01:02`,
      `b2  ${'Short'.padEnd(26)}  12:00:00`,
    ]);
  });

  it('never shrinks the flexible column below its minimum (the line overflows instead)', () => {
    const [, row] = renderTable(
      [{ header: 'T', flex: true }, { header: 'X' }],
      [['x'.repeat(50), 'y'.repeat(30)]],
      20,
    );
    expect(row!.startsWith(`${'x'.repeat(MIN_FLEX_WIDTH - 1)}…  `)).toBe(true);
  });

  it('replaces control characters in cells by spaces', () => {
    const [, row] = renderTable([{ header: 'T' }], [['a\u001b[2Jb\r\nc']]);
    expect(row).toBe('a [2Jb c');
  });

  it('fits a terminal only: a pipe has no width limit', () => {
    expect(terminalWidth({ write() {}, isTTY: true, columns: 132 })).toBe(132);
    expect(terminalWidth({ write() {} })).toBeUndefined();
  });

  it('formats durations as h:mm:ss, dates as YYYY-MM-DD, sizes in binary units', () => {
    expect(hms(0)).toBe('0:00:00');
    expect(hms(245_000)).toBe('0:04:05');
    expect(hms(3_600_000 * 12 + 61_000)).toBe('12:01:01');
    expect(hms(null)).toBe('–');
    expect(localDate(new Date(2025, 0, 31, 12).getTime())).toBe('2025-01-31');
    expect(localDate(new Date(2025, 0, 31, 12).toISOString())).toBe('2025-01-31');
    expect(localDate(undefined)).toBe('–');
    expect(byteSize(512)).toBe('512 B');
    expect(byteSize(1536)).toBe('1.5 KiB');
    expect(byteSize(250 * MiB)).toBe('250 MiB');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
  });
});
