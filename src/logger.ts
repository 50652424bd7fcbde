/**
 * The logger vmpro-connect writes to. Pass pino, winston, bunyan or `console` as they are: the
 * library detects which argument order a logger expects. Without one, the auth handlers write
 * only errors — a `5xx` and why — to standard error ({@link errorsToStderr}). Fields never
 * contain tokens, codes, secrets or cookie values.
 *
 * Two conventions exist, and a logger of the wrong one type-checks but loses every field:
 * - message first, `(message, fields)`: winston, `console`, and this interface;
 * - fields first, `(fields, message)`: pino (and Fastify's `request.log`, which is pino) and bunyan.
 *
 * Fields-first loggers are recognised by their documented shape (pino: `levels.values` and
 * `bindings()`; bunyan: `levels()` and `streams`) and called in their order. For a wrapper the
 * detection cannot see, say so with {@link fieldsFirstLogger}.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * createVmproAuth({ ...config, logger: pino() });             // fields land in pino's JSON line
 * createVmproAuth({ ...config, logger: winston.createLogger({ transports: [...] }) });
 * createVmproAuth({ ...config, logger: console });
 * ```
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * A logger that takes its fields first, like pino and bunyan: `info({ code: 'X' }, 'message')`.
 *
 * @example
 * ```ts
 * const log: FieldsFirstLogger = pino();
 * ```
 */
export interface FieldsFirstLogger {
  debug(fields: Record<string, unknown>, message?: string): void;
  info(fields: Record<string, unknown>, message?: string): void;
  warn(fields: Record<string, unknown>, message?: string): void;
  error(fields: Record<string, unknown>, message?: string): void;
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

/** Marks loggers this module made, so that normalising twice wraps once. */
const NORMALISED = Symbol.for('vmpro-connect.logger');

/**
 * True for pino (any version: `levels.values`, `bindings()`, `child()`) and bunyan (`levels()`,
 * `streams`): the loggers that take fields first. winston also has `levels` and `child()`, but
 * its `levels` is a plain map of numbers and it has no `bindings()`.
 */
export function isFieldsFirstLogger(logger: unknown): boolean {
  if (typeof logger !== 'object' || logger === null) return false;
  const l = logger as Record<string, unknown>;
  const levels = l['levels'] as Record<string, unknown> | undefined;
  const pino =
    typeof l['child'] === 'function' &&
    typeof l['bindings'] === 'function' &&
    typeof levels === 'object' &&
    levels !== null &&
    typeof levels['values'] === 'object';
  const bunyan = typeof l['levels'] === 'function' && Array.isArray(l['streams']);
  return pino || bunyan;
}

/**
 * Wraps a fields-first logger (pino, bunyan, or a wrapper of either) as a {@link Logger}. Needed
 * only for loggers the automatic detection does not recognise; passing pino itself is enough.
 *
 * @example
 * ```ts
 * const logger = fieldsFirstLogger(myPinoWrapper);
 * createVmproAuth({ ...config, logger });
 * ```
 */
export function fieldsFirstLogger(logger: FieldsFirstLogger): Logger {
  if ((logger as unknown as Record<symbol, unknown>)[NORMALISED]) return logger as unknown as Logger;
  const wrapped = {
    [NORMALISED]: true,
    debug: (message: string, fields?: Record<string, unknown>) => logger.debug(fields ?? {}, message),
    info: (message: string, fields?: Record<string, unknown>) => logger.info(fields ?? {}, message),
    warn: (message: string, fields?: Record<string, unknown>) => logger.warn(fields ?? {}, message),
    error: (message: string, fields?: Record<string, unknown>) => logger.error(fields ?? {}, message),
  };
  return Object.freeze(wrapped);
}

/**
 * The library's view of whatever logger it was given: a fields-first logger (pino, bunyan) is
 * wrapped so that its fields arrive; a message-first one (winston, `console`, your own) is used
 * as it is. `undefined` gives `fallback`.
 *
 * @example
 * ```ts
 * const log = asLogger(options.logger, silentLogger);
 * log.info('session created', { session: tag });
 * ```
 */
export function asLogger(
  logger: Logger | FieldsFirstLogger | undefined,
  fallback: Logger = silentLogger,
): Logger {
  if (logger === undefined) return fallback;
  if (isFieldsFirstLogger(logger)) return fieldsFirstLogger(logger as FieldsFirstLogger);
  return logger as Logger;
}
