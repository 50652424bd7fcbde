/**
 * What every `vmpro` command gets from its caller: the environment, where to print, and the few
 * side doors (network, terminal prompts, browser, clock) that tests replace.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'vmpro-connect';
import { CliFailure } from './errors.js';

/** Something text can be written to (`process.stdout`, or a buffer in tests). */
export interface TextSink {
  write(text: string): unknown;
  /** True for a terminal: tables fit its width, uploads draw a progress bar (`process.stdout` has it). */
  isTTY?: boolean | undefined;
  /** The terminal's width in characters, when it is one. */
  columns?: number | undefined;
}

/** Asks the person at the terminal for a value. */
export interface Prompter {
  /** Shows `label` and resolves to the answer; with `secret` the answer is not echoed. */
  question(label: string, options?: { secret?: boolean }): Promise<string>;
}

/** The caller's side of a command: environment, output and replaceable I/O. */
export interface CliContext {
  env: Readonly<Record<string, string | undefined>>;
  stdout: TextSink;
  stderr: TextSink;
  /** Used for every network call; default the global `fetch`. */
  fetch?: typeof fetch;
  /** Aborted on Ctrl-C / SIGTERM: long-running commands stop, waits end. */
  signal?: AbortSignal;
  /** Asks for a user name or password; absent when nobody can answer (no terminal). */
  prompt?: Prompter;
  /** Opens a URL in the browser (`login --open`); default `xdg-open` / `open` / `start`. */
  openUrl?: (url: string) => Promise<void>;
  /** The clock, epoch ms; default `Date.now`. */
  now?: () => number;
}

/** `ctx.now()` or `Date.now()`. */
export function clock(ctx: CliContext): number {
  return (ctx.now ?? Date.now)();
}

/** Writes lines (each followed by a newline). */
export function say(sink: TextSink, ...lines: string[]): void {
  for (const line of lines) sink.write(`${line}\n`);
}

/** A logger for long-running commands: info to stdout, warnings and errors to stderr, no debug. */
export function terminalLogger(ctx: CliContext): Logger {
  const fieldsText = (fields?: Record<string, unknown>) =>
    fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
  const stamp = () => new Date(clock(ctx)).toISOString();
  return {
    debug: () => {},
    info: (m, f) => say(ctx.stdout, `${stamp()} ${m}${fieldsText(f)}`),
    warn: (m, f) => say(ctx.stderr, `${stamp()} warning: ${m}${fieldsText(f)}`),
    error: (m, f) => say(ctx.stderr, `${stamp()} error: ${m}${fieldsText(f)}`),
  };
}

/** Resolves when `signal` aborts (never, without a signal). */
export function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return;
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Opens a URL with the platform's opener; rejects when it cannot be started. */
export function openInBrowser(url: string): Promise<void> {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
        : ['xdg-open', [url]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.once('error', reject);
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}

/**
 * Prompts on the process's terminal. Secrets are read in raw mode without echo; without a
 * terminal (input piped in), one line is read per question.
 */
export function terminalPrompter(input: NodeJS.ReadStream, output: NodeJS.WriteStream): Prompter {
  let lines: AsyncIterator<string> | undefined;
  const nextLine = async (): Promise<string> => {
    lines ??= createInterface({ input, terminal: false })[Symbol.asyncIterator]();
    const next = await lines.next();
    if (next.done) {
      throw new CliFailure(
        'The input ended before an answer was given.',
        'Run in a terminal, or pass --username and set VMPRO_PASSWORD.',
      );
    }
    return next.value;
  };
  return {
    async question(label, options = {}) {
      // Piped input (a script): read the line without printing a prompt nobody sees.
      if (!input.isTTY) return nextLine();
      output.write(label);
      if (!options.secret) {
        const rl = createInterface({ input, output, terminal: true });
        try {
          return await new Promise<string>((resolve) => rl.question('', resolve));
        } finally {
          rl.close();
        }
      }
      return readSecret(input, output);
    },
  };
}

function readSecret(input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    const done = (error?: Error) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new CliFailure('Sign-in cancelled.'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    input.on('data', onData);
  });
}
