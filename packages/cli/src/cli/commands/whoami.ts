/** `vmpro whoami`: who the stored login belongs to, where, and until when. Never a token. */
import { type CliContext, clock, say } from '../context.js';
import { describeError, EXIT_CODES, exitCodeOf, guard, LOGIN_ENDED } from '../errors.js';
import { expiry, localTime, who } from '../format.js';
import { CliSession, isFresh, loginHasEnded } from '../session.js';

/**
 * Prints the user (sub, name, email, user name), the issuer and the token expiries of the stored
 * login. The file alone cannot tell whether the login server still knows the login, so when the
 * access token is due for a refresh, whoami refreshes it (as `vmpro token` would): a login ended
 * at the server is then reported as ended. Returns the exit code: 3 when there is no login or it
 * has ended, 4 when the login server could not be asked.
 *
 * @example
 * ```ts
 * await whoami({ env: process.env, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export function whoami(ctx: CliContext): Promise<number> {
  return guard(ctx, async () => {
    const session = await CliSession.load(ctx);
    let unchecked: unknown;
    if (!loginHasEnded(session.login, clock(ctx)) && !isFresh(session.login.tokens, clock(ctx))) {
      try {
        await session.validToken();
      } catch (error) {
        // An ended login is recorded in session.login (and the file) and reported below.
        if (!loginHasEnded(session.login, clock(ctx))) {
          if (exitCodeOf(error) === EXIT_CODES.notSignedIn) throw error;
          unchecked = error;
        }
      }
    }

    const { login } = session;
    const { tokens } = login;
    const claims = tokens.claims;
    const now = clock(ctx);
    const ended = loginHasEnded(login, now);
    const accessState =
      ended || isFresh(tokens, now)
        ? ''
        : unchecked === undefined
          ? ' — refreshed on next use'
          : ' — could not be refreshed now (see below)';
    const rows: [string, string | undefined][] = [
      ['user name', claims?.preferred_username],
      ['name', typeof claims?.name === 'string' ? claims.name : undefined],
      ['email', typeof claims?.email === 'string' ? claims.email : undefined],
      ['subject (sub)', claims?.sub],
      ['issuer', login.issuer],
      ['API base', login.apiBase],
      ['client', `${login.clientId} (${login.grant === 'password' ? 'password grant' : 'browser sign-in'})`],
      ['access token', `expires ${expiry(tokens.accessTokenExpiresAt, now)}${accessState}`],
      ['login', loginState(login, now)],
      ['credentials', session.path],
    ];
    say(ctx.stdout, ended ? `The login of ${who(claims)} has ended.` : `Signed in as ${who(claims)}`);
    for (const [label, value] of rows) {
      if (value !== undefined) say(ctx.stdout, `  ${`${label}:`.padEnd(15)} ${value}`);
    }
    if (ended) {
      say(ctx.stderr, LOGIN_ENDED);
      return EXIT_CODES.notSignedIn;
    }
    if (unchecked !== undefined) {
      say(ctx.stderr, 'Whether the login is still valid could not be checked:', ...describeError(unchecked));
      return exitCodeOf(unchecked);
    }
    return EXIT_CODES.ok;
  });
}

function loginState(login: CliSession['login'], now: number): string {
  if (login.endedAt !== undefined) {
    return `ended: the login server refused to renew it at ${localTime(Date.parse(login.endedAt))}; run \`vmpro login\` again`;
  }
  const ends = expiry(login.tokens.refreshTokenExpiresAt, now);
  return loginHasEnded(login, now)
    ? `ended ${ends}: run \`vmpro login\` again`
    : `ends ${ends} unless renewed by use`;
}
