/**
 * Checks what ships: pack both packages (the library `vmpro-connect` and the CLI
 * `vmpro-connect-cli`), install the tarballs in scratch folders, and use them the way users do —
 * import every subpath with plain Node, see what the library pulls in, run the installed `vmpro`
 * binary, and type-check the README's code blocks and `examples/*.ts` against the installed
 * package (no path aliases, no sources).
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const cliRoot = join(root, 'packages/cli');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
};

interface Packed {
  tarball: string;
  files: string[];
}

let scratch: string;
let library: Packed;
let cli: Packed;
/** Only the library installed: what an Express or NestJS app gets. */
let libOnly: string;
/** Both packages and the frameworks the README uses: the binary and the type-check. */
let app: string;

function pack(cwd: string, destination: string): Packed {
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], {
    cwd,
    encoding: 'utf8',
  });
  const [info] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (!info) throw new Error(`npm pack in ${cwd} printed no result`);
  return { tarball: join(destination, info.filename), files: info.files.map((f) => f.path) };
}

function project(dir: string, install: string[]): string {
  mkdirSync(dir);
  // The repository's overrides too: they keep fastify's light-my-request on a version whose
  // dependencies support this Node (the repository's .npmrc makes engines strict).
  const { overrides } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    overrides?: unknown;
  };
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, type: 'module', overrides }),
  );
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...install], {
    cwd: dir,
    stdio: 'pipe',
  });
  return dir;
}

/** The exact versions this repository uses (so the scratch install comes from npm's cache). */
function pinned(...names: string[]): string[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  return names.map((name) => `${name}@${lock.packages[`node_modules/${name}`]?.version ?? 'latest'}`);
}

beforeAll(() => {
  if (!existsSync(join(root, 'dist/index.js')) || !existsSync(join(cliRoot, 'dist/cli/main.js')))
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'pipe' });
  scratch = mkdtempSync(join(tmpdir(), 'vmpro-pack-'));
  library = pack(root, scratch);
  cli = pack(cliRoot, scratch);
  libOnly = project(join(scratch, 'lib'), [library.tarball]);
  app = project(join(scratch, 'app'), [
    library.tarball,
    cli.tarball,
    ...pinned('express', '@types/express', 'fastify', 'hono', '@hono/node-server', 'ioredis', '@types/node'),
    ...pinned('koa', '@types/koa', '@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs'),
    ...pinned('next', 'react', 'react-dom', '@types/react'),
    ...pinned('pg', '@types/pg', 'redis'),
  ]);
}, 240_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the packed library (vmpro-connect)', () => {
  it('ships the build, the README and the licence, and no tests, sources, source maps or CLI', () => {
    const { files } = library;
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('README.md');
    expect(files).toContain('LICENSE');
    expect(files.filter((f) => /\.test\.|test-support|test-helper/.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => /^dist\/(cli|demo)\//.test(f))).toEqual([]);
  });

  it('depends on openid-client and jose only, has no bin, and declares no side effects', () => {
    const installed = JSON.parse(
      readFileSync(join(libOnly, 'node_modules/vmpro-connect/package.json'), 'utf8'),
    );
    expect(Object.keys(installed.dependencies).sort()).toEqual(['jose', 'openid-client']);
    expect(installed.bin).toBeUndefined();
    expect(installed.sideEffects).toBe(false);
    expect(installed.license).toBe('MIT');
  });

  it('brings in no framework and no CLI dependency', () => {
    const top = readdirSync(join(libOnly, 'node_modules')).filter((n) => !n.startsWith('.'));
    expect(top.sort()).toEqual(['jose', 'oauth4webapi', 'openid-client', 'vmpro-connect']);
  });

  it('imports every subpath with plain Node', () => {
    const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json');
    const importAll = (names: string[], cwd: string) => {
      const script = `
      const names = ${JSON.stringify(names)};
      const out = {};
      for (const s of names) {
        const m = await import(s === '.' ? 'vmpro-connect' : 'vmpro-connect/' + s.slice(2));
        out[s] = Object.keys(m).sort();
      }
      console.log(JSON.stringify(out));`;
      const out = execFileSync('node', ['--input-type=module', '-e', script], { cwd, encoding: 'utf8' });
      return JSON.parse(out) as Record<string, string[]>;
    };
    // These load their framework at run time (the other adapters import theirs as types only), so
    // they are imported where the framework is installed.
    const withFramework = ['./nestjs'];
    const exported = {
      ...importAll(
        subpaths.filter((s) => !withFramework.includes(s)),
        libOnly,
      ),
      ...importAll(withFramework, app),
    };
    expect(exported['.']).toEqual(
      expect.arrayContaining(['createOidcClient', 'createServiceAccount', 'VmproError', 'isVmproError']),
    );
    expect(exported['./http']).toEqual(['createVmproAuth', 'hasRole', 'loginRefused']);
    expect(exported['./session']).toEqual(
      expect.arrayContaining(['createSessionManager', 'memoryStore', 'redisStore', 'cookieStore']),
    );
    expect(exported['./express']).toContain('vmproExpress');
    expect(exported['./fastify']).toContain('vmproFastify');
    expect(exported['./koa']).toContain('vmproKoa');
    expect(exported['./nestjs']).toEqual(
      expect.arrayContaining(['VmproModule', 'VmproGuard', 'VmproUser', 'VmproApi', 'VmproExceptionFilter']),
    );
    expect(exported['./web']).toContain('vmproWeb');
    expect(exported['./next']).toContain('vmproNext');
    expect(exported['./next/middleware']).toEqual(['vmproMiddleware']);
    expect(exported['./next/errors']).toEqual(['vmproErrorInfo']);
    expect(exported['./api']).toEqual(
      expect.arrayContaining(['createVmproApiClient', 'fixedToken', 'VmproApiError']),
    );
    expect(exported['./emulator']).toContain('startEmulator');
  });
});

describe('the packed CLI (vmpro-connect-cli)', () => {
  it('ships its bin, its build, the README and the licence, and no tests or sources', () => {
    const { files } = cli;
    expect(files).toEqual(
      expect.arrayContaining(['bin/vmpro.js', 'dist/cli/main.js', 'README.md', 'LICENSE']),
    );
    expect(files.filter((f) => f.startsWith('src/') || /\.test\.|\.map$/.test(f))).toEqual([]);
  });

  it('installs a working vmpro command that lists the exit codes', () => {
    const help = execFileSync(join(app, 'node_modules/.bin/vmpro'), ['--help'], { encoding: 'utf8' });
    expect(help).toMatch(/^ {2}emulator\b/m);
    expect(help).toMatch(/^ {2}login\b/m);
    expect(help).toContain('Exit codes:');
  });

  it('runs the emulator from the installed build', async () => {
    const child = spawn(join(app, 'node_modules/.bin/vmpro'), ['emulator', '--port', '0'], {
      cwd: app,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const url = await new Promise<string>((resolveUrl, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL within 20 s; output: ${out}`)), 20_000);
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
          if (match) {
            clearTimeout(timer);
            resolveUrl(match[0]);
          }
        });
        child.once('exit', (code) => reject(new Error(`vmpro emulator exited with ${code}: ${out}`)));
      });
      const config = await fetch(`${url}/auth/realms/platform/.well-known/openid-configuration`);
      expect(config.status).toBe(200);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    }
  });
});

/**
 * The README's ```ts blocks, each as its own module. A block right after an HTML comment
 * `<!-- fragment: … -->` is a deliberate excerpt and is skipped; the names the other excerpts take
 * for granted are declared in `globals.d.ts`.
 */
function readmeBlocks(): { line: number; code: string }[] {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks: { line: number; code: string }[] = [];
  for (const match of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
    const before = text.slice(0, match.index).trimEnd().split('\n').at(-1) ?? '';
    if (/^<!-- fragment:/.test(before)) continue;
    blocks.push({ line: text.slice(0, match.index).split('\n').length, code: match[1] ?? '' });
  }
  return blocks;
}

describe("the README's code and examples/*.ts against the installed packages", () => {
  it('type-check with tsc, without path aliases', () => {
    const dir = join(app, 'typecheck');
    mkdirSync(dir);
    const blocks = readmeBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    for (const { line, code } of blocks)
      writeFileSync(join(dir, `readme-line-${line}.ts`), `${code}\nexport {};\n`);
    for (const file of readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts')))
      copyFileSync(join(root, 'examples', file), join(dir, `example-${file}`));
    // req.vmpro, request.vmpro and ctx.vmpro typed by the adapters' augmentation, from the package.
    copyFileSync(join(root, 'test/package/typed-requests.ts'), join(dir, 'typed-requests.ts'));
    writeFileSync(
      join(dir, 'globals.d.ts'),
      [
        "// What the README's excerpts take for granted.",
        'declare const accessToken: string;',
        'declare const request: Request;',
        'declare const clientId: string;',
        'declare const clientSecret: string | undefined;',
        'declare const redirectUri: string;',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023', 'DOM', 'DOM.Iterable'],
          strict: true,
          noUncheckedIndexedAccess: true,
          esModuleInterop: true,
          // NestJS examples use decorators the way Nest apps compile them.
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          skipLibCheck: true,
          types: ['node'],
          noEmit: true,
        },
        include: ['typecheck'],
      }),
    );
    let output = '';
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', app], {
        cwd: app,
        encoding: 'utf8',
      });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe('');
  });
});
