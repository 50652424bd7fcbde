/**
 * `npm start`: runs the reference server from the environment, prints where to open it, and
 * stops cleanly on Ctrl-C.
 */
import { isVmproError } from '../errors.js';
import type { Logger } from '../logger.js';
import { startDemo } from './server.js';

const fieldsText = (fields?: Record<string, unknown>) =>
  fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';

/** Logs to the terminal; vmpro-connect never passes tokens, codes or secrets to a logger. */
export const terminalLogger: Logger = {
  debug: () => {},
  info: (m, f) => console.log(`${new Date().toISOString()} ${m}${fieldsText(f)}`),
  warn: (m, f) => console.warn(`${new Date().toISOString()} warning: ${m}${fieldsText(f)}`),
  error: (m, f) => console.error(`${new Date().toISOString()} error: ${m}${fieldsText(f)}`),
};

async function main(): Promise<void> {
  const demo = await startDemo({ logger: terminalLogger });
  for (const line of demo.banner) console.log(line);
  const stop = async () => {
    await demo.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (isVmproError(error)) console.error(`Cannot start the demo: ${error.message}`);
  else if ((error as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
    console.error(
      `Cannot start the demo: port ${process.env.PORT ?? 3000} is in use. Stop the other program or set PORT to a free port.`,
    );
  } else console.error('Cannot start the demo:', error);
  process.exit(1);
});
