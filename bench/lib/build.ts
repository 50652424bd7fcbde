/**
 * Compiles the library and the demo (packages/cli) once per benchmark run with the project's own
 * TypeScript (`tsc -p tsconfig.build.json`, without type-checking) into a temporary directory, so that the
 * servers under test run the code as it is published (see use-build.mjs). Falls back to the
 * sources through tsx, with a printed note, when the build fails or `BENCH_FROM_SOURCE=1`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './harness.js';

export interface LibraryBuild {
  mode: 'build' | 'source';
  note: string;
}

/** `tsc -p <root>/<project> --outDir <outDir>` with this project's TypeScript, emit only. */
function compile(root: string, project: string, outDir: string) {
  return spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(root, project),
      '--outDir',
      outDir,
      '--noCheck',
      '--declaration',
      'false',
      '--declarationMap',
      'false',
      '--sourceMap',
      'false',
    ],
    { cwd: root, encoding: 'utf8' },
  );
}

/**
 * Compiles another checkout's library (its `tsconfig.build.json`; older checkouts keep the demo
 * in src/) the same way, for a benchmark that compares this code with an earlier version.
 * Returns the build directory, removed when this process exits.
 */
export function compileCheckout(root: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmpro-bench-build-before-'));
  const tsc = compile(root, 'tsconfig.build.json', dir);
  if (tsc.status !== 0 || !existsSync(join(dir, 'index.js'))) {
    rmSync(dir, { recursive: true, force: true });
    const why = (tsc.stdout || tsc.stderr || `exit code ${tsc.status}`).split('\n').slice(0, 3).join(' | ');
    throw new Error(`compiling ${root} failed: ${why}`);
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function prepareLibrary(): LibraryBuild {
  const existing = process.env.BENCH_BUILD_DIR;
  if (existing && existsSync(join(existing, 'index.js'))) {
    return { mode: 'build', note: 'library: compiled build (tsc), shared with the calling run' };
  }
  if (process.env.BENCH_FROM_SOURCE) {
    delete process.env.BENCH_BUILD_DIR;
    return { mode: 'source', note: 'library: TypeScript sources through tsx (BENCH_FROM_SOURCE is set)' };
  }
  const dir = mkdtempSync(join(tmpdir(), 'vmpro-bench-build-'));
  const started = Date.now();
  // The library into dir, the demo (packages/cli) into dir/cli-package: both as published.
  let tsc = compile(ROOT, 'tsconfig.build.json', dir);
  if (tsc.status === 0) tsc = compile(ROOT, 'packages/cli/tsconfig.build.json', join(dir, 'cli-package'));
  if (
    tsc.status !== 0 ||
    !existsSync(join(dir, 'index.js')) ||
    !existsSync(join(dir, 'cli-package/demo/app.js'))
  ) {
    rmSync(dir, { recursive: true, force: true });
    const why = (tsc.stdout || tsc.stderr || `exit code ${tsc.status}`).split('\n').slice(0, 3).join(' | ');
    return { mode: 'source', note: `library: TypeScript sources through tsx — the build failed (${why})` };
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  process.env.BENCH_BUILD_DIR = dir;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return {
    mode: 'build',
    note: `library and demo: compiled build (tsc -p tsconfig.build.json, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  };
}
