/**
 * The credentials file of `vmpro login`: `$VMPRO_HOME/credentials.json` (default
 * `~/.vmpro/credentials.json`), folder 0700, file 0600, always replaced atomically (temp file +
 * rename) so that a crash or a concurrent reader never sees half a file.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { TokenSet } from 'vmpro-connect';
import { CliFailure } from './errors.js';

/** What `vmpro login` stores. Tokens and the client secret are secrets: the file is 0600. */
export interface StoredLogin {
  version: 1;
  /** API origin the login is for. */
  apiBase: string;
  /** The issuer discovered at login (WebFinger is skipped afterwards). */
  issuer: string;
  clientId: string;
  /** Only when one was given at login (needed to refresh with a confidential client). */
  clientSecret?: string;
  /** How the login was obtained. */
  grant: 'authorization_code' | 'password';
  tokens: TokenSet;
  /**
   * ISO time at which the login server refused to refresh the login (`invalid_grant`: ended
   * there, e.g. logged out or idle too long). Set once; `vmpro login` writes a new file.
   */
  endedAt?: string;
  /** ISO time of the last write. */
  savedAt: string;
}

/** `$VMPRO_HOME`, or `~/.vmpro`. */
export function vmproHome(env: Readonly<Record<string, string | undefined>>): string {
  const home = env.VMPRO_HOME?.trim();
  return home ? resolve(home) : join(homedir(), '.vmpro');
}

/** Where the credentials file lives. */
export function credentialsPath(env: Readonly<Record<string, string | undefined>>): string {
  return join(vmproHome(env), 'credentials.json');
}

function malformed(path: string, problem: string): CliFailure {
  return new CliFailure(
    `The credentials file ${path} cannot be used: ${problem}.`,
    'It was probably edited by hand or written by another program. Run `vmpro login` to replace it.',
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads the credentials file; `null` when there is none. Throws a {@link CliFailure} when it is malformed. */
export async function readCredentials(path: string): Promise<StoredLogin | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw malformed(path, 'it is not JSON');
  }
  if (!isObject(data) || data.version !== 1)
    throw malformed(path, 'it is not a vmpro credentials file (version 1)');
  for (const field of ['apiBase', 'issuer', 'clientId'] as const) {
    if (typeof data[field] !== 'string' || data[field] === '') throw malformed(path, `"${field}" is missing`);
  }
  const tokens = data.tokens;
  if (!isObject(tokens) || typeof tokens.accessToken !== 'string')
    throw malformed(path, 'it holds no tokens');
  if (data.grant !== 'authorization_code' && data.grant !== 'password')
    throw malformed(path, '"grant" is unknown');
  if (data.endedAt !== undefined && typeof data.endedAt !== 'string')
    throw malformed(path, '"endedAt" is not a time');
  return data as unknown as StoredLogin;
}

/**
 * Writes the credentials file atomically: the folder is created with mode 0700, the content goes
 * to a temp file (0600) in the same folder, is flushed to disk, and is renamed over the old file.
 */
export async function writeCredentials(path: string, login: StoredLogin): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.credentials.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  try {
    try {
      await handle.chmod(0o600); // exact, whatever the umask
      await handle.writeFile(`${JSON.stringify(login, null, 2)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}

/** Deletes the credentials file; `false` when there was none. */
export async function deleteCredentials(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** The permission bits of a file (e.g. `0o600`), or `null` when it does not exist. */
export async function fileMode(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Sets a file's mode to 0600 (the fix `vmpro doctor` suggests). */
export async function restrictMode(path: string): Promise<void> {
  await chmod(path, 0o600);
}

const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 20_000;

/**
 * Runs `body` while holding `<path>.lock` (created exclusively), so that two `vmpro` processes
 * never refresh the same login at once. A lock older than 30 s is taken as left over by a crash.
 */
export async function withCredentialsLock<T>(path: string, body: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const started = Date.now();
  let delay = 20;
  for (;;) {
    try {
      const handle = await open(lock, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > LOCK_STALE_MS) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() - started > LOCK_WAIT_MS) {
        throw new CliFailure(
          `Another vmpro process has been refreshing the login for more than ${LOCK_WAIT_MS / 1000} s (lock file ${lock}).`,
          'Wait for it to finish; if no vmpro is running, delete the lock file.',
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 250);
    }
  }
  try {
    return await body();
  } finally {
    await rm(lock, { force: true });
  }
}
