/** `vmpro token`: prints a valid access token, and nothing else, on stdout. */
import { type CliContext, say } from '../context.js';
import { guard } from '../errors.js';
import { CliSession } from '../session.js';

export interface TokenOptions {
  /** Print `{"accessToken": "…", "expiresAt": "<ISO>"}` instead of the bare token. */
  json?: boolean;
}

/**
 * Prints a currently valid access token (refreshing the stored login when it has less than 30 s
 * left). Returns the exit code.
 *
 * @example
 * ```ts
 * await token({}, { env: process.env, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export function token(options: TokenOptions, ctx: CliContext): Promise<number> {
  return guard(ctx, async () => {
    const session = await CliSession.load(ctx);
    const { accessToken, expiresAt } = await session.validToken();
    if (options.json) {
      const at = expiresAt === null ? null : new Date(expiresAt).toISOString();
      say(ctx.stdout, JSON.stringify({ accessToken, expiresAt: at }));
    } else {
      say(ctx.stdout, accessToken);
    }
    return 0;
  });
}
