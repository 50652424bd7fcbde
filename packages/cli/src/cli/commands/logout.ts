/**
 * `vmpro logout`: revokes the refresh token at the login server (when it offers revocation),
 * deletes the credentials file, and tells how to end the browser's session too.
 */
import { type CliContext, clock, say } from '../context.js';
import { credentialsPath, deleteCredentials } from '../credentials.js';
import { describeError, guard } from '../errors.js';
import { expiry } from '../format.js';
import { CliSession } from '../session.js';

/**
 * Signs out. The local credentials are deleted even when the login server cannot be reached (and
 * the command says so). Returns the exit code.
 *
 * @example
 * ```ts
 * await logout({ env: process.env, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export function logout(ctx: CliContext): Promise<number> {
  return guard(ctx, async () => {
    let session: CliSession;
    try {
      session = await CliSession.load(ctx);
    } catch (error) {
      const path = credentialsPath(ctx.env);
      if (await deleteCredentials(path)) {
        say(ctx.stdout, `Deleted ${path} (it could not be read: ${describeError(error)[0]}).`);
        return 0;
      }
      say(ctx.stdout, `You are not signed in (there is no ${path}); nothing to do.`);
      return 0;
    }
    const { tokens } = session.login;
    let endSessionUrl: URL | null = null;
    try {
      const client = await session.oidc();
      if (tokens.refreshToken) {
        const revoked = await client.revoke(tokens.refreshToken, 'refresh_token', { signal: ctx.signal });
        say(
          ctx.stdout,
          revoked
            ? 'Revoked the login at the login server.'
            : 'The login server offers no token revocation; the login stays valid there until it expires.',
        );
      }
      // No id_token_hint: the URL is printed, and a token has no place in a terminal's scrollback.
      if (session.login.grant === 'authorization_code') endSessionUrl = client.buildEndSessionUrl({});
    } catch (error) {
      say(
        ctx.stderr,
        `Could not revoke the login at the login server: ${describeError(error)[0]}`,
        `The local credentials are deleted anyway; the login stays valid at the server until ${expiry(tokens.refreshTokenExpiresAt, clock(ctx))}.`,
      );
    }
    await deleteCredentials(session.path);
    say(ctx.stdout, `Signed out: deleted ${session.path}.`);
    if (endSessionUrl) {
      say(ctx.stdout, `To sign out in your browser too, open: ${endSessionUrl.href}`);
    }
    return 0;
  });
}
