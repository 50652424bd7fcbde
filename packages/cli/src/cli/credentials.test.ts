import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  credentialsPath,
  deleteCredentials,
  readCredentials,
  type StoredLogin,
  vmproHome,
  withCredentialsLock,
  writeCredentials,
} from './credentials.js';
import { CliFailure } from './errors.js';

function sampleLogin(accessToken = 'access-1'): StoredLogin {
  return {
    version: 1,
    apiBase: 'http://127.0.0.1:4000',
    issuer: 'http://127.0.0.1:4000/auth/realms/platform',
    clientId: 'anonymous',
    grant: 'password',
    tokens: {
      accessToken,
      tokenType: 'Bearer',
      accessTokenExpiresAt: 1_000_000,
      refreshToken: 'refresh-1',
      refreshTokenExpiresAt: 2_000_000,
      idToken: null,
      claims: null,
      scope: 'openid',
      sessionState: null,
      receivedAt: 0,
    },
    savedAt: new Date(0).toISOString(),
  };
}

let home: string;
let path: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'vmpro-cred-'));
  path = credentialsPath({ VMPRO_HOME: join(home, 'vmpro') });
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('where the credentials live', () => {
  it('is $VMPRO_HOME/credentials.json', () => {
    expect(credentialsPath({ VMPRO_HOME: '/x/y' })).toBe('/x/y/credentials.json');
  });

  it('defaults to ~/.vmpro when VMPRO_HOME is unset', () => {
    expect(vmproHome({})).toMatch(/[/\\]\.vmpro$/);
  });
});

describe('writing the credentials file', () => {
  it('creates the folder with mode 0700 and the file with mode 0600', async () => {
    await writeCredentials(path, sampleLogin());
    expect((await stat(join(home, 'vmpro'))).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('reads back what was written', async () => {
    await writeCredentials(path, sampleLogin());
    expect(await readCredentials(path)).toEqual(sampleLogin());
  });

  it('replaces the file by rename (a new inode), leaving no temp file behind', async () => {
    await writeCredentials(path, sampleLogin('access-1'));
    const before = await stat(path);
    await writeCredentials(path, sampleLogin('access-2'));
    const after = await stat(path);
    expect(after.ino).not.toBe(before.ino);
    expect((await readCredentials(path))?.tokens.accessToken).toBe('access-2');
    expect(await readdir(join(home, 'vmpro'))).toEqual(['credentials.json']);
  });

  it('keeps the old file whole when a write fails, and cleans up its temp file', async () => {
    await writeCredentials(path, sampleLogin('access-1'));
    const broken = { ...sampleLogin('access-2'), extra: 1n } as unknown as StoredLogin; // BigInt: JSON fails
    await expect(writeCredentials(path, broken)).rejects.toThrow();
    expect((await readCredentials(path))?.tokens.accessToken).toBe('access-1');
    expect(await readdir(join(home, 'vmpro'))).toEqual(['credentials.json']);
  });

  it('makes the file 0600 even when it was looser before', async () => {
    await writeFile(join(home, 'loose.json'), '{}', { mode: 0o644 });
    const loose = join(home, 'loose.json');
    await writeCredentials(loose, sampleLogin());
    expect((await stat(loose)).mode & 0o777).toBe(0o600);
  });
});

describe('reading the credentials file', () => {
  it('answers null when there is no file', async () => {
    expect(await readCredentials(path)).toBeNull();
  });

  it('refuses a file that is not JSON, telling to run vmpro login', async () => {
    await writeCredentials(path, sampleLogin());
    await writeFile(path, 'not json');
    const error = await readCredentials(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliFailure);
    expect((error as CliFailure).lines.join('\n')).toMatch(/vmpro login/);
  });

  it('refuses JSON that is not a vmpro login', async () => {
    await writeCredentials(path, sampleLogin());
    await writeFile(path, JSON.stringify({ version: 1, apiBase: 'x' }));
    await expect(readCredentials(path)).rejects.toBeInstanceOf(CliFailure);
  });
});

describe('deleting the credentials file', () => {
  it('removes it and says whether there was one', async () => {
    await writeCredentials(path, sampleLogin());
    expect(await deleteCredentials(path)).toBe(true);
    expect(await readCredentials(path)).toBeNull();
    expect(await deleteCredentials(path)).toBe(false);
  });
});

describe('the refresh lock', () => {
  it('lets only one holder in at a time', async () => {
    const events: string[] = [];
    let release!: () => void;
    let entered!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const inside = new Promise<void>((r) => {
      entered = r;
    });
    const first = withCredentialsLock(path, async () => {
      events.push('first in');
      entered();
      await held;
      events.push('first out');
    });
    await inside;
    const second = withCredentialsLock(path, async () => {
      events.push('second in');
    });
    await new Promise((r) => setTimeout(r, 100)); // give the second a chance to (wrongly) enter
    expect(events).toEqual(['first in']);
    release();
    await Promise.all([first, second]);
    expect(events).toEqual(['first in', 'first out', 'second in']);
  });

  it('removes its lock file afterwards, also when the body throws', async () => {
    await expect(
      withCredentialsLock(path, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect(readFile(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
