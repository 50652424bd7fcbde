/** `vmpro dev`: runs the demo app (the same as `npm start`) until Ctrl-C. */
import { startDemo } from '../../demo/server.js';
import { type CliContext, say, terminalLogger, untilAborted } from '../context.js';
import { guard } from '../errors.js';

/**
 * Starts the reference server from the environment (see the README's table), prints its banner,
 * and stops when `ctx.signal` aborts. Returns the exit code.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * const done = dev({ env: { PORT: '0' }, stdout, stderr, signal: stop.signal });
 * ```
 */
export function dev(ctx: CliContext): Promise<number> {
  return guard(ctx, async () => {
    const demo = await startDemo({ env: { ...ctx.env }, logger: terminalLogger(ctx) });
    say(ctx.stdout, ...demo.banner, 'Stop with Ctrl-C.');
    await untilAborted(ctx.signal);
    await demo.close();
    say(ctx.stdout, 'Demo stopped.');
    return 0;
  });
}
