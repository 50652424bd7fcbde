/**
 * Checks what ships: pack the package, install the tarball in a scratch folder, import every
 * subpath with plain Node (no TypeScript tooling), run the `vmpro` binary, and make sure no test
 * file or test helper is in the tarball.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
};
let scratch: string;
let files: string[];

beforeAll(() => {
  if (!existsSync(join(root, 'dist/index.js')))
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'pipe' });
  scratch = mkdtempSync(join(tmpdir(), 'vmpro-pack-'));
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], {
    cwd: root,
    encoding: 'utf8',
  });
  const [info] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = info?.files.map((f) => f.path) ?? [];
  writeFileSync(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
  );
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', join(scratch, info?.filename ?? '')],
    {
      cwd: scratch,
      stdio: 'pipe',
    },
  );
}, 180_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships the build and the README, and no tests or test helpers', () => {
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('README.md');
    expect(files.filter((f) => /\.test\.|test-support|test-helper/.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
  });

  it('imports every subpath with plain Node', () => {
    const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json');
    const script = `
      const names = ${JSON.stringify(subpaths)};
      const out = {};
      for (const s of names) {
        const m = await import(s === '.' ? 'vmpro-connect' : 'vmpro-connect/' + s.slice(2));
        out[s] = Object.keys(m).sort();
      }
      console.log(JSON.stringify(out));`;
    const out = execFileSync('node', ['--input-type=module', '-e', script], {
      cwd: scratch,
      encoding: 'utf8',
    });
    const exported = JSON.parse(out) as Record<string, string[]>;
    expect(exported['.']).toEqual(
      expect.arrayContaining(['createOidcClient', 'createServiceAccount', 'VmproError', 'isVmproError']),
    );
    expect(exported['./http']).toEqual(expect.arrayContaining(['createVmproAuth', 'safeReturnTo']));
    expect(exported['./session']).toEqual(
      expect.arrayContaining(['createSessionManager', 'memoryStore', 'redisStore', 'cookieStore']),
    );
    expect(exported['./express']).toContain('vmproExpress');
    expect(exported['./fastify']).toContain('vmproFastify');
    expect(exported['./web']).toContain('vmproWeb');
    expect(exported['./api']).toEqual(
      expect.arrayContaining(['createVmproApiClient', 'fixedToken', 'VmproApiError']),
    );
    expect(exported['./emulator']).toContain('startEmulator');
  });

  it('installs a working vmpro command', () => {
    const help = execFileSync(join(scratch, 'node_modules/.bin/vmpro'), ['--help'], { encoding: 'utf8' });
    expect(help).toMatch(/emulator/);
    expect(help).toMatch(/login/);
  });
});
