/**
 * How `vmpro` reports a failure: what went wrong, the likely cause and the fix, on stderr, with
 * exit code 1 (2 for a usage error). Messages never contain a token, code, secret or password.
 */
import { VmproApiError } from '../api/index.js';
import { isVmproError, OAuthError } from '../errors.js';
import { type CliContext, say } from './context.js';

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
  constructor(...lines: string[]) {
    super(lines.join('\n'));
    this.name = 'CliFailure';
    this.lines = lines;
  }
}

/** The message printed when the stored login can no longer be refreshed. */
export const LOGIN_ENDED = 'Your login has ended; run `vmpro login` again.';

/** Failure: no usable credentials file. */
export function notSignedIn(path: string): CliFailure {
  return new CliFailure(`You are not signed in: there is no login in ${path}.`, 'Run `vmpro login` first.');
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
    if (error.retryable) {
      lines.push(
        error.retryAfter !== undefined
          ? `This may work again in ${error.retryAfter} s.`
          : 'This may work again later.',
      );
    }
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

/**
 * Runs a command body and turns what it throws into printed lines and an exit code: 2 for a
 * usage error, 1 for anything else.
 */
export async function guard(ctx: CliContext, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    say(ctx.stderr, ...describeError(error));
    return error instanceof UsageError ? 2 : 1;
  }
}
