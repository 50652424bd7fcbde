import { Console } from 'node:console';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { VmproError } from './errors.js';
import { createVmproAuth, type VmproAuth } from './http/index.js';
import { asLogger, fieldsFirstLogger, isFieldsFirstLogger, type Logger } from './logger.js';

/** One log call as the logger itself would record it. */
interface Line {
  level: string;
  msg: string | undefined;
  fields: Record<string, unknown>;
}

/**
 * A fake with pino's documented shape and signature: `logger.info([mergingObject], [message],
 * [...interpolationValues])`, `levels.values`/`levels.labels`, `bindings()`, `child()`. Like
 * pino it reads its own state through `this`, and a string first argument is the message (an
 * extra object argument is an interpolation value, not fields: without `%o` it is dropped).
 */
function fakePino() {
  const lines: Line[] = [];
  const make = (level: string) =>
    function (this: { lines: Line[] }, first: unknown, second?: unknown) {
      if (typeof first === 'string') this.lines.push({ level, msg: first, fields: {} });
      else this.lines.push({ level, msg: second as string | undefined, fields: { ...(first as object) } });
    };
  return {
    lines,
    levels: { values: { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 }, labels: {} },
    level: 'debug',
    bindings: () => ({}),
    child() {
      return this;
    },
    trace: make('trace'),
    debug: make('debug'),
    info: make('info'),
    warn: make('warn'),
    error: make('error'),
    fatal: make('fatal'),
  };
}

/** A fake with winston's shape and signature: `logger.info(message, ...meta)`, `levels` a map of numbers, `child()`. */
function fakeWinston() {
  const lines: Line[] = [];
  const make = (level: string) =>
    function (this: { lines: Line[] }, message: string, meta?: Record<string, unknown>) {
      this.lines.push({ level, msg: message, fields: { ...meta } });
    };
  return {
    lines,
    levels: { error: 0, warn: 1, info: 2, http: 3, verbose: 4, debug: 5, silly: 6 },
    level: 'debug',
    child() {
      return this;
    },
    debug: make('debug'),
    info: make('info'),
    warn: make('warn'),
    error: make('error'),
  };
}

/** A fake with bunyan's shape: `levels()` a function, `streams` an array, `info(fields, message)`. */
function fakeBunyan() {
  const pino = fakePino();
  const { levels: _levels, bindings: _bindings, ...rest } = pino;
  return { ...rest, levels: () => [30], streams: [] as unknown[] };
}

/** A real `console` writing into a buffer. */
function bufferedConsole(): { console: Console; output(): string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { console: new Console({ stdout: out, stderr: out }), output: () => text };
}

let auth: VmproAuth | undefined;
afterEach(async () => {
  await auth?.close();
  auth = undefined;
});

/** Makes an auth instance with `logger` and has it answer one refused request (logged at info). */
function refuseOneRequest(logger: unknown, instance: string): void {
  auth = createVmproAuth({
    issuer: 'http://127.0.0.1:9/auth/realms/platform',
    clientId: 'logger-app',
    clientSecret: 'logger-app-secret',
    redirectUri: 'http://127.0.0.1:3000/auth/callback',
    session: { secrets: ['logger-test-secret-0123456789abcdefghij'] },
    logger: logger as Logger,
    instance,
  });
  auth.errorResponse(
    new Request('http://127.0.0.1:3000/x', { headers: { accept: 'application/json' } }),
    new VmproError('VMPRO_STATE_MISMATCH', 'The state does not match.'),
  );
}

describe('loggers as they are: pino, winston, bunyan, console', () => {
  it('gives pino the fields as its first argument and the message second', () => {
    const pino = fakePino();
    refuseOneRequest(pino, 'pino');
    expect(pino.lines).toContainEqual({
      level: 'info',
      msg: 'vmpro-connect: request refused',
      fields: { code: 'VMPRO_STATE_MISMATCH', status: 400 },
    });
  });

  it('without the detection, pino would have dropped every field (what the wrapper fixes)', () => {
    const pino = fakePino();
    (pino as unknown as Logger).info('vmpro-connect: request refused', { code: 'VMPRO_STATE_MISMATCH' });
    expect(pino.lines[0]?.fields).toEqual({});
    asLogger(pino as unknown as Logger).info('vmpro-connect: request refused', {
      code: 'VMPRO_STATE_MISMATCH',
    });
    expect(pino.lines[1]?.fields).toEqual({ code: 'VMPRO_STATE_MISMATCH' });
  });

  it('gives winston the message first and the fields as meta', () => {
    const winston = fakeWinston();
    refuseOneRequest(winston, 'winston');
    expect(winston.lines).toContainEqual({
      level: 'info',
      msg: 'vmpro-connect: request refused',
      fields: { code: 'VMPRO_STATE_MISMATCH', status: 400 },
    });
  });

  it('gives bunyan the fields first', () => {
    const bunyan = fakeBunyan();
    refuseOneRequest(bunyan, 'bunyan');
    expect(bunyan.lines).toContainEqual({
      level: 'info',
      msg: 'vmpro-connect: request refused',
      fields: { code: 'VMPRO_STATE_MISMATCH', status: 400 },
    });
  });

  it('prints message and fields with a real console', () => {
    const { console, output } = bufferedConsole();
    refuseOneRequest(console, 'console');
    expect(output()).toContain('vmpro-connect: request refused');
    expect(output()).toContain("code: 'VMPRO_STATE_MISMATCH'");
  });

  it('tells the conventions apart by shape, and uses message-first loggers unwrapped', () => {
    expect(isFieldsFirstLogger(fakePino())).toBe(true);
    expect(isFieldsFirstLogger(fakeBunyan())).toBe(true);
    expect(isFieldsFirstLogger(fakeWinston())).toBe(false);
    expect(isFieldsFirstLogger(console)).toBe(false);
    expect(asLogger(console)).toBe(console);
    const winston = fakeWinston();
    expect(asLogger(winston)).toBe(winston);
  });

  it('wraps a fields-first logger the detection cannot see, when told with fieldsFirstLogger', () => {
    const lines: Line[] = [];
    const wrapper = {
      debug: (fields: Record<string, unknown>, msg?: string) => lines.push({ level: 'debug', msg, fields }),
      info: (fields: Record<string, unknown>, msg?: string) => lines.push({ level: 'info', msg, fields }),
      warn: (fields: Record<string, unknown>, msg?: string) => lines.push({ level: 'warn', msg, fields }),
      error: (fields: Record<string, unknown>, msg?: string) => lines.push({ level: 'error', msg, fields }),
    };
    const logger = fieldsFirstLogger(wrapper);
    logger.warn('store slow', { ms: 12 });
    logger.error('no fields');
    expect(lines).toEqual([
      { level: 'warn', msg: 'store slow', fields: { ms: 12 } },
      { level: 'error', msg: 'no fields', fields: {} },
    ]);
    expect(asLogger(logger)).toBe(logger);
    expect(fieldsFirstLogger(logger as never)).toBe(logger);
  });
});
