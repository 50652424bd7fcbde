/**
 * The logger vmpro-connect writes to. Pass one (pino, winston, `console`) to see what it does.
 * Without one, the auth handlers write only errors — a `5xx` and why — to standard error
 * ({@link errorsToStderr}). Fields never contain tokens, codes, secrets or cookie values.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything: the default. */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/**
 * The auth handlers' default: errors (an upstream that is down, a bug in a route, with its
 * message and stack) as one line each on standard error; nothing else. A `500` that nobody
 * can see the cause of is the worst thing a newcomer meets.
 */
export const errorsToStderr: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error(message: string, fields?: Record<string, unknown>) {
    const { stack, ...rest } = fields ?? {};
    const details = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    process.stderr.write(`${message}${details}\n${typeof stack === 'string' ? `${stack}\n` : ''}`);
  },
});
