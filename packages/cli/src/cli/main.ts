#!/usr/bin/env node
/**
 * The `vmpro` executable: wires the process (argv, environment, terminal, signals) to
 * {@link runCli} and exits with its code.
 */
import { type CliContext, terminalPrompter } from './context.js';
import { describeError, exitCodeOf } from './errors.js';
import { runCli } from './program.js';

const stop = new AbortController();
let signals = 0;
const onSignal = () => {
  signals += 1;
  if (signals > 1) process.exit(130); // a second Ctrl-C: stop waiting for a clean shutdown
  stop.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const ctx: CliContext = {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: stop.signal,
  prompt: terminalPrompter(process.stdin, process.stderr),
};

runCli(process.argv.slice(2), ctx).then(
  (code) => finish(code),
  (error: unknown) => {
    process.stderr.write(`${describeError(error).join('\n')}\n`);
    finish(exitCodeOf(error));
  },
);

function finish(code: number): void {
  // Let buffered output reach a pipe before exiting (open sockets must not keep vmpro alive).
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
