/** `vmpro whoami`: who the stored login belongs to, where, and until when. Never a token. */
import { type CliContext, clock, say } from '../context.js';
import { guard } from '../errors.js';
import { expiry, who } from '../format.js';
import { CliSession, isFresh, loginHasEnded } from '../session.js';

/**
 * Prints the user (sub, name, email, user name), the issuer and the token expiries of the stored
 * login. Returns the exit code: 1 when there is no login or it has ended.
 *
 * @example
 * ```ts
 * await whoami({ env: process.env, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export function whoami(ctx: CliContext): Promise<number> {
  return guard(ctx, async () => {
    const session = await CliSession.load(ctx);
    const { login } = session;
    const { tokens } = login;
    const claims = tokens.claims;
    const now = clock(ctx);
    const accessState = isFresh(tokens, now) ? '' : ' — refreshed on next use';
    const rows: [string, string | undefined][] = [
      ['user name', claims?.preferred_username],
      ['name', typeof claims?.name === 'string' ? claims.name : undefined],
      ['email', typeof claims?.email === 'string' ? claims.email : undefined],
      ['subject (sub)', claims?.sub],
      ['issuer', login.issuer],
      ['API base', login.apiBase],
      ['client', `${login.clientId} (${login.grant === 'password' ? 'password grant' : 'browser sign-in'})`],
      ['access token', `expires ${expiry(tokens.accessTokenExpiresAt, now)}${accessState}`],
      [
        'login',
        loginHasEnded(tokens, now)
          ? `ended ${expiry(tokens.refreshTokenExpiresAt, now)}: run \`vmpro login\` again`
          : `ends ${expiry(tokens.refreshTokenExpiresAt, now)} unless renewed by use`,
      ],
      ['credentials', session.path],
    ];
    say(ctx.stdout, `Signed in as ${who(claims)}`);
    for (const [label, value] of rows) {
      if (value !== undefined) say(ctx.stdout, `  ${`${label}:`.padEnd(15)} ${value}`);
    }
    if (loginHasEnded(tokens, now)) {
      say(ctx.stderr, 'Your login has ended; run `vmpro login` again.');
      return 1;
    }
    return 0;
  });
}
