/**
 * How `vmpro` reports a failure: what went wrong, the likely cause and the fix, on stderr, with
 * an exit code that tells scripts which kind of failure it was ({@link EXIT_CODES}). Messages
 * never contain a token, code, secret or password.
 */

import { isVmproError, OAuthError } from 'vmpro-connect';
import { VmproApiError } from 'vmpro-connect/api';
import { type CliContext, say } from './context.js';

/**
 * `vmpro`'s exit codes. A script can tell "sign in again" (3) from "try again later" (4) and from
 * "fix the settings" (5) without reading the message.
 */
export const EXIT_CODES = {
  ok: 0,
  /** Anything else: the message says what went wrong. */
  failure: 1,
  /** The command line itself is wrong (unknown command, bad option or argument). */
  usage: 2,
  /** No stored login, or the login has ended (refresh token expired or refused). */
  notSignedIn: 3,
  /** The login server or the API is unreachable, timed out, or answered 5xx / 429. */
  unavailable: 4,
  /** A setting is wrong: API base, issuer, client id or secret. */
  config: 5,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The exit codes as `vmpro --help` lists them. */
export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  failure (the message says what went wrong; doctor: a check failed)
  2  usage error: unknown command, bad option or argument
  3  not signed in, or the login has ended: run \`vmpro login\`
  4  the login server or the API is unreachable, timed out or answered 5xx/429: try again later
  5  a setting is wrong (API base, issuer, client id or secret): see \`vmpro doctor\`
`;

/** A problem with the command line itself (exit code 2). */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose `--help` explains the usage. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the command has already worded for a person: the lines are printed as they are. */
export class CliFailure extends Error {
  readonly lines: string[];
  /** The exit code; {@link EXIT_CODES.failure} unless set with {@link CliFailure.withExitCode}. */
  exitCode: ExitCode = EXIT_CODES.failure;
  constructor(...lines: string[]) {
    super(lines.join('\n'));
    this.name = 'CliFailure';
    this.lines = lines;
  }

  /** This failure, exiting with `code`. */
  withExitCode(code: ExitCode): this {
    this.exitCode = code;
    return this;
  }
}

/** The message printed when the stored login can no longer be refreshed. */
export const LOGIN_ENDED = 'Your login has ended; run `vmpro login` again.';

/** Failure: the stored login can no longer be refreshed (exit code 3). */
export function loginEnded(): CliFailure {
  return new CliFailure(LOGIN_ENDED).withExitCode(EXIT_CODES.notSignedIn);
}

/** Failure: no usable credentials file (exit code 3). */
export function notSignedIn(path: string): CliFailure {
  return new CliFailure(
    `You are not signed in: there is no login in ${path}.`,
    'Run `vmpro login` first.',
  ).withExitCode(EXIT_CODES.notSignedIn);
}

function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The lines that explain `error` to a person. */
export function describeError(error: unknown): string[] {
  if (error instanceof CliFailure) return error.lines;
  if (error instanceof UsageError) {
    return [
      `Usage error: ${error.message}`,
      `Run \`vmpro ${error.command ? `${error.command} ` : ''}--help\` for the options and examples.`,
    ];
  }
  if (error instanceof VmproApiError) {
    const lines = [`The API answered HTTP ${error.status} to ${error.method} ${error.path}.`];
    if (error.apiMessage) lines.push(`Message: ${error.apiMessage}`);
    if (error.hint) lines.push(`Likely cause: ${error.hint}.`);
    if (error.retryAfter !== undefined) lines.push(`Retry after ${error.retryAfter} s.`);
    return lines;
  }
  if (isVmproError(error)) {
    if (error.code === 'VMPRO_REFRESH_EXPIRED') return [LOGIN_ENDED];
    const lines = [error.message];
    if (
      error instanceof OAuthError &&
      error.errorDescription &&
      !error.message.includes(error.errorDescription)
    ) {
      lines.push(`The login server said: ${error.error}: ${error.errorDescription}`);
    }
    // Some messages already say to try again later; say it once.
    if (error.retryAfter !== undefined) lines.push(`This may work again in ${error.retryAfter} s.`);
    else if (error.retryable && !/\blater\b/i.test(error.message)) lines.push('This may work again later.');
    lines.push(`(error code ${error.code})`);
    return lines;
  }
  switch (errnoCode(error)) {
    case 'EADDRINUSE':
      return [
        `The port is already in use (${(error as Error).message}).`,
        'Another program (maybe another `vmpro`) listens there: stop it, or choose another port.',
      ];
    case 'EACCES':
    case 'EPERM':
      return [
        `Permission denied: ${(error as Error).message}.`,
        'Ports below 1024 need privileges, and files need write access: choose another port or path.',
      ];
    case 'ENOSPC':
    case 'EROFS':
      return [
        `Cannot write: ${(error as Error).message}.`,
        'Free some space or set VMPRO_HOME to a writable folder.',
      ];
  }
  const message = error instanceof Error ? error.message : String(error);
  return [
    `Unexpected error: ${message}`,
    'This is probably a bug in vmpro; please report it with the command you ran.',
  ];
}

const CONFIG_OAUTH_ERRORS = new Set(['invalid_client', 'unauthorized_client']);

/** The exit code for `error` (see {@link EXIT_CODES}). */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof UsageError) return EXIT_CODES.usage;
  if (error instanceof CliFailure) return error.exitCode;
  if (error instanceof VmproApiError) {
    return error.status >= 500 || error.status === 429 ? EXIT_CODES.unavailable : EXIT_CODES.failure;
  }
  if (isVmproError(error)) {
    switch (error.code) {
      case 'VMPRO_REFRESH_EXPIRED':
      case 'VMPRO_NOT_AUTHENTICATED':
        return EXIT_CODES.notSignedIn;
      case 'VMPRO_UPSTREAM_UNAVAILABLE':
      case 'VMPRO_UPSTREAM_TIMEOUT':
        return EXIT_CODES.unavailable;
      // A discovery that may work later is an outage; one that never will is a wrong setting.
      case 'VMPRO_DISCOVERY_FAILED':
        return error.retryable ? EXIT_CODES.unavailable : EXIT_CODES.config;
      case 'VMPRO_CONFIG_INVALID':
      case 'VMPRO_ISSUER_MISMATCH':
        return EXIT_CODES.config;
      case 'VMPRO_TOKEN_ERROR':
        return error instanceof OAuthError && CONFIG_OAUTH_ERRORS.has(error.error)
          ? EXIT_CODES.config
          : EXIT_CODES.failure;
    }
  }
  return EXIT_CODES.failure;
}

/**
 * Runs a command body and turns what it throws into printed lines and an exit code
 * ({@link exitCodeOf}).
 */
export async function guard(ctx: CliContext, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    say(ctx.stderr, ...describeError(error));
    return exitCodeOf(error);
  }
}
